/* SPDX-License-Identifier: MIT */
/*
 * Redaction of secrets; see redact.h for the catalogue and the rules.
 *
 * The body scanner is one left-to-right pass. At each position a switch on
 * the byte picks the rules that can start there; the first that matches
 * gives a span [start, end), which is replaced by its tag, and the scan
 * goes on at end. Everything before `floor` (the end of the last span) is
 * already written out: rules never look behind it, and treat it like the
 * start of the input, because on a second pass a tag's ']' stands there
 * and must lead to the same decisions (idempotence). The rules are in
 * redact_rules.c; the pass that writes the output is here.
 */
#include "decode/redact.h"
#include "decode/redact_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

struct redact_ctx {
	EVP_MAC *mac;
	EVP_MAC_CTX *base; /* keyed, never updated itself: duplicated for each tag */
};

/* ---- the key and the tags ------------------------------------------------ */

struct redact_ctx *redact_ctx_new(const uint8_t *key, size_t keylen)
{
	struct redact_ctx *r;
	OSSL_PARAM params[2];

	if (!key || keylen < REDACT_KEY_MIN) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	r->base = r->mac ? EVP_MAC_CTX_new(r->mac) : NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!r->base || EVP_MAC_init(r->base, key, keylen, params) != 1) {
		redact_ctx_free(r);
		errno = EIO;
		return NULL;
	}
	return r;
}

struct redact_ctx *redact_ctx_new_random(void)
{
	uint8_t key[REDACT_KEY_LEN];
	struct redact_ctx *r;
	size_t got = 0;
	int saved;

	while (got < sizeof(key)) {
		ssize_t k = getrandom(key + got, sizeof(key) - got, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			saved = k < 0 ? errno : EIO;
			OPENSSL_cleanse(key, sizeof(key));
			errno = saved;
			return NULL;
		}
		got += (size_t)k;
	}
	r = redact_ctx_new(key, sizeof(key));
	saved = errno;
	OPENSSL_cleanse(key, sizeof(key));
	errno = saved;
	return r;
}

void redact_ctx_free(struct redact_ctx *r)
{
	if (!r)
		return;
	EVP_MAC_CTX_free(r->base);
	EVP_MAC_free(r->mac);
	free(r);
}

/* The byte a one-character JSON escape stands for, or 0. */
static uint8_t json_unescape(uint8_t c)
{
	switch (c) {
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'b': return '\b';
	case 'f': return '\f';
	case '"': return '"';
	case '/': return '/';
	case '\\': return '\\';
	default: return 0;
	}
}

/* Feeds secret[0..n) to the MAC with its one-character JSON escapes decoded. */
static int mac_unescaped(EVP_MAC_CTX *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		const uint8_t *bs = memchr(p, '\\', n);
		size_t plain = bs ? (size_t)(bs - p) : n;
		uint8_t ch;

		if (plain > 0 && EVP_MAC_update(c, p, plain) != 1)
			return -EIO;
		p += plain;
		n -= plain;
		if (n == 0)
			break;
		ch = n >= 2 ? json_unescape(p[1]) : 0;
		if (ch) {
			if (EVP_MAC_update(c, &ch, 1) != 1)
				return -EIO;
			p += 2;
			n -= 2;
		} else {
			if (EVP_MAC_update(c, p, 1) != 1) /* a lone or unknown escape: as is */
				return -EIO;
			p++;
			n--;
		}
	}
	return 0;
}

