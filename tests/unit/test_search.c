/* SPDX-License-Identifier: MIT */
/*
 * Folding a search's failed opens into the open that ends it
 * (model/search.c): which records join a run, which end it, which give it
 * back; runs per thread, their limits, and the records given back intact
 * and in order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agenttrail/events.h"
#include "model/search.h"

#define SESSION 42
#define RDONLY 0
#define WRONLY 01

/* An open record: a failed one (ret < 0) names its argument, as the kernel
 * gives it; a successful one the kernel's path of the file. */
static struct at_file *rec(uint32_t tid, int64_t ret, uint32_t oflags, const char *path,
			   size_t *size)
{
	size_t n = strlen(path) + 1;
	struct at_file *f = calloc(1, sizeof(*f) + n);

	assert_non_null(f);
	f->h.kind = AT_EV_OPEN;
	f->h.session = SESSION;
	f->h.pid = tid;
	f->h.tid = tid;
	f->ret = ret;
	f->flags = oflags;
	memcpy(f->data, path, n);
	if (ret < 0)
		f->arg_len = (uint16_t)n;
	else
		f->path_len = (uint16_t)n;
	*size = sizeof(*f) + n;
	f->h.size = (uint32_t)*size;
	return f;
}

static enum search_hold offer(struct searches *s, uint32_t tid, int64_t ret, uint32_t oflags,
			      const char *path, struct search_run **out)
{
	size_t size;
	struct at_file *f = rec(tid, ret, oflags, path, &size);
	enum search_hold h = search_hold(s, f, size, out);

	free(f);
	return h;
}

static bool ends(struct searches *s, uint32_t tid, int64_t ret, uint32_t oflags,
		 const char *path)
{
	size_t size;
	struct at_file *f = rec(tid, ret, oflags, path, &size);
	bool e = search_ends(s, search_of(s, tid), f, size);

	free(f);
	return e;
}

static void test_run_ends_in_the_open_that_found_the_name(void **state)
{
	struct searches s;
	struct search_run *out = NULL;

	(void)state;
	searches_init(&s);
	assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, "/a/inc/x.h", &out), SEARCH_HELD);
	assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, "/b/inc/x.h", &out), SEARCH_HELD);
	assert_int_equal(s.used, 1);
	assert_non_null(search_of(&s, 7));
	assert_null(search_of(&s, 8));
	assert_int_equal(search_of(&s, 7)->n, 2);
	assert_string_equal(search_of(&s, 7)->paths.p, "\"/a/inc/x.h\",\"/b/inc/x.h\"");
	/* another name, other flags, a failure: not the end */
	assert_false(ends(&s, 7, 3, RDONLY, "/c/inc/y.h"));
	assert_false(ends(&s, 7, 3, WRONLY, "/c/inc/x.h"));
	assert_false(ends(&s, 7, -EACCES, RDONLY, "/c/inc/x.h"));
	/* x.h found, in a directory of another depth: the end */
	assert_true(ends(&s, 7, 3, RDONLY, "/usr/include/x.h"));
	/* the open's text gains the paths tried */
	{
		struct jbuf text;

		jbuf_init(&text);
		assert_int_equal(jbuf_add(&text, "{\"eid\":1}", 9), 0);
		assert_int_equal(search_append_searched(search_of(&s, 7), &text), 0);
		assert_string_equal(text.p,
				    "{\"eid\":1,\"searched\":[\"/a/inc/x.h\",\"/b/inc/x.h\"]}");
		jbuf_free(&text);
	}
	search_clear(&s, search_of(&s, 7));
	assert_int_equal(s.used, 0);
	assert_null(search_of(&s, 7));
	searches_free(&s);
}

static void test_a_record_that_does_not_continue_gives_back(void **state)
{
	struct searches s;
	struct search_run *out = NULL, *run;

	(void)state;
	searches_init(&s);
	assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, "/a/x.h", &out), SEARCH_HELD);
	run = search_of(&s, 7);
	/* a miss of another name, other flags; a denied open; a success */
	assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, "/a/y.h", &out), SEARCH_GIVE_BACK);
	assert_ptr_equal(out, run);
	out = NULL;
	assert_int_equal(offer(&s, 7, -ENOENT, WRONLY, "/b/x.h", &out), SEARCH_GIVE_BACK);
	assert_ptr_equal(out, run);
	out = NULL;
	assert_int_equal(offer(&s, 7, -EACCES, RDONLY, "/b/x.h", &out), SEARCH_GIVE_BACK);
	assert_ptr_equal(out, run);
	out = NULL;
	assert_int_equal(offer(&s, 7, 3, RDONLY, "/b/z.h", &out), SEARCH_GIVE_BACK);
	assert_ptr_equal(out, run);
	/* the run is unchanged by all of that */
	assert_int_equal(run->n, 1);
	assert_string_equal(run->paths.p, "\"/a/x.h\"");
	/* given back: the same offer now starts a run or is written */
	search_clear(&s, run);
	assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, "/a/y.h", &out), SEARCH_HELD);
	search_clear(&s, search_of(&s, 7));
	assert_int_equal(offer(&s, 7, -EACCES, RDONLY, "/b/x.h", &out), SEARCH_NOT_MISS);
	assert_int_equal(offer(&s, 7, 3, RDONLY, "/b/x.h", &out), SEARCH_NOT_MISS);
	assert_int_equal(s.used, 0);
	searches_free(&s);
}

