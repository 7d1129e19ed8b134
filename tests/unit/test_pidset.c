/* SPDX-License-Identifier: MIT */
/*
 * Tests for the pid -> session set (src/model/pidset.c) and the cgroup
 * helpers that need no privileges (src/capture/cgroup.c): the container id
 * found in a cgroup path and the cgroup2 mount point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/cgroup.h"
#include "model/pidset.h"

/* ---- pidset ---------------------------------------------------------------- */

/* The set's own invariants, checked after every step of the bigger tests. */
static void check_invariants(const struct pidset *s)
{
	size_t live = 0, filled = 0;

	assert_true(s->cap >= 2 && (s->cap & (s->cap - 1)) == 0);
	for (size_t i = 0; i < s->cap; i++) {
		if (s->keys[i] != 0)
			filled++;
		if (s->keys[i] != 0 && s->keys[i] != UINT32_MAX)
			live++;
	}
	assert_int_equal(live, s->used);
	assert_int_equal(filled, s->filled);
	/* at most half full, so that every probe ends at an empty slot */
	assert_true(s->filled * 2 <= s->cap);
}

static void test_put_get_del(void **state)
{
	struct pidset s;
	uint64_t sess = 0;

	(void)state;
	assert_int_equal(pidset_init(&s), 0);
	assert_int_equal(s.used, 0);
	assert_int_equal(pidset_get(&s, 100, &sess), 0);

	assert_int_equal(pidset_put(&s, 100, 7), 0);
	assert_int_equal(pidset_put(&s, 200, 8), 0);
	assert_int_equal(pidset_get(&s, 100, &sess), 1);
	assert_int_equal(sess, 7);
	assert_int_equal(pidset_get(&s, 200, &sess), 1);
	assert_int_equal(sess, 8);
	assert_int_equal(pidset_get(&s, 100, NULL), 1);
	assert_int_equal(s.used, 2);

	/* put of a present pid replaces its session */
	assert_int_equal(pidset_put(&s, 100, 9), 0);
	assert_int_equal(pidset_get(&s, 100, &sess), 1);
	assert_int_equal(sess, 9);
	assert_int_equal(s.used, 2);

	pidset_del(&s, 100);
	assert_int_equal(pidset_get(&s, 100, &sess), 0);
	assert_int_equal(pidset_get(&s, 200, &sess), 1);
	assert_int_equal(s.used, 1);
	/* deleting again, or a pid never there, changes nothing */
	pidset_del(&s, 100);
	pidset_del(&s, 12345);
	assert_int_equal(s.used, 1);

	/* the two reserved keys are refused and never found */
	assert_int_equal(pidset_put(&s, 0, 1), -1);
	assert_int_equal(pidset_put(&s, UINT32_MAX, 1), -1);
	assert_int_equal(pidset_get(&s, 0, &sess), 0);
	assert_int_equal(pidset_get(&s, UINT32_MAX, &sess), 0);
	pidset_del(&s, 0);
	pidset_del(&s, UINT32_MAX);
	assert_int_equal(s.used, 1);

	/* the largest real key */
	assert_int_equal(pidset_put(&s, UINT32_MAX - 1, 5), 0);
	assert_int_equal(pidset_get(&s, UINT32_MAX - 1, &sess), 1);
	assert_int_equal(sess, 5);
	check_invariants(&s);

	pidset_free(&s);
	assert_null(s.keys);
	assert_int_equal(s.cap, 0);
	/* a freed set is empty, and freeing twice is harmless */
	assert_int_equal(pidset_get(&s, 200, &sess), 0);
	pidset_free(&s);
}

