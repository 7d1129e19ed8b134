/* SPDX-License-Identifier: MIT */
/*
 * TLS targets: which binaries carry a TLS library, and uprobes on their
 * SSL_read/SSL_write (and _ex) or gnutls_record_recv/send.
 *
 * Every executable a session process runs and every file it maps
 * executable is considered once (by device and inode). Uprobes live on the
 * file, not on a process: each target is attached once, for every process
 * that maps it, and the kernel programs keep only session processes. The
 * system's own libssl/libgnutls are attached up front, so a short-lived
 * client (curl) that maps and uses them within milliseconds is not missed.
 *
 * Functions found by scanning a stripped binary (BoringSSL in Bun) are
 * checked on live traffic: if the first bytes a process writes through them
 * on a new connection are not HTTP, the attachment is removed and the
 * binary reported as an unsupported build instead of recording garbage.
 */
#ifndef AT_CAPTURE_TLS_H
#define AT_CAPTURE_TLS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/tls_cache.h"

struct loader;
struct bpf_link;

#define TLS_MAX_LINKS 8

struct tls_attachment {
	uint32_t id;
	dev_t dev;
	ino_t ino;
	uint32_t kdev;          /* the kernel's device number of the file */
	char *path;
	const char *lib;        /* "openssl", "boringssl", "gnutls" */
	const char *method;     /* "symbols", "boringssl-scan" */
	uint8_t source;         /* enum at_source */
	struct bpf_link *links[TLS_MAX_LINKS];
	int nlinks;
	bool validated;         /* saw HTTP through it */
	bool disabled;          /* detached: unsupported build, or rewritten */
	bool rewritten;         /* detached: opened for writing in a session */
};

struct tls_file {
	dev_t dev;
	ino_t ino;
	uint32_t kdev;          /* the kernel's device number */
};

struct tls_mgr {
	struct loader *l;
	struct tls_attachment *att;
	size_t natt, capatt;
	struct tls_file *seen;  /* every file considered, with or without TLS */
	size_t nseen, capseen;
	struct tls_cache no_tls; /* files without a TLS library, across runs */
	pthread_t detachers[16]; /* taking rewritten programs' uprobes off */
	size_t ndetachers;
	bool verbose;
	bool quiet;
	bool enabled;
};

void tls_mgr_init(struct tls_mgr *m, struct loader *l, bool enabled, bool verbose, bool quiet);
/* Consider the file at path (once per file). Returns the number of new
 * attachments (0 or 1). */
int tls_mgr_consider(struct tls_mgr *m, const char *path);
/* The kernel's names of a file a record named (exec, exec_map). */
struct tls_kname {
	uint32_t dev;
	uint64_t ino;
};
/* The same, told how the kernel names the file (NULL: unknown). */
int tls_mgr_consider_file(struct tls_mgr *m, const char *path, const struct tls_kname *kn);
/* A session process opened a file looked at here for writing (the
 * kernel's names; AT_F_EXE_WRITTEN): take its uprobes off, since they sit
 * at offsets chosen for the old contents, and look at it again when it
 * next runs. */
void tls_mgr_file_written(struct tls_mgr *m, uint32_t kdev, uint64_t ino);
/* Every executable mapping of a running process (--pid, and the tree
 * found at start). */
void tls_mgr_consider_maps(struct tls_mgr *m, pid_t pid);
/* The system's libssl and libgnutls from the usual library directories. */
void tls_mgr_attach_system(struct tls_mgr *m);
/* flows_opts.first_bytes: ctx is the tls_mgr. */
void tls_mgr_first_bytes(void *ctx, uint32_t attach, bool http);
/* A JSON array of the attachments (for the session's record); new ref. */
struct json_t;
struct json_t *tls_mgr_json(const struct tls_mgr *m);
/* Detach everything. */
void tls_mgr_close(struct tls_mgr *m);

#endif
