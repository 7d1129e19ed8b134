/* What the control socket answers. See hookserv.h. */
#include "guard/hookserv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"
#include "guard/preflight.h"

#define MAX_SESSIONS 64       /* sessions with a log of their own */
#define KEEP_VIOLATIONS 256   /* recent violations per session */
#define KEEP_MARKS 64         /* tool calls per session whose "pre" was seen */
#define POST_MAX 32           /* violations in one "post" answer (then a count) */
#define MAX_EXECS 256
#define MAX_ARGS 256
#define MAX_FILES 256

struct kept {
	uint64_t seq;
	json_t *ev;
};

struct mark {
	uint64_t seq;
	char id[256];
};

/* What one session's hooks can ask about: its own decisions only, so that
 * a busy (or hostile) session cannot push another's out. */
struct sess_log {
	uint64_t session;
	uint64_t last_use;
	struct kept kept[KEEP_VIOLATIONS];  /* ring, by seq */
	uint64_t seq;                       /* violations noted so far */
	struct mark marks[KEEP_MARKS];      /* ring */
	unsigned next_mark;
	uint64_t cursor;                    /* seq at the last "post" */
};

struct hookserv {
	struct guard *g;
	struct fan *f;
	char *policy_path;
	struct hookserv_ops ops;
	struct sess_log *logs[MAX_SESSIONS];
	uint64_t clock;                     /* for least-recently-used eviction */
};

struct hookserv *hookserv_new(struct guard *g, struct fan *f, const char *policy_path,
			      const struct hookserv_ops *ops)
{
	struct hookserv *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->g = g;
	h->f = f;
	h->ops = *ops;
	h->policy_path = strdup(policy_path ? policy_path : "");
	if (!h->policy_path) {
		free(h);
		return NULL;
	}
	return h;
}

static void log_free(struct sess_log *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < KEEP_VIOLATIONS; i++)
		json_decref(l->kept[i].ev);
	free(l);
}

void hookserv_free(struct hookserv *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < MAX_SESSIONS; i++)
		log_free(h->logs[i]);
	free(h->policy_path);
	free(h);
}

/* The session's log, made (evicting the least recently used) if needed;
 * NULL only when out of memory. */
static struct sess_log *log_of(struct hookserv *h, uint64_t session)
{
	size_t victim = 0;

	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		if (h->logs[i] && h->logs[i]->session == session) {
			h->logs[i]->last_use = ++h->clock;
			return h->logs[i];
		}
		if (!h->logs[i] || (h->logs[victim] && h->logs[i]->last_use < h->logs[victim]->last_use))
			victim = i;
	}
	log_free(h->logs[victim]);
	h->logs[victim] = calloc(1, sizeof(struct sess_log));
	if (h->logs[victim]) {
		h->logs[victim]->session = session;
		h->logs[victim]->last_use = ++h->clock;
	}
	return h->logs[victim];
}

