/* SPDX-License-Identifier: MIT */
/*
 * Internal to the store: the handle, the rows that travel from store_put()
 * to the writer thread, and the plan that says which event key feeds which
 * SQL parameter.
 *
 * Why a writer thread: SQLite costs most of a stored event (a row in
 * `events`, one in a derived table, and their indexes). Done on the
 * recorder's thread, it halves the rate the recorder keeps up with. The
 * caller's thread turns the event into a flat row (plain values and one
 * block of text, no jansson objects: the event stays the caller's to
 * change or free) and queues it; the writer binds and steps.
 */
#ifndef AGENTTRAIL_SINKS_STORE_INT_H
#define AGENTTRAIL_SINKS_STORE_INT_H

#include "sinks/json_out.h"
#include "sinks/store.h"
#include "sinks/store_sql.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_MAX_KEYS 96      /* distinct parameter names over all statements */
#define STORE_MAX_PARAMS 32    /* parameters of one statement */
#define STORE_ROUTES 20        /* event types with their own statements, + other */
#define PROC_SEEN_SLOTS 4096
/* put() waits while this much is queued; the writer may hold as much again
 * in the batch it is writing. */
#define STORE_QUEUE_BYTES (64u << 20)
/* A writer that sleeps with a deadline is woken early once this many rows
 * wait (one asleep without a deadline is woken by every put). More than a
 * build's batch period brings (about 1,500 rows in 200 ms): the deadline
 * wakes it once per batch, not three times, and what is due is committed
 * no later. */
#define STORE_WAKE_ROWS 2048
#define STORE_SPARE_ROWS 4096   /* written rows kept for reuse ... */
#define STORE_SPARE_MAX (64u << 10) /* ... if no larger than this */
#define STORE_SCRATCH_MAX (1u << 20) /* a larger scratch is freed after use */
#define STORE_ROW_ALIGN 1024    /* rows are allocated in multiples of this */
/* Sessions with events in one transaction before their spans are written
 * early (more only means more, shorter spans) */
#define STORE_SPAN_SLOTS 8

/* Which statements an event type runs after the insert into `events`.
 * Process statements (all but the session ones) need pid and start_ns. */
struct route {
	const char *type;
	enum stmt_id first;
	enum stmt_id second;
};

extern const struct route store_routes[STORE_ROUTES];
#define ROUTE_OTHER (STORE_ROUTES - 1)   /* types not in the table */

/* A parameter's value: a key of the event, or one of these. */
#define KEY_EVENT_ID (-1)   /* :_event_id, events.id of the event */
#define KEY_DATA (-2)       /* :_data, the whole event as compact JSON */

#define STORE_KEY_MAX 32       /* bytes of a parameter name, with its NUL */

struct store_plan {
	int nkeys;
	/* names without ':', copied: SQLite frees its own when it prepares a
	 * statement again (after any schema change, on the writer's thread) */
	char keys[STORE_MAX_KEYS][STORE_KEY_MAX];
	int nparams[ST__MAX];
	int16_t param_key[ST__MAX][STORE_MAX_PARAMS];  /* key, KEY_EVENT_ID, KEY_DATA */
	/* a route carries only the keys its statements bind, in slots */
	int nslots[STORE_ROUTES];
	int16_t slot_key[STORE_ROUTES][STORE_MAX_KEYS];
	int16_t key_slot[STORE_ROUTES][STORE_MAX_KEYS]; /* -1: not carried */
	/* for store_put_text(): the member of struct store_head each slot
	 * takes, or HEAD_NONE; text_ok: every slot of the route has one */
	int8_t slot_head[STORE_ROUTES][STORE_MAX_KEYS];
	bool text_ok[STORE_ROUTES];
};

/* The members of struct store_head, as slot_head gives them. */
enum head_member {
	HEAD_NONE = -1, HEAD_TYPE, HEAD_TS, HEAD_SESSION, HEAD_PID, HEAD_TID,
	HEAD_PPID, HEAD_START, HEAD_UID, HEAD_COMM, HEAD__MAX
};

enum cell_kind { CELL_NULL, CELL_INT, CELL_REAL, CELL_TEXT };

struct cell {
	enum cell_kind kind;
	uint32_t len;          /* CELL_TEXT: bytes at text + off */
	union {
		int64_t i;
		double d;
		size_t off;
	} v;
};

/* What the writer needs of an event besides its values. */
struct row_head {
	int route;
	bool identity;     /* integer pid and start_ns: process statements apply */
	bool thread;       /* a fork of a thread: only its process row */
	bool has_ts;       /* an integer ts_ns ... */
	int64_t ts_ns;     /* ... for the span's first and last */
	int64_t session, pid, start_ns;
	size_t text_len;   /* the JSON, then the string values */
	size_t json_len;   /* the JSON's bytes, without its NUL */
};

/* One event on its way to the writer: cells[nslots of the route], then the
 * text. One allocation, recycled through the spare list: rows are made on
 * the caller's thread and done with on the writer's, and a free() across
 * threads takes the allocator's arena lock against the caller's mallocs. */
struct row {
	struct row *next;
	/* the row put ROW_AHEAD puts after this one in the same handful, or
	 * NULL: the writer starts loading it while it gets to it (row_prefetch) */
	struct row *ahead;
	size_t cap;        /* bytes allocated */
	struct row_head h;
	struct cell cells[];
};

