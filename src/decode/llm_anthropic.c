/* SPDX-License-Identifier: MIT */
/*
 * Anthropic Messages API (/v1/messages): the request, the JSON response and
 * the SSE stream (message_start, content_block_start / _delta / _stop,
 * message_delta, message_stop, ping, error).
 */
#include <string.h>

#include "decode/llm.h"

/* A tool_result's content as text when it is text only, else its blocks. */
static json_t *block_copy(const json_t *b)
{
	json_t *copy, *text;

	if (!llm_type_is(b, "tool_result"))
		return llm_block_copy(b);
	copy = llm_block_copy(b);
	if (!copy)
		return NULL;
	text = llm_text_of(json_object_get(b, "content"));
	if (text && json_object_set_new(copy, "content", text) < 0) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

/* Text when the content is text only, else copies of its blocks. */
static json_t *content_json(const json_t *content)
{
	return llm_content_json(content, block_copy);
}

static json_t *messages_json(const json_t *messages)
{
	json_t *out = json_array();
	const json_t *m;
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(messages, i, m) {
		json_t *o = json_object();

		if (!o || llm_put(o, "role", json_incref(json_object_get(m, "role")) ?: json_null()) < 0 ||
		    llm_put(o, "content", content_json(json_object_get(m, "content"))) < 0 ||
		    json_array_append_new(out, o) < 0) {
			json_decref(o);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *tools_json(const json_t *tools)
{
	json_t *out = json_array();
	const json_t *t;
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(tools, i, t) {
		json_t *o = json_object();
		const char *type = llm_str(t, "type");

		if (!o || llm_put_opt(o, "name", json_object_get(t, "name")) < 0 ||
		    llm_put_opt(o, "description", json_object_get(t, "description")) < 0 ||
		    llm_put_opt(o, "input_schema", json_object_get(t, "input_schema")) < 0 ||
		    /* server tools (web_search_...) carry a versioned type */
		    (type && strcmp(type, "custom") != 0 &&
		     llm_put_opt(o, "type", json_object_get(t, "type")) < 0) ||
		    json_array_append_new(out, o) < 0) {
			json_decref(o);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

int llm_anthropic_request(struct llm_call *c, json_t *root)
{
	json_t *req = json_object();
	const json_t *system = json_object_get(root, "system");

	if (!req || llm_put(req, "system", system ? content_json(system) : json_null()) < 0 ||
	    llm_put(req, "messages", messages_json(json_object_get(root, "messages"))) < 0 ||
	    llm_put(req, "tools", tools_json(json_object_get(root, "tools"))) < 0 ||
	    llm_put_opt(req, "max_tokens", json_object_get(root, "max_tokens")) < 0 ||
	    llm_put_opt(req, "temperature", json_object_get(root, "temperature")) < 0) {
		json_decref(req);
		return -1;
	}
	json_decref(c->request);
	c->request = req;
	return 0;
}

static void usage(struct llm_call *c, const json_t *u)
{
	llm_set_usage(c, LLM_U_INPUT, json_object_get(u, "input_tokens"));
	llm_set_usage(c, LLM_U_OUTPUT, json_object_get(u, "output_tokens"));
	llm_set_usage(c, LLM_U_CACHE_READ, json_object_get(u, "cache_read_input_tokens"));
	llm_set_usage(c, LLM_U_CACHE_WRITE, json_object_get(u, "cache_creation_input_tokens"));
}

static bool is_tool_block(const json_t *b)
{
	return llm_type_is(b, "tool_use") || llm_type_is(b, "server_tool_use");
}

int llm_anthropic_response(struct llm_call *c, json_t *root)
{
	const json_t *b;
	size_t i;

	if (!json_is_object(root))
		return llm_set_error(c, "response", "malformed", "response is not a JSON object", NULL);
	if (llm_set_str(&c->model, json_object_get(root, "model")) < 0 ||
	    llm_set_str(&c->stop_reason, json_object_get(root, "stop_reason")) < 0)
		return -1;
	usage(c, json_object_get(root, "usage"));
	json_array_foreach(json_object_get(root, "content"), i, b) {
		if (llm_type_is(b, "text")) {
			if (llm_append_text(c, json_object_get(b, "text")) < 0)
				return -1;
		} else if (is_tool_block(b)) {
			bool oom;
			struct llm_tool *t = llm_tool_get(c, llm_tool_next_key(c), true, &oom);

			if (oom)
				return -1;
			if (t && (llm_set_str(&t->id, json_object_get(b, "id")) < 0 ||
				  llm_set_str(&t->name, json_object_get(b, "name")) < 0 ||
				  llm_set_json(&t->input, json_object_get(b, "input")) < 0))
				return -1;
		}
	}
	return 0;
}

static void first_token(struct llm_call *c, uint64_t ts_ns)
{
	if (!c->first_token_ts_ns)
		c->first_token_ts_ns = ts_ns;
}

/* The tool call of a content block; NULL when there is none (and create is
 * not set) or the event has no index. */
static struct llm_tool *block_tool(struct llm_call *c, const json_t *data, bool create, bool *oom)
{
	const json_t *index = json_object_get(data, "index");

	*oom = false;
	if (!json_is_integer(index))
		return NULL;
	return llm_tool_get(c, json_integer_value(index), create, oom);
}

static int block_start(struct llm_call *c, const json_t *data)
{
	const json_t *b = json_object_get(data, "content_block");
	struct llm_tool *t;
	bool oom;

	if (llm_type_is(b, "text"))
		return llm_append_text(c, json_object_get(b, "text"));
	if (!is_tool_block(b))
		return 0;
	t = block_tool(c, data, true, &oom);
	if (oom)
		return -1;
	if (!t)
		return 0;
	if (llm_set_str(&t->id, json_object_get(b, "id")) < 0 ||
	    llm_set_str(&t->name, json_object_get(b, "name")) < 0)
		return -1;
	/* the input arrives as input_json_delta; a start may already carry it */
	if (json_object_size(json_object_get(b, "input")) > 0)
		return llm_set_json(&t->input, json_object_get(b, "input"));
	return 0;
}

static int block_delta(struct llm_call *c, const json_t *data, uint64_t ts_ns)
{
	const json_t *d = json_object_get(data, "delta");
	const json_t *part;
	struct llm_tool *t;
	bool oom;

	if (llm_type_is(d, "text_delta")) {
		first_token(c, ts_ns);
		return llm_append_text(c, json_object_get(d, "text"));
	}
	if (llm_type_is(d, "thinking_delta")) {
		first_token(c, ts_ns);
		return 0;
	}
	if (!llm_type_is(d, "input_json_delta"))
		return 0;
	part = json_object_get(d, "partial_json");
	if (!json_is_string(part))
		return 0;
	first_token(c, ts_ns);
	/* a delta before its block's start still keeps its text */
	t = block_tool(c, data, true, &oom);
	if (oom)
		return -1;
	if (!t)
		return 0;
	return llm_buf_append(c, &t->args, json_string_value(part), json_string_length(part));
}

/* At a block's end its argument text is complete: parse it now. */
static int block_stop(struct llm_call *c, const json_t *data)
{
	struct llm_tool *t;
	json_t *input;
	bool oom;

	t = block_tool(c, data, false, &oom);
	if (!t || t->args.len == 0)
		return 0;
	input = llm_parse_args(t->args.p, t->args.len);
	if (!input)
		return 0;   /* kept as text; the output says `arguments` */
	json_decref(t->input);
	t->input = input;
	llm_buf_clear(&t->args);
	return 0;
}

int llm_anthropic_event(struct llm_call *c, const char *event, json_t *data, uint64_t ts_ns)
{
	const char *type = llm_str(data, "type");
	const json_t *msg;

	if (!type)
		type = event ? event : "";
	if (strcmp(type, "message_start") == 0) {
		msg = json_object_get(data, "message");
		usage(c, json_object_get(msg, "usage"));
		return llm_set_str(&c->model, json_object_get(msg, "model"));
	}
	if (strcmp(type, "content_block_start") == 0)
		return block_start(c, data);
	if (strcmp(type, "content_block_delta") == 0)
		return block_delta(c, data, ts_ns);
	if (strcmp(type, "content_block_stop") == 0)
		return block_stop(c, data);
	if (strcmp(type, "message_delta") == 0) {
		usage(c, json_object_get(data, "usage"));
		return llm_set_str(&c->stop_reason,
				   json_object_get(json_object_get(data, "delta"), "stop_reason"));
	}
	if (strcmp(type, "message_stop") == 0) {
		c->done = true;
		return 0;
	}
	if (strcmp(type, "error") == 0)
		return llm_error_from(c, "stream", data) < 0 ? -1 : 0;
	return 0;   /* ping and event types this decoder does not know */
}
