/* SPDX-License-Identifier: MIT */
/*
 * The store's writer thread and its rows: values of every kind reach their
 * columns, a full queue holds the caller back without losing anything, a
 * batch is committed by the writer's clock, checkpoints wait for a quiet
 * moment (or a large WAL), a failure is told, and version-2 and version-3
 * databases are migrated (version 4: test_store_spans.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sinks/store.h"
#include "sinks/store_sql.h"
#include "store_fixture.h"

#define SID 9

static int setup(void **state)
{
	return fixture_setup(state, "trail.db");
}

/* A second, independent connection: what another reader sees. */
static long long count_other(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* The page size of the database at path (a new store's: STORE_PAGE_SIZE). */
static long long page_of(const char *path)
{
	long long page = count_other(path, "PRAGMA page_size");

	assert_true(page >= 512 && page <= 65536);
	return page;
}

static void text_is(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	if (!sqlite3_column_text(st, 0))
		assert_string_equal("NULL", want);
	else
		assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
	sqlite3_finalize(st);
}

static json_t *open_event(long long i, const char *path)
{
	json_t *ev = json_pack("{s:s, s:I, s:i, s:i, s:i, s:I, s:s, s:s, s:s, s:i, s:n}",
			       "type", "open", "ts_ns", (json_int_t)(1700000000000000000LL + i),
			       "session", SID, "pid", 300, "tid", 300,
			       "start_ns", (json_int_t)777, "comm", "w", "path", path,
			       "access", "read", "ret", 3, "errno");

	assert_non_null(ev);
	return ev;
}

static void put_decref(struct store *s, json_t *ev)
{
	if (store_put(s, ev) != 0)
		fail_msg("store_put: %s", store_last_error(s));
	json_decref(ev);
}

/* ------------------------------------------------------------------------ */

/* Integers, reals, booleans, strings with a NUL, nested JSON, null and
 * absent keys: each bound as the statements expect. */
static void test_value_kinds(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	json_t *ev;

	ev = json_pack("{s:s, s:I, s:i, s:i, s:i, s:i, s:s, s:[ss], s:s, s:b, s:{s:[i]}}",
		       "type", "exec", "ts_ns", (json_int_t)1700000000000000001LL,
		       "session", SID, "pid", 400, "tid", 400, "start_ns", 888,
		       "comm", "x", "argv", "a", "b \"c\"", "exe", "/bin/x",
		       "argv_truncated", 1, "extra", "k", 1);
	assert_non_null(ev);
	/* a NUL inside a string value reaches its column whole */
	assert_int_equal(json_object_set_new(ev, "cwd", json_stringn("/a\0b", 4)), 0);
	put_decref(s, ev);
	ev = open_event(2, "/f");
	assert_int_equal(json_object_set_new(ev, "ret", json_real(1.5)), 0);
	assert_int_equal(json_object_del(ev, "access"), 0);
	assert_int_equal(json_object_set_new(ev, "flags", json_integer(577)), 0);
	put_decref(s, ev);
	assert_int_equal(store_flush(s), 0);

	text_is(store_db(s), "SELECT argv FROM processes WHERE pid = 400", "[\"a\",\"b \\\"c\\\"\"]");
	text_is(store_db(s), "SELECT json_extract(data, '$.extra.k[0]') FROM events"
		" WHERE type = 'exec'", "1");
	text_is(store_db(s), "SELECT length(CAST(cwd AS BLOB)) FROM processes WHERE pid = 400",
		"4");
	/* `files` is a view: its values are the event's, by JSON type */
	text_is(store_db(s), "SELECT path || ' ' || typeof(ret) || ' ' || ret || ' '"
		" || coalesce(access, 'NULL') || ' ' || coalesce(errno, 'NULL') || ' '"
		" || typeof(flags) || ' ' || flags FROM files", "/f real 1.5 NULL NULL integer 577");
	/* the whole event, exactly as jansson writes it */
	text_is(store_db(s), "SELECT data FROM events WHERE type = 'exec'",
		"{\"type\":\"exec\",\"ts_ns\":1700000000000000001,\"session\":9,\"pid\":400,"
		"\"tid\":400,\"start_ns\":888,\"comm\":\"x\",\"argv\":[\"a\",\"b \\\"c\\\"\"],"
		"\"exe\":\"/bin/x\",\"argv_truncated\":true,\"extra\":{\"k\":[1]},"
		"\"cwd\":\"/a\\u0000b\"}");
	/* bound by its length: no NUL is stored after it */
	text_is(store_db(s), "SELECT length(CAST(data AS BLOB)) FROM events WHERE type = 'exec'",
		"197");
	assert_int_equal(store_close(s), 0);
}

/* More than the queue holds: put() waits for room, nothing is lost. */
static void test_full_queue_waits(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	size_t big = 40000, n = 2500;   /* ~100 MB of text, more than the queue */
	char *path = malloc(big + 1);

	assert_non_null(path);
	memset(path, 'p', big);
	path[0] = '/';
	path[big] = '\0';
	for (size_t i = 0; i < n; i++) {
		path[1] = (char)('a' + i % 26);
		put_decref(s, open_event((long long)i, path));
	}
	free(path);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM events"), (long long)n);
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM files WHERE length(path) = 40000"),
			 (long long)n);
	assert_int_equal(store_close(s), 0);
}

/* After store_flush() returns, every event put before is visible to other
 * connections; batches larger than STORE_BATCH_EVENTS too. */
static void test_flush_makes_visible(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	long long n = 3 * STORE_BATCH_EVENTS + 7;

	for (long long i = 0; i < n; i++)
		put_decref(s, open_event(i, "/etc/hosts"));
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM files"), n);
	/* one process row for all of them */
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM processes"), 1);
	/* a flush with nothing pending returns at once */
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_close(s), 0);
}

