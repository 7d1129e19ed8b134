/* SPDX-License-Identifier: MIT */
/*
 * An event's members written once, for one of two targets: a jansson object
 * (the event most consumers read) or compact JSON text made straight from
 * C values, byte-identical to json_out() of that object (members in the
 * same order, the same escapes and numbers). The recorder writes the text
 * of plain file events, the commonest kind by far, without building the
 * object.
 */
#ifndef AT_MODEL_EVENT_OUT_H
#define AT_MODEL_EVENT_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sinks/json_out.h"

struct ev_out {
	json_t *o;          /* the object being built; NULL: writing text */
	struct jbuf *b;     /* text: the object so far */
	struct jbuf *strs;  /* text: strings made valid UTF-8 (evo_bytes) */
	char sep;           /* text: '{' before the first member, then ',' */
	bool failed;        /* out of memory: the object or text is incomplete */
};

/* A JSON string from bytes that may not be UTF-8 (invalid bytes become
 * U+FFFD). */
json_t *json_bytes_string(const char *s, size_t len);

/* Members go into o. */
void evo_object(struct ev_out *w, json_t *o);
/*
 * Members go into b as text (b is emptied first). strs keeps evo_bytes()'s
 * strings; room for strs_max bytes of them is made now, so that none moves
 * while the event is written. -1 when out of memory.
 */
int evo_text(struct ev_out *w, struct jbuf *b, struct jbuf *strs, size_t strs_max);

void evo_int(struct ev_out *w, const char *key, long long v);
void evo_null(struct ev_out *w, const char *key);
void evo_bool(struct ev_out *w, const char *key, bool v);
/* A fixed word of the contract (ASCII): "kernel", "read", "O_RDONLY"... */
void evo_word(struct ev_out *w, const char *key, const char *word);
/*
 * Bytes from the kernel, which may not be UTF-8: invalid bytes become
 * U+FFFD. Returns the string as stored (NUL-terminated, valid while the
 * object lives or until strs is reused), or NULL when out of memory now
 * or before (w->failed).
 */
const char *evo_bytes(struct ev_out *w, const char *key, const char *s, size_t n);
/* Text: close the object. 0, or -1 if anything failed on the way. */
int evo_close(struct ev_out *w);

/* Bytes needed in strs for n bytes given to evo_bytes(): U+FFFD is three
 * bytes for one, and each string ends with a NUL. */
#define EVO_STR_ROOM(n) (3 * (size_t)(n) + 1)

#endif
