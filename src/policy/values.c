/* SPDX-License-Identifier: MIT */
/*
 * The values inside a policy: paths and path globs ("~" and "{workspace}"
 * expanded, normalised), command patterns, endpoint sets with "@LABEL"
 * references resolved. Called by the schema walk in parse.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parse_int.h"

#define EP_SET_MAX 4096      /* endpoint patterns in one set, references expanded */
#define EP_TOTAL_MAX 65536   /* in the whole policy */

static bool has_meta(const char *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i] == '*' || c[i] == '?' || c[i] == '[' || c[i] == '\\')
			return true;
	return false;
}

char *pv_normalise(const char *in, bool glob, const char **err)
{
	size_t len = strlen(in), nc = 0, o = 0;
	bool abs = in[0] == '/';
	/* seps[k]: the output length before component k (and its '/') */
	size_t *seps = malloc((len / 2 + 2) * sizeof(*seps));
	char *out = malloc(len + 2);
	const char *s = in;

	*err = NULL;
	if (!seps || !out) {
		*err = "out of memory";
		goto fail;
	}
	while (*s) {
		const char *c;
		size_t cl;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		c = s;
		while (*s && *s != '/')
			s++;
		cl = (size_t)(s - c);
		if (cl == 1 && c[0] == '.')
			continue;
		if (cl == 2 && c[0] == '.' && c[1] == '.') {
			if (nc == 0) {
				if (abs)
					continue;  /* "/.." is "/" */
				*err = "'..' cannot go above a leading '**'";
				goto fail;
			}
			if (glob && has_meta(out + seps[nc - 1], o - seps[nc - 1])) {
				*err = "'..' cannot follow a wildcard";
				goto fail;
			}
			o = seps[--nc];
			continue;
		}
		seps[nc++] = o;
		if (abs || nc > 1)
			out[o++] = '/';
		memcpy(out + o, c, cl);
		o += cl;
	}
	if (o == 0) {
		if (!abs) {
			*err = "empty path";
			goto fail;
		}
		out[o++] = '/';
	}
	out[o] = '\0';
	free(seps);
	return out;
fail:
	free(seps);
	free(out);
	return NULL;
}

/* Backslash-escape glob characters in a path spliced into a pattern. */
static char *glob_escape(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '*' || *s == '?' || *s == '[' || *s == ']' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static char *concat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb);
		memcpy(s + la + lb, c, lc + 1);
	}
	return s;
}

static const char WS[] = "{workspace}";

/*
 * A path glob as written -> the absolute pattern (or "**" / "**"+"/..."),
 * NULL with *err set when it is not acceptable.
 */
static char *expand_glob(struct pctx *c, const char *s, const char **err)
{
	char *raw, *out;
	size_t skip;

	*err = NULL;
	if (!*s) {
		*err = "empty path pattern";
		return NULL;
	}
	if (s[0] == '~' && (s[1] == '\0' || s[1] == '/')) {
		raw = concat3(c->home_esc, s + 1, "");
		skip = strlen(c->home_esc);
	} else if (s[0] == '~') {
		*err = "'~user' is not supported: write '~' or '~/...' or an absolute path";
		return NULL;
	} else if (strncmp(s, WS, sizeof(WS) - 1) == 0) {
		if (s[sizeof(WS) - 1] != '\0' && s[sizeof(WS) - 1] != '/') {
			*err = "'{workspace}' must be followed by '/' or end the pattern";
			return NULL;
		}
		raw = concat3(c->ws_esc, s + sizeof(WS) - 1, "");
		skip = strlen(c->ws_esc);
	} else if (s[0] == '/') {
		raw = strdup(s);
		skip = 0;
	} else if (s[0] == '*' && s[1] == '*') {
		/* anywhere: "**" + "/..." as written, "**x" taken as "**" + "/" + "**x" */
		raw = (s[2] == '\0' || s[2] == '/') ? strdup(s) : concat3("**/", s, "");
		skip = 0;
	} else {
		raw = concat3(c->ws_esc, "/", s);
		skip = strlen(c->ws_esc);
	}
	if (!raw) {
		*err = "out of memory";
		return NULL;
	}
	if (strstr(raw + skip, WS)) {
		free(raw);
		*err = "'{workspace}' is only expanded at the start of a pattern";
		return NULL;
	}
	out = pv_normalise(raw, true, err);
	free(raw);
	return out;
}

bool pv_setup_paths(struct pctx *c)
{
	c->home_esc = glob_escape(c->p->home);
	c->ws_esc = glob_escape(c->p->workspace);
	return c->home_esc && c->ws_esc;
}

