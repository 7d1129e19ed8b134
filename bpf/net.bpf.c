/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Network activity of session processes: connect, accept, bind, listen, the
 * byte totals of each TCP socket when it closes, and the DNS answers they
 * receive (so user space can name the addresses they connect to).
 */
#include "common.bpf.h"
#include "payload.bpf.h"
#include "labels.bpf.h"
#include "dnsbind.bpf.h"

#define AT_AF_UNIX 1
#define AT_AF_INET 2
#define AT_AF_INET6 10
#define AT_TCP_CLOSE 7
#define AT_EINPROGRESS 115

/* Who owns a TCP socket: the record to emit when it closes. Keyed by the
 * kernel socket address; close may happen in softirq, in no process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct at_net);
} sock_owner SEC(".maps");

/* (tgid << 32 | fd) -> the socket talking to port 53 behind that fd. A
 * read is captured only if the fd still refers to that very socket, so a
 * dup2()'d file or a reused fd number cannot pose as DNS. Stale entries
 * (closed fds, exited processes) are therefore harmless, and an LRU map
 * retires them without a hook on every close() in the system. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} dns_fds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct at_dns);
} dns_scratch SEC(".maps");

static __always_inline __u64 fd_key(int fd)
{
	return (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | (__u32)fd;
}

static __always_inline struct sock *fd_sock(int fd)
{
	struct file *f = fd_file(fd);
	struct socket *so;

	if (!fd_is_socket(f))
		return NULL;
	so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : NULL;
}

/* Local and peer addresses as the kernel socket knows them. */
static __always_inline void fill_from_sock(struct at_net *n, struct sock *sk)
{
	n->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	n->sotype = BPF_CORE_READ(sk, sk_type);
	n->sock = (__u64)sk;
	n->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	n->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (n->family == AT_AF_INET) {
		bpf_core_read(n->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(n->daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (n->family == AT_AF_INET6) {
		bpf_core_read(n->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(n->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* Parse a user sockaddr into the remote (or, for bind, local) fields. */
static __always_inline void fill_from_sockaddr(struct at_net *n, const void *uaddr, int local)
{
	struct {
		__u16 family;
		__u8 rest[126];
	} sa = {};
	__u16 port;

	if (!uaddr || bpf_probe_read_user(&sa, sizeof(sa), uaddr))
		return;
	n->family = sa.family;
	if (sa.family == AT_AF_INET || sa.family == AT_AF_INET6) {
		port = ((__u16)sa.rest[0] << 8) | sa.rest[1];
		if (local)
			n->sport = port;
		else
			n->dport = port;
		if (sa.family == AT_AF_INET)
			__builtin_memcpy(local ? n->saddr : n->daddr, &sa.rest[2], 4);
		else
			__builtin_memcpy(local ? n->saddr : n->daddr, &sa.rest[6], 16);
	} else if (sa.family == AT_AF_UNIX) {
		__builtin_memcpy(n->unix_path, sa.rest, AT_UNIX_PATH_MAX);
	}
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct at_net);
} net_scratch SEC(".maps");

static __always_inline struct at_net *net_rec(__u16 kind, struct at_proc *p, long ret, int fd)
{
	__u32 zero = 0;
	struct at_net *n = bpf_map_lookup_elem(&net_scratch, &zero);

	if (!n)
		return NULL;
	__builtin_memset(n, 0, sizeof(*n));
	fill_hdr(&n->h, kind, p);
	n->h.size = sizeof(*n);
	n->ret = ret;
	n->fd = fd;
	return n;
}

static __always_inline void own_socket(struct at_net *n, struct sock *sk)
{
	__u64 key = (__u64)sk;

	if (n->sotype != 1 /* SOCK_STREAM */ ||
	    (n->family != AT_AF_INET && n->family != AT_AF_INET6))
		return;
	if (bpf_map_update_elem(&sock_owner, &key, n, BPF_ANY))
		count_drop(AT_LOSS_SOCK_FULL);
}

static __always_inline void mark_dns(int fd, struct sock *sk)
{
	__u64 key = fd_key(fd);
	__u64 val = (__u64)sk;

	if (sk && bpf_map_update_elem(&dns_fds, &key, &val, BPF_ANY))
		count_drop(AT_LOSS_DNS_FULL);
}

SYSCALL_EXIT(connect)
{
	struct at_args s;
	struct at_proc *p;
	struct at_net *n;
	struct sock *sk;
	int fd;

	/* an interrupted connect is restarted or becomes EINTR */
	if (exit_ret(ctx) <= -512 && exit_ret(ctx) >= -516)
		return 0;
	p = session_of(bpf_get_current_pid_tgid() >> 32);
	if (!p || syscall_args(ctx, &s))
		return 0;
	fd = (int)s.a[0];
	n = net_rec(AT_EV_CONNECT, p, exit_ret(ctx), fd);
	if (!n)
		return 0;
	sk = fd_sock(fd);
	if (sk)
		fill_from_sock(n, sk);
	fill_from_sockaddr(n, (void *)s.a[1], 0);
	submit(n, sizeof(*n), AT_EV_CONNECT);
	if (sk && (exit_ret(ctx) == 0 || exit_ret(ctx) == -AT_EINPROGRESS)) {
		own_socket(n, sk);
		if (n->dport == 53)
			mark_dns(fd, sk);
	}
	return 0;
}

static __always_inline int accept_exit(long ret)
{
	struct at_proc *p = session_of(bpf_get_current_pid_tgid() >> 32);
	struct at_net *n;
	struct sock *sk;

	if (!p || ret < 0)
		return 0;
	n = net_rec(AT_EV_ACCEPT, p, ret, (int)ret);
	if (!n)
		return 0;
	sk = fd_sock((int)ret);
	if (sk)
		fill_from_sock(n, sk);
	submit(n, sizeof(*n), AT_EV_ACCEPT);
	if (sk)
		own_socket(n, sk);
	return 0;
}

SYSCALL_EXIT(accept)
{
	return accept_exit(exit_ret(ctx));
}

SYSCALL_EXIT(accept4)
{
	return accept_exit(exit_ret(ctx));
}

SYSCALL_EXIT(bind)
{
	struct at_args s;
	struct at_proc *p;
	struct at_net *n;
	struct sock *sk;

	p = session_of(bpf_get_current_pid_tgid() >> 32);
	if (!p || syscall_args(ctx, &s))
		return 0;
	n = net_rec(AT_EV_BIND, p, exit_ret(ctx), (int)s.a[0]);
	if (!n)
		return 0;
	sk = fd_sock((int)s.a[0]);
	if (sk) {
		n->sotype = BPF_CORE_READ(sk, sk_type);
		n->sock = (__u64)sk;
	}
	fill_from_sockaddr(n, (void *)s.a[1], 1);
	if (sk && exit_ret(ctx) == 0 && (n->family == AT_AF_INET || n->family == AT_AF_INET6))
		n->sport = BPF_CORE_READ(sk, __sk_common.skc_num);  /* port 0 -> the one chosen */
	submit(n, sizeof(*n), AT_EV_BIND);
	return 0;
}

SYSCALL_EXIT(listen)
{
	struct at_args s;
	struct at_proc *p;
	struct at_net *n;
	struct sock *sk;

	p = session_of(bpf_get_current_pid_tgid() >> 32);
	if (!p || syscall_args(ctx, &s))
		return 0;
	n = net_rec(AT_EV_LISTEN, p, exit_ret(ctx), (int)s.a[0]);
	if (!n)
		return 0;
	sk = fd_sock((int)s.a[0]);
	if (sk)
		fill_from_sock(n, sk);
	n->backlog = (__u32)s.a[1];
	submit(n, sizeof(*n), AT_EV_LISTEN);
	return 0;
}

/* ---- payloads of plain-HTTP TCP streams ----------------------------------
 *
 * A TCP socket of a session process is classified by the first payload seen
 * on it, in either direction: an HTTP/1 request or status line or the
 * HTTP/2 preface makes it an HTTP stream whose bytes are captured from then
 * on; anything else (TLS records, database protocols) is skipped for the
 * rest of its life at the cost of one map lookup per call. Payload moved
 * while the thread is inside SSL_read/SSL_write is ciphertext: it only
 * teaches ssl_sock which socket that SSL object uses.
 */
#define SOCK_HTTP 1
#define SOCK_OTHER 2

const volatile bool capture_payload = true; /* set by the loader */
#define AT_MSG_PEEK 2
#define AT_IOV_MAX 8 /* iovecs captured per call; the rest is a counted hole */

/*
 * What a socket's first payload said, keyed by its address. A socket may
 * still be read after TCP_CLOSE (a client that shut down first is in
 * TIME_WAIT with the response queued), so nothing is forgotten at close;
 * instead the socket's inode number tells a new socket at a reused address
 * from the old one, and the LRU retires the dead.
 */
struct sock_class {
	__u64 ino;
	__u8 state;
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AT_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct sock_class);
} http_socks SEC(".maps");

/* A new socket at an old address: its byte streams start again at 0. */
static __always_inline void forget_streams(__u64 sk)
{
	struct at_stream_key k = { .conn = sk, .source = AT_SRC_SOCKET };

	bpf_map_delete_elem(&stream_off, &k);
	k.dir = AT_DIR_IN;
	bpf_map_delete_elem(&stream_off, &k);
}

#define W4(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | (__u32)(d) << 24)

static __always_inline bool looks_http(__u64 buf, __u64 len)
{
	__u32 w = 0;

	if (len < 4 || bpf_probe_read_user(&w, sizeof(w), (void *)buf))
		return false;
	switch (w) {
	case W4('G', 'E', 'T', ' '):
	case W4('P', 'O', 'S', 'T'):
	case W4('P', 'U', 'T', ' '):
	case W4('H', 'E', 'A', 'D'):
	case W4('D', 'E', 'L', 'E'):
	case W4('P', 'A', 'T', 'C'):
	case W4('O', 'P', 'T', 'I'):
	case W4('H', 'T', 'T', 'P'):
	case W4('P', 'R', 'I', ' '):
		return true;
	}
	return false;
}

/* Where a call's bytes are: one buffer, or an iovec array. */
struct span {
	__u64 buf;       /* buffer, or struct iovec * */
	__u32 iovcnt;    /* 0: buf is the buffer */
};

static __always_inline __u64 first_bytes(const struct span *sp, __u64 *len)
{
	struct iovec v = {};

	if (!sp->iovcnt)
		return sp->buf;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)sp->buf))
		return 0;
	*len = v.iov_len < *len ? v.iov_len : *len;
	return (__u64)v.iov_base;
}

static __always_inline void sock_payload(struct at_proc *p, int fd, __u8 dir, const struct span *sp,
					 long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), key, len = ret, first, ino;
	struct sock_class *cls, c = {};
	struct tls_call *tc;
	struct socket *so;
	struct file *f;
	struct sock *sk;
	__u16 family;

	if (ret <= 0 || !capture_payload)
		return;
	f = fd_file(fd);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & AT_S_IFMT) != AT_S_IFSOCK)
		return;
	so = BPF_CORE_READ(f, private_data);
	sk = so ? BPF_CORE_READ(so, sk) : NULL;
	if (!sk)
		return;
	tc = bpf_map_lookup_elem(&tls_calls, &id);
	if (tc) {
		struct ssl_key k = { .ssl = tc->ssl, .tgid = id >> 32 };
		__u64 v = (__u64)sk;

		bpf_map_update_elem(&ssl_sock, &k, &v, BPF_ANY);
		return;
	}
	key = (__u64)sk;
	ino = BPF_CORE_READ(f, f_inode, i_ino);
	cls = bpf_map_lookup_elem(&http_socks, &key);
	if (cls && cls->ino == ino && cls->state != SOCK_HTTP)
		return;
	if (!cls || cls->ino != ino) {
		if (cls)
			forget_streams(key);
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		first = first_bytes(sp, &len);
		c.ino = ino;
		c.state = SOCK_OTHER;
		if (BPF_CORE_READ(sk, sk_type) == 1 /* SOCK_STREAM */ &&
		    (family == AT_AF_INET || family == AT_AF_INET6) && looks_http(first, len))
			c.state = SOCK_HTTP;
		bpf_map_update_elem(&http_socks, &key, &c, BPF_ANY);
		if (c.state != SOCK_HTTP)
			return;
	}
	if (!sp->iovcnt) {
		emit_payload(p, key, 0, AT_SRC_SOCKET, dir, sp->buf, ret, key, fd, 0);
		return;
	}
	len = ret;
	for (int i = 0; i < AT_IOV_MAX; i++) {
		struct iovec v = {};
		__u64 take;

		if (!len || i >= sp->iovcnt)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(sp->buf + i * sizeof(v))))
			break;
		take = v.iov_len < len ? v.iov_len : len;
		emit_payload(p, key, 0, AT_SRC_SOCKET, dir, (__u64)v.iov_base, take, key, fd, 0);
		len -= take;
	}
	if (len) {
		/* bytes in further iovecs: move the offset on, a hole */
		struct at_stream_key k = { .conn = key, .dir = dir, .source = AT_SRC_SOCKET };
		__u64 *off = bpf_map_lookup_elem(&stream_off, &k);

		if (off)
			__sync_fetch_and_add(off, len);
		count_drop(AT_LOSS_DATA_CAP);
	}
}

