/* SPDX-License-Identifier: MIT */
/*
 * `agenttrail report timeline` and `report findings`: a session as LLM turn
 * -> tool call (its stated intent) -> the processes, file and network
 * effects attributed to it -> findings, in time order; and the findings
 * alone.
 */
#include "cli/report.h"
#include "cli/report_fmt.h"

#include <string.h>
#include <unistd.h>

/* What the timeline shows: every LLM and tool call, process start,
 * connection and finding; of file operations, those that change something
 * and the reads a finding points at. The eids findings point at are
 * gathered once (a correlated subquery per open scanned the session's
 * events for every one of them: minutes on a recorded build). */
static const char timeline_sql[] =
	"WITH cited(eid) AS (SELECT v.value FROM session_events f,"
	"  json_each(json_extract(f.data, '$.evidence')) v"
	"  WHERE f.session = ?1 AND f.type = 'finding')"
	" SELECT e.id, e.ts_ns, e.type, e.data FROM session_events e"
	" WHERE e.session = ?1 AND (e.type IN ('llm_call', 'tool_call', 'exec', 'connect',"
	"  'finding', 'violation', 'unlink', 'rename', 'mkdir', 'chmod')"
	"  OR (e.type = 'open' AND (json_extract(e.data, '$.access') LIKE '%write%'"
	"   OR json_extract(e.data, '$.eid') IN (SELECT eid FROM cited))))"
	" ORDER BY e.ts_ns, e.id";

static const char findings_sql[] =
	"SELECT e.data FROM session_events e WHERE e.session = ?1 AND e.type = 'finding'"
	" ORDER BY CASE json_extract(e.data, '$.severity') WHEN 'high' THEN 0"
	"  WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END, e.ts_ns, e.id";

static const char *js(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static bool colour(const struct report_ctx *c)
{
	return !c->o->json && c->out == stdout && isatty(STDOUT_FILENO);
}

static const char *sev_colour(const struct report_ctx *c, const char *sev)
{
	if (!colour(c))
		return "";
	if (!strcmp(sev, "high"))
		return "\033[1;31m";
	if (!strcmp(sev, "medium"))
		return "\033[33m";
	return "\033[36m";
}

static const char *reset(const struct report_ctx *c)
{
	return colour(c) ? "\033[0m" : "";
}

/* One line of text per timeline entry, indented under its tool call. */
static int text_line(struct report_ctx *c, const char *type, const json_t *e, long long t0)
{
	long long ms = (json_integer_value(json_object_get(e, "ts_ns")) - t0) / 1000000;
	const char *indent = json_object_get(e, "tool_call") &&
				     !json_is_null(json_object_get(e, "tool_call")) &&
				     strcmp(type, "tool_call") && strcmp(type, "finding")
				     ? "      " : "  ";
	char tried[48];
	size_t searched;

	if (!strcmp(type, "llm_call")) {
		const json_t *resp = json_object_get(e, "response");

		return write_out(c, "%+7lldms LLM %s %s (%s) -> %zu tool call(s), stop %s\n", ms,
				 js(e, "id"), js(e, "model"), js(e, "provider"),
				 json_array_size(json_object_get(resp, "tool_calls")),
				 js(resp, "stop_reason")[0] ? js(resp, "stop_reason") : "-");
	}
	if (!strcmp(type, "tool_call")) {
		const json_t *in = json_object_get(e, "input");
		const char *what = js(in, "description")[0] ? js(in, "description")
			: js(in, "command")[0] ? js(in, "command") : js(in, "file_path");

		return write_out(c, "%+7lldms %s tool call %s %s: \"%s\"%s%s\n", ms, indent,
				 js(e, "id"), js(e, "name"), what,
				 js(in, "command")[0] && js(in, "description")[0] ? " $ " : "",
				 js(in, "command")[0] && js(in, "description")[0] ? js(in, "command")
										   : "");
	}
	if (!strcmp(type, "exec")) {
		struct sbuf b;
		size_t i;
		json_t *a;
		int rc;

		sb_init(&b);
		json_array_foreach(json_object_get(e, "argv"), i, a) {
			if (i && sb_add(&b, " "))
				break;
			if (shell_quote(&b, json_string_value(a) ? json_string_value(a) : ""))
				break;
		}
		rc = write_out(c, "%+7lldms %s exec  pid %lld %.200s\n", ms, indent,
			       (long long)json_integer_value(json_object_get(e, "pid")), sb_str(&b));
		sb_free(&b);
		return rc;
	}
	if (!strcmp(type, "connect")) {
		if (!js(e, "daddr")[0])
			return write_out(c, "%+7lldms %s connect pid %lld unix %s%s%s\n", ms, indent,
					 (long long)json_integer_value(json_object_get(e, "pid")),
					 js(e, "unix_path")[0] ? js(e, "unix_path") : "(unnamed)",
					 js(e, "errno")[0] ? " " : "", js(e, "errno"));
		return write_out(c, "%+7lldms %s connect pid %lld %s%s%s:%lld%s%s\n", ms, indent,
				 (long long)json_integer_value(json_object_get(e, "pid")),
				 js(e, "domain"), js(e, "domain")[0] ? " " : "", js(e, "daddr"),
				 (long long)json_integer_value(json_object_get(e, "dport")),
				 js(e, "errno")[0] ? " " : "", js(e, "errno"));
	}
	if (!strcmp(type, "finding"))
		return write_out(c, "%+7lldms %s%s FINDING %s [%s]%s %s\n", ms, indent,
				 sev_colour(c, js(e, "severity")), js(e, "kind"), js(e, "severity"),
				 reset(c), js(e, "explanation"));
	if (!strcmp(type, "violation"))
		return write_out(c, "%+7lldms %s%s POLICY %s %s %s%s (rule %s, %s): %s\n", ms, indent,
				 sev_colour(c, "high"), js(e, "effect"), js(e, "op"), js(e, "target"),
				 reset(c), js(e, "rule"), js(e, "mechanism"), js(e, "reason"));
	/* file operations; an open that ended a search says how many places
	 * it looked first (its "searched", docs/events.md) */
	searched = json_array_size(json_object_get(e, "searched"));
	if (searched)
		snprintf(tried, sizeof(tried), " (after %zu miss%s)", searched,
			 searched == 1 ? "" : "es");
	return write_out(c, "%+7lldms %s %-6s pid %lld %s%s%s%s%s\n", ms, indent, type,
			 (long long)json_integer_value(json_object_get(e, "pid")),
			 js(e, "access")[0] ? js(e, "access") : "", js(e, "access")[0] ? " " : "",
			 js(e, "path"), js(e, "errno")[0] ? " (failed)" : "", searched ? tried : "");
}

static json_t *timeline_entry(const char *type, const json_t *e)
{
	static const char *const keep[] = {
		"eid", "ts_ns", "pid", "tool_call", "llm_call", "attribution", "id", "provider",
		"model", "name", "input", "argv", "path", "access", "daddr", "dport", "domain",
		"errno", "kind", "severity", "explanation", "evidence", "new_path", "searched",
	};
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "type", json_string(type));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(e, keep[i]);

		if (v)
			json_object_set(o, keep[i], v);
	}
	if (!strcmp(type, "llm_call"))
		json_object_set(o, "tool_calls",
				json_object_get(json_object_get(e, "response"), "tool_calls"));
	return o;
}

