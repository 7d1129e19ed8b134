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
 */
#include "decode/http1.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http1_syntax.h"
#include "decode/http_body.h"

#define CHUNK_LINE_MAX 4096   /* chunk-size line with its extensions */
#define PENDING_REQUESTS 64   /* request kinds remembered for pairing */
#define NO_OFF ((size_t)-1)

enum pstate {
	ST_START,       /* between messages: skipping blank lines */
	ST_HEAD,        /* collecting the start line and header lines */
	ST_BODY_LEN,    /* Content-Length body: remaining bytes */
	ST_CHUNK_SIZE,  /* collecting a chunk-size line */
	ST_CHUNK_DATA,  /* inside a chunk: remaining bytes */
	ST_CHUNK_END,   /* the CRLF after a chunk's data */
	ST_TRAILER,     /* trailer lines after the last chunk */
	ST_BODY_CLOSE,  /* body until the connection closes */
	ST_RESYNC_LINE, /* after lost bytes: at a line start, checking the line */
	ST_RESYNC_SKIP, /* after lost bytes: skipping to the next line */
	ST_TUNNEL,      /* after 101 / CONNECT: no more HTTP */
	ST_DEAD,        /* a fatal error was reported */
};

enum req_kind { REQ_NORMAL, REQ_HEAD, REQ_CONNECT };

struct hdr_off {
	size_t name, value;
};

struct dirstate {
	enum http1_dir dir;
	enum pstate st;
	uint64_t seq;

	/* header section, then trailer lines */
	char *head;
	size_t head_len, head_cap;
	size_t line_start;     /* offset of the line being collected */
	size_t n_lines;
	bool start_parsed;     /* the start line was parsed */
	struct hdr_off *hoff;
	struct http1_header *hview;
	size_t n_hdr, hdr_cap, n_trailers;

	/* start line, as offsets into head (NO_OFF: unknown) */
	size_t off_method, off_target, off_version, off_reason, off_cenc;
	int status;
	bool is_request, interim;

	/* framing */
	enum http1_framing framing;
	uint64_t remaining;
	char cline[CHUNK_LINE_MAX];
	size_t cline_len;
	bool chunk_cr;

	/* body */
	uint8_t *body;
	size_t body_len, body_cap;
	uint64_t body_total, wire_len;
	bool truncated;
	enum http_coding coding;
	struct http_inflate inf;
	bool inf_stop;  /* no more content decoding for this message */
	bool event_stream;

	/* message flags */
	bool in_msg, incomplete, resynced, candidate, decode_error;
	const char *error;
	char errbuf[96];
	uint64_t ts_first, ts_last;
};

struct http1_conn {
	struct http1_limits lim;
	struct http1_callbacks cb;
	struct dirstate d[2];
	struct {
		uint64_t seq;
		enum req_kind kind;
		bool valid;
	} req[PENDING_REQUESTS];
	bool tunnel, closed;
};

/* ---- small helpers --------------------------------------------------------- */

static const char *head_str(const struct dirstate *d, size_t off)
{
	return off == NO_OFF ? "" : d->head + off;
}

/* ---- messages ------------------------------------------------------------ */

static void view(const struct http1_conn *c, struct dirstate *d, struct http1_message *m)
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

/* Forgets the message in progress; keeps the buffers and the sequence. */
static void reset_msg(struct dirstate *d)
{
	http_inflate_end(&d->inf);
	d->head_len = 0;
	d->line_start = 0;
	d->n_lines = 0;
	d->start_parsed = false;
	d->n_hdr = 0;
	d->n_trailers = 0;
	d->off_method = d->off_target = d->off_version = d->off_reason = d->off_cenc = NO_OFF;
	d->status = 0;
	d->is_request = false;
	d->interim = false;
	d->framing = HTTP1_FRAMING_NONE;
	d->remaining = 0;
	d->cline_len = 0;
	d->chunk_cr = false;
	d->body_len = 0;
	d->body_total = 0;
	d->wire_len = 0;
	d->truncated = false;
	d->coding = HTTP_CODING_IDENTITY;
	d->inf_stop = false;
	d->event_stream = false;
	d->in_msg = false;
	d->incomplete = false;
	d->resynced = false;
	d->candidate = false;
	d->decode_error = false;
	d->error = NULL;
	d->ts_first = d->ts_last = 0;
}

