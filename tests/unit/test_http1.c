/* SPDX-License-Identifier: MIT */
/*
 * Tests for the HTTP/1 decoder (src/decode/http1.c). Each test feeds the
 * bytes of a conversation and checks the messages that come out; the same
 * conversations are fed at every split point and byte by byte, which must
 * not change the output.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "decode/http1.h"
#include "decode/sse.h"

/* ---- collecting messages -------------------------------------------------- */

#define MAX_MSGS 32

struct msgcopy {
	enum http1_dir dir;
	uint64_t seq;
	bool is_request, interim;
	char method[16], target[256], version[16], reason[64];
	int status;
	char hdrs[4096]; /* "name=value\n" ... */
	size_t n_headers, n_trailers;
	uint8_t *body;
	size_t body_len;
	uint64_t body_total, wire;
	enum http1_coding_status coding;
	enum http1_framing framing;
	char cenc[32];
	bool truncated, incomplete, resynced, decode_error, event_stream;
	size_t body_cap;
	char error[128];
	uint64_t ts_first, ts_last;
};

struct collector {
	struct msgcopy m[MAX_MSGS];
	size_t n;
	char stream[65536]; /* on_body_chunk bytes, concatenated */
	size_t stream_len;
	size_t chunk_calls;
	struct sse_parser *sse; /* when set, on_body_chunk bytes are fed to it */
	char events[65536];     /* "event|data|id\n" per SSE event */
	size_t events_len;
};

static void on_message(void *ctx, const struct http1_message *m)
{
	struct collector *col = ctx;
	struct msgcopy *c;
	size_t off = 0;

	assert_true(col->n < MAX_MSGS);
	c = &col->m[col->n++];
	memset(c, 0, sizeof(*c));
	c->dir = m->dir;
	c->seq = m->seq;
	c->is_request = m->is_request;
	c->interim = m->interim;
	snprintf(c->method, sizeof(c->method), "%s", m->method);
	snprintf(c->target, sizeof(c->target), "%s", m->target);
	snprintf(c->version, sizeof(c->version), "%s", m->version);
	snprintf(c->reason, sizeof(c->reason), "%s", m->reason);
	c->status = m->status;
	for (size_t i = 0; i < m->n_headers; i++) {
		int w = snprintf(c->hdrs + off, sizeof(c->hdrs) - off, "%s=%s\n",
				 m->headers[i].name, m->headers[i].value);
		assert_true(w > 0 && (size_t)w < sizeof(c->hdrs) - off);
		off += (size_t)w;
	}
	c->n_headers = m->n_headers;
	c->n_trailers = m->n_trailers;
	c->body_len = m->body_len;
	c->body = malloc(m->body_len + 1);
	assert_non_null(c->body);
	if (m->body_len)
		memcpy(c->body, m->body, m->body_len);
	c->body[m->body_len] = 0;
	c->body_total = m->body_total;
	c->wire = m->wire_body_len;
	c->coding = m->coding;
	c->framing = m->framing;
	snprintf(c->cenc, sizeof(c->cenc), "%s", m->content_encoding ? m->content_encoding : "-");
	c->truncated = m->truncated;
	c->incomplete = m->incomplete;
	c->resynced = m->resynced;
	c->decode_error = m->decode_error;
	c->event_stream = m->event_stream;
	c->body_cap = m->body_cap;
	if (m->decode_error) {
		assert_non_null(m->error);
		snprintf(c->error, sizeof(c->error), "%s", m->error);
	} else {
		assert_null(m->error);
	}
	c->ts_first = m->ts_first_ns;
	c->ts_last = m->ts_last_ns;
}

static void on_event(void *ctx, const struct sse_event *ev)
{
	struct collector *col = ctx;
	int w = snprintf(col->events + col->events_len, sizeof(col->events) - col->events_len,
			 "%s|%s|%s\n", ev->event, ev->data, ev->id);

	assert_true(w > 0 && (size_t)w < sizeof(col->events) - col->events_len);
	col->events_len += (size_t)w;
}

static void on_chunk(void *ctx, const struct http1_message *m, const uint8_t *p, size_t n)
{
	struct collector *col = ctx;

	assert_true(m->event_stream);
	assert_true(n <= sizeof(col->stream) - col->stream_len);
	memcpy(col->stream + col->stream_len, p, n);
	col->stream_len += n;
	col->chunk_calls++;
	if (col->sse)
		assert_int_equal(sse_feed(col->sse, p, n), 0);
}

static void col_free(struct collector *col)
{
	for (size_t i = 0; i < col->n; i++)
		free(col->m[i].body);
	sse_free(col->sse);
	free(col);
}

static struct collector *col_new(void)
{
	struct collector *col = calloc(1, sizeof(*col));

	assert_non_null(col);
	return col;
}

static struct http1_conn *conn_new(struct collector *col, const struct http1_limits *lim)
{
	struct http1_callbacks cb = { on_message, on_chunk, col };
	struct http1_conn *c = http1_conn_new(lim, &cb);

	assert_non_null(c);
	return c;
}

