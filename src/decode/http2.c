/* SPDX-License-Identifier: MIT */
/*
 * Incremental HTTP/2 decoder; see http2.h.
 *
 * Each direction is a small state machine over frames: the client preface
 * (to-server only), then for every frame its 9-byte header, a fixed prefix
 * (pad length, priority, promised stream, RST_STREAM or GOAWAY fields),
 * the content and the padding. Only the header and the prefix are
 * collected; the content is handed on as it arrives (DATA to the message's
 * body, header block fragments to the direction's HPACK decoder in
 * http2_hpack.c, SETTINGS entry by entry), so a frame of any size costs no
 * memory.
 *
 * The table of streams, and the reporting of each stream's halves once,
 * are in http2_stream.c; http2_int.h holds the state both share.
 *
 * A header block is decoded even when its fields are not wanted (pushed
 * or ignored streams, closed halves): the HPACK dynamic table is shared by
 * every block of a direction and must see them all.
 */
#include "decode/http2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http2_hpack.h"
#include "decode/http2_int.h"
#include "decode/http2_msg.h"

#define PREFACE_LEN 24
#define PREFACE_DECIDES 8         /* "PRI * HT": no HTTP/1 request starts so */

enum frame_type {
	FT_DATA = 0x0,
	FT_HEADERS = 0x1,
	FT_PRIORITY = 0x2,
	FT_RST_STREAM = 0x3,
	FT_SETTINGS = 0x4,
	FT_PUSH_PROMISE = 0x5,
	FT_PING = 0x6,
	FT_GOAWAY = 0x7,
	FT_WINDOW_UPDATE = 0x8,
	FT_CONTINUATION = 0x9,
};

enum frame_flag {
	FL_END_STREAM = 0x01, /* DATA, HEADERS */
	FL_ACK = 0x01,        /* SETTINGS, PING */
	FL_END_HEADERS = 0x04,
	FL_PADDED = 0x08,
	FL_PRIORITY = 0x20,
};

#define SETTINGS_HEADER_TABLE_SIZE 0x1

static const char preface[PREFACE_LEN + 1] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* ---- small helpers ---------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- header blocks ------------------------------------------------------------ */

/* One decoded field: to its message, when the block has one. */
static int block_field(void *ctx, const uint8_t *name, size_t nlen, const uint8_t *value,
		       size_t vlen)
{
	struct h2_dir *d = ctx;
	struct http2_conn *c = d->conn;
	struct h2_stream *s;
	struct h2_msg *m;

	if (!d->block_keep)
		return 0;
	m = open_half(c, d, d->block_sid, &s);
	if (!m) {
		d->block_keep = false; /* reset or gone meanwhile */
		return 0;
	}
	return h2m_field(&c->env, m, name, nlen, value, vlen);
}

static int hpack_run(struct h2_dir *d, const uint8_t *in, size_t n, bool final)
{
	return h2_hpack_decode(&d->hpack, in, n, final, block_field, d);
}

/* An error rc of the direction's own work: stops it; only running out of memory is returned. */
static int dir_failed(struct http2_conn *c, struct h2_dir *d, int rc)
{
	if (rc == -ENOMEM) {
		h2_stop_dir(c, d, "out of memory");
		return rc;
	}
	h2_stop_dir(c, d, rc == -E2BIG ? "HPACK: header field too large" : "HPACK: invalid header block");
	return 0;
}

/* A HEADERS or PUSH_PROMISE frame starts a header block. */
static int block_begin(struct http2_conn *c, struct h2_dir *d)
{
	struct h2_stream *s;
	int rc = h2_hpack_block_begin(&d->hpack);

	if (rc < 0)
		return dir_failed(c, d, rc);
	d->in_block = true;
	d->block_sid = d->sid;
	d->block_keep = false;
	d->block_end_stream = d->type == FT_HEADERS && (d->flags & FL_END_STREAM);
	if (d->type == FT_PUSH_PROMISE)
		return 0; /* pushed streams are not reported */
	s = find_stream(c, d->sid);
	if (!s) {
		s = h2_open_stream(c, d, d->sid, &rc);
		if (rc < 0)
			return rc;
	}
	if (!s || s->half[d->dir].done)
		return 0;
	d->block_keep = true;
	h2m_block_begin(&s->half[d->dir], d->ts);
	return 0;
}

