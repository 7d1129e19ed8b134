/* SPDX-License-Identifier: MIT */
/*
 * Rows into `events` by STORE_EVENT_GROUP in one statement (store_write.c,
 * put_group): every derived row names the event it came from, ids follow
 * the order of the puts, spans hold; an event or a derived row refused in
 * the middle of a group rolls its batch back with an exact count of what
 * was lost; and ids that do not follow each other (here a trigger that
 * inserts into `events` too) are an error, not rows filed under the wrong
 * event. And the rows' links for the writer's prefetch stay within their
 * handful.
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

#define SID 5
#define TS0 1700000000000000000LL
#define N 2000

static int setup(void **state)
{
	return fixture_setup(state, "trail.db");
}

/*
 * Event i of a mix: mostly opens (events only), every 7th a connect (a
 * row in connections), every 11th a dns answer (a row in dns), every 13th
 * an exec (a process row); each carries i as its time and its own marker.
 */
static json_t *event(int i)
{
	char path[32];
	json_t *ev;

	snprintf(path, sizeof(path), "/g/%d", i);
	if (i % 7 == 3)
		ev = json_pack("{s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:i}", "type", "connect",
			       "family", 2, "sotype", "stream", "daddr", "10.0.0.1", "domain",
			       "x", "dport", 443, "ret", 0, "sock", 1000 + i);
	else if (i % 11 == 5)
		ev = json_pack("{s:s, s:b, s:s, s:i, s:i}", "type", "dns", "response", 1,
			       "qname", path, "qtype", 1, "rcode", 0);
	else if (i % 13 == 1)
		ev = json_pack("{s:s, s:s, s:[s], s:s}", "type", "exec", "exe", path,
			       "argv", path, "cwd", "/");
	else
		ev = json_pack("{s:s, s:s, s:s, s:i}", "type", "open", "path", path, "access",
			       "read", "ret", 3);
	assert_non_null(ev);
	assert_int_equal(json_object_set_new(ev, "ts_ns", json_integer(TS0 + i)), 0);
	assert_int_equal(json_object_set_new(ev, "session", json_integer(SID)), 0);
	assert_int_equal(json_object_set_new(ev, "pid", json_integer(100 + i % 13)), 0);
	assert_int_equal(json_object_set_new(ev, "tid", json_integer(100 + i % 13)), 0);
	assert_int_equal(json_object_set_new(ev, "start_ns", json_integer(7000 + i % 13)), 0);
	assert_int_equal(json_object_set_new(ev, "comm", json_string("g")), 0);
	return ev;
}

/* Put events from..to-1; returns how many were accepted before a put
 * failed (to - from when none did). */
static int put_range(struct store *s, int from, int to)
{
	for (int i = from; i < to; i++) {
		json_t *ev = event(i);
		int rc = store_put(s, ev);

		json_decref(ev);
		if (rc != 0)
			return i - from;
	}
	return to - from;
}

/* Every stored event is where its time says, every derived row names its
 * own event, every event in one span. Rows of type x are a trigger's, made
 * alongside an event stored alone (test_ids_skip): not ours to check. */
