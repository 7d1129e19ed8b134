/* SPDX-License-Identifier: MIT */
/*
 * The store's writer yields to the session (store.h): SCHED_IDLE while its
 * queue is empty, raised back by a backlog, a flush and the close; not at
 * all when turned off, or when it could not be raised again (an
 * unprivileged process with RLIMIT_NICE 0), and then unprivileged with
 * RLIMIT_NICE 20 it yields and is raised.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <grp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sinks/store.h"
#include "store_fixture.h"

#define SID 9
#define NOBODY 65534
#define NO_RLIMIT 99   /* a child could not raise RLIMIT_NICE */

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

static void put_open(struct store *s, long long i)
{
	json_t *ev = json_pack("{s:s, s:I, s:i, s:i, s:i, s:I, s:s, s:s, s:s, s:i, s:n}",
			       "type", "open", "ts_ns", (json_int_t)(1700000000000000000LL + i),
			       "session", SID, "pid", 300, "tid", 300,
			       "start_ns", (json_int_t)777, "comm", "w", "path", "/etc/hosts",
			       "access", "read", "ret", 3, "errno");

	assert_non_null(ev);
	if (store_put(s, ev) != 0)
		fail_msg("store_put: %s", store_last_error(s));
	json_decref(ev);
}

static struct store_writer_sched sched_of(struct store *s)
{
	struct store_writer_sched w;

	store_writer_sched(s, &w);
	return w;
}

/* Wait (for a condition, never a time: up to ten seconds) until the
 * writer's policy is want; the policy seen last. */
static int wait_policy(struct store *s, int want)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int seen = -1;

	for (int i = 0; i < 1000; i++) {
		seen = sched_of(s).policy;
		if (seen == want)
			break;
		nanosleep(&nap, NULL);
	}
	return seen;
}

static long long count_events(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ------------------------------------------------------------------------ */

/* Idle: SCHED_IDLE. A flush raises it (once), and it yields again after. */
static void test_yields_and_flush_raises(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);

	assert_int_equal(wait_policy(s, SCHED_IDLE), SCHED_IDLE);
	assert_int_equal(sched_of(s).yields, 1);
	assert_int_equal(sched_of(s).raises, 0);
	for (int i = 0; i < 10; i++)
		put_open(s, i);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(sched_of(s).raises, 1);
	assert_int_equal(count_events(f->db), 10);
	assert_int_equal(wait_policy(s, SCHED_IDLE), SCHED_IDLE);
	/* nothing to wait for: no raise */
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(sched_of(s).raises, 1);
	assert_int_equal(store_close(s), 0);
}

/* A handful below the backlog leaves it yielding; the same handful above
 * a (test-sized) backlog raises it, before any flush. */
static void test_backlog_raises(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);

	assert_int_equal(wait_policy(s, SCHED_IDLE), SCHED_IDLE);
	for (int i = 0; i < STORE_PUSH_ROWS; i++)
		put_open(s, i);
	assert_int_equal(store_push(s), 0);
	assert_int_equal(sched_of(s).raises, 0);

	assert_int_equal(wait_policy(s, SCHED_IDLE), SCHED_IDLE);
	store_set_yield(s, 1, 1);   /* any row is a backlog now */
	for (int i = 0; i < STORE_PUSH_ROWS; i++)
		put_open(s, STORE_PUSH_ROWS + i);
	assert_int_equal(store_push(s), 0);
	assert_int_equal(sched_of(s).raises, 1);
	/* the writer drains the queue and yields again, by itself */
	assert_int_equal(wait_policy(s, SCHED_IDLE), SCHED_IDLE);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(count_events(f->db), 2 * STORE_PUSH_ROWS);
}

/* Turned off: raised at once and never lowered again. */
static void test_yield_off(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);
	struct timespec nap = { 0, 50 * 1000 * 1000 };

	assert_int_equal(wait_policy(s, SCHED_IDLE), SCHED_IDLE);
	store_set_yield(s, 0, 0);
	assert_int_equal(sched_of(s).policy, SCHED_OTHER);
	assert_int_equal(sched_of(s).yields, 0);
	for (int i = 0; i < 3 * STORE_PUSH_ROWS; i++)
		put_open(s, i);
	assert_int_equal(store_flush(s), 0);
	for (int i = 0; i < 3 * STORE_BATCH_MS / 50; i++)   /* its queue is empty long since */
		nanosleep(&nap, NULL);
	assert_int_equal(sched_of(s).policy, SCHED_OTHER);
	assert_int_equal(store_close(s), 0);
}

/*
 * In a child that is nobody with RLIMIT_NICE nice_limit: with 0 it could
 * not leave SCHED_IDLE again, so it must never enter it; with 20 it may,
 * and a flush raises it. Exit status: 0 when as expected, else the step.
 */
static int as_nobody(const char *db, rlim_t nice_limit)
{
	struct rlimit rl = { nice_limit, nice_limit };
	struct store *s = NULL;
	char err[512];
	int want = nice_limit ? SCHED_IDLE : SCHED_OTHER;

	if (setrlimit(RLIMIT_NICE, &rl))
		return errno == EPERM ? NO_RLIMIT : 9;
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return 10;
	if (store_open(db, &s, err, sizeof(err)) != 0)
		return 11;
	if (wait_policy(s, want) != want)
		return 12;
	if (sched_of(s).yields != (nice_limit ? 1 : 0))
		return 13;
	put_open(s, 1);
	if (store_flush(s) != 0)
		return 14;
	if (sched_of(s).raises != (nice_limit ? 1u : 0u))
		return 15;
	if (wait_policy(s, want) != want)
		return 16;
	return store_close(s) ? 17 : 0;
}

static void test_unprivileged(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip();   /* cmocka reports it as skipped: needs root to become nobody */
	assert_int_equal(chmod(f->dir, 0777), 0);
	for (rlim_t lim = 0; lim <= 20; lim += 20) {
		int status = 0;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			_exit(as_nobody(f->db, lim));
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == NO_RLIMIT) {
			/* raising a hard limit needs CAP_SYS_RESOURCE */
			fprintf(stderr, "NOT RUN: RLIMIT_NICE %lu: this root cannot raise "
				"RLIMIT_NICE (no CAP_SYS_RESOURCE)\n", (unsigned long)lim);
			continue;
		}
		if (WEXITSTATUS(status) != 0)
			fail_msg("RLIMIT_NICE %lu: step %d failed", (unsigned long)lim,
				 WEXITSTATUS(status));
		assert_int_equal(count_events(f->db), lim ? 2 : 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_yields_and_flush_raises, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_raises, setup, teardown),
		cmocka_unit_test_setup_teardown(test_yield_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
