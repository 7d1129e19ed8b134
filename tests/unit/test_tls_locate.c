/* SPDX-License-Identifier: MIT */
/*
 * Tests for locating SSL_read/SSL_write (src/capture/tls_locate.c).
 *
 * Symbols: the system libssl.so.3, checked against where the dynamic
 * loader itself puts SSL_read (dlsym), converted to a file offset through
 * the loader's program headers: an independent path to the same answer.
 *
 * The BoringSSL scan: small ELF files built here byte by byte, with
 * functions made of ERR_put_error sites (both calling conventions, PIE and
 * not, with and without .eh_frame), so each rule of the scan is shown
 * working and refusing to guess. A real Claude Code binary is checked too
 * when AT_CLAUDE_BIN names one.
 *
 * Robustness: truncated and randomly mutated ELF files must give an error,
 * never a crash (run the unit tests of an AT_SANITIZE build for teeth).
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/tls_locate.h"

/* BoringSSL reason codes, as in include/openssl/ssl.h and err.h */
#define SHOULD_NOT_HAVE_BEEN_CALLED 66
#define BAD_LENGTH 111
#define SSL_HANDSHAKE_FAILURE 215
#define UNINITIALIZED 226
#define APPLICATION_DATA_ON_SHUTDOWN 291
#define KEY_UPDATE_REASON 302   /* any other reason: a bystander */

/* ---- helpers ---------------------------------------------------------------- */

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/at-tls-locate-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, malloc'd; NULL if it cannot be read. */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* An error result leaves nothing behind for a caller to misuse. */
static void assert_cleared(const struct tls_targets *t)
{
	assert_int_equal(t->ssl_read.offset, 0);
	assert_int_equal(t->ssl_write.offset, 0);
	assert_int_equal(t->ssl_read_ex.offset, 0);
	assert_int_equal(t->ssl_write_ex.offset, 0);
	assert_null(t->method);
}

/* ---- symbols: the system libssl against the dynamic loader ------------------------- */

struct loaded {
	const void *addr;       /* in: an address inside the object */
	char path[512];         /* out */
	uint64_t file_off;      /* out: addr as a file offset */
	bool found;
};

static int find_loaded(struct dl_phdr_info *info, size_t size, void *data)
{
	struct loaded *l = data;
	uint64_t va = (uint64_t)(uintptr_t)l->addr - info->dlpi_addr;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || va < ph->p_vaddr || va - ph->p_vaddr >= ph->p_filesz)
			continue;
		snprintf(l->path, sizeof(l->path), "%s", info->dlpi_name);
		l->file_off = ph->p_offset + (va - ph->p_vaddr);
		l->found = true;
		return 1;
	}
	return 0;
}

/* The file offset of a function as the dynamic loader sees it. */
static uint64_t loader_offset(void *lib, const char *name, char *path, size_t pathlen)
{
	struct loaded l = { .addr = dlsym(lib, name) };

	assert_non_null(l.addr);
	assert_int_equal(dl_iterate_phdr(find_loaded, &l), 1);
	assert_true(l.found);
	if (path)
		snprintf(path, pathlen, "%s", l.path);
	return l.file_off;
}

static void test_libssl_symbols(void **state)
{
	void *lib = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
	struct tls_targets t;
	char path[512], err[256];
	uint64_t rd, wr, rd_ex, wr_ex;

	(void)state;
	if (!lib) {
		print_message("libssl.so.3 cannot be loaded (%s): skipped\n", dlerror());
		skip();
	}
	rd = loader_offset(lib, "SSL_read", path, sizeof(path));
	wr = loader_offset(lib, "SSL_write", NULL, 0);
	rd_ex = loader_offset(lib, "SSL_read_ex", NULL, 0);
	wr_ex = loader_offset(lib, "SSL_write_ex", NULL, 0);

	assert_int_equal(tls_locate(path, &t, err, sizeof(err)), 0);
	assert_string_equal(t.method, "symbols");
	assert_string_equal(t.lib, "openssl");
	assert_int_equal(t.ssl_read.offset, rd);
	assert_int_equal(t.ssl_write.offset, wr);
	assert_int_equal(t.ssl_read_ex.offset, rd_ex);
	assert_int_equal(t.ssl_write_ex.offset, wr_ex);
	assert_int_equal(dlclose(lib), 0);
}

