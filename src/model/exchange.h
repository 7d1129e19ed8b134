/* SPDX-License-Identifier: MIT */
/*
 * HTTP messages of one connection -> records (docs/events.md): every
 * request/response pair becomes an `http` record; a pair that speaks a
 * model provider's API also becomes an `llm_call` and one `tool_call` per
 * tool call in its response.
 *
 * The HTTP decoders (decode/http1.h, decode/http2.h) call
 * exchange_on_message / exchange_on_body_chunk with a struct exchanges as
 * their context. Requests wait for the response with the same seq (the
 * HTTP/1 message number, or the HTTP/2 stream id). A streamed response is
 * decoded as its events arrive, so an LLM call's first-token time is the
 * capture time of the bytes that carried it.
 *
 * Secrets never reach a record when a redact context is given: header
 * values that are credentials, secret-looking strings in targets, header
 * values and bodies are replaced by stable tags before anything is built
 * from them (the LLM decoders only ever see redacted bodies). Bodies are
 * hashed (body_sha256) before redaction, so a record can be matched with
 * what a server received.
 */
#ifndef AT_MODEL_EXCHANGE_H
#define AT_MODEL_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "decode/http1.h"

struct redact_ctx;

/* Who spoke on the connection and over what; owned by the caller and
 * read whenever a record is built (sock_id may be learnt late). */
struct flow_info {
	uint64_t session;
	uint64_t start_ns;    /* process identity */
	uint32_t pid;
	uint32_t tid;
	uint32_t ppid;
	uint32_t uid;
	char comm[16];
	const char *source;   /* "openssl", "boringssl", "socket" */
	bool tls;
	uint64_t conn_id;     /* public connection id (records of one connection share it) */
	int64_t sock_id;      /* the connect record's `sock`, 0 when unknown */
	const char *proto;    /* "HTTP/1.1" or "HTTP/2" */
};

struct exchange_sink {
	void (*emit)(void *ctx, json_t *rec); /* rec is borrowed */
	void *ctx;
	struct redact_ctx *redact;            /* NULL: --no-redact */
	int64_t mono_to_wall_ns;
	uint64_t *next_id;                    /* shared record counter for ids */
	size_t llm_cap;                       /* 0: LLM_DEFAULT_CAP */
};

struct exchanges;

/* fi and sink must outlive the result. NULL when out of memory. */
struct exchanges *exchanges_new(const struct flow_info *fi, const struct exchange_sink *sink);
/* Requests still waiting for a response become records without one. */
void exchanges_free(struct exchanges *x);

/* struct http1_callbacks members; ctx is the struct exchanges. */
void exchange_on_message(void *ctx, const struct http1_message *m);
void exchange_on_body_chunk(void *ctx, const struct http1_message *m, const uint8_t *data,
			    size_t n);

/* Exchanges recorded so far (http records emitted) and LLM calls among them. */
uint64_t exchanges_count(const struct exchanges *x);
uint64_t exchanges_llm_count(const struct exchanges *x);

#endif
