/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Maps and helpers shared by every agenttrail kernel program.
 *
 * Each bpf/NAME.bpf.c is its own object and skeleton (one concern each); they
 * all declare the maps below with identical definitions and the loader makes
 * them share one instance (bpf_map__reuse_fd), so the tracked-process table,
 * the ring buffer and the drop counters are a single truth.
 */
#ifndef AT_COMMON_BPF_H
#define AT_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "agenttrail/events.h"

#define AT_MAX_PROCS 65536
#define AT_MAX_STASH 16384
#define AT_MAX_SOCKS 65536

/* Sized by the loader (--ringbuf-mb); this is only the default. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} events SEC(".maps");

/* tgid -> session membership. The one lookup every hook makes first:
 * processes outside every session stop here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct at_proc);
} tracked SEC(".maps");

/*
 * One bit per possible tgid (PID_MAX_LIMIT is 4M on 64-bit): set before the
 * tgid enters `tracked`, cleared after it leaves. A clear bit answers "in no
 * session" with one load, where the hash lookup costs a hash and a bucket
 * walk: processes outside every session pass every hook that way. A set bit
 * only means "look in the table"; a bit may stay set for a tgid the table
 * refused (full), never the reverse. User space (loader_track) sets and
 * clears bits through a shared mapping, atomically, as the programs do.
 */
#define AT_TRACKED_WORDS (4194304 / 64)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, AT_TRACKED_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} tracked_bits SEC(".maps");

/* cgroup v2 id -> session: tasks moved into a session cgroup join it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u64);
} session_cgroups SEC(".maps");

/* Per event kind (and per loss reason), events the kernel could not deliver. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AT_LOSS__MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * Per-CPU scratch for building large records. A plain array indexed by CPU
 * rather than a PERCPU_ARRAY, whose values are limited to 32 KiB; the loader
 * sets max_entries to the number of possible CPUs.
 */
#define AT_SCRATCH_MAP(name, vtype)                                             \
	struct {                                                                \
		__uint(type, BPF_MAP_TYPE_ARRAY);                               \
		__uint(max_entries, 1);                                         \
		__type(key, __u32);                                             \
		__type(value, vtype);                                           \
	} name SEC(".maps")

/*
 * Where the kernel has bpf_rdonly_cast (6.2+) the loader sets btf_walk:
 * a kernel address becomes a read-only BTF-typed pointer whose fields are
 * plain loads (a faulting load reads 0) instead of a bpf_probe_read_kernel
 * call each. The verifier sees btf_walk as a constant and drops the branch
 * not taken, with its kfunc calls on kernels that lack them.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

const volatile bool btf_walk = false;

/* A kernel address (pointer or number) as a read-only pointer to type. */
#define AT_CAST(type, p) ((type *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(type)))

static __always_inline void *cpu_scratch(void *map)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(map, &cpu);
}

static __always_inline void count_drop(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &idx);

	if (n)
		*n += 1;
}

/* tgid's word of tracked_bits (NULL only for a tgid beyond the map) and
 * its bit in it. */
static __always_inline __u64 *tracked_word(__u32 tgid)
{
	__u32 word = tgid / 64;

	return bpf_map_lookup_elem(&tracked_bits, &word);
}

#define TRACKED_BIT(tgid) (1ULL << ((tgid) & 63))

static __always_inline struct at_proc *session_of(__u32 tgid)
{
	__u64 *bits = tracked_word(tgid);

	if (bits && !(*bits & TRACKED_BIT(tgid)))
		return NULL;
	return bpf_map_lookup_elem(&tracked, &tgid);
}

/* Before tgid enters `tracked`. */
static __always_inline void tracked_bit_set(__u32 tgid)
{
	__u64 *bits = tracked_word(tgid);

	if (bits)
		__sync_fetch_and_or(bits, TRACKED_BIT(tgid));
}

