/* SPDX-License-Identifier: MIT */
/* A search's failed opens, folded into the open that ends it (search.h). */
#include "model/search.h"

#include <errno.h>
#include <string.h>

#include "agenttrail/events.h"
#include "model/event_json.h"

void searches_init(struct searches *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < SEARCH_RUNS; i++) {
		jbuf_init(&s->run[i].raw);
		jbuf_init(&s->run[i].paths);
	}
	jbuf_init(&s->scratch);
	jbuf_init(&s->strs);
}

void searches_free(struct searches *s)
{
	for (unsigned i = 0; i < SEARCH_RUNS; i++) {
		jbuf_free(&s->run[i].raw);
		jbuf_free(&s->run[i].paths);
	}
	jbuf_free(&s->scratch);
	jbuf_free(&s->strs);
	memset(s, 0, sizeof(*s));
}

/* The last component of path: what a search looks for in each directory. */
static const char *last_component(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* A kernel open record of at least its fixed part, or NULL. */
static const struct at_file *open_record(const void *rec, size_t size)
{
	const struct at_file *f = rec;

	if (size < sizeof(*f) || f->h.kind != AT_EV_OPEN || f->h.size > size)
		return NULL;
	return f;
}

bool search_ends(struct searches *s, const struct search_run *run, const void *rec,
		 size_t size)
{
	const struct at_file *f = open_record(rec, size);
	const char *path;

	if (!f || f->ret < 0 || f->flags != run->flags || f->h.session != run->session ||
	    (f->h.flags & AT_F_PATH_PSEUDO))
		return false;
	path = event_file_path(rec, size, &s->scratch, &s->strs);
	return path && !strcmp(last_component(path), run->base);
}

struct search_run *search_oldest(struct searches *s)
{
	struct search_run *oldest = NULL;

	for (unsigned i = 0; i < SEARCH_RUNS; i++)
		if (s->run[i].n && (!oldest || s->run[i].seq < oldest->seq))
			oldest = &s->run[i];
	return oldest;
}

/* The slot for a new run: a free one, else NULL with the oldest in *out. */
static struct search_run *free_slot(struct searches *s, struct search_run **out)
{
	for (unsigned i = 0; i < SEARCH_RUNS; i++)
		if (!s->run[i].n)
			return &s->run[i];
	*out = search_oldest(s);
	return NULL;
}

/* Records are kept 8-byte aligned, as the ring gives them: their fields
 * are read in place. */
#define RAW_ALIGN 8
#define RAW_STEP(size) (sizeof(size_t) + (((size) + RAW_ALIGN - 1) & ~(size_t)(RAW_ALIGN - 1)))

/* Append the record and its path; false (run unchanged) without memory. */
static bool add_miss(struct search_run *run, const void *rec, size_t size, const char *path)
{
	static const char pad[RAW_ALIGN];
	size_t raw_len = run->raw.len, paths_len = run->paths.len;

	if (jbuf_add(&run->raw, &size, sizeof(size)) != 0 ||
	    jbuf_add(&run->raw, rec, size) != 0 ||
	    jbuf_add(&run->raw, pad, RAW_STEP(size) - sizeof(size) - size) != 0 ||
	    (run->n && jbuf_add(&run->paths, ",", 1) != 0) ||
	    jbuf_string(&run->paths, path, strlen(path)) != 0) {
		run->raw.len = raw_len;
		run->paths.len = paths_len;
		return false;
	}
	run->n++;
	return true;
}

enum search_hold search_hold(struct searches *s, const void *rec, size_t size,
			     struct search_run **out)
{
	const struct at_file *f = open_record(rec, size);
	const struct at_hdr *h = rec;
	struct search_run *run = size >= sizeof(*h) ? search_of(s, h->tid) : NULL;
	const char *path = NULL, *base = NULL;

	if (f && f->ret == -ENOENT && !(f->h.flags & AT_F_PATH_TRUNC))
		path = event_file_path(rec, size, &s->scratch, &s->strs);
	if (path) {
		base = last_component(path);
		if (!*base || strlen(base) >= SEARCH_BASE_MAX)
			base = NULL;
	}
	if (run) {
		/* anything else the thread did comes after its run */
		if (!base || run->n >= SEARCH_MAX_MISSES || run->flags != f->flags ||
		    run->session != f->h.session || strcmp(run->base, base) ||
		    !add_miss(run, rec, size, path)) {
			*out = run;
			return SEARCH_GIVE_BACK;
		}
		return SEARCH_HELD;
	}
	if (!base)
		return SEARCH_NOT_MISS;   /* also a malformed record: written as it is */
	run = free_slot(s, out);
	if (!run)
		return SEARCH_GIVE_BACK;
	run->tid = f->h.tid;
	run->session = f->h.session;
	run->flags = f->flags;
	run->seq = ++s->seq;
	memcpy(run->base, base, strlen(base) + 1);
	jbuf_reset(&run->raw);
	jbuf_reset(&run->paths);
	if (!add_miss(run, rec, size, path))
		return SEARCH_NO_MEMORY;
	s->used++;
	return SEARCH_HELD;
}

bool search_next(const struct search_run *run, size_t *off, const void **rec, size_t *size)
{
	size_t n;

	if (*off + sizeof(n) > run->raw.len)
		return false;
	memcpy(&n, run->raw.p + *off, sizeof(n));
	*rec = run->raw.p + *off + sizeof(n);
	*size = n;
	*off += RAW_STEP(n);
	return true;
}

int search_append_searched(const struct search_run *run, struct jbuf *text)
{
	static const char key[] = ",\"searched\":[";

	if (!text->len || jbuf_reserve(text, sizeof(key) - 1 + run->paths.len + 2) != 0)
		return -1;
	text->len--;   /* the event's closing '}' */
	/* none can fail: the room is reserved */
	(void)jbuf_add(text, key, sizeof(key) - 1);
	(void)jbuf_add(text, run->paths.p, run->paths.len);
	(void)jbuf_add(text, "]}", 2);
	return 0;
}

void search_clear(struct searches *s, struct search_run *run)
{
	if (!run->n)
		return;
	run->n = 0;
	jbuf_reset(&run->raw);
	jbuf_reset(&run->paths);
	s->used--;
}
