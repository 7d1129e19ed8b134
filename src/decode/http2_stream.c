/* SPDX-License-Identifier: MIT */
/*
 * The streams of an HTTP/2 connection; see http2.h.
 *
 * Streams are a small table of the open ones, each with its two halves
 * (http2_msg.h): the request, sent to the server, and the response. A
 * stream leaves the table when both halves have been reported. Stream ids
 * only grow, so an id at or below the highest one opened and not in the
 * table is a closed (or ignored) stream, never a new one: that is what
 * makes every half reported at most once.
 *
 * The frame decoder (http2.c) says what happened to a stream (a header
 * block opened it, a half ended, RST_STREAM, GOAWAY, a direction that
 * stopped); this file keeps the table and reports each half once. Its
 * lookups, which every frame makes, are inline in http2_int.h.
 */
#include "decode/http2_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* RFC 9113 section 7, by code */
static const char *const error_names[] = {
	"NO_ERROR",          "PROTOCOL_ERROR",      "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT",  "STREAM_CLOSED",       "FRAME_SIZE_ERROR", "REFUSED_STREAM",
	"CANCEL",            "COMPRESSION_ERROR",   "CONNECT_ERROR",  "ENHANCE_YOUR_CALM",
	"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
};

/* The name of an HTTP/2 error code, or its number in buf. */
static const char *error_name(uint32_t code, char *buf, size_t size)
{
	if (code < sizeof(error_names) / sizeof(error_names[0]))
		return error_names[code];
	snprintf(buf, size, "0x%x", code);
	return buf;
}

void h2_free_stream(struct http2_conn *c, struct h2_stream *s)
{
	h2m_release(&c->env, &s->half[0]);
	h2m_release(&c->env, &s->half[1]);
	if (c->hit == s)
		c->hit = NULL;
	free(s);
}

/* Drops every stream whose halves have both been reported. */
void h2_drop_finished(struct http2_conn *c)
{
	size_t keep = 0;

	for (size_t i = 0; i < c->n_streams; i++) {
		struct h2_stream *s = c->streams[i];

		if (s->half[0].done && s->half[1].done)
			h2_free_stream(c, s);
		else
			c->streams[keep++] = s;
	}
	c->n_streams = keep;
}

static int by_id(const void *a, const void *b)
{
	uint32_t x = (*(struct h2_stream *const *)a)->id;
	uint32_t y = (*(struct h2_stream *const *)b)->id;

	return x < y ? -1 : x > y;
}

/* Puts the table in id order, so that mass reports come out in a stable order. */
void h2_sort_streams(struct http2_conn *c)
{
	qsort(c->streams, c->n_streams, sizeof(c->streams[0]), by_id);
}

/* A message about no tracked stream: the connection (id 0) or an ignored stream. */
static void report_lone(struct http2_conn *c, enum http1_dir dir, uint32_t id, const char *why)
{
	struct h2_msg m;

	h2m_init(&m, dir, id, c->env.lim.max_body);
	m.incomplete = true;
	h2m_error(&m, why);
	report(c, &m);
}

/*
 * A header block on stream id, which is not open: a new client stream is
 * tracked, anything else (pushed, closed or ignored streams) is not. The
 * client opens streams; a response only does when the client's direction
 * has stopped, so that a stray response cannot open (and so close) ids the
 * client has yet to use. Halves in a stopped direction will never be
 * reported. Returns the stream or NULL; *err is -ENOMEM when out of memory.
 */
struct h2_stream *h2_open_stream(struct http2_conn *c, struct h2_dir *d, uint32_t id, int *err)
{
	struct h2_stream *s;

	*err = 0;
	if (id % 2 == 0 || id <= c->max_id)
		return NULL;
	if (d->dir == HTTP1_TO_CLIENT && c->d[HTTP1_TO_SERVER].st != FS_DEAD)
		return NULL;
	c->max_id = id;
	if (c->n_streams == HTTP2_MAX_STREAMS) {
		report_lone(c, d->dir, id, "too many open streams: stream ignored");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->id = id;
	for (int i = 0; i < 2; i++) {
		h2m_init(&s->half[i], (enum http1_dir)i, id, c->env.lim.max_body);
		s->half[i].done = c->d[i].st == FS_DEAD;
	}
	c->streams[c->n_streams++] = s;
	return s;
}

/* Half dir of s ended normally. */
void h2_finish_half(struct http2_conn *c, struct h2_stream *s, enum http1_dir dir)
{
	struct h2_msg *m = &s->half[dir];

	h2m_check_end(m, dir == HTTP1_TO_CLIENT && s->half[HTTP1_TO_SERVER].is_head);
	report(c, m);
	if (s->half[!dir].done)
		h2_drop_finished(c);
}

/*
 * What is left of s ends here, incomplete: reset by RST_STREAM, or (goaway)
 * not processed according to the server's GOAWAY. code: the error code.
 */
void h2_abort_stream(struct http2_conn *c, struct h2_stream *s, bool goaway, uint32_t code)
{
	char buf[16];
	const char *name = error_name(code, buf, sizeof(buf));

	for (int i = 0; i < 2; i++) {
		struct h2_msg *m = &s->half[i];

		if (m->done)
			continue;
		m->incomplete = true;
		h2m_errorf(m, goaway ? "GOAWAY %s: stream not processed" : "stream reset: %s", name);
		report(c, m);
	}
}

/*
 * Direction d cannot go on: every half it still owes is reported
 * incomplete with why (a static string), or one message for the
 * connection when it owes none.
 */
void h2_stop_dir(struct http2_conn *c, struct h2_dir *d, const char *why)
{
	bool any = false;

	d->st = FS_DEAD;
	d->in_block = false;
	h2_sort_streams(c);
	for (size_t i = 0; i < c->n_streams; i++) {
		struct h2_msg *m = &c->streams[i]->half[d->dir];

		if (m->done)
			continue;
		m->incomplete = true;
		h2m_error(m, why);
		report(c, m);
		any = true;
	}
	h2_drop_finished(c);
	if (!any)
		report_lone(c, d->dir, 0, why);
}
