/* SPDX-License-Identifier: MIT */
/*
 * LLM API decoders, the common part: provider detection, the call
 * accumulator that hands bodies and events to the provider decoders, and
 * the llm_call / tool_call JSON output. The helpers the provider files
 * share are in llm_util.c. See llm.h and docs/events.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode/llm.h"

const char *llm_provider_name(enum llm_provider p)
{
	switch (p) {
	case LLM_ANTHROPIC:
		return "anthropic";
	case LLM_OPENAI_CHAT:
		return "openai_chat";
	case LLM_OPENAI_RESPONSES:
		return "openai_responses";
	case LLM_GEMINI:
		return "gemini";
	case LLM_NONE:
		break;
	}
	return "none";
}

/* ---- detection ----------------------------------------------------------- */

/* Length of the path without its query string or fragment. */
static size_t path_len(const char *path)
{
	return strcspn(path, "?#");
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

/* host (maybe with a port) is domain or a subdomain of it */
static bool host_is(const char *host, const char *domain)
{
	size_t hl, dl = strlen(domain);
	const char *colon;

	if (!host)
		return false;
	colon = strchr(host, ':');
	hl = colon ? (size_t)(colon - host) : strlen(host);
	if (hl == dl)
		return strncasecmp(host, domain, dl) == 0;
	return hl > dl && host[hl - dl - 1] == '.' && strncasecmp(host + hl - dl, domain, dl) == 0;
}

static bool has_header(const char *const *names, size_t n, const char *name)
{
	if (!names)
		return false;
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcasecmp(names[i], name) == 0)
			return true;
	return false;
}

enum llm_provider llm_detect(const char *method, const char *host, const char *path,
			     const char *const *hdr_names, const char *const *hdr_values,
			     size_t nhdr)
{
	size_t pl;

	(void)hdr_values;
	if (!method || !path || strcasecmp(method, "POST") != 0)
		return LLM_NONE;
	pl = path_len(path);
	if (ends_with(path, pl, "/v1/messages") ||
	    (ends_with(path, pl, "/messages") &&
	     (host_is(host, "anthropic.com") || has_header(hdr_names, nhdr, "anthropic-version"))))
		return LLM_ANTHROPIC;
	if (ends_with(path, pl, "/chat/completions"))
		return LLM_OPENAI_CHAT;
	if (ends_with(path, pl, "/v1/responses") || ends_with(path, pl, "/openai/responses") ||
	    (ends_with(path, pl, "/responses") && host_is(host, "openai.com")))
		return LLM_OPENAI_RESPONSES;
	if (ends_with(path, pl, ":generateContent") || ends_with(path, pl, ":streamGenerateContent"))
		return LLM_GEMINI;
	return LLM_NONE;
}

/* ---- the call ---------------------------------------------------------------- */

struct llm_call *llm_call_new(enum llm_provider p)
{
	struct llm_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->provider = p;
	c->cap = LLM_DEFAULT_CAP;
	for (int i = 0; i < LLM_U_N; i++)
		c->usage[i] = -1;
	return c;
}

void llm_call_free(struct llm_call *c)
{
	if (!c)
		return;
	llm_tools_clear(c);
	free(c->tools);
	llm_buf_clear(&c->text);
	json_decref(c->model);
	json_decref(c->req_model);
	json_decref(c->request);
	json_decref(c->stop_reason);
	json_decref(c->error);
	free(c);
}

void llm_call_set_cap(struct llm_call *c, size_t cap)
{
	if (c)
		c->cap = cap ? cap : 1;
}

int llm_call_set_path(struct llm_call *c, const char *path)
{
	size_t pl;
	const char *m, *colon;

	if (!c || !path)
		return -1;
	if (c->provider != LLM_GEMINI)
		return 0;
	pl = path_len(path);
	if (ends_with(path, pl, ":streamGenerateContent"))
		c->stream = true;
	/* .../models/<model>:<method> */
	m = NULL;
	for (const char *p = path; p + 8 <= path + pl; p++)
		if (strncmp(p, "/models/", 8) == 0)
			m = p + 8;
	colon = m ? memchr(m, ':', (size_t)(path + pl - m)) : NULL;
	if (colon && colon > m) {
		json_t *s = llm_string(m, (size_t)(colon - m));

		if (!s)
			return -1;
		json_decref(c->req_model);
		c->req_model = s;
	}
	return 0;
}

/* Parse a body; NULL (with the error recorded, *oom on failure to record)
 * when it is not JSON. */
