/* SPDX-License-Identifier: MIT */
/*
 * Tests for the LLM API decoders (src/decode/llm*.c): provider detection,
 * request normalisation, JSON and streamed responses of each provider, error
 * bodies, malformed input, out-of-order streams and the size cap. Fixtures
 * are written as the providers send them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/llm.h"

/* ---- helpers -------------------------------------------------------------- */

struct ev {
	const char *event;
	const char *data;
};

#define NEV(a) (sizeof(a) / sizeof((a)[0]))

/* The value at a dotted path ("response.tool_calls.0.input.cmd"). */
static json_t *at(const json_t *o, const char *path)
{
	char buf[256], *save = NULL, *tok;
	const json_t *v = o;

	assert_true(strlen(path) < sizeof(buf));
	strcpy(buf, path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(v))
			v = json_array_get(v, strtoul(tok, NULL, 10));
		else
			v = json_object_get(v, tok);
	}
	return (json_t *)v;
}

static void expect_str(const json_t *o, const char *path, const char *want)
{
	const json_t *v = at(o, path);

	if (!json_is_string(v))
		fail_msg("%s: not a string", path);
	assert_string_equal(json_string_value(v), want);
}

static void expect_int(const json_t *o, const char *path, long long want)
{
	const json_t *v = at(o, path);

	if (!json_is_integer(v))
		fail_msg("%s: not an integer", path);
	assert_int_equal(json_integer_value(v), want);
}

static void expect_null(const json_t *o, const char *path)
{
	if (!json_is_null(at(o, path)))
		fail_msg("%s: not null", path);
}

static void expect_bool(const json_t *o, const char *path, bool want)
{
	const json_t *v = at(o, path);

	if (!json_is_boolean(v))
		fail_msg("%s: not a boolean", path);
	assert_int_equal(json_is_true(v), want);
}

static void expect_size(const json_t *o, const char *path, size_t n)
{
	const json_t *v = at(o, path);

	if (json_is_array(v))
		assert_int_equal(json_array_size(v), n);
	else if (json_is_object(v))
		assert_int_equal(json_object_size(v), n);
	else
		fail_msg("%s: not an array or object", path);
}