/* Everything but timestamps, as text, to compare runs. */
static char *serialize(const struct collector *col)
{
	size_t cap = 1 << 20, off = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	for (size_t i = 0; i < col->n; i++) {
		const struct msgcopy *c = &col->m[i];
		int w = snprintf(s + off, cap - off,
				 "#%zu d%d s%llu r%d i%d [%s %s %s] %d [%s] {%s} t%zu f%d c%d e=%s "
				 "len%zu tot%llu w%llu T%d I%d R%d E%d(%s) S%d body=",
				 i, (int)c->dir, (unsigned long long)c->seq, c->is_request, c->interim,
				 c->method, c->target, c->version, c->status, c->reason, c->hdrs,
				 c->n_trailers, (int)c->framing, (int)c->coding, c->cenc, c->body_len,
				 (unsigned long long)c->body_total, (unsigned long long)c->wire,
				 c->truncated, c->incomplete, c->resynced, c->decode_error, c->error,
				 c->event_stream);
		assert_true(w > 0 && (size_t)w < cap - off);
		off += (size_t)w;
		assert_true(c->body_len < cap - off - 2);
		memcpy(s + off, c->body, c->body_len);
		off += c->body_len;
		s[off++] = '\n';
	}
	assert_true(col->stream_len < cap - off - 32);
	off += (size_t)snprintf(s + off, cap - off, "stream(%zu)=", col->stream_len);
	memcpy(s + off, col->stream, col->stream_len);
	off += col->stream_len;
	s[off] = '\0';
	return s;
}

/* ---- feeding -------------------------------------------------------------- */

struct convo {
	const uint8_t *req;
	size_t req_len;
	const uint8_t *resp;
	size_t resp_len;
};

#define CONVO(rq, rs) { (const uint8_t *)(rq), sizeof(rq) - 1, (const uint8_t *)(rs), sizeof(rs) - 1 }

/*
 * Feeds the requests, then the responses, each direction in pieces ending
 * at the given cut points (cuts beyond the length are ignored), then closes.
 */
static void feed_cuts(struct http1_conn *c, enum http1_dir dir, const uint8_t *p, size_t n,
		      const size_t *cuts, size_t n_cuts)
{
	size_t pos = 0;

	for (size_t i = 0; i < n_cuts; i++) {
		if (cuts[i] <= pos || cuts[i] >= n)
			continue;
		assert_int_equal(http1_feed(c, dir, p + pos, cuts[i] - pos, 1000 + i), 0);
		pos = cuts[i];
	}
	assert_int_equal(http1_feed(c, dir, p + pos, n - pos, 9999), 0);
}

static struct collector *run_convo(const struct convo *cv, const size_t *req_cuts, size_t n_rc,
				   const size_t *resp_cuts, size_t n_sc,
				   const struct http1_limits *lim)
{
	struct collector *col = col_new();
	struct http1_conn *c = conn_new(col, lim);

	feed_cuts(c, HTTP1_TO_SERVER, cv->req, cv->req_len, req_cuts, n_rc);
	feed_cuts(c, HTTP1_TO_CLIENT, cv->resp, cv->resp_len, resp_cuts, n_sc);
	assert_int_equal(http1_close(c), 0);
	http1_conn_free(c);
	return col;
}

static struct collector *run_whole(const struct convo *cv)
{
	return run_convo(cv, NULL, 0, NULL, 0, NULL);
}

static struct collector *run_bytewise(const struct convo *cv)
{
	struct collector *col = col_new();
	struct http1_conn *c = conn_new(col, NULL);

	for (size_t i = 0; i < cv->req_len; i++)
		assert_int_equal(http1_feed(c, HTTP1_TO_SERVER, cv->req + i, 1, i), 0);
	for (size_t i = 0; i < cv->resp_len; i++)
		assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, cv->resp + i, 1, i), 0);
	assert_int_equal(http1_close(c), 0);
	http1_conn_free(c);
	return col;
}

/*
 * Every single split of each direction, every split pair of the responses
 * (when pairs, and not too long), byte by byte.
 */
static void check_splits(const struct convo *cv, bool pairs)
{
	struct collector *base = run_whole(cv);
	char *want = serialize(base);
	struct collector *col;
	char *got;

	for (size_t k = 1; k < cv->req_len; k++) {
		col = run_convo(cv, &k, 1, NULL, 0, NULL);
		got = serialize(col);
		assert_string_equal(got, want);
		free(got);
		col_free(col);
	}
	for (size_t k = 1; k < cv->resp_len; k++) {
		col = run_convo(cv, NULL, 0, &k, 1, NULL);
		got = serialize(col);
		assert_string_equal(got, want);
		free(got);
		col_free(col);
	}
	if (pairs && cv->resp_len <= 400) {
		for (size_t a = 1; a < cv->resp_len; a++) {
			for (size_t b = a + 1; b < cv->resp_len; b++) {
				size_t cuts[2] = { a, b };

				col = run_convo(cv, cuts, 2, cuts, 2, NULL);
				got = serialize(col);
				assert_string_equal(got, want);
				free(got);
				col_free(col);
			}
		}
	}
	col = run_bytewise(cv);
	got = serialize(col);
	assert_string_equal(got, want);
	free(got);
	col_free(col);
	free(want);
	col_free(base);
}

static void check_all_splits(const struct convo *cv)
{
	check_splits(cv, true);
}

static const char *hdr(const struct msgcopy *m, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);

	for (const char *p = m->hdrs; *p;) {
		const char *end = strchr(p, '\n');

		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			snprintf(out, outsz, "%.*s", (int)(end - p - nl - 1), p + nl + 1);
			return out;
		}
		p = end + 1;
	}
	return NULL;
}

/* ---- framing --------------------------------------------------------------- */

