/* SPDX-License-Identifier: MIT */
/*
 * Label expressions:
 *
 *     expr   := term (('or' | '||') term)*
 *     term   := factor (('and' | '&&') factor)*
 *     factor := ('not' | '!') factor | '(' expr ')' | LABEL | 'true' | 'false'
 *
 * parsed by recursive descent into a tree (depth bounded by
 * POL_EXPR_MAX_DEPTH), then put in disjunctive normal form: negations are
 * pushed to the labels (De Morgan), ANDs distributed over ORs. After each
 * step the term list is simplified, so that only what survives counts
 * against POL_MAX_TERMS.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

enum ekind { E_FALSE, E_TRUE, E_LABEL, E_NOT, E_AND, E_OR };

struct pol_expr {
	enum ekind kind;
	unsigned id;                /* E_LABEL */
	struct pol_expr **kids;     /* E_NOT: 1; E_AND, E_OR: n */
	size_t n;
};

void pol_expr_free(struct pol_expr *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		pol_expr_free(e->kids[i]);
	free(e->kids);
	free(e);
}

static struct pol_expr *mk(enum ekind k)
{
	struct pol_expr *e = calloc(1, sizeof(*e));

	if (e)
		e->kind = k;
	return e;
}

struct pol_expr *pol_expr_const(bool v)
{
	return mk(v ? E_TRUE : E_FALSE);
}

struct pol_expr *pol_expr_not(struct pol_expr *x)
{
	struct pol_expr *e;

	if (!x)
		return NULL;
	if (!(e = mk(E_NOT)) || !(e->kids = malloc(sizeof(*e->kids)))) {
		free(e);
		pol_expr_free(x);
		return NULL;
	}
	e->kids[0] = x;
	e->n = 1;
	return e;
}

struct pol_expr *pol_expr_and(struct pol_expr **v, size_t n)
{
	struct pol_expr *e = mk(E_AND);
	bool bad = !e;

	for (size_t i = 0; i < n; i++)
		if (!v[i])
			bad = true;
	if (!bad && n && !(e->kids = malloc(n * sizeof(*e->kids))))
		bad = true;
	if (bad) {
		for (size_t i = 0; i < n; i++)
			pol_expr_free(v[i]);
		if (e)
			free(e->kids);
		free(e);
		return NULL;
	}
	memcpy(e->kids, v, n * sizeof(*e->kids));
	e->n = n;
	return e;
}

/* --- parser ------------------------------------------------------------- */

enum tok { T_END, T_LP, T_RP, T_NOT, T_AND, T_OR, T_TRUE, T_FALSE, T_LABEL, T_BAD };

struct lexer {
	const char *s;
	size_t len;
	size_t pos;            /* after the current token */
	enum tok t;
	size_t tstart, tlen;   /* the current token */
	pol_label_lookup lookup;
	void *ctx;
	struct pol_expr_err *err;
	bool failed;
	unsigned depth;
};

static bool ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static void next(struct lexer *x)
{
	const char *s = x->s;

	while (x->pos < x->len && isspace((unsigned char)s[x->pos]))
		x->pos++;
	x->tstart = x->pos;
	x->tlen = 1;
	if (x->pos >= x->len) {
		x->t = T_END;
		x->tlen = 0;
		return;
	}
	switch (s[x->pos]) {
	case '(': x->t = T_LP; x->pos++; return;
	case ')': x->t = T_RP; x->pos++; return;
	case '!': x->t = T_NOT; x->pos++; return;
	case '&':
	case '|':
		if (x->pos + 1 < x->len && s[x->pos + 1] == s[x->pos]) {
			x->t = s[x->pos] == '&' ? T_AND : T_OR;
			x->tlen = 2;
			x->pos += 2;
			return;
		}
		x->t = T_BAD;
		return;
	}
	if (!ident_start(s[x->pos])) {
		x->t = T_BAD;
		return;
	}
	while (x->pos < x->len && ident_char(s[x->pos]))
		x->pos++;
	x->tlen = x->pos - x->tstart;
#define KW(w) (x->tlen == sizeof(w) - 1 && memcmp(s + x->tstart, w, x->tlen) == 0)
	x->t = KW("and") ? T_AND : KW("or") ? T_OR : KW("not") ? T_NOT : KW("true") ? T_TRUE
	       : KW("false") ? T_FALSE : T_LABEL;
#undef KW
}

