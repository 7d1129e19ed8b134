/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink: every event goes into `events`, and the derived tables
 * are filled from it (docs/schema.md). The SQL is in store_sql.c; its
 * named parameters are bound from the event's JSON keys by bind_event().
 */
#include "sinks/store.h"
#include "sinks/store_sql.h"
#include "sinks/store_schema.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Which statements an event type runs after the insert into `events`.
 * Process statements (all but the session ones) need pid and start_ns. */
struct route {
	const char *type;
	enum stmt_id first;
	enum stmt_id second;
};

static const struct route routes[] = {
	{ "session_start", ST_SESS_START, ST_NONE },
	{ "session_end", ST_SESS_END, ST_NONE },
	{ "fork", ST_FORK, ST_NONE },
	{ "exec", ST_EXEC, ST_NONE },
	{ "exit", ST_EXIT, ST_NONE },
	{ "open", ST_PROC_SEEN, ST_FILE },
	{ "unlink", ST_PROC_SEEN, ST_FILE },
	{ "rename", ST_PROC_SEEN, ST_FILE },
	{ "mkdir", ST_PROC_SEEN, ST_FILE },
	{ "chmod", ST_PROC_SEEN, ST_FILE },
	{ "connect", ST_PROC_SEEN, ST_CONN },
	{ "accept", ST_PROC_SEEN, ST_CONN },
	{ "bind", ST_PROC_SEEN, ST_CONN },
	{ "listen", ST_PROC_SEEN, ST_CONN },
	{ "sock_close", ST_PROC_SEEN, ST_SOCK_CLOSE },
	{ "dns", ST_PROC_SEEN, ST_DNS },
	{ "http", ST_PROC_SEEN, ST_HTTP },
	{ "llm_call", ST_PROC_SEEN, ST_LLM },
	{ "tool_call", ST_PROC_SEEN, ST_TOOL },
};

/* Types not in the table still get their process row. */
static const struct route route_other = { NULL, ST_PROC_SEEN, ST_NONE };

#define PROC_SEEN_SLOTS 4096

struct store {
	sqlite3 *db;
	bool readonly;
	bool in_tx;
	unsigned long batch_n;     /* events in the open transaction */
	uint64_t batch_start_ms;   /* CLOCK_MONOTONIC ms when it began */
	sqlite3_stmt *st[ST__MAX];
	/* Processes known to have a row in the committed or current
	 * transaction, so that most events skip the "process seen" upsert.
	 * Direct-mapped: a miss only costs the upsert. Cleared on rollback. */
	struct { int64_t session, pid, start_ns; } seen[PROC_SEEN_SLOTS];
	char path[PATH_MAX];
	char err[1024];
};

/* ------------------------------------------------------------------------ */
/* Errors */

static int db_fail(struct store *s, int rc, const char *what)
{
	store_db_msg(s->err, sizeof(s->err), s->db, rc, s->path, what);
	return -1;
}

static int fail(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct store *s, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	store_set_msg(s->err, sizeof(s->err), "store %s: %s", s->path, msg);
	return -1;
}

/* Append to the current error message. */
static void add_msg(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_msg(struct store *s, const char *fmt, ...)
{
	size_t used = strnlen(s->err, sizeof(s->err));
	va_list ap;

	if (used + 1 >= sizeof(s->err))
		return;
	va_start(ap, fmt);
	if (vsnprintf(s->err + used, sizeof(s->err) - used, fmt, ap) < 0)
		s->err[used] = '\0';
	va_end(ap);
}

const char *store_last_error(const struct store *s)
{
	return s ? s->err : "no store";
}

sqlite3 *store_db(struct store *s)
{
	return s ? s->db : NULL;
}

/* ------------------------------------------------------------------------ */
/* Helpers */

static int now_ms(uint64_t *out)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	*out = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	return 0;
}

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	size_t n = strnlen(path, sizeof(dir));

	if (n >= sizeof(dir)) {
		store_set_msg(err, errlen, "store: path too long: %.64s...", path);
		return -1;
	}
	memcpy(dir, path, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			store_set_msg(err, errlen, "store %s: cannot create directory %s: %s",
				path, dir, strerror(errno));
			return -1;
		}
		dir[i] = '/';
	}
	return 0;
}

/* Bind one JSON value: scalars as themselves, arrays/objects as JSON text,
 * absent or null as NULL. */
