/* SPDX-License-Identifier: MIT */
/* Incremental Server-Sent Events parser; see sse.h. */
#include "decode/sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t len, cap;
};

struct sse_parser {
	size_t max;
	sse_event_fn on_event;
	void *ctx;
	struct sbuf line, data, event, id;
	uint8_t bom[3];
	size_t bom_len;       /* bytes of a possible BOM seen at the start */
	bool started;         /* past the BOM check */
	bool last_cr;         /* the previous byte was a CR ending a line */
	bool line_truncated;
	bool event_truncated;
	int64_t retry_ms;
};

static const uint8_t utf8_bom[3] = { 0xef, 0xbb, 0xbf };

/*
 * Appends src[0..n) to b, keeping at most max bytes (and a NUL). Returns 0,
 * 1 when bytes were cut, -ENOMEM.
 */
static int sbuf_add(struct sbuf *b, size_t max, const void *src, size_t n)
{
	int cut = 0;

	if (n > max - b->len) {
		n = max - b->len;
		cut = 1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
	b->p[b->len] = '\0';
	return cut;
}

static int sbuf_set(struct sbuf *b, size_t max, const void *src, size_t n)
{
	b->len = 0;
	return sbuf_add(b, max, src, n);
}

struct sse_parser *sse_new(size_t max_bytes, sse_event_fn on_event, void *ctx)
{
	struct sse_parser *p;

	if (!on_event)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->max = max_bytes ? max_bytes : SSE_DEFAULT_MAX_BYTES;
	p->on_event = on_event;
	p->ctx = ctx;
	p->retry_ms = -1;
	return p;
}

void sse_free(struct sse_parser *p)
{
	if (!p)
		return;
	free(p->line.p);
	free(p->data.p);
	free(p->event.p);
	free(p->id.p);
	free(p);
}

static void dispatch(struct sse_parser *p)
{
	struct sse_event ev;

	if (p->data.len == 0) {
		p->event.len = 0;
		p->event_truncated = false;
		return;
	}
	if (p->data.p[p->data.len - 1] == '\n')
		p->data.p[--p->data.len] = '\0';
	ev.event = p->event.len ? p->event.p : "message";
	ev.data = p->data.p;
	ev.data_len = p->data.len;
	ev.id = p->id.len ? p->id.p : "";
	ev.retry_ms = p->retry_ms;
	ev.truncated = p->event_truncated;
	p->on_event(p->ctx, &ev);
	p->data.len = 0;
	p->event.len = 0;
	p->event_truncated = false;
}

static bool field_is(const char *f, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(f, name, n) == 0;
}

static int process_line(struct sse_parser *p)
{
	const char *l = p->line.p;
	size_t n = p->line.len;
	const char *colon, *value;
	size_t flen, vlen;
	int rc = 0;

	if (p->line_truncated)
		p->event_truncated = true;
	p->line_truncated = false;
	if (n == 0) {
		dispatch(p);
		return 0;
	}
	if (l[0] == ':')
		return 0; /* comment */
	colon = memchr(l, ':', n);
	if (colon) {
		flen = (size_t)(colon - l);
		value = colon + 1;
		vlen = n - flen - 1;
		if (vlen > 0 && value[0] == ' ') {
			value++;
			vlen--;
		}
	} else {
		flen = n;
		value = l + n;
		vlen = 0;
	}
	if (field_is(l, flen, "event")) {
		rc = sbuf_set(&p->event, p->max, value, vlen);
	} else if (field_is(l, flen, "data")) {
		rc = sbuf_add(&p->data, p->max, value, vlen);
		if (rc == 0)
			rc = sbuf_add(&p->data, p->max, "\n", 1);
	} else if (field_is(l, flen, "id")) {
		if (!memchr(value, '\0', vlen))
			rc = sbuf_set(&p->id, p->max, value, vlen);
	} else if (field_is(l, flen, "retry")) {
		int64_t v = 0;
		size_t i;

		for (i = 0; i < vlen && value[i] >= '0' && value[i] <= '9'; i++)
			if (v < INT64_MAX / 20)
				v = v * 10 + (value[i] - '0');
		if (vlen > 0 && i == vlen)
			p->retry_ms = v;
	}
	if (rc == 1)
		p->event_truncated = true;
	return rc < 0 ? rc : 0;
}

/* Bytes after the BOM check. */
static int feed_body(struct sse_parser *p, const uint8_t *data, size_t len)
{
	while (len > 0) {
		size_t i;
		int rc;

		if (p->last_cr) {
			p->last_cr = false;
			if (data[0] == '\n') {
				data++;
				len--;
				continue;
			}
		}
		for (i = 0; i < len && data[i] != '\r' && data[i] != '\n'; i++)
			;
		rc = sbuf_add(&p->line, p->max, data, i);
		if (rc < 0)
			return rc;
		if (rc == 1)
			p->line_truncated = true;
		if (i == len)
			return 0;
		p->last_cr = data[i] == '\r';
		rc = process_line(p);
		p->line.len = 0;
		if (rc < 0) {
			p->data.len = 0;
			return rc;
		}
		data += i + 1;
		len -= i + 1;
	}
	return 0;
}

int sse_feed(struct sse_parser *p, const uint8_t *data, size_t len)
{
	if (!p || (!data && len))
		return -EINVAL;
	while (!p->started && len > 0) {
		p->bom[p->bom_len++] = *data++;
		len--;
		if (memcmp(p->bom, utf8_bom, p->bom_len) != 0) {
			int rc;

			p->started = true; /* not a BOM: these bytes are content */
			rc = feed_body(p, p->bom, p->bom_len);
			if (rc < 0)
				return rc;
		} else if (p->bom_len == sizeof(utf8_bom)) {
			p->started = true; /* a BOM: skipped */
		}
	}
	return feed_body(p, data, len);
}

int sse_finish(struct sse_parser *p)
{
	int rc = 0;

	if (!p)
		return -EINVAL;
	if (!p->started && p->bom_len > 0 && memcmp(p->bom, utf8_bom, p->bom_len) != 0)
		rc = feed_body(p, p->bom, p->bom_len);
	if (rc == 0 && (p->line.len > 0 || p->line_truncated)) {
		rc = process_line(p);
		p->line.len = 0;
	}
	if (rc == 0)
		dispatch(p);
	/* ready for a new stream */
	p->line.len = p->data.len = p->event.len = p->id.len = 0;
	p->bom_len = 0;
	p->started = false;
	p->last_cr = false;
	p->line_truncated = p->event_truncated = false;
	p->retry_ms = -1;
	return rc;
}
