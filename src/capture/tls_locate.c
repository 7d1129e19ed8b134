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

/* BoringSSL's public error codes (include/openssl/err.h and ssl.h). */
enum {
	LIB_SSL = 16,                       /* ERR_LIB_SSL */
	R_SHOULD_NOT_HAVE_BEEN_CALLED = 66, /* ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED */
	R_BAD_LENGTH = 111,                 /* SSL_R_BAD_LENGTH */
	R_SSL_HANDSHAKE_FAILURE = 215,      /* SSL_R_SSL_HANDSHAKE_FAILURE */
	R_UNINITIALIZED = 226,              /* SSL_R_UNINITIALIZED */
	R_MAX = 0xfff,                      /* reasons are 12 bits in a packed error */
};

#define MAX_LOADS 64            /* PT_LOAD headers considered */
#define MAX_FILE_STRINGS 8      /* copies of the ssl_lib.cc path string */
#define MAX_SITES 4096          /* far more than ssl_lib.cc's error sites */
#define MAX_REASONS 32          /* distinct reasons kept per function */
#define MAX_FUNC_SPAN (64 * 1024) /* how far a function's start or end is searched */
#define MAX_SETUP_INSNS 12      /* instructions between a site and its call */

/* Registers as numbered in x86-64 instruction encodings. */
enum { REG_RCX = 1, REG_RDX = 2, REG_RSI = 6, REG_RDI = 7, NREGS = 16 };

static const char SSL_LIB_PATH[] = "ssl/ssl_lib.cc";

struct image {
	int fd;
	Elf *elf;
	const uint8_t *raw;     /* the whole file, mapped by libelf */
	size_t size;
	GElf_Ehdr ehdr;
	GElf_Phdr loads[MAX_LOADS];
	size_t nloads;
	GElf_Phdr eh_frame_hdr;
	bool has_eh_frame_hdr;
};

/* A file-backed executable PT_LOAD: where the scan looks for code. */
struct code {
	uint64_t va;
	const uint8_t *p;
	size_t len;
};

/* The sorted (function start, FDE) table of .eh_frame_hdr. */
struct fde_table {
	const uint8_t *table;
	size_t count;
	uint64_t hdr_va;
};

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

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* ---- the mapped file ------------------------------------------------------ */

static void image_close(struct image *im)
{
	if (im->elf)
		(void)elf_end(im->elf);     /* read-only: nothing to flush */
	if (im->fd >= 0)
		(void)close(im->fd);
}

/* Keeps the program headers the lookups need; refuses a file whose loaded
 * segments reach past its end (a truncated copy). */
static int read_phdrs(struct image *im, const char *path, char *err, size_t errlen)
{
	size_t n;

	if (elf_getphdrnum(im->elf, &n))
		return fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(im->elf, (int)i, &ph))
			return fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
		if (ph.p_type == PT_GNU_EH_FRAME) {
			im->eh_frame_hdr = ph;
			im->has_eh_frame_hdr = true;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > im->size || im->size - ph.p_offset < ph.p_filesz)
			return fail(err, errlen, -ENOEXEC, "%s: truncated (a segment ends past the file)", path);
		if (im->nloads < MAX_LOADS)
			im->loads[im->nloads++] = ph;
	}
	return 0;
}

