/* SPDX-License-Identifier: MIT */
/*
 * Installing agenttrail's hooks into agents' settings files
 * (src/cli/hook_install.c), on real files in a fresh temporary directory
 * per test: the exact documents written, that everything else in a file
 * survives, idempotence, removal of exactly our entries, and refusals that
 * leave the file as it was.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/hook_install.h"

#define CMD_CLAUDE "/usr/local/bin/agenttrail hook claude"
#define CMD_CODEX "/usr/local/bin/agenttrail hook codex"
#define CMD_GEMINI "/usr/local/bin/agenttrail hook gemini"

/* ---- helpers ---------------------------------------------------------------- */

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/at-hook-install-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", tmpdir, name);

	assert_true(n > 0 && (size_t)n < len);
}

/* JSON written with ' for " so that expectations stay readable. */
static char *q(const char *s)
{
	char *out = strdup(s);

	assert_non_null(out);
	for (char *p = out; *p; p++)
		if (*p == '\'')
			*p = '"';
	return out;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void write_q(const char *path, const char *text)
{
	char *t = q(text);

	write_file(path, t);
	free(t);
}

/* The whole file as a string, malloc'd. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* One line of compact JSON, keys in document order. */
static char *compact(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	assert_non_null(s);
	return s;
}

/*
 * The file holds the document `want` (in ' quotes): equal as parsed JSON,
 * and with the same keys in the same order at every level.
 */
static void assert_doc(const char *path, const char *want)
{
	char *text = read_file(path), *w = q(want), *got_s, *want_s;
	json_error_t jerr;
	json_t *got = json_loads(text, 0, &jerr), *exp = json_loads(w, 0, &jerr);

	if (!got)
		fail_msg("%s: %s", path, jerr.text);
	if (!exp)
		fail_msg("expectation: %s at %d:%d", jerr.text, jerr.line, jerr.column);
	got_s = compact(got);
	want_s = compact(exp);
	if (strcmp(got_s, want_s))
		fprintf(stderr, "got:  %s\nwant: %s\n", got_s, want_s);
	assert_true(json_equal(got, exp));
	assert_string_equal(got_s, want_s);
	/* what the agents' own tools write: ends in one newline */
	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	free(got_s);
	free(want_s);
	json_decref(got);
	json_decref(exp);
	free(w);
	free(text);
}

static void assert_file_is(const char *path, const char *want)
{
	char *text = read_file(path);

	assert_string_equal(text, want);
	free(text);
}

static bool install(const char *path, enum hook_agent a, const char *cmd)
{
	char err[512] = "";
	bool changed = true;

	if (hook_install_file(path, a, cmd, false, &changed, err, sizeof(err)))
		fail_msg("install %s: %s", path, err);
	assert_string_equal(err, "");
	return changed;
}

static bool uninstall(const char *path, enum hook_agent a)
{
	char err[512] = "";
	bool changed = true;

	if (hook_install_file(path, a, NULL, true, &changed, err, sizeof(err)))
		fail_msg("uninstall %s: %s", path, err);
	return changed;
}

/* Both install and uninstall refuse the file with a message containing
 * `fragment`, and leave it byte for byte as it was. */
static void assert_refused(const char *path, enum hook_agent a, const char *fragment)
{
	char *before = read_file(path), err[512], cmd[64];
	bool changed;

	snprintf(cmd, sizeof(cmd), "agenttrail hook %s", hook_agent_name(a));
	for (int un = 0; un < 2; un++) {
		err[0] = '\0';
		changed = true;
		assert_int_equal(hook_install_file(path, a, cmd, un, &changed, err, sizeof(err)),
				 -1);
		assert_false(changed);
		if (!strstr(err, fragment) || strncmp(err, path, strlen(path)))
			fail_msg("message '%s' lacks the path or '%s'", err, fragment);
		assert_null(strchr(err, '\n'));
		assert_file_is(path, before);
	}
	free(before);
}

/* No temporary file of ours is left in dir. */
static void assert_no_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".agenttrail-tmp-"))
			fail_msg("left behind: %s/%s", dir, e->d_name);
	assert_int_equal(closedir(d), 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* ---- new files ---------------------------------------------------------------- */

static void test_new_file_claude(void **state)
{
	char path[256], dir[256];
	mode_t old = umask(077); /* the modes are exact, whatever the umask */

	(void)state;
	tmp_path(path, sizeof(path), "proj/.claude/settings.json");
	tmp_path(dir, sizeof(dir), "proj/.claude");
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	umask(old);
	assert_file_is(path,
		       "{\n"
		       "  \"hooks\": {\n"
		       "    \"PreToolUse\": [\n"
		       "      {\n"
		       "        \"matcher\": \"*\",\n"
		       "        \"hooks\": [\n"
		       "          {\n"
		       "            \"type\": \"command\",\n"
		       "            \"command\": \"/usr/local/bin/agenttrail hook claude\",\n"
		       "            \"timeout\": 30\n"
		       "          }\n"
		       "        ]\n"
		       "      }\n"
		       "    ],\n"
		       "    \"PostToolUse\": [\n"
		       "      {\n"
		       "        \"matcher\": \"*\",\n"
		       "        \"hooks\": [\n"
		       "          {\n"
		       "            \"type\": \"command\",\n"
		       "            \"command\": \"/usr/local/bin/agenttrail hook claude\",\n"
		       "            \"timeout\": 30\n"
		       "          }\n"
		       "        ]\n"
		       "      }\n"
		       "    ],\n"
		       "    \"PostToolUseFailure\": [\n"
		       "      {\n"
		       "        \"matcher\": \"*\",\n"
		       "        \"hooks\": [\n"
		       "          {\n"
		       "            \"type\": \"command\",\n"
		       "            \"command\": \"/usr/local/bin/agenttrail hook claude\",\n"
		       "            \"timeout\": 30\n"
		       "          }\n"
		       "        ]\n"
		       "      }\n"
		       "    ]\n"
		       "  }\n"
		       "}\n");
	assert_int_equal(mode_of(path), 0644);
	assert_int_equal(mode_of(dir), 0755);
	assert_no_tmp(dir);
}

static void test_new_file_codex(void **state)
{
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "codex-home/hooks.json");
	assert_true(install(path, HOOK_CODEX, CMD_CODEX));
	/* no "matcher": Codex runs a group without one for every tool */
	assert_doc(path, "{'hooks': {"
			 " 'PreToolUse': [{'hooks': [{'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook codex', 'timeout': 30}]}],"
			 " 'PostToolUse': [{'hooks': [{'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook codex', 'timeout': 30}]}]}}");
	assert_int_equal(mode_of(path), 0644);
}

