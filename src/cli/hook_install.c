/* SPDX-License-Identifier: MIT */
/*
 * agenttrail's hook entries in the settings files of AI coding agents.
 *
 * The files are the user's and the agents' own: we parse them, touch only
 * hook objects whose command is ours (and the containers our removal leaves
 * empty), and write the result back atomically (settings_file.c). Anything
 * we do not understand is refused with the file left as it was.
 */
#include "cli/hook_install.h"
#include "cli/settings_file.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the agents ------------------------------------------------------------ */

struct agent_desc {
	const char *name;      /* as in "agenttrail hook <name>" */
	const char *dir;       /* settings directory inside a project or home */
	const char *file;      /* settings file inside that directory */
	const char *events[4]; /* before and after a tool call; NULL-terminated */
	bool matcher;          /* groups carry "matcher": "*" (else: no key = all tools) */
	bool named;            /* hook objects carry "name": "agenttrail" */
	int timeout;           /* in the agent's unit (Gemini: milliseconds) */
};

static const struct agent_desc AGENTS[] = {
	[HOOK_CLAUDE] = { "claude", ".claude", "settings.json",
			  /* a tool that failed gets PostToolUseFailure instead */
			  { "PreToolUse", "PostToolUse", "PostToolUseFailure" }, true, false, 30 },
	[HOOK_CODEX] = { "codex", ".codex", "hooks.json",
			 { "PreToolUse", "PostToolUse" }, false, false, 30 },
	[HOOK_GEMINI] = { "gemini", ".gemini", "settings.json",
			  { "BeforeTool", "AfterTool" }, false, true, 30000 },
};

#define NAGENTS (sizeof(AGENTS) / sizeof(AGENTS[0]))

static const struct agent_desc *agent_desc(enum hook_agent a)
{
	return (unsigned)a < NAGENTS ? &AGENTS[a] : NULL;
}

int hook_agent_parse(const char *name, enum hook_agent *out)
{
	if (!name)
		return -1;
	for (unsigned i = 0; i < NAGENTS; i++) {
		if (!strcmp(name, AGENTS[i].name)) {
			*out = (enum hook_agent)i;
			return 0;
		}
	}
	return -1;
}

const char *hook_agent_name(enum hook_agent a)
{
	const struct agent_desc *d = agent_desc(a);

	return d ? d->name : "?";
}

/* ---- paths ----------------------------------------------------------------- */

