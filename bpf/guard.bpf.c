/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * In-kernel enforcement of connect and datagram send: cgroup sock_addr
 * hooks on the root of the cgroup v2 hierarchy, so they run for every
 * process of the machine (a session process cannot leave by changing
 * cgroup) and decide in the caller's context before any packet exists.
 * Processes outside every session return after one lookup.
 *
 * The decision: the destination's endpoint pattern bits (guard_eps LPM trie,
 * then each pattern's port range), the subject's labels (proc_labels), and
 * the rules of that operation in order. Every rule that fires is reported;
 * the strongest effect applies: kill (SIGKILL, and the call fails), block
 * (EPERM), notify (allowed).
 */
#include "common.bpf.h"
#include "labels.bpf.h"
#include "rule.bpf.h"

#define AT_AF_INET 2
#define AT_AF_INET6 10

/* Set by the loader: the kernel lets cgroup sock_addr programs call
 * bpf_send_signal (6.18 does, 6.1 does not). Without it, the hook leaves
 * the kill to the syscall's exit tracepoint. */
const volatile bool hook_can_signal = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u8);
} pending_kill SEC(".maps");
#define AT_SIGKILL 9
#define AT_EPERM 1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AT_EP_WORDS * 64);
	__type(key, __u32);
	__type(value, struct at_ep_port);
} guard_ep_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AT_LABEL_WORDS * 64);
	__type(key, __u32);
	__type(value, struct at_ep_label);
} guard_ep_labels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AT_GUARD_RULES);
	__type(key, __u32);
	__type(value, struct at_rule);
} guard_connect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AT_GUARD_RULES);
	__type(key, __u32);
	__type(value, struct at_rule);
} guard_send SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct at_guard_conf);
} guard_conf SEC(".maps");

/* Per-CPU decision state: too large for the 512-byte stack. */
struct decision {
	struct at_epset eps;     /* destination's pattern bits */
	struct at_labels labels; /* subject's labels */
	struct at_violation v;
	__u16 port;
	__u8 effect;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct decision);
} guard_scratch SEC(".maps");

/* bpf_loop's context must live on the stack: it points at the state. */
struct rule_walk {
	struct decision *d;
	void *table;
};

static __always_inline bool sets_meet(const __u64 *a, const __u64 *b)
{
	return (a[0] & b[0]) | (a[1] & b[1]) | (a[2] & b[2]) | (a[3] & b[3]);
}

/* Keep pattern bit i only if its port range holds the port. */
static long port_filter(__u32 i, void *c)
{
	struct decision *d = ((struct rule_walk *)c)->d;
	struct at_ep_port *pr;
	__u32 w = (i / 64) & (AT_EP_WORDS - 1);
	__u64 bit = 1ull << (i % 64);

	if (!(d->eps.w[w] & bit))
		return 0;
	pr = bpf_map_lookup_elem(&guard_ep_ports, &i);
	if (!pr || d->port < pr->lo || d->port > pr->hi)
		d->eps.w[w] &= ~bit;
	return 0;
}

static long rule_step(__u32 i, void *c)
{
	struct rule_walk *w = c;
	struct decision *d = w->d;
	struct at_rule *r = bpf_map_lookup_elem(w->table, &i);
	__u8 n;

	if (!r)
		return 1;
	if (!sets_meet(d->eps.w, r->ep_in.w) || sets_meet(d->eps.w, r->ep_except.w))
		return 0;
	if (!rule_labels_hold(r, &d->labels))
		return 0;
	n = d->v.nrules;
	if (n < AT_VIOL_FIRED)
		d->v.rules[n & (AT_VIOL_FIRED - 1)] = r->id;
	d->v.nrules = n + 1 > AT_VIOL_FIRED ? AT_VIOL_FIRED : n + 1;
	d->effect = rule_stronger(d->effect, r->effect);
	return 0;
}

/* Labels of the endpoint: every label whose endpoint set holds it. */
static long ep_label_step(__u32 i, void *c)
{
	struct decision *d = ((struct rule_walk *)c)->d;
	struct at_ep_label *el = bpf_map_lookup_elem(&guard_ep_labels, &i);

	if (!el)
		return 1;
	if (sets_meet(d->eps.w, el->in.w) && !sets_meet(d->eps.w, el->except.w))
		d->v.labels.w[(el->label / 64) & 3] |= 1ull << (el->label % 64);
	return 0;
}

