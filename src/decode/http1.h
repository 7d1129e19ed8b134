/* SPDX-License-Identifier: MIT */
/*
 * Incremental HTTP/1.x decoder for captured plaintext traffic.
 *
 * One struct http1_conn per connection; it has two directions (bytes the
 * client sent to the server, bytes the server sent back). The capture hands
 * over the bytes of each direction in order, in chunks of any size, and says
 * where bytes were lost. The decoder turns them into HTTP messages: start
 * line, headers, and the body after transfer decoding (Content-Length,
 * chunked, close-delimited) and content decoding (gzip, deflate, br, zstd).
 *
 * The input is untrusted. Memory is bounded by struct http1_limits: the
 * header section of a message (and its trailers) is kept up to
 * max_header_bytes, the body up to max_body; everything else is a few
 * kilobytes per direction. The decoder never aborts on bad input: a message
 * it cannot decode is reported with decode_error set, then the direction
 * either resynchronises at the next plausible message start (syntax errors,
 * lost bytes) or stops (header limits exceeded; reported once).
 *
 * Pairing: every message carries a sequence number, counted per direction
 * from 0. On a keep-alive connection (pipelined or not) the response to the
 * request with seq N is the final response with seq N. Interim 1xx
 * responses (100 Continue, 103 Early Hints) carry the seq of the final
 * response that follows them and have `interim` set. After lost bytes
 * (http1_gap) whole messages may have vanished, so the pairing of later
 * messages is best effort; such messages have `resynced` set.
 */
#ifndef AGENTTRAIL_DECODE_HTTP1_H
#define AGENTTRAIL_DECODE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_DEFAULT_MAX_HEADER_BYTES (64u * 1024u)
#define HTTP1_DEFAULT_MAX_HEADERS 128u
#define HTTP1_DEFAULT_MAX_BODY (16u * 1024u * 1024u)

enum http1_dir {
	HTTP1_TO_SERVER = 0, /* bytes written by the client */
	HTTP1_TO_CLIENT = 1, /* bytes written by the server */
};

/* A field left 0 takes its default. */
struct http1_limits {
	size_t max_header_bytes; /* start line + header lines (+ trailers) of one message */
	size_t max_headers;      /* header (+ trailer) fields of one message */
	size_t max_body;         /* decoded body bytes kept per message */
};

enum http1_framing {
	HTTP1_FRAMING_NONE,    /* no body: HEAD response, 1xx/204/304, request without length */
	HTTP1_FRAMING_LENGTH,  /* Content-Length */
	HTTP1_FRAMING_CHUNKED, /* Transfer-Encoding: chunked */
	HTTP1_FRAMING_CLOSE,   /* response body that ends when the connection closes */
};

enum http1_coding_status {
	HTTP1_CODING_IDENTITY,    /* no Content-Encoding (or identity): body is as sent */
	HTTP1_CODING_DECODED,     /* gzip, deflate, br or zstd, decoded: body is the decoded bytes */
	HTTP1_CODING_NOT_DECODED, /* an unknown coding, or several codings: body is raw */
};

struct http1_header {
	const char *name;  /* lower-cased, NUL-terminated */
	const char *value; /* surrounding whitespace removed, NUL-terminated */
};

/*
 * A message as handed to the callbacks. Every pointer is valid only during
 * the callback; copy what you keep.
 */
struct http1_message {
	enum http1_dir dir;
	uint64_t seq;       /* per direction; see "Pairing" above */
	bool is_request;    /* false: a response */
	bool interim;       /* a 1xx response other than 101 */

	/* request line ("" when unknown, e.g. a message cut by lost bytes) */
	const char *method;
	const char *target;
	/* status line */
	int status;          /* 0 when unknown */
	const char *reason;
	/* "HTTP/1.1" or "HTTP/1.0" ("" when unknown) */
	const char *version;

	/* in order; repeated fields kept; trailers of a chunked body follow */
	const struct http1_header *headers;
	size_t n_headers;
	size_t n_trailers; /* the last n_trailers entries of headers[] */