/* v (at path) serialises exactly as want (compact, keys sorted) */
static void expect_json(const json_t *o, const char *path, const char *want)
{
	const json_t *v = at(o, path);
	char *s;

	if (!v)
		fail_msg("%s: absent", path);
	s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static json_t *finish(struct llm_call *c)
{
	char err[128];
	json_t *o = llm_call_finish(c, err, sizeof(err));

	assert_non_null(o);
	llm_call_free(c);
	return o;
}

/* One exchange: request, status, then a body or events (ts 1000, 2000, ...). */
static json_t *run(enum llm_provider p, const char *req, int status, const char *body,
		   const struct ev *evs, size_t nev)
{
	struct llm_call *c = llm_call_new(p);

	assert_non_null(c);
	if (req)
		assert_int_equal(llm_call_request(c, (const uint8_t *)req, strlen(req)), 0);
	assert_int_equal(llm_call_response_status(c, status), 0);
	if (body)
		assert_int_equal(llm_call_response_body(c, (const uint8_t *)body, strlen(body)), 0);
	for (size_t i = 0; i < nev; i++)
		assert_int_equal(llm_call_sse_event(c, evs[i].event, evs[i].data, (i + 1) * 1000), 0);
	return finish(c);
}

/* ---- detection ---------------------------------------------------------------- */

static void test_detect(void **state)
{
	const char *names[] = { "Content-Type", "Anthropic-Version" };
	const char *values[] = { "application/json", "2023-06-01" };

	(void)state;
	assert_int_equal(llm_detect("POST", "api.anthropic.com", "/v1/messages", NULL, NULL, 0),
			 LLM_ANTHROPIC);
	assert_int_equal(llm_detect("POST", "api.anthropic.com:443", "/v1/messages?beta=true", NULL,
				    NULL, 0),
			 LLM_ANTHROPIC);
	assert_int_equal(llm_detect("POST", "proxy.local", "/anthropic/messages", names, values, 2),
			 LLM_ANTHROPIC);
	assert_int_equal(llm_detect("POST", "proxy.local", "/anthropic/messages", names, values, 1),
			 LLM_NONE);
	assert_int_equal(llm_detect("POST", "api.anthropic.com", "/v1/messages/count_tokens", NULL,
				    NULL, 0),
			 LLM_NONE);
	assert_int_equal(llm_detect("GET", "api.anthropic.com", "/v1/messages", NULL, NULL, 0),
			 LLM_NONE);
	assert_int_equal(llm_detect("POST", "api.openai.com", "/v1/chat/completions", NULL, NULL, 0),
			 LLM_OPENAI_CHAT);
	assert_int_equal(llm_detect("POST", "x.openai.azure.com",
				    "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21",
				    NULL, NULL, 0),
			 LLM_OPENAI_CHAT);
	assert_int_equal(llm_detect("POST", "api.openai.com", "/v1/responses", NULL, NULL, 0),
			 LLM_OPENAI_RESPONSES);
	assert_int_equal(llm_detect("POST", "api.openai.com", "/v1/responses/resp_1/cancel", NULL,
				    NULL, 0),
			 LLM_NONE);
	assert_int_equal(llm_detect("POST", "generativelanguage.googleapis.com",
				    "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
				    NULL, NULL, 0),
			 LLM_GEMINI);
	assert_int_equal(llm_detect("POST", "generativelanguage.googleapis.com",
				    "/v1beta/models/gemini-2.0-flash:generateContent", NULL, NULL, 0),
			 LLM_GEMINI);
	assert_int_equal(llm_detect("POST", "example.com", "/upload", NULL, NULL, 0), LLM_NONE);
	assert_int_equal(llm_detect(NULL, NULL, NULL, NULL, NULL, 0), LLM_NONE);
	assert_string_equal(llm_provider_name(LLM_OPENAI_RESPONSES), "openai_responses");
}

/* ---- Anthropic ---------------------------------------------------------------- */

static const char ANTHROPIC_REQ[] =
	"{\"model\":\"claude-sonnet-4-20250514\",\"max_tokens\":8192,\"temperature\":0.5,"
	"\"stream\":true,"
	"\"system\":[{\"type\":\"text\",\"text\":\"You are Claude Code.\"},"
	"{\"type\":\"text\",\"text\":\"Be brief.\",\"cache_control\":{\"type\":\"ephemeral\"}}],"
	"\"messages\":["
	"{\"role\":\"user\",\"content\":\"fix the failing test\"},"
	"{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Running it.\"},"
	"{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"Bash\",\"input\":{\"command\":\"make test\"}}]},"
	"{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01\","
	"\"content\":[{\"type\":\"text\",\"text\":\"1 failed\"}]},"
	"{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\""
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg"
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg"
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg"
	"\"}}]}],"
	"\"tools\":[{\"name\":\"Bash\",\"description\":\"Run a shell command\","
	"\"input_schema\":{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\"}},"
	"\"required\":[\"command\"]}},"
	"{\"type\":\"web_search_20250305\",\"name\":\"web_search\",\"max_uses\":5}]}";

static void test_anthropic_request(void **state)
{
	json_t *o = run(LLM_ANTHROPIC, ANTHROPIC_REQ, 200, NULL, NULL, 0);

	(void)state;
	expect_str(o, "type", "llm_call");
	expect_str(o, "provider", "anthropic");
	expect_str(o, "model", "claude-sonnet-4-20250514");
	expect_bool(o, "stream", true);
	expect_int(o, "status", 200);
	expect_str(o, "request.system", "You are Claude Code.\nBe brief.");
	expect_int(o, "request.max_tokens", 8192);
	expect_json(o, "request.temperature", "0.5");
	expect_size(o, "request.messages", 3);
	expect_str(o, "request.messages.0.role", "user");
	expect_str(o, "request.messages.0.content", "fix the failing test");
	expect_str(o, "request.messages.1.role", "assistant");
	expect_str(o, "request.messages.1.content.0.text", "Running it.");
	expect_json(o, "request.messages.1.content.1",
		    "{\"id\":\"toolu_01\",\"input\":{\"command\":\"make test\"},\"name\":\"Bash\","
		    "\"type\":\"tool_use\"}");
	expect_json(o, "request.messages.2.content.0",
		    "{\"content\":\"1 failed\",\"tool_use_id\":\"toolu_01\",\"type\":\"tool_result\"}");
	/* the base64 image is replaced by its length */
	expect_json(o, "request.messages.2.content.1",
		    "{\"source\":{\"data_len\":282,\"media_type\":\"image/png\",\"type\":\"base64\"},"
		    "\"type\":\"image\"}");
	expect_size(o, "request.tools", 2);
	expect_json(o, "request.tools.0",
		    "{\"description\":\"Run a shell command\",\"input_schema\":{\"properties\":"
		    "{\"command\":{\"type\":\"string\"}},\"required\":[\"command\"],\"type\":\"object\"},"
		    "\"name\":\"Bash\"}");
	expect_json(o, "request.tools.1", "{\"name\":\"web_search\",\"type\":\"web_search_20250305\"}");
	expect_str(o, "response.text", "");
	expect_size(o, "response.tool_calls", 0);
	expect_null(o, "response.stop_reason");
	expect_null(o, "usage.input_tokens");
	expect_null(o, "first_token_ts_ns");
	expect_bool(o, "truncated", false);
	expect_null(o, "error");
	json_decref(o);
}

static const char ANTHROPIC_RESP[] =
	"{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\","
	"\"model\":\"claude-sonnet-4-20250514\",\"content\":["
	"{\"type\":\"thinking\",\"thinking\":\"The test fails because...\",\"signature\":\"abc\"},"
	"{\"type\":\"text\",\"text\":\"I'll look at the test.\"},"
	"{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"Read\",\"input\":{\"file_path\":\"/src/a.c\"}},"
	"{\"type\":\"text\",\"text\":\" And the build.\"},"
	"{\"type\":\"tool_use\",\"id\":\"toolu_03\",\"name\":\"Bash\",\"input\":{\"command\":\"make\"}}],"
	"\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
	"\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":1500,"
	"\"cache_read_input_tokens\":20480,\"output_tokens\":96}}";

static void test_anthropic_response(void **state)
{
	json_t *o = run(LLM_ANTHROPIC, "{\"model\":\"claude-sonnet-4-0\",\"max_tokens\":100,"
				       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
			200, ANTHROPIC_RESP, NULL, 0);
	json_t *calls;

	(void)state;
	expect_str(o, "model", "claude-sonnet-4-20250514");   /* the response's */
	expect_bool(o, "stream", false);
	expect_null(o, "request.system");
	assert_null(at(o, "request.temperature"));   /* absent when not sent */
	expect_str(o, "response.text", "I'll look at the test. And the build.");
	expect_str(o, "response.stop_reason", "tool_use");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":\"toolu_02\",\"input\":{\"file_path\":\"/src/a.c\"},\"name\":\"Read\"},"
		    "{\"id\":\"toolu_03\",\"input\":{\"command\":\"make\"},\"name\":\"Bash\"}]");
	expect_json(o, "usage",
		    "{\"cache_read_tokens\":20480,\"cache_write_tokens\":1500,\"input_tokens\":12,"
		    "\"output_tokens\":96}");
	expect_null(o, "first_token_ts_ns");
	expect_null(o, "error");

	calls = llm_tool_calls(o);
	assert_non_null(calls);
	expect_json(calls, "",
		    "[{\"id\":\"toolu_02\",\"input\":{\"file_path\":\"/src/a.c\"},\"name\":\"Read\","
		    "\"type\":\"tool_call\"},{\"id\":\"toolu_03\",\"input\":{\"command\":\"make\"},"
		    "\"name\":\"Bash\",\"type\":\"tool_call\"}]");
	json_decref(calls);
	json_decref(o);
}

