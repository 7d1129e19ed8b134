/*
 * A static reading of a shell command line (POSIX sh with the bash
 * extensions agents use): the programs it would run, as argv vectors, and
 * the files its redirections would open.
 *
 * Before an agent's shell tool runs a command line, the guard asks whether
 * the policy would refuse it. That needs no shell: nothing is expanded but
 * `~`, $HOME and ${HOME}; globs, other variables and the output of command
 * substitutions stay as written. It is a best effort - the kernel still
 * enforces whatever this misses - but it is safe on any input: it never
 * fails but for memory, reads only src[0..len), and is bounded in time and
 * memory. Whenever one of the bounds below dropped something, the result
 * says so (truncated), and a careful caller treats it as unknown.
 *
 * Read as commands, in order: each simple command, those of subshells and
 * groups, of every command substitution $(...) and `...` (also in double
 * quotes, in arithmetic, in ${...} and in unquoted here-document bodies),
 * of process substitutions <(...) >(...), of the string of `bash -c` (and
 * sh, dash, zsh, ksh), `eval` and `env -S`, of the here-document or here-
 * string a shell reads its script from (bash <<'EOF', sh -s <<<'...'), and
 * the command a wrapper runs (env, sudo, doas, nohup, time, command, exec,
 * nice, stdbuf, timeout, setsid, xargs, chronic, find -exec), listed after
 * the wrapper itself. Commands of a substitution or a here-document come
 * before the command they belong to, as they run (or are read) first.
 * Words that are not expanded stay as written, so argv[0] may be "$CC" or
 * "$(which git)": a program we cannot name.
 */
#ifndef AT_GUARD_SHELL_H
#define AT_GUARD_SHELL_H

#include <stdbool.h>
#include <stddef.h>

#define SH_MAX_CMDS 256        /* commands kept per script (more: truncated) */
#define SH_MAX_WORDS 256       /* words kept per command */
#define SH_MAX_REDIRS 256      /* redirections to files kept per script */
#define SH_MAX_DEPTH 8         /* nesting of $(...), `...`, bash -c '...', wrappers */
#define SH_MAX_INPUT (1u << 20) /* bytes of input read (more: truncated) */

enum sh_access {
	SH_READ = 1,
	SH_WRITE = 2,
};

/* One program that would run: argv[0..argc) after quote removal, and
 * argv[argc] == NULL. argc >= 1. */
struct sh_cmd {
	char **argv;
	size_t argc;
};

/* A file a redirection would open (`> f`, `< f`, `<> f`, `&> f`, ...):
 * the target word after quote removal, as written otherwise (it may be
 * relative, or hold a variable). File descriptor duplications, here-
 * documents and here-strings open no file and are not listed. */
struct sh_redir {
	char *path;
	enum sh_access access;  /* SH_READ, SH_WRITE or both */
};

struct sh_script {
	struct sh_cmd *cmds;
	size_t ncmds;
	struct sh_redir *redirs;
	size_t nredirs;
	bool truncated;   /* a bound was hit: some commands/words were dropped */
};

/*
 * Read the command line src[0..len) (not necessarily NUL-terminated).
 * home: what an unquoted leading ~ and $HOME / ${HOME} mean (NULL: left as
 * is). Malformed input is read as far as it goes: an unterminated quote or
 * substitution runs to the end, stray operators separate commands.
 * Returns 0 (possibly truncated) or -1 on allocation failure (out freed).
 * Free the result with sh_free().
 */
int sh_parse(const char *src, size_t len, const char *home, struct sh_script *out);

/* Free what sh_parse() returned; leaves *s empty. Safe to call twice. */
void sh_free(struct sh_script *s);

#endif