/* A library that calls SSL_write in libssl imports it: not a target. */
static void test_importer_is_not_a_target(void **state)
{
	void *lib = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
	struct tls_targets t;
	char path[512], err[256];

	(void)state;
	if (!lib) {
		print_message("libcurl.so.4 cannot be loaded (%s): skipped\n", dlerror());
		skip();
	}
	loader_offset(lib, "curl_easy_init", path, sizeof(path));
	assert_int_equal(tls_locate(path, &t, err, sizeof(err)), -ENOENT);
	assert_cleared(&t);
	assert_non_null(strstr(err, "no TLS library"));
	assert_int_equal(dlclose(lib), 0);
}

static void test_no_tls(void **state)
{
	struct tls_targets t;
	char err[256];

	(void)state;
	assert_int_equal(tls_locate("/bin/true", &t, err, sizeof(err)), -ENOENT);
	assert_cleared(&t);
	assert_non_null(strstr(err, "no TLS library"));
}

static void test_not_elf(void **state)
{
	static const char text[] = "#!/bin/sh\necho not an ELF file\n";
	struct tls_targets t;
	char path[128], err[256];

	(void)state;
	tmp_path(path, sizeof(path), "script.sh");
	write_file(path, text, sizeof(text) - 1);
	assert_int_equal(tls_locate(path, &t, err, sizeof(err)), -ENOEXEC);
	assert_cleared(&t);
	write_file(path, "", 0);
	assert_int_equal(tls_locate(path, &t, err, sizeof(err)), -ENOEXEC);
	assert_int_equal(tls_locate("/nonexistent/libssl.so", &t, err, sizeof(err)), -ENOENT);
	assert_int_equal(tls_locate(tmpdir, &t, NULL, 0), -ENOEXEC); /* a directory */
}

/* Copies of libssl cut short anywhere: an error, never a crash. */
static void test_truncated(void **state)
{
	const char *src = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
	size_t len, cuts[6];
	uint8_t *data = read_file(src, &len);
	char path[128], err[256];

	(void)state;
	if (!data) {
		print_message("%s not readable: skipped\n", src);
		skip();
	}
	cuts[0] = 4, cuts[1] = 63, cuts[2] = 64 + 56, cuts[3] = len / 3, cuts[4] = len / 2, cuts[5] = len - 1;
	tmp_path(path, sizeof(path), "truncated.so");
	for (size_t i = 0; i < 6; i++) {
		struct tls_targets t;

		write_file(path, data, cuts[i]);
		assert_int_equal(tls_locate(path, &t, err, sizeof(err)), -ENOEXEC);
		assert_cleared(&t);
	}
	free(data);
}

/* ---- the BoringSSL scan on synthetic ELF files -------------------------------------- */

/*
 * Layout: one read-only PT_LOAD at file offset 0 holding the headers, the
 * path string and (optionally) .eh_frame_hdr/.eh_frame; one executable
 * PT_LOAD at 0x1000 holding the code. Non-PIE images load at 0x400000 and
 * load the path with "mov r32, imm32"; PIE ones at 0 with "lea r64, [rip]".
 */
#define SY_SIZE 0x3000
#define SY_STR 0x800
#define SY_EH_HDR 0x900
#define SY_EH_FRAME 0xa00
#define SY_CODE 0x1000
#define SY_MAX_FUNCS 16

struct synth {
	uint8_t img[SY_SIZE];
	size_t pc;              /* next code byte, file offset */
	uint64_t base;          /* load address of file offset 0 */
	bool pie, five_args;
	uint64_t err_fn;        /* the ERR_put_error stand-in */
	uint64_t fstart[SY_MAX_FUNCS], flen[SY_MAX_FUNCS];
	size_t nfuncs;
};

static uint64_t sy_va(const struct synth *s, size_t off)
{
	return s->base + off;
}

static void sy_byte(struct synth *s, unsigned b)
{
	assert_true(s->pc < SY_SIZE);
	s->img[s->pc++] = (uint8_t)b;
}

static void sy_bytes(struct synth *s, const char *hex)
{
	unsigned b;
	int n;

	while (sscanf(hex, " %2x%n", &b, &n) == 1) {
		sy_byte(s, b);
		hex += n;
	}
}

static void sy_u32(struct synth *s, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		sy_byte(s, (v >> (8 * i)) & 0xff);
}

static void sy_rel32(struct synth *s, uint64_t target)
{
	sy_u32(s, (uint32_t)(target - sy_va(s, s->pc + 4)));
}

