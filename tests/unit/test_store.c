/* SPDX-License-Identifier: MIT */
/* The SQLite store and the report, on a small hand-made session. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cli/report.h"
#include "cli/report_fmt.h"
#include "sinks/json_out.h"
#include "sinks/store.h"
#include "store_fixture.h"

#define T0 1700000000000000000LL /* ns since the epoch */
#define MS 1000000LL
#define SID 7

/* ------------------------------------------------------------------------ */
/* Helpers */

static int setup(void **state)
{
	return fixture_setup(state, "sub/trail.db");
}

/* An event with the fields every event has, plus extra (json_pack format). */
static json_t *mk(const char *type, long long off_ns, long long pid, long long start_ns,
		  long long ppid, const char *comm, const char *fmt, ...)
{
	json_error_t jerr;
	json_t *ev = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:i}",
			       "type", type, "ts_ns", (json_int_t)(T0 + off_ns),
			       "session", (json_int_t)SID, "pid", (json_int_t)pid,
			       "tid", (json_int_t)pid, "ppid", (json_int_t)ppid,
			       "start_ns", (json_int_t)start_ns, "comm", comm, "uid", 1000);
	va_list ap;

	assert_non_null(ev);
	if (fmt) {
		json_t *extra;

		va_start(ap, fmt);
		extra = json_vpack_ex(&jerr, 0, fmt, ap);
		va_end(ap);
		if (!extra)
			fail_msg("json_pack: %s", jerr.text);
		assert_int_equal(json_object_update(ev, extra), 0);
		json_decref(extra);
	}
	return ev;
}

#define ROOT_CMD "cat /etc/hosts > /nonexistent/out.txt"

/* The fixture session, in recording order (17 events). */
static json_t *fixture_events(void)
{
	json_t *a = json_array();

	assert_non_null(a);
#define ADD(e) assert_int_equal(json_array_append_new(a, (e)), 0)
	ADD(mk("session_start", 0, 100, 5000, 50, "agenttrail",
	       "{s:I, s:[sss], s:s, s:n, s:s, s:s}", "root_pid", (json_int_t)100,
	       "argv", "sh", "-c", ROOT_CMD, "mode", "command", "cgroup",
	       "cwd", "/home/u", "host", "box"));
	ADD(mk("exec", 1 * MS, 100, 5000, 50, "sh",
	       "{s:[sss], s:b, s:s, s:s, s:s, s:i, s:i, s:i, s:I, s:s, s:i, s:n}",
	       "argv", "sh", "-c", ROOT_CMD, "argv_truncated", 0, "filename", "/bin/sh",
	       "exe", "/usr/bin/dash", "cwd", "/home/u", "euid", 1000, "gid", 1000,
	       "sid", 100, "parent_start_ns", (json_int_t)4000, "cgroup", "/user.slice",
	       "cgroup_id", 77, "container_id"));
	ADD(mk("fork", 2 * MS, 101, 6000, 100, "sh", "{s:I, s:b, s:i, s:i}",
	       "parent_start_ns", (json_int_t)5000, "thread", 0, "child_tid", 101,
	       "parent_tid", 100));
	ADD(mk("exec", 3 * MS, 101, 6000, 100, "cat",
	       "{s:[ss], s:b, s:s, s:s, s:s, s:i, s:i, s:i, s:I, s:s, s:i, s:n}",
	       "argv", "cat", "/etc/hosts", "argv_truncated", 0, "filename", "/bin/cat",
	       "exe", "/usr/bin/cat", "cwd", "/home/u", "euid", 1000, "gid", 1000,
	       "sid", 100, "parent_start_ns", (json_int_t)5000, "cgroup", "/user.slice",
	       "cgroup_id", 77, "container_id"));
	/* a thread of cat: no process of its own */
	ADD(mk("fork", 4 * MS, 101, 6000, 100, "cat", "{s:I, s:b, s:i, s:i}",
	       "parent_start_ns", (json_int_t)5000, "thread", 1, "child_tid", 103,
	       "parent_tid", 101));
	for (int i = 0; i < 2; i++)
		ADD(mk("open", (5 + i) * MS, 101, 6000, 100, "cat",
		       "{s:s, s:s, s:i, s:s, s:s, s:b, s:b, s:i, s:i, s:n, s:i, s:i, s:s}",
		       "path", "/etc/hosts", "arg_path", "/etc/hosts", "flags", 0,
		       "flags_str", "O_RDONLY", "access", "read", "create", 0, "truncate", 0,
		       "mode", 0, "ret", 3, "errno", "ino", 1234, "dev", 2049,
		       "path_source", "kernel"));
	ADD(mk("open", 7 * MS, 100, 5000, 50, "sh",
	       "{s:s, s:s, s:i, s:s, s:s, s:b, s:b, s:i, s:i, s:s, s:i, s:i, s:s}",
	       "path", "/nonexistent/out.txt", "arg_path", "/nonexistent/out.txt",
	       "flags", 577, "flags_str", "O_WRONLY|O_CREAT|O_TRUNC", "access", "write",
	       "create", 1, "truncate", 1, "mode", 420, "ret", -2, "errno", "ENOENT",
	       "ino", 0, "dev", 0, "path_source", "lexical"));
	ADD(mk("dns", 8 * MS, 101, 6000, 100, "cat",
	       "{s:s, s:i, s:i, s:b, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:i}]}",
	       "server", "127.0.0.53", "port", 53, "id", 4242, "response", 1,
	       "rcode", "NOERROR", "qname", "example.com", "qtype", "A", "answers",
	       "name", "example.com", "type", "A", "addr", "93.184.216.34", "ttl", 300));
	ADD(mk("connect", 9 * MS, 101, 6000, 100, "cat",
	       "{s:s, s:s, s:s, s:i, s:s, s:i, s:n, s:s, s:i, s:I, s:i, s:n}",
	       "family", "inet", "sotype", "stream", "saddr", "10.0.0.2", "sport", 40000,
	       "daddr", "93.184.216.34", "dport", 443, "unix_path", "domain", "example.com",
	       "fd", 4, "sock", (json_int_t)12345, "ret", 0, "errno"));
	ADD(mk("sock_close", 10 * MS, 101, 6000, 100, "cat",
	       "{s:s, s:s, s:i, s:s, s:i, s:s, s:I, s:I, s:I}",
	       "family", "inet", "saddr", "10.0.0.2", "sport", 40000, "daddr",
	       "93.184.216.34", "dport", 443, "domain", "example.com", "sock",
	       (json_int_t)12345, "bytes_sent", (json_int_t)517, "bytes_recv",
	       (json_int_t)4096));
	ADD(mk("fork", 11 * MS, 102, 7000, 100, "sh", "{s:I, s:b, s:i, s:i}",
	       "parent_start_ns", (json_int_t)5000, "thread", 0, "child_tid", 102,
	       "parent_tid", 100));
	ADD(mk("exec", 12 * MS, 102, 7000, 100, "sleep", "{s:[ss], s:s, s:I}",
	       "argv", "sleep", "100", "exe", "/usr/bin/sleep",
	       "parent_start_ns", (json_int_t)5000));
	ADD(mk("exit", 1503 * MS, 101, 6000, 100, "cat", "{s:i, s:i, s:b, s:I}",
	       "code", 0, "signal", 0, "core_dumped", 0, "duration_ns",
	       (json_int_t)(1500 * MS)));
	ADD(mk("exit", 2011 * MS, 102, 7000, 100, "sleep", "{s:n, s:i, s:b, s:I}",
	       "code", "signal", 9, "core_dumped", 0, "duration_ns",
	       (json_int_t)(2000 * MS)));
	ADD(mk("exit", 3001 * MS, 100, 5000, 50, "sh", "{s:i, s:i, s:b, s:I}",
	       "code", 1, "signal", 0, "core_dumped", 0, "duration_ns",
	       (json_int_t)(3000 * MS)));
	ADD(mk("session_end", 3002 * MS, 100, 5000, 50, "agenttrail",
	       "{s:i, s:i, s:i, s:{s:i, s:i}, s:i}", "exit_code", 1, "exit_signal", 0,
	       "events", 17, "drops", "open", 3, "track_full", 0, "lost_total", 3));
#undef ADD
	assert_int_equal(json_array_size(a), 17);
	return a;
}