void hookserv_note_violation(struct hookserv *h, const json_t *ev)
{
	const char *mech = json_string_value(json_object_get(ev, "mechanism"));
	struct sess_log *l;
	struct kept *k;

	/* the agent was told of a "hook" refusal when it asked */
	if (mech && !strcmp(mech, "hook"))
		return;
	l = log_of(h, (uint64_t)json_integer_value(json_object_get(ev, "session")));
	if (!l)
		return;
	k = &l->kept[l->seq % KEEP_VIOLATIONS];
	json_decref(k->ev);
	k->ev = json_deep_copy(ev);
	k->seq = ++l->seq;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- status ---------------------------------------------------------------- */

static json_t *status(struct hookserv *h, pid_t pid, uint64_t session)
{
	struct pol_labelset set;
	json_t *labels = json_array();

	if (!h->g)
		return json_pack("{s:I, s:s, s:I, s:o}", "session", (json_int_t)session, "policy", "",
				 "rules", (json_int_t)0, "labels", labels);
	guard_proc_labels(h->g, (uint32_t)pid, &set);
	guard_labels_text(h->g->pol, &set, NULL, 0, labels);
	return json_pack("{s:I, s:s, s:I, s:o}", "session", (json_int_t)session, "policy",
			 h->policy_path, "rules", (json_int_t)h->g->pol->nrules, "labels", labels);
}

/* ---- pre ------------------------------------------------------------------- */

static void put_mark(struct hookserv *h, uint64_t session, const char *id)
{
	struct sess_log *l = log_of(h, session);
	struct mark *m;

	if (!l || strlen(id) >= sizeof(m->id))   /* no mark: "since the last post" */
		return;
	m = &l->marks[l->next_mark++ % KEEP_MARKS];
	m->seq = l->seq;
	memcpy(m->id, id, strlen(id) + 1);
}

/* The request's commands and files, as a preflight query (pointers into
 * req, which outlives the query). */
struct parsed {
	struct pf_query q;
	char **argv_store;
	char ***argvs;
	size_t *argcs;
	const char **exes;
	const char **files;
	unsigned *access;
};

static void parsed_free(struct parsed *p)
{
	free(p->argv_store);
	free(p->argvs);
	free(p->argcs);
	free(p->exes);
	free(p->files);
	free(p->access);
}

static const char *parse_pre(const json_t *req, pid_t pid, struct parsed *p)
{
	const json_t *cmds = json_object_get(req, "commands"), *files = json_object_get(req, "files");
	const json_t *exes = json_object_get(req, "exes");
	size_t ncmds = json_is_array(cmds) ? json_array_size(cmds) : 0;
	size_t nfiles = json_is_array(files) ? json_array_size(files) : 0, used = 0;

	memset(p, 0, sizeof(*p));
	if ((cmds && !json_is_array(cmds)) || (files && !json_is_array(files)))
		return "commands and files must be arrays";
	if (ncmds > MAX_EXECS || nfiles > MAX_FILES)
		return "too many commands or files in one request";
	p->argv_store = calloc(ncmds * MAX_ARGS + 1, sizeof(char *));
	p->argvs = calloc(ncmds + 1, sizeof(char **));
	p->argcs = calloc(ncmds + 1, sizeof(size_t));
	p->exes = calloc(ncmds + 1, sizeof(char *));
	p->files = calloc(nfiles + 1, sizeof(char *));
	p->access = calloc(nfiles + 1, sizeof(unsigned));
	if (!p->argv_store || !p->argvs || !p->argcs || !p->exes || !p->files || !p->access)
		return "out of memory";
	for (size_t i = 0; i < ncmds; i++) {
		const json_t *argv = json_array_get(cmds, i);
		size_t n = json_is_array(argv) ? json_array_size(argv) : 0;

		if (!json_is_array(argv) || n > MAX_ARGS)
			return "each command is an array of at most 256 strings";
		p->argvs[i] = &p->argv_store[used];
		for (size_t k = 0; k < n; k++) {
			const char *w = json_string_value(json_array_get(argv, k));

			if (!w)
				return "each command is an array of strings";
			p->argv_store[used++] = (char *)w;
		}
		p->argcs[i] = n;
		p->exes[i] = json_string_value(json_array_get(exes, i));  /* NULL: argv[0] */
	}
	for (size_t i = 0; i < nfiles; i++) {
		const json_t *f = json_array_get(files, i);
		const char *acc = str(f, "access");

		p->files[i] = str(f, "path");
		if (!p->files[i] || !p->files[i][0] || !acc)
			return "each file is {\"path\": ..., \"access\": \"read\"|\"write\"|\"readwrite\"}";
		p->access[i] = !strcmp(acc, "read") ? PF_READ : !strcmp(acc, "write") ? PF_WRITE
			: !strcmp(acc, "readwrite") ? PF_READ | PF_WRITE : 0;
		if (!p->access[i])
			return "access is read, write or readwrite";
	}
	p->q.pid = (uint32_t)pid;
	p->q.cwd = str(req, "cwd");
	if (!p->q.cwd || p->q.cwd[0] != '/')
		p->q.cwd = "/";
	p->q.exes = p->exes;
	p->q.argvs = p->argvs;
	p->q.argcs = p->argcs;
	p->q.nexecs = ncmds;
	p->q.files = p->files;
	p->q.access = p->access;
	p->q.nfiles = nfiles;
	return NULL;
}

static json_t *pre(struct hookserv *h, pid_t pid, uint64_t session, const json_t *req)
{
	const char *id = str(req, "tool_use_id"), *bad;
	struct parsed p;
	struct pf_answer *a;
	json_t *ans;

	/* a condition such as "tests passed since the last write" must see
	 * everything that happened before this tool call */
	h->ops.drain(h->ops.ctx);
	if (id)
		put_mark(h, session, id);
	bad = parse_pre(req, pid, &p);
	if (bad) {
		parsed_free(&p);
		return json_pack("{s:s, s:s}", "error", bad, "code", "bad_request");
	}
	if (!h->g) {   /* recording without a policy: nothing is refused */
		parsed_free(&p);
		return json_pack("{s:s}", "decision", "allow");
	}
	a = malloc(sizeof(*a));
	if (!a) {
		parsed_free(&p);
		return NULL;
	}
	preflight(h->g, h->f, &p.q, a);
	if (!a->refused) {
		ans = json_pack("{s:s}", "decision", "allow");
	} else {
		json_t *ev = preflight_violation_json(h->g, &p.q, a, session, str(req, "agent"),
						      str(req, "tool"), id);

		if (ev) {
			h->ops.emit(h->ops.ctx, ev);
			json_decref(ev);
		}
		ans = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "decision", "deny", "rule",
				h->g->pol->rules[a->rule].name, "effect", pol_effect_name(a->effect),
				"op", pol_op_name(a->op), "target", a->target, "reason", a->reason);
	}
	free(a);
	parsed_free(&p);
	return ans;
}

