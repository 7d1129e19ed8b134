/* SPDX-License-Identifier: MIT */
/*
 * event_spans (schema version 5): every stored event lies in exactly one
 * span of its session, whose counts and time bounds are its events'. It
 * holds with sessions interleaved (more than the writer has slots for),
 * across batches, after a failed batch, and in a store migrated from
 * version 4; session_events and files read a session through the spans,
 * and a version-4 store is still read as it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sinks/store.h"
#include "sinks/store_sql.h"
#include "store_fixture.h"

#define TS0 1700000000000000000LL

static int setup(void **state)
{
	return fixture_setup(state, "trail.db");
}

static struct store *open_rw(const char *path)
{
	char err[512];
	struct store *s = NULL;

	if (store_open(path, &s, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	return s;
}

static struct store *open_ro(const char *path)
{
	char err[512];
	struct store *s = NULL;

	if (store_open_readonly(path, &s, err, sizeof(err)) != 0)
		fail_msg("store_open_readonly: %s", err);
	return s;
}

static long long int_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* An open event of session sid; no ts_ns when ts < 0. */
static json_t *event(long long sid, long long ts, int i)
{
	char path[32];
	json_t *ev;

	snprintf(path, sizeof(path), "/f/%d", i);
	ev = json_pack("{s:s, s:I, s:i, s:i, s:I, s:s, s:s, s:s, s:i}", "type", "open",
		       "session", (json_int_t)sid, "pid", 300, "tid", 300,
		       "start_ns", (json_int_t)777, "comm", "w", "path", path,
		       "access", "read", "ret", 3);
	assert_non_null(ev);
	if (ts >= 0)
		assert_int_equal(json_object_set_new(ev, "ts_ns", json_integer(ts)), 0);
	return ev;
}

static void put(struct store *s, json_t *ev)
{
	if (store_put(s, ev) != 0)
		fail_msg("store_put: %s", store_last_error(s));
	json_decref(ev);
}

/*
 * The spans tell the truth about the events: each event in exactly one
 * span of its own session; each span's first and last ids are events of
 * its session, its count and time bounds those of its events; and
 * session_events gives every event of a session once.
 */
static void spans_hold(sqlite3 *db)
{
	assert_int_equal(int_of(db, "SELECT count(*) FROM events e WHERE (SELECT count(*)"
				" FROM event_spans s WHERE s.session = e.session"
				" AND e.id BETWEEN s.first_id AND s.last_id) <> 1"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM event_spans s"
				" WHERE NOT EXISTS(SELECT 1 FROM events"
				"  WHERE id = s.first_id AND session = s.session)"
				" OR NOT EXISTS(SELECT 1 FROM events"
				"  WHERE id = s.last_id AND session = s.session)"), 0);
#define SPAN_ROWS(f) "(SELECT " f " FROM events e WHERE e.session = s.session" \
			" AND e.id BETWEEN s.first_id AND s.last_id)"
	assert_int_equal(int_of(db, "SELECT count(*) FROM event_spans s"
				" WHERE s.events <> " SPAN_ROWS("count(*)")
				" OR s.first_ts_ns IS NOT " SPAN_ROWS("min(ts_ns)")
				" OR s.last_ts_ns IS NOT " SPAN_ROWS("max(ts_ns)")), 0);
#undef SPAN_ROWS
	assert_int_equal(int_of(db, "SELECT count(*) FROM (SELECT session, count(*) AS n"
				" FROM events GROUP BY session) a WHERE a.n <> (SELECT count(*)"
				" FROM session_events v WHERE v.session = a.session)"
				" OR a.n <> (SELECT sum(events) FROM event_spans s"
				" WHERE s.session = a.session)"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM (SELECT DISTINCT id FROM"
				" session_events)"), int_of(db, "SELECT count(*) FROM events"));
}

/* Twenty sessions in turn, more than the writer's span slots, over
 * several batches; some events without a time. */
static void test_interleaved_sessions(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	const int nsess = 20, n = 3000;

	for (int i = 0; i < n; i++)
		put(s, event(100 + i % nsess, i % 7 == 0 ? -1 : TS0 + (n - i), i));
	assert_int_equal(store_flush(s), 0);
	spans_hold(store_db(s));
	for (int k = 0; k < nsess; k++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM files WHERE session = %d",
			 100 + k);
		assert_int_equal(int_of(store_db(s), sql), n / nsess);
	}
	/* at least one span per session and batch */
	assert_true(int_of(store_db(s), "SELECT count(*) FROM event_spans") >=
		    nsess * ((n + STORE_BATCH_EVENTS - 1) / STORE_BATCH_EVENTS));
	assert_int_equal(store_close(s), 0);

	s = open_ro(f->db);
	spans_hold(store_db(s));
	assert_int_equal(store_close(s), 0);
}

/* One session: a span per transaction, never one per event. */
static void test_one_session(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	const int n = 5000;

	for (int i = 0; i < n; i++)
		put(s, event(7, TS0 + i, i));
	assert_int_equal(store_flush(s), 0);
	spans_hold(store_db(s));
	assert_true(int_of(store_db(s), "SELECT count(*) FROM event_spans") >=
		    (n + STORE_BATCH_EVENTS - 1) / STORE_BATCH_EVENTS);
	assert_true(int_of(store_db(s), "SELECT max(events) FROM event_spans") > 1);
	assert_int_equal(int_of(store_db(s), "SELECT min(first_ts_ns) FROM event_spans"), TS0);
	assert_int_equal(int_of(store_db(s), "SELECT max(last_ts_ns) FROM event_spans"),
			 TS0 + n - 1);
	assert_int_equal(store_close(s), 0);
}