/* dir + "/" + a [+ "/" + b] into out, without doubling a trailing slash of dir. */
static int path_join(char *out, size_t len, const char *dir, const char *a, const char *b)
{
	size_t dlen = strlen(dir);
	int n;

	while (dlen > 0 && dir[dlen - 1] == '/')
		dlen--;
	if (b)
		n = snprintf(out, len, "%.*s/%s/%s", (int)dlen, dir, a, b);
	else
		n = snprintf(out, len, "%.*s/%s", (int)dlen, dir, a);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int hook_settings_path(enum hook_agent a, const char *project_dir, const char *home,
		       const char *codex_home, char *out, size_t len)
{
	const struct agent_desc *d = agent_desc(a);

	if (!d || !out || !len)
		return -1;
	if (project_dir)
		return *project_dir ? path_join(out, len, project_dir, d->dir, d->file) : -1;
	/* Codex keeps all of its state in $CODEX_HOME when that is set */
	if (a == HOOK_CODEX && codex_home && *codex_home)
		return path_join(out, len, codex_home, d->file, NULL);
	if (!home || !*home)
		return -1;
	return path_join(out, len, home, d->dir, d->file);
}

/* ---- which hooks are ours ---------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The next word of s from *pos: *w and *wlen, *pos moved past it. A word
 * that starts with a quote runs to the matching quote (the agents run hook
 * commands through a shell, so a binary path with spaces comes quoted).
 * False at the end of s or on a quote that does not close a word.
 */
static bool next_word(const char *s, size_t *pos, const char **w, size_t *wlen)
{
	size_t i = *pos;

	while (is_blank(s[i]))
		i++;
	if (!s[i])
		return false;
	if (s[i] == '\'' || s[i] == '"') {
		const char *end = strchr(s + i + 1, s[i]);

		if (!end || (end[1] && !is_blank(end[1])))
			return false;
		*w = s + i + 1;
		*wlen = (size_t)(end - *w);
		*pos = (size_t)(end + 1 - s);
		return true;
	}
	*w = s + i;
	while (s[i] && !is_blank(s[i]))
		i++;
	*wlen = (size_t)(s + i - *w);
	*pos = i;
	return true;
}

static bool word_is(const char *w, size_t wlen, const char *want)
{
	return wlen == strlen(want) && !memcmp(w, want, wlen);
}

bool hook_command_is_ours(const char *command, enum hook_agent a)
{
	const struct agent_desc *d = agent_desc(a);
	const char *w, *base;
	size_t pos = 0, wlen;

	if (!d || !command || !next_word(command, &pos, &w, &wlen))
		return false;
	/* the basename of the first word, exactly: not "myagenttrail" */
	base = memrchr(w, '/', wlen);
	base = base ? base + 1 : w;
	if (!word_is(base, wlen - (size_t)(base - w), "agenttrail"))
		return false;
	if (!next_word(command, &pos, &w, &wlen) || !word_is(w, wlen, "hook"))
		return false;
	return next_word(command, &pos, &w, &wlen) && word_is(w, wlen, d->name);
}

static bool hook_is_ours(const json_t *hook, enum hook_agent a)
{
	return hook_command_is_ours(json_string_value(json_object_get(hook, "command")), a);
}

/* ---- the JSON edits ------------------------------------------------------------ */

/* Our hook object, in the agent's documented shape. */
static json_t *new_hook(const struct agent_desc *d, const char *command)
{
	json_t *h = json_object();

	if (!h)
		return NULL;
	if ((d->named && json_object_set_new(h, "name", json_string("agenttrail"))) ||
	    json_object_set_new(h, "type", json_string("command")) ||
	    json_object_set_new(h, "command", json_string(command)) ||
	    json_object_set_new(h, "timeout", json_integer(d->timeout))) {
		json_decref(h);
		return NULL;
	}
	return h;
}

/* A group that runs our hook on every tool. */
static json_t *new_group(const struct agent_desc *d, const char *command)
{
	json_t *g = json_object(), *list = json_array();

	if (!g || !list)
		goto fail;
	if (d->matcher && json_object_set_new(g, "matcher", json_string("*")))
		goto fail;
	if (json_object_set(g, "hooks", list) || json_array_append_new(list, new_hook(d, command)))
		goto fail;
	json_decref(list);
	return g;
fail:
	json_decref(list);
	json_decref(g);
	return NULL;
}

/*
 * The shapes we rely on: a top-level object, "hooks" an object, each of our
 * events an array of group objects, each group's "hooks" an array. Other
 * events and keys under "hooks" are not ours to judge (Gemini keeps e.g.
 * "enabled" there).
 */
static int check_shape(const char *path, json_t *root, const struct agent_desc *d,
		       char *err, size_t errlen)
{
	json_t *hooks, *group;
	size_t i;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: the top level is not a JSON object", path);
		return -1;
	}
	hooks = json_object_get(root, "hooks");
	if (!hooks)
		return 0;
	if (!json_is_object(hooks)) {
		snprintf(err, errlen, "%s: \"hooks\" is not an object", path);
		return -1;
	}
	for (int e = 0; d->events[e]; e++) {
		json_t *arr = json_object_get(hooks, d->events[e]);

		if (arr && !json_is_array(arr)) {
			snprintf(err, errlen, "%s: hooks.%s is not an array", path, d->events[e]);
			return -1;
		}
		json_array_foreach(arr, i, group) {
			json_t *list = json_object_get(group, "hooks");

			if (!json_is_object(group)) {
				snprintf(err, errlen, "%s: hooks.%s[%zu] is not an object", path,
					 d->events[e], i);
				return -1;
			}
			if (list && !json_is_array(list)) {
				snprintf(err, errlen, "%s: hooks.%s[%zu].hooks is not an array",
					 path, d->events[e], i);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Install into one event: every hook of ours gets the new command in place
 * (a moved binary or a changed option), else one new group goes at the end.
 */
static int install_event(json_t *hooks, const struct agent_desc *d, enum hook_agent a,
			 const char *event, const char *command, bool *modified)
{
	json_t *arr = json_object_get(hooks, event), *group, *list, *h;
	bool found = false;
	size_t i, j;

	if (!arr) {
		arr = json_array();
		if (json_object_set_new(hooks, event, arr))
			return -1;
	}
	json_array_foreach(arr, i, group) {
		list = json_object_get(group, "hooks");
		json_array_foreach(list, j, h) {
			if (!hook_is_ours(h, a))
				continue;
			found = true;
			if (!strcmp(json_string_value(json_object_get(h, "command")), command))
				continue;
			if (json_object_set_new(h, "command", json_string(command)))
				return -1;
			*modified = true;
		}
	}
	if (found)
		return 0;
	if (json_array_append_new(arr, new_group(d, command)))
		return -1;
	*modified = true;
	return 0;
}

/*
 * Uninstall from one event: remove our hook objects, then the groups and the
 * event array that this (and only this) left empty.
 */
static int uninstall_event(json_t *hooks, enum hook_agent a, const char *event, bool *modified)
{
	json_t *arr = json_object_get(hooks, event);
	bool removed = false;

	for (size_t i = json_array_size(arr); i-- > 0;) {
		json_t *list = json_object_get(json_array_get(arr, i), "hooks");
		bool here = false;

		for (size_t j = json_array_size(list); j-- > 0;) {
			if (!hook_is_ours(json_array_get(list, j), a))
				continue;
			if (json_array_remove(list, j))
				return -1;
			here = true;
		}
		if (here && json_array_size(list) == 0 && json_array_remove(arr, i))
			return -1;
		removed |= here;
	}
	if (removed && json_array_size(arr) == 0 && json_object_del(hooks, event))
		return -1;
	*modified |= removed;
	return 0;
}

static int edit_hooks(json_t *root, enum hook_agent a, const char *command, bool uninstall,
		      bool *modified)
{
	const struct agent_desc *d = agent_desc(a);
	json_t *hooks = json_object_get(root, "hooks");

	if (uninstall) {
		if (!hooks)
			return 0;
		for (int e = 0; d->events[e]; e++)
			if (uninstall_event(hooks, a, d->events[e], modified))
				return -1;
		if (*modified && json_object_size(hooks) == 0 && json_object_del(root, "hooks"))
			return -1;
		return 0;
	}
	if (!hooks) {
		hooks = json_object();
		if (json_object_set_new(root, "hooks", hooks))
			return -1;
	}
	for (int e = 0; d->events[e]; e++)
		if (install_event(hooks, d, a, d->events[e], command, modified))
			return -1;
	return 0;
}

/* ---- the whole edit ------------------------------------------------------------ */

static int check_args(const char *path, enum hook_agent a, const char *command, bool uninstall,
		      char *err, size_t errlen)
{
	json_t *s;

	if (!path || !*path) {
		snprintf(err, errlen, "no settings file given");
		return -1;
	}
	if (!agent_desc(a)) {
		snprintf(err, errlen, "%s: unknown agent %d", path, (int)a);
		return -1;
	}
	if (uninstall)
		return 0;
	/* a command we would not recognize as ours would be added on every install */
	if (!hook_command_is_ours(command, a)) {
		snprintf(err, errlen, "%s: \"%s\" is not an agenttrail hook command for %s", path,
			 command ? command : "(null)", hook_agent_name(a));
		return -1;
	}
	s = json_string(command);
	if (!s) {
		snprintf(err, errlen, "%s: the hook command is not valid UTF-8", path);
		return -1;
	}
	json_decref(s);
	return 0;
}

int hook_install_file(const char *path, enum hook_agent a, const char *command, bool uninstall,
		      bool *changed, char *err, size_t errlen)
{
	struct settings_file *f;
	json_t *root = NULL;
	char *text = NULL;
	bool modified = false;
	size_t len = 0;
	int ret = -1;

	*changed = false;
	if (check_args(path, a, command, uninstall, err, errlen))
		return -1;
	f = calloc(1, sizeof(*f)); /* PATH_MAX inside: not for the stack */
	if (!f) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	f->path = path;
	if (settings_read(f, err, errlen))
		goto out;
	if (f->dangling || (!f->exists && uninstall)) {
		/* nothing to remove; and we do not create a file behind a link */
		if (!uninstall)
			snprintf(err, errlen, "%s: a symlink to a missing file", path);
		ret = uninstall ? 0 : -1;
		goto out;
	}
	root = settings_parse(f, err, errlen);
	if (!root || check_shape(path, root, agent_desc(a), err, errlen))
		goto out;
	if (edit_hooks(root, a, command, uninstall, &modified)) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (!modified) {
		/* nothing of ours to change: do not even reformat the file */
		ret = 0;
		goto out;
	}
	text = settings_dump(root, &len);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (f->exists && len == f->len && !memcmp(text, f->buf, len)) {
		ret = 0;
		goto out;
	}
	/* the file may have been replaced even when a later step failed */
	ret = settings_write(f, text, len, changed, err, errlen);
out:
	free(text);
	json_decref(root);
	free(f->buf);
	free(f);
	return ret;
}