/*
 * Puts are handed to the writer STORE_PUSH_ROWS at a time, or by
 * store_push(): fewer stay with the caller (never written, however long
 * one waits), a full handful goes without a push.
 */
static void test_held_until_pushed(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	long long seen = 0;

	for (int i = 1; i < STORE_PUSH_ROWS; i++)
		put_decref(s, open_event(i, "/etc/hosts"));
	/* three batch periods: a handed-over batch would be committed */
	for (int i = 0; i < 3 * STORE_BATCH_MS / 50; i++)
		nanosleep(&nap, NULL);
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM events"), 0);
	put_decref(s, open_event(STORE_PUSH_ROWS, "/etc/hosts"));   /* the handful */
	for (int i = 0; i < 100 * STORE_BATCH_MS / 50 && seen < STORE_PUSH_ROWS; i++) {
		seen = count_other(f->db, "SELECT count(*) FROM events");
		if (seen < STORE_PUSH_ROWS)
			nanosleep(&nap, NULL);
	}
	assert_int_equal(seen, STORE_PUSH_ROWS);
	assert_int_equal(store_push(s), 0);   /* nothing held: nothing to do */
	put_decref(s, open_event(STORE_PUSH_ROWS + 1, "/etc/hosts"));
	assert_int_equal(store_push(s), 0);
	for (int i = 0; i < 100 * STORE_BATCH_MS / 50 && seen <= STORE_PUSH_ROWS; i++) {
		seen = count_other(f->db, "SELECT count(*) FROM events");
		if (seen <= STORE_PUSH_ROWS)
			nanosleep(&nap, NULL);
	}
	assert_int_equal(seen, STORE_PUSH_ROWS + 1);
	assert_int_equal(store_close(s), 0);
}

/* Without a flush, the writer commits a batch once it is STORE_BATCH_MS old. */
static void test_commit_by_clock(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	long long seen = 0;

	put_decref(s, open_event(1, "/etc/hosts"));
	assert_int_equal(store_push(s), 0);   /* the burst ends: handed over */
	/* wait for the condition (at most 100 batch periods), never a time */
	for (int i = 0; i < 100 * STORE_BATCH_MS / 50 && seen == 0; i++) {
		seen = count_other(f->db, "SELECT count(*) FROM events");
		if (!seen)
			nanosleep(&nap, NULL);
	}
	assert_int_equal(seen, 1);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(page_of(f->db), STORE_PAGE_SIZE);   /* a new store's pages */
}

/* ------------------------------------------------------------------------ */
/* Checkpoints */

static long long file_size(const char *db, const char *suffix)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", db, suffix);
	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* n events with a path a little shorter than a page: about a page each. */
static void put_pages(struct store *s, const char *db, long long first, long long n)
{
	static char path[65536];
	size_t len = (size_t)page_of(db) - 96;

	memset(path, 'p', len);
	path[0] = '/';
	path[len] = '\0';
	for (long long i = first; i < first + n; i++)
		put_decref(s, open_event(i, path));
}

