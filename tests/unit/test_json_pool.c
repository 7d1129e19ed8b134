/* SPDX-License-Identifier: MIT */
/*
 * Tests for the small-block cache under jansson (src/model/json_pool.c):
 * blocks of every size are usable to their last byte and aligned, freed
 * blocks are reused by size class and never beyond JSON_POOL_KEEP, a thread
 * that ends gives its blocks back, jansson runs on the pool, and
 * json_pool_dumps gives text that free() takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>
#include <jansson.h>

#include "model/json_pool.h"

static void test_every_size_usable_and_aligned(void **state)
{
	(void)state;
	for (size_t n = 0; n <= JSON_POOL_MAX_SIZE + 64; n++) {
		unsigned char *p = json_pool_alloc(n);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xa5, n);   /* ASan: every byte is inside the block */
		json_pool_free(p);
	}
	json_pool_free(NULL);
	json_pool_drain();
	assert_int_equal(json_pool_cached(), 0);
}

static void test_reuse_within_a_class_only(void **state)
{
	void *a, *b, *c;

	(void)state;
	json_pool_drain();
	a = json_pool_alloc(20);    /* class 17..32 */
	json_pool_free(a);
	assert_int_equal(json_pool_cached(), 1);
	b = json_pool_alloc(8);     /* another class: not a */
	assert_ptr_not_equal(a, b);
	c = json_pool_alloc(32);    /* same class as 20: a again */
	assert_ptr_equal(a, c);
	assert_int_equal(json_pool_cached(), 0);
	json_pool_free(b);
	json_pool_free(c);
	/* too big to pool: straight back to free() */
	json_pool_free(json_pool_alloc(JSON_POOL_MAX_SIZE + 1));
	assert_int_equal(json_pool_cached(), 2);
	json_pool_drain();
	assert_int_equal(json_pool_cached(), 0);
}

static void test_keeps_at_most_keep_per_class(void **state)
{
	size_t n = JSON_POOL_KEEP + 100;
	void **v = calloc(n, sizeof(*v));

	(void)state;
	assert_non_null(v);
	json_pool_drain();
	for (size_t i = 0; i < n; i++)
		assert_non_null(v[i] = json_pool_alloc(48));
	for (size_t i = 0; i < n; i++)
		json_pool_free(v[i]);
	assert_int_equal(json_pool_cached(), JSON_POOL_KEEP);
	json_pool_drain();
	free(v);
}

static void *fill_and_exit(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		json_pool_free(json_pool_alloc((size_t)i));
	return (void *)json_pool_cached();
}

/* A thread's cache dies with it; under ASan's leak check, a block it kept
 * and did not give back would be reported. */
static void test_thread_exit_drains(void **state)
{
	pthread_t t;
	void *kept;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, fill_and_exit, NULL), 0);
	assert_int_equal(pthread_join(t, &kept), 0);
	assert_true((size_t)kept > 0);
}

static void test_jansson_on_the_pool(void **state)
{
	json_t *o, *a;
	char *s;

	(void)state;
	json_pool_install();
	o = json_object();
	a = json_array();
	assert_non_null(o);
	assert_non_null(a);
	for (int i = 0; i < 200; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(json_object_set_new(o, key, json_integer(i)), 0);
		assert_int_equal(json_array_append_new(a, json_sprintf("v%d", i)), 0);
	}
	assert_int_equal(json_object_set_new(o, "list", a), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "k199")), 199);
	assert_string_equal(json_string_value(json_array_get(a, 7)), "v7");

	s = json_pool_dumps(json_object_get(o, "k5"), JSON_ENCODE_ANY);
	assert_string_equal(s, "5");
	free(s);   /* from malloc, whatever allocator jansson uses */
	s = json_pool_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	assert_true(strncmp(s, "{\"k0\":0,\"k1\":1,\"k10\":10,", 24) == 0);
	free(s);
	json_decref(o);
	assert_true(json_pool_cached() > 0);
	json_set_alloc_funcs(malloc, free);
	json_pool_drain();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_size_usable_and_aligned),
		cmocka_unit_test(test_reuse_within_a_class_only),
		cmocka_unit_test(test_keeps_at_most_keep_per_class),
		cmocka_unit_test(test_thread_exit_drains),
		cmocka_unit_test(test_jansson_on_the_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