static int bind_json(sqlite3_stmt *st, int idx, const json_t *v)
{
	char *text;
	size_t len;
	int rc;

	if (!v)
		return sqlite3_bind_null(st, idx);
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return sqlite3_bind_int64(st, idx, (sqlite3_int64)json_integer_value(v));
	case JSON_REAL:
		return sqlite3_bind_double(st, idx, json_real_value(v));
	case JSON_TRUE:
		return sqlite3_bind_int(st, idx, 1);
	case JSON_FALSE:
		return sqlite3_bind_int(st, idx, 0);
	case JSON_STRING:
		len = json_string_length(v);
		if (len > INT_MAX)
			return SQLITE_TOOBIG;
		/* the event outlives the step: no copy needed */
		return sqlite3_bind_text(st, idx, json_string_value(v), (int)len,
					 SQLITE_STATIC);
	case JSON_OBJECT:
	case JSON_ARRAY:
		text = json_dumps(v, JSON_COMPACT);
		if (!text)
			return SQLITE_NOMEM;
		rc = sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
		free(text);
		return rc;
	case JSON_NULL:
	default:
		return sqlite3_bind_null(st, idx);
	}
}

/* Bind every named parameter of st from ev (see the top of this file). */
static int bind_event(struct store *s, sqlite3_stmt *st, const json_t *ev,
		      sqlite3_int64 event_id, const char *data)
{
	int n = sqlite3_bind_parameter_count(st);

	for (int i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		int rc;

		if (!name || name[0] != ':')
			return fail(s, "internal: unnamed SQL parameter %d", i);
		if (strcmp(name, ":_event_id") == 0)
			rc = sqlite3_bind_int64(st, i, event_id);
		else if (strcmp(name, ":_data") == 0)
			rc = sqlite3_bind_text(st, i, data, -1, SQLITE_STATIC);
		else
			rc = bind_json(st, i, json_object_get(ev, name + 1));
		if (rc != SQLITE_OK)
			return db_fail(s, rc, "binding a value");
	}
	return 0;
}

/* Step a statement to completion and reset it. */
static int run(struct store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = s->st[id];
	int rc = sqlite3_step(st);
	int rrc = sqlite3_reset(st);

	(void)sqlite3_clear_bindings(st); /* documented to return SQLITE_OK */
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s, rc, what);
	if (rrc != SQLITE_OK)
		return db_fail(s, rrc, what);
	return 0;
}

static int run_bound(struct store *s, enum stmt_id id, const json_t *ev,
		     sqlite3_int64 event_id, const char *data, const char *what)
{
	if (bind_event(s, s->st[id], ev, event_id, data) != 0) {
		(void)sqlite3_clear_bindings(s->st[id]); /* always SQLITE_OK */
		return -1;
	}
	return run(s, id, what);
}

/* ------------------------------------------------------------------------ */
/* Open / close */

static void finalize_all(struct store *s)
{
	for (int i = 0; i < ST__MAX; i++) {
		/* finalize only repeats the last step's error, already reported */
		(void)sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
}

static int new_store(const char *path, bool readonly, struct store **out,
		     char *err, size_t errlen)
{
	struct store *s;
	size_t n = strnlen(path, PATH_MAX);

	*out = NULL;
	if (n == 0 || n >= PATH_MAX) {
		store_set_msg(err, errlen, "store: invalid database path");
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		store_set_msg(err, errlen, "store %s: out of memory", path);
		return -1;
	}
	memcpy(s->path, path, n + 1);
	s->readonly = readonly;
	*out = s;
	return 0;
}

/* Close the connection; the statements must be finalized. */
static int close_db(struct store *s)
{
	int rc;

	if (!s->db)
		return 0;
	rc = sqlite3_close(s->db);
	if (rc != SQLITE_OK) {
		db_fail(s, rc, "closing");
		return -1;
	}
	s->db = NULL;
	return 0;
}

static void abandon(struct store *s, char *err, size_t errlen)
{
	if (!s)
		return;
	if (err && errlen && s->err[0] && !err[0])
		store_set_msg(err, errlen, "%s", s->err);
	finalize_all(s);
	if (close_db(s) != 0) {
		/* sqlite3_close_v2 defers the close; nothing else holds it */
		(void)sqlite3_close_v2(s->db);
	}
	free(s);
}

static int open_common(struct store *s, int flags, char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);

	if (rc != SQLITE_OK) {
		store_db_msg(err, errlen, s->db, rc, s->path, "opening");
		return -1;
	}
	rc = sqlite3_extended_result_codes(s->db, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->db, 5000);
	if (rc != SQLITE_OK) {
		store_db_msg(err, errlen, s->db, rc, s->path, "configuring");
		return -1;
	}
	return 0;
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	struct store *s;
	long long version;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out) {
		store_set_msg(err, errlen, "store: no database path");
		return -1;
	}
	if (new_store(path, false, &s, err, errlen) != 0)
		return -1;
	if (make_parent_dirs(path, err, errlen) != 0 ||
	    /* one thread uses a store: no SQLite mutexes needed */
	    open_common(s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			err, errlen) != 0)
		goto fail;
	/* look before touching: never switch a foreign or newer file to WAL */
	if (store_read_version(s->db, path, &version, err, errlen) != 0 ||
	    store_refuse_newer(path, version, err, errlen) != 0)
		goto fail;
	/* WAL: readers (report) never block the recorder; NORMAL sync keeps
	 * every commit across a crash of the process */
	if (store_exec_sql(s->db, path, "PRAGMA journal_mode = WAL",
		     "switching to WAL", err, errlen) != 0 ||
	    store_exec_sql(s->db, path, "PRAGMA synchronous = NORMAL",
		     "setting synchronous", err, errlen) != 0 ||
	    store_exec_sql(s->db, path, "PRAGMA cache_size = -16384",
		     "sizing the page cache", err, errlen) != 0 ||
	    store_migrate(s->db, path, err, errlen) != 0)
		goto fail;
	for (int i = 0; i < ST__MAX; i++) {
		int rc = sqlite3_prepare_v3(s->db, store_stmt_sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			store_db_msg(err, errlen, s->db, rc, path, "preparing statements");
			goto fail;
		}
	}
	*out = s;
	return 0;

