/* SPDX-License-Identifier: MIT */
/*
 * One HTTP message of an HTTP/2 stream half; see http2_msg.h.
 *
 * Fields are copied into one buffer as "name\0value\0", names lower-cased,
 * so that the message can point into it when reported; pseudo-headers are
 * kept there too (value only) and found through offsets. The body is kept
 * like the HTTP/1 decoder keeps it: after content decoding, up to body_cap.
 * Every byte kept is charged to the connection's budget (env->mem_used).
 */
#include "decode/http2_msg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http1_syntax.h"

#define NO_OFF ((size_t)-1)
#define BUF_SLACK 8            /* room for the "host" name added after the limit check */
/*
 * What a content decoder's own state is charged to the budget: zlib needs
 * its 32 KiB window and some; the other codings' windows are whatever the
 * body declares (a few MiB in practice), so they are charged an estimate.
 */
#define INFLATE_COST_ZLIB (64u << 10)
#define INFLATE_COST_OTHER (4u << 20)

/* ---- memory budget ---------------------------------------------------------- */

static bool mem_take(struct h2_env *env, size_t n)
{
	if (n > env->mem_max - env->mem_used)
		return false;
	env->mem_used += n;
	return true;
}

static void mem_give(struct h2_env *env, size_t n)
{
	env->mem_used -= n;
}

/* ---- life cycle ------------------------------------------------------------ */

void h2m_init(struct h2_msg *m, enum http1_dir dir, uint32_t id, size_t body_cap)
{
	memset(m, 0, sizeof(*m));
	m->dir = dir;
	m->id = id;
	m->off_method = m->off_path = m->off_authority = m->off_cenc = NO_OFF;
	m->framing = HTTP1_FRAMING_NONE;
	m->coding = HTTP_CODING_IDENTITY;
	m->body_cap = body_cap;
}

static size_t inflate_cost(enum http_coding coding)
{
	return coding == HTTP_CODING_GZIP || coding == HTTP_CODING_DEFLATE ? INFLATE_COST_ZLIB
									    : INFLATE_COST_OTHER;
}

static size_t fld_bytes(size_t n)
{
	return n * (sizeof(struct h2_field) + sizeof(struct http1_header));
}

void h2m_release(struct h2_env *env, struct h2_msg *m)
{
	if (m->inf_on) {
		http_inflate_end(&m->inf);
		mem_give(env, inflate_cost(m->coding));
		m->inf_on = false;
	}
	mem_give(env, m->buf_cap + fld_bytes(m->fld_cap) + m->body_alloc);
	free(m->buf);
	free(m->fld);
	free(m->view);
	free(m->body);
	m->buf = NULL;
	m->fld = NULL;
	m->view = NULL;
	m->body = NULL;
	m->buf_len = m->buf_cap = m->n_fld = m->fld_cap = 0;
	m->body_len = m->body_alloc = 0;
}

void h2m_error(struct h2_msg *m, const char *why)
{
	if (m->decode_error)
		return; /* keep the first reason */
	m->decode_error = true;
	m->error = why;
}

void h2m_errorf(struct h2_msg *m, const char *fmt, ...)
{
	va_list ap;

	if (m->decode_error)
		return; /* errbuf may hold the first reason */
	va_start(ap, fmt);
	vsnprintf(m->errbuf, sizeof(m->errbuf), fmt, ap);
	va_end(ap);
	h2m_error(m, m->errbuf);
}

void h2m_touch(struct h2_msg *m, uint64_t ts)
{
	if (ts > m->ts_last)
		m->ts_last = ts;
}

void h2m_block_begin(struct h2_msg *m, uint64_t ts)
{
	if (!m->began) {
		m->began = true;
		m->ts_first = m->ts_last = ts;
	} else if (m->headers_done && !m->in_trailers) {
		m->in_trailers = true;
		m->trailers_from = m->n_fld;
	}
	h2m_touch(m, ts);
}

/* ---- fields ----------------------------------------------------------------- */

static bool decodable(enum http_coding coding)
{
	return coding != HTTP_CODING_IDENTITY && coding != HTTP_CODING_UNSUPPORTED;
}

