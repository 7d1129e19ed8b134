/* Asking before a tool runs. See preflight.h. */
#include "guard/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guard/causal.h"
#include "guard/fan.h"
#include "guard/guard.h"

void pf_which(const char *argv0, const char *cwd, const char *path_env, char *out, size_t len)
{
	char cand[PATH_MAX], abs[PATH_MAX];
	const char *p;

	if (strchr(argv0, '/')) {
		pol_absolute(cwd ? cwd : "/", argv0, out, len);
		return;
	}
	p = path_env && path_env[0] ? path_env : "/usr/local/bin:/usr/bin:/bin";
	while (*p) {
		size_t n = strcspn(p, ":");
		struct stat st;

		/* an empty PATH element means the current directory: the
		 * tool's, like every relative element */
		if (snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, n ? p : ".", argv0) <
		    (int)sizeof(cand)) {
			pol_absolute(cwd ? cwd : "/", cand, abs, sizeof(abs));
			if (!stat(abs, &st) && S_ISREG(st.st_mode) && !access(abs, X_OK)) {
				snprintf(out, len, "%s", abs);
				return;
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	snprintf(out, len, "%s", argv0);
}

/* A target path and the file it resolves to (symlinks; for a file not
 * there yet, its directory resolved), worked out once per target. */
struct cands {
	const char *v[2];
	char real[PATH_MAX];
};

static void cands_of(const char *path, struct cands *c)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	c->v[0] = path;
	c->v[1] = NULL;
	if (realpath(path, c->real)) {
		c->v[1] = c->real;
	} else if (slash && slash != path && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (realpath(dir, c->real) && strlen(c->real) + strlen(slash) < sizeof(c->real)) {
			strcat(c->real, slash);
			c->v[1] = c->real;
		}
	}
}

/* Does one of the rule's path globs take the target? */
static bool path_in(const struct pol_rule *r, const struct cands *t)
{
	bool in = !r->paths.n;

	for (int c = 0; c < 2 && t->v[c] && !in; c++)
		for (size_t i = 0; i < r->paths.n && !in; i++)
			in = pol_glob_match(r->paths.v[i].pattern, t->v[c]);
	for (int c = 0; c < 2 && t->v[c] && in; c++)
		for (size_t i = 0; i < r->paths_except.n && in; i++)
			if (pol_glob_match(r->paths_except.v[i].pattern, t->v[c]))
				in = false;
	return in;
}

static bool exec_hits(const struct pol_rule *r, const struct cands *exe, char **argv,
		      size_t argc, const char *cwd)
{
	bool any = false;

	for (size_t i = 0; i < r->commands.n && !any; i++)
		any = pol_command_match(&r->commands.v[i], exe->v[0], argv, argc);
	if (r->commands.n && !any)
		return false;
	if (r->paths.n && !path_in(r, exe))
		return false;
	return pol_operands_outside(r, cwd, argv, argc);
}

static bool after_holds(struct fan *f, const struct pol_rule *r, size_t ri)
{
	bool holds = false;

	if (!r->nafter || !f || !f->causal)
		return false;
	pthread_mutex_lock(&f->mu);
	for (size_t k = 0; !holds && k < r->nafter; k++)
		holds = causal_holds(f->causal, ri, k, NULL, 0);
	pthread_mutex_unlock(&f->mu);
	return holds;
}

static unsigned file_ops(unsigned access)
{
	unsigned ops = POL_OP_OPEN;

	if (access & PF_READ)
		ops |= POL_OP_READ;
	if (access & PF_WRITE)
		ops |= POL_OP_WRITE;
	return ops;
}

/* The rules that apply to one operation; the answer takes the first
 * operation any block or kill rule applies to. */
static bool judge(struct guard *g, struct fan *f, const struct pf_query *q, struct pf_answer *a,
		  unsigned ops, const char *target, char **argv, size_t argc)
{
	const struct policy *p = g->pol;
	enum pol_effect eff = 0;
	struct cands *t = malloc(sizeof(*t));

	a->nfired = 0;
	if (!t)
		return false;
	cands_of(target, t);
	for (size_t ri = 0; ri < p->nrules; ri++) {
		const struct pol_rule *r = &p->rules[ri];
		bool hit;

		if (!(r->ops & ops) || r->effect == POL_NOTIFY || !pol_dnf_eval(&r->when, &a->set))
			continue;
		hit = ops == POL_OP_EXEC ? exec_hits(r, t, argv, argc, q->cwd) : path_in(r, t);
		if (!hit || after_holds(f, r, ri))
			continue;
		if (a->nfired < sizeof(a->fired) / sizeof(a->fired[0]))
			a->fired[a->nfired++] = ri;
		if (r->effect == POL_KILL || !eff)
			eff = r->effect;
	}
	free(t);
	if (!a->nfired)
		return false;
	a->refused = true;
	a->rule = a->fired[0];
	a->effect = eff;
	a->op = POL_OP_EXEC;
	if (ops != POL_OP_EXEC)
		a->op = p->rules[a->rule].ops & ops & POL_OP_WRITE ? POL_OP_WRITE
			: p->rules[a->rule].ops & ops & POL_OP_READ ? POL_OP_READ : POL_OP_OPEN;
	snprintf(a->target, sizeof(a->target), "%s", target);
	return true;
}

static void format(struct guard *g, const struct pf_query *q, struct pf_answer *a)
{
	const struct pol_rule *r = &g->pol->rules[a->rule];
	char exe[PATH_MAX];

	if (a->op == POL_OP_EXEC)
		snprintf(exe, sizeof(exe), "%s", a->target);
	else
		snprintf(exe, sizeof(exe), "?");
	guard_format_reason(r->reason, r->name, pol_op_name(a->op), "tool", q->pid, exe, a->target,
			    a->labels[0] ? a->labels : "no labels", a->reason, sizeof(a->reason));
	if (!a->reason[0])   /* a template is never empty; keep the promise anyway */
		snprintf(a->reason, sizeof(a->reason), "policy rule %s", r->name);
}

void preflight(struct guard *g, struct fan *f, const struct pf_query *q, struct pf_answer *a)
{
	char path[PATH_MAX];

	memset(a, 0, sizeof(*a));
	guard_proc_labels(g, q->pid, &a->set);
	guard_labels_text(g->pol, &a->set, a->labels, sizeof(a->labels), NULL);
	for (size_t i = 0; i < q->nexecs; i++) {
		if (!q->argcs[i])
			continue;
		/* the executable as the asker found it on the tool's PATH; a
		 * search here would stat() on the recorder's thread */
		if (q->exes && q->exes[i] && q->exes[i][0] == '/')
			pol_absolute("/", q->exes[i], path, sizeof(path));
		else
			pol_absolute(q->cwd ? q->cwd : "/", q->argvs[i][0], path, sizeof(path));
		if (judge(g, f, q, a, POL_OP_EXEC, path, q->argvs[i], q->argcs[i])) {
			a->exec = i;
			format(g, q, a);
			return;
		}
	}
	for (size_t i = 0; i < q->nfiles; i++) {
		pol_absolute(q->cwd ? q->cwd : "/", q->files[i], path, sizeof(path));
		if (judge(g, f, q, a, file_ops(q->access[i]), path, NULL, 0)) {
			a->exec = i;
			format(g, q, a);
			return;
		}
	}
}

json_t *preflight_violation_json(const struct guard *g, const struct pf_query *q,
				 const struct pf_answer *a, uint64_t session, const char *agent,
				 const char *tool, const char *tool_use_id)
{
	char comm[32] = "?", path[64];
	FILE *fp;
	json_t *o = json_object(), *rules = json_array(), *lab = json_array();
	struct timespec ts;
	char dummy[2];

	if (!o || !rules || !lab) {
		json_decref(o);
		json_decref(rules);
		json_decref(lab);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	/* the asking process as the kernel names it, not as the request does */
	snprintf(path, sizeof(path), "/proc/%u/comm", q->pid);
	if ((fp = fopen(path, "re"))) {
		if (fgets(comm, sizeof(comm), fp))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(fp);
	}
	for (size_t i = 0; i < a->nfired; i++)
		json_array_append_new(rules, json_string(g->pol->rules[a->fired[i]].name));
	guard_labels_text(g->pol, &a->set, dummy, 0, lab);
	json_object_set_new(o, "type", json_string("violation"));
	json_object_set_new(o, "ts_ns", json_integer((json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec));
	json_object_set_new(o, "session", json_integer((json_int_t)session));
	json_object_set_new(o, "pid", json_integer(q->pid));
	json_object_set_new(o, "comm", json_string(comm));
	if (agent)
		json_object_set_new(o, "agent", json_string(agent));
	json_object_set_new(o, "rule", json_string(g->pol->rules[a->rule].name));
	json_object_set_new(o, "rules", rules);
	json_object_set_new(o, "op", json_string(pol_op_name(a->op)));
	json_object_set_new(o, "effect", json_string(pol_effect_name(a->effect)));
	/* refused before it ran: nothing to kill, the tool never started */
	json_object_set_new(o, "mechanism", json_string("hook"));
	json_object_set_new(o, "errno", json_integer(0));
	json_object_set_new(o, "target", json_string(a->target));
	json_object_set_new(o, "exe", json_string(a->op == POL_OP_EXEC ? a->target : "?"));
	json_object_set_new(o, "labels", lab);
	json_object_set_new(o, "reason", json_string(a->reason));
	if (a->op == POL_OP_EXEC) {
		json_t *argv = json_array();

		for (size_t i = 0; i < q->argcs[a->exec]; i++)
			json_array_append_new(argv, json_string(q->argvs[a->exec][i]));
		json_object_set_new(o, "argv", argv);
	}
	if (tool)
		json_object_set_new(o, "tool", json_string(tool));
	if (tool_use_id)
		json_object_set_new(o, "tool_use_id", json_string(tool_use_id));
	return o;
}
