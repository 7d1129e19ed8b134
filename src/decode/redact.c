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
 * and must lead to the same decisions (idempotence).
 */
#include "decode/redact.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

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

/* ---- byte classes ---------------------------------------------------------- */

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

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(uint8_t c)
{
	return is_digit(c) || is_letter(c);
}

static bool is_hex(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* c is one of the bytes of set (never true for NUL, unlike strchr) */
static bool one_of(const char *set, uint8_t c)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* The punctuation of CL_CRED. (Switches, not strchr: this is per byte.) */
static bool is_cred_punct(uint8_t c)
{
	switch (c) {
	case '.': case '_': case '~': case '+': case '/': case '=': case '-':
		return true;
	default:
		return false;
	}
}

/* What ends an unquoted value (CL_VALUE), besides blanks and controls. */
static bool is_value_delim(uint8_t c)
{
	switch (c) {
	case '"': case '\'': case '`': case ',': case ';': case '&': case '(': case ')':
	case '[': case ']': case '{': case '}': case '<': case '>': case '\\':
		return true;
	default:
		return false;
	}
}

static bool in_class(uint8_t c, enum cls k)
{
	switch (k) {
	case CL_ALNUM:
		return is_alnum(c);
	case CL_UPNUM:
		return is_digit(c) || (c >= 'A' && c <= 'Z');
	case CL_B64URL:
		return is_alnum(c) || c == '_' || c == '-';
	case CL_UNDER:
		return is_alnum(c) || c == '_';
	case CL_SLACK:
		return is_alnum(c) || c == '-';
	case CL_CRED:
		return is_alnum(c) || is_cred_punct(c);
	case CL_IDENT:
		return is_alnum(c) || c == '_' || c == '.' || c == '-';
	case CL_USERINFO:
		return is_alnum(c) || one_of("._~%!$&*+,;=-", c);
	case CL_VALUE:
		return c > ' ' && c != 0x7f && !is_value_delim(c);
	}
	return false;
}

/* ---- the scanner ----------------------------------------------------------- */

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
	const struct redact_ctx *r;
	const uint8_t *in;
	size_t n;
	size_t floor; /* end of the last span: nothing before it is looked at */
	struct out out;
	size_t count;
	struct run value_run, cred_run;
};

struct span {
	size_t start, end;
};

/* in[i..] starts with lit. A loop, not memcmp: most calls fail at the first byte. */
static bool at(const struct scan *s, size_t i, const char *lit)
{
	for (; *lit; lit++, i++)
		if (i >= s->n || s->in[i] != (uint8_t)*lit)
			return false;
	return true;
}

/* ... ignoring the case of ASCII letters; lit is lower case */
static bool at_nocase(const struct scan *s, size_t i, const char *lit)
{
	for (; *lit; lit++, i++) {
		uint8_t c;

		if (i >= s->n)
			return false;
		c = s->in[i];
		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (uint8_t)*lit)
			return false;
	}
	return true;
}

/* A PEM block starts at i: every span stops before one. */
static bool pem_at(const struct scan *s, size_t i)
{
	return s->in[i] == '-' && at(s, i, "-----BEGIN");
}

/* End of the run of class k from i, stopping before a PEM block. */
static size_t run_end(const struct scan *s, size_t i, enum cls k)
{
	while (i < s->n && in_class(s->in[i], k) && !pem_at(s, i))
		i++;
	return i;
}

/* The run of class k that contains i, from the memo when i is inside it. */
static const struct run *run_at(struct scan *s, struct run *m, size_t i, enum cls k)
{
	size_t j;

	if (m->cls == k && i >= m->start && i < m->end)
		return m;
	memset(m, 0, sizeof(*m));
	m->cls = k;
	m->start = i;
	for (j = i; j < s->n && in_class(s->in[j], k) && !pem_at(s, j); j++) {
		uint8_t c = s->in[j];

		if (is_digit(c))
			m->digit = j + 1;
		if (is_letter(c))
			m->letter = j + 1;
		if (!is_letter(c) && c != '_' && c != '.')
			m->nonident = j + 1;
		if (!in_class(c, CL_CRED))
			m->noncred = j + 1;
		if (c == '=')
			m->eq = j + 1;
	}
	m->end = j;
	return m;
}

