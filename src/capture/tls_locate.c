/*
 * Finding SSL_read/SSL_write for the TLS uprobes: by symbol where the file
 * has them, otherwise by recognising BoringSSL's functions in a stripped
 * x86-64 executable (Bun, and so Claude Code's native build).
 *
 * Why the scan survives releases. BoringSSL reports errors with
 * OPENSSL_PUT_ERROR(SSL, reason), which compiles to
 *     ERR_put_error(ERR_LIB_SSL = 16, 0, reason, __FILE__, __LINE__)
 * (in some builds the unused second argument is gone, presumably dropped by
 * link-time optimisation: ERR_put_error(16, reason, file, line); both forms
 * occur in Claude Code releases). Every error site in
 * ssl/ssl_lib.cc therefore loads the address of the path string
 * ".../ssl/ssl_lib.cc" into the file argument register, 16 into edi and the
 * reason code as an immediate into the reason register, right before the
 * call. Reason codes (SSL_R_*, ERR_R_*) are BoringSSL's public, stable ABI;
 * line numbers, code bytes and addresses are not, and are never used.
 * Grouping the sites by the function holding them gives each function its
 * set of reasons, which identifies it (see match_functions()):
 *
 *   SSL_write      UNINITIALIZED and BAD_LENGTH: the only function in
 *                  ssl_lib.cc that raises both.
 *   ssl_read_impl  UNINITIALIZED and SSL_HANDSHAKE_FAILURE, no BAD_LENGTH
 *                  (static; shared by SSL_peek and SSL_shutdown; may be
 *                  inlined).
 *   SSL_read       SSL_peek inlined into it: SHOULD_NOT_HAVE_BEEN_CALLED
 *                  (its QUIC check) and either ssl_read_impl's reasons
 *                  inlined too or a direct call to ssl_read_impl.
 *
 * Each must match exactly one function, or nothing is returned: a wrong
 * address would record garbage, a missing one only loses plaintext.
 *
 * Function boundaries come from .eh_frame where an FDE covers the site
 * (some Bun builds have unwind tables for BoringSSL, most do not) and
 * otherwise from the layout clang and lld produce: see looks_like_entry().
 */
#include "capture/tls_locate.h"
#include "capture/tls_locate_int.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SSL_LIB_PATH[] = "ssl/ssl_lib.cc";

struct func {
	uint64_t start, end;    /* [start, end) */
	const struct code *code;
	uint32_t reasons[MAX_REASONS];
	size_t nreasons;
};

struct scan {
	const struct image *im;
	struct fde_table fdes;
	bool have_fdes;
	uint64_t files[MAX_FILE_STRINGS];
	size_t nfiles;
	uint64_t files_lo, files_hi;
	struct func *funcs;
	size_t nfuncs;
	size_t nsites;
	bool too_many;
};

/* ---- by symbol -------------------------------------------------------------- */

static const char *const FN_NAMES[] = { "SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex" };

static struct tls_fn *fn_slot(struct tls_targets *t, size_t i)
{
	struct tls_fn *slots[] = { &t->ssl_read, &t->ssl_write, &t->ssl_read_ex, &t->ssl_write_ex };

	return slots[i];
}

/* name, ignoring a "@VERSION" suffix some tools leave on, equals want */
static bool sym_name_is(const char *name, const char *want)
{
	size_t n = strlen(want);

	return strncmp(name, want, n) == 0 && (name[n] == '\0' || name[n] == '@');
}

/* Takes the defined SSL_* functions of one symbol table. Undefined entries
 * are imports: a program that calls a shared libssl is not a target.
 * False when the table cannot be read (cut short or corrupt). */