/* A msghdr's iovec array. */
static __always_inline int msg_span(__u64 msg, struct span *sp)
{
	struct user_msghdr m = {};

	if (bpf_probe_read_user(&m, sizeof(m), (void *)msg) || !m.msg_iov)
		return -1;
	sp->buf = (__u64)m.msg_iov;
	sp->iovcnt = m.msg_iovlen;
	return 0;
}

/* Where a receive on a DNS socket put its bytes: buf of read/recvfrom,
 * or the first iovec of recvmsg. */
static __always_inline void dns_recv(struct at_proc *p, const struct at_args *s, long ret,
				     const struct span *sp)
{
	struct at_dns *d;
	struct sock *sk;
	__u32 zero = 0, len;
	__u64 key, buf, *owner, l = ret;
	__u16 dport;

	if (ret <= 0)
		return;
	key = fd_key((int)s->a[0]);
	owner = bpf_map_lookup_elem(&dns_fds, &key);
	if (!owner)
		return;
	sk = fd_sock((int)s->a[0]);
	if (!sk || *owner != (__u64)sk)
		return;
	/* A freed socket's memory is often reused for the next one: require
	 * that it still talks to port 53 (or is an unconnected datagram
	 * socket, marked by its sendto). */
	dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (dport != 53 && !(dport == 0 && BPF_CORE_READ(sk, sk_type) == 2 /* SOCK_DGRAM */))
		return;
	buf = first_bytes(sp, &l);
	if (!buf)
		return;
	d = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!d)
		return;
	fill_hdr(&d->h, AT_EV_DNS, p);
	len = ret;
	if (len > AT_DNS_MAX) {
		len = AT_DNS_MAX;
		d->h.flags |= AT_F_DNS_TRUNC;
	}
	d->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	d->port = dport;
	__builtin_memset(d->server, 0, sizeof(d->server));
	if (d->family == AT_AF_INET)
		bpf_core_read(d->server, 4, &sk->__sk_common.skc_daddr);
	else
		bpf_core_read(d->server, 16, &sk->__sk_common.skc_v6_daddr);
	if (BPF_CORE_READ(sk, sk_type) == 1)
		d->h.flags |= AT_F_DNS_TCP;
	d->len = len;
	/* (len - 1) & mask + 1 keeps 1..AT_DNS_MAX visible to the verifier */
	if (bpf_probe_read_user(d->data, ((len - 1) & (AT_DNS_MAX - 1)) + 1, (void *)buf))
		return;
	d->h.size = sizeof(*d);
	dns_bind_answers(d);
	submit(d, sizeof(*d), AT_EV_DNS);
}

