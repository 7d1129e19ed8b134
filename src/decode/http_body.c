/* SPDX-License-Identifier: MIT */
/* Content decoding of HTTP bodies; see http_body.h. */
#include "decode/http_body.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <zstd_errors.h>

#define INFLATE_OUT_CHUNK 16384
#define INFLATE_IN_MAX (1u << 30) /* avail_in is a uInt */

static bool token_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(tok, word, n) == 0;
}

static enum http_coding coding_of_token(const char *tok, size_t n)
{
	if (token_is(tok, n, "gzip") || token_is(tok, n, "x-gzip"))
		return HTTP_CODING_GZIP;
	if (token_is(tok, n, "deflate"))
		return HTTP_CODING_DEFLATE;
	if (token_is(tok, n, "br"))
		return HTTP_CODING_BR;
	if (token_is(tok, n, "zstd"))
		return HTTP_CODING_ZSTD;
	return HTTP_CODING_UNSUPPORTED;
}

enum http_coding http_coding_add(enum http_coding acc, bool *seen_any, const char *value)
{
	const char *p = value;

	while (*p) {
		const char *tok, *end;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		tok = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		n = (size_t)(end - tok);
		if (n == 0 || token_is(tok, n, "identity"))
			continue;
		if (*seen_any) {
			acc = HTTP_CODING_UNSUPPORTED; /* several codings: not decoded */
			continue;
		}
		*seen_any = true;
		acc = coding_of_token(tok, n);
	}
	return acc;
}

void http_inflate_init(struct http_inflate *h, enum http_coding coding)
{
	memset(h, 0, sizeof(*h));
	h->coding = coding;
}

/* ---- gzip and deflate: zlib ---------------------------------------------- */

/* Runs inflate over in[0..n) until it is consumed or the stream ends. */
static int inflate_run(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		       void *ctx)
{
	uint8_t out[INFLATE_OUT_CHUNK];

	while (n > 0) {
		uInt piece = n > INFLATE_IN_MAX ? INFLATE_IN_MAX : (uInt)n;

		h->z.next_in = in;
		h->z.avail_in = piece;
		for (;;) {
			uInt before_in = h->z.avail_in;
			size_t produced;
			int rc;

			h->z.next_out = out;
			h->z.avail_out = sizeof(out);
			rc = inflate(&h->z, Z_NO_FLUSH);
			produced = sizeof(out) - h->z.avail_out;
			if (rc == Z_MEM_ERROR) {
				h->error = "out of memory while inflating";
				return -ENOMEM;
			}
			if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
				h->error = h->coding == HTTP_CODING_GZIP ? "invalid gzip data"
									 : "invalid deflate data";
				return -EBADMSG;
			}
			if (produced > 0 && !sink(ctx, out, produced))
				return 0;
			if (rc == Z_STREAM_END) {
				h->finished = h->done = true;
				return 0;
			}
			/* Z_OK or Z_BUF_ERROR: go on while there is input or pending output */
			if (h->z.avail_in == 0 && h->z.avail_out != 0)
				break;
			if (produced == 0 && h->z.avail_in == before_in)
				break; /* no progress is possible */
		}
		in += piece;
		n -= piece;
	}
	return 0;
}

static int zlib_feed(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		     void *ctx)
{
	if (!h->started) {
		int wbits = 15 + 16; /* gzip wrapper */
		int rc;

		if (h->coding == HTTP_CODING_DEFLATE) {
			bool zlib_hdr;

			while (h->pre_len < 2 && n > 0) {
				h->pre[h->pre_len++] = *in++;
				n--;
			}
			if (h->pre_len < 2)
				return 0;
			/* RFC 1950: CM = 8 and the header is a multiple of 31 */
			zlib_hdr = (h->pre[0] & 0x0f) == 8 &&
				   ((unsigned)h->pre[0] << 8 | h->pre[1]) % 31 == 0;
			wbits = zlib_hdr ? 15 : -15;
		}
		memset(&h->z, 0, sizeof(h->z));
		rc = inflateInit2(&h->z, wbits);
		if (rc != Z_OK) {
			h->error = "cannot start the inflater";
			return rc == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
		}
		h->started = true;
		if (h->pre_len > 0) {
			rc = inflate_run(h, h->pre, h->pre_len, sink, ctx);
			h->pre_len = 0;
			if (rc < 0 || h->finished)
				return rc;
		}
	}
	return inflate_run(h, in, n, sink, ctx);
}

/* ---- br: libbrotlidec ---------------------------------------------------- */

static int brotli_error(struct http_inflate *h)
{
	BrotliDecoderErrorCode code = BrotliDecoderGetErrorCode(h->br);

	/* the allocation failures are the codes -21 ... -30 */
	if (code <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
	    code >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES) {
		h->error = "out of memory while decoding brotli";
		return -ENOMEM;
	}
	h->error = "invalid brotli data";
	return -EBADMSG;
}