static const struct convo cv_length = CONVO(
	"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nContent-Type: application/json\r\n"
	"Content-Length: 13\r\nX-Multi: a\r\nX-MULTI: b\r\n\r\n{\"model\":\"x\"}",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello");

static void test_content_length(void **state)
{
	struct collector *col = run_whole(&cv_length);
	const struct msgcopy *rq = &col->m[0], *rs = &col->m[1];
	char buf[64];

	assert_int_equal(col->n, 2);
	assert_true(rq->is_request);
	assert_int_equal(rq->dir, HTTP1_TO_SERVER);
	assert_string_equal(rq->method, "POST");
	assert_string_equal(rq->target, "/v1/messages");
	assert_string_equal(rq->version, "HTTP/1.1");
	assert_int_equal(rq->n_headers, 5);
	assert_string_equal(hdr(rq, "host", buf, sizeof(buf)), "api.anthropic.com");
	assert_non_null(strstr(rq->hdrs, "x-multi=a\nx-multi=b\n"));
	assert_int_equal(rq->framing, HTTP1_FRAMING_LENGTH);
	assert_int_equal(rq->body_len, 13);
	assert_string_equal((char *)rq->body, "{\"model\":\"x\"}");
	assert_false(rq->incomplete || rq->decode_error || rq->truncated);
	assert_int_equal(rq->seq, 0);

	assert_false(rs->is_request);
	assert_int_equal(rs->dir, HTTP1_TO_CLIENT);
	assert_int_equal(rs->status, 200);
	assert_string_equal(rs->reason, "OK");
	assert_string_equal((char *)rs->body, "hello");
	assert_int_equal(rs->coding, HTTP1_CODING_IDENTITY);
	assert_int_equal(rs->seq, 0);
	assert_int_equal(rs->ts_first, 9999);
	col_free(col);
	check_all_splits(&cv_length);
}

static const struct convo cv_chunked = CONVO(
	"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-Sum\r\n\r\n"
	"5;name=value;x=\"q\"\r\nhello\r\n6 ; ext\r\n world\r\n"
	"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 42\r\nX-Other:  z \r\n\r\n");

static void test_chunked(void **state)
{
	struct collector *col = run_whole(&cv_chunked);
	const struct msgcopy *rq = &col->m[0], *rs = &col->m[1];
	char buf[64];

	assert_int_equal(col->n, 2);
	assert_int_equal(rq->framing, HTTP1_FRAMING_CHUNKED);
	assert_string_equal((char *)rq->body, "abc");
	assert_int_equal(rs->framing, HTTP1_FRAMING_CHUNKED);
	assert_string_equal((char *)rs->body, "hello worldabcdefghijklmnopqrstuvwxyz");
	assert_int_equal(rs->n_headers, 4);
	assert_int_equal(rs->n_trailers, 2);
	assert_string_equal(hdr(rs, "x-sum", buf, sizeof(buf)), "42");
	assert_string_equal(hdr(rs, "x-other", buf, sizeof(buf)), "z");
	assert_false(rs->incomplete || rs->decode_error);
	col_free(col);
	check_all_splits(&cv_chunked);
}

static const struct convo cv_close = CONVO(
	"GET /old HTTP/1.0\r\n\r\n",
	"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of this\r\nuntil close");

static void test_close_delimited(void **state)
{
	struct collector *col = run_whole(&cv_close);

	assert_int_equal(col->n, 2);
	assert_string_equal(col->m[0].version, "HTTP/1.0");
	assert_int_equal(col->m[0].framing, HTTP1_FRAMING_NONE);
	assert_int_equal(col->m[1].framing, HTTP1_FRAMING_CLOSE);
	assert_string_equal((char *)col->m[1].body, "all of this\r\nuntil close");
	assert_false(col->m[1].incomplete);
	col_free(col);
	check_all_splits(&cv_close);
}

static const struct convo cv_pipelined = CONVO(
	"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
	"HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
	"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nBB\r\n0\r\n\r\n"
	"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");

static void test_pipelined(void **state)
{
	struct collector *col = run_whole(&cv_pipelined);

	assert_int_equal(col->n, 6);
	for (size_t i = 0; i < 3; i++) {
		assert_true(col->m[i].is_request);
		assert_int_equal(col->m[i].seq, i);
		assert_false(col->m[3 + i].is_request);
		assert_int_equal(col->m[3 + i].seq, i);
		assert_false(col->m[i].incomplete || col->m[3 + i].incomplete);
	}
	assert_string_equal(col->m[2].method, "HEAD");
	assert_string_equal((char *)col->m[1].body, "hi");
	assert_string_equal((char *)col->m[3].body, "A");
	assert_string_equal((char *)col->m[4].body, "BB");
	assert_int_equal(col->m[5].body_len, 0); /* response to HEAD */
	assert_int_equal(col->m[5].framing, HTTP1_FRAMING_NONE);
	col_free(col);
	check_all_splits(&cv_pipelined);
}

static const struct convo cv_nobody = CONVO(
	"POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"
	"GET /nc HTTP/1.1\r\n\r\nGET /nm HTTP/1.1\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"
	"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

static void test_no_body_responses(void **state)
{
	struct collector *col = run_whole(&cv_nobody);

	assert_int_equal(col->n, 8);
	assert_true(col->m[3].interim);
	assert_int_equal(col->m[3].status, 100);
	assert_int_equal(col->m[3].seq, 0);
	assert_false(col->m[4].interim);
	assert_int_equal(col->m[4].seq, 0);
	assert_string_equal((char *)col->m[4].body, "ok");
	assert_int_equal(col->m[5].status, 204);
	assert_int_equal(col->m[5].seq, 1);
	assert_int_equal(col->m[6].status, 304);
	assert_int_equal(col->m[6].seq, 2);
	assert_int_equal(col->m[6].body_len, 0);
	/* the 304's Content-Length did not eat the next response */
	assert_int_equal(col->m[7].status, 200);
	assert_int_equal(col->m[7].seq, 3);
	for (size_t i = 0; i < col->n; i++)
		assert_false(col->m[i].incomplete || col->m[i].decode_error);
	col_free(col);
	check_all_splits(&cv_nobody);
}

/* ---- content coding -------------------------------------------------------- */

/* windowBits: 31 gzip, 15 zlib, -15 raw deflate */
static size_t compress_with(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int wbits)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(deflateEnd(&z), Z_OK);
	return z.total_out;
}

static size_t compress_br(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t outn = cap;

	assert_int_equal(BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, n, in, &outn, out),
			 BROTLI_TRUE);
	return outn;
}

