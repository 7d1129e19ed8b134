/* SPDX-License-Identifier: MIT */
/*
 * Compact JSON for jansson values, byte for byte what json_dumps(v,
 * JSON_COMPACT | JSON_ENCODE_ANY) of jansson 2.14 writes, several times
 * faster: json_dumps formats every integer with snprintf, checks each value
 * against a hashtable of parents for loops, and allocates for the result.
 *
 * What 2.14 writes, and so what must not change here:
 *   - objects in their iteration order (insertion order in 2.14), keys may
 *     hold NUL bytes; arrays in order; no whitespace anywhere;
 *   - integers in plain decimal, reals exactly as jansson formats them (we
 *     hand each real to jansson: rare in events, and its formatting has
 *     corner cases not worth copying);
 *   - strings: '"' and '\\' and \b \f \n \r \t get two-character escapes,
 *     every other byte below 0x20 \u00XX with UPPERCASE hex; '/', DEL and
 *     non-ASCII are written as they are;
 *   - a string that is not valid UTF-8 (shortest form, no surrogates, at
 *     most U+10FFFF) fails the whole dump.
 *
 * One deliberate difference: jansson 2.14 ignores the failure of a key that
 * is not valid UTF-8 (akheron/jansson#655) and writes malformed JSON, the
 * key's opening quote and its text up to its last escape before the bad
 * byte, no closing quote, then ':' and the value. Such a key (possible only
 * through the *_nocheck setters) fails here like a bad string does.
 *
 * Instead of the parents hashtable, nesting is limited to JSON_OUT_MAX_DEPTH,
 * the limit of jansson's parser: a loop of containers (which jansson also
 * refuses) runs into it.
 *
 * Output goes straight into the caller's buffer: capacity for the worst case
 * of a piece is reserved once, then bytes are stored without checks. On
 * failure the buffer's length is put back where it was.
 */
#include "sinks/json_out.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Strings are escaped in chunks of this many input bytes, so that the
 * worst-case reservation (6 output bytes per input byte) stays small for a
 * long string while a typical one takes a single pass.
 */
#define STR_CHUNK 4096
#define JBUF_MIN_CAP 256

_Static_assert(sizeof(json_int_t) <= sizeof(unsigned long long),
	       "json_int_t must fit unsigned long long");

