/* SPDX-License-Identifier: MIT */
/*
 * Rules: what they apply to (on, target), when (the label condition with
 * `unless: labels` folded in, as a DNF; `unless: after` conditions), what
 * happens (effect) and what the agent is told (reason).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy/parse_int.h"

#define ERR(c, pos, ...) pol_diag((c)->d, POL_ERROR, (pos), __VA_ARGS__)
#define WARN(c, pos, ...) pol_diag((c)->d, POL_WARNING, (pos), __VA_ARGS__)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const rule_keys[] = { "name", "on", "target", "when", "unless", "effect",
					 "reason", NULL };
static const char *const target_keys[] = { "endpoints", "except", "paths", "paths_except",
					   "command", "operands_outside", NULL };
static const char *const unless_keys[] = { "labels", "after", NULL };
static const char *const after_keys[] = { "command", "exit", "since", NULL };
static const char *const effect_names[] = { "block", "kill", "notify", NULL };
static const char *const reason_vars[] = { "rule", "op", "comm", "pid", "exe", "target",
					   "labels", NULL };
static const struct {
	const char *name;
	unsigned op;
} ops[] = {
	{ "exec", POL_OP_EXEC }, { "open", POL_OP_OPEN }, { "read", POL_OP_READ },
	{ "write", POL_OP_WRITE }, { "unlink", POL_OP_UNLINK }, { "rename", POL_OP_RENAME },
	{ "connect", POL_OP_CONNECT }, { "send", POL_OP_SEND },
};
static const char *const op_names[] = { "exec", "open", "read", "write", "unlink", "rename",
					"connect", "send", NULL };

#define OPS_FILE (POL_OP_OPEN | POL_OP_READ | POL_OP_WRITE | POL_OP_UNLINK | POL_OP_RENAME)
#define OPS_NET (POL_OP_CONNECT | POL_OP_SEND)

/* A label expression, or NULL after reporting why not. */
static struct pol_expr *parse_expr(struct pctx *c, const struct ynode *v, const char *key)
{
	struct pol_expr_err err;
	struct pol_expr *e;

	if (!pv_is_str(v)) {
		ERR(c, v->pos, "'%s' must be a label expression (a string)", key);
		return NULL;
	}
	if ((e = pol_expr_parse(v->str, v->len, pv_lookup_use, c, &err)))
		return e;
	if (err.unknown_label)
		pv_unknown_label(c, ynode_pos_at(v, err.off), err.msg, strlen(err.msg));
	else
		ERR(c, ynode_pos_at(v, err.off), "in label expression: %s", err.msg);
	return NULL;
}

static void parse_after(struct pctx *c, const struct ynode *m, struct pol_after *a)
{
	const struct ynode *v;

	a->pos = m->pos;
	if (m->type != Y_MAP) {
		ERR(c, m->pos, "'after' must be a mapping (command, exit, since)");
		return;
	}
	pv_check_keys(c, m, after_keys, "in 'after'");
	if (!(v = pv_map_get(m, "command")))
		ERR(c, m->pos, "'after' needs a 'command' (the command that must have run)");
	else if (v->type == Y_SEQ && v->n == 0)
		ERR(c, v->pos, "'command' is empty");
	else
		pv_commands(c, v, "command", &a->commands);
	if ((v = pv_map_get(m, "exit"))) {
		/* a plain number: 0 to 255, decimal digits only */
		bool ok = pv_is_str(v) && v->style == YAML_PLAIN_SCALAR_STYLE && v->len <= 3;
		int x = 0;

		for (size_t i = 0; ok && i < v->len; i++) {
			ok = isdigit((unsigned char)v->str[i]);
			x = x * 10 + (v->str[i] - '0');
		}
		if (!ok || x > 255) {
			ERR(c, v->pos, "'exit' must be an exit status, a number from 0 to 255");
		} else {
			a->has_exit = true;
			a->exit_code = x;
		}
	}
	if ((v = pv_map_get(m, "since")))
		pv_globs(c, v, "since", &a->since);
}

