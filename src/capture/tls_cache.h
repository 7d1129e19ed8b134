/* SPDX-License-Identifier: MIT */
/*
 * The binaries known to carry no TLS library, kept across runs.
 *
 * Deciding that a stripped binary holds no BoringSSL means reading its
 * read-only segments: for a compiler's libLLVM, a hundred megabytes, a
 * quarter of what recording a build costs agenttrail. The answer depends
 * only on the file's contents, so it is kept in a file, one line per binary,
 * keyed by what changes when the file does: device, inode, size, and the
 * modification and change times to the nanosecond. Only negative answers
 * are kept; a binary with a TLS library is always located afresh.
 *
 * The file is root's (its directory is made 0700): whoever can write it can
 * hide a binary from the TLS capture. Lines that do not parse are ignored;
 * a file grown past TLS_CACHE_MAX lines is started over. Losing it costs
 * only the scans again.
 */
#ifndef AT_CAPTURE_TLS_CACHE_H
#define AT_CAPTURE_TLS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define TLS_CACHE_MAX 4096

struct tls_cache_key {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

struct tls_cache {
	struct tls_cache_key *slots;    /* open addressing; ino == 0: empty */
	size_t nslots, n;
	int fd;                         /* appended to; -1: memory only */
};

/* Where the cache lives: $AGENTTRAIL_TLS_CACHE (empty: nowhere), else
 * /var/cache/agenttrail/tls-no-library for root and nothing for others.
 * Returns NULL when there is no file to keep. */
const char *tls_cache_default_path(void);

/* Loads path (creating it and its directory if missing); path NULL keeps
 * the answers in memory only. Never fails: a file that cannot be read or
 * written leaves a memory-only cache, and *why says so if why is given. */
void tls_cache_open(struct tls_cache *c, const char *path, const char **why);
bool tls_cache_has(const struct tls_cache *c, const struct stat *st);
/* Remembers st as a binary without a TLS library, and appends it. */
void tls_cache_add(struct tls_cache *c, const struct stat *st);
/* Calls fn for every binary remembered (in no particular order). */
void tls_cache_each(const struct tls_cache *c,
		    void (*fn)(void *arg, const struct tls_cache_key *k), void *arg);
void tls_cache_close(struct tls_cache *c);

#endif