static bool glob_make(struct pctx *c, const struct ynode *s, struct pol_glob *g)
{
	const char *err;

	memset(g, 0, sizeof(*g));
	g->pos = s->pos;
	if (!(g->pattern = expand_glob(c, s->str, &err))) {
		pol_diag(c->d, POL_ERROR, s->pos, "bad path pattern '%.60s': %s", s->str, err);
		return false;
	}
	if (!(g->text = strdup(s->str))) {
		free(g->pattern);
		g->pattern = NULL;
		return false;
	}
	return true;
}

void pv_globs(struct pctx *c, const struct ynode *v, const char *key, struct pol_globs *out)
{
	struct ynode *const *items;
	size_t n;

	if (!v || !pv_list(c, v, key, &items, &n) || n == 0)
		return;
	if (!(out->v = calloc(n, sizeof(*out->v))))
		return;
	for (size_t i = 0; i < n; i++)
		if (glob_make(c, items[i], &out->v[out->n]))
			out->n++;
}

char *pv_workspace(struct pctx *c, const struct ynode *v, const char *env_ws)
{
	const char *s = v->str, *err;
	char *raw, *out;

	if (!*s) {
		pol_diag(c->d, POL_ERROR, v->pos, "'workspace' is empty");
		return NULL;
	}
	if (s[0] == '~' && (s[1] == '\0' || s[1] == '/')) {
		raw = concat3(c->p->home, s + 1, "");
	} else if (s[0] == '~') {
		pol_diag(c->d, POL_ERROR, v->pos, "'~user' is not supported: write '~' or '~/...'");
		return NULL;
	} else if (strstr(s, WS)) {
		pol_diag(c->d, POL_ERROR, v->pos, "'workspace' cannot refer to '{workspace}'");
		return NULL;
	} else if (s[0] == '/') {
		raw = strdup(s);
	} else if (!env_ws) {
		pol_diag(c->d, POL_ERROR, v->pos,
			 "relative 'workspace' but no session workspace to resolve it against");
		return NULL;
	} else {
		raw = concat3(env_ws, "/", s);
	}
	if (!raw)
		return NULL;
	out = pv_normalise(raw, false, &err);
	free(raw);
	if (!out)
		pol_diag(c->d, POL_ERROR, v->pos, "bad 'workspace': %s", err);
	return out;
}

/* --- commands ------------------------------------------------------------ */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static bool command_make(struct pctx *c, const struct ynode *s, struct pol_command *cmd)
{
	const char *p = s->str, *err;
	size_t n = 0;

	memset(cmd, 0, sizeof(*cmd));
	cmd->pos = s->pos;
	if (!(cmd->words = calloc(s->len / 2 + 1, sizeof(*cmd->words))))
		return false;
	for (;;) {
		const char *w;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && !is_space(*p))
			p++;
		if (!(cmd->words[n] = strndup(w, (size_t)(p - w))))
			goto fail;
		n++;
		cmd->nwords = n;
	}
	if (n == 0) {
		pol_diag(c->d, POL_ERROR, s->pos, "empty command pattern");
		goto fail;
	}
	if (strchr(cmd->words[0], '/')) {
		/* a path: expanded like any path pattern */
		char *x = expand_glob(c, cmd->words[0], &err);

		if (!x) {
			pol_diag(c->d, POL_ERROR, s->pos, "bad program path '%.60s': %s",
				 cmd->words[0], err);
			goto fail;
		}
		free(cmd->words[0]);
		cmd->words[0] = x;
	}
	if (!(cmd->text = strdup(s->str)))
		goto fail;
	return true;
fail:
	for (size_t i = 0; i < cmd->nwords; i++)
		free(cmd->words[i]);
	free(cmd->words);
	memset(cmd, 0, sizeof(*cmd));
	return false;
}

void pv_commands(struct pctx *c, const struct ynode *v, const char *key, struct pol_commands *out)
{
	struct ynode *const *items;
	size_t n;

	if (!v || !pv_list(c, v, key, &items, &n) || n == 0)
		return;
	if (!(out->v = calloc(n, sizeof(*out->v))))
		return;
	for (size_t i = 0; i < n; i++)
		if (command_make(c, items[i], &out->v[out->n]))
			out->n++;
}

/* --- endpoint sets ------------------------------------------------------- */