static void put_fixture(struct store *s)
{
	json_t *a = fixture_events();
	size_t i;
	json_t *ev;

	json_array_foreach(a, i, ev) {
		if (store_put(s, ev) != 0)
			fail_msg("store_put #%zu: %s", i, store_last_error(s));
	}
	json_decref(a);
	assert_int_equal(store_flush(s), 0);
}

static void write_fixture(const char *path)
{
	char err[512];
	struct store *s = NULL;

	if (store_open(path, &s, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	put_fixture(s);
	assert_int_equal(store_close(s), 0);
}

/* The rows of a query as text: columns joined by '|', rows by '\n',
 * NULL as "NULL" (like the sqlite3 shell). */
static char *rows_of(sqlite3 *db, const char *sql)
{
	struct sbuf b;
	sqlite3_stmt *st = NULL;
	int rc;

	sb_init(&b);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (b.len)
			sb_add(&b, "\n");
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *t = (const char *)sqlite3_column_text(st, i);

			sb_printf(&b, "%s%s", i ? "|" : "", t ? t : "NULL");
		}
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	assert_false(b.failed);
	sb_add(&b, "");
	return b.p;
}

#define assert_rows(db, sql, expected)                  \
	do {                                            \
		char *got_ = rows_of((db), (sql));      \
		assert_string_equal(got_, (expected));  \
		free(got_);                             \
	} while (0)

/* Run the report into a string. */
static char *report_text(sqlite3 *db, const struct report_opts *o, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	char err[512];
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	*rc = report_run(db, o, out, err, sizeof(err));
	assert_int_equal(fclose(out), 0);
	if (*rc != 0) {
		free(buf);
		return strdup(err);
	}
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Store */

static void test_fixture_rows(void **state)
{
	struct fixture *f = *state;
	struct store *s;
	sqlite3 *db;

	write_fixture(f->db);
	s = open_ro(f->db);
	db = store_db(s);

	assert_rows(db, "SELECT key, value FROM meta", "schema_version|6");
	assert_rows(db, "PRAGMA journal_mode", "wal");
	assert_rows(db, "SELECT id, session, ts_ns - 1700000000000000000, type, pid, tid,"
		    " start_ns FROM events ORDER BY id",
		    "1|7|0|session_start|100|100|5000\n"
		    "2|7|1000000|exec|100|100|5000\n"
		    "3|7|2000000|fork|101|101|6000\n"
		    "4|7|3000000|exec|101|101|6000\n"
		    "5|7|4000000|fork|101|101|6000\n"
		    "6|7|5000000|open|101|101|6000\n"
		    "7|7|6000000|open|101|101|6000\n"
		    "8|7|7000000|open|100|100|5000\n"
		    "9|7|8000000|dns|101|101|6000\n"
		    "10|7|9000000|connect|101|101|6000\n"
		    "11|7|10000000|sock_close|101|101|6000\n"
		    "12|7|11000000|fork|102|102|7000\n"
		    "13|7|12000000|exec|102|102|7000\n"
		    "14|7|1503000000|exit|101|101|6000\n"
		    "15|7|2011000000|exit|102|102|7000\n"
		    "16|7|3001000000|exit|100|100|5000\n"
		    "17|7|3002000000|session_end|100|100|5000");
	/* data is the event itself */
	assert_rows(db, "SELECT data FROM events WHERE id = 8",
		    "{\"type\":\"open\",\"ts_ns\":1700000000007000000,\"session\":7,"
		    "\"pid\":100,\"tid\":100,\"ppid\":50,\"start_ns\":5000,\"comm\":\"sh\","
		    "\"uid\":1000,\"path\":\"/nonexistent/out.txt\",\"arg_path\":"
		    "\"/nonexistent/out.txt\",\"flags\":577,\"flags_str\":"
		    "\"O_WRONLY|O_CREAT|O_TRUNC\",\"access\":\"write\",\"create\":true,"
		    "\"truncate\":true,\"mode\":420,\"ret\":-2,\"errno\":\"ENOENT\","
		    "\"ino\":0,\"dev\":0,\"path_source\":\"lexical\"}");
	assert_rows(db, "SELECT count(*) FROM events WHERE json_valid(data)", "17");

	assert_rows(db, "SELECT id, started_ns, ended_ns, mode, root_pid, argv, cwd, cgroup,"
		    " host, exit_code, exit_signal, events, lost_total, drops FROM sessions",
		    "7|1700000000000000000|1700000003002000000|command|100|"
		    "[\"sh\",\"-c\",\"" ROOT_CMD "\"]|/home/u|NULL|box|1|0|17|3|"
		    "{\"open\":3,\"track_full\":0}");

	assert_rows(db, "SELECT session, pid, start_ns, ppid, parent_start_ns, comm, exe,"
		    " argv, cwd, uid, euid, gid, cgroup, container_id,"
		    " first_ts_ns - 1700000000000000000, exec_ts_ns - 1700000000000000000,"
		    " exit_ts_ns - 1700000000000000000, exit_code, exit_signal, core_dumped,"
		    " duration_ns, execs FROM processes ORDER BY pid",
		    "7|100|5000|50|4000|sh|/usr/bin/dash|[\"sh\",\"-c\",\"" ROOT_CMD "\"]|"
		    "/home/u|1000|1000|1000|/user.slice|NULL|1000000|1000000|3001000000|"
		    "1|0|0|3000000000|1\n"
		    "7|101|6000|100|5000|cat|/usr/bin/cat|[\"cat\",\"/etc/hosts\"]|"
		    "/home/u|1000|1000|1000|/user.slice|NULL|2000000|3000000|1503000000|"
		    "0|0|0|1500000000|1\n"
		    "7|102|7000|100|5000|sleep|/usr/bin/sleep|[\"sleep\",\"100\"]|"
		    "NULL|1000|NULL|NULL|NULL|NULL|11000000|12000000|2011000000|"
		    "NULL|9|0|2000000000|1");

	assert_rows(db, "SELECT id, event_id, session, ts_ns - 1700000000000000000, pid,"
		    " start_ns, op, path, arg_path, new_path, access, flags, ret, errno"
		    " FROM files ORDER BY id",
		    "6|6|7|5000000|101|6000|open|/etc/hosts|/etc/hosts|NULL|read|0|3|NULL\n"
		    "7|7|7|6000000|101|6000|open|/etc/hosts|/etc/hosts|NULL|read|0|3|NULL\n"
		    "8|8|7|7000000|100|5000|open|/nonexistent/out.txt|/nonexistent/out.txt|"
		    "NULL|write|577|-2|ENOENT");

	assert_rows(db, "SELECT id, event_id, session, ts_ns - 1700000000000000000, pid,"
		    " start_ns, op, family, sotype, saddr, sport, daddr, dport, unix_path,"
		    " domain, ret, errno, sock, bytes_sent, bytes_recv,"
		    " closed_ts_ns - 1700000000000000000 FROM connections",
		    "1|10|7|9000000|101|6000|connect|inet|stream|10.0.0.2|40000|"
		    "93.184.216.34|443|NULL|example.com|0|NULL|12345|517|4096|10000000");

	assert_rows(db, "SELECT id, event_id, session, ts_ns - 1700000000000000000, pid,"
		    " start_ns, response, qname, qtype, rcode, answers FROM dns",
		    "1|9|7|8000000|101|6000|1|example.com|A|NOERROR|"
		    "[{\"name\":\"example.com\",\"type\":\"A\",\"addr\":\"93.184.216.34\","
		    "\"ttl\":300}]");
	assert_rows(db, "SELECT json_extract(answers, '$[0].addr') FROM dns", "93.184.216.34");

	assert_int_equal(store_close(s), 0);
}

static void test_reopen(void **state)
{
	struct fixture *f = *state;
	char err[512];
	struct store *s = NULL;
	json_t *ev;

	write_fixture(f->db);
	if (store_open(f->db, &s, err, sizeof(err)) != 0)
		fail_msg("reopen: %s", err);
	ev = json_pack("{s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:s, s:i, s:[s], s:s, s:i}",
		       "type", "session_start", "ts_ns", (json_int_t)(T0 + 10000 * MS),
		       "session", 8, "pid", 200, "tid", 200, "ppid", 1, "start_ns", 9000,
		       "comm", "agenttrail", "uid", 0, "argv", "true", "mode", "command",
		       "root_pid", 200);
	assert_non_null(ev);
	assert_int_equal(store_put(s, ev), 0);
	json_decref(ev);
	/* store_close flushes */
	assert_int_equal(store_close(s), 0);

	s = open_ro(f->db);
	assert_rows(store_db(s), "SELECT session, count(*) FROM events GROUP BY session",
		    "7|17\n8|1");
	assert_rows(store_db(s), "SELECT id, mode, argv, ended_ns FROM sessions ORDER BY id",
		    "7|command|[\"sh\",\"-c\",\"" ROOT_CMD "\"]|1700000003002000000\n"
		    "8|command|[\"true\"]|NULL");
	assert_int_equal(store_close(s), 0);
	assert_int_equal(store_close(NULL), 0);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	char err[512];
	struct store *s = NULL;
	sqlite3 *db;

	write_fixture(f->db);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 99"
				      " WHERE key = 'schema_version'", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	assert_int_equal(store_open(f->db, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_non_null(strstr(err, "schema version 99, newer than this agenttrail"
			       " supports (6)"));
	assert_non_null(strstr(err, f->db));
	assert_int_equal(store_open_readonly(f->db, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_non_null(strstr(err, "schema version 99"));
}

static void test_not_agenttrail_or_missing(void **state)
{
	struct fixture *f = *state;
	char err[512], other[160];
	struct store *s = NULL;
	sqlite3 *db;

	assert_int_equal(store_open_readonly(f->db, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no database at"));

	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(store_open(other, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an agenttrail database"));
	unlink(other);
}

static void test_bad_events(void **state)
{
	struct fixture *f = *state;
	char err[512];
	struct store *s = NULL;
	json_t *ev;

	if (store_open(f->db, &s, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	ev = json_pack("{s:i}", "session", 1);
	assert_int_equal(store_put(s, ev), -1);
	assert_non_null(strstr(store_last_error(s), "without a string \"type\""));
	json_decref(ev);
	ev = json_pack("{s:s}", "type", "exec");
	assert_int_equal(store_put(s, ev), -1);
	assert_non_null(strstr(store_last_error(s), "integer \"session\""));
	json_decref(ev);
	/* unknown types and missing fields are kept in events */
	ev = json_pack("{s:s, s:i}", "type", "future_kind", "session", 3);
	assert_int_equal(store_put(s, ev), 0);
	json_decref(ev);
	assert_int_equal(store_flush(s), 0);
	assert_rows(store_db(s), "SELECT type, pid, data FROM events",
		    "future_kind|NULL|{\"type\":\"future_kind\",\"session\":3}");
	assert_rows(store_db(s), "SELECT count(*) FROM processes", "0");
	assert_int_equal(store_close(s), 0);

	s = open_ro(f->db);
	ev = json_pack("{s:s, s:i}", "type", "exec", "session", 3);
	assert_int_equal(store_put(s, ev), -1);
	assert_non_null(strstr(store_last_error(s), "read-only"));
	json_decref(ev);
	assert_int_equal(store_close(s), 0);
}

/* What a store holds, as text, for comparing two stores. */
static char *everything(sqlite3 *db)
{
	static const char *const q[] = {
		"SELECT id, session, ts_ns, type, pid, tid, start_ns, data FROM events",
		"SELECT * FROM processes ORDER BY session, pid, start_ns",
		"SELECT * FROM files",
	};
	char *all = strdup("");

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		char *rows = rows_of(db, q[i]), *joined = NULL;

		assert_true(asprintf(&joined, "%s\n--\n%s", all, rows) > 0);
		free(all);
		free(rows);
		all = joined;
	}
	return all;
}

/* store_put_text() makes the rows store_put() makes of the same event. */
/*
 * An open whose search misses were folded into it (docs/events.md,
 * "searched"): the files view (schema 6) gives each path tried its row,
 * as when each miss was an event of its own, with the open's flags,
 * access, id and time; an open without the member, one row.
 */
static void test_files_view_searched(void **state)
{
	struct fixture *f = *state;
	char err[512];
	struct store *s = NULL;
	json_t *found = mk("open", 1, 50, 500, 1, "cc1", "{s:s, s:s, s:s, s:i, s:i, s:n, s:[s,s]}",
			   "path", "/usr/include/stdio.h", "arg_path", "/usr/include/stdio.h",
			   "access", "read", "flags", 256, "ret", 3, "errno", "searched",
			   "/src/include/stdio.h", "/usr/local/include/stdio.h");
	json_t *plain = mk("open", 2, 50, 500, 1, "cc1", "{s:s, s:s, s:i, s:i, s:s}", "path",
			   "/nothere.h", "access", "read", "flags", 0, "ret", -2, "errno",
			   "ENOENT");

	if (store_open(f->db, &s, err, sizeof(err)))
		fail_msg("store_open: %s", err);
	assert_int_equal(store_put(s, found), 0);
	assert_int_equal(store_put(s, plain), 0);
	json_decref(found);
	json_decref(plain);
	assert_int_equal(store_close(s), 0);
	s = open_ro(f->db);
	assert_rows(store_db(s), "SELECT id, event_id, ts_ns - 1700000000000000000, pid, op, path,"
		    " arg_path, access, flags, ret, errno FROM files WHERE session = 7"
		    " ORDER BY id, ret DESC, path",
		    "1|1|1|50|open|/usr/include/stdio.h|/usr/include/stdio.h|read|256|3|NULL\n"
		    "1|1|1|50|open|/src/include/stdio.h|NULL|read|256|-2|ENOENT\n"
		    "1|1|1|50|open|/usr/local/include/stdio.h|NULL|read|256|-2|ENOENT\n"
		    "2|2|2|50|open|/nothere.h|NULL|read|0|-2|ENOENT");
	assert_rows(store_db(s), "SELECT count(*) FROM files WHERE session = 7 AND errno = 'ENOENT'",
		    "3");
	assert_int_equal(store_close(s), 0);
}

static void test_put_text_same_rows(void **state)
{
	struct fixture *f = *state;
	char err[512], other[160];
	struct store *a = NULL, *b = NULL;
	json_t *evs[] = {
		mk("open", 1, 50, 500, 1, "cc1", "{s:s, s:s, s:i, s:n, s:s, s:I}", "path",
		   "/usr/include/stdio.h", "access", "read", "ret", 3, "errno", "arg_path",
		   "stdio.h", "eid", (json_int_t)1),
		mk("open", 2, 50, 500, 1, "cc1", "{s:s, s:i, s:s}", "path", "/x/\"q\"",
		   "ret", -2, "errno", "ENOENT"),
		mk("rename", 3, 51, 510, 50, "mv \xc3\xa9", "{s:s, s:s}", "path", "/a",
		   "new_path", "/b"),
		mk("unlink", 4, 52, 520, 50, "rm", NULL),
	};
	char *want, *got;

	snprintf(other, sizeof(other), "%s/text.db", f->dir);
	if (store_open(f->db, &a, err, sizeof(err)) || store_open(other, &b, err, sizeof(err)))
		fail_msg("store_open: %s", err);
	json_object_set_new(evs[3], "comm", json_null());
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		json_t *e = evs[i];
		struct store_head h = {
			.type = json_string_value(json_object_get(e, "type")),
			.ts_ns = json_integer_value(json_object_get(e, "ts_ns")),
			.session = json_integer_value(json_object_get(e, "session")),
			.pid = json_integer_value(json_object_get(e, "pid")),
			.tid = json_integer_value(json_object_get(e, "tid")),
			.ppid = json_integer_value(json_object_get(e, "ppid")),
			.start_ns = json_integer_value(json_object_get(e, "start_ns")),
			.uid = json_integer_value(json_object_get(e, "uid")),
			.comm = json_string_value(json_object_get(e, "comm")),
		};
		struct jbuf text;

		jbuf_init(&text);
		assert_int_equal(json_out(&text, e), 0);
		assert_int_equal(store_put(a, e), 0);
		assert_int_equal(store_put_text(b, &h, text.p, text.len), 0);
		jbuf_free(&text);
		json_decref(e);
	}
	assert_int_equal(store_flush(a), 0);
	assert_int_equal(store_flush(b), 0);
	want = everything(store_db(a));
	got = everything(store_db(b));
	assert_string_equal(got, want);
	assert_non_null(strstr(want, "/usr/include/stdio.h"));
	free(want);
	free(got);

	/* a type whose statements need more than the common members */
	{
		struct store_head h = { .type = "connect", .session = SID, .pid = 1 };

		assert_int_equal(store_put_text(b, &h, "{}", 2), -1);
		assert_non_null(strstr(store_last_error(b), "more than its common members"));
		assert_int_equal(store_usable(b), 1);
	}
	assert_int_equal(store_close(a), 0);
	assert_int_equal(store_close(b), 0);
	unlink(other);   /* the fixture removes only its own database */
}

static void test_disk_full(void **state)
{
	struct fixture *f = *state;
	char err[512], big[3000];
	struct store *s = NULL;
	int failed_at = -1;

	if (store_open(f->db, &s, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	put_fixture(s);
	/* no page beyond the current ones: the next growth is SQLITE_FULL */
	assert_int_equal(sqlite3_exec(store_db(s), "PRAGMA max_page_count = 1", NULL,
				      NULL, NULL), SQLITE_OK);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 2000 && failed_at < 0; i++) {
		json_t *ev = mk("open", (4000 + i) * MS, 101, 6000, 100, "cat",
				"{s:s, s:s, s:i, s:n}", "path", big, "access", "read",
				"ret", 3, "errno");
		if (store_put(s, ev) != 0)
			failed_at = i;
		json_decref(ev);
	}
	if (failed_at < 0)
		assert_int_equal(store_flush(s), -1);
	assert_non_null(strstr(store_last_error(s), "SQLITE_FULL"));
	assert_non_null(strstr(store_last_error(s), f->db));
	/* the store still works (nothing pending): close cleanly */
	assert_int_equal(store_close(s), 0);

	s = open_ro(f->db);
	assert_rows(store_db(s), "SELECT count(*) FROM events WHERE ts_ns < 1700000004000000000",
		    "17");
	assert_rows(store_db(s), "SELECT count(*) FROM processes", "3");
	assert_int_equal(store_close(s), 0);
}

static void test_default_path(void **state)
{
	char buf[256];
	(void)state;

	assert_int_equal(setenv("AGENTTRAIL_DB", "/x/y.db", 1), 0);
	assert_string_equal(at_default_db_path(), "/x/y.db");
	assert_int_equal(unsetenv("AGENTTRAIL_DB"), 0);
	assert_int_equal(setenv("XDG_DATA_HOME", "/tmp/xdg", 1), 0);
	assert_int_equal(at_default_db_path_r(buf, sizeof(buf)), 0);
	if (geteuid() == 0)
		assert_string_equal(buf, "/var/lib/agenttrail/trail.db");
	else
		assert_string_equal(buf, "/tmp/xdg/agenttrail/trail.db");
	assert_int_equal(at_default_db_path_r(buf, 4), -1);
}

/* ------------------------------------------------------------------------ */
/* Report */

static void test_report_tree(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .view = REPORT_TREE };
	struct store *s;
	char *out;
	int rc;

	write_fixture(f->db);
	s = open_ro(f->db);
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out,
		"PID  EXIT     DURATION  COMMAND\n"
		"100  1           3.00s  sh -c 'cat /etc/hosts > /nonexistent/out.txt'\n"
		"101  0           1.50s    cat /etc/hosts\n"
		"102  SIGKILL     2.00s    sleep 100\n");
	free(out);

	/* shortened to the terminal width */
	o.width = 40;
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out,
		"PID  EXIT     DURATION  COMMAND\n"
		"100  1           3.00s  sh -c 'cat /e...\n"
		"101  0           1.50s    cat /etc/hosts\n"
		"102  SIGKILL     2.00s    sleep 100\n");
	free(out);

	/* JSON: nested children */
	o.width = 0;
	o.json = true;
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	json_t *doc = json_loads(out, 0, NULL);
	assert_true(json_is_array(doc));
	assert_int_equal(json_array_size(doc), 1);
	json_t *root = json_array_get(doc, 0);
	assert_int_equal(json_integer_value(json_object_get(root, "pid")), 100);
	json_t *kids = json_object_get(root, "children");
	assert_int_equal(json_array_size(kids), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(kids, 1),
							    "exit_signal")), 9);
	assert_true(json_is_null(json_object_get(json_array_get(kids, 1), "exit_code")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		json_array_get(kids, 0), "argv"), 1)), "/etc/hosts");
	json_decref(doc);
	free(out);
	assert_int_equal(store_close(s), 0);
}

static void test_report_summary(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .view = REPORT_SUMMARY, .json = true };
	struct store *s;
	json_t *got, *want;
	char *out;
	int rc;

	write_fixture(f->db);
	s = open_ro(f->db);
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	got = json_loads(out, 0, NULL);
	want = json_loads(
		"{\"session\": 7,"
		" \"events\": {\"total\": 17, \"by_type\": {\"connect\": 1, \"dns\": 1,"
		"   \"exec\": 3, \"exit\": 3, \"fork\": 3, \"open\": 3, \"session_end\": 1,"
		"   \"session_start\": 1, \"sock_close\": 1}},"
		" \"processes\": 3,"
		" \"files\": {\"read\": 1, \"written\": 0, \"failed\": 1},"
		" \"connections\": 1,"
		" \"dns_names\": [\"example.com\"],"
		" \"drops\": {\"open\": 3, \"track_full\": 0},"
		" \"lost_total\": 3}", 0, NULL);
	assert_non_null(got);
	assert_non_null(want);
	if (!json_equal(got, want))
		fail_msg("summary JSON differs:\n%s", out);
	/* stable key order */
	assert_non_null(strstr(out, "{\n  \"session\": 7,\n  \"events\": {\n    \"total\": 17,"));
	json_decref(got);
	json_decref(want);
	free(out);

	/* the text view carries the same numbers (times shown in UTC here) */
	o.json = false;
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out,
		"session 7  sh -c '" ROOT_CMD "'\n"
		"started 2023-11-14 22:13:20, duration 3.00s, exit 1\n"
		"\n"
		"events           17\n"
		"  connect         1\n"
		"  dns             1\n"
		"  exec            3\n"
		"  exit            3\n"
		"  fork            3\n"
		"  open            3\n"
		"  session_end     1\n"
		"  session_start   1\n"
		"  sock_close      1\n"
		"processes         3\n"
		"files read        1\n"
		"files written     0\n"
		"file errors       1\n"
		"connections       1\n"
		"dns names         1  example.com\n"
		"drops             3\n"
		"  open            3\n"
		"lost total        3\n");
	free(out);
	assert_int_equal(store_close(s), 0);
}

static void test_report_other_views(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .view = REPORT_FILES };
	struct store *s;
	char *out;
	int rc;

	write_fixture(f->db);
	s = open_ro(f->db);
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out,
		"  ACCESS  RESULT  PATH\n"
		"100  sh -c '" ROOT_CMD "'\n"
		"  write   ENOENT  /nonexistent/out.txt\n"
		"101  cat /etc/hosts\n"
		"  read    ok      /etc/hosts  (x2)\n");
	free(out);

	o.view = REPORT_NET;
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out,
		"PID  COMM  OP       FAMILY  TYPE    ADDRESS            DOMAIN       RESULT"
		"  SENT    RECV\n"
		"101  cat   connect  inet    stream  93.184.216.34:443  example.com  ok    "
		"  517B  4.0KiB\n");
	free(out);

	o.view = REPORT_SESSIONS;
	o.json = true;
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	json_t *doc = json_loads(out, 0, NULL);
	assert_int_equal(json_array_size(doc), 1);
	json_t *row = json_array_get(doc, 0);
	assert_int_equal(json_integer_value(json_object_get(row, "id")), 7);
	assert_int_equal(json_integer_value(json_object_get(row, "duration_ns")), 3002 * MS);
	assert_int_equal(json_integer_value(json_object_get(row, "events_stored")), 17);
	assert_string_equal(json_string_value(json_array_get(json_object_get(row, "argv"), 2)),
			    ROOT_CMD);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(row, "drops"),
							    "open")), 3);
	json_decref(doc);
	free(out);

	o.view = REPORT_FILES;
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 0);
	doc = json_loads(out, 0, NULL);
	assert_int_equal(json_array_size(doc), 2);
	row = json_array_get(json_object_get(json_array_get(doc, 1), "files"), 0);
	assert_string_equal(json_string_value(json_object_get(row, "result")), "ok");
	assert_int_equal(json_integer_value(json_object_get(row, "count")), 2);
	json_decref(doc);
	free(out);
	assert_int_equal(store_close(s), 0);
}

