/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the LLM API decoders (src/decode/llm*.c).
 *
 * An input is a header byte and then up to MAX_CHUNKS chunks, each fed to
 * one call in order:
 *
 *   u8 head      bits 0-1: provider (Anthropic, OpenAI Chat, Responses,
 *                Gemini); bit 2: a small cap (64 bytes) on text and
 *                arguments, so that truncation is reached
 *   chunk        u8 kind | u16 len (little-endian) | len bytes (cut at the
 *                end of input)
 *     kind % 4 == 0  the request body
 *     kind % 4 == 1  the response status (the first two bytes, LE)
 *     kind % 4 == 2  a response body
 *     kind % 4 == 3  an SSE event: the bytes up to the first '\n' are the
 *                    event name, the rest its data (cut at a NUL byte)
 *
 * Each body is copied into a heap block of exactly its size, so that
 * AddressSanitizer reports any read past it. Besides the sanitizers the
 * target checks the decoder's promises: every call succeeds, finish gives an
 * llm_call object that serialises, and llm_tool_calls gives one record per
 * tool call.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "decode/llm.h"
#include "fuzz.h"

#define MAX_CHUNKS 64
#define SMALL_CAP 64

static const enum llm_provider providers[4] = {
	LLM_ANTHROPIC, LLM_OPENAI_CHAT, LLM_OPENAI_RESPONSES, LLM_GEMINI,
};

static void feed_event(struct llm_call *c, const uint8_t *p, size_t n, uint64_t ts)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t elen = nl ? (size_t)(nl - p) : 0;
	const uint8_t *d = nl ? nl + 1 : p;
	size_t dlen = n - (size_t)(d - p);
	char *event = malloc(elen + 1), *dat = malloc(dlen + 1);

	CHECK(event && dat);
	memcpy(event, p, elen);
	event[elen] = '\0';
	memcpy(dat, d, dlen);
	dat[dlen] = '\0';
	CHECK(llm_call_sse_event(c, nl ? event : NULL, dat, ts) == 0);
	free(event);
	free(dat);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct llm_call *c;
	json_t *o, *calls;
	char err[128];
	char *s;
	size_t off = 1;

	if (size < 1)
		return 0;
	c = llm_call_new(providers[data[0] & 3]);
	CHECK(c);
	if (data[0] & 4)
		llm_call_set_cap(c, SMALL_CAP);
	for (int i = 0; i < MAX_CHUNKS && off + 3 <= size; i++) {
		unsigned kind = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		uint8_t *buf;

		off += 3;
		if (len > size - off)
			len = size - off;
		buf = malloc(len ? len : 1);
		CHECK(buf);
		memcpy(buf, data + off, len);
		off += len;
		switch (kind % 4) {
		case 0:
			CHECK(llm_call_request(c, buf, len) == 0);
			break;
		case 1:
			CHECK(llm_call_response_status(c, len >= 2 ? buf[0] | buf[1] << 8 : 0) == 0);
			break;
		case 2:
			CHECK(llm_call_response_body(c, buf, len) == 0);
			break;
		default:
			feed_event(c, buf, len, (uint64_t)i + 1);
			break;
		}
		free(buf);
	}
	o = llm_call_finish(c, err, sizeof(err));
	CHECK(o);
	llm_call_free(c);
	CHECK(json_is_object(o));
	CHECK(json_is_string(json_object_get(o, "provider")));
	CHECK(json_is_string(json_object_get(json_object_get(o, "response"), "text")));
	s = json_dumps(o, JSON_COMPACT);
	CHECK(s);
	free(s);
	calls = llm_tool_calls(o);
	CHECK(calls);
	CHECK(json_array_size(calls) ==
	      json_array_size(json_object_get(json_object_get(o, "response"), "tool_calls")));
	json_decref(calls);
	json_decref(o);
	return 0;
}