/* The frame with END_HEADERS ended: the block is decoded, its message moves on. */
static int block_end(struct http2_conn *c, struct h2_dir *d)
{
	enum h2m_block_end how;
	struct h2_stream *s;
	struct h2_msg *m;
	int rc = hpack_run(d, NULL, 0, true);

	if (rc < 0)
		return dir_failed(c, d, rc);
	d->in_block = false;
	m = d->block_keep ? open_half(c, d, d->block_sid, &s) : NULL;
	if (!m)
		return 0;
	h2m_touch(m, d->ts);
	rc = h2m_block_end(&c->env, m, d->block_end_stream, &how);
	if (rc < 0)
		return dir_failed(c, d, rc);
	if (how == H2M_INTERIM) {
		report(c, m);
		h2m_reset_interim(&c->env, m);
		if (!d->block_end_stream)
			return 0;
		h2m_error(m, "stream ended by an interim response");
		how = H2M_FINISHED;
	}
	if (how == H2M_FINISHED)
		h2_finish_half(c, s, d->dir);
	return 0;
}

/* ---- frames ----------------------------------------------------------------- */

static bool padded(const struct h2_dir *d)
{
	return (d->flags & FL_PADDED) &&
	       (d->type == FT_DATA || d->type == FT_HEADERS || d->type == FT_PUSH_PROMISE);
}

/* Bytes at the start of the payload that are collected before the content. */
static size_t prefix_len(const struct h2_dir *d)
{
	size_t pad = padded(d) ? 1 : 0;

	switch (d->type) {
	case FT_DATA:
		return pad;
	case FT_HEADERS:
		return pad + (d->flags & FL_PRIORITY ? 5 : 0);
	case FT_PUSH_PROMISE:
		return pad + 4;
	case FT_RST_STREAM:
		return 4;
	case FT_GOAWAY:
		return 8;
	default:
		return 0;
	}
}

/* Why the frame just read cannot be right (RFC 9113 section 6), or NULL. */
static const char *frame_problem(const struct h2_dir *d)
{
	bool on_stream = d->sid != 0;

	if (d->in_block && (d->type != FT_CONTINUATION || d->sid != d->block_sid))
		return "header block not followed by its CONTINUATION";
	if (prefix_len(d) > d->len)
		return "frame too short";
	switch (d->type) {
	case FT_DATA:
	case FT_HEADERS:
	case FT_PRIORITY:
	case FT_PUSH_PROMISE:
		return on_stream ? NULL : "stream frame on stream 0";
	case FT_RST_STREAM:
		if (!on_stream)
			return "stream frame on stream 0";
		return d->len == 4 ? NULL : "RST_STREAM of the wrong size";
	case FT_SETTINGS:
		if (on_stream)
			return "SETTINGS on a stream";
		if (d->flags & FL_ACK)
			return d->len == 0 ? NULL : "SETTINGS ACK with a payload";
		return d->len % SETTING_LEN == 0 ? NULL : "SETTINGS of the wrong size";
	case FT_PING:
		if (on_stream)
			return "PING on a stream";
		return d->len == 8 ? NULL : "PING of the wrong size";
	case FT_GOAWAY:
		return on_stream ? "GOAWAY on a stream" : NULL;
	case FT_CONTINUATION:
		return d->in_block ? NULL : "CONTINUATION without a header block";
	default:
		return NULL; /* WINDOW_UPDATE, unknown types: skipped */
	}
}

