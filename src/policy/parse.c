/* SPDX-License-Identifier: MIT */
/*
 * The policy schema: the YAML tree (yaml_tree.c) -> struct policy. Every
 * problem becomes a diagnostic with the position of the node it is about,
 * and the walk goes on, so that one run shows all of them. The order:
 * version, workspace, labels (names first, so that every other part can
 * refer to any label; then their definitions and "@" references), rules
 * (rules.c), flows, and last the labels nobody uses.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy/parse_int.h"

#define ERR(c, pos, ...) pol_diag((c)->d, POL_ERROR, (pos), __VA_ARGS__)
#define WARN(c, pos, ...) pol_diag((c)->d, POL_WARNING, (pos), __VA_ARGS__)

static const struct pol_pos TOP = { 1, 1 };

static const char *const top_keys[] = { "version", "workspace", "labels", "rules", "flows", NULL };
static const char *const label_keys[] = { "description", "files", "executables", "endpoints",
					  "except", NULL };
static const char *const flow_keys[] = { "executables", "declassify", "endorse", NULL };
static const char *const keywords[] = { "and", "or", "not", "true", "false", NULL };

/* --- suggestions --------------------------------------------------------- */

/* Levenshtein distance, for words of up to 63 characters (else "far"). */
static size_t edit_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), row[64];

	if (la >= 64 || lb >= 64)
		return 100;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* " (did you mean 'x'?)" or "", into buf. */
const char *pv_suggest(char *buf, size_t size, const char *word, size_t len,
			   const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bd = 3;

	for (size_t i = 0; i < n && cands[i]; i++) {
		size_t dist = edit_distance(word, len, cands[i]);

		if (dist < bd && dist < len) {
			bd = dist;
			best = cands[i];
		}
	}
	if (!best)
		return "";
	snprintf(buf, size, " (did you mean '%s'?)", best);
	return buf;
}

size_t pv_nstrs(const char *const *v)
{
	size_t n = 0;

	while (v[n])
		n++;
	return n;
}

bool pv_in_list(const char *s, const char *const *v)
{
	for (; *v; v++)
		if (strcmp(s, *v) == 0)
			return true;
	return false;
}

/* --- tree access --------------------------------------------------------- */

const struct ynode *pv_map_key(const struct ynode *m, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; m && m->type == Y_MAP && i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kids[i];

		if (k->type == Y_SCALAR && k->len == kl && memcmp(k->str, key, kl) == 0)
			return k;
	}
	return NULL;
}

const struct ynode *pv_map_get(const struct ynode *m, const char *key)
{
	const struct ynode *k = pv_map_key(m, key);

	/* the value follows its key */
	for (size_t i = 0; k && i + 1 < m->n; i += 2)
		if (m->kids[i] == k)
			return m->kids[i + 1];
	return NULL;
}

void pv_check_keys(struct pctx *c, const struct ynode *m, const char *const *keys,
		       const char *where)
{
	char sug[96];

	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kids[i];

		if (k->type != Y_SCALAR || pv_in_list(k->str, keys))
			continue;
		ERR(c, k->pos, "unknown key '%.40s' %s%s", k->str, where,
		    pv_suggest(sug, sizeof(sug), k->str, k->len, keys, pv_nstrs(keys)));
	}
}

bool pv_is_str(const struct ynode *v)
{
	return v->type == Y_SCALAR && !v->null;
}

/* A string value, or NULL (with an error when present but not a string). */
const struct ynode *pv_get_str(struct pctx *c, const struct ynode *m, const char *key)
{
	const struct ynode *v = pv_map_get(m, key);

	if (v && !pv_is_str(v)) {
		ERR(c, v->pos, "'%s' must be a string", key);
		return NULL;
	}
	return v;
}

bool pv_list(struct pctx *c, const struct ynode *v, const char *key,
	     struct ynode *const **items, size_t *n)
{
	bool ok = true;

	if (pv_is_str(v)) {
		*items = &v->self;
		*n = 1;
		return true;
	}
	if (v->type != Y_SEQ) {
		ERR(c, v->pos, "'%s' must be a string or a list of strings", key);
		return false;
	}
	for (size_t i = 0; i < v->n; i++) {
		if (!pv_is_str(v->kids[i])) {
			ERR(c, v->kids[i]->pos, "'%s' must be a string or a list of strings", key);
			ok = false;
		}
	}
	*items = v->kids;
	*n = v->n;
	return ok;
}

/* A mapping, or NULL: absent or empty ("key:" with nothing) is no error. */
const struct ynode *pv_get_map(struct pctx *c, const struct ynode *m, const char *key,
				   const char *what)
{
	const struct ynode *v = pv_map_get(m, key);

	if (!v || v->null)
		return NULL;
	if (v->type != Y_MAP) {
		ERR(c, v->pos, "'%s' must be a mapping (%s)", key, what);
		return NULL;
	}
	return v;
}

/* --- labels -------------------------------------------------------------- */

int pv_label_find(struct pctx *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->p->nlabels; i++) {
		const char *n = c->p->labels[i].name;

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return (int)i;
	}
	return -1;
}

