/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Process lineage: fork, exec, exit, and session membership (fork tracking,
 * session cgroups, comm matches).
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "labels.bpf.h"

/* Set by the loader before load. */
const volatile __u8 watch_comms_enabled = 0;

/* Next id for sessions the kernel starts on a comm match; the loader seeds
 * it with the recorder's run id. Shared by all CPUs, bumped atomically. */
__u64 next_session = 0;

/* comm (zero-padded to 16 bytes) -> 1: start a session at exec of a match */
struct at_comm_key {
	char comm[AT_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct at_comm_key);
	__type(value, __u8);
} watch_comms SEC(".maps");

/* Set by the loader: TLS uprobes follow execs (record without --no-tls). */
const volatile bool exec_wakes_tls = true;

/* include/agenttrail/events.h: cgroups whose path user space knows;
 * filled by user space, least recently used first out (a long --comm
 * recording sees many). (exe_known, its executables: common.bpf.h.) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AT_CGROUP_KNOWN_MAX);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_known SEC(".maps");

/* inode's change time under the three layouts it has had (6.6 renamed
 * it, 6.11 split it; 6.13's multigrain flag sits above the nanoseconds) */
struct inode___ctime_v61 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime_v66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime_v611 {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));

#define AT_NSEC_MASK 0x3fffffffu   /* nanoseconds (< 2^30), no flags */

static __always_inline void inode_ctime(struct inode *ino, __s64 *sec, __u32 *nsec)
{
	struct inode___ctime_v611 *n = (void *)ino;
	struct inode___ctime_v66 *m = (void *)ino;
	struct inode___ctime_v61 *o = (void *)ino;

	if (bpf_core_field_exists(n->i_ctime_sec)) {
		*sec = BPF_CORE_READ(n, i_ctime_sec);
		*nsec = BPF_CORE_READ(n, i_ctime_nsec) & AT_NSEC_MASK;
	} else if (bpf_core_field_exists(m->__i_ctime)) {
		*sec = BPF_CORE_READ(m, __i_ctime.tv_sec);
		*nsec = (__u32)BPF_CORE_READ(m, __i_ctime.tv_nsec) & AT_NSEC_MASK;
	} else {
		*sec = BPF_CORE_READ(o, i_ctime.tv_sec);
		*nsec = (__u32)BPF_CORE_READ(o, i_ctime.tv_nsec) & AT_NSEC_MASK;
	}
}

static __always_inline bool exe_unknown(struct file *exe, const struct at_exe_key *k)
{
	struct at_exe_ver *v = bpf_map_lookup_elem(&exe_known, k);
	struct inode *ino;
	__s64 sec;
	__u32 nsec;

	if (!v)
		return true;
	ino = BPF_CORE_READ(exe, f_inode);
	inode_ctime(ino, &sec, &nsec);
	return v->size != (__u64)BPF_CORE_READ(ino, i_size) || v->ctime_sec != sec ||
	       v->ctime_nsec != nsec;
}

/* Exec records that woke the reader at once [0], and that did not [1]
 * (--stats). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} exec_wakes SEC(".maps");

/*
 * How an exec record wakes the reader. At once when user space may have
 * uprobes to attach before the new program talks (a statically linked
 * TLS library); a wakeup costs the exec'ing process an irq_work, about
 * 25 us in a VM. Not for an executable user space has already looked at,
 * unchanged since: its uprobes (if any) are on the inode already.
 * Also at once in a cgroup user space has not named yet: it names the
 * cgroup by id when it reads the record, and a short-lived one (a
 * container, a scope) may be gone 100 ms later. And always while a policy
 * is enforced: the guard marks files that renames and creations put at
 * protected paths when it reads their records, and a new program is the
 * usual next step after them.
 */
static __always_inline __u64 exec_wake(struct file *exe, const struct at_exe_key *k,
				       __u64 cgroup_id, __u64 size)
{
	__u32 slot = 1;
	__u64 *n, flags;

	if (guard_labels || !bpf_map_lookup_elem(&cgroup_known, &cgroup_id) ||
	    (exec_wakes_tls && exe_unknown(exe, k))) {
		slot = 0;
		flags = BPF_RB_FORCE_WAKEUP;
	} else {
		flags = ring_wake_bytes(size);
	}
	n = bpf_map_lookup_elem(&exec_wakes, &slot);
	if (n)
		*n += 1;
	return flags;
}

struct exec_rec {
	struct at_exec e;
	char data[AT_DATA_ROOM];
};

AT_SCRATCH_MAP(exec_scratch, struct exec_rec);

