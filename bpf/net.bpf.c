/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Network activity of session processes: connect, accept, bind, listen, the
 * byte totals of each TCP socket when it closes, and the DNS answers they
 * receive (so user space can name the addresses they connect to).
 */
#include "common.bpf.h"

#define AT_AF_UNIX 1
#define AT_AF_INET 2
#define AT_AF_INET6 10
#define AT_TCP_CLOSE 7
#define AT_S_IFMT 0170000
#define AT_S_IFSOCK 0140000
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

	if (!f)
		return NULL;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & AT_S_IFMT) != AT_S_IFSOCK)
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

/* An unconnected datagram sent to port 53 marks its socket as DNS. */
SYSCALL_EXIT(sendto)
{
	struct { __u16 family; __u16 port; } sa = {};
	struct at_args s;

	if (exit_ret(ctx) < 0 || !session_of(bpf_get_current_pid_tgid() >> 32) || syscall_args(ctx, &s))
		return 0;
	if (!s.a[4] || bpf_probe_read_user(&sa, sizeof(sa), (void *)s.a[4]))
		return 0;
	if ((sa.family == AT_AF_INET || sa.family == AT_AF_INET6) && bpf_ntohs(sa.port) == 53)
		mark_dns((int)s.a[0], fd_sock((int)s.a[0]));
	return 0;
}

/* Where a receive on a DNS socket put its bytes: buf of read/recvfrom,
 * or the first iovec of recvmsg. */
enum recv_kind { RK_BUF, RK_MSG };

static __always_inline int dns_recv_exit(struct bpf_raw_tracepoint_args *ctx, long ret,
					 enum recv_kind kind)
{
	struct at_args s;
	struct at_proc *p;
	struct at_dns *d;
	struct sock *sk;
	__u32 zero = 0, len;
	__u64 key, buf, *owner;
	__u16 dport;

	if (ret <= 0)
		return 0;
	p = session_of(bpf_get_current_pid_tgid() >> 32);
	if (!p || syscall_args(ctx, &s))
		return 0;
	key = fd_key((int)s.a[0]);
	owner = bpf_map_lookup_elem(&dns_fds, &key);
	if (!owner)
		return 0;
	sk = fd_sock((int)s.a[0]);
	if (!sk || *owner != (__u64)sk)
		return 0;
	/* A freed socket's memory is often reused for the next one: require
	 * that it still talks to port 53 (or is an unconnected datagram
	 * socket, marked by its sendto). */
	dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (dport != 53 && !(dport == 0 && BPF_CORE_READ(sk, sk_type) == 2 /* SOCK_DGRAM */))
		return 0;
	buf = s.a[1];
	if (kind == RK_MSG) {
		struct user_msghdr msg = {};
		struct iovec iov = {};

		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)buf) || !msg.msg_iov ||
		    bpf_probe_read_user(&iov, sizeof(iov), msg.msg_iov))
			return 0;
		buf = (__u64)iov.iov_base;
	}
	d = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!d)
		return 0;
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
		return 0;
	d->h.size = sizeof(*d);
	submit(d, sizeof(*d), AT_EV_DNS);
	return 0;
}

SYSCALL_EXIT(recvfrom)
{
	return dns_recv_exit(ctx, exit_ret(ctx), RK_BUF);
}

SYSCALL_EXIT(recvmsg)
{
	return dns_recv_exit(ctx, exit_ret(ctx), RK_MSG);
}

SYSCALL_EXIT(read)
{
	return dns_recv_exit(ctx, exit_ret(ctx), RK_BUF);
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
	bpf_ringbuf_submit(rec, 0);
	bpf_map_delete_elem(&sock_owner, &key);
	return 0;
}
