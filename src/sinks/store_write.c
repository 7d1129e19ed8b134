/* SPDX-License-Identifier: MIT */
/*
 * The store's writer thread: takes the queued rows, binds them to the
 * prepared statements and commits in batches (store_int.h says why it is
 * a thread). Only this thread touches the connection while it runs.
 *
 * Batches: one transaction per STORE_BATCH_EVENTS rows, committed early
 * when it is STORE_BATCH_MS old, when a flush asks, and at the stop.
 * Checkpoints: when the session is quiet, when the WAL is large, and at
 * the stop (store.h, STORE_CKPT_*); never SQLite's automatic ones, which
 * copy pages into the file while the session is busiest.
 */
#include "sinks/store_int.h"
#include "sinks/store_schema.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* With rows coming, wait this long for more before sleeping for good: a
 * busy recorder then wakes the writer once per nap, not once per event. */
#define NAP_MS 2

uint64_t store_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------------ */
/* Statements */

static int db_fail(struct store *s, int rc, const char *what)
{
	store_db_msg(s->wmsg, sizeof(s->wmsg), s->db, rc, s->path, what);
	return -1;
}

static void add_msg(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_msg(struct store *s, const char *fmt, ...)
{
	size_t used = strnlen(s->wmsg, sizeof(s->wmsg));
	va_list ap;

	if (used + 1 >= sizeof(s->wmsg))
		return;
	va_start(ap, fmt);
	if (vsnprintf(s->wmsg + used, sizeof(s->wmsg) - used, fmt, ap) < 0)
		s->wmsg[used] = '\0';
	va_end(ap);
}

/* Step a statement to completion and reset it. */
static int run(struct store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = s->st[id];
	int rc = sqlite3_step(st);
	int rrc = sqlite3_reset(st);

	/* bindings stay: the next use binds every parameter again */
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s, rc, what);
	if (rrc != SQLITE_OK)
		return db_fail(s, rrc, what);
	return 0;
}

static int bind_cell(sqlite3_stmt *st, int idx, const struct cell *c, const char *text)
{
	switch (c->kind) {
	case CELL_INT:
		return sqlite3_bind_int64(st, idx, (sqlite3_int64)c->v.i);
	case CELL_REAL:
		return sqlite3_bind_double(st, idx, c->v.d);
	case CELL_TEXT:
		/* the row outlives the step: no copy needed */
		return sqlite3_bind_text(st, idx, text + c->v.off, (int)c->len, SQLITE_STATIC);
	case CELL_NULL:
	default:
		return sqlite3_bind_null(st, idx);
	}
}

/*
 * :_data, the event's JSON, followed by a NUL in the row. Into `events` it
 * goes by its length, without a strlen() of every event (a length that
 * counts the NUL would store the NUL). The derived statements read it with
 * JSON functions, which copy a value not known to end with a NUL on every
 * call (an HTTP body is up to 16 MiB): they get it as a C string.
 */
static int bind_data(sqlite3_stmt *st, int idx, enum stmt_id id, const char *json,
		     size_t len)
{
	if (id == ST_EVENT)
		return sqlite3_bind_text(st, idx, json, (int)len, SQLITE_STATIC);
	return sqlite3_bind_text(st, idx, json, -1, SQLITE_STATIC);
}

/* Row r's values for statement id's parameters, into st from parameter
 * base + 1 on (st is id's own but for a grouped insert). */
static int bind_row_at(struct store *s, enum stmt_id id, sqlite3_stmt *st, int base,
		       const struct row *r, sqlite3_int64 event_id)
{
	const struct store_plan *p = &s->plan;
	const char *text = row_text(r, p->nslots[r->h.route]);

	for (int i = 0; i < p->nparams[id]; i++) {
		int k = p->param_key[id][i], at = base + i + 1, rc;

		if (k == KEY_EVENT_ID)
			rc = sqlite3_bind_int64(st, at, event_id);
		else if (k == KEY_DATA)
			rc = bind_data(st, at, id, text, r->h.json_len);
		else
			rc = bind_cell(st, at, &r->cells[p->key_slot[r->h.route][k]], text);
		if (rc != SQLITE_OK) {
			(void)sqlite3_clear_bindings(st); /* always SQLITE_OK */
			return db_fail(s, rc, "binding a value");
		}
	}
	return 0;
}