static size_t compress_zstd(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t outn = ZSTD_compress(out, cap, in, n, 3);

	assert_false(ZSTD_isError(outn));
	return outn;
}

/* ... with the optional content checksum, which the decoder then verifies */
static size_t compress_zstd_checksum(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t outn;

	assert_non_null(cc);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)));
	outn = ZSTD_compress2(cc, out, cap, in, n);
	assert_false(ZSTD_isError(outn));
	ZSTD_freeCCtx(cc);
	return outn;
}

/* A response carrying the content-coded bytes z[0..zn) as its body. */
static size_t build_coded_bytes(uint8_t *buf, size_t cap, const char *coding, const uint8_t *z,
				size_t zn, bool chunked)
{
	int w;

	if (chunked)
		w = snprintf((char *)buf, cap,
			     "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
			     coding, zn);
	else
		w = snprintf((char *)buf, cap, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
			     "Content-Length: %zu\r\n\r\n", coding, zn);
	assert_true(w > 0 && (size_t)w + zn + 16 < cap);
	memcpy(buf + w, z, zn);
	if (chunked) {
		memcpy(buf + w + zn, "\r\n0\r\n\r\n", 7);
		return (size_t)w + zn + 7;
	}
	return (size_t)w + zn;
}

static const char plain_text[] =
	"{\"id\":\"msg_01\",\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":"
	"\"Hello! Hello! Hello! Hello! Hello! Hello! Hello! Hello!\"}]}";

/*
 * The response with body z[0..zn) decodes to want, whole, at every split
 * point (and pair of them when pairs) and byte by byte.
 */
