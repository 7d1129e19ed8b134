/* Causal order: after/since conditions. See causal.h. */
#include "guard/causal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One condition's history. */
struct cond {
	const struct pol_after *a;
	uint64_t last_ok_ns;    /* start of the latest run that satisfied it, 0 none */
	uint64_t last_write_ns; /* latest write under `since`, 0 none */
	char last_write[256];   /* its path, for the reason */
	bool ran_failed;        /* the latest matching run exited otherwise */
	int failed_code;        /* its exit code (-1: killed by a signal) */
};

#define CAUSAL_ARGC_MAX 256

/* A matching process still running. */
struct run {
	uint32_t pid;
	uint64_t start_ns;
	uint64_t exec_ns;
	size_t cond;
};

struct causal {
	const struct policy *p;
	struct cond *conds;
	size_t nconds;
	size_t *first;          /* rule -> index of its first condition */
	struct run *runs;
	size_t nruns, capruns;
};

struct causal *causal_new(const struct policy *p)
{
	struct causal *c = calloc(1, sizeof(*c));
	size_t n = 0;

	if (!c)
		return NULL;
	c->p = p;
	for (size_t r = 0; r < p->nrules; r++)
		n += p->rules[r].nafter;
	c->conds = calloc(n ? n : 1, sizeof(*c->conds));
	c->first = calloc(p->nrules ? p->nrules : 1, sizeof(*c->first));
	if (!c->conds || !c->first) {
		causal_free(c);
		return NULL;
	}
	for (size_t r = 0; r < p->nrules; r++) {
		c->first[r] = c->nconds;
		for (size_t k = 0; k < p->rules[r].nafter; k++)
			c->conds[c->nconds++].a = &p->rules[r].after[k];
	}
	return c;
}

void causal_free(struct causal *c)
{
	if (!c)
		return;
	free(c->conds);
	free(c->first);
	free(c->runs);
	free(c);
}

static uint64_t u64(const json_t *ev, const char *k)
{
	return (uint64_t)json_integer_value(json_object_get(ev, k));
}

/*
 * A script started through its #! line is recorded as its interpreter
 * ("/bin/sh ./run-tests"): the command the user ran is the exec'd file
 * (the event's filename) with the arguments after it. Points *sargs into
 * args (the slot before the script's arguments is reused for its name), or
 * NULL when this exec is not a script.
 */
static void script_argv(const json_t *ev, char **args, size_t argc, char *abs, size_t abslen,
			char ***sargs, size_t *sargc)
{
	const char *file = json_string_value(json_object_get(ev, "filename"));
	const char *cwd = json_string_value(json_object_get(ev, "cwd"));

	*sargs = NULL;
	*sargc = 0;
	if (!file)
		return;
	/* [interpreter, (one optional argument), script, args...] */
	for (size_t i = 1; i < argc && i <= 2; i++) {
		if (strcmp(args[i], file))
			continue;
		/* command words with a '/' are absolute in the policy */
		pol_absolute(cwd ? cwd : "/", file, abs, abslen);
		args[i] = abs;
		*sargs = &args[i];
		*sargc = argc - i;
		return;
	}
}

static void exec_seen(struct causal *c, const json_t *ev)
{
	const json_t *argv = json_object_get(ev, "argv");
	const char *exe = json_string_value(json_object_get(ev, "exe"));
	char *args[CAUSAL_ARGC_MAX], **sargs, abs[4096];
	size_t argc = 0, sargc;

	if (!json_is_array(argv))
		return;
	for (size_t i = 0; i < json_array_size(argv) && argc < CAUSAL_ARGC_MAX; i++) {
		const char *s = json_string_value(json_array_get(argv, i));

		if (s)
			args[argc++] = (char *)s;
	}
	script_argv(ev, args, argc, abs, sizeof(abs), &sargs, &sargc);
	for (size_t i = 0; i < c->nconds; i++) {
		const struct pol_commands *cmds = &c->conds[i].a->commands;

		for (size_t k = 0; k < cmds->n; k++) {
			struct run *r;

			if (!pol_command_match(&cmds->v[k], exe ? exe : "", args, argc) &&
			    !(sargs && pol_command_match(&cmds->v[k], sargs[0], sargs, sargc)))
				continue;
			/* without an exit condition, having started is enough */
			if (!c->conds[i].a->has_exit) {
				uint64_t ts = u64(ev, "ts_ns");

				if (ts > c->conds[i].last_ok_ns)
					c->conds[i].last_ok_ns = ts;
				c->conds[i].ran_failed = false;
				break;
			}
			if (c->nruns == c->capruns) {
				size_t cap = c->capruns ? c->capruns * 2 : 16;
				struct run *n = realloc(c->runs, cap * sizeof(*n));

				if (!n)
					return;
				c->runs = n;
				c->capruns = cap;
			}
			r = &c->runs[c->nruns++];
			r->pid = (uint32_t)u64(ev, "pid");
			r->start_ns = u64(ev, "start_ns");
			r->exec_ns = u64(ev, "ts_ns");
			r->cond = i;
			break;
		}
	}
}

