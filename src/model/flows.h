/* SPDX-License-Identifier: MIT */
/*
 * Captured payload (at_data records) -> ordered byte streams per connection
 * -> the HTTP decoders -> records (model/exchange.h).
 *
 * A flow is one connection: an SSL object in one process (TLS), or a kernel
 * socket (plain HTTP). Its two directions are reassembled by stream offset:
 * records that arrive out of order wait in a small stash; an offset that
 * never comes is a hole, handed to the decoder as lost bytes (the message
 * it falls in is marked incomplete). The protocol is chosen from the first
 * bytes: the HTTP/2 client preface, or an HTTP/1 request or status line
 * (which also tells which direction carries requests). Connections that
 * start with anything else are not HTTP and are skipped.
 */
#ifndef AT_MODEL_FLOWS_H
#define AT_MODEL_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agenttrail/events.h"
#include "model/exchange.h"

struct ev_ctx;

struct flows_opts {
	struct exchange_sink sink;
	size_t max_body;          /* 0: HTTP1_DEFAULT_MAX_BODY */
	/*
	 * Optional. For data from a BoringSSL attachment found by scanning:
	 * called with the first bytes a process wrote on a new connection and
	 * whether they look like HTTP, so a wrong attachment can be dropped.
	 */
	void (*first_bytes)(void *ctx, uint32_t attach, bool http);
	void *ctx;
	/*
	 * Optional. Ask the kernel not to copy the bytes of stream k before
	 * offset `until` (the rest of a body the decoder will not keep). Returns
	 * 0 when the kernel took it; the jump in offsets is then expected.
	 */
	int (*skip)(void *ctx, const struct at_stream_key *k, uint64_t until);
	/* Optional, with skip: the kernel's offset of stream k now (bytes it
	 * saw), to count what it skipped when the connection ends. 0: unknown. */
	uint64_t (*offset)(void *ctx, const struct at_stream_key *k);
	void *skip_ctx;
};

struct flows_stats {
	uint64_t records;         /* at_data records handled */
	uint64_t bytes;
	uint64_t flows;           /* connections seen */
	uint64_t http_flows;
	uint64_t skipped_flows;   /* not HTTP */
	uint64_t holes;           /* lost ranges handed to decoders */
	uint64_t hole_bytes;
	uint64_t table_full;      /* connections not followed: too many at once */
	uint64_t skipped_bytes;   /* body bytes the kernel was told not to copy */
};

struct flows;

struct flows *flows_new(const struct flows_opts *o, struct ev_ctx *ev);
/* Close every connection (responses that end with it complete) and free. */
void flows_free(struct flows *f);

/* One at_data record of `size` bytes (checked here). */
void flows_data(struct flows *f, const struct at_data *d, size_t size);
/* The kernel socket closed (at now_ns, CLOCK_MONOTONIC): its plain flow
 * and TLS flows over it end FLOWS_CLOSE_GRACE_NS later, in flows_tick(). */
#define FLOWS_CLOSE_GRACE_NS (1000ULL * 1000000ULL)
void flows_sock_closed(struct flows *f, uint64_t sock, uint64_t now_ns);
/* End the flows whose grace after their socket closed is over. */
void flows_tick(struct flows *f, uint64_t now_ns);
/* A process exited: its TLS flows end. */
void flows_proc_exit(struct flows *f, uint32_t pid);
/* A session is over: all its flows end. */
void flows_session_end(struct flows *f, uint64_t session);

const struct flows_stats *flows_stats(const struct flows *f);

#endif