/* Counts SQLite's progress callbacks (one per 1000 VM instructions) and
 * interrupts the statement past the budget. */
struct vm_budget {
	long calls, max;
};

static int vm_budget_cb(void *arg)
{
	struct vm_budget *b = arg;

	return ++b->calls > b->max;
}

/*
 * The timeline of a large session costs work in proportion to its events,
 * not their square: the reads a finding cites are looked up in one set,
 * not by a scan of the session per open. Measured in SQLite's VM
 * instructions, which do not depend on the machine's speed: 4000 opens
 * get a budget of 4000 instructions each (the query takes about 30; the
 * quadratic one it replaced ran past the budget, and for minutes on a
 * recorded build), and the timeline still shows the cited read, the write
 * and the finding, and no other read.
 */
static void test_timeline_linear(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .view = REPORT_TIMELINE };
	struct vm_budget budget = { 0, 4000 * 4 };
	enum { OPENS = 4000, CITED = 1234 };
	char err[512], path[64];
	struct store *s = NULL;
	json_t *ev;
	char *out;
	int rc;

	if (store_open(f->db, &s, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	ev = mk("session_start", 0, 100, 1, 1, "make", "{s:s}", "mode", "command");
	assert_int_equal(store_put(s, ev), 0);
	json_decref(ev);
	for (int i = 1; i <= OPENS; i++) {
		snprintf(path, sizeof(path), "/src/file%d.h", i);
		ev = mk("open", i * MS, 101, 2, 100, "cc1", "{s:s, s:s, s:i, s:n, s:I}", "path", path,
			"access", i == OPENS ? "write" : "read", "ret", 3, "errno", "eid",
			(json_int_t)i);
		assert_int_equal(store_put(s, ev), 0);
		json_decref(ev);
	}
	ev = mk("finding", (OPENS + 1) * MS, 101, 2, 100, "cc1", "{s:s, s:s, s:s, s:[I]}", "kind",
		"credential_access", "severity", "medium", "explanation", "read of a key",
		"evidence", (json_int_t)CITED);
	assert_int_equal(store_put(s, ev), 0);
	json_decref(ev);
	assert_int_equal(store_flush(s), 0);

	sqlite3_progress_handler(store_db(s), 1000, vm_budget_cb, &budget);
	out = report_text(store_db(s), &o, &rc);
	sqlite3_progress_handler(store_db(s), 0, NULL, NULL);
	if (rc != 0)
		fail_msg("timeline failed after %ld000 VM instructions: %s", budget.calls, out);
	snprintf(path, sizeof(path), "/src/file%d.h", CITED);
	assert_non_null(strstr(out, path));
	snprintf(path, sizeof(path), "/src/file%d.h", OPENS);
	assert_non_null(strstr(out, path));
	assert_non_null(strstr(out, "read of a key"));
	/* the cited read and the write, no other open */
	{
		int files = 0;

		for (const char *q = out; (q = strstr(q, "/src/file")) != NULL; q++)
			files++;
		assert_int_equal(files, 2);
	}
	free(out);
	assert_int_equal(store_close(s), 0);
}

static void test_report_errors(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .view = REPORT_TREE, .has_session = true, .session = 99 };
	struct store *s = NULL;
	char err[512], *out;
	int rc;

	write_fixture(f->db);
	s = open_ro(f->db);
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "unknown session 99"));
	free(out);
	assert_int_equal(store_close(s), 0);

	/* an empty store has no latest session */
	teardown(state);
	setup(state);
	f = *state;
	assert_int_equal(store_open(f->db, &s, err, sizeof(err)), 0);
	o.has_session = false;
	out = report_text(store_db(s), &o, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "the database has no sessions yet");
	free(out);
	assert_int_equal(store_close(s), 0);
}

