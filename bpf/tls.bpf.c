/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Plaintext at the TLS library boundary: uprobes on SSL_write / SSL_read
 * and their _ex variants, attached once per binary by user space
 * (src/capture/tls.c) with a cookie that says which function and which
 * attachment it is. Entry remembers the arguments per thread; return emits
 * the bytes actually transferred as at_data records of the stream keyed by
 * the SSL object, never by the thread.
 */
#include "common.bpf.h"
#include "payload.bpf.h"

/* The attach cookie: bits 0-7 flags below, bits 8-15 the source
 * (enum at_source), bits 32-63 the loader's attachment id. */
#define TLS_READ (1u << 0) /* SSL_read*: bytes arrive in buf */
#define TLS_EX (1u << 1)   /* *_ex: 1 = success, count in *out_len */

SEC("uprobe")
int BPF_KPROBE(tls_enter, void *ssl, void *buf, __u64 num, __u64 *out_len)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_call c;

	if (!session_of(id >> 32))
		return 0;
	c.ssl = (__u64)ssl;
	c.buf = (__u64)buf;
	c.out_len = (__u64)out_len;
	c.cookie = bpf_get_attach_cookie(ctx);
	bpf_map_update_elem(&tls_calls, &id, &c, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(tls_exit, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_key sk = {};
	struct tls_call *cp, c;
	struct at_proc *p;
	__u64 n = 0, *sock;

	cp = bpf_map_lookup_elem(&tls_calls, &id);
	if (!cp)
		return 0;
	c = *cp;
	bpf_map_delete_elem(&tls_calls, &id);
	p = session_of(id >> 32);
	if (!p)
		return 0;
	if (c.cookie & TLS_EX) {
		if (ret != 1 || !c.out_len || bpf_probe_read_user(&n, sizeof(n), (void *)c.out_len))
			return 0;
	} else {
		if ((int)ret <= 0)
			return 0;
		n = (__u32)(int)ret;
	}
	sk.ssl = c.ssl;
	sk.tgid = id >> 32;
	sock = bpf_map_lookup_elem(&ssl_sock, &sk);
	emit_payload(p, c.ssl, id >> 32, (c.cookie >> 8) & 0xff,
		     (c.cookie & TLS_READ) ? AT_DIR_IN : AT_DIR_OUT, c.buf, n, sock ? *sock : 0, 0,
		     c.cookie >> 32);
	return 0;
}
