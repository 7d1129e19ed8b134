/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP/1 decoder and the SSE parser.
 *
 * Input: one configuration byte (which limits to use), then chunks. Each
 * chunk starts with a byte: bit 7 the direction (1: to the client), bit 6
 * a gap flag, bits 0-5 a length n. A gap chunk declares n * 3 + 1 lost
 * bytes and carries no data; a data chunk carries the next n bytes (fewer
 * at the end of the input). Event-stream body bytes go through the SSE
 * parser. Besides the sanitizers, the target checks the decoder's promises
 * and aborts when one is broken.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http1.h"
#include "decode/sse.h"
#include "fuzz.h"

struct fuzz_ctx {
	struct http1_limits lim;
	struct sse_parser *sse;
	size_t messages;
};

static void check_message(const struct fuzz_ctx *f, const struct http1_message *m)
{
	CHECK(m->dir == HTTP1_TO_SERVER || m->dir == HTTP1_TO_CLIENT);
	CHECK(m->method && m->target && m->reason && m->version);
	CHECK(m->body_len <= f->lim.max_body);
	CHECK(m->body_cap == f->lim.max_body);
	CHECK(m->body_total >= m->body_len);
	CHECK(m->truncated || m->body_total == m->body_len || m->decode_error);
	CHECK(m->n_headers <= f->lim.max_headers);
	CHECK(m->n_trailers <= m->n_headers);
	CHECK((m->error != NULL) == m->decode_error);
	CHECK(m->ts_first_ns <= m->ts_last_ns);
	CHECK(!m->interim || (!m->is_request && m->status >= 100 && m->status < 200));
	for (size_t i = 0; i < m->n_headers; i++) {
		const char *n = m->headers[i].name;

		CHECK(n[0] != '\0');
		for (; *n; n++)
			CHECK(!(*n >= 'A' && *n <= 'Z') && *n != ':' && *n != ' ');
		CHECK(strlen(m->headers[i].value) < f->lim.max_header_bytes);
	}
	if (m->body_len > 0) {
		volatile uint8_t sum = 0;

		for (size_t i = 0; i < m->body_len; i++)
			sum ^= m->body[i]; /* every kept byte is readable */
		(void)sum;
	}
}

static void on_message(void *ctx, const struct http1_message *m)
{
	struct fuzz_ctx *f = ctx;

	check_message(f, m);
	f->messages++;
	if (m->event_stream && f->sse)
		CHECK(sse_finish(f->sse) == 0);
}

static void on_chunk(void *ctx, const struct http1_message *m, const uint8_t *p, size_t n)
{
	struct fuzz_ctx *f = ctx;

	check_message(f, m);
	CHECK(m->event_stream);
	if (f->sse)
		CHECK(sse_feed(f->sse, p, n) == 0);
}

static void on_event(void *ctx, const struct sse_event *ev)
{
	CHECK(ev->event && ev->data && ev->id);
	CHECK(strlen(ev->data) <= ev->data_len);
	CHECK(ev->retry_ms >= -1);
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx f = { { 0, 0, 0 }, NULL, 0 };
	struct http1_callbacks cb = { on_message, on_chunk, &f };
	struct http1_conn *c;
	uint64_t ts = 0;
	uint8_t cfg;

	if (size < 1)
		return 0;
	cfg = data[0];
	data++;
	size--;
	/* small limits half of the time, so that they are hit */
	f.lim.max_header_bytes = cfg & 1 ? 256 : HTTP1_DEFAULT_MAX_HEADER_BYTES;
	f.lim.max_headers = cfg & 2 ? 4 : HTTP1_DEFAULT_MAX_HEADERS;
	f.lim.max_body = cfg & 4 ? 64 : 1u << 20;
	f.sse = sse_new(cfg & 8 ? 16 : 0, on_event, &f);
	if (!f.sse)
		return 0;
	c = http1_conn_new(&f.lim, &cb);
	if (!c) {
		sse_free(f.sse);
		return 0;
	}
	while (size > 0) {
		uint8_t h = data[0];
		enum http1_dir dir = h & 0x80 ? HTTP1_TO_CLIENT : HTTP1_TO_SERVER;
		size_t n = h & 0x3f;

		data++;
		size--;
		ts += 1 + (h & 3);
		if (h & 0x40) {
			CHECK(http1_gap(c, dir, n * 3 + 1) == 0);
			continue;
		}
		if (n > size)
			n = size;
		CHECK(http1_feed(c, dir, data, n, ts) == 0);
		data += n;
		size -= n;
	}
	if (!(cfg & 16))
		CHECK(http1_close(c) == 0);
	http1_conn_free(c);
	CHECK(sse_finish(f.sse) == 0);
	sse_free(f.sse);
	return 0;
}