/* DATA starts: a body only follows a complete header section. */
static void data_begin(struct http2_conn *c, struct h2_dir *d)
{
	struct h2_stream *s;
	struct h2_msg *m = open_half(c, d, d->sid, &s);

	if (!m)
		return;
	h2m_touch(m, d->ts);
	if (m->headers_done)
		return;
	h2m_error(m, "DATA before HEADERS");
	report(c, m);
	if (s->half[!d->dir].done)
		h2_drop_finished(c);
}

static void data_content(struct http2_conn *c, struct h2_dir *d, const uint8_t *p, size_t n)
{
	struct h2_stream *s;
	struct h2_msg *m = open_half(c, d, d->sid, &s);

	if (!m || !m->headers_done)
		return;
	h2m_touch(m, d->ts);
	h2m_body(&c->env, m, p, n);
}

static void data_end(struct http2_conn *c, struct h2_dir *d)
{
	struct h2_stream *s;
	struct h2_msg *m = open_half(c, d, d->sid, &s);

	if (m && m->headers_done && (d->flags & FL_END_STREAM))
		h2_finish_half(c, s, d->dir);
}

static void settings_content(struct http2_conn *c, struct h2_dir *d, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		d->setting[d->setting_len++] = p[i];
		if (d->setting_len < SETTING_LEN)
			continue;
		d->setting_len = 0;
		/* the sender's decoder limit binds the encoder of the other direction */
		if ((d->setting[0] << 8 | d->setting[1]) == SETTINGS_HEADER_TABLE_SIZE)
			h2_hpack_peer_limit(&c->d[!d->dir].hpack, be32(d->setting + 2));
	}
}

static void rst_stream(struct http2_conn *c, struct h2_dir *d)
{
	struct h2_stream *s = find_stream(c, d->sid);

	if (!s)
		return;
	h2_abort_stream(c, s, false, be32(d->pre));
	h2_drop_finished(c);
}

/* The server's GOAWAY: client streams above its last-stream-id were not processed. */
static void goaway(struct http2_conn *c, struct h2_dir *d)
{
	uint32_t last = be32(d->pre) & 0x7fffffffu;

	if (d->dir != HTTP1_TO_CLIENT)
		return; /* the client's GOAWAY concerns pushed streams only */
	h2_sort_streams(c);
	for (size_t i = 0; i < c->n_streams; i++) {
		if (c->streams[i]->id > last)
			h2_abort_stream(c, c->streams[i], true, be32(d->pre + 4));
	}
	h2_drop_finished(c);
}

/* The whole frame has been read. */
static int frame_end(struct http2_conn *c, struct h2_dir *d)
{
	int rc = 0;

	switch (d->type) {
	case FT_HEADERS:
	case FT_PUSH_PROMISE:
	case FT_CONTINUATION:
		if (d->flags & FL_END_HEADERS)
			rc = block_end(c, d);
		break;
	case FT_DATA:
		data_end(c, d);
		break;
	case FT_RST_STREAM:
		rst_stream(c, d);
		break;
	case FT_GOAWAY:
		goaway(c, d);
		break;
	default:
		break;
	}
	if (d->st != FS_DEAD) {
		d->st = FS_HEAD;
		d->got = 0;
	}
	return rc;
}

/* The content is done: padding, if any, then the end of the frame. */
static int content_end(struct http2_conn *c, struct h2_dir *d)
{
	if (d->pad_left > 0) {
		d->st = FS_PAD;
		return 0;
	}
	return frame_end(c, d);
}

/* The prefix is in: the content's length is known. */
static int prefix_done(struct http2_conn *c, struct h2_dir *d)
{
	uint32_t pad = padded(d) ? d->pre[0] : 0;
	int rc = 0;

	if (pad > d->len - d->pre_need) {
		h2_stop_dir(c, d, "padding exceeds the frame");
		return 0;
	}
	d->content_left = d->len - (uint32_t)d->pre_need - pad;
	d->pad_left = pad;
	if (d->type == FT_HEADERS || d->type == FT_PUSH_PROMISE)
		rc = block_begin(c, d);
	else if (d->type == FT_DATA)
		data_begin(c, d);
	if (rc < 0 || d->st == FS_DEAD)
		return rc;
	if (d->content_left > 0) {
		d->st = FS_CONTENT;
		return 0;
	}
	return content_end(c, d);
}