static void check_coded_splits(const char *coding, const uint8_t *z, size_t zn, bool chunked,
			       const char *want, bool pairs)
{
	uint8_t resp[8192];
	size_t n = build_coded_bytes(resp, sizeof(resp), coding, z, zn, chunked);
	struct convo cv = { (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, resp, n };
	struct collector *col = run_whole(&cv);
	const struct msgcopy *m = &col->m[1];

	assert_int_equal(col->n, 2);
	assert_false(m->decode_error);
	assert_int_equal(m->coding, HTTP1_CODING_DECODED);
	assert_string_equal(m->cenc, coding);
	assert_int_equal(m->body_len, strlen(want));
	assert_memory_equal(m->body, want, m->body_len);
	assert_int_equal(m->wire, zn);
	col_free(col);
	check_splits(&cv, pairs);
}

static void check_coded_bytes(const char *coding, const uint8_t *z, size_t zn, bool chunked,
			      const char *want)
{
	check_coded_splits(coding, z, zn, chunked, want, true);
}

/* ... without the split pairs, which cost much under ASan */
static void check_coded_quick(const char *coding, const uint8_t *z, size_t zn, bool chunked,
			      const char *want)
{
	check_coded_splits(coding, z, zn, chunked, want, false);
}

static void check_coded(const char *coding, int wbits, bool chunked)
{
	uint8_t z[4096];
	size_t zn = compress_with((const uint8_t *)plain_text, strlen(plain_text), z, sizeof(z),
				  wbits);

	assert_true(zn < strlen(plain_text));
	check_coded_bytes(coding, z, zn, chunked, plain_text);
}

static void test_gzip(void **state)
{
	check_coded("gzip", 31, false);
	check_coded("x-gzip", 31, true);
}

static void test_deflate(void **state)
{
	check_coded("deflate", 15, false);  /* zlib-wrapped, as the RFC says */
	check_coded("deflate", -15, true);  /* raw, as some servers send */
}

static void test_br(void **state)
{
	uint8_t z[4096];
	size_t zn = compress_br((const uint8_t *)plain_text, strlen(plain_text), z, sizeof(z) - 8);

	assert_true(zn < strlen(plain_text));
	check_coded_bytes("br", z, zn, false, plain_text);
	check_coded_quick("BR", z, zn, true, plain_text);
	/* bytes after the end of the stream are ignored */
	memcpy(z + zn, "JUNKJUNK", 8);
	check_coded_quick("br", z, zn + 8, false, plain_text);
}

static void test_zstd(void **state)
{
	uint8_t z[4096];
	size_t zn = compress_zstd((const uint8_t *)plain_text, strlen(plain_text), z, 2048);
	size_t zn2;
	char both[512];
	/* windows of 2^24 (accepted) and 2^25 (refused): frame header, one raw block "hi" */
	static const uint8_t win24[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70, 0x11, 0x00, 0x00, 'h', 'i' };
	static const uint8_t win25[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x78, 0x11, 0x00, 0x00, 'h', 'i' };
	/* a skippable frame of 3 bytes: magic 0x184D2A53, length, data */
	static const uint8_t skip[] = { 0x53, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'x', 'y', 'z' };
	uint8_t resp[512];
	size_t n;
	struct collector *col;

	assert_true(zn < strlen(plain_text));
	check_coded_bytes("zstd", z, zn, false, plain_text);
	check_coded_quick("zstd", z, zn, true, plain_text);
	/* RFC 8878: the data may be several frames, skippable ones included */
	zn2 = compress_zstd((const uint8_t *)"second frame", 12, z + zn, 1024);
	memcpy(z + zn + zn2, skip, sizeof(skip));
	memcpy(z + zn + zn2 + sizeof(skip), win24, sizeof(win24));
	snprintf(both, sizeof(both), "%ssecond framehi", plain_text);
	check_coded_quick("zstd", z, zn + zn2 + sizeof(skip) + sizeof(win24), false, both);
	/* after a frame, bytes that do not start one are ignored */
	memcpy(z + zn, "JUNKJUNK", 8);
	check_coded_quick("zstd", z, zn + 8, true, plain_text);
	memcpy(z + zn, "\x28\xb5\x2f", 3); /* three bytes of a magic, then the end */
	check_coded_quick("zstd", z, zn + 3, false, plain_text);

	/* a frame asking for a window beyond HTTP_ZSTD_WINDOW_LOG_MAX is refused */
	n = build_coded_bytes(resp, sizeof(resp), "zstd", win25, sizeof(win25), false);
	struct convo cv = { (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, resp, n };
	col = run_whole(&cv);
	assert_int_equal(col->n, 2);
	assert_true(col->m[1].decode_error);
	assert_string_equal(col->m[1].error, "zstd window larger than 16 MiB");
	assert_int_equal(col->m[1].body_len, 0);
	col_free(col);
	check_splits(&cv, false);
}

/*
 * A frame whose header bytes after the magic read as a skippable frame's
 * magic (descriptor 0x50, window 0x2a, content size 0x184d + 256), then
 * two empty raw blocks (which read as that skippable frame's size, 0) and
 * a last raw block with the content. libzstd 1.5.4, given the magic in one
 * call and the rest in another, decoded the "skippable frame" it saw at
 * the start of the second call and ended the frame there: the body failed
 * whole and decoded byte by byte. Regression test for that.
 */
static void test_zstd_header_in_pieces(void **state)
{
	static const uint8_t head[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x50, 0x2a, 0x4d, 0x18,
					0, 0, 0, 0, 0, 0 };
	const size_t len = 0x184d + 256;
	uint8_t *z = malloc(sizeof(head) + 3 + len);
	char *want = malloc(len + 1);
	size_t i;

	(void)state;
	assert_non_null(z);
	assert_non_null(want);
	for (i = 0; i < len; i++)
		want[i] = (char)('a' + i % 26);
	want[len] = '\0';
	memcpy(z, head, sizeof(head));
	/* last block, raw, len bytes: (len << 3) | 1, little-endian in 3 bytes */
	z[sizeof(head)] = (uint8_t)((len << 3 | 1) & 0xff);
	z[sizeof(head) + 1] = (uint8_t)((len << 3) >> 8 & 0xff);
	z[sizeof(head) + 2] = (uint8_t)((len << 3) >> 16 & 0xff);
	memcpy(z + sizeof(head) + 3, want, len);
	check_coded_quick("zstd", z, sizeof(head) + 3 + len, false, want);
	free(want);
	free(z);
}

static void test_coding_not_decoded(void **state)
{
	static const struct convo cv = CONVO(
		"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Encoding: compress\r\nContent-Length: 4\r\n\r\n\x1f\x9d\x90\x00"
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, br\r\nContent-Length: 2\r\n\r\nxy"
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope");
	struct collector *col = run_whole(&cv);

	assert_int_equal(col->n, 6);
	assert_int_equal(col->m[3].coding, HTTP1_CODING_NOT_DECODED);
	assert_string_equal(col->m[3].cenc, "compress");
	assert_int_equal(col->m[3].body_len, 4);
	assert_false(col->m[3].decode_error);
	assert_int_equal(col->m[4].coding, HTTP1_CODING_NOT_DECODED);
	assert_string_equal((char *)col->m[4].body, "xy");
	assert_true(col->m[5].decode_error);
	assert_string_equal(col->m[5].error, "invalid gzip data");
	col_free(col);
}

/*
 * Corrupt br and zstd bodies: reported with decode_error, the connection
 * goes on with the next message. Fed whole and byte by byte.
 */
static void test_coding_corrupt(void **state)
{
	uint8_t br[1024], zs[1024], resp[4096];
	size_t brn = compress_br((const uint8_t *)plain_text, strlen(plain_text), br, sizeof(br));
	size_t zsn = compress_zstd_checksum((const uint8_t *)plain_text, strlen(plain_text), zs,
					    sizeof(zs));
	size_t n = 0;
	static const char next[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char *const want[] = {
		"invalid brotli data", "invalid brotli data",
		"compressed body ends before its end of stream",
		"invalid zstd data", "invalid zstd data",
		"compressed body ends before its end of stream",
	};
	struct collector *col;

	br[brn / 2] ^= 0xff; /* brotli has no checksum: a flip may go unseen, this one does not */
	zs[zsn / 2] ^= 0x55; /* zstd: caught by the block decoder or the checksum */
	n += build_coded_bytes(resp + n, sizeof(resp) - n, "br", (const uint8_t *)"\xff\xff\xff\xff", 4,
			       false);
	n += build_coded_bytes(resp + n, sizeof(resp) - n, "br", br, brn, true);
	n += build_coded_bytes(resp + n, sizeof(resp) - n, "br", br, brn / 3, false);
	n += build_coded_bytes(resp + n, sizeof(resp) - n, "zstd", (const uint8_t *)"nope", 4, false);
	n += build_coded_bytes(resp + n, sizeof(resp) - n, "zstd", zs, zsn, true);
	n += build_coded_bytes(resp + n, sizeof(resp) - n, "zstd", zs, zsn / 3, false);
	assert_true(n + sizeof(next) < sizeof(resp));
	memcpy(resp + n, next, sizeof(next) - 1);
	n += sizeof(next) - 1;

	struct convo cv = { (const uint8_t *)"", 0, resp, n };
	for (int pass = 0; pass < 2; pass++) {
		col = pass == 0 ? run_whole(&cv) : run_bytewise(&cv);
		assert_int_equal(col->n, 7);
		for (size_t i = 0; i < 6; i++) {
			assert_true(col->m[i].decode_error);
			assert_int_equal(col->m[i].coding, HTTP1_CODING_DECODED);
			assert_string_equal(col->m[i].error, want[i]);
			assert_true(col->m[i].body_len <= strlen(plain_text));
		}
		assert_false(col->m[6].decode_error);
		assert_string_equal((char *)col->m[6].body, "ok");
		col_free(col);
	}
}

/* ---- limits ----------------------------------------------------------------- */

static void test_body_cap(void **state)
{
	struct http1_limits lim = { .max_body = 100 };
	struct collector *col = col_new();
	struct http1_conn *c = conn_new(col, &lim);
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
	uint8_t body[1000];
	static const char next[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	uint8_t *zeros = calloc(1, 1 << 20);
	uint8_t z[8192];
	size_t zn;
	char zhead[128];

	assert_non_null(zeros);
	memset(body, 'x', sizeof(body));
	assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, (const uint8_t *)head, sizeof(head) - 1, 1), 0);
	assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, body, sizeof(body), 2), 0);
	assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, (const uint8_t *)next, sizeof(next) - 1, 3), 0);
	/* 1 MiB of zeros, gzipped: the inflater stops at the cap */
	zn = compress_with(zeros, 1 << 20, z, sizeof(z), 31);
	snprintf(zhead, sizeof(zhead),
		 "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", zn);
	assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, (const uint8_t *)zhead, strlen(zhead), 4), 0);
	assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, z, zn, 5), 0);
	http1_conn_free(c);

	assert_int_equal(col->n, 3);
	assert_true(col->m[0].truncated);
	assert_int_equal(col->m[0].body_len, 100);
	assert_int_equal(col->m[0].body_cap, 100);
	assert_int_equal(col->m[0].body_total, 1000);
	assert_int_equal(col->m[0].ts_last, 2);
	assert_false(col->m[0].incomplete);
	assert_false(col->m[1].truncated);
	assert_string_equal((char *)col->m[1].body, "ok");
	assert_true(col->m[2].truncated);
	assert_int_equal(col->m[2].body_len, 100);
	assert_false(col->m[2].decode_error);
	free(zeros);
	col_free(col);
}

