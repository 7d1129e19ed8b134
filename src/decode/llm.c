/* SPDX-License-Identifier: MIT */
/*
 * LLM API decoders, the common part: provider detection, the call
 * accumulator, the helpers the provider files share and the llm_call /
 * tool_call JSON output. See llm.h and docs/events.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode/llm.h"

#define JSON_FLAGS JSON_ALLOW_NUL
#define INLINE_DATA_KEEP 256   /* inline data strings longer than this are dropped */
#define BLOCK_COPY_DEPTH 8     /* nesting levels llm_block_copy looks into */

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

/* ---- small helpers --------------------------------------------------------- */

const char *llm_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool llm_type_is(const json_t *obj, const char *type)
{
	const char *t = llm_str(obj, "type");

	return t && strcmp(t, type) == 0;
}

int llm_set_json(json_t **slot, json_t *v)
{
	json_t *old = *slot;

	*slot = json_incref(v);
	json_decref(old);
	return 0;
}

int llm_set_str(json_t **slot, const json_t *v)
{
	if (!json_is_string(v))
		return 0;
	return llm_set_json(slot, (json_t *)v);
}

void llm_set_usage(struct llm_call *c, enum llm_usage_field f, const json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		c->usage[f] = json_integer_value(v);
}

int llm_put(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return -1;
	return json_object_set_new(obj, key, v) == 0 ? 0 : -1;
}

