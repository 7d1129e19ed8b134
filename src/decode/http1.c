/* SPDX-License-Identifier: MIT */
/*
 * Incremental HTTP/1.x decoder; see http1.h.
 *
 * Each direction is a small state machine fed with whatever bytes arrive.
 * The header section (and, for chunked bodies, the trailers) is collected
 * in one buffer per direction and parsed in place: names are lower-cased
 * and every name and value is NUL-terminated inside the buffer, so the
 * parsed fields are offsets into it. The body is collected in a second
 * buffer, up to max_body, after transfer and content decoding.
 *
 * This file reads the bytes: the state machine with the lines and chunks
 * it collects, the body it keeps, and the public API. What a complete
 * header section decides, and how a message ends, are in http1_msg.c:
 * that runs once per message (or per header line), while everything the
 * loop over the input calls on every step stays in this file. http1_int.h
 * holds the state both share.
 */
#include "decode/http1.h"
#include "decode/http1_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http1_syntax.h"
#include "decode/http_body.h"

/* ---- small helpers --------------------------------------------------------- */

static const char *head_str(const struct dirstate *d, size_t off)
{
	return off == NO_OFF ? "" : d->head + off;
}

/* ---- messages ------------------------------------------------------------ */

/* The message in progress as the callbacks see it. It stays next to the
 * body: on_body_chunk gets it with every piece of an event stream. */
void h1_view(const struct http1_conn *c, struct dirstate *d, struct http1_message *m)
{
	memset(m, 0, sizeof(*m));
	m->dir = d->dir;
	m->seq = d->seq;
	m->is_request = d->is_request;
	m->interim = d->interim;
	m->method = head_str(d, d->off_method);
	m->target = head_str(d, d->off_target);
	m->version = head_str(d, d->off_version);
	m->reason = head_str(d, d->off_reason);
	m->status = d->status;
	for (size_t i = 0; i < d->n_hdr; i++) {
		d->hview[i].name = d->head + d->hoff[i].name;
		d->hview[i].value = d->head + d->hoff[i].value;
	}
	m->headers = d->n_hdr ? d->hview : NULL;
	m->n_headers = d->n_hdr;
	m->n_trailers = d->n_trailers;
	m->framing = d->framing;
	m->body = d->body_len ? d->body : NULL;
	m->body_len = d->body_len;
	m->body_total = d->body_total;
	m->wire_body_len = d->wire_len;
	if (http_coding_is_decodable(d->coding))
		m->coding = HTTP1_CODING_DECODED;
	else if (d->coding == HTTP_CODING_UNSUPPORTED)
		m->coding = HTTP1_CODING_NOT_DECODED;
	else
		m->coding = HTTP1_CODING_IDENTITY;
	m->content_encoding = d->off_cenc == NO_OFF ? NULL : d->head + d->off_cenc;
	m->event_stream = d->event_stream;
	m->ts_first_ns = d->ts_first;
	m->ts_last_ns = d->ts_last;
	m->truncated = d->truncated;
	m->body_cap = c->lim.max_body;
	m->incomplete = d->incomplete;
	m->resynced = d->resynced;
	m->decode_error = d->decode_error;
	m->error = d->decode_error ? d->error : NULL;
}

static void begin_msg(struct dirstate *d, uint64_t ts)
{
	d->in_msg = true;
	d->ts_first = d->ts_last = ts;
}

/* ---- header section ------------------------------------------------------ */

/* The section's lines go in as the state machine reads them; what they say
 * is worked out in http1_msg.c once the section is complete. */
static int head_append(struct http1_conn *c, struct dirstate *d, const uint8_t *p, size_t n)
{
	size_t need = d->head_len + n + 1; /* room for a NUL */

	if (need > d->head_cap) {
		size_t cap = d->head_cap ? d->head_cap : 1024;
		char *nb;

		while (cap < need)
			cap *= 2;
		if (cap > c->lim.max_header_bytes + 1)
			cap = c->lim.max_header_bytes + 1;
		if (cap < need)
			cap = need;
		nb = realloc(d->head, cap);
		if (!nb)
			return -ENOMEM;
		d->head = nb;
		d->head_cap = cap;
	}
	memcpy(d->head + d->head_len, p, n);
	d->head_len += n;
	d->head[d->head_len] = '\0';
	return 0;
}

