/*
 * Asking before a tool runs: would the policy refuse what an agent's tool
 * call is about to do?
 *
 * An agent's hook (agenttrail hook claude|codex|gemini) describes the tool
 * call — the command line a shell tool will run, the file an edit tool
 * will write — and the running agenttrail answers with the first rule that
 * would block or kill it, judged the way the kernel and the fanotify
 * backend judge the real operations: the same targets, the labels the
 * asking process carries now, and the session's causal history for
 * `unless: after:`. The kernel still decides every real operation; this
 * only lets the agent learn the reason before its tool fails.
 */
#ifndef AT_GUARD_PREFLIGHT_H
#define AT_GUARD_PREFLIGHT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct guard;
struct fan;

#define PF_READ 1u
#define PF_WRITE 2u

struct pf_query {
	uint32_t pid;             /* the asking process: its labels are the subject's */
	const char *cwd;          /* where the tool runs (relative paths, operands) */
	/* an exec per command the tool would run: its argv, and the
	 * executable the asker found on the tool's PATH (NULL: argv[0]) */
	const char **exes;
	char ***argvs;
	size_t *argcs;
	size_t nexecs;
	/* files the tool would open */
	const char **files;
	const unsigned *access;   /* PF_READ | PF_WRITE, per file */
	size_t nfiles;
};

struct pf_answer {
	bool refused;             /* a block or kill rule applies */
	size_t rule;              /* the first of them */
	size_t nfired;
	size_t fired[8];
	enum pol_effect effect;
	unsigned op;              /* POL_OP_EXEC, POL_OP_READ or POL_OP_WRITE */
	size_t exec;              /* which exec (op exec) or file (else) */
	char target[PATH_MAX];    /* the executable or the file */
	char labels[1024];        /* the subject's labels, "A, B" */
	struct pol_labelset set;
	char reason[2048];        /* formatted, never empty when refused */
};

/*
 * Judge q against g's policy. f (optional) is the fanotify backend, whose
 * causal history answers `after` conditions; without it a rule with an
 * `after` condition is judged as if the condition did not hold. Call on
 * the recorder's thread, after the ring was drained.
 */
void preflight(struct guard *g, struct fan *f, const struct pf_query *q, struct pf_answer *a);

/* The violation event for a refusal decided before the tool ran
 * (mechanism "hook"). */
json_t *preflight_violation_json(const struct guard *g, const struct pf_query *q,
				 const struct pf_answer *a, uint64_t session, const char *agent,
				 const char *tool, const char *tool_use_id);

/* Find argv0 the way execvp would (PATH, relative elements and an argv0
 * with a '/' taken from cwd), into out; argv0 itself when it is nowhere.
 * For the asker: it stat()s. */
void pf_which(const char *argv0, const char *cwd, const char *path_env, char *out, size_t len);

#endif