fail:
	abandon(s, err, errlen);
	return -1;
}

int store_open_readonly(const char *path, struct store **out, char *err, size_t errlen)
{
	struct store *s;
	long long version;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out) {
		store_set_msg(err, errlen, "store: no database path");
		return -1;
	}
	*out = NULL;
	if (access(path, F_OK) != 0) {
		store_set_msg(err, errlen, "no database at %s: %s", path, strerror(errno));
		return -1;
	}
	if (new_store(path, true, &s, err, errlen) != 0)
		return -1;
	if (open_common(s, SQLITE_OPEN_READONLY, err, errlen) != 0 ||
	    store_read_version(s->db, path, &version, err, errlen) != 0 ||
	    store_refuse_newer(path, version, err, errlen) != 0)
		goto fail;
	if (version < STORE_SCHEMA_VERSION) {
		store_set_msg(err, errlen, "store %s: not an agenttrail database"
			" (empty, or schema version %lld)", path, version);
		goto fail;
	}
	*out = s;
	return 0;

fail:
	abandon(s, err, errlen);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Writing */

/* After a failed statement: undo the event, or note the lost batch when
 * SQLite rolled the whole transaction back (it does so on SQLITE_FULL). */
/*
 * An event failed half-way (full disk, I/O error): roll the open batch back
 * so that no event is left half-stored. Events are not wrapped one by one in
 * savepoints: those cost a statement journal per event (about a fifth of
 * the store's CPU time); the price is that an error loses the uncommitted
 * batch, which the message says.
 */
static void undo_event(struct store *s)
{
	memset(s->seen, 0, sizeof(s->seen));   /* rows go with the rollback */
	if (!sqlite3_get_autocommit(s->db)) {
		char saved[sizeof(s->err)];

		memcpy(saved, s->err, sizeof(saved));
		(void)run(s, ST_ROLLBACK, "rolling back");
		memcpy(s->err, saved, sizeof(saved));
	}
	if (s->batch_n > 0)
		add_msg(s, "; the %lu uncommitted event(s) of the current batch"
			" were lost", s->batch_n);
	s->in_tx = false;
	s->batch_n = 0;
}

static const struct route *route_of(const char *type)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].type, type) == 0)
			return &routes[i];
	}
	return &route_other;
}

static bool is_process_stmt(enum stmt_id id)
{
	return id != ST_NONE && id != ST_SESS_START && id != ST_SESS_END;
}

/* Has this event's process got a row already? Remembers it if not. */
static bool proc_seen(struct store *s, const json_t *ev)
{
	int64_t sess = json_integer_value(json_object_get(ev, "session"));
	int64_t pid = json_integer_value(json_object_get(ev, "pid"));
	int64_t start = json_integer_value(json_object_get(ev, "start_ns"));
	uint64_t h = ((uint64_t)pid * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)start ^ (uint64_t)sess;
	size_t slot = (size_t)((h ^ (h >> 29)) % PROC_SEEN_SLOTS);

	if (s->seen[slot].session == sess && s->seen[slot].pid == pid &&
	    s->seen[slot].start_ns == start)
		return true;
	s->seen[slot].session = sess;
	s->seen[slot].pid = pid;
	s->seen[slot].start_ns = start;
	return false;
}