static inline const char *row_text(const struct row *r, int nslots)
{
	return (const char *)&r->cells[nslots];
}

/*
 * Rows are made on one CPU and written on another, and travel as a list:
 * walked as it is, each row's first cache line is a miss the walk waits
 * for before it learns where the next row is, one after the other (about
 * 9% of agenttrail's CPU while a build was recorded). Both sides load
 * the rows they will need a few rows early instead, so that the misses
 * overlap: the writer through row->ahead, the caller's side the next spare
 * it will fill. ROW_PREFETCH_BYTES covers the head, the cells and the
 * start of a file event's text; the CPU streams the rest.
 */
#define ROW_AHEAD 4
#define ROW_PREFETCH_BYTES 512

static inline void row_prefetch(const struct row *r, bool for_write)
{
	const char *p = (const char *)r;

	for (size_t off = 0; off < ROW_PREFETCH_BYTES; off += 64) {
		if (for_write)
			__builtin_prefetch(p + off, 1);
		else
			__builtin_prefetch(p + off, 0);
	}
}

/* The ids a session's events took in the open transaction (event_spans,
 * docs/schema.md): every event of that session with an id from first_id
 * to last_id, and only those, are the span's, `events` of them. */
struct span {
	int64_t session, first_id, last_id, first_ts, last_ts, events;
	bool has_ts;
};

struct store {
	sqlite3 *db;
	bool readonly;
	sqlite3_stmt *st[ST__MAX];
	struct store_plan plan;
	char path[PATH_MAX];
	char err[1024];          /* the caller's thread's messages */
	int max_len;             /* SQLITE_LIMIT_LENGTH: longer values are refused */

	/* caller's side */
	struct jbuf scratch;     /* a row's text being built */
	struct row_head draft;   /* ... and the rest of it */
	struct cell cells[STORE_MAX_KEYS];
	struct row *mine;        /* spares taken from the writer, for reuse */
	/* rows put but not handed over yet: the queue's lock once for a
	 * handful, not once per event (store_push) */
	struct row *held_head, *held_tail;
	unsigned held_n;
	struct row *held_last[ROW_AHEAD];  /* the last held rows, for ->ahead */
	size_t held_bytes;
	bool fail_told;          /* the writer's failure was returned once */

	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t work;     /* writer: rows, a flush or the stop */
	pthread_cond_t space;    /* put: room in the queue */
	pthread_cond_t done;     /* flush: a commit */
	bool writer_started;
	bool writer_idle;        /* waiting without a deadline: needs a signal */
	bool stop, flush_req, wfailed;
	struct row *head, *tail;
	struct row *spare;       /* written rows, for the caller to take */
	unsigned spare_n;
	size_t queued_bytes;
	unsigned long queued_rows;
	uint64_t put_seq;        /* rows queued since open */
	uint64_t committed_seq;  /* rows committed (or lost to a failure) */
	char werr[1024];         /* the writer's failure; fixed once wfailed */
	pthread_t writer;
	unsigned ckpt_quiet_ms, ckpt_min_frames, ckpt_max_frames; /* store.h */
	unsigned long checkpoints;  /* run by the writer */
	bool ckpt_running;       /* the writer is checkpointing (done: it ended) */
	bool db_lent;            /* store_db() handed the connection out until
				  * the next put: no checkpoint when quiet */

	/* the writer's own */
	bool in_tx;
	unsigned long batch_n;     /* events in the open transaction */
	int64_t tx_last_id;        /* ... the id of its last, 0 before one */
	unsigned long grouped;     /* rows stored by ST_EVENT_GROUP (tests) */
	struct span spans[STORE_SPAN_SLOTS];  /* ... by session */
	unsigned nspans;
	uint64_t batch_start_ms;   /* CLOCK_MONOTONIC ms when it began */
	char wmsg[1024];           /* building a failure message */
	/* Processes known to have a row in the committed or current
	 * transaction, so that most events skip the "process seen" upsert.
	 * Direct-mapped: a miss only costs the upsert. Cleared on rollback. */
	struct { int64_t session, pid, start_ns; } seen[PROC_SEEN_SLOTS];
	/* The WAL, from SQLite's WAL hook: its pages after the last commit,
	 * and how many of them the last checkpoint copied (0 once the WAL
	 * starts over). Set on whichever thread holds the connection. */
	unsigned wal_frames, wal_copied;
};

/* store_row.c: the caller's side */
int store_plan_build(struct store *s);
int store_route_of(const char *type);
/* ev into s->draft, s->cells and s->scratch; then the bytes its row needs,
 * and copying it into a row of at least that many. */
int store_row_encode(struct store *s, const json_t *ev, int route);
/* The same for an event given as text and its common members. */
int store_row_encode_text(struct store *s, const struct store_head *h, const char *json,
			  size_t len, int route);
size_t store_row_size(const struct store *s);
void store_row_fill(const struct store *s, struct row *r);

/* store_write.c: the writer thread */
/* Free a list of rows; how many there were. */
unsigned long store_free_rows(struct row *r);
int store_writer_start(struct store *s);
void store_writer_stop(struct store *s);
uint64_t store_now_ms(void);
int store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames);

#endif /* AGENTTRAIL_SINKS_STORE_INT_H */
