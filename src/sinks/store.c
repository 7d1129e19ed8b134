/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink: every event goes into `events`, and the derived tables
 * are filled from it (docs/schema.md). The SQL is in store_sql.c; its
 * named parameters are the event's JSON keys. This file opens and closes,
 * and is the caller's side of the queue; store_row.c turns events into
 * rows, store_write.c is the writer thread that stores them.
 */
#include "sinks/store_int.h"
#include "sinks/store_schema.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Errors */

static int fail(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct store *s, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	store_set_msg(s->err, sizeof(s->err), "store %s: %s", s->path, msg);
	return -1;
}

const char *store_last_error(const struct store *s)
{
	return s ? s->err : "no store";
}

int store_usable(const struct store *s)
{
	return s && !s->readonly && !s->fail_told;
}

sqlite3 *store_db(struct store *s)
{
	if (!s)
		return NULL;
	if (!s->readonly && s->writer_started) {
		/* the writer's own checkpoints use the connection too: wait for
		 * one under way, and hold the next off until rows are handed
		 * over again (after a flush, as store.h asks, none are held) */
		pthread_mutex_lock(&s->mu);
		while (s->ckpt_running)
			pthread_cond_wait(&s->done, &s->mu);
		s->db_lent = true;
		pthread_mutex_unlock(&s->mu);
	}
	return s->db;
}

/* ------------------------------------------------------------------------ */
/* Helpers */

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	size_t n = strnlen(path, sizeof(dir));

	if (n >= sizeof(dir)) {
		store_set_msg(err, errlen, "store: path too long: %.64s...", path);
		return -1;
	}
	memcpy(dir, path, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			store_set_msg(err, errlen, "store %s: cannot create directory %s: %s",
				path, dir, strerror(errno));
			return -1;
		}
		dir[i] = '/';
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Open / close */

static void finalize_all(struct store *s)
{
	for (int i = 0; i < ST__MAX; i++) {
		/* finalize only repeats the last step's error, already reported */
		(void)sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
}

/* The queue's lock and conditions; the writer's deadlines are monotonic. */
static int init_sync(struct store *s)
{
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);

	if (rc)
		return rc;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!rc && !(rc = pthread_mutex_init(&s->mu, NULL))) {
		if ((rc = pthread_cond_init(&s->work, &ca)) != 0) {
			pthread_mutex_destroy(&s->mu);
		} else if ((rc = pthread_cond_init(&s->space, &ca)) != 0) {
			pthread_cond_destroy(&s->work);
			pthread_mutex_destroy(&s->mu);
		} else if ((rc = pthread_cond_init(&s->done, &ca)) != 0) {
			pthread_cond_destroy(&s->space);
			pthread_cond_destroy(&s->work);
			pthread_mutex_destroy(&s->mu);
		}
	}
	(void)pthread_condattr_destroy(&ca);
	return rc;
}

static int new_store(const char *path, bool readonly, struct store **out,
		     char *err, size_t errlen)
{
	struct store *s;
	size_t n = strnlen(path, PATH_MAX);
	int rc;

	*out = NULL;
	if (n == 0 || n >= PATH_MAX) {
		store_set_msg(err, errlen, "store: invalid database path");
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		store_set_msg(err, errlen, "store %s: out of memory", path);
		return -1;
	}
	rc = init_sync(s);
	if (rc) {
		store_set_msg(err, errlen, "store %s: %s", path, strerror(rc));
		free(s);
		return -1;
	}
	memcpy(s->path, path, n + 1);
	s->readonly = readonly;
	s->ckpt_quiet_ms = STORE_CKPT_QUIET_MS;
	s->ckpt_min_frames = STORE_CKPT_MIN_BYTES / 4096;   /* until the page size is known */
	s->ckpt_max_frames = STORE_CKPT_MAX_BYTES / 4096;
	jbuf_init(&s->scratch);
	*out = s;
	return 0;
}

