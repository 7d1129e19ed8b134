/* SPDX-License-Identifier: MIT */
/* `agenttrail report`: arguments, session choice, the sessions and summary
 * views (the per-session tree/files/net views are in report_views.c). */
#include "cli/report.h"
#include "cli/report_fmt.h"
#include "sinks/store.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *const view_names[] = {
	[REPORT_SUMMARY] = "summary",
	[REPORT_SESSIONS] = "sessions",
	[REPORT_TREE] = "tree",
	[REPORT_FILES] = "files",
	[REPORT_NET] = "net",
	[REPORT_LLM] = "llm",
	[REPORT_TIMELINE] = "timeline",
	[REPORT_FINDINGS] = "findings",
	[REPORT_VIOLATIONS] = "violations",
};
#define NVIEWS (sizeof(view_names) / sizeof(view_names[0]))

/* ------------------------------------------------------------------------ */
/* Which session */

/* One integer from a one-row query; *found false when no row. */
static int query_int(struct report_ctx *c, const char *sql, long long *v, bool *found)
{
	sqlite3_stmt *st;
	int rc;

	if (rq_prepare(c, sql, &st) != 0)
		return -1;
	rc = rq_step(c, st);
	*found = rc == 1 && !col_null(st, 0);
	if (*found)
		*v = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st); /* errors were reported by the step */
	return rc < 0 ? -1 : 0;
}

