/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for folding a search's failed opens (src/model/search.c),
 * driven the way the recorder drives it (src/model/recorder_events.c).
 *
 * An input is a sequence of up to MAX_OPS records of 4 bytes each:
 *
 *   u8 tid       the thread, tid % 12 (more threads than SEARCH_RUNS)
 *   u8 what      what & 3: 0 an ENOENT open, 1 an open that succeeded,
 *                2 an EACCES open, 3 a record that is no file event;
 *                0x04 other open flags, 0x08 the path cut short,
 *                0x10 another session
 *   u8 name      the last component, of three (one of them empty)
 *   u8 dir       the directory, of four (one relative)
 *
 * Every record carries its serial number (in its mode). The target checks
 * what the recorder relies on: every record comes out exactly once, either
 * written by itself or folded into an open; a thread's records come out in
 * the order it made them (a folded miss at its open's place, before it);
 * what is folded is ENOENT misses of the open's flags and last component,
 * and the run's list of paths is theirs, in order.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agenttrail/events.h"
#include "model/event_json.h"
#include "model/search.h"
#include "sinks/json_out.h"
#include "fuzz.h"

#define MAX_OPS 512
#define THREADS 12

struct sim {
	struct searches s;
	bool out[MAX_OPS];        /* serials that came out */
	int last[THREADS];        /* the serial each thread last had come out */
	struct jbuf scratch, strs, want;
};

static const char *last_component(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash ? slash + 1 : p;
}

static void came_out(struct sim *m, const struct at_hdr *h, uint32_t serial)
{
	CHECK(serial < MAX_OPS && !m->out[serial]);
	m->out[serial] = true;
	CHECK((int)serial > m->last[h->tid]);
	m->last[h->tid] = (int)serial;
}

static void give_back(struct sim *m, struct search_run *run)
{
	const void *rec;
	size_t off = 0, size;
	unsigned n = 0;

	while (search_next(run, &off, &rec, &size)) {
		const struct at_file *f = rec;

		CHECK(size >= sizeof(*f) && f->h.size == size);
		CHECK(f->h.tid == run->tid && f->ret == -ENOENT);
		came_out(m, &f->h, f->mode);
		n++;
	}
	CHECK(n == run->n && n > 0);
	search_clear(&m->s, run);
}

/* rec ends run: the misses, checked against it, then rec itself. */
static void fold(struct sim *m, struct search_run *run, const struct at_file *hit, size_t size)
{
	const char *p = event_file_path(hit, size, &m->scratch, &m->strs);
	char base[SEARCH_BASE_MAX];
	const void *rec;
	size_t off = 0, n;
	unsigned count = 0;

	CHECK(p && hit->ret >= 0 && strlen(last_component(p)) < sizeof(base));
	strcpy(base, last_component(p));
	jbuf_reset(&m->want);
	while (search_next(run, &off, &rec, &n)) {
		const struct at_file *f = rec;

		CHECK(f->ret == -ENOENT && f->flags == hit->flags && f->h.tid == hit->h.tid &&
		      f->h.session == hit->h.session);
		p = event_file_path(f, n, &m->scratch, &m->strs);
		CHECK(p && strcmp(last_component(p), base) == 0);
		CHECK((!count || jbuf_add(&m->want, ",", 1) == 0) &&
		      jbuf_string(&m->want, p, strlen(p)) == 0);
		came_out(m, &f->h, f->mode);
		count++;
	}
	CHECK(count == run->n && count > 0);
	CHECK(run->paths.len == m->want.len && memcmp(run->paths.p, m->want.p, m->want.len) == 0);
	search_clear(&m->s, run);
	came_out(m, &hit->h, hit->mode);
}

static struct at_file *make(const uint8_t *op, uint32_t serial, size_t *size)
{
	static const char *const names[] = { "x.h", "y.h", "" };
	static const char *const dirs[] = { "/d0/", "/d1/sub/", "rel/", "/d3/" };
	char path[64];
	struct at_file *f;
	size_t n;
	unsigned what = op[1];

	n = (size_t)snprintf(path, sizeof(path), "%s%s", dirs[op[3] % 4], names[op[2] % 3]) + 1;
	f = calloc(1, sizeof(*f) + n);
	CHECK(f != NULL);
	f->h.kind = (what & 3) == 3 ? AT_EV_EXEC : AT_EV_OPEN;
	f->h.flags = (what & 0x08) ? AT_F_PATH_TRUNC : 0;
	f->h.session = (what & 0x10) ? 2 : 1;
	f->h.tid = f->h.pid = op[0] % THREADS;
	f->ret = (what & 3) == 0 ? -ENOENT : (what & 3) == 2 ? -EACCES : 3;
	f->flags = (what & 0x04) ? 02000000 : 0;
	f->mode = serial;
	memcpy(f->data, path, n);
	if (f->ret < 0)
		f->arg_len = (uint16_t)n;
	else
		f->path_len = (uint16_t)n;
	*size = sizeof(*f) + n;
	f->h.size = (uint32_t)*size;
	return f;
}

static void step(struct sim *m, const struct at_file *f, size_t size)
{
	struct search_run *run = search_of(&m->s, f->h.tid), *ended = NULL, *out;
	bool file = f->h.kind == AT_EV_OPEN;

	if (run) {
		if (file && search_ends(&m->s, run, f, size))
			ended = run;
		else if (!file)
			give_back(m, run);
	}
	if (ended) {
		fold(m, ended, f, size);
		return;
	}
	if (file) {
		for (;;) {
			enum search_hold h = search_hold(&m->s, f, size, &out);

			if (h == SEARCH_HELD)
				return;
			if (h != SEARCH_GIVE_BACK)
				break;
			CHECK(out && out->n);
			give_back(m, out);
		}
		CHECK(search_of(&m->s, f->h.tid) == NULL);   /* nothing of the thread waits */
	}
	came_out(m, &f->h, f->mode);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim m;
	uint32_t n = 0;

	memset(&m, 0, sizeof(m));
	searches_init(&m.s);
	for (unsigned t = 0; t < THREADS; t++)
		m.last[t] = -1;
	for (; size >= 4 && n < MAX_OPS; data += 4, size -= 4, n++) {
		size_t rsize;
		struct at_file *f = make(data, n, &rsize);

		step(&m, f, rsize);
		free(f);
		CHECK(m.s.used <= SEARCH_RUNS);
	}
	/* the end of a consume call: the oldest run first */
	for (struct search_run *oldest; (oldest = search_oldest(&m.s));)
		give_back(&m, oldest);
	CHECK(m.s.used == 0);
	for (uint32_t i = 0; i < n; i++)
		CHECK(m.out[i]);
	searches_free(&m.s);
	jbuf_free(&m.scratch);
	jbuf_free(&m.strs);
	jbuf_free(&m.want);
	return 0;
}
