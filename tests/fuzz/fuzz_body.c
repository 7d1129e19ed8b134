/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the content decoders of HTTP bodies (http_body.c):
 * gzip, deflate, br and zstd.
 *
 * Input: one configuration byte, then the encoded body. Configuration bits
 * 0-1 pick the coding (gzip, deflate, br, zstd), bit 2 a small output cap,
 * bits 3-7 seed how the body is cut into pieces (a small generator, so
 * that the body itself stays a plain compressed stream and real streams
 * make good seeds). The body is decoded twice, whole and in pieces.
 *
 * Checked besides the sanitizers: only the documented return values; an
 * error sets h->error and sticks; the sink gets non-empty chunks of at
 * most 16 KiB; once the sink says stop, the output ends within one chunk
 * of the cap; both runs agree on their common output, and when neither
 * hit the cap they agree on the outcome, and on the whole output when both
 * saw the stream end without error (how the input is cut must not matter;
 * before an error or the end of the input, how much was flushed may).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http_body.h"
#include "fuzz.h"

#define FUZZ_CHUNK_MAX 16384u       /* the decoder's output chunk */
#define FUZZ_CAP_SMALL 4096u
#define FUZZ_CAP_LARGE (1u << 20)   /* bounds the time a bomb can take */

struct run {
	uint8_t *out; /* FUZZ_CAP_LARGE + FUZZ_CHUNK_MAX bytes */
	size_t len, cap;
	bool stopped; /* the sink said stop */
	bool finished; /* the decoder saw the end of the compressed stream */
	int rc;       /* first non-zero return, else 0 */
	const char *error;
};

static bool sink(void *ctx, const uint8_t *p, size_t n)
{
	struct run *r = ctx;

	CHECK(!r->stopped); /* nobody feeds after a stop */
	CHECK(n > 0 && n <= FUZZ_CHUNK_MAX);
	CHECK(r->len + n <= r->cap + FUZZ_CHUNK_MAX);
	memcpy(r->out + r->len, p, n);
	r->len += n;
	if (r->len >= r->cap)
		r->stopped = true;
	return !r->stopped;
}

/* Feeds in[0..n) in pieces of at most max_piece (0: all at once). */
static void decode(enum http_coding coding, const uint8_t *in, size_t n, unsigned seed,
		   size_t max_piece, struct run *r)
{
	struct http_inflate h;
	uint32_t x = seed * 2654435761u + 1;

	http_inflate_init(&h, coding);
	while (n > 0 && !r->stopped) {
		size_t piece = n;
		int rc;

		if (max_piece > 0) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			piece = 1 + x % max_piece;
			if (piece > n)
				piece = n;
		}
		rc = http_inflate_feed(&h, in, piece, sink, r);
		CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
		if (rc != 0) {
			CHECK(h.error != NULL);
			r->rc = rc;
			r->error = h.error;
			/* the error sticks, and nothing more comes out */
			CHECK(http_inflate_feed(&h, in, piece, sink, r) == -EBADMSG);
			break;
		}
		CHECK(h.error == NULL);
		in += piece;
		n -= piece;
	}
	if (r->rc == 0 && !r->stopped && h.done)
		CHECK(h.finished);
	r->finished = h.finished;
	http_inflate_end(&h);
	http_inflate_end(&h); /* idempotent */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_coding codings[4] = { HTTP_CODING_GZIP, HTTP_CODING_DEFLATE,
						     HTTP_CODING_BR, HTTP_CODING_ZSTD };
	static const size_t pieces[4] = { 1, 7, 64, 4096 };
	static uint8_t out_whole[FUZZ_CAP_LARGE + FUZZ_CHUNK_MAX];
	static uint8_t out_cut[FUZZ_CAP_LARGE + FUZZ_CHUNK_MAX];
	struct run whole = { out_whole, 0, 0, false, false, 0, NULL };
	struct run cut = { out_cut, 0, 0, false, false, 0, NULL };
	enum http_coding coding;
	size_t common;
	uint8_t cfg;

	if (size < 1)
		return 0;
	cfg = data[0];
	data++;
	size--;
	coding = codings[cfg & 3];
	whole.cap = cut.cap = cfg & 4 ? FUZZ_CAP_SMALL : FUZZ_CAP_LARGE;

	decode(coding, data, size, 0, 0, &whole);
	decode(coding, data, size, cfg >> 3, pieces[(cfg >> 3) & 3], &cut);

	common = whole.len < cut.len ? whole.len : cut.len;
	CHECK(memcmp(whole.out, cut.out, common) == 0);
	if (!whole.stopped && !cut.stopped) {
		/*
		 * How much came out before an error, or of a stream cut short,
		 * depends on the cuts (brotli flushes its window late).
		 */
		if (whole.rc == 0)
			CHECK(whole.finished == cut.finished);
		if (whole.rc == 0 && whole.finished)
			CHECK(whole.len == cut.len);
		CHECK(whole.rc == cut.rc);
		CHECK((whole.error == NULL) == (cut.error == NULL));
		if (whole.error)
			CHECK(strcmp(whole.error, cut.error) == 0);
	}
	return 0;
}