static void test_what_is_never_held(void **state)
{
	struct searches s;
	struct search_run *out = NULL;
	struct at_file *f;
	size_t size;
	char name[SEARCH_BASE_MAX + 8];

	(void)state;
	searches_init(&s);
	/* a path cut short by the kernel's walk */
	f = rec(7, -ENOENT, RDONLY, "/deep/x.h", &size);
	f->h.flags |= AT_F_PATH_TRUNC;
	assert_int_equal(search_hold(&s, f, size, &out), SEARCH_NOT_MISS);
	/* a record shorter than its header says */
	f->h.flags = 0;
	assert_int_equal(search_hold(&s, f, size - 1, &out), SEARCH_NOT_MISS);
	/* not an open */
	f->h.kind = AT_EV_UNLINK;
	assert_int_equal(search_hold(&s, f, size, &out), SEARCH_NOT_MISS);
	free(f);
	/* an empty name, a last component too long to keep */
	assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, "", &out), SEARCH_NOT_MISS);
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, name, &out), SEARCH_NOT_MISS);
	assert_int_equal(s.used, 0);
	searches_free(&s);
}

static void test_a_full_run_gives_back(void **state)
{
	struct searches s;
	struct search_run *out = NULL;
	char path[32];

	(void)state;
	searches_init(&s);
	for (int i = 0; i < SEARCH_MAX_MISSES; i++) {
		snprintf(path, sizeof(path), "/d%d/x.h", i);
		assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, path, &out), SEARCH_HELD);
	}
	assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, "/last/x.h", &out), SEARCH_GIVE_BACK);
	assert_ptr_equal(out, search_of(&s, 7));
	assert_int_equal(out->n, SEARCH_MAX_MISSES);
	searches_free(&s);
}

static void test_threads_hold_runs_apart_and_the_oldest_goes_first(void **state)
{
	struct searches s;
	struct search_run *out = NULL;

	(void)state;
	searches_init(&s);
	for (uint32_t t = 1; t <= SEARCH_RUNS; t++)
		assert_int_equal(offer(&s, t, -ENOENT, RDONLY, "/a/x.h", &out), SEARCH_HELD);
	/* each thread's runs go on by themselves */
	assert_int_equal(offer(&s, 3, -ENOENT, RDONLY, "/b/x.h", &out), SEARCH_HELD);
	assert_int_equal(search_of(&s, 3)->n, 2);
	assert_int_equal(search_of(&s, 4)->n, 1);
	assert_ptr_equal(search_oldest(&s), search_of(&s, 1));
	/* a thread more: the oldest run (thread 1) is given back first */
	assert_int_equal(offer(&s, 99, -ENOENT, RDONLY, "/a/x.h", &out), SEARCH_GIVE_BACK);
	assert_ptr_equal(out, search_of(&s, 1));
	search_clear(&s, out);
	assert_int_equal(offer(&s, 99, -ENOENT, RDONLY, "/a/x.h", &out), SEARCH_HELD);
	assert_int_equal(s.used, SEARCH_RUNS);
	assert_null(search_of(&s, 1));
	/* then thread 2's */
	assert_int_equal(offer(&s, 100, -ENOENT, RDONLY, "/a/x.h", &out), SEARCH_GIVE_BACK);
	assert_ptr_equal(out, search_of(&s, 2));
	searches_free(&s);
}

static void test_records_come_back_whole_aligned_and_in_order(void **state)
{
	static const char *const paths[] = { "/a/x.h", "/bb/x.h", "/ccc/x.h", "/dddddddd/x.h" };
	struct searches s;
	struct search_run *out = NULL, *run;
	const void *back;
	size_t off = 0, size, i = 0;

	(void)state;
	searches_init(&s);
	for (i = 0; i < 4; i++)
		assert_int_equal(offer(&s, 7, -ENOENT, RDONLY, paths[i], &out), SEARCH_HELD);
	run = search_of(&s, 7);
	for (i = 0; search_next(run, &off, &back, &size); i++) {
		size_t want_size;
		struct at_file *want = rec(7, -ENOENT, RDONLY, paths[i], &want_size);

		assert_true(i < 4);
		assert_int_equal((uintptr_t)back % 8, 0);
		assert_int_equal(size, want_size);
		assert_memory_equal(back, want, size);
		free(want);
	}
	assert_int_equal(i, 4);
	searches_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_ends_in_the_open_that_found_the_name),
		cmocka_unit_test(test_a_record_that_does_not_continue_gives_back),
		cmocka_unit_test(test_what_is_never_held),
		cmocka_unit_test(test_a_full_run_gives_back),
		cmocka_unit_test(test_threads_hold_runs_apart_and_the_oldest_goes_first),
		cmocka_unit_test(test_records_come_back_whole_aligned_and_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