static void set_error(struct dirstate *d, const char *why)
{
	if (d->decode_error)
		return; /* keep the first reason */
	d->decode_error = true;
	d->error = why;
}

/* Reports the message in progress and gets ready for the next one. */
static void finish(struct http1_conn *c, struct dirstate *d, enum pstate next)
{
	struct http1_message m;
	bool interim = d->interim;

	if (http_coding_is_decodable(d->coding) &&
	    d->framing != HTTP1_FRAMING_NONE && !d->inf_stop && !d->inf.finished &&
	    !d->incomplete && !d->decode_error)
		set_error(d, "compressed body ends before its end of stream");
	view(c, d, &m);
	c->cb.on_message(c->cb.ctx, &m);
	if (!interim)
		d->seq++;
	reset_msg(d);
	d->st = next == ST_START && c->tunnel ? ST_TUNNEL : next;
}

/*
 * The message in progress cannot be decoded. A line that only looked like
 * a message start after lost bytes is dropped silently; anything else is
 * reported. fatal: out of memory, always reported.
 */
static void fail(struct http1_conn *c, struct dirstate *d, const char *why, enum pstate next,
		 bool fatal)
{
	if (d->candidate && !fatal) {
		reset_msg(d);
		d->st = next == ST_RESYNC_LINE ? ST_RESYNC_LINE : ST_RESYNC_SKIP;
		return;
	}
	set_error(d, why);
	d->incomplete = true;
	finish(c, d, next);
}

static void begin_msg(struct dirstate *d, uint64_t ts)
{
	d->in_msg = true;
	d->ts_first = d->ts_last = ts;
}

/* ---- header section ------------------------------------------------------ */

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

