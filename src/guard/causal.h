/*
 * Causal order for `unless: after:` conditions: "a process matching these
 * commands ran in this session (and exited with this code), and nothing
 * was written under these paths since it started".
 *
 * Fed with the session's recorded events (exec, exit, and every write-like
 * file event) in the order the kernel produced them; asked at exec
 * decisions. All times are the events' ts_ns.
 */
#ifndef AT_GUARD_CAUSAL_H
#define AT_GUARD_CAUSAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

struct causal;

struct causal *causal_new(const struct policy *p);
void causal_free(struct causal *c);
/* One recorded event (JSON of docs/events.md). */
void causal_observe(struct causal *c, const json_t *ev);
/* Does condition k of rule r hold now? why (optional) says what is missing. */
bool causal_holds(const struct causal *c, size_t rule, size_t k, char *why, size_t whylen);

#endif