static int resolve_session(struct report_ctx *c)
{
	long long v = 0;
	bool found;

	if (c->o->has_session) {
		c->session = c->o->session;
		if (query_int(c, "SELECT 1 WHERE EXISTS(SELECT 1 FROM sessions WHERE id = ?1)"
			      " OR EXISTS(SELECT 1 FROM event_spans WHERE session = ?1)",
			      &v, &found) != 0)
			return -1;
		if (!found)
			return rq_fail(c, "unknown session %lld (list them with"
				       " `agenttrail report sessions`)", c->session);
		return 0;
	}
	if (query_int(c, "SELECT id FROM sessions ORDER BY started_ns DESC, id DESC"
		      " LIMIT 1", &v, &found) != 0)
		return -1;
	if (!found && query_int(c, "SELECT session FROM event_spans ORDER BY last_ts_ns DESC,"
				" last_id DESC LIMIT 1", &v, &found) != 0)
		return -1;
	if (!found)
		return rq_fail(c, "the database has no sessions yet");
	c->session = v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* sessions */

#define SESSIONS_SQL \
	"SELECT s.id, s.started_ns, s.ended_ns, s.ended_ns - s.started_ns," \
	" s.mode, s.root_pid, s.argv, s.cwd, s.cgroup, s.host, s.exit_code," \
	" s.exit_signal, s.events," \
	" (SELECT coalesce(sum(events), 0) FROM event_spans e WHERE e.session = s.id)," \
	" s.lost_total, s.drops FROM sessions s"

static const char *const session_keys[] = {
	"id", "started_ns", "ended_ns", "duration_ns", "mode", "root_pid",
	"argv", "cwd", "cgroup", "host", "exit_code", "exit_signal", "events",
	"events_stored", "lost_total", "drops",
};
#define SESSION_NCOLS ((int)(sizeof(session_keys) / sizeof(session_keys[0])))

/* The command of a session: its argv, or what it was attached to. */
static char *session_command(sqlite3_stmt *st)
{
	json_t *argv = col_json_text(st, 6);
	char *cmd = NULL;
	struct sbuf b;

	if (json_is_array(argv) && json_array_size(argv) > 0) {
		cmd = argv_shell(argv);
		json_decref(argv);
		return cmd;
	}
	json_decref(argv);
	sb_init(&b);
	if (sb_printf(&b, "(%s, pid %lld)", col_text(st, 4) ? col_text(st, 4) : "attached",
		      (long long)sqlite3_column_int64(st, 5)) != 0) {
		sb_free(&b);
		return NULL;
	}
	return b.p;
}

static int session_row(struct report_ctx *c, sqlite3_stmt *st, struct table *tab,
		       json_t *doc)
{
	char id[32], started[64], dur[48], ex[48], events[32], drops[32];
	char *cmd;
	int rc;

	if (doc) {
		json_t *o = json_object();
		int bad = o ? 0 : -1;

		for (int i = 0; i < SESSION_NCOLS && !bad; i++)
			bad = jset(o, session_keys[i], (i == 6 || i == 15)
				   ? col_json_text(st, i) : col_json(st, i));
		if (bad || json_array_append_new(doc, o) != 0)
			return rq_fail(c, "out of memory");
		return 0;
	}
	if (snprintf(id, sizeof(id), "%lld", (long long)sqlite3_column_int64(st, 0)) < 0 ||
	    fmt_local_time(started, sizeof(started), sqlite3_column_int64(st, 1)) != 0 ||
	    fmt_duration(dur, sizeof(dur), col_null(st, 3) ? -1 : sqlite3_column_int64(st, 3)) != 0 ||
	    fmt_exit(ex, sizeof(ex), !col_null(st, 10), sqlite3_column_int64(st, 10),
		     sqlite3_column_int64(st, 11), false) != 0 ||
	    snprintf(events, sizeof(events), "%lld", (long long)sqlite3_column_int64(st, 13)) < 0 ||
	    snprintf(drops, sizeof(drops), col_null(st, 14) ? "-" : "%lld",
		     (long long)sqlite3_column_int64(st, 14)) < 0)
		return rq_fail(c, "formatting failed");
	if (col_null(st, 1))
		(void)snprintf(started, sizeof(started), "-"); /* fits */
	cmd = session_command(st);
	rc = cmd ? table_add(tab, (const char *[]){ id, started, dur, col_text(st, 4), ex,
						  events, drops, cmd }) : -1;
	free(cmd);
	return rc ? rq_fail(c, "out of memory") : 0;
}

static int view_sessions(struct report_ctx *c)
{
	const char *sql = c->o->has_session
		? SESSIONS_SQL " WHERE s.id = ?1"
		: SESSIONS_SQL " ORDER BY s.started_ns, s.id";
	struct table tab;
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL;
	int rc = -1, step;

	if (table_init(&tab, 8, "rlrlrrrl", 0) != 0)
		return rq_fail(c, "internal: table");
	if (c->o->json && !(doc = json_array())) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (!doc && table_add(&tab, (const char *[]){ "SESSION", "STARTED", "DURATION",
			"MODE", "EXIT", "EVENTS", "DROPS", "COMMAND" }) != 0) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (rq_prepare(c, sql, &st) != 0)
		goto out;
	while ((step = rq_step(c, st)) == 1)
		if (session_row(c, st, &tab, doc) != 0)
			goto out;
	if (step < 0)
		goto out;
	if (doc) {
		rc = print_json(c, doc);
		doc = NULL;
	} else if ((rc = table_print(&tab, c->out, c->o->width)) != 0) {
		rq_fail(c, "writing the output failed");
	}
out:
	(void)sqlite3_finalize(st); /* errors were reported by the step */
	json_decref(doc);
	table_free(&tab);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* summary */

/* A successful file operation has no negative ret. */
#define FILE_OK "coalesce(ret, 0) >= 0"
static const char counts_sql[] =
	"SELECT"
	" (SELECT count(*) FROM processes WHERE session = ?1),"
	" (SELECT count(DISTINCT coalesce(path, arg_path)) FROM files"
	"  WHERE session = ?1 AND op = 'open' AND " FILE_OK
	"  AND access IN ('read', 'read-write')),"
	" (SELECT count(*) FROM ("
	"  SELECT coalesce(path, arg_path) AS p FROM files WHERE session = ?1"
	"   AND " FILE_OK " AND (op <> 'open' OR access IN ('write', 'read-write'))"
	"  UNION SELECT new_path FROM files WHERE session = ?1 AND op = 'rename'"
	"   AND " FILE_OK ") WHERE p IS NOT NULL),"
	" (SELECT count(*) FROM files WHERE session = ?1 AND NOT " FILE_OK "),"
	" (SELECT count(*) FROM connections WHERE session = ?1)";

/* "events": {"total": N, "by_type": {type: count}} */
static int summary_events(struct report_ctx *c, json_t *doc)
{
	json_t *ev = json_object(), *by_type = json_object();
	long long total = 0;
	sqlite3_stmt *st;
	int step = -1, bad = 0;

	if (jset(doc, "events", ev) != 0) {
		json_decref(by_type);
		return -1;
	}
	/* keys in their final order; setting a key again keeps its place */
	if (jset(ev, "total", json_integer(0)) != 0 || jset(ev, "by_type", by_type) != 0)
		return -1;
	if (rq_prepare(c, "SELECT type, count(*) FROM session_events WHERE session = ?1"
		       " GROUP BY type ORDER BY type", &st) != 0)
		return -1;
	while (!bad && (step = rq_step(c, st)) == 1) {
		total += sqlite3_column_int64(st, 1);
		bad = jset(by_type, col_text(st, 0), col_json(st, 1));
	}
	(void)sqlite3_finalize(st); /* errors were reported by the step */
	if (bad || step < 0)
		return -1;
	return jset(ev, "total", json_integer(total));
}

/* "processes", "files": {"read", "written", "failed"}, "connections" */
static int summary_counts(struct report_ctx *c, json_t *doc)
{
	json_t *files = json_object();
	sqlite3_stmt *st;
	int rc = -1;

	if (jset(doc, "processes", json_null()) != 0 || jset(doc, "files", files) != 0)
		return -1;
	if (rq_prepare(c, counts_sql, &st) != 0)
		return -1;
	if (rq_step(c, st) == 1 &&
	    jset(doc, "processes", col_json(st, 0)) == 0 &&
	    jset(files, "read", col_json(st, 1)) == 0 &&
	    jset(files, "written", col_json(st, 2)) == 0 &&
	    jset(files, "failed", col_json(st, 3)) == 0 &&
	    jset(doc, "connections", col_json(st, 4)) == 0)
		rc = 0;
	(void)sqlite3_finalize(st); /* errors were reported by the step */
	return rc;
}

/* "dns_names": the distinct names asked, sorted */
static int summary_dns(struct report_ctx *c, json_t *doc)
{
	json_t *names = json_array();
	sqlite3_stmt *st;
	int step = -1, bad = 0;

	if (jset(doc, "dns_names", names) != 0)
		return -1;
	if (rq_prepare(c, "SELECT DISTINCT qname FROM dns WHERE session = ?1"
		       " AND qname IS NOT NULL ORDER BY qname", &st) != 0)
		return -1;
	while (!bad && (step = rq_step(c, st)) == 1)
		bad = json_array_append_new(names, col_json(st, 0));
	(void)sqlite3_finalize(st); /* errors were reported by the step */
	return bad || step < 0 ? -1 : 0;
}

/* "drops": {kind: count} and "lost_total", null before session_end */
static int summary_loss(struct report_ctx *c, json_t *doc)
{
	sqlite3_stmt *st;
	int step, rc = -1;

	if (rq_prepare(c, "SELECT drops, lost_total FROM sessions WHERE id = ?1", &st) != 0)
		return -1;
	step = rq_step(c, st);
	if (step == 1)
		rc = jset(doc, "drops", col_json_text(st, 0)) == 0 &&
		     jset(doc, "lost_total", col_json(st, 1)) == 0 ? 0 : -1;
	else if (step == 0)
		rc = jset(doc, "drops", json_null()) == 0 &&
		     jset(doc, "lost_total", json_null()) == 0 ? 0 : -1;
	(void)sqlite3_finalize(st); /* errors were reported by the step */
	return rc;
}

/* Build the summary document; the text view is made from it too. */
static json_t *summary_doc(struct report_ctx *c)
{
	json_t *doc = json_object();

	if (!doc || jset(doc, "session", json_integer(c->session)) != 0 ||
	    summary_events(c, doc) != 0 || summary_counts(c, doc) != 0 ||
	    summary_dns(c, doc) != 0 || summary_loss(c, doc) != 0) {
		if (!c->err || !c->err[0])
			rq_fail(c, "out of memory");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int row3(struct table *t, const char *a, const char *b, const char *note)
{
	return table_add(t, (const char *[]){ a, b, note });
}

/* "label  123" from an integer member (or "-" when null). */
static int row_int(struct table *t, const char *label, const json_t *v, const char *note)
{
	char buf[32] = "-";

	if (json_is_integer(v) &&
	    snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v)) < 0)
		return -1;
	return row3(t, label, buf, note);
}

/* The first line: "session ID  COMMAND". */
static int head_title(struct report_ctx *c, sqlite3_stmt *st, bool found, struct sbuf *b)
{
	json_t *argv;
	char *cmd;
	int rc;

	if (sb_printf(b, "session %lld", c->session) != 0)
		return -1;
	if (!found)
		return 0;
	argv = col_json_text(st, 0);
	cmd = argv_shell(argv);
	json_decref(argv);
	if (cmd && cmd[0])
		rc = sb_printf(b, "  %s", cmd);
	else
		rc = sb_printf(b, "  (%s, pid %lld)", col_text(st, 1) ? col_text(st, 1) : "?",
			       (long long)sqlite3_column_int64(st, 2));
	free(cmd);
	return rc;
}

/* The header lines: session id and command, start, duration, exit. */
static int summary_head(struct report_ctx *c, struct table *t)
{
	static const char sql[] =
		"SELECT argv, mode, root_pid, started_ns, ended_ns - started_ns,"
		" exit_code, exit_signal FROM sessions WHERE id = ?1";
	char when[64], dur[48], ex[48];
	sqlite3_stmt *st;
	struct sbuf b;
	int step, rc = -1;

	if (rq_prepare(c, sql, &st) != 0)
		return -1;
	step = rq_step(c, st);
	sb_init(&b);
	if (step >= 0 && head_title(c, st, step == 1, &b) == 0 &&
	    table_add_line(t, sb_str(&b)) == 0)
		rc = 0;
	if (rc == 0 && step == 1) {
		sb_free(&b);
		if (fmt_local_time(when, sizeof(when), sqlite3_column_int64(st, 3)) != 0 ||
		    fmt_duration(dur, sizeof(dur),
				 col_null(st, 4) ? -1 : sqlite3_column_int64(st, 4)) != 0 ||
		    fmt_exit(ex, sizeof(ex), !col_null(st, 5), sqlite3_column_int64(st, 5),
			     sqlite3_column_int64(st, 6), false) != 0 ||
		    sb_printf(&b, "started %s, duration %s, exit %s", when, dur, ex) != 0 ||
		    table_add_line(t, sb_str(&b)) != 0)
			rc = -1;
	}
	if (rc == 0)
		rc = table_add_line(t, "");
	sb_free(&b);
	(void)sqlite3_finalize(st); /* errors were reported by the step */
	return rc;
}

static int summary_text(struct report_ctx *c, const json_t *doc, struct table *t)
{
	const json_t *ev = json_object_get(doc, "events");
	const json_t *files = json_object_get(doc, "files");
	const json_t *names = json_object_get(doc, "dns_names");
	const json_t *drops = json_object_get(doc, "drops");
	const char *k;
	json_t *v;
	struct sbuf b;
	size_t i;
	long long ndrops = 0;
	char nnames[32], ndrops_s[32];
	int rc = 0;

	if (summary_head(c, t) != 0 ||
	    row_int(t, "events", json_object_get(ev, "total"), NULL) != 0)
		return -1;
	json_object_foreach((json_t *)json_object_get(ev, "by_type"), k, v) {
		char label[64];

		if (snprintf(label, sizeof(label), "  %s", k) < 0 || row_int(t, label, v, NULL) != 0)
			return -1;
	}
	sb_init(&b);
	json_array_foreach(names, i, v)
		(void)sb_printf(&b, "%s%s", i ? ", " : "", json_string_value(v)); /* sticks */
	json_object_foreach((json_t *)drops, k, v)
		ndrops += json_is_integer(v) ? (long long)json_integer_value(v) : 0;
	if (b.failed ||
	    snprintf(nnames, sizeof(nnames), "%zu", json_array_size(names)) < 0 ||
	    row_int(t, "processes", json_object_get(doc, "processes"), NULL) != 0 ||
	    row_int(t, "files read", json_object_get(files, "read"), NULL) != 0 ||
	    row_int(t, "files written", json_object_get(files, "written"), NULL) != 0 ||
	    row_int(t, "file errors", json_object_get(files, "failed"), NULL) != 0 ||
	    row_int(t, "connections", json_object_get(doc, "connections"), NULL) != 0 ||
	    row3(t, "dns names", nnames, sb_str(&b)) != 0)
		rc = -1;
	sb_free(&b);
	/* drops: the total ("-" before session_end), then each kind that lost any */
	if (rc != 0 || snprintf(ndrops_s, sizeof(ndrops_s), "%lld", ndrops) < 0 ||
	    row3(t, "drops", json_is_object(drops) ? ndrops_s : "-", NULL) != 0)
		return -1;
	json_object_foreach((json_t *)drops, k, v) {
		char label[64];

		if (!json_is_integer(v) || json_integer_value(v) == 0)
			continue;
		if (snprintf(label, sizeof(label), "  %s", k) < 0 ||
		    row_int(t, label, v, NULL) != 0)
			return -1;
	}
	return row_int(t, "lost total", json_object_get(doc, "lost_total"), NULL);
}

static int view_summary(struct report_ctx *c)
{
	json_t *doc = summary_doc(c);
	struct table t;
	int rc;

	if (!doc)
		return -1;
	if (c->o->json)
		return print_json(c, doc);
	if (table_init(&t, 3, "lrl", 0) != 0) {
		json_decref(doc);
		return rq_fail(c, "internal: table");
	}
	rc = summary_text(c, doc, &t);
	if (rc != 0)
		rq_fail(c, "out of memory");
	else if ((rc = table_print(&t, c->out, c->o->width)) != 0)
		rq_fail(c, "writing the output failed");
	table_free(&t);
	json_decref(doc);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Entry points */

int report_run(sqlite3 *db, const struct report_opts *o, FILE *out,
	       char *err, size_t errlen)
{
	struct report_ctx c = {
		.db = db, .o = o, .session = 0, .out = out, .err = err, .errlen = errlen,
	};
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!db || !o || !out) {
		rq_fail(&c, "report: nothing to read or write");
		return 1;
	}
	if ((o->view != REPORT_SESSIONS || o->has_session) && resolve_session(&c) != 0)
		return 1;
	switch (o->view) {
	case REPORT_SESSIONS: rc = view_sessions(&c); break;
	case REPORT_TREE: rc = view_tree(&c); break;
	case REPORT_FILES: rc = view_files(&c); break;
	case REPORT_NET: rc = view_net(&c); break;
	case REPORT_LLM: rc = view_llm(&c); break;
	case REPORT_TIMELINE: rc = view_timeline(&c); break;
	case REPORT_FINDINGS: rc = view_findings(&c); break;
	case REPORT_VIOLATIONS: rc = view_violations(&c); break;
	case REPORT_SUMMARY: rc = view_summary(&c); break;
	default: rc = rq_fail(&c, "report: unknown view %d", (int)o->view);
	}
	return rc == 0 ? 0 : 1;
}

static void usage(FILE *f, const char *db)
{
	fprintf(f,
"Usage: agenttrail report [--db FILE] [--session ID] [--json] [--call ID] [VIEW]\n"
"\n"
"Show what a recorded session did. VIEW is one of:\n"
"  summary   (default) events by type, processes, files read and written,\n"
"            failed file operations, connections, DNS names asked, events\n"
"            dropped in the kernel (per kind) and the lost total\n"
"  sessions  every session: id, start (local time), duration, mode, exit\n"
"            status, events stored, events dropped, command\n"
"  tree      the process tree, children indented under their parent: pid,\n"
"            exit code or signal, duration, command line (cut to the\n"
"            terminal width on a terminal)\n"
"  files     per process, the files opened, created, removed, renamed or\n"
"            chmod-ed: access, result (ok or the errno), path, (xN) repeats\n"
"  net       connections, binds and listens: family, address:port (the peer\n"
"            for connect/accept), DNS name, result, bytes sent and received\n"
"  llm       LLM API calls decoded from the captured traffic: provider, model,\n"
"            status, tokens (input, output, cache read/write), time to first\n"
"            token, latency, tool calls; with --call ID one call in full\n"
"            (system prompt, messages, response text, tool calls)\n"
"  timeline  LLM turn -> tool call (its stated intent) -> the processes, file\n"
"            and network effects attributed to it -> findings, in time order\n"
"            (colour on a terminal)\n"
"  findings  what the detectors found (credential access, exfiltration, cloud\n"
"            metadata, destructive commands, persistence, writes outside the\n"
"            workspace, intent mismatch), most severe first\n"
"  violations what the policy refused, killed or reported (agenttrail run):\n"
"            rule, operation, target, mechanism, the reason given\n"
"\n"
"Options:\n"
"  --db FILE      the database; default: $AGENTTRAIL_DB, else\n"
"                 /var/lib/agenttrail/trail.db as root, else\n"
"                 $XDG_DATA_HOME/agenttrail/trail.db or\n"
"                 ~/.local/share/agenttrail/trail.db\n"
"                 (here: %s)\n"
"  --session ID   the session to show (default: the latest one)\n"
"  --json         print one JSON document instead of text\n"
"  --call ID      (llm) the call to show in full, e.g. llm_call-1700000000-3\n"
"  -h, --help     show this help\n"
"\n"
"Exit status: 0 ok, 1 runtime error (no database, unknown session),\n"
"2 usage error.\n", db ? db : "unknown");
}

/* "--name VALUE" or "--name=VALUE": 1 matched, 0 not this option, -1 no value. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
	} else {
		if (*i + 1 >= argc)
			return -1;
		*val = argv[++*i];
	}
	return 1;
}

static int parse_view(const char *name, enum report_view *v)
{
	for (size_t i = 0; i < NVIEWS; i++) {
		if (strcmp(name, view_names[i]) == 0) {
			*v = (enum report_view)i;
			return 0;
		}
	}
	return -1;
}

/* 0 ok, 2 usage error (message printed), 3 help asked. */
static int parse_args(int argc, char **argv, struct report_opts *o, const char **db)
{
	bool have_view = false, opts_done = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		int m;

		if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = true;
		} else if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			return 3;
		} else if (!opts_done && strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (!opts_done && (m = opt_value(argc, argv, &i, "--db", &val)) != 0) {
			if (m < 0 || !val[0]) {
				fprintf(stderr, "agenttrail report: --db needs a FILE\n");
				return 2;
			}
			*db = val;
		} else if (!opts_done && (m = opt_value(argc, argv, &i, "--session", &val)) != 0) {
			char *end = NULL;

			errno = 0;
			o->session = m > 0 ? strtoll(val, &end, 10) : 0;
			if (m < 0 || !val[0] || errno != 0 || *end != '\0') {
				fprintf(stderr, "agenttrail report: --session needs a"
					" session id (an integer), got '%s'\n", m < 0 ? "" : val);
				return 2;
			}
			o->has_session = true;
		} else if (!opts_done && (m = opt_value(argc, argv, &i, "--call", &val)) != 0) {
			if (m < 0 || !val[0]) {
				fprintf(stderr, "agenttrail report: --call needs an LLM call id\n");
				return 2;
			}
			o->call = val;
			if (!have_view)
				o->view = REPORT_LLM;
		} else if (!opts_done && a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "agenttrail report: unknown option '%s'\n", a);
			return 2;
		} else if (have_view) {
			fprintf(stderr, "agenttrail report: one view only (got '%s' after '%s')\n",
				a, view_names[o->view]);
			return 2;
		} else if (parse_view(a, &o->view) != 0) {
			fprintf(stderr, "agenttrail report: unknown view '%s' (sessions, tree,"
				" files, net, llm, timeline, findings, violations, summary)\n", a);
			return 2;
		} else {
			have_view = true;
		}
	}
	return 0;
}