static void free_store(struct store *s)
{
	store_free_rows(s->spare);
	store_free_rows(s->mine);
	store_free_rows(s->held_head);   /* defensive: a close hands them over first */
	jbuf_free(&s->scratch);
	pthread_cond_destroy(&s->done);
	pthread_cond_destroy(&s->space);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Close the connection; the statements must be finalized. */
static int close_db(struct store *s)
{
	int rc;

	if (!s->db)
		return 0;
	rc = sqlite3_close(s->db);
	if (rc != SQLITE_OK) {
		store_db_msg(s->err, sizeof(s->err), s->db, rc, s->path, "closing");
		return -1;
	}
	s->db = NULL;
	return 0;
}

static void abandon(struct store *s, char *err, size_t errlen)
{
	if (!s)
		return;
	if (err && errlen && s->err[0] && !err[0])
		store_set_msg(err, errlen, "%s", s->err);
	finalize_all(s);
	if (close_db(s) != 0) {
		/* sqlite3_close_v2 defers the close; nothing else holds it */
		(void)sqlite3_close_v2(s->db);
	}
	free_store(s);
}

static int open_common(struct store *s, int flags, char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);

	if (rc != SQLITE_OK) {
		store_db_msg(err, errlen, s->db, rc, s->path, "opening");
		return -1;
	}
	rc = sqlite3_extended_result_codes(s->db, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->db, 5000);
	if (rc != SQLITE_OK) {
		store_db_msg(err, errlen, s->db, rc, s->path, "configuring");
		return -1;
	}
	return 0;
}

/*
 * SQLite's memory statistics take a global mutex around every allocation
 * it makes (about 6% of a stored event). Nothing here reads them. This is
 * process-wide and only possible before SQLite's first use; if something
 * else used SQLite first, the call is refused and nothing changes.
 */
static void no_memory_stats(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#define AT_STR_(x) #x
#define AT_STR(x) AT_STR_(x)

/* The checkpoint thresholds (store.h) in pages of this database, whose
 * page size is the one it was made with. */
static int checkpoints_in_pages(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	long long page = 0;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		page = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (page < 512 || page > 65536) {
		store_db_msg(err, errlen, s->db, rc == SQLITE_ROW ? SQLITE_CORRUPT : rc, s->path,
			     "reading the page size");
		return -1;
	}
	s->ckpt_min_frames = (unsigned)(STORE_CKPT_MIN_BYTES / page);
	s->ckpt_max_frames = (unsigned)(STORE_CKPT_MAX_BYTES / page);
	return 0;
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct store *s;
	long long version;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out) {
		store_set_msg(err, errlen, "store: no database path");
		return -1;
	}
	(void)pthread_once(&once, no_memory_stats);   /* fails only for bad arguments */
	if (new_store(path, false, &s, err, errlen) != 0)
		return -1;
	if (make_parent_dirs(path, err, errlen) != 0 ||
	    /* one thread at a time uses the connection (store_int.h):
	     * no SQLite mutexes needed */
	    open_common(s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			err, errlen) != 0)
		goto fail;
	/* look before touching: never switch a foreign or newer file to WAL */
	if (store_read_version(s->db, path, &version, err, errlen) != 0 ||
	    store_refuse_newer(path, version, err, errlen) != 0)
		goto fail;
	/* WAL: readers (report) never block the recorder; NORMAL sync keeps
	 * every commit across a crash of the process. The page size applies
	 * only to a database not written yet, so it comes first. */
	if (store_exec_sql(s->db, path, "PRAGMA page_size = " AT_STR(STORE_PAGE_SIZE),
		     "setting the page size", err, errlen) != 0 ||
	    store_exec_sql(s->db, path, "PRAGMA journal_mode = WAL",
		     "switching to WAL", err, errlen) != 0 ||
	    store_exec_sql(s->db, path, "PRAGMA synchronous = NORMAL",
		     "setting synchronous", err, errlen) != 0 ||
	    store_exec_sql(s->db, path, "PRAGMA cache_size = -16384",
		     "sizing the page cache", err, errlen) != 0)
		goto fail;
	if (checkpoints_in_pages(s, err, errlen) != 0)
		goto fail;
	/* replaces SQLite's automatic checkpoints: the writer times them */
	(void)sqlite3_wal_hook(s->db, store_wal_hook, s);
	if (store_migrate(s->db, path, err, errlen) != 0)
		goto fail;
	for (int i = 0; i < ST__MAX; i++) {
		int rc = sqlite3_prepare_v3(s->db, store_stmt_sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			store_db_msg(err, errlen, s->db, rc, path, "preparing statements");
			goto fail;
		}
	}
	s->max_len = sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1);
	if (store_plan_build(s) != 0 || store_writer_start(s) != 0)
		goto fail;
	*out = s;
	return 0;