/* A streamed answer: text, then two parallel tool calls whose input JSON
 * arrives in fragments (five for the first). */
static const struct ev ANTHROPIC_STREAM[] = {
	{ "message_start",
	  "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
	  "\"role\":\"assistant\",\"model\":\"claude-opus-4-20250514\",\"content\":[],"
	  "\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"cache_creation_input_tokens\":0,"
	  "\"cache_read_input_tokens\":31000,\"output_tokens\":1}}}" },
	{ "content_block_start",
	  "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}" },
	{ "ping", "{\"type\": \"ping\"}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me \"}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"check — both.\"}}" },
	{ "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}" },
	{ "content_block_start",
	  "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
	  "\"id\":\"toolu_A\",\"name\":\"Bash\",\"input\":{}}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"comm\"}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"and\\\": \\\"git\"}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" status\\\", \\\"timeout\\\"\"}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\": 120\"}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"00}\"}}" },
	{ "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}" },
	{ "content_block_start",
	  "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\","
	  "\"id\":\"toolu_B\",\"name\":\"Read\",\"input\":{}}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"file_path\\\":\"}}" },
	{ "content_block_delta",
	  "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"/etc/hosts\\\"}\"}}" },
	{ "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}" },
	{ "message_delta",
	  "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
	  "\"usage\":{\"output_tokens\":89}}" },
	{ "message_stop", "{\"type\":\"message_stop\"}" },
};

static void test_anthropic_stream(void **state)
{
	json_t *o = run(LLM_ANTHROPIC, ANTHROPIC_REQ, 200, NULL, ANTHROPIC_STREAM,
			NEV(ANTHROPIC_STREAM));
	json_t *calls;

	(void)state;
	expect_str(o, "model", "claude-opus-4-20250514");
	expect_bool(o, "stream", true);
	expect_str(o, "response.text", "Let me check — both.");
	expect_str(o, "response.stop_reason", "tool_use");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":\"toolu_A\",\"input\":{\"command\":\"git status\",\"timeout\":12000},"
		    "\"name\":\"Bash\"},{\"id\":\"toolu_B\",\"input\":{\"file_path\":\"/etc/hosts\"},"
		    "\"name\":\"Read\"}]");
	expect_json(o, "usage",
		    "{\"cache_read_tokens\":31000,\"cache_write_tokens\":0,\"input_tokens\":3,"
		    "\"output_tokens\":89}");
	expect_int(o, "first_token_ts_ns", 4000);   /* the first text_delta, event 4 */
	expect_null(o, "error");
	expect_bool(o, "truncated", false);

	calls = llm_tool_calls(o);
	assert_non_null(calls);
	assert_int_equal(json_array_size(calls), 2);
	expect_str(calls, "0.type", "tool_call");
	expect_str(calls, "1.id", "toolu_B");
	json_decref(calls);
	json_decref(o);
}

static void test_anthropic_error_429(void **state)
{
	json_t *o = run(LLM_ANTHROPIC, ANTHROPIC_REQ, 429,
			"{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
			"\"Number of request tokens has exceeded your per-minute rate limit\"}}",
			NULL, 0);

	(void)state;
	expect_int(o, "status", 429);
	expect_str(o, "error.where", "response");
	expect_str(o, "error.type", "rate_limit_error");
	expect_str(o, "error.message", "Number of request tokens has exceeded your per-minute rate limit");
	expect_str(o, "error.detail.type", "rate_limit_error");
	expect_str(o, "response.text", "");
	expect_size(o, "response.tool_calls", 0);
	expect_size(o, "request.messages", 3);   /* the request is still there */
	json_decref(o);
}

static void test_anthropic_stream_error(void **state)
{
	static const struct ev evs[] = {
		{ "message_start", "{\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":5}}}" },
		{ "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}" },
		{ "error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}" },
	};
	json_t *o = run(LLM_ANTHROPIC, NULL, 200, NULL, evs, NEV(evs));

	(void)state;
	expect_null(o, "request");
	expect_str(o, "model", "claude-x");
	expect_str(o, "response.text", "Hel");
	expect_str(o, "error.where", "stream");
	expect_str(o, "error.type", "overloaded_error");
	expect_str(o, "error.message", "Overloaded");
	json_decref(o);
}

