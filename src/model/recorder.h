/* The recording loop: kernel records -> JSON events -> store and JSONL. */
#ifndef AT_MODEL_RECORDER_H
#define AT_MODEL_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct rec_opts {
	char **argv;              /* command mode: the command to run */
	pid_t attach_pid;         /* --pid */
	char **comms;             /* --comm NAME (repeatable) */
	size_t ncomms;
	const char *db;           /* NULL: default path; "" : no store */
	const char *jsonl;        /* NULL: none; "-": stdout */
	size_t ringbuf_bytes;
	bool follow;              /* keep following daemons after the root exits */
	bool stats;               /* print per-kind counts and drops at the end */
	bool quiet;
	bool verbose;
	bool no_cgroup;           /* do not create a session cgroup */
	double duration_s;        /* stop after this long (0: no limit) */
	const char *ready_file;   /* created once capture is live (for scripts) */
	bool no_tls;              /* --no-tls: no uprobes on TLS libraries */
	bool no_payload;          /* --no-payload: no HTTP/LLM capture at all */
	bool no_redact;           /* --no-redact: keep secrets in captured traffic */
	size_t max_body;          /* --max-body: bytes kept per HTTP body (0: 16 MiB) */
	char **credentials;       /* --credential GLOB: more credential paths */
	size_t ncredentials;
	const char *policy;       /* run --policy: enforce this policy file */
	bool no_stderr_reason;    /* do not print violations on agenttrail's stderr */
	bool no_tool_reason;      /* do not write the reason to the refused program's stderr */
	bool no_control;          /* no control socket for the agents' hooks */
	const char *control_socket; /* its path (NULL: /run/agenttrail/PID.sock) */
	gid_t control_group;      /* (gid_t)-1: mode 0600; else 0660 with this group */
};

/*
 * Record until the session(s) end or SIGINT/SIGTERM. Returns the process
 * exit status for agenttrail: the recorded command's status in command
 * mode (128 + signal if it was killed), 0 otherwise, 1 on a setup error.
 */
int recorder_run(const struct rec_opts *o);

#endif