fail:
	abandon(s, err, errlen);
	return -1;
}

/*
 * Before version 5, `events` had an index on (session, ts_ns), and there
 * were no event_spans and no session_events. Readers query those, so a
 * store that old gets them as views for this connection only, in the temp
 * schema (the file itself is not touched): one span per session, as the
 * migration makes them, and session_events straight over the index.
 */
static int older_session_events(struct store *s, char *err, size_t errlen)
{
	static const char sql[] =
		"CREATE TEMP VIEW event_spans AS SELECT session, min(id) AS first_id,"
		" max(id) AS last_id, min(ts_ns) AS first_ts_ns, max(ts_ns) AS last_ts_ns,"
		" count(*) AS events FROM main.events GROUP BY session;"
		"CREATE TEMP VIEW session_events AS SELECT id, session, ts_ns, type,"
		" pid, tid, start_ns, data FROM main.events";
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		store_db_msg(err, errlen, s->db, rc, s->path, "reading an older schema");
		return -1;
	}
	return 0;
}

int store_open_readonly(const char *path, struct store **out, char *err, size_t errlen)
{
	struct store *s;
	long long version;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out) {
		store_set_msg(err, errlen, "store: no database path");
		return -1;
	}
	*out = NULL;
	if (access(path, F_OK) != 0) {
		store_set_msg(err, errlen, "no database at %s: %s", path, strerror(errno));
		return -1;
	}
	if (new_store(path, true, &s, err, errlen) != 0)
		return -1;
	if (open_common(s, SQLITE_OPEN_READONLY, err, errlen) != 0 ||
	    store_read_version(s->db, path, &version, err, errlen) != 0 ||
	    store_refuse_newer(path, version, err, errlen) != 0)
		goto fail;
	/* older versions are read as they are: version 2 only had two more
	 * indexes, version 1 no http/llm tables (the report checks) */
	if (version < 1) {
		store_set_msg(err, errlen, "store %s: not an agenttrail database (empty)", path);
		goto fail;
	}
	if (version < 5 && older_session_events(s, err, errlen) != 0)
		goto fail;
	*out = s;
	return 0;

fail:
	abandon(s, err, errlen);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Writing: the caller's side of the queue */

/* Under mu, or once fail_told: the writer failed; say so through a
 * return of -1. */
static int writer_failure(struct store *s)
{
	memcpy(s->err, s->werr, sizeof(s->err));
	s->fail_told = true;
	return -1;
}

/*
 * A written row of at least need bytes, or NULL. The caller's side takes
 * the writer's spares all at once (one lock for many rows) and uses them
 * from its own list. One that is too small is freed: rows grow with the
 * paths in them, and the list then turns over to the new size.
 */
static struct row *take_spare(struct store *s, size_t need)
{
	struct row *r;

	if (!s->mine) {
		pthread_mutex_lock(&s->mu);
		s->mine = s->spare;
		s->spare = NULL;
		s->spare_n = 0;
		pthread_mutex_unlock(&s->mu);
	}
	r = s->mine;
	if (!r)
		return NULL;
	s->mine = r->next;
	if (s->mine)
		row_prefetch(s->mine, true);   /* the next put's row (store_int.h) */
	if (r->cap >= need)
		return r;
	free(r);
	return NULL;
}