/* An error status with a body that is not JSON (an HTML page from a proxy). */
static void test_error_status_html(void **state)
{
	json_t *o = run(LLM_ANTHROPIC, ANTHROPIC_REQ, 502, "<html><body>Bad Gateway</body></html>",
			NULL, 0);

	(void)state;
	expect_int(o, "status", 502);
	expect_str(o, "error.where", "response");
	expect_str(o, "error.type", "malformed");
	assert_non_null(strstr(json_string_value(at(o, "error.message")), "response body is not JSON"));
	json_decref(o);

	/* an error status with an empty body still says so */
	o = run(LLM_OPENAI_CHAT, NULL, 503, NULL, NULL, 0);
	expect_str(o, "error.message", "HTTP 503");
	json_decref(o);
}

static void test_malformed_bodies(void **state)
{
	/* the request is cut short; the response is salvaged */
	json_t *o = run(LLM_ANTHROPIC, "{\"model\":\"claude-x\",\"messages\":[{\"role\":\"us", 200,
			ANTHROPIC_RESP, NULL, 0);

	(void)state;
	expect_null(o, "request");
	expect_str(o, "error.where", "request");
	expect_str(o, "error.type", "malformed");
	expect_str(o, "response.text", "I'll look at the test. And the build.");
	expect_size(o, "response.tool_calls", 2);
	json_decref(o);

	/* a response cut short: the request is kept */
	o = run(LLM_ANTHROPIC, ANTHROPIC_REQ, 200, "{\"id\":\"msg_1\",\"content\":[{\"type\":\"te", NULL,
		0);
	expect_str(o, "error.where", "response");
	expect_str(o, "model", "claude-sonnet-4-20250514");
	expect_str(o, "request.messages.0.content", "fix the failing test");
	json_decref(o);

	/* JSON, but not objects, and the wrong shapes everywhere */
	o = run(LLM_ANTHROPIC, "[1,2,3]", 200, "\"just a string\"", NULL, 0);
	expect_str(o, "error.where", "request");
	json_decref(o);
	o = run(LLM_ANTHROPIC, "{\"model\":7,\"system\":5,\"messages\":{\"a\":1},\"tools\":\"x\"}", 200,
		"{\"model\":[],\"content\":[1,null,{\"type\":\"tool_use\",\"id\":5}],\"usage\":{\"input_tokens\":-4}}",
		NULL, 0);
	expect_null(o, "model");
	expect_null(o, "error");
	expect_size(o, "request.messages", 0);
	expect_json(o, "response.tool_calls", "[{\"id\":null,\"input\":{},\"name\":null}]");
	expect_null(o, "usage.input_tokens");
	json_decref(o);

	/* empty and binary bodies */
	struct llm_call *c = llm_call_new(LLM_OPENAI_CHAT);
	assert_non_null(c);
	assert_int_equal(llm_call_request(c, (const uint8_t *)"", 0), 0);
	assert_int_equal(llm_call_response_body(c, (const uint8_t *)"\xff\xfe\x00\x01", 4), 0);
	assert_int_equal(llm_call_request(c, NULL, 5), -1);
	o = finish(c);
	expect_str(o, "error.where", "request");
	json_decref(o);
}

/* Events out of order, unknown, malformed or after the end: never fatal. */
static void test_anthropic_anomalies(void **state)
{
	static const struct ev evs[] = {
		/* a delta whose block never started: its text is kept */
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"early \"}}" },
		{ "message_start", "{\"type\":\"message_start\",\"message\":{\"model\":\"claude-y\"}}" },
		{ "brand_new_event", "{\"type\":\"brand_new_event\",\"stuff\":[1,2]}" },
		{ NULL, "{\"no_type\":true}" },
		{ "content_block_start", "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_late\",\"name\":\"Edit\",\"input\":{}}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"no index\"}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"xx\"}}" },
		{ "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":9}" },
		/* a tool call whose input never completes */
		{ "content_block_start", "{\"type\":\"content_block_start\",\"index\":4,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_cut\",\"name\":\"Bash\",\"input\":{}}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"command\\\": \\\"ls\"}}" },
		{ "message_stop", "{\"type\":\"message_stop\"}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}" },
		{ "", "" },
		{ "ping", "[1]" },
	};
	json_t *o = run(LLM_ANTHROPIC, NULL, 200, NULL, evs, NEV(evs));

	(void)state;
	expect_str(o, "model", "claude-y");
	expect_str(o, "response.text", "early late");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":\"toolu_late\",\"input\":{\"a\":1},\"name\":\"Edit\"},"
		    "{\"arguments\":\"{\\\"command\\\": \\\"ls\",\"id\":\"toolu_cut\",\"input\":null,"
		    "\"name\":\"Bash\"}]");
	expect_int(o, "first_token_ts_ns", 1000);
	expect_null(o, "error");
	json_decref(o);

	/* a data line that is not JSON is recorded, and what follows still counts */
	static const struct ev bad[] = {
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"b\"}}" },
	};
	o = run(LLM_ANTHROPIC, NULL, 200, NULL, bad, NEV(bad));
	expect_str(o, "response.text", "b");
	expect_str(o, "error.where", "stream");
	expect_str(o, "error.type", "malformed");
	json_decref(o);
}