/* `when` and the `unless` items: the DNF, the after conditions. */
static void parse_conditions(struct pctx *c, const struct ynode *m, struct pol_rule *r)
{
	const struct ynode *when = pv_map_get(m, "when"), *un = pv_map_get(m, "unless");
	const struct ynode *single[1], *const *items = single, *at = when;
	struct pol_expr **parts;
	size_t n = 0, nparts = 1, nafter = 0, nterms;
	bool ok = true;

	if (un && !un->null) {
		if (un->type == Y_MAP) {
			single[0] = un;
			n = 1;
		} else if (un->type == Y_SEQ) {
			items = (const struct ynode *const *)un->kids;
			n = un->n;
		} else {
			ERR(c, un->pos, "'unless' must be a list of mappings with 'labels' or 'after'");
		}
	}
	if (!(parts = calloc(n + 1, sizeof(*parts))) ||
	    !(r->after = calloc(n ? n : 1, sizeof(*r->after)))) {
		free(parts);
		ERR(c, m->pos, "out of memory");
		return;
	}
	if (when && !(parts[0] = parse_expr(c, when, "when")))
		ok = false;
	if (!when)
		parts[0] = pol_expr_const(true);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = items[i], *lv, *av;

		if (it->type != Y_MAP) {
			ERR(c, it->pos, "an 'unless' item must be a mapping with 'labels' or 'after'");
			ok = false;
			continue;
		}
		pv_check_keys(c, it, unless_keys, "in 'unless'");
		lv = pv_map_get(it, "labels");
		av = pv_map_get(it, "after");
		if (!!lv == !!av) {
			ERR(c, it->pos, "an 'unless' item needs exactly one of 'labels' or 'after'");
			ok = false;
			continue;
		}
		if (av) {
			parse_after(c, av, &r->after[nafter++]);
			continue;
		}
		if (!at)
			at = lv;
		if (!(parts[nparts] = pol_expr_not(parse_expr(c, lv, "labels"))))
			ok = false;
		else
			nparts++;
	}
	r->nafter = nafter;
	if (!at)
		at = m;
	if (ok) {
		struct pol_expr *e = pol_expr_and(parts, nparts);

		int rc = e ? pol_expr_dnf(e, &r->when, &nterms) : -1;

		if (!e)
			ERR(c, at->pos, "out of memory");
		else if (rc != 0 && nterms)
			ERR(c, at->pos, "the condition has %zu terms in disjunctive normal form "
				"(when and not unless); at most %d are allowed", nterms, POL_MAX_TERMS);
		else if (rc != 0)
			ERR(c, at->pos, "the condition is too complex: it has more than %d terms in "
				"disjunctive normal form", POL_MAX_TERMS);
		else if (r->when.nterms == 0)
			WARN(c, at->pos, "rule can never fire: its condition is always false");
		pol_expr_free(e);
	} else {
		for (size_t i = 0; i < nparts; i++)
			pol_expr_free(parts[i]);
	}
	free(parts);
}

static void parse_target(struct pctx *c, const struct ynode *t, struct pol_rule *r)
{
	static const struct {
		const char *key;
		unsigned ops;
	} applies[] = {
		{ "endpoints", OPS_NET }, { "except", OPS_NET },
		{ "paths", POL_OP_EXEC | OPS_FILE }, { "paths_except", POL_OP_EXEC | OPS_FILE },
		{ "command", POL_OP_EXEC }, { "operands_outside", POL_OP_EXEC },
	};
	const struct ynode *v, *ep, *ex;

	pv_check_keys(c, t, target_keys, "in target");
	for (size_t i = 0; r->ops && i < COUNT(applies); i++) {
		const struct ynode *k = pv_map_key(t, applies[i].key);
		char on[64] = "";

		if (!k || (r->ops & applies[i].ops))
			continue;
		for (size_t o = 0; o < COUNT(ops); o++)
			if (r->ops & ops[o].op)
				snprintf(on + strlen(on), sizeof(on) - strlen(on), "%s%s",
					 on[0] ? ", " : "", ops[o].name);
		WARN(c, k->pos, "'%s' has no effect on %s", applies[i].key, on);
	}
	if ((v = pv_map_get(t, "paths")))
		pv_globs(c, v, "paths", &r->paths);
	if ((v = pv_map_get(t, "paths_except")))
		pv_globs(c, v, "paths_except", &r->paths_except);
	if ((v = pv_map_get(t, "command")))
		pv_commands(c, v, "command", &r->commands);
	if ((v = pv_map_get(t, "operands_outside")))
		pv_globs(c, v, "operands_outside", &r->operands_outside);
	ep = pv_map_get(t, "endpoints");
	ex = pv_map_get(t, "except");
	pv_endpoints(c, ep, ex, &r->endpoints);
	if (ex && !ep && r->endpoints.nexcept) {
		/* "everything but": an empty `in` would match nothing */
		struct pol_endpoint *any = calloc(1, sizeof(*any));

		if (any && (any->text = strdup("*"))) {
			any->kind = POL_EP_ANY;
			any->port_hi = 65535;
			any->pos = ex->pos;
			r->endpoints.in = any;
			r->endpoints.nin = 1;
		} else {
			free(any);
		}
	}
}

static void check_reason(struct pctx *c, const struct ynode *v)
{
	char sug[96];

	for (size_t i = 0; i < v->len; i++) {
		const char *close;
		size_t n;

		if (v->str[i] != '{')
			continue;
		if (i + 1 < v->len && v->str[i + 1] == '{') {
			i++;
			continue;
		}
		if (!(close = memchr(v->str + i, '}', v->len - i))) {
			ERR(c, ynode_pos_at(v, i), "unterminated '{' in 'reason' (write '{{' for a "
				"literal brace)");
			return;
		}
		n = (size_t)(close - v->str) - i - 1;
		bool known = false;

		for (const char *const *k = reason_vars; *k; k++)
			if (strlen(*k) == n && memcmp(*k, v->str + i + 1, n) == 0)
				known = true;
		if (!known)
			ERR(c, ynode_pos_at(v, i), "unknown variable '{%.*s}' in 'reason'%s; known: "
				"{rule} {op} {comm} {pid} {exe} {target} {labels}", n > 40 ? 40 : (int)n,
			    v->str + i + 1,
			    pv_suggest(sug, sizeof(sug), v->str + i + 1, n, reason_vars, pv_nstrs(reason_vars)));
		i = (size_t)(close - v->str);
	}
}

