/* SPDX-License-Identifier: MIT */
/*
 * LLM API decoders: one HTTP exchange with a model provider (its request
 * body, the response status and either a JSON response body or a sequence of
 * SSE events) becomes one `llm_call` JSON object (docs/events.md).
 *
 * Everything here is pure user space and works on untrusted input: a body
 * that is not JSON, events out of order, unknown event types and hostile
 * sizes never crash and never grow memory without bound. Accumulated text
 * and each tool call's argument text are capped (LLM_DEFAULT_CAP unless
 * llm_call_set_cap says otherwise); what is cut sets `truncated`.
 *
 * Usage, for one exchange:
 *
 *   enum llm_provider p = llm_detect(method, host, path, names, values, n);
 *   struct llm_call *c = llm_call_new(p);       (NULL: out of memory)
 *   llm_call_set_path(c, path);                 (Gemini: model and stream)
 *   llm_call_request(c, req_body, req_len);
 *   llm_call_response_status(c, 200);
 *   llm_call_response_body(c, body, len);       (or, for a stream, one call
 *   llm_call_sse_event(c, event, data, ts);      per SSE event)
 *   json_t *o = llm_call_finish(c, err, sizeof(err));
 *   llm_call_free(c);
 *
 * The int functions return 0 on success, including input that was malformed
 * or ignored (that is recorded in the call's `error`), and -1 only when
 * memory ran out or an argument was NULL.
 */
#ifndef AGENTTRAIL_DECODE_LLM_H
#define AGENTTRAIL_DECODE_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum llm_provider {
	LLM_NONE,
	LLM_ANTHROPIC,            /* Messages API, /v1/messages */
	LLM_OPENAI_CHAT,          /* Chat Completions, /v1/chat/completions */
	LLM_OPENAI_RESPONSES,     /* Responses API, /v1/responses */
	LLM_GEMINI,               /* generateContent / streamGenerateContent */
};

#define LLM_DEFAULT_CAP (16u << 20)  /* bytes of text, and of each tool call's arguments */
#define LLM_MAX_TOOL_CALLS 1024      /* tool calls kept from one response */

/* "anthropic", "openai_chat", "openai_responses", "gemini" or "none". */
const char *llm_provider_name(enum llm_provider p);

/*
 * Which API a request speaks, from its request line and headers; LLM_NONE
 * when it is not one of them. `host` may carry a port and may be NULL; `path`
 * may carry a query string. Header names are matched case-insensitively.
 */
enum llm_provider llm_detect(const char *method, const char *host, const char *path,
			     const char *const *hdr_names, const char *const *hdr_values,
			     size_t nhdr);

struct llm_call;

struct llm_call *llm_call_new(enum llm_provider p);
void llm_call_free(struct llm_call *c);
/* Cap on accumulated text and on each tool call's arguments (minimum 1). */
void llm_call_set_cap(struct llm_call *c, size_t cap);
/* The request path: Gemini names the model and streaming in it. */
int llm_call_set_path(struct llm_call *c, const char *path);
/* The request body (JSON). */
int llm_call_request(struct llm_call *c, const uint8_t *body, size_t len);
/* The HTTP status of the response. */
int llm_call_response_status(struct llm_call *c, int status);
/* A complete, non-streaming response body (JSON). */
int llm_call_response_body(struct llm_call *c, const uint8_t *body, size_t len);
/* One SSE event of a streaming response: its `event:` name (NULL or "" when
 * there was none) and its `data:` text (the lines joined with '\n'). */
int llm_call_sse_event(struct llm_call *c, const char *event, const char *data,
		       uint64_t ts_ns);
/*
 * The llm_call object built from what was fed so far (a new reference), or
 * NULL with a message in err when memory ran out. The call is not changed
 * and may be fed more and finished again.
 */
json_t *llm_call_finish(struct llm_call *c, char *err, size_t errlen);

/* The tool calls of an llm_call object as `tool_call` records, a new array
 * (empty when there are none or llm_call is not an llm_call); NULL when
 * memory ran out. */
json_t *llm_tool_calls(const json_t *llm_call);

/* ---- shared by llm.c and the provider decoders (llm_*.c) only ----------- */

/* Flags of every json_loadb (bodies, events, a tool call's arguments):
 * strings may hold NUL characters. */
#define LLM_JSON_FLAGS JSON_ALLOW_NUL

/* Text that grows up to a cap, always valid UTF-8 when its pieces are. */
struct llm_buf {
	char *p;
	size_t len;
	size_t alloc;
};

/* One tool call being assembled; `key` is the provider's index for it. The
 * output's input is the argument text parsed when there is any, else
 * `input`, else {}. */
struct llm_tool {
	long long key;
	json_t *id;          /* string or NULL */
	json_t *name;        /* string or NULL */
	json_t *input;       /* the input when it came whole (or parsed), else NULL */
	struct llm_buf args; /* argument JSON text as it arrived */
};