static int add_header(struct http1_conn *c, struct dirstate *d, size_t name, size_t value)
{
	if (d->n_hdr == d->hdr_cap) {
		size_t cap = d->hdr_cap ? d->hdr_cap * 2 : 16;
		struct hdr_off *no;
		struct http1_header *nv;

		if (cap > c->lim.max_headers)
			cap = c->lim.max_headers;
		no = realloc(d->hoff, cap * sizeof(*no));
		if (!no)
			return -ENOMEM;
		d->hoff = no;
		nv = realloc(d->hview, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->hview = nv;
		d->hdr_cap = cap;
	}
	d->hoff[d->n_hdr].name = name;
	d->hoff[d->n_hdr].value = value;
	d->n_hdr++;
	return 0;
}

/*
 * Header line head[s..e), e being the offset of its LF. Returns 0, -EINVAL
 * (malformed), -E2BIG (too many fields) or -ENOMEM.
 */
static int parse_header_line(struct http1_conn *c, struct dirstate *d, size_t s, size_t e)
{
	size_t name, value;

	if (d->n_hdr >= c->lim.max_headers)
		return -E2BIG;
	if (!http1_parse_field_line(d->head, s, e, &name, &value))
		return -EINVAL;
	return add_header(c, d, name, value);
}

/*
 * Add the header or trailer line [s, e); when it cannot be added, end the
 * message the way the error calls for (`bad` names a malformed line).
 * Returns 0 when added, 1 when parsing of this message stopped, -ENOMEM.
 */
static int take_field(struct http1_conn *c, struct dirstate *d, size_t s, size_t e,
		      const char *bad)
{
	int rc = parse_header_line(c, d, s, e);

	if (rc == -ENOMEM) {
		fail(c, d, "out of memory", ST_DEAD, true);
		return rc;
	}
	if (rc == -E2BIG) {
		snprintf(d->errbuf, sizeof(d->errbuf), "more than %zu header fields",
			 c->lim.max_headers);
		fail(c, d, d->errbuf, ST_DEAD, false);
		return 1;
	}
	if (rc < 0) {
		fail(c, d, bad, ST_RESYNC_LINE, false);
		return 1;
	}
	return 0;
}

static enum req_kind request_kind(const struct http1_conn *c, uint64_t seq)
{
	size_t i = seq % PENDING_REQUESTS;

	return c->req[i].valid && c->req[i].seq == seq ? c->req[i].kind : REQ_NORMAL;
}

/* The header section is complete in head[0..head_len). Decides the framing. */
static int process_head(struct http1_conn *c, struct dirstate *d)
{
	size_t first_end = (size_t)((char *)memchr(d->head, '\n', d->head_len) - d->head);
	size_t blank = d->line_start;
	bool have_len = false, have_te = false, chunked = false, coding_seen = false;
	uint64_t len = 0;
	int rc;

	/* obs-fold: a line starting with SP/HT continues the previous one */
	for (size_t i = first_end + 1; i + 1 < blank; i++) {
		if (d->head[i] == '\n' && (d->head[i + 1] == ' ' || d->head[i + 1] == '\t') &&
		    i > first_end + 1) {
			d->head[i] = ' ';
			if (d->head[i - 1] == '\r')
				d->head[i - 1] = ' ';
		}
	}
	for (size_t s = first_end + 1; s < blank;) {
		size_t e = (size_t)((char *)memchr(d->head + s, '\n', blank - s) - d->head);

		rc = take_field(c, d, s, e, "malformed header line");
		if (rc != 0)
			return rc < 0 ? rc : 0;
		s = e + 1;
	}
	for (size_t i = 0; i < d->n_hdr; i++) {
		const char *name = d->head + d->hoff[i].name;
		const char *value = d->head + d->hoff[i].value;
		uint64_t v;

		if (strcmp(name, "content-length") == 0) {
			if (!http1_parse_length(value, &v) || (have_len && v != len)) {
				fail(c, d, "bad Content-Length", ST_RESYNC_LINE, false);
				return 0;
			}
			have_len = true;
			len = v;
		} else if (strcmp(name, "transfer-encoding") == 0) {
			have_te = true;
			chunked = http1_te_ends_chunked(value);
		} else if (strcmp(name, "content-encoding") == 0) {
			d->coding = http_coding_add(d->coding, &coding_seen, value);
			if (d->off_cenc == NO_OFF)
				d->off_cenc = d->hoff[i].value;
		} else if (strcmp(name, "content-type") == 0) {
			d->event_stream = http1_is_event_stream(value);
		}
	}
	d->candidate = false; /* a real message from here on */

	if (d->is_request) {
		size_t slot = d->seq % PENDING_REQUESTS;
		const char *method = d->head + d->off_method;

		c->req[slot].seq = d->seq;
		c->req[slot].valid = true;
		c->req[slot].kind = strcmp(method, "HEAD") == 0      ? REQ_HEAD
				    : strcmp(method, "CONNECT") == 0 ? REQ_CONNECT
								     : REQ_NORMAL;
		if (have_te && !chunked) {
			fail(c, d, "request Transfer-Encoding does not end in chunked",
			     ST_RESYNC_LINE, false);
			return 0;
		}
		d->framing = have_te ? HTTP1_FRAMING_CHUNKED
			     : have_len && len > 0 ? HTTP1_FRAMING_LENGTH
						   : HTTP1_FRAMING_NONE;
	} else {
		enum req_kind kind = request_kind(c, d->seq);
		bool upgrade = d->status == 101 || (kind == REQ_CONNECT && d->status / 100 == 2);

		d->interim = d->status / 100 == 1 && d->status != 101;
		if (d->status / 100 == 1 || d->status == 204 || d->status == 304 ||
		    kind == REQ_HEAD || upgrade)
			d->framing = HTTP1_FRAMING_NONE;
		else if (have_te)
			d->framing = chunked ? HTTP1_FRAMING_CHUNKED : HTTP1_FRAMING_CLOSE;
		else if (have_len)
			d->framing = len > 0 ? HTTP1_FRAMING_LENGTH : HTTP1_FRAMING_NONE;
		else
			d->framing = HTTP1_FRAMING_CLOSE;
		if (upgrade) {
			struct dirstate *other = &c->d[!d->dir];

			c->tunnel = true;
			if (other->st == ST_START || other->st == ST_RESYNC_LINE ||
			    other->st == ST_RESYNC_SKIP) {
				reset_msg(other);
				other->st = ST_TUNNEL;
			}
		}
	}
	if (d->framing == HTTP1_FRAMING_NONE) {
		if (d->coding != HTTP_CODING_UNSUPPORTED)
			d->coding = HTTP_CODING_IDENTITY; /* nothing to decode */
		finish(c, d, ST_START);
		return 0;
	}
	if (http_coding_is_decodable(d->coding))
		http_inflate_init(&d->inf, d->coding);
	d->remaining = len;
	d->st = d->framing == HTTP1_FRAMING_LENGTH    ? ST_BODY_LEN
		: d->framing == HTTP1_FRAMING_CHUNKED ? ST_CHUNK_SIZE
						      : ST_BODY_CLOSE;
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
			set_error(d, "out of memory for the body");
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

		view(c, d, &m);
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
		set_error(d, d->inf.error ? d->inf.error : "content decoding failed");
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
		fail(c, d, d->errbuf, ST_DEAD, false);
		return 0;
	}
	if (head_append(c, d, p, take) < 0) {
		fail(c, d, "out of memory", ST_DEAD, true);
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
			fail(c, d, "not an HTTP/1 start line", ST_RESYNC_LINE, false);
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
		return process_head(c, d);
	}
	d->line_start = d->head_len;
	if (++d->n_lines > c->lim.max_headers + 1) {
		snprintf(d->errbuf, sizeof(d->errbuf), "more than %zu header fields",
			 c->lim.max_headers);
		fail(c, d, d->errbuf, ST_DEAD, false);
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
		finish(c, d, ST_START);
		return 0;
	}
	rc = take_field(c, d, d->line_start, d->head_len - 1, "malformed trailer line");
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
		fail(c, d, "chunk-size line too long", ST_RESYNC_SKIP, false);
		return;
	}
	memcpy(d->cline + d->cline_len, p, take);
	d->cline_len += take;
	if (!nl)
		return;
	if (!http1_parse_chunk_size(d->cline, d->cline_len, &size)) {
		fail(c, d, "bad chunk size", ST_RESYNC_LINE, false);
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
		finish(c, d, ST_START);
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
			fail(c, d, "no CRLF after chunk data", ST_RESYNC_SKIP, false);
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
		reset_msg(&c->d[i]);
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
		set_error(d, "bytes lost inside a compressed body");
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
			finish(c, d, ST_START); /* the hole ends with the message */
			return 0;
		}
		finish(c, d, ST_RESYNC_LINE);
		return 0;
	case ST_BODY_CLOSE:
		lose_body_bytes(d);
		return 0;
	case ST_HEAD:
		if (d->candidate) {
			reset_msg(d);
			d->st = ST_RESYNC_LINE;
			return 0;
		}
		d->incomplete = true;
		finish(c, d, ST_RESYNC_LINE);
		return 0;
	case ST_CHUNK_SIZE:
	case ST_CHUNK_END:
	case ST_TRAILER:
		d->incomplete = true;
		finish(c, d, ST_RESYNC_LINE);
		return 0;
	case ST_START:
	case ST_RESYNC_LINE:
	case ST_RESYNC_SKIP:
		reset_msg(d);
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
			finish(c, d, ST_DEAD);
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
			finish(c, d, ST_DEAD);
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
