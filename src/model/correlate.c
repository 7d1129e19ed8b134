/* SPDX-License-Identifier: MIT */
/* The correlator's tables, each event's handling and the detectors; which
 * tool call an effect belongs to is correlate_attr.c's. See correlate.h. */
#include "model/correlate.h"
#include "model/correlate_int.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/detect.h"
#include "sinks/json_out.h"

/* ---- tables ------------------------------------------------------------------ */

static size_t bucket(uint64_t session, uint32_t pid)
{
	return (size_t)((session * 31 + pid) % PROC_BUCKETS);
}

struct cproc *corr_proc_get(struct correlator *c, uint64_t session, uint32_t pid, bool create)
{
	struct cproc **pp = &c->procs[bucket(session, pid)], *p;

	for (p = *pp; p; p = p->next)
		if (p->session == session && p->pid == pid)
			return p;
	if (!create || c->nprocs >= MAX_PROCS)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->session = session;
	p->pid = pid;
	p->next = *pp;
	*pp = p;
	c->nprocs++;
	return p;
}

static void proc_drop(struct correlator *c, uint64_t session, uint32_t pid)
{
	struct cproc **pp = &c->procs[bucket(session, pid)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->session == session && (*pp)->pid == pid) {
			struct cproc *p = *pp;

			*pp = p->next;
			free(p->secret_path);
			free(p);
			c->nprocs--;
			return;
		}
}

static struct csession *session_get(struct correlator *c, uint64_t id)
{
	struct csession *s;

	for (size_t i = 0; i < c->nsessions; i++)
		if (c->sessions[i].id == id)
			return &c->sessions[i];
	if (c->nsessions == MAX_SESSIONS)
		return NULL;
	s = &c->sessions[c->nsessions];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->socks = json_object();
	s->llm = json_object();
	s->tainted = json_object();
	s->reported = json_object();
	if (!s->socks || !s->llm || !s->tainted || !s->reported) {
		json_decref(s->socks);
		json_decref(s->llm);
		json_decref(s->tainted);
		json_decref(s->reported);
		return NULL;
	}
	c->nsessions++;
	return s;
}

static struct ctool *tool_find(struct correlator *c, uint64_t session, const char *id)
{
	for (struct ctool *t = c->tools; t; t = t->next)
		if (t->session == session && t->id && !strcmp(t->id, id))
			return t;
	return NULL;
}

/* ---- findings ------------------------------------------------------------------- */

/* The event a finding is about: where it points in the recording. */
struct subject {
	json_int_t session, ts_ns, pid, start_ns;
};

static struct subject subject_of(const json_t *ev)
{
	return (struct subject){ jint(ev, "session"), jint(ev, "ts_ns"), jint(ev, "pid"),
				 jint(ev, "start_ns") };
}

