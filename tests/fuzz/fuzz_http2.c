/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP/2 decoder.
 *
 * Input: one configuration byte (which limits to use, whether to close,
 * whether the decoder is handed the client preface before the input), then
 * chunks as for fuzz_http1: each chunk starts with a byte: bit 7 the
 * direction (1: to the client), bit 6 a gap flag, bits 0-5 a length n. A
 * gap chunk declares n * 3 + 1 lost bytes and carries no data; a data
 * chunk carries the next n bytes (fewer at the end of the input). Besides
 * the sanitizers, the target checks the decoder's promises and aborts when
 * one is broken: every message well formed and within its limits, each
 * half of a stream (dir, seq) reported at most once, interim responses
 * only before the final one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http2.h"
#include "fuzz.h"

#define MAX_SEEN 4096

struct fuzz_ctx {
	struct http1_limits lim;
	uint64_t seen[MAX_SEEN]; /* dir << 32 | seq of every final message reported */
	size_t n_seen;
	size_t messages;
};

static void check_message(const struct fuzz_ctx *f, const struct http1_message *m)
{
	CHECK(m->dir == HTTP1_TO_SERVER || m->dir == HTTP1_TO_CLIENT);
	CHECK(m->is_request == (m->dir == HTTP1_TO_SERVER));
	CHECK(m->seq <= 0x7fffffffu);
	CHECK(m->method && m->target && m->reason && m->version);
	CHECK(strcmp(m->version, "HTTP/2") == 0);
	CHECK(m->body_cap <= f->lim.max_body);
	CHECK(m->body_len <= m->body_cap);
	CHECK(m->body_total >= m->body_len);
	CHECK(m->truncated || m->body_total == m->body_len || m->decode_error);
	CHECK(!m->truncated || m->body_len == m->body_cap || m->decode_error);
	CHECK(m->n_headers <= f->lim.max_headers);
	CHECK(m->n_trailers <= m->n_headers);
	CHECK((m->error != NULL) == m->decode_error);
	CHECK(m->ts_first_ns <= m->ts_last_ns);
	CHECK(!m->interim || (!m->is_request && m->status >= 100 && m->status < 200));
	CHECK(m->status == 0 || (m->status >= 100 && m->status <= 999));
	CHECK((m->headers != NULL) == (m->n_headers > 0));
	CHECK((m->body != NULL) == (m->body_len > 0));
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

static bool seen(const struct fuzz_ctx *f, uint64_t key)
{
	for (size_t i = 0; i < f->n_seen; i++) {
		if (f->seen[i] == key)
			return true;
	}
	return false;
}

static void on_message(void *ctx, const struct http1_message *m)
{
	struct fuzz_ctx *f = ctx;
	uint64_t key = (uint64_t)m->dir << 32 | m->seq;

	check_message(f, m);
	f->messages++;
	/* once per half; no interim response after the final one */
	CHECK(!seen(f, key));
	if (!m->interim && f->n_seen < MAX_SEEN)
		f->seen[f->n_seen++] = key;
}

static void on_chunk(void *ctx, const struct http1_message *m, const uint8_t *p, size_t n)
{
	struct fuzz_ctx *f = ctx;

	check_message(f, m);
	CHECK(m->event_stream);
	CHECK(!seen(f, (uint64_t)m->dir << 32 | m->seq));
	if (n > 0) {
		volatile uint8_t sum = 0;

		for (size_t i = 0; i < n; i++)
			sum ^= p[i];
		(void)sum;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct fuzz_ctx *f;
	struct http1_callbacks cb;
	struct http2_conn *c;
	uint64_t ts = 0;
	uint8_t cfg;

	if (size < 1)
		return 0;
	cfg = data[0];
	data++;
	size--;
	f = calloc(1, sizeof(*f));
	if (!f)
		return 0;
	/* small limits half of the time, so that they are hit */
	f->lim.max_header_bytes = cfg & 1 ? 256 : HTTP1_DEFAULT_MAX_HEADER_BYTES;
	f->lim.max_headers = cfg & 2 ? 4 : HTTP1_DEFAULT_MAX_HEADERS;
	f->lim.max_body = cfg & 4 ? 64 : 1u << 20;
	cb.on_message = on_message;
	cb.on_body_chunk = cfg & 8 ? NULL : on_chunk;
	cb.ctx = f;
	c = http2_conn_new(&f->lim, &cb);
	if (!c) {
		free(f);
		return 0;
	}
	/* the preface is given: mutations need not keep it intact */
	if (cfg & 32)
		CHECK(http2_feed(c, HTTP1_TO_SERVER, preface, sizeof(preface) - 1, ts) == 0);
	while (size > 0) {
		uint8_t h = data[0];
		enum http1_dir dir = h & 0x80 ? HTTP1_TO_CLIENT : HTTP1_TO_SERVER;
		size_t n = h & 0x3f;

		data++;
		size--;
		ts += 1 + (h & 3);
		if (h & 0x40) {
			CHECK(http2_gap(c, dir, n * 3 + 1) == 0);
			continue;
		}
		if (n > size)
			n = size;
		CHECK(http2_feed(c, dir, data, n, ts) == 0);
		data += n;
		size -= n;
	}
	if (!(cfg & 16)) {
		CHECK(http2_close(c) == 0);
		CHECK(http2_feed(c, HTTP1_TO_CLIENT, preface, 1, ts) == -EPIPE);
	}
	http2_conn_free(c);
	free(f);
	return 0;
}
