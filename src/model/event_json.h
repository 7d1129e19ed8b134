/*
 * Kernel records (include/agenttrail/events.h) -> JSON objects of the public
 * event contract (docs/events.md).
 */
#ifndef AT_MODEL_EVENT_JSON_H
#define AT_MODEL_EVENT_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/event_out.h"

struct dnscache;
struct at_hdr;
struct cgroup_names;

struct ev_ctx {
	int64_t mono_to_wall_ns;     /* add to a CLOCK_MONOTONIC ns value */
	uint64_t sock_key;           /* per-run key hiding kernel addresses */
	struct dnscache *dns;        /* may be NULL */
	struct cgroup_names *cg;     /* may be NULL */
};

/* Initialise clocks and the socket key. Caches stay the caller's. */
void ev_ctx_init(struct ev_ctx *c);

/*
 * Decode one record of `size` bytes. Returns a new JSON object, or NULL
 * for a malformed record (err says why). Never reads past data + size.
 */
json_t *event_to_json(struct ev_ctx *c, const void *data, size_t size, char *err, size_t errlen);

/*
 * What a file event (open, unlink, rename, mkdir, chmod) says, as C values:
 * the attribution and the detectors read it instead of the object.
 * Strings as the event stores them; NULL when the event has none.
 */
struct ev_file {
	const char *type;
	int64_t ts_ns, session, start_ns, eid;
	uint32_t pid;
	const char *comm;
	const char *path, *new_path;
	const char *access;          /* open only: "read", "write", ... */
	bool ok;                     /* the call succeeded (ret >= 0) */
};

/* Whether event_file_text() writes records of this kind. */
bool event_is_file(unsigned kind);

/*
 * A file record written straight to JSON text in out (emptied first), "eid"
 * its last member: the bytes json_out() gives for event_to_json()'s object
 * with "eid" set, without building the object. *v gets what the event says;
 * its strings live in strs until strs is reused. 0, or -1 for a malformed
 * record or no memory (err says which).
 */
int event_file_text(struct ev_ctx *c, const void *data, size_t size, int64_t eid,
		    struct jbuf *out, struct jbuf *strs, struct ev_file *v, char *err,
		    size_t errlen);

/*
 * The "path" event_file_text() gives a file record, alone (for folding a
 * search's failed opens, model/search.c): NUL-terminated, valid UTF-8, in
 * strs until strs is reused; scratch takes the text around it. NULL for a
 * malformed record or no memory.
 */
const char *event_file_path(const void *data, size_t size, struct jbuf *scratch,
			    struct jbuf *strs);

/* The fields every event has (type from h->kind, times, process); a new
 * object or NULL when out of memory. */
json_t *event_common(struct ev_ctx *c, const struct at_hdr *h);
/* The public id of a kernel socket (a connect record's `sock`), 0 for none. */
int64_t event_sock_id(const struct ev_ctx *c, uint64_t sock);

/* Names used in JSON; exposed for tests and the report. */
const char *event_kind_name(unsigned kind);
void open_flags_str(uint32_t flags, char *buf, size_t len);
const char *open_access(uint32_t flags);
/* Join dir and a relative arg and normalise "." / ".." lexically. */
int path_join_lexical(const char *dir, const char *arg, char *out, size_t len);

#endif
