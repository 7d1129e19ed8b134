/* SPDX-License-Identifier: MIT */
/*
 * Shared checks for the json_out unit tests (test_json_out.c and
 * test_json_out_utf8.c): compare json_out's output with jansson's json_dumps,
 * build values asserting that jansson accepted each part, and a realistic
 * event text. Header-only: every function is static and marked unused, so a
 * test file that leaves one uncalled still builds with -Werror.
 */
#ifndef AT_TESTS_JSON_OUT_CHECK_H
#define AT_TESTS_JSON_OUT_CHECK_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sinks/json_out.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* ---- helpers ---------------------------------------------------------------- */

/*
 * Whether v holds an object key that is not valid UTF-8, by jansson's own
 * check (json_stringn refuses such text). jansson 2.14 writes malformed JSON
 * for those keys instead of failing (akheron/jansson#655); json_out fails.
 * The depth bound stops at loops of containers.
 */
__attribute__((unused))
static bool has_bad_key(const json_t *v, int depth)
{
	const char *key;
	size_t klen;
	json_t *val;

	if (depth > JSON_OUT_MAX_DEPTH + 1)
		return false;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (has_bad_key(json_array_get(v, i), depth + 1))
				return true;
		return false;
	}
	if (!json_is_object(v))
		return false;
	json_object_keylen_foreach((json_t *)v, key, klen, val) {
		json_t *k = json_stringn(key, klen);
		bool ok = k != NULL;

		json_decref(k);
		if (!ok || has_bad_key(val, depth + 1))
			return true;
	}
	return false;
}

/*
 * Append v to b and check the appended bytes against json_dumps; where
 * json_dumps fails (or v has a bad key), that json_out fails and b is
 * untouched up to its length. Returns whether json_out succeeded.
 */
__attribute__((unused))
static bool check_same_in(struct jbuf *b, const json_t *v)
{
	char *want = json_dumps(v, DUMP_FLAGS);
	bool refuse = !want || has_bad_key(v, 0);
	size_t start = b->len;
	char *before = malloc(start + 1);
	int rc;

	assert_non_null(before);
	if (start)
		memcpy(before, b->p, start);
	rc = json_out(b, v);
	if (refuse) {
		assert_int_equal(rc, -1);
		assert_int_equal(b->len, start);
	} else {
		size_t n = strlen(want);

		assert_int_equal(rc, 0);
		assert_int_equal(b->len - start, n);
		assert_memory_equal(b->p + start, want, n ? n : 1);
	}
	if (start)
		assert_memory_equal(b->p, before, start);
	if (b->p)
		assert_int_equal(b->p[b->len], '\0');
	free(before);
	free(want);
	return rc == 0;
}

__attribute__((unused))
static bool check_same(const json_t *v)
{
	struct jbuf b;
	bool ok;

	jbuf_init(&b);
	ok = check_same_in(&b, v);
	jbuf_free(&b);
	return ok;
}

/* Same as jansson, and exactly this text. */
__attribute__((unused))
static void expect_text(const json_t *v, const char *text)
{
	struct jbuf b;

	assert_true(check_same(v));
	jbuf_init(&b);
	assert_int_equal(json_out(&b, v), 0);
	assert_int_equal(b.len, strlen(text));
	assert_string_equal(b.p, text);
	jbuf_free(&b);
}

/* json_out fails with EILSEQ (and json_dumps too, but for a bad key). */
__attribute__((unused))
static void expect_bad_utf8(const json_t *v)
{
	struct jbuf b;

	assert_false(check_same(v));
	jbuf_init(&b);
	errno = 0;
	assert_int_equal(json_out(&b, v), -1);
	assert_int_equal(errno, EILSEQ);
	assert_int_equal(b.len, 0);
	jbuf_free(&b);
}

/* Check v, then drop it. */
__attribute__((unused))
static void same_and_free(json_t *v)
{
	assert_non_null(v);
	check_same(v);
	json_decref(v);
}

__attribute__((unused))
static json_t *strn(const char *s, size_t n)
{
	json_t *v = json_stringn_nocheck(s, n);

	assert_non_null(v);
	return v;
}

__attribute__((unused))
static void set(json_t *o, const char *k, json_t *v)
{
	assert_non_null(v);
	assert_int_equal(json_object_set_new(o, k, v), 0);
}

__attribute__((unused))
static void setn_nocheck(json_t *o, const char *k, size_t klen, json_t *v)
{
	assert_non_null(v);
	assert_int_equal(json_object_setn_new_nocheck(o, k, klen, v), 0);
}

__attribute__((unused))
static void append(json_t *a, json_t *v)
{
	assert_non_null(v);
	assert_int_equal(json_array_append_new(a, v), 0);
}

/* ---- a realistic event ------------------------------------------------------ */

/* 23 keys, in the shape event_to_json gives (docs/events.md). */
static const char event_text[] __attribute__((unused)) =
	"{\"type\":\"open\",\"ts_ns\":1795922745891624470,\"session\":1795922745239452,"
	"\"pid\":26045,\"tid\":26047,\"ppid\":26001,\"uid\":1000,\"comm\":\"loops\","
	"\"exe\":\"/usr/bin/python3.11\",\"cwd\":\"/home/agent/work\","
	"\"path\":\"/etc/passwd\",\"flags\":\"O_RDONLY|O_CLOEXEC\",\"mode\":0,"
	"\"ret\":3,\"errno\":null,\"create\":false,\"write\":false,\"truncated\":true,"
	"\"ino\":1835011,\"dev\":2049,\"argv\":[\"a\",\"b c\"],"
	"\"nested\":{\"x\":[1,{\"y\":null}]},"
	"\"note\":\"tab\\there \\\"quoted\\\" back\\\\slash caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x90\x8d\"}";

#endif /* AT_TESTS_JSON_OUT_CHECK_H */
