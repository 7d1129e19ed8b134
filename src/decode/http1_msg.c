/* SPDX-License-Identifier: MIT */
/*
 * The decisions about one HTTP/1 message (internal to the HTTP/1 decoder;
 * see http1.c): what its header section says once it is complete (the
 * fields, parsed in place, and from them the framing of the body, its
 * content coding, the request a response answers, the upgrade to a
 * tunnel), and how the message ends: reported, given up on, or forgotten.
 *
 * The seam: http1.c runs for every piece of input, the code here once per
 * message, or once per header or trailer line. The message as the
 * callbacks see it (h1_view) stays in http1.c: an event stream's body
 * hands it to on_body_chunk with every piece.
 */
#include "decode/http1_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http1_syntax.h"
#include "decode/http_body.h"

/* ---- the end of a message ---------------------------------------------- */

/* Forgets the message in progress; keeps the buffers and the sequence. */
void h1_reset_msg(struct dirstate *d)
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

void h1_set_error(struct dirstate *d, const char *why)
{
	if (d->decode_error)
		return; /* keep the first reason */
	d->decode_error = true;
	d->error = why;
}

/* Reports the message in progress and gets ready for the next one. */
void h1_finish(struct http1_conn *c, struct dirstate *d, enum pstate next)
{
	struct http1_message m;
	bool interim = d->interim;

	if (http_coding_is_decodable(d->coding) &&
	    d->framing != HTTP1_FRAMING_NONE && !d->inf_stop && !d->inf.finished &&
	    !d->incomplete && !d->decode_error)
		h1_set_error(d, "compressed body ends before its end of stream");
	h1_view(c, d, &m);
	c->cb.on_message(c->cb.ctx, &m);
	if (!interim)
		d->seq++;
	h1_reset_msg(d);
	d->st = next == ST_START && c->tunnel ? ST_TUNNEL : next;
}

/*
 * The message in progress cannot be decoded. A line that only looked like
 * a message start after lost bytes is dropped silently; anything else is
 * reported. fatal: out of memory, always reported.
 */
void h1_fail(struct http1_conn *c, struct dirstate *d, const char *why, enum pstate next,
	     bool fatal)
{
	if (d->candidate && !fatal) {
		h1_reset_msg(d);
		d->st = next == ST_RESYNC_LINE ? ST_RESYNC_LINE : ST_RESYNC_SKIP;
		return;
	}
	h1_set_error(d, why);
	d->incomplete = true;
	h1_finish(c, d, next);
}

/* ---- header section ------------------------------------------------------ */

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
int h1_take_field(struct http1_conn *c, struct dirstate *d, size_t s, size_t e,
		  const char *bad)
{
	int rc = parse_header_line(c, d, s, e);

	if (rc == -ENOMEM) {
		h1_fail(c, d, "out of memory", ST_DEAD, true);
		return rc;
	}
	if (rc == -E2BIG) {
		snprintf(d->errbuf, sizeof(d->errbuf), "more than %zu header fields",
			 c->lim.max_headers);
		h1_fail(c, d, d->errbuf, ST_DEAD, false);
		return 1;
	}
	if (rc < 0) {
		h1_fail(c, d, bad, ST_RESYNC_LINE, false);
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
int h1_process_head(struct http1_conn *c, struct dirstate *d)
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

		rc = h1_take_field(c, d, s, e, "malformed header line");
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
				h1_fail(c, d, "bad Content-Length", ST_RESYNC_LINE, false);
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
			h1_fail(c, d, "request Transfer-Encoding does not end in chunked",
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
				h1_reset_msg(other);
				other->st = ST_TUNNEL;
			}
		}
	}
	if (d->framing == HTTP1_FRAMING_NONE) {
		if (d->coding != HTTP_CODING_UNSUPPORTED)
			d->coding = HTTP_CODING_IDENTITY; /* nothing to decode */
		h1_finish(c, d, ST_START);
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