static void test_new_file_gemini(void **state)
{
	char path[256], dir[256];

	(void)state;
	tmp_path(path, sizeof(path), "home/.gemini/settings.json");
	tmp_path(dir, sizeof(dir), "home/.gemini");
	assert_true(install(path, HOOK_GEMINI, CMD_GEMINI));
	/* Gemini's timeout is in milliseconds */
	assert_doc(path, "{'hooks': {"
			 " 'BeforeTool': [{'hooks': [{'name': 'agenttrail', 'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook gemini', 'timeout': 30000}]}],"
			 " 'AfterTool': [{'hooks': [{'name': 'agenttrail', 'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook gemini', 'timeout': 30000}]}]}}");
	assert_int_equal(mode_of(path), 0644);
	assert_int_equal(mode_of(dir), 0755);
	assert_no_tmp(dir);
}

/* ---- merging -------------------------------------------------------------------- */

static const char *const OTHERS_CLAUDE =
	"{'model': 'opus',\n"
	" 'permissions': {'allow': ['Bash(ls:*)'], 'deny': []},\n"
	" 'hooks': {\n"
	"   'Stop': [{'hooks': [{'type': 'command', 'command': 'notify-send done'}]}],\n"
	"   'PreToolUse': [{'matcher': 'Bash', 'hooks': [{'type': 'command', 'command': '/opt/lint.sh'}]}]\n"
	" },\n"
	" 'env': {'A': '1', 'B': 2.5, 'C': null, 'D': true}}\n";

static void test_merge_keeps_everything(void **state)
{
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_q(path, OTHERS_CLAUDE);
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_doc(path,
		   "{'model': 'opus',"
		   " 'permissions': {'allow': ['Bash(ls:*)'], 'deny': []},"
		   " 'hooks': {"
		   "   'Stop': [{'hooks': [{'type': 'command', 'command': 'notify-send done'}]}],"
		   "   'PreToolUse': ["
		   "     {'matcher': 'Bash', 'hooks': [{'type': 'command', 'command': '/opt/lint.sh'}]},"
		   "     {'matcher': '*', 'hooks': [{'type': 'command',"
		   "       'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}],"
		   "   'PostToolUse': ["
		   "     {'matcher': '*', 'hooks': [{'type': 'command',"
		   "       'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}],"
		   "   'PostToolUseFailure': ["
		   "     {'matcher': '*', 'hooks': [{'type': 'command',"
		   "       'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}]"
		   " },"
		   " 'env': {'A': '1', 'B': 2.5, 'C': null, 'D': true}}");
	assert_no_tmp(tmpdir);
}

