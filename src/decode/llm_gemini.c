/* SPDX-License-Identifier: MIT */
/*
 * Google Gemini (generativelanguage / Vertex AI): generateContent requests
 * and responses, and streamGenerateContent, whose chunks come one per SSE
 * data event with alt=sse and as one JSON array without it.
 */
#include <string.h>

#include "decode/llm.h"

/* Text when the parts are text only, else copies of them. */
static json_t *parts_json(const json_t *parts)
{
	return llm_content_json(parts, llm_block_copy);
}

static json_t *messages_json(const json_t *contents)
{
	json_t *out = json_array();
	const json_t *m;
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(contents, i, m) {
		json_t *o = json_object();

		if (!o || llm_put(o, "role", json_incref(json_object_get(m, "role")) ?: json_null()) < 0 ||
		    llm_put(o, "content", parts_json(json_object_get(m, "parts"))) < 0 ||
		    json_array_append_new(out, o) < 0) {
			json_decref(o);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static int add_tool(json_t *out, const json_t *name, const json_t *desc, const json_t *schema)
{
	json_t *o = json_object();

	if (!o || llm_put_opt(o, "name", name) < 0 || llm_put_opt(o, "description", desc) < 0 ||
	    llm_put_opt(o, "input_schema", schema) < 0 || json_array_append_new(out, o) < 0) {
		json_decref(o);
		return -1;
	}
	return 0;
}

/* functionDeclarations flattened; other tools (googleSearch, codeExecution)
 * by their key. */
static json_t *tools_json(const json_t *tools)
{
	json_t *out = json_array();
	const json_t *t, *d, *v;
	const char *key;
	size_t i, j;

	if (!out)
		return NULL;
	json_array_foreach(tools, i, t) {
		json_object_foreach((json_t *)t, key, v) {
			if (strcmp(key, "functionDeclarations") != 0 &&
			    strcmp(key, "function_declarations") != 0) {
				json_t *name = json_string(key);
				int r = name ? add_tool(out, name, NULL, NULL) : -1;

				json_decref(name);
				if (r < 0)
					goto fail;
				continue;
			}
			json_array_foreach(v, j, d) {
				const json_t *schema = json_object_get(d, "parameters");

				if (!schema)
					schema = json_object_get(d, "parametersJsonSchema");
				if (add_tool(out, json_object_get(d, "name"),
					     json_object_get(d, "description"), schema) < 0)
					goto fail;
			}
		}
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

int llm_gemini_request(struct llm_call *c, json_t *root)
{
	const json_t *sys = json_object_get(root, "systemInstruction");
	const json_t *gen = json_object_get(root, "generationConfig");
	json_t *req = json_object();

	if (!sys)
		sys = json_object_get(root, "system_instruction");
	if (json_is_object(sys))
		sys = json_object_get(sys, "parts");
	if (!req || llm_put(req, "system", sys ? parts_json(sys) : json_null()) < 0 ||
	    llm_put(req, "messages", messages_json(json_object_get(root, "contents"))) < 0 ||
	    llm_put(req, "tools", tools_json(json_object_get(root, "tools"))) < 0 ||
	    llm_put_opt(req, "max_tokens", json_object_get(gen, "maxOutputTokens")) < 0 ||
	    llm_put_opt(req, "temperature", json_object_get(gen, "temperature")) < 0) {
		json_decref(req);
		return -1;
	}
	json_decref(c->request);
	c->request = req;
	return 0;
}

/* One GenerateContentResponse (a whole response or one stream chunk). */
static int chunk(struct llm_call *c, const json_t *root, uint64_t ts_ns)
{
	const json_t *cand = json_array_get(json_object_get(root, "candidates"), 0);
	const json_t *u = json_object_get(root, "usageMetadata");
	const json_t *p;
	size_t i;

	if (!json_is_object(root))
		return 0;
	if (llm_set_str(&c->model, json_object_get(root, "modelVersion")) < 0 ||
	    llm_set_str(&c->stop_reason, json_object_get(cand, "finishReason")) < 0)
		return -1;
	if (json_is_object(u)) {
		const json_t *out = json_object_get(u, "candidatesTokenCount");
		const json_t *thoughts = json_object_get(u, "thoughtsTokenCount");

		llm_set_usage(c, LLM_U_INPUT, json_object_get(u, "promptTokenCount"));
		llm_set_usage(c, LLM_U_CACHE_READ, json_object_get(u, "cachedContentTokenCount"));
		llm_set_usage(c, LLM_U_OUTPUT, out);
		/* thinking tokens are billed as output */
		if (json_is_integer(out) && json_is_integer(thoughts) && json_integer_value(thoughts) > 0 &&
		    c->usage[LLM_U_OUTPUT] >= 0 && json_integer_value(thoughts) < (1LL << 40))
			c->usage[LLM_U_OUTPUT] += json_integer_value(thoughts);
	}
	json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, p) {
		const json_t *fc = json_object_get(p, "functionCall");

		if (json_is_true(json_object_get(p, "thought")))
			continue;
		if (json_is_string(json_object_get(p, "text"))) {
			if (ts_ns && !c->first_token_ts_ns)
				c->first_token_ts_ns = ts_ns;
			if (llm_append_text(c, json_object_get(p, "text")) < 0)
				return -1;
		} else if (json_is_object(fc)) {
			bool oom;
			struct llm_tool *t = llm_tool_get(c, llm_tool_next_key(c), true, &oom);

			if (ts_ns && !c->first_token_ts_ns)
				c->first_token_ts_ns = ts_ns;
			if (oom)
				return -1;
			if (t && (llm_set_str(&t->id, json_object_get(fc, "id")) < 0 ||
				  llm_set_str(&t->name, json_object_get(fc, "name")) < 0 ||
				  llm_set_json(&t->input, json_object_get(fc, "args")) < 0))
				return -1;
		}
	}
	return 0;
}

int llm_gemini_response(struct llm_call *c, json_t *root)
{
	const json_t *el;
	size_t i;

	if (!json_is_array(root))
		return chunk(c, root, 0);
	/* streamGenerateContent without alt=sse: an array of chunks */
	c->stream = true;
	json_array_foreach(root, i, el) {
		int r = llm_error_from(c, "response", el);

		if (r < 0 || (r == 0 && chunk(c, el, 0) < 0))
			return -1;
	}
	return 0;
}

int llm_gemini_event(struct llm_call *c, const char *event, json_t *data, uint64_t ts_ns)
{
	int r = llm_error_from(c, "stream", data);

	if (r != 0)
		return r < 0 ? -1 : 0;
	return chunk(c, data, ts_ns);
}