/* Wait for the condition (at most about 10 s), never for a time. */
static unsigned long wait_checkpoints(struct store *s, unsigned long more_than)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	unsigned long n = store_checkpoints(s);

	for (int i = 0; i < 500 && n <= more_than; i++) {
		nanosleep(&nap, NULL);
		n = store_checkpoints(s);
	}
	return n;
}

/* While events keep coming, nothing is copied from the WAL into the file,
 * not even past SQLite's own threshold of 1000 pages; the close copies
 * everything, and the events are all there. */
static void test_no_checkpoint_while_busy(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	long long before = file_size(f->db, "");

	store_set_checkpoints(s, 0, 1, 0);   /* never quiet, never large */
	put_pages(s, f->db, 0, 1500);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_checkpoints(s), 0);
	/* the WAL holds the pages; the file did not grow by them */
	assert_true(file_size(f->db, "-wal") > 1500LL * page_of(f->db));
	assert_true(file_size(f->db, "") < before + 100LL * page_of(f->db));
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM events"), 1500);
	assert_int_equal(store_close(s), 0);
	assert_true(file_size(f->db, "") > 1500LL * page_of(f->db));
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM events"), 1500);
}

/* A WAL past the largest size is copied before the flush returns. */
static void test_checkpoint_when_large(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);

	store_set_checkpoints(s, 0, 1, 200);
	put_pages(s, f->db, 0, 300);
	assert_int_equal(store_flush(s), 0);
	assert_true(store_checkpoints(s) >= 1);
	assert_true(file_size(f->db, "") > 200LL * page_of(f->db));
	assert_int_equal(store_close(s), 0);
}

/* Once no event came for the quiet time, the WAL is copied; never while
 * the connection is lent out by store_db(), which the next put ends. */
static void test_checkpoint_when_quiet(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	unsigned long n;
	sqlite3 *db;

	store_set_checkpoints(s, 5, 1, 0);
	put_pages(s, f->db, 0, 50);
	assert_int_equal(store_flush(s), 0);
	/* the schema's pages may have been copied alone while the puts were
	 * still held (a quiet moment of its own): wait for the file to hold
	 * the events' pages, not for the first checkpoint */
	for (int i = 0; i < 500 && file_size(f->db, "") <= 50LL * page_of(f->db); i++)
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	assert_true(file_size(f->db, "") > 50LL * page_of(f->db));
	assert_true(store_checkpoints(s) >= 1);

	put_pages(s, f->db, 50, 50);
	assert_int_equal(store_flush(s), 0);
	db = store_db(s);
	n = store_checkpoints(s);   /* the flushed pages may be copied already */
	nanosleep(&nap, NULL);      /* twenty quiet periods */
	text_is(db, "SELECT count(*) FROM events", "100");
	assert_int_equal(store_checkpoints(s), n);

	put_pages(s, f->db, 100, 50);      /* the connection is the writer's again */
	assert_int_equal(store_flush(s), 0);
	assert_true(wait_checkpoints(s, n) > n);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM events"), 150);
}

/* One event stored, then no room for the file to grow: the next writes
 * that need a new page fail with SQLITE_FULL. big becomes a path of its
 * size. The writer is idle after a flush: the connection may be used. */
static void fill_up(struct store *s, char *big, size_t size, char fill)
{
	put_decref(s, open_event(0, "/etc/hosts"));
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(sqlite3_exec(store_db(s), "PRAGMA max_page_count = 1", NULL, NULL,
				      NULL), SQLITE_OK);
	memset(big, fill, size - 1);
	big[0] = '/';
	big[size - 1] = '\0';
}

/* A failing writer: the caller hears of it (once per call, with the
 * cause), later puts are refused, and close does not repeat it. */
static void test_failure_is_told(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	char big[3000];
	int failed_at = -1;

	fill_up(s, big, sizeof(big), 'x');
	for (int i = 1; i < 20000 && failed_at < 0; i++) {
		json_t *ev = open_event(i, big);

		if (store_put(s, ev) != 0)
			failed_at = i;
		json_decref(ev);
	}
	if (failed_at < 0)
		assert_int_equal(store_flush(s), -1);
	assert_non_null(strstr(store_last_error(s), "SQLITE_FULL"));
	assert_non_null(strstr(store_last_error(s), "lost"));
	/* refused from now on, with the same cause */
	{
		json_t *ev = open_event(99999, "/x");

		assert_int_equal(store_put(s, ev), -1);
		json_decref(ev);
	}
	assert_non_null(strstr(store_last_error(s), "SQLITE_FULL"));
	assert_int_equal(store_flush(s), -1);
	assert_int_equal(store_close(s), 0);
	/* what was committed before stays */
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM events WHERE ts_ns ="
			 " 1700000000000000000"), 1);
}