static __always_inline __u64 leader_start(struct task_struct *task)
{
	return BPF_CORE_READ(task, group_leader, start_time);
}

static __always_inline int comm_matches(const char *comm)
{
	struct at_comm_key k = {};

	bpf_probe_read_kernel_str(k.comm, sizeof(k.comm), comm);
	return bpf_map_lookup_elem(&watch_comms, &k) != NULL;
}

/* A new process matched --comm: make it the root of a new session. */
static __always_inline struct at_proc *start_comm_session(struct task_struct *task, __u32 tgid,
							  struct linux_binprm *bprm)
{
	struct at_proc np = {};
	struct at_session rec = {};
	struct qstr exe_name;
	char comm[AT_COMM_LEN];
	struct at_proc *p;

	if (!watch_comms_enabled)
		return NULL;
	bpf_get_current_comm(comm, sizeof(comm));
	if (!comm_matches(comm)) {
		exe_name = BPF_CORE_READ(bprm, file, f_path.dentry, d_name);
		if (!comm_matches((const char *)exe_name.name))
			return NULL;
	}
	np.session = __sync_fetch_and_add(&next_session, 1);
	np.start_ns = leader_start(task);
	tracked_bit_set(tgid);
	if (bpf_map_update_elem(&tracked, &tgid, &np, BPF_NOEXIST)) {
		count_drop(AT_LOSS_TRACK_FULL);
		return NULL;
	}
	p = session_of(tgid);
	if (!p)
		return NULL;
	fill_hdr(&rec.h, AT_EV_SESSION, p);
	rec.h.size = sizeof(rec);
	submit(&rec, sizeof(rec), AT_EV_SESSION);
	return p;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct at_proc *p = session_of(tgid);
	struct at_exe_key k = {};
	struct at_pathres res;
	struct exec_rec *r;
	struct file *exe;
	__u32 off = 0, len;
	unsigned long as, ae;
	long n;

	if (!p) {
		p = start_comm_session(task, tgid, bprm);
		if (!p)
			return 0;
	}
	/* Exec keeps the thread group's identity; fill it if user space
	 * registered this process (record root, --pid) without knowing it. */
	p->start_ns = leader_start(task);
	label_exec(tgid, BPF_CORE_READ(bprm, file));
	if (guard_labels) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		bpf_map_delete_elem(&exec_reqs, &tid);
	}

	r = cpu_scratch(&exec_scratch);
	if (!r)
		return 0;
	fill_hdr(&r->e.h, AT_EV_EXEC, p);
	r->e.parent_start_ns = BPF_CORE_READ(task, real_parent, group_leader, start_time);
	r->e.euid = BPF_CORE_READ(task, cred, euid.val);
	r->e.gid = BPF_CORE_READ(task, cred, gid.val);
	r->e.argc = BPF_CORE_READ(bprm, argc);
	r->e.sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID], numbers[0].nr);

	/* argv straight from the new process image */
	as = BPF_CORE_READ(task, mm, arg_start);
	ae = BPF_CORE_READ(task, mm, arg_end);
	len = ae > as ? ae - as : 0;
	if (len > AT_ARGV_MAX - 1) {
		len = AT_ARGV_MAX - 1;
		r->e.h.flags |= AT_F_ARGV_TRUNC;
	}
	len &= AT_ARGV_MAX - 1;
	if (len && bpf_probe_read_user(r->data, len, (void *)as))
		len = 0;
	r->data[len & (AT_ARGV_MAX - 1)] = '\0';
	if (len == 0 || r->data[(len - 1) & (AT_ARGV_MAX - 1)] != '\0')
		len++;
	r->e.argv_len = len;
	off = len;

	n = bpf_probe_read_kernel_str(&r->data[off & AT_DATA_MASK], AT_PATH_MAX,
				      BPF_CORE_READ(bprm, filename));
	r->e.filename_len = n > 0 ? n : 0;
	off += r->e.filename_len;

	r->e.exe_len = 0;
	if (resolve_file(BPF_CORE_READ(bprm, file), 0, &res) == 0) {
		off = put_kstr(r->data, off, res.str, res.len);
		r->e.exe_len = res.len & AT_LEN_MASK;
		if (res.truncated)
			r->e.h.flags |= AT_F_PATH_TRUNC;
	}

	r->e.cwd_len = 0;
	if (resolve_cwd(1, &res) == 0) {
		off = put_kstr(r->data, off, res.str, res.len);
		r->e.cwd_len = res.len & AT_LEN_MASK;
	}

	/* The cgroup is named by id; user space maps ids to paths, which
	 * keeps the string walk out of the exec path. */
	r->e.cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	r->e.cgroup_len = 0;
	exe = BPF_CORE_READ(bprm, file);
	file_ino_dev(exe, &k.ino, &k.dev);
	r->e.exe_ino = k.ino;
	r->e.exe_dev = k.dev;
	r->e._pad2 = 0;

	off &= AT_DATA_MASK;
	r->e.h.size = sizeof(r->e) + off;
	if (bpf_ringbuf_output(&events, r, sizeof(r->e) + off,
			       exec_wake(exe, &k, r->e.cgroup_id, sizeof(r->e) + off)))
		count_drop(AT_EV_EXEC);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct at_proc *p = session_of(ptgid);
	struct at_fork rec = {};

	if (!p)
		return 0;
	if (!p->start_ns)   /* attached with --pid: identity not known yet */
		p->start_ns = leader_start(parent);
	rec.h.kind = AT_EV_FORK;
	rec.h.size = sizeof(rec);
	rec.h.ts_ns = bpf_ktime_get_ns();
	rec.h.session = p->session;
	rec.h.tid = BPF_CORE_READ(child, pid);
	rec.h.uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(rec.h.comm, sizeof(rec.h.comm));
	rec.parent_start_ns = p->start_ns;
	rec.parent_tid = BPF_CORE_READ(parent, pid);
	rec.child_tid = rec.h.tid;

	if (ctgid == ptgid) {
		/* a new thread of a tracked process */
		rec.h.flags |= AT_F_THREAD;
		rec.h.pid = ptgid;
		rec.h.start_ns = p->start_ns;
		rec.h.ppid = BPF_CORE_READ(parent, real_parent, tgid);
	} else {
		struct at_proc np = { .session = p->session };

		np.start_ns = BPF_CORE_READ(child, start_time);
		tracked_bit_set(ctgid);
		if (bpf_map_update_elem(&tracked, &ctgid, &np, BPF_ANY))
			count_drop(AT_LOSS_TRACK_FULL);
		label_fork(ptgid, ctgid);
		rec.h.pid = ctgid;
		rec.h.start_ns = np.start_ns;
		rec.h.ppid = ptgid;
	}
	submit(&rec, sizeof(rec), AT_EV_FORK);
	return 0;
}

