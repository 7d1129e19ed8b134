/* SPDX-License-Identifier: MIT */
/*
 * HPACK decoding for one direction of an HTTP/2 connection (internal to the
 * HTTP/2 decoder): nghttp2's inflater behind a callback interface, and the
 * dynamic table limit that the peer's SETTINGS_HEADER_TABLE_SIZE sets.
 * Every header block of the direction must go through it, in order, wanted
 * or not: the dynamic table depends on all of them.
 */
#ifndef AGENTTRAIL_DECODE_HTTP2_HPACK_H
#define AGENTTRAIL_DECODE_HTTP2_HPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nghttp2_hd_inflater;

struct h2_hpack {
	struct nghttp2_hd_inflater *hd;
	size_t table_max;  /* the limit the inflater enforces */
	size_t table_want; /* the largest the peer announced, up to HTTP2_MAX_HPACK_TABLE */
};

/* Receives one decoded field; returns 0 or a negative errno that stops decoding. */
typedef int (*h2_field_fn)(void *ctx, const uint8_t *name, size_t nlen, const uint8_t *value,
			   size_t vlen);

/* Returns 0 or -ENOMEM. */
int h2_hpack_init(struct h2_hpack *h);
void h2_hpack_free(struct h2_hpack *h);

/* The peer of this direction announced SETTINGS_HEADER_TABLE_SIZE = size. */
void h2_hpack_peer_limit(struct h2_hpack *h, uint32_t size);

/* A header block starts. Returns 0, -EBADMSG or -ENOMEM. */
int h2_hpack_block_begin(struct h2_hpack *h);

/*
 * Decodes the next bytes of the block, in[0..n); final: the block ends
 * there. Fields go to fn as they are complete. Returns 0, -EBADMSG (not
 * valid HPACK), -E2BIG (a field larger than the inflater takes), -ENOMEM,
 * or what fn returned. Any error leaves the inflater unusable.
 */
int h2_hpack_decode(struct h2_hpack *h, const uint8_t *in, size_t n, bool final, h2_field_fn fn,
		    void *ctx);

#endif /* AGENTTRAIL_DECODE_HTTP2_HPACK_H */
