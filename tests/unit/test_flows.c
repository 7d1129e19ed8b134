/* SPDX-License-Identifier: MIT */
/*
 * Tests for payload reassembly and records (src/model/flows.c, exchange.c):
 * at_data records as the kernel makes them go in, http / llm_call /
 * tool_call records come out.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/redact.h"
#include "model/event_json.h"
#include "model/flows.h"

struct fx {
	struct at_stream_key skip_key;
	uint64_t skip_until;  /* what the flows asked the "kernel" to skip */
	int skips;
	struct ev_ctx ev;
	struct flows *f;
	json_t *out;          /* records emitted */
	uint64_t next_id;
	struct redact_ctx *redact;
	int first_calls;
	bool first_http;
	uint64_t off[2];      /* next offset per direction, for rec() */
};

static void sink(void *ctx, json_t *rec)
{
	struct fx *x = ctx;

	assert_int_equal(json_array_append(x->out, rec), 0);
}

static void first_bytes(void *ctx, uint32_t attach, bool http)
{
	struct fx *x = ctx;

	assert_int_equal(attach, 7);
	x->first_calls++;
	x->first_http = http;
}

static int skip_cb(void *ctx, const struct at_stream_key *k, uint64_t until)
{
	struct fx *x = ctx;

	x->skip_key = *k;
	x->skip_until = until;
	x->skips++;
	return 0;
}

static struct fx *fx_new_opts(bool redact, size_t max_body, bool skip)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct flows_opts o = { 0 };

	assert_non_null(x);
	ev_ctx_init(&x->ev);
	x->out = json_array();
	if (redact) {
		static const uint8_t key[32] = { 1, 2, 3 };

		x->redact = redact_ctx_new(key, sizeof(key));
		assert_non_null(x->redact);
	}
	o.sink.emit = sink;
	o.sink.ctx = x;
	o.sink.redact = x->redact;
	o.sink.next_id = &x->next_id;
	o.first_bytes = first_bytes;
	o.ctx = x;
	o.max_body = max_body;
	if (skip) {
		o.skip = skip_cb;
		o.skip_ctx = x;
	}
	x->f = flows_new(&o, &x->ev);
	assert_non_null(x->f);
	return x;
}

static struct fx *fx_new(bool redact)
{
	return fx_new_opts(redact, 0, false);
}

static void fx_free(struct fx *x)
{
	flows_free(x->f);
	json_decref(x->out);
	redact_ctx_free(x->redact);
	free(x);
}

/* One record: bytes s[0..n) of direction dir at offset off. */
static void rec_at(struct fx *x, uint8_t source, uint64_t conn, uint8_t dir, uint64_t off,
		   const char *s, size_t n)
{
	struct at_data *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	assert_true(n <= AT_DATA_MAX);
	d->h.kind = AT_EV_DATA;
	d->h.ts_ns = 1000 + off;
	d->h.session = 42;
	d->h.pid = 100;
	d->h.tid = 101;
	d->h.start_ns = 5;
	memcpy(d->h.comm, "agent", 6);
	d->conn = conn;
	d->offset = off;
	d->len = (uint32_t)n;
	d->dir = dir;
	d->source = source;
	d->attach = 7;
	memcpy(d->data, s, n);
	d->h.size = (uint32_t)(offsetof(struct at_data, data) + n);
	flows_data(x->f, d, d->h.size);
	free(d);
}

/* The next bytes of direction dir, in order. */
static void rec(struct fx *x, uint8_t dir, const char *s)
{
	size_t n = strlen(s);

	rec_at(x, AT_SRC_OPENSSL, 0xabc, dir, x->off[dir], s, n);
	x->off[dir] += n;
}

static json_t *only(struct fx *x, const char *type, size_t *count)
{
	json_t *found = NULL, *r;
	size_t i, n = 0;

	json_array_foreach(x->out, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "type")), type) == 0) {
			found = r;
			n++;
		}
	}
	if (count)
		*count = n;
	return found;
}