/* A failure only the final commit meets is close()'s failure. */
static void test_failure_at_close(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	/* overflow pages: the file must grow (a new file has a few free
	 * pages, left by the migrations' drops): sixteen pages of the
	 * largest size SQLite has */
	static char big[16 * 65536];

	fill_up(s, big, sizeof(big), 'y');
	put_decref(s, open_event(1, big));
	assert_int_equal(store_close(s), -1);
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM events"), 1);
}

/* A schema change by another connection makes SQLite prepare the
 * statements again (freeing their parameter names): the plan still
 * binds the right values. */
static void test_schema_change_while_open(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	sqlite3 *other = NULL;

	put_decref(s, open_event(1, "/first"));
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "CREATE INDEX mine ON events(session, pid, start_ns);"
				      "CREATE VIEW v AS SELECT 1", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(other), SQLITE_OK);
	put_decref(s, open_event(2, "/second"));
	put_decref(s, open_event(3, "/third"));
	assert_int_equal(store_flush(s), 0);
	text_is(store_db(s), "SELECT group_concat(path || ':' || access, ',') FROM (SELECT path,"
		" access FROM files ORDER BY id)", "/first:read,/second:read,/third:read");
	assert_int_equal(store_close(s), 0);
}

/* An event that cannot be encoded is refused alone; the store goes on. */
static void test_bad_event_alone(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	json_t *ev = open_event(1, "/ok");

	assert_int_equal(json_object_set_new(ev, "path", json_stringn_nocheck("/\xff", 2)), 0);
	assert_int_equal(store_put(s, ev), -1);
	json_decref(ev);
	assert_non_null(strstr(store_last_error(s), "cannot store a open event"));
	assert_int_equal(store_usable(s), 1);
	put_decref(s, open_event(2, "/ok"));
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM files WHERE path = '/ok'"), 1);
	assert_int_equal(count_other(f->db, "SELECT count(*) FROM events"), 1);
	assert_int_equal(store_close(s), 0);
}

/*
 * The numbers of a failure add up: every event put and not stored is
 * counted in the message, once, wherever the failure is found: by a flush,
 * or (flush_every 0, as in a recording) by the put that hands rows over.
 */
static void lost_count_exact(void **state, int flush_every)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	static char big[6000];
	long long accepted = 1, stored, batch = 0, more = 0;
	char msg[1024];
	const char *p;
	int failed = 0;

	fill_up(s, big, sizeof(big), 'z');
	for (int i = 1; i < 20000 && !failed; i++) {
		json_t *ev = open_event(i, big);

		if (store_put(s, ev) == 0)
			accepted++;
		else
			failed = 1;
		json_decref(ev);
		if (!failed && flush_every && i % flush_every == 0 && store_flush(s) != 0)
			failed = 1;
	}
	if (!failed)
		assert_int_equal(store_flush(s), -1);
	/* the message outlives the store: it is read after the close */
	snprintf(msg, sizeof(msg), "%s", store_last_error(s));
	p = strstr(msg, "; the ");
	if (p)
		batch = atoll(p + 6);
	/* "; N more event(s) ...", from the writer and from the hand-over */
	for (p = msg; (p = strstr(p, "; ")) != NULL;) {
		char *end;
		long long n;

		p += 2;
		n = strtoll(p, &end, 10);
		if (end != p && strncmp(end, " more event", 11) == 0)
			more += n;
	}
	assert_int_equal(store_close(s), 0);
	stored = count_other(f->db, "SELECT count(*) FROM events");
	if (batch + more != accepted - stored)
		fail_msg("accepted %lld, stored %lld, reported lost %lld + %lld: %s", accepted,
			 stored, batch, more, msg);
}

static void test_lost_count_exact(void **state)
{
	lost_count_exact(state, 100);
}

static void test_lost_count_exact_unflushed(void **state)
{
	lost_count_exact(state, 0);
}

/* A version-2 database gains versions 3 (no per-process indexes on events
 * and files), 4 (files a view over events) and 5 (no index on events at
 * all: event_spans instead), and keeps its rows. */
