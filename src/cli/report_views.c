/* SPDX-License-Identifier: MIT */
/* The per-session views of the report: process tree, files, network. */
#include "cli/report_fmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Integer of a JSON member; false when absent or null. */
static bool jint(const json_t *o, const char *k, long long *v)
{
	const json_t *x = json_object_get(o, k);

	if (!json_is_integer(x))
		return false;
	*v = (long long)json_integer_value(x);
	return true;
}

/* The command line of a process: its argv, or "[comm]" without an exec. */
static char *command_of(const json_t *argv, const char *comm)
{
	struct sbuf b;
	char *s = argv_shell(argv);

	if (s)
		return s;
	sb_init(&b);
	if (sb_printf(&b, "[%s]", comm ? comm : "?") != 0) {
		sb_free(&b);
		return NULL;
	}
	return b.p;
}

/* ------------------------------------------------------------------------ */
/* tree */

struct tree {
	size_t n;
	json_t **node;        /* one object per process (owned) */
	long long *rowid;
	long long *prowid;    /* parent's rowid, 0 when not in the table */
	long *parent, *first_child, *next_sibling, *cursor, *stack;
	bool *visited;
	json_t **level;       /* JSON: the children array at each depth */
};

static const char tree_sql[] =
	"SELECT c.rowid, coalesce(p.rowid, 0), c.pid, c.start_ns, c.ppid,"
	" c.parent_start_ns, c.comm, c.exe, c.argv, c.exit_code, c.exit_signal,"
	" c.core_dumped, coalesce(c.duration_ns, c.exit_ts_ns - c.first_ts_ns),"
	" c.first_ts_ns, c.exit_ts_ns, c.execs"
	" FROM processes c LEFT JOIN processes p ON p.session = c.session"
	"  AND p.pid = c.ppid AND p.start_ns = c.parent_start_ns"
	" WHERE c.session = ?1 ORDER BY c.first_ts_ns, c.pid, c.start_ns";

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		json_decref(t->node[i]);
	free(t->node);
	free(t->rowid);
	free(t->prowid);
	free(t->parent);
	free(t->first_child);
	free(t->next_sibling);
	free(t->cursor);
	free(t->stack);
	free(t->visited);
	free(t->level);
	memset(t, 0, sizeof(*t));
}

static int tree_push(struct tree *t, size_t *cap, json_t *obj, long long rowid,
		     long long prowid)
{
	if (t->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		json_t **node = realloc(t->node, nc * sizeof(*node));

		if (!node)
			return -1;
		t->node = node;
		long long *r = realloc(t->rowid, nc * sizeof(*r));
		if (!r)
			return -1;
		t->rowid = r;
		r = realloc(t->prowid, nc * sizeof(*r));
		if (!r)
			return -1;
		t->prowid = r;
		*cap = nc;
	}
	t->node[t->n] = obj;
	t->rowid[t->n] = rowid;
	t->prowid[t->n] = prowid;
	t->n++;
	return 0;
}