static int put_event(struct store *s, const json_t *ev, const char *type)
{
	const struct route *r = route_of(type);
	bool identity = json_is_integer(json_object_get(ev, "pid")) &&
			json_is_integer(json_object_get(ev, "start_ns"));
	enum stmt_id steps[2] = { r->first, r->second };
	sqlite3_int64 id;
	char *data;
	int rc;

	data = json_dumps(ev, JSON_COMPACT);
	if (!data)
		return fail(s, "cannot serialize a %s event", type);
	rc = run_bound(s, ST_EVENT, ev, 0, data, "inserting an event");
	if (rc != 0) {
		free(data);
		return -1;
	}
	id = sqlite3_last_insert_rowid(s->db);

	/* a thread is not a process: its fork only goes to `events` */
	if (steps[0] == ST_FORK && json_is_true(json_object_get(ev, "thread")))
		steps[0] = ST_PROC_SEEN;
	for (int i = 0; i < 2; i++) {
		if (steps[i] == ST_NONE || (is_process_stmt(steps[i]) && !identity))
			continue;
		if (steps[i] == ST_PROC_SEEN && proc_seen(s, ev))
			continue;
		/* derived tables may read nested fields from :_data */
		if (run_bound(s, steps[i], ev, id, data, type) != 0) {
			free(data);
			return -1;
		}
	}
	free(data);
	return 0;
}

int store_put(struct store *s, json_t *ev)
{
	const char *type;
	uint64_t now;

	if (!s)
		return -1;
	s->err[0] = '\0';
	if (s->readonly)
		return fail(s, "opened read-only");
	if (!json_is_object(ev))
		return fail(s, "an event must be a JSON object");
	type = json_string_value(json_object_get(ev, "type"));
	if (!type)
		return fail(s, "event without a string \"type\"");
	if (!json_is_integer(json_object_get(ev, "session")))
		return fail(s, "%s event without an integer \"session\"", type);

	if (!s->in_tx) {
		if (now_ms(&s->batch_start_ms) != 0)
			return fail(s, "clock_gettime: %s", strerror(errno));
		if (run(s, ST_BEGIN, "starting a transaction") != 0)
			return -1;
		s->in_tx = true;
		s->batch_n = 0;
	}
	if (put_event(s, ev, type) != 0) {
		undo_event(s);
		return -1;
	}
	s->batch_n++;

	if (s->batch_n >= STORE_BATCH_EVENTS)
		return store_flush(s);
	if (now_ms(&now) != 0)
		return fail(s, "clock_gettime: %s", strerror(errno));
	if (now - s->batch_start_ms >= STORE_BATCH_MS)
		return store_flush(s);
	return 0;
}

int store_flush(struct store *s)
{
	unsigned long n;

	if (!s)
		return -1;
	if (!s->in_tx)
		return 0;
	n = s->batch_n;
	if (run(s, ST_COMMIT, "committing") == 0) {
		s->in_tx = false;
		s->batch_n = 0;
		return 0;
	}
	/* COMMIT failed: the transaction may still be open */
	if (!sqlite3_get_autocommit(s->db)) {
		char saved[sizeof(s->err)];

		memcpy(saved, s->err, sizeof(saved));
		(void)run(s, ST_ROLLBACK, "rolling back");
		memset(s->seen, 0, sizeof(s->seen));
		memcpy(s->err, saved, sizeof(saved));
	}
	add_msg(s, "; the %lu event(s) of the batch were lost", n);
	s->in_tx = false;
	s->batch_n = 0;
	return -1;
}

int store_close(struct store *s)
{
	int ret = 0;

	if (!s)
		return 0;
	if (!s->readonly && store_flush(s) != 0)
		ret = -1;
	finalize_all(s);
	if (close_db(s) != 0) {
		/* cannot happen once all statements are finalized; v2 defers */
		(void)sqlite3_close_v2(s->db);
		ret = -1;
	}
	free(s);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Default path */

static int copy_path(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);

	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int at_default_db_path_r(char *buf, size_t len)
{
	const char *env = getenv("AGENTTRAIL_DB");
	const char *home;

	if (!buf || len == 0)
		return -1;
	if (env && env[0])
		return copy_path(buf, len, env, "");
	if (geteuid() == 0)
		return copy_path(buf, len, "/var/lib/agenttrail/trail.db", "");
	env = getenv("XDG_DATA_HOME");
	if (env && env[0] == '/') /* relative values are invalid per XDG */
		return copy_path(buf, len, env, "/agenttrail/trail.db");
	home = getenv("HOME");
	if (!home || !home[0]) {
		struct passwd pw, *res = NULL;
		char pwbuf[4096];

		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) != 0 ||
		    !res || !res->pw_dir)
			return -1;
		return copy_path(buf, len, res->pw_dir, "/.local/share/agenttrail/trail.db");
	}
	return copy_path(buf, len, home, "/.local/share/agenttrail/trail.db");
}

const char *at_default_db_path(void)
{
	static __thread char buf[PATH_MAX];

	return at_default_db_path_r(buf, sizeof(buf)) == 0 ? buf : NULL;
}