static void fail(struct lexer *x, size_t off, const char *msg)
{
	if (x->failed)
		return;
	x->failed = true;
	x->err->off = off;
	snprintf(x->err->msg, sizeof(x->err->msg), "%s", msg);
}

static void fail_token(struct lexer *x, const char *what)
{
	char m[sizeof(x->err->msg)];

	if (x->t == T_END)
		snprintf(m, sizeof(m), "expected %s at the end of the expression", what);
	else
		snprintf(m, sizeof(m), "expected %s, found '%.*s'", what,
			 x->tlen > 40 ? 40 : (int)x->tlen, x->s + x->tstart);
	fail(x, x->tstart, m);
}

static struct pol_expr *parse_or(struct lexer *x);

static struct pol_expr *parse_factor(struct lexer *x)
{
	struct pol_expr *e = NULL;

	if (++x->depth > POL_EXPR_MAX_DEPTH) {
		fail(x, x->tstart, "expression nested too deeply");
		return NULL;
	}
	switch (x->t) {
	case T_NOT:
		next(x);
		e = pol_expr_not(parse_factor(x));
		break;
	case T_LP:
		next(x);
		e = parse_or(x);
		if (e && x->t != T_RP) {
			fail_token(x, "')'");
			pol_expr_free(e);
			e = NULL;
		}
		if (e)
			next(x);
		break;
	case T_TRUE:
	case T_FALSE:
		e = pol_expr_const(x->t == T_TRUE);
		next(x);
		break;
	case T_LABEL: {
		int id = x->lookup(x->ctx, x->s + x->tstart, x->tlen);

		if (id < 0) {
			char m[sizeof(x->err->msg)];

			snprintf(m, sizeof(m), "%.*s", x->tlen > 100 ? 100 : (int)x->tlen, x->s + x->tstart);
			fail(x, x->tstart, m);
			x->err->unknown_label = true;
			return NULL;
		}
		if ((e = mk(E_LABEL)))
			e->id = (unsigned)id;
		next(x);
		break;
	}
	default:
		fail_token(x, "a label, 'not', '(', 'true' or 'false'");
		break;
	}
	x->depth--;
	if (!e)
		fail(x, x->tstart, "out of memory");
	return e;
}

/* A run of `sub` separated by `op`, as one n-ary node of kind k. */
static struct pol_expr *parse_list(struct lexer *x, enum tok op, enum ekind k,
				   struct pol_expr *(*sub)(struct lexer *))
{
	struct pol_expr *first = sub(x), *e, **kids;

	if (!first || x->t != op)
		return first;
	if (!(e = mk(k)) || !(e->kids = malloc(sizeof(*e->kids) * 2))) {
		free(e);
		pol_expr_free(first);
		fail(x, x->tstart, "out of memory");
		return NULL;
	}
	e->kids[e->n++] = first;
	size_t cap = 2;

	while (x->t == op) {
		struct pol_expr *k2;

		next(x);
		if (!(k2 = sub(x))) {
			pol_expr_free(e);
			return NULL;
		}
		if (e->n == cap) {
			if (!(kids = realloc(e->kids, sizeof(*kids) * cap * 2))) {
				pol_expr_free(k2);
				pol_expr_free(e);
				fail(x, x->tstart, "out of memory");
				return NULL;
			}
			e->kids = kids;
			cap *= 2;
		}
		e->kids[e->n++] = k2;
	}
	return e;
}

static struct pol_expr *parse_and(struct lexer *x)
{
	return parse_list(x, T_AND, E_AND, parse_factor);
}

