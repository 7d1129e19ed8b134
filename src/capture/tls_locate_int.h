/* SPDX-License-Identifier: MIT */
/*
 * Internal to tls_locate: the mapped ELF file and its unwind table
 * (tls_image.c), the decoder of an error site's call set-up (tls_x86.c),
 * and what they share with the search itself (tls_locate.c).
 */
#ifndef AT_CAPTURE_TLS_LOCATE_INT_H
#define AT_CAPTURE_TLS_LOCATE_INT_H

#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* err = the message (when err is not NULL); returns rc. */
__attribute__((format(printf, 4, 5)))
static inline int tls_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static inline uint32_t tls_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tls_rd64(const uint8_t *p)
{
	return (uint64_t)tls_rd32(p) | (uint64_t)tls_rd32(p + 4) << 32;
}

/* tls_image.c: the mapped file */
int tls_image_open(struct image *im, const char *path, char *err, size_t errlen);
void tls_image_close(struct image *im);
/* The file offset of virtual address va in a PT_LOAD (executable only if
 * want_exec). */
bool tls_va_to_off(const struct image *im, uint64_t va, bool want_exec, uint64_t *off);
/* n bytes of the file at va, or NULL. */
const uint8_t *tls_va_bytes(const struct image *im, uint64_t va, size_t n);
/* tls_image.c: .eh_frame_hdr's table, and the function an FDE gives va */
bool tls_fde_table_open(const struct image *im, struct fde_table *t);
bool tls_fde_lookup(const struct image *im, const struct fde_table *t, uint64_t va,
		    uint64_t *start, uint64_t *end);

/* tls_x86.c: the reason code an error site passes (see tls_locate.c) */
bool tls_site_reason(const struct code *c, size_t off, int file_reg, uint64_t file_va,
		     uint32_t *reason);

#endif
