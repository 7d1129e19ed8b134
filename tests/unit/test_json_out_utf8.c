/* SPDX-License-Identifier: MIT */
/*
 * Tests for the compact JSON serializer (src/sinks/json_out.c): strings,
 * object keys and UTF-8 well-formedness. The other tests are in
 * test_json_out.c, the checks both share in json_out_check.h.
 *
 * As there, the reference is jansson: json_out must append exactly the bytes
 * of json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), or fail where json_dumps
 * fails, leaving the buffer as it was. The one intended difference met here:
 * an object key that is not valid UTF-8, for which jansson 2.14 writes
 * malformed JSON (akheron/jansson#655) and json_out fails as it does for such
 * a string.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out_check.h"

/* ---- strings ---------------------------------------------------------------- */

static void test_ascii_bytes(void **state)
{
	char all[0x80];
	json_t *v;

	for (int c = 0; c < 0x80; c++) {
		char ch = (char)c;

		all[c] = ch;
		same_and_free(json_stringn(&ch, 1));
	}
	v = json_stringn(all, sizeof(all));
	assert_non_null(v);
	/* what jansson 2.14 writes, spelled out */
	expect_text(v, "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
		       "\\b\\t\\n\\u000B\\f\\r\\u000E\\u000F"
		       "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
		       "\\u0018\\u0019\\u001A\\u001B\\u001C\\u001D\\u001E\\u001F"
		       " !\\\"#$%&'()*+,-./0123456789:;<=>?"
		       "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_"
		       "`abcdefghijklmnopqrstuvwxyz{|}~\x7f\"");
	json_decref(v);

	v = json_string("");
	expect_text(v, "\"\"");
	json_decref(v);
	/* NULs inside a string, and a string of nothing but escapes */
	v = json_stringn("a\0b\0", 4);
	expect_text(v, "\"a\\u0000b\\u0000\"");
	json_decref(v);
	v = json_string("\"\\\"\\\n\n");
	expect_text(v, "\"\\\"\\\\\\\"\\\\\\n\\n\"");
	json_decref(v);
}

static void test_keys_needing_escapes(void **state)
{
	static const char *keys[] = {
		"", "\"", "\\", "a\"b", "\b\f\n\r\t", "\x01\x1f", "/", "\x7f",
		"caf\xc3\xa9", "\xf4\x8f\xbf\xbf", "k\\u0000",
	};
	json_t *o = json_object();

	assert_non_null(o);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		set(o, keys[i], json_integer((json_int_t)i));
	check_same(o);
	json_decref(o);

	o = json_object();
	assert_non_null(o);
	set(o, "a\"b\\c\n", json_true());
	set(o, "\x1f/", json_false());
	expect_text(o, "{\"a\\\"b\\\\c\\n\":true,\"\\u001F/\":false}");
	json_decref(o);
}

static void test_keys_with_nul(void **state)
{
	json_t *o = json_object();

	assert_non_null(o);
	assert_int_equal(json_object_setn_new(o, "a\0b", 3, json_integer(1)), 0);
	assert_int_equal(json_object_setn_new(o, "\0", 1, json_integer(2)), 0);
	assert_int_equal(json_object_setn_new(o, "a", 1, json_integer(3)), 0);
	assert_int_equal(json_object_setn_new(o, "\0\0", 2, json_stringn("\0", 1)), 0);
	expect_text(o, "{\"a\\u0000b\":1,\"\\u0000\":2,\"a\":3,"
		       "\"\\u0000\\u0000\":\"\\u0000\"}");
	json_decref(o);
}

/* Every kind of ill-formed UTF-8 jansson refuses. */
static const struct {
	const char *s;
	size_t n;
} bad_utf8[] = {
#define B(lit) { lit, sizeof(lit) - 1 }
	B("\x80"), B("\xbf"), B("\x80\x80"),                    /* stray continuation */
	B("\xc0\x80"), B("\xc1\xbf"), B("\xc0\xaf"),            /* overlong 2-byte */
	B("\xe0\x80\x80"), B("\xe0\x9f\xbf"),                   /* overlong 3-byte */
	B("\xf0\x80\x80\x80"), B("\xf0\x8f\xbf\xbf"),           /* overlong 4-byte */
	B("\xed\xa0\x80"), B("\xed\xbf\xbf"), B("\xed\xb0\x80"), /* surrogates */
	B("\xed\xa0\xbd\xed\xb2\xa9"),                          /* CESU-8 pair */
	B("\xf4\x90\x80\x80"), B("\xf7\xbf\xbf\xbf"),           /* above U+10FFFF */
	B("\xf5\x80\x80\x80"), B("\xf8\x88\x80\x80\x80"), B("\xfc\x84\x80\x80\x80\x80"),
	B("\xfe"), B("\xff"), B("\xf5"), B("\xfd"),             /* never lead bytes */
	B("\xc2\x41"), B("\xc2\xc2"), B("\xc2\x00"),            /* bad continuation */
	B("\xe1\x41\x80"), B("\xe1\x80\x41"), B("\xe1\x80\xc0"),
	B("\xf1\x41\x80\x80"), B("\xf1\x80\x41\x80"), B("\xf1\x80\x80\x41"),
	B("\xc2"), B("\xe1"), B("\xe1\x80"), B("\xf1"),         /* truncated */
	B("\xf1\x80"), B("\xf1\x80\x80"), B("\xdf"), B("\xef\xbf"),
#undef B
};

