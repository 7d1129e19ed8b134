/* SPDX-License-Identifier: MIT */
/*
 * Matching against the checked policy form: path globs, command patterns,
 * endpoint patterns, label DNFs.
 *
 * Globs are matched without recursion and without allocation. Within a
 * path component (or a whole command word), '*' is handled with the usual
 * two-pointer backtracking: on a mismatch, go back to just after the last
 * '*' and let it swallow one more character. Only the last '*' needs to be
 * remembered because everything between two stars matches exactly one
 * character per pattern element, so the leftmost place for it is always
 * the best. The same argument holds one level up: a "**" component matches
 * any run of components and every other pattern component matches exactly
 * one, so the path matcher backtracks to the last "**" only. Both are
 * O(pattern * text) at worst, whatever the number of stars.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

/*
 * Does pattern element p[*pi] (a literal, '?', "[...]" or "\x") match
 * character ch? Sets *adv to the element's length.
 */
static bool elem_match(const char *p, size_t pn, size_t pi, unsigned char ch, size_t *adv)
{
	unsigned char c = (unsigned char)p[pi];

	*adv = 1;
	if (c == '?')
		return true;
	if (c == '\\' && pi + 1 < pn) {
		*adv = 2;
		return (unsigned char)p[pi + 1] == ch;
	}
	if (c == '[') {
		size_t j = pi + 1;
		bool neg = false, hit = false;

		if (j < pn && (p[j] == '!' || p[j] == '^')) {
			neg = true;
			j++;
		}
		size_t first = j;

		while (j < pn && (p[j] != ']' || j == first)) {
			unsigned char lo = (unsigned char)p[j], hi;

			if (lo == '\\' && j + 1 < pn)
				lo = (unsigned char)p[++j];
			j++;
			hi = lo;
			if (j + 1 < pn && p[j] == '-' && p[j + 1] != ']') {
				hi = (unsigned char)p[j + 1];
				j += 2;
				if (hi == '\\' && j < pn)
					hi = (unsigned char)p[j++];
			}
			if (lo <= ch && ch <= hi)
				hit = true;
		}
		if (j < pn) {           /* p[j] == ']' */
			*adv = j + 1 - pi;
			return hit != neg;
		}
		/* no closing ']': the '[' is an ordinary character */
	}
	return c == ch;
}