static void ep_push(struct pctx *c, struct pol_endpoint **arr, size_t *n,
		    const struct pol_endpoint *e, struct pol_pos pos)
{
	struct pol_endpoint *v;

	for (size_t i = 0; i < *n; i++)
		if (pol_endpoint_same(&(*arr)[i], e))
			return;
	if (*n >= EP_SET_MAX || c->nendpoints >= EP_TOTAL_MAX) {
		if (!c->too_many_endpoints)
			pol_diag(c->d, POL_ERROR, pos,
				 "too many endpoint patterns (at most %d in one set, %d in a policy)",
				 EP_SET_MAX, EP_TOTAL_MAX);
		c->too_many_endpoints = true;
		return;
	}
	if ((*n & (*n - 1)) == 0) {      /* 0, 1, 2, 4...: grow */
		if (!(v = realloc(*arr, (*n ? *n * 2 : 1) * sizeof(*v))))
			return;
		*arr = v;
	}
	if (pol_endpoint_copy(&(*arr)[*n], e) == 0) {
		(*n)++;
		c->nendpoints++;
	}
}

static struct pol_endpoints *resolve_label(struct pctx *c, unsigned id, const struct ynode *ref);

static void add_ref(struct pctx *c, const struct ynode *s, bool except, size_t nitems,
		    struct pol_endpoints *out)
{
	int id = pv_label_find(c, s->str + 1, s->len - 1);
	struct pol_endpoints *r;

	if (id < 0) {
		pv_unknown_label(c, ynode_pos_at(s, 1), s->str + 1, s->len - 1);
		return;
	}
	c->ls[id].used = true;
	if (!(r = resolve_label(c, (unsigned)id, s)))
		return;
	if (r->nin == 0) {
		pol_diag(c->d, POL_WARNING, s->pos, "label '%s' has no endpoints: '%.70s' adds nothing",
			 c->p->labels[id].name, s->str);
		return;
	}
	if (except && r->nexcept) {
		pol_diag(c->d, POL_ERROR, s->pos,
			 "'%.70s' cannot be used in 'except': label '%s' has exceptions of its own",
			 s->str, c->p->labels[id].name);
		return;
	}
	if (!except && r->nexcept && nitems > 1) {
		pol_diag(c->d, POL_ERROR, s->pos,
			 "'%.70s' must be the only item of 'endpoints': label '%s' has exceptions, "
			 "which would apply to the other items too", s->str, c->p->labels[id].name);
		return;
	}
	for (size_t i = 0; i < r->nin; i++) {
		if (except)
			ep_push(c, &out->except, &out->nexcept, &r->in[i], s->pos);
		else
			ep_push(c, &out->in, &out->nin, &r->in[i], s->pos);
	}
	for (size_t i = 0; !except && i < r->nexcept; i++)
		ep_push(c, &out->except, &out->nexcept, &r->except[i], s->pos);
}

static void add_items(struct pctx *c, const struct ynode *v, const char *key, bool except,
		      struct pol_endpoints *out)
{
	struct ynode *const *items;
	size_t n;

	if (!v || !pv_list(c, v, key, &items, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct ynode *s = items[i];
		struct pol_endpoint e;
		char err[160];
		bool host_bits;

		if (s->str[0] == '@') {
			add_ref(c, s, except, n, out);
			continue;
		}
		if (pol_endpoint_parse(s->str, &e, err, sizeof(err), &host_bits) != 0) {
			pol_diag(c->d, POL_ERROR, s->pos, "bad endpoint '%.60s': %s", s->str, err);
			continue;
		}
		e.pos = s->pos;
		if (host_bits)
			pol_diag(c->d, POL_WARNING, s->pos,
				 "'%.60s' has bits set past its prefix length; they are ignored", s->str);
		if (except)
			ep_push(c, &out->except, &out->nexcept, &e, s->pos);
		else
			ep_push(c, &out->in, &out->nin, &e, s->pos);
		pol_endpoint_clear(&e);
	}
}

void pv_endpoints(struct pctx *c, const struct ynode *in, const struct ynode *ex,
		  struct pol_endpoints *out)
{
	add_items(c, in, "endpoints", false, out);
	add_items(c, ex, "except", true, out);
}

static struct pol_endpoints *resolve_label(struct pctx *c, unsigned id, const struct ynode *ref)
{
	struct pv_label *l = &c->ls[id];
	struct pol_endpoints *out = &c->p->labels[id].endpoints;

	if (l->state == 2)
		return out;
	if (l->state == 1) {
		pol_diag(c->d, POL_ERROR, ref ? ref->pos : c->p->labels[id].pos,
			 "endpoint references loop back to label '%s'", c->p->labels[id].name);
		return NULL;
	}
	l->state = 1;
	pv_endpoints(c, l->endpoints, l->except, out);
	l->state = 2;
	return out;
}

void pv_resolve_labels(struct pctx *c)
{
	for (size_t i = 0; i < c->p->nlabels; i++)
		resolve_label(c, (unsigned)i, NULL);
}
