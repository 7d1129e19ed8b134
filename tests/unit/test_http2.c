/* SPDX-License-Identifier: MIT */
/*
 * Tests for the HTTP/2 decoder (src/decode/http2.c, http2_msg.c). Each test
 * builds a conversation frame by frame (header blocks encoded with
 * nghttp2's own HPACK deflater, one per peer, frame headers by hand), feeds
 * it and checks the messages that come out. Most conversations are also fed
 * split at every point, byte by byte and in random pieces, which must not
 * change the output.
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
#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "decode/http2.h"

/* ---- collecting messages -------------------------------------------------- */

struct msgcopy {
	enum http1_dir dir;
	uint64_t seq;
	bool is_request, interim;
	char method[16], target[256], version[16];
	int status;
	char hdrs[8192]; /* "name=value\n" ... */
	size_t n_headers, n_trailers;
	uint8_t *body;
	size_t body_len;
	uint64_t body_total, wire;
	enum http1_coding_status coding;
	enum http1_framing framing;
	bool truncated, incomplete, decode_error, event_stream;
	size_t body_cap;
	char error[128];
	uint64_t ts_first, ts_last;
};

struct collector {
	struct msgcopy *m;
	size_t n, cap;
	char stream[65536]; /* on_body_chunk bytes, concatenated */
	size_t stream_len;
	size_t chunk_calls;
};

static void on_message(void *ctx, const struct http1_message *m)
{
	struct collector *col = ctx;
	struct msgcopy *c;
	size_t off = 0;

	if (col->n == col->cap) {
		col->cap = col->cap ? col->cap * 2 : 8;
		col->m = realloc(col->m, col->cap * sizeof(*col->m));
		assert_non_null(col->m);
	}
	c = &col->m[col->n++];
	memset(c, 0, sizeof(*c));
	c->dir = m->dir;
	c->seq = m->seq;
	c->is_request = m->is_request;
	assert_true(c->is_request == (m->dir == HTTP1_TO_SERVER));
	c->interim = m->interim;
	snprintf(c->method, sizeof(c->method), "%s", m->method);
	snprintf(c->target, sizeof(c->target), "%s", m->target);
	snprintf(c->version, sizeof(c->version), "%s", m->version);
	assert_string_equal(m->reason, "");
	c->status = m->status;
	for (size_t i = 0; i < m->n_headers; i++) {
		int w = snprintf(c->hdrs + off, sizeof(c->hdrs) - off, "%s=%s\n",
				 m->headers[i].name, m->headers[i].value);

		assert_true(w > 0 && (size_t)w < sizeof(c->hdrs) - off);
		off += (size_t)w;
	}
	c->n_headers = m->n_headers;
	c->n_trailers = m->n_trailers;
	assert_true(m->n_trailers <= m->n_headers);
	c->body_len = m->body_len;
	c->body = malloc(m->body_len + 1);
	assert_non_null(c->body);
	if (m->body_len)
		memcpy(c->body, m->body, m->body_len);
	c->body[m->body_len] = 0;
	c->body_total = m->body_total;
	assert_true(m->body_total >= m->body_len);
	assert_true(m->body_len <= m->body_cap);
	c->wire = m->wire_body_len;
	c->coding = m->coding;
	c->framing = m->framing;
	c->truncated = m->truncated;
	c->incomplete = m->incomplete;
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
	assert_true(c->ts_first <= c->ts_last);
}

static void on_chunk(void *ctx, const struct http1_message *m, const uint8_t *p, size_t n)
{
	struct collector *col = ctx;

	assert_true(m->event_stream);
	assert_true(n <= sizeof(col->stream) - col->stream_len);
	memcpy(col->stream + col->stream_len, p, n);
	col->stream_len += n;
	col->chunk_calls++;
}

static struct collector *col_new(void)
{
	struct collector *col = calloc(1, sizeof(*col));

	assert_non_null(col);
	return col;
}

static void col_free(struct collector *col)
{
	for (size_t i = 0; i < col->n; i++)
		free(col->m[i].body);
	free(col->m);
	free(col);
}

static struct http2_conn *conn_new(struct collector *col, const struct http1_limits *lim)
{
	struct http1_callbacks cb = { on_message, on_chunk, col };
	struct http2_conn *c = http2_conn_new(lim, &cb);

	assert_non_null(c);
	return c;
}