static json_t *parse_body(struct llm_call *c, const char *where, const char *what,
			  const uint8_t *body, size_t len, bool *oom)
{
	json_error_t jerr;
	json_t *root;
	char msg[256];

	*oom = false;
	root = json_loadb((const char *)body, len, JSON_DECODE_ANY | LLM_JSON_FLAGS, &jerr);
	if (root)
		return root;
	snprintf(msg, sizeof(msg), "%s is not JSON: %s at byte %d", what, jerr.text, jerr.position);
	if (llm_set_error(c, where, "malformed", msg, NULL) < 0)
		*oom = true;
	return NULL;
}

int llm_call_request(struct llm_call *c, const uint8_t *body, size_t len)
{
	json_t *root;
	bool oom;
	int rc = 0;

	if (!c || (!body && len))
		return -1;
	root = parse_body(c, "request", "request body", body ? body : (const uint8_t *)"", len, &oom);
	if (!root)
		return oom ? -1 : 0;
	if (!json_is_object(root)) {
		rc = llm_set_error(c, "request", "malformed", "request body is not a JSON object", NULL);
	} else {
		if (json_is_true(json_object_get(root, "stream")))
			c->stream = true;
		if (llm_set_str(&c->req_model, json_object_get(root, "model")) < 0)
			rc = -1;
		switch (c->provider) {
		case LLM_ANTHROPIC:
			rc = llm_anthropic_request(c, root);
			break;
		case LLM_OPENAI_CHAT:
			rc = llm_openai_chat_request(c, root);
			break;
		case LLM_OPENAI_RESPONSES:
			rc = llm_openai_responses_request(c, root);
			break;
		case LLM_GEMINI:
			rc = llm_gemini_request(c, root);
			break;
		case LLM_NONE:
			break;
		}
	}
	json_decref(root);
	return rc;
}

int llm_call_response_status(struct llm_call *c, int status)
{
	if (!c)
		return -1;
	c->status = status;
	return 0;
}

int llm_call_response_body(struct llm_call *c, const uint8_t *body, size_t len)
{
	json_t *root;
	bool oom;
	int rc;

	if (!c || (!body && len))
		return -1;
	root = parse_body(c, "response", "response body", body ? body : (const uint8_t *)"", len,
			  &oom);
	if (!root)
		return oom ? -1 : 0;
	rc = llm_error_from(c, "response", root);
	if (rc == 0) {
		switch (c->provider) {
		case LLM_ANTHROPIC:
			rc = llm_anthropic_response(c, root);
			break;
		case LLM_OPENAI_CHAT:
			rc = llm_openai_chat_response(c, root);
			break;
		case LLM_OPENAI_RESPONSES:
			rc = llm_openai_responses_response(c, root);
			break;
		case LLM_GEMINI:
			rc = llm_gemini_response(c, root);
			break;
		case LLM_NONE:
			break;
		}
	}
	json_decref(root);
	return rc < 0 ? -1 : 0;
}

int llm_call_sse_event(struct llm_call *c, const char *event, const char *data, uint64_t ts_ns)
{
	json_error_t jerr;
	json_t *root;
	size_t len;
	int rc = 0;

	if (!c)
		return -1;
	c->stream = true;
	if (event && !*event)
		event = NULL;
	if (!data)
		data = "";
	len = strlen(data);
	if (strcmp(data, "[DONE]") == 0) {
		c->done = true;
		return 0;
	}
	if (len == 0)
		return 0;
	root = json_loadb(data, len, JSON_DECODE_ANY | LLM_JSON_FLAGS, &jerr);
	if (!root) {
		char msg[256];

		snprintf(msg, sizeof(msg), "event data is not JSON: %s at byte %d", jerr.text,
			 jerr.position);
		return llm_set_error(c, "stream", "malformed", msg, NULL);
	}
	if (json_is_object(root)) {
		switch (c->provider) {
		case LLM_ANTHROPIC:
			rc = llm_anthropic_event(c, event, root, ts_ns);
			break;
		case LLM_OPENAI_CHAT:
			rc = llm_openai_chat_event(c, event, root, ts_ns);
			break;
		case LLM_OPENAI_RESPONSES:
			rc = llm_openai_responses_event(c, event, root, ts_ns);
			break;
		case LLM_GEMINI:
			rc = llm_gemini_event(c, event, root, ts_ns);
			break;
		case LLM_NONE:
			break;
		}
	}
	json_decref(root);
	return rc < 0 ? -1 : 0;
}

/* ---- output ---------------------------------------------------------------------- */

