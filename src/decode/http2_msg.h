/* SPDX-License-Identifier: MIT */
/*
 * One HTTP message carried by half of an HTTP/2 stream (internal to the
 * HTTP/2 decoder): the header fields HPACK hands over, the body with its
 * content decoding, and the struct http1_message it is reported as. The
 * framing is in http2.c, the streams in http2_stream.c, HPACK in
 * http2_hpack.c.
 */
#ifndef AGENTTRAIL_DECODE_HTTP2_MSG_H
#define AGENTTRAIL_DECODE_HTTP2_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/http1.h"
#include "decode/http_body.h"

/* What every message of a connection shares. */
struct h2_env {
	struct http1_limits lim;
	struct http1_callbacks cb;
	size_t mem_used; /* bytes kept by all messages, see HTTP2_CONN_MEMORY */
	size_t mem_max;
};

struct h2_field {
	size_t name, value; /* offsets into h2_msg.buf */
};

struct h2_msg {
	enum http1_dir dir; /* HTTP1_TO_SERVER: the request */
	uint32_t id;
	bool began;        /* a header block started */
	bool headers_done; /* the header section is complete */
	bool in_trailers;  /* the header block in progress holds trailers */
	bool done;         /* reported (or never to be) */
	bool fields_over;  /* a field limit was hit: later fields are dropped */
	bool is_head;      /* a HEAD request (kept after the report, for the response) */

	/* "name\0value\0" of every field kept, pseudo-headers too */
	char *buf;
	size_t buf_len, buf_cap;
	struct h2_field *fld; /* regular fields, then trailers */
	struct http1_header *view;
	size_t n_fld, fld_cap, trailers_from, field_bytes;
	size_t off_method, off_path, off_authority, off_cenc;
	int status;
	bool interim;

	enum http1_framing framing;
	bool have_len;
	uint64_t content_length;

	uint8_t *body;
	size_t body_len, body_alloc, body_cap;
	uint64_t body_total, wire_len;
	bool truncated;
	enum http_coding coding;
	struct http_inflate inf;
	bool inf_on;   /* inf was initialised and holds memory of the budget */
	bool inf_stop; /* no more content decoding */
	bool event_stream;

	bool incomplete, decode_error;
	const char *error;
	char errbuf[96];
	uint64_t ts_first, ts_last;
};

void h2m_init(struct h2_msg *m, enum http1_dir dir, uint32_t id, size_t body_cap);

/* Frees what m holds (it stays initialised, empty). */
void h2m_release(struct h2_env *env, struct h2_msg *m);

/* Sets decode_error; the first reason is kept. why must outlive the report. */
void h2m_error(struct h2_msg *m, const char *why);

/* Like h2m_error, the reason formatted into m->errbuf. */
void h2m_errorf(struct h2_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes of this message seen at ts. */
void h2m_touch(struct h2_msg *m, uint64_t ts);

/* A header block of this message starts: its header section or its trailers. */
void h2m_block_begin(struct h2_msg *m, uint64_t ts);

/* One field of the block, as HPACK decoded it. Returns 0 or -ENOMEM. */
int h2m_field(struct h2_env *env, struct h2_msg *m, const uint8_t *name, size_t nlen,
	      const uint8_t *value, size_t vlen);

enum h2m_block_end {
	H2M_HEADERS,  /* the header section is complete; a body may follow */
	H2M_INTERIM,  /* a 1xx response: report it, then h2m_reset_interim */
	H2M_FINISHED, /* trailers, or headers with END_STREAM: report the message */
};

/* The block ended; end_stream: its HEADERS frame had END_STREAM. Returns 0 or -ENOMEM. */
int h2m_block_end(struct h2_env *env, struct h2_msg *m, bool end_stream, enum h2m_block_end *out);

/* After an interim response was reported: ready for the next header block. */
void h2m_reset_interim(struct h2_env *env, struct h2_msg *m);

/* DATA payload bytes (padding removed). */
void h2m_body(struct h2_env *env, struct h2_msg *m, const uint8_t *p, size_t n);

/*
 * The stream half ended normally: checks what only the end can tell.
 * head_request: the response answers a HEAD request.
 */
void h2m_check_end(struct h2_msg *m, bool head_request);

/* Hands m to on_message (ts: when a message that never began is reported), then releases it. */
void h2m_report(struct h2_env *env, struct h2_msg *m, uint64_t ts);

#endif /* AGENTTRAIL_DECODE_HTTP2_MSG_H */