/*
 * Common prologue of the payload handlers: the arguments, the labels moved
 * (label_fd_read or label_fd_write; the guard's, for any descriptor), then
 * only sockets go on, to the session and the payload. Most reads and writes
 * in a session are of files and pipes (a build's compilers: half a million
 * per build): the dispatcher stops them before the tail call when no
 * labels move (PAYLOAD_EXIT, sysexit.bpf.c), else they stop here after the
 * descriptor's mode, before any map lookup.
 */
#define PAYLOAD_PROLOGUE(move_labels)                                            \
	struct at_args s;                                                        \
	struct span sp = {};                                                     \
	struct at_proc *p;                                                       \
	long ret = exit_ret(ctx);                                                \
                                                                                 \
	if (ret <= 0 || syscall_args(ctx, &s))                                   \
		return 0;                                                        \
	move_labels(bpf_get_current_pid_tgid() >> 32, (int)s.a[0]);              \
	if (!fd_sock((int)s.a[0]))                                               \
		return 0;                                                        \
	p = session_of(bpf_get_current_pid_tgid() >> 32);                        \
	if (!p)                                                                  \
		return 0

/* An unconnected datagram sent to port 53 marks its socket as DNS. */
PAYLOAD_EXIT(sendto)
{
	struct { __u16 family; __u16 port; } sa = {};
	PAYLOAD_PROLOGUE(label_fd_write);

	if (s.a[4] && !bpf_probe_read_user(&sa, sizeof(sa), (void *)s.a[4]) &&
	    (sa.family == AT_AF_INET || sa.family == AT_AF_INET6) && bpf_ntohs(sa.port) == 53)
		mark_dns((int)s.a[0], fd_sock((int)s.a[0]));
	sp.buf = s.a[1];
	sock_payload(p, (int)s.a[0], AT_DIR_OUT, &sp, ret);
	return 0;
}

