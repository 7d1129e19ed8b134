/* SPDX-License-Identifier: MIT */
/*
 * A temporary directory with a database path in it, for the store's unit
 * tests: set up and torn down around each test (cmocka fixtures); and
 * opening the store there.
 */
#ifndef AT_TESTS_STORE_FIXTURE_H
#define AT_TESTS_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	char db[128];
	char sub[96];    /* a directory the store creates itself, or "" */
};

/* db is dir/rel; rel may name one directory the test leaves to the store. */
static inline int fixture_setup(void **state, const char *rel)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *slash = strchr(rel, '/');

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/at_store_XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/%s", f->dir, rel);
	if (slash)
		snprintf(f->sub, sizeof(f->sub), "%s/%.*s", f->dir, (int)(slash - rel), rel);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[160];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->db, suffixes[i]);
		unlink(p);
	}
	if (f->sub[0])
		rmdir(f->sub);
	rmdir(f->dir);
	free(f);
	return 0;
}

/*
 * The store at path opened for writing, or read-only; a failure fails the
 * test with the store's message. For test files that include cmocka.h
 * and sinks/store.h before this header.
 */
static inline struct store *open_rw(const char *path)
{
	char err[512];
	struct store *s = NULL;

	if (store_open(path, &s, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	return s;
}

static inline struct store *open_ro(const char *path)
{
	char err[512];
	struct store *s = NULL;

	if (store_open_readonly(path, &s, err, sizeof(err)) != 0)
		fail_msg("store_open_readonly: %s", err);
	return s;
}

/* The one integer sql gives on db's connection (a row must come). */
static inline long long int_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#endif
