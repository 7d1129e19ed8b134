/* SPDX-License-Identifier: MIT */
/* Content decoding of HTTP bodies; see http_body.h. */
#include "decode/http_body.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#define INFLATE_OUT_CHUNK 16384
#define INFLATE_IN_MAX (1u << 30) /* avail_in is a uInt */

static bool token_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(tok, word, n) == 0;
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
		if (token_is(tok, n, "gzip") || token_is(tok, n, "x-gzip"))
			acc = HTTP_CODING_GZIP;
		else if (token_is(tok, n, "deflate"))
			acc = HTTP_CODING_DEFLATE;
		else
			acc = HTTP_CODING_UNSUPPORTED;
	}
	return acc;
}

void http_inflate_init(struct http_inflate *h, enum http_coding coding)
{
	memset(h, 0, sizeof(*h));
	h->coding = coding;
}

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
				h->finished = true;
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

int http_inflate_feed(struct http_inflate *h, const uint8_t *in, size_t n, http_sink_fn sink,
		      void *ctx)
{
	if (h->error)
		return -EBADMSG;
	if (h->finished || n == 0)
		return 0;
	if (!h->started) {
		int wbits = 15 + 16; /* gzip wrapper */
		int rc;

		if (h->coding == HTTP_CODING_DEFLATE) {
			bool zlib_hdr;

			while (h->pre_len < sizeof(h->pre) && n > 0) {
				h->pre[h->pre_len++] = *in++;
				n--;
			}
			if (h->pre_len < sizeof(h->pre))
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
			if (rc < 0 || h->finished)
				return rc;
		}
	}
	return inflate_run(h, in, n, sink, ctx);
}

void http_inflate_end(struct http_inflate *h)
{
	if (h->started)
		(void)inflateEnd(&h->z); /* only fails for a stream never started */
	h->started = false;
}
