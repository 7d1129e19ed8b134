/* SPDX-License-Identifier: MIT */
/*
 * What the provider decoders (llm_anthropic.c, llm_openai.c, llm_gemini.c)
 * build a call with: reading and setting JSON members, strings that are
 * valid UTF-8, the capped text buffers and the table of tool calls, errors,
 * and the content of messages. llm.h declares them in its part for llm_*.c
 * only. They are apart from llm.c, which holds what the rest of agenttrail
 * calls (detection, feeding a call, its output): these serve the providers,
 * the same for all of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/llm.h"

#define INLINE_DATA_KEEP 256   /* inline data strings longer than this are dropped */
#define BLOCK_COPY_DEPTH 8     /* nesting levels llm_block_copy looks into */

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
	return json_loadb(s, len, JSON_DECODE_ANY | LLM_JSON_FLAGS, NULL);
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
