/* SPDX-License-Identifier: MIT */
/*
 * `agenttrail report`: read a store (src/sinks/store.h) and show one view
 * of a session, as aligned text or as one JSON document.
 */
#ifndef AGENTTRAIL_CLI_REPORT_H
#define AGENTTRAIL_CLI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sqlite3.h>

enum report_view {
	REPORT_SUMMARY,   /* counts for one session (the default) */
	REPORT_SESSIONS,  /* every session (or only --session) */
	REPORT_TREE,      /* the process tree of one session */
	REPORT_FILES,     /* file operations per process */
	REPORT_NET,       /* connections */
	REPORT_LLM,       /* LLM calls (or one with --call) */
	REPORT_TIMELINE,  /* LLM turn -> tool call -> effects -> findings */
	REPORT_FINDINGS,  /* the detectors' findings */
	REPORT_VIOLATIONS, /* the guard's decisions */
};

struct report_opts {
	enum report_view view;
	bool has_session;   /* false: the latest session */
	long long session;
	bool json;          /* one JSON document instead of text */
	int width;          /* shorten text lines to this many columns; 0: never */
	const char *call;   /* llm view: show this call in full */
};

/*
 * Write the view chosen by o to out. Returns 0, or 1 with a message in err
 * (unknown session, empty database, SQL or output error).
 */
int report_run(sqlite3 *db, const struct report_opts *o, FILE *out,
	       char *err, size_t errlen);

/*
 * The command: argv[0] is the command's own name ("report"), options and
 * the view follow. Returns the exit status: 0 ok, 1 runtime error, 2 usage.
 */
int cmd_report(int argc, char **argv);

#endif /* AGENTTRAIL_CLI_REPORT_H */
