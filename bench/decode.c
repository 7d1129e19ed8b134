/* SPDX-License-Identifier: MIT */
/*
 * bench/decode - the recorder's per-event work in user space, without the
 * kernel: a record as the ring buffer delivers it, decoded into its JSON
 * object (event_to_json) and written as the text every sink stores or
 * streams (json_out), then freed. Three records of a recorded build: an
 * open the kernel resolved, a failed open joined lexically (a compiler's
 * include search), and an exec.
 *
 *   decode [N]        N rounds (default 200000) of each record
 *
 * Prints one line per record, "KIND ns_per_event=X", the best of five
 * passes (the least disturbed), and checks that every pass produced the
 * same text. For the file records, two lines more: the same with "eid"
 * set (as the recorder stores it), and "KIND+eid text": the record written
 * straight to text (event_file_text, the recorder's path for plain file
 * events), checked to be the same bytes. Then a compiler's include search,
 * five misses and the open that finds the file, written as six events or
 * folded into one (model/search.c): ns per search and bytes written.
 * Build it against two trees to compare a change (bench/README.md).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agenttrail/events.h"
#include "model/event_json.h"
#include "model/json_pool.h"
#include "model/search.h"
#include "sinks/json_out.h"

#define PASSES 5

struct record {
	const char *name;
	unsigned char buf[2048];
	size_t size;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill_hdr(struct at_hdr *h, uint16_t kind, uint32_t size)
{
	h->kind = kind;
	h->size = size;
	h->ts_ns = 1000000000ull;
	h->session = 1795977462584308ull;
	h->start_ns = 168712428813ull;
	h->pid = 5923;
	h->tid = 5923;
	h->ppid = 5921;
	h->uid = 0;
	memcpy(h->comm, "cc1", 4);
}

/* strings after the fixed part, each with its NUL; returns the new end */
static size_t put(unsigned char *buf, size_t off, const char *s, uint16_t *len)
{
	size_t n = strlen(s) + 1;

	memcpy(buf + off, s, n);
	*len = (uint16_t)n;
	return off + n;
}

static void make_open(struct record *r, bool failed)
{
	struct at_file *f = (struct at_file *)r->buf;
	size_t off = sizeof(*f);

	memset(r->buf, 0, sizeof(r->buf));
	f->flags = 0400 /* O_NOCTTY */;
	if (failed) {
		r->name = "open-enoent-lexical";
		f->h.flags = AT_F_PATH_LEXICAL;
		f->ret = -ENOENT;
		off = put(r->buf, off, "/tmp/pb/src/include", &f->path_len);
		off = put(r->buf, off, "asm-generic/../bits/types/locale_t.h", &f->arg_len);
	} else {
		r->name = "open-kernel-path";
		f->ret = 4;
		f->ino = 6905891;
		f->dev = 266338304;
		off = put(r->buf, off, "/usr/include/asm-generic/types.h", &f->path_len);
		off = put(r->buf, off, "/usr/include/asm-generic/types.h", &f->arg_len);
	}
	fill_hdr(&f->h, AT_EV_OPEN, (uint32_t)off);
	r->size = off;
}