PAYLOAD_EXIT(write)
{
	PAYLOAD_PROLOGUE(label_fd_write);

	sp.buf = s.a[1];
	sock_payload(p, (int)s.a[0], AT_DIR_OUT, &sp, ret);
	return 0;
}

PAYLOAD_EXIT(writev)
{
	PAYLOAD_PROLOGUE(label_fd_write);

	sp.buf = s.a[1];
	sp.iovcnt = (__u32)s.a[2];
	if (sp.iovcnt)
		sock_payload(p, (int)s.a[0], AT_DIR_OUT, &sp, ret);
	return 0;
}

PAYLOAD_EXIT(sendmsg)
{
	PAYLOAD_PROLOGUE(label_fd_write);

	if (!msg_span(s.a[1], &sp) && sp.iovcnt)
		sock_payload(p, (int)s.a[0], AT_DIR_OUT, &sp, ret);
	return 0;
}

PAYLOAD_EXIT(read)
{
	PAYLOAD_PROLOGUE(label_fd_read);

	sp.buf = s.a[1];
	dns_recv(p, &s, ret, &sp);
	sock_payload(p, (int)s.a[0], AT_DIR_IN, &sp, ret);
	return 0;
}

PAYLOAD_EXIT(readv)
{
	PAYLOAD_PROLOGUE(label_fd_read);

	sp.buf = s.a[1];
	sp.iovcnt = (__u32)s.a[2];
	if (sp.iovcnt)
		sock_payload(p, (int)s.a[0], AT_DIR_IN, &sp, ret);
	return 0;
}