static int tree_load(struct report_ctx *c, struct tree *t)
{
	static const char *const keys[] = {
		NULL, NULL, "pid", "start_ns", "ppid", "parent_start_ns", "comm",
		"exe", "argv", "exit_code", "exit_signal", "core_dumped",
		"duration_ns", "first_ts_ns", "exit_ts_ns", "execs",
	};
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (rq_prepare(c, tree_sql, &st) != 0)
		return -1;
	while ((rc = rq_step(c, st)) == 1) {
		json_t *o = json_object();
		int bad = o ? 0 : -1;

		for (int i = 2; i < (int)(sizeof(keys) / sizeof(keys[0])) && !bad; i++) {
			json_t *v;

			if (i == 8)        /* argv: stored as JSON text */
				v = col_json_text(st, i);
			else if (i == 11)  /* core_dumped: 0/1 -> bool */
				v = col_null(st, i) ? json_null()
						    : json_boolean(sqlite3_column_int(st, i));
			else
				v = col_json(st, i);
			bad = jset(o, keys[i], v);
		}
		if (bad || tree_push(t, &cap, o, sqlite3_column_int64(st, 0),
				     sqlite3_column_int64(st, 1)) != 0) {
			json_decref(o);
			rc = rq_fail(c, "out of memory");
			break;
		}
	}
	(void)sqlite3_finalize(st); /* errors were reported by the step */
	return rc < 0 ? -1 : 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Link every node to its parent index and build the child lists. */
static int tree_link(struct tree *t)
{
	size_t n = t->n ? t->n : 1;
	long long *sorted = calloc(n, 2 * sizeof(long long)); /* (rowid, index) */

	t->parent = calloc(n, sizeof(long));
	t->first_child = calloc(n, sizeof(long));
	t->next_sibling = calloc(n, sizeof(long));
	t->cursor = calloc(n, sizeof(long));
	t->stack = calloc(n, sizeof(long));
	t->visited = calloc(n, sizeof(bool));
	t->level = calloc(n + 1, sizeof(json_t *));
	if (!sorted || !t->parent || !t->first_child || !t->next_sibling ||
	    !t->cursor || !t->stack || !t->visited || !t->level) {
		free(sorted);
		return -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		sorted[2 * i] = t->rowid[i];
		sorted[2 * i + 1] = (long long)i;
		t->first_child[i] = -1;
		t->next_sibling[i] = -1;
	}
	qsort(sorted, t->n, 2 * sizeof(long long), cmp_ll);
	for (size_t i = 0; i < t->n; i++) {
		long long key = t->prowid[i];
		const long long *hit = NULL;

		if (key != 0 && key != t->rowid[i])
			hit = bsearch(&key, sorted, t->n, 2 * sizeof(long long), cmp_ll);
		t->parent[i] = hit ? (long)hit[1] : -1;
	}
	free(sorted);
	/* prepend in reverse: the lists keep the load (start time) order */
	for (size_t k = t->n; k-- > 0;) {
		long p = t->parent[k];

		if (p >= 0) {
			t->next_sibling[k] = t->first_child[p];
			t->first_child[p] = (long)k;
		}
	}
	return 0;
}

static int tree_visit(struct report_ctx *c, struct tree *t, struct table *tab,
		      size_t i, size_t depth)
{
	const json_t *o = t->node[i];
	long long pid = 0, code = 0, sig = 0, dur = 0;
	bool has_code = jint(o, "exit_code", &code);
	char spid[32], sexit[48], sdur[48];
	struct sbuf cmd;
	char *line;
	int rc;

	t->visited[i] = true;
	if (c->o->json) {
		json_t *kids = json_array();

		if (!kids || json_object_set_new(t->node[i], "children", kids) != 0 ||
		    json_array_append(t->level[depth], t->node[i]) != 0)
			return rq_fail(c, "out of memory");
		t->level[depth + 1] = kids;
		return 0;
	}
	(void)jint(o, "pid", &pid);          /* absent: 0 */
	(void)jint(o, "exit_signal", &sig);  /* absent: no signal */
	if (!jint(o, "duration_ns", &dur))
		dur = -1;                    /* shown as "-" */
	if (snprintf(spid, sizeof(spid), "%lld", pid) < 0 ||
	    fmt_exit(sexit, sizeof(sexit), has_code, code, sig,
		     json_is_true(json_object_get(o, "core_dumped"))) != 0 ||
	    fmt_duration(sdur, sizeof(sdur), dur) != 0)
		return rq_fail(c, "formatting failed");
	line = command_of(json_object_get(o, "argv"),
			  json_string_value(json_object_get(o, "comm")));
	sb_init(&cmd);
	for (size_t d = 0; d < depth; d++)
		(void)sb_add(&cmd, "  "); /* a failure sticks in cmd.failed */
	(void)sb_add(&cmd, line ? line : "");
	rc = (!line || cmd.failed) ? -1
		: table_add(tab, (const char *[]){ spid, sexit, sdur, sb_str(&cmd) });
	free(line);
	sb_free(&cmd);
	return rc ? rq_fail(c, "out of memory") : 0;
}

/* Depth-first, children in start order; cycles are cut where found. */
static int tree_walk(struct report_ctx *c, struct tree *t, struct table *tab)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t r = 0; r < t->n; r++) {
			size_t sp = 0;

			/* pass 0: real roots; pass 1: whatever a cycle hid */
			if (t->visited[r] || (pass == 0 && t->parent[r] >= 0))
				continue;
			if (tree_visit(c, t, tab, r, 0) != 0)
				return -1;
			t->cursor[r] = t->first_child[r];
			t->stack[sp++] = (long)r;
			while (sp > 0) {
				long top = t->stack[sp - 1];
				long k = t->cursor[top];

				if (k < 0) {
					sp--;
					continue;
				}
				t->cursor[top] = t->next_sibling[k];
				if (t->visited[k])
					continue;
				if (tree_visit(c, t, tab, (size_t)k, sp) != 0)
					return -1;
				t->cursor[k] = t->first_child[k];
				t->stack[sp++] = k;
			}
		}
	}
	return 0;
}

