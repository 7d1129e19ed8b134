/* SPDX-License-Identifier: MIT */
/*
 * A search's failed opens, folded into the open that ends it.
 *
 * A compiler looks for each header in every include directory in turn, the
 * dynamic loader for each library in every library directory: most of a
 * build's events are such misses (ENOENT), each as large to keep as the open
 * that then finds the file. A thread's run of misses with the same flags and
 * the same last path component, followed by an open of the same thread with
 * those flags that finds a file of that name, is written as that one open,
 * its "searched" member listing the paths tried before (docs/events.md).
 * A run ended any other way (another record of the thread, more than
 * SEARCH_MAX_MISSES misses, the end of a consume call) is given back and
 * written as the events it was, in order: nothing is lost, only folded.
 */
#ifndef AT_MODEL_SEARCH_H
#define AT_MODEL_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sinks/json_out.h"

#define SEARCH_RUNS 8          /* threads with a run held at once */
#define SEARCH_MAX_MISSES 32   /* misses one run holds */
#define SEARCH_BASE_MAX 256    /* a last component longer than this is not folded */

struct search_run {
	uint32_t tid;
	uint64_t session;
	uint32_t flags;        /* the misses' open flags */
	uint64_t seq;          /* when the run began: the oldest goes first */
	unsigned n;            /* misses held; 0: the slot is free */
	char base[SEARCH_BASE_MAX];  /* the misses' last path component */
	struct jbuf raw;       /* their records, each a size_t, then its bytes */
	struct jbuf paths;     /* their paths as JSON strings, comma-separated */
};

struct searches {
	struct search_run run[SEARCH_RUNS];
	unsigned used;         /* slots with n > 0 */
	uint64_t seq;
	struct jbuf scratch, strs;   /* event_file_path()'s buffers */
};

void searches_init(struct searches *s);
void searches_free(struct searches *s);

/* The run tid holds, or NULL. */
static inline struct search_run *search_of(struct searches *s, uint32_t tid)
{
	if (!s->used)
		return NULL;
	for (unsigned i = 0; i < SEARCH_RUNS; i++)
		if (s->run[i].n && s->run[i].tid == tid)
			return &s->run[i];
	return NULL;
}

/* Whether rec (a kernel record of size bytes, from run's thread) is the
 * open that ends run's search: it found a file of the run's name, opened
 * with the same flags. */
bool search_ends(struct searches *s, const struct search_run *run, const void *rec,
		 size_t size);

enum search_hold {
	SEARCH_NOT_MISS,       /* not a miss that can be folded: write it */
	SEARCH_HELD,           /* kept in its thread's run */
	SEARCH_GIVE_BACK,      /* *out must be given back first, then ask again */
	SEARCH_NO_MEMORY,      /* not kept: write it */
};

/*
 * Offer a file record of the thread (one that does not end its run, see
 * search_ends()). A failed open (ENOENT) joins its thread's run, or starts
 * one. When the thread's run cannot take rec (another kind of record, a
 * miss of another name or flags, a full run) or every slot is taken, the
 * run to give back first is *out: write its records (search_next()),
 * search_clear() it, and offer rec again.
 */
enum search_hold search_hold(struct searches *s, const void *rec, size_t size,
			     struct search_run **out);

/* The run's records in order: start with *off = 0; false after the last. */
bool search_next(const struct search_run *run, size_t *off, const void **rec, size_t *size);

/* The run held longest, or NULL when none is. */
struct search_run *search_oldest(struct searches *s);

/* The run's paths as an event's "searched" member, put before the closing
 * brace of the event's text; -1 (no memory) with the text as it was. */
int search_append_searched(const struct search_run *run, struct jbuf *text);

/* Forget the run's misses (written, or folded); its slot is free. */
void search_clear(struct searches *s, struct search_run *run);

#endif
