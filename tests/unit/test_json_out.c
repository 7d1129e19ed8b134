/* SPDX-License-Identifier: MIT */
/*
 * Tests for the compact JSON serializer (src/sinks/json_out.c): a realistic
 * event, numbers, literals, nesting, the buffer and random values. Strings
 * and UTF-8 are tested in test_json_out_utf8.c; the checks both share are in
 * json_out_check.h.
 *
 * The reference is jansson itself: for every value built here, json_out must
 * append exactly the bytes of json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY),
 * or fail where json_dumps fails, leaving the buffer as it was. A few
 * expectations are also spelled out as literals, so that a change of
 * jansson's output shows up here as such rather than as silent agreement.
 *
 * Two intended differences: nesting deeper than JSON_OUT_MAX_DEPTH, which
 * jansson dumps and json_out refuses, and an object key that is not valid
 * UTF-8, for which jansson 2.14 writes malformed JSON (akheron/jansson#655)
 * and json_out fails as it does for such a string (that one is tested in
 * test_json_out_utf8.c).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_out_check.h"

/* ---- a realistic event ------------------------------------------------------ */

/* event_text, 23 keys in the shape event_to_json gives, is in json_out_check.h. */

static void test_event_object(void **state)
{
	json_error_t err;
	json_t *v = json_loads(event_text, 0, &err);

	assert_non_null(v);
	assert_int_equal(json_object_size(v), 23);
	/* compact input text with jansson's escapes comes back unchanged */
	expect_text(v, event_text);
	json_decref(v);

	/* the same built by hand, in insertion order */
	v = json_object();
	assert_non_null(v);
	set(v, "type", json_string("open"));
	set(v, "ts_ns", json_integer(1795922745891624470LL));
	set(v, "session", json_integer(1795922745239452LL));
	set(v, "pid", json_integer(26045));
	set(v, "comm", json_string("loops"));
	set(v, "path", json_string("/etc/passwd"));
	set(v, "errno", json_null());
	set(v, "create", json_false());
	set(v, "argv", json_pack("[ss]", "a", "b c"));
	set(v, "nested", json_pack("{s:[i,{s:n}]}", "x", 1, "y"));
	expect_text(v, "{\"type\":\"open\",\"ts_ns\":1795922745891624470,"
		       "\"session\":1795922745239452,\"pid\":26045,\"comm\":\"loops\","
		       "\"path\":\"/etc/passwd\",\"errno\":null,\"create\":false,"
		       "\"argv\":[\"a\",\"b c\"],\"nested\":{\"x\":[1,{\"y\":null}]}}");
	/* replacing a key keeps its place; deleting one closes the gap */
	set(v, "type", json_string("close"));
	assert_int_equal(json_object_del(v, "pid"), 0);
	set(v, "pid", json_integer(7));
	check_same(v);
	json_decref(v);
}

/* ---- numbers and literals --------------------------------------------------- */

static void test_integers(void **state)
{
	json_t *a = json_array();
	json_int_t p = 1;

	assert_non_null(a);
	{
		json_t *v = json_integer(0);

		expect_text(v, "0");
		json_decref(v);
		v = json_integer(LLONG_MIN);
		expect_text(v, "-9223372036854775808");
		json_decref(v);
		v = json_integer(LLONG_MAX);
		expect_text(v, "9223372036854775807");
		json_decref(v);
		v = json_integer(-1);
		expect_text(v, "-1");
		json_decref(v);
	}
	/* 10^0 .. 10^18, the largest power of ten in a json_int_t */
	for (int i = 0; i < 19; i++) {
		json_int_t vals[] = { p - 1, p, p + 1, -p + 1, -p, -p - 1 };

		for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
			same_and_free(json_integer(vals[k]));
			append(a, json_integer(vals[k]));
		}
		if (i < 18)
			p *= 10;
	}
	append(a, json_integer(LLONG_MIN));
	append(a, json_integer(LLONG_MIN + 1));
	append(a, json_integer(LLONG_MAX));
	append(a, json_integer(LLONG_MAX - 1));
	check_same(a);
	json_decref(a);
}

static void test_reals(void **state)
{
	static const double vals[] = {
		1.0, 0.1, 1e300, -0.0, 0.0, 5e-324, 1e-300, 123.456, -1.5, 1e22, 1e21,
		1e16, 1e17, 3.141592653589793, 2.2250738585072014e-308,
		1.7976931348623157e308, -1e-7, 100.0,
	};
	json_t *a = json_array();

	assert_non_null(a);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		same_and_free(json_real(vals[i]));
		append(a, json_real(vals[i]));
	}
	check_same(a);
	json_decref(a);
	{
		json_t *v = json_real(1.0);

		expect_text(v, "1.0");
		json_decref(v);
	}
}

