/*
 * The enforcing half of the recorder: the policy of `run --policy`, the
 * violations its backends decide, reloads, and the control socket through
 * which the agents' hooks ask before and after each tool call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/control.h"
#include "guard/feedback.h"
#include "guard/hookserv.h"
#include "guard/seccomp_notify.h"
#include "model/recorder_int.h"

#define HOOK_DRAIN_BUDGET_NS 1000000000ull

int rec_guard_load(struct recorder *r, struct policy **pol)
{
	struct pol_env env;

	*pol = NULL;
	if (!r->o->policy)
		return 0;
	if (guard_env(&env, r->home, sizeof(r->home), r->workspace, sizeof(r->workspace))) {
		fprintf(stderr, "agenttrail: cannot tell the session user's home or the workspace\n");
		return -1;
	}
	*pol = guard_load_policy(r->o->policy, &env, r->o->quiet);
	return *pol ? 0 : -1;
}

int rec_guard_open(struct recorder *r, struct policy *pol)
{
	struct pol_env env;
	char err[512];

	guard_env(&env, r->home, sizeof(r->home), r->workspace, sizeof(r->workspace));
	if (guard_open(&r->guard, &r->ld, pol, r->o->policy, &env, r->o->quiet, err, sizeof(err))) {
		fprintf(stderr, "agenttrail: policy %s: %s\n", r->o->policy, err);
		return -1;
	}
	r->guarding = true;
	r->guard.tool_reason = !r->o->no_tool_reason;
	if (fan_needed_now(&r->guard)) {
		if (loader_attach_guard_entry(&r->ld, err, sizeof(err)) ||
		    fan_open(&r->fan, &r->guard, &r->ld, err, sizeof(err))) {
			fprintf(stderr, "agenttrail: policy %s: %s\n", r->o->policy, err);
			return -1;
		}
		r->fanning = true;
	}
	if (r->fanning && snotify_needed(&r->guard)) {
		if (!r->o->argv)
			fprintf(stderr, "agenttrail: policy %s: unlink and rename rules are only observed "
				"in a session agenttrail did not start (no seccomp filter)\n",
				r->o->policy);
		else if (!snotify_available())
			fprintf(stderr, "agenttrail: policy %s: this kernel offers no seccomp user "
				"notification: unlink and rename rules are only observed\n",
				r->o->policy);
		else
			r->sn_wanted = true;
	}
	if (!r->o->quiet)
		fprintf(stderr, "agenttrail: enforcing %s: %zu rules, %zu labels, %zu files labelled\n",
			r->o->policy, r->guard.pol->nrules, r->guard.pol->nlabels, r->guard.files_bound);
	return 0;
}

void rec_guard_close(struct recorder *r)
{
	rec_control_close(r);
	if (r->snotifying) {
		snotify_stop(&r->sn);
		if (r->o->stats)
			fprintf(stderr, "unlink/rename by seccomp: %llu decided, %llu refused, %llu done "
					"for the caller, %llu let through\n",
				(unsigned long long)r->sn.decided, (unsigned long long)r->sn.refused,
				(unsigned long long)r->sn.emulated,
				(unsigned long long)r->sn.passed_on);
	}
	r->snotifying = false;
	if (r->fanning)
		fan_close(&r->fan);
	r->fanning = false;
	if (r->guarding)
		guard_close(&r->guard);
	r->guarding = false;
}

/* A decision of the kernel: the public event, and one line on stderr. */
void rec_on_violation(struct recorder *r, const void *data, size_t size)
{
	json_t *ev = r->guarding ? guard_violation_json(&r->guard, &r->ev, data, size) : NULL;

	r->counts[AT_EV_VIOLATION]++;
	if (!ev) {
		r->malformed++;
		return;
	}
	/* the kernel refused (and the program lives): tell it why */
	if (!r->o->no_tool_reason && !strcmp(json_string_value(json_object_get(ev, "effect")), "block"))
		json_object_set_new(ev, "told",
				    json_boolean(feedback_to_stderr((pid_t)json_integer_value(json_object_get(ev, "pid")),
								    json_string_value(json_object_get(ev, "rule")),
								    json_string_value(json_object_get(ev, "reason"))) == 0));
	rec_emit_violation(r, ev);
	json_decref(ev);
}

/* Decisions made in user space (fanotify), queued by its thread. */
void rec_take_fan_violations(struct recorder *r)
{
	json_t *q = r->fanning ? fan_take_violations(&r->fan) : NULL;
	size_t i;
	json_t *ev;

	if (!q)
		return;
	json_array_foreach(q, i, ev) {
		r->counts[AT_EV_VIOLATION]++;
		rec_emit_violation(r, ev);
	}
	json_decref(q);
}