static int run_row(struct store *s, enum stmt_id id, const struct row *r,
		   sqlite3_int64 event_id, const char *what)
{
	if (bind_row_at(s, id, s->st[id], 0, r, event_id) != 0)
		return -1;
	return run(s, id, what);
}

static bool is_process_stmt(enum stmt_id id)
{
	return id != ST_NONE && id != ST_SESS_START && id != ST_SESS_END;
}

/* Has this row's process got a row already? Remembers it if not. */
static bool proc_seen(struct store *s, const struct row *r)
{
	const struct row_head *rh = &r->h;
	uint64_t h = ((uint64_t)rh->pid * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)rh->start_ns ^
		     (uint64_t)rh->session;
	size_t slot = (size_t)((h ^ (h >> 29)) % PROC_SEEN_SLOTS);

	if (s->seen[slot].session == rh->session && s->seen[slot].pid == rh->pid &&
	    s->seen[slot].start_ns == rh->start_ns)
		return true;
	s->seen[slot].session = rh->session;
	s->seen[slot].pid = rh->pid;
	s->seen[slot].start_ns = rh->start_ns;
	return false;
}

/* ------------------------------------------------------------------------ */
/* Spans: which ids each session's events took (store_sql.c, schema_v5) */

static int bind_ts(sqlite3_stmt *st, int idx, bool known, int64_t v)
{
	return known ? sqlite3_bind_int64(st, idx, (sqlite3_int64)v) : sqlite3_bind_null(st, idx);
}

/* The open transaction's spans into event_spans, and forgotten. */
static int write_spans(struct store *s)
{
	sqlite3_stmt *st = s->st[ST_SPAN];

	for (unsigned i = 0; i < s->nspans; i++) {
		const struct span *sp = &s->spans[i];
		int rc = sqlite3_bind_int64(st, 1, sp->session);

		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 2, sp->first_id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 3, sp->last_id);
		if (rc == SQLITE_OK)
			rc = bind_ts(st, 4, sp->has_ts, sp->first_ts);
		if (rc == SQLITE_OK)
			rc = bind_ts(st, 5, sp->has_ts, sp->last_ts);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 6, sp->events);
		if (rc != SQLITE_OK)
			return db_fail(s, rc, "binding a span");
		if (run(s, ST_SPAN, "recording the ids of a batch") != 0)
			return -1;
	}
	s->nspans = 0;
	return 0;
}

/* Event id of row r is in its session's span. Ids only grow within a
 * transaction, so a span is its first and its latest. */
static int note_span(struct store *s, const struct row *r, sqlite3_int64 id)
{
	const struct row_head *h = &r->h;
	struct span *sp = NULL;

	for (unsigned i = 0; i < s->nspans; i++) {
		if (s->spans[i].session == h->session) {
			sp = &s->spans[i];
			break;
		}
	}
	if (!sp) {
		/* more sessions than slots: the spans so far are written now,
		 * and the next ids of their sessions start new ones */
		if (s->nspans == STORE_SPAN_SLOTS && write_spans(s) != 0)
			return -1;
		sp = &s->spans[s->nspans++];
		*sp = (struct span){ .session = h->session, .first_id = id };
	}
	sp->last_id = id;
	sp->events++;
	if (h->has_ts) {
		if (!sp->has_ts || h->ts_ns < sp->first_ts)
			sp->first_ts = h->ts_ns;
		if (!sp->has_ts || h->ts_ns > sp->last_ts)
			sp->last_ts = h->ts_ns;
		sp->has_ts = true;
	}
	return 0;
}

/* What follows row r's insert into `events` as event id: its span, and
 * the tables derived from it. */
static int put_derived(struct store *s, const struct row *r, sqlite3_int64 id)
{
	const struct route *rt = &store_routes[r->h.route];
	enum stmt_id steps[2] = { rt->first, rt->second };
	const char *what = rt->type ? rt->type : "event";

	if (note_span(s, r, id) != 0)
		return -1;

	/* a thread is not a process: its fork only goes to `events` */
	if (steps[0] == ST_FORK && r->h.thread)
		steps[0] = ST_PROC_SEEN;
	for (int i = 0; i < 2; i++) {
		if (steps[i] == ST_NONE || (is_process_stmt(steps[i]) && !r->h.identity))
			continue;
		if (steps[i] == ST_PROC_SEEN && proc_seen(s, r))
			continue;
		/* derived tables may read nested fields from :_data */
		if (run_row(s, steps[i], r, id, what) != 0)
			return -1;
	}
	return 0;
}