/* 256 MiB of zeros, br- or zstd-coded with a streaming encoder; returns the malloc'd bytes. */
static uint8_t *make_bomb(bool zstd, size_t *zn)
{
	static const uint8_t zeros[65536];
	size_t cap = 1 << 20, len = 0;
	uint8_t *z = malloc(cap);
	BrotliEncoderState *be = zstd ? NULL : BrotliEncoderCreateInstance(NULL, NULL, NULL);
	ZSTD_CCtx *ze = zstd ? ZSTD_createCCtx() : NULL;

	assert_non_null(z);
	assert_true(zstd ? ze != NULL : be != NULL);
	if (be) /* quality 11, the default, takes seconds; below 2 zeros barely shrink */
		assert_true(BrotliEncoderSetParameter(be, BROTLI_PARAM_QUALITY, 2));
	else
		assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(ze, ZSTD_c_compressionLevel, 1)));
	for (size_t round = 0; round <= 4096; round++) {
		bool last = round == 4096;
		const uint8_t *next_in = zeros;
		size_t avail_in = last ? 0 : sizeof(zeros);

		if (zstd) {
			ZSTD_inBuffer ib = { zeros, avail_in, 0 };
			size_t left;

			do {
				ZSTD_outBuffer ob = { z + len, cap - len, 0 };

				left = ZSTD_compressStream2(ze, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_continue);
				assert_false(ZSTD_isError(left));
				len += ob.pos;
				assert_true(len < cap);
			} while (ib.pos < ib.size || (last && left != 0));
			continue;
		}
		do {
			uint8_t *next_out = z + len;
			size_t avail_out = cap - len;

			assert_true(BrotliEncoderCompressStream(be, last ? BROTLI_OPERATION_FINISH
									 : BROTLI_OPERATION_PROCESS,
								&avail_in, &next_in, &avail_out, &next_out,
								NULL));
			len = (size_t)(next_out - z);
			assert_true(len < cap);
		} while (avail_in > 0 || (last && !BrotliEncoderIsFinished(be)));
	}
	BrotliEncoderDestroyInstance(be);
	ZSTD_freeCCtx(ze);
	*zn = len;
	return z;
}

/*
 * A decompression bomb stops at max_body: truncated, no error, and the
 * decoder quit after the first output chunk past the cap instead of
 * expanding 256 MiB.
 */
static void test_coding_bomb(void **state)
{
	for (int zstd = 0; zstd < 2; zstd++) {
		struct http1_limits lim = { .max_body = 1000 };
		struct collector *col = col_new();
		struct http1_conn *c = conn_new(col, &lim);
		size_t zn;
		uint8_t *z = make_bomb(zstd, &zn);
		char head[128];

		assert_true(zn < 64 * 1024); /* 256 MiB squeezed into a small body */
		snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
			 zstd ? "zstd" : "br", zn);
		assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, (const uint8_t *)head, strlen(head), 1),
				 0);
		assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, z, zn, 2), 0);
		assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT,
					    (const uint8_t *)"HTTP/1.1 204 No Content\r\n\r\n", 27, 3),
				 0);
		http1_conn_free(c);
		free(z);

		assert_int_equal(col->n, 2);
		assert_true(col->m[0].truncated);
		assert_false(col->m[0].decode_error);
		assert_int_equal(col->m[0].coding, HTTP1_CODING_DECODED);
		assert_int_equal(col->m[0].body_len, 1000);
		assert_int_equal(col->m[0].wire, zn);
		assert_true(col->m[0].body_total <= 1000 + 16384);
		for (size_t i = 0; i < 1000; i++)
			assert_int_equal(col->m[0].body[i], 0);
		assert_int_equal(col->m[1].status, 204);
		col_free(col);
	}
}