static void rows_hold(sqlite3 *db)
{
	/* ids in the order of the puts */
	assert_int_equal(int_of(db, "SELECT count(*) FROM events a JOIN events b"
				" ON b.id = (SELECT min(id) FROM events WHERE id > a.id"
				"  AND type <> 'x')"
				" WHERE a.type <> 'x' AND b.ts_ns <= a.ts_ns"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM connections c LEFT JOIN events e"
				" ON e.id = c.event_id WHERE e.type IS NOT 'connect'"
				" OR json_extract(e.data, '$.sock') IS NOT c.sock"
				" OR e.ts_ns IS NOT c.ts_ns"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM dns d LEFT JOIN events e"
				" ON e.id = d.event_id WHERE e.type IS NOT 'dns'"
				" OR json_extract(e.data, '$.qname') IS NOT d.qname"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM events WHERE type = 'connect'"),
			 int_of(db, "SELECT count(*) FROM connections"));
	assert_int_equal(int_of(db, "SELECT count(*) FROM events WHERE type = 'dns'"),
			 int_of(db, "SELECT count(*) FROM dns"));
	assert_int_equal(int_of(db, "SELECT count(*) FROM events e WHERE type <> 'x'"
				" AND (SELECT count(*) FROM event_spans s"
				"  WHERE s.session = e.session"
				"  AND e.id BETWEEN s.first_id AND s.last_id) <> 1"), 0);
	assert_int_equal(int_of(db, "SELECT coalesce(sum(events), 0) FROM event_spans"),
			 int_of(db, "SELECT count(*) FROM events WHERE type <> 'x'"));
}

/* Thousands of events put without a pause: most go by groups, some one
 * by one, and all rows hold. */
static void test_groups_hold(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	unsigned long grouped;

	assert_int_equal(put_range(s, 0, N), N);
	assert_int_equal(store_flush(s), 0);
	grouped = s->grouped;   /* the flush waited for the writer's commit */
	assert_true(grouped >= N / 2);
	assert_true(grouped < N);
	assert_int_equal(grouped % STORE_EVENT_GROUP, 0);
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM events"), N);
	rows_hold(store_db(s));
	assert_int_equal(store_close(s), 0);
}

/*
 * Held rows point ROW_AHEAD puts ahead (store_int.h, row_prefetch), within
 * their handful only: the rows of a handful handed over are the writer's,
 * and no later put may write into them.
 */
static void test_ahead_within_handful(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	const int tail = ROW_AHEAD + 3;   /* puts after the first handful */
	struct row *r, *held[STORE_PUSH_ROWS];
	int n = 0;

	assert_int_equal(put_range(s, 0, STORE_PUSH_ROWS - 1), STORE_PUSH_ROWS - 1);
	for (r = s->held_head; r && n < STORE_PUSH_ROWS; r = r->next)
		held[n++] = r;
	assert_int_equal(n, STORE_PUSH_ROWS - 1);
	for (int i = 0; i < n; i++)
		assert_ptr_equal(held[i]->ahead, i + ROW_AHEAD < n ? held[i + ROW_AHEAD] : NULL);

	/* the handful's last put hands it over; the next ones start anew */
	assert_int_equal(put_range(s, STORE_PUSH_ROWS - 1, STORE_PUSH_ROWS + tail),
			 tail + 1);
	n = 0;
	for (r = s->held_head; r && n < STORE_PUSH_ROWS; r = r->next)
		held[n++] = r;
	assert_int_equal(n, tail);
	for (int i = 0; i < n; i++)
		assert_ptr_equal(held[i]->ahead, i + ROW_AHEAD < n ? held[i + ROW_AHEAD] : NULL);

	assert_int_equal(store_flush(s), 0);
	assert_int_equal(int_of(store_db(s), "SELECT count(*) FROM events"),
			 STORE_PUSH_ROWS + tail);
	rows_hold(store_db(s));
	assert_int_equal(store_close(s), 0);
}

/*
 * A trigger refuses some rows (of `events` or of a derived table) or
 * makes ids skip (it inserts into `events` itself) from event `from` on.
 * The put or flush that finds it fails with why and what was lost; every
 * event accepted is stored or counted as lost; what is stored holds.
 */
static void refused_in_group(void **state, const char *trigger, const char *why)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	long long accepted = 300, stored, lost = 0;
	char msg[1024];
	const char *p;
	int n;

	assert_int_equal(put_range(s, 0, 300), 300);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(sqlite3_exec(store_db(s), trigger, NULL, NULL, NULL), SQLITE_OK);
	n = put_range(s, 300, N);
	accepted += n;
	if (n == N - 300)
		assert_int_equal(store_flush(s), -1);
	snprintf(msg, sizeof(msg), "%s", store_last_error(s));
	if (!strstr(msg, why))
		fail_msg("no \"%s\" in: %s", why, msg);
	/* "; the N uncommitted event(s)" and "; N more event(s)" */
	for (p = msg; (p = strstr(p, "; ")) != NULL;) {
		char *end;
		long long k;

		p += 2;
		if (strncmp(p, "the ", 4) == 0)
			p += 4;
		k = strtoll(p, &end, 10);
		if (end != p && (strncmp(end, " uncommitted event", 18) == 0 ||
				 strncmp(end, " more event", 11) == 0))
			lost += k;
	}
	assert_true(lost > 0);
	assert_true(s->grouped > 0);
	assert_int_equal(store_close(s), 0);

	s = open_ro(f->db);
	stored = int_of(store_db(s), "SELECT count(*) FROM events WHERE type <> 'x'");
	if (lost != accepted - stored)
		fail_msg("accepted %lld, stored %lld, reported lost %lld: %s", accepted, stored,
			 lost, msg);
	assert_true(stored >= 300);
	rows_hold(store_db(s));
	assert_int_equal(store_close(s), 0);
}

/* Events with a path ending in 7, from 1000 on: refused. Some are in a
 * group, some alone; the first of them fails the batch. */
static void test_event_refused(void **state)
{
	refused_in_group(state, "CREATE TRIGGER no_7 BEFORE INSERT ON events"
			 " WHEN NEW.ts_ns >= 1700000000000001000 AND NEW.ts_ns % 10 = 7"
			 " BEGIN SELECT RAISE(ABORT, 'refused'); END", "refused");
}

/* A derived row refused: a connection from 1000 on. */
static void test_derived_refused(void **state)
{
	refused_in_group(state, "CREATE TRIGGER no_conn BEFORE INSERT ON connections"
			 " WHEN NEW.sock >= 2000 BEGIN SELECT RAISE(ABORT, 'refused'); END",
			 "refused");
}

/* From 1000 on, every event inserts another: a group's ids are not the
 * ones after the last, which the writer finds; the batch is rolled back.
 * (An event stored alone keeps the id SQLite tells, the trigger's row
 * aside: that is right, and may be committed before a group comes.) */
static void test_ids_skip(void **state)
{
	refused_in_group(state, "CREATE TRIGGER twice AFTER INSERT ON events"
			 " WHEN NEW.type <> 'x' AND NEW.ts_ns >= 1700000000000001000"
			 " BEGIN INSERT INTO events(session, type, data) VALUES(99, 'x', '{}'); END",
			 "internal: events took ids");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_groups_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ahead_within_handful, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_derived_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_skip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
