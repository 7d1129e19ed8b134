/* SPDX-License-Identifier: MIT */
/*
 * Internal to the correlator: its tables (correlate.c) and the
 * attribution of effects to tool calls (correlate_attr.c).
 */
#ifndef AT_MODEL_CORRELATE_INT_H
#define AT_MODEL_CORRELATE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "model/correlate.h"
#include "sinks/json_out.h"

#define PROC_BUCKETS 4096
#define MAX_PROCS 262144
#define ANCESTRY_MAX 64
#define MAX_SESSIONS 64

enum signal_bits {
	SIG_LINEAGE = 1 << 0,
	SIG_ARGV = 1 << 1,
	SIG_TIMING = 1 << 2,
	SIG_PATH = 1 << 3,
};

struct ctool {
	struct ctool *next;
	uint64_t session;
	uint32_t agent_pid;
	char *id, *llm_call, *name;
	char *intent;       /* description, or the command when there is none */
	char *command_norm; /* the command with quotes, escapes and blanks removed */
	char *file_path;    /* file_path / path / notebook_path of the input */
	bool answered;      /* its result went back to the model */
	json_t *cred_eids;  /* credential reads under it */
	json_t *cred_paths;
	bool mismatch_reported;
};

struct cproc {
	struct cproc *next;
	uint64_t session;
	uint32_t pid;
	uint32_t ppid;
	struct ctool *tool;
	double conf;
	unsigned signals;
	bool agent;         /* it made LLM calls */
	json_int_t secret_eid; /* the credential read that labelled it, 0: none */
	char *secret_path;
};

struct csession {
	uint64_t id;
	char *cwd;
	json_t *socks;      /* sock id -> "addr:port" of its connect */
	json_t *llm;        /* "addr:port" -> true: endpoints that carried LLM calls */
	json_t *tainted;    /* path -> eid of the credential read behind the write */
	json_t *reported;   /* finding keys already raised */
};

struct correlator {
	struct corr_opts o;
	struct cproc *procs[PROC_BUCKETS];
	size_t nprocs;
	struct ctool *tools;
	struct csession sessions[MAX_SESSIONS];
	size_t nsessions;
	char home[256];
};

static inline const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static inline json_int_t jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* correlate.c: the process table (create: add the process if absent) */
struct cproc *corr_proc_get(struct correlator *c, uint64_t session, uint32_t pid, bool create);

/* correlate_attr.c */
/* s without quotes, backslashes and blanks (a new string, or NULL). */
char *corr_normalize(const char *s);
/* ev gains tool_call, llm_call and attribution from p (nothing if no tool). */
void corr_set_attribution(json_t *ev, const struct cproc *p);
/* The tool call a process that just exec'd (with argv) runs for, in p. */
void corr_attribute_exec(struct correlator *c, struct cproc *p, const json_t *argv);
struct ctool *corr_attribute(struct correlator *c, const struct cproc *p, const char *path,
			     const char *to, struct cproc *as);
/* corr_set_attribution()'s members as text, appended to b from their
 * comma on; -1 (out of memory) with b emptied. */
int corr_attribution_text(const struct cproc *as, struct jbuf *b);

#endif