/* Pads to the next 16-byte boundary with int3, as lld does. */
static void sy_align(struct synth *s, unsigned fill)
{
	while (s->pc % 16)
		sy_byte(s, fill);
}

/* OPENSSL_PUT_ERROR(SSL, reason): ERR_put_error(16, [0,] reason, file, line) */
static void sy_site(struct synth *s, unsigned reason)
{
	uint64_t file = sy_va(s, SY_STR);

	if (s->pie) {                   /* lea rcx or rdx, [rip + disp32] */
		sy_bytes(s, s->five_args ? "48 8d 0d" : "48 8d 15");
		sy_rel32(s, file);
	} else {                        /* mov ecx or edx, imm32 */
		sy_byte(s, s->five_args ? 0xb9 : 0xba);
		sy_u32(s, (uint32_t)file);
	}
	sy_bytes(s, "bf 10 00 00 00");  /* mov edi, ERR_LIB_SSL */
	if (s->five_args) {
		sy_bytes(s, "31 f6 ba");        /* xor esi, esi; mov edx, reason */
		sy_u32(s, reason);
		sy_bytes(s, "41 b8 2a 00 00 00"); /* mov r8d, line */
	} else {
		sy_byte(s, 0xbe);               /* mov esi, reason */
		sy_u32(s, reason);
		sy_bytes(s, "b9 2a 00 00 00");  /* mov ecx, line */
	}
	sy_byte(s, 0xe8);
	sy_rel32(s, s->err_fn);
}

enum { SY_FRAME, SY_BARE };     /* push rbp; mov rbp,rsp / push rbx, no padding */

/* A function raising reasons[] (0-terminated) and calling callee (0: none). */
static uint64_t sy_func(struct synth *s, int style, const unsigned *reasons, uint64_t callee)
{
	uint64_t start;

	sy_align(s, style == SY_BARE ? 0x90 : 0xcc);
	start = sy_va(s, s->pc);
	sy_bytes(s, style == SY_BARE ? "53" : "55 48 89 e5");
	sy_bytes(s, "48 89 fb 85 d2");  /* mov rbx, rdi; test edx, edx */
	for (const unsigned *r = reasons; r && *r; r++)
		sy_site(s, *r);
	if (callee) {
		sy_bytes(s, "48 89 df e8");     /* mov rdi, rbx; call callee */
		sy_rel32(s, callee);
	}
	sy_bytes(s, style == SY_BARE ? "5b c3" : "5d c3");
	assert_true(s->nfuncs < SY_MAX_FUNCS);
	s->fstart[s->nfuncs] = start;
	s->flen[s->nfuncs++] = sy_va(s, s->pc) - start;
	return start;
}

static void sy_init(struct synth *s, bool pie, bool five_args)
{
	static const char path[] = "../../vendor/boringssl/ssl/ssl_lib.cc";

	memset(s, 0, sizeof(*s));
	s->pie = pie;
	s->five_args = five_args;
	s->base = pie ? 0 : 0x400000;
	memcpy(s->img + SY_STR, path, sizeof(path));
	memcpy(s->img + SY_STR + 0x40, "ssl/ssl_lib.cc.bak", 19); /* no match: not the end */
	s->pc = SY_CODE;
	s->err_fn = sy_func(s, SY_FRAME, NULL, 0);
	s->nfuncs = 0;                  /* the stand-in gets no FDE */
}

static void sy_put(struct synth *s, size_t off, const void *p, size_t n)
{
	assert_true(off + n <= SY_SIZE);
	memcpy(s->img + off, p, n);
}

static void sy_put32(struct synth *s, size_t off, uint32_t v)
{
	sy_put(s, off, &v, 4);
}

/* .eh_frame with one CIE ("zR", pc-relative sdata4 pointers) and an FDE per
 * function, and the sorted .eh_frame_hdr table. Returns the hdr's size. */