static int put_row(struct store *s, const struct row *r)
{
	if (run_row(s, ST_EVENT, r, 0, "inserting an event") != 0)
		return -1;
	s->tx_last_id = sqlite3_last_insert_rowid(s->db);
	return put_derived(s, r, s->tx_last_id);
}

/*
 * STORE_EVENT_GROUP rows into `events` by one statement, then each row's
 * span and derived rows in order. The rows' ids are needed for those: with
 * the write lock held since BEGIN IMMEDIATE, SQLite gives each new row the
 * largest id so far plus one, so the group takes the ids after the last
 * one this transaction inserted (only when that largest possible id is
 * reached does it pick ids at random; the writer checks that the group
 * ended where it must).
 */
static int put_group(struct store *s, struct row *const *grp)
{
	sqlite3_stmt *st = s->st[ST_EVENT_GROUP];
	int width = s->plan.nparams[ST_EVENT];
	sqlite3_int64 first = s->tx_last_id + 1, last;

	for (int i = 0; i < STORE_EVENT_GROUP; i++) {
		if (bind_row_at(s, ST_EVENT, st, i * width, grp[i], 0) != 0)
			return -1;
	}
	if (run(s, ST_EVENT_GROUP, "inserting events") != 0)
		return -1;
	last = sqlite3_last_insert_rowid(s->db);
	if (last != first + STORE_EVENT_GROUP - 1) {
		store_set_msg(s->wmsg, sizeof(s->wmsg), "store %s: internal: events took"
			      " ids up to %lld, not %lld..%lld", s->path, (long long)last,
			      (long long)first, (long long)(first + STORE_EVENT_GROUP - 1));
		return -1;
	}
	s->tx_last_id = last;
	s->grouped += STORE_EVENT_GROUP;
	for (int i = 0; i < STORE_EVENT_GROUP; i++) {
		if (put_derived(s, grp[i], first + i) != 0)
			return -1;
	}
	return 0;
}

/* Can the next rows go as a group? Only after an insert of this
 * transaction gave the id they follow, and far from the largest id. */
static bool group_ok(const struct store *s)
{
	return s->tx_last_id > 0 && s->tx_last_id < INT64_MAX - STORE_EVENT_GROUP;
}

/* ------------------------------------------------------------------------ */
/* Batches */

/*
 * An event failed half-way (full disk, I/O error): roll the open batch back
 * so that no event is left half-stored. Events are not wrapped one by one in
 * savepoints: those cost a statement journal per event (about a fifth of
 * the store's CPU time); the price is that an error loses the uncommitted
 * batch, which the message says.
 */
static void undo_batch(struct store *s, unsigned long also_lost)
{
	unsigned long n = s->batch_n + also_lost;

	memset(s->seen, 0, sizeof(s->seen));   /* rows go with the rollback */
	s->nspans = 0;                          /* ... and so do their ids */
	if (!sqlite3_get_autocommit(s->db)) {
		char saved[sizeof(s->wmsg)];

		memcpy(saved, s->wmsg, sizeof(saved));
		(void)run(s, ST_ROLLBACK, "rolling back");
		memcpy(s->wmsg, saved, sizeof(saved));
	}
	if (n > 0)
		add_msg(s, "; the %lu uncommitted event(s) of the current batch"
			" were lost", n);
	s->in_tx = false;
	s->batch_n = 0;
}

static int commit(struct store *s)
{
	if (!s->in_tx)
		return 0;
	if (write_spans(s) != 0 || run(s, ST_COMMIT, "committing") != 0) {
		/* COMMIT failed: the transaction may still be open */
		undo_batch(s, 0);
		return -1;
	}
	s->in_tx = false;
	s->batch_n = 0;
	return 0;
}

static int begin(struct store *s)
{
	if (s->in_tx)
		return 0;
	if (run(s, ST_BEGIN, "starting a transaction") != 0)
		return -1;
	s->in_tx = true;
	s->batch_n = 0;
	s->tx_last_id = 0;
	s->batch_start_ms = store_now_ms();
	return 0;
}

unsigned long store_free_rows(struct row *r)
{
	unsigned long n = 0;

	while (r) {
		struct row *next = r->next;

		free(r);
		r = next;
		n++;
	}
	return n;
}

/* Rows of list, up to max, into grp; returns how many. */
static unsigned take_rows(struct row **list, struct row **grp, unsigned max)
{
	unsigned n = 0;

	while (*list && n < max) {
		if ((*list)->ahead)
			row_prefetch((*list)->ahead, false);
		grp[n++] = *list;
		*list = (*list)->next;
	}
	return n;
}