void pv_unknown_label(struct pctx *c, struct pol_pos pos, const char *name, size_t len)
{
	char sug[96];

	ERR(c, pos, "unknown label '%.*s'%s", len > 60 ? 60 : (int)len, name,
	    pv_suggest(sug, sizeof(sug), name, len, c->names, c->p->nlabels));
}

int pv_lookup_use(void *ctx, const char *name, size_t len)
{
	struct pctx *c = ctx;
	int id = pv_label_find(c, name, len);

	if (id >= 0)
		c->ls[id].used = true;
	return id;
}

static bool label_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= POL_NAME_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static void parse_label_def(struct pctx *c, size_t id)
{
	struct pol_label *l = &c->p->labels[id];
	struct pv_label *x = &c->ls[id];
	const struct ynode *m = x->def, *v;
	char where[96];

	if (!m || m->null)
		return;
	if (m->type != Y_MAP) {
		ERR(c, m->pos, "label '%s' must be a mapping (description, files, executables, "
			"endpoints, except)", l->name);
		return;
	}
	snprintf(where, sizeof(where), "in label '%s'", l->name);
	pv_check_keys(c, m, label_keys, where);
	if ((v = pv_get_str(c, m, "description")))
		l->description = strdup(v->str);
	if ((v = pv_map_get(m, "files")))
		pv_globs(c, v, "files", &l->files);
	if ((v = pv_map_get(m, "executables")))
		pv_globs(c, v, "executables", &l->executables);
	x->endpoints = pv_map_get(m, "endpoints");
	x->except = pv_map_get(m, "except");
	if (x->except && !x->endpoints)
		WARN(c, pv_map_key(m, "except")->pos, "'except' has no effect without 'endpoints'");
	x->sources = pv_map_get(m, "files") || pv_map_get(m, "executables") || x->endpoints;
}

static void parse_labels(struct pctx *c, const struct ynode *v)
{
	struct policy *p = c->p;
	size_t nk;

	if (!v || v->null)
		return;
	if (v->type != Y_MAP) {
		ERR(c, v->pos, "'labels' must be a mapping from label names to definitions");
		return;
	}
	nk = v->n / 2;
	if (nk > POL_MAX_LABELS)
		nk = POL_MAX_LABELS;
	p->labels = calloc(nk ? nk : 1, sizeof(*p->labels));
	c->ls = calloc(nk ? nk : 1, sizeof(*c->ls));
	c->names = calloc(nk ? nk : 1, sizeof(*c->names));
	if (!p->labels || !c->ls || !c->names) {
		ERR(c, v->pos, "out of memory");
		return;
	}
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *k = v->kids[i];

		if (k->type != Y_SCALAR)
			continue;           /* reported by the YAML reader */
		if (!label_name_ok(k->str, k->len)) {
			ERR(c, k->pos, "bad label name '%.60s': letters, digits, '_' and '-', starting "
				"with a letter or '_', at most %d characters", k->str, POL_NAME_MAX - 1);
			continue;
		}
		if (pv_in_list(k->str, keywords)) {
			ERR(c, k->pos, "'%s' is a keyword of label expressions, not a label name",
			    k->str);
			continue;
		}
		if (pv_label_find(c, k->str, k->len) >= 0)
			continue;           /* duplicate key: reported by the YAML reader */
		if (p->nlabels == POL_MAX_LABELS) {
			ERR(c, k->pos, "too many labels (at most %d)", POL_MAX_LABELS);
			break;
		}
		memcpy(p->labels[p->nlabels].name, k->str, k->len + 1);
		p->labels[p->nlabels].pos = k->pos;
		c->ls[p->nlabels].def = v->kids[i + 1];
		c->names[p->nlabels] = p->labels[p->nlabels].name;
		p->nlabels++;
	}
	for (size_t i = 0; i < p->nlabels; i++)
		parse_label_def(c, i);
	pv_resolve_labels(c);
}

/* --- flows --------------------------------------------------------------- */

static void flow_labels(struct pctx *c, const struct ynode *v, const char *key,
			struct pol_labelset *set)
{
	struct ynode *const *items;
	size_t n;