#define AT_SIGNAL_GROUP_EXIT 0x00000004

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct at_proc *p = session_of(tgid);
	struct at_exit rec = {};
	struct at_proc me;
	__u32 status;

	if (!p)
		return 0;
	/* Report the process once, when its last thread goes. Two threads
	 * leaving together can both see live == 0: whoever removes the
	 * entry reports. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	me = *p;
	if (!me.start_ns)
		me.start_ns = leader_start(task);
	if (bpf_map_delete_elem(&tracked, &tgid))
		return 0;
	tracked_bit_clear(tgid);
	label_exit(tgid);
	p = &me;
	if (BPF_CORE_READ(task, signal, flags) & AT_SIGNAL_GROUP_EXIT)
		status = BPF_CORE_READ(task, signal, group_exit_code);
	else
		status = BPF_CORE_READ(task, exit_code);

	fill_hdr(&rec.h, AT_EV_EXIT, p);
	rec.h.size = sizeof(rec);
	rec.signal = status & 0x7f;
	rec.code = rec.signal ? 0 : (status >> 8) & 0xff;
	if (status & 0x80)
		rec.h.flags |= AT_F_CORE_DUMP;
	rec.duration_ns = rec.h.ts_ns - p->start_ns;
	submit(&rec, sizeof(rec), AT_EV_EXIT);
	return 0;
}

/* A task moved into a session's cgroup joins that session. Tasks already in
 * a session keep theirs wherever they move: membership is never dropped by
 * a cgroup change. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(on_cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 cgid;
	__u64 *session;
	struct at_proc np = {};

	if (BPF_CORE_READ(dst, root, hierarchy_id) != 0)   /* cgroup v1 */
		return 0;
	cgid = BPF_CORE_READ(dst, kn, id);
	session = bpf_map_lookup_elem(&session_cgroups, &cgid);
	if (!session || session_of(tgid))
		return 0;
	np.session = *session;
	np.start_ns = leader_start(task);
	tracked_bit_set(tgid);
	if (bpf_map_update_elem(&tracked, &tgid, &np, BPF_NOEXIST))
		count_drop(AT_LOSS_TRACK_FULL);
	return 0;
}
