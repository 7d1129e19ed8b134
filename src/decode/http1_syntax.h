/* SPDX-License-Identifier: MIT */
/*
 * The text of HTTP/1 messages (internal to the HTTP/1 decoder): start
 * lines, field lines, lengths and the values the framing depends on. Pure
 * functions over bytes; see http1.c and http1_msg.c for how they are used.
 */
#ifndef AGENTTRAIL_DECODE_HTTP1_SYNTAX_H
#define AGENTTRAIL_DECODE_HTTP1_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether p[0..n) starts like a request or status line: 1 yes, 0 no, -1 cannot tell yet. */
int http1_start_check(const uint8_t *p, size_t n);

/* A parsed start line: offsets into the line's buffer. */
struct http1_start {
	bool is_request;
	size_t method, target, version, reason; /* unset ones are left alone */
	int status;
};

/*
 * Parses the start line h[0..end), end being the offset of its LF, in
 * place (its parts are NUL-terminated inside h). False when malformed.
 */
bool http1_parse_start_line(char *h, size_t end, struct http1_start *st);

/*
 * Parses the field line h[s..e), e being the offset of its LF, in place:
 * the name is lower-cased, name and value NUL-terminated, the value
 * trimmed. False when malformed.
 */
bool http1_parse_field_line(char *h, size_t s, size_t e, size_t *name, size_t *value);

/* Content-Length: digits only, at most 2^62. */
bool http1_parse_length(const char *v, uint64_t *out);

/* Whether the last coding of a Transfer-Encoding value is "chunked". */
bool http1_te_ends_chunked(const char *v);

/* Whether a Content-Type value is text/event-stream. */
bool http1_is_event_stream(const char *v);

/* A chunk-size line line[0..n) without its LF (extensions are ignored). */
bool http1_parse_chunk_size(const char *line, size_t n, uint64_t *out);

#endif /* AGENTTRAIL_DECODE_HTTP1_SYNTAX_H */