/* After tgid has left `tracked`. */
static __always_inline void tracked_bit_clear(__u32 tgid)
{
	__u64 *bits = tracked_word(tgid);

	if (bits)
		__sync_fetch_and_and(bits, ~TRACKED_BIT(tgid));
}

/* Fill the header for the current task. */
static __always_inline void fill_hdr(struct at_hdr *h, __u16 kind, struct at_proc *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	/* Processes attached with --pid enter the map without an identity;
	 * the first event they make fills it in. */
	if (!p->start_ns)
		p->start_ns = BPF_CORE_READ(task, group_leader, start_time);

	h->kind = kind;
	h->flags = 0;
	h->ts_ns = bpf_ktime_get_ns();
	h->session = p->session;
	h->start_ns = p->start_ns;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	if (btf_walk)
		h->ppid = AT_CAST(struct task_struct, task)->real_parent->tgid;
	else
		h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/*
 * When to wake the reader. A wakeup costs the traced process an irq_work
 * (an inter-processor interrupt) and the reader a context switch and a
 * round of its loop: at a few thousand events a second (a build) that was
 * most of the reader's CPU time, one wakeup per event. So the frequent
 * kinds wake it once per 1 << AT_WAKE_SHIFT bytes a CPU has written, counted on
 * that CPU. Asking the ring how much is waiting instead reads the
 * reader's position, a cache line the reader writes after every record;
 * that form (which also forced a wakeup on every record above the
 * threshold) measured about 0.2 us per recorded open slower. The
 * reader also looks every 100 ms on its own, which at a build's rate
 * (about 1 MiB per CPU and second) is what wakes it: a wakeup per
 * 256 KiB added a turn every 200 ms per CPU, each turn's cold caches
 * about 5% of the reader's CPU in a recorded build, for no lower
 * latency. The kinds that steer capture or enforcement wake it at once:
 * a session starting, an exec of a program not looked at yet or an
 * executable mapping (TLS uprobes to attach before the new program
 * talks; bpf/proc.bpf.c), a policy decision, a DNS answer (names bound
 * to addresses for the egress rules). Where order matters the reader
 * drains the ring anyway (before an exec decision, before answering an
 * agent's hook).
 */
#define AT_WAKE_SHIFT 20   /* 1 MiB */

/* Bytes this CPU has written to the ring, for ring_wake(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ring_written SEC(".maps");

/* include/agenttrail/events.h: executables whose exec needs no forced
 * wakeup (proc.bpf.c), filled by user space with each binary it has
 * looked at for TLS, least recently used first out; an open for writing
 * by a session process takes its file out (file.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AT_EXE_KNOWN_MAX);
	__type(key, struct at_exe_key);
	__type(value, struct at_exe_ver);
} exe_known SEC(".maps");

/* The frequent kinds' rule: once per AT_WAKE_SHIFT bytes of this CPU. */
static __always_inline __u64 ring_wake_bytes(__u64 size)
{
	__u32 zero = 0;
	__u64 *n, before;

	n = bpf_map_lookup_elem(&ring_written, &zero);
	if (!n)
		return 0;   /* the kernel's own rule: wake if caught up */
	before = *n;
	*n = before + size;
	return (before >> AT_WAKE_SHIFT) != ((before + size) >> AT_WAKE_SHIFT)
		       ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 ring_wake(__u16 kind, __u64 size)
{
	switch (kind) {
	case AT_EV_SESSION:
	case AT_EV_EXEC:
	case AT_EV_EXEC_MAP:
	case AT_EV_VIOLATION:
	case AT_EV_DNS:
		return BPF_RB_FORCE_WAKEUP;
	default:
		return ring_wake_bytes(size);
	}
}

/* Copy a prepared record into the ring buffer; count it if it does not fit. */
static __always_inline void submit(void *rec, __u64 size, __u16 kind)
{
	if (bpf_ringbuf_output(&events, rec, size, ring_wake(kind, size)))
		count_drop(kind);
}

/* The same, waking the reader at once. */
static __always_inline void submit_now(void *rec, __u64 size, __u16 kind)
{
	if (bpf_ringbuf_output(&events, rec, size, BPF_RB_FORCE_WAKEUP))
		count_drop(kind);
}

/*
 * Syscall exits. One raw tracepoint program on sys_exit (bpf/sysexit.bpf.c)
 * filters by syscall number and session, then tail-calls the handler for
 * that syscall from this table; handlers are declared with SYSCALL_EXIT()
 * and registered by the loader under their syscall number. A raw
 * tracepoint costs far less per call than a perf-event syscall
 * tracepoint, and processes outside every session stop in the dispatcher.
 * The BTF-typed flavour (tp_btf) reads the saved registers with a plain
 * load instead of a bpf_probe_read_kernel call: the dispatcher runs on
 * every syscall of every process, and that call was a third of its cost.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, AT_SYSCALL_SLOTS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} sys_exit_handlers SEC(".maps");

/* A handler: loaded, never attached (the loader turns libbpf's automatic
 * attach off), and of the dispatcher's own program type and hook, which a
 * tail call requires; the loader maps "sx_NAME" to the number of syscall
 * NAME. tp_btf's context is the tracepoint's arguments as u64s, the same
 * layout as a raw tracepoint's. */
#define SYSCALL_EXIT(name) \
	SEC("tp_btf/sys_exit") int sx_##name(struct bpf_raw_tracepoint_args *ctx)

/* A handler that records nothing unless the call returned more than 0 on
 * a socket, labels aside (net.bpf.c, PAYLOAD_PROLOGUE): when no labels
 * move, the dispatcher skips it for a file or a pipe. */
#define PAYLOAD_EXIT(name) \
	SEC("tp_btf/sys_exit") int sxp_##name(struct bpf_raw_tracepoint_args *ctx)

/* sys_exit's arguments: the task's saved registers and the return value. */
static __always_inline struct pt_regs *exit_regs(struct bpf_raw_tracepoint_args *ctx)
{
	return (struct pt_regs *)ctx->args[0];
}

static __always_inline long exit_ret(struct bpf_raw_tracepoint_args *ctx)
{
	return (long)ctx->args[1];
}

/*
 * The arguments of the syscall now returning, from the registers saved at
 * entry (the kernel leaves them untouched but for the return value).
 */
struct at_args {
	unsigned long a[6];
};

static __always_inline int syscall_args(struct bpf_raw_tracepoint_args *ctx, struct at_args *args)
{
	/* sys_exit's first argument is BTF-typed in the handlers (tp_btf):
	 * plain loads, no bpf_probe_read_kernel */
	struct pt_regs *regs = exit_regs(ctx);

#if defined(__TARGET_ARCH_x86)
	args->a[0] = regs->di;
	args->a[1] = regs->si;
	args->a[2] = regs->dx;
	args->a[3] = regs->r10;
	args->a[4] = regs->r8;
	args->a[5] = regs->r9;
#else
#error "syscall_args: only x86_64 is supported so far"
#endif
	return 0;
}

/*
 * The struct file behind fd in the current task, or NULL. The task's own
 * BTF-typed pointer lets the walk to the fd table be plain loads; the slot
 * itself (an array of pointers, untyped for the verifier) is one read.
 */
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	struct file *f = NULL;

	if (!files || fd < 0)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]))
		return NULL;
	return f;
}

#define AT_S_IFMT 0170000
#define AT_S_IFSOCK 0140000

/* Is f (fd_file()'s, or NULL) a socket? Asked of every read and write in a
 * session: plain loads where the kernel can type the pointer (btf_walk),
 * else one read. */
static __always_inline bool fd_is_socket(struct file *f)
{
	umode_t mode;

	if (!f)
		return false;
	if (btf_walk)
		mode = AT_CAST(struct file, f)->f_inode->i_mode;
	else
		mode = BPF_CORE_READ(f, f_inode, i_mode);
	return (mode & AT_S_IFMT) == AT_S_IFSOCK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#endif /* AT_COMMON_BPF_H */