static size_t sy_eh_frame(struct synth *s)
{
	static const uint8_t cie[] = {
		16, 0, 0, 0, 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 0x10, 1, 0x1b, 0, 0, 0,
	};
	size_t fde = SY_EH_FRAME + sizeof(cie);

	sy_put(s, SY_EH_FRAME, cie, sizeof(cie));
	s->img[SY_EH_HDR] = 1;
	s->img[SY_EH_HDR + 1] = 0x1b;   /* eh_frame_ptr: pcrel sdata4 */
	s->img[SY_EH_HDR + 2] = 0x03;   /* fde_count: udata4 */
	s->img[SY_EH_HDR + 3] = 0x3b;   /* table: datarel sdata4 */
	sy_put32(s, SY_EH_HDR + 4, (uint32_t)(SY_EH_FRAME - (SY_EH_HDR + 4)));
	sy_put32(s, SY_EH_HDR + 8, (uint32_t)s->nfuncs);
	for (size_t i = 0; i < s->nfuncs; i++, fde += 20) {
		sy_put32(s, fde, 16);
		sy_put32(s, fde + 4, (uint32_t)(fde + 4 - SY_EH_FRAME));
		sy_put32(s, fde + 8, (uint32_t)(s->fstart[i] - sy_va(s, fde + 8)));
		sy_put32(s, fde + 12, (uint32_t)s->flen[i]);
		sy_put32(s, fde + 16, 0);       /* no augmentation data, no CFA program */
		sy_put32(s, SY_EH_HDR + 12 + 8 * i, (uint32_t)(s->fstart[i] - sy_va(s, SY_EH_HDR)));
		sy_put32(s, SY_EH_HDR + 16 + 8 * i, (uint32_t)(sy_va(s, fde) - sy_va(s, SY_EH_HDR)));
	}
	return 12 + 8 * s->nfuncs;
}

/* Writes the headers (and .eh_frame if asked) and the file. */
static void sy_finish(struct synth *s, bool eh_frame, const char *path)
{
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = s->pie ? ET_DYN : ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = sy_va(s, SY_CODE),
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = eh_frame ? 3 : 2,
	};
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = 0, .p_vaddr = s->base,
		  .p_paddr = s->base, .p_filesz = SY_CODE, .p_memsz = SY_CODE, .p_align = 0x1000 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = SY_CODE,
		  .p_vaddr = sy_va(s, SY_CODE), .p_paddr = sy_va(s, SY_CODE),
		  .p_filesz = SY_SIZE - SY_CODE, .p_memsz = SY_SIZE - SY_CODE, .p_align = 0x1000 },
		{ .p_type = PT_GNU_EH_FRAME, .p_flags = PF_R, .p_offset = SY_EH_HDR,
		  .p_vaddr = sy_va(s, SY_EH_HDR), .p_paddr = sy_va(s, SY_EH_HDR), .p_align = 4 },
	};

	if (eh_frame)
		ph[2].p_filesz = ph[2].p_memsz = sy_eh_frame(s);
	sy_align(s, 0xcc);
	memcpy(s->img, &eh, sizeof(eh));
	memcpy(s->img + sizeof(eh), ph, sizeof(ph));
	write_file(path, s->img, SY_SIZE);
}

static const unsigned WRITE_REASONS[] = { SHOULD_NOT_HAVE_BEEN_CALLED, UNINITIALIZED,
					  SSL_HANDSHAKE_FAILURE, BAD_LENGTH, 0 };
static const unsigned IMPL_REASONS[] = { UNINITIALIZED, SSL_HANDSHAKE_FAILURE, 0 };
static const unsigned PEEK_REASONS[] = { SHOULD_NOT_HAVE_BEEN_CALLED, 0 };
static const unsigned INLINED_READ_REASONS[] = { SHOULD_NOT_HAVE_BEEN_CALLED, UNINITIALIZED,
						 SSL_HANDSHAKE_FAILURE, 0 };
static const unsigned SHUTDOWN_REASONS[] = { UNINITIALIZED, APPLICATION_DATA_ON_SHUTDOWN, 0 };
static const unsigned KEY_UPDATE_REASONS[] = { UNINITIALIZED, SHOULD_NOT_HAVE_BEEN_CALLED,
					       KEY_UPDATE_REASON, 0 };

/* The file offset of a function of s: the code segment maps SY_CODE. */
static uint64_t sy_off(const struct synth *s, uint64_t va)
{
	return va - s->base;
}

/* ssl_lib.cc as recent Bun builds it: ssl_read_impl separate, called by
 * SSL_read (SSL_peek inlined) and SSL_shutdown; bystanders around. */
static void build_separate_impl(struct synth *s, uint64_t *rd, uint64_t *wr)
{
	uint64_t impl;

	sy_func(s, SY_FRAME, KEY_UPDATE_REASONS, 0);
	*wr = sy_func(s, SY_FRAME, WRITE_REASONS, 0);
	impl = sy_func(s, SY_FRAME, IMPL_REASONS, 0);
	*rd = sy_func(s, SY_FRAME, PEEK_REASONS, impl);
	sy_func(s, SY_FRAME, SHUTDOWN_REASONS, impl);
}