static struct pol_expr *parse_or(struct lexer *x)
{
	return parse_list(x, T_OR, E_OR, parse_and);
}

struct pol_expr *pol_expr_parse(const char *s, size_t len, pol_label_lookup lookup,
				void *ctx, struct pol_expr_err *err)
{
	struct lexer x = { .s = s, .len = len, .lookup = lookup, .ctx = ctx, .err = err };
	struct pol_expr *e;

	memset(err, 0, sizeof(*err));
	next(&x);
	if (x.t == T_END) {
		fail(&x, 0, "empty label expression");
		return NULL;
	}
	e = parse_or(&x);
	if (e && x.t != T_END) {
		fail_token(&x, "'and', 'or' or the end of the expression");
		pol_expr_free(e);
		e = NULL;
	}
	return e;
}

/* --- DNF ---------------------------------------------------------------- */

#define DNF_WORK_MAX 64       /* terms kept between steps */
#define DNF_PRODUCT_MAX 256   /* terms made by one distribution step */
#define W (POL_MAX_LABELS / 64)

struct terms {
	struct pol_term *t;
	size_t n;
	bool overflow;            /* too large to go on */
};

static bool contradictory(const struct pol_term *t)
{
	for (size_t i = 0; i < W; i++)
		if (t->all.w[i] & t->none.w[i])
			return true;
	return false;
}