/* ---- body ---------------------------------------------------------------- */

struct sink_ctx {
	struct http1_conn *c;
	struct dirstate *d;
};

/* Decoded body bytes: kept up to max_body, streamed to on_body_chunk. */
static bool body_sink(void *ctx, const uint8_t *p, size_t n)
{
	struct sink_ctx *sc = ctx;
	struct http1_conn *c = sc->c;
	struct dirstate *d = sc->d;
	size_t room = c->lim.max_body - d->body_len;
	size_t keep = n < room ? n : room;

	d->body_total += n;
	if (keep < n)
		d->truncated = true;
	if (keep > 0 && d->body_len + keep > d->body_cap) {
		size_t cap = d->body_cap ? d->body_cap : 4096;
		uint8_t *nb;

		while (cap < d->body_len + keep)
			cap = cap > c->lim.max_body / 2 ? c->lim.max_body : cap * 2;
		nb = realloc(d->body, cap);
		if (!nb) {
			h1_set_error(d, "out of memory for the body");
			d->truncated = true;
			keep = 0;
		} else {
			d->body = nb;
			d->body_cap = cap;
		}
	}
	if (keep > 0) {
		memcpy(d->body + d->body_len, p, keep);
		d->body_len += keep;
	}
	if (d->event_stream && c->cb.on_body_chunk) {
		struct http1_message m;

		h1_view(c, d, &m);
		c->cb.on_body_chunk(c->cb.ctx, &m, p, n);
	}
	if (d->truncated && !d->event_stream) {
		d->inf_stop = true; /* nothing more will be kept: stop inflating */
		return false;
	}
	return true;
}

/* Body bytes after transfer decoding. */
static void body_data(struct http1_conn *c, struct dirstate *d, const uint8_t *p, size_t n)
{
	struct sink_ctx sc = { c, d };

	d->wire_len += n;
	if (!http_coding_is_decodable(d->coding)) {
		(void)body_sink(&sc, p, n); /* returns false once truncated: nothing to stop */
		return;
	}
	if (d->inf_stop)
		return;
	if (http_inflate_feed(&d->inf, p, n, body_sink, &sc) < 0) {
		h1_set_error(d, d->inf.error ? d->inf.error : "content decoding failed");
		d->inf_stop = true;
	}
}

/* ---- the state machine --------------------------------------------------- */

/*
 * Append bytes of a header or trailer line to the head buffer, up to and
 * including its '\n', within the header-size limit. Returns 1 when the
 * line is complete, 0 when more bytes are needed or parsing of this
 * direction stopped at the limit, -ENOMEM.
 */
static int take_line(struct http1_conn *c, struct dirstate *d, const uint8_t *p, size_t len,
		     size_t *used)
{
	const uint8_t *nl = memchr(p, '\n', len);
	size_t take = nl ? (size_t)(nl - p) + 1 : len;

	*used = take;
	if (d->head_len + take > c->lim.max_header_bytes) {
		snprintf(d->errbuf, sizeof(d->errbuf), "header section exceeds %zu bytes",
			 c->lim.max_header_bytes);
		h1_fail(c, d, d->errbuf, ST_DEAD, false);
		return 0;
	}
	if (head_append(c, d, p, take) < 0) {
		h1_fail(c, d, "out of memory", ST_DEAD, true);
		return -ENOMEM;
	}
	return nl ? 1 : 0;
}