static bool rule_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= POL_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static void parse_rule(struct pctx *c, const struct ynode *m, struct pol_rule *r,
		       struct pol_pos *name_pos)
{
	const struct ynode *v, *t;
	char sug[96];

	r->pos = *name_pos = m->pos;
	if (m->type != Y_MAP) {
		ERR(c, m->pos, "a rule must be a mapping (name, on, target, when, unless, effect, "
			"reason)");
		return;
	}
	pv_check_keys(c, m, rule_keys, "in rule");
	if ((v = pv_get_str(c, m, "name"))) {
		*name_pos = v->pos;
		if (!rule_name_ok(v->str, v->len))
			ERR(c, v->pos, "bad rule name '%.60s': letters, digits, '_', '.' and '-', at most "
				"%d characters", v->str, POL_NAME_MAX - 1);
		else
			memcpy(r->name, v->str, v->len + 1);
	}
	if (!(v = pv_map_get(m, "on"))) {
		ERR(c, m->pos, "rule has no 'on' (the operations it applies to: %s)",
		    "exec, open, read, write, unlink, rename, connect, send");
	} else {
		struct ynode *const *items;
		size_t n;

		if (pv_list(c, v, "on", &items, &n)) {
			if (n == 0)
				ERR(c, v->pos, "'on' is empty");
			for (size_t i = 0; i < n; i++) {
				size_t o = 0;

				while (o < COUNT(ops) && strcmp(ops[o].name, items[i]->str) != 0)
					o++;
				if (o < COUNT(ops))
					r->ops |= ops[o].op;
				else
					ERR(c, items[i]->pos, "unknown operation '%.40s'%s", items[i]->str,
					    pv_suggest(sug, sizeof(sug), items[i]->str, items[i]->len, op_names,
						    COUNT(ops)));
			}
		}
	}
	if ((t = pv_get_map(c, m, "target", "endpoints, except, paths, paths_except, command, "
			 "operands_outside")))
		parse_target(c, t, r);
	parse_conditions(c, m, r);
	if (!(v = pv_map_key(m, "effect"))) {
		ERR(c, m->pos, "rule has no 'effect' (block, kill or notify)");
	} else if ((v = pv_get_str(c, m, "effect"))) {
		size_t e = 0;

		while (effect_names[e] && strcmp(effect_names[e], v->str) != 0)
			e++;
		if (effect_names[e])
			r->effect = (enum pol_effect)(POL_BLOCK + e);
		else
			ERR(c, v->pos, "unknown effect '%.40s'%s: block, kill or notify", v->str,
			    pv_suggest(sug, sizeof(sug), v->str, v->len, effect_names, 3));
	}
	if (!(v = pv_map_key(m, "reason"))) {
		ERR(c, m->pos, "rule has no 'reason' (the message for the agent)");
	} else if ((v = pv_get_str(c, m, "reason"))) {
		size_t a = 0, b = v->len;

		while (a < b && isspace((unsigned char)v->str[a]))
			a++;
		while (b > a && isspace((unsigned char)v->str[b - 1]))
			b--;
		if (a == b)
			ERR(c, v->pos, "'reason' is empty");
		else if ((r->reason = strndup(v->str + a, b - a)))
			check_reason(c, v);
	}
}

void pv_rules(struct pctx *c, const struct ynode *v)
{
	struct policy *p = c->p;
	struct pol_pos *name_pos;
	size_t n;

	if (!v || v->null)
		return;
	if (v->type != Y_SEQ) {
		ERR(c, v->pos, "'rules' must be a list of rules");
		return;
	}
	n = v->n;
	if (n > POL_MAX_RULES) {
		ERR(c, v->kids[POL_MAX_RULES]->pos, "too many rules (at most %d)", POL_MAX_RULES);
		n = POL_MAX_RULES;
	}
	p->rules = calloc(n ? n : 1, sizeof(*p->rules));
	name_pos = calloc(n ? n : 1, sizeof(*name_pos));
	if (!p->rules || !name_pos) {
		free(name_pos);
		ERR(c, v->pos, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		parse_rule(c, v->kids[i], &p->rules[i], &name_pos[i]);
		p->nrules++;
	}
	for (size_t i = 0; i < n; i++)
		if (!p->rules[i].name[0])
			snprintf(p->rules[i].name, sizeof(p->rules[i].name), "rule-%zu", i + 1);
	for (size_t i = 1; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->rules[i].name, p->rules[j].name) == 0) {
				ERR(c, name_pos[i], "duplicate rule name '%s' (first at %u:%u)",
				    p->rules[i].name, name_pos[j].line, name_pos[j].col);
				break;
			}
		}
	}
	free(name_pos);
}