/* [i, run end) looks like a credential (see redact.h). */
static bool cred_like(const struct run *m, size_t i)
{
	size_t len = m->end - i;

	return len >= CRED_MIN && m->noncred <= i && m->letter > i &&
	       (m->digit > i || len >= CRED_NO_DIGIT);
}

/* p[0..n) starts with a whole tag: a value already redacted (see value_secret). */
static bool starts_with_tag(const uint8_t *p, size_t n)
{
	if (n < REDACT_TAG_LEN || memcmp(p, TAG_PREFIX, TAG_PREFIX_LEN) != 0 ||
	    p[REDACT_TAG_LEN - 1] != ']')
		return false;
	for (size_t i = TAG_PREFIX_LEN; i < REDACT_TAG_LEN - 1; i++)
		if (!is_digit(p[i]) && !(p[i] >= 'a' && p[i] <= 'f'))
			return false;
	return true;
}

/*
 * The byte at i is the second of an escape: an odd number of backslashes
 * precede it. A span never starts there ("\" + tag breaks JSON). The run
 * is counted back to floor only; it belongs to i alone, so this is linear.
 */
static bool escaped_at(const struct scan *s, size_t i)
{
	size_t k = i;

	while (k > s->floor && s->in[k - 1] == '\\')
		k--;
	return (i - k) % 2 == 1;
}

/*
 * A token of class k may start at i: nothing before it that could belong
 * to it, or a JSON escape just ended ("\nAKIA...", "\u00e9AKIA..."); and
 * i is not itself escaped.
 */
static bool boundary(const struct scan *s, size_t i, enum cls k)
{
	uint8_t prev;

	if (i <= s->floor)
		return true;
	prev = s->in[i - 1];
	if (prev == '\\')
		return !escaped_at(s, i);
	if (!in_class(prev, k) && !is_alnum(prev))
		return true;
	if (i >= s->floor + 2 && s->in[i - 2] == '\\' && one_of("nrtbf", prev))
		return true;
	return i >= s->floor + 6 && s->in[i - 6] == '\\' && s->in[i - 5] == 'u' &&
	       is_hex(s->in[i - 4]) && is_hex(s->in[i - 3]) && is_hex(s->in[i - 2]) &&
	       is_hex(prev);
}

/* ---- token rules ------------------------------------------------------------ */

struct prefix_rule {
	const char *prefix;
	enum cls body;
	size_t min;  /* shortest body */
	size_t exact; /* when not 0: the body has exactly this length */
	bool digit;  /* the body needs a digit and a letter */
};

static const struct prefix_rule prefix_rules[] = {
	{ "sk-", CL_B64URL, 20, 0, true },   /* OpenAI, Anthropic (sk-ant-), sk-proj- */
	{ "sk_live_", CL_ALNUM, 16, 0, false }, /* Stripe */
	{ "rk_live_", CL_ALNUM, 16, 0, false },
	{ "sk_test_", CL_ALNUM, 16, 0, false },
	{ "rk_test_", CL_ALNUM, 16, 0, false },
	{ "AKIA", CL_UPNUM, 16, 16, false },  /* AWS access key ids */
	{ "ASIA", CL_UPNUM, 16, 16, false },
	{ "ghp_", CL_ALNUM, 30, 0, false },   /* GitHub */
	{ "gho_", CL_ALNUM, 30, 0, false },
	{ "ghu_", CL_ALNUM, 30, 0, false },
	{ "ghs_", CL_ALNUM, 30, 0, false },
	{ "ghr_", CL_ALNUM, 30, 0, false },
	{ "github_pat_", CL_UNDER, 30, 0, false },
	{ "glpat-", CL_B64URL, 20, 0, false }, /* GitLab */
	{ "xoxa-", CL_SLACK, 10, 0, false },   /* Slack */
	{ "xoxb-", CL_SLACK, 10, 0, false },
	{ "xoxp-", CL_SLACK, 10, 0, false },
	{ "xoxr-", CL_SLACK, 10, 0, false },
	{ "xoxs-", CL_SLACK, 10, 0, false },
	{ "xapp-", CL_SLACK, 10, 0, false },
	{ "AIza", CL_B64URL, 35, 0, false },   /* Google API keys */
	{ "hf_", CL_ALNUM, 30, 0, false },     /* Hugging Face */
	{ "npm_", CL_ALNUM, 36, 0, false },    /* npm */
};

static bool match_prefix_rule(const struct scan *s, size_t i, const struct prefix_rule *pr,
			      struct span *sp)
{
	size_t plen = strlen(pr->prefix), b, e;
	bool digit = false, letter = false;

