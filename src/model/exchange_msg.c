/* SPDX-License-Identifier: MIT */
/*
 * One HTTP message -> the JSON half of an http record (internal to
 * model/exchange.c): start line, headers and body with secrets redacted,
 * the body as text when it is UTF-8 (else base64), its sha256 taken before
 * redaction, sizes and what went wrong.
 */
#include "model/exchange_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "decode/redact.h"
#include "model/event_json.h"

/* ---- small helpers --------------------------------------------------------- */

static bool valid_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

static json_t *base64_json(const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t out_n = (n + 2) / 3 * 4;
	char *out = malloc(out_n + 1);
	size_t o = 0;
	json_t *j;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	j = json_stringn(out, o);
	free(out);
	return j;
}

static json_t *sha256_json(const uint8_t *p, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL))
		return json_null();
	for (unsigned int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return json_stringn(hex, 2 * len);
}

int64_t xmsg_wall(const struct exchange_sink *sk, uint64_t mono_ns)
{
	return mono_ns ? (int64_t)mono_ns + sk->mono_to_wall_ns : 0;
}

/* A malloc'd copy of s[0..n) with secrets replaced (or just a copy). */
static uint8_t *redacted(const struct exchange_sink *sk, const uint8_t *s, size_t n, size_t *out_n,
			 size_t *count)
{
	uint8_t *out = NULL;

	*count = 0;
	if (sk->redact) {
		if (redact_bytes(sk->redact, s, n, &out, out_n, count) != 0)
			return NULL;
		return out;
	}
	out = malloc(n + 1);
	if (!out)
		return NULL;
	if (n)
		memcpy(out, s, n);
	out[n] = 0;
	*out_n = n;
	return out;
}

/* A header value as it may be recorded. */
static json_t *header_value(const struct exchange_sink *sk, const char *name, const char *value,
			    size_t *count)
{
	uint8_t *out;
	size_t n, c = 0;
	json_t *j;

	if (!sk->redact)
		return json_bytes_string(value, strlen(value));
	if (redact_header_is_secret(name)) {
		char *v = redact_header_value(sk->redact, name, value);

		if (!v)
			return NULL;
		(*count)++;
		j = json_string(v);
		free(v);
		return j;
	}
	out = redacted(sk, (const uint8_t *)value, strlen(value), &n, &c);
	if (!out)
		return NULL;
	*count += c;
	j = json_bytes_string((const char *)out, n);
	free(out);
	return j;
}

const char *xmsg_header(const struct http1_message *m, const char *name)
{
	for (size_t i = 0; i < m->n_headers; i++)
		if (strcmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

/* ---- the two halves of an http record ------------------------------------- */

/*
 * The part of an http record that describes one message: start line
 * fields, headers, body (text when it is UTF-8, else base64), sizes and
 * what went wrong. body_out and body_len_out receive the redacted body when asked.
 */
json_t *xmsg_json(const struct exchange_sink *sk, const struct http1_message *m,
			    uint8_t **body_out, size_t *body_len_out)
{
	json_t *o = json_object(), *hdrs = json_array();
	size_t redactions = 0, n = 0, c = 0;
	uint8_t *body = NULL;

	if (!o || !hdrs)
		goto oom;
	if (m->is_request) {
		uint8_t *t = redacted(sk, (const uint8_t *)m->target, strlen(m->target), &n, &c);

		if (!t)
			goto oom;
		redactions += c;
		json_object_set_new(o, "method", json_string(m->method));
		json_object_set_new(o, "target", json_bytes_string((const char *)t, n));
		free(t);
	} else {
		json_object_set_new(o, "status", m->status ? json_integer(m->status) : json_null());
		json_object_set_new(o, "reason", json_bytes_string(m->reason, strlen(m->reason)));
	}
	for (size_t i = 0; i < m->n_headers; i++) {
		json_t *pair = json_array(), *v;

		v = header_value(sk, m->headers[i].name, m->headers[i].value, &redactions);
		if (!pair || !v || json_array_append_new(pair, json_string(m->headers[i].name)) ||
		    json_array_append_new(pair, v) || json_array_append_new(hdrs, pair)) {
			json_decref(pair);
			goto oom;
		}
	}
	json_object_set_new(o, "headers", hdrs);
	hdrs = NULL;
	json_object_set_new(o, "trailers", json_integer((json_int_t)m->n_trailers));

	body = redacted(sk, m->body ? m->body : (const uint8_t *)"", m->body_len, &n, &c);
	if (!body)
		goto oom;
	redactions += c;
	if (valid_utf8(body, n)) {
		json_object_set_new(o, "body", json_stringn((const char *)body, n));
		json_object_set_new(o, "body_encoding", json_string("utf-8"));
	} else {
		json_object_set_new(o, "body", base64_json(body, n));
		json_object_set_new(o, "body_encoding", json_string("base64"));
	}
	json_object_set_new(o, "body_len", json_integer((json_int_t)m->body_len));
	json_object_set_new(o, "body_total", json_integer((json_int_t)m->body_total));
	json_object_set_new(o, "body_sha256", sha256_json(m->body ? m->body : (const uint8_t *)"",
							  m->body_len));
	json_object_set_new(o, "content_encoding",
			    m->content_encoding ? json_string(m->content_encoding) : json_null());
	json_object_set_new(o, "decoded", json_boolean(m->coding == HTTP1_CODING_DECODED));
	json_object_set_new(o, "truncated", json_boolean(m->truncated));
	json_object_set_new(o, "incomplete", json_boolean(m->incomplete));
	json_object_set_new(o, "resynced", json_boolean(m->resynced));
	json_object_set_new(o, "error", m->decode_error && m->error ? json_string(m->error)
								     : json_null());
	json_object_set_new(o, "redactions", json_integer((json_int_t)redactions));
	json_object_set_new(o, "ts_first_ns", json_integer(xmsg_wall(sk, m->ts_first_ns)));
	json_object_set_new(o, "ts_last_ns", json_integer(xmsg_wall(sk, m->ts_last_ns)));
	if (body_out) {
		*body_out = body;
		*body_len_out = n;
	} else {
		free(body);
	}
	return o;
oom:
	free(body);
	json_decref(hdrs);
	json_decref(o);
	return NULL;
}