static int brotli_feed(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		       void *ctx)
{
	uint8_t out[INFLATE_OUT_CHUNK];
	const uint8_t *next_in = in;
	size_t avail_in = n;

	if (!h->br) {
		/* default allocator; the large-window extension stays off (16 MiB max) */
		h->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
		if (!h->br) {
			h->error = "out of memory for the brotli decoder";
			return -ENOMEM;
		}
		h->started = true;
	}
	for (;;) {
		uint8_t *next_out = out;
		size_t avail_out = sizeof(out), produced;
		BrotliDecoderResult r = BrotliDecoderDecompressStream(h->br, &avail_in, &next_in,
								      &avail_out, &next_out, NULL);

		if (r == BROTLI_DECODER_RESULT_ERROR)
			return brotli_error(h);
		produced = sizeof(out) - avail_out;
		if (produced > 0 && !sink(ctx, out, produced))
			return 0;
		if (r == BROTLI_DECODER_RESULT_SUCCESS) {
			h->finished = h->done = true; /* what is left of in is ignored */
			return 0;
		}
		if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
			return 0; /* all of in was consumed */
		/* BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: another round */
	}
}

/* ---- zstd: libzstd ------------------------------------------------------- */

static int zstd_start(struct http_inflate *h)
{
	size_t rc;

	h->zs = ZSTD_createDStream();
	if (!h->zs) {
		h->error = "out of memory for the zstd decoder";
		return -ENOMEM;
	}
	h->started = true;
	rc = ZSTD_DCtx_setParameter(h->zs, ZSTD_d_windowLogMax, HTTP_ZSTD_WINDOW_LOG_MAX);
	if (ZSTD_isError(rc)) {
		h->error = "cannot set up the zstd decoder";
		return -EBADMSG;
	}
	return 0;
}

static int zstd_error(struct http_inflate *h, size_t rc)
{
	switch (ZSTD_getErrorCode(rc)) {
	case ZSTD_error_memory_allocation:
		h->error = "out of memory while decoding zstd";
		return -ENOMEM;
	case ZSTD_error_frameParameter_windowTooLarge:
		h->error = "zstd window larger than 16 MiB";
		return -EBADMSG;
	default:
		h->error = "invalid zstd data";
		return -EBADMSG;
	}
}

/*
 * At the end of a frame: the size it decoded to must be the one its header
 * declares. libzstd checks that when it decodes a whole frame in one call,
 * but (1.5.4) not always when the frame comes in pieces; checking here
 * makes the outcome independent of how the body was cut.
 */
static int zstd_check_frame(struct http_inflate *h)
{
	unsigned long long declared = ZSTD_getFrameContentSize(h->zhdr, h->zhdr_len);

	if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
	    declared != h->zframe_out) {
		h->error = "invalid zstd data";
		return -EBADMSG;
	}
	return 0;
}

/*
 * Decodes in[0..n) up to the end of the current frame; *used says how much
 * was consumed. Returns 1 when the sink asked to stop, 0 or an error.
 */
static int zstd_run(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		    void *ctx, size_t *used)
{
	uint8_t out[INFLATE_OUT_CHUNK];
	ZSTD_inBuffer ib = { in, n, 0 };

	for (;;) {
		ZSTD_outBuffer ob = { out, sizeof(out), 0 };
		size_t rc = ZSTD_decompressStream(h->zs, &ob, &ib);

		*used = ib.pos;
		if (ZSTD_isError(rc))
			return zstd_error(h, rc);
		h->zframe_out += ob.pos;
		if (ob.pos > 0 && !sink(ctx, out, ob.pos))
			return 1;
		if (rc == 0) {
			h->finished = true; /* a whole frame, all of it flushed */
			h->zin_frame = false;
			return zstd_check_frame(h);
		}
		if (ib.pos == ib.size && ob.pos < ob.size)
			return 0; /* needs more input */
	}
}

#define ZSTD_MAGIC_LEN 4
#define ZSTD_SKIPPABLE_HEADER_LEN 8 /* magic, then the frame's size */

_Static_assert(sizeof(((struct http_inflate *)0)->pre) >= 18, "the longest zstd frame header");

static uint32_t zstd_magic_of(const uint8_t p[ZSTD_MAGIC_LEN])
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * A zstd frame or a skippable frame starts with this little-endian magic.
 * libzstd may also know the legacy formats (v0.x), but RFC 8878 is v1
 * only, and the library treats their magic differently when it comes in
 * pieces: checking it here keeps the outcome independent of the cuts.
 */
