/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the compact JSON serializer (src/sinks/json_out.c),
 * with jansson's json_dumps as the reference.
 *
 * The input is parsed with json_loadb (any value, NULs allowed); when it
 * parses, json_out must give exactly the text of json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY), and fail where that fails. Parsed text is valid UTF-8
 * and at most JSON_PARSER_MAX_DEPTH (= JSON_OUT_MAX_DEPTH) deep, so there
 * the two must always agree.
 *
 * When the first byte is odd, the raw input also becomes a string through
 * json_stringn_nocheck (so any bytes, ill-formed UTF-8 included), checked the
 * same way, and an object key, where json_out must fail exactly when the
 * key is not valid UTF-8 (jansson 2.14 writes malformed JSON there instead,
 * akheron/jansson#655).
 *
 * Every json_out appends to a buffer holding "null" and reused from input to
 * input: a failure must leave that prefix alone.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sinks/json_out.h"
#include "fuzz.h"

#define PREFIX "null"
#define PREFIX_LEN 4

static struct jbuf out;  /* kept across inputs, as a sink keeps its buffer */

/* json_out(v) against json_dumps(v); refuse: json_out must fail regardless. */
static void compare(const json_t *v, bool refuse)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc;

	jbuf_reset(&out);
	CHECK(json_out(&out, json_null()) == 0);
	CHECK(out.len == PREFIX_LEN);
	rc = json_out(&out, v);
	if (!want || refuse) {
		CHECK(rc == -1);
		CHECK(out.len == PREFIX_LEN);
		CHECK(memcmp(out.p, PREFIX, PREFIX_LEN + 1) == 0);
	} else {
		size_t n = strlen(want);

		CHECK(rc == 0);
		CHECK(out.len == PREFIX_LEN + n);
		/* the NUL too */
		CHECK(memcmp(out.p + PREFIX_LEN, want, n + 1) == 0);
	}
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_error_t err;
	json_t *v = json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

	if (v) {
		compare(v, false);
		json_decref(v);
	}
	if (size && (data[0] & 1)) {
		json_t *o;
		bool key_ok;

		v = json_stringn_nocheck(text, size);
		CHECK(v);
		compare(v, false);
		json_decref(v);

		/* jansson's own UTF-8 check says whether the key is valid */
		v = json_stringn(text, size);
		key_ok = v != NULL;
		json_decref(v);
		o = json_object();
		CHECK(o);
		CHECK(json_object_setn_new_nocheck(o, text, size, json_integer((json_int_t)size)) == 0);
		compare(o, !key_ok);
		json_decref(o);
	}
	return 0;
}
