/* SPDX-License-Identifier: MIT */
/*
 * The commands a command runs in turn (see shell.c): the string of a
 * shell's -c, eval's arguments, the command after a wrapper's options
 * (env, sudo, nohup, timeout, xargs, ...) and find's -exec. Each is read
 * one level deeper, and listed after the command that runs it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "guard/shell_int.h"

/* --- wrappers: the commands a command runs ---------------------------------- */

/* How a wrapper's options are read, up to the command it runs. */
struct wrapper {
	const char *name;
	const char *argopts;            /* short options taking an argument */
	const char *const *longargs;    /* long options taking the next word */
	const char *noexec;             /* short options with which nothing runs */
	char cmdopt;                    /* short option whose argument is a command line */
	const char *cmdlong;            /* the same, long */
	bool assignments;               /* NAME=VALUE words may come first */
	bool dash_option;               /* a lone "-" is an option (env) */
	unsigned operands;              /* words before the command (a duration) */
};

static const char *const env_long[] = { "unset", "chdir", "split-string", "argv0", NULL };
static const char *const sudo_long[] = { "user", "group", "close-from", "chdir", "host",
	"prompt", "role", "type", "other-user", "command-timeout", "chroot", NULL };
static const char *const nice_long[] = { "adjustment", NULL };
static const char *const stdbuf_long[] = { "input", "output", "error", NULL };
static const char *const timeout_long[] = { "signal", "kill-after", NULL };
static const char *const time_long[] = { "format", "output", NULL };
static const char *const xargs_long[] = { "arg-file", "delimiter", "max-args", "max-procs",
	"max-chars", "process-slot-var", NULL };
static const char *const none_long[] = { NULL };

static const struct wrapper WRAPPERS[] = {
	{ .name = "env", .argopts = "uCSaP", .longargs = env_long, .cmdopt = 'S',
	  .cmdlong = "split-string", .assignments = true, .dash_option = true },
	{ .name = "sudo", .argopts = "ugCDhprtUTR", .longargs = sudo_long, .noexec = "elvVK",
	  .assignments = true },
	{ .name = "doas", .argopts = "uC", .longargs = none_long, .noexec = "C" },
	{ .name = "nohup", .argopts = "", .longargs = none_long },
	{ .name = "time", .argopts = "fo", .longargs = time_long },
	{ .name = "command", .argopts = "", .longargs = none_long, .noexec = "vV" },
	{ .name = "exec", .argopts = "a", .longargs = none_long },
	{ .name = "nice", .argopts = "n", .longargs = nice_long },
	{ .name = "stdbuf", .argopts = "ioe", .longargs = stdbuf_long },
	{ .name = "timeout", .argopts = "sk", .longargs = timeout_long, .operands = 1 },
	{ .name = "setsid", .argopts = "", .longargs = none_long },
	{ .name = "xargs", .argopts = "adEILnPs", .longargs = xargs_long },
	{ .name = "chronic", .argopts = "", .longargs = none_long },
};

static const char *const SHELLS[] = { "bash", "sh", "dash", "zsh", "ksh", "ash", "mksh",
	"rbash", NULL };

bool sh_in_list(const char *const *list, const char *s, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncmp(*list, s, n) == 0)
			return true;
	return false;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* Read a command line found in a word (bash -c, eval, env -S). */
void sh_nested(struct ctx *cx, const char *s, unsigned depth)
{
	if (depth >= SH_MAX_DEPTH) {
		set_truncated(cx);
		return;
	}
	sh_parse_text(cx, s, strlen(s), depth + 1);
}

/* argv[0..argc) once more, as the command a wrapper runs. */
static void emit_copy(struct ctx *cx, char *const *argv, size_t argc, unsigned depth)
{
	char *copy[SH_MAX_WORDS];

	if (argc == 0 || argc > SH_MAX_WORDS)
		return;
	if (depth >= SH_MAX_DEPTH) {
		set_truncated(cx);
		return;
	}
	for (size_t i = 0; i < argc; i++) {
		copy[i] = sh_dup_word(cx, argv[i]);
		if (!copy[i]) {
			sh_free_words(cx, copy, i);
			return;
		}
	}
	sh_emit(cx, copy, argc, depth + 1);
}