	enum http1_framing framing;
	/*
	 * The body: after transfer decoding, and after content decoding when
	 * coding == HTTP1_CODING_DECODED. At most max_body bytes are kept.
	 */
	const uint8_t *body;
	size_t body_len;
	uint64_t body_total;    /* body bytes seen in all, kept or not */
	uint64_t wire_body_len; /* bytes after transfer decoding, before content decoding */
	enum http1_coding_status coding;
	const char *content_encoding; /* the Content-Encoding value, NULL when absent */
	bool event_stream;            /* Content-Type: text/event-stream */

	uint64_t ts_first_ns; /* ts of the feed call that gave the first byte */
	uint64_t ts_last_ns;  /* ... and the last byte seen of this message */

	bool truncated;     /* body_total > body_cap: the body was cut at body_cap */
	size_t body_cap;    /* the max_body limit in force */
	bool incomplete;    /* bytes were lost inside it, or it ended with the connection */
	bool resynced;      /* the first message found after lost bytes */
	bool decode_error;  /* see error */
	const char *error;  /* why, when decode_error (else NULL) */
};

struct http1_callbacks {
	/* every message, complete or not, exactly once */
	void (*on_message)(void *ctx, const struct http1_message *m);
	/*
	 * Optional. For messages with Content-Type: text/event-stream, called
	 * as body bytes arrive (decoded when coding == HTTP1_CODING_DECODED,
	 * raw otherwise), before on_message reports the whole message. m is the
	 * message so far (m->body holds what was kept up to now).
	 */
	void (*on_body_chunk)(void *ctx, const struct http1_message *m, const uint8_t *data, size_t n);
	void *ctx;
};

struct http1_conn;

/* lim may be NULL (defaults). Returns NULL when out of memory or cb->on_message is NULL. */
struct http1_conn *http1_conn_new(const struct http1_limits *lim, const struct http1_callbacks *cb);
void http1_conn_free(struct http1_conn *c);

/*
 * The next len bytes of direction dir, written at ts_ns. Callbacks run from
 * inside this call. Returns 0, -EINVAL (bad argument), -EPIPE (after
 * http1_close), or -ENOMEM (the direction is then stopped, the message in
 * progress reported with decode_error). Protocol errors are not errors of
 * this call: they are reported through on_message.
 */
int http1_feed(struct http1_conn *c, enum http1_dir dir, const uint8_t *data, size_t len,
	       uint64_t ts_ns);

/*
 * lost bytes of direction dir are missing at this point. The message in
 * progress is marked incomplete. When its framing says exactly where it
 * ends (inside a Content-Length body or a chunk, or a close-delimited
 * body), decoding goes on after the hole; otherwise the message is reported
 * and the direction resynchronises at the next line that starts like a
 * request or status line. Returns 0, -EINVAL or -EPIPE.
 */
int http1_gap(struct http1_conn *c, enum http1_dir dir, size_t lost);

/*
 * The connection ended: a close-delimited response is complete, any other
 * message in progress is reported incomplete. Later feeds return -EPIPE.
 */
int http1_close(struct http1_conn *c);

/*
 * Bytes of direction dir that the decoder would read without keeping or
 * looking at them: the rest of a body (Content-Length, the current chunk,
 * or UINT64_MAX for a body that ends with the connection) already past
 * max_body, not content-coded and not an event stream. A capture may leave
 * them out and call http1_skip() instead of feeding them; they still count
 * in body_total. 0 when nothing can be skipped.
 */
uint64_t http1_skippable(const struct http1_conn *c, enum http1_dir dir);
/* Account for n skipped bytes (at most http1_skippable()). Returns 0 or
 * -EINVAL. */
int http1_skip(struct http1_conn *c, enum http1_dir dir, uint64_t n);

/*
 * True when p[0..n) starts like an HTTP/1 request line ("GET /", "POST /",
 * any known method followed by a target) or status line ("HTTP/1.1 2").
 * Needs the first 10 bytes or so; false for fewer.
 */
bool http1_looks_like_start(const uint8_t *p, size_t n);

#endif /* AGENTTRAIL_DECODE_HTTP1_H */
