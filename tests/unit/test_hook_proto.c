/* SPDX-License-Identifier: MIT */
/*
 * The agents' hook protocols (src/cli/hook_proto.c): each agent's
 * documented hook input read into what the tool will do, and the exact
 * answers written back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/hook_proto.h"
#include "guard/preflight.h"

static void parse(enum hook_agent a, const char *text, struct hook_call *c)
{
	json_error_t jerr;
	json_t *in = json_loads(text, 0, &jerr);
	char err[256];

	assert_non_null(in);
	assert_int_equal(hook_call_parse(a, in, c, err, sizeof(err)), 0);
	json_decref(in);
}

/* The answer must be this JSON (compared as values, not text). */
static void answer_is(char *got, const char *want)
{
	json_error_t jerr;
	json_t *g = json_loads(got, 0, &jerr), *w = json_loads(want, 0, &jerr);

	assert_non_null(g);
	assert_non_null(w);
	if (!json_equal(g, w))
		fail_msg("answer %s\nwanted %s", got, want);
	json_decref(g);
	json_decref(w);
	free(got);
}

/* input must be an after-tool call whose answer (failed or not) is want. */
static void post_answer_is(enum hook_agent a, const char *input, bool failed, const char *want)
{
	struct hook_call c;
	int code = -1;

	parse(a, input, &c);
	assert_int_equal(c.event, HOOK_EV_POST);
	answer_is(hook_answer_post(a, &c, "T", failed, &code), want);
	assert_int_equal(code, 0);
	hook_call_free(&c);
}

static void claude_bash_pre(void **state)
{
	struct hook_call c;
	int code = -1;

	(void)state;
	parse(HOOK_CLAUDE, "{\"session_id\":\"s\",\"hook_event_name\":\"PreToolUse\",\"cwd\":\"/w\","
			   "\"tool_name\":\"Bash\",\"tool_use_id\":\"toolu_1\","
			   "\"tool_input\":{\"command\":\"git commit -m x\",\"description\":\"d\"}}", &c);
	assert_int_equal(c.event, HOOK_EV_PRE);
	assert_string_equal(c.tool, "Bash");
	assert_string_equal(c.tool_use_id, "toolu_1");
	assert_string_equal(c.shell, "git commit -m x");
	assert_int_equal(c.nfiles, 0);
	answer_is(hook_answer_deny(HOOK_CLAUDE, &c, "R", &code),
		  "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\","
		  "\"permissionDecision\":\"deny\",\"permissionDecisionReason\":\"R\"}}");
	assert_int_equal(code, 0);
	hook_call_free(&c);
}

static void claude_file_tools(void **state)
{
	struct hook_call c;

	(void)state;
	parse(HOOK_CLAUDE, "{\"hook_event_name\":\"PreToolUse\",\"cwd\":\"/w\",\"tool_name\":\"Edit\","
			   "\"tool_input\":{\"file_path\":\"/w/src/../.bashrc\",\"old_string\":\"a\"}}", &c);
	assert_int_equal(c.nfiles, 1);
	assert_string_equal(c.files[0], "/w/.bashrc");
	assert_int_equal(c.access[0], PF_WRITE);
	hook_call_free(&c);
	parse(HOOK_CLAUDE, "{\"hook_event_name\":\"PreToolUse\",\"cwd\":\"/w\",\"tool_name\":\"Read\","
			   "\"tool_input\":{\"file_path\":\"k/id_rsa\"}}", &c);
	assert_int_equal(c.nfiles, 1);
	assert_string_equal(c.files[0], "/w/k/id_rsa");
	assert_int_equal(c.access[0], PF_READ);
	hook_call_free(&c);
	parse(HOOK_CLAUDE, "{\"hook_event_name\":\"PreToolUse\",\"cwd\":\"/w\","
			   "\"tool_name\":\"NotebookEdit\",\"tool_input\":{\"notebook_path\":\"n.ipynb\"}}",
	      &c);
	assert_int_equal(c.nfiles, 1);
	assert_string_equal(c.files[0], "/w/n.ipynb");
	hook_call_free(&c);
}