/*
 * RFC 9113 8.2.1: a name is visible ASCII without ':' (but the leading one
 * of a pseudo-header); a value holds no NUL, CR or LF. Upper case is
 * tolerated here and lowered when stored.
 */
static bool field_ok(const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
	size_t i = nlen > 0 && name[0] == ':' ? 1 : 0;

	if (nlen == i)
		return false;
	for (; i < nlen; i++) {
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == ':')
			return false;
	}
	for (i = 0; i < vlen; i++) {
		if (value[i] == '\0' || value[i] == '\r' || value[i] == '\n')
			return false;
	}
	return true;
}

/* Makes room for n more bytes in buf. Returns 0, 1 (over the budget) or -ENOMEM. */
static int buf_reserve(struct h2_env *env, struct h2_msg *m, size_t n)
{
	size_t need = m->buf_len + n;
	size_t limit = env->lim.max_header_bytes + BUF_SLACK;
	size_t cap = m->buf_cap ? m->buf_cap : 256;
	char *nb;

	if (need <= m->buf_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	if (cap < need)
		cap = need;
	if (!mem_take(env, cap - m->buf_cap))
		return 1;
	nb = realloc(m->buf, cap);
	if (!nb) {
		mem_give(env, cap - m->buf_cap);
		return -ENOMEM;
	}
	m->buf = nb;
	m->buf_cap = cap;
	return 0;
}

/* Appends s[0..n) and a NUL; lower: lower-case it. Room must be reserved. */
static size_t buf_put(struct h2_msg *m, const uint8_t *s, size_t n, bool lower)
{
	size_t off = m->buf_len;

	for (size_t i = 0; i < n; i++) {
		char ch = (char)s[i];

		m->buf[off + i] = lower && ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	m->buf[off + n] = '\0';
	m->buf_len += n + 1;
	return off;
}

/* Makes room for one more field entry. Returns 0, 1 (over the budget) or -ENOMEM. */
static int fld_reserve(struct h2_env *env, struct h2_msg *m)
{
	size_t cap = m->fld_cap ? m->fld_cap * 2 : 16;
	struct h2_field *nf;
	struct http1_header *nv;

	if (m->n_fld < m->fld_cap)
		return 0;
	if (cap > env->lim.max_headers)
		cap = env->lim.max_headers;
	if (!mem_take(env, fld_bytes(cap - m->fld_cap)))
		return 1;
	nf = realloc(m->fld, cap * sizeof(*nf));
	if (nf)
		m->fld = nf;
	nv = nf ? realloc(m->view, cap * sizeof(*nv)) : NULL;
	if (nv)
		m->view = nv;
	if (!nf || !nv) {
		mem_give(env, fld_bytes(cap - m->fld_cap));
		return -ENOMEM;
	}
	m->fld_cap = cap;
	return 0;
}

/* A reservation came back rc: reports the budget running out. */
static int reserve_failed(struct h2_msg *m, int rc)
{
	if (rc > 0) {
		h2m_error(m, "connection memory budget exhausted");
		m->fields_over = true;
		return 0;
	}
	return rc;
}

/* Whether v is three digits. */
static bool parse_status(const uint8_t *v, size_t n, int *out)
{
	if (n != 3)
		return false;
	for (size_t i = 0; i < 3; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
	}
	*out = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
	return *out >= 100;
}

static bool name_is(const uint8_t *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && memcmp(name, want, nlen) == 0;
}

/* A pseudo-header: the ones the message needs are kept, the others checked. */
static int pseudo_field(struct h2_env *env, struct h2_msg *m, const uint8_t *name, size_t nlen,
			const uint8_t *value, size_t vlen)
{
	size_t *slot = NULL;
	int rc;

	if (m->in_trailers) {
		h2m_error(m, "pseudo-header in trailers");
		return 0;
	}
	if (m->dir == HTTP1_TO_CLIENT) {
		if (!name_is(name, nlen, ":status")) {
			h2m_error(m, "unexpected pseudo-header in a response");
		} else if (m->status != 0) {
			h2m_error(m, "repeated :status");
		} else if (!parse_status(value, vlen, &m->status)) {
			m->status = 0;
			h2m_error(m, "bad :status");
		}
		return 0;
	}
	if (name_is(name, nlen, ":method"))
		slot = &m->off_method;
	else if (name_is(name, nlen, ":path"))
		slot = &m->off_path;
	else if (name_is(name, nlen, ":authority"))
		slot = &m->off_authority;
	else if (!name_is(name, nlen, ":scheme") && !name_is(name, nlen, ":protocol"))
		h2m_error(m, "unexpected pseudo-header in a request");
	if (!slot)
		return 0;
	if (*slot != NO_OFF) {
		h2m_error(m, "repeated pseudo-header");
		return 0;
	}
	rc = buf_reserve(env, m, vlen + 1);
	if (rc != 0)
		return reserve_failed(m, rc);
	*slot = buf_put(m, value, vlen, false);
	return 0;
}

int h2m_field(struct h2_env *env, struct h2_msg *m, const uint8_t *name, size_t nlen,
	      const uint8_t *value, size_t vlen)
{
	size_t cost = nlen + vlen + 2;
	size_t name_off;
	int rc;

	if (m->fields_over)
		return 0;
	if (!field_ok(name, nlen, value, vlen)) {
		h2m_error(m, "malformed header field");
		return 0;
	}
	if (cost > env->lim.max_header_bytes - m->field_bytes) {
		h2m_errorf(m, "header block exceeds %zu bytes", env->lim.max_header_bytes);
		m->fields_over = true;
		return 0;
	}
	m->field_bytes += cost;
	while (vlen > 0 && (value[0] == ' ' || value[0] == '\t')) {
		value++;
		vlen--;
	}
	while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		vlen--;
	if (name[0] == ':')
		return pseudo_field(env, m, name, nlen, value, vlen);
	if (m->n_fld >= env->lim.max_headers) {
		h2m_errorf(m, "more than %zu header fields", env->lim.max_headers);
		m->fields_over = true;
		return 0;
	}
	rc = buf_reserve(env, m, nlen + vlen + 2);
	if (rc == 0)
		rc = fld_reserve(env, m);
	if (rc != 0)
		return reserve_failed(m, rc);
	name_off = buf_put(m, name, nlen, true);
	m->fld[m->n_fld].name = name_off;
	m->fld[m->n_fld].value = buf_put(m, value, vlen, false);
	m->n_fld++;
	return 0;
}

/* ---- end of a header block -------------------------------------------------- */

static const char *field_name(const struct h2_msg *m, size_t i)
{
	return m->buf + m->fld[i].name;
}

static const char *field_value(const struct h2_msg *m, size_t i)
{
	return m->buf + m->fld[i].value;
}

/* A request without host: one from :authority, as the first field (where HTTP/1 has it). */
static int add_host(struct h2_env *env, struct h2_msg *m)
{
	static const uint8_t host[] = "host";
	int rc;

	if (m->off_authority == NO_OFF || m->fields_over)
		return 0;
	for (size_t i = 0; i < m->n_fld; i++) {
		if (strcmp(field_name(m, i), "host") == 0)
			return 0;
	}
	if (m->n_fld >= env->lim.max_headers) {
		h2m_errorf(m, "more than %zu header fields", env->lim.max_headers);
		return 0;
	}
	rc = buf_reserve(env, m, sizeof(host));
	if (rc == 0)
		rc = fld_reserve(env, m);
	if (rc != 0)
		return reserve_failed(m, rc);
	memmove(m->fld + 1, m->fld, m->n_fld * sizeof(*m->fld));
	m->fld[0].name = buf_put(m, host, sizeof(host) - 1, false);
	m->fld[0].value = m->off_authority;
	m->n_fld++;
	return 0;
}

/* The fields the body depends on: content-length, content-encoding, content-type. */
static void scan_fields(struct h2_msg *m)
{
	bool coding_seen = false;

	for (size_t i = 0; i < m->n_fld; i++) {
		const char *name = field_name(m, i);
		const char *value = field_value(m, i);
		uint64_t v;

		if (strcmp(name, "content-length") == 0) {
			if (!http1_parse_length(value, &v) || (m->have_len && v != m->content_length)) {
				h2m_error(m, "bad content-length");
				continue;
			}
			m->have_len = true;
			m->content_length = v;
		} else if (strcmp(name, "content-encoding") == 0) {
			m->coding = http_coding_add(m->coding, &coding_seen, value);
			if (m->off_cenc == NO_OFF)
				m->off_cenc = m->fld[i].value;
		} else if (strcmp(name, "content-type") == 0) {
			m->event_stream = http1_is_event_stream(value);
		}
	}
}

static void start_decoding(struct h2_env *env, struct h2_msg *m)
{
	if (!decodable(m->coding))
		return;
	if (!mem_take(env, inflate_cost(m->coding))) {
		h2m_error(m, "connection memory budget exhausted");
		m->inf_stop = true;
		return;
	}
	http_inflate_init(&m->inf, m->coding);
	m->inf_on = true;
}

int h2m_block_end(struct h2_env *env, struct h2_msg *m, bool end_stream, enum h2m_block_end *out)
{
	*out = H2M_FINISHED;
	if (m->in_trailers) {
		if (!end_stream)
			h2m_error(m, "trailers without END_STREAM");
		return 0;
	}
	if (m->dir == HTTP1_TO_SERVER) {
		int rc;

		if (m->off_method == NO_OFF)
			h2m_error(m, "request without :method");
		else
			m->is_head = strcmp(m->buf + m->off_method, "HEAD") == 0;
		rc = add_host(env, m);
		if (rc < 0)
			return rc;
	} else if (m->status == 0) {
		h2m_error(m, "response without :status");
	} else if (m->status < 200) {
		m->interim = true;
		*out = H2M_INTERIM;
		return 0;
	}
	scan_fields(m);
	m->headers_done = true;
	if (end_stream) {
		if (m->coding != HTTP_CODING_UNSUPPORTED)
			m->coding = HTTP_CODING_IDENTITY; /* nothing to decode */
		return 0;
	}
	m->framing = m->have_len ? HTTP1_FRAMING_LENGTH : HTTP1_FRAMING_CLOSE;
	start_decoding(env, m);
	*out = H2M_HEADERS;
	return 0;
}

void h2m_reset_interim(struct h2_env *env, struct h2_msg *m)
{
	h2m_release(env, m);
	h2m_init(m, m->dir, m->id, env->lim.max_body);
}

/* ---- body ------------------------------------------------------------------- */

static void view(struct h2_msg *m, struct http1_message *out);

struct sink_ctx {
	struct h2_env *env;
	struct h2_msg *m;
};

/* Grows the body buffer to hold len + keep bytes. False when it cannot: the body is cut. */
static bool body_room(struct h2_env *env, struct h2_msg *m, size_t keep)
{
	size_t cap = m->body_alloc ? m->body_alloc : 4096;
	uint8_t *nb;

	if (m->body_len + keep <= m->body_alloc)
		return true;
	while (cap < m->body_len + keep)
		cap = cap > m->body_cap / 2 ? m->body_cap : cap * 2;
	if (!mem_take(env, cap - m->body_alloc)) {
		m->body_cap = m->body_len; /* the budget is the limit in force now */
		m->truncated = true;
		return false;
	}
	nb = realloc(m->body, cap);
	if (!nb) {
		mem_give(env, cap - m->body_alloc);
		h2m_error(m, "out of memory for the body");
		m->truncated = true;
		return false;
	}
	m->body = nb;
	m->body_alloc = cap;
	return true;
}

/* Decoded body bytes: kept up to body_cap, streamed to on_body_chunk. */
static bool body_sink(void *ctx, const uint8_t *p, size_t n)
{
	struct sink_ctx *sc = ctx;
	struct h2_env *env = sc->env;
	struct h2_msg *m = sc->m;
	size_t room = m->body_cap - m->body_len;
	size_t keep = n < room ? n : room;

	m->body_total += n;
	if (keep < n)
		m->truncated = true;
	if (keep > 0 && !body_room(env, m, keep))
		keep = 0;
	if (keep > 0) {
		memcpy(m->body + m->body_len, p, keep);
		m->body_len += keep;
	}
	if (m->event_stream && env->cb.on_body_chunk) {
		struct http1_message msg;

		view(m, &msg);
		env->cb.on_body_chunk(env->cb.ctx, &msg, p, n);
	}
	if (m->truncated && !m->event_stream) {
		m->inf_stop = true; /* nothing more will be kept: stop inflating */
		return false;
	}
	return true;
}

void h2m_body(struct h2_env *env, struct h2_msg *m, const uint8_t *p, size_t n)
{
	struct sink_ctx sc = { env, m };

	m->wire_len += n;
	if (!decodable(m->coding)) {
		(void)body_sink(&sc, p, n); /* returns false once truncated: nothing to stop */
		return;
	}
	if (m->inf_stop || !m->inf_on)
		return;
	if (http_inflate_feed(&m->inf, p, n, body_sink, &sc) < 0) {
		h2m_error(m, m->inf.error ? m->inf.error : "content decoding failed");
		m->inf_stop = true;
	}
}

void h2m_check_end(struct h2_msg *m, bool head_request)
{
	bool bodyless = m->dir == HTTP1_TO_CLIENT &&
			(head_request || m->status == 204 || m->status == 304);

	if (m->have_len && !bodyless && m->wire_len != m->content_length)
		h2m_error(m, "body length does not match content-length");
	if (m->inf_on && !m->inf_stop && !m->inf.finished && m->wire_len > 0)
		h2m_error(m, "compressed body ends before its end of stream");
}

/* ---- reporting -------------------------------------------------------------- */

static const char *buf_str(const struct h2_msg *m, size_t off)
{
	return off == NO_OFF ? "" : m->buf + off;
}

static enum http1_coding_status coding_status(enum http_coding coding)
{
	if (coding == HTTP_CODING_IDENTITY)
		return HTTP1_CODING_IDENTITY;
	return coding == HTTP_CODING_UNSUPPORTED ? HTTP1_CODING_NOT_DECODED
						 : HTTP1_CODING_DECODED;
}

static void view(struct h2_msg *m, struct http1_message *out)
{
	memset(out, 0, sizeof(*out));
	out->dir = m->dir;
	out->seq = m->id;
	out->is_request = m->dir == HTTP1_TO_SERVER;
	out->interim = m->interim;
	out->method = buf_str(m, m->off_method);
	out->target = buf_str(m, m->off_path);
	out->status = m->status;
	out->reason = "";
	out->version = "HTTP/2";
	for (size_t i = 0; i < m->n_fld; i++) {
		m->view[i].name = field_name(m, i);
		m->view[i].value = field_value(m, i);
	}
	out->headers = m->n_fld ? m->view : NULL;
	out->n_headers = m->n_fld;
	out->n_trailers = m->in_trailers ? m->n_fld - m->trailers_from : 0;
	out->framing = m->framing;
	out->body = m->body_len ? m->body : NULL;
	out->body_len = m->body_len;
	out->body_total = m->body_total;
	out->wire_body_len = m->wire_len;
	out->coding = coding_status(m->coding);
	out->content_encoding = m->off_cenc == NO_OFF ? NULL : m->buf + m->off_cenc;
	out->event_stream = m->event_stream;
	out->ts_first_ns = m->ts_first;
	out->ts_last_ns = m->ts_last;
	out->truncated = m->truncated;
	out->body_cap = m->body_cap;
	out->incomplete = m->incomplete;
	out->decode_error = m->decode_error;
	out->error = m->decode_error ? m->error : NULL;
}

void h2m_report(struct h2_env *env, struct h2_msg *m, uint64_t ts)
{
	struct http1_message out;

	if (!m->began)
		m->ts_first = m->ts_last = ts;
	view(m, &out);
	env->cb.on_message(env->cb.ctx, &out);
	h2m_release(env, m);
	m->done = true;
}