/* ---- post ------------------------------------------------------------------ */

/* Where the tool call began: its "pre" (the newest with that id), else
 * the session's previous "post". */
static uint64_t since_of(const struct sess_log *l, const char *id)
{
	for (unsigned n = 0; id && n < KEEP_MARKS && n < l->next_mark; n++) {
		const struct mark *m = &l->marks[(l->next_mark - 1 - n) % KEEP_MARKS];

		if (!strcmp(m->id, id))
			return m->seq;
	}
	return l->cursor;
}

/* Attributed to another tool call: not this one's. */
static bool belongs(const json_t *ev, const char *id)
{
	const char *call = str(ev, "tool_call");

	return !call || !id || !strcmp(call, id);
}

static json_t *summary(const json_t *ev)
{
	static const char *const keys[] = { "rule", "op", "effect", "target", "reason", "comm",
					    "pid", "mechanism", "enforced", "told", "exe" };
	json_t *o = json_object();

	for (size_t i = 0; o && i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(ev, keys[i]);

		if (v)
			json_object_set(o, keys[i], v);
	}
	return o;
}

static json_t *post(struct hookserv *h, uint64_t session, const json_t *req)
{
	const char *id = str(req, "tool_use_id");
	struct sess_log *l;
	uint64_t first, more = 0, lost = 0;
	json_t *list;

	h->ops.drain(h->ops.ctx);
	l = log_of(h, session);
	if (!l)
		return NULL;
	first = since_of(l, id) + 1;
	/* older than the ring: gone, and said so */
	if (l->seq > KEEP_VIOLATIONS && first < l->seq - KEEP_VIOLATIONS + 1) {
		lost = l->seq - KEEP_VIOLATIONS + 1 - first;
		first = l->seq - KEEP_VIOLATIONS + 1;
	}
	list = json_array();
	for (uint64_t s = first; list && s <= l->seq; s++) {
		const struct kept *k = &l->kept[(s - 1) % KEEP_VIOLATIONS];

		if (k->seq != s || !belongs(k->ev, id))
			continue;
		if (json_array_size(list) < POST_MAX)
			json_array_append_new(list, summary(k->ev));
		else
			more++;
	}
	l->cursor = l->seq;
	return json_pack("{s:o, s:I}", "violations", list ? list : json_array(), "more",
			 (json_int_t)(more + lost));
}

json_t *hookserv_handle(struct hookserv *h, pid_t pid, uint64_t session, const json_t *req)
{
	const char *op = str(req, "op");

	if (!op)
		return json_pack("{s:s, s:s}", "error", "no op", "code", "bad_request");
	if (!strcmp(op, "status"))
		return status(h, pid, session);
	if (!strcmp(op, "pre"))
		return pre(h, pid, session, req);
	if (!strcmp(op, "post"))
		return post(h, session, req);
	return json_pack("{s:s, s:s}", "error", "unknown op (status, pre, post)", "code",
			 "bad_request");
}