static bool zstd_frame_magic(uint32_t m)
{
	return m == ZSTD_MAGICNUMBER ||
	       (m & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

/*
 * The length of the frame header that starts with p[0..n), magic
 * included (RFC 8878, 3.1.1.1), or 0 when its descriptor byte has not come
 * yet. At most sizeof(((struct http_inflate *)0)->pre).
 */
static size_t zstd_header_len(const uint8_t *p, size_t n)
{
	static const uint8_t did_len[4] = { 0, 1, 2, 4 };
	static const uint8_t fcs_len[4] = { 0, 2, 4, 8 };
	uint8_t fhd;
	bool single_segment;

	if (zstd_magic_of(p) != ZSTD_MAGICNUMBER)
		return ZSTD_SKIPPABLE_HEADER_LEN;
	if (n <= ZSTD_MAGIC_LEN)
		return 0;
	fhd = p[ZSTD_MAGIC_LEN];
	single_segment = fhd >> 5 & 1;
	return ZSTD_MAGIC_LEN + 1 + !single_segment + did_len[fhd & 3] +
	       (single_segment && fhd >> 6 == 0 ? 1 : fcs_len[fhd >> 6]);
}

/* Moves bytes of *in into h->pre until it holds want of them. */
static bool zstd_pre_fill(struct http_inflate *h, const uint8_t **in, size_t *n, size_t want)
{
	size_t take = want > h->pre_len ? want - h->pre_len : 0;

	if (take > *n)
		take = *n;
	memcpy(h->pre + h->pre_len, *in, take);
	h->pre_len += take;
	*in += take;
	*n -= take;
	return h->pre_len >= want;
}

/*
 * At the start of a frame: collects its header, then hands all of it to
 * libzstd in one call. Returns 1 when that is done: go on with the frame.
 * Returns 0 to stop here (more bytes are needed; or junk after a frame,
 * ignored, h->done set; or the sink asked to stop), or an error (junk
 * instead of the first frame).
 *
 * Why whole: when a header reaches libzstd (1.5.4) split across calls and
 * the frame declares its size, ZSTD_decompressStream() looks for a
 * complete frame from the start of the *last* call's input, not from the
 * magic, and decodes whatever it finds there in one pass: header bytes
 * that happen to read as a skippable frame's magic end the frame with no
 * output, so the result depended on where the body was cut.
 */
static int zstd_frame_start(struct http_inflate *h, const uint8_t **in, size_t *n,
			    http_sink_fn sink, void *ctx)
{
	size_t want, used;
	int rc;

	if (h->pre_len < ZSTD_MAGIC_LEN) {
		if (!zstd_pre_fill(h, in, n, ZSTD_MAGIC_LEN))
			return 0;
		if (!zstd_frame_magic(zstd_magic_of(h->pre))) {
			h->pre_len = 0;
			if (!h->finished) {
				h->error = "invalid zstd data";
				return -EBADMSG;
			}
			h->done = true;
			return 0;
		}
		h->finished = false; /* a frame has begun */
	}
	want = zstd_header_len(h->pre, h->pre_len);
	if (want == 0) {
		if (!zstd_pre_fill(h, in, n, ZSTD_MAGIC_LEN + 1))
			return 0;
		want = zstd_header_len(h->pre, h->pre_len);
	}
	if (!zstd_pre_fill(h, in, n, want))
		return 0;
	h->pre_len = 0;
	h->zin_frame = true;
	memcpy(h->zhdr, h->pre, want); /* for zstd_check_frame() */
	h->zhdr_len = want;
	h->zframe_out = 0;
	rc = zstd_run(h, h->pre, want, sink, ctx, &used);
	if (rc < 0)
		return rc;
	return rc == 0 ? 1 : 0; /* 1 from zstd_run: the sink asked to stop */
}

static int zstd_feed(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		     void *ctx)
{
	if (!h->zs) {
		int rc = zstd_start(h);

		if (rc < 0)
			return rc;
	}
	while (n > 0 && !h->done) {
		size_t used;
		int rc;

		if (!h->zin_frame) {
			rc = zstd_frame_start(h, &in, &n, sink, ctx);
			if (rc <= 0)
				return rc;
			continue;
		}
		rc = zstd_run(h, in, n, sink, ctx, &used);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		in += used;
		n -= used;
	}
	return 0;
}

/* ---- the interface ------------------------------------------------------- */

int http_inflate_feed(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		      void *ctx)
{
	if (h->error)
		return -EBADMSG;
	if (h->done || n == 0)
		return 0;
	switch (h->coding) {
	case HTTP_CODING_GZIP:
	case HTTP_CODING_DEFLATE:
		return zlib_feed(h, in, n, sink, ctx);
	case HTTP_CODING_BR:
		return brotli_feed(h, in, n, sink, ctx);
	case HTTP_CODING_ZSTD:
		return zstd_feed(h, in, n, sink, ctx);
	default:
		h->error = "content coding not supported";
		return -EBADMSG;
	}
}

void http_inflate_end(struct http_inflate *h)
{
	if (h->started && (h->coding == HTTP_CODING_GZIP || h->coding == HTTP_CODING_DEFLATE))
		(void)inflateEnd(&h->z); /* only fails for a stream never started */
	if (h->br)
		BrotliDecoderDestroyInstance(h->br);
	h->br = NULL;
	(void)ZSTD_freeDStream(h->zs); /* accepts NULL; fails only for a context in use */
	h->zs = NULL;
	h->started = false;
}
