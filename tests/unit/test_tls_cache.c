/* SPDX-License-Identifier: MIT */
/*
 * Tests for the cache of binaries without a TLS library
 * (src/capture/tls_cache.c): kept across opens, invalidated by any change
 * of the file, robust to garbage and to a file that grew too long.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/tls_cache.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/at_tls_cache_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* a directory that does not exist yet: open makes it */
	snprintf(f->path, sizeof(f->path), "%s/sub/no-tls", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct stat fake(uint64_t ino, int64_t mtime_s)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_dev = 2049;
	st.st_ino = ino;
	st.st_size = 123456;
	st.st_mtim.tv_sec = mtime_s;
	st.st_mtim.tv_nsec = 5;
	st.st_ctim.tv_sec = mtime_s + 1;
	st.st_ctim.tv_nsec = 7;
	return st;
}

static void append(const char *path, const char *text)
{
	FILE *fp = fopen(path, "a");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void test_kept_across_opens(void **state)
{
	struct fixture *f = *state;
	struct tls_cache c;
	struct stat a = fake(11, 1000), b = fake(12, 1000);
	const char *why = NULL;
	struct stat dst;

	tls_cache_open(&c, f->path, &why);
	assert_null(why);
	assert_false(tls_cache_has(&c, &a));
	tls_cache_add(&c, &a);
	tls_cache_add(&c, &a);          /* once in the file */
	assert_true(tls_cache_has(&c, &a));
	assert_false(tls_cache_has(&c, &b));
	tls_cache_close(&c);

	tls_cache_open(&c, f->path, &why);
	assert_true(tls_cache_has(&c, &a));
	assert_false(tls_cache_has(&c, &b));
	tls_cache_close(&c);

	/* root's alone: whoever writes it hides binaries from the capture */
	char dir[160];
	snprintf(dir, sizeof(dir), "%s/sub", f->dir);
	assert_int_equal(stat(dir, &dst), 0);
	assert_int_equal(dst.st_mode & 0777, 0700);
	assert_int_equal(stat(f->path, &dst), 0);
	assert_int_equal(dst.st_mode & 0777, 0600);
	assert_true(dst.st_size > 0);
}

struct seen {
	unsigned n;
	uint64_t inos;   /* bit per inode number seen */
	bool bad;
};

static void count_key(void *arg, const struct tls_cache_key *k)
{
	struct seen *s = arg;

	s->n++;
	if (k->ino >= 64 || k->dev != 2049 || k->size != 123456 ||
	    k->ctime_ns != (int64_t)(k->ino + 1001) * 1000000000 + 7)
		s->bad = true;
	else
		s->inos |= 1ull << k->ino;
}

/* Every binary remembered, loaded from the file or added, once each, with
 * its key (the kernel learns them this way at start). */
static void test_each(void **state)
{
	struct fixture *f = *state;
	struct tls_cache c;
	struct seen s = { 0 };

	tls_cache_open(&c, f->path, NULL);
	for (uint64_t ino = 1; ino <= 5; ino++) {
		struct stat st = fake(ino, 1000 + (int64_t)ino);

		tls_cache_add(&c, &st);
	}
	tls_cache_close(&c);
	tls_cache_open(&c, f->path, NULL);
	{
		struct stat st = fake(9, 1009);

		tls_cache_add(&c, &st);
	}
	tls_cache_each(&c, count_key, &s);
	tls_cache_close(&c);
	assert_false(s.bad);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.inos, 0x23e);   /* 1..5 and 9 */
}

/* Any change of the file (size, either time, inode, device) is a miss. */
static void test_changed_file_misses(void **state)
{
	struct fixture *f = *state;
	struct tls_cache c;
	struct stat a = fake(21, 2000), x;

	tls_cache_open(&c, f->path, NULL);
	tls_cache_add(&c, &a);
	x = a;
	x.st_size++;
	assert_false(tls_cache_has(&c, &x));
	x = a;
	x.st_mtim.tv_nsec++;
	assert_false(tls_cache_has(&c, &x));
	x = a;
	x.st_ctim.tv_sec++;
	assert_false(tls_cache_has(&c, &x));
	x = a;
	x.st_ino++;
	assert_false(tls_cache_has(&c, &x));
	x = a;
	x.st_dev++;
	assert_false(tls_cache_has(&c, &x));
	assert_true(tls_cache_has(&c, &a));
	tls_cache_close(&c);
}