static void check_scan(const char *path, uint64_t rd, uint64_t wr)
{
	struct tls_targets t;
	char err[256];

	assert_int_equal(tls_locate(path, &t, err, sizeof(err)), 0);
	assert_string_equal(t.method, "boringssl-scan");
	assert_string_equal(t.lib, "boringssl");
	assert_int_equal(t.ssl_read.offset, rd);
	assert_int_equal(t.ssl_write.offset, wr);
	assert_int_equal(t.ssl_read_ex.offset, 0);
	assert_int_equal(t.ssl_write_ex.offset, 0);
}

static void test_scan_conventions(void **state)
{
	char path[128];

	(void)state;
	tmp_path(path, sizeof(path), "synth");
	for (int pie = 0; pie < 2; pie++) {
		for (int five = 0; five < 2; five++) {
			for (int eh = 0; eh < 2; eh++) {
				struct synth s;
				uint64_t rd, wr;

				sy_init(&s, pie, five);
				build_separate_impl(&s, &rd, &wr);
				sy_finish(&s, eh, path);
				check_scan(path, sy_off(&s, rd), sy_off(&s, wr));
			}
		}
	}
}

/* SSL_peek and ssl_read_impl both inlined into SSL_read: its own reasons
 * identify it; SSL_shutdown keeps a separate copy of ssl_read_impl. */
static void test_scan_inlined_read(void **state)
{
	struct synth s;
	uint64_t rd, wr, impl;
	char path[128];

	(void)state;
	tmp_path(path, sizeof(path), "synth-inlined");
	sy_init(&s, false, false);
	rd = sy_func(&s, SY_FRAME, INLINED_READ_REASONS, 0);
	wr = sy_func(&s, SY_FRAME, WRITE_REASONS, 0);
	impl = sy_func(&s, SY_FRAME, IMPL_REASONS, 0);
	sy_func(&s, SY_FRAME, SHUTDOWN_REASONS, impl);
	sy_finish(&s, false, path);
	check_scan(path, sy_off(&s, rd), sy_off(&s, wr));
}

/* Two functions with SSL_write's reasons: no answer rather than a guess. */
static void test_scan_ambiguous(void **state)
{
	struct synth s;
	struct tls_targets t;
	uint64_t rd, wr;
	char path[128], err[256];

	(void)state;
	tmp_path(path, sizeof(path), "synth-ambiguous");
	sy_init(&s, false, true);
	build_separate_impl(&s, &rd, &wr);
	sy_func(&s, SY_FRAME, WRITE_REASONS, 0);
	sy_finish(&s, false, path);
	assert_int_equal(tls_locate(path, &t, err, sizeof(err)), -ENOENT);
	assert_cleared(&t);
	assert_non_null(strstr(err, "SSL_write 2"));

	/* and SSL_read missing altogether (no SHOULD_NOT_HAVE_BEEN_CALLED) */
	sy_init(&s, false, true);
	sy_func(&s, SY_FRAME, WRITE_REASONS, 0);
	sy_func(&s, SY_FRAME, IMPL_REASONS, 0);
	sy_finish(&s, false, path);
	assert_int_equal(tls_locate(path, &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "SSL_read matched 0"));
}

/*
 * A function whose start the layout rules cannot see (no frame set-up, no
 * int3 padding before it) is found through its FDE; without unwind tables
 * its sites fall into the previous function, and the result is a refusal,
 * not a wrong address.
 */
static void test_scan_needs_fde(void **state)
{
	char path[128], err[256];

	(void)state;
	tmp_path(path, sizeof(path), "synth-bare");
	for (int eh = 0; eh < 2; eh++) {
		struct synth s;
		struct tls_targets t;
		uint64_t impl, rd, wr;

		sy_init(&s, false, true);
		impl = sy_func(&s, SY_FRAME, IMPL_REASONS, 0);
		rd = sy_func(&s, SY_FRAME, PEEK_REASONS, impl);
		wr = sy_func(&s, SY_BARE, WRITE_REASONS, 0);
		sy_finish(&s, eh, path);
		if (eh) {
			check_scan(path, sy_off(&s, rd), sy_off(&s, wr));
		} else {
			assert_int_equal(tls_locate(path, &t, err, sizeof(err)), -ENOENT);
			assert_cleared(&t);
		}
	}
}