int llm_put_opt(json_t *obj, const char *key, const json_t *v)
{
	if (!v)
		return 0;
	return json_object_set(obj, key, (json_t *)v) == 0 ? 0 : -1;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

json_t *llm_string(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *copy;
	json_t *v;
	size_t i = 0, k;

	while (i < len && (k = utf8_seq(u + i, len - i)) > 0)
		i += k;
	if (i == len)
		return json_stringn_nocheck(s, len);
	copy = malloc(len ? len : 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, i);
	while (i < len) {
		k = utf8_seq(u + i, len - i);
		if (k == 0) {
			copy[i++] = '?';
		} else {
			memcpy(copy + i, s + i, k);
			i += k;
		}
	}
	v = json_stringn_nocheck(copy, len);
	free(copy);
	return v;
}

/* ---- bounded buffers and tool calls -------------------------------------- */

void llm_buf_clear(struct llm_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->alloc = 0;
}

int llm_buf_append(struct llm_call *c, struct llm_buf *b, const char *s, size_t n)
{
	size_t room = c->cap > b->len ? c->cap - b->len : 0;

	if (n > room) {
		n = room;
		/* cut on a character boundary: s[n] must not continue a character */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		c->truncated = true;
	}
	if (n == 0)
		return 0;
	if (b->len + n > b->alloc) {
		size_t want = b->alloc ? b->alloc : 256;
		char *p;

		while (want < b->len + n)
			want *= 2;
		if (want > c->cap)
			want = c->cap;
		p = realloc(b->p, want);
		if (!p)
			return -1;
		b->p = p;
		b->alloc = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

int llm_append_text(struct llm_call *c, const json_t *s)
{
	if (!json_is_string(s))
		return 0;
	return llm_buf_append(c, &c->text, json_string_value(s), json_string_length(s));
}

static void tool_clear(struct llm_tool *t)
{
	json_decref(t->id);
	json_decref(t->name);
	json_decref(t->input);
	llm_buf_clear(&t->args);
}

void llm_tools_clear(struct llm_call *c)
{
	for (size_t i = 0; i < c->ntools; i++)
		tool_clear(&c->tools[i]);
	c->ntools = 0;
}

struct llm_tool *llm_tool_get(struct llm_call *c, long long key, bool create, bool *oom)
{
	struct llm_tool *t;

	*oom = false;
	for (size_t i = 0; i < c->ntools; i++)
		if (c->tools[i].key == key)
			return &c->tools[i];
	if (!create)
		return NULL;
	if (c->ntools >= LLM_MAX_TOOL_CALLS) {
		c->truncated = true;
		return NULL;
	}
	if (c->ntools == c->tools_alloc) {
		size_t n = c->tools_alloc ? c->tools_alloc * 2 : 4;
		struct llm_tool *p = realloc(c->tools, n * sizeof(*p));

		if (!p) {
			*oom = true;
			return NULL;
		}
		c->tools = p;
		c->tools_alloc = n;
	}
	t = &c->tools[c->ntools++];
	memset(t, 0, sizeof(*t));
	t->key = key;
	return t;
}

long long llm_tool_next_key(const struct llm_call *c)
{
	long long k = 0;

	for (size_t i = 0; i < c->ntools; i++)
		if (c->tools[i].key >= k)
			k = c->tools[i].key + 1;
	return k;
}

json_t *llm_parse_args(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i == len)
		return json_object();
	return json_loadb(s, len, JSON_DECODE_ANY | JSON_FLAGS, NULL);
}

/* ---- errors ------------------------------------------------------------------ */

int llm_set_error(struct llm_call *c, const char *where, const char *type, const char *message,
		  const json_t *detail)
{
	json_t *e;

	if (c->error)
		return 0;
	e = json_object();
	if (!e || llm_put(e, "where", json_string(where)) < 0 ||
	    (type && llm_put(e, "type", llm_string(type, strlen(type))) < 0) ||
	    (message && llm_put(e, "message", llm_string(message, strlen(message))) < 0) ||
	    (detail && json_object_set_new(e, "detail", json_deep_copy(detail)) < 0)) {
		json_decref(e);
		return -1;
	}
	c->error = e;
	return 0;
}

int llm_error_from(struct llm_call *c, const char *where, const json_t *root)
{
	const json_t *e = json_object_get(root, "error");
	const char *type, *msg;

	if (json_is_string(e))
		return llm_set_error(c, where, NULL, json_string_value(e), root) < 0 ? -1 : 1;
	if (!json_is_object(e))
		return 0;
	/* Anthropic and OpenAI name the kind `type`, Gemini `status` */
	type = llm_str(e, "type");
	if (!type)
		type = llm_str(e, "status");
	if (!type)
		type = llm_str(e, "code");
	msg = llm_str(e, "message");
	return llm_set_error(c, where, type, msg, e) < 0 ? -1 : 1;
}

/* ---- content ------------------------------------------------------------------- */

static bool is_text_block(const json_t *b)
{
	const char *t = llm_str(b, "type");

	if (!json_is_string(json_object_get(b, "text")))
		return false;
	if (!t)  /* a Gemini part: text only, and not a thought */
		return json_object_size(b) == 1 ||
		       (json_object_size(b) == 2 && json_is_false(json_object_get(b, "thought")));
	return strcmp(t, "text") == 0 || strcmp(t, "input_text") == 0 ||
	       strcmp(t, "output_text") == 0;
}

json_t *llm_text_of(const json_t *content)
{
	size_t i, total = 0, off = 0;
	const json_t *b;
	json_t *out;
	char *p;

	if (json_is_string(content))
		return json_incref((json_t *)content);
	if (!json_is_array(content))
		return NULL;
	json_array_foreach(content, i, b) {
		if (!is_text_block(b))
			return NULL;
		total += json_string_length(json_object_get(b, "text")) + 1;
	}
	p = malloc(total ? total : 1);
	if (!p)
		return NULL;
	json_array_foreach(content, i, b) {
		const json_t *t = json_object_get(b, "text");

		if (i > 0)
			p[off++] = '\n';
		memcpy(p + off, json_string_value(t), json_string_length(t));
		off += json_string_length(t);
	}
	out = json_stringn_nocheck(p, off);
	free(p);
	return out;
}

/* Replace large inline data in v (a copy we own) with its length. */
static int strip_inline_data(json_t *v, int depth)
{
	const char *key;
	json_t *m;
	void *tmp;
	size_t i;

	if (depth >= BLOCK_COPY_DEPTH)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (strip_inline_data(m, depth + 1) < 0)
				return -1;
		return 0;
	}
	if (!json_is_object(v))
		return 0;
	json_object_foreach_safe(v, tmp, key, m) {
		bool data = strcmp(key, "data") == 0 || strcmp(key, "file_data") == 0;
		bool url = (strcmp(key, "url") == 0 || strcmp(key, "image_url") == 0) &&
			   json_is_string(m) && strncmp(json_string_value(m), "data:", 5) == 0;

		if (json_is_string(m) && json_string_length(m) > INLINE_DATA_KEEP && (data || url)) {
			json_int_t n = (json_int_t)json_string_length(m);
			char name[64];

			snprintf(name, sizeof(name), "%s_len", key);
			if (json_object_del(v, key) < 0 || llm_put(v, name, json_integer(n)) < 0)
				return -1;
		} else if (strip_inline_data(m, depth + 1) < 0) {
			return -1;
		}
	}
	return 0;
}

json_t *llm_block_copy(const json_t *block)
{
	json_t *v = json_deep_copy(block);

	if (v && strip_inline_data(v, 0) < 0) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *llm_content_json(const json_t *content, json_t *(*copy_block)(const json_t *))
{
	json_t *text = llm_text_of(content), *out;
	const json_t *b;
	size_t i;

	if (text)
		return text;
	if (!json_is_array(content))
		return content ? json_deep_copy(content) : json_null();
	out = json_array();
	if (!out)
		return NULL;
	json_array_foreach(content, i, b) {
		if (json_array_append_new(out, copy_block(b)) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
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
	root = json_loadb((const char *)body, len, JSON_DECODE_ANY | JSON_FLAGS, &jerr);
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
	root = json_loadb(data, len, JSON_DECODE_ANY | JSON_FLAGS, &jerr);
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