/* A batch that fails (the disk is full) takes its spans with it: what
 * stays is committed events and their spans only, and they still agree. */
static void test_failed_batch(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	static char big[3000];
	int failed_at = -1;

	for (int i = 0; i < 50; i++)
		put(s, event(1 + i % 3, TS0 + i, i));
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(sqlite3_exec(store_db(s), "PRAGMA max_page_count = 1", NULL, NULL,
				      NULL), SQLITE_OK);
	memset(big, 'x', sizeof(big) - 1);
	for (int i = 0; i < 20000 && failed_at < 0; i++) {
		json_t *ev = event(1 + i % 3, TS0 + 100 + i, i);

		assert_int_equal(json_object_set_new(ev, "path", json_string(big)), 0);
		if (store_put(s, ev) != 0)
			failed_at = i;
		json_decref(ev);
	}
	if (failed_at < 0)
		assert_int_equal(store_flush(s), -1);
	assert_non_null(strstr(store_last_error(s), "SQLITE_FULL"));
	assert_int_equal(store_close(s), 0);

	s = open_ro(f->db);
	assert_true(int_of(store_db(s), "SELECT count(*) FROM events") >= 50);
	spans_hold(store_db(s));
	assert_int_equal(store_close(s), 0);
}

/* A version-4 store: read as it is (session_events over its index), then
 * migrated: one span per session from its first event to its last, the
 * index gone, files unchanged, and new events with spans of their own. */
static void test_migrate_v4(void **state)
{
	static const char files_sql[] = "SELECT group_concat(id || ':' || session || ':'"
		" || path, ',') FROM (SELECT * FROM files ORDER BY id)";
	struct fixture *f = *state;
	sqlite3 *db = NULL;
	struct store *s;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	for (int v = 0; v < 4; v++)
		assert_int_equal(sqlite3_exec(db, store_migrations[v], NULL, NULL, NULL),
				 SQLITE_OK);
	/* two sessions interleaved, as a version-4 writer left them */
	assert_int_equal(sqlite3_exec(db, "INSERT INTO meta VALUES('schema_version', 4);"
		"INSERT INTO events(id, session, ts_ns, type, pid, tid, start_ns, data) VALUES"
		" (1, 4, 10, 'open', 50, 50, 7, '{\"type\":\"open\",\"path\":\"/a\"}'),"
		" (2, 5, 11, 'exec', 51, 51, 8, '{\"type\":\"exec\"}'),"
		" (3, 4, 12, 'open', 50, 50, 7, '{\"type\":\"open\",\"path\":\"/b\"}'),"
		" (4, 5, 9, 'open', 51, 51, 8, '{\"type\":\"open\",\"path\":\"/c\"}'),"
		" (5, 4, NULL, 'exit', 50, 50, 7, '{\"type\":\"exit\"}');",
		NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	s = open_ro(f->db);
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM session_events"
				" WHERE session = 4"), 3);
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM sqlite_master"
				" WHERE name = 'event_spans'"), 0);   /* not touched */
	assert_int_equal(store_close(s), 0);

	s = open_rw(f->db);
	assert_int_equal(int_of(store_db(s), "SELECT value FROM meta"
				" WHERE key = 'schema_version'"), 5);
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM sqlite_master"
				" WHERE type = 'index' AND tbl_name = 'events'"), 0);
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM event_spans"
				" WHERE (session = 4 AND first_id = 1 AND last_id = 5"
				"  AND first_ts_ns = 10 AND last_ts_ns = 12 AND events = 3)"
				" OR (session = 5 AND first_id = 2 AND last_id = 4"
				"  AND first_ts_ns = 9 AND last_ts_ns = 11 AND events = 2)"), 2);
	spans_hold(store_db(s));
	{
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_prepare_v2(store_db(s), files_sql, -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
				    "1:4:/a,3:4:/b,4:5:/c");
		sqlite3_finalize(st);
	}
	for (int i = 0; i < 10; i++)
		put(s, event(4 + i % 2, TS0 + i, i));
	assert_int_equal(store_flush(s), 0);
	spans_hold(store_db(s));
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM files WHERE session = 4"), 7);
	assert_int_equal(store_close(s), 0);
}

/* The reader's plan: a session's events are found through its spans, not
 * by reading every event (the point of the spans). */
static void test_session_events_plan(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	sqlite3_stmt *st = NULL;
	char plan[1024] = "";
	size_t used = 0;

	put(s, event(3, TS0, 0));
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(sqlite3_prepare_v2(store_db(s), "EXPLAIN QUERY PLAN SELECT count(*)"
					    " FROM files WHERE session = 3", -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && used < sizeof(plan) - 1) {
		int w = snprintf(plan + used, sizeof(plan) - used, "%s;",
				 (const char *)sqlite3_column_text(st, 3));

		if (w < 0)
			break;
		used += (size_t)w;
	}
	sqlite3_finalize(st);
	assert_non_null(strstr(plan, "SEARCH s USING PRIMARY KEY (session=?)"));
	assert_non_null(strstr(plan, "SEARCH e USING INTEGER PRIMARY KEY"));
	assert_null(strstr(plan, "SCAN e"));
	assert_int_equal(store_close(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_interleaved_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_events_plan, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
