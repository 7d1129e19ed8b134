/* SPDX-License-Identifier: MIT */
/*
 * OpenAI Chat Completions (/v1/chat/completions) and Responses API
 * (/v1/responses): requests, JSON responses and SSE streams. Many other
 * providers (OpenRouter, Groq, DeepSeek, vLLM, ...) speak Chat Completions.
 */
#include <string.h>

#include "decode/llm.h"

static void first_token(struct llm_call *c, uint64_t ts_ns)
{
	if (!c->first_token_ts_ns)
		c->first_token_ts_ns = ts_ns;
}

/* Text when the content is text only, else copies of its parts. */
static json_t *content_json(const json_t *content)
{
	return llm_content_json(content, llm_block_copy);
}

/* {id, name, input}: input parsed from an `arguments` JSON string when it
 * is JSON, else the string itself. */
static json_t *call_json(const json_t *id, const json_t *name, const json_t *arguments)
{
	json_t *o = json_object(), *input = NULL;

	if (json_is_string(arguments))
		input = llm_parse_args(json_string_value(arguments), json_string_length(arguments));
	if (!input)
		input = arguments ? json_incref((json_t *)arguments) : json_null();
	if (!o || llm_put(o, "id", id ? json_incref((json_t *)id) : json_null()) < 0 ||
	    llm_put(o, "name", name ? json_incref((json_t *)name) : json_null()) < 0 ||
	    llm_put(o, "input", input) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Append a system text to *sys, joined with "\n". */
static int system_add(json_t **sys, const json_t *text)
{
	json_t *joined;

	if (!*sys) {
		*sys = json_incref((json_t *)text);
		return 0;
	}
	joined = json_sprintf("%s\n%s", json_string_value(*sys), json_string_value(text));
	if (!joined)
		return -1;
	json_decref(*sys);
	*sys = joined;
	return 0;
}

static int put_request(struct llm_call *c, json_t *req, const json_t *root)
{
	const json_t *max = json_object_get(root, "max_completion_tokens");

	if (!max)
		max = json_object_get(root, "max_tokens");
	if (!max)
		max = json_object_get(root, "max_output_tokens");
	if (llm_put_opt(req, "max_tokens", max) < 0 ||
	    llm_put_opt(req, "temperature", json_object_get(root, "temperature")) < 0)
		return -1;
	json_decref(c->request);
	c->request = json_incref(req);
	return 0;
}

/* ---- Chat Completions ------------------------------------------------------- */

static json_t *chat_message(const json_t *m)
{
	json_t *o = json_object(), *calls;
	const json_t *tc;
	size_t i;

	if (!o || llm_put(o, "role", json_incref(json_object_get(m, "role")) ?: json_null()) < 0 ||
	    llm_put(o, "content", content_json(json_object_get(m, "content"))) < 0 ||
	    llm_put_opt(o, "tool_call_id", json_object_get(m, "tool_call_id")) < 0)
		goto fail;
	if (!json_is_array(json_object_get(m, "tool_calls")))
		return o;
	calls = json_array();
	if (llm_put(o, "tool_calls", calls) < 0)
		goto fail;
	json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
		const json_t *fn = json_object_get(tc, "function");

		if (json_array_append_new(calls, call_json(json_object_get(tc, "id"),
							   json_object_get(fn, "name"),
							   json_object_get(fn, "arguments"))) < 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* Chat and Responses function tools: {type: function, function: {...}} or
 * {type: function, name, ...}; built-in tools keep their type as name. */
static json_t *tools_json(const json_t *tools)
{
	json_t *out = json_array();
	const json_t *t;
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(tools, i, t) {
		const json_t *fn = json_object_get(t, "function");
		json_t *o = json_object();

		if (!json_is_object(fn))
			fn = t;
		if (!o || llm_put_opt(o, "name", json_object_get(fn, "name") ?: json_object_get(t, "type")) < 0 ||
		    llm_put_opt(o, "description", json_object_get(fn, "description")) < 0 ||
		    llm_put_opt(o, "input_schema", json_object_get(fn, "parameters")) < 0 ||
		    (!llm_type_is(t, "function") && llm_put_opt(o, "type", json_object_get(t, "type")) < 0) ||
		    json_array_append_new(out, o) < 0) {
			json_decref(o);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

int llm_openai_chat_request(struct llm_call *c, json_t *root)
{
	json_t *req = json_object(), *msgs = json_array(), *sys = NULL;
	const json_t *m;
	size_t i;
	int rc = -1;

	if (!req || !msgs)
		goto out;
	json_array_foreach(json_object_get(root, "messages"), i, m) {
		const char *role = llm_str(m, "role");
		json_t *text;

		/* system and developer messages become `system` when they are text */
		if (role && (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) &&
		    (text = llm_text_of(json_object_get(m, "content")))) {
			int r = system_add(&sys, text);

			json_decref(text);
			if (r < 0)
				goto out;
			continue;
		}
		if (json_array_append_new(msgs, chat_message(m)) < 0)
			goto out;
	}
	if (llm_put(req, "system", sys ? json_incref(sys) : json_null()) < 0 ||
	    llm_put(req, "messages", json_incref(msgs)) < 0 ||
	    llm_put(req, "tools", tools_json(json_object_get(root, "tools"))) < 0 ||
	    put_request(c, req, root) < 0)
		goto out;
	rc = 0;
out:
	json_decref(sys);
	json_decref(msgs);
	json_decref(req);
	return rc;
}

static void chat_usage(struct llm_call *c, const json_t *u)
{
	llm_set_usage(c, LLM_U_INPUT, json_object_get(u, "prompt_tokens"));
	llm_set_usage(c, LLM_U_OUTPUT, json_object_get(u, "completion_tokens"));
	llm_set_usage(c, LLM_U_CACHE_READ,
		      json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
}

/* The first choice (index 0) of a response or chunk, or NULL. */
static const json_t *first_choice(const json_t *root)
{
	const json_t *ch;
	size_t i;

	json_array_foreach(json_object_get(root, "choices"), i, ch) {
		const json_t *idx = json_object_get(ch, "index");

		if (!idx || (json_is_integer(idx) && json_integer_value(idx) == 0))
			return ch;
	}
	return NULL;
}

static int add_args(struct llm_call *c, struct llm_tool *t, const json_t *args)
{
	if (!json_is_string(args))
		return 0;
	return llm_buf_append(c, &t->args, json_string_value(args), json_string_length(args));
}

int llm_openai_chat_response(struct llm_call *c, json_t *root)
{
	const json_t *ch = first_choice(root), *msg = json_object_get(ch, "message"), *tc;
	size_t i;

	if (!json_is_object(root))
		return llm_set_error(c, "response", "malformed", "response is not a JSON object", NULL);
	if (llm_set_str(&c->model, json_object_get(root, "model")) < 0 ||
	    llm_set_str(&c->stop_reason, json_object_get(ch, "finish_reason")) < 0 ||
	    llm_append_text(c, json_object_get(msg, "content")) < 0)
		return -1;
	chat_usage(c, json_object_get(root, "usage"));
	json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
		const json_t *fn = json_object_get(tc, "function");
		bool oom;
		struct llm_tool *t = llm_tool_get(c, llm_tool_next_key(c), true, &oom);

		if (oom)
			return -1;
		if (t && (llm_set_str(&t->id, json_object_get(tc, "id")) < 0 ||
			  llm_set_str(&t->name, json_object_get(fn, "name")) < 0 ||
			  add_args(c, t, json_object_get(fn, "arguments")) < 0))
			return -1;
	}
	return 0;
}

int llm_openai_chat_event(struct llm_call *c, const char *event, json_t *data, uint64_t ts_ns)
{
	const json_t *ch, *delta, *tc, *content;
	size_t i;
	int r;

	r = llm_error_from(c, "stream", data);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (llm_set_str(&c->model, json_object_get(data, "model")) < 0)
		return -1;
	chat_usage(c, json_object_get(data, "usage"));
	ch = first_choice(data);
	delta = json_object_get(ch, "delta");
	if (llm_set_str(&c->stop_reason, json_object_get(ch, "finish_reason")) < 0)
		return -1;
	content = json_object_get(delta, "content");
	if (json_string_length(content) > 0) {
		first_token(c, ts_ns);
		if (llm_append_text(c, content) < 0)
			return -1;
	}
	json_array_foreach(json_object_get(delta, "tool_calls"), i, tc) {
		const json_t *idx = json_object_get(tc, "index"), *fn = json_object_get(tc, "function");
		long long key = json_is_integer(idx) ? json_integer_value(idx) : (long long)i;
		bool oom;
		struct llm_tool *t = llm_tool_get(c, key, true, &oom);

		if (oom)
			return -1;
		if (!t)
			continue;
		first_token(c, ts_ns);
		if (llm_set_str(&t->id, json_object_get(tc, "id")) < 0 ||
		    llm_set_str(&t->name, json_object_get(fn, "name")) < 0 ||
		    add_args(c, t, json_object_get(fn, "arguments")) < 0)
			return -1;
	}
	return 0;
}

/* ---- Responses API ---------------------------------------------------------- */

static json_t *input_item(const json_t *item)
{
	const char *type = llm_str(item, "type");
	json_t *o = json_object(), *calls;

	if (!o)
		return NULL;
	if (type && strcmp(type, "function_call") == 0) {
		if (llm_put(o, "tool_calls", calls = json_array()) < 0 ||
		    llm_put(o, "role", json_string("assistant")) < 0 ||
		    llm_put(o, "content", json_null()) < 0 ||
		    json_array_append_new(calls, call_json(json_object_get(item, "call_id"),
							   json_object_get(item, "name"),
							   json_object_get(item, "arguments"))) < 0)
			goto fail;
		return o;
	}
	if (type && strcmp(type, "function_call_output") == 0) {
		if (llm_put(o, "role", json_string("tool")) < 0 ||
		    llm_put(o, "content", content_json(json_object_get(item, "output"))) < 0 ||
		    llm_put_opt(o, "tool_call_id", json_object_get(item, "call_id")) < 0)
			goto fail;
		return o;
	}
	if (json_object_get(item, "role")) {   /* a message, with or without its type */
		if (llm_put(o, "role", json_incref(json_object_get(item, "role"))) < 0 ||
		    llm_put(o, "content", content_json(json_object_get(item, "content"))) < 0)
			goto fail;
		return o;
	}
	/* reasoning, built-in tool calls, ...: kept as they are */
	if (llm_put(o, "role", json_null()) < 0 ||
	    llm_put(o, "content", json_pack("[o]", llm_block_copy(item))) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int llm_openai_responses_request(struct llm_call *c, json_t *root)
{
	const json_t *input = json_object_get(root, "input");
	const json_t *instr = json_object_get(root, "instructions");
	json_t *req = json_object(), *msgs = json_array();
	const json_t *item;
	size_t i;
	int rc = -1;

	if (!req || !msgs)
		goto out;
	if (json_is_string(input)) {
		if (json_array_append_new(msgs, json_pack("{s:s,s:O}", "role", "user", "content",
							  input)) < 0)
			goto out;
	}
	json_array_foreach(input, i, item) {
		if (json_array_append_new(msgs, input_item(item)) < 0)
			goto out;
	}
	if (llm_put(req, "system", json_is_string(instr) ? json_incref((json_t *)instr) : json_null()) < 0 ||
	    llm_put(req, "messages", json_incref(msgs)) < 0 ||
	    llm_put(req, "tools", tools_json(json_object_get(root, "tools"))) < 0 ||
	    put_request(c, req, root) < 0)
		goto out;
	rc = 0;
out:
	json_decref(msgs);
	json_decref(req);
	return rc;
}

static void responses_usage(struct llm_call *c, const json_t *u)
{
	llm_set_usage(c, LLM_U_INPUT, json_object_get(u, "input_tokens"));
	llm_set_usage(c, LLM_U_OUTPUT, json_object_get(u, "output_tokens"));
	llm_set_usage(c, LLM_U_CACHE_READ,
		      json_object_get(json_object_get(u, "input_tokens_details"), "cached_tokens"));
}

/* Set a tool call's argument text to args (a string), replacing deltas. */
static int set_args(struct llm_call *c, struct llm_tool *t, const json_t *args)
{
	if (!json_is_string(args))
		return 0;
	llm_buf_clear(&t->args);
	return add_args(c, t, args);
}

static int function_item(struct llm_call *c, long long key, const json_t *item)
{
	bool oom;
	struct llm_tool *t = llm_tool_get(c, key, true, &oom);

	if (oom)
		return -1;
	if (!t)
		return 0;
	if (llm_set_str(&t->id, json_object_get(item, "call_id")) < 0 ||
	    llm_set_str(&t->name, json_object_get(item, "name")) < 0)
		return -1;
	if (json_string_length(json_object_get(item, "arguments")) > 0)
		return set_args(c, t, json_object_get(item, "arguments"));
	return 0;
}

int llm_openai_responses_response(struct llm_call *c, json_t *root)
{
	const json_t *item, *part, *reason;
	size_t i, j;

	if (!json_is_object(root))
		return llm_set_error(c, "response", "malformed", "response is not a JSON object", NULL);
	reason = json_object_get(json_object_get(root, "incomplete_details"), "reason");
	if (llm_set_str(&c->model, json_object_get(root, "model")) < 0 ||
	    llm_set_str(&c->stop_reason, json_object_get(root, "status")) < 0 ||
	    llm_set_str(&c->stop_reason, reason) < 0)
		return -1;
	responses_usage(c, json_object_get(root, "usage"));
	json_array_foreach(json_object_get(root, "output"), i, item) {
		if (llm_type_is(item, "message")) {
			json_array_foreach(json_object_get(item, "content"), j, part)
				if (llm_type_is(part, "output_text") &&
				    llm_append_text(c, json_object_get(part, "text")) < 0)
					return -1;
		} else if (llm_type_is(item, "function_call")) {
			if (function_item(c, llm_tool_next_key(c), item) < 0)
				return -1;
		}
	}
	return 0;
}

static long long output_index(const json_t *data)
{
	const json_t *i = json_object_get(data, "output_index");

	return json_is_integer(i) ? json_integer_value(i) : -1;
}

int llm_openai_responses_event(struct llm_call *c, const char *event, json_t *data,
			       uint64_t ts_ns)
{
	const char *type = llm_str(data, "type");
	const json_t *resp = json_object_get(data, "response");
	const json_t *item = json_object_get(data, "item");
	const json_t *delta = json_object_get(data, "delta");
	long long key = output_index(data);
	struct llm_tool *t;
	bool oom;

	if (!type)
		type = event ? event : "";
	if (strcmp(type, "response.created") == 0 || strcmp(type, "response.in_progress") == 0)
		return llm_set_str(&c->model, json_object_get(resp, "model"));
	if (strcmp(type, "response.completed") == 0 || strcmp(type, "response.incomplete") == 0 ||
	    strcmp(type, "response.failed") == 0) {
		int r = llm_error_from(c, "stream", resp);

		if (r < 0)
			return -1;
		/* the final response is whole: it replaces what the deltas built */
		if (json_array_size(json_object_get(resp, "output")) > 0) {
			llm_buf_clear(&c->text);
			llm_tools_clear(c);
		}
		c->done = true;
		return llm_openai_responses_response(c, (json_t *)resp);
	}
	if (strcmp(type, "error") == 0) {
		const char *code = llm_str(data, "code");

		return llm_set_error(c, "stream", code ? code : "error", llm_str(data, "message"),
				     data);
	}
	if (strcmp(type, "response.output_text.delta") == 0) {
		if (!json_is_string(delta))
			return 0;
		first_token(c, ts_ns);
		return llm_append_text(c, delta);
	}
	if (key < 0)
		return 0;
	if (strcmp(type, "response.output_item.added") == 0 ||
	    strcmp(type, "response.output_item.done") == 0) {
		if (!llm_type_is(item, "function_call"))
			return 0;
		return function_item(c, key, item);
	}
	if (strcmp(type, "response.function_call_arguments.delta") == 0) {
		if (!json_is_string(delta))
			return 0;
		first_token(c, ts_ns);
		t = llm_tool_get(c, key, true, &oom);
		if (oom)
			return -1;
		return t ? add_args(c, t, delta) : 0;
	}
	if (strcmp(type, "response.function_call_arguments.done") == 0) {
		t = llm_tool_get(c, key, true, &oom);
		if (oom)
			return -1;
		return t ? set_args(c, t, json_object_get(data, "arguments")) : 0;
	}
	return 0;   /* reasoning, content_part, ...: not recorded */
}