static int terminal_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");
	long n;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	n = cols ? strtol(cols, NULL, 10) : 0;
	return n > 0 && n < INT_MAX ? (int)n : 80;
}

int cmd_report(int argc, char **argv)
{
	struct report_opts o = { .view = REPORT_SUMMARY };
	const char *db = NULL;
	char defpath[PATH_MAX], err[1024];
	struct store *s = NULL;
	int rc;

	if (at_default_db_path_r(defpath, sizeof(defpath)) != 0)
		defpath[0] = '\0';
	rc = parse_args(argc, argv, &o, &db);
	if (rc == 3) {
		usage(stdout, defpath[0] ? defpath : NULL);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (rc != 0) {
		fprintf(stderr, "Try 'agenttrail report --help'.\n");
		return 2;
	}
	if (!db && !defpath[0]) {
		fprintf(stderr, "agenttrail report: no default database path (no home"
			" directory?); pass --db FILE\n");
		return 1;
	}
	db = db ? db : defpath;
	if (store_open_readonly(db, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "agenttrail report: %s\n", err);
		if (access(db, F_OK) != 0)
			fprintf(stderr, "agenttrail report: record a session first"
				" (agenttrail record), or pass --db FILE\n");
		return 1;
	}
	if (!o.json && isatty(STDOUT_FILENO))
		o.width = terminal_width();
	rc = report_run(store_db(s), &o, stdout, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "agenttrail report: %s\n", err);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "agenttrail report: writing the output: %s\n", strerror(errno));
		rc = 1;
	}
	if (store_close(s) != 0 && rc == 0)
		rc = 1;
	return rc;
}