static void test_migrate_v2(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;
	struct store *s;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	/* made with SQLite's default pages, as stores were before 16 KiB */
	assert_int_equal(sqlite3_exec(db, "PRAGMA page_size = 4096", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_migrations[0], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_migrations[1], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO meta VALUES('schema_version', 2);"
				      "INSERT INTO events(session, type, data)"
				      " VALUES(1, 'old', '{}')", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	/* read as it is, before any writer migrates it */
	{
		char err[512];

		assert_int_equal(store_open_readonly(f->db, &s, err, sizeof(err)), 0);
		text_is(store_db(s), "SELECT count(*) FROM events", "1");
		assert_int_equal(store_close(s), 0);
	}
	s = open_rw(f->db);
	put_decref(s, open_event(5, "/etc/hosts"));
	assert_int_equal(store_flush(s), 0);
	text_is(store_db(s), "SELECT value FROM meta WHERE key = 'schema_version'", "6");
	text_is(store_db(s), "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master"
		" WHERE type = 'index' AND tbl_name IN ('events', 'files') ORDER BY name)",
		"NULL");
	text_is(store_db(s), "SELECT group_concat(type, ',') FROM (SELECT type FROM events"
		" ORDER BY id)", "old,open");
	text_is(store_db(s), "SELECT group_concat(op || ' ' || path, ',') FROM files",
		"open /etc/hosts");
	assert_int_equal(store_close(s), 0);
	assert_int_equal(page_of(f->db), 4096);   /* an existing store keeps its pages */
}

/* A version-3 database's `files` rows were copies of its events: after the
 * migration the view shows the same rows (ids become the events' ids), and
 * the old table is gone. */
static void test_migrate_v3(void **state)
{
	static const char cols[] = "SELECT group_concat(event_id || '|' || session || '|' ||"
		" ts_ns || '|' || pid || '|' || start_ns || '|' || op || '|' ||"
		" coalesce(path, '-') || '|' || coalesce(arg_path, '-') || '|' ||"
		" coalesce(new_path, '-') || '|' || coalesce(access, '-') || '|' ||"
		" coalesce(flags, '-') || '|' || ret || '|' || coalesce(errno, '-'), ';')"
		" FROM (SELECT * FROM files ORDER BY event_id)";
	struct fixture *f = *state;
	char before[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct store *s;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	for (int v = 0; v < 3; v++)
		assert_int_equal(sqlite3_exec(db, store_migrations[v], NULL, NULL, NULL),
				 SQLITE_OK);
	/* rows as a version-3 writer left them: the event, then its copy */
	assert_int_equal(sqlite3_exec(db, "INSERT INTO meta VALUES('schema_version', 3);"
		"INSERT INTO events(id, session, ts_ns, type, pid, tid, start_ns, data) VALUES"
		" (1, 4, 10, 'open', 50, 50, 7, '{\"type\":\"open\",\"path\":\"/a\","
		"\"arg_path\":\"a\",\"access\":\"write\",\"flags\":577,\"ret\":3,"
		"\"errno\":null}'),"
		" (2, 4, 11, 'exec', 50, 50, 7, '{\"type\":\"exec\"}'),"
		" (3, 4, 12, 'rename', 50, 50, 7, '{\"type\":\"rename\",\"path\":\"/b\","
		"\"arg_path\":\"b\",\"new_path\":\"/c\",\"flags\":0,\"ret\":-2,"
		"\"errno\":\"ENOENT\"}');"
		"INSERT INTO files(event_id, session, ts_ns, pid, start_ns, op, path, arg_path,"
		" new_path, access, flags, ret, errno) VALUES"
		" (1, 4, 10, 50, 7, 'open', '/a', 'a', NULL, 'write', 577, 3, NULL),"
		" (3, 4, 12, 50, 7, 'rename', '/b', 'b', '/c', NULL, 0, -2, 'ENOENT');",
		NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, cols, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(before, sizeof(before), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_string_equal(before, "1|4|10|50|7|open|/a|a|-|write|577|3|-;"
			    "3|4|12|50|7|rename|/b|b|/c|-|0|-2|ENOENT");

	s = open_rw(f->db);
	text_is(store_db(s), "SELECT value FROM meta WHERE key = 'schema_version'", "6");
	text_is(store_db(s), "SELECT type FROM sqlite_master WHERE name = 'files'", "view");
	text_is(store_db(s), cols, before);
	text_is(store_db(s), "SELECT group_concat(id, ',') FROM files", "1,3");
	assert_int_equal(store_close(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_value_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_queue_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_makes_visible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_by_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_until_pushed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_checkpoint_while_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_when_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_when_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_is_told, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_change_while_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_event_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_count_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_count_exact_unflushed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v3, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