static void test_cap_truncates(void **state)
{
	struct llm_call *c = llm_call_new(LLM_ANTHROPIC);
	json_t *o;

	(void)state;
	assert_non_null(c);
	llm_call_set_cap(c, 9);
	/* "héllo wörld": the cut must not split a character */
	assert_int_equal(llm_call_sse_event(c, NULL,
					    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
					    "{\"type\":\"text_delta\",\"text\":\"h\\u00e9llo w\\u00f6rld\"}}",
					    5),
			 0);
	assert_int_equal(llm_call_sse_event(c, NULL,
					    "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
					    "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"command\\\":\\\"x\\\"}\"}}",
					    6),
			 0);
	o = finish(c);
	expect_str(o, "response.text", "h\xc3\xa9llo w");   /* 8 bytes: the \xc3\xb6 would be the 9th and 10th */
	expect_bool(o, "truncated", true);
	expect_str(o, "response.tool_calls.0.arguments", "{\"command");
	expect_null(o, "response.tool_calls.0.input");
	json_decref(o);
}

/* finish does not consume the call; more events may follow. */
static void test_finish_twice(void **state)
{
	struct llm_call *c = llm_call_new(LLM_ANTHROPIC);
	char err[64];
	json_t *a, *b;

	(void)state;
	assert_non_null(c);
	assert_int_equal(llm_call_sse_event(c, "content_block_delta",
					    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"1\"}}",
					    1),
			 0);
	a = llm_call_finish(c, err, sizeof(err));
	assert_int_equal(llm_call_sse_event(c, "content_block_delta",
					    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"2\"}}",
					    2),
			 0);
	b = llm_call_finish(c, err, sizeof(err));
	llm_call_free(c);
	expect_str(a, "response.text", "1");
	expect_str(b, "response.text", "12");
	json_decref(a);
	json_decref(b);

	/* not an llm_call: no tool calls */
	a = json_pack("{s:s}", "type", "exec");
	b = llm_tool_calls(a);
	assert_int_equal(json_array_size(b), 0);
	json_decref(a);
	json_decref(b);
}

/* ---- OpenAI Chat Completions ---------------------------------------------------- */

static const char CHAT_REQ[] =
	"{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
	"\"max_completion_tokens\":4096,\"temperature\":0,"
	"\"messages\":["
	"{\"role\":\"system\",\"content\":\"You are a coding agent.\"},"
	"{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Use tools.\"}]},"
	"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is in /tmp?\"},"
	"{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}}]},"
	"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
	"\"function\":{\"name\":\"shell\",\"arguments\":\"{\\\"cmd\\\":\\\"ls /tmp\\\"}\"}}]},"
	"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"a.txt\\nb.txt\"}],"
	"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"shell\",\"description\":\"Run a command\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"cmd\":{\"type\":\"string\"}}}}}]}";

static void test_openai_chat_request(void **state)
{
	json_t *o = run(LLM_OPENAI_CHAT, CHAT_REQ, 200, NULL, NULL, 0);

	(void)state;
	expect_str(o, "provider", "openai_chat");
	expect_str(o, "model", "gpt-4o");
	expect_bool(o, "stream", true);
	expect_str(o, "request.system", "You are a coding agent.\nUse tools.");
	expect_int(o, "request.max_tokens", 4096);
	expect_int(o, "request.temperature", 0);
	expect_size(o, "request.messages", 3);
	expect_str(o, "request.messages.0.role", "user");
	expect_str(o, "request.messages.0.content.0.text", "What is in /tmp?");
	expect_str(o, "request.messages.0.content.1.type", "image_url");
	expect_json(o, "request.messages.1",
		    "{\"content\":null,\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"call_1\","
		    "\"input\":{\"cmd\":\"ls /tmp\"},\"name\":\"shell\"}]}");
	expect_json(o, "request.messages.2",
		    "{\"content\":\"a.txt\\nb.txt\",\"role\":\"tool\",\"tool_call_id\":\"call_1\"}");
	expect_json(o, "request.tools",
		    "[{\"description\":\"Run a command\",\"input_schema\":{\"properties\":{\"cmd\":"
		    "{\"type\":\"string\"}},\"type\":\"object\"},\"name\":\"shell\"}]");
	json_decref(o);
}

static void test_openai_chat_response(void **state)
{
	json_t *o = run(LLM_OPENAI_CHAT, NULL, 200,
			"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\","
			"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Checking both.\","
			"\"tool_calls\":[{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"shell\","
			"\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}},{\"id\":\"call_b\",\"type\":\"function\","
			"\"function\":{\"name\":\"read\",\"arguments\":\"{\\\"path\\\":\\\"/etc/hosts\\\"}\"}}]},"
			"\"finish_reason\":\"tool_calls\"}],"
			"\"usage\":{\"prompt_tokens\":2006,\"completion_tokens\":300,\"total_tokens\":2306,"
			"\"prompt_tokens_details\":{\"cached_tokens\":1920}}}",
			NULL, 0);

	(void)state;
	expect_str(o, "model", "gpt-4o-2024-08-06");
	expect_str(o, "response.text", "Checking both.");
	expect_str(o, "response.stop_reason", "tool_calls");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":\"call_a\",\"input\":{\"cmd\":\"ls\"},\"name\":\"shell\"},"
		    "{\"id\":\"call_b\",\"input\":{\"path\":\"/etc/hosts\"},\"name\":\"read\"}]");
	expect_json(o, "usage",
		    "{\"cache_read_tokens\":1920,\"cache_write_tokens\":null,\"input_tokens\":2006,"
		    "\"output_tokens\":300}");
	expect_null(o, "error");
	json_decref(o);

	o = run(LLM_OPENAI_CHAT, NULL, 401,
		"{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\","
		"\"param\":null,\"code\":\"invalid_api_key\"}}",
		NULL, 0);
	expect_str(o, "error.type", "invalid_request_error");
	expect_str(o, "error.message", "Incorrect API key provided");
	expect_str(o, "error.detail.code", "invalid_api_key");
	json_decref(o);
}

