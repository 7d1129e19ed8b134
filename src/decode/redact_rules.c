/* SPDX-License-Identifier: MIT */
/*
 * The redactor's rules (redact.h has the catalogue): at a position of the
 * input, does a secret start there, and where does it end. Byte classes,
 * token rules (known prefixes, JWTs, bearer tokens), structural rules (PEM
 * blocks, credentials in URLs) and assignments (name = value, headers,
 * cookies). The pass that writes the output is redact.c's.
 */
#include "decode/redact_int.h"

#include <string.h>
#include <strings.h>

#include "decode/redact.h"

/* ---- byte classes ---------------------------------------------------------- */


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

/* The loop over positions stays here, with match_at() inlined into it:
 * a call per input byte across files would cost more than most rules. */
bool redact_next(struct scan *s, size_t i, struct span *sp)
{
	for (; i < s->n; i++)
		if (match_at(s, i, sp))
			return true;
	return false;
}