static void claude_post_and_failure(void **state)
{
	struct hook_call c;
	int code = -1;
	char *empty;

	(void)state;
	parse(HOOK_CLAUDE, "{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\","
			   "\"tool_input\":{\"command\":\"ls\"},\"tool_response\":{}}", &c);
	assert_int_equal(c.event, HOOK_EV_POST);
	answer_is(hook_answer_post(HOOK_CLAUDE, &c, "T", true, &code),
		  "{\"decision\":\"block\",\"reason\":\"T\"}");
	/* only noted: context, the call is not marked failed */
	answer_is(hook_answer_post(HOOK_CLAUDE, &c, "T", false, &code),
		  "{\"hookSpecificOutput\":{\"hookEventName\":\"PostToolUse\","
		  "\"additionalContext\":\"T\"}}");
	empty = hook_answer_post(HOOK_CLAUDE, &c, NULL, true, &code);
	assert_string_equal(empty, "");
	free(empty);
	hook_call_free(&c);
	post_answer_is(HOOK_CLAUDE, "{\"hook_event_name\":\"PostToolUseFailure\",\"tool_name\":"
		       "\"Bash\",\"tool_input\":{\"command\":\"ls\"},\"error\":\"exit 1\"}", true,
		       "{\"hookSpecificOutput\":{\"hookEventName\":\"PostToolUseFailure\","
		       "\"additionalContext\":\"T\"}}");
}

/* Codex replaces a tool's output with a block's reason: context only,
 * also when something was refused. */
static void codex_post_is_context(void **state)
{
	static const char in[] = "{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\","
				 "\"tool_use_id\":\"call_1\",\"tool_input\":{\"command\":\"ls\"}}";
	static const char want[] = "{\"hookSpecificOutput\":{\"hookEventName\":\"PostToolUse\","
				   "\"additionalContext\":\"T\"}}";

	(void)state;
	post_answer_is(HOOK_CODEX, in, false, want);
	post_answer_is(HOOK_CODEX, in, true, want);
}

static void never_an_empty_reason(void **state)
{
	struct hook_call c;
	int code;

	(void)state;
	parse(HOOK_GEMINI, "{\"hook_event_name\":\"BeforeTool\",\"tool_name\":\"x\"}", &c);
	answer_is(hook_answer_deny(HOOK_GEMINI, &c, "", &code),
		  "{\"decision\":\"deny\",\"reason\":\"refused by the agenttrail policy\"}");
	answer_is(hook_answer_deny(HOOK_GEMINI, &c, NULL, &code),
		  "{\"decision\":\"deny\",\"reason\":\"refused by the agenttrail policy\"}");
	hook_call_free(&c);
}

/* A reason cut inside a character is cut before it; a deny whose reason
 * cannot be encoded is still a deny (exit 2), never silence. */
static void utf8_cuts_and_unencodable_reasons(void **state)
{
	struct hook_call c;
	char s[16];
	char *out;
	int code = 0;

	(void)state;
	strcpy(s, "ab\xc3\xa9");          /* "abé" */
	pol_utf8_trim(s);
	assert_string_equal(s, "ab\xc3\xa9");
	strcpy(s, "ab\xc3");              /* é cut after its first byte */
	pol_utf8_trim(s);
	assert_string_equal(s, "ab");
	strcpy(s, "a\xe2\x82");          /* € cut after two of three */
	pol_utf8_trim(s);
	assert_string_equal(s, "a");
	strcpy(s, "\xf0\x9f\x98\x80");  /* a whole 4-byte character stays */
	pol_utf8_trim(s);
	assert_int_equal(strlen(s), 4);
	parse(HOOK_CLAUDE, "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\"}", &c);
	out = hook_answer_deny(HOOK_CLAUDE, &c, "bad \xc3", &code);
	assert_string_equal(out, "");
	assert_int_equal(code, 2);
	free(out);
	hook_call_free(&c);
}

