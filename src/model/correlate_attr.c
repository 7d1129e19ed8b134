/* SPDX-License-Identifier: MIT */
/*
 * Which tool call an effect belongs to (correlate.h lists the signals):
 * a process by its lineage, its command line and the tool calls open when
 * it started; a file the agent itself touched by the path a tool call
 * named. And the members an attributed event gains.
 */
#include "model/correlate_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* s without quotes, backslashes and blanks: how a command compares with the
 * command line an agent wrapped it in. */
char *corr_normalize(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\'' || ch == '"' || ch == '\\' || isspace(ch))
			continue;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return out;
}

static char *argv_norm(const json_t *argv)
{
	size_t i, len = 1;
	json_t *a;
	char *joined, *out;

	json_array_foreach(argv, i, a)
		len += json_string_length(a) + 1;
	joined = calloc(1, len);
	if (!joined)
		return NULL;
	json_array_foreach(argv, i, a) {
		strcat(joined, json_string_value(a) ? json_string_value(a) : "");
		strcat(joined, " ");
	}
	out = corr_normalize(joined);
	free(joined);
	return out;
}

void corr_set_attribution(json_t *ev, const struct cproc *p)
{
	static const char *const names[] = { "lineage", "argv", "timing", "path" };
	json_t *sig = json_array(), *a = json_object();

	if (!sig || !a || !p->tool) {
		json_decref(sig);
		json_decref(a);
		return;
	}
	for (unsigned i = 0; i < 4; i++)
		if (p->signals & (1u << i))
			json_array_append_new(sig, json_string(names[i]));
	json_object_set_new(a, "confidence", json_real(p->conf));
	json_object_set_new(a, "signals", sig);
	json_object_set_new(ev, "tool_call", json_string(p->tool->id));
	json_object_set_new(ev, "llm_call", p->tool->llm_call ? json_string(p->tool->llm_call)
							       : json_null());
	json_object_set_new(ev, "attribution", a);
}

/* ---- attribution ------------------------------------------------------------------ */

/* The agent this process descends from (itself excluded), or NULL. */
static struct cproc *agent_above(struct correlator *c, const struct cproc *p)
{
	uint32_t pid = p->ppid;

	for (int i = 0; i < ANCESTRY_MAX && pid; i++) {
		struct cproc *a = corr_proc_get(c, p->session, pid, false);

		if (!a)
			return NULL;
		if (a->agent)
			return a;
		if (a->tool)
			return NULL; /* below an attributed process: lineage decides */
		pid = a->ppid;
	}
	return NULL;
}

static bool argv_matches(const struct ctool *t, const char *argv)
{
	if (!t->command_norm || !t->command_norm[0] || !argv)
		return false;
	if (strlen(t->command_norm) >= 6)
		return strstr(argv, t->command_norm) != NULL;
	/* a short command ("ls") must be the whole command line or its tail */
	{
		size_t a = strlen(argv), n = strlen(t->command_norm);

		return a >= n && !strcmp(argv + a - n, t->command_norm);
	}
}

void corr_attribute_exec(struct correlator *c, struct cproc *p, const json_t *argv)
{
	struct cproc *agent, *parent = corr_proc_get(c, p->session, p->ppid, false);
	struct ctool *best = NULL, *open_tool = NULL;
	int open_tools = 0;
	char *norm;

	if (parent && parent->tool && !parent->agent) {
		p->tool = parent->tool;
		p->conf = parent->conf;
		p->signals = parent->signals | SIG_LINEAGE;
		return;
	}
	agent = agent_above(c, p);
	if (!agent)
		return;
	norm = argv_norm(argv);
	for (struct ctool *t = c->tools; t; t = t->next) {
		if (t->session != p->session || t->agent_pid != agent->pid)
			continue;
		if (norm && argv_matches(t, norm) && (!best || !t->answered))
			best = t; /* the latest matching, preferring open ones */
		if (!t->answered && t->command_norm) {
			open_tools++;
			open_tool = t;
		}
	}
	free(norm);
	if (best) {
		p->tool = best;
		p->conf = best->answered ? 0.8 : 0.95;
		p->signals = SIG_LINEAGE | SIG_ARGV | (best->answered ? 0 : SIG_TIMING);
	} else if (open_tools == 1) {
		p->tool = open_tool;
		p->conf = 0.6;
		p->signals = SIG_LINEAGE | SIG_TIMING;
	}
}

/*
 * Does an event path stand for the file a tool call named? The file itself,
 * a temporary sibling written first and renamed over it ("app.py.tmp.123"),
 * or, when the kernel could only name the directory through the caller's
 * /proc/self/fd link, the same file name.
 */
static bool same_file(const char *path, const char *named)
{
	size_t n = strlen(named);
	const char *a, *b;

	if (!path)
		return false;
	if (!strncmp(path, named, n) && (path[n] == '\0' || path[n] == '.'))
		return true;
	if (strncmp(path, "/proc/self/fd/", 14))
		return false;
	a = strrchr(path, '/');
	b = strrchr(named, '/');
	return a && b && !strncmp(a, b, strlen(b)) && (a[strlen(b)] == '\0' || a[strlen(b)] == '.');
}

/* A file the agent itself touched: the tool call that named it. */
static struct ctool *tool_by_path(struct correlator *c, const struct cproc *agent,
				  const char *path, const char *to)
{
	struct ctool *found = NULL;

	for (struct ctool *t = c->tools; t; t = t->next)
		if (t->session == agent->session && t->agent_pid == agent->pid && t->file_path &&
		    !found && (same_file(path, t->file_path) || same_file(to, t->file_path)))
			found = t; /* the list is newest first */
	return found;
}

/*
 * The tool call an event of process p belongs to (NULL: none), and in *as
 * the attribution the event gains (as->tool NULL: none): the process's own,
 * or, for the agent itself, the tool call that named the file it touched.
 */
struct ctool *corr_attribute(struct correlator *c, const struct cproc *p, const char *path,
			       const char *to, struct cproc *as)
{
	memset(as, 0, sizeof(*as));
	if (!p)
		return NULL;
	if (p->agent) {
		/* in-process tools: the agent touched the file a tool call named */
		struct ctool *t = path ? tool_by_path(c, p, path, to) : NULL;

		if (t) {
			as->tool = t;
			as->conf = 0.9;
			as->signals = SIG_PATH;
		}
		return t;
	}
	as->tool = p->tool;
	as->conf = p->conf;
	as->signals = p->signals;
	return p->tool;
}

/* The members corr_set_attribution() adds, as the text json_out() gives them
 * at the end of the event: ',"tool_call":...,"attribution":{...}'. */
int corr_attribution_text(const struct cproc *as, struct jbuf *b)
{
	json_t *o = json_object();
	struct jbuf t;
	int rc = -1;

	jbuf_init(&t);
	if (o) {
		corr_set_attribution(o, as);
		/* all three members (none went missing for want of memory), as
		 * "{...}" without its braces */
		if (json_object_size(o) == 3 &&
		    json_object_size(json_object_get(o, "attribution")) == 2 &&
		    json_out(&t, o) == 0 && !jbuf_add(b, ",", 1) &&
		    !jbuf_add(b, t.p + 1, t.len - 2))
			rc = 0;
	}
	if (rc)
		b->len = 0;   /* nothing rather than half */
	json_decref(o);
	jbuf_free(&t);
	return rc;
}