static struct row *new_row(struct store *s)
{
	size_t need = store_row_size(s), cap;
	struct row *r = take_spare(s, need);

	if (!r) {
		cap = (need + STORE_ROW_ALIGN - 1) / STORE_ROW_ALIGN * STORE_ROW_ALIGN;
		r = malloc(cap);
		if (!r) {
			fail(s, "out of memory");
			return NULL;
		}
		r->cap = cap;
	}
	store_row_fill(s, r);
	return r;
}

/*
 * Under mu: the held rows to the queue's end. refused_last: the last held
 * row is the one of a put that returns this -1, so a failure does not
 * count it among the events lost.
 */
static int hand_over(struct store *s, bool refused_last)
{
	s->db_lent = false;
	/* a full queue holds the caller back: the kernel's buffer then
	 * absorbs the burst, and counts what it cannot. The writer may be
	 * asleep until its batch is due: it is woken first. */
	while (!s->wfailed && s->queued_rows &&
	       s->queued_bytes + s->held_bytes > STORE_QUEUE_BYTES) {
		pthread_cond_signal(&s->work);
		pthread_cond_wait(&s->space, &s->mu);
	}
	if (s->wfailed) {
		unsigned long n = store_free_rows(s->held_head) - (refused_last ? 1 : 0);
		size_t len;

		s->held_head = s->held_tail = NULL;
		s->held_n = 0;
		s->held_bytes = 0;
		writer_failure(s);
		len = strlen(s->err);
		if (n && len < sizeof(s->err))
			snprintf(s->err + len, sizeof(s->err) - len,
				 "; %lu more event(s) put since were not stored", n);
		return -1;
	}
	if (s->tail)
		s->tail->next = s->held_head;
	else
		s->head = s->held_head;
	s->tail = s->held_tail;
	s->queued_bytes += s->held_bytes;
	s->queued_rows += s->held_n;
	s->put_seq += s->held_n;
	s->held_head = s->held_tail = NULL;
	s->held_n = 0;
	s->held_bytes = 0;
	if (s->writer_idle || s->queued_rows >= STORE_WAKE_ROWS ||
	    s->queued_bytes >= STORE_QUEUE_BYTES / 8)
		pthread_cond_signal(&s->work);
	return 0;
}

