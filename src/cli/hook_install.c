/* SPDX-License-Identifier: MIT */
/*
 * agenttrail's hook entries in the settings files of AI coding agents.
 *
 * The files are the user's and the agents' own: we parse them, touch only
 * hook objects whose command is ours (and the containers our removal leaves
 * empty), and write the result back atomically. Anything we do not
 * understand is refused with the file left as it was.
 */
#include "cli/hook_install.h"
#include "model/json_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETTINGS_MAX (16u << 20) /* a settings file larger than this is not one */
#define NEW_FILE_MODE 0644
#define NEW_DIR_MODE 0755

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

/* ---- reading ------------------------------------------------------------------- */

struct settings_file {
	const char *path;       /* as the caller named it, for messages */
	char target[PATH_MAX];  /* the file to replace: a symlink resolved */
	bool exists;
	bool dangling;          /* path is a symlink to nothing */
	struct stat st;         /* of target, when it exists */
	char *buf;              /* its contents */
	size_t len;
};

static int read_all(int fd, struct settings_file *f, char *err, size_t errlen)
{
	size_t cap = (size_t)f->st.st_size + 1;

	if (cap > SETTINGS_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes, not a settings file", f->path,
			 SETTINGS_MAX);
		return -1;
	}
	f->buf = malloc(cap);
	if (!f->buf)
		goto nomem;
	for (;;) {
		ssize_t n;

		if (f->len == cap) {
			/* the file grew since fstat: read on, still bounded */
			char *nb;

			if (cap >= SETTINGS_MAX) {
				snprintf(err, errlen, "%s: larger than %u bytes, not a settings file",
					 f->path, SETTINGS_MAX);
				return -1;
			}
			cap = cap * 2 < SETTINGS_MAX ? cap * 2 : SETTINGS_MAX;
			nb = realloc(f->buf, cap);
			if (!nb)
				goto nomem;
			f->buf = nb;
		}
		n = read(fd, f->buf + f->len, cap - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: reading: %s", f->path, strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		f->len += (size_t)n;
	}
nomem:
	snprintf(err, errlen, "%s: out of memory", f->path);
	return -1;
}

/* Find the file to edit (through a symlink) and read it, if it exists. */
static int read_settings(struct settings_file *f, char *err, size_t errlen)
{
	struct stat lst;
	int fd, ret;

	if (lstat(f->path, &lst)) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
			return -1;
		}
		if ((size_t)snprintf(f->target, sizeof(f->target), "%s", f->path) >=
		    sizeof(f->target)) {
			snprintf(err, errlen, "%s: path too long", f->path);
			return -1;
		}
		return 0;
	}
	if (S_ISLNK(lst.st_mode)) {
		/* write through the link to its target: the user keeps the link */
		if (!realpath(f->path, f->target)) {
			if (errno == ENOENT) {
				f->dangling = true;
				return 0;
			}
			snprintf(err, errlen, "%s: resolving the symlink: %s", f->path,
				 strerror(errno));
			return -1;
		}
	} else if ((size_t)snprintf(f->target, sizeof(f->target), "%s", f->path) >=
		   sizeof(f->target)) {
		snprintf(err, errlen, "%s: path too long", f->path);
		return -1;
	}
	fd = open(f->target, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &f->st)) {
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(f->st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", f->path);
		close(fd);
		return -1;
	}
	f->exists = true;
	ret = read_all(fd, f, err, errlen);
	if (close(fd) && !ret) {
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		ret = -1;
	}
	return ret;
}

static bool only_whitespace(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]) || !s[i])
			return false;
	return true;
}

/* The file as JSON: a missing or blank file is {}. */
static json_t *parse_settings(const struct settings_file *f, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (!f->exists || only_whitespace(f->buf, f->len)) {
		root = json_object();
		if (!root)
			snprintf(err, errlen, "%s: out of memory", f->path);
		return root;
	}
	/*
	 * Duplicate keys are refused: rewriting would silently drop all but
	 * one of them. Any value is accepted at the top so that a scalar gets
	 * the clearer "not an object" message from check_shape.
	 */
	root = json_loadb(f->buf, f->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		snprintf(err, errlen, "%s:%d:%d: not valid JSON: %s", f->path, jerr.line,
			 jerr.column, jerr.text);
	return root;
}

/* ---- writing ------------------------------------------------------------------- */

/* The directory that holds target: "." for a bare name, "/" for a file in "/". */
static void dir_of(const char *target, char dir[PATH_MAX])
{
	char *slash;

	snprintf(dir, PATH_MAX, "%s", target); /* fits: target does */
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, PATH_MAX, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

/*
 * Create the directories leading to target's directory (mode 0755). When
 * run as root (e.g. under sudo for a user's home), a new directory gets the
 * owner of the directory it is made in, so that the agent, running as that
 * user, can still write its own files there. *uid, *gid: the owner of
 * target's directory, for a new file to inherit the same way.
 */
static int make_dirs(const struct settings_file *f, uid_t *uid, gid_t *gid, char *err,
		     size_t errlen)
{
	char dir[PATH_MAX], *p;
	struct stat st;

	dir_of(f->target, dir);
	if (stat(dir[0] == '/' ? "/" : ".", &st))
		goto fail;
	/* each component in turn: "a", "a/b", ... then the whole */
	for (p = dir + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, NEW_DIR_MODE) == 0) {
			/* exactly 0755, whatever the umask */
			if (chmod(dir, NEW_DIR_MODE))
				goto fail;
			if (geteuid() == 0 && chown(dir, st.st_uid, st.st_gid))
				goto fail;
		} else if (errno != EEXIST || stat(dir, &st)) {
			goto fail;
		} else if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto fail;
		}
		if (last)
			break;
		*p = '/';
	}
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
fail:
	snprintf(err, errlen, "%s: creating %s: %s", f->path, dir, strerror(errno));
	return -1;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Whether target is still what we read (or still absent). The agent may
 * rewrite its settings while we edit them; this narrows the window in which
 * our rename would undo its change to the moment between this check and the
 * rename.
 */