static void test_invalid_utf8(void **state)
{
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		const char *s = bad_utf8[i].s;
		size_t n = bad_utf8[i].n;
		char buf[64];
		json_t *v, *o;

		/* alone, after and before good text, as a key */
		v = strn(s, n);
		expect_bad_utf8(v);
		json_decref(v);
		memcpy(buf, "ok \xc3\xa9 ", 6);
		memcpy(buf + 6, s, n);
		v = strn(buf, n + 6);
		expect_bad_utf8(v);
		json_decref(v);
		memcpy(buf, s, n);
		memcpy(buf + n, " tail\n", 6);
		v = strn(buf, n + 6);
		expect_bad_utf8(v);
		json_decref(v);
		o = json_object();
		assert_non_null(o);
		setn_nocheck(o, s, n, json_true());
		expect_bad_utf8(o);
		json_decref(o);
	}
}

/*
 * jansson 2.14 does not fail on a key that is not valid UTF-8: it writes the
 * key's opening quote and text up to its last escape, no closing quote, and
 * goes on (akheron/jansson#655). json_out refuses the value instead.
 */
static void test_bad_key_jansson_differs(void **state)
{
	json_t *o = json_object();
	char *s;

	assert_non_null(o);
	setn_nocheck(o, "ab\ncd\x80" "ef", 7, json_integer(5));
	set(o, "z", json_true());
	s = json_dumps(o, DUMP_FLAGS);
	if (s) {
		/* 2.14's broken output, which a fixed jansson would not give */
		assert_string_equal(s, "{\"ab\\n:5,\"z\":true}");
		free(s);
	}
	expect_bad_utf8(o);
	json_decref(o);
}

/* A bad string deep inside a value, after output was appended: nothing of it stays. */
static void test_invalid_deep_rollback(void **state)
{
	struct jbuf b;
	json_t *ok = json_pack("{s:i,s:s}", "a", 1, "b", "two");
	json_t *v = json_object(), *arr = json_array(), *inner = json_object();
	char *snap;
	size_t len;

	assert_non_null(ok);
	assert_non_null(v);
	assert_non_null(arr);
	assert_non_null(inner);
	jbuf_init(&b);
	assert_int_equal(json_out(&b, ok), 0);
	assert_int_equal(json_out(&b, ok), 0);
	len = b.len;
	snap = strdup(b.p);
	assert_non_null(snap);

	set(v, "type", json_string("open"));
	set(v, "long", json_stringn(event_text, sizeof(event_text) - 1));
	set(inner, "fine", json_integer(LLONG_MIN));
	set(inner, "bad", strn("x\xed\xa0\x80y", 5));
	append(arr, json_integer(1));
	append(arr, inner);
	set(v, "arr", arr);

	/* many outputs grow the buffer (a realloc) before the failure is met */
	for (int i = 0; i < 3; i++) {
		errno = 0;
		assert_false(check_same_in(&b, v));
		assert_int_equal(json_out(&b, v), -1);
		assert_int_equal(errno, EILSEQ);
		assert_int_equal(b.len, len);
		assert_string_equal(b.p, snap);
	}

	/* a bad key deep inside */
	assert_int_equal(json_object_del(inner, "bad"), 0);
	assert_true(check_same_in(&b, v));
	len = b.len;
	free(snap);
	snap = strdup(b.p);
	assert_non_null(snap);
	setn_nocheck(inner, "\xc0\x80", 2, json_null());
	assert_int_equal(json_out(&b, v), -1);
	assert_int_equal(b.len, len);
	assert_string_equal(b.p, snap);
	assert_false(check_same_in(&b, v));

	free(snap);
	json_decref(v);
	json_decref(ok);
	jbuf_free(&b);
}

static void test_utf8_boundaries(void **state)
{
	static const char *good[] = {
		"\x7f",                 /* U+007F */
		"\xc2\x80",             /* U+0080 */
		"\xdf\xbf",             /* U+07FF */
		"\xe0\xa0\x80",         /* U+0800 */
		"\xed\x9f\xbf",         /* U+D7FF, below the surrogates */
		"\xee\x80\x80",         /* U+E000, above them */
		"\xef\xbf\xbd",         /* U+FFFD */
		"\xef\xbf\xbf",         /* U+FFFF */
		"\xf0\x90\x80\x80",     /* U+10000 */
		"\xf4\x8f\xbf\xbf",     /* U+10FFFF */
		"\xe2\x80\xa8\xe2\x80\xa9", /* U+2028, U+2029: not escaped */
		"\xef\xbb\xbf",         /* a BOM */
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char want[32];
		json_t *v = json_string(good[i]);

		assert_non_null(v);
		snprintf(want, sizeof(want), "\"%s\"", good[i]);
		expect_text(v, want);
		json_decref(v);
	}
}