static void test_header_limits(void **state)
{
	struct http1_limits lim = { .max_header_bytes = 200, .max_headers = 4 };
	struct collector *col = col_new();
	struct http1_conn *c = conn_new(col, &lim);
	char big[512];
	static const char five[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n";
	static const char ok[] = "GET / HTTP/1.1\r\nA: 1\r\n\r\n";

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
	assert_int_equal(http1_feed(c, HTTP1_TO_SERVER, (const uint8_t *)big, sizeof(big), 1), 0);
	/* the direction is stopped: nothing more comes out of it */
	assert_int_equal(http1_feed(c, HTTP1_TO_SERVER, (const uint8_t *)ok, sizeof(ok) - 1, 2), 0);
	assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, (const uint8_t *)five, sizeof(five) - 1, 3), 0);
	assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, (const uint8_t *)five, sizeof(five) - 1, 4), 0);
	assert_int_equal(http1_close(c), 0);
	assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, (const uint8_t *)five, 1, 5), -EPIPE);
	http1_conn_free(c);

	assert_int_equal(col->n, 2);
	assert_true(col->m[0].decode_error && col->m[0].incomplete);
	assert_string_equal(col->m[0].error, "header section exceeds 200 bytes");
	assert_string_equal(col->m[0].method, "GET");
	assert_true(col->m[1].decode_error);
	assert_string_equal(col->m[1].error, "more than 4 header fields");
	assert_int_equal(col->m[1].dir, HTTP1_TO_CLIENT);
	col_free(col);
}

/* ---- lost bytes ------------------------------------------------------------- */

static void feed_str(struct http1_conn *c, enum http1_dir dir, const char *s, uint64_t ts)
{
	assert_int_equal(http1_feed(c, dir, (const uint8_t *)s, strlen(s), ts), 0);
}

