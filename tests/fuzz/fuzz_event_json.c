/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the record decoder (src/model/event_json.c), with the
 * DNS decoder and the address -> domain cache behind it.
 *
 * An input is a sequence of up to MAX_CHUNKS chunks, each decoded as one
 * record in order, with one context and one DNS cache per input (so that a
 * dns record can name the address of a later connect):
 *
 *   u8 ctrl | u16 len (little-endian) | len bytes (cut at the end of input)
 *
 *   ctrl & 0x0f  a kind (0..15, AT_EV_NONE included), used when 0x10 is set
 *   ctrl & 0x10  write that kind into h.kind
 *   ctrl & 0x20  grow the record with zeros to its kind's fixed size
 *   ctrl & 0x40  write the record's size into h.size
 *   ctrl & 0x80  hand the decoder a buffer 1..8 bytes larger than the record
 *                (extra bytes 0xa5), the record's own size in h.size
 *
 * With ctrl = 0 a chunk is a record as the kernel sends it; the other bits
 * let the fuzzer reach every decoder from small or random inputs. Each
 * record is copied into a heap block of exactly the size handed over, so
 * that AddressSanitizer reports any read past it.
 *
 * Besides the sanitizers the target checks the decoder's promises and
 * aborts when one is broken: NULL comes with a message, an event carries
 * every common field and the fields of its kind, and serialises; a file
 * record written straight to text gives the object's bytes, and its path
 * alone (event_file_path) is the object's "path".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agenttrail/events.h"
#include "model/dnscache.h"
#include "model/event_json.h"
#include "sinks/json_out.h"
#include "fuzz.h"

#define MAX_CHUNKS 8
#define FUZZ_CACHE_CAPACITY 4

static size_t fixed_size(unsigned kind)
{
	switch (kind) {
	case AT_EV_EXEC:
		return sizeof(struct at_exec);
	case AT_EV_FORK:
		return sizeof(struct at_fork);
	case AT_EV_EXIT:
		return sizeof(struct at_exit);
	case AT_EV_OPEN:
	case AT_EV_UNLINK:
	case AT_EV_RENAME:
	case AT_EV_MKDIR:
	case AT_EV_CHMOD:
		return sizeof(struct at_file);
	case AT_EV_CONNECT:
	case AT_EV_ACCEPT:
	case AT_EV_BIND:
	case AT_EV_LISTEN:
	case AT_EV_SOCK_CLOSE:
		return sizeof(struct at_net);
	case AT_EV_DNS:
		return sizeof(struct at_dns);
	default:
		return sizeof(struct at_hdr);
	}
}

static void has(json_t *o, const char *key)
{
	CHECK(json_object_get(o, key) != NULL);
}

static void has_str(json_t *o, const char *key)
{
	CHECK(json_is_string(json_object_get(o, key)));
}

static void check_event(json_t *o, const struct at_hdr *h)
{
	static const char *const common[] = { "ts_ns", "session", "pid", "tid", "ppid",
					      "start_ns", "uid" };
	static const char *const exec_keys[] = { "argv", "argv_truncated", "filename", "exe", "cwd",
						 "euid", "gid", "sid", "parent_start_ns", "cgroup",
						 "cgroup_id", "container_id" };
	static const char *const file_keys[] = { "path", "path_source", "arg_path", "ret", "errno",
						 "flags" };
	static const char *const net_keys[] = { "family", "sotype", "saddr", "sport", "daddr",
						"dport", "unix_path", "domain", "sock" };
	unsigned kind = h->kind;
	char *dump;

	CHECK(json_is_object(o));
	has_str(o, "type");
	CHECK(strcmp(json_string_value(json_object_get(o, "type")), event_kind_name(kind)) == 0);
	has_str(o, "comm");
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		CHECK(json_is_integer(json_object_get(o, common[i])));

	switch (kind) {
	case AT_EV_EXEC: {
		json_t *argv = json_object_get(o, "argv");

		for (size_t i = 0; i < sizeof(exec_keys) / sizeof(exec_keys[0]); i++)
			has(o, exec_keys[i]);
		CHECK(json_is_array(argv));
		for (size_t i = 0; i < json_array_size(argv); i++)
			CHECK(json_is_string(json_array_get(argv, i)));
		break;
	}
	case AT_EV_FORK:
		has(o, "thread");
		has(o, "child_tid");
		has(o, "parent_tid");
		break;
	case AT_EV_EXIT:
		has(o, "code");
		has(o, "signal");
		has(o, "core_dumped");
		break;
	case AT_EV_OPEN:
	case AT_EV_UNLINK:
	case AT_EV_RENAME:
	case AT_EV_MKDIR:
	case AT_EV_CHMOD: {
		json_t *path = json_object_get(o, "path");

		for (size_t i = 0; i < sizeof(file_keys) / sizeof(file_keys[0]); i++)
			has(o, file_keys[i]);
		/* a lexically joined path is absolute and normalised */
		if (json_is_string(path) &&
		    strcmp(json_string_value(json_object_get(o, "path_source")), "lexical") == 0) {
			const char *p = json_string_value(path);

			CHECK(p[0] == '/');
			CHECK(strstr(p, "//") == NULL);
			CHECK(strstr(p, "/./") == NULL && strstr(p, "/../") == NULL);
			CHECK(p[1] == '\0' || p[strlen(p) - 1] != '/');
		}
		if (kind == AT_EV_OPEN) {
			has_str(o, "flags_str");
			has_str(o, "access");
		}
		if (kind == AT_EV_RENAME)
			has(o, "new_path");
		break;
	}
	case AT_EV_CONNECT:
	case AT_EV_ACCEPT:
	case AT_EV_BIND:
	case AT_EV_LISTEN:
	case AT_EV_SOCK_CLOSE:
		for (size_t i = 0; i < sizeof(net_keys) / sizeof(net_keys[0]); i++)
			has(o, net_keys[i]);
		if (kind == AT_EV_SOCK_CLOSE) {
			has(o, "bytes_sent");
			has(o, "bytes_recv");
		} else {
			has(o, "ret");
			has(o, "errno");
		}
		break;
	case AT_EV_DNS:
		has(o, "server");
		has(o, "port");
		if (!json_object_get(o, "error")) {
			json_t *answers = json_object_get(o, "answers");

			has_str(o, "qname");
			has(o, "qtype");
			has(o, "id");
			CHECK(json_is_array(answers));
			for (size_t i = 0; i < json_array_size(answers); i++) {
				json_t *a = json_array_get(answers, i);

				has_str(a, "name");
				has_str(a, "type");
				CHECK(json_object_get(a, "addr") || json_object_get(a, "target"));
			}
		}
		break;
	default:
		break;
	}

	dump = json_dumps(o, JSON_COMPACT);
	CHECK(dump != NULL);
	free(dump);
}