	if (!at(s, i, pr->prefix) || !boundary(s, i, pr->body))
		return false;
	b = i + plen;
	for (e = b; e < s->n && in_class(s->in[e], pr->body) && !pem_at(s, e); e++) {
		digit |= is_digit(s->in[e]);
		letter |= is_letter(s->in[e]);
	}
	if (pr->exact ? e - b != pr->exact || (e < s->n && is_alnum(s->in[e])) : e - b < pr->min)
		return false;
	if (pr->digit && !(digit && letter))
		return false;
	sp->start = i;
	sp->end = e;
	return true;
}

static bool match_prefix(const struct scan *s, size_t i, struct span *sp)
{
	switch (s->in[i]) {
	case 's': case 'r': case 'A': case 'g': case 'x': case 'h': case 'n':
		break;
	default:
		return false; /* no prefix starts so */
	}
	for (size_t k = 0; k < sizeof(prefix_rules) / sizeof(prefix_rules[0]); k++)
		if (prefix_rules[k].prefix[0] == (char)s->in[i] &&
		    match_prefix_rule(s, i, &prefix_rules[k], sp))
			return true;
	return false;
}

/* eyJ<b64url>.eyJ<b64url>.<b64url> */
static bool match_jwt(const struct scan *s, size_t i, struct span *sp)
{
	size_t e1, e2;

	if (!at(s, i, "eyJ") || !boundary(s, i, CL_B64URL))
		return false;
	e1 = run_end(s, i, CL_B64URL);
	if (e1 - i < 10 || !at(s, e1, ".eyJ"))
		return false;
	e2 = run_end(s, e1 + 1, CL_B64URL);
	if (e2 - (e1 + 1) < 10 || !at(s, e2, "."))
		return false;
	sp->start = i;
	sp->end = run_end(s, e2 + 1, CL_B64URL);
	return true;
}

static bool match_bearer(struct scan *s, size_t i, struct span *sp)
{
	const struct run *m;
	size_t t = i + 6;

	if (!at_nocase(s, i, "bearer") || !boundary(s, i, CL_ALNUM))
		return false;
	if (t >= s->n || !is_blank(s->in[t]))
		return false;
	while (t < s->n && is_blank(s->in[t]))
		t++;
	if (t >= s->n || !in_class(s->in[t], CL_CRED))
		return false;
	m = run_at(s, &s->cred_run, t, CL_CRED);
	if (!cred_like(m, t))
		return false;
	sp->start = t;
	sp->end = m->end;
	return true;
}

/* ---- structural rules ------------------------------------------------------- */

/* "-----BEGIN <label with PRIVATE KEY>-----" ... "-----END <label>-----" */
static bool match_pem(const struct scan *s, size_t i, struct span *sp)
{
	size_t j = i + 11, k;

	if (!at(s, i, "-----BEGIN ") || escaped_at(s, i))
		return false;
	while (j < s->n && j - (i + 11) < PEM_LABEL_MAX &&
	       ((s->in[j] >= 'A' && s->in[j] <= 'Z') || is_digit(s->in[j]) || s->in[j] == ' '))
		j++;
	if (!at(s, j, "-----") ||
	    !memmem(s->in + i + 11, j - (i + 11), "PRIVATE KEY", 11))
		return false;
	/* to the END line, or the end of the JSON string, or of the input */
	for (k = j + 5; k < s->n;) {
		uint8_t c = s->in[k];

		if (c == '"')
			break;
		if (c == '\\') {
			if (k + 1 < s->n && s->in[k + 1] == '"')
				break;
			k += 2;
			continue;
		}
		if (c == '-' && at(s, k, "-----END")) {
			for (size_t m = k + 8; m < s->n && m < k + 8 + PEM_LABEL_MAX + 5; m++) {
				if (at(s, m, "-----")) {
					sp->start = i;
					sp->end = m + 5;
					return true;
				}
			}
		}
		k++;
	}
	sp->start = i;
	sp->end = k < s->n ? k : s->n;
	return true;
}

