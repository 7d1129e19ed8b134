/* A set of live pids -> session id, for knowing when a session's process
 * tree is gone. Open addressing with tombstones; grows as needed. */
#ifndef AT_MODEL_PIDSET_H
#define AT_MODEL_PIDSET_H

#include <stddef.h>
#include <stdint.h>

struct pidset {
	uint32_t *keys;      /* 0 = empty, UINT32_MAX = deleted */
	uint64_t *vals;
	size_t cap;          /* power of two */
	size_t used;         /* live entries */
	size_t filled;       /* live + deleted */
};

int pidset_init(struct pidset *s);
void pidset_free(struct pidset *s);
int pidset_put(struct pidset *s, uint32_t pid, uint64_t session);
/* Returns 1 and sets *session if present. */
int pidset_get(const struct pidset *s, uint32_t pid, uint64_t *session);
void pidset_del(struct pidset *s, uint32_t pid);
/* Count of live pids belonging to session. */
size_t pidset_count_session(const struct pidset *s, uint64_t session);

/* Iterate: for (size_t i = 0; pidset_next(s, &i, &pid, &sess);) */
int pidset_next(const struct pidset *s, size_t *it, uint32_t *pid, uint64_t *session);

#endif