/*
 * Write a taken list of rows; each goes onto *done once it is dealt with.
 * STORE_EVENT_GROUP rows go in one insert when the list has that many
 * left (and group_ok), else one at a time; a batch is committed once it
 * has STORE_BATCH_EVENTS rows or more.
 */
static int write_rows(struct store *s, struct row *list, struct row **done)
{
	while (list) {
		struct row *grp[STORE_EVENT_GROUP];
		unsigned n;
		int rc;

		s->wmsg[0] = '\0';
		rc = begin(s);
		n = take_rows(&list, grp, rc == 0 && group_ok(s) ? STORE_EVENT_GROUP : 1);
		if (rc == 0 && n == STORE_EVENT_GROUP)
			rc = put_group(s, grp);
		for (unsigned i = 0; rc == 0 && n < STORE_EVENT_GROUP && i < n; i++)
			rc = put_row(s, grp[i]);
		for (unsigned i = 0; i < n; i++) {
			grp[i]->next = *done;
			*done = grp[i];
		}
		if (rc != 0) {
			/* these rows are not in batch_n yet */
			undo_batch(s, n + store_free_rows(list));
			return -1;
		}
		s->batch_n += n;
		if (s->batch_n >= STORE_BATCH_EVENTS && commit(s) != 0) {
			add_msg(s, "; %lu more event(s) not stored", store_free_rows(list));
			return -1;
		}
	}
	return 0;
}

/* Under mu: keep written rows for the caller to reuse; a list too long
 * is returned for freeing. */
static struct row *keep_spares(struct store *s, struct row *done)
{
	struct row *rest = NULL;

	while (done) {
		struct row *r = done;

		done = r->next;
		/* a big row (a large body) is not kept: it would hold its memory
		 * and count its size in the queue for every small event after */
		if (s->spare_n < STORE_SPARE_ROWS && r->cap <= STORE_SPARE_MAX) {
			r->next = s->spare;
			s->spare = r;
			s->spare_n++;
		} else {
			r->next = rest;
			rest = r;
		}
	}
	return rest;
}

static void deadline_in(struct timespec *ts, uint64_t ms)
{
	(void)clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* ------------------------------------------------------------------------ */
/* Checkpoints (store.h says when) */

/* SQLite's WAL hook: called after every commit with the WAL's size. */
int store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;

	(void)db;
	(void)name;
	s->wal_frames = frames > 0 ? (unsigned)frames : 0;
	if (s->wal_frames < s->wal_copied)
		s->wal_copied = 0;   /* the WAL started over */
	return SQLITE_OK;
}

/* Pages in the WAL that no checkpoint has copied yet. */
static unsigned wal_waiting(const struct store *s)
{
	return s->wal_frames - s->wal_copied;
}

/*
 * Copy the WAL into the database file, without waiting for readers (what
 * one still reads is copied next time). A failure loses nothing: the
 * pages stay in the WAL, readers still find them there, and the next
 * checkpoint takes them once more have come.
 */
static void checkpoint(struct store *s)
{
	int log = 0, copied = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);

	if (rc == SQLITE_OK && copied >= 0)
		s->wal_copied = (unsigned)copied;
	else
		s->wal_copied = s->wal_frames;
}

/* Under mu: time for a checkpoint once the session has been quiet? */
static bool quiet_checkpoint_due(const struct store *s)
{
	unsigned min = s->ckpt_min_frames ? s->ckpt_min_frames : 1;

	return s->ckpt_quiet_ms && !s->db_lent && !s->in_tx && wal_waiting(s) >= min;
}

/* Under mu, which it drops while the checkpoint runs: store_db() waits. */
static void checkpoint_unlocked(struct store *s)
{
	s->ckpt_running = true;
	pthread_mutex_unlock(&s->mu);
	checkpoint(s);
	pthread_mutex_lock(&s->mu);
	s->ckpt_running = false;
	s->checkpoints++;
	pthread_cond_broadcast(&s->done);
}

/* ------------------------------------------------------------------------ */
/* The thread */

/*
 * Under mu: sleep until there is something to do. A nap after work (rows
 * tend to keep coming), else until the batch is due, else, with pages
 * waiting in the WAL, until the session has been quiet long enough to
 * checkpoint (returns true then), else until woken.
 */