#define CHUNK(delta, finish)                                                                   \
	"{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","    \
	"\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" finish "}]}"

static void test_openai_chat_stream(void **state)
{
	static const struct ev evs[] = {
		{ NULL, CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null") },
		{ NULL, CHUNK("{\"content\":\"Two \"}", "null") },
		{ NULL, CHUNK("{\"content\":\"calls.\"}", "null") },
		{ NULL, CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_x\",\"type\":\"function\",\"function\":{\"name\":\"shell\",\"arguments\":\"\"}}]}", "null") },
		{ NULL, CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"cm\"}}]}", "null") },
		{ NULL, CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"d\\\": \\\"uname\"}}]}", "null") },
		{ NULL, CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"call_y\",\"type\":\"function\",\"function\":{\"name\":\"read\",\"arguments\":\"\"}}]}", "null") },
		{ NULL, CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\" -a\"}}]}", "null") },
		{ NULL, CHUNK("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"path\\\":\\\"/a\\\"}\"}}]}", "null") },
		{ NULL, CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"}\"}}]}", "null") },
		{ NULL, CHUNK("{}", "\"tool_calls\"") },
		{ NULL, "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],"
			"\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":0}}}" },
		{ NULL, "[DONE]" },
	};
	json_t *o = run(LLM_OPENAI_CHAT, CHAT_REQ, 200, NULL, evs, NEV(evs));

	(void)state;
	expect_str(o, "model", "gpt-4o-mini");
	expect_str(o, "response.text", "Two calls.");
	expect_str(o, "response.stop_reason", "tool_calls");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":\"call_x\",\"input\":{\"cmd\":\"uname -a\"},\"name\":\"shell\"},"
		    "{\"id\":\"call_y\",\"input\":{\"path\":\"/a\"},\"name\":\"read\"}]");
	expect_json(o, "usage",
		    "{\"cache_read_tokens\":0,\"cache_write_tokens\":null,\"input_tokens\":50,"
		    "\"output_tokens\":40}");
	expect_int(o, "first_token_ts_ns", 2000);   /* the empty first content does not count */
	expect_null(o, "error");
	json_decref(o);

	static const struct ev err[] = {
		{ NULL, CHUNK("{\"content\":\"x\"}", "null") },
		{ NULL, "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}" },
		{ NULL, "not json at all" },
	};
	o = run(LLM_OPENAI_CHAT, NULL, 200, NULL, err, NEV(err));
	expect_str(o, "error.where", "stream");
	expect_str(o, "error.type", "server_error");
	expect_str(o, "response.text", "x");
	json_decref(o);
}

/* ---- OpenAI Responses ------------------------------------------------------------- */

static const char RESPONSES_REQ[] =
	"{\"model\":\"gpt-5-codex\",\"instructions\":\"You are Codex.\",\"stream\":true,"
	"\"max_output_tokens\":1000,"
	"\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"list files\"}]},"
	"{\"type\":\"function_call\",\"call_id\":\"call_9\",\"name\":\"shell\",\"arguments\":\"{\\\"command\\\":[\\\"ls\\\"]}\"},"
	"{\"type\":\"function_call_output\",\"call_id\":\"call_9\",\"output\":\"README.md\"},"
	"{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]}],"
	"\"tools\":[{\"type\":\"function\",\"name\":\"shell\",\"description\":\"Runs a command\","
	"\"parameters\":{\"type\":\"object\"}},{\"type\":\"web_search_preview\"}]}";

static const char RESPONSES_BODY[] =
	"{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"gpt-5-codex-2025\","
	"\"error\":null,\"incomplete_details\":null,"
	"\"output\":[{\"type\":\"reasoning\",\"id\":\"rs_2\",\"summary\":[]},"
	"{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Reading it.\",\"annotations\":[]}]},"
	"{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_10\",\"name\":\"shell\",\"arguments\":\"{\\\"command\\\":[\\\"cat\\\",\\\"README.md\\\"]}\"}],"
	"\"usage\":{\"input_tokens\":900,\"input_tokens_details\":{\"cached_tokens\":512},"
	"\"output_tokens\":30,\"output_tokens_details\":{\"reasoning_tokens\":10},\"total_tokens\":930}}";