/* Install then uninstall gives back the very bytes of a file in the agents' own format. */
static void test_merge_round_trip(void **state)
{
	char path[256], *orig;

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_q(path, OTHERS_CLAUDE);
	/* first into the canonical format (a no-op install would not rewrite) */
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_true(uninstall(path, HOOK_CLAUDE));
	orig = read_file(path);
	assert_non_null(strstr(orig, "\n  \"model\": \"opus\",\n"));
	assert_null(strstr(orig, "agenttrail"));
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_true(uninstall(path, HOOK_CLAUDE));
	assert_file_is(path, orig);
	free(orig);
}

/* Several agents' hooks side by side in one file do not disturb each other. */
static void test_merge_other_agents_hooks(void **state)
{
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_q(path, "{'hooks': {'PreToolUse': [{'hooks': [{'type': 'command',"
		      " 'command': 'agenttrail hook codex'}]}]}}");
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_doc(path, "{'hooks': {'PreToolUse': ["
			 "  {'hooks': [{'type': 'command', 'command': 'agenttrail hook codex'}]},"
			 "  {'matcher': '*', 'hooks': [{'type': 'command',"
			 "    'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}],"
			 " 'PostToolUse': [{'matcher': '*', 'hooks': [{'type': 'command',"
			 "    'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}],"
			 " 'PostToolUseFailure': [{'matcher': '*', 'hooks': [{'type': 'command',"
			 "    'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}]}}");
	assert_true(uninstall(path, HOOK_CLAUDE));
	assert_doc(path, "{'hooks': {'PreToolUse': [{'hooks': [{'type': 'command',"
			 " 'command': 'agenttrail hook codex'}]}]}}");
}

/* ---- idempotence and updates ------------------------------------------------------- */