/* The 9-byte frame header is in. */
static int frame_begin(struct http2_conn *c, struct h2_dir *d)
{
	const char *problem;

	d->len = (uint32_t)d->raw[0] << 16 | (uint32_t)d->raw[1] << 8 | d->raw[2];
	d->type = d->raw[3];
	d->flags = d->raw[4];
	d->sid = be32(d->raw + 5) & 0x7fffffffu;
	problem = frame_problem(d);
	if (problem) {
		h2_stop_dir(c, d, problem);
		return 0;
	}
	d->pre_need = prefix_len(d);
	d->setting_len = 0;
	d->got = 0;
	if (d->pre_need > 0) {
		d->st = FS_PREFIX;
		return 0;
	}
	return prefix_done(c, d);
}

static int frame_content(struct http2_conn *c, struct h2_dir *d, const uint8_t *p, size_t n)
{
	int rc;

	switch (d->type) {
	case FT_DATA:
		data_content(c, d, p, n);
		return 0;
	case FT_HEADERS:
	case FT_PUSH_PROMISE:
	case FT_CONTINUATION:
		rc = hpack_run(d, p, n, false);
		return rc < 0 ? dir_failed(c, d, rc) : 0;
	case FT_SETTINGS:
		settings_content(c, d, p, n);
		return 0;
	default:
		return 0; /* GOAWAY debug data, PING, PRIORITY, WINDOW_UPDATE, unknown */
	}
}

/* Collects bytes into buf[0..need); true when it is full. */
static bool collect(struct h2_dir *d, uint8_t *buf, size_t need, const uint8_t *p, size_t len,
		    size_t *used)
{
	size_t take = min_size(need - d->got, len);

	memcpy(buf + d->got, p, take);
	d->got += take;
	*used = take;
	return d->got == need;
}

static int step_preface(struct http2_conn *c, struct h2_dir *d, const uint8_t *p, size_t len,
			size_t *used)
{
	size_t take = min_size(PREFACE_LEN - d->got, len);

	*used = take;
	if (memcmp(p, &preface[d->got], take) != 0) {
		h2_stop_dir(c, d, "no HTTP/2 client preface");
		return 0;
	}
	d->got += take;
	if (d->got == PREFACE_LEN) {
		d->st = FS_HEAD;
		d->got = 0;
	}
	return 0;
}

/* Decodes from p[0..len); *used: how many bytes were taken (at least one). */
static int step(struct http2_conn *c, struct h2_dir *d, const uint8_t *p, size_t len,
		size_t *used)
{
	size_t take;
	int rc;

	switch (d->st) {
	case FS_PREFACE:
		return step_preface(c, d, p, len, used);
	case FS_HEAD:
		return collect(d, d->raw, FRAME_HEADER_LEN, p, len, used) ? frame_begin(c, d) : 0;
	case FS_PREFIX:
		return collect(d, d->pre, d->pre_need, p, len, used) ? prefix_done(c, d) : 0;
	case FS_CONTENT:
		take = min_size(len, d->content_left);
		*used = take;
		d->content_left -= (uint32_t)take;
		rc = frame_content(c, d, p, take);
		if (rc < 0 || d->st != FS_CONTENT || d->content_left > 0)
			return rc;
		return content_end(c, d);
	case FS_PAD:
		take = min_size(len, d->pad_left);
		*used = take;
		d->pad_left -= (uint32_t)take;
		return d->pad_left == 0 ? frame_end(c, d) : 0;
	case FS_DEAD:
		break;
	}
	*used = len;
	return 0;
}