static void test_openai_responses(void **state)
{
	json_t *o = run(LLM_OPENAI_RESPONSES, RESPONSES_REQ, 200, RESPONSES_BODY, NULL, 0);

	(void)state;
	expect_str(o, "provider", "openai_responses");
	expect_str(o, "model", "gpt-5-codex-2025");
	expect_str(o, "request.system", "You are Codex.");
	expect_int(o, "request.max_tokens", 1000);
	expect_size(o, "request.messages", 4);
	expect_json(o, "request.messages.0", "{\"content\":\"list files\",\"role\":\"user\"}");
	expect_json(o, "request.messages.1",
		    "{\"content\":null,\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"call_9\","
		    "\"input\":{\"command\":[\"ls\"]},\"name\":\"shell\"}]}");
	expect_json(o, "request.messages.2",
		    "{\"content\":\"README.md\",\"role\":\"tool\",\"tool_call_id\":\"call_9\"}");
	expect_str(o, "request.messages.3.content.0.type", "reasoning");
	expect_json(o, "request.tools",
		    "[{\"description\":\"Runs a command\",\"input_schema\":{\"type\":\"object\"},"
		    "\"name\":\"shell\"},{\"name\":\"web_search_preview\",\"type\":\"web_search_preview\"}]");
	expect_str(o, "response.text", "Reading it.");
	expect_str(o, "response.stop_reason", "completed");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":\"call_10\",\"input\":{\"command\":[\"cat\",\"README.md\"]},\"name\":\"shell\"}]");
	expect_json(o, "usage",
		    "{\"cache_read_tokens\":512,\"cache_write_tokens\":null,\"input_tokens\":900,"
		    "\"output_tokens\":30}");
	json_decref(o);
}

static void test_openai_responses_stream(void **state)
{
	static const struct ev evs[] = {
		{ "response.created", "{\"type\":\"response.created\",\"response\":{\"id\":\"resp_2\",\"model\":\"gpt-5\",\"status\":\"in_progress\",\"output\":[]}}" },
		{ "response.output_item.added", "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}}" },
		{ "response.output_text.delta", "{\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"On \"}" },
		{ "response.output_text.delta", "{\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"it.\"}" },
		{ "response.output_item.added", "{\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"type\":\"function_call\",\"id\":\"fc_2\",\"call_id\":\"call_20\",\"name\":\"shell\",\"arguments\":\"\"}}" },
		{ "response.function_call_arguments.delta", "{\"type\":\"response.function_call_arguments.delta\",\"output_index\":1,\"item_id\":\"fc_2\",\"delta\":\"{\\\"command\\\":\"}" },
		{ "response.function_call_arguments.delta", "{\"type\":\"response.function_call_arguments.delta\",\"output_index\":1,\"item_id\":\"fc_2\",\"delta\":\"[\\\"pwd\\\"]}\"}" },
		{ "response.function_call_arguments.done", "{\"type\":\"response.function_call_arguments.done\",\"output_index\":1,\"item_id\":\"fc_2\",\"arguments\":\"{\\\"command\\\":[\\\"pwd\\\"]}\"}" },
		{ "response.unknown_thing", "{\"type\":\"response.unknown_thing\"}" },
	};
	json_t *o = run(LLM_OPENAI_RESPONSES, RESPONSES_REQ, 200, NULL, evs, NEV(evs));

	(void)state;
	/* no response.completed: what the deltas built */
	expect_str(o, "model", "gpt-5");
	expect_str(o, "response.text", "On it.");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":\"call_20\",\"input\":{\"command\":[\"pwd\"]},\"name\":\"shell\"}]");
	expect_int(o, "first_token_ts_ns", 3000);
	expect_null(o, "response.stop_reason");
	json_decref(o);

	/* response.completed carries the whole response, which wins */
	struct llm_call *c = llm_call_new(LLM_OPENAI_RESPONSES);
	assert_non_null(c);
	for (size_t i = 0; i < NEV(evs); i++)
		assert_int_equal(llm_call_sse_event(c, evs[i].event, evs[i].data, (i + 1) * 1000), 0);
	char *done = NULL;
	assert_true(asprintf(&done, "{\"type\":\"response.completed\",\"response\":%s}", RESPONSES_BODY) > 0);
	assert_int_equal(llm_call_sse_event(c, "response.completed", done, 99000), 0);
	free(done);
	o = finish(c);
	expect_str(o, "response.text", "Reading it.");
	expect_str(o, "response.tool_calls.0.id", "call_10");
	expect_size(o, "response.tool_calls", 1);
	expect_int(o, "usage.input_tokens", 900);
	expect_int(o, "first_token_ts_ns", 3000);
	json_decref(o);

	static const struct ev err[] = {
		{ "error", "{\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down\",\"param\":null}" },
	};
	o = run(LLM_OPENAI_RESPONSES, NULL, 200, NULL, err, NEV(err));
	expect_str(o, "error.type", "rate_limit_exceeded");
	expect_str(o, "error.message", "Slow down");
	json_decref(o);

	static const struct ev failed[] = {
		{ "response.failed", "{\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"},\"output\":[]}}" },
	};
	o = run(LLM_OPENAI_RESPONSES, NULL, 200, NULL, failed, NEV(failed));
	expect_str(o, "error.type", "server_error");
	expect_str(o, "error.message", "boom");
	expect_str(o, "response.stop_reason", "failed");
	json_decref(o);
}

/* ---- Gemini ---------------------------------------------------------------------- */

static const char GEMINI_REQ[] =
	"{\"systemInstruction\":{\"parts\":[{\"text\":\"You are Gemini CLI.\"}]},"
	"\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"what time is it?\"}]},"
	"{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"run_shell_command\",\"args\":{\"command\":\"date\"}}}]},"
	"{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"run_shell_command\",\"response\":{\"output\":\"Mon\"}}}]}],"
	"\"tools\":[{\"functionDeclarations\":[{\"name\":\"run_shell_command\",\"description\":\"Runs\","
	"\"parameters\":{\"type\":\"OBJECT\"}}]},{\"googleSearch\":{}}],"
	"\"generationConfig\":{\"temperature\":0.2,\"maxOutputTokens\":2048}}";