int view_tree(struct report_ctx *c)
{
	struct tree t;
	struct table tab;
	json_t *doc = NULL;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	if (table_init(&tab, 4, "rlrl", 0) != 0)
		return rq_fail(c, "internal: table");
	if (tree_load(c, &t) != 0)
		goto out;
	if (tree_link(&t) != 0) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (c->o->json) {
		doc = json_array();
		if (!doc) {
			rq_fail(c, "out of memory");
			goto out;
		}
		t.level[0] = doc;
	} else if (table_add(&tab, (const char *[]){ "PID", "EXIT", "DURATION", "COMMAND" }) != 0) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (tree_walk(c, &t, &tab) != 0)
		goto out;
	if (c->o->json) {
		rc = print_json(c, doc);
		doc = NULL;
	} else {
		rc = table_print(&tab, c->out, c->o->width);
		if (rc != 0)
			rq_fail(c, "writing the output failed");
	}
out:
	json_decref(doc);
	table_free(&tab);
	tree_free(&t);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* files */

static const char files_sql[] =
	"SELECT f.pid, f.start_ns, p.comm, p.argv, f.op, f.access,"
	" coalesce(f.path, f.arg_path) AS fpath, f.new_path,"
	" CASE WHEN f.errno IS NOT NULL THEN f.errno"
	"  WHEN coalesce(f.ret, 0) < 0 THEN 'error ' || (-f.ret)"
	"  ELSE 'ok' END AS result,"
	" count(*), min(f.ts_ns)"
	" FROM files f LEFT JOIN processes p ON p.session = f.session"
	"  AND p.pid = f.pid AND p.start_ns = f.start_ns"
	" WHERE f.session = ?1"
	" GROUP BY f.pid, f.start_ns, f.op, f.access, fpath, f.new_path, result"
	" ORDER BY min(p.first_ts_ns), f.pid, f.start_ns, min(f.ts_ns)";

/* One aggregated file row: text line (tab) or JSON item (into files). */
static int files_row(struct report_ctx *c, sqlite3_stmt *st, struct table *tab,
		     json_t *files)
{
	static const char *const keys[] = {
		"op", "access", "path", "new_path", "result", "count", "first_ts_ns",
	};
	const char *op = col_text(st, 4), *access = col_text(st, 5);
	const char *path = col_text(st, 6), *new_path = col_text(st, 7);
	long long count = sqlite3_column_int64(st, 9);
	struct sbuf b;
	int rc;

	if (files) {
		json_t *o = json_object();
		int bad = o ? 0 : -1;

		for (int i = 0; i < 7 && !bad; i++)
			bad = jset(o, keys[i], col_json(st, 4 + i));
		if (bad || json_array_append_new(files, o) != 0)
			return rq_fail(c, "out of memory");
		return 0;
	}
	sb_init(&b);
	(void)sb_add(&b, path ? path : "?"); /* failures stick in b.failed */
	if (new_path)
		(void)sb_printf(&b, " -> %s", new_path);
	if (count > 1)
		(void)sb_printf(&b, "  (x%lld)", count);
	if (op && strcmp(op, "open") == 0 && access)
		op = access;
	rc = b.failed ? -1
		: table_add(tab, (const char *[]){ op, col_text(st, 8), sb_str(&b) });
	sb_free(&b);
	return rc ? rq_fail(c, "out of memory") : 0;
}

/* The header of a process: a text line, or a JSON object with "files". */
static int files_process(struct report_ctx *c, sqlite3_stmt *st, struct table *tab,
			 json_t *doc, json_t **files)
{
	json_t *argv = col_json_text(st, 3);
	char *cmd = NULL;
	struct sbuf b;
	int rc = -1;

	if (!argv)
		return rq_fail(c, "out of memory");
	if (doc) {
		json_t *o = json_object();

		*files = json_array();
		if (o && *files && jset(o, "pid", col_json(st, 0)) == 0 &&
		    jset(o, "start_ns", col_json(st, 1)) == 0 &&
		    jset(o, "comm", col_json(st, 2)) == 0 &&
		    jset(o, "argv", json_incref(argv)) == 0 &&
		    jset(o, "files", json_incref(*files)) == 0 &&
		    json_array_append(doc, o) == 0)
			rc = 0;
		json_decref(o);
		json_decref(*files); /* the object holds it */
		json_decref(argv);
		return rc ? rq_fail(c, "out of memory") : 0;
	}
	cmd = command_of(argv, col_text(st, 2));
	json_decref(argv);
	sb_init(&b);
	if (cmd && sb_printf(&b, "%lld  %s", (long long)sqlite3_column_int64(st, 0), cmd) == 0)
		rc = table_add_line(tab, sb_str(&b));
	free(cmd);
	sb_free(&b);
	return rc ? rq_fail(c, "out of memory") : 0;
}

int view_files(struct report_ctx *c)
{
	struct table tab;
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL, *files = NULL;
	long long pid = 0, start = 0;
	bool first = true;
	int rc = -1, step;

	if (table_init(&tab, 3, "lll", 2) != 0)
		return rq_fail(c, "internal: table");
	if (c->o->json && !(doc = json_array())) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (!doc && table_add(&tab, (const char *[]){ "ACCESS", "RESULT", "PATH" }) != 0) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (rq_prepare(c, files_sql, &st) != 0)
		goto out;
	while ((step = rq_step(c, st)) == 1) {
		long long p = sqlite3_column_int64(st, 0), s = sqlite3_column_int64(st, 1);

		if (first || p != pid || s != start) {
			if (files_process(c, st, &tab, doc, &files) != 0)
				goto out;
			pid = p;
			start = s;
			first = false;
		}
		if (files_row(c, st, &tab, files) != 0)
			goto out;
	}
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
/* net */

static const char net_sql[] =
	"SELECT c.ts_ns, c.pid, c.start_ns, p.comm, c.op, c.family, c.sotype,"
	" c.saddr, c.sport, c.daddr, c.dport, c.unix_path, c.domain, c.ret,"
	" c.errno,"
	" CASE WHEN c.errno IS NOT NULL THEN c.errno"
	"  WHEN coalesce(c.ret, 0) < 0 THEN 'error ' || (-c.ret)"
	"  ELSE 'ok' END AS result,"
	" c.sock, c.bytes_sent, c.bytes_recv, c.closed_ts_ns"
	" FROM connections c LEFT JOIN processes p ON p.session = c.session"
	"  AND p.pid = c.pid AND p.start_ns = c.start_ns"
	" WHERE c.session = ?1 ORDER BY c.ts_ns, c.id";

static const char *const net_keys[] = {
	"ts_ns", "pid", "start_ns", "comm", "op", "family", "sotype", "saddr",
	"sport", "daddr", "dport", "unix_path", "domain", "ret", "errno",
	"result", "sock", "bytes_sent", "bytes_recv", "closed_ts_ns",
};
#define NET_NCOLS ((int)(sizeof(net_keys) / sizeof(net_keys[0])))

/* The address shown: the peer for connect/accept, else the local one. */
static int net_address(sqlite3_stmt *st, struct sbuf *b)
{
	const char *family = col_text(st, 5), *op = col_text(st, 4);
	bool peer = op && (strcmp(op, "connect") == 0 || strcmp(op, "accept") == 0);
	int a = 9, p = 10;

	if (family && strcmp(family, "unix") == 0)
		return sb_add(b, col_text(st, 11) ? col_text(st, 11) : "(unnamed)");
	if (!peer || col_null(st, 9)) {
		a = 7;
		p = 8;
	}
	if (col_null(st, a))
		return sb_add(b, "-");
	if (family && strcmp(family, "inet6") == 0)
		return sb_printf(b, "[%s]:%lld", col_text(st, a),
				 (long long)sqlite3_column_int64(st, p));
	return sb_printf(b, "%s:%lld", col_text(st, a),
			 (long long)sqlite3_column_int64(st, p));
}

static int net_row(struct report_ctx *c, sqlite3_stmt *st, struct table *tab,
		   json_t *doc)
{
	char spid[32], sent[32] = "-", recv[32] = "-";
	struct sbuf addr;
	int rc = 0;

	if (doc) {
		json_t *o = json_object();
		int bad = o ? 0 : -1;

		for (int i = 0; i < NET_NCOLS && !bad; i++)
			bad = jset(o, net_keys[i], col_json(st, i));
		if (bad || json_array_append_new(doc, o) != 0)
			return rq_fail(c, "out of memory");
		return 0;
	}
	if (snprintf(spid, sizeof(spid), "%lld", (long long)sqlite3_column_int64(st, 1)) < 0 ||
	    (!col_null(st, 17) && fmt_bytes(sent, sizeof(sent), sqlite3_column_int64(st, 17)) != 0) ||
	    (!col_null(st, 18) && fmt_bytes(recv, sizeof(recv), sqlite3_column_int64(st, 18)) != 0))
		return rq_fail(c, "formatting failed");
	sb_init(&addr);
	if (net_address(st, &addr) != 0 ||
	    table_add(tab, (const char *[]){ spid, col_text(st, 3), col_text(st, 4),
			col_text(st, 5), col_text(st, 6), sb_str(&addr),
			col_text(st, 12) ? col_text(st, 12) : "-",
			col_text(st, 15), sent, recv }) != 0)
		rc = rq_fail(c, "out of memory");
	sb_free(&addr);
	return rc;
}

int view_net(struct report_ctx *c)
{
	struct table tab;
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL;
	int rc = -1, step;

	if (table_init(&tab, 10, "rlllllllrr", 0) != 0)
		return rq_fail(c, "internal: table");
	if (c->o->json && !(doc = json_array())) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (!doc && table_add(&tab, (const char *[]){ "PID", "COMM", "OP", "FAMILY",
			"TYPE", "ADDRESS", "DOMAIN", "RESULT", "SENT", "RECV" }) != 0) {
		rq_fail(c, "out of memory");
		goto out;
	}
	if (rq_prepare(c, net_sql, &st) != 0)
		goto out;
	while ((step = rq_step(c, st)) == 1)
		if (net_row(c, st, &tab, doc) != 0)
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