static int image_open(struct image *im, const char *path, char *err, size_t errlen)
{
	size_t nsec;

	memset(im, 0, sizeof(*im));
	im->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(err, errlen, -EINVAL, "libelf: %s", elf_errmsg(-1));
	im->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (im->fd < 0) {
		int e = errno;

		return fail(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	/* libelf maps the whole file; the scan reads it through elf_rawfile(). */
	im->elf = elf_begin(im->fd, ELF_C_READ_MMAP, NULL);
	if (!im->elf)
		return fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	if (elf_kind(im->elf) != ELF_K_ELF)
		return fail(err, errlen, -ENOEXEC, "%s: not an ELF file", path);
	if (!gelf_getehdr(im->elf, &im->ehdr))
		return fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	im->raw = (const uint8_t *)elf_rawfile(im->elf, &im->size);
	if (!im->raw)
		return fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	/* The section headers, where the symbol tables are found, come last
	 * in a file: a cut copy loses them first, and libelf then shows no
	 * sections rather than an error. Counted from the ELF header (0 with
	 * an offset: extended numbering, the count is in the first one). */
	nsec = im->ehdr.e_shnum ? im->ehdr.e_shnum : im->ehdr.e_shoff ? 1 : 0;
	if (nsec && (im->ehdr.e_shentsize == 0 || im->ehdr.e_shoff > im->size ||
		     (im->size - im->ehdr.e_shoff) / im->ehdr.e_shentsize < nsec))
		return fail(err, errlen, -ENOEXEC, "%s: truncated (section headers end past the file)", path);
	return read_phdrs(im, path, err, errlen);
}

/* The file offset of virtual address va, inside the file-backed part of a
 * PT_LOAD (an executable one if want_exec). */
static bool va_to_off(const struct image *im, uint64_t va, bool want_exec, uint64_t *off)
{
	for (size_t i = 0; i < im->nloads; i++) {
		const GElf_Phdr *ph = &im->loads[i];

		if (va < ph->p_vaddr || va - ph->p_vaddr >= ph->p_filesz)
			continue;
		if (want_exec && !(ph->p_flags & PF_X))
			continue;
		*off = ph->p_offset + (va - ph->p_vaddr);
		return true;
	}
	return false;
}

/* n bytes of the file at virtual address va, or NULL. */
static const uint8_t *va_bytes(const struct image *im, uint64_t va, size_t n)
{
	uint64_t off;

	if (!va_to_off(im, va, false, &off) || off > im->size || im->size - off < n)
		return NULL;
	return im->raw + off;
}

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
			    va_to_off(im, s.st_value, true, &off))
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
				return fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
			if (sh.sh_type == order[o] && !take_symbols(im, scn, &sh, out, &boringssl))
				return fail(err, errlen, -ENOEXEC, "%s: unreadable symbol table (%s)",
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

/* ---- BoringSSL scan: decoding the call set-up --------------------------------- */

/* One decoded instruction: its length, the register it writes (-1: none)
 * and, when known, the value written; ends = call or jmp. */
struct insn {
	size_t len;
	int dst;
	bool known;
	uint64_t val;
	bool ends;
};

/* lea reg, [mem] beyond rip-relative: only its length matters. */
static bool decode_lea_len(const uint8_t *p, size_t n, size_t at, struct insn *in)
{
	uint8_t modrm = p[at], mod = modrm >> 6, rm = modrm & 7;
	size_t len = at + 1;

	if (mod == 3)
		return false;
	if (rm == 4) {                          /* SIB byte */
		if (len >= n)
			return false;
		if (mod == 0 && (p[len] & 7) == 5)
			len += 4;
		len++;
	}
	len += mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (len > n)
		return false;
	in->len = len;
	return true;
}

/*
 * Decodes at p (n bytes, address va) one instruction of the few kinds a
 * compiler puts between loading call arguments and the call: immediates
 * and addresses moved into registers, register copies and zeroing, lea of
 * a stack slot, and the call or jmp that ends the run. Anything else is
 * refused, which ends the walk.
 */
static bool decode(const uint8_t *p, size_t n, uint64_t va, struct insn *in)
{
	uint8_t rex = 0, op;
	size_t i = 0;

	memset(in, 0, sizeof(*in));
	in->dst = -1;
	if (n && (p[0] & 0xf0) == 0x40)
		rex = p[i++];
	if (i >= n)
		return false;
	op = p[i];
	if (!rex && (op == 0xe8 || op == 0xe9 || op == 0xeb)) { /* call/jmp rel32, jmp rel8 */
		in->len = op == 0xeb ? 2 : 5;
		in->ends = true;
		return in->len <= n;
	}
	if (op >= 0xb8 && op <= 0xbf) {         /* mov r32, imm32 / movabs r64, imm64 */
		in->len = i + 1 + ((rex & 8) ? 8 : 4);
		if (in->len > n)
			return false;
		in->dst = (op & 7) | ((rex & 1) << 3);
		in->val = (rex & 8) ? rd64(p + i + 1) : rd32(p + i + 1);
		in->known = true;
		return true;
	}
	if (i + 1 >= n)
		return false;
	if (op == 0xc7 && (p[i + 1] & 0xf8) == 0xc0) { /* mov r, imm32 (sign-extended with REX.W) */
		uint32_t imm;

		in->len = i + 6;
		if (in->len > n)
			return false;
		imm = rd32(p + i + 2);
		in->dst = (p[i + 1] & 7) | ((rex & 1) << 3);
		in->val = (rex & 8) ? (uint64_t)(int64_t)(int32_t)imm : imm;
		in->known = true;
		return true;
	}
	if ((op == 0x31 || op == 0x33 || op == 0x89 || op == 0x8b) && (p[i + 1] >> 6) == 3) {
		int reg = ((p[i + 1] >> 3) & 7) | ((rex & 4) << 1), rm = (p[i + 1] & 7) | ((rex & 1) << 3);

		in->len = i + 2;                /* xor/mov between registers */
		in->dst = (op == 0x33 || op == 0x8b) ? reg : rm;
		if ((op == 0x31 || op == 0x33) && reg == rm)
			in->known = true;       /* xor r, r: zero */
		return true;
	}
	if (op == 0x8d) {                       /* lea */
		uint8_t modrm = p[i + 1];

		in->dst = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		if ((modrm & 0xc7) == 0x05) {   /* [rip + disp32] */
			in->len = i + 6;
			if (in->len > n)
				return false;
			in->val = va + in->len + (uint64_t)(int64_t)(int32_t)rd32(p + i + 2);
			in->known = (rex & 8) != 0;
			return true;
		}
		return decode_lea_len(p, n, i + 1, in);
	}
	return false;
}

struct regs {
	uint64_t val[NREGS];
	bool known[NREGS];
};

static void apply(struct regs *r, const struct insn *in)
{
	if (in->dst < 0 || in->dst >= NREGS)
		return;
	r->known[in->dst] = in->known;
	r->val[in->dst] = in->val;
}

/* Immediate moves that end exactly at off, walking back: the compiler may
 * set edi or the reason before the file. Only the 5- and 6-byte "mov r32,
 * imm32" forms are taken, and only when one length fits: bytes read
 * backwards are otherwise ambiguous. Returns how many, offsets in back[]. */
static size_t walk_back(const struct code *c, size_t off, size_t *back, size_t max)
{
	size_t n = 0;

	while (n < max) {
		size_t fit = 0, fits = 0;

		for (size_t len = 5; len <= 6; len++) {
			struct insn in;

			if (off < len || !decode(c->p + off - len, len, c->va + off - len, &in))
				continue;
			if (in.len == len && in.known && !in.ends && in.dst >= 0) {
				fit = len;
				fits++;
			}
		}
		if (fits != 1)
			break;
		off -= fit;
		back[n++] = off;
	}
	return n;
}

/*
 * The reason code of the error site whose file argument is loaded at
 * offset off (into file_reg, value file_va): the registers are replayed
 * from the immediates just before the load to the call or jmp after it.
 * True when edi holds ERR_LIB_SSL, the file register still holds the path
 * and the reason register an immediate: esi when the file is in rdx (4
 * arguments), edx when it is in rcx (5 arguments).
 */
static bool site_reason(const struct code *c, size_t off, int file_reg, uint64_t file_va, uint32_t *reason)
{
	struct regs r;
	size_t back[4], nback, at = off;
	int reason_reg = file_reg == REG_RDX ? REG_RSI : file_reg == REG_RCX ? REG_RDX : -1;
	bool ended = false;

	if (reason_reg < 0)
		return false;
	memset(&r, 0, sizeof(r));
	nback = walk_back(c, off, back, 4);
	while (nback-- > 0) {
		struct insn in;

		if (decode(c->p + back[nback], c->len - back[nback], c->va + back[nback], &in))
			apply(&r, &in);
	}
	for (int k = 0; k < MAX_SETUP_INSNS && !ended; k++) {
		struct insn in;

		if (!decode(c->p + at, c->len - at, c->va + at, &in))
			return false;
		ended = in.ends;
		apply(&r, &in);
		at += in.len;
	}
	if (!ended || !r.known[REG_RDI] || r.val[REG_RDI] != LIB_SSL)
		return false;
	if (!r.known[file_reg] || r.val[file_reg] != file_va)
		return false;
	if (!r.known[reason_reg] || r.val[reason_reg] > R_MAX)
		return false;
	*reason = (uint32_t)r.val[reason_reg];
	return true;
}

/* ---- BoringSSL scan: function boundaries --------------------------------------- */

/* Size in bytes of a DW_EH_PE_* encoded value, 0 if unsupported. */
static size_t enc_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case 0x00: return 8;                    /* absptr, 64-bit */
	case 0x02: case 0x0a: return 2;         /* udata2, sdata2 */
	case 0x03: case 0x0b: return 4;         /* udata4, sdata4 */
	case 0x04: case 0x0c: return 8;         /* udata8, sdata8 */
	default: return 0;
	}
}

