/* SPDX-License-Identifier: MIT */
/*
 * The embedded SQLite store (see docs/schema.md).
 *
 * Events are the jansson objects of docs/events.md. store_put() keeps every
 * event in the `events` table and fills the derived tables (sessions,
 * processes, files, connections, dns, http, llm_calls, tool_calls).
 *
 * A writable store has a writer thread: store_put() turns the event into a
 * row and queues it, STORE_PUSH_ROWS rows at a time or on store_push()
 * (waiting while STORE_QUEUE_BYTES are queued); the writer stores rows in
 * batches, one transaction committed every
 * STORE_BATCH_EVENTS events, when the batch is STORE_BATCH_MS old, on
 * store_flush() and on store_close(). Once store_flush() returned 0,
 * everything put before it is on disk and survives the process being
 * killed. A store is used by one thread at a time (plus its writer);
 * store_db() of a writable store may be used only right after a
 * store_flush(), before the next put.
 *
 * The writer's failures (a full disk) are returned by the next call that
 * hands rows over (a store_put() that completes a handful, store_push()
 * with rows held, store_flush()), or by store_close() if no other call
 * returned them; from then on every put fails with the same message.
 *
 * All functions return 0 on success and -1 on error; the error message is
 * then available from store_last_error(). Nothing here aborts or exits.
 */
#ifndef AGENTTRAIL_SINKS_STORE_H
#define AGENTTRAIL_SINKS_STORE_H

#include <stddef.h>
#include <jansson.h>
#include <sqlite3.h>

#define STORE_SCHEMA_VERSION 6   /* meta.schema_version written by this build */
#define STORE_BATCH_EVENTS 1024  /* commit after this many events */
#define STORE_BATCH_MS 200       /* ... or when the batch is this old */
#define STORE_PUSH_ROWS 64       /* puts held before they go to the writer */

/*
 * Checkpoints (copying the WAL into the database file) are the writer's
 * to time, not SQLite's: they wait until no event has come for
 * STORE_CKPT_QUIET_MS and at least STORE_CKPT_MIN_BYTES of pages wait in
 * the WAL, so that a busy session does not pay for them while it is busy;
 * only a WAL of STORE_CKPT_MAX_BYTES is checkpointed at once. Readers see
 * every commit either way.
 */
#define STORE_CKPT_QUIET_MS 250
#define STORE_CKPT_MIN_BYTES (1000u * 4096u)  /* SQLite's own automatic threshold */
#define STORE_CKPT_MAX_BYTES (64u << 20)

/*
 * A new database gets pages of this size (SQLite's default is 4 KiB).
 * Rows of events are appended in order, a few hundred bytes each: larger
 * pages mean fewer pages, page headers and WAL frames per event, about a
 * quarter less of the writer's CPU per stored event (bench/RESULTS.md).
 * An existing database keeps the size it was made with.
 */
#define STORE_PAGE_SIZE 16384

struct store;

/*
 * Open (creating it and its missing parent directories if needed) the
 * database at path for writing: WAL journal, schema created or migrated.
 * A database whose schema_version is newer than STORE_SCHEMA_VERSION is
 * refused. On error *out is NULL and err holds a message.
 */
int store_open(const char *path, struct store **out, char *err, size_t errlen);

/* Open an existing database for reading only (the report command). */
int store_open_readonly(const char *path, struct store **out, char *err, size_t errlen);

/*
 * Store one event (a JSON object with at least a string "type" and an
 * integer "session"). The reference is borrowed: the caller still owns ev
 * and may change it once this returns. Either the whole event is stored or
 * none of it is. -1: the event is not valid (nothing queued), or the
 * writer failed (store_last_error() says why and how many events were
 * lost); committed events never are.
 */
int store_put(struct store *s, json_t *ev);
/*
 * Events put are handed to the writer a handful at a time (one lock for
 * them all); this hands over the ones held now. A caller that puts in
 * bursts calls it when a burst ends, before it waits for more: until
 * then, held events are not written. store_flush() and store_close() hand
 * over first. -1 when the writer failed (as store_put()).
 */
int store_push(struct store *s);

/* The members every event has (docs/events.md), for store_put_text(). */
struct store_head {
	const char *type;
	int64_t ts_ns, session, pid, tid, ppid, start_ns, uid;
	const char *comm;       /* valid UTF-8, NUL-terminated; NULL: null */
};

/*
 * Store an event given as its compact JSON text (len bytes, valid UTF-8)
 * whose common members are *h, without its object: the row store_put()
 * makes of the object that text is of. Only for types whose statements
 * read nothing but those members (the file events); another is refused
 * with -1, as is a text too long for SQLite. Otherwise as store_put().
 */
int store_put_text(struct store *s, const struct store_head *h, const char *json, size_t len);
/* Wait until everything put so far is committed. */
int store_flush(struct store *s);
/* Commit what is queued, stop the writer, close. Safe on NULL. The store
 * is freed either way; -1 means the final commit or the close failed (or
 * an earlier failure of the writer was never returned). To learn why,
 * call store_flush() first and read store_last_error(). */
int store_close(struct store *s);
/*
 * Change the checkpoint policy above (tests; a recorder keeps the
 * defaults). quiet_ms 0 never checkpoints when quiet, max_frames 0 never
 * when large; the close checkpoints either way.
 */
void store_set_checkpoints(struct store *s, unsigned quiet_ms, unsigned min_frames,
			   unsigned max_frames);

/* Checkpoints the writer has run so far. */
unsigned long store_checkpoints(struct store *s);

/* The underlying connection (for queries; do not close it). For a
 * writable store, the writer's own checkpoints stay off it until rows
 * are handed over again. */
sqlite3 *store_db(struct store *s);

/* After a -1 from store_put(): 1 if only that event was refused (it could
 * not be encoded) and the store goes on, 0 if the store failed. */
int store_usable(const struct store *s);

/* The message of the last failure, or "" if none. Never NULL. */
const char *store_last_error(const struct store *s);

/*
 * The default database path: $AGENTTRAIL_DB if set and non-empty, else
 * /var/lib/agenttrail/trail.db when running as root (euid 0), else
 * $XDG_DATA_HOME/agenttrail/trail.db, else ~/.local/share/agenttrail/trail.db.
 *
 * at_default_db_path_r() writes it into buf and returns 0, or -1 if it does
 * not fit or no home directory is known. at_default_db_path() returns a
 * pointer to a per-thread buffer overwritten by the next call, or NULL.
 */
int at_default_db_path_r(char *buf, size_t len);
const char *at_default_db_path(void);

#endif /* AGENTTRAIL_SINKS_STORE_H */