static void finding(struct correlator *c, json_t **out, struct subject ev, const char *kind,
		    const char *severity, const struct ctool *t, json_t *evidence,
		    const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void finding(struct correlator *c, json_t **out, struct subject ev, const char *kind,
		    const char *severity, const struct ctool *t, json_t *evidence,
		    const char *fmt, ...)
{
	json_t *f = json_object();
	char text[1024], id[64];
	va_list ap;

	if (!f) {
		json_decref(evidence);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(id, sizeof(id), "finding-%lld-%llu", (long long)ev.session,
		 (unsigned long long)(c->o.next_id ? ++*c->o.next_id : 0));
	json_object_set_new(f, "type", json_string("finding"));
	json_object_set_new(f, "id", json_string(id));
	json_object_set_new(f, "ts_ns", json_integer(ev.ts_ns));
	json_object_set_new(f, "session", json_integer(ev.session));
	json_object_set_new(f, "pid", json_integer(ev.pid));
	json_object_set_new(f, "start_ns", json_integer(ev.start_ns));
	json_object_set_new(f, "kind", json_string(kind));
	json_object_set_new(f, "severity", json_string(severity));
	json_object_set_new(f, "explanation", json_string(text));
	json_object_set_new(f, "tool_call", t ? json_string(t->id) : json_null());
	json_object_set_new(f, "tool_name", t && t->name ? json_string(t->name) : json_null());
	json_object_set_new(f, "intent", t && t->intent ? json_string(t->intent) : json_null());
	json_object_set_new(f, "llm_call", t && t->llm_call ? json_string(t->llm_call)
							    : json_null());
	json_object_set_new(f, "evidence", evidence ? evidence : json_array());
	/* the array is made for the first finding: most events have none */
	if (!*out)
		*out = json_array();
	if (*out)
		json_array_append_new(*out, f);
	else
		json_decref(f);
}

/* Raise each finding once per key. */
static bool first_time(struct csession *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool first_time(struct csession *s, const char *fmt, ...)
{
	char key[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	if (json_object_get(s->reported, key))
		return false;
	json_object_set_new(s->reported, key, json_true());
	return true;
}

static json_t *eids(json_int_t a, json_int_t b)
{
	json_t *arr = json_array();

	if (arr && a)
		json_array_append_new(arr, json_integer(a));
	if (arr && b)
		json_array_append_new(arr, json_integer(b));
	return arr;
}

/* ---- per event type ----------------------------------------------------------------- */

static void on_tool_call(struct correlator *c, const json_t *ev)
{
	const json_t *in = json_object_get(ev, "input");
	const char *id = jstr(ev, "id"), *cmd = jstr(in, "command"), *desc = jstr(in, "description");
	const char *fp = jstr(in, "file_path");
	struct ctool *t;

	if (!id)
		return;
	if (!fp)
		fp = jstr(in, "path") ? jstr(in, "path") : jstr(in, "notebook_path");
	t = calloc(1, sizeof(*t));
	if (!t)
		return;
	t->session = (uint64_t)jint(ev, "session");
	t->agent_pid = (uint32_t)jint(ev, "pid");
	t->id = strdup(id);
	t->llm_call = jstr(ev, "llm_call") ? strdup(jstr(ev, "llm_call")) : NULL;
	t->name = jstr(ev, "name") ? strdup(jstr(ev, "name")) : NULL;
	t->intent = strdup(desc ? desc : cmd ? cmd : "");
	t->command_norm = cmd ? corr_normalize(cmd) : NULL;
	t->file_path = fp ? strdup(fp) : NULL;
	t->cred_eids = json_array();
	t->cred_paths = json_array();
	t->next = c->tools;
	c->tools = t;
	{
		struct cproc *a = corr_proc_get(c, t->session, t->agent_pid, true);

		if (a)
			a->agent = true;
	}
}

static void mark_answered(struct correlator *c, uint64_t session, const char *id)
{
	struct ctool *t = id ? tool_find(c, session, id) : NULL;

	if (t)
		t->answered = true;
}

/* Tool results in a request: those tool calls are answered. */
static void on_llm_call(struct correlator *c, struct csession *s, const json_t *ev)
{
	const json_t *msgs = json_object_get(json_object_get(ev, "request"), "messages"), *m;
	struct cproc *a = corr_proc_get(c, s->id, (uint32_t)jint(ev, "pid"), true);
	char sock[32];
	const char *dest;
	size_t i, j;

	if (a)
		a->agent = true;
	snprintf(sock, sizeof(sock), "%lld", (long long)jint(ev, "sock"));
	dest = jstr(s->socks, sock);
	if (dest)
		json_object_set_new(s->llm, dest, json_true());
	json_array_foreach(msgs, i, m) {
		const json_t *content = json_object_get(m, "content"), *b;

		mark_answered(c, s->id, jstr(m, "tool_call_id")); /* OpenAI */
		json_array_foreach(content, j, b)
			mark_answered(c, s->id, jstr(b, "tool_use_id")); /* Anthropic */
	}
}

static void on_fork(struct correlator *c, const json_t *ev)
{
	uint64_t session = (uint64_t)jint(ev, "session");
	struct cproc *parent = corr_proc_get(c, session, (uint32_t)jint(ev, "ppid"), false);
	struct cproc *p;

	if (json_is_true(json_object_get(ev, "thread")))
		return;
	p = corr_proc_get(c, session, (uint32_t)jint(ev, "pid"), true);
	if (!p)
		return;
	p->ppid = (uint32_t)jint(ev, "ppid");
	if (parent && !parent->agent) {
		p->tool = parent->tool;
		p->conf = parent->conf;
		p->signals = parent->signals | (parent->tool ? SIG_LINEAGE : 0);
	}
	if (parent && parent->secret_eid) {
		p->secret_eid = parent->secret_eid;
		p->secret_path = parent->secret_path ? strdup(parent->secret_path) : NULL;
	}
}

static void on_exec(struct correlator *c, struct csession *s, json_t *ev, json_t **out)
{
	struct cproc *p = corr_proc_get(c, s->id, (uint32_t)jint(ev, "pid"), true);
	const json_t *argv = json_object_get(ev, "argv");
	char why[512];

	if (!p)
		return;
	p->ppid = (uint32_t)jint(ev, "ppid");
	if (!p->tool)
		corr_attribute_exec(c, p, argv);
	if (detect_destructive(argv, c->home[0] ? c->home : NULL, s->cwd, why, sizeof(why)) &&
	    first_time(s, "destructive/%lld", (long long)jint(ev, "eid")))
		finding(c, out, subject_of(ev), "destructive_command", "high", p->tool,
			eids(jint(ev, "eid"), 0), "%s", why);
}

/* Credential reads, tainted files, persistence, writes outside the workspace. */
/* What a file event says, from its object (the text path gives it as is). */
static void file_of(const json_t *ev, struct ev_file *f)
{
	memset(f, 0, sizeof(*f));
	f->type = jstr(ev, "type");
	f->session = jint(ev, "session");
	f->ts_ns = jint(ev, "ts_ns");
	f->pid = (uint32_t)jint(ev, "pid");
	f->start_ns = jint(ev, "start_ns");
	f->eid = jint(ev, "eid");
	f->path = jstr(ev, "path");
	f->new_path = jstr(ev, "new_path");
	f->access = jstr(ev, "access");
	f->ok = jint(ev, "ret") >= 0 && json_is_null(json_object_get(ev, "errno"));
}

static struct subject file_subject(const struct ev_file *f)
{
	return (struct subject){ f->session, f->ts_ns, f->pid, f->start_ns };
}

static void on_file(struct correlator *c, struct csession *s, const struct ev_file *f,
		    struct cproc *p, struct ctool *t, json_t **out)
{
	const char *type = f->type, *path = f->path, *access = f->access;
	const char *what = NULL;
	json_int_t eid = f->eid;
	bool reads = access && strstr(access, "read");
	bool writes = access && strstr(access, "write");

	if (!f->ok || !path || !strcmp(type, "chmod"))
		return;
	if (!strcmp(type, "open") && reads && detect_credential(path, c->o.credentials,
								 c->o.ncredentials, &what)) {
		if (p && !p->secret_eid) {
			p->secret_eid = eid;
			free(p->secret_path);
			p->secret_path = strdup(path);
		}
		if (t) {
			json_array_append_new(t->cred_eids, json_integer(eid));
			json_array_append_new(t->cred_paths, json_string(path));
		}
		if (first_time(s, "cred/%s/%s", t ? t->id : "-", path))
			finding(c, out, file_subject(f), "credential_access", "medium", t,
				eids(eid, 0), "read of %s (%s)%s%s", path, what,
				t ? " by tool call " : "", t ? t->id : "");
	} else if (!strcmp(type, "open") && reads && json_object_get(s->tainted, path) && p &&
		   !p->secret_eid) {
		/* a file written by a process that had read a credential */
		p->secret_eid = json_integer_value(json_object_get(s->tainted, path));
		p->secret_path = strdup(path);
	}
	if (p && p->secret_eid && (writes || !strcmp(type, "rename")))
		json_object_set_new(s->tainted, strcmp(type, "rename") ? path : f->new_path
					? f->new_path : path, json_integer(p->secret_eid));
	if (writes || !strcmp(type, "rename") || !strcmp(type, "unlink")) {
		const char *target = !strcmp(type, "rename") && f->new_path ? f->new_path : path;

		if (!strcmp(type, "unlink"))
			return;
		if (detect_persistence(target, &what) && first_time(s, "persist/%s", target))
			finding(c, out, file_subject(f), "persistence", "high", t, eids(eid, 0),
				"write to %s (%s)", target, what);
		else if (t && s->cwd && strncmp(target, s->cwd, strlen(s->cwd)) &&
			 !detect_scratch_path(target, c->home[0] ? c->home : NULL) &&
			 first_time(s, "outside/%s/%s", t->id, target))
			finding(c, out, file_subject(f), "write_outside_workspace", "low", t,
				eids(eid, 0), "write to %s, outside the workspace %s", target,
				s->cwd);
	}
}

static void intent_mismatch(struct correlator *c, struct csession *s, struct ctool *t,
			    const json_t *ev, json_int_t connect_eid, const char *dest, json_t **out)
{
	bool unexplained_dest = dest && !detect_intent_mentions(t->intent, dest);
	char reads[512] = "";
	size_t i, unexplained_reads = 0;
	json_t *evidence, *e;

	json_array_foreach(t->cred_paths, i, e) {
		if (detect_intent_mentions(t->intent, json_string_value(e)))
			continue;
		unexplained_reads++;
		if (strlen(reads) + json_string_length(e) + 3 < sizeof(reads)) {
			if (reads[0])
				strcat(reads, ", ");
			strcat(reads, json_string_value(e));
		}
	}
	/* An outbound connection alone is ordinary (dependencies, APIs); what a
	 * description must account for is a credential it touched. */
	if (t->mismatch_reported || !unexplained_reads)
		return;
	evidence = json_deep_copy(t->cred_eids);
	if (!evidence)
		return;
	if (connect_eid)
		json_array_append_new(evidence, json_integer(connect_eid));
	t->mismatch_reported = true;
	(void)s;
	if (unexplained_reads && unexplained_dest)
		finding(c, out, subject_of(ev), "intent_mismatch", "high", t, evidence,
			"tool call %s (%s) was described as \"%s\", but it read %s and opened a "
			"connection to %s, which that description does not account for",
			t->id, t->name ? t->name : "?", t->intent, reads, dest);
	else
		finding(c, out, subject_of(ev), "intent_mismatch", "medium", t, evidence,
			"tool call %s (%s) was described as \"%s\", but it read %s, which that "
			"description does not account for",
			t->id, t->name ? t->name : "?", t->intent, reads);
}

static void on_connect(struct correlator *c, struct csession *s, json_t *ev, struct cproc *p,
		       json_t **out)
{
	const char *daddr = jstr(ev, "daddr"), *err = jstr(ev, "errno");
	json_int_t dport = jint(ev, "dport"), eid = jint(ev, "eid");
	struct ctool *t = p ? p->tool : NULL;
	char dest[128], sock[32];

	if (!daddr || (err && strcmp(err, "EINPROGRESS")))
		return;
	snprintf(dest, sizeof(dest), strchr(daddr, ':') ? "[%s]:%lld" : "%s:%lld", daddr,
		 (long long)dport);
	snprintf(sock, sizeof(sock), "%lld", (long long)jint(ev, "sock"));
	json_object_set_new(s->socks, sock, json_string(dest));
	if (detect_metadata_addr(daddr) && first_time(s, "meta/%lld", (long long)eid))
		finding(c, out, subject_of(ev), "cloud_metadata", "high", t, eids(eid, 0),
			"connection to the cloud metadata service %s", dest);
	if (dport == 53 || json_object_get(s->llm, dest) || (p && p->agent))
		return;
	if (p && p->secret_eid && first_time(s, "exfil/%u/%s", p->pid, dest))
		finding(c, out, subject_of(ev), "exfiltration", "high", t, eids(p->secret_eid, eid),
			"a process that read %s (or data derived from it) connected to %s, "
			"which is not the session's LLM endpoint",
			p->secret_path ? p->secret_path : "a credential", dest);
	else if (t && json_array_size(t->cred_eids) &&
		 first_time(s, "exfil/%s/%s", t->id, dest)) {
		json_t *ev_ids = json_deep_copy(t->cred_eids);

		if (ev_ids)
			json_array_append_new(ev_ids, json_integer(eid));
		finding(c, out, subject_of(ev), "exfiltration", "high", t, ev_ids,
			"tool call %s read %s and a process of it connected to %s, which is "
			"not the session's LLM endpoint", t->id,
			json_string_value(json_array_get(t->cred_paths, 0)), dest);
	}
	if (t)
		intent_mismatch(c, s, t, ev, eid, dest, out);
}

json_t *correlate(struct correlator *c, json_t *ev)
{
	const char *type = jstr(ev, "type");
	uint64_t session = (uint64_t)jint(ev, "session");
	json_t *out = NULL;
	struct csession *s;
	struct cproc *p, as;
	struct ctool *t;

	if (!type)
		return NULL;
	s = session_get(c, session);
	if (!s)
		return out;
	if (!strcmp(type, "session_start")) {
		if (jstr(ev, "cwd") && !s->cwd)
			s->cwd = strdup(jstr(ev, "cwd"));
		return out;
	}
	if (!strcmp(type, "tool_call")) {
		on_tool_call(c, ev);
		return out;
	}
	if (!strcmp(type, "llm_call")) {
		on_llm_call(c, s, ev);
		return out;
	}
	if (!strcmp(type, "fork")) {
		on_fork(c, ev);
		p = corr_proc_get(c, session, (uint32_t)jint(ev, "pid"), false);
		if (p && p->tool)
			corr_set_attribution(ev, p);
		return out;
	}
	if (!strcmp(type, "exec"))
		on_exec(c, s, ev, &out);
	p = corr_proc_get(c, session, (uint32_t)jint(ev, "pid"), false);
	t = corr_attribute(c, p, jstr(ev, "path"), jstr(ev, "new_path"), &as);
	if (as.tool)
		corr_set_attribution(ev, &as);
	if (!strcmp(type, "open") || !strcmp(type, "rename") || !strcmp(type, "unlink") ||
	    !strcmp(type, "mkdir") || !strcmp(type, "chmod")) {
		struct ev_file f;

		file_of(ev, &f);
		on_file(c, s, &f, p, t, &out);
	} else if (!strcmp(type, "connect"))
		on_connect(c, s, ev, p, &out);
	else if (!strcmp(type, "dns") && json_is_false(json_object_get(ev, "response")) &&
		 detect_metadata_name(jstr(ev, "qname")) &&
		 first_time(s, "metadns/%s", jstr(ev, "qname")))
		finding(c, &out, subject_of(ev), "cloud_metadata", "medium", t,
			eids(jint(ev, "eid"), 0), "DNS query for the cloud metadata service %s",
			jstr(ev, "qname"));
	else if (!strcmp(type, "exit") && p && !p->agent)
		proc_drop(c, session, p->pid);
	return out;
}

json_t *correlate_file(struct correlator *c, const struct ev_file *f, struct jbuf *annot,
		       bool *annot_lost)
{
	struct csession *s = session_get(c, (uint64_t)f->session);
	json_t *out = NULL;
	struct cproc *p, as;
	struct ctool *t;

	jbuf_reset(annot);
	*annot_lost = false;
	if (!s)
		return NULL;
	p = corr_proc_get(c, (uint64_t)f->session, f->pid, false);
	t = corr_attribute(c, p, f->path, f->new_path, &as);
	if (as.tool && corr_attribution_text(&as, annot) != 0)
		*annot_lost = true;
	on_file(c, s, f, p, t, &out);
	return out;
}

json_t *correlate_session_end(struct correlator *c, uint64_t session)
{
	json_t *out = json_array();
	struct csession *s = session_get(c, session);

	if (!out || !s)
		return out;
	for (struct ctool *t = c->tools; t; t = t->next) {
		json_t *ev;

		if (t->session != session || t->mismatch_reported || !json_array_size(t->cred_eids))
			continue;
		ev = json_pack("{s:I, s:I, s:I, s:I}", "session", (json_int_t)session, "pid",
			       (json_int_t)t->agent_pid, "start_ns", (json_int_t)0, "ts_ns",
			       (json_int_t)0);
		if (ev)
			intent_mismatch(c, s, t, ev, 0, NULL, &out);
		json_decref(ev);
	}
	return out;
}

struct correlator *correlator_new(const struct corr_opts *o)
{
	struct correlator *c = calloc(1, sizeof(*c));
	struct passwd *pw;

	if (!c)
		return NULL;
	c->o = *o;
	pw = getpwuid(0);
	if (pw && pw->pw_dir)
		snprintf(c->home, sizeof(c->home), "%s", pw->pw_dir);
	return c;
}

void correlator_free(struct correlator *c)
{
	if (!c)
		return;
	for (size_t b = 0; b < PROC_BUCKETS; b++)
		while (c->procs[b]) {
			struct cproc *p = c->procs[b];

			c->procs[b] = p->next;
			free(p->secret_path);
			free(p);
		}
	while (c->tools) {
		struct ctool *t = c->tools;

		c->tools = t->next;
		free(t->id);
		free(t->llm_call);
		free(t->name);
		free(t->intent);
		free(t->command_norm);
		free(t->file_path);
		json_decref(t->cred_eids);
		json_decref(t->cred_paths);
		free(t);
	}
	for (size_t i = 0; i < c->nsessions; i++) {
		free(c->sessions[i].cwd);
		json_decref(c->sessions[i].socks);
		json_decref(c->sessions[i].llm);
		json_decref(c->sessions[i].tainted);
		json_decref(c->sessions[i].reported);
	}
	free(c);
}