static bool take_symbols(const struct image *im, Elf_Scn *scn, const GElf_Shdr *sh,
			 struct tls_targets *out, bool *boringssl)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n;

	if (!d || sh->sh_entsize == 0)
		return false;
	n = d->d_size / sh->sh_entsize;
	for (size_t i = 0; i < n && i <= INT32_MAX; i++) {
		GElf_Sym s;
		const char *name;

		if (!gelf_getsym(d, (int)i, &s))
			break;
		if (s.st_shndx == SHN_UNDEF || s.st_value == 0)
			continue;
		name = elf_strptr(im->elf, sh->sh_link, s.st_name);
		if (!name)
			continue;
		if (!strncmp(name, "BORINGSSL_", 10))
			*boringssl = true;
		if (GELF_ST_TYPE(s.st_info) != STT_FUNC)
			continue;
		for (size_t k = 0; k < sizeof(FN_NAMES) / sizeof(FN_NAMES[0]); k++) {
			struct tls_fn *f = fn_slot(out, k);
			uint64_t off;

			if (!f->offset && sym_name_is(name, FN_NAMES[k]) &&
			    tls_va_to_off(im, s.st_value, true, &off))
				f->offset = off;
		}
	}
	return true;
}

/* 0 when SSL_read and SSL_write are defined here, -ENOENT when not,
 * -ENOEXEC when a symbol table cannot be read. The dynamic table goes
 * first: it is what callers outside the file bind to. */
static int locate_by_symbols(const struct image *im, struct tls_targets *out, const char *path,
			     char *err, size_t errlen)
{
	static const Elf64_Word order[] = { SHT_DYNSYM, SHT_SYMTAB };
	bool boringssl = false;

	for (size_t o = 0; o < 2; o++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(im->elf, scn)) != NULL) {
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh))
				return tls_fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
			if (sh.sh_type == order[o] && !take_symbols(im, scn, &sh, out, &boringssl))
				return tls_fail(err, errlen, -ENOEXEC, "%s: unreadable symbol table (%s)",
					    path, elf_errmsg(-1));
		}
	}
	if (!out->ssl_read.offset || !out->ssl_write.offset)
		return -ENOENT;
	out->method = "symbols";
	snprintf(out->lib, sizeof(out->lib), "%s", boringssl ? "boringssl" : "openssl");
	return 0;
}

/* ---- BoringSSL scan: the path string ---------------------------------------- */

static void add_file_string(struct scan *s, uint64_t va)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (s->files[i] == va)
			return;
	if (s->nfiles == MAX_FILE_STRINGS)
		return;
	if (!s->nfiles || va < s->files_lo)
		s->files_lo = va;
	if (!s->nfiles || va > s->files_hi)
		s->files_hi = va;
	s->files[s->nfiles++] = va;
}

static void find_in_segment(struct scan *s, const GElf_Phdr *ph)
{
	const uint8_t *base = s->im->raw + ph->p_offset, *end = base + ph->p_filesz, *p = base;

	while ((p = memmem(p, (size_t)(end - p), SSL_LIB_PATH, sizeof(SSL_LIB_PATH))) != NULL) {
		const uint8_t *start = p;

		if (p == base || p[-1] == '/') {
			/* back to the start of the string, a path of sane length */
			while (start > base && start[-1] != '\0' && p - start < 512)
				start--;
			if (start == base || start[-1] == '\0')
				add_file_string(s, ph->p_vaddr + (uint64_t)(start - base));
		}
		p += 1;
	}
}

/* The addresses of the strings __FILE__ gives in BoringSSL's ssl_lib.cc,
 * e.g. "../../vendor/boringssl/ssl/ssl_lib.cc": NUL-terminated strings that
 * are "ssl/ssl_lib.cc" or end in "/ssl/ssl_lib.cc". (OpenSSL's file is
 * ssl_lib.c.) Read-only data segments first, the code segments only if
 * that found nothing (linkers without -z separate-code put .rodata there);
 * never the writable ones: a Bun executable's holds the JavaScript bundle,
 * hundreds of megabytes. */
static void find_file_strings(struct scan *s)
{
	for (int exec = 0; exec < 2 && !s->nfiles; exec++) {
		for (size_t i = 0; i < s->im->nloads; i++) {
			const GElf_Phdr *ph = &s->im->loads[i];

			if (!(ph->p_flags & PF_W) && !!(ph->p_flags & PF_X) == exec)
				find_in_segment(s, ph);
		}
	}
}

/* ---- BoringSSL scan: function boundaries --------------------------------------- */