/* A site whose edi is not ERR_LIB_SSL is some other use of the string. */
static void test_scan_other_library_code(void **state)
{
	struct synth s;
	struct tls_targets t;
	uint64_t rd, wr;
	char path[128], err[256];

	(void)state;
	tmp_path(path, sizeof(path), "synth-lib");
	sy_init(&s, false, true);
	build_separate_impl(&s, &rd, &wr);
	/* patch every "mov edi, 16" to "mov edi, 17" */
	for (size_t i = SY_CODE; i + 5 <= SY_SIZE; i++)
		if (!memcmp(s.img + i, "\xbf\x10\x00\x00\x00", 5))
			s.img[i + 1] = 0x11;
	sy_finish(&s, false, path);
	assert_int_equal(tls_locate(path, &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "0 error sites"));
}

/* ---- a real Claude Code binary --------------------------------------------------------- */

static void test_claude_binary(void **state)
{
	const char *bin = getenv("AT_CLAUDE_BIN");
	struct tls_targets t;
	struct stat st;
	char err[512];

	(void)state;
	if (!bin || !*bin) {
		print_message("AT_CLAUDE_BIN not set (path of a Claude Code native binary, e.g. "
			      "package/claude of @anthropic-ai/claude-code-linux-x64): skipped\n");
		skip();
	}
	assert_int_equal(stat(bin, &st), 0);
	if (tls_locate(bin, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(t.method, "boringssl-scan");
	assert_string_equal(t.lib, "boringssl");
	assert_true(t.ssl_read.offset > 0 && t.ssl_read.offset < (uint64_t)st.st_size);
	assert_true(t.ssl_write.offset > 0 && t.ssl_write.offset < (uint64_t)st.st_size);
	assert_true(t.ssl_read.offset != t.ssl_write.offset);
	print_message("%s: SSL_read at file offset %#llx, SSL_write at %#llx\n", bin,
		      (unsigned long long)t.ssl_read.offset, (unsigned long long)t.ssl_write.offset);
}

/* ---- robustness ------------------------------------------------------------------------- */

/* Flips random bytes, half of them in the headers where parsing starts. */
static void mutate(uint8_t *buf, size_t len, unsigned *seed)
{
	int flips = 1 + rand_r(seed) % 16;

	for (int i = 0; i < flips; i++) {
		size_t at = (rand_r(seed) & 1) ? (size_t)rand_r(seed) % (len < 512 ? len : 512)
					       : (size_t)rand_r(seed) % len;

		buf[at] = (uint8_t)rand_r(seed);
	}
}

static void fuzz_copies(const uint8_t *orig, size_t len, const char *name, int rounds)
{
	uint8_t *buf = malloc(len);
	char path[128], err[256];

	assert_non_null(buf);
	tmp_path(path, sizeof(path), name);
	for (int r = 0; r < rounds; r++) {
		unsigned seed = (unsigned)r + 1;
		struct tls_targets t;
		int rc;

		memcpy(buf, orig, len);
		mutate(buf, len, &seed);
		write_file(path, buf, len);
		rc = tls_locate(path, &t, err, sizeof(err));
		if (rc) {
			assert_true(rc < 0);
			assert_cleared(&t);
		} else {
			assert_true(t.ssl_read.offset < len && t.ssl_write.offset < len);
		}
	}
	free(buf);
}

static void test_mutated_files(void **state)
{
	struct synth s;
	uint64_t rd, wr;
	size_t len;
	uint8_t *data = read_file("/bin/true", &len);
	char path[128];

	(void)state;
	assert_non_null(data);
	fuzz_copies(data, len, "true-mutated", 200);
	free(data);

	/* the synthetic BoringSSL image reaches the scan and the FDE parser */
	tmp_path(path, sizeof(path), "synth-orig");
	sy_init(&s, false, true);
	build_separate_impl(&s, &rd, &wr);
	sy_finish(&s, true, path);
	fuzz_copies(s.img, SY_SIZE, "synth-mutated", 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libssl_symbols),
		cmocka_unit_test(test_importer_is_not_a_target),
		cmocka_unit_test(test_no_tls),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_scan_conventions),
		cmocka_unit_test(test_scan_inlined_read),
		cmocka_unit_test(test_scan_ambiguous),
		cmocka_unit_test(test_scan_needs_fde),
		cmocka_unit_test(test_scan_other_library_code),
		cmocka_unit_test(test_claude_binary),
		cmocka_unit_test(test_mutated_files),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
