/*
 * Where to attach the TLS plaintext uprobes in one ELF file.
 *
 * A library or executable that exports SSL_read/SSL_write (libssl.so.3,
 * Node, which links OpenSSL statically and exports it) is read from its
 * symbol tables. A stripped executable with BoringSSL linked in (Bun, and
 * so Claude Code's native build) has no such symbols: there the functions
 * are recognised by the errors they raise (see tls_locate.c).
 */
#ifndef AT_CAPTURE_TLS_LOCATE_H
#define AT_CAPTURE_TLS_LOCATE_H

#include <stddef.h>
#include <stdint.h>

struct tls_fn {
	/* File offset of the function's first instruction: what uprobes and
	 * libbpf's bpf_program__attach_uprobe(..., binary_path, func_offset)
	 * take. 0 = not found. */
	uint64_t offset;
};

struct tls_targets {
	/* int SSL_read(SSL *, void *buf, int num): plaintext in buf at return,
	 * return value = bytes. int SSL_write(SSL *, const void *buf, int num):
	 * plaintext in buf at entry. The _ex variants (OpenSSL >= 1.1.1) take
	 * (SSL *, buf, size_t num, size_t *count) and return 1 on success. */
	struct tls_fn ssl_read, ssl_write, ssl_read_ex, ssl_write_ex;
	const char *method;       /* "symbols" | "boringssl-scan" (static string) */
	char lib[16];             /* "openssl" | "boringssl" */
};

/*
 * Find SSL_read/SSL_write (and the _ex variants where they exist) in the
 * ELF file at path. Returns 0 when at least SSL_read and SSL_write were
 * found, -ENOENT when the file holds no TLS library we can hook (including
 * a binary that only imports SSL_* from a shared libssl, and a BoringSSL
 * binary where the functions could not be told apart with certainty) or
 * does not exist, and another -errno on errors (-ENOEXEC: not a valid or a
 * truncated ELF file). err, when given, receives a one-line explanation
 * of any non-zero result. On error *out is all zero.
 *
 * Only the SSL_read/SSL_write pair is located in a stripped BoringSSL
 * binary; the _ex offsets come from symbols only (Bun calls SSL_read and
 * SSL_write).
 */
int tls_locate(const char *path, struct tls_targets *out, char *err, size_t errlen);

#endif