static __always_inline void fill_dest(struct decision *d, const __u8 *addr, __u16 port)
{
	struct at_ep_key k = { .prefixlen = 128 };
	struct at_epset *e;

	__builtin_memcpy(k.addr, addr, 16);
	e = bpf_map_lookup_elem(&guard_eps, &k);
	if (e)
		d->eps = *e;
	else
		__builtin_memset(&d->eps, 0, sizeof(d->eps));
	d->port = port;
}

/*
 * Decide one operation. Returns 1 to allow, 0 to refuse (EPERM).
 */
static __always_inline int decide(struct bpf_sock_addr *ctx, __u8 opbit, __u16 family,
				  const __u8 *addr, __u16 port)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct at_proc *p = session_of(tgid);
	struct at_guard_conf *conf;
	struct at_plabels *pl;
	struct decision *d;
	struct rule_walk w;
	__u32 zero = 0, n;
	bool port_check = false;

	if (!p)
		return 1;
	conf = bpf_map_lookup_elem(&guard_conf, &zero);
	d = bpf_map_lookup_elem(&guard_scratch, &zero);
	if (!conf || !conf->enabled || !d)
		return 1;

	w.d = d;
	w.table = NULL;
	fill_dest(d, addr, port);
	for (int i = 0; i < AT_EP_WORDS; i++)
		if (d->eps.w[i] & ~conf->port_any.w[i])
			port_check = true;
	if (port_check)
		bpf_loop(AT_EP_WORDS * 64, port_filter, &w, 0);

	/* the endpoint's labels, for what this socket will receive */
	__builtin_memset(&d->v.labels, 0, sizeof(d->v.labels));
	if (opbit == 6 && conf->nep_labels) {
		bpf_loop(conf->nep_labels, ep_label_step, &w, 0);
		if (!labels_empty(&d->v.labels)) {
			__u64 cookie = bpf_get_socket_cookie(ctx);

			bpf_map_update_elem(&sock_labels, &cookie, &d->v.labels, BPF_ANY);
		}
	}

	pl = bpf_map_lookup_elem(&proc_labels, &tgid);
	if (pl)
		d->labels = pl->l;
	else
		__builtin_memset(&d->labels, 0, sizeof(d->labels));
	d->v.nrules = 0;
	d->effect = 0;
	if (opbit == 6) {
		w.table = &guard_connect;
		n = conf->nconnect;
	} else {
		w.table = &guard_send;
		n = conf->nsend;
	}
	if (n)
		bpf_loop(n > AT_GUARD_RULES ? AT_GUARD_RULES : n, rule_step, &w, 0);
	if (!d->v.nrules)
		return 1;

	fill_hdr(&d->v.h, AT_EV_VIOLATION, p);
	d->v.h.size = sizeof(d->v);
	d->v.op = opbit;
	d->v.effect = d->effect;
	d->v.mech = AT_MECH_CGROUP;
	d->v.err = d->effect == AT_EFF_NOTIFY ? 0 : AT_EPERM;
	d->v.family = family;
	d->v.port = port;
	d->v.sotype = ctx->type;
	__builtin_memcpy(d->v.addr, addr, 16);
	d->v.labels = d->labels;
	d->v.path_len = 0;
	d->v.name_len = 0;
	submit(&d->v, sizeof(d->v), AT_EV_VIOLATION);

	if (d->effect == AT_EFF_KILL) {
		if (hook_can_signal) {
			bpf_send_signal(AT_SIGKILL);
		} else {
			__u64 id = bpf_get_current_pid_tgid();
			__u8 one = 1;

			bpf_map_update_elem(&pending_kill, &id, &one, BPF_ANY);
		}
	}
	return d->effect == AT_EFF_NOTIFY ? 1 : 0;
}

static __always_inline int decide4(struct bpf_sock_addr *ctx, __u8 opbit)
{
	__u8 a[16] = {};
	__u32 ip = ctx->user_ip4;

	a[10] = 0xff;
	a[11] = 0xff;
	__builtin_memcpy(&a[12], &ip, 4);
	return decide(ctx, opbit, AT_AF_INET, a, bpf_ntohs((__u16)ctx->user_port));
}