/*
 * Without unwind tables: is offset off the first instruction of a
 * function? Clang aligns functions to 16 bytes. One starts either with the
 * frame set-up "push rbp; mov rbp, rsp" (Bun builds with frame pointers;
 * inside a function body that sequence does not occur), or, right after
 * the int3 (0xcc) bytes lld pads between functions with, with a register
 * push or a stack allocation. An endbr64 may come first. A 0xcc byte alone
 * is not enough: it is common inside instructions (e.g. [rbp-0x34]).
 */
static bool looks_like_entry(const struct code *c, size_t off)
{
	const uint8_t *p;
	size_t n;
	bool padded;

	if (off >= c->len || ((c->va + off) & 15))
		return false;
	p = c->p + off;
	n = c->len - off;
	padded = off > 0 && c->p[off - 1] == 0xcc;
	if (n >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
		p += 4;
		n -= 4;
	}
	if (n >= 4 && p[0] == 0x55 && p[1] == 0x48 &&
	    ((p[2] == 0x89 && p[3] == 0xe5) || (p[2] == 0x8b && p[3] == 0xec)))
		return true;
	if (!padded || n < 3)
		return false;
	return (p[0] >= 0x50 && p[0] <= 0x57) ||
	       (p[0] == 0x41 && p[1] >= 0x50 && p[1] <= 0x57) ||
	       (p[0] == 0x48 && (p[1] == 0x83 || p[1] == 0x81) && p[2] == 0xec);
}

/* The nearest function entry at or before offset off. */
static bool entry_before(const struct code *c, size_t off, size_t *start)
{
	size_t at = off - (size_t)((c->va + off) & 15);

	for (;;) {
		if (looks_like_entry(c, at)) {
			*start = at;
			return true;
		}
		if (at < 16 || off - at >= MAX_FUNC_SPAN)
			return false;
		at -= 16;
	}
}

/* Where the function starting at start ends: the next entry. */
static size_t entry_after(const struct code *c, size_t start)
{
	size_t at;

	for (at = start + 16; at < c->len && at - start <= MAX_FUNC_SPAN; at += 16)
		if (looks_like_entry(c, at))
			return at;
	return at < c->len ? at : c->len;
}

/* The function holding the site at offset off of c, created on first use. */
static struct func *func_of(struct scan *s, const struct code *c, size_t off)
{
	uint64_t va = c->va + off, start, end;
	struct func *f;

	if (!s->have_fdes || !tls_fde_lookup(s->im, &s->fdes, va, &start, &end) ||
	    start < c->va || end > c->va + c->len || end - start > MAX_FUNC_SPAN) {
		size_t so;

		if (!entry_before(c, off, &so))
			return NULL;
		start = c->va + so;
		end = c->va + entry_after(c, so);
	}
	for (size_t i = 0; i < s->nfuncs; i++)
		if (s->funcs[i].start == start)
			return &s->funcs[i];
	if (s->nfuncs == MAX_SITES)
		return NULL;
	f = &s->funcs[s->nfuncs++];
	memset(f, 0, sizeof(*f));
	f->start = start;
	f->end = end;
	f->code = c;
	return f;
}

static void add_reason(struct func *f, uint32_t reason)
{
	for (size_t i = 0; i < f->nreasons; i++)
		if (f->reasons[i] == reason)
			return;
	if (f->nreasons < MAX_REASONS)
		f->reasons[f->nreasons++] = reason;
}

static bool has(const struct func *f, uint32_t reason)
{
	for (size_t i = 0; i < f->nreasons; i++)
		if (f->reasons[i] == reason)
			return true;
	return false;
}

/* ---- BoringSSL scan: the sites ------------------------------------------------ */

static bool is_file_va(const struct scan *s, uint64_t va)
{
	if (va < s->files_lo || va > s->files_hi)
		return false;
	for (size_t i = 0; i < s->nfiles; i++)
		if (s->files[i] == va)
			return true;
	return false;
}

