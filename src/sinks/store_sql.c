/* SPDX-License-Identifier: MIT */
/* The SQL of the store: schema (docs/schema.md) and statements. */
#include "sinks/store_sql.h"

/* Schema version 1. */

static const char schema_v1[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value NOT NULL);"
	"CREATE TABLE events("
	" id INTEGER PRIMARY KEY, session INTEGER NOT NULL, ts_ns INTEGER,"
	" type TEXT NOT NULL, pid INTEGER, tid INTEGER, start_ns INTEGER,"
	" data TEXT NOT NULL);"
	"CREATE INDEX events_session_ts ON events(session, ts_ns);"
	"CREATE INDEX events_session_proc ON events(session, pid, start_ns);"
	"CREATE TABLE sessions("
	" id INTEGER PRIMARY KEY, started_ns INTEGER, ended_ns INTEGER,"
	" mode TEXT, root_pid INTEGER, argv TEXT, cwd TEXT, cgroup TEXT,"
	" host TEXT, exit_code INTEGER, exit_signal INTEGER, events INTEGER,"
	" lost_total INTEGER, drops TEXT);"
	"CREATE TABLE processes("
	" session INTEGER NOT NULL, pid INTEGER NOT NULL, start_ns INTEGER NOT NULL,"
	" ppid INTEGER, parent_start_ns INTEGER, comm TEXT, exe TEXT, argv TEXT,"
	" cwd TEXT, uid INTEGER, euid INTEGER, gid INTEGER, cgroup TEXT,"
	" container_id TEXT, first_ts_ns INTEGER, exec_ts_ns INTEGER,"
	" exit_ts_ns INTEGER, exit_code INTEGER, exit_signal INTEGER,"
	" core_dumped INTEGER, duration_ns INTEGER,"
	" execs INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(session, pid, start_ns));"
	"CREATE INDEX processes_parent ON processes(session, ppid, parent_start_ns);"
	"CREATE TABLE files("
	" id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, session INTEGER NOT NULL,"
	" ts_ns INTEGER, pid INTEGER, start_ns INTEGER, op TEXT NOT NULL,"
	" path TEXT, arg_path TEXT, new_path TEXT, access TEXT, flags INTEGER,"
	" ret INTEGER, errno TEXT);"
	"CREATE INDEX files_session_ts ON files(session, ts_ns);"
	"CREATE INDEX files_session_proc ON files(session, pid, start_ns);"
	"CREATE TABLE connections("
	" id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, session INTEGER NOT NULL,"
	" ts_ns INTEGER, pid INTEGER, start_ns INTEGER, op TEXT NOT NULL,"
	" family TEXT, sotype TEXT, saddr TEXT, sport INTEGER, daddr TEXT,"
	" dport INTEGER, unix_path TEXT, domain TEXT, ret INTEGER, errno TEXT,"
	" sock INTEGER, bytes_sent INTEGER, bytes_recv INTEGER,"
	" closed_ts_ns INTEGER);"
	"CREATE INDEX connections_session_ts ON connections(session, ts_ns);"
	"CREATE INDEX connections_session_proc ON connections(session, pid, start_ns);"
	"CREATE INDEX connections_session_sock ON connections(session, sock);"
	"CREATE TABLE dns("
	" id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, session INTEGER NOT NULL,"
	" ts_ns INTEGER, pid INTEGER, start_ns INTEGER, response INTEGER,"
	" qname TEXT, qtype TEXT, rcode, answers TEXT);"
	"CREATE INDEX dns_session_ts ON dns(session, ts_ns);"
	"CREATE INDEX dns_session_proc ON dns(session, pid, start_ns);";