void jbuf_init(struct jbuf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void jbuf_reset(struct jbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void jbuf_free(struct jbuf *b)
{
	free(b->p);
	jbuf_init(b);
}

/* Make room for `more` bytes after b->len and a NUL after them. */
static int jbuf_grow(struct jbuf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (more > SIZE_MAX - 1 - b->len) {
		errno = ENOMEM;
		return -1;
	}
	need = b->len + more + 1;
	cap = b->cap ? b->cap : JBUF_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->p, cap);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static inline int reserve(struct jbuf *b, size_t more)
{
	/* strictly more: one byte stays for the terminating NUL */
	if (b->cap - b->len > more)
		return 0;
	return jbuf_grow(b, more);
}

static inline int put(struct jbuf *b, const char *s, size_t n)
{
	if (reserve(b, n))
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

int jbuf_add(struct jbuf *b, const void *src, size_t n)
{
	if (reserve(b, n))
		return -1;
	memcpy(b->p + b->len, src, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static inline int put_ch(struct jbuf *b, char c)
{
	if (reserve(b, 1))
		return -1;
	b->p[b->len++] = c;
	return 0;
}

/* ---- strings ------------------------------------------------------------- */

/*
 * 0: copied as is; ESC: escaped ('"', '\\', control characters);
 * MB: the first byte of a multi-byte sequence (or a stray byte), validated.
 */
enum { PLAIN = 0, ESC = 1, MB = 2 };

static const unsigned char attention[256] = {
	[0x00 ... 0x1f] = ESC,
	['"'] = ESC,
	['\\'] = ESC,
	[0x80 ... 0xff] = MB,
};

/* The second character of a two-character escape, 0 for \u00XX. */
static const char short_escape[0x20] = {
	['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
};

static const char hex_upper[16] = "0123456789ABCDEF";

static inline int is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * Length of the valid UTF-8 sequence at s (s[0] >= 0x80, n bytes left), 0 if
 * it is not one. The bounds on the second byte are those of Unicode's table
 * of well-formed sequences: they rule out overlong forms (E0 80..9F, F0
 * 80..8F; C0 and C1 as lead bytes), surrogates (ED A0..BF) and code points
 * above U+10FFFF (F4 90..BF; F5..FF as lead bytes).
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0xc2)
		return 0;               /* continuation byte, or overlong C0/C1 */
	if (c < 0xe0)
		len = 2;
	else if (c < 0xf0)
		len = 3;
	else if (c < 0xf5)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	if (len > 2 && !is_cont(s[2]))
		return 0;
	if (len > 3 && !is_cont(s[3]))
		return 0;
	return len;
}

/* Write the escape for c (a control character, '"' or '\\') at o. */
static inline char *put_escape(char *o, unsigned char c)
{
	*o++ = '\\';
	if (c == '"' || c == '\\') {
		*o++ = (char)c;
	} else if (short_escape[c]) {
		*o++ = short_escape[c];
	} else {
		memcpy(o, "u00", 3);
		o[3] = hex_upper[c >> 4];
		o[4] = hex_upper[c & 15];
		o += 5;
	}
	return o;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Eight string bytes as a word, the first in the lowest byte. */
static inline uint64_t load8(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/*
 * The high bit of each byte of w that is not PLAIN: below 0x20, '"', '\\'
 * or above 0x7f. The subtractions may also flag a byte above a flagged one
 * (a borrow), never one below, so the lowest flag is always right.
 */
static inline uint64_t attention8(uint64_t w)
{
	uint64_t t = (w - ONES * 0x20) | ((w ^ ONES * '"') - ONES) |
		     ((w ^ ONES * '\\') - ONES);

	return ((t & ~w) | w) & HIGHS;
}

/*
 * Escape the n bytes at s to o, which has room for 6 * n bytes; avail >= n
 * bytes are readable at s, for a multi-byte sequence that starts before n
 * and ends after it. Returns the end of the output and sets *used to the
 * bytes consumed (n, or up to 3 more), or returns NULL at ill-formed UTF-8.
 *
 * Runs of plain bytes go eight at a time: the word is stored whole, then
 * the output advances only past its plain bytes. While 8 bytes are left,
 * the output so far is at most 6 per byte consumed, so the store stays
 * within 6 * n.
 */
static char *escape_run(char *o, const unsigned char *s, size_t n, size_t avail,
			size_t *used)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c;
		size_t k;

		if (n - i >= 8) {
			uint64_t m = attention8(load8(s + i));

			memcpy(o, s + i, 8);
			if (!m) {
				i += 8;
				o += 8;
				continue;
			}
			k = (size_t)__builtin_ctzll(m) / 8;
			i += k;
			o += k;
		} else if (attention[s[i]] == PLAIN) {
			*o++ = (char)s[i++];
			continue;
		}
		c = s[i];
		if (attention[c] == ESC) {
			o = put_escape(o, c);
			i++;
			continue;
		}
		k = utf8_seq(s + i, avail - i);
		if (!k)
			return NULL;
		/* valid: copied as it is, 2 to 4 bytes */
		for (size_t j = 0; j < k; j++)
			o[j] = (char)s[i + j];
		o += k;
		i += k;
	}
	*used = i;
	return o;
}

static inline size_t chunk_of(size_t n)
{
	return n < STR_CHUNK ? n : STR_CHUNK;
}

/*
 * Append the string quoted, with the character before (if not 0) and after
 * it (if not 0): an object member's separator and ':' come with its key,
 * in one reservation. A string longer than STR_CHUNK is escaped a chunk at
 * a time; a multi-byte sequence may end a little past its chunk, and its at
 * most 4 bytes fit in the 6 reserved for its first byte.
 */
static __attribute__((noinline)) int
put_str_escaped(struct jbuf *b, char before, const unsigned char *s, size_t n, char after)
{
	size_t i = 0;
	char *o;

	if (reserve(b, chunk_of(n) * 6 + 4))   /* before, quotes, after */
		return -1;
	o = b->p + b->len;
	if (before)
		*o++ = before;
	*o++ = '"';
	for (;;) {
		size_t used;

		o = escape_run(o, s + i, chunk_of(n - i), n - i, &used);
		if (!o) {
			errno = EILSEQ;
			return -1;
		}
		i += used;
		if (i >= n)
			break;
		b->len = (size_t)(o - b->p);
		if (reserve(b, chunk_of(n - i) * 6 + 2))
			return -1;
		o = b->p + b->len;
	}
	*o++ = '"';
	if (after)
		*o++ = after;
	b->len = (size_t)(o - b->p);
	return 0;
}

/*
 * The same, for the common string of plain bytes only (no escape, no UTF-8
 * to check): copied a word at a time, the last word overlapping the one
 * before; short strings, keys mostly, without a loop. At the first byte
 * that needs attention it starts over on the escaping path, which is rare
 * enough for the work thrown away not to matter. Inlined: it runs for
 * every key and string.
 */
static inline __attribute__((always_inline)) int
put_str(struct jbuf *b, char before, const char *str, size_t n, char after)
{
	const unsigned char *s = (const unsigned char *)str;
	char *o;

	if (reserve(b, n + 4))          /* before, quotes, after */
		return -1;
	o = b->p + b->len;
	*o = before;
	o += before != 0;
	*o++ = '"';
	if (n >= 8) {
		size_t i;

		for (i = 0; i + 8 < n; i += 8) {
			uint64_t w = load8(s + i);

			if (attention8(w))
				return put_str_escaped(b, before, s, n, after);
			memcpy(o + i, s + i, 8);
		}
		if (attention8(load8(s + n - 8)))
			return put_str_escaped(b, before, s, n, after);
		memcpy(o + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		/* two words of 4, overlapping for fewer than 8 bytes */
		uint32_t lo, hi;

		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		if (attention8((uint64_t)hi << 32 | lo))
			return put_str_escaped(b, before, s, n, after);
		memcpy(o, &lo, 4);
		memcpy(o + n - 4, &hi, 4);
	} else if (n) {
		/* bytes 0, n / 2 and n - 1 are all of 1 to 3 bytes */
		size_t mid = n / 2;

		if (attention[s[0]] | attention[s[mid]] | attention[s[n - 1]])
			return put_str_escaped(b, before, s, n, after);
		o[0] = (char)s[0];
		o[mid] = (char)s[mid];
		o[n - 1] = (char)s[n - 1];
	}
	o += n;
	*o++ = '"';
	*o = after;
	o += after != 0;
	b->len = (size_t)(o - b->p);
	return 0;
}

/* ---- numbers ------------------------------------------------------------- */

static const char two_digits[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static const unsigned long long powers_of_ten[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
	1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
	1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
	1000000000000000000ULL, 10000000000000000000ULL,
};

/* Decimal digits of u, at least 1: log10 from log2 (1233 / 4096 ~ log10 2). */
static inline unsigned int digits_of(unsigned long long u)
{
	unsigned int t = (unsigned int)(64 - __builtin_clzll(u | 1)) * 1233 >> 12;

	return t - ((u | 1) < powers_of_ten[t]) + 1;
}

/* The two digits of r < 100 at o. */
static inline void put2(char *o, unsigned int r)
{
	memcpy(o, two_digits + 2 * r, 2);
}

/*
 * From the end, straight into the buffer: json_int_t is at most 19 digits
 * and a sign. Eight digits at a time in 32-bit arithmetic, then two at a
 * time, so that a timestamp takes two 64-bit divisions, not nine.
 */
static inline __attribute__((always_inline)) int
put_int(struct jbuf *b, json_int_t v)
{
	/* negate in unsigned arithmetic, so that LLONG_MIN is no overflow */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	unsigned int d = digits_of(u), w;
	char *o, *end;

	if (reserve(b, d + 1))
		return -1;
	o = b->p + b->len;
	if (v < 0)
		*o++ = '-';
	end = o + d;
	b->len = (size_t)(end - b->p);
	while (u >= 100000000) {
		unsigned int r = (unsigned int)(u % 100000000), hi = r / 10000, lo = r % 10000;

		u /= 100000000;
		end -= 8;
		put2(end, hi / 100);
		put2(end + 2, hi % 100);
		put2(end + 4, lo / 100);
		put2(end + 6, lo % 100);
	}
	for (w = (unsigned int)u; w >= 100; w /= 100) {
		end -= 2;
		put2(end, w % 100);
	}
	if (w >= 10)
		put2(end - 2, w);
	else
		end[-1] = (char)('0' + w);
	return 0;
}

struct real_ctx {
	struct jbuf *b;
	int oom;
};

static int real_cb(const char *buf, size_t size, void *data)
{
	struct real_ctx *c = data;

	if (put(c->b, buf, size)) {
		c->oom = 1;
		return -1;
	}
	return 0;
}

/*
 * jansson formats the real; json_dump_callback is the engine json_dumps
 * runs on, so the text is the same, without json_dumps' copy of it.
 */
static int put_real(struct jbuf *b, const json_t *v)
{
	struct real_ctx c = { .b = b, .oom = 0 };

	if (json_dump_callback(v, real_cb, &c, JSON_COMPACT | JSON_ENCODE_ANY)) {
		errno = c.oom ? ENOMEM : EINVAL;
		return -1;
	}
	return 0;
}

/* ---- values -------------------------------------------------------------- */

static int put_container(struct jbuf *b, const json_t *v, int depth);

/*
 * depth: the number of containers around v. Inlined into the loops over
 * members and elements, so that a scalar costs no call; only containers
 * recurse.
 */
static inline __attribute__((always_inline)) int
put_value(struct jbuf *b, const json_t *v, int depth)
{
	if (!v) {
		errno = EINVAL;
		return -1;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		return put_container(b, v, depth);
	case JSON_STRING:
		return put_str(b, 0, json_string_value(v), json_string_length(v), 0);
	case JSON_INTEGER:
		return put_int(b, json_integer_value(v));
	case JSON_REAL:
		return put_real(b, v);
	case JSON_TRUE:
		return put(b, "true", 4);
	case JSON_FALSE:
		return put(b, "false", 5);
	case JSON_NULL:
		return put(b, "null", 4);
	}
	errno = EINVAL;
	return -1;
}

/* jansson's iteration API takes non-const values; it does not modify them. */
static int put_object(struct jbuf *b, const json_t *v, int depth)
{
	json_t *o = (json_t *)v;
	void *it = json_object_iter(o);
	char sep = '{';

	if (!it)
		return put(b, "{}", 2);
	for (; it; it = json_object_iter_next(o, it)) {
		if (put_str(b, sep, json_object_iter_key(it), json_object_iter_key_len(it), ':') ||
		    put_value(b, json_object_iter_value(it), depth + 1))
			return -1;
		sep = ',';
	}
	return put_ch(b, '}');
}

static int put_array(struct jbuf *b, const json_t *v, int depth)
{
	size_t n = json_array_size(v);

	if (!n)
		return put(b, "[]", 2);
	for (size_t i = 0; i < n; i++) {
		if (put_ch(b, i ? ',' : '[') ||
		    put_value(b, json_array_get(v, i), depth + 1))
			return -1;
	}
	return put_ch(b, ']');
}

static __attribute__((noinline)) int put_container(struct jbuf *b, const json_t *v, int depth)
{
	if (depth >= JSON_OUT_MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	return json_is_object(v) ? put_object(b, v, depth) : put_array(b, v, depth);
}

/* ---- pieces -------------------------------------------------------------- */

/* A long string's escaping may have moved b->len before it failed: put
 * back, as json_out() does. */
static int piece_done(struct jbuf *b, size_t start, int rc)
{
	if (rc)
		b->len = start;
	if (b->p)
		b->p[b->len] = '\0';
	return rc ? -1 : 0;
}

int jbuf_member(struct jbuf *b, char sep, const char *key, size_t n)
{
	size_t start = b->len;

	return piece_done(b, start, put_str(b, sep, key, n, ':'));
}

int jbuf_string(struct jbuf *b, const char *s, size_t n)
{
	size_t start = b->len;

	return piece_done(b, start, put_str(b, 0, s, n, 0));
}

int jbuf_int(struct jbuf *b, long long v)
{
	size_t start = b->len;

	return piece_done(b, start, put_int(b, (json_int_t)v));
}

int jbuf_reserve(struct jbuf *b, size_t n)
{
	return reserve(b, n);
}

int json_out(struct jbuf *b, const json_t *v)
{
	size_t start = b->len;

	if (put_value(b, v, 0) == 0) {
		b->p[b->len] = '\0';    /* reserve() always kept room for it */
		return 0;
	}
	b->len = start;
	if (b->p)
		b->p[start] = '\0';
	return -1;
}
