/* The agents' hook protocols. See hook_proto.h. */
#include "cli/hook_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/preflight.h"
#include "policy/policy.h"
#include "model/json_pool.h"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void hook_call_free(struct hook_call *c)
{
	free(c->event_name);
	free(c->tool);
	free(c->tool_use_id);
	free(c->cwd);
	free(c->shell);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	memset(c, 0, sizeof(*c));
}

static void add_file(struct hook_call *c, const char *path, unsigned access)
{
	char abs[4096];

	if (!path || !path[0])
		return;
	if (c->nfiles == HOOK_MAX_FILES) {
		c->truncated = true;
		return;
	}
	pol_absolute(c->cwd ? c->cwd : "/", path, abs, sizeof(abs));
	c->files[c->nfiles] = strdup(abs);
	if (c->files[c->nfiles])
		c->access[c->nfiles++] = access;
}

/* A command given as argv (some Codex versions): one shell line that
 * means the same, each word single-quoted. */
static char *argv_to_shell(const json_t *arr)
{
	size_t i, len = 1;
	json_t *w;
	char *out, *o;

	json_array_foreach(arr, i, w) {
		const char *s = json_string_value(w);

		if (!s)
			return NULL;
		len += 3;
		for (; *s; s++)
			len += *s == '\'' ? 4 : 1;
	}
	out = o = malloc(len);
	if (!out)
		return NULL;
	json_array_foreach(arr, i, w) {
		const char *s = json_string_value(w);

		if (i)
			*o++ = ' ';
		*o++ = '\'';
		for (; *s; s++) {
			if (*s == '\'') {
				memcpy(o, "'\\''", 4);
				o += 4;
			} else {
				*o++ = *s;
			}
		}
		*o++ = '\'';
	}
	*o = '\0';
	return out;
}

void hook_patch_files(const char *patch, const char *cwd, struct hook_call *c)
{
	static const char *const heads[] = { "*** Add File: ", "*** Update File: ",
					     "*** Delete File: ", "*** Move to: " };
	const char *line = patch;

	(void)cwd;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
			size_t hl = strlen(heads[h]);
			char path[4096];

			if (n > hl && !strncmp(line, heads[h], hl) && n - hl < sizeof(path)) {
				memcpy(path, line + hl, n - hl);
				path[n - hl] = '\0';
				path[strcspn(path, "\r")] = '\0';
				add_file(c, path, PF_WRITE);
			}
		}
		line = end ? end + 1 : NULL;
	}
}

static bool is(const char *tool, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(tool, *names))
			return true;
	return false;
}

/* What a tool is about to do, from its input: a shell line, files. */
static void read_tool(enum hook_agent a, const json_t *in, struct hook_call *c)
{
	static const char *const shells[] = { "Bash", "shell", "local_shell", "exec_command",
					      "container.exec", "run_shell_command", NULL };
	static const char *const writers[] = { "Write", "Edit", "MultiEdit", "write_file", "replace",
					       "edit", NULL };
	static const char *const readers[] = { "Read", "read_file", NULL };
	const json_t *ti = json_object_get(in, "tool_input");
	const json_t *cmd = json_object_get(ti, "command");
	const char *dir;

	if (!c->tool)
		return;
	/* Gemini's shell tool may run in a directory of the workspace */
	dir = a == HOOK_GEMINI ? str(ti, "dir_path") : NULL;
	if (!dir && a == HOOK_GEMINI)
		dir = str(ti, "directory");
	if (dir && dir[0]) {
		char abs[4096];

		pol_absolute(c->cwd ? c->cwd : "/", dir, abs, sizeof(abs));
		free(c->cwd);
		c->cwd = strdup(abs);
	}
	if (is(c->tool, shells)) {
		if (json_is_string(cmd))
			c->shell = strdup(json_string_value(cmd));
		else if (json_is_array(cmd))
			c->shell = argv_to_shell(cmd);
	} else if (!strcmp(c->tool, "apply_patch")) {
		const char *patch = json_is_string(ti) ? json_string_value(ti) : str(ti, "command");

		if (!patch)
			patch = str(ti, "patch");
		if (!patch)
			patch = str(ti, "input");
		if (patch)
			hook_patch_files(patch, c->cwd, c);
	} else if (is(c->tool, writers)) {
		add_file(c, str(ti, "file_path"), PF_WRITE);
	} else if (!strcmp(c->tool, "NotebookEdit")) {
		add_file(c, str(ti, "notebook_path"), PF_WRITE);
	} else if (is(c->tool, readers)) {
		const char *p = str(ti, "file_path");

		add_file(c, p ? p : str(ti, "absolute_path"), PF_READ);
	}
}

