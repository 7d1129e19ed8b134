// SPDX-License-Identifier: MIT
/*
 * json_pool - a small-block cache under jansson's allocations (see the
 * header for why). Size classes of 16 bytes up to JSON_POOL_MAX_SIZE; each
 * block carries a 16-byte header with its class, so a free needs no size
 * and keeps malloc's alignment. Larger blocks pass through to malloc with
 * the same header (class BIG), so either kind can be freed here.
 */
#include "model/json_pool.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define GRAIN 16
#define NCLASS (JSON_POOL_MAX_SIZE / GRAIN)
#define BIG UINT32_MAX

struct hdr {
	uint32_t cls;
	uint32_t pad[3];   /* 16 bytes: user blocks stay 16-aligned */
};

_Static_assert(sizeof(struct hdr) == GRAIN, "header must keep malloc's alignment");

struct free_block {
	struct free_block *next;
};

/*
 * Per-thread free lists: thread-local so that taking and giving back a
 * block needs no lock. A block freed by another thread than the one that
 * allocated it simply joins the freeing thread's list. A thread that ends
 * gives its blocks back (the key's destructor).
 */
struct pool_cache {
	struct free_block *head[NCLASS];
	unsigned count[NCLASS];
	bool registered;
};

static __thread struct pool_cache cache;

/* The key whose destructor drains an exiting thread's lists; made once. */
static pthread_key_t drain_key;
static pthread_once_t drain_once = PTHREAD_ONCE_INIT;
static bool drain_key_ok;

static void drain_at_exit(void *unused)
{
	(void)unused;
	json_pool_drain();
}

static void make_drain_key(void)
{
	drain_key_ok = pthread_key_create(&drain_key, drain_at_exit) == 0;
}

/* Arrange for this thread's lists to be drained when it ends. Without the
 * key (it could not be made) blocks are still correct, only not pooled. */
static bool thread_registered(void)
{
	if (cache.registered)
		return true;
	if (pthread_once(&drain_once, make_drain_key) || !drain_key_ok)
		return false;
	if (pthread_setspecific(drain_key, &cache))
		return false;
	cache.registered = true;
	return true;
}

static inline uint32_t class_of(size_t size)
{
	return size ? (uint32_t)((size - 1) / GRAIN) : 0;
}

void *json_pool_alloc(size_t size)
{
	struct hdr *h;

	if (size <= JSON_POOL_MAX_SIZE) {
		uint32_t c = class_of(size);
		struct free_block *b = cache.head[c];

		if (b) {
			cache.head[c] = b->next;
			cache.count[c]--;
			return b;
		}
		h = malloc(sizeof(*h) + (size_t)(c + 1) * GRAIN);
		if (!h)
			return NULL;
		h->cls = c;
		return h + 1;
	}
	if (size > SIZE_MAX - sizeof(*h))
		return NULL;
	h = malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->cls = BIG;
	return h + 1;
}

void json_pool_free(void *p)
{
	struct hdr *h;
	struct free_block *b = p;

	if (!p)
		return;
	h = (struct hdr *)p - 1;
	if (h->cls != BIG && cache.count[h->cls] < JSON_POOL_KEEP && thread_registered()) {
		b->next = cache.head[h->cls];
		cache.head[h->cls] = b;
		cache.count[h->cls]++;
		return;
	}
	free(h);
}

size_t json_pool_cached(void)
{
	size_t n = 0;

	for (int c = 0; c < NCLASS; c++)
		n += cache.count[c];
	return n;
}

void json_pool_drain(void)
{
	for (int c = 0; c < NCLASS; c++) {
		struct free_block *b = cache.head[c];

		while (b) {
			struct free_block *next = b->next;

			free((struct hdr *)b - 1);
			b = next;
		}
		cache.head[c] = NULL;
		cache.count[c] = 0;
	}
}

char *json_pool_dumps(const json_t *v, size_t flags)
{
	size_t n = json_dumpb(v, NULL, 0, flags);
	char *s;

	if (!n)
		return NULL;
	s = malloc(n + 1);
	if (!s)
		return NULL;
	if (json_dumpb(v, s, n, flags) != n) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

void json_pool_install(void)
{
	json_set_alloc_funcs(json_pool_alloc, json_pool_free);
}
