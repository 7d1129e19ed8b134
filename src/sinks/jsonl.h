/* JSON Lines sink: one event object per line, to a file or stdout. */
#ifndef AT_SINKS_JSONL_H
#define AT_SINKS_JSONL_H

#include "sinks/json_out.h"

#include <jansson.h>
#include <stdio.h>

struct jsonl {
	FILE *f;
	int owned;          /* we opened it (not stdout) */
	int failed;         /* a write failed; further writes are skipped */
	struct jbuf line;   /* reused: json_dumpf costs several times more */
	char err[256];
};

/* path "-" means stdout. Returns 0, or -1 with j->err set. */
int jsonl_open(struct jsonl *j, const char *path);
/* Returns 0, or -1 (j->err says why): with j->failed set once writing
 * failed (later writes are skipped), else this event could not be written
 * as JSON and the stream goes on. */
int jsonl_write(struct jsonl *j, json_t *ev);
/* The same for an event already written as compact JSON text. */
int jsonl_write_text(struct jsonl *j, const char *json, size_t len);
int jsonl_flush(struct jsonl *j);
int jsonl_close(struct jsonl *j);

#endif