/* Everything but timestamps, as text, to compare runs. */
static char *serialize(const struct collector *col)
{
	size_t cap = 4 << 20, off = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	for (size_t i = 0; i < col->n; i++) {
		const struct msgcopy *c = &col->m[i];
		int w = snprintf(s + off, cap - off,
				 "#%zu d%d s%llu i%d [%s %s %s] %d {%s} t%zu f%d c%d len%zu tot%llu "
				 "w%llu cap%zu T%d I%d E%d(%s) S%d body=",
				 i, (int)c->dir, (unsigned long long)c->seq, c->interim, c->method,
				 c->target, c->version, c->status, c->hdrs, c->n_trailers,
				 (int)c->framing, (int)c->coding, c->body_len,
				 (unsigned long long)c->body_total, (unsigned long long)c->wire,
				 c->body_cap, c->truncated, c->incomplete, c->decode_error, c->error,
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

static const struct msgcopy *find_msg(const struct collector *col, enum http1_dir dir,
				      uint64_t seq)
{
	for (size_t i = 0; i < col->n; i++) {
		if (col->m[i].dir == dir && col->m[i].seq == seq && !col->m[i].interim)
			return &col->m[i];
	}
	fail_msg("no message dir %d seq %llu", (int)dir, (unsigned long long)seq);
	return NULL;
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

/* ---- building conversations ------------------------------------------------- */

enum { DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5,
       PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9 };
enum { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIO = 0x20 };

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

/* Bytes of one direction, fed as one piece of the conversation. */
struct seg {
	enum http1_dir dir;
	struct wbuf b;
	size_t gap; /* > 0: a gap of that many bytes, no data */
};

#define MAX_SEGS 64

struct h2cv {
	struct seg seg[MAX_SEGS];
	size_t n;
	nghttp2_hd_deflater *hd[2]; /* the client's encoder (to-server), the server's */
};

static void wb_put(struct wbuf *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;

		while (cap < w->len + n)
			cap *= 2;
		w->p = realloc(w->p, cap);
		assert_non_null(w->p);
		w->cap = cap;
	}
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void wb_u8(struct wbuf *w, uint8_t v)
{
	wb_put(w, &v, 1);
}

static void wb_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	wb_put(w, b, 4);
}

/* The buffer of dir to append to: the last segment when it is dir's, else a new one. */
static struct wbuf *out(struct h2cv *cv, enum http1_dir dir)
{
	if (cv->n == 0 || cv->seg[cv->n - 1].dir != dir || cv->seg[cv->n - 1].gap) {
		assert_true(cv->n < MAX_SEGS);
		memset(&cv->seg[cv->n], 0, sizeof(cv->seg[0]));
		cv->seg[cv->n++].dir = dir;
	}
	return &cv->seg[cv->n - 1].b;
}

static void add_gap(struct h2cv *cv, enum http1_dir dir, size_t lost)
{
	assert_true(cv->n < MAX_SEGS);
	memset(&cv->seg[cv->n], 0, sizeof(cv->seg[0]));
	cv->seg[cv->n].dir = dir;
	cv->seg[cv->n++].gap = lost;
}

static void frame_head(struct wbuf *w, size_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
	uint8_t h[9] = { (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
			 (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid };

	wb_put(w, h, sizeof(h));
}

static void frame(struct h2cv *cv, enum http1_dir dir, uint8_t type, uint8_t flags, uint32_t sid,
		  const void *p, size_t n)
{
	struct wbuf *w = out(cv, dir);

	frame_head(w, n, type, flags, sid);
	wb_put(w, p, n);
}

/* The client preface and SETTINGS both ways (settings: the client's payload). */
static void cv_init_settings(struct h2cv *cv, const void *settings, size_t n, size_t server_table)
{
	memset(cv, 0, sizeof(*cv));
	assert_int_equal(nghttp2_hd_deflate_new(&cv->hd[HTTP1_TO_SERVER], 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&cv->hd[HTTP1_TO_CLIENT], server_table), 0);
	wb_put(out(cv, HTTP1_TO_SERVER), PREFACE, 24);
	frame(cv, HTTP1_TO_SERVER, SETTINGS, 0, 0, settings, n);
	frame(cv, HTTP1_TO_CLIENT, SETTINGS, 0, 0, "\x00\x03\x00\x00\x00\x64", 6);
	frame(cv, HTTP1_TO_CLIENT, SETTINGS, ACK, 0, NULL, 0);
	frame(cv, HTTP1_TO_SERVER, SETTINGS, ACK, 0, NULL, 0);
}

static void cv_init(struct h2cv *cv)
{
	cv_init_settings(cv, "\x00\x02\x00\x00\x00\x00", 6, 4096); /* ENABLE_PUSH 0 */
}

static void cv_free(struct h2cv *cv)
{
	for (size_t i = 0; i < cv->n; i++)
		free(cv->seg[i].b.p);
	nghttp2_hd_deflate_del(cv->hd[0]);
	nghttp2_hd_deflate_del(cv->hd[1]);
}

/* HPACK-encodes the NULL-terminated name, value list kv with dir's encoder. */
static size_t encode(struct h2cv *cv, enum http1_dir dir, const char *const *kv, uint8_t *buf,
		     size_t cap)
{
	nghttp2_nv nva[64];
	size_t n = 0;
	ptrdiff_t rv;

	for (; kv[2 * n]; n++) {
		assert_true(n < 64);
		nva[n].name = (uint8_t *)kv[2 * n];
		nva[n].namelen = strlen(kv[2 * n]);
		nva[n].value = (uint8_t *)kv[2 * n + 1];
		nva[n].valuelen = strlen(kv[2 * n + 1]);
		nva[n].flags = NGHTTP2_NV_FLAG_NONE;
	}
#if NGHTTP2_VERSION_NUM >= 0x013c00
	rv = nghttp2_hd_deflate_hd2(cv->hd[dir], buf, cap, nva, n);
#else
	rv = nghttp2_hd_deflate_hd(cv->hd[dir], buf, cap, nva, n);
#endif
	assert_true(rv >= 0);
	return (size_t)rv;
}

struct hopts {
	size_t frag;  /* > 0: fragments of at most this size, in CONTINUATION frames */
	int pad;      /* >= 0: the HEADERS frame is padded with that many bytes */
	bool prio;    /* the HEADERS frame carries the PRIORITY fields */
	uint8_t type; /* 0: HEADERS; or PUSH_PROMISE */
	uint32_t promised;
};

/* A header block on stream sid, as HEADERS (+ CONTINUATION) frames. */
static size_t headers_opt(struct h2cv *cv, enum http1_dir dir, uint32_t sid, bool end_stream,
			  const struct hopts *o, const char *const *kv)
{
	uint8_t block[16384];
	size_t n = encode(cv, dir, kv, block, sizeof(block));
	size_t first = o->frag && o->frag < n ? o->frag : n;
	uint8_t type = o->type ? o->type : HEADERS;
	uint8_t flags = (end_stream ? END_STREAM : 0) | (first == n ? END_HEADERS : 0);
	size_t extra = 0;
	struct wbuf *w = out(cv, dir);

	if (o->pad >= 0)
		extra += 1 + (size_t)o->pad;
	if (o->prio)
		extra += 5;
	if (type == PUSH_PROMISE)
		extra += 4;
	flags |= (o->pad >= 0 ? PADDED : 0) | (o->prio ? PRIO : 0);
	frame_head(w, first + extra, type, flags, sid);
	if (o->pad >= 0)
		wb_u8(w, (uint8_t)o->pad);
	if (o->prio) {
		wb_u32(w, 0);
		wb_u8(w, 15);
	}
	if (type == PUSH_PROMISE)
		wb_u32(w, o->promised);
	wb_put(w, block, first);
	for (int i = 0; i < o->pad; i++)
		wb_u8(w, 0);
	for (size_t off = first; off < n;) {
		size_t k = n - off < o->frag ? n - off : o->frag;

		frame_head(w, k, CONTINUATION, off + k == n ? END_HEADERS : 0, sid);
		wb_put(w, block + off, k);
		off += k;
	}
	return n;
}

static size_t headers(struct h2cv *cv, enum http1_dir dir, uint32_t sid, bool end_stream,
		      const char *const *kv)
{
	struct hopts o = { 0, -1, false, 0, 0 };

	return headers_opt(cv, dir, sid, end_stream, &o, kv);
}

/* DATA frames of at most max bytes each (0: one frame); pad >= 0: padded. */
static void data(struct h2cv *cv, enum http1_dir dir, uint32_t sid, bool end_stream,
		 const void *p, size_t n, size_t max, int pad)
{
	const uint8_t *b = p;
	size_t off = 0;

	do {
		size_t k = max && n - off > max ? max : n - off;
		bool last = off + k == n;
		struct wbuf *w = out(cv, dir);
		uint8_t flags = (last && end_stream ? END_STREAM : 0) | (pad >= 0 ? PADDED : 0);

		frame_head(w, k + (pad >= 0 ? 1 + (size_t)pad : 0), DATA, flags, sid);
		if (pad >= 0)
			wb_u8(w, (uint8_t)pad);
		if (k > 0)
			wb_put(w, b + off, k);
		for (int i = 0; i < pad; i++)
			wb_u8(w, 0xee);
		off += k;
	} while (off < n);
}

static void rst(struct h2cv *cv, enum http1_dir dir, uint32_t sid, uint32_t code)
{
	struct wbuf *w = out(cv, dir);

	frame_head(w, 4, RST_STREAM, 0, sid);
	wb_u32(w, code);
}

static void goaway(struct h2cv *cv, enum http1_dir dir, uint32_t last, uint32_t code)
{
	struct wbuf *w = out(cv, dir);

	frame_head(w, 8 + 5, GOAWAY, 0, 0);
	wb_u32(w, last);
	wb_u32(w, code);
	wb_put(w, "debug", 5);
}

#define KV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- feeding ---------------------------------------------------------------- */

/*
 * How each segment is cut: split > 0: at that offset (when inside); else
 * pieces of 1..chunk bytes (seeded), chunk 0 meaning whole.
 */
struct cutting {
	size_t split;
	size_t chunk;
	unsigned seed;
};

static size_t next_piece(struct cutting *k, size_t pos, size_t left)
{
	if (k->split) {
		if (pos < k->split && k->split < pos + left)
			return k->split - pos;
		return left;
	}
	if (k->chunk == 0)
		return left;
	k->seed = k->seed * 1103515245u + 12345u;
	return 1 + (k->seed >> 8) % k->chunk < left ? 1 + (k->seed >> 8) % k->chunk : left;
}

static struct collector *run_cut(const struct h2cv *cv, const struct http1_limits *lim,
				 struct cutting k, bool close)
{
	struct collector *col = col_new();
	struct http2_conn *c = conn_new(col, lim);

	for (size_t i = 0; i < cv->n; i++) {
		const struct seg *s = &cv->seg[i];
		size_t pos = 0, piece = 0;

		if (s->gap) {
			assert_int_equal(http2_gap(c, s->dir, s->gap), 0);
			continue;
		}
		while (pos < s->b.len) {
			size_t n = next_piece(&k, pos, s->b.len - pos);

			assert_int_equal(http2_feed(c, s->dir, s->b.p + pos, n,
						    1000 * (i + 1) + piece++), 0);
			pos += n;
		}
	}
	if (close)
		assert_int_equal(http2_close(c), 0);
	http2_conn_free(c);
	return col;
}

static struct collector *run_lim(const struct h2cv *cv, const struct http1_limits *lim)
{
	struct cutting k = { 0, 0, 0 };

	return run_cut(cv, lim, k, true);
}

static struct collector *run(const struct h2cv *cv)
{
	return run_lim(cv, NULL);
}

static void expect_same(const struct h2cv *cv, const struct http1_limits *lim, const char *want,
			struct cutting k)
{
	struct collector *col = run_cut(cv, lim, k, true);
	char *got = serialize(col);

	assert_string_equal(got, want);
	free(got);
	col_free(col);
}

/* Every split point of every segment, byte by byte, random pieces: same output. */
static void check_all_splits_lim(const struct h2cv *cv, const struct http1_limits *lim)
{
	struct collector *base = run_lim(cv, lim);
	char *want = serialize(base);
	size_t longest = 0;

	for (size_t i = 0; i < cv->n; i++)
		longest = cv->seg[i].b.len > longest ? cv->seg[i].b.len : longest;
	for (size_t split = 1; split < longest; split++) {
		struct cutting k = { split, 0, 0 };

		expect_same(cv, lim, want, k);
	}
	for (unsigned seed = 1; seed <= 20; seed++) {
		struct cutting k = { 0, seed % 4 == 0 ? 1 : seed * 3, seed };

		expect_same(cv, lim, want, k);
	}
	free(want);
	col_free(base);
}

static void check_all_splits(const struct h2cv *cv)
{
	check_all_splits_lim(cv, NULL);
}

static void assert_clean(const struct msgcopy *m)
{
	if (m->incomplete || m->decode_error || m->truncated)
		fail_msg("seq %llu dir %d: incomplete %d error %d (%s) truncated %d",
			 (unsigned long long)m->seq, (int)m->dir, m->incomplete, m->decode_error,
			 m->error, m->truncated);
}

/* ---- basic exchanges ---------------------------------------------------------- */

static void test_get_200(void **state)
{
	struct h2cv cv;
	struct collector *col;
	const struct msgcopy *rq, *rs;
	char buf[64];

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "api.example.com",
		   ":path", "/v1/models?x=1", "user-agent", "test/1.0", "accept", "*/*"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false,
		KV(":status", "200", "content-type", "application/json", "content-length", "13",
		   "X-Upper", "v"));
	data(&cv, HTTP1_TO_CLIENT, 1, true, "{\"data\":[1]}\n", 13, 0, -1);
	col = run(&cv);

	assert_int_equal(col->n, 2);
	rq = &col->m[0];
	rs = &col->m[1];
	assert_true(rq->is_request);
	assert_int_equal(rq->seq, 1);
	assert_string_equal(rq->method, "GET");
	assert_string_equal(rq->target, "/v1/models?x=1");
	assert_string_equal(rq->version, "HTTP/2");
	assert_string_equal(rq->hdrs, "host=api.example.com\nuser-agent=test/1.0\naccept=*/*\n");
	assert_int_equal(rq->framing, HTTP1_FRAMING_NONE);
	assert_int_equal(rq->body_len, 0);
	assert_clean(rq);
	assert_int_equal(rq->ts_first, 3000); /* the third segment */

	assert_false(rs->is_request);
	assert_int_equal(rs->seq, 1);
	assert_int_equal(rs->status, 200);
	assert_string_equal(rs->version, "HTTP/2");
	assert_string_equal(hdr(rs, "content-type", buf, sizeof(buf)), "application/json");
	assert_string_equal(hdr(rs, "x-upper", buf, sizeof(buf)), "v"); /* lower-cased */
	assert_null(hdr(rs, ":status", buf, sizeof(buf)));
	assert_int_equal(rs->framing, HTTP1_FRAMING_LENGTH);
	assert_int_equal(rs->coding, HTTP1_CODING_IDENTITY);
	assert_string_equal((char *)rs->body, "{\"data\":[1]}\n");
	assert_int_equal(rs->wire, 13);
	assert_int_equal(rs->body_cap, HTTP1_DEFAULT_MAX_BODY);
	assert_clean(rs);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_post_many_data_frames(void **state)
{
	struct h2cv cv;
	struct collector *col;
	uint8_t body[3000];
	unsigned seed = 7;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)('a' + i % 26);
	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, false,
		KV(":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/up",
		   "host", "explicit", "content-type", "application/octet-stream"));
	/* frames of random sizes, some empty */
	for (size_t off = 0; off < sizeof(body);) {
		size_t k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % 200;
		if (k > sizeof(body) - off)
			k = sizeof(body) - off;
		data(&cv, HTTP1_TO_SERVER, 1, false, body + off, k, 0, -1);
		off += k;
	}
	data(&cv, HTTP1_TO_SERVER, 1, true, NULL, 0, 0, -1);
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "201"));
	data(&cv, HTTP1_TO_CLIENT, 1, true, "ok", 2, 1, -1);
	col = run(&cv);

	assert_int_equal(col->n, 2);
	assert_string_equal(col->m[0].method, "POST");
	/* an explicit host wins over :authority */
	assert_string_equal(col->m[0].hdrs, "host=explicit\ncontent-type=application/octet-stream\n");
	assert_int_equal(col->m[0].framing, HTTP1_FRAMING_CLOSE);
	assert_int_equal(col->m[0].body_len, sizeof(body));
	assert_memory_equal(col->m[0].body, body, sizeof(body));
	assert_clean(&col->m[0]);
	assert_int_equal(col->m[1].status, 201);
	assert_string_equal((char *)col->m[1].body, "ok");
	assert_clean(&col->m[1]);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_concurrent_streams(void **state)
{
	struct h2cv cv;
	struct collector *col;
	char bodies[10][64];

	cv_init(&cv);
	for (uint32_t i = 0; i < 10; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/req/%u", 2 * i + 1);
		headers(&cv, HTTP1_TO_SERVER, 2 * i + 1, false,
			KV(":method", "POST", ":scheme", "https", ":authority", "h", ":path", path));
	}
	/* request bodies interleaved: a piece of every stream in turn */
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < 10; i++) {
			char piece[16];
			int n = snprintf(piece, sizeof(piece), "r%u.%d;", 2 * i + 1, round);

			data(&cv, HTTP1_TO_SERVER, 2 * i + 1, round == 2, piece, (size_t)n, 0, -1);
		}
	}
	/* responses in reverse order, also interleaved */
	for (int i = 9; i >= 0; i--) {
		char st[8];

		snprintf(st, sizeof(st), "%d", 200 + i);
		headers(&cv, HTTP1_TO_CLIENT, 2 * (uint32_t)i + 1, false, KV(":status", st));
	}
	for (int i = 0; i < 10; i++)
		snprintf(bodies[i], sizeof(bodies[i]), "response body of stream %d", 2 * i + 1);
	for (size_t off = 0; off < 30; off += 5) {
		for (int i = 9; i >= 0; i--) {
			size_t len = strlen(bodies[i]);

			if (off >= len)
				continue;
			data(&cv, HTTP1_TO_CLIENT, 2 * (uint32_t)i + 1, off + 5 >= len, bodies[i] + off,
			     len - off < 5 ? len - off : 5, 0, -1);
		}
	}
	col = run(&cv);

	assert_int_equal(col->n, 20);
	for (uint32_t i = 0; i < 10; i++) {
		const struct msgcopy *rq = find_msg(col, HTTP1_TO_SERVER, 2 * i + 1);
		const struct msgcopy *rs = find_msg(col, HTTP1_TO_CLIENT, 2 * i + 1);
		char want[64], path[32];

		snprintf(want, sizeof(want), "r%u.0;r%u.1;r%u.2;", 2 * i + 1, 2 * i + 1, 2 * i + 1);
		snprintf(path, sizeof(path), "/req/%u", 2 * i + 1);
		assert_string_equal((char *)rq->body, want);
		assert_string_equal(rq->target, path);
		assert_int_equal(rs->status, 200 + (int)i);
		assert_string_equal((char *)rs->body, bodies[i]);
		assert_clean(rq);
		assert_clean(rs);
	}
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

/* ---- bodies ------------------------------------------------------------------- */

static size_t gzip_bytes(const uint8_t *in, size_t n, uint8_t *out_buf, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out_buf;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(deflateEnd(&z), Z_OK);
	return z.total_out;
}

static void test_gzip_response(void **state)
{
	struct h2cv cv;
	struct collector *col;
	char plain[2000];
	uint8_t gz[2100];
	size_t gn;
	const struct msgcopy *rs;

	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = "hello, gzip world! "[i % 19];
	gn = gzip_bytes((const uint8_t *)plain, sizeof(plain), gz, sizeof(gz));
	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/",
		   "accept-encoding", "gzip"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false,
		KV(":status", "200", "content-encoding", "gzip", "content-type", "text/plain"));
	data(&cv, HTTP1_TO_CLIENT, 1, true, gz, gn, 7, -1);
	col = run(&cv);

	assert_int_equal(col->n, 2);
	rs = &col->m[1];
	assert_int_equal(rs->coding, HTTP1_CODING_DECODED);
	assert_int_equal(rs->framing, HTTP1_FRAMING_CLOSE);
	assert_int_equal(rs->body_len, sizeof(plain));
	assert_memory_equal(rs->body, plain, sizeof(plain));
	assert_int_equal(rs->wire, gn);
	assert_clean(rs);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_gzip_cut_short(void **state)
{
	struct h2cv cv;
	struct collector *col;
	char plain[500];
	uint8_t gz[600];
	size_t gn;

	memset(plain, 'z', sizeof(plain));
	gn = gzip_bytes((const uint8_t *)plain, sizeof(plain), gz, sizeof(gz));
	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "200", "content-encoding", "gzip"));
	data(&cv, HTTP1_TO_CLIENT, 1, true, gz, gn - 4, 0, -1);
	col = run(&cv);
	assert_int_equal(col->n, 2);
	assert_true(col->m[1].decode_error);
	assert_string_equal(col->m[1].error, "compressed body ends before its end of stream");
	col_free(col);
	cv_free(&cv);
}