static void add_site(struct scan *s, const struct code *c, size_t off, int reg, uint64_t file_va)
{
	uint32_t reason;
	struct func *f;

	if (!tls_site_reason(c, off, reg, file_va, &reason))
		return;
	if (s->nsites == MAX_SITES) {
		s->too_many = true;
		return;
	}
	s->nsites++;
	f = func_of(s, c, off);
	if (f)
		add_reason(f, reason);
}

/*
 * The instructions in c that load a path string: "mov r32, imm32" with the
 * address as the immediate (non-PIE executables such as Bun's: static
 * addresses fit in 32 bits) and "lea r64, [rip + disp32]" (position-
 * independent code). memmem() and memchr() skip the ~100 MB of code in a
 * Bun executable faster than a byte loop.
 */
static void scan_code(struct scan *s, const struct code *c)
{
	const uint8_t *p = c->p, *end = c->p + c->len, *q;

	for (size_t f = 0; f < s->nfiles; f++) {
		uint8_t imm[4];

		if (s->files[f] > UINT32_MAX)
			continue;
		for (int k = 0; k < 4; k++)
			imm[k] = (uint8_t)(s->files[f] >> (8 * k));
		/* With a REX.B prefix (0x41) the mov would load r8d-r15d, never
		 * the file argument; but a 0x41 before the opcode is as often
		 * the last byte of the previous instruction, so it is not taken
		 * as a prefix. */
		for (q = p + 1; q + 4 <= end && (q = memmem(q, (size_t)(end - q), imm, 4)) != NULL; q++)
			if (q[-1] >= 0xb8 && q[-1] <= 0xbf)
				add_site(s, c, (size_t)(q - 1 - p), q[-1] & 7, s->files[f]);
	}
	for (q = p + 1; q + 6 <= end && (q = memchr(q, 0x8d, (size_t)(end - q))) != NULL; q++) {
		size_t i = (size_t)(q - p);
		uint64_t t;

		if ((q[-1] & 0xfb) != 0x48 || (q[1] & 0xc7) != 0x05 || q + 6 > end)
			continue;
		t = c->va + i + 6 + (uint64_t)(int64_t)(int32_t)tls_rd32(q + 2);
		if (is_file_va(s, t))
			add_site(s, c, i - 1, ((q[1] >> 3) & 7) | ((q[-1] & 4) << 1), t);
	}
}

/* Does f call or jump to the function starting at target? A stray e8/e9
 * byte would also need its next four bytes to hit target exactly. */
static bool calls(const struct func *f, uint64_t target)
{
	const struct code *c = f->code;
	size_t from = (size_t)(f->start - c->va), to = (size_t)(f->end - c->va);

	for (size_t i = from; i + 5 <= to; i++) {
		if ((c->p[i] == 0xe8 || c->p[i] == 0xe9) &&
		    c->va + i + 5 + (uint64_t)(int64_t)(int32_t)tls_rd32(c->p + i + 1) == target)
			return true;
	}
	return false;
}

/* ---- BoringSSL scan: matching ---------------------------------------------------- */

/* The functions matching a fingerprint: how many, and the last one (an
 * answer only when count is 1). */
struct match {
	const struct func *f;
	size_t count;
};

static void consider(struct match *m, const struct func *f)
{
	m->f = f;
	m->count++;
}

static bool is_write(const struct func *f)
{
	return has(f, R_UNINITIALIZED) && has(f, R_BAD_LENGTH);
}

/* ssl_read_impl, or whatever holds it inlined */
static bool is_read_impl(const struct func *f)
{
	return has(f, R_UNINITIALIZED) && has(f, R_SSL_HANDSHAKE_FAILURE) && !has(f, R_BAD_LENGTH);
}

static bool calls_read_impl(const struct scan *s, const struct func *f)
{
	for (size_t i = 0; i < s->nfuncs; i++)
		if (&s->funcs[i] != f && is_read_impl(&s->funcs[i]) && calls(f, s->funcs[i].start))
			return true;
	return false;
}

static bool is_read(const struct scan *s, const struct func *f)
{
	if (!has(f, R_SHOULD_NOT_HAVE_BEEN_CALLED) || has(f, R_BAD_LENGTH))
		return false;
	return is_read_impl(f) || calls_read_impl(s, f);
}