int hook_call_parse(enum hook_agent a, const json_t *in, struct hook_call *c, char *err,
		    size_t errlen)
{
	const char *ev = str(in, "hook_event_name");
	const char *pre = a == HOOK_GEMINI ? "BeforeTool" : "PreToolUse";
	const char *post = a == HOOK_GEMINI ? "AfterTool" : "PostToolUse";

	memset(c, 0, sizeof(*c));
	if (!json_is_object(in)) {
		snprintf(err, errlen, "the hook input is not a JSON object");
		return -1;
	}
	if (!ev) {
		snprintf(err, errlen, "the hook input has no hook_event_name");
		return -1;
	}
	c->event = !strcmp(ev, pre) ? HOOK_EV_PRE : !strcmp(ev, post) ? HOOK_EV_POST : HOOK_EV_OTHER;
	/* Claude Code calls a tool that failed (exit status, error) with this
	 * event instead of PostToolUse: a refused operation usually makes the
	 * tool fail */
	if (a == HOOK_CLAUDE && !strcmp(ev, "PostToolUseFailure"))
		c->event = HOOK_EV_POST;
	c->event_name = strdup(ev);
	c->tool = dup_or_null(str(in, "tool_name"));
	c->tool_use_id = dup_or_null(str(in, "tool_use_id"));
	c->cwd = dup_or_null(str(in, "cwd"));
	if (!c->event_name) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	read_tool(a, in, c);
	return 0;
}

static char *dump(json_t *o)
{
	char *s = o ? json_pool_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

char *hook_answer_deny(enum hook_agent a, const struct hook_call *c, const char *reason,
		       int *exit_code)
{
	const char *r = reason && reason[0] ? reason : "refused by the agenttrail policy";

	char *out;

	*exit_code = 0;
	if (a == HOOK_GEMINI)
		out = dump(json_pack("{s:s, s:s}", "decision", "deny", "reason", r));
	else
		out = dump(json_pack("{s:{s:s, s:s, s:s}}", "hookSpecificOutput", "hookEventName",
				     c->event_name ? c->event_name : "PreToolUse",
				     "permissionDecision", "deny", "permissionDecisionReason", r));
	if (out)
		return out;
	/* a reason that cannot be encoded must not turn a deny into silence
	 * (which lets the tool run): deny with the block exit code instead */
	*exit_code = 2;
	fprintf(stderr, "refused by the agenttrail policy (its reason could not be encoded)\n");
	return strdup("");
}

char *hook_answer_post(enum hook_agent a, const struct hook_call *c, const char *text,
		       bool failed, int *exit_code)
{
	*exit_code = 0;
	if (!text || !text[0])
		return strdup("");
	if (a == HOOK_GEMINI)
		return dump(json_pack("{s:{s:s, s:s}, s:s}", "hookSpecificOutput", "hookEventName",
				      c->event_name ? c->event_name : "AfterTool", "additionalContext",
				      text, "systemMessage", text));
	/* after a failed tool, Claude Code reads only additionalContext */
	if (c->event_name && !strcmp(c->event_name, "PostToolUseFailure"))
		return dump(json_pack("{s:{s:s, s:s}}", "hookSpecificOutput", "hookEventName",
				      c->event_name, "additionalContext", text));
	/* after a tool that had something refused: "block" marks the call as
	 * failed and its reason is what the model reads (the text once, not
	 * also as additionalContext); only noted: context. Codex replaces the
	 * tool's whole output with a block's reason (the model would lose the
	 * program's own error): context there, always. */
	if (failed && a == HOOK_CLAUDE)
		return dump(json_pack("{s:s, s:s}", "decision", "block", "reason", text));
	return dump(json_pack("{s:{s:s, s:s}}", "hookSpecificOutput", "hookEventName",
			      c->event_name ? c->event_name : "PostToolUse", "additionalContext", text));
}
