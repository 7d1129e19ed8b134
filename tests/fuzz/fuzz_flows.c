/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the payload path as a whole: at_data records ->
 * flows (ordering, holes, connection reuse) -> HTTP/1 or HTTP/2 -> records
 * (pairing, redaction, SSE replay, LLM decoding).
 *
 * Input: one configuration byte (bit 0: redaction on, bit 1: small body
 * cap), then operations. Each operation starts with a byte:
 *   bits 0-1  connection (4 of them)
 *   bit 2     direction
 *   bits 3-4  offset: 0 next in order, 1 skip ahead (a hole), 2 back to 0
 *             (a reused connection), 3 overlap (an earlier offset)
 *   bits 5-7  0-4: a data record with the next byte as length (then that
 *             many bytes); 5: socket closed + tick past the grace;
 *             6: process exit; 7: source toggles TLS/plain for the connection
 * Every record emitted must be a JSON object with a string type among those
 * this path makes; the sanitizers check the rest.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/redact.h"
#include "model/event_json.h"
#include "model/flows.h"
#include "fuzz.h"

static void sink(void *ctx, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));

	(void)ctx;
	CHECK(json_is_object(rec));
	CHECK(type && (!strcmp(type, "http") || !strcmp(type, "llm_call") ||
		       !strcmp(type, "tool_call")));
}

static void first_bytes(void *ctx, uint32_t attach, bool http)
{
	(void)ctx;
	(void)attach;
	(void)http;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = { 7 };
	static struct at_data rec; /* 16 KiB: not on the stack */
	struct flows_opts o = { 0 };
	struct ev_ctx ev;
	struct flows *f;
	uint64_t next_id = 0, off[4][2] = { { 0 } }, now = 1;
	uint8_t source[4] = { AT_SRC_OPENSSL, AT_SRC_SOCKET, AT_SRC_BORINGSSL, AT_SRC_GNUTLS };
	size_t i = 0;

	if (size < 1)
		return 0;
	memset(&ev, 0, sizeof(ev));
	o.sink.emit = sink;
	o.sink.next_id = &next_id;
	o.sink.redact = (data[0] & 1) ? redact_ctx_new(key, sizeof(key)) : NULL;
	o.max_body = (data[0] & 2) ? 64 : 0;
	o.first_bytes = first_bytes;
	f = flows_new(&o, &ev);
	if (!f) {
		redact_ctx_free(o.sink.redact);
		return 0;
	}
	i = 1;
	while (i < size) {
		uint8_t op = data[i++], c = op & 3, dir = (op >> 2) & 1, mode = (op >> 3) & 3;
		uint8_t what = op >> 5;
		size_t n;

		now += 1000;
		if (what == 5) {
			flows_sock_closed(f, 0x1000 + c, now);
			now += FLOWS_CLOSE_GRACE_NS + 1;
			flows_tick(f, now);
			continue;
		}
		if (what == 6) {
			flows_proc_exit(f, 100);
			continue;
		}
		if (what == 7) {
			source[c] = source[c] == AT_SRC_SOCKET ? AT_SRC_OPENSSL : AT_SRC_SOCKET;
			continue;
		}
		if (i >= size)
			break;
		n = data[i++];
		if (n > size - i)
			n = size - i;
		if (n == 0)
			continue;
		if (mode == 1)
			off[c][dir] += 1 + (n & 7);
		else if (mode == 2)
			off[c][dir] = 0;
		else if (mode == 3 && off[c][dir] >= n)
			off[c][dir] -= n / 2;
		memset(&rec.h, 0, sizeof(rec.h));
		rec.h.kind = AT_EV_DATA;
		rec.h.ts_ns = now;
		rec.h.session = 1;
		rec.h.pid = 100;
		rec.conn = 0x1000 + c;
		rec.sock = 0x1000 + c;
		rec.offset = off[c][dir];
		rec.len = (uint32_t)n;
		rec.dir = dir;
		rec.source = source[c];
		rec.attach = 1;
		memcpy(rec.data, data + i, n);
		flows_data(f, &rec, offsetof(struct at_data, data) + n);
		off[c][dir] += n;
		i += n;
	}
	flows_free(f);
	redact_ctx_free(o.sink.redact);
	return 0;
}