static const char SSE[] = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
			  "event: content_block_delta\ndata: {\"text\":\"Hi\"}\n\n"
			  "event: message_stop\ndata: {}\n\n";

static void test_event_stream(void **state)
{
	struct h2cv cv;
	struct collector *col;
	const struct msgcopy *rs;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, false,
		KV(":method", "POST", ":scheme", "https", ":authority", "api.anthropic.com",
		   ":path", "/v1/messages", "content-type", "application/json",
		   "content-length", "2"));
	data(&cv, HTTP1_TO_SERVER, 1, true, "{}", 2, 0, -1);
	headers(&cv, HTTP1_TO_CLIENT, 1, false,
		KV(":status", "200", "content-type", "text/event-stream; charset=utf-8"));
	data(&cv, HTTP1_TO_CLIENT, 1, false, SSE, sizeof(SSE) - 1, 20, -1);
	data(&cv, HTTP1_TO_CLIENT, 1, true, NULL, 0, 0, -1);
	col = run(&cv);

	assert_int_equal(col->n, 2);
	assert_int_equal(col->m[0].framing, HTTP1_FRAMING_LENGTH);
	assert_clean(&col->m[0]);
	rs = &col->m[1];
	assert_true(rs->event_stream);
	assert_string_equal((char *)rs->body, SSE);
	assert_int_equal(col->stream_len, sizeof(SSE) - 1);
	assert_memory_equal(col->stream, SSE, sizeof(SSE) - 1);
	assert_true(col->chunk_calls >= (sizeof(SSE) - 1) / 20);
	assert_clean(rs);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_body_cap(void **state)
{
	struct h2cv cv;
	struct collector *col;
	struct http1_limits lim = { 0, 0, 10 };
	char body[100];

	memset(body, 'x', sizeof(body));
	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "200", "content-length", "100"));
	data(&cv, HTTP1_TO_CLIENT, 1, true, body, sizeof(body), 33, -1);
	col = run_lim(&cv, &lim);

	assert_int_equal(col->n, 2);
	assert_true(col->m[1].truncated);
	assert_int_equal(col->m[1].body_len, 10);
	assert_int_equal(col->m[1].body_total, 100);
	assert_int_equal(col->m[1].wire, 100);
	assert_int_equal(col->m[1].body_cap, 10);
	assert_false(col->m[1].incomplete || col->m[1].decode_error);
	col_free(col);
	check_all_splits_lim(&cv, &lim);
	cv_free(&cv);
}