static const char *field(const json_t *ev, const char *key)
{
	const char *v = json_string_value(json_object_get(ev, key));

	return v ? v : "?";
}

void rec_emit_violation(struct recorder *r, json_t *ev)
{
	if (!r->o->no_stderr_reason)
		fprintf(stderr, "agenttrail: %s %s %s by %s[%lld] (rule %s): %s\n", field(ev, "effect"),
			field(ev, "op"), field(ev, "target"), field(ev, "comm"),
			(long long)json_integer_value(json_object_get(ev, "pid")), field(ev, "rule"),
			field(ev, "reason"));
	rec_emit(r, ev);
	if (r->hooks)
		hookserv_note_violation(r->hooks, ev);
}

void rec_reload_policy(struct recorder *r)
{
	char err[512];
	int rc;

	if (r->fanning)
		fan_lock_policy(&r->fan);
	rc = guard_reload(&r->guard, err, sizeof(err));
	if (rc == 0 && r->fanning && fan_policy_changed(&r->fan, err, sizeof(err)))
		fprintf(stderr, "agenttrail: policy reload: file and exec rules: %s\n", err);
	if (rc == 0 && r->fanning && !r->snotifying && snotify_needed(&r->guard))
		fprintf(stderr, "agenttrail: policy reload: the command was started without the "
			"seccomp filter: its unlink and rename rules are only observed until the next "
			"run\n");
	if (r->fanning)
		fan_unlock_policy(&r->fan);
	if (rc)
		fprintf(stderr, "agenttrail: policy reload failed: %s\n", err);
	else if (!r->o->quiet)
		fprintf(stderr, "agenttrail: policy %s reloaded (%zu rules, %zu labels, %zu files labelled)\n",
			r->o->policy, r->guard.pol->nrules, r->guard.pol->nlabels, r->guard.files_bound);
}


/* ---- the control socket ---------------------------------------------------- */

static uint64_t ctl_session_of(void *ctx, pid_t pid)
{
	struct recorder *r = ctx;

	return loader_session_of(&r->ld, pid);
}

static json_t *ctl_handle(void *ctx, pid_t pid, uint64_t session, const json_t *req)
{
	struct recorder *r = ctx;

	return hookserv_handle(r->hooks, pid, session, req);
}

/* Everything the kernel recorded until now, and the fanotify backend's
 * decisions, before a hook's question is answered. */
static void hooks_drain(void *ctx)
{
	struct recorder *r = ctx;

	/* up to now, not as long as producers keep producing; and a hook
	 * waits at most a second for a recorder that is behind a flood (its
	 * answer then misses what the kernel has not handed over yet) */
	if (rec_drain_until(r, HOOK_DRAIN_BUDGET_NS) && !r->o->quiet)
		fprintf(stderr, "agenttrail: a hook was answered before the recorder caught up "
			"with the kernel\n");
	rec_take_fan_violations(r);
}

static void hooks_emit(void *ctx, json_t *ev)
{
	struct recorder *r = ctx;

	r->counts[AT_EV_VIOLATION]++;
	rec_emit_violation(r, ev);
}

int rec_control_open(struct recorder *r)
{
	const struct control_ops cops = { .ctx = r, .session_of = ctl_session_of,
					  .handle = ctl_handle };
	const struct hookserv_ops hops = { .ctx = r, .drain = hooks_drain, .emit = hooks_emit };
	char err[512];

	if (r->o->no_control)
		return 0;
	r->hooks = hookserv_new(r->guarding ? &r->guard : NULL, r->fanning ? &r->fan : NULL,
				r->o->policy, &hops);
	if (!r->hooks) {
		fprintf(stderr, "agenttrail: no control socket for the agents' hooks: out of memory\n");
		return 0;
	}
	r->ctl = control_open(r->o->control_socket, r->o->control_group, &cops, err, sizeof(err));
	if (!r->ctl) {
		/* the recording matters more: go on, the hooks will say why */
		fprintf(stderr, "agenttrail: no control socket for the agents' hooks: %s\n", err);
		hookserv_free(r->hooks);
		r->hooks = NULL;
		return 0;
	}
	if (r->o->verbose)
		fprintf(stderr, "agenttrail: control socket %s\n", control_path(r->ctl));
	return 0;
}

void rec_control_close(struct recorder *r)
{
	control_close(r->ctl);
	r->ctl = NULL;
	hookserv_free(r->hooks);
	r->hooks = NULL;
}