static bool wait_for_work(struct store *s, bool napping)
{
	struct timespec ts;

	while (!s->head && !s->stop && !s->flush_req) {
		uint64_t due = 0;
		bool quiet = false;

		if (s->in_tx) {
			uint64_t now = store_now_ms();

			if (now - s->batch_start_ms >= STORE_BATCH_MS)
				return false;
			due = s->batch_start_ms + STORE_BATCH_MS - now;
		}
		if (napping && (!due || due > NAP_MS))
			due = NAP_MS;
		if (!due && quiet_checkpoint_due(s)) {
			due = s->ckpt_quiet_ms;
			quiet = true;
		}
		if (!due) {
			s->writer_idle = true;
			(void)pthread_cond_wait(&s->work, &s->mu);
			s->writer_idle = false;
			continue;
		}
		deadline_in(&ts, due);
		/* quiet: any event is worth waking for, as when idle */
		s->writer_idle = quiet;
		if (pthread_cond_timedwait(&s->work, &s->mu, &ts) == ETIMEDOUT) {
			napping = false;   /* nothing came: sleep for good next */
			if (quiet && !s->head && !s->stop && !s->flush_req &&
			    quiet_checkpoint_due(s)) {
				s->writer_idle = false;
				return true;
			}
		}
		s->writer_idle = false;
	}
	return false;
}

/* Record the failure for the caller's side; drop what is queued. */
static void failed(struct store *s)
{
	unsigned long n;

	pthread_mutex_lock(&s->mu);
	n = store_free_rows(s->head);
	s->head = s->tail = NULL;
	s->queued_bytes = 0;
	s->queued_rows = 0;
	if (n)
		add_msg(s, "; %lu more event(s) not stored", n);
	memcpy(s->werr, s->wmsg, sizeof(s->werr));
	s->wfailed = true;
	s->committed_seq = s->put_seq;   /* nothing left to wait for */
	pthread_cond_broadcast(&s->space);
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->mu);
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	bool worked = false;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct row *list, *done = NULL;
		uint64_t upto;
		bool flush, stop;
		int rc;

		if (wait_for_work(s, worked)) {
			checkpoint_unlocked(s);
			worked = false;
			continue;
		}
		list = s->head;
		s->head = s->tail = NULL;
		s->queued_bytes = 0;
		s->queued_rows = 0;
		upto = s->put_seq;
		flush = s->flush_req;
		stop = s->stop;
		s->flush_req = false;
		pthread_cond_broadcast(&s->space);
		pthread_mutex_unlock(&s->mu);

		worked = list != NULL;
		rc = write_rows(s, list, &done);
		if (rc == 0 && s->in_tx &&
		    (flush || stop || store_now_ms() - s->batch_start_ms >= STORE_BATCH_MS))
			rc = commit(s);
		if (rc != 0) {
			store_free_rows(done);
			failed(s);
			return NULL;
		}

		pthread_mutex_lock(&s->mu);
		/* a WAL this large is copied now, before a flush returns (which
		 * lends the connection out) */
		if (!s->in_tx && s->ckpt_max_frames && wal_waiting(s) >= s->ckpt_max_frames)
			checkpoint_unlocked(s);
		done = keep_spares(s, done);
		if (done) {
			pthread_mutex_unlock(&s->mu);
			store_free_rows(done);
			pthread_mutex_lock(&s->mu);
		}
		if (!s->in_tx) {
			s->committed_seq = upto;
			pthread_cond_broadcast(&s->done);
		}
		if (stop && !s->head) {
			/* what waits in the WAL goes into the file now, also when
			 * other connections keep the WAL from ending with ours */
			if (!s->in_tx && wal_waiting(s) > 0)
				checkpoint_unlocked(s);
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int store_writer_start(struct store *s)
{
	sigset_t all, old;
	int rc;

	/* signals are the caller's business (signalfd): none may land here */
	sigfillset(&all);
	rc = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc == 0) {
		rc = pthread_create(&s->writer, NULL, writer_main, s);
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc != 0) {
		store_set_msg(s->err, sizeof(s->err), "store %s: cannot start the writer"
			      " thread: %s", s->path, strerror(rc));
		return -1;
	}
	s->writer_started = true;
	return 0;
}

/* Commit what is queued and end the thread. */
void store_writer_stop(struct store *s)
{
	if (!s->writer_started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	(void)pthread_join(s->writer, NULL);   /* fails only for a bad handle */
	s->writer_started = false;
}