/* The whole of s[0..sn) against the whole of p[0..pn). */
static bool seg_match(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star_p = 0, star_s = 0;
	bool star = false;

	while (si < sn) {
		size_t adv;

		if (pi < pn && p[pi] == '*') {
			while (pi < pn && p[pi] == '*')
				pi++;
			star = true;
			star_p = pi;
			star_s = si;
			continue;
		}
		if (pi < pn && elem_match(p, pn, pi, (unsigned char)s[si], &adv)) {
			pi += adv;
			si++;
			continue;
		}
		if (!star)
			return false;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

bool pol_word_match(const char *pattern, const char *s)
{
	return seg_match(pattern, strlen(pattern), s, strlen(s));
}

/* The next '/'-separated component at *cur (empty ones skipped). */
static bool next_comp(const char **cur, const char **start, size_t *len)
{
	const char *c = *cur;

	while (*c == '/')
		c++;
	if (!*c)
		return false;
	*start = c;
	while (*c && *c != '/')
		c++;
	*len = (size_t)(c - *start);
	*cur = c;
	return true;
}

static bool is_globstar(const char *c, size_t n)
{
	return n == 2 && c[0] == '*' && c[1] == '*';
}

bool pol_glob_match(const char *pattern, const char *path)
{
	const char *p = pattern, *s = path;
	const char *star_p = NULL, *star_s = NULL;

	if (!pattern || !path)
		return false;
	for (;;) {
		const char *pc = NULL, *sc = NULL, *pn = p, *sn = s;
		size_t pl = 0, sl = 0;
		bool have_p = next_comp(&pn, &pc, &pl);
		bool have_s = next_comp(&sn, &sc, &sl);

		if (!have_s) {
			/* only "**" components may be left */
			while (have_p && is_globstar(pc, pl))
				have_p = next_comp(&pn, &pc, &pl);
			return !have_p;
		}
		if (have_p && is_globstar(pc, pl)) {
			p = pn;
			star_p = pn;
			star_s = s;
			continue;
		}
		if (have_p && seg_match(pc, pl, sc, sl)) {
			p = pn;
			s = sn;
			continue;
		}
		if (!star_p)
			return false;
		/* let the last "**" take one more component */
		p = star_p;
		next_comp(&star_s, &sc, &sl);
		s = star_s;
	}
}

static const char *base_name(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

bool pol_command_match(const struct pol_command *c, const char *exe,
		       char *const *argv, size_t argc)
{
	const char *w0;
	bool ok;
	size_t ai = 1;

	if (!c || c->nwords == 0)
		return false;
	w0 = c->words[0];
	if (strchr(w0, '/'))
		ok = exe && pol_glob_match(w0, exe);
	else
		ok = (exe && pol_word_match(w0, base_name(exe))) ||
		     (argv && argc > 0 && argv[0] && pol_word_match(w0, base_name(argv[0])));
	if (!ok)
		return false;
	/* the other words: a subsequence of argv[1..], in order; taking the
	 * earliest match for each word is never worse than a later one */
	for (size_t wi = 1; wi < c->nwords; wi++) {
		while (ai < argc && !(argv[ai] && pol_word_match(c->words[wi], argv[ai])))
			ai++;
		if (ai >= argc)
			return false;
		ai++;
	}
	return true;
}

static bool domain_match(const struct pol_endpoint *e, const char *domain)
{
	size_t dl, pl;

	if (!domain || !e->domain)
		return false;
	dl = strlen(domain);
	if (dl > 0 && domain[dl - 1] == '.')
		dl--;
	pl = strlen(e->domain);
	if (!e->wildcard)
		return dl == pl && strncasecmp(domain, e->domain, pl) == 0;
	/* strict subdomain: "x.example.com" for "*.example.com" */
	return dl > pl + 1 && domain[dl - pl - 1] == '.' &&
	       strncasecmp(domain + dl - pl, e->domain, pl) == 0;
}

bool pol_endpoint_match(const struct pol_endpoint *e, const uint8_t addr[16],
			uint16_t port, const char *domain)
{
	if (!e || port < e->port_lo || port > e->port_hi)
		return false;
	switch (e->kind) {
	case POL_EP_ANY:
		return true;
	case POL_EP_CIDR: {
		unsigned bits = e->prefix > 128 ? 128 : e->prefix;
		unsigned full = bits / 8, rest = bits % 8;

		if (!addr)
			return false;
		if (memcmp(addr, e->addr, full) != 0)
			return false;
		if (rest) {
			uint8_t mask = (uint8_t)(0xff << (8 - rest));

			if ((addr[full] & mask) != (e->addr[full] & mask))
				return false;
		}
		return true;
	}
	case POL_EP_DOMAIN:
		return domain_match(e, domain);
	}
	return false;
}

static bool term_holds(const struct pol_term *t, const struct pol_labelset *s)
{
	for (size_t i = 0; i < POL_MAX_LABELS / 64; i++) {
		if ((t->all.w[i] & s->w[i]) != t->all.w[i])
			return false;
		if (t->none.w[i] & s->w[i])
			return false;
	}
	return true;
}

bool pol_dnf_eval(const struct pol_dnf *d, const struct pol_labelset *s)
{
	static const struct pol_labelset empty;
	unsigned n = d->nterms > POL_MAX_TERMS ? POL_MAX_TERMS : d->nterms;

	if (!s)
		s = &empty;
	for (unsigned i = 0; i < n; i++)
		if (term_holds(&d->t[i], s))
			return true;
	return false;
}

const char *pol_op_name(unsigned op)
{
	switch (op) {
	case POL_OP_EXEC: return "exec";
	case POL_OP_OPEN: return "open";
	case POL_OP_READ: return "read";
	case POL_OP_WRITE: return "write";
	case POL_OP_UNLINK: return "unlink";
	case POL_OP_RENAME: return "rename";
	case POL_OP_CONNECT: return "connect";
	case POL_OP_SEND: return "send";
	}
	return "?";
}

const char *pol_effect_name(enum pol_effect e)
{
	switch (e) {
	case POL_BLOCK: return "block";
	case POL_KILL: return "kill";
	case POL_NOTIFY: return "notify";
	}
	return "?";
}

void pol_utf8_trim(char *s)
{
	size_t n = strlen(s), lead = n, need;

	/* back to the lead byte of the last character */
	while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead == 0 || ((unsigned char)s[lead - 1] & 0x80) == 0)
		return;   /* ASCII (or nothing but continuation bytes: not ours to fix) */
	lead--;
	need = ((unsigned char)s[lead] & 0xE0) == 0xC0 ? 2 : ((unsigned char)s[lead] & 0xF0) == 0xE0 ? 3
		: ((unsigned char)s[lead] & 0xF8) == 0xF0 ? 4 : 1;
	if (n - lead < need)
		s[lead] = '\0';
}

void pol_absolute(const char *cwd, const char *arg, char *out, size_t len)
{
	char tmp[PATH_MAX * 2 + 2];
	char *parts[512];
	size_t n = 0, o = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/%s", arg[0] == '/' ? "" : cwd, arg) >= (int)sizeof(tmp)) {
		snprintf(out, len, "/");  /* too long to be anything we protect */
		return;
	}
	for (char *save = NULL, *t = strtok_r(tmp, "/", &save); t && n < 512;
	     t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			if (n)
				n--;
			continue;
		}
		parts[n++] = t;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n && o + 2 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "/%s", parts[i]);
	if (!n)
		snprintf(out, len, "/");
	pol_utf8_trim(out);   /* cut at len: never inside a character */
}

bool pol_operands_outside(const struct pol_rule *r, const char *cwd, char *const *argv, size_t argc)
{
	char abs[PATH_MAX];

	if (!r->operands_outside.n)
		return true;
	for (size_t i = 1; i < argc; i++) {
		bool inside = false;

		if (argv[i][0] == '-' || !argv[i][0])
			continue;
		pol_absolute(cwd, argv[i], abs, sizeof(abs));
		for (size_t g = 0; !inside && g < r->operands_outside.n; g++)
			inside = pol_glob_match(r->operands_outside.v[g].pattern, abs);
		if (!inside)
			return true;
	}
	return false;
}