/* ---- public API ------------------------------------------------------------- */

struct http2_conn *http2_conn_new(const struct http1_limits *lim, const struct http1_callbacks *cb)
{
	struct http2_conn *c;

	if (!cb || !cb->on_message)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->env.lim.max_header_bytes = HTTP1_DEFAULT_MAX_HEADER_BYTES;
	c->env.lim.max_headers = HTTP1_DEFAULT_MAX_HEADERS;
	c->env.lim.max_body = HTTP1_DEFAULT_MAX_BODY;
	if (lim && lim->max_header_bytes)
		c->env.lim.max_header_bytes = lim->max_header_bytes;
	if (lim && lim->max_headers)
		c->env.lim.max_headers = lim->max_headers;
	if (lim && lim->max_body)
		c->env.lim.max_body = lim->max_body;
	c->env.cb = *cb;
	c->env.mem_max = c->env.lim.max_body > SIZE_MAX / 4 ? SIZE_MAX : c->env.lim.max_body * 4;
	if (c->env.mem_max < HTTP2_CONN_MEMORY)
		c->env.mem_max = HTTP2_CONN_MEMORY;
	for (int i = 0; i < 2; i++) {
		struct h2_dir *d = &c->d[i];

		d->conn = c;
		d->dir = (enum http1_dir)i;
		d->st = d->dir == HTTP1_TO_SERVER ? FS_PREFACE : FS_HEAD;
		if (h2_hpack_init(&d->hpack) < 0) {
			http2_conn_free(c);
			return NULL;
		}
	}
	return c;
}

void http2_conn_free(struct http2_conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_streams; i++)
		h2_free_stream(c, c->streams[i]);
	for (int i = 0; i < 2; i++)
		h2_hpack_free(&c->d[i].hpack);
	free(c);
}

int http2_feed(struct http2_conn *c, enum http1_dir dir, const uint8_t *data, size_t len,
	       uint64_t ts_ns)
{
	struct h2_dir *d;

	if (!c || (dir != HTTP1_TO_SERVER && dir != HTTP1_TO_CLIENT) || (!data && len))
		return -EINVAL;
	if (c->closed)
		return -EPIPE;
	d = &c->d[dir];
	d->ts = ts_ns;
	if (ts_ns > c->ts)
		c->ts = ts_ns;
	while (len > 0) {
		size_t used = 0;
		int rc = step(c, d, data, len, &used);

		if (rc == -ENOMEM && d->st != FS_DEAD)
			h2_stop_dir(c, d, "out of memory");
		if (rc < 0)
			return rc;
		data += used;
		len -= used;
	}
	return 0;
}

int http2_gap(struct http2_conn *c, enum http1_dir dir, size_t lost)
{
	if (!c || (dir != HTTP1_TO_SERVER && dir != HTTP1_TO_CLIENT))
		return -EINVAL;
	if (c->closed)
		return -EPIPE;
	if (lost > 0 && c->d[dir].st != FS_DEAD)
		h2_stop_dir(c, &c->d[dir], "bytes lost: HTTP/2 cannot resynchronise");
	return 0;
}

int http2_close(struct http2_conn *c)
{
	if (!c)
		return -EINVAL;
	if (c->closed)
		return 0;
	h2_sort_streams(c);
	for (size_t i = 0; i < c->n_streams; i++) {
		for (int h = 0; h < 2; h++) {
			struct h2_msg *m = &c->streams[i]->half[h];

			if (m->done)
				continue;
			m->incomplete = true;
			report(c, m);
		}
	}
	h2_drop_finished(c);
	c->d[0].st = c->d[1].st = FS_DEAD;
	c->closed = true;
	return 0;
}

bool http2_looks_like_preface(const uint8_t *p, size_t n)
{
	if (!p || n < PREFACE_DECIDES)
		return false;
	return memcmp(p, preface, min_size(n, PREFACE_LEN)) == 0;
}