PAYLOAD_EXIT(recvfrom)
{
	PAYLOAD_PROLOGUE(label_fd_read);

	sp.buf = s.a[1];
	dns_recv(p, &s, ret, &sp);
	if (!(s.a[3] & AT_MSG_PEEK))
		sock_payload(p, (int)s.a[0], AT_DIR_IN, &sp, ret);
	return 0;
}

PAYLOAD_EXIT(recvmsg)
{
	PAYLOAD_PROLOGUE(label_fd_read);

	if (msg_span(s.a[1], &sp) || !sp.iovcnt)
		return 0;
	dns_recv(p, &s, ret, &sp);
	if (!(s.a[2] & AT_MSG_PEEK))
		sock_payload(p, (int)s.a[0], AT_DIR_IN, &sp, ret);
	return 0;
}

/* The end of a TCP socket a session process connected or accepted: report
 * its payload byte totals. Runs wherever the close completes (often
 * softirq), so everything comes from the owner record. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 key = (__u64)sk;
	struct at_net *owner;
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct at_net *rec;

	if (newstate != AT_TCP_CLOSE)
		return 0;
	owner = bpf_map_lookup_elem(&sock_owner, &key);
	if (!owner)
		return 0;
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count_drop(AT_EV_SOCK_CLOSE);
		bpf_map_delete_elem(&sock_owner, &key);
		return 0;
	}
	__builtin_memcpy(rec, owner, sizeof(*rec));
	rec->h.kind = AT_EV_SOCK_CLOSE;
	rec->h.ts_ns = bpf_ktime_get_ns();
	rec->h.size = sizeof(*rec);
	rec->ret = 0;
	/* bytes_sent: payload of transmitted segments (SYN and FIN carry
	 * none; retransmissions count again). bytes_received advances with
	 * rcv_nxt, which a received FIN moves by one: SOCK_DONE says one came. */
	rec->bytes_sent = BPF_CORE_READ(tp, bytes_sent);
	rec->bytes_recv = BPF_CORE_READ(tp, bytes_received);
	if ((BPF_CORE_READ(sk, __sk_common.skc_flags) & (1UL << SOCK_DONE)) && rec->bytes_recv)
		rec->bytes_recv -= 1;
	bpf_ringbuf_submit(rec, ring_wake(AT_EV_SOCK_CLOSE, sizeof(*rec)));
	bpf_map_delete_elem(&sock_owner, &key);
	return 0;
}
