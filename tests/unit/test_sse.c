/* SPDX-License-Identifier: MIT */
/* Tests for the Server-Sent Events parser (src/decode/sse.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/sse.h"

/* Events as "event|data|id|retry|truncated\n" lines. */
struct out {
	char text[16384];
	size_t len;
	size_t n;
};

static void on_event(void *ctx, const struct sse_event *ev)
{
	struct out *o = ctx;
	int w = snprintf(o->text + o->len, sizeof(o->text) - o->len, "%s|%.*s|%s|%lld|%d\n",
			 ev->event, (int)ev->data_len, ev->data, ev->id, (long long)ev->retry_ms,
			 ev->truncated);

	assert_true(w > 0 && (size_t)w < sizeof(o->text) - o->len);
	assert_int_equal(strlen(ev->data), ev->data_len);
	o->len += (size_t)w;
	o->n++;
}

/* Parses s fed in pieces of `step` bytes (0: at once); finish if asked. */
static void parse(const char *s, size_t n, size_t step, bool finish, size_t max, struct out *o)
{
	struct sse_parser *p = sse_new(max, on_event, o);

	assert_non_null(p);
	memset(o, 0, sizeof(*o));
	if (step == 0)
		step = n ? n : 1;
	for (size_t pos = 0; pos < n; pos += step) {
		size_t k = n - pos < step ? n - pos : step;

		assert_int_equal(sse_feed(p, (const uint8_t *)s + pos, k), 0);
	}
	if (finish)
		assert_int_equal(sse_finish(p), 0);
	sse_free(p);
}

/* Same output at every piece size, and at every single split point. */
static void check(const char *s, bool finish, const char *want)
{
	size_t n = strlen(s);
	struct out o;

	for (size_t step = 0; step <= n; step++) {
		parse(s, n, step, finish, 0, &o);
		assert_string_equal(o.text, want);
	}
	for (size_t k = 1; k < n; k++) {
		struct sse_parser *p = sse_new(0, on_event, &o);

		assert_non_null(p);
		memset(&o, 0, sizeof(o));
		assert_int_equal(sse_feed(p, (const uint8_t *)s, k), 0);
		assert_int_equal(sse_feed(p, (const uint8_t *)s + k, n - k), 0);
		if (finish)
			assert_int_equal(sse_finish(p), 0);
		sse_free(p);
		assert_string_equal(o.text, want);
	}
}

static void test_anthropic_stream(void **state)
{
	check("event: message_start\n"
	      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n"
	      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	      "event: content_block_delta\n"
	      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"text\":\"Hello\"}}\n\n"
	      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	      false,
	      "message_start|{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}||-1|0\n"
	      "ping|{\"type\": \"ping\"}||-1|0\n"
	      "content_block_delta|{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	      "{\"text\":\"Hello\"}}||-1|0\n"
	      "message_stop|{\"type\":\"message_stop\"}||-1|0\n");
}

static void test_openai_stream(void **state)
{
	check("data: {\"choices\":[]}\n\ndata: [DONE]\n\n", false,
	      "message|{\"choices\":[]}||-1|0\nmessage|[DONE]||-1|0\n");
}

static void test_line_endings(void **state)
{
	check("data: a\r\ndata: b\r\n\r\ndata: c\rdata: d\r\rdata: e\n\n", false,
	      "message|a\nb||-1|0\nmessage|c\nd||-1|0\nmessage|e||-1|0\n");
	/* a CR at the end of a piece followed by LF in the next is one line end */
	check("data: x\r\n\r\n", false, "message|x||-1|0\n");
}

static void test_fields(void **state)
{
	check(": comment\n"
	      "data\n\n"                 /* field without colon: empty data line */
	      "data:no space\n\n"
	      "data:  two spaces\n\n"
	      "event: only an event\n\n" /* no data: not dispatched, event reset */
	      "id: 7\nretry: 1500\ndata: x\n\n"
	      "retry: 12a\nid\ndata: y\n\n"  /* bad retry ignored; empty id resets */
	      "unknown: field\ndata: z\n\n",
	      false,
	      "message|||-1|0\n"
	      "message|no space||-1|0\n"
	      "message| two spaces||-1|0\n"
	      "message|x|7|1500|0\n"
	      "message|y||1500|0\n"
	      "message|z||1500|0\n");
}

static void test_bom(void **state)
{
	check("\xef\xbb\xbf" "data: after bom\n\n", false, "message|after bom||-1|0\n");
	/* only at the very start, and only a whole BOM */
	check("\xef" "data: x\n\n", false, "");
	check("data: 1\n\n\xef\xbb\xbf" "data: 2\n\n", false, "message|1||-1|0\n");
}

static void test_final_event_needs_finish(void **state)
{
	struct out o;
	static const char s[] = "data: a\n\ndata: last";

	parse(s, sizeof(s) - 1, 0, false, 0, &o);
	assert_string_equal(o.text, "message|a||-1|0\n");
	check(s, true, "message|a||-1|0\nmessage|last||-1|0\n");
	check("data: a\n\n", true, "message|a||-1|0\n");
}

static void test_truncation(void **state)
{
	struct out o;
	static const char s[] = "data: 0123456789abcdef\n\ndata: ok\n\n";

	parse(s, sizeof(s) - 1, 3, false, 8, &o); /* the line is cut at 8 bytes */
	assert_string_equal(o.text, "message|01||-1|1\nmessage|ok||-1|0\n");
}

static void test_bad_args(void **state)
{
	struct out o;
	struct sse_parser *p = sse_new(0, on_event, &o);

	assert_null(sse_new(0, NULL, NULL));
	assert_non_null(p);
	assert_int_equal(sse_feed(p, NULL, 3), -EINVAL);
	assert_int_equal(sse_feed(p, NULL, 0), 0);
	assert_int_equal(sse_finish(NULL), -EINVAL);
	sse_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anthropic_stream),
		cmocka_unit_test(test_openai_stream),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_final_event_needs_finish),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
