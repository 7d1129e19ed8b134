/* SPDX-License-Identifier: MIT */
/*
 * Installing and uninstalling agenttrail's tool hooks in the settings files
 * of AI coding agents (Claude Code, Codex CLI, Gemini CLI). The files belong
 * to the user: everything that is not ours is kept as it was, in order, and
 * a file that cannot be understood is refused and left untouched.
 */
#ifndef AT_CLI_HOOK_INSTALL_H
#define AT_CLI_HOOK_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

enum hook_agent { HOOK_CLAUDE, HOOK_CODEX, HOOK_GEMINI };

/* "claude" | "codex" | "gemini" -> 0 and *out, else -1 */
int hook_agent_parse(const char *name, enum hook_agent *out);

/* "claude", "codex" or "gemini"; "?" for a value outside the enum. */
const char *hook_agent_name(enum hook_agent a);

/*
 * The settings file for agent a: project_dir != NULL -> inside that project,
 * else the user's (home = the user's home directory; for codex, codex_home
 * (may be NULL or empty) = $CODEX_HOME if set). Returns 0, or -1 when a
 * needed directory is missing or the path does not fit in len.
 */
int hook_settings_path(enum hook_agent a, const char *project_dir, const char *home,
		       const char *codex_home, char *out, size_t len);

/*
 * Whether a hook command is agenttrail's for agent a: its first word (split at
 * the first space; a first word in single or double quotes may hold spaces)
 * has the basename "agenttrail" and the next words are "hook <agent>".
 */
bool hook_command_is_ours(const char *command, enum hook_agent a);

/*
 * Merge (install) or remove (uninstall) agenttrail's entries in the file at
 * path. command: the full hook command to write, e.g.
 * "/usr/local/bin/agenttrail hook claude" (it must itself be ours for a;
 * uninstall ignores it). *changed tells whether the file was rewritten.
 * Returns 0, or -1 with a one-line message in err.
 */
int hook_install_file(const char *path, enum hook_agent a, const char *command, bool uninstall,
		      bool *changed, char *err, size_t errlen);

#endif