/* cmd_report: exit statuses (stdout silenced). */
static void test_cmd_report(void **state)
{
	struct fixture *f = *state;
	char dbarg[160], missing[160];
	int saved, null_fd;

	write_fixture(f->db);
	snprintf(dbarg, sizeof(dbarg), "--db=%s", f->db);
	snprintf(missing, sizeof(missing), "%s/none.db", f->dir);
	assert_int_equal(fflush(stdout), 0);
	saved = dup(STDOUT_FILENO);
	null_fd = open("/dev/null", O_WRONLY);
	assert_true(saved >= 0 && null_fd >= 0);
	assert_true(dup2(null_fd, STDOUT_FILENO) >= 0);

	char *ok[] = { "report", dbarg, "--session", "7", "--json", "tree", NULL };
	char *ok2[] = { "report", "--db", f->db, "files", NULL };
	char *bad_view[] = { "report", dbarg, "trees", NULL };
	char *two_views[] = { "report", dbarg, "tree", "net", NULL };
	char *bad_opt[] = { "report", "--frobnicate", NULL };
	char *no_value[] = { "report", "--db", NULL };
	char *bad_session[] = { "report", dbarg, "--session", "x7", NULL };
	char *no_db[] = { "report", "--db", missing, NULL };
	char *unknown[] = { "report", dbarg, "--session", "8", NULL };
	char *help[] = { "report", "--help", NULL };

	int r_ok = cmd_report(6, ok), r_ok2 = cmd_report(4, ok2);
	int r_help = cmd_report(2, help);
	int r_bad_view = cmd_report(3, bad_view), r_two = cmd_report(4, two_views);
	int r_bad_opt = cmd_report(2, bad_opt), r_no_value = cmd_report(2, no_value);
	int r_bad_session = cmd_report(4, bad_session), r_no_db = cmd_report(3, no_db);
	int r_unknown = cmd_report(4, unknown);

	assert_int_equal(fflush(stdout), 0);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	close(null_fd);
	assert_int_equal(r_ok, 0);
	assert_int_equal(r_ok2, 0);
	assert_int_equal(r_help, 0);
	assert_int_equal(r_bad_view, 2);
	assert_int_equal(r_two, 2);
	assert_int_equal(r_bad_opt, 2);
	assert_int_equal(r_no_value, 2);
	assert_int_equal(r_bad_session, 2);
	assert_int_equal(r_no_db, 1);
	assert_int_equal(r_unknown, 1);
}

static void test_shell_quote(void **state)
{
	json_t *argv = json_pack("[sssss]", "echo", "it's", "", "a b", "x\ny");
	char *s = argv_shell(argv);
	char buf[32];
	(void)state;

	assert_string_equal(s, "echo 'it'\\''s' '' 'a b' $'x\\ny'");
	free(s);
	json_decref(argv);
	assert_int_equal(fmt_duration(buf, sizeof(buf), 999), 0);
	assert_string_equal(buf, "0us");
	assert_int_equal(fmt_duration(buf, sizeof(buf), 42 * MS), 0);
	assert_string_equal(buf, "42ms");
	assert_int_equal(fmt_duration(buf, sizeof(buf), 3723LL * 1000 * MS), 0);
	assert_string_equal(buf, "1h02m03s");
	assert_int_equal(fmt_exit(buf, sizeof(buf), false, 0, 11, true), 0);
	assert_string_equal(buf, "SIGSEGV+core");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixture_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_agenttrail_or_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_view_searched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_text_same_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_report_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_summary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_other_views, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeline_linear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_report, setup, teardown),
		cmocka_unit_test(test_shell_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
