/* SPDX-License-Identifier: MIT */
/*
 * The store's schema: reading and checking meta.schema_version, applying
 * migrations, and the error messages shared with store.c.
 */
#include "sinks/store_schema.h"
#include "sinks/store_sql.h"

#include <stdarg.h>
#include <stdio.h>

void store_set_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || len == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(buf, len, fmt, ap) < 0)
		buf[0] = '\0';
	va_end(ap);
}

/* A hint for the result codes a user can do something about. */
const char *store_rc_hint(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return " [SQLITE_FULL: no space left on the disk, or the database"
		       " reached its size limit]";
	case SQLITE_READONLY:
		return " [the database or its directory is not writable]";
	case SQLITE_CANTOPEN:
		return " [cannot open the file: check the path and permissions]";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return " [another process holds the database locked]";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return " [the file is damaged or not an SQLite database]";
	case SQLITE_IOERR:
		return " [I/O error]";
	default:
		return "";
	}
}

void store_db_msg(char *buf, size_t len, sqlite3 *db, int rc,
		   const char *path, const char *what)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	store_set_msg(buf, len, "store %s: %s: %s%s", path, what, msg, store_rc_hint(rc));
}

/* *version: 0 for an empty database, else meta.schema_version. */
int store_read_version(sqlite3 *db, const char *path, long long *version,
			char *err, size_t errlen)
{
	static const char q_tables[] =
		"SELECT count(*), coalesce(sum(name = 'meta'), 0)"
		" FROM sqlite_master WHERE type = 'table'";
	static const char q_version[] =
		"SELECT value FROM meta WHERE key = 'schema_version'";
	sqlite3_stmt *st = NULL;
	long long tables = 0, has_meta = 0;
	int rc;

	rc = sqlite3_prepare_v2(db, q_tables, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			tables = sqlite3_column_int64(st, 0);
			has_meta = sqlite3_column_int64(st, 1);
			rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK) {
		store_db_msg(err, errlen, db, rc, path, "reading the schema");
		(void)sqlite3_finalize(st); /* repeats the error above */
		return -1;
	}
	(void)sqlite3_finalize(st); /* the step succeeded: SQLITE_OK */
	st = NULL;

	if (!has_meta) {
		if (tables > 0) {
			store_set_msg(err, errlen, "store %s: not an agenttrail database"
				" (it has tables but no meta table)", path);
			return -1;
		}
		*version = 0;
		return 0;
	}

	rc = sqlite3_prepare_v2(db, q_version, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
		*version = sqlite3_column_int64(st, 0);
		(void)sqlite3_finalize(st);
		if (*version >= 1)
			return 0;
		rc = SQLITE_DONE;
	}
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		store_set_msg(err, errlen, "store %s: not an agenttrail database"
			" (meta has no valid schema_version)", path);
	else
		store_db_msg(err, errlen, db, rc, path, "reading the schema version");
	(void)sqlite3_finalize(st);
	return -1;
}

int store_refuse_newer(const char *path, long long version, char *err, size_t errlen)
{
	if (version <= STORE_SCHEMA_VERSION)
		return 0;
	store_set_msg(err, errlen, "store %s: the database has schema version %lld, newer"
		" than this agenttrail supports (%d); use a newer agenttrail, or"
		" another database (--db FILE)", path, version, STORE_SCHEMA_VERSION);
	return -1;
}

int store_exec_sql(sqlite3 *db, const char *path, const char *sql,
		    const char *what, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		store_set_msg(err, errlen, "store %s: %s: %s%s", path, what,
			msg ? msg : sqlite3_errstr(rc), store_rc_hint(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int apply_migrations(sqlite3 *db, const char *path, long long version, char *err,
			    size_t errlen)
{
	char sql[128];

	for (long long v = version; v < STORE_SCHEMA_VERSION; v++) {
		if (store_exec_sql(db, path, store_migrations[v], "creating the schema",
			     err, errlen) != 0)
			return -1;
	}
	if (snprintf(sql, sizeof(sql), "INSERT INTO meta(key, value)"
		     " VALUES('schema_version', %d) ON CONFLICT(key)"
		     " DO UPDATE SET value = excluded.value",
		     STORE_SCHEMA_VERSION) >= (int)sizeof(sql)) {
		store_set_msg(err, errlen, "store %s: internal: version statement", path);
		return -1;
	}
	return store_exec_sql(db, path, sql, "writing the schema version", err, errlen);
}

/* Inside one write transaction: check the version again (another process
 * may have created the schema meanwhile), apply missing migrations, and
 * give spans to the events stored after the last span (store_sql.c says
 * who leaves such events). */
int store_migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	long long version;

	if (store_exec_sql(db, path, "BEGIN IMMEDIATE", "starting the schema update",
		     err, errlen) != 0)
		return -1;
	if (store_read_version(db, path, &version, err, errlen) != 0 ||
	    store_refuse_newer(path, version, err, errlen) != 0)
		goto rollback;
	if (version < STORE_SCHEMA_VERSION &&
	    apply_migrations(db, path, version, err, errlen) != 0)
		goto rollback;
	if (store_exec_sql(db, path, store_tail_spans, "giving stored events their spans",
			   err, errlen) != 0)
		goto rollback;
	return store_exec_sql(db, path, "COMMIT", "committing the schema", err, errlen);

rollback:
	if (!sqlite3_get_autocommit(db)) {
		char ignored[8];

		/* the first error is the one to report */
		(void)store_exec_sql(db, path, "ROLLBACK", "", ignored, sizeof(ignored));
	}
	return -1;
}