static bool subset(const struct pol_labelset *a, const struct pol_labelset *b)
{
	for (size_t i = 0; i < W; i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}

static bool set_eq(const struct pol_labelset *a, const struct pol_labelset *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* a and b differ only in the sign of one label: (C ∧ x) ∨ (C ∧ ¬x) = C */
static bool merge_complements(struct pol_term *a, const struct pol_term *b)
{
	struct pol_labelset d1, d2;
	unsigned bits = 0;

	for (size_t i = 0; i < W; i++) {
		d1.w[i] = a->all.w[i] ^ b->all.w[i];
		d2.w[i] = a->none.w[i] ^ b->none.w[i];
		bits += (unsigned)__builtin_popcountll(d1.w[i]);
	}
	if (bits != 1 || !set_eq(&d1, &d2))
		return false;
	for (size_t i = 0; i < W; i++) {
		a->all.w[i] &= ~d1.w[i];
		a->none.w[i] &= ~d1.w[i];
	}
	return true;
}

/* Drop the terms marked dead. */
static void compact(struct terms *x, const bool *dead)
{
	size_t k = 0;

	for (size_t i = 0; i < x->n; i++)
		if (!dead[i])
			x->t[k++] = x->t[i];
	x->n = k;
}

static void simplify(struct terms *x)
{
	bool dead[DNF_PRODUCT_MAX];
	bool changed;

	for (size_t i = 0; i < x->n; i++)
		dead[i] = contradictory(&x->t[i]);
	compact(x, dead);
	do {
		changed = false;
		/* a term implied by another one (a superset of its literals) adds
		 * nothing; of two equal terms the first stays */
		for (size_t i = 0; i < x->n; i++) {
			dead[i] = false;
			for (size_t j = 0; j < x->n && !dead[i]; j++) {
				const struct pol_term *a = &x->t[i], *b = &x->t[j];

				if (i != j && subset(&b->all, &a->all) && subset(&b->none, &a->none) &&
				    !(j > i && set_eq(&a->all, &b->all) && set_eq(&a->none, &b->none)))
					dead[i] = true;
			}
		}
		compact(x, dead);
		for (size_t i = 0; i < x->n; i++)
			dead[i] = false;
		for (size_t i = 0; i < x->n; i++)
			for (size_t j = i + 1; j < x->n && !dead[i]; j++)
				if (!dead[j] && merge_complements(&x->t[i], &x->t[j]))
					dead[j] = changed = true;
		compact(x, dead);
	} while (changed);
}

static void terms_false(struct terms *x)
{
	x->n = 0;
}

static bool terms_true(struct terms *x)
{
	if (!(x->t = calloc(1, sizeof(*x->t))))
		return false;
	x->n = 1;
	return true;
}

static bool terms_literal(struct terms *x, unsigned id, bool neg)
{
	if (!terms_true(x))
		return false;
	pol_set_add(neg ? &x->t[0].none : &x->t[0].all, id);
	return true;
}

static bool dnf_of(const struct pol_expr *e, bool neg, struct terms *out);

/* OR of the children's DNFs. */
static bool dnf_union(const struct pol_expr *e, bool neg, struct terms *out)
{
	for (size_t i = 0; i < e->n; i++) {
		struct terms k = { 0 };
		struct pol_term *t;

		if (!dnf_of(e->kids[i], neg, &k)) {
			out->overflow |= k.overflow;
			free(k.t);
			return false;
		}
		if (out->n + k.n > DNF_PRODUCT_MAX) {
			out->overflow = true;
			free(k.t);
			return false;
		}
		if (k.n && !(t = realloc(out->t, (out->n + k.n) * sizeof(*t)))) {
			free(k.t);
			return false;
		}
		if (k.n) {
			out->t = t;
			memcpy(out->t + out->n, k.t, k.n * sizeof(*t));
			out->n += k.n;
		}
		free(k.t);
		simplify(out);
		if (out->n > DNF_WORK_MAX) {
			out->overflow = true;
			return false;
		}
	}
	return true;
}

/* AND of the children's DNFs: distribute. */
static bool dnf_product(const struct pol_expr *e, bool neg, struct terms *out)
{
	if (!terms_true(out))
		return false;
	for (size_t i = 0; i < e->n && out->n; i++) {
		struct terms k = { 0 };
		struct pol_term *t;
		size_t m = 0;

		if (!dnf_of(e->kids[i], neg, &k)) {
			out->overflow |= k.overflow;
			free(k.t);
			return false;
		}
		if (out->n * k.n > DNF_PRODUCT_MAX) {
			out->overflow = true;
			free(k.t);
			return false;
		}
		if (!k.n) {
			free(k.t);
			terms_false(out);
			break;
		}
		if (!(t = malloc(out->n * k.n * sizeof(*t)))) {
			free(k.t);
			return false;
		}
		for (size_t a = 0; a < out->n; a++) {
			for (size_t b = 0; b < k.n; b++) {
				for (size_t w = 0; w < W; w++) {
					t[m].all.w[w] = out->t[a].all.w[w] | k.t[b].all.w[w];
					t[m].none.w[w] = out->t[a].none.w[w] | k.t[b].none.w[w];
				}
				m++;
			}
		}
		free(k.t);
		free(out->t);
		out->t = t;
		out->n = m;
		simplify(out);
		if (out->n > DNF_WORK_MAX) {
			out->overflow = true;
			return false;
		}
	}
	return true;
}

static bool dnf_of(const struct pol_expr *e, bool neg, struct terms *out)
{
	switch (e->kind) {
	case E_FALSE:
	case E_TRUE:
		if ((e->kind == E_TRUE) != neg)
			return terms_true(out);
		terms_false(out);
		return true;
	case E_LABEL:
		return terms_literal(out, e->id, neg);
	case E_NOT:
		return dnf_of(e->kids[0], !neg, out);
	case E_AND:
		return neg ? dnf_union(e, neg, out) : dnf_product(e, neg, out);
	case E_OR:
		return neg ? dnf_product(e, neg, out) : dnf_union(e, neg, out);
	}
	return false;
}

int pol_expr_dnf(const struct pol_expr *e, struct pol_dnf *out, size_t *nterms)
{
	struct terms x = { 0 };
	bool ok = dnf_of(e, false, &x);

	memset(out, 0, sizeof(*out));
	*nterms = ok ? x.n : 0;
	if (!ok || x.n > POL_MAX_TERMS) {
		free(x.t);
		return -1;
	}
	out->nterms = (unsigned)x.n;
	if (x.n)
		memcpy(out->t, x.t, x.n * sizeof(*x.t));
	free(x.t);
	return 0;
}