int redact_tag(const struct redact_ctx *r, const uint8_t *secret, size_t n,
	       char out[REDACT_TAG_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	EVP_MAC_CTX *c;
	int rc = -EIO;

	out[0] = '\0';
	if (!r)
		return -EINVAL;
	c = EVP_MAC_CTX_dup(r->base);
	if (!c)
		return -EIO;
	if (mac_unescaped(c, secret, n) == 0 && EVP_MAC_final(c, md, &mdlen, sizeof(md)) == 1 &&
	    mdlen * 2 >= REDACT_TAG_HEX) {
		memcpy(out, TAG_PREFIX, TAG_PREFIX_LEN);
		for (size_t i = 0; i < REDACT_TAG_HEX; i++)
			out[TAG_PREFIX_LEN + i] = hex[(md[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
		out[REDACT_TAG_LEN - 1] = ']';
		out[REDACT_TAG_LEN] = '\0';
		rc = 0;
	}
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MAC_CTX_free(c);
	return rc;
}

/* ---- output buffer ------------------------------------------------------- */

struct out {
	uint8_t *p;
	size_t len, cap;
};

static int out_put(struct out *o, const void *p, size_t n)
{
	if (n > o->cap - o->len) {
		size_t cap = o->cap ? o->cap : 64;
		uint8_t *np;

		while (cap - o->len < n) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		np = realloc(o->p, cap);
		if (!np)
			return -ENOMEM;
		o->p = np;
		o->cap = cap;
	}
	if (n > 0)
		memcpy(o->p + o->len, p, n);
	o->len += n;
	return 0;
}

static int out_tag(struct out *o, const struct redact_ctx *r, const uint8_t *secret, size_t n)
{
	char tag[REDACT_TAG_LEN + 1];
	int rc = redact_tag(r, secret, n, tag);

	return rc < 0 ? rc : out_put(o, tag, REDACT_TAG_LEN);
}

/* ---- the pass ------------------------------------------------------------ */

/* One left-to-right pass: the scanner's state, and what it writes. */
struct pass {
	struct scan s;
	const struct redact_ctx *r;
	struct out out;
	size_t count;
};

static int scan_all(struct pass *p)
{
	struct scan *s = &p->s;
	struct span sp;
	size_t i = 0;
	int rc;

	while (redact_next(s, i, &sp)) {
		rc = out_put(&p->out, s->in + s->floor, sp.start - s->floor);
		if (rc == 0)
			rc = out_tag(&p->out, p->r, s->in + sp.start, sp.end - sp.start);
		if (rc < 0)
			return rc;
		p->count++;
		s->floor = i = sp.end;
	}
	return out_put(&p->out, s->in + s->floor, s->n - s->floor);
}

int redact_bytes(const struct redact_ctx *r, const uint8_t *in, size_t n, uint8_t **out,
		 size_t *out_n, size_t *count)
{
	struct pass p;
	int rc;

	if (out)
		*out = NULL;
	if (!r || (!in && n) || !out || !out_n)
		return -EINVAL;
	if (n == SIZE_MAX)
		return -ENOMEM;
	memset(&p, 0, sizeof(p));
	p.r = r;
	p.s.in = in;
	p.s.n = n;
	p.s.value_run.cls = p.s.cred_run.cls = CL_VALUE; /* empty memos: start == end */
	p.out.cap = n + 1; /* mostly nothing is found: one allocation */
	p.out.p = malloc(p.out.cap);
	if (!p.out.p)
		return -ENOMEM;
	rc = scan_all(&p);
	if (rc < 0) {
		free(p.out.p);
		return rc;
	}
	*out = p.out.p;
	*out_n = p.out.len;
	if (count)
		*count = p.count;
	return 0;
}

/* ---- headers ------------------------------------------------------------- */

bool redact_header_is_secret(const char *name)
{
	static const char *const exact[] = {
		"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
		"api-key", "x-goog-api-key", "x-auth-token", "private-token",
		"x-amz-security-token",
	};
	static const char *const nonces[] = { "idempotency-key", "x-idempotency-key",
					      "sec-websocket-key" };
	static const char *const suffixes[] = { "token", "secret", "password", "passwd",
						"apikey", "-key", "-credential", "-credentials" };
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	for (size_t k = 0; k < sizeof(exact) / sizeof(exact[0]); k++)
		if (strcmp(name, exact[k]) == 0)
			return true;
	for (size_t k = 0; k < sizeof(nonces) / sizeof(nonces[0]); k++)
		if (strcmp(name, nonces[k]) == 0)
			return false;
	for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++)
		if (ends_with(name, n, suffixes[k]))
			return true;
	return false;
}

static char *out_string(struct out *o, int rc)
{
	if (rc == 0)
		rc = out_put(o, "", 1);
	if (rc < 0) {
		free(o->p);
		errno = -rc;
		return NULL;
	}
	return (char *)o->p;
}

/* "name=value": the value replaced, the name kept; no '=': all of it. */
static int cookie_pair(struct out *o, const struct redact_ctx *r, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	size_t keep = eq ? (size_t)(eq - p) + 1 : 0;
	int rc;

	while (keep < n && p[keep] == ' ' && !eq)
		keep++; /* leading blanks of a pair without '=' */
	rc = out_put(o, p, keep);
	if (rc == 0 && keep < n)
		rc = out_tag(o, r, (const uint8_t *)p + keep, n - keep);
	return rc;
}

static char *header_cookie(const struct redact_ctx *r, const char *value, bool set_cookie)
{
	struct out o = { NULL, 0, 0 };
	const char *p = value;
	int rc = 0;

	while (rc == 0 && *p) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);

		rc = cookie_pair(&o, r, p, len);
		if (rc == 0 && semi && set_cookie) { /* attributes: kept */
			rc = out_put(&o, semi, strlen(semi));
			break;
		}
		if (rc == 0 && semi)
			rc = out_put(&o, ";", 1);
		p = semi ? semi + 1 : p + len;
	}
	return out_string(&o, rc);
}

static char *header_authorization(const struct redact_ctx *r, const char *value)
{
	struct out o = { NULL, 0, 0 };
	const char *sp = strchr(value, ' ');
	size_t keep = 0;
	int rc;

	if (sp) {
		keep = (size_t)(sp - value);
		while (value[keep] == ' ')
			keep++;
	}
	rc = out_put(&o, value, keep);
	if (rc == 0 && value[keep])
		rc = out_tag(&o, r, (const uint8_t *)value + keep, strlen(value + keep));
	return out_string(&o, rc);
}

char *redact_header_value(const struct redact_ctx *r, const char *name, const char *value)
{
	struct out o = { NULL, 0, 0 };
	size_t n, count;
	uint8_t *red;
	int rc;

	if (!r || !name || !value) {
		errno = EINVAL;
		return NULL;
	}
	n = strlen(value);
	if (n == 0 || !redact_header_is_secret(name)) {
		rc = redact_bytes(r, (const uint8_t *)value, n, &red, &n, &count);
		if (rc < 0) {
			errno = -rc;
			return NULL;
		}
		o.p = red;
		o.len = o.cap = n;
		return out_string(&o, 0);
	}
	if (strcmp(name, "authorization") == 0 || strcmp(name, "proxy-authorization") == 0)
		return header_authorization(r, value);
	if (strcmp(name, "cookie") == 0 || strcmp(name, "set-cookie") == 0)
		return header_cookie(r, value, name[0] == 's');
	return out_string(&o, out_tag(&o, r, (const uint8_t *)value, n));
}
