/* SPDX-License-Identifier: MIT */
/* HPACK decoding for one direction; see http2_hpack.h. */
#include "decode/http2_hpack.h"

#include <errno.h>

#include <nghttp2/nghttp2.h>

#include "decode/http2.h"

#define HPACK_DEFAULT_TABLE 4096 /* RFC 9113 6.5.2 */

int h2_hpack_init(struct h2_hpack *h)
{
	h->hd = NULL;
	h->table_max = h->table_want = HPACK_DEFAULT_TABLE;
	return nghttp2_hd_inflate_new2(&h->hd, NULL) == 0 ? 0 : -ENOMEM;
}

void h2_hpack_free(struct h2_hpack *h)
{
	if (h->hd)
		nghttp2_hd_inflate_del(h->hd);
	h->hd = NULL;
}

void h2_hpack_peer_limit(struct h2_hpack *h, uint32_t size)
{
	/*
	 * Only ever raised: when the limit drops, the encoder says so in band
	 * (a table size update), and it may still send blocks under the old
	 * limit before it has seen the SETTINGS frame. Holding a larger limit
	 * than the encoder's never makes a valid block fail.
	 */
	size_t want = size < HTTP2_MAX_HPACK_TABLE ? size : HTTP2_MAX_HPACK_TABLE;

	if (want > h->table_want)
		h->table_want = want;
}

int h2_hpack_block_begin(struct h2_hpack *h)
{
	int rv;

	/* the inflater takes a new limit between blocks only */
	if (h->table_want <= h->table_max)
		return 0;
	rv = nghttp2_hd_inflate_change_table_size(h->hd, h->table_want);
	if (rv == NGHTTP2_ERR_NOMEM)
		return -ENOMEM;
	if (rv != 0)
		return -EBADMSG;
	h->table_max = h->table_want;
	return 0;
}

static ptrdiff_t inflate_step(nghttp2_hd_inflater *hd, nghttp2_nv *nv, int *flags,
			      const uint8_t *in, size_t n, bool final)
{
#if NGHTTP2_VERSION_NUM >= 0x013c00 /* 1.60: the nghttp2_ssize API, hd2 deprecated */
	return nghttp2_hd_inflate_hd3(hd, nv, flags, in, n, final);
#else
	return nghttp2_hd_inflate_hd2(hd, nv, flags, in, n, final);
#endif
}

int h2_hpack_decode(struct h2_hpack *h, const uint8_t *in, size_t n, bool final, h2_field_fn fn,
		    void *ctx)
{
	static const uint8_t none[1];

	if (n == 0)
		in = none; /* never hand the library a NULL pointer */
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ptrdiff_t rv = inflate_step(h->hd, &nv, &flags, in, n, final);
		int rc;

		if (rv < 0) {
			return rv == NGHTTP2_ERR_NOMEM	      ? -ENOMEM
			       : rv == NGHTTP2_ERR_BUFFER_ERROR ? -E2BIG
								: -EBADMSG;
		}
		in += rv;
		n -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT) {
			/* nv may point into in: the callback copies what it keeps */
			rc = fn(ctx, nv.name, nv.namelen, nv.value, nv.valuelen);
			if (rc < 0)
				return rc;
		}
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(h->hd);
			return 0;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT)) {
			if (n == 0 && !final)
				return 0;
			if (rv == 0)
				return -EBADMSG; /* no progress: never loop */
		}
	}
}
