/* SPDX-License-Identifier: MIT */
/*
 * How the store's writer shares the CPU (store_int.h): it runs in the idle
 * class, is raised when it falls behind, for a flush and while put() has to
 * wait for it, and goes back down when it has caught up; put() never waits
 * for a lock the writer holds, and what it held back is handed over by the
 * next call. Where the process could not raise it again, it is never
 * lowered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "sinks/store.h"
#include "sinks/store_int.h"
#include "store_fixture.h"

/* Polls wait for a condition, at most this many times one millisecond:
 * never a time that a slow machine could miss. */
#define POLLS 20000

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

static int put_event(struct store *s, long long i)
{
	json_t *ev = json_pack("{s:s, s:I, s:i, s:i, s:i, s:I, s:s, s:s, s:s, s:i}",
			       "type", "open", "ts_ns", (json_int_t)(1700000000000000000LL + i),
			       "session", 5, "pid", 400, "tid", 400, "start_ns", (json_int_t)99,
			       "comm", "t", "path", "/etc/hosts", "access", "read", "ret", 3);
	int rc;

	assert_non_null(ev);
	rc = store_put(s, ev);
	json_decref(ev);
	return rc;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int writer_policy(struct store *s)
{
	struct sched_param sp;
	int policy = -1;

	assert_int_equal(pthread_getschedparam(s->writer, &policy, &sp), 0);
	return policy;
}

/* Under mu: read one of the shared flags. */
static bool writer_low(struct store *s)
{
	bool low;

	pthread_mutex_lock(&s->mu);
	low = s->writer_low;
	pthread_mutex_unlock(&s->mu);
	return low;
}

static void wait_low(struct store *s)
{
	for (int i = 0; i < POLLS && !writer_low(s); i++)
		nap_ms(1);
	assert_true(writer_low(s));
	assert_int_equal(writer_policy(s), SCHED_IDLE);
}

static bool privileged(void)
{
	if (geteuid() != 0) {
		print_message("skipped: the writer is lowered only where it can be raised again"
			      " (root here)\n");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------------ */

/* The writer goes to the idle class; a flush raises it, and once it has
 * caught up it goes back down. Nothing is lost on the way. */
static void test_flush_raises_then_settles(void **state)
{
	struct fixture *f = *state;
	struct store *s;
	unsigned long boosts;

	if (!privileged())
		return;
	s = open_rw(f->db);
	wait_low(s);
	for (long long i = 0; i < 3000; i++)
		assert_int_equal(put_event(s, i), 0);
	assert_int_equal(store_flush(s), 0);
	pthread_mutex_lock(&s->mu);
	boosts = s->boosts;
	pthread_mutex_unlock(&s->mu);
	assert_true(boosts >= 1);
	assert_int_equal(count_events(f->db), 3000);
	wait_low(s);
	assert_int_equal(store_close(s), 0);
}

/* While the lock is taken, put() holds its rows back and returns at once;
 * store_tick() hands them over. */
static void test_held_then_ticked(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);

	/* the owner's trylock fails like anyone's (a default mutex) */
	pthread_mutex_lock(&s->mu);
	for (long long i = 0; i < 3; i++)
		assert_int_equal(put_event(s, i), 0);
	assert_int_equal(s->held_rows, 3);
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(store_tick(s), 0);
	assert_int_equal(s->held_rows, 0);
	assert_int_equal(s->put_seq, 3);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(count_events(f->db), 3);
	assert_int_equal(store_close(s), 0);
}

/* Rows held back at close are stored too. */
static void test_held_at_close(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_rw(f->db);

	pthread_mutex_lock(&s->mu);
	assert_int_equal(put_event(s, 1), 0);
	assert_int_equal(put_event(s, 2), 0);
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(count_events(f->db), 2);
}

struct holder {
	struct store *s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool locked;
	bool saw_raise;
};

/* Takes the queue's lock like a writer preempted with it, and lets go only
 * once the writer has been raised: the put that waits must raise it first. */
static void *hold_lock(void *arg)
{
	struct holder *h = arg;

	pthread_mutex_lock(&h->s->mu);
	pthread_mutex_lock(&h->mu);
	h->locked = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	for (int i = 0; i < POLLS && !h->saw_raise; i++) {
		struct sched_param sp;
		int policy = -1;

		if (pthread_getschedparam(h->s->writer, &policy, &sp) == 0 && policy == SCHED_OTHER)
			h->saw_raise = true;
		else
			nap_ms(1);
	}
	pthread_mutex_unlock(&h->s->mu);
	return NULL;
}

static void test_too_many_held_raises(void **state)
{
	struct fixture *f = *state;
	struct holder h = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	pthread_t t;

	if (!privileged())
		return;
	h.s = open_rw(f->db);
	wait_low(h.s);
	assert_int_equal(pthread_create(&t, NULL, hold_lock, &h), 0);
	pthread_mutex_lock(&h.mu);
	while (!h.locked)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	for (long long i = 0; i < STORE_HELD_ROWS; i++)
		assert_int_equal(put_event(h.s, i), 0);
	assert_int_equal(h.s->held_rows, STORE_HELD_ROWS);
	/* one more: raises the writer, then waits for the lock */
	assert_int_equal(put_event(h.s, STORE_HELD_ROWS), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(h.saw_raise);
	assert_int_equal(h.s->held_rows, 0);
	assert_int_equal(store_flush(h.s), 0);
	assert_int_equal(count_events(f->db), STORE_HELD_ROWS + 1);
	assert_int_equal(store_close(h.s), 0);
}

/* When is the writer behind? The rules of store_int.h, on a made-up state. */
static void test_behind_rules(void **state)
{
	struct store *s = calloc(1, sizeof(*s));
	struct row r = { 0 };

	(void)state;
	assert_non_null(s);
	assert_false(store_writer_behind(s, 5000));
	/* a queued row younger than the bound, then as old as it */
	s->head = &r;
	s->head_ms = 4000;
	assert_false(store_writer_behind(s, 4000 + STORE_BOOST_MS - 1));
	assert_true(store_writer_behind(s, 4000 + STORE_BOOST_MS));
	s->head = NULL;
	assert_false(store_writer_behind(s, 4000 + STORE_BOOST_MS));
	/* bytes queued, however young */
	s->queued_bytes = STORE_BOOST_BYTES - 1;
	assert_false(store_writer_behind(s, 0));
	s->queued_bytes = STORE_BOOST_BYTES;
	assert_true(store_writer_behind(s, 0));
	s->queued_bytes = 0;
	/* a pass over a taken list that goes on too long */
	s->writing = true;
	s->pass_ms = 100;
	assert_false(store_writer_behind(s, 100 + STORE_BOOST_MS - 1));
	assert_true(store_writer_behind(s, 100 + STORE_BOOST_MS));
	s->writing = false;
	assert_false(store_writer_behind(s, 100 + STORE_BOOST_MS));
	free(s);
}

/* Without CAP_SYS_NICE and with RLIMIT_NICE 0, a writer lowered to the idle
 * class could never be raised again: it stays in the normal class, and
 * stores everything. In a child, which gives up the capability. */
static int child_without_nice(const char *db)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	struct rlimit rl = { 0, 0 };
	char err[512];
	struct store *s = NULL;
	bool low_ok, low;

	if (syscall(SYS_capget, &hdr, data) != 0)
		return 10;
	data[CAP_TO_INDEX(CAP_SYS_NICE)].effective &= ~CAP_TO_MASK(CAP_SYS_NICE);
	if (syscall(SYS_capset, &hdr, data) != 0 || setrlimit(RLIMIT_NICE, &rl) != 0)
		return 11;
	if (store_open(db, &s, err, sizeof(err)) != 0)
		return 12;
	for (long long i = 0; i < 100; i++)
		if (put_event(s, i) != 0)
			return 13;
	/* after a commit, the writer has made its choice at start */
	if (store_flush(s) != 0)
		return 14;
	pthread_mutex_lock(&s->mu);
	low_ok = s->low_ok;
	low = s->writer_low;
	pthread_mutex_unlock(&s->mu);
	if (low_ok || low)
		return 15;
	if (writer_policy(s) != SCHED_OTHER)
		return 16;
	if (store_close(s) != 0)
		return 17;
	return 0;
}

static void test_not_lowered_without_nice(void **state)
{
	struct fixture *f = *state;
	int status = 0;
	pid_t pid;

	if (!privileged())
		return;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_without_nice(f->db));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_events(f->db), 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flush_raises_then_settles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_then_ticked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_held_raises, setup, teardown),
		cmocka_unit_test(test_behind_rules),
		cmocka_unit_test_setup_teardown(test_not_lowered_without_nice, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