static const char *str_at(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static const char REQ[] = "POST /echo HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello";
static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nworld!";

static void test_exchange_in_pieces(void **state)
{
	struct fx *x = fx_new(false);
	json_t *h;
	size_t n;

	(void)state;
	rec(x, AT_DIR_OUT, "POST /echo HTTP/1.1\r\nHo");
	rec(x, AT_DIR_OUT, "st: example.test\r\nContent-Length: 5\r\n\r\nhel");
	rec(x, AT_DIR_OUT, "lo");
	rec(x, AT_DIR_IN, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nwor");
	rec(x, AT_DIR_IN, "ld!");
	h = only(x, "http", &n);
	assert_int_equal(n, 1);
	assert_string_equal(str_at(h, "request", "body"), "hello");
	assert_string_equal(str_at(h, "request", "host"), "example.test");
	assert_string_equal(str_at(h, "response", "body"), "world!");
	assert_string_equal(str_at(h, "source", NULL), "openssl");
	assert_true(json_is_true(json_object_get(h, "tls")));
	assert_int_equal(json_integer_value(json_object_get(h, "session")), 42);
	assert_int_equal(json_integer_value(json_object_get(h, "pid")), 100);
	assert_string_equal(str_at(h, "provider", NULL), "none");
	/* sha256("hello") */
	assert_string_equal(str_at(h, "request", "body_sha256"),
			    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	fx_free(x);
}

static void test_out_of_order_records(void **state)
{
	struct fx *x = fx_new(false);
	json_t *h;

	(void)state;
	rec_at(x, AT_SRC_OPENSSL, 1, AT_DIR_OUT, 0, REQ, 10);
	/* the third piece comes before the second */
	rec_at(x, AT_SRC_OPENSSL, 1, AT_DIR_OUT, 30, REQ + 30, sizeof(REQ) - 1 - 30);
	rec_at(x, AT_SRC_OPENSSL, 1, AT_DIR_OUT, 10, REQ + 10, 20);
	rec_at(x, AT_SRC_OPENSSL, 1, AT_DIR_IN, 0, RESP, sizeof(RESP) - 1);
	h = only(x, "http", NULL);
	assert_non_null(h);
	assert_string_equal(str_at(h, "request", "body"), "hello");
	assert_false(json_is_true(json_object_get(json_object_get(h, "request"), "incomplete")));
	assert_int_equal(flows_stats(x->f)->holes, 0);
	fx_free(x);
}

static void test_lost_record_is_a_hole(void **state)
{
	struct fx *x = fx_new(false);
	static const char big[] = "POST /a HTTP/1.1\r\nContent-Length: 30\r\n\r\n";
	json_t *h;
	uint64_t off;

	(void)state;
	rec_at(x, AT_SRC_SOCKET, 9, AT_DIR_OUT, 0, big, sizeof(big) - 1);
	off = sizeof(big) - 1;
	/* 10 body bytes lost, then 20 arrive */
	rec_at(x, AT_SRC_SOCKET, 9, AT_DIR_OUT, off + 10, "bbbbbbbbbbbbbbbbbbbb", 20);
	rec_at(x, AT_SRC_SOCKET, 9, AT_DIR_IN, 0, RESP, sizeof(RESP) - 1);
	flows_sock_closed(x->f, 9, 1);
	flows_tick(x->f, 1 + FLOWS_CLOSE_GRACE_NS);
	h = only(x, "http", NULL);
	assert_non_null(h);
	assert_true(json_is_true(json_object_get(json_object_get(h, "request"), "incomplete")));
	assert_string_equal(str_at(h, "response", "body"), "world!");
	assert_int_equal(flows_stats(x->f)->holes, 1);
	assert_int_equal(flows_stats(x->f)->hole_bytes, 10);
	assert_false(json_is_true(json_object_get(h, "tls")));
	fx_free(x);
}

static void test_reused_connection_starts_afresh(void **state)
{
	struct fx *x = fx_new(false);
	json_t *r;
	size_t i, n = 0;
	json_int_t conn[2] = { 0, 0 };

	(void)state;
	for (int round = 0; round < 2; round++) {
		rec_at(x, AT_SRC_OPENSSL, 5, AT_DIR_OUT, 0, REQ, sizeof(REQ) - 1);
		rec_at(x, AT_SRC_OPENSSL, 5, AT_DIR_IN, 0, RESP, sizeof(RESP) - 1);
	}
	json_array_foreach(x->out, i, r) {
		assert_true(n < 2);
		conn[n++] = json_integer_value(json_object_get(r, "conn"));
	}
	assert_int_equal(n, 2);
	assert_true(conn[0] != conn[1]);
	fx_free(x);
}

static void test_not_http_is_skipped_and_reported(void **state)
{
	struct fx *x = fx_new(false);

	(void)state;
	rec_at(x, AT_SRC_BORINGSSL, 3, AT_DIR_OUT, 0, "\x16\x03\x01garbage", 10);
	rec_at(x, AT_SRC_BORINGSSL, 3, AT_DIR_OUT, 10, REQ, sizeof(REQ) - 1);
	assert_int_equal(x->first_calls, 1);
	assert_false(x->first_http);
	assert_int_equal(flows_stats(x->f)->skipped_flows, 1);
	flows_proc_exit(x->f, 100);
	assert_int_equal(json_array_size(x->out), 0);

	rec_at(x, AT_SRC_BORINGSSL, 4, AT_DIR_OUT, 0, REQ, sizeof(REQ) - 1);
	assert_int_equal(x->first_calls, 2);
	assert_true(x->first_http);
	fx_free(x);
}

static void test_request_without_response_at_exit(void **state)
{
	struct fx *x = fx_new(false);
	json_t *h;

	(void)state;
	rec(x, AT_DIR_OUT, REQ);
	assert_int_equal(json_array_size(x->out), 0);
	flows_proc_exit(x->f, 100);
	h = only(x, "http", NULL);
	assert_non_null(h);
	assert_true(json_is_null(json_object_get(h, "response")));
	fx_free(x);
}

static void test_server_side_flow(void **state)
{
	struct fx *x = fx_new(false);
	json_t *h;

	(void)state;
	/* a session process that serves: requests come in */
	rec(x, AT_DIR_IN, REQ);
	rec(x, AT_DIR_OUT, RESP);
	h = only(x, "http", NULL);
	assert_non_null(h);
	assert_string_equal(str_at(h, "request", "body"), "hello");
	assert_string_equal(str_at(h, "response", "body"), "world!");
	fx_free(x);
}

static const char LLM_REQ_BODY[] =
	"{\"model\":\"claude-x\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
	"\"content\":\"my key AKIAZ7QXW3ERTY5UIOPL\"}]}";
static const char LLM_RESP_BODY[] =
	"{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\","
	"\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"Bash\","
	"\"input\":{\"command\":\"ls\"}}],\"stop_reason\":\"tool_use\","
	"\"usage\":{\"input_tokens\":12,\"output_tokens\":3}}";

static void test_llm_call_and_redaction(void **state)
{
	struct fx *x = fx_new(true);
	char req[1024], resp[1024];
	json_t *call, *tool, *h;
	char *dump;
	size_t n;

	(void)state;
	snprintf(req, sizeof(req),
		 "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
		 "x-api-key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789\r\n"
		 "anthropic-version: 2023-06-01\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(LLM_REQ_BODY), LLM_REQ_BODY);
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(LLM_RESP_BODY), LLM_RESP_BODY);
	rec(x, AT_DIR_OUT, req);
	rec(x, AT_DIR_IN, resp);
	call = only(x, "llm_call", &n);
	assert_int_equal(n, 1);
	assert_string_equal(str_at(call, "provider", NULL), "anthropic");
	assert_string_equal(str_at(call, "host", NULL), "api.anthropic.com");
	assert_string_equal(str_at(call, "path", NULL), "/v1/messages");
	tool = only(x, "tool_call", &n);
	assert_int_equal(n, 1);
	assert_string_equal(str_at(tool, "id", NULL), "toolu_9");
	assert_string_equal(str_at(tool, "name", NULL), "Bash");
	assert_string_equal(str_at(tool, "llm_call", NULL), str_at(call, "id", NULL));
	h = only(x, "http", NULL);
	assert_string_equal(str_at(h, "llm_call", NULL), str_at(call, "id", NULL));
	assert_true(json_integer_value(json_object_get(json_object_get(h, "request"),
						       "redactions")) >= 2);
	dump = json_dumps(x->out, JSON_COMPACT);
	assert_non_null(dump);
	assert_null(strstr(dump, "sk-ant-api03-abcdef"));
	assert_null(strstr(dump, "AKIAZ7QXW3ERTY5UIOPL"));
	assert_non_null(strstr(dump, "[REDACTED:"));
	free(dump);
	fx_free(x);
}

/* A long body past the cap: the kernel is asked to skip all of it but the
 * last byte; the jump is accounted for, not a loss. */
static void test_long_body_is_skipped(void **state)
{
	struct fx *x = fx_new_opts(false, 1000, true);
	static char chunk[AT_DATA_MAX];
	const uint64_t body = 3u << 20;
	char head[128];
	uint64_t off;
	json_t *h;
	int n;

	(void)state;
	memset(chunk, 'z', sizeof(chunk));
	rec_at(x, AT_SRC_OPENSSL, 8, AT_DIR_OUT, 0, "GET /big HTTP/1.1\r\n\r\n", 21);
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n",
		     (unsigned long long)body);
	rec_at(x, AT_SRC_OPENSSL, 8, AT_DIR_IN, 0, head, (size_t)n);
	off = (uint64_t)n;
	/* the first 16 KiB go past the 1000-byte cap; the remaining 3 MiB - 16 KiB
	 * are worth skipping */
	rec_at(x, AT_SRC_OPENSSL, 8, AT_DIR_IN, off, chunk, sizeof(chunk));
	off += sizeof(chunk);
	assert_int_equal(x->skips, 1);
	assert_int_equal(x->skip_key.conn, 8);
	assert_int_equal(x->skip_key.dir, AT_DIR_IN);
	assert_int_equal(x->skip_key.tgid, 100);
	assert_int_equal(x->skip_until, (uint64_t)n + body - 1);
	/* the kernel sends only the last byte */
	rec_at(x, AT_SRC_OPENSSL, 8, AT_DIR_IN, x->skip_until, "z", 1);
	h = only(x, "http", NULL);
	assert_non_null(h);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(h, "response"),
							    "body_total")), body);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(h, "response"),
							    "body_len")), 1000);
	assert_false(json_is_true(json_object_get(json_object_get(h, "response"), "incomplete")));
	assert_int_equal(flows_stats(x->f)->holes, 0);
	assert_int_equal(flows_stats(x->f)->skipped_bytes, body - sizeof(chunk) - 1);
	fx_free(x);
}

static void test_bad_records_are_ignored(void **state)
{
	struct fx *x = fx_new(false);
	struct at_data d;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.len = 100;
	flows_data(x->f, &d, offsetof(struct at_data, data) + 10); /* shorter than len */
	d.len = AT_DATA_MAX + 1;
	flows_data(x->f, &d, sizeof(d));
	d.len = 4;
	d.dir = 2;
	flows_data(x->f, &d, sizeof(d));
	assert_int_equal(flows_stats(x->f)->records, 0);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange_in_pieces),
		cmocka_unit_test(test_out_of_order_records),
		cmocka_unit_test(test_lost_record_is_a_hole),
		cmocka_unit_test(test_reused_connection_starts_afresh),
		cmocka_unit_test(test_not_http_is_skipped_and_reported),
		cmocka_unit_test(test_request_without_response_at_exit),
		cmocka_unit_test(test_server_side_flow),
		cmocka_unit_test(test_llm_call_and_redaction),
		cmocka_unit_test(test_long_body_is_skipped),
		cmocka_unit_test(test_bad_records_are_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
