/* SPDX-License-Identifier: MIT */
/*
 * An event's members, to a jansson object or straight to JSON text
 * (model/event_out.h). The text side writes what json_out() would write of
 * the object: keys and fixed words are ASCII, numbers go through the same
 * formatter, and strings from the kernel are repaired to valid UTF-8 the
 * same way on both sides before anything escapes them.
 */
#include "model/event_out.h"

#include <stdlib.h>
#include <string.h>

/* ---- strings from the kernel ---------------------------------------------- */

static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else
		return 0;
	if (need > n)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlongs and surrogates */
	if (c == 0xe0 && s[1] < 0xa0)
		return 0;
	if (c == 0xed && s[1] >= 0xa0)
		return 0;
	if (c == 0xf0 && s[1] < 0x90)
		return 0;
	if (c == 0xf4 && s[1] >= 0x90)
		return 0;
	return need;
}

/* The leading bytes of s that are plain ASCII. */
static size_t ascii_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n && u[i] < 0x80)
		i++;
	return i;
}

/* s with every invalid byte as U+FFFD, into out (room for 3 * n); the
 * length written. */
static size_t utf8_repair(char *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq_len(u + i, n - i);

		if (k == 0) {
			out[o++] = (char)0xef; /* U+FFFD */
			out[o++] = (char)0xbf;
			out[o++] = (char)0xbd;
			i++;
			continue;
		}
		memcpy(out + o, u + i, k);
		o += k;
		i += k;
	}
	return o;
}

/*
 * The text is checked here (invalid bytes become U+FFFD), so jansson's own
 * check, a second pass over every string of every event, is skipped.
 * Plain ASCII, most paths and names, is taken as it is.
 */
json_t *json_bytes_string(const char *s, size_t len)
{
	char stackbuf[512];
	char *out = stackbuf;
	size_t o;
	json_t *j;

	if (ascii_prefix(s, len) == len)
		return json_stringn_nocheck(s, len);
	if (len * 3 + 1 > sizeof(stackbuf)) {
		out = malloc(len * 3 + 1);
		if (!out)
			return NULL;
	}
	o = utf8_repair(out, s, len);
	j = json_stringn_nocheck(out, o);
	if (out != stackbuf)
		free(out);
	return j;
}

/* ---- members ------------------------------------------------------------- */

void evo_object(struct ev_out *w, json_t *o)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
}

int evo_text(struct ev_out *w, struct jbuf *b, struct jbuf *strs, size_t strs_max)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->strs = strs;
	w->sep = '{';
	jbuf_reset(b);
	jbuf_reset(strs);
	if (jbuf_reserve(strs, strs_max) != 0) {
		w->failed = true;
		return -1;
	}
	return 0;
}

/* Text: the member's key, after the separator. */
static bool key(struct ev_out *w, const char *k)
{
	if (w->failed || jbuf_member(w->b, w->sep, k, strlen(k)) != 0) {
		w->failed = true;
		return false;
	}
	w->sep = ',';
	return true;
}

static void set(struct ev_out *w, const char *k, json_t *v)
{
	if (!v || json_object_set_new_nocheck(w->o, k, v) != 0)
		w->failed = true;
}

static void raw(struct ev_out *w, const char *k, const char *text)
{
	if (key(w, k) && jbuf_add(w->b, text, strlen(text)) != 0)
		w->failed = true;
}

void evo_int(struct ev_out *w, const char *k, long long v)
{
	if (w->o)
		set(w, k, json_integer((json_int_t)v));
	else if (key(w, k) && jbuf_int(w->b, v) != 0)
		w->failed = true;
}

void evo_null(struct ev_out *w, const char *k)
{
	if (w->o)
		set(w, k, json_null());
	else
		raw(w, k, "null");
}

void evo_bool(struct ev_out *w, const char *k, bool v)
{
	if (w->o)
		set(w, k, json_boolean(v));
	else
		raw(w, k, v ? "true" : "false");
}

void evo_word(struct ev_out *w, const char *k, const char *word)
{
	if (w->o)
		set(w, k, json_string_nocheck(word));
	else if (key(w, k) && jbuf_string(w->b, word, strlen(word)) != 0)
		w->failed = true;
}

const char *evo_bytes(struct ev_out *w, const char *k, const char *s, size_t n)
{
	struct jbuf *t = w->strs;
	char *out;
	size_t len;

	if (w->o) {
		json_t *v = json_bytes_string(s, n);

		set(w, k, v);
		return w->failed ? NULL : json_string_value(v);
	}
	/* the room evo_text() made: nothing moves what was returned before */
	if (w->failed || t->cap - t->len < EVO_STR_ROOM(n)) {
		w->failed = true;
		return NULL;
	}
	out = t->p + t->len;
	if (ascii_prefix(s, n) == n) {
		memcpy(out, s, n);
		len = n;
	} else {
		len = utf8_repair(out, s, n);
	}
	out[len] = '\0';
	t->len += len + 1;
	if (!key(w, k) || jbuf_string(w->b, out, len) != 0) {
		w->failed = true;
		return NULL;
	}
	return out;
}

int evo_close(struct ev_out *w)
{
	if (!w->o && !w->failed &&
	    jbuf_add(w->b, w->sep == '{' ? "{}" : "}", w->sep == '{' ? 2 : 1) != 0)
		w->failed = true;
	return w->failed ? -1 : 0;
}