static void test_install_idempotent(void **state)
{
	char path[256], *first;
	ino_t ino;

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_q(path, OTHERS_CLAUDE);
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	first = read_file(path);
	ino = inode_of(path);
	assert_false(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_false(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_file_is(path, first);
	assert_int_equal(inode_of(path), ino); /* not even rewritten */
	assert_no_tmp(tmpdir);
	free(first);
}

/* Ours already in all three events of a file formatted by hand: left alone,
 * not reformatted. */
static void test_install_idempotent_keeps_format(void **state)
{
	static const char text[] =
		"{\n"
		"    \"hooks\": {\"PreToolUse\": [{\"matcher\": \"Bash|Edit\", \"hooks\": [\n"
		"        {\"type\": \"command\", \"command\": \"/usr/local/bin/agenttrail hook claude\"}]}],\n"
		"      \"PostToolUse\": [{\"hooks\": [{\"command\": \"/usr/local/bin/agenttrail hook claude\"}]}],\n"
		"      \"PostToolUseFailure\": [{\"hooks\": [{\"command\": \"/usr/local/bin/agenttrail hook claude\"}]}]}\n"
		"}";
	/* as installed before PostToolUseFailure was ours: that one is added */
	static const char two_events[] =
		"{\n"
		"    \"hooks\": {\"PreToolUse\": [{\"matcher\": \"Bash|Edit\", \"hooks\": [\n"
		"        {\"type\": \"command\", \"command\": \"/usr/local/bin/agenttrail hook claude\"}]}],\n"
		"      \"PostToolUse\": [{\"hooks\": [{\"command\": \"/usr/local/bin/agenttrail hook claude\"}]}]}\n"
		"}";
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_file(path, text);
	assert_false(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_file_is(path, text);

	write_file(path, two_events);
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_doc(path, "{'hooks': {"
			 " 'PreToolUse': [{'matcher': 'Bash|Edit', 'hooks': [{'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook claude'}]}],"
			 " 'PostToolUse': [{'hooks': [{'command': '/usr/local/bin/agenttrail hook claude'}]}],"
			 " 'PostToolUseFailure': [{'matcher': '*', 'hooks': [{'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}]}}");
	assert_false(install(path, HOOK_CLAUDE, CMD_CLAUDE));
}

static void test_install_updates_moved_command(void **state)
{
	static const char *const moved = "/opt/at/bin/agenttrail hook claude --on-unreachable deny";
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	/* ours sits between others' groups, with a timeout the user raised */
	write_q(path, "{'hooks': {"
		      " 'PreToolUse': ["
		      "   {'matcher': 'Bash', 'hooks': [{'type': 'command', 'command': 'a.sh'}]},"
		      "   {'matcher': '*', 'hooks': [{'type': 'command',"
		      "     'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 99}]},"
		      "   {'matcher': 'Edit', 'hooks': [{'type': 'command', 'command': 'b.sh'}]}],"
		      " 'PostToolUse': [{'matcher': '*', 'hooks': [{'type': 'command',"
		      "   'command': 'agenttrail hook claude'}]}]}}\n");
	assert_true(install(path, HOOK_CLAUDE, moved));
	assert_doc(path, "{'hooks': {"
			 " 'PreToolUse': ["
			 "   {'matcher': 'Bash', 'hooks': [{'type': 'command', 'command': 'a.sh'}]},"
			 "   {'matcher': '*', 'hooks': [{'type': 'command',"
			 "     'command': '/opt/at/bin/agenttrail hook claude --on-unreachable deny',"
			 "     'timeout': 99}]},"
			 "   {'matcher': 'Edit', 'hooks': [{'type': 'command', 'command': 'b.sh'}]}],"
			 " 'PostToolUse': [{'matcher': '*', 'hooks': [{'type': 'command',"
			 "   'command': '/opt/at/bin/agenttrail hook claude --on-unreachable deny'}]}],"
			 " 'PostToolUseFailure': [{'matcher': '*', 'hooks': [{'type': 'command',"
			 "   'command': '/opt/at/bin/agenttrail hook claude --on-unreachable deny',"
			 "   'timeout': 30}]}]}}");
	assert_false(install(path, HOOK_CLAUDE, moved));
	/* ours goes from all three events; the others' groups stay in place */
	assert_true(uninstall(path, HOOK_CLAUDE));
	assert_doc(path, "{'hooks': {"
			 " 'PreToolUse': ["
			 "   {'matcher': 'Bash', 'hooks': [{'type': 'command', 'command': 'a.sh'}]},"
			 "   {'matcher': 'Edit', 'hooks': [{'type': 'command', 'command': 'b.sh'}]}]}}");
}

/* ---- uninstall ------------------------------------------------------------------------ */

static void test_uninstall_removes_exactly_ours(void **state)
{
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_q(path, "{'a': 1, 'hooks': {"
		      " 'PreToolUse': ["
		      "   {'matcher': 'Bash', 'hooks': [{'type': 'command', 'command': 'lint.sh'}]},"
		      "   {'matcher': '*', 'hooks': [{'type': 'command', 'command': 'agenttrail hook claude'}]},"
		      "   {'matcher': 'Read', 'hooks': []},"
		      "   {'matcher': 'Edit', 'sequential': true, 'hooks': ["
		      "     {'type': 'command', 'command': 'fmt.sh'},"
		      "     {'type': 'command', 'command': '/x/agenttrail hook claude --on-unreachable deny'},"
		      "     {'type': 'command', 'command': 'agenttrail hook codex'},"
		      "     {'type': 'command', 'command': 'myagenttrail hook claude'}]}],"
		      " 'PostToolUse': [{'matcher': '*', 'hooks': ["
		      "   {'type': 'command', 'command': '/usr/local/bin/agenttrail hook claude'}]}],"
		      " 'PostToolUseFailure': [{'matcher': '*', 'hooks': ["
		      "   {'type': 'command', 'command': 'agenttrail hook claude', 'timeout': 30},"
		      "   {'type': 'command', 'command': 'report-failure.sh'}]}],"
		      " 'Stop': [{'hooks': [{'type': 'command', 'command': 'agenttrail hook claude'}]}],"
		      " 'Notification': []},"
		      " 'z': [1, 2]}\n");
	assert_true(uninstall(path, HOOK_CLAUDE));
	/* the emptied group and event go; the group that was already empty and
	 * the events that are not ours stay */
	assert_doc(path, "{'a': 1, 'hooks': {"
			 " 'PreToolUse': ["
			 "   {'matcher': 'Bash', 'hooks': [{'type': 'command', 'command': 'lint.sh'}]},"
			 "   {'matcher': 'Read', 'hooks': []},"
			 "   {'matcher': 'Edit', 'sequential': true, 'hooks': ["
			 "     {'type': 'command', 'command': 'fmt.sh'},"
			 "     {'type': 'command', 'command': 'agenttrail hook codex'},"
			 "     {'type': 'command', 'command': 'myagenttrail hook claude'}]}],"
			 " 'PostToolUseFailure': [{'matcher': '*', 'hooks': ["
			 "   {'type': 'command', 'command': 'report-failure.sh'}]}],"
			 " 'Stop': [{'hooks': [{'type': 'command', 'command': 'agenttrail hook claude'}]}],"
			 " 'Notification': []},"
			 " 'z': [1, 2]}");
	assert_false(uninstall(path, HOOK_CLAUDE));
	assert_no_tmp(tmpdir);
}

/* A "hooks" object that only held ours goes; the file stays, as {}. */
static void test_uninstall_removes_emptied_hooks(void **state)
{
	char path[256], codex[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_q(path, "{'theme': 'dark', 'hooks': {'BeforeTool': [{'hooks': [{'name': 'agenttrail',"
		      " 'type': 'command', 'command': 'agenttrail hook gemini'}]}]}, 'x': {}}");
	assert_true(uninstall(path, HOOK_GEMINI));
	assert_doc(path, "{'theme': 'dark', 'x': {}}");

	tmp_path(codex, sizeof(codex), "hooks.json");
	assert_true(install(codex, HOOK_CODEX, CMD_CODEX));
	assert_true(uninstall(codex, HOOK_CODEX));
	assert_file_is(codex, "{}\n");
}

static void test_uninstall_nothing_ours(void **state)
{
	static const char text[] =
		"{\n"
		"    \"hooks\": {\n"
		"        \"PreToolUse\": [{\"hooks\": [{\"command\": \"agenttrail hook codex\"}]}],\n"
		"        \"PostToolUse\": [{\"hooks\": [{\"command\": \"echo agenttrail hook claude\"}]}]\n"
		"    }\n"
		"}";
	char path[256], missing[256], missing_dir[256];
	ino_t ino;

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_file(path, text);
	ino = inode_of(path);
	assert_false(uninstall(path, HOOK_CLAUDE));
	assert_file_is(path, text);
	assert_int_equal(inode_of(path), ino);

	/* a missing file is not created, nor its directory */
	tmp_path(missing, sizeof(missing), "nodir/.claude/settings.json");
	tmp_path(missing_dir, sizeof(missing_dir), "nodir");
	assert_false(uninstall(missing, HOOK_CLAUDE));
	assert_int_equal(access(missing_dir, F_OK), -1);
}

/* ---- refusals --------------------------------------------------------------------------- */

static void test_malformed_json_refused(void **state)
{
	char path[256], want[300];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_file(path, "{\n  \"model\": \"opus\",\n  \"hooks\": {,\n}\n");
	snprintf(want, sizeof(want), "%s:3:13: ", path);
	assert_refused(path, HOOK_CLAUDE, want);

	/* a second value after the document */
	write_file(path, "{}\n{}\n");
	snprintf(want, sizeof(want), "%s:2:1: ", path);
	assert_refused(path, HOOK_CLAUDE, want);

	/* a duplicate key: rewriting would lose one of them */
	write_file(path, "{\"a\": 1,\n \"a\": 2}");
	snprintf(want, sizeof(want), "%s:2:", path);
	assert_refused(path, HOOK_CLAUDE, want);

	/* JSON with comments (not JSON) */
	write_file(path, "// mine\n{}\n");
	snprintf(want, sizeof(want), "%s:1:", path);
	assert_refused(path, HOOK_GEMINI, want);
	assert_no_tmp(tmpdir);
}

static void test_wrong_types_refused(void **state)
{
	static const struct {
		const char *text;
		enum hook_agent agent;
		const char *msg;
	} cases[] = {
		{ "[]", HOOK_CLAUDE, "top level is not a JSON object" },
		{ "'x'", HOOK_CODEX, "top level is not a JSON object" },
		{ "null", HOOK_GEMINI, "top level is not a JSON object" },
		{ "{'hooks': []}", HOOK_CLAUDE, "\"hooks\" is not an object" },
		{ "{'hooks': null}", HOOK_CODEX, "\"hooks\" is not an object" },
		{ "{'hooks': {'PreToolUse': {}}}", HOOK_CLAUDE, "hooks.PreToolUse is not an array" },
		{ "{'hooks': {'PostToolUse': 'x'}}", HOOK_CODEX, "hooks.PostToolUse is not an array" },
		{ "{'hooks': {'PostToolUseFailure': {}}}", HOOK_CLAUDE,
		  "hooks.PostToolUseFailure is not an array" },
		{ "{'hooks': {'AfterTool': [{'hooks': []}, 3]}}", HOOK_GEMINI,
		  "hooks.AfterTool[1] is not an object" },
		{ "{'hooks': {'PreToolUse': [{'hooks': {'type': 'command'}}]}}", HOOK_CLAUDE,
		  "hooks.PreToolUse[0].hooks is not an array" },
	};
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_q(path, cases[i].text);
		assert_refused(path, cases[i].agent, cases[i].msg);
	}
	assert_no_tmp(tmpdir);
}

/* Keys under "hooks" that are not our events are not ours to judge. */
static void test_other_keys_under_hooks_accepted(void **state)
{
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_q(path, "{'hooks': {'enabled': true, 'PreToolUse': 'x', 'BeforeAgent': {}}}");
	assert_true(install(path, HOOK_GEMINI, CMD_GEMINI));
	assert_doc(path, "{'hooks': {'enabled': true, 'PreToolUse': 'x', 'BeforeAgent': {},"
			 " 'BeforeTool': [{'hooks': [{'name': 'agenttrail', 'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook gemini', 'timeout': 30000}]}],"
			 " 'AfterTool': [{'hooks': [{'name': 'agenttrail', 'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook gemini', 'timeout': 30000}]}]}}");
	assert_true(uninstall(path, HOOK_GEMINI));
	assert_doc(path, "{'hooks': {'enabled': true, 'PreToolUse': 'x', 'BeforeAgent': {}}}");
}

static void test_foreign_command_refused(void **state)
{
	char path[256], err[256];
	bool changed = true;

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	assert_int_equal(hook_install_file(path, HOOK_CLAUDE, "echo hi", false, &changed, err,
					   sizeof(err)), -1);
	assert_false(changed);
	assert_non_null(strstr(err, "not an agenttrail hook command for claude"));
	/* ours, but for another agent */
	assert_int_equal(hook_install_file(path, HOOK_CLAUDE, CMD_CODEX, false, &changed, err,
					   sizeof(err)), -1);
	assert_int_equal(hook_install_file(path, HOOK_CLAUDE, NULL, false, &changed, err,
					   sizeof(err)), -1);
	assert_int_equal(hook_install_file(path, HOOK_CLAUDE, "agenttrail hook claude \xff", false,
					   &changed, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "UTF-8"));
	assert_int_equal(access(path, F_OK), -1);
}

/* An existing temporary name is not ours to overwrite or remove. */
static void test_write_failure_leaves_original(void **state)
{
	char path[256], tmp[300], err[512];
	bool changed = true;

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_file(path, "{\"a\": 1}");
	snprintf(tmp, sizeof(tmp), "%s.agenttrail-tmp-%ld", path, (long)getpid());
	write_file(tmp, "someone else's");
	assert_int_equal(hook_install_file(path, HOOK_CLAUDE, CMD_CLAUDE, false, &changed, err,
					   sizeof(err)), -1);
	assert_false(changed);
	assert_non_null(strstr(err, "File exists"));
	assert_file_is(path, "{\"a\": 1}");
	assert_file_is(tmp, "someone else's");
}

/* ---- empty files, modes, owners, links ------------------------------------------------ */

static void test_empty_file(void **state)
{
	static const char *const empties[] = { "", " \n\t\r\n" };
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "hooks.json");
	for (size_t i = 0; i < 2; i++) {
		write_file(path, empties[i]);
		assert_false(uninstall(path, HOOK_CODEX));
		assert_file_is(path, empties[i]);
		assert_true(install(path, HOOK_CODEX, CMD_CODEX));
		assert_doc(path, "{'hooks': {"
				 " 'PreToolUse': [{'hooks': [{'type': 'command',"
				 "   'command': '/usr/local/bin/agenttrail hook codex', 'timeout': 30}]}],"
				 " 'PostToolUse': [{'hooks': [{'type': 'command',"
				 "   'command': '/usr/local/bin/agenttrail hook codex', 'timeout': 30}]}]}}");
	}
}

static void test_existing_mode_kept(void **state)
{
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_file(path, "{}");
	assert_int_equal(chmod(path, 0600), 0);
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_int_equal(mode_of(path), 0600);
	assert_true(uninstall(path, HOOK_CLAUDE));
	assert_int_equal(mode_of(path), 0600);
}

/* As root (sudo for a user's home), what we create belongs to whoever owns
 * the directory it is created in, and a rewritten file keeps its owner. */
static void test_owner_inherited_as_root(void **state)
{
	char home[256], path[256], dir[256], own[256];
	struct stat st;

	(void)state;
	if (geteuid() != 0)
		skip();
	tmp_path(home, sizeof(home), "home");
	tmp_path(dir, sizeof(dir), "home/.claude");
	tmp_path(path, sizeof(path), "home/.claude/settings.json");
	assert_int_equal(mkdir(home, 0755), 0);
	assert_int_equal(chown(home, 4242, 4343), 0);
	assert_true(install(path, HOOK_CLAUDE, CMD_CLAUDE));
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(st.st_gid, 4343);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(st.st_gid, 4343);

	tmp_path(own, sizeof(own), "owned.json");
	write_file(own, "{}");
	assert_int_equal(chown(own, 4444, 4545), 0);
	assert_true(install(own, HOOK_GEMINI, CMD_GEMINI));
	assert_int_equal(stat(own, &st), 0);
	assert_int_equal(st.st_uid, 4444);
	assert_int_equal(st.st_gid, 4545);
}

static void test_symlink_followed(void **state)
{
	char real[256], link[256], dangling[256], err[512];
	struct stat st;
	bool changed = true;

	(void)state;
	tmp_path(real, sizeof(real), "dotfiles-settings.json");
	tmp_path(link, sizeof(link), "settings.json");
	write_file(real, "{\"model\": \"opus\"}\n");
	assert_int_equal(symlink("dotfiles-settings.json", link), 0);
	assert_true(install(link, HOOK_CLAUDE, CMD_CLAUDE));
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_doc(real, "{'model': 'opus', 'hooks': {"
			 " 'PreToolUse': [{'matcher': '*', 'hooks': [{'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}],"
			 " 'PostToolUse': [{'matcher': '*', 'hooks': [{'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}],"
			 " 'PostToolUseFailure': [{'matcher': '*', 'hooks': [{'type': 'command',"
			 "   'command': '/usr/local/bin/agenttrail hook claude', 'timeout': 30}]}]}}");
	assert_true(uninstall(link, HOOK_CLAUDE));
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_doc(real, "{'model': 'opus'}");

	/* a link to nothing: nothing to uninstall; install does not guess */
	tmp_path(dangling, sizeof(dangling), "dangling.json");
	assert_int_equal(symlink("nowhere.json", dangling), 0);
	assert_false(uninstall(dangling, HOOK_CLAUDE));
	assert_int_equal(hook_install_file(dangling, HOOK_CLAUDE, CMD_CLAUDE, false, &changed, err,
					   sizeof(err)), -1);
	assert_false(changed);
	assert_non_null(strstr(err, "symlink to a missing file"));
	assert_no_tmp(tmpdir);
}

/* ---- paths and names ------------------------------------------------------------------- */

static void assert_path(enum hook_agent a, const char *proj, const char *home,
			const char *codex_home, const char *want)
{
	char out[256];

	assert_int_equal(hook_settings_path(a, proj, home, codex_home, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_settings_path(void **state)
{
	char small[24];

	(void)state;
	assert_path(HOOK_CLAUDE, "/w/p", "/home/u", NULL, "/w/p/.claude/settings.json");
	assert_path(HOOK_CODEX, "/w/p", "/home/u", "/c", "/w/p/.codex/hooks.json");
	assert_path(HOOK_GEMINI, "/w/p/", "/home/u", NULL, "/w/p/.gemini/settings.json");
	assert_path(HOOK_CLAUDE, NULL, "/home/u", "/c", "/home/u/.claude/settings.json");
	assert_path(HOOK_CODEX, NULL, "/home/u", NULL, "/home/u/.codex/hooks.json");
	assert_path(HOOK_CODEX, NULL, "/home/u", "", "/home/u/.codex/hooks.json");
	assert_path(HOOK_CODEX, NULL, "/home/u", "/srv/codex", "/srv/codex/hooks.json");
	assert_path(HOOK_CODEX, NULL, NULL, "/srv/codex/", "/srv/codex/hooks.json");
	assert_path(HOOK_GEMINI, NULL, "/home/u", "/c", "/home/u/.gemini/settings.json");
	assert_path(HOOK_CLAUDE, NULL, "/", NULL, "/.claude/settings.json");

	/* no home to go by, an empty project, a buffer too small */
	assert_int_equal(hook_settings_path(HOOK_CLAUDE, NULL, NULL, NULL, small, sizeof(small)), -1);
	assert_int_equal(hook_settings_path(HOOK_GEMINI, NULL, "", NULL, small, sizeof(small)), -1);
	assert_int_equal(hook_settings_path(HOOK_CLAUDE, "", "/h", NULL, small, sizeof(small)), -1);
	assert_int_equal(hook_settings_path(HOOK_CLAUDE, NULL, "/home/u", NULL, small,
					    sizeof(small)), -1);
	assert_int_equal(hook_settings_path((enum hook_agent)7, NULL, "/h", NULL, small,
					    sizeof(small)), -1);
}

static void test_agent_names(void **state)
{
	static const char *const names[] = { "claude", "codex", "gemini" };
	enum hook_agent a;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hook_agent_parse(names[i], &a), 0);
		assert_int_equal(a, (enum hook_agent)i);
		assert_string_equal(hook_agent_name(a), names[i]);
	}
	assert_int_equal(hook_agent_parse("Claude", &a), -1);
	assert_int_equal(hook_agent_parse("", &a), -1);
	assert_int_equal(hook_agent_parse(NULL, &a), -1);
	assert_string_equal(hook_agent_name((enum hook_agent)9), "?");
}

/* ---- which hooks are ours ------------------------------------------------------------- */

static void test_ours_detection(void **state)
{
	static const struct {
		const char *cmd;
		bool claude, codex;
	} cases[] = {
		{ "agenttrail hook claude", true, false },
		{ "/x/y/agenttrail hook claude --on-unreachable deny", true, false },
		{ "./agenttrail hook claude", true, false },
		{ "agenttrail hook codex", false, true },
		{ "  agenttrail  hook\tcodex ", false, true },
		{ "'/opt/my tools/agenttrail' hook claude", true, false },
		{ "\"/opt/my tools/agenttrail\" hook codex -v", false, true },
		{ "myagenttrail hook claude", false, false },
		{ "/x/myagenttrail hook claude", false, false },
		{ "agenttrail-dev hook claude", false, false },
		{ "/x/agenttrail/ hook claude", false, false },
		{ "/agenttrail/bin hook claude", false, false },
		{ "echo agenttrail hook claude", false, false },
		{ "/usr/bin/env agenttrail hook claude", false, false },
		{ "agenttrail record hook claude", false, false },
		{ "agenttrail hook claudex", false, false },
		{ "agenttrail hook", false, false },
		{ "agenttrail", false, false },
		{ "agenttrail hook  ", false, false },
		{ "'agenttrail hook claude", false, false },
		{ "'/x/agenttrail'x hook claude", false, false },
		{ "", false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (hook_command_is_ours(cases[i].cmd, HOOK_CLAUDE) != cases[i].claude ||
		    hook_command_is_ours(cases[i].cmd, HOOK_CODEX) != cases[i].codex)
			fail_msg("'%s': want claude=%d codex=%d", cases[i].cmd, cases[i].claude,
				 cases[i].codex);
		assert_false(hook_command_is_ours(cases[i].cmd, HOOK_GEMINI));
	}
	assert_false(hook_command_is_ours(NULL, HOOK_CLAUDE));
	assert_true(hook_command_is_ours("agenttrail hook gemini", HOOK_GEMINI));
}

/* The same cases in a file: install adds ours beside look-alikes, and
 * uninstall removes only ours. */
static void test_ours_detection_in_file(void **state)
{
	static const char *const lookalikes =
		"{'hooks': {'PreToolUse': [{'matcher': '*', 'hooks': ["
		" {'type': 'command', 'command': 'myagenttrail hook claude'},"
		" {'type': 'command', 'command': 'agenttrail hook codex'},"
		" {'type': 'command', 'command': 'echo agenttrail hook claude'},"
		" {'type': 'command', 'command': '/usr/bin/env agenttrail hook claude'},"
		" {'type': 'command'},"
		" {'type': 'command', 'command': 7},"
		" 'not an object']}]}}";
	char path[256];

	(void)state;
	tmp_path(path, sizeof(path), "settings.json");
	write_q(path, lookalikes);
	assert_false(uninstall(path, HOOK_CLAUDE));
	assert_true(install(path, HOOK_CLAUDE, "agenttrail hook claude"));
	assert_doc(path,
		   "{'hooks': {'PreToolUse': [{'matcher': '*', 'hooks': ["
		   " {'type': 'command', 'command': 'myagenttrail hook claude'},"
		   " {'type': 'command', 'command': 'agenttrail hook codex'},"
		   " {'type': 'command', 'command': 'echo agenttrail hook claude'},"
		   " {'type': 'command', 'command': '/usr/bin/env agenttrail hook claude'},"
		   " {'type': 'command'},"
		   " {'type': 'command', 'command': 7},"
		   " 'not an object']},"
		   " {'matcher': '*', 'hooks': [{'type': 'command', 'command': 'agenttrail hook claude',"
		   "   'timeout': 30}]}],"
		   " 'PostToolUse': [{'matcher': '*', 'hooks': [{'type': 'command',"
		   "   'command': 'agenttrail hook claude', 'timeout': 30}]}],"
		   " 'PostToolUseFailure': [{'matcher': '*', 'hooks': [{'type': 'command',"
		   "   'command': 'agenttrail hook claude', 'timeout': 30}]}]}}");
	assert_true(uninstall(path, HOOK_CLAUDE));
	assert_doc(path, lookalikes);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_tmpdir, remove_tmpdir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_new_file_claude),
		T(test_new_file_codex),
		T(test_new_file_gemini),
		T(test_merge_keeps_everything),
		T(test_merge_round_trip),
		T(test_merge_other_agents_hooks),
		T(test_install_idempotent),
		T(test_install_idempotent_keeps_format),
		T(test_install_updates_moved_command),
		T(test_uninstall_removes_exactly_ours),
		T(test_uninstall_removes_emptied_hooks),
		T(test_uninstall_nothing_ours),
		T(test_malformed_json_refused),
		T(test_wrong_types_refused),
		T(test_other_keys_under_hooks_accepted),
		T(test_foreign_command_refused),
		T(test_write_failure_leaves_original),
		T(test_empty_file),
		T(test_existing_mode_kept),
		T(test_owner_inherited_as_root),
		T(test_symlink_followed),
		T(test_settings_path),
		T(test_agent_names),
		T(test_ours_detection),
		T(test_ours_detection_in_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