static void test_content_length_mismatch(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, false,
		KV(":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/",
		   "content-length", "10"));
	data(&cv, HTTP1_TO_SERVER, 1, true, "short", 5, 0, -1);
	headers(&cv, HTTP1_TO_SERVER, 3, true,
		KV(":method", "HEAD", ":scheme", "https", ":authority", "h", ":path", "/"));
	headers(&cv, HTTP1_TO_CLIENT, 3, true, KV(":status", "200", "content-length", "1234"));
	col = run(&cv);
	assert_true(find_msg(col, HTTP1_TO_SERVER, 1)->decode_error);
	assert_string_equal(find_msg(col, HTTP1_TO_SERVER, 1)->error,
			    "body length does not match content-length");
	/* the response to HEAD has a content-length and no body: fine */
	assert_clean(find_msg(col, HTTP1_TO_CLIENT, 3));
	assert_int_equal(find_msg(col, HTTP1_TO_CLIENT, 3)->framing, HTTP1_FRAMING_NONE);
	col_free(col);
	cv_free(&cv);
}

/* ---- frame features ----------------------------------------------------------- */

static void test_continuation_and_padding(void **state)
{
	struct h2cv cv;
	struct collector *col;
	struct hopts cont = { 7, -1, false, 0, 0 };
	struct hopts padprio = { 5, 9, true, 0, 0 };
	char buf[64];

	cv_init(&cv);
	headers_opt(&cv, HTTP1_TO_SERVER, 1, true, &cont,
		    KV(":method", "GET", ":scheme", "https", ":authority", "example.org",
		       ":path", "/a/long/path/so/that/the/block/needs/continuations",
		       "x-one", "1", "x-two", "22"));
	headers_opt(&cv, HTTP1_TO_CLIENT, 1, false, &padprio,
		    KV(":status", "200", "server", "test", "x-long", "a value that is long"));
	data(&cv, HTTP1_TO_CLIENT, 1, false, "pad", 3, 0, 4);
	data(&cv, HTTP1_TO_CLIENT, 1, true, "ded", 3, 0, 0);
	col = run(&cv);

	assert_int_equal(col->n, 2);
	assert_string_equal(col->m[0].target, "/a/long/path/so/that/the/block/needs/continuations");
	assert_string_equal(col->m[0].hdrs, "host=example.org\nx-one=1\nx-two=22\n");
	assert_clean(&col->m[0]);
	assert_string_equal(hdr(&col->m[1], "x-long", buf, sizeof(buf)), "a value that is long");
	assert_string_equal((char *)col->m[1].body, "padded");
	assert_int_equal(col->m[1].wire, 6);
	assert_clean(&col->m[1]);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_continuation_out_of_place(void **state)
{
	struct h2cv cv;
	struct collector *col;
	uint8_t block[256];
	size_t n;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, false,
		KV(":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/"));
	/* HEADERS without END_HEADERS on stream 3, then a DATA frame */
	n = encode(&cv, HTTP1_TO_SERVER,
		   KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/3"),
		   block, sizeof(block));
	frame(&cv, HTTP1_TO_SERVER, HEADERS, END_STREAM, 3, block, n);
	data(&cv, HTTP1_TO_SERVER, 1, true, "x", 1, 0, -1);
	headers(&cv, HTTP1_TO_CLIENT, 1, true, KV(":status", "204"));
	col = run(&cv);

	/* the to-server direction stopped: streams 1 and 3 reported with the error */
	assert_int_equal(col->n, 4);
	assert_true(col->m[0].incomplete && col->m[0].decode_error);
	assert_int_equal(col->m[0].seq, 1);
	assert_string_equal(col->m[0].error, "header block not followed by its CONTINUATION");
	assert_int_equal(col->m[1].seq, 3);
	assert_true(col->m[1].decode_error);
	/* the response still decodes */
	assert_int_equal(col->m[2].status, 204);
	assert_clean(&col->m[2]);
	assert_int_equal(col->m[3].seq, 3); /* no response came for stream 3 */
	assert_true(col->m[3].incomplete && !col->m[3].decode_error);
	col_free(col);

	/* CONTINUATION on another stream is just as wrong */
	cv_free(&cv);
	cv_init(&cv);
	n = encode(&cv, HTTP1_TO_SERVER,
		   KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"), block,
		   sizeof(block));
	frame(&cv, HTTP1_TO_SERVER, HEADERS, END_STREAM, 1, block, 3);
	frame(&cv, HTTP1_TO_SERVER, CONTINUATION, END_HEADERS, 3, block + 3, n - 3);
	col = run(&cv);
	assert_int_equal(col->n, 2);
	assert_string_equal(col->m[0].error, "header block not followed by its CONTINUATION");
	assert_int_equal(col->m[1].dir, HTTP1_TO_CLIENT); /* its response never came */
	assert_true(col->m[1].incomplete);
	col_free(col);
	cv_free(&cv);
}