static __always_inline int decide6(struct bpf_sock_addr *ctx, __u8 opbit)
{
	__u32 a[4];

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	return decide(ctx, opbit, AT_AF_INET6, (const __u8 *)a, bpf_ntohs((__u16)ctx->user_port));
}

/* op numbers: bit index of AT_OP_CONNECT (6) and AT_OP_SEND (7) */
SEC("cgroup/connect4")
int guard_connect4(struct bpf_sock_addr *ctx)
{
	return decide4(ctx, 6);
}

SEC("cgroup/connect6")
int guard_connect6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, 6);
}

SEC("cgroup/sendmsg4")
int guard_sendmsg4(struct bpf_sock_addr *ctx)
{
	return decide4(ctx, 7);
}

SEC("cgroup/sendmsg6")
int guard_sendmsg6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, 7);
}

/* Kills the hook could not send: at the exit of the refused call. */
static __always_inline int kill_pending(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!bpf_map_lookup_elem(&pending_kill, &id))
		return 0;
	bpf_map_delete_elem(&pending_kill, &id);
	bpf_send_signal(AT_SIGKILL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int guard_exit_connect(void *ctx)
{
	return kill_pending();
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int guard_exit_sendto(void *ctx)
{
	return kill_pending();
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int guard_exit_sendmsg(void *ctx)
{
	return kill_pending();
}

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int guard_exit_sendmmsg(void *ctx)
{
	return kill_pending();
}

/* ---- what fanotify decisions need: open flags and exec argv --------------- */

#define AT_AT_FDCWD -100

static __always_inline int note_open(__u32 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct at_open_req req = { .tgid = id >> 32, .flags = flags };

	if (!session_of(req.tgid))
		return 0;
	bpf_map_update_elem(&open_reqs, &tid, &req, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int guard_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return note_open((__u32)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_open")
int guard_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return note_open((__u32)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int guard_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return note_open(01 | 0100 | 01000); /* O_WRONLY|O_CREAT|O_TRUNC */
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int guard_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return note_open((__u32)how.flags);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct at_exec_req);
} exec_scratch_g SEC(".maps");

/* [0]: execs of session threads whose argv could not be kept (table
 * full); while 0, user space may take "no entry" for "not a session" */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} exec_reqs_lost SEC(".maps");

struct argv_walk {
	struct at_exec_req *r;
	const char *const *argv;
};

static long copy_arg(__u32 i, void *c)
{
	struct argv_walk *w = c;
	struct at_exec_req *r = w->r;
	const char *arg = NULL;
	long n;

	if (bpf_probe_read_user(&arg, sizeof(arg), &w->argv[i]) || !arg)
		return 1;
	if (r->len >= AT_EXEC_ARGS_MAX) {
		r->truncated = 1;
		return 1;
	}
	n = bpf_probe_read_user_str(&r->buf[r->len & (AT_EXEC_ARGS_MAX - 1)], AT_EXEC_ARGS_MAX, arg);
	if (n <= 0)
		return 1;
	r->len += n;
	r->argc++;
	return 0;
}

static __always_inline int note_exec(const char *const *argv)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct at_exec_req *r;
	struct argv_walk w;

	if (!session_of(id >> 32))
		return 0;
	r = bpf_map_lookup_elem(&exec_scratch_g, &zero);
	if (!r)
		return 0;
	r->ts = bpf_ktime_get_ns();
	r->tgid = id >> 32;
	r->argc = 0;
	r->len = 0;
	r->truncated = 0;
	w.r = r;
	w.argv = argv;
	bpf_loop(AT_EXEC_ARGC_MAX, copy_arg, &w, 0);
	if (bpf_map_update_elem(&exec_reqs, &tid, r, BPF_ANY)) {
		__u64 *lost = bpf_map_lookup_elem(&exec_reqs_lost, &zero);

		if (lost)
			__sync_fetch_and_add(lost, 1);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int guard_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return note_exec((const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int guard_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return note_exec((const char *const *)ctx->args[2]);
}
