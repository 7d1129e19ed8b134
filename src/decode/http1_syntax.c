/* SPDX-License-Identifier: MIT */
/* The text of HTTP/1 messages; see http1_syntax.h. */
#include "decode/http1_syntax.h"

#include <string.h>
#include <strings.h>

#include "decode/http1.h"

#define MAX_CONTENT_LENGTH (UINT64_C(1) << 62)

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int hex_value(int ch)
{
	if (is_digit(ch))
		return ch - '0';
	ch = lower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* RFC 9110 tchar */
static bool is_tchar(int ch)
{
	return is_digit(ch) || is_alpha(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static const char *const methods[] = {
	"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
};

/*
 * Whether p[0..n) starts like a request or status line: 1 yes, 0 no,
 * -1 cannot tell yet.
 */
int http1_start_check(const uint8_t *p, size_t n)
{
	static const char resp[] = "HTTP/1.";
	size_t rlen = sizeof(resp) - 1;
	bool maybe = false;

	if (memcmp(p, resp, n < rlen ? n : rlen) == 0) {
		if (n > rlen && !is_digit(p[rlen]))
			return 0;
		if (n > rlen + 1 && p[rlen + 1] != ' ')
			return 0;
		if (n > rlen + 2)
			return is_digit(p[rlen + 2]) ? 1 : 0;
		return -1;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t ml = strlen(methods[i]);
		int ch;

		if (memcmp(p, methods[i], n < ml ? n : ml) != 0)
			continue;
		if (n <= ml + 1) {
			if (n <= ml || p[ml] == ' ')
				maybe = true;
			continue;
		}
		if (p[ml] != ' ')
			continue;
		ch = p[ml + 1];
		if (ch == '/' || ch == '*' || is_alpha(ch) || (i == 7 && is_digit(ch)))
			return 1;
	}
	return maybe ? -1 : 0;
}

bool http1_looks_like_start(const uint8_t *p, size_t n)
{
	return p && n > 0 && http1_start_check(p, n) == 1;
}

/* Start line in head[0..end), end being the offset of its LF. */
bool http1_parse_start_line(char *h, size_t end, struct http1_start *st)
{
	size_t sp1, sp2;

	if (end > 0 && h[end - 1] == '\r')
		end--;
	h[end] = '\0';
	if (end >= 8 && memcmp(h, "HTTP/1.", 7) == 0 && is_digit(h[7])) {
		/* HTTP/1.x SP 3DIGIT [SP reason] */
		if (end < 12 || h[8] != ' ' || !is_digit(h[9]) || !is_digit(h[10]) ||
		    !is_digit(h[11]) || h[9] == '0' || (end > 12 && h[12] != ' '))
			return false;
		st->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
		h[8] = '\0';
		st->version = 0;
		st->reason = end > 12 ? 13 : end;
		st->is_request = false;
		return true;
	}
	/* method SP target SP HTTP/1.x */
	for (sp1 = 0; sp1 < end && is_tchar((unsigned char)h[sp1]); sp1++)
		;
	if (sp1 == 0 || sp1 >= end || h[sp1] != ' ')
		return false;
	for (sp2 = end; sp2 > sp1 && h[sp2 - 1] != ' '; sp2--)
		;
	if (sp2 <= sp1 + 1 || end - sp2 != 8 || memcmp(h + sp2, "HTTP/1.", 7) != 0 ||
	    !is_digit(h[sp2 + 7]))
		return false;
	for (size_t i = sp1 + 1; i < sp2 - 1; i++)
		if ((unsigned char)h[i] <= ' ' || h[i] == 0x7f)
			return false;
	h[sp1] = '\0';
	h[sp2 - 1] = '\0';
	st->method = 0;
	st->target = sp1 + 1;
	st->version = sp2;
	st->is_request = true;
	return true;
}

bool http1_parse_length(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!is_digit((unsigned char)*v))
		return false;
	for (; *v; v++) {
		if (!is_digit((unsigned char)*v))
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > MAX_CONTENT_LENGTH)
			return false;
	}
	*out = n;
	return true;
}

/* Whether the last coding of a Transfer-Encoding value is "chunked". */
bool http1_te_ends_chunked(const char *v)
{
	const char *last = strrchr(v, ',');
	size_t n;

	last = last ? last + 1 : v;
	while (*last == ' ' || *last == '\t')
		last++;
	n = strlen(last);
	while (n > 0 && (last[n - 1] == ' ' || last[n - 1] == '\t'))
		n--;
	return n == 7 && strncasecmp(last, "chunked", 7) == 0;
}

bool http1_is_event_stream(const char *v)
{
	static const char ct[] = "text/event-stream";
	size_t n = sizeof(ct) - 1;

	return strncasecmp(v, ct, n) == 0 && (v[n] == '\0' || v[n] == ';' || v[n] == ' ');
}

/* Parses the chunk-size line in cline. */
bool http1_parse_chunk_size(const char *line, size_t n, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	for (; i < n && hex_value((unsigned char)line[i]) >= 0; i++) {
		if (v >> 58)
			return false; /* too large */
		v = v << 4 | (uint64_t)hex_value((unsigned char)line[i]);
	}
	if (i == 0)
		return false;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < n && line[i] != ';')
		return false;
	*out = v; /* chunk extensions are ignored */
	return true;
}

bool http1_parse_field_line(char *h, size_t s, size_t e, size_t *name, size_t *value)
{
	size_t colon, vs, ve;

	if (e > s && h[e - 1] == '\r')
		e--;
	for (colon = s; colon < e && is_tchar((unsigned char)h[colon]); colon++)
		h[colon] = (char)lower((unsigned char)h[colon]);
	if (colon == s || colon >= e || h[colon] != ':')
		return false;
	h[colon] = '\0';
	for (vs = colon + 1; vs < e && (h[vs] == ' ' || h[vs] == '\t'); vs++)
		;
	for (ve = e; ve > vs && (h[ve - 1] == ' ' || h[ve - 1] == '\t'); ve--)
		;
	h[ve] = '\0';
	*name = s;
	*value = vs;
	return true;
}
