/* SPDX-License-Identifier: MIT */
/*
 * Internal to the HTTP/1 decoder: each direction's state, shared by the
 * state machine that reads the bytes (http1.c) and the decisions about a
 * message, at the end of its header section and at its own end
 * (http1_msg.c).
 */
#ifndef AT_DECODE_HTTP1_INT_H
#define AT_DECODE_HTTP1_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/http1.h"
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

/* http1.c: the message in progress as the callbacks see it */
void h1_view(const struct http1_conn *c, struct dirstate *d, struct http1_message *m);

/* http1_msg.c: the end of a message */
/* Forgets the message in progress; keeps the buffers and the sequence. */
void h1_reset_msg(struct dirstate *d);
/* Marks the message as not decoded (the first reason is kept). */
void h1_set_error(struct dirstate *d, const char *why);
/* Reports the message in progress; the direction goes on in state next. */
void h1_finish(struct http1_conn *c, struct dirstate *d, enum pstate next);
/* The message cannot be decoded: reported, or dropped when it was only a
 * candidate after lost bytes (fatal: always reported). */
void h1_fail(struct http1_conn *c, struct dirstate *d, const char *why, enum pstate next,
	     bool fatal);

/* http1_msg.c: the header section */
/* Adds the header or trailer line head[s..e); 0, 1 (the message was ended
 * as the error calls for) or -ENOMEM. */
int h1_take_field(struct http1_conn *c, struct dirstate *d, size_t s, size_t e,
		  const char *bad);
/* The header section is complete: its fields, framing, coding, pairing and
 * upgrade; the message is reported or its body comes next. 0 or -ENOMEM. */
int h1_process_head(struct http1_conn *c, struct dirstate *d);

#endif
