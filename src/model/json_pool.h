/* SPDX-License-Identifier: MIT */
/*
 * json_pool - a small-block cache under jansson's allocations.
 *
 * Every recorded event becomes a jansson object of a dozen or more small
 * allocations (the object, its hash table, one pair per key, one block per
 * value, two per string) that all die a few microseconds later. With
 * glibc's allocator those blocks overflow its per-thread cache (7 per size)
 * and go through the locked bins; this keeps up to JSON_POOL_KEEP free
 * blocks per size class and thread, and hands them back without locking.
 */
#ifndef AT_JSON_POOL_H
#define AT_JSON_POOL_H

#include <jansson.h>
#include <stddef.h>

/* blocks of up to this many bytes are pooled; larger go to malloc */
#define JSON_POOL_MAX_SIZE 256
/* free blocks kept per size class and thread; the rest go back to free() */
#define JSON_POOL_KEEP 4096

/* Make jansson allocate through the pool. Call once, before any jansson
 * value exists (jansson frees with the function current at free time). */
void json_pool_install(void);

/*
 * json_dumps, but the text comes from malloc: free() it. With the pool
 * installed, json_dumps' text comes from the pool and free() on it would
 * be wrong; every json_dumps in agenttrail goes through this instead.
 */
char *json_pool_dumps(const json_t *v, size_t flags);

/* The allocator itself, exported for its tests. */
void *json_pool_alloc(size_t size);
void json_pool_free(void *p);

/* Free blocks the calling thread keeps, over all classes (tests). */
size_t json_pool_cached(void);
/* Give the calling thread's free blocks back to the C library. */
void json_pool_drain(void);

#endif