static json_t *int_or_null(long long v)
{
	return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *tool_json(const struct llm_tool *t)
{
	json_t *o = json_object();
	json_t *input;

	if (!o)
		return NULL;
	if (llm_put(o, "id", t->id ? json_incref(t->id) : json_null()) < 0 ||
	    llm_put(o, "name", t->name ? json_incref(t->name) : json_null()) < 0)
		goto fail;
	if (t->args.len == 0) {
		/* the input came whole, or no argument text came at all */
		input = t->input ? json_incref(t->input) : json_object();
		if (llm_put(o, "input", input) < 0)
			goto fail;
		return o;
	}
	input = llm_parse_args(t->args.p, t->args.len);
	if (input) {
		if (llm_put(o, "input", input) < 0)
			goto fail;
		return o;
	}
	/* not JSON (cut short, or the model wrote something else): keep the text */
	if (llm_put(o, "input", json_null()) < 0 ||
	    llm_put(o, "arguments", llm_string(t->args.p, t->args.len)) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *response_json(const struct llm_call *c)
{
	json_t *r = json_object(), *calls = json_array();

	if (!r || !calls)
		goto fail;
	if (llm_put(r, "text", llm_string(c->text.p ? c->text.p : "", c->text.len)) < 0)
		goto fail;
	for (size_t i = 0; i < c->ntools; i++)
		if (json_array_append_new(calls, tool_json(&c->tools[i])) < 0)
			goto fail;
	if (llm_put(r, "tool_calls", calls) < 0) {
		calls = NULL;
		goto fail;
	}
	calls = NULL;
	if (llm_put(r, "stop_reason", c->stop_reason ? json_incref(c->stop_reason) : json_null()) < 0)
		goto fail;
	return r;
fail:
	json_decref(calls);
	json_decref(r);
	return NULL;
}

static json_t *usage_json(const struct llm_call *c)
{
	json_t *u = json_object();

	if (!u || llm_put(u, "input_tokens", int_or_null(c->usage[LLM_U_INPUT])) < 0 ||
	    llm_put(u, "output_tokens", int_or_null(c->usage[LLM_U_OUTPUT])) < 0 ||
	    llm_put(u, "cache_read_tokens", int_or_null(c->usage[LLM_U_CACHE_READ])) < 0 ||
	    llm_put(u, "cache_write_tokens", int_or_null(c->usage[LLM_U_CACHE_WRITE])) < 0) {
		json_decref(u);
		return NULL;
	}
	return u;
}

static json_t *error_json(const struct llm_call *c)
{
	json_t *e;
	char msg[32];

	if (c->error)
		return json_incref(c->error);
	if (c->status < 400)
		return json_null();
	/* an error status without an error body we could read */
	snprintf(msg, sizeof(msg), "HTTP %d", c->status);
	e = json_object();
	if (!e || llm_put(e, "where", json_string("response")) < 0 ||
	    llm_put(e, "message", json_string(msg)) < 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

json_t *llm_call_finish(struct llm_call *c, char *err, size_t errlen)
{
	json_t *o;
	const json_t *model;

	if (!c) {
		snprintf(err, errlen, "no call");
		return NULL;
	}
	model = c->model ? c->model : c->req_model;
	o = json_object();
	if (!o || llm_put(o, "type", json_string("llm_call")) < 0 ||
	    llm_put(o, "provider", json_string(llm_provider_name(c->provider))) < 0 ||
	    llm_put(o, "model", model ? json_incref((json_t *)model) : json_null()) < 0 ||
	    llm_put(o, "stream", json_boolean(c->stream)) < 0 ||
	    llm_put(o, "status", c->status > 0 ? json_integer(c->status) : json_null()) < 0 ||
	    llm_put(o, "request", c->request ? json_incref(c->request) : json_null()) < 0 ||
	    llm_put(o, "response", response_json(c)) < 0 ||
	    llm_put(o, "usage", usage_json(c)) < 0 ||
	    llm_put(o, "first_token_ts_ns", c->first_token_ts_ns
						     ? json_integer((json_int_t)c->first_token_ts_ns)
						     : json_null()) < 0 ||
	    llm_put(o, "truncated", json_boolean(c->truncated)) < 0 ||
	    llm_put(o, "error", error_json(c)) < 0) {
		json_decref(o);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return o;
}

json_t *llm_tool_calls(const json_t *llm_call)
{
	const json_t *calls = json_object_get(json_object_get(llm_call, "response"), "tool_calls");
	json_t *out = json_array();
	const json_t *t;
	size_t i;

	if (!out)
		return NULL;
	if (!json_is_array(calls) || !llm_type_is(llm_call, "llm_call"))
		return out;
	json_array_foreach(calls, i, t) {
		json_t *r = json_object();
		const char *key;
		const json_t *v;

		if (!r || llm_put(r, "type", json_string("tool_call")) < 0) {
			json_decref(r);
			goto fail;
		}
		json_object_foreach((json_t *)t, key, v) {
			if (json_object_set(r, key, (json_t *)v) < 0) {
				json_decref(r);
				goto fail;
			}
		}
		if (json_array_append_new(out, r) < 0)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}