static void test_growth_past_10k(void **state)
{
	const uint32_t n = 25000;
	struct pidset s;
	uint64_t sess;

	(void)state;
	assert_int_equal(pidset_init(&s), 0);
	for (uint32_t pid = 1; pid <= n; pid++) {
		assert_int_equal(pidset_put(&s, pid, pid % 7), 0);
		assert_int_equal(s.used, pid);
	}
	check_invariants(&s);
	assert_true(s.cap >= 2 * (size_t)n);
	for (uint32_t pid = 1; pid <= n; pid++) {
		assert_int_equal(pidset_get(&s, pid, &sess), 1);
		assert_int_equal(sess, pid % 7);
	}
	assert_int_equal(pidset_get(&s, n + 1, &sess), 0);

	/* delete the even ones; the odd ones stay reachable */
	for (uint32_t pid = 2; pid <= n; pid += 2)
		pidset_del(&s, pid);
	assert_int_equal(s.used, (n + 1) / 2);
	check_invariants(&s);
	for (uint32_t pid = 1; pid <= n; pid++)
		assert_int_equal(pidset_get(&s, pid, NULL), pid % 2);

	/* large, sparse pids (the kernel's pid_max is up to 4M) */
	for (uint32_t i = 0; i < 12000; i++)
		assert_int_equal(pidset_put(&s, 4000000 + i * 331, 99), 0);
	check_invariants(&s);
	for (uint32_t i = 0; i < 12000; i++) {
		assert_int_equal(pidset_get(&s, 4000000 + i * 331, &sess), 1);
		assert_int_equal(sess, 99);
	}
	assert_int_equal(pidset_count_session(&s, 99), 12000);
	pidset_free(&s);
}

/* A pid other than pid whose home slot is the same in a table of cap. */
static uint32_t colliding_pid(uint32_t pid, size_t cap)
{
	uint32_t home = (pid * 2654435761u) & (uint32_t)(cap - 1);

	for (uint32_t q = pid + 1; q != 0; q++)
		if (((q * 2654435761u) & (uint32_t)(cap - 1)) == home && q != UINT32_MAX)
			return q;
	fail_msg("no colliding pid");
	return 0;
}

static void test_tombstones(void **state)
{
	struct pidset s;
	uint32_t p = 1000, q, r;
	uint64_t sess;
	size_t filled;

	(void)state;
	assert_int_equal(pidset_init(&s), 0);
	q = colliding_pid(p, s.cap);
	r = colliding_pid(q, s.cap);

	/* p, q, r share a probe run */
	assert_int_equal(pidset_put(&s, p, 1), 0);
	assert_int_equal(pidset_put(&s, q, 2), 0);
	assert_int_equal(pidset_put(&s, r, 3), 0);
	filled = s.filled;

	/* a tombstone in the middle of the run does not hide what is after it */
	pidset_del(&s, q);
	assert_int_equal(pidset_get(&s, r, &sess), 1);
	assert_int_equal(sess, 3);
	assert_int_equal(pidset_get(&s, p, &sess), 1);
	assert_int_equal(s.filled, filled);

	/* putting r again (it is after the tombstone) updates it in place: no
	 * duplicate in the tombstone */
	assert_int_equal(pidset_put(&s, r, 30), 0);
	assert_int_equal(s.used, 2);
	pidset_del(&s, r);
	assert_int_equal(pidset_get(&s, r, &sess), 0);
	assert_int_equal(s.used, 1);
	check_invariants(&s);

	/* a new pid reuses the tombstone: filled does not grow */
	filled = s.filled;
	assert_int_equal(pidset_put(&s, q, 4), 0);
	assert_int_equal(s.filled, filled);
	assert_int_equal(pidset_get(&s, q, &sess), 1);
	assert_int_equal(sess, 4);
	check_invariants(&s);

	/* churn: many short-lived pids never make the table grow without bound */
	for (uint32_t i = 0; i < 200000; i++) {
		uint32_t pid = 50000 + i;

		assert_int_equal(pidset_put(&s, pid, 5), 0);
		if (i >= 8)
			pidset_del(&s, pid - 8);
	}
	check_invariants(&s);
	assert_int_equal(s.used, 2 + 8);
	assert_true(s.cap <= 1024);
	assert_int_equal(pidset_get(&s, p, &sess), 1);
	assert_int_equal(sess, 1);
	assert_int_equal(pidset_get(&s, q, &sess), 1);
	assert_int_equal(sess, 4);
	for (uint32_t i = 200000 - 8; i < 200000; i++)
		assert_int_equal(pidset_get(&s, 50000 + i, NULL), 1);
	assert_int_equal(pidset_get(&s, 50000 + 200000 - 9, NULL), 0);
	pidset_free(&s);
}

