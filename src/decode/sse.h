/* SPDX-License-Identifier: MIT */
/*
 * Incremental Server-Sent Events parser (WHATWG HTML, "Interpreting an
 * event stream"), for the bodies of text/event-stream responses.
 *
 * Bytes go in with any split; events come out through a callback. Lines end
 * with CRLF, LF or CR (a CRLF split between two feeds counts once); a UTF-8
 * BOM at the very start is skipped; lines starting with ':' are comments;
 * "data" lines are joined with "\n"; an empty line dispatches the event
 * when it has data. Bytes are passed through as they are (no UTF-8
 * validation); data may contain NUL bytes, so use data_len.
 *
 * Unlike a browser, which drops an event that the stream ends before its
 * blank line, sse_finish() reports that last event, since a capture that
 * ends there still saw it. Memory is bounded: a line or an event's data
 * longer than max_bytes is cut there and the event has `truncated` set.
 */
#ifndef AGENTTRAIL_DECODE_SSE_H
#define AGENTTRAIL_DECODE_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSE_DEFAULT_MAX_BYTES (4u * 1024u * 1024u)

struct sse_event {
	const char *event;   /* the "event" field, "message" when none was given */
	const char *data;    /* "data" lines joined with "\n", NUL-terminated */
	size_t data_len;
	const char *id;      /* the last event ID so far ("" when none) */
	int64_t retry_ms;    /* the last valid "retry" value so far, -1 when none */
	bool truncated;      /* a line or the data exceeded max_bytes */
};

typedef void (*sse_event_fn)(void *ctx, const struct sse_event *ev);

struct sse_parser;

/* max_bytes 0: SSE_DEFAULT_MAX_BYTES. NULL when out of memory or on_event is NULL. */
struct sse_parser *sse_new(size_t max_bytes, sse_event_fn on_event, void *ctx);
void sse_free(struct sse_parser *p);

/* Returns 0, -EINVAL, or -ENOMEM (the parser then drops the event in progress). */
int sse_feed(struct sse_parser *p, const uint8_t *data, size_t len);

/* The stream ended: a last line without end of line is processed and a
 * pending event is dispatched. The parser can then be fed a new stream. */
int sse_finish(struct sse_parser *p);

#endif /* AGENTTRAIL_DECODE_SSE_H */