static void match_functions(const struct scan *s, struct match *rd, struct match *wr)
{
	memset(rd, 0, sizeof(*rd));
	memset(wr, 0, sizeof(*wr));
	for (size_t i = 0; i < s->nfuncs; i++) {
		if (is_write(&s->funcs[i]))
			consider(wr, &s->funcs[i]);
		if (is_read(s, &s->funcs[i]))
			consider(rd, &s->funcs[i]);
	}
}

/* The executable segments, file-backed part. */
static size_t code_regions(const struct image *im, struct code *c, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < im->nloads && n < max; i++) {
		const GElf_Phdr *ph = &im->loads[i];

		if (!(ph->p_flags & PF_X) || ph->p_filesz < 16)
			continue;
		c[n].va = ph->p_vaddr;
		c[n].p = im->raw + ph->p_offset;
		c[n].len = (size_t)ph->p_filesz;
		n++;
	}
	return n;
}

static int entry_offset(const struct image *im, const struct func *f, struct tls_fn *fn)
{
	uint64_t off;

	if (!tls_va_to_off(im, f->start, true, &off))
		return -ENOENT;
	fn->offset = off;
	return 0;
}

static int scan_and_match(struct scan *s, struct tls_targets *out, const char *path, char *err, size_t errlen)
{
	struct code code[MAX_LOADS];
	size_t ncode = code_regions(s->im, code, MAX_LOADS);
	struct match rd, wr;

	s->have_fdes = tls_fde_table_open(s->im, &s->fdes);
	for (size_t i = 0; i < ncode; i++)
		scan_code(s, &code[i]);
	if (s->too_many)
		return tls_fail(err, errlen, -ENOENT, "%s: more than %d ssl_lib.cc error sites: not BoringSSL as we know it",
			    path, MAX_SITES);
	match_functions(s, &rd, &wr);
	if (rd.count != 1 || wr.count != 1)
		return tls_fail(err, errlen, -ENOENT,
			    "%s: BoringSSL found (%zu error sites in ssl_lib.cc, %zu functions) but SSL_read "
			    "matched %zu functions and SSL_write %zu (need exactly one each)",
			    path, s->nsites, s->nfuncs, rd.count, wr.count);
	if (entry_offset(s->im, rd.f, &out->ssl_read) || entry_offset(s->im, wr.f, &out->ssl_write))
		return tls_fail(err, errlen, -ENOENT, "%s: SSL_read/SSL_write entry outside the executable segments", path);
	out->method = "boringssl-scan";
	snprintf(out->lib, sizeof(out->lib), "boringssl");
	return 0;
}

static int locate_by_scan(const struct image *im, struct tls_targets *out, const char *path,
			  char *err, size_t errlen)
{
	struct scan s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.im = im;
	find_file_strings(&s);
	if (!s.nfiles)
		return tls_fail(err, errlen, -ENOENT,
			    "%s: no TLS library (no SSL_read/SSL_write symbols, no BoringSSL ssl_lib.cc)", path);
	if (im->ehdr.e_ident[EI_CLASS] != ELFCLASS64 || im->ehdr.e_machine != EM_X86_64)
		return tls_fail(err, errlen, -ENOENT,
			    "%s: BoringSSL without symbols; locating it is supported on x86-64 only", path);
	s.funcs = calloc(MAX_SITES, sizeof(*s.funcs));
	if (!s.funcs)
		return tls_fail(err, errlen, -ENOMEM, "out of memory");
	rc = scan_and_match(&s, out, path, err, errlen);
	free(s.funcs);
	return rc;
}

int tls_locate(const char *path, struct tls_targets *out, char *err, size_t errlen)
{
	struct image im;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	rc = tls_image_open(&im, path, err, errlen);
	if (!rc) {
		rc = locate_by_symbols(&im, out, path, err, errlen);
		if (rc == -ENOENT) {
			/* a lone SSL_write symbol without SSL_read is no use */
			memset(out, 0, sizeof(*out));
			rc = locate_by_scan(&im, out, path, err, errlen);
		}
	}
	tls_image_close(&im);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}