int view_timeline(struct report_ctx *c)
{
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL;
	long long t0 = -1;
	int rc = -1, step;

	if (c->o->json && !(doc = json_array()))
		return rq_fail(c, "out of memory");
	if (rq_prepare(c, timeline_sql, &st) != 0)
		goto out;
	while ((step = rq_step(c, st)) == 1) {
		json_t *e = col_json_text(st, 3);
		const char *type = col_text(st, 2);

		if (!e)
			continue;
		if (t0 < 0)
			t0 = sqlite3_column_int64(st, 1);
		if (doc) {
			json_t *o = timeline_entry(type, e);

			if (!o || json_array_append_new(doc, o)) {
				json_decref(e);
				rq_fail(c, "out of memory");
				goto out;
			}
		} else if (text_line(c, type, e, t0) != 0) {
			json_decref(e);
			goto out;
		}
		json_decref(e);
	}
	if (step < 0)
		goto out;
	if (doc) {
		rc = print_json(c, doc);
		doc = NULL;
	} else {
		rc = t0 < 0 ? write_out(c, "nothing recorded in session %lld\n", c->session) : 0;
	}
out:
	(void)sqlite3_finalize(st);
	json_decref(doc);
	return rc;
}

static const char violations_sql[] =
	"SELECT e.data FROM session_events e WHERE e.session = ?1 AND e.type = 'violation'"
	" ORDER BY e.ts_ns, e.id";

/* One event per row (column 0, JSON): as text through line(), or as a
 * JSON array with --json. */
static int list_events(struct report_ctx *c, const char *sql,
		       int (*line)(struct report_ctx *c, const json_t *e), const char *none)
{
	sqlite3_stmt *st = NULL;
	json_t *doc = json_array();
	int rc = -1, step, n = 0;

	if (!doc)
		return rq_fail(c, "out of memory");
	if (rq_prepare(c, sql, &st) != 0)
		goto out;
	while ((step = rq_step(c, st)) == 1) {
		json_t *e = col_json_text(st, 0);

		if (!e)
			continue;
		n++;
		if (!c->o->json) {
			int w = line(c, e);

			json_decref(e);
			if (w)
				goto out;
		} else if (json_array_append_new(doc, e)) {
			rq_fail(c, "out of memory");
			goto out;
		}
	}
	if (step < 0)
		goto out;
	if (c->o->json) {
		rc = print_json(c, doc);
		doc = NULL;
	} else {
		rc = n ? 0 : write_out(c, "%s %lld\n", none, c->session);
	}
out:
	(void)sqlite3_finalize(st);
	json_decref(doc);
	return rc;
}

static int violation_line(struct report_ctx *c, const json_t *v)
{
	return write_out(c, "%s%-6s%s %-7s %s by %s[%lld] (rule %s, %s%s)\n         %s\n",
			 sev_colour(c, "high"), js(v, "effect"), reset(c), js(v, "op"),
			 js(v, "target"), js(v, "comm"),
			 (long long)json_integer_value(json_object_get(v, "pid")), js(v, "rule"),
			 js(v, "mechanism"),
			 json_is_false(json_object_get(v, "enforced")) ? ", not enforced" : "",
			 js(v, "reason"));
}

static int finding_line(struct report_ctx *c, const json_t *f)
{
	return write_out(c, "%s%-6s%s %-24s %s\n         tool call %s, llm call %s\n",
			 sev_colour(c, js(f, "severity")), js(f, "severity"), reset(c),
			 js(f, "kind"), js(f, "explanation"),
			 js(f, "tool_call")[0] ? js(f, "tool_call") : "-",
			 js(f, "llm_call")[0] ? js(f, "llm_call") : "-");
}

int view_violations(struct report_ctx *c)
{
	return list_events(c, violations_sql, violation_line, "no policy violations in session");
}

int view_findings(struct report_ctx *c)
{
	return list_events(c, findings_sql, finding_line, "no findings in session");
}