static bool unchanged_since_read(const struct settings_file *f)
{
	struct stat now;

	if (stat(f->target, &now))
		return errno == ENOENT && !f->exists;
	return f->exists && now.st_dev == f->st.st_dev && now.st_ino == f->st.st_ino &&
	       now.st_size == f->st.st_size && now.st_mtim.tv_sec == f->st.st_mtim.tv_sec &&
	       now.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec;
}

/* fsync the directory holding target, so that the rename itself lasts. */
static int sync_dir(const char *target)
{
	char dir[PATH_MAX];
	int fd, ret;

	dir_of(target, dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	if (close(fd))
		ret = -1;
	return ret;
}

/*
 * Replace target by text: a temporary file beside it, with the old file's
 * mode and owner (a new one: 0644, owned like its directory when we are
 * root), synced, then renamed over it. The old file stays as it was on any
 * error before the rename.
 */
static int write_atomic(const struct settings_file *f, const char *text, size_t len,
			bool *renamed, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	mode_t mode = f->exists ? f->st.st_mode & 07777 : NEW_FILE_MODE;
	bool set_owner = f->exists;
	uid_t uid = f->st.st_uid;
	gid_t gid = f->st.st_gid;
	struct stat st;
	const char *what;
	int fd;

	*renamed = false;
	if (!f->exists) {
		if (make_dirs(f, &uid, &gid, err, errlen))
			return -1;
		/* not root: a new file is simply ours */
		set_owner = geteuid() == 0;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.agenttrail-tmp-%ld", f->target,
			     (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", f->path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: creating %s: %s", f->path, tmp, strerror(errno));
		return -1;
	}
	what = "writing";
	if (write_all(fd, text, len))
		goto fail;
	what = "keeping the owner";
	if (set_owner && (fstat(fd, &st) ||
			  ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid))))
		goto fail;
	what = "setting the mode";
	if (fchmod(fd, mode))
		goto fail;
	what = "syncing";
	if (fsync(fd))
		goto fail;
	what = "closing";
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (!unchanged_since_read(f)) {
		snprintf(err, errlen, "%s: changed while agenttrail was editing it; try again",
			 f->path);
		unlink(tmp);
		return -1;
	}
	what = "replacing";
	if (rename(tmp, f->target))
		goto fail;
	*renamed = true;
	if (sync_dir(f->target)) {
		snprintf(err, errlen, "%s: written, but syncing its directory: %s", f->path,
			 strerror(errno));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s %s: %s", f->path, what, tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The document as the agents' own tools write it: 2-space indent, final newline. */
static char *dump_settings(const json_t *root, size_t *len)
{
	char *s = json_pool_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER), *out;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	out = malloc(n + 2);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\n';
		out[n + 1] = '\0';
		*len = n + 1;
	}
	free(s);
	return out;
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
	if (read_settings(f, err, errlen))
		goto out;
	if (f->dangling || (!f->exists && uninstall)) {
		/* nothing to remove; and we do not create a file behind a link */
		if (!uninstall)
			snprintf(err, errlen, "%s: a symlink to a missing file", path);
		ret = uninstall ? 0 : -1;
		goto out;
	}
	root = parse_settings(f, err, errlen);
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
	text = dump_settings(root, &len);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (f->exists && len == f->len && !memcmp(text, f->buf, len)) {
		ret = 0;
		goto out;
	}
	/* the file may have been replaced even when a later step failed */
	ret = write_atomic(f, text, len, changed, err, errlen);
out:
	free(text);
	json_decref(root);
	free(f->buf);
	free(f);
	return ret;
}
