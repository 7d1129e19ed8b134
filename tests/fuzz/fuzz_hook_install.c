/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for installing and removing agenttrail's hooks in an
 * agent's settings file (src/cli/hook_install.c, src/cli/settings_file.c).
 *
 * Input: the first byte picks the agent (claude, codex, gemini) and whether
 * the hook command carries "--on-unreachable deny"; the rest is the
 * settings file, as it is. Besides the sanitizers, checked:
 *  - a refused install or removal leaves the file byte for byte as it was;
 *  - what an install writes is a JSON object that a second install leaves
 *    unchanged (not even reformatted);
 *  - a removal after it succeeds, and a second removal changes nothing;
 *  - from there, install then remove comes back to the same bytes (what
 *    the first removal may drop, containers left empty, is gone by then).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hook_install.h"
#include "fuzz.h"

/* One directory for the process, made on the first input: libFuzzer calls
 * us many times, and a directory per input would only cost time. tmpfs
 * where there is one, so that the writer's fsyncs cost nothing. */
static char work_dir[64];

static char work_path[96];

static void remove_dir(void)
{
	(void)unlink(work_path);   /* the writer leaves nothing else behind */
	(void)rmdir(work_dir);
}

static const char *settings_path(void)
{
	if (!work_dir[0]) {
		snprintf(work_dir, sizeof(work_dir), "%s/at-fuzz-hooks.XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		CHECK(mkdtemp(work_dir));
		snprintf(work_path, sizeof(work_path), "%s/settings.json", work_dir);
		CHECK(atexit(remove_dir) == 0);
	}
	return work_path;
}

static void put(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f);
	CHECK(fwrite(p, 1, n, f) == n);
	CHECK(fclose(f) == 0);
}

/* The file's bytes (malloc'd, NUL-terminated), or NULL if it is missing. */
static char *get(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f)
		return NULL;
	CHECK(fseek(f, 0, SEEK_END) == 0);
	len = ftell(f);
	CHECK(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	CHECK(buf);
	CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len);
	CHECK(fclose(f) == 0);
	buf[len] = '\0';
	*n = (size_t)len;
	return buf;
}

static bool same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (!an || !memcmp(a, b, an));
}

static int edit(const char *path, enum hook_agent a, const char *cmd, bool uninstall,
		bool *changed)
{
	char err[512];

	err[0] = '\0';
	if (hook_install_file(path, a, cmd, uninstall, changed, err, sizeof(err))) {
		CHECK(err[0]);   /* a refusal says why */
		return -1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum hook_agent agents[] = { HOOK_CLAUDE, HOOK_CODEX, HOOK_GEMINI };
	const char *path = settings_path();
	enum hook_agent a;
	char cmd[128], *first, *now;
	size_t first_n, now_n, in_n;
	const char *in;
	bool changed;

	if (size < 1)
		return 0;
	a = agents[data[0] % 3];
	snprintf(cmd, sizeof(cmd), "/usr/local/bin/agenttrail hook %s%s", hook_agent_name(a),
		 data[0] & 4 ? " --on-unreachable deny" : "");
	in = (const char *)data + 1;
	in_n = size - 1;

	put(path, data + 1, in_n);
	if (edit(path, a, cmd, false, &changed)) {
		now = get(path, &now_n);
		CHECK(now && same(now, now_n, in, in_n));
		free(now);
		/* removing from a file install refused: refused too, or nothing
		 * to do; only a removal that did something may change it */
		if (edit(path, a, cmd, true, &changed) == 0 && changed) {
			now = get(path, &now_n);
			CHECK(now);
			free(now);
		} else {
			now = get(path, &now_n);
			CHECK(now && same(now, now_n, in, in_n));
			free(now);
		}
		return 0;
	}

	first = get(path, &first_n);
	CHECK(first);
	{
		json_error_t jerr;
		json_t *root = json_loadb(first, first_n, 0, &jerr);

		CHECK(root && json_is_object(root));
		json_decref(root);
	}
	/* again: nothing to do */
	CHECK(edit(path, a, cmd, false, &changed) == 0 && !changed);
	now = get(path, &now_n);
	CHECK(now && same(now, now_n, first, first_n));
	free(now);

	free(first);

	/* removal, twice */
	CHECK(edit(path, a, cmd, true, &changed) == 0);
	first = get(path, &first_n);
	CHECK(first);
	CHECK(edit(path, a, cmd, true, &changed) == 0 && !changed);

	/* install and remove again: back to the same bytes */
	CHECK(edit(path, a, cmd, false, &changed) == 0 && changed);
	CHECK(edit(path, a, cmd, false, &changed) == 0 && !changed);
	CHECK(edit(path, a, cmd, true, &changed) == 0 && changed);
	now = get(path, &now_n);
	CHECK(now && same(now, now_n, first, first_n));
	free(now);
	free(first);
	return 0;
}
