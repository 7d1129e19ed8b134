/*
 * The agents' hook protocols, read and written: what Claude Code, Codex
 * and Gemini CLI send a command hook on stdin before and after a tool
 * runs, and the exact answer each expects on stdout (and exit code).
 *
 *   Claude Code, Codex  PreToolUse / PostToolUse; deny with
 *                       hookSpecificOutput.permissionDecision "deny" and a
 *                       permissionDecisionReason; after a Claude Code tool
 *                       that had something refused, "decision": "block" with
 *                       the text as its reason (the model reads it; marks the
 *                       call as failed), else (and always for Codex, which
 *                       would replace the tool's output with a block's
 *                       reason) hookSpecificOutput.additionalContext; Claude
 *                       Code's PostToolUseFailure: additionalContext.
 *   Gemini CLI          BeforeTool / AfterTool; deny with "decision":
 *                       "deny" and a reason (sent to the model as the tool's
 *                       error); after a tool, hookSpecificOutput.
 *                       additionalContext (appended to the tool's result).
 *
 * An answer that lets the tool run prints nothing (exit 0): the agent's
 * own permission rules stay as they were. A reason is never empty: some
 * harnesses let a tool run when a deny carries no reason.
 */
#ifndef AT_CLI_HOOK_PROTO_H
#define AT_CLI_HOOK_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/hook_install.h"

enum hook_event { HOOK_EV_PRE, HOOK_EV_POST, HOOK_EV_OTHER };

#define HOOK_MAX_FILES 64

/* One hook invocation, normalised. Strings are owned (hook_call_free). */
struct hook_call {
	enum hook_event event;
	char *event_name;         /* as the agent named it */
	char *tool;
	char *tool_use_id;        /* NULL when the agent gives none (Gemini) */
	char *cwd;
	char *shell;              /* the command line a shell tool will run, or NULL */
	char *files[HOOK_MAX_FILES];
	unsigned access[HOOK_MAX_FILES];  /* PF_READ | PF_WRITE */
	size_t nfiles;
	bool truncated;           /* more files than HOOK_MAX_FILES */
};

/* Read the agent's hook input. Returns 0, or -1 with a message. */
int hook_call_parse(enum hook_agent a, const json_t *in, struct hook_call *c, char *err,
		    size_t errlen);
void hook_call_free(struct hook_call *c);

/* The answer to print (a new string, "" for "say nothing") and the exit
 * code, for: a denial before the tool runs ... */
char *hook_answer_deny(enum hook_agent a, const struct hook_call *c, const char *reason,
		       int *exit_code);
/* ... and what happened during a tool call (text: one paragraph per
 * violation; NULL or "" when nothing did; failed: something was refused
 * or killed, not only noted). */
char *hook_answer_post(enum hook_agent a, const struct hook_call *c, const char *text,
		       bool failed, int *exit_code);

/* Codex's apply_patch: the files a patch adds, updates, deletes or moves
 * to (each a write). Appends to c->files. */
void hook_patch_files(const char *patch, const char *cwd, struct hook_call *c);

#endif