static int step_head(struct http1_conn *c, struct dirstate *d, const uint8_t *p, size_t len,
		     size_t *used)
{
	size_t ll;
	const char *ls;
	int rc = take_line(c, d, p, len, used);

	if (rc != 1)
		return rc;
	ls = d->head + d->line_start;
	ll = d->head_len - d->line_start;
	if (!d->start_parsed) {
		struct http1_start st = { false, NO_OFF, NO_OFF, NO_OFF, NO_OFF, 0 };

		if (!http1_parse_start_line(d->head, d->head_len - 1, &st)) {
			h1_fail(c, d, "not an HTTP/1 start line", ST_RESYNC_LINE, false);
			return 0;
		}
		d->is_request = st.is_request;
		d->off_method = st.method;
		d->off_target = st.target;
		d->off_version = st.version;
		d->off_reason = st.reason;
		d->status = st.status;
		d->start_parsed = true;
	} else if (ll == 1 || (ll == 2 && ls[0] == '\r')) {
		return h1_process_head(c, d);
	}
	d->line_start = d->head_len;
	if (++d->n_lines > c->lim.max_headers + 1) {
		snprintf(d->errbuf, sizeof(d->errbuf), "more than %zu header fields",
			 c->lim.max_headers);
		h1_fail(c, d, d->errbuf, ST_DEAD, false);
	}
	return 0;
}

static int step_trailer(struct http1_conn *c, struct dirstate *d, const uint8_t *p, size_t len,
			size_t *used)
{
	size_t ll;
	int rc = take_line(c, d, p, len, used);

	if (rc != 1)
		return rc;
	ll = d->head_len - d->line_start;
	if (ll == 1 || (ll == 2 && d->head[d->line_start] == '\r')) {
		h1_finish(c, d, ST_START);
		return 0;
	}
	rc = h1_take_field(c, d, d->line_start, d->head_len - 1, "malformed trailer line");
	if (rc != 0)
		return rc < 0 ? rc : 0;
	d->n_trailers++;
	d->line_start = d->head_len;
	return 0;
}

static void step_chunk_size(struct http1_conn *c, struct dirstate *d, const uint8_t *p,
			    size_t len, size_t *used)
{
	const uint8_t *nl = memchr(p, '\n', len);
	size_t take = nl ? (size_t)(nl - p) : len;
	uint64_t size;

	*used = nl ? take + 1 : take;
	if (d->cline_len + take > sizeof(d->cline)) {
		h1_fail(c, d, "chunk-size line too long", ST_RESYNC_SKIP, false);
		return;
	}
	memcpy(d->cline + d->cline_len, p, take);
	d->cline_len += take;
	if (!nl)
		return;
	if (!http1_parse_chunk_size(d->cline, d->cline_len, &size)) {
		h1_fail(c, d, "bad chunk size", ST_RESYNC_LINE, false);
		return;
	}
	d->cline_len = 0;
	if (size == 0) {
		d->line_start = d->head_len;
		d->st = ST_TRAILER;
	} else {
		d->remaining = size;
		d->st = ST_CHUNK_DATA;
	}
}

static void step_resync_line(struct dirstate *d, const uint8_t *p, uint64_t ts, size_t *used)
{
	int r;

	*used = 1;
	if (p[0] == '\n') {
		d->head_len = 0; /* a line ended: the next one may start a message */
		return;
	}
	if (d->head_len == 0)
		d->ts_first = ts;
	/* at most a dozen bytes: http1_start_check decides by then */
	if (d->head_len + 1 >= d->head_cap) {
		d->head_len = 0;
		d->st = ST_RESYNC_SKIP;
		return;
	}
	d->head[d->head_len++] = (char)p[0];
	d->head[d->head_len] = '\0';
	r = http1_start_check((const uint8_t *)d->head, d->head_len);
	if (r == 0) {
		d->head_len = 0;
		d->st = ST_RESYNC_SKIP;
	} else if (r == 1) {
		d->in_msg = true;
		d->candidate = true;
		d->resynced = true;
		d->ts_last = ts;
		d->st = ST_HEAD;
	}
}

/* n bytes of a Content-Length body or of a chunk were read (or skipped):
 * at its end, the message is complete or the chunk's CRLF comes next. */
static void body_part_read(struct http1_conn *c, struct dirstate *d, uint64_t n)
{
	d->remaining -= n;
	if (d->remaining != 0)
		return;
	if (d->st == ST_BODY_LEN) {
		h1_finish(c, d, ST_START);
	} else {
		d->chunk_cr = false;
		d->st = ST_CHUNK_END;
	}
}