/* scheme://user:password@ (also :\/\/ inside JSON): user:password */
static bool match_url(const struct scan *s, size_t i, struct span *sp)
{
	size_t u, k, m;

	if (at(s, i, "://"))
		u = i + 3;
	else if (at(s, i, ":\\/\\/"))
		u = i + 5;
	else
		return false;
	for (k = u; k < s->n && k - u < USERINFO_MAX && in_class(s->in[k], CL_USERINFO); k++)
		;
	if (k >= s->n || s->in[k] != ':')
		return false;
	for (m = k + 1; m < s->n && m - (k + 1) < USERINFO_MAX && in_class(s->in[m], CL_USERINFO);
	     m++)
		;
	if (m == k + 1 || m >= s->n || s->in[m] != '@')
		return false;
	sp->start = u;
	sp->end = m;
	return true;
}

/* ---- assignments ------------------------------------------------------------ */

enum name_kind {
	NAME_NONE,
	NAME_SECRET,  /* any value of VALUE_MIN bytes */
	NAME_WEAK,    /* a credential-like value */
	NAME_AUTH,    /* authorization: scheme kept */
	NAME_COOKIE,  /* cookie: the rest of the line */
};

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

static enum name_kind name_kind(const char *name, size_t n)
{
	static const char *const secret[] = {
		"password", "passwd", "passphrase", "secret", "secretkey", "secretaccesskey",
		"privatekey", "apikey", "accesstoken", "refreshtoken", "authtoken",
		"sessiontoken", "idtoken", "apitoken", "bearertoken",
	};
	static const char *const weak[] = { "token", "auth", "credential", "credentials" };

	if ((n == 13 && memcmp(name, "authorization", 13) == 0) ||
	    (n == 18 && memcmp(name, "proxyauthorization", 18) == 0))
		return NAME_AUTH;
	if ((n == 6 && memcmp(name, "cookie", 6) == 0) ||
	    (n == 9 && memcmp(name, "setcookie", 9) == 0))
		return NAME_COOKIE;
	for (size_t k = 0; k < sizeof(secret) / sizeof(secret[0]); k++)
		if (ends_with(name, n, secret[k]))
			return NAME_SECRET;
	for (size_t k = 0; k < sizeof(weak) / sizeof(weak[0]); k++)
		if (ends_with(name, n, weak[k]))
			return NAME_WEAK;
	return NAME_NONE;
}

/*
 * The name before the separator at i, normalised (lower case, no '_', '-'
 * or '.'), looking back at most a few bytes and never before floor.
 */
static enum name_kind name_before(const struct scan *s, size_t i)
{
	char norm[NAME_MAX_LOOKBACK];
	size_t k = i, e, len = 0;