/* Schema version 2: captured HTTP exchanges and LLM calls. */
static const char schema_v2[] =
	"CREATE TABLE http("
	" id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, session INTEGER NOT NULL,"
	" ts_ns INTEGER, pid INTEGER, start_ns INTEGER, record_id TEXT, conn INTEGER,"
	" sock INTEGER, source TEXT, tls INTEGER, proto TEXT, method TEXT, host TEXT,"
	" target TEXT, status INTEGER, req_body_len INTEGER, resp_body_len INTEGER,"
	" provider TEXT, llm_call TEXT, end_ts_ns INTEGER);"
	"CREATE INDEX http_session_ts ON http(session, ts_ns);"
	"CREATE TABLE llm_calls("
	" id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, session INTEGER NOT NULL,"
	" ts_ns INTEGER, pid INTEGER, start_ns INTEGER, call_id TEXT UNIQUE,"
	" http_id TEXT, provider TEXT, model TEXT, host TEXT, path TEXT,"
	" status INTEGER, stream INTEGER, input_tokens INTEGER, output_tokens INTEGER,"
	" cache_read_tokens INTEGER, cache_write_tokens INTEGER, stop_reason TEXT,"
	" tool_calls INTEGER, first_token_ts_ns INTEGER, end_ts_ns INTEGER,"
	" error TEXT);"
	"CREATE INDEX llm_calls_session_ts ON llm_calls(session, ts_ns);"
	"CREATE TABLE tool_calls("
	" id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, session INTEGER NOT NULL,"
	" ts_ns INTEGER, pid INTEGER, start_ns INTEGER, tool_call_id TEXT,"
	" llm_call TEXT, name TEXT, input TEXT);"
	"CREATE INDEX tool_calls_session_ts ON tool_calls(session, ts_ns);"
	"CREATE INDEX tool_calls_id ON tool_calls(tool_call_id);";

/*
 * Schema version 3: no (session, pid, start_ns) indexes on the two tables
 * that take a row per opened file. Keeping them cost about 4 µs per stored
 * open, a third of the store's time, and no query of agenttrail's used
 * them; a process's events are found through (session, ts_ns) between
 * the process's first_ts_ns and exit_ts_ns (docs/schema.md).
 */
static const char schema_v3[] =
	"DROP INDEX IF EXISTS events_session_proc;"
	"DROP INDEX IF EXISTS files_session_proc;";

/*
 * Schema version 4: `files` becomes a view over `events`. As a table it
 * took a second row and a second index entry for every file event, the
 * same values again: about 3 µs of every stored open, over 40% of the
 * store's time. The view gives the same columns (id is the event's id),
 * read from the event's JSON; queries by session use events(session,
 * ts_ns). The old table's rows are copies of what `events` holds.
 */
#define FILES_VIEW_COLUMNS                                                         \
	"CREATE VIEW files(id, event_id, session, ts_ns, pid, start_ns, op, path,"   \
	" arg_path, new_path, access, flags, ret, errno) AS"
#define FILES_ROWS_OVER(source)                                                    \
	" SELECT id, id, session, ts_ns, pid, start_ns, type,"                       \
	" json_extract(data, '$.path'), json_extract(data, '$.arg_path'),"           \
	" json_extract(data, '$.new_path'), json_extract(data, '$.access'),"         \
	" json_extract(data, '$.flags'), json_extract(data, '$.ret'),"               \
	" json_extract(data, '$.errno')"                                             \
	" FROM " source " WHERE type IN ('open', 'unlink', 'rename', 'mkdir', 'chmod')"
#define FILES_VIEW_OVER(source) FILES_VIEW_COLUMNS FILES_ROWS_OVER(source) ";"

static const char schema_v4[] =
	"DROP TABLE IF EXISTS files;"
	FILES_VIEW_OVER("events");

/*
 * Schema version 5: no index on `events` at all. Its one index,
 * (session, ts_ns), was a third of SQLite's time per stored event (a
 * replayed build: 2.5 µs per event with it, 1.6 without). In its place,
 * `event_spans`: per session and transaction, the range of ids its events
 * took, one row per batch of up to 1024 events instead of an index entry
 * per event. `session_events` reads a session's events through it, and
 * `files` becomes a view over that. A migrated store gets one span per
 * session, from its first to its last event; spans of different sessions
 * may overlap, so a span's rows are read with the session as a filter
 * (`+e.session`: only a filter, or SQLite builds an automatic index over
 * all events to join them to the spans of every session).
 */