static void test_count_session(void **state)
{
	struct pidset s;

	(void)state;
	assert_int_equal(pidset_init(&s), 0);
	assert_int_equal(pidset_count_session(&s, 1), 0);
	for (uint32_t pid = 1; pid <= 300; pid++)
		assert_int_equal(pidset_put(&s, pid, pid <= 100 ? 1 : pid <= 250 ? 2 : 3), 0);
	assert_int_equal(pidset_count_session(&s, 1), 100);
	assert_int_equal(pidset_count_session(&s, 2), 150);
	assert_int_equal(pidset_count_session(&s, 3), 50);
	assert_int_equal(pidset_count_session(&s, 4), 0);

	/* moving and deleting change the counts */
	for (uint32_t pid = 1; pid <= 10; pid++)
		assert_int_equal(pidset_put(&s, pid, 3), 0);
	for (uint32_t pid = 101; pid <= 150; pid++)
		pidset_del(&s, pid);
	assert_int_equal(pidset_count_session(&s, 1), 90);
	assert_int_equal(pidset_count_session(&s, 2), 100);
	assert_int_equal(pidset_count_session(&s, 3), 60);
	/* session 0 is a value like any other */
	assert_int_equal(pidset_put(&s, 999, 0), 0);
	assert_int_equal(pidset_count_session(&s, 0), 1);
	pidset_free(&s);
}

static void test_iteration(void **state)
{
	const uint32_t n = 12000;
	struct pidset s;
	uint8_t *seen = calloc(n + 1, 1);
	size_t it = 0, visited = 0;
	uint32_t pid;
	uint64_t sess;

	(void)state;
	assert_non_null(seen);
	assert_int_equal(pidset_init(&s), 0);

	/* empty set */
	assert_int_equal(pidset_next(&s, &it, &pid, &sess), 0);

	for (uint32_t p = 1; p <= n; p++)
		assert_int_equal(pidset_put(&s, p, (uint64_t)p * 3), 0);
	for (uint32_t p = 3; p <= n; p += 3)
		pidset_del(&s, p);
	/* some tombstones reused */
	for (uint32_t p = 3; p <= 300; p += 3)
		assert_int_equal(pidset_put(&s, p, (uint64_t)p * 3), 0);

	for (it = 0; pidset_next(&s, &it, &pid, &sess);) {
		assert_true(pid >= 1 && pid <= n);
		assert_int_equal(seen[pid], 0); /* once */
		seen[pid] = 1;
		assert_int_equal(sess, (uint64_t)pid * 3);
		visited++;
	}
	assert_int_equal(visited, s.used);
	for (uint32_t p = 1; p <= n; p++) {
		bool live = p % 3 != 0 || p <= 300;

		if (seen[p] != live)
			fail_msg("pid %u: seen %d, live %d", p, seen[p], live);
	}
	/* the iterator stays at the end */
	assert_int_equal(pidset_next(&s, &it, &pid, &sess), 0);
	pidset_free(&s);
	free(seen);
}