	while (k > s->floor && i - k < BLANK_MAX_LOOKBACK && is_blank(s->in[k - 1]))
		k--;
	if (k > s->floor && (s->in[k - 1] == '"' || s->in[k - 1] == '\'')) {
		k--;
		if (k > s->floor && s->in[k - 1] == '\\')
			k--;
	}
	e = k;
	while (k > s->floor && e - k < NAME_MAX_LOOKBACK && in_class(s->in[k - 1], CL_IDENT))
		k--;
	for (; k < e; k++) {
		uint8_t c = s->in[k];

		if (c == '_' || c == '-' || c == '.')
			continue;
		norm[len++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	return len ? name_kind(norm, len) : NAME_NONE;
}

enum quote { Q_NONE, Q_DOUBLE, Q_SINGLE, Q_ESCAPED };

/*
 * End of a quoted value from v: its closing quote, or the end of the
 * enclosing JSON string, or of the input. Steps over escapes whole, so
 * the end is never inside one. A PEM block inside is part of the value.
 */
static size_t quoted_end(const struct scan *s, size_t v, enum quote q)
{
	while (v < s->n) {
		uint8_t c = s->in[v];
		bool inner;

		if (c == '"' || (q == Q_SINGLE && c == '\''))
			return v;
		if (c != '\\') {
			v++;
			continue;
		}
		if (q == Q_ESCAPED && v + 1 < s->n && s->in[v + 1] == '"')
			return v;
		/*
		 * In a \"-quoted string, \\ is a backslash of the inner text:
		 * it escapes the next unit (\\\" is a quote inside the value).
		 * A bare quote still ends the outer string.
		 */
		inner = q == Q_ESCAPED && v + 1 < s->n && s->in[v + 1] == '\\';
		v += 2;
		if (inner && v < s->n && s->in[v] != '"')
			v += s->in[v] == '\\' ? 2 : 1;
	}
	return s->n;
}

/*
 * A header-like value (authorization, cookie) ends at v: at the end of the
 * line, of the quoted string, or of the input; a JSON-escaped \n or \r
 * ends the line too, and so does a quote of either kind (curl -H '...').
 */
static bool line_ends_at(const struct scan *s, size_t v)
{
	uint8_t c;

	if (v >= s->n)
		return true;
	c = s->in[v];
	return c == '"' || c == '\'' || c == '\n' || c == '\r' ||
	       (c == '\\' && v + 1 < s->n && one_of("\"nr", s->in[v + 1]));
}

/*
 * Where a header-like value from v ends. Steps over escapes whole. Stops
 * before a PEM block too, and before a tag: where a first pass stopped at
 * a PEM block, the second one finds its tag and must stop as well.
 */
static size_t line_end(const struct scan *s, size_t v)
{
	while (!line_ends_at(s, v) && !pem_at(s, v) &&
	       !(s->in[v] == '[' && starts_with_tag(s->in + v, s->n - v)))
		v += s->in[v] == '\\' ? 2 : 1;
	return v < s->n ? v : s->n;
}

static size_t trim_blanks(const struct scan *s, size_t b, size_t e)
{
	while (e > b && is_blank(s->in[e - 1]))
		e--;
	return e;
}

/* An unquoted value that reads like code: $VAR, f(...), a[...], an identifier. */
static bool looks_like_code(const struct scan *s, const struct run *m, size_t v)
{
	uint8_t next = m->end < s->n ? s->in[m->end] : 0;

	return s->in[v] == '$' || next == '(' || next == '[' || m->nonident <= v;
}

static bool value_secret(struct scan *s, size_t v, enum quote q, struct span *sp)
{
	size_t e;

	if (q == Q_NONE) {
		const struct run *m = run_at(s, &s->value_run, v, CL_VALUE);

		if (m->end - v < VALUE_MIN || looks_like_code(s, m, v))
			return false;
		e = m->end;
	} else {
		/*
		 * A value that starts with a PEM block is left to the PEM rule,
		 * so that the key gets the same tag wherever it is; one that
		 * starts with a tag was redacted already (what followed the
		 * PEM block in it, say, is kept: idempotence).
		 */
		if (pem_at(s, v) || starts_with_tag(s->in + v, s->n - v))
			return false;
		/* a short string is found short after a few bytes; a long one is consumed */
		e = quoted_end(s, v, q);
		if (e - v < VALUE_MIN)
			return false;
	}
	sp->start = v;
	sp->end = e;
	return true;
}

static bool value_weak(struct scan *s, size_t v, enum quote q, struct span *sp)
{
	const struct run *m = run_at(s, &s->value_run, v, CL_VALUE);
	size_t e = m->end;

	if (!cred_like(m, v))
		return false;
	if (q == Q_NONE && looks_like_code(s, m, v))
		return false;
	/* quoted: the credential must fill the string */
	if (q != Q_NONE && e < s->n &&
	    !(q == Q_DOUBLE && s->in[e] == '"') && !(q == Q_SINGLE && s->in[e] == '\'') &&
	    !(q == Q_ESCAPED && s->in[e] == '\\' && e + 1 < s->n && s->in[e + 1] == '"'))
		return false;
	sp->start = v;
	sp->end = e;
	return true;
}

static bool known_scheme(const uint8_t *p, size_t n)
{
	static const char *const schemes[] = {
		"bearer", "basic", "digest", "token", "bot", "oauth", "negotiate", "ntlm",
		"apikey", "key", "ssws", "dpop", "aws4-hmac-sha256",
	};

	for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++)
		if (strlen(schemes[k]) == n && strncasecmp((const char *)p, schemes[k], n) == 0)
			return true;
	return false;
}

static bool value_auth(struct scan *s, size_t v, enum quote q, struct span *sp)
{
	const struct run *m;
	size_t w = v, c, e;

	while (w < s->n && w - v <= SCHEME_MAX && (is_alnum(s->in[w]) || s->in[w] == '-'))
		w++;
	if (w < s->n && is_blank(s->in[w]) && known_scheme(s->in + v, w - v)) {
		for (c = w; c < s->n && is_blank(s->in[c]); c++)
			;
		if (starts_with_tag(s->in + c, s->n - c))
			return false; /* redacted already */
		e = trim_blanks(s, c, line_end(s, c));
		if (e == c)
			return false;
		sp->start = c;
		sp->end = e;
		return true;
	}
	/*
	 * No scheme: only a lone credential, not a sentence. What follows it
	 * must end the line for real: a PEM block there (a tag, on a second
	 * pass) does not, so both passes agree.
	 */
	m = run_at(s, &s->cred_run, v, CL_CRED);
	e = m->end;
	while (e < s->n && is_blank(s->in[e]))
		e++;
	if (!cred_like(m, v) || !line_ends_at(s, e))
		return false;
	sp->start = v;
	sp->end = m->end;
	return true;
}

static bool value_cookie(struct scan *s, size_t v, enum quote q, struct span *sp)
{
	const struct run *m = run_at(s, &s->value_run, v, CL_VALUE);
	size_t e;

	if (m->eq <= v) /* "name=value" or it is not a cookie */
		return false;
	e = trim_blanks(s, v, line_end(s, v));
	if (e - v < VALUE_MIN)
		return false;
	sp->start = v;
	sp->end = e;
	return true;
}

/* name [quote] blanks (':' | '=') ['=' | '>'] blanks value */
static bool match_assign(struct scan *s, size_t i, struct span *sp)
{
	enum name_kind kind = name_before(s, i);
	enum quote q = Q_NONE;
	size_t v = i + 1;

	if (kind == NAME_NONE)
		return false;
	if (v < s->n && (s->in[v] == '=' || s->in[v] == '>'))
		v++;
	while (v < s->n && is_blank(s->in[v]))
		v++;
	if (v >= s->n)
		return false;
	if (s->in[v] == '"') {
		q = Q_DOUBLE;
		v++;
	} else if (s->in[v] == '\'') {
		q = Q_SINGLE;
		v++;
	} else if (s->in[v] == '\\' && v + 1 < s->n && s->in[v + 1] == '"') {
		q = Q_ESCAPED;
		v += 2;
	}
	if (v >= s->n)
		return false;
	switch (kind) {
	case NAME_SECRET:
		return value_secret(s, v, q, sp);
	case NAME_WEAK:
		return value_weak(s, v, q, sp);
	case NAME_AUTH:
		return value_auth(s, v, q, sp);
	case NAME_COOKIE:
		return value_cookie(s, v, q, sp);
	case NAME_NONE:
		break;
	}
	return false;
}

/* ---- the scan ------------------------------------------------------------- */

static bool match_at(struct scan *s, size_t i, struct span *sp)
{
	switch (s->in[i]) {
	case '-':
		return match_pem(s, i, sp);
	case ':':
		return match_url(s, i, sp) || match_assign(s, i, sp);
	case '=':
		return match_assign(s, i, sp);
	case 'e':
		return match_jwt(s, i, sp);
	case 'B':
	case 'b':
		return match_bearer(s, i, sp);
	default:
		return match_prefix(s, i, sp);
	}
}

static int scan_all(struct scan *s)
{
	size_t i = 0;
	int rc;

	while (i < s->n) {
		struct span sp;

		if (!match_at(s, i, &sp)) {
			i++;
			continue;
		}
		rc = out_put(&s->out, s->in + s->floor, sp.start - s->floor);
		if (rc == 0)
			rc = out_tag(&s->out, s->r, s->in + sp.start, sp.end - sp.start);
		if (rc < 0)
			return rc;
		s->count++;
		s->floor = i = sp.end;
	}
	return out_put(&s->out, s->in + s->floor, s->n - s->floor);
}

int redact_bytes(const struct redact_ctx *r, const uint8_t *in, size_t n, uint8_t **out,
		 size_t *out_n, size_t *count)
{
	struct scan s;
	int rc;

	if (out)
		*out = NULL;
	if (!r || (!in && n) || !out || !out_n)
		return -EINVAL;
	if (n == SIZE_MAX)
		return -ENOMEM;
	memset(&s, 0, sizeof(s));
	s.r = r;
	s.in = in;
	s.n = n;
	s.value_run.cls = s.cred_run.cls = CL_VALUE; /* empty memos: start == end */
	s.out.cap = n + 1; /* mostly nothing is found: one allocation */
	s.out.p = malloc(s.out.cap);
	if (!s.out.p)
		return -ENOMEM;
	rc = scan_all(&s);
	if (rc < 0) {
		free(s.out.p);
		return rc;
	}
	*out = s.out.p;
	*out_n = s.out.len;
	if (count)
		*count = s.count;
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