/* Garbage, partial lines and inode 0 are skipped; good lines around them
 * still count. */
static void test_garbage_ignored(void **state)
{
	struct fixture *f = *state;
	struct tls_cache c;
	struct stat a = fake(31, 3000), b = fake(32, 3000);
	char good[200];

	tls_cache_open(&c, f->path, NULL);
	tls_cache_add(&c, &a);
	tls_cache_close(&c);
	append(f->path, "not a line\n\n1 2 3\n-1 -2 -3 -4 -5 -6 -7\n2049 0 1 2 3\n"
			"\xff\xfe binary \x01\n2049 33 1 2 3 trailing\n");
	snprintf(good, sizeof(good), "%llu %llu %llu %lld %lld\n", (unsigned long long)b.st_dev,
		 (unsigned long long)b.st_ino, (unsigned long long)b.st_size,
		 (long long)b.st_mtim.tv_sec * 1000000000 + b.st_mtim.tv_nsec,
		 (long long)b.st_ctim.tv_sec * 1000000000 + b.st_ctim.tv_nsec);
	append(f->path, good);
	append(f->path, "2049 34 1 2");         /* cut short, no newline */
	tls_cache_open(&c, f->path, NULL);
	assert_true(tls_cache_has(&c, &a));
	assert_true(tls_cache_has(&c, &b));
	assert_int_equal(c.n, 2);
	tls_cache_close(&c);
}

/* Full: new answers stay out of memory and file; a file past the limit is
 * started over when next opened. */
static void test_bounded(void **state)
{
	struct fixture *f = *state;
	struct tls_cache c;
	struct stat st;

	tls_cache_open(&c, f->path, NULL);
	for (uint64_t i = 1; i <= TLS_CACHE_MAX + 10; i++) {
		st = fake(1000 + i, 4000);
		tls_cache_add(&c, &st);
	}
	assert_int_equal(c.n, TLS_CACHE_MAX);
	st = fake(1000 + TLS_CACHE_MAX + 5, 4000);
	assert_false(tls_cache_has(&c, &st));
	st = fake(1001, 4000);
	assert_true(tls_cache_has(&c, &st));
	tls_cache_close(&c);

	/* another writer pushed it past the limit */
	append(f->path, "2049 999999 1 2 3\n");
	tls_cache_open(&c, f->path, NULL);
	assert_int_equal(c.n, 0);
	assert_false(tls_cache_has(&c, &st));
	tls_cache_add(&c, &st);
	tls_cache_close(&c);
	tls_cache_open(&c, f->path, NULL);
	assert_int_equal(c.n, 1);
	assert_true(tls_cache_has(&c, &st));
	tls_cache_close(&c);
}

/* No file (NULL path, or one that cannot be made): memory only. */
static void test_memory_only(void **state)
{
	struct fixture *f = *state;
	struct tls_cache c;
	struct stat a = fake(41, 5000);
	char path[200];
	const char *why = NULL;

	tls_cache_open(&c, NULL, &why);
	assert_null(why);
	tls_cache_add(&c, &a);
	assert_true(tls_cache_has(&c, &a));
	tls_cache_close(&c);

	/* a regular file where the directory should be */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	append(path, "x\n");
	snprintf(path, sizeof(path), "%s/file/no-tls", f->dir);
	tls_cache_open(&c, path, &why);
	assert_non_null(why);
	tls_cache_add(&c, &a);
	assert_true(tls_cache_has(&c, &a));
	tls_cache_close(&c);
}

static void test_default_path(void **state)
{
	(void)state;
	assert_int_equal(setenv("AGENTTRAIL_TLS_CACHE", "/x/y", 1), 0);
	assert_string_equal(tls_cache_default_path(), "/x/y");
	assert_int_equal(setenv("AGENTTRAIL_TLS_CACHE", "", 1), 0);
	assert_null(tls_cache_default_path());
	assert_int_equal(unsetenv("AGENTTRAIL_TLS_CACHE"), 0);
	if (geteuid() == 0)
		assert_string_equal(tls_cache_default_path(), "/var/cache/agenttrail/tls-no-library");
	else
		assert_null(tls_cache_default_path());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kept_across_opens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_file_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_only, setup, teardown),
		cmocka_unit_test(test_default_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