static void codex_argv_and_patch(void **state)
{
	struct hook_call c;

	(void)state;
	parse(HOOK_CODEX, "{\"hook_event_name\":\"PreToolUse\",\"cwd\":\"/w\",\"tool_name\":\"Bash\","
			  "\"tool_use_id\":\"call_1\",\"tool_input\":{\"command\":"
			  "[\"bash\",\"-lc\",\"echo 'a b' > o\"]}}", &c);
	assert_string_equal(c.shell, "'bash' '-lc' 'echo '\\''a b'\\'' > o'");
	hook_call_free(&c);
	parse(HOOK_CODEX, "{\"hook_event_name\":\"PreToolUse\",\"cwd\":\"/w\","
			  "\"tool_name\":\"apply_patch\",\"tool_input\":{\"command\":\"*** Begin Patch\\n"
			  "*** Update File: src/a.c\\n@@\\n-x\\n+y\\n*** Move to: src/b.c\\n"
			  "*** Delete File: /abs/c.c\\r\\n*** Add File: .git/hooks/pre-push\\n+x\\n"
			  "*** End Patch\\n\"}}", &c);
	assert_int_equal(c.nfiles, 4);
	assert_string_equal(c.files[0], "/w/src/a.c");
	assert_string_equal(c.files[1], "/w/src/b.c");
	assert_string_equal(c.files[2], "/abs/c.c");
	assert_string_equal(c.files[3], "/w/.git/hooks/pre-push");
	for (size_t i = 0; i < c.nfiles; i++)
		assert_int_equal(c.access[i], PF_WRITE);
	hook_call_free(&c);
}

static void gemini_tools(void **state)
{
	struct hook_call c;
	int code;

	(void)state;
	parse(HOOK_GEMINI, "{\"hook_event_name\":\"BeforeTool\",\"cwd\":\"/w\","
			   "\"tool_name\":\"run_shell_command\",\"timestamp\":\"t\","
			   "\"tool_input\":{\"command\":\"make\",\"dir_path\":\"sub\"}}", &c);
	assert_int_equal(c.event, HOOK_EV_PRE);
	assert_null(c.tool_use_id);
	assert_string_equal(c.cwd, "/w/sub");
	assert_string_equal(c.shell, "make");
	answer_is(hook_answer_deny(HOOK_GEMINI, &c, "R", &code),
		  "{\"decision\":\"deny\",\"reason\":\"R\"}");
	hook_call_free(&c);
	parse(HOOK_GEMINI, "{\"hook_event_name\":\"BeforeTool\",\"cwd\":\"/w\","
			   "\"tool_name\":\"read_file\",\"tool_input\":{\"absolute_path\":\"/etc/x\"}}", &c);
	assert_int_equal(c.nfiles, 1);
	assert_string_equal(c.files[0], "/etc/x");
	assert_int_equal(c.access[0], PF_READ);
	hook_call_free(&c);
	post_answer_is(HOOK_GEMINI, "{\"hook_event_name\":\"AfterTool\",\"cwd\":\"/w\",\"tool_name\":"
		       "\"replace\",\"tool_input\":{\"file_path\":\"a\"},\"tool_response\":"
		       "{\"llmContent\":\"ok\"}}", true,
		       "{\"hookSpecificOutput\":{\"hookEventName\":\"AfterTool\",\"additionalContext\":"
		       "\"T\"},\"systemMessage\":\"T\"}");
}

static void malformed_inputs(void **state)
{
	struct hook_call c;
	char err[256];
	json_t *in;

	(void)state;
	in = json_array();
	assert_int_equal(hook_call_parse(HOOK_CLAUDE, in, &c, err, sizeof(err)), -1);
	json_decref(in);
	in = json_pack("{s:s}", "tool_name", "Bash");
	assert_int_equal(hook_call_parse(HOOK_CLAUDE, in, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hook_event_name"));
	json_decref(in);
	/* wrong types inside are ignored, not trusted */
	parse(HOOK_CLAUDE, "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
			   "\"tool_input\":{\"command\":42}}", &c);
	assert_null(c.shell);
	hook_call_free(&c);
	parse(HOOK_CODEX, "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
			  "\"tool_input\":{\"command\":[\"ls\",7]}}", &c);
	assert_null(c.shell);
	hook_call_free(&c);
	parse(HOOK_CLAUDE, "{\"hook_event_name\":\"Stop\"}", &c);
	assert_int_equal(c.event, HOOK_EV_OTHER);
	hook_call_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(claude_bash_pre),
		cmocka_unit_test(claude_file_tools),
		cmocka_unit_test(claude_post_and_failure),
		cmocka_unit_test(codex_post_is_context),
		cmocka_unit_test(never_an_empty_reason),
		cmocka_unit_test(utf8_cuts_and_unencodable_reasons),
		cmocka_unit_test(codex_argv_and_patch),
		cmocka_unit_test(gemini_tools),
		cmocka_unit_test(malformed_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
