/*
 * The recorder's state, shared by its parts: the recording's lifecycle
 * (recorder.c), its sessions from the command's start to session_end
 * (recorder_sessions.c), records to events and events to the sinks
 * (recorder_events.c), and enforcing (recorder_guard.c: the policy, its
 * violations, reloads and the control socket the agents' hooks ask).
 */
#ifndef AT_MODEL_RECORDER_INT_H
#define AT_MODEL_RECORDER_INT_H

#include <bpf/libbpf.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "agenttrail/events.h"
#include "capture/loader.h"
#include "capture/tls.h"
#include "guard/fan.h"
#include "guard/guard.h"
#include "guard/seccomp_notify.h"
#include "model/event_json.h"
#include "model/pidset.h"
#include "model/search.h"
#include "model/recorder.h"
#include "sinks/jsonl.h"
#include "sinks/store.h"

struct control;
struct hookserv;
struct flows;
struct redact_ctx;
struct correlator;

/* Sessions a recording holds at once (r->sessions, allocated whole). */
#define MAX_SESSIONS 4096

struct session {
	uint64_t id;
	pid_t root;
	const char *mode;
	bool root_gone;        /* root exited (command: reaped; others: exit seen) */
	bool ended;
	int exit_code;         /* -1 unknown */
	int exit_signal;
	uint64_t events;
	uint64_t started_ns;
	uint64_t gone_ns;      /* when the tree was first seen gone (0: not yet) */
	int open_sockets;      /* TCP sockets without a close at the end */
	bool root_running;     /* recording stopped before the root exited */
};

struct recorder {
	const struct rec_opts *o;
	struct loader ld;
	struct ring_buffer *rb;
	struct ev_ctx ev;
	struct store *store;
	struct jsonl jl;
	bool use_jsonl;
	bool store_failed;
	struct pidset live;
	struct session *sessions;
	size_t nsessions;
	uint64_t counts[AT_EV__MAX];
	uint64_t malformed;
	uint64_t total;
	int stop_signal;       /* the signal that ended the recording, or 0 */
	double end_cpu[2];     /* own user, system CPU s when the loop ended (--stats) */
	unsigned batch;        /* records handled in the current consume call */
	uint64_t drain_cutoff_ns;  /* drain_all(): its start (CLOCK_MONOTONIC), or 0 */
	bool past_cutoff;      /* drain_all(): a record from after the cutoff came */
	pid_t child;
	pid_t my_sid;
	char cgroup[1200];
	uint64_t cgroup_id;
	bool have_cgroup;
	char dbpath[PATH_MAX];
	/* HTTP and LLM traffic */
	struct tls_mgr tls;
	struct flows *flows;
	struct redact_ctx *redact;
	uint64_t next_record_id;
	uint64_t derived[3];   /* http, llm_call, tool_call records emitted */
	/* tool-call attribution and findings */
	struct correlator *corr;
	uint64_t next_eid;
	uint64_t findings;
	/* file events, written straight to text (handle_file_text) */
	struct jbuf text, strs, annot;
	uint64_t as_text;      /* events that took that path */
	struct searches search;  /* failed opens held to fold (model/search.h) */
	uint64_t folded;       /* failed opens folded into the open they led to */
	uint64_t cgroup_told;  /* the cgroup id last told to the kernel as named */
	/* enforcement (run --policy) */
	struct guard guard;
	bool guarding;
	struct fan fan;        /* file and exec rules (fanotify) */
	bool fanning;
	struct snotify sn;     /* unlink and rename (seccomp), for the command */
	bool sn_wanted;        /* give the command the filter */
	bool snotifying;
	/* the agents' hooks (the control socket) */
	struct control *ctl;
	struct hookserv *hooks;
	char home[PATH_MAX];   /* what "~" means in the policy */
	char workspace[PATH_MAX];
};

/* recorder_sessions.c: sessions, from the command's start to session_end */
struct session *rec_find_session(struct recorder *r, uint64_t id);
struct session *rec_add_session(struct recorder *r, uint64_t id, pid_t root, const char *mode);
/* The session_start record (argv and cwd of the recorded command, or NULL). */
void rec_session_start(struct recorder *r, struct session *s, char **argv, const char *cwd);
/* The session's last findings, then its session_end record; s is ended. */
void rec_session_end(struct recorder *r, struct session *s);
/* The loss counters past the event kinds (AT_EV__MAX up to AT_LOSS__MAX),
 * by the names session_end's drops and --stats give them. */
extern const char *const rec_loss_names[AT_LOSS__MAX - AT_EV__MAX];
/* Start what the options ask for: the command (in its session cgroup), the
 * --pid process, or the --comm watches. -1 when it cannot (printed). */
int rec_start_sessions(struct recorder *r, uint64_t run_id);
/* SIGCHLD: reap children, and note how the recorded command ended. */
void rec_reap_child(struct recorder *r);
/* End the sessions whose tree is gone; true when recording should stop. */
bool rec_check_sessions(struct recorder *r);

/* recorder_events.c: records to events, events to the sinks */
/* An event to every sink, annotated with its tool call and findings. */
void rec_emit(struct recorder *r, json_t *ev);
/* Findings (an array, or NULL) to every sink, after the event they follow. */
void rec_write_findings(struct recorder *r, json_t *findings);
/* Credentials in an event's argv redacted, when redaction is on. */
void rec_redact_argv(struct recorder *r, json_t *ev);
/* A sink's answer: rc of a store call (reported once; a failed store is
 * given up, the others keep going). */
void rec_store_said(struct recorder *r, int rc);
void rec_store_gave_up(struct recorder *r);
/* The ring buffer's callback: one record (ctx is the recorder). */
int rec_on_record(void *ctx, void *data, size_t size);
/* Write the failed opens held for folding as the events they were. */
void rec_give_back_searches(struct recorder *r);
/* Consume what the ring holds, at most one budget; true if more waits. */
bool rec_drain_some(struct recorder *r);
/* Consume what the kernel produced up to now (not what comes after). */
void rec_drain_all(struct recorder *r);
/* The same, for at most budget_ns (0: no limit); true if it stopped for
 * the budget with records from before the start still in the ring. */
bool rec_drain_until(struct recorder *r, uint64_t budget_ns);

static inline uint64_t rec_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* recorder_guard.c */
/* Load and check the policy of --policy (NULL, 0 when none; -1 printed). */
int rec_guard_load(struct recorder *r, struct policy **pol);
/* Enforce pol (owned from here on) once the loader is open. */
int rec_guard_open(struct recorder *r, struct policy *pol);
void rec_guard_close(struct recorder *r);
/* A violation record from the kernel. */
void rec_on_violation(struct recorder *r, const void *data, size_t size);
/* The fanotify backend's queued decisions. */
void rec_take_fan_violations(struct recorder *r);
void rec_emit_violation(struct recorder *r, json_t *ev);
/* SIGHUP: re-read the policy; the running one stays on any error. */
void rec_reload_policy(struct recorder *r);
/* The control socket (before the command starts: its path goes into the
 * command's environment). */
int rec_control_open(struct recorder *r);
void rec_control_close(struct recorder *r);

#endif