	if (!v || !pv_list(c, v, key, &items, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		int id = pv_lookup_use(c, items[i]->str, items[i]->len);

		if (id < 0)
			pv_unknown_label(c, items[i]->pos, items[i]->str, items[i]->len);
		else
			pol_set_add(set, (unsigned)id);
	}
}

static void parse_flow(struct pctx *c, const struct ynode *m, struct pol_flow *f)
{
	const struct ynode *v;

	f->pos = m->pos;
	if (m->type != Y_MAP) {
		ERR(c, m->pos, "a flow must be a mapping (executables, declassify, endorse)");
		return;
	}
	pv_check_keys(c, m, flow_keys, "in flow");
	if (!(v = pv_map_get(m, "executables")))
		ERR(c, m->pos, "flow has no 'executables' (the programs it trusts)");
	else {
		pv_globs(c, v, "executables", &f->executables);
		if (v->type == Y_SEQ && v->n == 0)
			ERR(c, v->pos, "'executables' is empty");
	}
	flow_labels(c, pv_map_get(m, "declassify"), "declassify", &f->remove);
	flow_labels(c, pv_map_get(m, "endorse"), "endorse", &f->add);
	if (!pv_map_key(m, "declassify") && !pv_map_key(m, "endorse"))
		WARN(c, m->pos, "flow has no effect: it has neither 'declassify' nor 'endorse'");
}

static void parse_flows(struct pctx *c, const struct ynode *v)
{
	if (!v || v->null)
		return;
	if (v->type != Y_SEQ) {
		ERR(c, v->pos, "'flows' must be a list");
		return;
	}
	if (!(c->p->flows = calloc(v->n ? v->n : 1, sizeof(*c->p->flows)))) {
		ERR(c, v->pos, "out of memory");
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		parse_flow(c, v->kids[i], &c->p->flows[c->p->nflows++]);
}

/* --- the whole ----------------------------------------------------------- */

static void parse_version(struct pctx *c, const struct ynode *root)
{
	const struct ynode *v = pv_map_get(root, "version");

	if (!v)
		ERR(c, TOP, "missing 'version: 1'");
	else if (!pv_is_str(v) || v->style != YAML_PLAIN_SCALAR_STYLE)
		ERR(c, v->pos, "'version' must be a number: 1");
	else if (strcmp(v->str, "1") != 0)
		ERR(c, v->pos, "unsupported version '%.20s': this agenttrail reads 'version: 1'",
		    v->str);
}

static bool setup_env(struct pctx *c, const struct ynode *root, const struct pol_env *env)
{
	static const struct pol_pos none;
	const char *err;
	const struct ynode *w;
	char *ws = NULL;

	if (!env || !env->home || env->home[0] != '/') {
		ERR(c, none, "no home directory (absolute) to expand '~' with");
		return false;
	}
	if (env->workspace && env->workspace[0] != '/') {
		ERR(c, none, "the session workspace '%.60s' is not an absolute path", env->workspace);
		return false;
	}
	if (!(c->p->home = pv_normalise(env->home, false, &err))) {
		ERR(c, none, "bad home directory: %s", err);
		return false;
	}
	if (env->workspace && !(ws = pv_normalise(env->workspace, false, &err))) {
		ERR(c, none, "bad session workspace: %s", err);
		return false;
	}
	if ((w = pv_get_str(c, root, "workspace"))) {
		c->p->workspace = pv_workspace(c, w, ws);
		free(ws);
	} else if (pv_map_get(root, "workspace")) {
		free(ws);               /* not a string: reported */
	} else if (!(c->p->workspace = ws)) {
		ERR(c, TOP, "no 'workspace' in the policy and no session workspace");
	}
	return c->p->workspace && pv_setup_paths(c);
}

/* Insertion sort by position, stable: diagnostics in file order. */
static void sort_diags(struct pol_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct pol_diag x = d->v[i];
		size_t j = i;

		while (j > from && (d->v[j - 1].pos.line > x.pos.line ||
				    (d->v[j - 1].pos.line == x.pos.line && d->v[j - 1].pos.col > x.pos.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = x;
	}
}

static void check_unused(struct pctx *c)
{
	for (size_t i = 0; i < c->p->nlabels; i++)
		if (!c->ls[i].used && !c->ls[i].sources)
			WARN(c, c->p->labels[i].pos, "label '%s' has no files, executables or endpoints "
			     "and is never used", c->p->labels[i].name);
}

struct policy *policy_parse(const char *name, const char *text, size_t len,
			    const struct pol_env *env, struct pol_diags *d)
{
	struct pol_diags local = { 0 };
	struct pctx c = { 0 };
	struct ynode *root;
	size_t errors0, n0;
	bool fatal;

	if (!d)
		d = &local;
	errors0 = d->nerrors;
	n0 = d->n;
	c.d = d;
	if (!(c.p = calloc(1, sizeof(*c.p))) || !(c.p->file = strdup(name ? name : "<policy>"))) {
		free(c.p);
		pol_diag(d, POL_ERROR, TOP, "out of memory");
		return NULL;
	}
	root = ytree_load(text ? text : "", text ? len : 0, d, &fatal);
	if (!fatal && (!root || (root->type == Y_SCALAR && root->null)))
		ERR(&c, TOP, "empty policy: expected a mapping with 'version: 1' and 'rules'");
	else if (root && root->type != Y_MAP)
		ERR(&c, TOP, "a policy must be a mapping (version, workspace, labels, rules, flows)");
	else if (root) {
		pv_check_keys(&c, root, top_keys, "at the top level");
		parse_version(&c, root);
		if (setup_env(&c, root, env)) {
			parse_labels(&c, pv_map_get(root, "labels"));
			pv_rules(&c, pv_map_get(root, "rules"));
			parse_flows(&c, pv_map_get(root, "flows"));
			check_unused(&c);
		}
	}
	ytree_free(root);
	free(c.ls);
	free(c.names);
	free(c.home_esc);
	free(c.ws_esc);
	sort_diags(d, n0);
	if (d->nerrors > errors0) {
		policy_free(c.p);
		c.p = NULL;
	}
	if (d == &local)
		pol_diags_free(&local);
	return c.p;
}