static int step(struct http1_conn *c, struct dirstate *d, const uint8_t *p, size_t len,
		uint64_t ts, size_t *used)
{
	size_t take;

	if (d->in_msg)
		d->ts_last = ts;
	switch (d->st) {
	case ST_START:
		for (take = 0; take < len && (p[take] == '\r' || p[take] == '\n'); take++)
			;
		*used = take;
		if (take < len) {
			begin_msg(d, ts);
			d->st = ST_HEAD;
		}
		return 0;
	case ST_HEAD:
		return step_head(c, d, p, len, used);
	case ST_BODY_LEN:
	case ST_CHUNK_DATA:
		take = len < d->remaining ? len : (size_t)d->remaining;
		*used = take;
		body_data(c, d, p, take);
		body_part_read(c, d, take);
		return 0;
	case ST_CHUNK_SIZE:
		step_chunk_size(c, d, p, len, used);
		return 0;
	case ST_CHUNK_END:
		*used = 1;
		if (p[0] == '\r' && !d->chunk_cr)
			d->chunk_cr = true;
		else if (p[0] == '\n')
			d->st = ST_CHUNK_SIZE;
		else
			h1_fail(c, d, "no CRLF after chunk data", ST_RESYNC_SKIP, false);
		return 0;
	case ST_TRAILER:
		return step_trailer(c, d, p, len, used);
	case ST_BODY_CLOSE:
		*used = len;
		body_data(c, d, p, len);
		return 0;
	case ST_RESYNC_LINE:
		step_resync_line(d, p, ts, used);
		return 0;
	case ST_RESYNC_SKIP: {
		const uint8_t *nl = memchr(p, '\n', len);

		*used = nl ? (size_t)(nl - p) + 1 : len;
		if (nl)
			d->st = ST_RESYNC_LINE;
		return 0;
	}
	case ST_TUNNEL:
	case ST_DEAD:
		*used = len;
		return 0;
	}
	*used = len;
	return 0;
}

/* ---- public API ---------------------------------------------------------- */

struct http1_conn *http1_conn_new(const struct http1_limits *lim, const struct http1_callbacks *cb)
{
	struct http1_conn *c;

	if (!cb || !cb->on_message)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->lim.max_header_bytes = HTTP1_DEFAULT_MAX_HEADER_BYTES;
	c->lim.max_headers = HTTP1_DEFAULT_MAX_HEADERS;
	c->lim.max_body = HTTP1_DEFAULT_MAX_BODY;
	if (lim && lim->max_header_bytes)
		c->lim.max_header_bytes = lim->max_header_bytes;
	if (lim && lim->max_headers)
		c->lim.max_headers = lim->max_headers;
	if (lim && lim->max_body)
		c->lim.max_body = lim->max_body;
	/* room for the resync check, whatever the limit */
	if (c->lim.max_header_bytes < 64)
		c->lim.max_header_bytes = 64;
	c->cb = *cb;
	for (int i = 0; i < 2; i++) {
		c->d[i].dir = (enum http1_dir)i;
		h1_reset_msg(&c->d[i]);
		c->d[i].st = ST_START;
	}
	return c;
}

void http1_conn_free(struct http1_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < 2; i++) {
		http_inflate_end(&c->d[i].inf);
		free(c->d[i].head);
		free(c->d[i].hoff);
		free(c->d[i].hview);
		free(c->d[i].body);
	}
	free(c);
}

int http1_feed(struct http1_conn *c, enum http1_dir dir, const uint8_t *data, size_t len,
	       uint64_t ts_ns)
{
	struct dirstate *d;

	if (!c || (dir != HTTP1_TO_SERVER && dir != HTTP1_TO_CLIENT) || (!data && len))
		return -EINVAL;
	if (c->closed)
		return -EPIPE;
	d = &c->d[dir];
	while (len > 0) {
		size_t used = 0;
		int rc = step(c, d, data, len, ts_ns, &used);

		if (rc < 0)
			return rc;
		data += used;
		len -= used;
	}
	return 0;
}

