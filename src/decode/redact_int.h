/* SPDX-License-Identifier: MIT */
/*
 * Internal to the redactor: the scanner's state, shared by the pass that
 * writes the output (redact.c) and the rules that find secrets in it
 * (redact_rules.c).
 */
#ifndef AT_DECODE_REDACT_INT_H
#define AT_DECODE_REDACT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TAG_PREFIX "[REDACTED:"
#define TAG_PREFIX_LEN 10u
#define VALUE_MIN 6u        /* shortest assignment value redacted */
#define CRED_MIN 16u        /* "looks like a credential": shortest */
#define CRED_NO_DIGIT 32u   /* ... and shortest without a digit */
#define NAME_MAX_LOOKBACK 64u
#define BLANK_MAX_LOOKBACK 16u
#define USERINFO_MAX 128u
#define PEM_LABEL_MAX 64u
#define SCHEME_MAX 24u

enum cls {
	CL_ALNUM,    /* [A-Za-z0-9] */
	CL_UPNUM,    /* [A-Z0-9] */
	CL_B64URL,   /* [A-Za-z0-9_-] */
	CL_UNDER,    /* [A-Za-z0-9_] */
	CL_SLACK,    /* [A-Za-z0-9-] */
	CL_CRED,     /* [A-Za-z0-9._~+/=-]: RFC 6750 b64token, and then some */
	CL_IDENT,    /* [A-Za-z0-9_.-]: names of assignments */
	CL_USERINFO, /* [A-Za-z0-9._~%!$&*+,;=-]: RFC 3986 userinfo minus ':' and quotes */
	CL_VALUE,    /* anything but the delimiters of an unquoted value */
};

/*
 * What is known about a maximal run of one class that started at `start`:
 * its end, and the last position (+1, 0: none) of a few kinds of bytes in
 * it. Any position inside the run then gets its answers in O(1), which
 * keeps the assignment rule linear when many separators share one run.
 */
struct run {
	enum cls cls;
	size_t start, end;
	size_t digit, letter, nonident, noncred, eq; /* last position + 1 */
};

struct scan {
	const uint8_t *in;
	size_t n;
	size_t floor; /* end of the last span: nothing before it is looked at */
	struct run value_run, cred_run;
};

/* A secret found: in[start, end) is replaced by its tag. */
struct span {
	size_t start, end;
};

/* s[0, n) ends with suffix: a name's kind goes by its ending. */
static inline bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

/*
 * The first secret that starts at in[i] or after: true with *sp its span
 * (start >= s->floor, end > start), false when none does. Rules never look
 * before s->floor.
 */
bool redact_next(struct scan *s, size_t i, struct span *sp);

#endif
