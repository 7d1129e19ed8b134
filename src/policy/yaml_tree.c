/* SPDX-License-Identifier: MIT */
/*
 * libyaml's event stream -> a small tree of scalars, sequences and
 * mappings, each node with its position. The tree is built with an explicit
 * stack (collections nest at most Y_MAX_DEPTH deep), so no input makes
 * this or the schema walk over it recurse without bound.
 *
 * Rejected here, as errors: aliases (a policy is short enough to write out,
 * and a checker that expands aliases can be made to blow up), a second
 * document, duplicate and non-scalar mapping keys, NUL characters in
 * scalars. Anchors and tags are ignored.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy/policy_int.h"

static struct pol_pos mark_pos(yaml_mark_t m)
{
	return (struct pol_pos){ .line = (unsigned)m.line + 1, .col = (unsigned)m.column + 1 };
}

void ytree_free(struct ynode *n)
{
	/* nodes nest at most Y_MAX_DEPTH deep: recursion is bounded */
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ytree_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

struct pol_pos ynode_pos_at(const struct ynode *n, size_t off)
{
	struct pol_pos p = n->pos;

	if (n->type != Y_SCALAR || n->pos.line != n->end.line || off > n->len)
		return n->pos;
	if (n->style == YAML_PLAIN_SCALAR_STYLE && n->end.col - n->pos.col == n->len)
		p.col += (unsigned)off;
	else if ((n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		  n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
		 n->end.col - n->pos.col == n->len + 2)
		p.col += 1 + (unsigned)off;
	return p;
}

static struct ynode *node_new(enum ynode_type t, const yaml_event_t *ev)
{
	struct ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = t;
	n->pos = mark_pos(ev->start_mark);
	n->end = mark_pos(ev->end_mark);
	n->self = n;
	return n;
}

static bool add_kid(struct ynode *parent, struct ynode *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct ynode **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return false;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return true;
}

static int key_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(struct ynode *const *)a, *y = *(struct ynode *const *)b;
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->str, y->str, x->len)) != 0)
		return c;
	/* same key: in file order */
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	return x->pos.col < y->pos.col ? -1 : x->pos.col > y->pos.col;
}

/* Keys must be scalars and unique: sort them to find duplicates. */
static void check_keys(const struct ynode *m, struct pol_diags *d)
{
	size_t nk = m->n / 2, k = 0;
	struct ynode **keys;

	if (nk < 2) {
		if (nk == 1 && m->kids[0]->type != Y_SCALAR)
			pol_diag(d, POL_ERROR, m->kids[0]->pos, "mapping keys must be strings");
		return;
	}
	if (!(keys = malloc(nk * sizeof(*keys)))) {
		pol_diag(d, POL_ERROR, m->pos, "out of memory");
		return;
	}
	for (size_t i = 0; i < nk; i++) {
		struct ynode *key = m->kids[2 * i];

		if (key->type != Y_SCALAR)
			pol_diag(d, POL_ERROR, key->pos, "mapping keys must be strings");
		else
			keys[k++] = key;
	}
	qsort(keys, k, sizeof(*keys), key_cmp);
	/* equal keys are now together, the first occurrence first */
	for (size_t i = 1, g = 0; i < k; i++) {
		if (keys[i]->len != keys[g]->len || memcmp(keys[i]->str, keys[g]->str, keys[g]->len) != 0) {
			g = i;
			continue;
		}
		pol_diag(d, POL_ERROR, keys[i]->pos, "duplicate key '%.60s' (first at %u:%u)",
			 keys[i]->str, keys[g]->pos.line, keys[g]->pos.col);
	}
	free(keys);
}

struct ynode *ytree_load(const char *text, size_t len, struct pol_diags *d, bool *fatal)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct ynode *root = NULL, *stack[Y_MAX_DEPTH];
	size_t depth = 0;
	unsigned docs = 0;
	bool done = false;

	*fatal = false;
	if (!yaml_parser_initialize(&parser)) {
		pol_diag(d, POL_ERROR, (struct pol_pos){ 1, 1 }, "out of memory");
		*fatal = true;
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		struct ynode *n = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			struct pol_pos p = mark_pos(parser.problem_mark);

			if (parser.error == YAML_MEMORY_ERROR)
				pol_diag(d, POL_ERROR, p, "out of memory");
			else if (parser.context)
				pol_diag(d, POL_ERROR, p, "YAML: %s: %s", parser.context,
					 parser.problem ? parser.problem : "syntax error");
			else
				pol_diag(d, POL_ERROR, p, "YAML: %s",
					 parser.problem ? parser.problem : "syntax error");
			*fatal = true;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				pol_diag(d, POL_ERROR, mark_pos(ev.start_mark),
					 "a policy file holds one YAML document; this starts a second one");
				done = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			pol_diag(d, POL_ERROR, mark_pos(ev.start_mark),
				 "YAML aliases ('*%.40s') are not supported in policies",
				 (const char *)ev.data.alias.anchor);
			/* in its place: an empty scalar (every scalar has a string) */
			if ((n = node_new(Y_SCALAR, &ev)) && !(n->str = calloc(1, 1))) {
				free(n);
				n = NULL;
			}
			if (n)
				n->null = true;
			break;
		case YAML_SCALAR_EVENT:
			if (!(n = node_new(Y_SCALAR, &ev)) || !(n->str = malloc(ev.data.scalar.length + 1))) {
				free(n);
				n = NULL;
				break;
			}
			memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			n->style = ev.data.scalar.style;
			n->null = n->len == 0 && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			if (memchr(n->str, '\0', n->len)) {
				n->has_nul = true;
				pol_diag(d, POL_ERROR, n->pos, "NUL character in a string");
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == Y_MAX_DEPTH) {
				pol_diag(d, POL_ERROR, mark_pos(ev.start_mark),
					 "nested more than %d levels deep", Y_MAX_DEPTH);
				*fatal = true;
				done = true;
				break;
			}
			n = node_new(ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP, &ev);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0) {
				struct ynode *c = stack[--depth];

				c->end = mark_pos(ev.end_mark);
				if (c->type == Y_MAP)
					check_keys(c, d);
			}
			break;
		default:
			break;
		}
		if (n) {
			bool ok = true;

			if (depth > 0)
				ok = add_kid(stack[depth - 1], n);
			else if (!root)
				root = n;
			else
				ok = false;  /* cannot happen within one document */
			if (!ok) {
				ytree_free(n);
				n = NULL;
			} else if (n->type != Y_SCALAR) {
				stack[depth++] = n;
			}
		}
		if (!n && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
			   ((ev.type == YAML_SEQUENCE_START_EVENT ||
			     ev.type == YAML_MAPPING_START_EVENT) && !done))) {
			pol_diag(d, POL_ERROR, mark_pos(ev.start_mark), "out of memory");
			*fatal = true;
			done = true;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (*fatal) {
		ytree_free(root);
		return NULL;
	}
	return root;
}
