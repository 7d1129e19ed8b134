/* SPDX-License-Identifier: MIT */
/*
 * Content decoding of HTTP bodies (internal to the HTTP/1 decoder): which
 * Content-Encoding a message uses, and an incremental gzip/deflate inflater
 * whose output goes to a sink callback.
 */
#ifndef AGENTTRAIL_DECODE_HTTP_BODY_H
#define AGENTTRAIL_DECODE_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef ZLIB_CONST
#define ZLIB_CONST /* next_in is const */
#endif
#include <zlib.h>

enum http_coding {
	HTTP_CODING_IDENTITY,
	HTTP_CODING_GZIP,
	HTTP_CODING_DEFLATE,     /* zlib-wrapped, or raw deflate as some servers send */
	HTTP_CODING_UNSUPPORTED, /* br, zstd, unknown, or more than one coding */
};

/*
 * Folds one Content-Encoding field value into *acc (start with
 * HTTP_CODING_IDENTITY; call once per field). "identity" is ignored.
 */
enum http_coding http_coding_add(enum http_coding acc, bool *seen_any, const char *value);

/* Receives decoded bytes; returns false to stop decoding (no error). */
typedef bool (*http_sink_fn)(void *ctx, const uint8_t *p, size_t n);

struct http_inflate {
	z_stream z;
	enum http_coding coding;
	bool started;   /* inflateInit2 done */
	bool finished;  /* end of the compressed stream reached */
	uint8_t pre[2]; /* deflate: the first two bytes, to tell zlib from raw */
	size_t pre_len;
	const char *error; /* static text, NULL while fine */
};

/* coding is HTTP_CODING_GZIP or HTTP_CODING_DEFLATE. */
void http_inflate_init(struct http_inflate *h, enum http_coding coding);

/*
 * Decodes in[0..n). Returns 0 (also when the sink asked to stop), -EBADMSG
 * when the data is not valid (h->error says why; feed no more), or -ENOMEM.
 * Bytes after the end of the compressed stream are ignored.
 */
int http_inflate_feed(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		      void *ctx);

void http_inflate_end(struct http_inflate *h);

#endif /* AGENTTRAIL_DECODE_HTTP_BODY_H */