enum llm_usage_field { LLM_U_INPUT, LLM_U_OUTPUT, LLM_U_CACHE_READ, LLM_U_CACHE_WRITE, LLM_U_N };

struct llm_call {
	enum llm_provider provider;
	size_t cap;
	bool stream;
	bool truncated;
	int status;                 /* 0: not seen */
	json_t *model;              /* string from the response, else the request */
	json_t *req_model;          /* string from the request or path */
	json_t *request;            /* the normalised request object, or NULL */
	struct llm_buf text;
	struct llm_tool *tools;
	size_t ntools;
	size_t tools_alloc;
	json_t *stop_reason;        /* string or NULL */
	long long usage[LLM_U_N];   /* -1: not reported */
	uint64_t first_token_ts_ns; /* 0: none */
	json_t *error;              /* object or NULL */
	bool done;                  /* the stream said it ended */
};

/* Providers: a parsed request body, a parsed response body and one parsed
 * SSE event (data is the parsed data, event the name or NULL). */
int llm_anthropic_request(struct llm_call *c, json_t *root);
int llm_anthropic_response(struct llm_call *c, json_t *root);
int llm_anthropic_event(struct llm_call *c, const char *event, json_t *data, uint64_t ts_ns);
int llm_openai_chat_request(struct llm_call *c, json_t *root);
int llm_openai_chat_response(struct llm_call *c, json_t *root);
int llm_openai_chat_event(struct llm_call *c, const char *event, json_t *data, uint64_t ts_ns);
int llm_openai_responses_request(struct llm_call *c, json_t *root);
int llm_openai_responses_response(struct llm_call *c, json_t *root);
int llm_openai_responses_event(struct llm_call *c, const char *event, json_t *data,
			       uint64_t ts_ns);
int llm_gemini_request(struct llm_call *c, json_t *root);
int llm_gemini_response(struct llm_call *c, json_t *root);
int llm_gemini_event(struct llm_call *c, const char *event, json_t *data, uint64_t ts_ns);

/* Helpers for the providers. All return 0, or -1 when memory ran out. */
const char *llm_str(const json_t *obj, const char *key);       /* NULL if absent */
bool llm_type_is(const json_t *obj, const char *type);         /* obj.type == type */
int llm_set_json(json_t **slot, json_t *v);                    /* incref v, replace */
int llm_set_str(json_t **slot, const json_t *v);               /* only when v is a string */
void llm_set_usage(struct llm_call *c, enum llm_usage_field f, const json_t *v);
int llm_append_text(struct llm_call *c, const json_t *s);      /* a JSON string */
int llm_buf_append(struct llm_call *c, struct llm_buf *b, const char *s, size_t n);
void llm_buf_clear(struct llm_buf *b);
/* The tool call with this key, created (in order) when create is set; NULL
 * when absent, when LLM_MAX_TOOL_CALLS is reached (truncated is set) or when
 * memory ran out (*oom is set). */
struct llm_tool *llm_tool_get(struct llm_call *c, long long key, bool create, bool *oom);
/* A new key past every existing one, for providers without indexes. */
long long llm_tool_next_key(const struct llm_call *c);
void llm_tools_clear(struct llm_call *c);
/* Record an error (the first one wins): where is "request", "response" or
 * "stream"; any of type, message and detail may be NULL. */
int llm_set_error(struct llm_call *c, const char *where, const char *type, const char *message,
		  const json_t *detail);
/* If root carries a provider error object ({"error": {...}}), record it and
 * return 1; 0 if not; -1 when memory ran out. */
int llm_error_from(struct llm_call *c, const char *where, const json_t *root);
/* Text of a content value: a string, or an array whose blocks all carry text
 * (type text / input_text / output_text, or Gemini parts) joined with "\n".
 * A new string, or NULL when the value is not text-only. */
json_t *llm_text_of(const json_t *content);
/* A copy of a content block with large inline data (base64 images, files)
 * replaced by its length in `data_len`; NULL when memory ran out. */
json_t *llm_block_copy(const json_t *block);
/* A message's content: its text when it is text only, else a copy of each
 * block made by copy_block (llm_block_copy, or a provider's own). */
json_t *llm_content_json(const json_t *content, json_t *(*copy_block)(const json_t *));
/* A JSON string from bytes that should be UTF-8 (invalid bytes become '?'). */
json_t *llm_string(const char *s, size_t len);
/* obj[key] = v, taking v's reference; v == NULL (a failed allocation) and a
 * failed set give -1. */
int llm_put(json_t *obj, const char *key, json_t *v);
/* obj[key] = v (a new reference) when v is not NULL; -1 on failure. */
int llm_put_opt(json_t *obj, const char *key, const json_t *v);
/* Parse a tool call's arguments text into a value; NULL when it is not JSON
 * (empty text gives an empty object). */
json_t *llm_parse_args(const char *s, size_t len);

#endif