/*
 * Every lead byte 0x80..0xff with every second byte, followed by nothing,
 * by continuation bytes or by ASCII: the whole table of well-formedness.
 */
static void test_utf8_exhaustive(void **state)
{
	static const unsigned char tails[][3] = {
		{ 0 }, { 0x80 }, { 0xbf }, { 0x41 }, { 0x80, 0x80 }, { 0xbf, 0xbf },
		{ 0x80, 0x41 }, { 0x80, 0xc0 }, { 0x80, 0x80, 0x41 },
	};
	static const size_t tail_len[] = { 0, 1, 1, 1, 2, 2, 2, 2, 3 };
	struct jbuf b;
	size_t ok = 0, bad = 0;

	jbuf_init(&b);
	for (unsigned lead = 0x80; lead <= 0xff; lead++) {
		for (unsigned second = 0; second <= 0xff; second++) {
			for (size_t t = 0; t < sizeof(tail_len) / sizeof(tail_len[0]); t++) {
				char s[8] = { (char)lead, (char)second };
				json_t *v;

				memcpy(s + 2, tails[t], tail_len[t]);
				v = strn(s, 2 + tail_len[t]);
				jbuf_reset(&b);
				if (check_same_in(&b, v))
					ok++;
				else
					bad++;
				json_decref(v);
			}
		}
	}
	/* both outcomes were reached, many times */
	assert_true(ok > 5000);
	assert_true(bad > 200000);
	jbuf_free(&b);
}

/* Long strings: escaping works in chunks, sequences straddle their ends. */
static void test_long_strings(void **state)
{
	static const char *pieces[] = {
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x90\x8d", "\n", "\x01", "\"",
	};
	size_t n = 20000;
	char *s = malloc(n);
	struct jbuf b;

	assert_non_null(s);
	jbuf_init(&b);
	for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
		size_t pl = strlen(pieces[p]);

		/* the piece at every offset around 4096 and 8192 */
		for (size_t at = 4086; at < 4100; at++) {
			for (size_t base = 0; base <= 4096; base += 4096) {
				json_t *v;

				memset(s, 'a', n);
				memcpy(s + base + at, pieces[p], pl);
				v = strn(s, n);
				jbuf_reset(&b);
				assert_true(check_same_in(&b, v));
				json_decref(v);
				/* and a bad byte there instead */
				s[base + at] = (char)0xff;
				v = strn(s, n);
				jbuf_reset(&b);
				assert_false(check_same_in(&b, v));
				json_decref(v);
			}
		}
	}
	/* the worst case: every byte a six-byte escape */
	memset(s, 0x1f, n);
	same_and_free(strn(s, n));
	/* all multi-byte */
	for (size_t i = 0; i + 3 <= n; i += 3)
		memcpy(s + i, "\xe2\x82\xac", 3);
	same_and_free(strn(s, n - n % 3));
	same_and_free(strn(s, n - n % 3 - 1));  /* truncated at the end */
	free(s);
	jbuf_free(&b);
}

/*
 * Strings and keys of every length up to 40 with one special byte at every
 * position: the short-string paths split at 4 and 8 bytes, and words of 8.
 */
static void test_every_length_and_position(void **state)
{
	static const char *specials[] = {
		"\x00", "\x1f", "\"", "\\", "\n", "\x7f", "/", "\x80", "\xff", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x90\x8d", "\xed\xa0\x80", "\xc3",
	};
	struct jbuf b;
	char s[48];

	jbuf_init(&b);
	for (size_t n = 0; n <= 40; n++) {
		for (size_t at = 0; at <= n; at++) {
			for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
				/* "\x00" has length 0 as a C string: always one byte */
				size_t sl = specials[k][0] ? strlen(specials[k]) : 1;
				size_t len = n;
				json_t *v, *o;

				memset(s, 'a' + (int)(n % 26), n);
				if (at < n) {
					if (at + sl > n)
						continue;
					memcpy(s + at, specials[k], sl);
				} else if (k) {
					continue;   /* at == n: the plain string, once */
				}
				v = strn(s, len);
				o = json_object();
				assert_non_null(o);
				setn_nocheck(o, s, len, json_integer((json_int_t)len));
				assert_int_equal(json_object_set_new(o, "v", v), 0);
				jbuf_reset(&b);
				check_same_in(&b, v);
				check_same_in(&b, o);
				json_decref(o);
			}
		}
	}
	jbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test(f)
		T(test_ascii_bytes),
		T(test_keys_needing_escapes),
		T(test_keys_with_nul),
		T(test_invalid_utf8),
		T(test_bad_key_jansson_differs),
		T(test_invalid_deep_rollback),
		T(test_utf8_boundaries),
		T(test_utf8_exhaustive),
		T(test_long_strings),
		T(test_every_length_and_position),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