static void exit_seen(struct causal *c, const json_t *ev)
{
	uint32_t pid = (uint32_t)u64(ev, "pid");
	uint64_t start = u64(ev, "start_ns");
	const json_t *code = json_object_get(ev, "code");

	for (size_t i = 0; i < c->nruns;) {
		struct run *r = &c->runs[i];

		if (r->pid != pid || r->start_ns != start) {
			i++;
			continue;
		}
		struct cond *k = &c->conds[r->cond];
		bool ok = json_is_integer(code) &&
			  (!k->a->has_exit || json_integer_value(code) == k->a->exit_code);

		if (ok) {
			if (r->exec_ns > k->last_ok_ns)
				k->last_ok_ns = r->exec_ns;
			k->ran_failed = false;
		} else {
			k->ran_failed = true;
			k->failed_code = json_is_integer(code) ? (int)json_integer_value(code) : -1;
		}
		c->runs[i] = c->runs[--c->nruns];
	}
}

static bool is_write(const json_t *ev, const char *type)
{
	const char *acc;

	if (!strcmp(type, "unlink") || !strcmp(type, "rename") || !strcmp(type, "mkdir"))
		return true;
	if (strcmp(type, "open"))
		return false;
	acc = json_string_value(json_object_get(ev, "access"));
	return (acc && (!strcmp(acc, "write") || !strcmp(acc, "read-write"))) ||
	       json_is_true(json_object_get(ev, "truncate")) ||
	       json_is_true(json_object_get(ev, "create"));
}

static void write_seen(struct causal *c, const json_t *ev, const char *path)
{
	uint64_t ts = u64(ev, "ts_ns");

	for (size_t i = 0; i < c->nconds; i++) {
		struct cond *k = &c->conds[i];

		for (size_t g = 0; g < k->a->since.n; g++) {
			if (!pol_glob_match(k->a->since.v[g].pattern, path))
				continue;
			if (ts > k->last_write_ns) {
				k->last_write_ns = ts;
				snprintf(k->last_write, sizeof(k->last_write), "%s", path);
			}
			break;
		}
	}
}

void causal_observe(struct causal *c, const json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	const json_t *ret;

	if (!c || !type || !c->nconds)
		return;
	if (!strcmp(type, "exec")) {
		exec_seen(c, ev);
		return;
	}
	if (!strcmp(type, "exit")) {
		exit_seen(c, ev);
		return;
	}
	if (!is_write(ev, type))
		return;
	/* a write that failed changed nothing */
	ret = json_object_get(ev, "ret");
	if (json_is_integer(ret) && json_integer_value(ret) < 0)
		return;
	for (const char *k = "path"; k; k = strcmp(k, "path") ? NULL : "new_path") {
		const char *path = json_string_value(json_object_get(ev, k));

		if (path)
			write_seen(c, ev, path);
	}
}

bool causal_holds(const struct causal *c, size_t rule, size_t k, char *why, size_t whylen)
{
	const struct cond *d;

	if (!c || rule >= c->p->nrules || k >= c->p->rules[rule].nafter)
		return false;
	d = &c->conds[c->first[rule] + k];
	if (d->last_ok_ns && d->last_ok_ns > d->last_write_ns)
		return true;
	if (why && whylen) {
		const char *cmd = d->a->commands.n ? d->a->commands.v[0].text : "the required command";

		if (d->ran_failed && d->failed_code >= 0)
			snprintf(why, whylen, "the last %s exited with %d", cmd, d->failed_code);
		else if (d->ran_failed)
			snprintf(why, whylen, "the last %s was killed by a signal", cmd);
		else if (!d->last_ok_ns)
			snprintf(why, whylen, "%s has not %s in this session",
				 d->a->commands.n ? d->a->commands.v[0].text : "the required command",
				 d->a->has_exit ? "succeeded" : "run");
		else
			snprintf(why, whylen, "%s changed after %s last %s", d->last_write,
				 d->a->commands.n ? d->a->commands.v[0].text : "the required command",
				 d->a->has_exit ? "succeeded" : "ran");
	}
	return false;
}