/* ---- container ids ----------------------------------------------------------- */

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H63 "123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void test_container_id(void **state)
{
	static const struct {
		const char *path;
		const char *want; /* NULL: no id */
	} cases[] = {
		/* docker, systemd driver */
		{ "/system.slice/docker-" H64 ".scope", H64 },
		/* docker, cgroupfs driver */
		{ "/docker/" H64, H64 },
		/* containerd / kubernetes, cgroupfs driver */
		{ "/kubepods/besteffort/pod3c3a1d52-4a1f-4b7e-9b7f-2b0c7d3a8e11/" H64, H64 },
		{ "/kubepods/burstable/podabc/" H64 "/sub", H64 },
		/* kubernetes, systemd driver, containerd */
		{ "/kubepods.slice/kubepods-besteffort.slice/"
		  "kubepods-besteffort-pod3c3a1d52_4a1f.slice/cri-containerd-" H64 ".scope", H64 },
		/* cri-o */
		{ "/kubepods.slice/kubepods-pod1.slice/crio-" H64 ".scope", H64 },
		/* podman */
		{ "/machine.slice/libpod-" H64 ".scope", H64 },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" H64 ".scope/container",
		  H64 },
		/* containerd namespaced form: "ns:id" */
		{ "/k8s.io:" H64, H64 },
		/* at the very start */
		{ H64, H64 },
		/* the first of two */
		{ "/docker/" H64 "/docker/" H64B, H64 },
		/* no id */
		{ "/", NULL },
		{ "", NULL },
		{ "/user.slice/user-1000.slice/session-3.scope", NULL },
		{ "/system.slice/ssh.service", NULL },
		{ "/agenttrail/session-12345678901234567890", NULL },
		/* 63 and 65 hex characters */
		{ "/system.slice/docker-" H63 ".scope", NULL },
		{ "/system.slice/docker-" H64 "a.scope", NULL },
		{ "/docker/" H63, NULL },
		{ "/docker/" H64 "0", NULL },
		/* upper case is not an id */
		{ "/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
		  ".scope", NULL },
		{ "/docker/" H63 "A", NULL },
		/* not at a boundary: preceded by a letter or a dot */
		{ "/system.slice/dockerx" H64 ".scope", NULL },
		{ "/x." H64, NULL },
		/* 128 hex characters: one run, not two ids */
		{ "/docker/" H64 H64B, NULL },
		/* non-hex inside */
		{ "/docker/0123456789abcdef0123456789abcdeg0123456789abcdef0123456789abcdef", NULL },
	};
	char buf[65];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		memset(buf, 'Z', sizeof(buf));
		rc = container_id_from_cgroup(cases[i].path, buf, sizeof(buf));
		if (cases[i].want) {
			if (rc != 1)
				fail_msg("\"%s\": no id, want %s", cases[i].path, cases[i].want);
			if (strcmp(buf, cases[i].want) != 0)
				fail_msg("\"%s\": id \"%.65s\", want %s", cases[i].path, buf,
					 cases[i].want);
		} else if (rc != 0) {
			fail_msg("\"%s\": id \"%.65s\", want none", cases[i].path, buf);
		}
	}

	/* a buffer too small for 64 + NUL: no id, nothing written */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(container_id_from_cgroup("/docker/" H64, buf, 64), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 'Z');
}

/* ---- cgroup2 mount ------------------------------------------------------------- */

/* The first cgroup2 mount point in /proc/self/mountinfo, read independently. */
static bool mountinfo_cgroup2(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *fields[8], *save = NULL, *sep = strstr(line, " - ");
		int n = 0;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		for (char *t = strtok_r(line, " ", &save); t && n < 8; t = strtok_r(NULL, " ", &save))
			fields[n++] = t;
		if (n >= 5 && strlen(fields[4]) < len) {
			strcpy(out, fields[4]);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void test_cgroup2_mount(void **state)
{
	char want[1024], got[1024];
	size_t l;

	(void)state;
	if (!mountinfo_cgroup2(want, sizeof(want))) {
		/* no cgroup2 here: the function must say so */
		assert_int_equal(cgroup2_mount(got, sizeof(got)), -1);
		return;
	}
	memset(got, 'Z', sizeof(got));
	assert_int_equal(cgroup2_mount(got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(got[0], '/');

	/* exactly big enough, and one byte short */
	l = strlen(want);
	memset(got, 'Z', sizeof(got));
	assert_int_equal(cgroup2_mount(got, l + 1), 0);
	assert_string_equal(got, want);
	memset(got, 'Z', sizeof(got));
	assert_int_equal(cgroup2_mount(got, l), -1);
	for (size_t i = 0; i < sizeof(got); i++)
		assert_int_equal(got[i], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_growth_past_10k),
		cmocka_unit_test(test_tombstones),
		cmocka_unit_test(test_count_session),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_cgroup2_mount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
