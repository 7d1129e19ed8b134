/* SPDX-License-Identifier: MIT */
/* Internal to the store: schema versioning and shared error messages. */
#ifndef AGENTTRAIL_SINKS_STORE_SCHEMA_H
#define AGENTTRAIL_SINKS_STORE_SCHEMA_H

#include <sqlite3.h>
#include <stddef.h>

void store_set_msg(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A hint for the result codes a user can do something about ("" if none). */
const char *store_rc_hint(int rc);
void store_db_msg(char *buf, size_t len, sqlite3 *db, int rc, const char *path, const char *what);

/* *version: 0 for an empty database, else meta.schema_version; fails for a
 * file that is not an agenttrail database. */
int store_read_version(sqlite3 *db, const char *path, long long *version, char *err,
		       size_t errlen);
/* Fails, with a message naming both versions, for a newer schema. */
int store_refuse_newer(const char *path, long long version, char *err, size_t errlen);
int store_exec_sql(sqlite3 *db, const char *path, const char *sql, const char *what, char *err,
		   size_t errlen);
/* Create or migrate the schema to STORE_SCHEMA_VERSION in one transaction. */
int store_migrate(sqlite3 *db, const char *path, char *err, size_t errlen);

#endif
