/*
 * What the control socket answers (the agents' hooks ask it):
 *
 *   {"op":"status"}                       -> {"session", "policy", "rules", "labels"}
 *   {"op":"pre", "tool", "tool_use_id", "cwd", "exes": [path of each command],
 *    "commands": [[argv...], ...], "files": [{"path", "access"}, ...]}
 *                                         -> {"decision":"allow"} or
 *                                            {"decision":"deny", "rule", "effect",
 *                                             "op", "target", "reason"}
 *   {"op":"post", "tool_use_id"}          -> {"violations": [{...}, ...], "more": N}
 *
 * "pre" judges a tool call before it runs (preflight.h) and records a
 * refusal as a violation event (mechanism "hook"). "post" returns the
 * kernel's and the fanotify backend's decisions in the asker's session
 * since the "pre" of the same tool_use_id (or since the previous "post"),
 * leaving out those attributed to another tool call. Both first let the
 * recorder process everything the kernel recorded until then.
 */
#ifndef AT_GUARD_HOOKSERV_H
#define AT_GUARD_HOOKSERV_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

struct guard;
struct fan;

struct hookserv_ops {
	void *ctx;
	void (*drain)(void *ctx);            /* process what the kernel recorded so far */
	void (*emit)(void *ctx, json_t *ev); /* a violation decided here (borrowed) */
};

struct hookserv;

struct hookserv *hookserv_new(struct guard *g, struct fan *f, const char *policy_path,
			      const struct hookserv_ops *ops);
void hookserv_free(struct hookserv *h);
/* Every violation event of the recording, as it is emitted. */
void hookserv_note_violation(struct hookserv *h, const json_t *ev);
/* The answer to one request (a new reference). */
json_t *hookserv_handle(struct hookserv *h, pid_t pid, uint64_t session, const json_t *req);

#endif