/* Lost bytes inside a content-coded body: the inflater cannot go on. */
static void lose_body_bytes(struct dirstate *d)
{
	d->incomplete = true;
	if (http_coding_is_decodable(d->coding) && !d->inf_stop) {
		h1_set_error(d, "bytes lost inside a compressed body");
		d->inf_stop = true;
	}
}

int http1_gap(struct http1_conn *c, enum http1_dir dir, size_t lost)
{
	struct dirstate *d;

	if (!c || (dir != HTTP1_TO_SERVER && dir != HTTP1_TO_CLIENT))
		return -EINVAL;
	if (c->closed)
		return -EPIPE;
	d = &c->d[dir];
	if (lost == 0)
		return 0;
	switch (d->st) {
	case ST_BODY_LEN:
	case ST_CHUNK_DATA:
		lose_body_bytes(d);
		if (lost < d->remaining) {
			d->remaining -= lost;
			return 0;
		}
		if (lost == d->remaining && d->st == ST_BODY_LEN) {
			h1_finish(c, d, ST_START); /* the hole ends with the message */
			return 0;
		}
		h1_finish(c, d, ST_RESYNC_LINE);
		return 0;
	case ST_BODY_CLOSE:
		lose_body_bytes(d);
		return 0;
	case ST_HEAD:
		if (d->candidate) {
			h1_reset_msg(d);
			d->st = ST_RESYNC_LINE;
			return 0;
		}
		d->incomplete = true;
		h1_finish(c, d, ST_RESYNC_LINE);
		return 0;
	case ST_CHUNK_SIZE:
	case ST_CHUNK_END:
	case ST_TRAILER:
		d->incomplete = true;
		h1_finish(c, d, ST_RESYNC_LINE);
		return 0;
	case ST_START:
	case ST_RESYNC_LINE:
	case ST_RESYNC_SKIP:
		h1_reset_msg(d);
		d->st = ST_RESYNC_LINE;
		return 0;
	case ST_TUNNEL:
	case ST_DEAD:
		return 0;
	}
	return 0;
}

int http1_close(struct http1_conn *c)
{
	if (!c)
		return -EINVAL;
	if (c->closed)
		return 0;
	for (int i = 0; i < 2; i++) {
		struct dirstate *d = &c->d[i];

		switch (d->st) {
		case ST_BODY_CLOSE:
			h1_finish(c, d, ST_DEAD);
			break;
		case ST_HEAD:
			if (d->candidate)
				break;
			/* fall through */
		case ST_BODY_LEN:
		case ST_CHUNK_SIZE:
		case ST_CHUNK_DATA:
		case ST_CHUNK_END:
		case ST_TRAILER:
			d->incomplete = true;
			h1_finish(c, d, ST_DEAD);
			break;
		default:
			break;
		}
		d->st = ST_DEAD;
	}
	c->closed = true;
	return 0;
}

/* ---- skipping bytes the decoder would not look at ------------------------- */

uint64_t http1_skippable(const struct http1_conn *c, enum http1_dir dir)
{
	const struct dirstate *d;

	if (!c || (dir != HTTP1_TO_SERVER && dir != HTTP1_TO_CLIENT) || c->closed)
		return 0;
	d = &c->d[dir];
	/* past the cap, identity coded, nobody watching the bytes stream by */
	if ((d->st != ST_BODY_LEN && d->st != ST_CHUNK_DATA && d->st != ST_BODY_CLOSE) ||
	    !d->truncated || d->event_stream || http_coding_is_decodable(d->coding))
		return 0;
	return d->st == ST_BODY_CLOSE ? UINT64_MAX : d->remaining;
}

int http1_skip(struct http1_conn *c, enum http1_dir dir, uint64_t n)
{
	struct dirstate *d;

	if (n == 0)
		return 0;
	if (n > http1_skippable(c, dir))
		return -EINVAL;
	d = &c->d[dir];
	d->wire_len += n;
	d->body_total += n;
	if (d->st == ST_BODY_CLOSE)
		return 0; /* ends with the connection */
	body_part_read(c, d, n);
	return 0;
}
