/* SPDX-License-Identifier: MIT */
/*
 * Internals of the policy front end, shared by its files and by nothing
 * else: the YAML tree (yaml_tree.c), label expressions (expr.c), endpoint
 * patterns (endpoint.c), diagnostics and the word glob (match.c).
 */
#ifndef AT_POLICY_POLICY_INT_H
#define AT_POLICY_POLICY_INT_H

#include <stdarg.h>

#include "policy/policy.h"

/* --- diagnostics (parse.c) ---------------------------------------------- */

/* At most this many diagnostics are stored; errors past it are counted. */
#define POL_MAX_DIAGS 1000

void pol_diag(struct pol_diags *d, enum pol_severity sev, struct pol_pos pos,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* --- YAML tree (yaml_tree.c) -------------------------------------------- */

enum ynode_type { Y_SCALAR, Y_SEQ, Y_MAP };

#define Y_MAX_DEPTH 64    /* nesting of collections in a policy file */

struct ynode {
	enum ynode_type type;
	struct pol_pos pos;        /* start */
	struct pol_pos end;        /* just after the end */
	int style;                 /* scalars: yaml_scalar_style_t */
	bool null;                 /* empty plain scalar, or a rejected alias */
	char *str;                 /* scalars: NUL-terminated (see has_nul) */
	size_t len;
	bool has_nul;              /* the scalar contains a NUL character */
	struct ynode **kids;       /* SEQ: items; MAP: key, value, key, value... */
	size_t n;
	size_t cap;
	struct ynode *self;        /* = this node: a one-item list of itself */
};

/*
 * Parse one YAML document into a tree. Syntax errors, aliases, a second
 * document, duplicate or non-scalar mapping keys and NUL characters are
 * errors in d. Returns the root (NULL when there is none or the YAML is
 * malformed); *fatal is set when the document could not be read to the end.
 */
struct ynode *ytree_load(const char *text, size_t len, struct pol_diags *d, bool *fatal);
void ytree_free(struct ynode *n);

/* The position of byte `off` of a scalar's value: exact for single-line
 * plain and (escape-free) quoted scalars, the scalar's start otherwise. */
struct pol_pos ynode_pos_at(const struct ynode *n, size_t off);

/* --- label expressions (expr.c) ----------------------------------------- */

struct pol_expr;

/* Returns the label id for name[0..len), or -1 when there is no such label. */
typedef int (*pol_label_lookup)(void *ctx, const char *name, size_t len);

struct pol_expr_err {
	size_t off;                /* byte offset in the expression */
	bool unknown_label;        /* msg is the unknown label's name */
	char msg[160];
};

#define POL_EXPR_MAX_DEPTH 64

struct pol_expr *pol_expr_parse(const char *s, size_t len, pol_label_lookup lookup,
				void *ctx, struct pol_expr_err *err);
struct pol_expr *pol_expr_const(bool v);
struct pol_expr *pol_expr_not(struct pol_expr *e);             /* takes e */
struct pol_expr *pol_expr_and(struct pol_expr **v, size_t n);  /* takes v[] */
void pol_expr_free(struct pol_expr *e);

/*
 * e in disjunctive normal form, simplified (contradictions dropped,
 * complementary terms merged, subsumed terms removed). Returns 0, or -1
 * when more than POL_MAX_TERMS terms remain (*nterms is then how many, or
 * 0 when the expansion was too large to finish).
 */
int pol_expr_dnf(const struct pol_expr *e, struct pol_dnf *out, size_t *nterms);

/* --- endpoint patterns (endpoint.c) ------------------------------------- */

/*
 * Parse an endpoint pattern (NUL-terminated). Returns 0 and fills *e (text
 * and domain allocated; pos left alone), or -1 with a message in err.
 * *host_bits is set when a CIDR had bits set beyond its prefix (they are
 * cleared).
 */
int pol_endpoint_parse(const char *s, struct pol_endpoint *e, char *err, size_t errlen,
		       bool *host_bits);
int pol_endpoint_copy(struct pol_endpoint *dst, const struct pol_endpoint *src);
void pol_endpoint_clear(struct pol_endpoint *e);
bool pol_endpoint_same(const struct pol_endpoint *a, const struct pol_endpoint *b);

/* --- matching (match.c) ------------------------------------------------- */

/* fnmatch(3)-like with flags 0 over a whole string: '*' '?' "[...]" '\'. */
bool pol_word_match(const char *pattern, const char *s);

#endif