/* Where a shell gets its script from. */
enum script_from {
	SCRIPT_STRING,  /* sh -c STRING */
	SCRIPT_STDIN,   /* sh, sh -s ARGS, sh - */
	SCRIPT_FILE,    /* sh FILE ARGS */
	SCRIPT_NONE,    /* sh -c and nothing after it */
};

/* Read a shell's options (-o and -O take an argument, -c and -s may be in
 * a cluster as in -lc); *at: the word after them. */
static enum script_from shell_args(char **argv, size_t argc, size_t *at)
{
	bool c = false, stdin_flag = false;
	size_t i = 1;

	while (i < argc) {
		const char *a = argv[i];

		if ((a[0] != '-' && a[0] != '+') || a[1] == '\0')
			break;
		i++;
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] == '-' && a[1] == '-') {
			if (strcmp(a, "--rcfile") == 0 || strcmp(a, "--init-file") == 0)
				i++;
			continue;
		}
		for (size_t j = 1; a[j]; j++) {
			c |= a[0] == '-' && a[j] == 'c';
			stdin_flag |= a[0] == '-' && a[j] == 's';
			if (a[j] == 'o' || a[j] == 'O')
				i++;
		}
	}
	*at = i;
	if (c)
		return i < argc ? SCRIPT_STRING : SCRIPT_NONE;
	if (stdin_flag || i >= argc || strcmp(argv[i], "-") == 0)
		return SCRIPT_STDIN;
	return SCRIPT_FILE;
}

/* A long option of a wrapper at argv[i]; returns the index after it. */
static size_t wrapper_long(struct ctx *cx, const struct wrapper *w, char **argv, size_t argc,
			   size_t i, unsigned depth)
{
	const char *name = argv[i] + 2, *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);
	bool cmd = w->cmdlong && strlen(w->cmdlong) == n && strncmp(name, w->cmdlong, n) == 0;

	if (eq) {
		if (cmd && cx)
			sh_nested(cx, eq + 1, depth);
		return i + 1;
	}
	if (!sh_in_list(w->longargs, name, n))
		return i + 1;
	if (cmd && cx && i + 1 < argc)
		sh_nested(cx, argv[i + 1], depth);
	return i + 2;
}

/* Where the command a wrapper runs starts in argv (argc: none). With a
 * context, the command lines in its options (env -S) are read. */
static size_t wrapped_at(struct ctx *cx, const struct wrapper *w, char **argv, size_t argc,
			 unsigned depth)
{
	size_t i = 1;

	while (i < argc) {
		const char *a = argv[i];

		if (w->assignments && sh_assign_prefix(a, strlen(a))) {
			i++;
			continue;
		}
		if (a[0] != '-' || (a[1] == '\0' && !w->dash_option))
			break;
		if (a[1] == '-' && a[2] == '\0') {
			i++;
			break;
		}
		if (a[1] == '-') {
			i = wrapper_long(cx, w, argv, argc, i, depth);
			continue;
		}
		for (size_t j = 1; a[j]; j++) {
			if (w->noexec && strchr(w->noexec, a[j]))
				return argc;
			if (strchr(w->argopts, a[j])) {
				const char *arg = a[j + 1] ? a + j + 1 : i + 1 < argc ? argv[i + 1] : NULL;

				if (!a[j + 1])
					i++;
				if (a[j] == w->cmdopt && arg && cx)
					sh_nested(cx, arg, depth);
				break;
			}
		}
		i++;
	}
	if (i < argc)
		i += argc - i > w->operands ? w->operands : argc - i;
	return i < argc ? i : argc;
}

