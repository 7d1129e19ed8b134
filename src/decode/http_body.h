/* SPDX-License-Identifier: MIT */
/*
 * Content decoding of HTTP bodies (shared by the HTTP/1 and HTTP/2
 * decoders): which Content-Encoding a message uses, and an incremental
 * decoder for gzip, deflate, br (brotli) and zstd whose output goes to a
 * sink callback.
 *
 * Memory: besides a 16 KiB output buffer on the stack, a decoder holds the
 * state of its library, which is bounded by the window the format allows:
 * 32 KiB for gzip/deflate, at most 16 MiB for brotli (the large-window
 * extension is not enabled), at most 16 MiB for zstd
 * (HTTP_ZSTD_WINDOW_LOG_MAX below). The decoded output is never kept here: a bomb costs CPU only
 * while the sink keeps accepting bytes.
 */
#ifndef AGENTTRAIL_DECODE_HTTP_BODY_H
#define AGENTTRAIL_DECODE_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef ZLIB_CONST
#define ZLIB_CONST /* next_in is const */
#endif
#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

enum http_coding {
	HTTP_CODING_IDENTITY,
	HTTP_CODING_GZIP,
	HTTP_CODING_DEFLATE,     /* zlib-wrapped, or raw deflate as some servers send */
	HTTP_CODING_BR,          /* brotli, RFC 7932 */
	HTTP_CODING_ZSTD,        /* Zstandard, RFC 8878: one or more frames */
	HTTP_CODING_UNSUPPORTED, /* unknown, or more than one coding */
};

/*
 * Folds one Content-Encoding field value into *acc (start with
 * HTTP_CODING_IDENTITY; call once per field). "identity" is ignored.
 */
enum http_coding http_coding_add(enum http_coding acc, bool *seen_any, const char *value);

/* True for the codings struct http_inflate decodes. */
static inline bool http_coding_is_decodable(enum http_coding c)
{
	return c == HTTP_CODING_GZIP || c == HTTP_CODING_DEFLATE || c == HTTP_CODING_BR ||
	       c == HTTP_CODING_ZSTD;
}

/*
 * Largest zstd window accepted, as a power of two: 16 MiB. RFC 9659 caps
 * the window of the "zstd" content coding at 8 MiB (encoders MUST NOT
 * exceed it), so a conforming server never comes near; one step of slack
 * tolerates sloppy ones. libzstd's own default (27, 128 MiB) would let
 * every body being decoded allocate 128 MiB, and a recorder decodes many
 * connections at once. 16 MiB is also what the largest brotli window costs.
 * A frame that wants more is reported as invalid, never allocated.
 */
#define HTTP_ZSTD_WINDOW_LOG_MAX 24

/* Receives decoded bytes; returns false to stop decoding (no error). */
typedef bool (*http_sink_fn)(void *ctx, const uint8_t *p, size_t n);

/*
 * The decoder of one body. The name is historical: it decodes every
 * coding http_coding_is_decodable() accepts.
 */
struct http_inflate {
	z_stream z;
	enum http_coding coding;
	bool started;   /* the library's decoder is set up */
	bool finished;  /* the compressed stream is complete (zstd: after a whole frame) */
	bool done;      /* ignore any further input: bytes after the end */
	/*
	 * deflate: the first two bytes, to tell zlib from raw; zstd: a frame's
	 * header (magic to tell a frame from junk, then the rest of the
	 * header), handed to libzstd in one piece; at most 18 bytes
	 * (ZSTD_FRAMEHEADERSIZE_MAX, which zstd.h keeps experimental).
	 */
	uint8_t pre[18];
	size_t pre_len;
	BrotliDecoderState *br;
	ZSTD_DStream *zs;
	/* zstd: inside a frame; its header, and what it decoded to so far */
	bool zin_frame;
	uint8_t zhdr[18]; /* as pre */
	size_t zhdr_len;
	uint64_t zframe_out;
	const char *error; /* static text, NULL while fine */
};

/* coding is one that http_coding_is_decodable() accepts. Allocates nothing. */
void http_inflate_init(struct http_inflate *h, enum http_coding coding);

/*
 * Decodes in[0..n). Returns 0 (also when the sink asked to stop), -EBADMSG
 * when the data is not valid (h->error says why; feed no more), or -ENOMEM
 * (h->error set too). Bytes after the end of the compressed stream are
 * ignored; for zstd, a further frame (RFC 8878 allows several) is decoded
 * and anything else after a frame is ignored.
 */
int http_inflate_feed(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		      void *ctx);

/* Frees the decoder's state; h may be fed again only after http_inflate_init. */
void http_inflate_end(struct http_inflate *h);

#endif /* AGENTTRAIL_DECODE_HTTP_BODY_H */