static const char schema_v5[] =
	"CREATE TABLE event_spans("
	" session INTEGER NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,"
	" first_ts_ns INTEGER, last_ts_ns INTEGER, events INTEGER NOT NULL,"
	" PRIMARY KEY(session, first_id)) WITHOUT ROWID;"
	"INSERT INTO event_spans(session, first_id, last_id, first_ts_ns, last_ts_ns, events)"
	" SELECT session, min(id), max(id), min(ts_ns), max(ts_ns), count(*)"
	" FROM events GROUP BY session;"
	"CREATE VIEW session_events(id, session, ts_ns, type, pid, tid, start_ns, data) AS"
	" SELECT e.id, s.session, e.ts_ns, e.type, e.pid, e.tid, e.start_ns, e.data"
	" FROM event_spans s CROSS JOIN events e"
	" ON e.id BETWEEN s.first_id AND s.last_id AND +e.session = s.session;"
	"DROP VIEW IF EXISTS files;"
	FILES_VIEW_OVER("session_events")
	"DROP INDEX IF EXISTS events_session_ts;";

/*
 * Every event a writer of version 5 or later stores gets its span in the
 * same transaction. A recorder of version 4 or before that was already
 * running when its store was migrated goes on writing events without
 * spans (a recorder checks the version only when it opens). Those stored
 * after the last span get spans when a writer next opens the store: per
 * session, one from its first such event to its last, which no span
 * overlaps. Those among a newer recorder's spans stay without (docs/
 * schema.md: stop older recorders before a newer one opens the store).
 * Two lookups when there are none: the spans' largest last_id (a small
 * table) and a range of rowids.
 */
const char store_tail_spans[] =
	"INSERT INTO event_spans(session, first_id, last_id, first_ts_ns, last_ts_ns, events)"
	" SELECT session, min(id), max(id), min(ts_ns), max(ts_ns), count(*) FROM events"
	" WHERE id > (SELECT coalesce(max(last_id), 0) FROM event_spans)"
	" GROUP BY session";

/*
 * Schema version 6: `files` gives a row for each path an open's
 * `searched` lists (the failed opens of a search, folded into the open
 * that found the file: docs/events.md), as it gave a row for each of them
 * when they were events of their own: op 'open', ret -2, errno 'ENOENT',
 * the open's flags and access. Their id, event_id and ts_ns are the
 * open's; their arg_path is NULL (not kept). `instr` keeps json_each()
 * to the opens that have the member; `+e.type`, only a filter, keeps
 * SQLite from building an automatic index over all events on it.
 */
static const char schema_v6[] =
	"DROP VIEW IF EXISTS files;"
	FILES_VIEW_COLUMNS FILES_ROWS_OVER("session_events")
	" UNION ALL"
	" SELECT e.id, e.id, e.session, e.ts_ns, e.pid, e.start_ns, 'open', j.value,"
	" NULL, NULL, json_extract(e.data, '$.access'), json_extract(e.data, '$.flags'),"
	" -2, 'ENOENT'"
	" FROM session_events e, json_each(e.data, '$.searched') j"
	" WHERE +e.type = 'open' AND instr(e.data, '\"searched\":[') > 0;";

const char *const store_migrations[STORE_SCHEMA_VERSION] = {
	schema_v1, /* 0 -> 1 */
	schema_v2, /* 1 -> 2 */
	schema_v3, /* 2 -> 3 */
	schema_v4, /* 3 -> 4 */
	schema_v5, /* 4 -> 5 */
	schema_v6, /* 5 -> 6 */
};

/* Prepared statements, indexed by enum stmt_id. */



#define PROC_KEY "ON CONFLICT(session, pid, start_ns) DO "

/* ST_EVENT and ST_EVENT_GROUP: the same columns, in the order of
 * ST_EVENT's parameters */
#define EVENT_INSERT \
	"INSERT INTO events(session, ts_ns, type, pid, tid, start_ns, data) VALUES"
#define EVENT_TUPLE "(?,?,?,?,?,?,?)"
#define TUPLES_2 EVENT_TUPLE "," EVENT_TUPLE
#define TUPLES_8 TUPLES_2 "," TUPLES_2 "," TUPLES_2 "," TUPLES_2
#define TUPLES_32 TUPLES_8 "," TUPLES_8 "," TUPLES_8 "," TUPLES_8
#if STORE_EVENT_GROUP != 32
#error "ST_EVENT_GROUP's SQL has 32 rows"
#endif

