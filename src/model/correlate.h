/* SPDX-License-Identifier: MIT */
/*
 * Live correlation of a session's events with its LLM tool calls, and the
 * built-in detectors (docs/findings.md).
 *
 * Every event passes through correlate() before it is written. Process,
 * file and network events are attributed to the tool call that caused them
 * and gain `tool_call` (its id) and `attribution` ({confidence, signals});
 * effects nobody can explain stay unattributed (no field). The signals:
 *   - `lineage`: a process descends from one already attributed, or was
 *     started by the agent (the process that made the LLM call);
 *   - `argv`: the tool call's command appears in the command line (agents
 *     wrap commands, e.g. `bash -c -l "... eval '<cmd>' ..."`; quotes,
 *     escapes and blanks are ignored when comparing);
 *   - `timing`: the only tool call of the agent still open (its result not
 *     yet sent back to the model) when the process started;
 *   - `path`: a file the agent process itself touched is the one a tool
 *     call named (Write/Edit run inside the agent, with no new process).
 * Detectors raise `finding` records, which correlate() returns for the
 * caller to write after the event: credential access, exfiltration,
 * cloud metadata, destructive commands, persistence, writes outside the
 * workspace and intent mismatch. Each names its severity, the tool call and
 * LLM call, and the evidence (the `eid` of events).
 */
#ifndef AT_MODEL_CORRELATE_H
#define AT_MODEL_CORRELATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model/event_json.h"
#include "sinks/json_out.h"

struct corr_opts {
	const char *const *credentials;  /* extra credential globs */
	size_t ncredentials;
	uint64_t *next_id;               /* shared record counter for finding ids */
};

struct correlator;

struct correlator *correlator_new(const struct corr_opts *o);
void correlator_free(struct correlator *c);

/*
 * Annotate ev (which must already carry its `eid`) and return the findings
 * it reveals as a new array, or NULL when there are none (most events; no
 * array is made for them) or no memory for one.
 */
json_t *correlate(struct correlator *c, json_t *ev);

/*
 * correlate() of a file event given as C values (the recorder writes file
 * events straight to text): the same state and findings. What correlate()
 * would add to the event's object (its tool call and attribution) goes to
 * annot (emptied first) as the text json_out() gives those members at the
 * object's end, from the comma on; annot stays empty when there is none,
 * and when memory ran out for it (*annot_lost is then true).
 */
json_t *correlate_file(struct correlator *c, const struct ev_file *f, struct jbuf *annot,
		       bool *annot_lost);

/* The session ended: findings that wait for the end (a credential read by
 * a tool call whose intent does not mention it), as a new array. */
json_t *correlate_session_end(struct correlator *c, uint64_t session);

#endif