static void test_literals_and_empty(void **state)
{
	json_t *v;

	expect_text(json_true(), "true");
	expect_text(json_false(), "false");
	expect_text(json_null(), "null");
	v = json_object();
	expect_text(v, "{}");
	json_decref(v);
	v = json_array();
	expect_text(v, "[]");
	json_decref(v);
	v = json_pack("[[],{},[[]],{s:{}},{s:[]},[{}]]", "a", "b");
	assert_non_null(v);
	expect_text(v, "[[],{},[[]],{\"a\":{}},{\"b\":[]},[{}]]");
	json_decref(v);
}

static void test_null_value(void **state)
{
	struct jbuf b;

	assert_null(json_dumps(NULL, DUMP_FLAGS));
	jbuf_init(&b);
	assert_int_equal(json_out(&b, NULL), -1);
	assert_int_equal(b.len, 0);
	jbuf_free(&b);
}

/* ---- nesting ---------------------------------------------------------------- */

/* depth containers nested, arrays and objects alternating when mixed. */
static json_t *nest(int depth, bool mixed)
{
	json_t *v = json_integer(depth);

	assert_non_null(v);
	for (int i = 0; i < depth; i++) {
		json_t *c;

		if (mixed && i % 2) {
			c = json_object();
			assert_non_null(c);
			set(c, "k", v);
		} else {
			c = json_array();
			assert_non_null(c);
			append(c, v);
		}
		v = c;
	}
	return v;
}

static void test_depth_limit(void **state)
{
	for (int mixed = 0; mixed < 2; mixed++) {
		json_t *v = nest(JSON_OUT_MAX_DEPTH, mixed);
		json_t *deeper = nest(JSON_OUT_MAX_DEPTH + 1, mixed);
		struct jbuf b;
		char *s;

		assert_true(check_same(v));
		/* jansson dumps this one; json_out refuses it, cleanly */
		s = json_dumps(deeper, DUMP_FLAGS);
		assert_non_null(s);
		free(s);
		jbuf_init(&b);
		assert_int_equal(json_out(&b, json_true()), 0);
		errno = 0;
		assert_int_equal(json_out(&b, deeper), -1);
		assert_int_equal(errno, ELOOP);
		assert_int_equal(b.len, 4);
		assert_string_equal(b.p, "true");
		jbuf_free(&b);
		json_decref(deeper);
		json_decref(v);
	}
	/* the deepest text jansson parses is the deepest json_out writes */
	{
		size_t d = JSON_OUT_MAX_DEPTH;
		char *text = malloc(2 * d + 1);
		json_error_t err;
		json_t *v;

		assert_non_null(text);
		memset(text, '[', d);
		memset(text + d, ']', d);
		text[2 * d] = '\0';
		v = json_loads(text, 0, &err);
		assert_non_null(v);
		expect_text(v, text);
		json_decref(v);
		free(text);
	}
}

/* A loop of containers: jansson refuses it, and so do we. */
static void test_cycle(void **state)
{
	json_t *a = json_array(), *o = json_object();

	assert_non_null(a);
	assert_non_null(o);
	assert_int_equal(json_array_append(a, o), 0);
	assert_int_equal(json_object_set(o, "a", a), 0);
	assert_false(check_same(a));
	assert_false(check_same(o));
	/* break the loop so that both can be freed */
	assert_int_equal(json_object_clear(o), 0);
	json_decref(o);
	json_decref(a);
}

/* A value shared by several parents is no loop. */
static void test_shared_children(void **state)
{
	json_t *leaf = json_pack("{s:[i,i]}", "x", 1, 2);
	json_t *top = json_array();

	assert_non_null(leaf);
	assert_non_null(top);
	for (int i = 0; i < 3; i++)
		assert_int_equal(json_array_append(top, leaf), 0);
	expect_text(top, "[{\"x\":[1,2]},{\"x\":[1,2]},{\"x\":[1,2]}]");
	json_decref(leaf);
	json_decref(top);
}

/* ---- the buffer ------------------------------------------------------------- */

static void test_append_twice(void **state)
{
	json_t *v = json_pack("{s:s,s:i}", "a", "b", "c", 3);
	json_t *w = json_string("x\ny");
	struct jbuf b;

	assert_non_null(v);
	assert_non_null(w);
	jbuf_init(&b);
	assert_int_equal(json_out(&b, v), 0);
	assert_int_equal(json_out(&b, w), 0);
	assert_int_equal(json_out(&b, v), 0);
	assert_string_equal(b.p, "{\"a\":\"b\",\"c\":3}\"x\\ny\"{\"a\":\"b\",\"c\":3}");
	assert_int_equal(b.len, strlen(b.p));
	assert_true(b.cap > b.len);
	jbuf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	jbuf_free(&b);  /* twice is harmless */
	json_decref(v);
	json_decref(w);
}

