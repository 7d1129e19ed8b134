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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sinks/store.h"
#include "sinks/store_int.h"
#include "sinks/store_sql.h"
#include "store_fixture.h"

#define TS0 1700000000000000000LL

static int setup(void **state)
{
	return fixture_setup(state, "trail.db");
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

/* Sessions in turn, a burst of events each, more sessions than the
 * writer's span slots: spans of several events are written early and
 * begun again in the same batch; some events without a time. */
static void test_interleaved_sessions(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	const int nsess = 10, burst = 5, n = 3000;

	for (int i = 0; i < n; i++)
		put(s, event(100 + (i / burst) % nsess, i % 7 == 0 ? -1 : TS0 + (n - i), i));
	assert_int_equal(store_flush(s), 0);
	spans_hold(store_db(s));
	for (int k = 0; k < nsess; k++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM files WHERE session = %d",
			 100 + k);
		assert_int_equal(int_of(store_db(s), sql), n / nsess);
	}
	/* spans of a whole burst, some with and without times among them */
	assert_int_equal(int_of(store_db(s), "SELECT max(events) FROM event_spans"), burst);
	assert_true(int_of(store_db(s), "SELECT count(*) FROM event_spans s WHERE events > 1"
			   " AND EXISTS(SELECT 1 FROM events e WHERE e.session = s.session"
			   " AND e.id BETWEEN s.first_id AND s.last_id AND e.ts_ns IS NULL)") > 0);
	assert_int_equal(store_close(s), 0);

	s = open_ro(f->db);
	spans_hold(store_db(s));
	assert_int_equal(store_close(s), 0);
}

/* A batch committed by the writer's clock, not by a flush, has its spans. */
static void test_batch_by_clock(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	sqlite3 *other = NULL;

	assert_int_equal(sqlite3_open_v2(f->db, &other, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int round = 1; round <= 2; round++) {
		for (int i = 0; i < 10; i++)
			put(s, event(1 + i % 2, TS0 + round * 100 + i, i));
		assert_int_equal(store_push(s), 0);
		/* committed within STORE_BATCH_MS with no flush asked */
		for (int tries = 0; int_of(other, "SELECT count(*) FROM events") < round * 10;
		     tries++) {
			assert_true(tries < 500);
			usleep(10000);
		}
		spans_hold(other);
	}
	assert_true(int_of(other, "SELECT count(*) FROM event_spans WHERE session = 1") >= 2);
	sqlite3_close(other);
	assert_int_equal(store_close(s), 0);
}

/* Writing a span fails (here a trigger refuses it): the batch is rolled
 * back with the events its spans were of, at the commit and when the
 * spans are written early; committed events and their spans stay. */
static void span_write_fails(void **state, bool early)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);

	for (int i = 0; i < 20; i++)
		put(s, event(1 + i % 2, TS0 + i, i));
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(sqlite3_exec(store_db(s), "CREATE TRIGGER no_666 BEFORE INSERT"
				      " ON event_spans WHEN NEW.session = 666"
				      " BEGIN SELECT RAISE(ABORT, 'refused'); END", NULL, NULL,
				      NULL), SQLITE_OK);
	/* early: 666 first, then enough other sessions to fill the slots */
	if (early)
		put(s, event(666, TS0 + 100, 100));
	for (int k = 0; k < STORE_SPAN_SLOTS; k++)
		put(s, event(10 + k, TS0 + 101 + k, 101 + k));
	if (!early)
		put(s, event(666, TS0 + 200, 200));
	assert_int_equal(store_flush(s), -1);
	assert_non_null(strstr(store_last_error(s), "refused"));
	assert_non_null(strstr(store_last_error(s), "lost"));
	assert_int_equal(store_close(s), 0);

	s = open_ro(f->db);
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM events"), 20);
	spans_hold(store_db(s));
	assert_int_equal(store_close(s), 0);
}

static void test_span_fails_at_commit(void **state)
{
	span_write_fails(state, false);
}

static void test_span_fails_early(void **state)
{
	span_write_fails(state, true);
}

/* Events a recorder of version 4 stored after the store was migrated
 * (it does not know of spans) get spans when a writer next opens it. */
static void test_tail_without_spans(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	sqlite3 *db = NULL;

	for (int i = 0; i < 6; i++)
		put(s, event(1, TS0 + i, i));
	assert_int_equal(store_close(s), 0);
	/* as that recorder's statement would */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO events(session, ts_ns, type, data) VALUES"
				      " (1, 50, 'open', '{}'), (2, 40, 'exec', '{}'),"
				      " (1, 60, 'exit', '{}')", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(int_of(db, "SELECT count(*) FROM session_events"), 6);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	s = open_rw(f->db);
	spans_hold(store_db(s));
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM session_events"), 9);
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM event_spans WHERE session = 2"
				" AND first_id = 8 AND last_id = 8 AND events = 1"), 1);
	assert_int_equal(store_close(s), 0);
}

/* A time that is not an integer is refused with its event alone. */
static void test_ts_not_integer(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	json_t *ev = event(1, -1, 0);

	assert_int_equal(json_object_set_new(ev, "ts_ns", json_real(1.5)), 0);
	assert_int_equal(store_put(s, ev), -1);
	assert_int_equal(store_usable(s), 1);
	assert_non_null(strstr(store_last_error(s), "ts_ns"));
	json_decref(ev);
	ev = event(1, -1, 1);
	assert_int_equal(json_object_set_new(ev, "ts_ns", json_null()), 0);
	put(s, ev);
	put(s, event(1, TS0, 2));
	assert_int_equal(store_flush(s), 0);
	spans_hold(store_db(s));
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM events"), 2);
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
				" WHERE key = 'schema_version'"), 6);
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
/* The steps of SQLite's plan for sql, joined by ';'. */
static void plan_of(sqlite3 *db, const char *sql, char *plan, size_t size)
{
	char q[256];
	sqlite3_stmt *st = NULL;
	size_t used = 0;

	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	plan[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW && used < size - 1) {
		int w = snprintf(plan + used, size - used, "%s;",
				 (const char *)sqlite3_column_text(st, 3));

		if (w < 0)
			break;
		used += (size_t)w;
	}
	sqlite3_finalize(st);
}

static void test_session_events_plan(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	char plan[1024];

	put(s, event(3, TS0, 0));
	assert_int_equal(store_flush(s), 0);
	plan_of(store_db(s), "SELECT count(*) FROM files WHERE session = 3", plan, sizeof(plan));
	assert_non_null(strstr(plan, "SEARCH s USING PRIMARY KEY (session=?)"));
	assert_non_null(strstr(plan, "SEARCH e USING INTEGER PRIMARY KEY"));
	assert_null(strstr(plan, "SCAN e"));
	/* every session: the spans in turn, never an index built over all events */
	plan_of(store_db(s), "SELECT count(*) FROM files", plan, sizeof(plan));
	assert_non_null(strstr(plan, "SEARCH e USING INTEGER PRIMARY KEY"));
	assert_null(strstr(plan, "AUTOMATIC"));
	assert_int_equal(store_close(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_interleaved_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_by_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span_fails_at_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span_fails_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_without_spans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ts_not_integer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_events_plan, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
