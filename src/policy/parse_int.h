/* SPDX-License-Identifier: MIT */
/*
 * State shared by the schema walk (parse.c) and the value builders
 * (values.c) while one policy is being parsed.
 */
#ifndef AT_POLICY_PARSE_INT_H
#define AT_POLICY_PARSE_INT_H

#include "policy/policy_int.h"

/* Per label, while parsing. */
struct pv_label {
	const struct ynode *def;        /* its definition (a mapping) */
	const struct ynode *endpoints;  /* raw lists, resolved by pv_resolve_labels */
	const struct ynode *except;
	int state;                      /* endpoints: 0 to do, 1 resolving, 2 done */
	bool used;                      /* named in a rule, flow or "@" reference */
	bool sources;                   /* has files, executables or endpoints */
};

struct pctx {
	struct pol_diags *d;
	struct policy *p;
	struct pv_label *ls;            /* parallel to p->labels */
	const char **names;             /* label names, for suggestions */
	char *home_esc;                 /* home and workspace, glob-escaped */
	char *ws_esc;
	size_t nendpoints;              /* endpoint patterns in the policy so far */
	bool too_many_endpoints;
};

/* parse.c: reading the tree */
const struct ynode *pv_map_key(const struct ynode *m, const char *key);
const struct ynode *pv_map_get(const struct ynode *m, const char *key);
bool pv_is_str(const struct ynode *v);
/* A string value, or NULL (with an error when present but not a string). */
const struct ynode *pv_get_str(struct pctx *c, const struct ynode *m, const char *key);
/* A mapping, or NULL: absent or empty ("key:" with nothing) is no error. */
const struct ynode *pv_get_map(struct pctx *c, const struct ynode *m, const char *key,
			       const char *what);
/* A string or a list of strings: *items, *n (a string is a list of one). */
bool pv_list(struct pctx *c, const struct ynode *v, const char *key,
	     struct ynode *const **items, size_t *n);
int pv_label_find(struct pctx *c, const char *name, size_t len);
void pv_unknown_label(struct pctx *c, struct pol_pos pos, const char *name, size_t len);
int pv_lookup_use(void *ctx, const char *name, size_t len);  /* marks it used */
/* Errors for the keys of m that are not in keys[] (NULL-terminated). */
void pv_check_keys(struct pctx *c, const struct ynode *m, const char *const *keys,
		   const char *where);
bool pv_in_list(const char *s, const char *const *v);
size_t pv_nstrs(const char *const *v);
/* " (did you mean 'x'?)" for the closest of cands[0..n), or "" */
const char *pv_suggest(char *buf, size_t size, const char *word, size_t len,
		       const char *const *cands, size_t n);

/* rules.c */
void pv_rules(struct pctx *c, const struct ynode *v);

/* values.c */
char *pv_normalise(const char *in, bool glob, const char **err);
bool pv_setup_paths(struct pctx *c);
char *pv_workspace(struct pctx *c, const struct ynode *v, const char *env_ws);
void pv_globs(struct pctx *c, const struct ynode *v, const char *key, struct pol_globs *out);
void pv_commands(struct pctx *c, const struct ynode *v, const char *key, struct pol_commands *out);
void pv_endpoints(struct pctx *c, const struct ynode *in, const struct ynode *ex,
		  struct pol_endpoints *out);
void pv_resolve_labels(struct pctx *c);

#endif
