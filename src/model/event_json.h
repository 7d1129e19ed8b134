/*
 * Kernel records (include/agenttrail/events.h) -> JSON objects of the public
 * event contract (docs/events.md).
 */
#ifndef AT_MODEL_EVENT_JSON_H
#define AT_MODEL_EVENT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

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
/* A JSON string from bytes that may not be UTF-8 (invalid bytes become
 * U+FFFD). */
json_t *json_bytes_string(const char *s, size_t len);

#endif
