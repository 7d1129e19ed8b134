/* SPDX-License-Identifier: MIT */
/* `agenttrail report llm`: the LLM calls of a session, or one in full. */
#include "cli/report.h"
#include "cli/report_fmt.h"
#include "model/json_pool.h"

#include <string.h>

static const char llm_sql[] =
	"SELECT l.call_id, l.ts_ns, l.pid, p.comm, l.provider, l.model, l.host,"
	" l.path, l.status, l.stream, l.input_tokens, l.output_tokens,"
	" l.cache_read_tokens, l.cache_write_tokens, l.stop_reason, l.tool_calls,"
	" l.first_token_ts_ns, l.end_ts_ns, l.error,"
	" (SELECT group_concat(t.name, ',') FROM tool_calls t"
	"   WHERE t.session = l.session AND t.llm_call = l.call_id) AS tool_names"
	" FROM llm_calls l LEFT JOIN processes p ON p.session = l.session"
	"  AND p.pid = l.pid AND p.start_ns = l.start_ns"
	" WHERE l.session = ?1 ORDER BY l.ts_ns, l.id";

static const char *const llm_keys[] = {
	"id", "ts_ns", "pid", "comm", "provider", "model", "host", "path", "status", "stream",
	"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
	"stop_reason", "tool_calls", "first_token_ts_ns", "end_ts_ns", "error", "tool_names",
};
#define LLM_NCOLS ((int)(sizeof(llm_keys) / sizeof(llm_keys[0])))

/* A store from before LLM capture has no llm_calls table. */
static int require_tables(struct report_ctx *c)
{
	sqlite3_stmt *st;
	int rc;

	if (rq_prepare(c, "SELECT 1 FROM sqlite_master WHERE type = 'table'"
			  " AND name = 'llm_calls'", &st) != 0)
		return -1;
	rc = rq_step(c, st);
	(void)sqlite3_finalize(st);
	if (rc == 0)
		return rq_fail(c, "this store was written by an agenttrail without LLM capture;"
			       " record again to see LLM calls");
	return rc < 0 ? -1 : 0;
}

static int num_cell(char *buf, size_t len, sqlite3_stmt *st, int i)
{
	if (col_null(st, i))
		return snprintf(buf, len, "-") < 0 ? -1 : 0;
	return snprintf(buf, len, "%lld", (long long)sqlite3_column_int64(st, i)) < 0 ? -1 : 0;
}

static int dur_cell(char *buf, size_t len, sqlite3_stmt *st, int from, int to)
{
	if (col_null(st, from) || col_null(st, to))
		return snprintf(buf, len, "-") < 0 ? -1 : 0;
	return fmt_duration(buf, len, sqlite3_column_int64(st, to) - sqlite3_column_int64(st, from));
}

static int llm_row(struct report_ctx *c, sqlite3_stmt *st, struct table *tab, json_t *doc)
{
	char pid[24], status[16], in[24], out[24], cr[24], cw[24], ttft[32], lat[32], cache[56];
	const char *tools = col_text(st, 19);

	if (doc) {
		json_t *o = json_object();
		int bad = o ? 0 : -1;

		for (int i = 0; i < LLM_NCOLS && !bad; i++)
			bad = jset(o, llm_keys[i], col_json(st, i));
		if (bad || json_array_append_new(doc, o) != 0)
			return rq_fail(c, "out of memory");
		return 0;
	}
	if (num_cell(pid, sizeof(pid), st, 2) || num_cell(status, sizeof(status), st, 8) ||
	    num_cell(in, sizeof(in), st, 10) || num_cell(out, sizeof(out), st, 11) ||
	    num_cell(cr, sizeof(cr), st, 12) || num_cell(cw, sizeof(cw), st, 13) ||
	    dur_cell(ttft, sizeof(ttft), st, 1, 16) || dur_cell(lat, sizeof(lat), st, 1, 17) ||
	    snprintf(cache, sizeof(cache), "%s/%s", cr, cw) < 0)
		return rq_fail(c, "formatting failed");
	if (table_add(tab, (const char *[]){ col_text(st, 0), pid, col_text(st, 3),
			col_text(st, 4), col_text(st, 5) ? col_text(st, 5) : "-", status, in, out,
			cache, ttft, lat, tools ? tools : "-" }) != 0)
		return rq_fail(c, "out of memory");
	return 0;
}

static int list_calls(struct report_ctx *c)
{
	struct table tab;
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL;
	int rc = -1, step, rows = 0;

	if (table_init(&tab, 12, "lrllllrrrrrl", 0) != 0)
		return rq_fail(c, "internal: table");
	if (c->o->json && !(doc = json_array())) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (!doc && table_add(&tab, (const char *[]){ "CALL", "PID", "COMM", "PROVIDER", "MODEL",
			"STATUS", "IN", "OUT", "CACHE R/W", "TTFT", "LATENCY", "TOOL CALLS" }) != 0) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (rq_prepare(c, llm_sql, &st) != 0)
		goto out;
	while ((step = rq_step(c, st)) == 1) {
		if (llm_row(c, st, &tab, doc) != 0)
			goto out;
		rows++;
	}
	if (step < 0)
		goto out;
	if (doc) {
		rc = print_json(c, doc);
		doc = NULL;
	} else if (rows == 0) {
		rc = write_out(c, "no LLM calls recorded in session %lld\n", c->session);
	} else if ((rc = table_print(&tab, c->out, c->o->width)) != 0) {
		rq_fail(c, "writing the output failed");
	}
out:
	(void)sqlite3_finalize(st);
	json_decref(doc);
	table_free(&tab);
	return rc;
}

