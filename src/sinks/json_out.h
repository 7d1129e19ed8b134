/* SPDX-License-Identifier: MIT */
/*
 * A fast compact JSON serializer for jansson values. Its output is
 * byte-identical to json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) of jansson
 * 2.14, and it fails where that fails, with two exceptions: it refuses
 * nesting deeper than JSON_OUT_MAX_DEPTH (the deepest jansson parses), and a
 * key that is not valid UTF-8, for which jansson 2.14 writes malformed JSON
 * rather than failing (akheron/jansson#655).
 */
#ifndef AT_SINKS_JSON_OUT_H
#define AT_SINKS_JSON_OUT_H

#include <jansson.h>
#include <stddef.h>

/* A growable output buffer; reuse one across calls to avoid mallocs. */
struct jbuf {
	char *p;      /* NUL-terminated after a successful json_out */
	size_t len;
	size_t cap;
};

#define JSON_OUT_MAX_DEPTH 2048   /* deeper nesting is refused */

void jbuf_init(struct jbuf *b);
void jbuf_reset(struct jbuf *b);            /* len = 0, keeps the memory */
void jbuf_free(struct jbuf *b);
/* Append n raw bytes (then a NUL); 0, or -1 (ENOMEM) with b unchanged. */
int jbuf_add(struct jbuf *b, const void *src, size_t n);

/*
 * Append v as compact JSON, byte-identical to json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY). Returns 0; or -1 with b->len (and the content up to it)
 * unchanged when a string or key is not valid UTF-8 (possible through
 * json_stringn_nocheck / json_string_nocheck), nesting is deeper than
 * JSON_OUT_MAX_DEPTH, or memory runs out. On -1, errno is EILSEQ, ELOOP or
 * ENOMEM respectively (EINVAL for v == NULL, a real jansson cannot format).
 */
int json_out(struct jbuf *b, const json_t *v);

/*
 * The pieces of json_out()'s text, for encoders that write an object
 * straight from C values (model/event_out.c) and must give the same bytes.
 * Each appends, returns 0, or -1 with errno (ENOMEM; EILSEQ for a key or
 * string that is not valid UTF-8) and b's length unchanged.
 */
/* sep (the object's '{' or ',' between members), then "key": */
int jbuf_member(struct jbuf *b, char sep, const char *key, size_t n);
int jbuf_string(struct jbuf *b, const char *s, size_t n);   /* "s", escaped */
int jbuf_int(struct jbuf *b, long long v);
/* Make sure n more bytes fit without moving the buffer: 0, or -1 (ENOMEM). */
int jbuf_reserve(struct jbuf *b, size_t n);

#endif