static void test_gap_in_body(void **state)
{
	struct collector *col = col_new();
	struct http1_conn *c = conn_new(col, NULL);

	/* a hole inside a Content-Length body: the framing still holds */
	feed_str(c, HTTP1_TO_CLIENT, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1);
	assert_int_equal(http1_gap(c, HTTP1_TO_CLIENT, 4), 0);
	feed_str(c, HTTP1_TO_CLIENT, "hij", 2);
	/* a hole that runs past the end of a body: resync on the next status line */
	feed_str(c, HTTP1_TO_CLIENT, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 3);
	assert_int_equal(http1_gap(c, HTTP1_TO_CLIENT, 50), 0);
	feed_str(c, HTTP1_TO_CLIENT, "garbage tail of some other thing\r\nHTTP/1.1 xx\r\n", 4);
	feed_str(c, HTTP1_TO_CLIENT, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno", 5);
	/* a hole inside a chunked body's data, then in its size line */
	feed_str(c, HTTP1_TO_CLIENT, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 6);
	assert_int_equal(http1_gap(c, HTTP1_TO_CLIENT, 2), 0);
	feed_str(c, HTTP1_TO_CLIENT, "e\r\n1", 7);
	assert_int_equal(http1_gap(c, HTTP1_TO_CLIENT, 3), 0);
	feed_str(c, HTTP1_TO_CLIENT, "xyz\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!", 8);
	http1_conn_free(c);

	assert_int_equal(col->n, 5);
	assert_true(col->m[0].incomplete);
	assert_false(col->m[0].decode_error);
	assert_int_equal(col->m[0].body_len, 6);
	assert_string_equal((char *)col->m[0].body, "abchij");
	assert_int_equal(col->m[0].seq, 0);
	assert_true(col->m[1].incomplete);
	assert_string_equal((char *)col->m[1].body, "abc");
	assert_int_equal(col->m[2].status, 404);
	assert_true(col->m[2].resynced);
	assert_false(col->m[2].incomplete);
	assert_string_equal((char *)col->m[2].body, "no");
	assert_true(col->m[3].incomplete);
	assert_string_equal((char *)col->m[3].body, "abe");
	assert_int_equal(col->m[4].status, 200);
	assert_true(col->m[4].resynced);
	assert_string_equal((char *)col->m[4].body, "!");
	col_free(col);
}

static void test_gap_in_headers(void **state)
{
	struct collector *col = col_new();
	struct http1_conn *c = conn_new(col, NULL);

	feed_str(c, HTTP1_TO_SERVER, "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Le", 1);
	assert_int_equal(http1_gap(c, HTTP1_TO_SERVER, 100), 0);
	feed_str(c, HTTP1_TO_SERVER, "ngth: 5\r\n\r\n{\"a\":\"GET /x HTTP/1.1\"}\r\n", 2);
	feed_str(c, HTTP1_TO_SERVER, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n", 3);
	/* a gap between messages, then one that starts right after it */
	assert_int_equal(http1_gap(c, HTTP1_TO_SERVER, 10), 0);
	feed_str(c, HTTP1_TO_SERVER, "GET /after HTTP/1.1\r\n\r\n", 4);
	/* a gap inside a compressed body */
	feed_str(c, HTTP1_TO_CLIENT, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
		 "Content-Length: 20\r\n\r\n\x1f\x8b", 5);
	assert_int_equal(http1_gap(c, HTTP1_TO_CLIENT, 18), 0);
	http1_conn_free(c);

	assert_int_equal(col->n, 4);
	assert_true(col->m[0].incomplete);
	assert_string_equal(col->m[0].method, "POST");
	assert_string_equal(col->m[0].target, "/v1/messages");
	assert_string_equal(col->m[1].target, "/next");
	assert_true(col->m[1].resynced);
	assert_false(col->m[1].incomplete);
	assert_int_equal(col->m[1].seq, 1);
	assert_string_equal(col->m[2].target, "/after");
	assert_true(col->m[2].resynced);
	assert_true(col->m[3].incomplete);
	assert_true(col->m[3].decode_error);
	assert_string_equal(col->m[3].error, "bytes lost inside a compressed body");
	col_free(col);
}

static void test_malformed_and_close(void **state)
{
	struct collector *col = col_new();
	struct http1_conn *c = conn_new(col, NULL);

	feed_str(c, HTTP1_TO_SERVER, "GET / HTTP/1.1\r\nbad header line\r\n\r\n", 1);
	feed_str(c, HTTP1_TO_SERVER, "GET /ok HTTP/1.1\r\n\r\n", 2);
	feed_str(c, HTTP1_TO_SERVER, "POST /cut HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345", 3);
	feed_str(c, HTTP1_TO_CLIENT, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 4);
	feed_str(c, HTTP1_TO_CLIENT, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200", 5);
	assert_int_equal(http1_close(c), 0);
	http1_conn_free(c);

	assert_int_equal(col->n, 6);
	assert_true(col->m[0].decode_error);
	assert_string_equal(col->m[0].error, "malformed header line");
	assert_string_equal(col->m[1].target, "/ok");
	assert_false(col->m[1].decode_error);
	assert_true(col->m[2].decode_error);
	assert_string_equal(col->m[2].error, "bad chunk size");
	assert_string_equal((char *)col->m[3].body, "1");
	/* close: the cut request and the partial response are incomplete */
	assert_string_equal(col->m[4].target, "/cut");
	assert_true(col->m[4].incomplete);
	assert_string_equal((char *)col->m[4].body, "12345");
	assert_true(col->m[5].incomplete);
	assert_int_equal(col->m[5].dir, HTTP1_TO_CLIENT);
	col_free(col);
}

static void test_looks_like_start(void **state)
{
	assert_true(http1_looks_like_start((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
	assert_true(http1_looks_like_start((const uint8_t *)"POST /v1/messages", 17));
	assert_true(http1_looks_like_start((const uint8_t *)"HTTP/1.1 200 OK", 15));
	assert_true(http1_looks_like_start((const uint8_t *)"CONNECT api.x.com:443", 21));
	assert_false(http1_looks_like_start((const uint8_t *)"GET", 3));
	assert_false(http1_looks_like_start((const uint8_t *)"\x16\x03\x01\x02\x00", 5));
	assert_false(http1_looks_like_start((const uint8_t *)"PRI * HTTP/2.0\r\n", 16));
	assert_false(http1_looks_like_start((const uint8_t *)"HTTP/2 200", 10));
	assert_false(http1_looks_like_start((const uint8_t *)"GETX / HTTP/1.1", 15));
	assert_false(http1_looks_like_start(NULL, 0));
}

/* ---- streaming -------------------------------------------------------------- */

#define SSE_BODY                                                                                   \
	"event: message_start\n"                                                                   \
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\"}}\n\n"  \
	"event: content_block_start\n"                                                             \
	"data: {\"type\":\"content_block_start\",\"index\":0}\n\n"                                  \
	": ping comment\n"                                                                         \
	"event: content_block_delta\n"                                                             \
	"data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n"                  \
	"event: message_stop\n"                                                                    \
	"data: {\"type\":\"message_stop\"}\n\n"

static void test_sse_stream(void **state)
{
	static const char body[] = SSE_BODY;
	char resp[4096];
	size_t half = 100;
	int w = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
			 half, (int)half, body, sizeof(body) - 1 - half, body + half);
	struct convo cv = { (const uint8_t *)"POST /v1/messages HTTP/1.1\r\n\r\n", 30,
			    (const uint8_t *)resp, (size_t)w };
	static const char want_events[] =
		"message_start|{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\"}}|\n"
		"content_block_start|{\"type\":\"content_block_start\",\"index\":0}|\n"
		"content_block_delta|{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}|\n"
		"message_stop|{\"type\":\"message_stop\"}|\n";

	for (size_t k = 1; k < (size_t)w; k++) {
		struct collector *col = col_new();
		struct http1_conn *c = conn_new(col, NULL);

		col->sse = sse_new(0, on_event, col);
		assert_non_null(col->sse);
		feed_cuts(c, HTTP1_TO_SERVER, cv.req, cv.req_len, NULL, 0);
		for (size_t pos = 0; pos < (size_t)w; pos += k) {
			size_t n = (size_t)w - pos < k ? (size_t)w - pos : k;

			assert_int_equal(http1_feed(c, HTTP1_TO_CLIENT, cv.resp + pos, n, pos), 0);
		}
		assert_int_equal(col->n, 2);
		assert_true(col->m[1].event_stream);
		assert_int_equal(col->stream_len, sizeof(body) - 1);
		assert_memory_equal(col->stream, body, sizeof(body) - 1);
		assert_string_equal((char *)col->m[1].body, body);
		col->events[col->events_len] = '\0';
		assert_string_equal(col->events, want_events);
		http1_conn_free(c);
		col_free(col);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_close_delimited),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_no_body_responses),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_deflate),
		cmocka_unit_test(test_br),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_zstd_header_in_pieces),
		cmocka_unit_test(test_coding_not_decoded),
		cmocka_unit_test(test_coding_corrupt),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_coding_bomb),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_gap_in_body),
		cmocka_unit_test(test_gap_in_headers),
		cmocka_unit_test(test_malformed_and_close),
		cmocka_unit_test(test_looks_like_start),
		cmocka_unit_test(test_sse_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