static void make_exec(struct record *r)
{
	static const char argv[] = "cc1\0-quiet\0-I\0/tmp/pb/src/include\0-D_GNU_SOURCE\0"
				   "src/model/event_json.c\0-O2\0-o\0/tmp/ccX.s";
	struct at_exec *e = (struct at_exec *)r->buf;
	size_t off = sizeof(*e);

	memset(r->buf, 0, sizeof(r->buf));
	r->name = "exec";
	memcpy(r->buf + off, argv, sizeof(argv));
	e->argv_len = sizeof(argv);
	e->argc = 9;
	off += sizeof(argv);
	off = put(r->buf, off, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", &e->filename_len);
	off = put(r->buf, off, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", &e->exe_len);
	off = put(r->buf, off, "/tmp/pb/bld", &e->cwd_len);
	off = put(r->buf, off, "/agenttrail/session-1", &e->cgroup_len);
	e->cgroup_id = 4242;
	e->parent_start_ns = 168711884428ull;
	fill_hdr(&e->h, AT_EV_EXEC, (uint32_t)off);
	r->size = off;
}

/*
 * One pass of n file records written straight to text (event_file_text),
 * the recorder's path for plain file events; eid 1 as in pass_eid().
 */
static int pass_text(struct ev_ctx *c, const struct record *r, long n, struct jbuf *out,
		     double *ns)
{
	struct jbuf strs;
	struct ev_file v;
	char err[128];
	uint64_t t0 = now_ns();

	jbuf_init(&strs);
	for (long i = 0; i < n; i++) {
		if (event_file_text(c, r->buf, r->size, 1, out, &strs, &v, err, sizeof(err))) {
			fprintf(stderr, "decode: %s: %s\n", r->name, err);
			jbuf_free(&strs);
			return -1;
		}
	}
	*ns = (double)(now_ns() - t0) / (double)n;
	jbuf_free(&strs);
	return 0;
}

/* One pass of n decodes; the text of the last one stays in out. */
static int pass(struct ev_ctx *c, const struct record *r, long n, bool with_eid,
		struct jbuf *out, double *ns)
{
	char err[128];
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++) {
		json_t *ev = event_to_json(c, r->buf, r->size, err, sizeof(err));

		if (!ev) {
			fprintf(stderr, "decode: %s: %s\n", r->name, err);
			return -1;
		}
		if (with_eid)
			json_object_set_new(ev, "eid", json_integer(1));
		jbuf_reset(out);
		if (json_out(out, ev) != 0) {
			fprintf(stderr, "decode: %s: json_out: %s\n", r->name, strerror(errno));
			json_decref(ev);
			return -1;
		}
		json_decref(ev);
	}
	*ns = (double)(now_ns() - t0) / (double)n;
	return 0;
}

/*
 * PASSES passes of one way of writing r; the best time. Every pass must give
 * the text of the first, and that text must be *want when want is not NULL.
 */
static int measure(struct ev_ctx *c, const struct record *r, long n, int how,
		   const struct jbuf *want, struct jbuf *first, double *best)
{
	struct jbuf out;
	double ns;
	int rc = 0;

	jbuf_init(&out);
	for (int p = 0; p < PASSES && rc == 0; p++) {
		rc = how == 2 ? pass_text(c, r, n, &out, &ns)
			      : pass(c, r, n, how == 1, &out, &ns);
		if (rc == 0 && p == 0)
			rc = jbuf_add(first, out.p, out.len);
		if (rc == 0 && (out.len != first->len || memcmp(out.p, first->p, out.len))) {
			fprintf(stderr, "decode: %s: passes differ\n", r->name);
			rc = -1;
		}
		if (rc == 0 && (p == 0 || ns < *best))
			*best = ns;
	}
	if (rc == 0 && want && (want->len != first->len || memcmp(want->p, first->p, want->len))) {
		fprintf(stderr, "decode: %s: the text path differs from the object's text:\n"
			"  %s\n  %s\n", r->name, first->p, want->p);
		rc = -1;
	}
	jbuf_free(&out);
	return rc;
}

/*
 * A compiler's include search: SEARCH_LEN failed opens of one name, then
 * the open that finds it. Written as SEARCH_LEN + 1 events (text), or
 * folded (model/search.c): the misses held, the open written with their
 * paths as its "searched". ns per search, and the bytes written.
 */
#define SEARCH_LEN 5

static void make_search(struct record *miss, struct record *hit)
{
	struct at_file *f = (struct at_file *)hit->buf;
	size_t off = sizeof(*f);

	make_open(miss, true);
	memset(hit->buf, 0, sizeof(hit->buf));
	hit->name = "open-found";
	f->flags = 0400 /* O_NOCTTY, as the misses */;
	f->ret = 4;
	f->ino = 6905892;
	f->dev = 266338304;
	off = put(hit->buf, off, "/usr/include/x86_64-linux-gnu/bits/types/locale_t.h",
		  &f->path_len);
	off = put(hit->buf, off, "/usr/include/x86_64-linux-gnu/bits/types/locale_t.h",
		  &f->arg_len);
	fill_hdr(&f->h, AT_EV_OPEN, (uint32_t)off);
	hit->size = off;
}

static int search_pass(struct ev_ctx *c, const struct record *miss, const struct record *hit,
		       long n, bool fold, size_t *bytes, double *ns)
{
	struct searches s;
	struct search_run *run;
	struct jbuf out, strs;
	struct ev_file v;
	char err[128];
	int rc = 0;
	uint64_t t0;

	searches_init(&s);
	jbuf_init(&out);
	jbuf_init(&strs);
	t0 = now_ns();
	for (long i = 0; i < n && rc == 0; i++) {
		*bytes = 0;
		for (int k = 0; k < SEARCH_LEN && rc == 0; k++) {
			if (fold) {
				rc = search_hold(&s, miss->buf, miss->size, &run) == SEARCH_HELD ? 0 : -1;
				continue;
			}
			rc = event_file_text(c, miss->buf, miss->size, 1, &out, &strs, &v, err,
					     sizeof(err));
			*bytes += out.len;
		}
		run = fold ? search_of(&s, ((const struct at_hdr *)miss->buf)->tid) : NULL;
		if (rc == 0 && fold && !(run && search_ends(&s, run, hit->buf, hit->size)))
			rc = -1;
		if (rc == 0)
			rc = event_file_text(c, hit->buf, hit->size, 1, &out, &strs, &v, err,
					     sizeof(err));
		if (rc == 0 && run) {
			rc = search_append_searched(run, &out);
			search_clear(&s, run);
		}
		*bytes += out.len;
	}
	*ns = (double)(now_ns() - t0) / (double)n;
	if (rc != 0)
		fprintf(stderr, "decode: search (%s) failed\n", fold ? "folded" : "as events");
	searches_free(&s);
	jbuf_free(&out);
	jbuf_free(&strs);
	return rc;
}

static int measure_search(struct ev_ctx *c, long n)
{
	struct record miss, hit;
	double best[2] = { 0, 0 }, ns;
	size_t bytes[2] = { 0, 0 };

	make_search(&miss, &hit);
	for (int p = 0; p < PASSES; p++) {
		for (int fold = 0; fold < 2; fold++) {
			if (search_pass(c, &miss, &hit, n / (SEARCH_LEN + 1), fold, &bytes[fold],
					&ns) != 0)
				return -1;
			if (p == 0 || ns < best[fold])
				best[fold] = ns;
		}
	}
	printf("search-%d-misses as-events ns_per_search=%.1f bytes=%zu\n", SEARCH_LEN, best[0],
	       bytes[0]);
	printf("search-%d-misses folded ns_per_search=%.1f bytes=%zu\n", SEARCH_LEN, best[1],
	       bytes[1]);
	return 0;
}

int main(int argc, char **argv)
{
	struct record recs[3];
	struct ev_ctx c;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;

	if (n <= 0) {
		fprintf(stderr, "usage: decode [N]\n");
		return 2;
	}
	json_pool_install();   /* as agenttrail's main() does */
	ev_ctx_init(&c);
	c.mono_to_wall_ns = 1795977467000000000ll;   /* fixed: same text every run */
	make_open(&recs[0], false);
	make_open(&recs[1], true);
	make_exec(&recs[2]);
	for (size_t k = 0; k < sizeof(recs) / sizeof(recs[0]); k++) {
		const struct at_hdr *h = (const struct at_hdr *)recs[k].buf;
		struct jbuf plain, with_eid, text;
		double best = 0;
		int rc;

		jbuf_init(&plain);
		jbuf_init(&with_eid);
		jbuf_init(&text);
		rc = measure(&c, &recs[k], n, 0, NULL, &plain, &best);
		if (rc == 0) {
			printf("%s ns_per_event=%.1f bytes=%zu\n", recs[k].name, best, plain.len);
			if (getenv("DECODE_SHOW"))
				printf("  %s\n", plain.p);
		}
		if (rc == 0 && event_is_file(h->kind)) {
			rc = measure(&c, &recs[k], n, 1, NULL, &with_eid, &best);
			if (rc == 0)
				printf("%s+eid ns_per_event=%.1f\n", recs[k].name, best);
			if (rc == 0)
				rc = measure(&c, &recs[k], n, 2, &with_eid, &text, &best);
			if (rc == 0)
				printf("%s+eid text ns_per_event=%.1f\n", recs[k].name, best);
		}
		jbuf_free(&plain);
		jbuf_free(&with_eid);
		jbuf_free(&text);
		if (rc != 0)
			return 1;
	}
	return measure_search(&c, n) == 0 ? 0 : 1;
}