static void test_bad_padding(void **state)
{
	struct h2cv cv;
	struct collector *col;
	uint8_t bad[4] = { 10, 'a', 'b', 'c' }; /* pad length 10 in a 4-byte frame */

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "200"));
	frame(&cv, HTTP1_TO_CLIENT, DATA, PADDED, 1, bad, sizeof(bad));
	col = run(&cv);
	assert_int_equal(col->n, 2);
	assert_clean(&col->m[0]);
	assert_true(col->m[1].incomplete && col->m[1].decode_error);
	assert_string_equal(col->m[1].error, "padding exceeds the frame");
	col_free(col);
	cv_free(&cv);
}

static void test_trailers(void **state)
{
	struct h2cv cv;
	struct collector *col;
	char buf[64];

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, false,
		KV(":method", "POST", ":scheme", "http", ":authority", "grpc", ":path", "/svc/M",
		   "te", "trailers", "content-type", "application/grpc"));
	data(&cv, HTTP1_TO_SERVER, 1, true, "\0\0\0\0\0", 5, 0, -1);
	headers(&cv, HTTP1_TO_CLIENT, 1, false,
		KV(":status", "200", "content-type", "application/grpc"));
	data(&cv, HTTP1_TO_CLIENT, 1, false, "\0\0\0\0\1z", 6, 0, -1);
	headers(&cv, HTTP1_TO_CLIENT, 1, true, KV("grpc-status", "0", "grpc-message", "OK"));
	col = run(&cv);

	assert_int_equal(col->n, 2);
	assert_int_equal(col->m[1].n_headers, 3);
	assert_int_equal(col->m[1].n_trailers, 2);
	assert_string_equal(col->m[1].hdrs, "content-type=application/grpc\ngrpc-status=0\n"
					    "grpc-message=OK\n");
	assert_string_equal(hdr(&col->m[1], "grpc-status", buf, sizeof(buf)), "0");
	assert_int_equal(col->m[1].body_len, 6);
	assert_clean(&col->m[1]);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_interim_response(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, false,
		KV(":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/",
		   "expect", "100-continue"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "100"));
	data(&cv, HTTP1_TO_SERVER, 1, true, "body", 4, 0, -1);
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "103", "link", "</s.css>"));
	headers(&cv, HTTP1_TO_CLIENT, 1, true, KV(":status", "200"));
	col = run(&cv);

	assert_int_equal(col->n, 4);
	assert_true(col->m[0].interim);
	assert_int_equal(col->m[0].status, 100);
	assert_int_equal(col->m[0].seq, 1);
	assert_true(col->m[0].dir == HTTP1_TO_CLIENT);
	assert_string_equal((char *)col->m[1].body, "body");
	assert_true(col->m[2].interim);
	assert_int_equal(col->m[2].status, 103);
	assert_string_equal(col->m[2].hdrs, "link=</s.css>\n");
	assert_false(col->m[3].interim);
	assert_int_equal(col->m[3].status, 200);
	for (size_t i = 0; i < col->n; i++)
		assert_clean(&col->m[i]);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_control_frames_ignored(void **state)
{
	struct h2cv cv;
	struct collector *col;
	struct hopts push = { 0, 2, false, PUSH_PROMISE, 2 };

	cv_init(&cv);
	frame(&cv, HTTP1_TO_SERVER, PING, 0, 0, "12345678", 8);
	frame(&cv, HTTP1_TO_SERVER, WINDOW_UPDATE, 0, 0, "\0\1\0\0", 4);
	frame(&cv, HTTP1_TO_SERVER, 0xfa, 0xff, 7, "unknown type", 12);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
	frame(&cv, HTTP1_TO_SERVER, PRIORITY, 0, 1, "\0\0\0\0\x10", 5);
	frame(&cv, HTTP1_TO_CLIENT, PING, ACK, 0, "12345678", 8);
	/* a push: decoded for HPACK, not reported */
	headers_opt(&cv, HTTP1_TO_CLIENT, 1, false, &push,
		    KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/pushed"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "200", "x-after-push", "1"));
	headers(&cv, HTTP1_TO_CLIENT, 2, false, KV(":status", "200"));
	data(&cv, HTTP1_TO_CLIENT, 2, true, "pushed body", 11, 0, -1);
	frame(&cv, HTTP1_TO_CLIENT, WINDOW_UPDATE, 0, 1, "\0\0\1\0", 4);
	data(&cv, HTTP1_TO_CLIENT, 1, true, "main", 4, 0, -1);
	/* frames on closed and idle streams are ignored */
	data(&cv, HTTP1_TO_CLIENT, 1, true, "late", 4, 0, -1);
	data(&cv, HTTP1_TO_CLIENT, 99, true, "idle", 4, 0, -1);
	rst(&cv, HTTP1_TO_SERVER, 1, 0);
	col = run(&cv);

	assert_int_equal(col->n, 2);
	assert_string_equal(col->m[0].target, "/");
	assert_clean(&col->m[0]);
	assert_string_equal(col->m[1].hdrs, "x-after-push=1\n");
	assert_string_equal((char *)col->m[1].body, "main");
	assert_clean(&col->m[1]);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

/* A response on a stream the client never opened opens nothing. */
static void test_stray_response(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_CLIENT, 0x7ffffff1, false, KV(":status", "200", "x-stray", "1"));
	data(&cv, HTTP1_TO_CLIENT, 0x7ffffff1, true, "stray", 5, 0, -1);
	headers(&cv, HTTP1_TO_SERVER, 5, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/five"));
	headers(&cv, HTTP1_TO_CLIENT, 5, true, KV(":status", "200", "x-stray", "1"));
	col = run(&cv);
	assert_int_equal(col->n, 2);
	assert_string_equal(col->m[0].target, "/five");
	assert_int_equal(col->m[1].seq, 5);
	assert_string_equal(col->m[1].hdrs, "x-stray=1\n"); /* the HPACK state followed */
	assert_clean(&col->m[0]);
	assert_clean(&col->m[1]);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

/* ---- ends of streams ------------------------------------------------------------ */

static void test_rst_stream(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/stream"));
	headers(&cv, HTTP1_TO_SERVER, 3, false,
		KV(":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/up"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false,
		KV(":status", "200", "content-type", "text/event-stream"));
	data(&cv, HTTP1_TO_CLIENT, 1, false, "data: 1\n\n", 9, 0, -1);
	rst(&cv, HTTP1_TO_SERVER, 1, 8);     /* the client cancels */
	rst(&cv, HTTP1_TO_CLIENT, 3, 0x77);  /* the server refuses, with an unknown code */
	data(&cv, HTTP1_TO_CLIENT, 1, false, "data: 2\n\n", 9, 0, -1); /* in flight: ignored */
	col = run(&cv);

	assert_int_equal(col->n, 4);
	assert_clean(&col->m[0]);
	assert_int_equal(col->m[1].seq, 1);
	assert_int_equal(col->m[1].dir, HTTP1_TO_CLIENT);
	assert_true(col->m[1].incomplete && col->m[1].decode_error);
	assert_string_equal(col->m[1].error, "stream reset: CANCEL");
	assert_string_equal((char *)col->m[1].body, "data: 1\n\n");
	assert_int_equal(col->m[2].seq, 3);
	assert_true(col->m[2].is_request);
	assert_string_equal(col->m[2].error, "stream reset: 0x77");
	assert_int_equal(col->m[3].seq, 3);
	assert_int_equal(col->m[3].status, 0); /* never began */
	assert_string_equal(col->m[3].error, "stream reset: 0x77");
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_goaway(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	for (uint32_t id = 1; id <= 5; id += 2)
		headers(&cv, HTTP1_TO_SERVER, id, true,
			KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "200"));
	goaway(&cv, HTTP1_TO_CLIENT, 1, 0);
	data(&cv, HTTP1_TO_CLIENT, 1, true, "last", 4, 0, -1);
	col = run(&cv);

	assert_int_equal(col->n, 6);
	assert_int_equal(col->m[3].seq, 3);
	assert_int_equal(col->m[3].dir, HTTP1_TO_CLIENT);
	assert_true(col->m[3].incomplete);
	assert_string_equal(col->m[3].error, "GOAWAY NO_ERROR: stream not processed");
	assert_int_equal(col->m[4].seq, 5);
	assert_string_equal(col->m[4].error, "GOAWAY NO_ERROR: stream not processed");
	assert_int_equal(col->m[5].seq, 1);
	assert_string_equal((char *)col->m[5].body, "last");
	assert_clean(&col->m[5]);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

static void test_close_reports_open_halves(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, false,
		KV(":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/"));
	data(&cv, HTTP1_TO_SERVER, 1, false, "partial", 7, 0, -1);
	col = run(&cv);
	assert_int_equal(col->n, 2);
	assert_true(col->m[0].is_request && col->m[0].incomplete);
	assert_false(col->m[0].decode_error);
	assert_string_equal((char *)col->m[0].body, "partial");
	assert_false(col->m[1].is_request);
	assert_true(col->m[1].incomplete);
	assert_int_equal(col->m[1].ts_first, col->m[0].ts_last); /* when it was reported */
	col_free(col);
	cv_free(&cv);
}

static void test_gap(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
	headers(&cv, HTTP1_TO_CLIENT, 1, false, KV(":status", "200", "content-length", "100"));
	data(&cv, HTTP1_TO_CLIENT, 1, false, "0123456789", 10, 0, -1);
	add_gap(&cv, HTTP1_TO_CLIENT, 50);
	data(&cv, HTTP1_TO_CLIENT, 1, true, "after the gap", 13, 0, -1);
	headers(&cv, HTTP1_TO_SERVER, 3, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/3"));
	col = run(&cv);

	assert_int_equal(col->n, 3);
	assert_clean(&col->m[0]);
	assert_int_equal(col->m[1].seq, 1);
	assert_true(col->m[1].incomplete && col->m[1].decode_error);
	assert_string_equal(col->m[1].error, "bytes lost: HTTP/2 cannot resynchronise");
	assert_string_equal((char *)col->m[1].body, "0123456789");
	/* the requests go on; no response is expected from the stopped direction */
	assert_int_equal(col->m[2].seq, 3);
	assert_clean(&col->m[2]);
	col_free(col);

	/* a gap with nothing open: one message for the connection */
	cv_free(&cv);
	cv_init(&cv);
	add_gap(&cv, HTTP1_TO_SERVER, 1);
	col = run(&cv);
	assert_int_equal(col->n, 1);
	assert_int_equal(col->m[0].seq, 0);
	assert_true(col->m[0].is_request && col->m[0].decode_error);
	col_free(col);
	cv_free(&cv);
}

/* ---- bad input -------------------------------------------------------------------- */

static void test_missing_preface(void **state)
{
	struct collector *col = col_new();
	struct http2_conn *c = conn_new(col, NULL);
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";

	assert_int_equal(http2_feed(c, HTTP1_TO_SERVER, (const uint8_t *)req, sizeof(req) - 1, 5), 0);
	assert_int_equal(col->n, 1);
	assert_int_equal(col->m[0].seq, 0);
	assert_true(col->m[0].decode_error && col->m[0].incomplete);
	assert_string_equal(col->m[0].error, "no HTTP/2 client preface");
	/* stopped for good: more bytes are ignored */
	assert_int_equal(http2_feed(c, HTTP1_TO_SERVER, (const uint8_t *)PREFACE, 24, 6), 0);
	assert_int_equal(http2_close(c), 0);
	assert_int_equal(col->n, 1);
	assert_int_equal(http2_feed(c, HTTP1_TO_SERVER, (const uint8_t *)"x", 1, 7), -EPIPE);
	assert_int_equal(http2_gap(c, HTTP1_TO_SERVER, 1), -EPIPE);
	http2_conn_free(c);
	col_free(col);
}

static void check_invariants(const struct collector *col)
{
	for (size_t i = 0; i < col->n; i++) {
		const struct msgcopy *m = &col->m[i];

		for (size_t j = i + 1; j < col->n; j++) {
			const struct msgcopy *o = &col->m[j];

			if (m->seq != 0 && !m->interim && !o->interim && o->dir == m->dir)
				assert_true(o->seq != m->seq);
		}
	}
}

static void test_garbage(void **state)
{
	uint8_t buf[4096];
	unsigned seed = 12345;

	for (int round = 0; round < 200; round++) {
		struct collector *col = col_new();
		struct http2_conn *c = conn_new(col, NULL);
		size_t n;

		for (size_t i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (uint8_t)(seed >> 16);
		}
		n = 1 + (seed >> 4) % sizeof(buf);
		/* half the rounds: a valid preface, then garbage frames */
		if (round % 2)
			assert_int_equal(http2_feed(c, HTTP1_TO_SERVER, (const uint8_t *)PREFACE, 24, 1), 0);
		assert_int_equal(http2_feed(c, HTTP1_TO_SERVER, buf, n, 2), 0);
		assert_int_equal(http2_feed(c, HTTP1_TO_CLIENT, buf + n / 2, n - n / 2, 3), 0);
		assert_int_equal(http2_close(c), 0);
		check_invariants(col);
		http2_conn_free(c);
		col_free(col);
	}
}

static void test_bad_hpack(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
	/* index 126 of an empty dynamic table */
	frame(&cv, HTTP1_TO_CLIENT, HEADERS, END_HEADERS, 1, "\xfe", 1);
	headers(&cv, HTTP1_TO_SERVER, 3, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/3"));
	col = run(&cv);
	assert_int_equal(col->n, 3);
	assert_clean(&col->m[0]);
	assert_int_equal(col->m[1].seq, 1);
	assert_string_equal(col->m[1].error, "HPACK: invalid header block");
	assert_int_equal(col->m[2].seq, 3);
	assert_clean(&col->m[2]);
	col_free(col);
	cv_free(&cv);
}

static void test_malformed_fields(void **state)
{
	struct h2cv cv;
	struct collector *col;

	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/",
		   "bad name", "x", "ok", "fine"));
	headers(&cv, HTTP1_TO_SERVER, 3, true, KV(":path", "/nomethod"));
	headers(&cv, HTTP1_TO_CLIENT, 1, true, KV(":status", "2x0"));
	headers(&cv, HTTP1_TO_CLIENT, 3, true, KV(":status", "200", ":path", "/"));
	col = run(&cv);
	assert_int_equal(col->n, 4);
	assert_string_equal(col->m[0].error, "malformed header field");
	assert_string_equal(col->m[0].hdrs, "host=h\nok=fine\n");
	assert_string_equal(col->m[1].error, "request without :method");
	assert_string_equal(col->m[2].error, "bad :status");
	assert_string_equal(col->m[3].error, "unexpected pseudo-header in a response");
	col_free(col);
	cv_free(&cv);
}

/* ---- limits ------------------------------------------------------------------------ */

static void test_header_limits(void **state)
{
	struct h2cv cv;
	struct collector *col;
	struct http1_limits lim = { 200, 3, 0 };
	char big[300];

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cv_init(&cv);
	headers(&cv, HTTP1_TO_SERVER, 1, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/",
		   "a", "1", "b", "2", "c", "3", "d", "4"));
	headers(&cv, HTTP1_TO_SERVER, 3, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/", "big",
		   big));
	headers(&cv, HTTP1_TO_SERVER, 5, true,
		KV(":method", "GET", ":scheme", "https", ":path", "/ok", "a", "1"));
	col = run_lim(&cv, &lim);
	assert_int_equal(col->n, 6);
	assert_string_equal(col->m[0].error, "more than 3 header fields");
	assert_int_equal(col->m[0].n_headers, 3);
	assert_string_equal(col->m[1].error, "header block exceeds 200 bytes");
	assert_string_equal(col->m[2].target, "/ok");
	assert_clean(&col->m[2]);
	col_free(col);
	cv_free(&cv);
}

static void test_stream_limit(void **state)
{
	struct h2cv cv;
	struct collector *col;
	size_t errors = 0;

	cv_init(&cv);
	for (uint32_t i = 0; i < HTTP2_MAX_STREAMS + 2; i++)
		headers(&cv, HTTP1_TO_SERVER, 2 * i + 1, false,
			KV(":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/"));
	/* the ignored streams' frames are ignored */
	data(&cv, HTTP1_TO_SERVER, 2 * HTTP2_MAX_STREAMS + 1, true, "x", 1, 0, -1);
	headers(&cv, HTTP1_TO_CLIENT, 2 * HTTP2_MAX_STREAMS + 1, true, KV(":status", "200"));
	/* the first stream still works, and frees room */
	data(&cv, HTTP1_TO_SERVER, 1, true, "x", 1, 0, -1);
	headers(&cv, HTTP1_TO_CLIENT, 1, true, KV(":status", "200"));
	headers(&cv, HTTP1_TO_SERVER, 2 * HTTP2_MAX_STREAMS + 5, true,
		KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/new"));
	col = run(&cv);

	assert_int_equal(col->m[0].seq, 2 * HTTP2_MAX_STREAMS + 1);
	assert_string_equal(col->m[0].error, "too many open streams: stream ignored");
	assert_int_equal(col->m[1].seq, 2 * HTTP2_MAX_STREAMS + 3);
	assert_int_equal(col->m[2].seq, 1);
	assert_clean(&col->m[2]);
	assert_int_equal(col->m[3].seq, 1);
	assert_clean(&col->m[3]);
	assert_int_equal(col->m[4].seq, 2 * HTTP2_MAX_STREAMS + 5);
	assert_clean(&col->m[4]);
	for (size_t i = 0; i < col->n; i++)
		errors += col->m[i].decode_error;
	assert_int_equal(errors, 2);
	/* 1 + 1 + 2 + 1, then the rest at close: 1023 streams x 2 + the response of /new */
	assert_int_equal(col->n, 5 + 2 * (HTTP2_MAX_STREAMS - 1) + 1);
	check_invariants(col);
	col_free(col);
	cv_free(&cv);
}

/* Feeds what the segments of cv hold so far, then forgets them. */
static void feed_now(struct http2_conn *c, struct h2cv *cv)
{
	for (size_t i = 0; i < cv->n; i++) {
		assert_int_equal(http2_feed(c, cv->seg[i].dir, cv->seg[i].b.p, cv->seg[i].b.len, i), 0);
		free(cv->seg[i].b.p);
	}
	cv->n = 0;
}

/*
 * Bodies of concurrent streams share the connection's budget
 * (HTTP2_CONN_MEMORY with the default max_body): past it, a body is cut
 * where it stands, and body_cap says where. Reported messages give their
 * memory back.
 */
static void test_connection_budget(void **state)
{
	enum { STREAMS = 6, BODY = 12 << 20, PIECE = 16384 };
	struct collector *col = col_new();
	struct http2_conn *c = conn_new(col, NULL);
	uint8_t *piece = malloc(PIECE);
	struct h2cv cv;
	size_t cut = 0;

	assert_non_null(piece);
	memset(piece, 'p', PIECE);
	cv_init(&cv);
	for (uint32_t id = 1; id <= 2 * STREAMS + 1; id += 2) {
		headers(&cv, HTTP1_TO_SERVER, id, true,
			KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
		if (id <= 2 * STREAMS)
			headers(&cv, HTTP1_TO_CLIENT, id, false, KV(":status", "200"));
	}
	feed_now(c, &cv);
	for (size_t off = 0; off < BODY; off += PIECE) {
		for (uint32_t id = 1; id <= 2 * STREAMS; id += 2)
			data(&cv, HTTP1_TO_CLIENT, id, off + PIECE == BODY, piece, PIECE, 0, -1);
		feed_now(c, &cv);
	}
	/* all memory is back: the last stream keeps its whole body */
	headers(&cv, HTTP1_TO_CLIENT, 2 * STREAMS + 1, false, KV(":status", "200"));
	for (size_t off = 0; off < BODY; off += PIECE) {
		data(&cv, HTTP1_TO_CLIENT, 2 * STREAMS + 1, off + PIECE == BODY, piece, PIECE, 0, -1);
		feed_now(c, &cv);
	}
	assert_int_equal(col->n, 2 * (STREAMS + 1));
	for (size_t i = 0; i < col->n; i++) {
		const struct msgcopy *m = &col->m[i];

		assert_false(m->incomplete || m->decode_error);
		if (m->is_request)
			continue;
		assert_int_equal(m->body_total, BODY);
		if (m->truncated) {
			assert_true(m->body_cap < HTTP1_DEFAULT_MAX_BODY);
			assert_int_equal(m->body_len, m->body_cap);
			cut++;
		} else {
			assert_int_equal(m->body_len, BODY);
			assert_int_equal(m->body_cap, HTTP1_DEFAULT_MAX_BODY);
		}
	}
	assert_true(cut >= 2 && cut < STREAMS);
	assert_false(col->m[col->n - 1].truncated);
	http2_conn_free(c);
	cv_free(&cv);
	free(piece);
	col_free(col);
}

/* ---- HPACK state -------------------------------------------------------------------- */

static void test_hpack_dynamic_table(void **state)
{
	struct h2cv cv;
	struct collector *col;
	size_t first, second;
	const char *const *req = KV(":method", "POST", ":scheme", "https",
				    ":authority", "api.openai.com", ":path", "/v1/chat/completions",
				    "authorization", "Bearer sk-secret-token-value",
				    "x-custom-header", "a fairly long custom value to index");

	cv_init(&cv);
	first = headers(&cv, HTTP1_TO_SERVER, 1, true, req);
	second = headers(&cv, HTTP1_TO_SERVER, 3, true, req);
	headers(&cv, HTTP1_TO_CLIENT, 1, true, KV(":status", "200", "x-req", "one"));
	headers(&cv, HTTP1_TO_CLIENT, 3, true, KV(":status", "200", "x-req", "one"));
	/* the first block filled the dynamic table, the second refers to it */
	assert_true(nghttp2_hd_deflate_get_num_table_entries(cv.hd[HTTP1_TO_SERVER]) > 61);
	assert_true(second * 2 < first);
	col = run(&cv);

	assert_int_equal(col->n, 4);
	assert_string_equal(col->m[0].hdrs, col->m[1].hdrs);
	assert_string_equal(col->m[1].hdrs,
			    "host=api.openai.com\nauthorization=Bearer sk-secret-token-value\n"
			    "x-custom-header=a fairly long custom value to index\n");
	assert_string_equal(col->m[1].target, "/v1/chat/completions");
	assert_string_equal(col->m[3].hdrs, "x-req=one\n");
	for (size_t i = 0; i < col->n; i++)
		assert_clean(&col->m[i]);
	col_free(col);
	check_all_splits(&cv);
	cv_free(&cv);
}

/* The server's encoder uses a 64 KiB table: fine once the client allowed it. */
static void run_big_table(bool allowed)
{
	static const uint8_t allow[] = { 0, 1, 0, 1, 0, 0 }; /* HEADER_TABLE_SIZE 65536 */
	static const uint8_t none[] = { 0, 2, 0, 0, 0, 0 };
	struct h2cv cv;
	struct collector *col;
	char big[3000];

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cv_init_settings(&cv, allowed ? allow : none, 6, 65536);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(cv.hd[HTTP1_TO_CLIENT], 65536), 0);
	for (uint32_t id = 1; id <= 5; id += 2) {
		headers(&cv, HTTP1_TO_SERVER, id, true,
			KV(":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/"));
		headers(&cv, HTTP1_TO_CLIENT, id, true, KV(":status", "200", "x-big", big,
							   "x-big2", big));
	}
	col = run(&cv);
	/* not allowed: the to-client direction stops at its first block */
	assert_int_equal(col->n, allowed ? 6 : 4);
	for (size_t i = 0; i < col->n; i++) {
		if (allowed)
			assert_clean(&col->m[i]);
	}
	if (!allowed) {
		assert_true(col->m[1].decode_error);
		assert_string_equal(col->m[1].error, "HPACK: invalid header block");
	} else {
		assert_int_equal(strlen(col->m[5].hdrs), 2 * (strlen("x-big=\n") + 2999) + 1);
	}
	col_free(col);
	cv_free(&cv);
}

static void test_hpack_table_size_setting(void **state)
{
	run_big_table(true);
	run_big_table(false);
}

/* ---- API ------------------------------------------------------------------------------ */

static void test_api(void **state)
{
	struct collector *col = col_new();
	struct http1_callbacks none = { NULL, NULL, NULL };
	struct http2_conn *c;

	assert_null(http2_conn_new(NULL, NULL));
	assert_null(http2_conn_new(NULL, &none));
	c = conn_new(col, NULL);
	assert_int_equal(http2_feed(NULL, HTTP1_TO_SERVER, (const uint8_t *)"x", 1, 0), -EINVAL);
	assert_int_equal(http2_feed(c, (enum http1_dir)2, (const uint8_t *)"x", 1, 0), -EINVAL);
	assert_int_equal(http2_feed(c, HTTP1_TO_SERVER, NULL, 1, 0), -EINVAL);
	assert_int_equal(http2_feed(c, HTTP1_TO_SERVER, NULL, 0, 0), 0);
	assert_int_equal(http2_gap(c, HTTP1_TO_CLIENT, 0), 0);
	assert_int_equal(http2_gap(NULL, HTTP1_TO_CLIENT, 1), -EINVAL);
	assert_int_equal(http2_close(NULL), -EINVAL);
	assert_int_equal(http2_close(c), 0);
	assert_int_equal(http2_close(c), 0);
	assert_int_equal(col->n, 0);
	http2_conn_free(c);
	http2_conn_free(NULL);
	col_free(col);

	assert_true(http2_looks_like_preface((const uint8_t *)PREFACE, 24));
	assert_true(http2_looks_like_preface((const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4", 28));
	assert_true(http2_looks_like_preface((const uint8_t *)"PRI * HT", 8));
	assert_false(http2_looks_like_preface((const uint8_t *)"PRI * H", 7));
	assert_false(http2_looks_like_preface((const uint8_t *)"PRI * HTTP/1.1\r\n", 16));
	assert_false(http2_looks_like_preface((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
	assert_false(http2_looks_like_preface(NULL, 30));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_200),
		cmocka_unit_test(test_post_many_data_frames),
		cmocka_unit_test(test_concurrent_streams),
		cmocka_unit_test(test_gzip_response),
		cmocka_unit_test(test_gzip_cut_short),
		cmocka_unit_test(test_event_stream),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_content_length_mismatch),
		cmocka_unit_test(test_continuation_and_padding),
		cmocka_unit_test(test_continuation_out_of_place),
		cmocka_unit_test(test_bad_padding),
		cmocka_unit_test(test_trailers),
		cmocka_unit_test(test_interim_response),
		cmocka_unit_test(test_control_frames_ignored),
		cmocka_unit_test(test_stray_response),
		cmocka_unit_test(test_rst_stream),
		cmocka_unit_test(test_goaway),
		cmocka_unit_test(test_close_reports_open_halves),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_missing_preface),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bad_hpack),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_stream_limit),
		cmocka_unit_test(test_connection_budget),
		cmocka_unit_test(test_hpack_dynamic_table),
		cmocka_unit_test(test_hpack_table_size_setting),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