static void test_reset_reuse(void **state)
{
	json_error_t err;
	json_t *v = json_loads(event_text, 0, &err);
	json_t *big = json_array();
	struct jbuf b;
	char *p;
	size_t cap;

	assert_non_null(v);
	assert_non_null(big);
	for (int i = 0; i < 200; i++)
		assert_int_equal(json_array_append(big, v), 0);
	jbuf_init(&b);
	jbuf_reset(&b);                 /* on an empty buffer too */
	assert_int_equal(json_out(&b, big), 0);
	assert_int_equal(b.len, 200 * (sizeof(event_text) - 1) + 199 + 2);
	p = b.p;
	cap = b.cap;
	for (int i = 0; i < 100; i++) {
		jbuf_reset(&b);
		assert_int_equal(b.len, 0);
		assert_int_equal(json_out(&b, v), 0);
		assert_string_equal(b.p, event_text);
		/* the memory is kept: no reallocation for smaller output */
		assert_ptr_equal(b.p, p);
		assert_int_equal(b.cap, cap);
	}
	jbuf_reset(&b);
	assert_true(check_same_in(&b, big));
	jbuf_free(&b);
	json_decref(big);
	json_decref(v);
}

/* ---- random values ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Encode code point cp (not a surrogate, <= U+10FFFF) at s; returns its length. */
static size_t put_utf8(char *s, uint32_t cp)
{
	if (cp < 0x80) {
		s[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (char)(0xc0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (char)(0xe0 | cp >> 12);
		s[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	s[0] = (char)(0xf0 | cp >> 18);
	s[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	s[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	s[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A random string of up to 40 characters; rarely (1 in 64) ill-formed. */
static size_t rand_str(char *s)
{
	static const char special[] = "\"\\/\x7f\b\f\n\r\t\x00\x1f\x01";
	size_t n = 0, chars = rn(41);
	bool bad = rn(64) == 0;

	for (size_t i = 0; i < chars; i++) {
		uint32_t cp;

		switch (rn(8)) {
		case 0:
			s[n++] = special[rn(sizeof(special) - 1)];
			continue;
		case 1:
			cp = rn(0x20);
			break;
		case 2:
			cp = 0x80 + rn(0x800 - 0x80);
			break;
		case 3:
			cp = 0x800 + rn(0x10000 - 0x800);
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;
			break;
		case 4:
			cp = 0x10000 + rn(0x110000 - 0x10000);
			break;
		default:
			cp = 0x20 + rn(0x60);
			break;
		}
		n += put_utf8(s + n, cp);
	}
	if (bad) {
		if (n == 0)
			n = 1;
		s[rn((unsigned)n)] = (char)(0x80 + rn(0x80));
	}
	return n;
}

static json_t *rand_value(int depth)
{
	char s[4 * 41 + 1];
	unsigned kind = depth < 6 ? rn(12) : 2 + rn(10);
	json_t *v;

	switch (kind) {
	case 0:
		v = json_object();
		assert_non_null(v);
		for (unsigned i = 0, n = rn(7); i < n; i++) {
			size_t kl = rand_str(s);

			setn_nocheck(v, s, kl, rand_value(depth + 1));
		}
		return v;
	case 1:
		v = json_array();
		assert_non_null(v);
		for (unsigned i = 0, n = rn(7); i < n; i++)
			append(v, rand_value(depth + 1));
		return v;
	case 2:
	case 3:
	case 4:
		return strn(s, rand_str(s));
	case 5:
		return json_integer((json_int_t)rnd());
	case 6:
		return json_integer((json_int_t)rn(2001) - 1000);
	case 7: {
		static const json_int_t edge[] = { LLONG_MIN, LLONG_MAX, 0, -1, 9, 10, 99, 100 };

		return json_integer(edge[rn(sizeof(edge) / sizeof(edge[0]))]);
	}
	case 8: {
		uint64_t bits = rnd();
		double d;

		memcpy(&d, &bits, sizeof(d));
		if (!isfinite(d))
			d = (double)(int64_t)bits / 1e6;
		return json_real(d);
	}
	case 9:
		return json_true();
	case 10:
		return json_false();
	default:
		return json_null();
	}
}

static void test_random(void **state)
{
	struct jbuf b;
	size_t ok = 0, bad = 0;

	jbuf_init(&b);
	for (int i = 0; i < 5000; i++) {
		json_t *v = rand_value(0);

		assert_non_null(v);
		/* appended after earlier output, reset now and then */
		if (i % 16 == 0)
			jbuf_reset(&b);
		if (check_same_in(&b, v))
			ok++;
		else
			bad++;
		json_decref(v);
	}
	assert_true(ok > 2500);
	assert_true(bad > 50);
	jbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test(f)
		T(test_event_object),
		T(test_integers),
		T(test_reals),
		T(test_literals_and_empty),
		T(test_null_value),
		T(test_depth_limit),
		T(test_cycle),
		T(test_shared_children),
		T(test_append_twice),
		T(test_reset_reuse),
		T(test_random),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
