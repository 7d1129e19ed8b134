/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Payload capture shared by the TLS uprobes (tls.bpf.c) and the socket
 * syscall handlers (net.bpf.c): cutting a buffer into at_data records, the
 * per-stream byte offsets that let user space see holes, and the map that
 * tells a socket handler its thread is inside an SSL call.
 *
 * The maps are declared identically in both objects and shared by the
 * loader (by name), like those of common.bpf.h.
 */
#ifndef AT_PAYLOAD_BPF_H
#define AT_PAYLOAD_BPF_H

#include "common.bpf.h"

#define AT_MAX_STREAMS 65536

/* Bytes of each stream direction handed to the ring so far (or lost). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AT_MAX_STREAMS);
	__type(key, struct at_stream_key);
	__type(value, __u64);
} stream_off SEC(".maps");

/*
 * Stream offsets up to which user space wants nothing: the rest of a body it
 * will not keep (past --max-body, not compressed, not a stream), so the
 * bytes are not copied at all. Written by user space (model/flows.c), which
 * sees the jump in offsets and accounts for it; removed once passed.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct at_stream_key);
	__type(value, __u64);
} stream_skip SEC(".maps");

/* An SSL call in progress on a thread (uprobe entry to uretprobe). */
struct tls_call {
	__u64 ssl;
	__u64 buf;
	__u64 out_len;     /* _ex variants: where the byte count goes */
	__u64 cookie;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct tls_call);
} tls_calls SEC(".maps");

/* (tgid << 32 ^ low bits of SSL *) is not unique enough: key by both. */
struct ssl_key {
	__u64 ssl;
	__u32 tgid;
	__u32 _pad;
};

/* The socket an SSL object was last seen using (learnt by the socket
 * handlers while the thread is inside SSL_read/SSL_write). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ssl_key);
	__type(value, __u64);
} ssl_sock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct at_data);
} data_scratch SEC(".maps");

struct emit_ctx {
	struct at_hdr h;
	__u64 conn;
	__u64 sock;
	__u64 base;      /* stream offset of buf[0] */
	__u64 buf;       /* user address */
	__u32 len;
	__u32 fd;
	__u32 attach;
	__u8 dir;
	__u8 source;
};

/* Records of more than this many bytes are built in the ring itself (one
 * copy); smaller ones go through the scratch buffer so they take only the
 * ring space they need. */
#define AT_DATA_DIRECT 2048

static __always_inline void fill_data(struct at_data *d, const struct emit_ctx *e, __u32 done,
				      __u32 n)
{
	__builtin_memcpy(&d->h, &e->h, sizeof(d->h));
	d->h.size = offsetof(struct at_data, data) + n;
	d->conn = e->conn;
	d->sock = e->sock;
	d->offset = e->base + done;
	d->len = n;
	d->dir = e->dir;
	d->source = e->source;
	d->_pad = 0;
	d->fd = e->fd;
	d->attach = e->attach;
}

static long emit_chunk(__u32 i, void *arg)
{
	struct emit_ctx *e = arg;
	__u32 zero = 0, done = i * AT_DATA_MAX, n;
	__u64 wake;
	struct at_data *d;

	if (done >= e->len)
		return 1;
	n = e->len - done;
	if (n > AT_DATA_MAX)
		n = AT_DATA_MAX;
	/* (n - 1) & mask + 1 keeps 1..AT_DATA_MAX visible to the verifier */
	n = ((n - 1) & (AT_DATA_MAX - 1)) + 1;
	/* lazily, as other frequent kinds */
	wake = ring_wake(AT_EV_DATA, offsetof(struct at_data, data) + n);
	if (n > AT_DATA_DIRECT) {
		d = bpf_ringbuf_reserve(&events, sizeof(*d), 0);
		if (!d) {
			count_drop(AT_EV_DATA);
			return 0;
		}
		fill_data(d, e, done, n);
		if (bpf_probe_read_user(d->data, n, (void *)(e->buf + done))) {
			bpf_ringbuf_discard(d, BPF_RB_NO_WAKEUP);
			count_drop(AT_EV_DATA);
			return 0;
		}
		bpf_ringbuf_submit(d, wake);
		return 0;
	}
	d = bpf_map_lookup_elem(&data_scratch, &zero);
	if (!d)
		return 1;
	fill_data(d, e, done, n);
	if (bpf_probe_read_user(d->data, n, (void *)(e->buf + done)) ||
	    bpf_ringbuf_output(&events, d, offsetof(struct at_data, data) + n, wake))
		count_drop(AT_EV_DATA);
	return 0;
}

/*
 * Hand len bytes at user address buf to the ring as the next bytes of the
 * stream (conn, dir): up to AT_DATA_CHUNKS records; the rest only moves the
 * offset on (a hole user space reports) and is counted.
 */
static __always_inline void emit_payload(struct at_proc *p, __u64 conn, __u32 tgid, __u8 source,
					 __u8 dir, __u64 buf, __u64 len, __u64 sock, __u32 fd,
					 __u32 attach)
{
	struct at_stream_key key = { .conn = conn, .tgid = tgid, .dir = dir, .source = source };
	struct emit_ctx e = {};
	__u64 zero = 0, *off, *skip;

	if (!len)
		return;
	off = bpf_map_lookup_elem(&stream_off, &key);
	if (!off) {
		bpf_map_update_elem(&stream_off, &key, &zero, BPF_NOEXIST);
		off = bpf_map_lookup_elem(&stream_off, &key);
		if (!off)
			return;
	}
	e.base = __sync_fetch_and_add(off, len);
	skip = bpf_map_lookup_elem(&stream_skip, &key);
	if (skip) {
		__u64 until = *skip;

		if (e.base + len <= until)
			return; /* all of it is skipped */
		if (e.base < until) {
			buf += until - e.base;
			len -= until - e.base;
			e.base = until;
		}
		bpf_map_delete_elem(&stream_skip, &key);
	}
	fill_hdr(&e.h, AT_EV_DATA, p);
	e.conn = conn;
	e.sock = sock;
	e.buf = buf;
	e.len = len > (__u64)AT_DATA_MAX * AT_DATA_CHUNKS ? AT_DATA_MAX * AT_DATA_CHUNKS : len;
	e.fd = fd;
	e.attach = attach;
	e.dir = dir;
	e.source = source;
	if (e.len < len)
		count_drop(AT_LOSS_DATA_CAP);
	bpf_loop(AT_DATA_CHUNKS, emit_chunk, &e, 0);
}

#endif /* AT_PAYLOAD_BPF_H */
