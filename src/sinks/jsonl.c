#include "sinks/jsonl.h"

#include <errno.h>
#include <string.h>

int jsonl_open(struct jsonl *j, const char *path)
{
	memset(j, 0, sizeof(*j));
	if (strcmp(path, "-") == 0) {
		j->f = stdout;
		return 0;
	}
	j->f = fopen(path, "we");
	if (!j->f) {
		snprintf(j->err, sizeof(j->err), "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	j->owned = 1;
	return 0;
}

static int fail(struct jsonl *j)
{
	if (!j->failed)
		snprintf(j->err, sizeof(j->err), "writing JSONL failed: %s", strerror(errno));
	j->failed = 1;
	return -1;
}

int jsonl_write(struct jsonl *j, json_t *ev)
{
	if (!j->f || j->failed)
		return j->failed ? -1 : 0;
	jbuf_reset(&j->line);
	if (json_out(&j->line, ev) != 0) {
		/* this event only (not valid UTF-8, too deep): the stream goes on */
		snprintf(j->err, sizeof(j->err), "an event could not be written as JSON"
			 " and is missing from the stream: %s", strerror(errno));
		return -1;
	}
	if (fwrite(j->line.p, 1, j->line.len, j->f) != j->line.len || fputc('\n', j->f) == EOF)
		return fail(j);
	return 0;
}

int jsonl_write_text(struct jsonl *j, const char *json, size_t len)
{
	if (!j->f || j->failed)
		return j->failed ? -1 : 0;
	if (fwrite(json, 1, len, j->f) != len || fputc('\n', j->f) == EOF)
		return fail(j);
	return 0;
}

int jsonl_flush(struct jsonl *j)
{
	if (!j->f || j->failed)
		return j->failed ? -1 : 0;
	return fflush(j->f) ? fail(j) : 0;
}

int jsonl_close(struct jsonl *j)
{
	int rc = jsonl_flush(j);

	if (j->f && j->owned && fclose(j->f) && !j->failed)
		rc = fail(j);
	j->f = NULL;
	jbuf_free(&j->line);
	return rc;
}