/* The value of an encoded pointer at p, read from address va. Only
 * absolute and pc-relative ones (what .eh_frame uses). */
static bool read_enc(const uint8_t *p, uint8_t enc, uint64_t va, uint64_t *out)
{
	uint64_t v;

	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: v = rd64(p); break;
	case 0x03: v = rd32(p); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd32(p); break;
	case 0x02: v = (uint64_t)p[0] | (uint64_t)p[1] << 8; break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)((uint16_t)p[0] | (uint16_t)p[1] << 8); break;
	default: return false;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += va; break;
	default: return false;
	}
	*out = v;
	return true;
}

static bool skip_leb(const uint8_t **p, const uint8_t *end)
{
	while (*p < end)
		if (!(*(*p)++ & 0x80))
			return true;
	return false;
}

/* The pointer encoding a CIE gives its FDEs (augmentation 'R'), -1 when
 * it cannot be read. */
static int cie_fde_encoding(const struct image *im, uint64_t cie_va)
{
	const uint8_t *c = va_bytes(im, cie_va, 8), *p, *end;
	const char *aug;
	size_t auglen;
	uint32_t len;
	uint8_t version;

	if (!c)
		return -1;
	len = rd32(c);
	if (len < 8 || len == 0xffffffff || rd32(c + 4) != 0)
		return -1;
	c = va_bytes(im, cie_va, 4 + (size_t)len);
	if (!c)
		return -1;
	p = c + 8;
	end = c + 4 + len;
	version = *p++;
	aug = (const char *)p;
	auglen = strnlen(aug, (size_t)(end - p));
	if (auglen == (size_t)(end - p))
		return -1;
	p += auglen + 1;
	if (aug[0] != 'z')
		return 0;                       /* no augmentation data: absolute */
	if (!skip_leb(&p, end) || !skip_leb(&p, end))   /* code, data alignment */
		return -1;
	if (version == 1 ? p++ >= end : !skip_leb(&p, end)) /* return address register */
		return -1;
	if (!skip_leb(&p, end))                 /* augmentation data length */
		return -1;
	for (const char *a = aug + 1; *a; a++) {
		size_t sz;

		if (p >= end)
			return -1;
		switch (*a) {
		case 'R':
			return *p;
		case 'P':                       /* personality: encoding, pointer */
			sz = enc_size(*p++);
			if (!sz || (size_t)(end - p) < sz)
				return -1;
			p += sz;
			break;
		case 'L':                       /* LSDA encoding */
			p++;
			break;
		case 'S': case 'B': case 'G':
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static bool fde_table_open(const struct image *im, struct fde_table *t)
{
	const GElf_Phdr *ph = &im->eh_frame_hdr;
	const uint8_t *p;
	size_t at, ptr_size;

	if (!im->has_eh_frame_hdr || ph->p_offset > im->size ||
	    im->size - ph->p_offset < ph->p_filesz || ph->p_filesz < 12)
		return false;
	p = im->raw + ph->p_offset;
	/* version 1; fde_count udata4; table of (datarel sdata4, datarel sdata4) */
	if (p[0] != 1 || p[2] != 0x03 || p[3] != 0x3b)
		return false;
	ptr_size = enc_size(p[1]);
	if (!ptr_size)
		return false;
	at = 4 + ptr_size;
	if (ph->p_filesz < at + 4)
		return false;
	t->count = rd32(p + at);
	at += 4;
	if (t->count > (ph->p_filesz - at) / 8)
		return false;
	t->table = p + at;
	t->hdr_va = ph->p_vaddr;
	return t->count > 0;
}

/* The function [start, end) whose FDE covers va. */
static bool fde_lookup(const struct image *im, const struct fde_table *t, uint64_t va,
		       uint64_t *start, uint64_t *end)
{
	size_t lo = 0, hi = t->count, sz;
	const uint8_t *fde;
	uint64_t fde_va, begin, range;
	uint32_t len;
	int enc;

	while (lo < hi) {                       /* last entry starting at or before va */
		size_t mid = lo + (hi - lo) / 2;

		if (t->hdr_va + (uint64_t)(int64_t)(int32_t)rd32(t->table + mid * 8) <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	*start = t->hdr_va + (uint64_t)(int64_t)(int32_t)rd32(t->table + (lo - 1) * 8);
	fde_va = t->hdr_va + (uint64_t)(int64_t)(int32_t)rd32(t->table + (lo - 1) * 8 + 4);
	fde = va_bytes(im, fde_va, 8);
	if (!fde)
		return false;
	len = rd32(fde);
	if (len < 8 || len == 0xffffffff || rd32(fde + 4) == 0)
		return false;
	fde = va_bytes(im, fde_va, 4 + (size_t)len);
	if (!fde)
		return false;
	enc = cie_fde_encoding(im, fde_va + 4 - rd32(fde + 4));
	if (enc < 0)
		return false;
	sz = enc_size((uint8_t)enc);
	if (!sz || 8 + 2 * sz > 4 + (size_t)len)
		return false;
	if (!read_enc(fde + 8, (uint8_t)enc, fde_va + 8, &begin) || begin != *start)
		return false;
	if (!read_enc(fde + 8 + sz, (uint8_t)(enc & 0x0f), 0, &range))
		return false;
	*end = begin + range;
	return va >= begin && va - begin < range;
}

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

	if (!s->have_fdes || !fde_lookup(s->im, &s->fdes, va, &start, &end) ||
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

	if (!site_reason(c, off, reg, file_va, &reason))
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
		t = c->va + i + 6 + (uint64_t)(int64_t)(int32_t)rd32(q + 2);
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
		    c->va + i + 5 + (uint64_t)(int64_t)(int32_t)rd32(c->p + i + 1) == target)
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

	if (!va_to_off(im, f->start, true, &off))
		return -ENOENT;
	fn->offset = off;
	return 0;
}

static int scan_and_match(struct scan *s, struct tls_targets *out, const char *path, char *err, size_t errlen)
{
	struct code code[MAX_LOADS];
	size_t ncode = code_regions(s->im, code, MAX_LOADS);
	struct match rd, wr;

	s->have_fdes = fde_table_open(s->im, &s->fdes);
	for (size_t i = 0; i < ncode; i++)
		scan_code(s, &code[i]);
	if (s->too_many)
		return fail(err, errlen, -ENOENT, "%s: more than %d ssl_lib.cc error sites: not BoringSSL as we know it",
			    path, MAX_SITES);
	match_functions(s, &rd, &wr);
	if (rd.count != 1 || wr.count != 1)
		return fail(err, errlen, -ENOENT,
			    "%s: BoringSSL found (%zu error sites in ssl_lib.cc, %zu functions) but SSL_read "
			    "matched %zu functions and SSL_write %zu (need exactly one each)",
			    path, s->nsites, s->nfuncs, rd.count, wr.count);
	if (entry_offset(s->im, rd.f, &out->ssl_read) || entry_offset(s->im, wr.f, &out->ssl_write))
		return fail(err, errlen, -ENOENT, "%s: SSL_read/SSL_write entry outside the executable segments", path);
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
		return fail(err, errlen, -ENOENT,
			    "%s: no TLS library (no SSL_read/SSL_write symbols, no BoringSSL ssl_lib.cc)", path);
	if (im->ehdr.e_ident[EI_CLASS] != ELFCLASS64 || im->ehdr.e_machine != EM_X86_64)
		return fail(err, errlen, -ENOENT,
			    "%s: BoringSSL without symbols; locating it is supported on x86-64 only", path);
	s.funcs = calloc(MAX_SITES, sizeof(*s.funcs));
	if (!s.funcs)
		return fail(err, errlen, -ENOMEM, "out of memory");
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
	rc = image_open(&im, path, err, errlen);
	if (!rc) {
		rc = locate_by_symbols(&im, out, path, err, errlen);
		if (rc == -ENOENT) {
			/* a lone SSL_write symbol without SSL_read is no use */
			memset(out, 0, sizeof(*out));
			rc = locate_by_scan(&im, out, path, err, errlen);
		}
	}
	image_close(&im);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}
