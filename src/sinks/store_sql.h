/* SPDX-License-Identifier: MIT */
/* Internal to the store: the schema and the prepared statements' SQL. */
#ifndef AGENTTRAIL_SINKS_STORE_SQL_H
#define AGENTTRAIL_SINKS_STORE_SQL_H

#include "sinks/store.h"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_EVENT,
	ST_PROC_SEEN,
	ST_FORK,
	ST_EXEC,
	ST_EXIT,
	ST_SESS_START,
	ST_SESS_END,
	ST_CONN,
	ST_SOCK_CLOSE,
	ST_DNS,
	ST_HTTP,
	ST_LLM,
	ST_TOOL,
	ST_SPAN,         /* the writer's own: event_spans, not bound from an event */
	ST_EVENT_GROUP,  /* STORE_EVENT_GROUP rows of ST_EVENT in one statement */
	ST__MAX,
	ST_NONE = ST__MAX,
};

/* store_migrations[v] brings a database from schema version v to v + 1;
 * version 0 is an empty file. */
extern const char *const store_migrations[STORE_SCHEMA_VERSION];
/* Spans for the events after the last span, run whenever a writer opens. */
extern const char store_tail_spans[];

/*
 * Rows into `events` go STORE_EVENT_GROUP to a statement where they can:
 * a multi-row INSERT costs SQLite about a fifth less per row than one
 * statement per row (bench/RESULTS.md). Its parameters are numbered: row i
 * of the group binds ST_EVENT's parameters, in their order, from
 * i * (ST_EVENT's count) + 1.
 */
#define STORE_EVENT_GROUP 32

/* Statements use named parameters that are the JSON keys of the event
 * (":pid" is bound to ev["pid"]), plus ":_event_id" (events.id of the
 * event) and ":_data" (the whole event as compact JSON); all but ST_SPAN,
 * whose numbered parameters the writer binds itself, and ST_EVENT_GROUP. */
extern const char *const store_stmt_sql[ST__MAX];

#endif /* AGENTTRAIL_SINKS_STORE_SQL_H */