const char *const store_stmt_sql[ST__MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_EVENT] = EVENT_INSERT "(:session, :ts_ns, :type, :pid, :tid, :start_ns, :_data)",
	/* any event of a process: make sure the process has a row */
	[ST_PROC_SEEN] =
		"INSERT INTO processes(session, pid, start_ns, ppid, comm, uid, first_ts_ns)"
		" VALUES(:session, :pid, :start_ns, :ppid, :comm, :uid, :ts_ns) "
		PROC_KEY "NOTHING",
	/* fork: the child, with its link to the parent */
	[ST_FORK] =
		"INSERT INTO processes(session, pid, start_ns, ppid, parent_start_ns,"
		" comm, uid, first_ts_ns)"
		" VALUES(:session, :pid, :start_ns, :ppid, :parent_start_ns, :comm,"
		" :uid, :ts_ns) "
		PROC_KEY "UPDATE SET ppid = excluded.ppid,"
		" parent_start_ns = excluded.parent_start_ns,"
		" comm = coalesce(comm, excluded.comm), uid = coalesce(uid, excluded.uid),"
		" first_ts_ns = CASE WHEN first_ts_ns IS NULL"
		"  OR excluded.first_ts_ns < first_ts_ns"
		"  THEN excluded.first_ts_ns ELSE first_ts_ns END",
	/* exec: the last exec wins; the parent link of a fork is kept */
	[ST_EXEC] =
		"INSERT INTO processes(session, pid, start_ns, ppid, parent_start_ns,"
		" comm, exe, argv, cwd, uid, euid, gid, cgroup, container_id,"
		" first_ts_ns, exec_ts_ns, execs)"
		" VALUES(:session, :pid, :start_ns, :ppid, :parent_start_ns, :comm,"
		" :exe, :argv, :cwd, :uid, :euid, :gid, :cgroup, :container_id,"
		" :ts_ns, :ts_ns, 1) "
		PROC_KEY "UPDATE SET ppid = coalesce(ppid, excluded.ppid),"
		" parent_start_ns = coalesce(parent_start_ns, excluded.parent_start_ns),"
		" comm = excluded.comm, exe = excluded.exe, argv = excluded.argv,"
		" cwd = excluded.cwd, uid = excluded.uid, euid = excluded.euid,"
		" gid = excluded.gid, cgroup = excluded.cgroup,"
		" container_id = excluded.container_id,"
		" exec_ts_ns = excluded.exec_ts_ns, execs = execs + 1",
	[ST_EXIT] =
		"INSERT INTO processes(session, pid, start_ns, ppid, comm, uid,"
		" first_ts_ns, exit_ts_ns, exit_code, exit_signal, core_dumped,"
		" duration_ns)"
		" VALUES(:session, :pid, :start_ns, :ppid, :comm, :uid, :ts_ns, :ts_ns,"
		" :code, :signal, :core_dumped, :duration_ns) "
		PROC_KEY "UPDATE SET exit_ts_ns = excluded.exit_ts_ns,"
		" exit_code = excluded.exit_code, exit_signal = excluded.exit_signal,"
		" core_dumped = excluded.core_dumped, duration_ns = excluded.duration_ns",
	[ST_SESS_START] =
		"INSERT INTO sessions(id, started_ns, mode, root_pid, argv, cwd, cgroup, host)"
		" VALUES(:session, :ts_ns, :mode, :root_pid, :argv, :cwd, :cgroup, :host)"
		" ON CONFLICT(id) DO UPDATE SET started_ns = excluded.started_ns,"
		" mode = excluded.mode, root_pid = excluded.root_pid,"
		" argv = excluded.argv, cwd = excluded.cwd, cgroup = excluded.cgroup,"
		" host = excluded.host",
	[ST_SESS_END] =
		"INSERT INTO sessions(id, ended_ns, exit_code, exit_signal, events,"
		" lost_total, drops)"
		" VALUES(:session, :ts_ns, :exit_code, :exit_signal, :events,"
		" :lost_total, :drops)"
		" ON CONFLICT(id) DO UPDATE SET ended_ns = excluded.ended_ns,"
		" exit_code = excluded.exit_code, exit_signal = excluded.exit_signal,"
		" events = excluded.events, lost_total = excluded.lost_total,"
		" drops = excluded.drops",
	[ST_CONN] =
		"INSERT INTO connections(event_id, session, ts_ns, pid, start_ns, op,"
		" family, sotype, saddr, sport, daddr, dport, unix_path, domain, ret,"
		" errno, sock)"
		" VALUES(:_event_id, :session, :ts_ns, :pid, :start_ns, :type, :family,"
		" :sotype, :saddr, :sport, :daddr, :dport, :unix_path, :domain, :ret,"
		" :errno, :sock)",
	/* sock_close: totals go to the latest row of that socket */
	[ST_SOCK_CLOSE] =
		"UPDATE connections SET bytes_sent = :bytes_sent,"
		" bytes_recv = :bytes_recv, closed_ts_ns = :ts_ns,"
		" domain = coalesce(domain, :domain)"
		" WHERE id = (SELECT max(id) FROM connections"
		"  WHERE session = :session AND sock = :sock)",
	[ST_DNS] =
		"INSERT INTO dns(event_id, session, ts_ns, pid, start_ns, response,"
		" qname, qtype, rcode, answers)"
		" VALUES(:_event_id, :session, :ts_ns, :pid, :start_ns, :response,"
		" :qname, :qtype, :rcode, :answers)",
	[ST_HTTP] =
		"INSERT INTO http(event_id, session, ts_ns, pid, start_ns, record_id, conn,"
		" sock, source, tls, proto, method, host, target, status, req_body_len,"
		" resp_body_len, provider, llm_call, end_ts_ns)"
		" VALUES(:_event_id, :session, :ts_ns, :pid, :start_ns, :id, :conn, :sock,"
		" :source, :tls, :proto, json_extract(:_data, '$.request.method'),"
		" json_extract(:_data, '$.request.host'),"
		" json_extract(:_data, '$.request.target'),"
		" json_extract(:_data, '$.response.status'),"
		" json_extract(:_data, '$.request.body_total'),"
		" json_extract(:_data, '$.response.body_total'), :provider, :llm_call,"
		" coalesce(json_extract(:_data, '$.response.ts_last_ns'),"
		" json_extract(:_data, '$.request.ts_last_ns')))",
	[ST_LLM] =
		"INSERT INTO llm_calls(event_id, session, ts_ns, pid, start_ns, call_id,"
		" http_id, provider, model, host, path, status, stream, input_tokens,"
		" output_tokens, cache_read_tokens, cache_write_tokens, stop_reason,"
		" tool_calls, first_token_ts_ns, end_ts_ns, error)"
		" VALUES(:_event_id, :session, :ts_ns, :pid, :start_ns, :id, :http,"
		" :provider, :model, :host, :path, :status, :stream,"
		" json_extract(:_data, '$.usage.input_tokens'),"
		" json_extract(:_data, '$.usage.output_tokens'),"
		" json_extract(:_data, '$.usage.cache_read_tokens'),"
		" json_extract(:_data, '$.usage.cache_write_tokens'),"
		" json_extract(:_data, '$.response.stop_reason'),"
		" json_array_length(:_data, '$.response.tool_calls'),"
		" :first_token_ts_ns, :end_ts_ns, json_extract(:_data, '$.error'))",
	[ST_TOOL] =
		"INSERT INTO tool_calls(event_id, session, ts_ns, pid, start_ns,"
		" tool_call_id, llm_call, name, input)"
		" VALUES(:_event_id, :session, :ts_ns, :pid, :start_ns, :id, :llm_call,"
		" :name, json_extract(:_data, '$.input'))",
	/* one per session and transaction (store_write.c, write_spans) */
	[ST_SPAN] =
		"INSERT INTO event_spans(session, first_id, last_id, first_ts_ns,"
		" last_ts_ns, events) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	/* store_write.c, put_group; store_row.c checks that the tuple has as
	 * many parameters as ST_EVENT */
	[ST_EVENT_GROUP] = EVENT_INSERT TUPLES_32,
};