static void test_gemini(void **state)
{
	struct llm_call *c = llm_call_new(LLM_GEMINI);
	json_t *o;
	static const char body[] =
		"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
		"{\"text\":\"thinking...\",\"thought\":true},{\"text\":\"It is Monday.\"},"
		"{\"functionCall\":{\"name\":\"run_shell_command\",\"args\":{\"command\":\"date +%H\"}}}]},"
		"\"finishReason\":\"STOP\"}],"
		"\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":15,"
		"\"thoughtsTokenCount\":5,\"cachedContentTokenCount\":100,\"totalTokenCount\":140},"
		"\"modelVersion\":\"gemini-2.5-pro\"}";

	(void)state;
	assert_non_null(c);
	assert_int_equal(llm_call_set_path(c, "/v1beta/models/gemini-2.5-pro:generateContent"), 0);
	assert_int_equal(llm_call_request(c, (const uint8_t *)GEMINI_REQ, strlen(GEMINI_REQ)), 0);
	assert_int_equal(llm_call_response_status(c, 200), 0);
	assert_int_equal(llm_call_response_body(c, (const uint8_t *)body, strlen(body)), 0);
	o = finish(c);
	expect_str(o, "provider", "gemini");
	expect_str(o, "model", "gemini-2.5-pro");
	expect_bool(o, "stream", false);
	expect_str(o, "request.system", "You are Gemini CLI.");
	assert_true(json_real_value(at(o, "request.temperature")) == 0.2);
	expect_int(o, "request.max_tokens", 2048);
	expect_json(o, "request.messages.0", "{\"content\":\"what time is it?\",\"role\":\"user\"}");
	expect_str(o, "request.messages.1.content.0.functionCall.name", "run_shell_command");
	expect_json(o, "request.tools",
		    "[{\"description\":\"Runs\",\"input_schema\":{\"type\":\"OBJECT\"},"
		    "\"name\":\"run_shell_command\"},{\"name\":\"googleSearch\"}]");
	expect_str(o, "response.text", "It is Monday.");
	expect_str(o, "response.stop_reason", "STOP");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":null,\"input\":{\"command\":\"date +%H\"},\"name\":\"run_shell_command\"}]");
	expect_json(o, "usage",
		    "{\"cache_read_tokens\":100,\"cache_write_tokens\":null,\"input_tokens\":120,"
		    "\"output_tokens\":20}");
	json_decref(o);
}

static void test_gemini_stream(void **state)
{
	static const struct ev evs[] = {
		{ NULL, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"modelVersion\":\"gemini-2.0-flash\"}" },
		{ NULL, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"}]}}],\"modelVersion\":\"gemini-2.0-flash\"}" },
		{ NULL, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"a\",\"args\":{}}},{\"functionCall\":{\"name\":\"b\",\"args\":{\"x\":1}}}]},\"finishReason\":\"STOP\"}],"
			"\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":3}}" },
	};
	struct llm_call *c = llm_call_new(LLM_GEMINI);
	json_t *o;

	(void)state;
	assert_non_null(c);
	assert_int_equal(llm_call_set_path(c, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"), 0);
	for (size_t i = 0; i < NEV(evs); i++)
		assert_int_equal(llm_call_sse_event(c, evs[i].event, evs[i].data, (i + 1) * 1000), 0);
	o = finish(c);
	expect_str(o, "model", "gemini-2.0-flash");
	expect_bool(o, "stream", true);
	expect_str(o, "response.text", "Hello");
	expect_json(o, "response.tool_calls",
		    "[{\"id\":null,\"input\":{},\"name\":\"a\"},{\"id\":null,\"input\":{\"x\":1},\"name\":\"b\"}]");
	expect_int(o, "usage.output_tokens", 3);
	expect_int(o, "first_token_ts_ns", 1000);
	json_decref(o);

	/* without alt=sse the stream is one JSON array; the model comes from the path */
	c = llm_call_new(LLM_GEMINI);
	assert_non_null(c);
	assert_int_equal(llm_call_set_path(c, "/v1/projects/p/locations/us/publishers/google/models/gemini-pro:streamGenerateContent"), 0);
	static const char arr[] = "[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]},"
				  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}]";
	assert_int_equal(llm_call_response_body(c, (const uint8_t *)arr, strlen(arr)), 0);
	o = finish(c);
	expect_str(o, "model", "gemini-pro");
	expect_str(o, "response.text", "ab");
	json_decref(o);

	o = run(LLM_GEMINI, NULL, 429,
		"{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
		NULL, 0);
	expect_str(o, "error.type", "RESOURCE_EXHAUSTED");
	expect_int(o, "error.detail.code", 429);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_anthropic_request),
		cmocka_unit_test(test_anthropic_response),
		cmocka_unit_test(test_anthropic_stream),
		cmocka_unit_test(test_anthropic_error_429),
		cmocka_unit_test(test_anthropic_stream_error),
		cmocka_unit_test(test_error_status_html),
		cmocka_unit_test(test_malformed_bodies),
		cmocka_unit_test(test_anthropic_anomalies),
		cmocka_unit_test(test_cap_truncates),
		cmocka_unit_test(test_finish_twice),
		cmocka_unit_test(test_openai_chat_request),
		cmocka_unit_test(test_openai_chat_response),
		cmocka_unit_test(test_openai_chat_stream),
		cmocka_unit_test(test_openai_responses),
		cmocka_unit_test(test_openai_responses_stream),
		cmocka_unit_test(test_gemini),
		cmocka_unit_test(test_gemini_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