/*
 * A file record the recorder writes straight to text (event_file_text):
 * accepted exactly when the object is, and then the object's bytes with
 * "eid" set, and what the object says.
 */
static void check_text_path(struct ev_ctx *ctx, const uint8_t *buf, size_t given, json_t *o)
{
	struct jbuf text, strs, want, scratch, pstrs;
	const char *alone;
	struct ev_file v;
	char err[128];
	int rc;

	jbuf_init(&text);
	jbuf_init(&strs);
	jbuf_init(&want);
	jbuf_init(&scratch);
	jbuf_init(&pstrs);
	alone = event_file_path(buf, given, &scratch, &pstrs);
	rc = event_file_text(ctx, buf, given, 99, &text, &strs, &v, err, sizeof(err));
	CHECK((rc == 0) == (o != NULL));
	if (o) {
		const char *path = json_string_value(json_object_get(o, "path"));
		const char *to = json_string_value(json_object_get(o, "new_path"));

		json_object_set_new(o, "eid", json_integer(99));
		CHECK(json_out(&want, o) == 0);
		json_object_del(o, "eid");
		CHECK(text.len == want.len && memcmp(text.p, want.p, want.len) == 0);
		CHECK(!path == !v.path && (!path || strcmp(path, v.path) == 0));
		CHECK(!to == !v.new_path && (!to || strcmp(to, v.new_path) == 0));
		CHECK(strcmp(v.comm, json_string_value(json_object_get(o, "comm"))) == 0);
		CHECK(v.ok == (json_integer_value(json_object_get(o, "ret")) >= 0));
		/* the path alone (for folding a search) is the event's */
		CHECK(!path == !alone && (!path || strcmp(path, alone) == 0));
	}
	jbuf_free(&scratch);
	jbuf_free(&pstrs);
	jbuf_free(&text);
	jbuf_free(&strs);
	jbuf_free(&want);
}

static void decode_chunk(struct ev_ctx *ctx, unsigned ctrl, const uint8_t *p, size_t len)
{
	size_t rec = len, given;
	uint8_t *buf;
	char err[256];
	json_t *o;

	if (ctrl & 0x20) {
		unsigned kind = (ctrl & 0x10) ? (ctrl & 0x0f)
			      : len >= 2 ? (unsigned)(p[0] | p[1] << 8) : AT_EV_NONE;

		if (rec < fixed_size(kind))
			rec = fixed_size(kind);
	}
	given = rec + ((ctrl & 0x80) ? 1 + (ctrl & 0x07) : 0);
	buf = malloc(given ? given : 1);
	if (!buf)
		return;
	memcpy(buf, p, len);
	memset(buf + len, 0, rec - len);
	memset(buf + rec, 0xa5, given - rec);
	if (rec >= sizeof(struct at_hdr)) {
		struct at_hdr h;

		memcpy(&h, buf, sizeof(h));
		if (ctrl & 0x10)
			h.kind = ctrl & 0x0f;
		if (ctrl & (0x40 | 0x80))
			h.size = (uint32_t)rec;
		memcpy(buf, &h, sizeof(h));
	}

	err[0] = '\0';
	o = event_to_json(ctx, buf, given, err, sizeof(err));
	if (given >= sizeof(struct at_hdr) && event_is_file(((const struct at_hdr *)buf)->kind))
		check_text_path(ctx, buf, given, o);
	if (o) {
		struct at_hdr h;

		CHECK(given >= sizeof(h));
		memcpy(&h, buf, sizeof(h));
		CHECK(h.size <= given);
		check_event(o, &h);
		json_decref(o);
	} else {
		CHECK(err[0] != '\0');
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ev_ctx ctx;
	size_t off = 0;

	ev_ctx_init(&ctx);
	ctx.mono_to_wall_ns = 0;
	ctx.sock_key = 0x5eed;
	ctx.cg = NULL;
	ctx.dns = dnscache_new(FUZZ_CACHE_CAPACITY);
	if (!ctx.dns)
		return 0;

	for (int n = 0; n < MAX_CHUNKS && off + 3 <= size; n++) {
		unsigned ctrl = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;

		off += 3;
		if (len > size - off)
			len = size - off;
		decode_chunk(&ctx, ctrl, data + off, len);
		off += len;
	}
	CHECK(dnscache_count(ctx.dns) <= FUZZ_CACHE_CAPACITY);
	dnscache_free(ctx.dns);
	return 0;
}