static int push(struct store *s, bool refused_last)
{
	int ret;

	if (!s || s->readonly || !s->held_n)
		return 0;
	s->err[0] = '\0';
	pthread_mutex_lock(&s->mu);
	ret = hand_over(s, refused_last);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

int store_push(struct store *s)
{
	return push(s, false);
}

/* The encoded draft (store_row.c) as a row, held for the writer. */
static int enqueue(struct store *s)
{
	struct row *r;

	/* once told, a failure is final: refused without the lock (werr is
	 * fixed from the moment wfailed was seen under it) */
	if (s->fail_told)
		return writer_failure(s);
	r = new_row(s);
	if (!r)
		return -1;
	r->next = NULL;
	r->ahead = NULL;
	if (s->held_tail)
		s->held_tail->next = r;
	else
		s->held_head = r;
	s->held_tail = r;
	/* held rows are this thread's until hand_over(): linked ahead only
	 * within a handful, never into rows the writer may be reading */
	if (s->held_n >= ROW_AHEAD)
		s->held_last[s->held_n % ROW_AHEAD]->ahead = r;
	s->held_last[s->held_n % ROW_AHEAD] = r;
	s->held_n++;
	s->held_bytes += r->cap;
	if (s->held_n < STORE_PUSH_ROWS)
		return 0;
	return push(s, true);
}

int store_put(struct store *s, json_t *ev)
{
	const json_t *ts;
	const char *type;

	if (!s)
		return -1;
	s->err[0] = '\0';
	if (s->readonly)
		return fail(s, "opened read-only");
	if (!json_is_object(ev))
		return fail(s, "an event must be a JSON object");
	type = json_string_value(json_object_get(ev, "type"));
	if (!type)
		return fail(s, "event without a string \"type\"");
	if (!json_is_integer(json_object_get(ev, "session")))
		return fail(s, "%s event without an integer \"session\"", type);
	/* what the span of its batch records of it (store_write.c) */
	ts = json_object_get(ev, "ts_ns");
	if (ts && !json_is_integer(ts) && !json_is_null(ts))
		return fail(s, "%s event with a \"ts_ns\" that is not an integer", type);
	if (store_row_encode(s, ev, store_route_of(type)) != 0)
		return -1;
	return enqueue(s);
}

int store_put_text(struct store *s, const struct store_head *h, const char *json, size_t len)
{
	if (!s)
		return -1;
	s->err[0] = '\0';
	if (s->readonly)
		return fail(s, "opened read-only");
	if (!h || !h->type || !json)
		return fail(s, "an event's text needs its type");
	if (store_row_encode_text(s, h, json, len, store_route_of(h->type)) != 0)
		return -1;
	return enqueue(s);
}

int store_flush(struct store *s)
{
	uint64_t target;
	int ret = 0;

	if (!s)
		return -1;
	if (s->readonly)
		return 0;
	if (store_push(s) != 0)
		return -1;
	pthread_mutex_lock(&s->mu);
	target = s->put_seq;
	if (s->committed_seq < target && !s->wfailed) {
		s->flush_req = true;
		pthread_cond_signal(&s->work);
		while (s->committed_seq < target && !s->wfailed)
			pthread_cond_wait(&s->done, &s->mu);
	}
	if (s->wfailed)
		ret = writer_failure(s);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

void store_set_checkpoints(struct store *s, unsigned quiet_ms, unsigned min_frames,
			   unsigned max_frames)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->ckpt_quiet_ms = quiet_ms;
	s->ckpt_min_frames = min_frames;
	s->ckpt_max_frames = max_frames;
	pthread_cond_signal(&s->work);   /* a writer asleep on the old policy */
	pthread_mutex_unlock(&s->mu);
}

unsigned long store_checkpoints(struct store *s)
{
	unsigned long n;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->mu);
	n = s->checkpoints;
	pthread_mutex_unlock(&s->mu);
	return n;
}

int store_close(struct store *s)
{
	int ret = 0;

	if (!s)
		return 0;
	if (!s->readonly) {
		if (store_push(s) != 0)
			ret = -1;   /* the writer failed; told now */
		store_writer_stop(s);   /* commits what is queued */
		/* a failure not returned yet is this close's failure */
		if (s->wfailed && !s->fail_told) {
			writer_failure(s);
			ret = -1;
		}
	}
	finalize_all(s);
	if (close_db(s) != 0) {
		/* cannot happen once all statements are finalized; v2 defers */
		(void)sqlite3_close_v2(s->db);
		ret = -1;
	}
	free_store(s);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Default path */

static int copy_path(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);

	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int at_default_db_path_r(char *buf, size_t len)
{
	const char *env = getenv("AGENTTRAIL_DB");
	const char *home;

	if (!buf || len == 0)
		return -1;
	if (env && env[0])
		return copy_path(buf, len, env, "");
	if (geteuid() == 0)
		return copy_path(buf, len, "/var/lib/agenttrail/trail.db", "");
	env = getenv("XDG_DATA_HOME");
	if (env && env[0] == '/') /* relative values are invalid per XDG */
		return copy_path(buf, len, env, "/agenttrail/trail.db");
	home = getenv("HOME");
	if (!home || !home[0]) {
		struct passwd pw, *res = NULL;
		char pwbuf[4096];

		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) != 0 ||
		    !res || !res->pw_dir)
			return -1;
		return copy_path(buf, len, res->pw_dir, "/.local/share/agenttrail/trail.db");
	}
	return copy_path(buf, len, home, "/.local/share/agenttrail/trail.db");
}

const char *at_default_db_path(void)
{
	static __thread char buf[PATH_MAX];

	return at_default_db_path_r(buf, sizeof(buf)) == 0 ? buf : NULL;
}
