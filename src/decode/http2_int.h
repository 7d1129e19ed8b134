/* SPDX-License-Identifier: MIT */
/*
 * Internal to the HTTP/2 decoder: the connection's state, shared by the
 * frame decoder (http2.c) and the table of streams whose halves it reports
 * (http2_stream.c). The stream lookups are here as static inline: they run
 * for every frame and for every header field.
 */
#ifndef AT_DECODE_HTTP2_INT_H
#define AT_DECODE_HTTP2_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/http2.h"
#include "decode/http2_hpack.h"
#include "decode/http2_msg.h"

#define FRAME_HEADER_LEN 9
#define PREFIX_MAX 8              /* GOAWAY: last stream id and error code */
#define SETTING_LEN 6

enum fstate {
	FS_PREFACE, /* matching the client preface */
	FS_HEAD,    /* collecting a frame header */
	FS_PREFIX,  /* collecting the frame's fixed prefix */
	FS_CONTENT, /* inside the frame's content */
	FS_PAD,     /* skipping its padding */
	FS_DEAD,    /* stopped for good */
};

struct h2_stream {
	uint32_t id;
	struct h2_msg half[2]; /* indexed by enum http1_dir: request, response */
};

struct h2_dir {
	struct http2_conn *conn;
	enum http1_dir dir;
	enum fstate st;
	uint64_t ts; /* of the bytes being decoded */
	struct h2_hpack hpack;

	/* the frame being decoded */
	uint8_t raw[FRAME_HEADER_LEN];
	size_t got; /* bytes of the preface, frame header or prefix collected */
	uint32_t len, sid;
	uint8_t type, flags;
	uint8_t pre[PREFIX_MAX];
	size_t pre_need;
	uint32_t content_left, pad_left;
	uint8_t setting[SETTING_LEN];
	size_t setting_len;

	/* the header block in progress (HEADERS or PUSH_PROMISE, then CONTINUATION) */
	bool in_block;
	bool block_keep; /* its fields go to half `dir` of stream block_sid */
	bool block_end_stream;
	uint32_t block_sid;
};

struct http2_conn {
	struct h2_env env;
	struct h2_dir d[2];
	struct h2_stream *streams[HTTP2_MAX_STREAMS];
	size_t n_streams;
	struct h2_stream *hit; /* the last one found: frames come in runs */
	uint32_t max_id;       /* the highest stream id opened so far */
	uint64_t ts;           /* the latest ts fed */
	bool closed;
};

/* The open stream with this id, or NULL. */
static inline struct h2_stream *find_stream(struct http2_conn *c, uint32_t id)
{
	if (c->hit && c->hit->id == id)
		return c->hit;
	for (size_t i = 0; i < c->n_streams; i++) {
		if (c->streams[i]->id == id) {
			c->hit = c->streams[i];
			return c->hit;
		}
	}
	return NULL;
}

/* m to on_message, with the latest ts of the connection. */
static inline void report(struct http2_conn *c, struct h2_msg *m)
{
	h2m_report(&c->env, m, c->ts);
}

/* The half of stream sid that direction d carries, when it is still to be reported. */
static inline struct h2_msg *open_half(struct http2_conn *c, const struct h2_dir *d, uint32_t sid,
				       struct h2_stream **sp)
{
	struct h2_stream *s = find_stream(c, sid);

	*sp = s;
	if (!s || s->half[d->dir].done)
		return NULL;
	return &s->half[d->dir];
}

/* http2_stream.c */
/* Frees s and what its halves hold. */
void h2_free_stream(struct http2_conn *c, struct h2_stream *s);
/* Drops every stream whose halves have both been reported. */
void h2_drop_finished(struct http2_conn *c);
/* Puts the table in id order, so that mass reports come out in a stable order. */
void h2_sort_streams(struct http2_conn *c);
/* The stream a header block on id, which is not open, opens: NULL when it
 * opens none; *err is -ENOMEM when out of memory. */
struct h2_stream *h2_open_stream(struct http2_conn *c, struct h2_dir *d, uint32_t id, int *err);
/* Half dir of s ended normally: it is reported. */
void h2_finish_half(struct http2_conn *c, struct h2_stream *s, enum http1_dir dir);
/* What is left of s ends, incomplete: reset by RST_STREAM, or (goaway) not
 * processed according to the server's GOAWAY. code: the error code. */
void h2_abort_stream(struct http2_conn *c, struct h2_stream *s, bool goaway, uint32_t code);
/* Direction d cannot go on: every half it still owes is reported incomplete
 * with why (a static string). */
void h2_stop_dir(struct http2_conn *c, struct h2_dir *d, const char *why);

#endif