/* ---- one call in full ----------------------------------------------------- */

static int print_text_value(struct report_ctx *c, const json_t *v)
{
	char *s;
	int rc;

	if (json_is_string(v))
		return write_out(c, "%s\n", json_string_value(v));
	if (!v || json_is_null(v))
		return write_out(c, "(none)\n");
	s = json_pool_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!s)
		return rq_fail(c, "out of memory");
	rc = write_out(c, "%s\n", s);
	free(s);
	return rc;
}

static int print_call(struct report_ctx *c, const json_t *call)
{
	const json_t *req = json_object_get(call, "request");
	const json_t *resp = json_object_get(call, "response");
	const json_t *usage = json_object_get(call, "usage");
	const json_t *m, *t;
	size_t i;

	if (write_out(c, "call     %s (http %s)\nprovider %s  model %s  status %s\nhost     %s  path %s\n",
		      json_string_value(json_object_get(call, "id")),
		      json_string_value(json_object_get(call, "http")) ?: "-",
		      json_string_value(json_object_get(call, "provider")) ?: "-",
		      json_string_value(json_object_get(call, "model")) ?: "-",
		      json_is_integer(json_object_get(call, "status")) ? "" : "-",
		      json_string_value(json_object_get(call, "host")) ?: "-",
		      json_string_value(json_object_get(call, "path")) ?: "-") != 0)
		return -1;
	if (json_is_integer(json_object_get(call, "status")) &&
	    write_out(c, "         (HTTP %lld)\n",
		      (long long)json_integer_value(json_object_get(call, "status"))) != 0)
		return -1;
	if (write_out(c, "tokens   input %lld  output %lld  cache read %lld  cache write %lld\n",
		      (long long)json_integer_value(json_object_get(usage, "input_tokens")),
		      (long long)json_integer_value(json_object_get(usage, "output_tokens")),
		      (long long)json_integer_value(json_object_get(usage, "cache_read_tokens")),
		      (long long)json_integer_value(json_object_get(usage, "cache_write_tokens"))))
		return -1;
	if (write_out(c, "\n--- system\n") || print_text_value(c, json_object_get(req, "system")))
		return -1;
	if (write_out(c, "\n--- messages\n"))
		return -1;
	json_array_foreach(json_object_get(req, "messages"), i, m) {
		if (write_out(c, "[%s] ", json_string_value(json_object_get(m, "role")) ?: "?") ||
		    print_text_value(c, json_object_get(m, "content")))
			return -1;
	}
	if (write_out(c, "\n--- tools offered: %zu\n", json_array_size(json_object_get(req, "tools"))))
		return -1;
	if (write_out(c, "\n--- response (stop: %s)\n",
		      json_string_value(json_object_get(resp, "stop_reason")) ?: "-") ||
	    print_text_value(c, json_object_get(resp, "text")))
		return -1;
	json_array_foreach(json_object_get(resp, "tool_calls"), i, t) {
		char *in = json_pool_dumps(json_object_get(t, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
		int rc = write_out(c, "tool call %s %s %s\n",
				   json_string_value(json_object_get(t, "id")) ?: "-",
				   json_string_value(json_object_get(t, "name")) ?: "-", in ? in : "null");

		free(in);
		if (rc)
			return -1;
	}
	if (!json_is_null(json_object_get(call, "error")) && json_object_get(call, "error") &&
	    (write_out(c, "\n--- error\n") || print_text_value(c, json_object_get(call, "error"))))
		return -1;
	return 0;
}

static int show_call(struct report_ctx *c)
{
	sqlite3_stmt *st = NULL;
	json_t *call = NULL;
	int rc = -1, step;

	if (rq_prepare(c, "SELECT e.data FROM llm_calls l JOIN events e ON e.id = l.event_id"
			  " WHERE l.session = ?1 AND l.call_id = ?2", &st) != 0)
		return -1;
	if (sqlite3_bind_text(st, 2, c->o->call, -1, SQLITE_STATIC) != SQLITE_OK) {
		rq_fail(c, "binding the call id failed");
		goto out;
	}
	step = rq_step(c, st);
	if (step < 0)
		goto out;
	if (step == 0) {
		rq_fail(c, "no LLM call %s in session %lld (list them with `agenttrail report llm`)",
			c->o->call, c->session);
		goto out;
	}
	call = col_json_text(st, 0);
	if (!call) {
		rq_fail(c, "the stored call is not valid JSON");
		goto out;
	}
	if (c->o->json) {
		rc = print_json(c, call);
		call = NULL;
	} else {
		rc = print_call(c, call);
	}
out:
	(void)sqlite3_finalize(st);
	json_decref(call);
	return rc;
}

int view_llm(struct report_ctx *c)
{
	if (require_tables(c) != 0)
		return -1;
	return c->o->call ? show_call(c) : list_calls(c);
}