/* eval ARGS: the arguments, joined by blanks, are read again. */
static void unwrap_eval(struct ctx *cx, char **argv, size_t argc, unsigned depth)
{
	struct buf b = { 0 };

	for (size_t i = 1; i < argc; i++) {
		if (i > 1)
			sh_buf_addc(cx, &b, ' ');
		sh_buf_add(cx, &b, argv[i], strlen(argv[i]));
	}
	if (b.p && !cx->oom)
		sh_nested(cx, b.p, depth);
	sh_buf_drop(cx, &b);
}

/* find ... -exec CMD ARGS ; (also -execdir, -ok, -okdir, and with +). */
static void unwrap_find(struct ctx *cx, char **argv, size_t argc, unsigned depth)
{
	for (size_t i = 1; i < argc; i++) {
		size_t j;

		if (strcmp(argv[i], "-exec") && strcmp(argv[i], "-execdir") &&
		    strcmp(argv[i], "-ok") && strcmp(argv[i], "-okdir"))
			continue;
		for (j = i + 1; j < argc; j++)
			if (strcmp(argv[j], ";") == 0 || strcmp(argv[j], "+") == 0)
				break;
		emit_copy(cx, argv + i + 1, j - i - 1, depth);
		i = j;
	}
}

static const struct wrapper *find_wrapper(const char *name)
{
	for (size_t k = 0; k < sizeof(WRAPPERS) / sizeof(WRAPPERS[0]); k++)
		if (strcmp(name, WRAPPERS[k].name) == 0)
			return &WRAPPERS[k];
	return NULL;
}

/* Is argv a shell that reads its script from stdin, maybe under wrappers
 * (sudo bash -s)? Then a here-document or here-string is that script. */
bool sh_reads_script(char **argv, size_t argc)
{
	for (unsigned k = 0; k <= SH_MAX_DEPTH && argc; k++) {
		const char *name = base_name(argv[0]);
		const struct wrapper *w;
		size_t i;

		if (sh_in_list(SHELLS, name, strlen(name)))
			return shell_args(argv, argc, &i) == SCRIPT_STDIN;
		w = find_wrapper(name);
		if (!w)
			return false;
		i = wrapped_at(NULL, w, argv, argc, 0);
		argv += i;
		argc -= i;
	}
	return false;
}

/* The commands that the command argv runs in turn, listed after it. */
static void unwrap(struct ctx *cx, char **argv, size_t argc, unsigned depth)
{
	const char *name = base_name(argv[0]);
	const struct wrapper *w;
	size_t i;

	if (cx->oom)
		return;
	if (sh_in_list(SHELLS, name, strlen(name))) {
		if (shell_args(argv, argc, &i) == SCRIPT_STRING)
			sh_nested(cx, argv[i], depth);
		return;
	}
	if (strcmp(name, "eval") == 0) {
		unwrap_eval(cx, argv, argc, depth);
		return;
	}
	if (strcmp(name, "find") == 0) {
		unwrap_find(cx, argv, argc, depth);
		return;
	}
	w = find_wrapper(name);
	if (w) {
		i = wrapped_at(cx, w, argv, argc, depth);
		emit_copy(cx, argv + i, argc - i, depth);
	}
}

/* A command is complete: keep it (it takes the words), then what it runs.
 * Past SH_MAX_CMDS it is dropped, but what it runs may still redirect. */
void sh_emit(struct ctx *cx, char **argv, size_t argc, unsigned depth)
{
	struct sh_script *o = cx->out;
	char **v;

	if (o->ncmds >= SH_MAX_CMDS) {
		set_truncated(cx);
		unwrap(cx, argv, argc, depth);
		sh_free_words(cx, argv, argc);
		return;
	}
	v = malloc((argc + 1) * sizeof(*v));
	if (!v) {
		cx->oom = true;
		sh_free_words(cx, argv, argc);
		return;
	}
	memcpy(v, argv, argc * sizeof(*v));
	v[argc] = NULL;
	o->cmds[o->ncmds].argv = v;
	o->cmds[o->ncmds].argc = argc;
	o->ncmds++;
	unwrap(cx, v, argc, depth);
}
