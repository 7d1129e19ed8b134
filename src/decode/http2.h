/* SPDX-License-Identifier: MIT */
/*
 * Incremental HTTP/2 decoder for captured plaintext traffic.
 *
 * The twin of the HTTP/1 decoder (http1.h): same limits, same callbacks,
 * same struct http1_message, so that the consumer treats both alike. One
 * struct http2_conn per connection; the capture hands over the bytes of
 * each direction in order, in chunks of any size, and says where bytes were
 * lost. The decoder splits them into frames, decodes header blocks with
 * HPACK (one nghttp2 inflater per direction) and reports one message per
 * request and one per response of each stream.
 *
 * Messages, as struct http1_message:
 *   - seq is the stream id, so a request and its response pair by seq;
 *     version is "HTTP/2", reason is "".
 *   - method and target come from :method and :path, status from :status.
 *     headers[] holds the regular fields in order, names lower-cased,
 *     pseudo-headers left out; a request without a host field gets one
 *     made from :authority, as its first header. Trailers (a second header
 *     block, which ends the stream) follow, counted by n_trailers.
 *   - framing: HTTP1_FRAMING_NONE when the header block ended the stream
 *     (no body at all), HTTP1_FRAMING_LENGTH when content-length was sent,
 *     otherwise HTTP1_FRAMING_CLOSE: the body is delimited by the end of the
 *     stream, the nearest HTTP/1 notion. A body whose length differs from
 *     its content-length is reported with decode_error.
 *   - body, coding, truncated, body_cap, event_stream, on_body_chunk: as
 *     for HTTP/1 (content decoding through http_body.h).
 *   - interim (1xx) responses are reported on their own, interim set, with
 *     the seq of the final response that follows.
 *
 * A half of a stream (request or response) is reported exactly once: when
 * it ends (END_STREAM); when the stream is reset (RST_STREAM: incomplete,
 * error "stream reset: <code>"); when the server's GOAWAY says the stream
 * was not processed (id above its last-stream-id: incomplete, error
 * "GOAWAY <code>: stream not processed"); when its direction stops (see
 * below); or at http2_close (incomplete). A half that never began (say,
 * the response to a request that was reset) is still reported, empty, so
 * that every request seen has its response message. RST_STREAM and GOAWAY
 * act when they are fed, whatever the other direction still holds.
 *
 * A direction stops for good on: lost bytes (http2_gap: the HPACK dynamic
 * table cannot be rebuilt, so nothing after the hole can be decoded), an
 * HPACK error, a framing error (CONTINUATION out of place, bad padding, a
 * control frame of the wrong size or on the wrong stream), a missing client
 * preface (the to-server direction must start with it), or running out of
 * memory. Every open half of that direction is then reported incomplete
 * with decode_error; when none is open, one message with seq 0 (stream 0
 * is the connection itself) reports the reason. Halves in a stopped
 * direction of streams opened later are not reported. The other direction
 * goes on.
 *
 * Streams are opened by the client's HEADERS; stream ids only grow, so a
 * frame on an id at or below the highest opened that is not open belongs
 * to a closed stream and is ignored, as is a response on a stream the
 * client never opened (unless the to-server direction has stopped: then
 * responses open streams, and have no request). Feed both directions in
 * the order the bytes were captured: a response fed before its request is
 * lost.
 *
 * Not reported: server-pushed streams (their PUSH_PROMISE, HEADERS and
 * DATA are decoded for the HPACK state, then dropped), and streams beyond
 * HTTP2_MAX_STREAMS open at once: such a stream is ignored, and one
 * message for it (seq = its id, the direction that opened it) says so with
 * decode_error.
 *
 * The input is untrusted; memory is bounded. A header block (fields and
 * trailers, pseudo-headers included, name + value + 2 bytes each) is kept up
 * to max_header_bytes and max_headers fields; beyond, the message is
 * reported with decode_error and the fields that did not fit. Each body
 * is kept up to max_body; in addition all kept bytes of a connection
 * (fields, bodies, content decoders) share a budget of HTTP2_CONN_MEMORY or
 * 4 * max_body, whichever is larger: a body cut short by it has truncated
 * set and body_cap lowered to where it was cut; a message whose fields or
 * content decoder do not fit is reported with decode_error. A content
 * decoder is charged 64 KiB for gzip/deflate and an estimate of 4 MiB for
 * the other codings, whose real window depends on the body. Frames are
 * streamed, never buffered, so every length the 24-bit field can carry
 * (up to 16 MiB - 1, the protocol maximum) is accepted. HPACK dynamic
 * tables are followed up to HTTP2_MAX_HPACK_TABLE bytes; a peer announcing
 * more is held to that, and an encoder using more makes an HPACK error.
 */
#ifndef AGENTTRAIL_DECODE_HTTP2_H
#define AGENTTRAIL_DECODE_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/http1.h"

#define HTTP2_MAX_STREAMS 1024u                  /* open streams tracked per connection */
#define HTTP2_CONN_MEMORY (64u * 1024u * 1024u)  /* kept bytes per connection, at least */
#define HTTP2_MAX_HPACK_TABLE (1024u * 1024u)    /* largest dynamic table followed */

struct http2_conn;

/* lim may be NULL (defaults). Returns NULL when out of memory or cb->on_message is NULL. */
struct http2_conn *http2_conn_new(const struct http1_limits *lim, const struct http1_callbacks *cb);
void http2_conn_free(struct http2_conn *c);

/*
 * The next len bytes of direction dir, written at ts_ns. Callbacks run from
 * inside this call (and must not call back into this connection). Returns
 * 0, -EINVAL (bad argument), -EPIPE (after http2_close), or -ENOMEM (the
 * direction is then stopped, its open messages reported with decode_error).
 * Protocol errors are not errors of this call: they are reported through
 * on_message.
 */
int http2_feed(struct http2_conn *c, enum http1_dir dir, const uint8_t *data, size_t len,
	       uint64_t ts_ns);

/*
 * lost bytes of direction dir are missing at this point. HTTP/2 cannot be
 * resynchronised (frame boundaries and the HPACK dynamic table are lost),
 * so the direction stops: its open messages are reported incomplete, with
 * decode_error. lost == 0 does nothing. Returns 0, -EINVAL or -EPIPE.
 */
int http2_gap(struct http2_conn *c, enum http1_dir dir, size_t lost);

/*
 * The connection ended: every message not reported yet is reported
 * incomplete. Later feeds return -EPIPE.
 */
int http2_close(struct http2_conn *c);

/*
 * True when p[0..n) starts with the client connection preface
 * "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n". The first 8 bytes ("PRI * HT") are
 * enough to decide, so a prefix of at least 8 bytes counts; fewer bytes
 * give false. The decoder itself checks all 24.
 */
bool http2_looks_like_preface(const uint8_t *p, size_t n);

#endif /* AGENTTRAIL_DECODE_HTTP2_H */
