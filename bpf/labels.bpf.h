/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Label propagation (the guard's information flow), in the kernel, at the
 * moment the data moves:
 *
 *   fork   the child starts with its parent's labels;
 *   exec   the process keeps its labels and gains the executable's (its
 *          data labels and its exec labels), and the executable's
 *          declassify/endorse entry applies to its writes from then on;
 *   read   opening a file for reading, or reading from any fd (pipes,
 *          inherited descriptors, files labelled after they were opened),
 *          adds the file's labels to the process;
 *   write  opening a file for writing, or writing to any fd, adds the
 *          writer's labels (after its flow entry) to the file; a file
 *          created in a SUBTREE directory gets the directory's labels;
 *   recv   reading from a socket adds the labels of the endpoint it is
 *          connected to (bound by guard.bpf.c at connect).
 *
 * Included by the programs that see those moments (proc, file, net). All of
 * it is compiled out of the fast path unless the loader sets guard_labels
 * (a policy with labels is active): a process with no labels costs one
 * lookup at write, a file with no labels one lookup at read.
 */
#ifndef AT_LABELS_BPF_H
#define AT_LABELS_BPF_H

#include "agenttrail/guard.h"

/* Set by the loader before load: a policy with labels is active. */
const volatile bool guard_labels = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct at_plabels);
} proc_labels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_GUARD_INODES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct at_inode_key);
	__type(value, struct at_inode_val);
} inode_labels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AT_GUARD_FLOWS);
	__type(key, __u32);
	__type(value, struct at_flow);
} guard_flows SEC(".maps");

/* socket cookie -> labels of the endpoint it is connected to */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AT_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct at_labels);
} sock_labels SEC(".maps");

/* [0]: number of SUBTREE directories in inode_labels; while 0, a file
 * without labels of its own costs no walk up its directories */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} label_subtrees SEC(".maps");

static __always_inline bool have_subtrees(void)
{
	__u32 zero = 0, *n = bpf_map_lookup_elem(&label_subtrees, &zero);

	return n && *n;
}

/* address -> endpoint pattern bits (CIDRs from the policy, addresses bound
 * to domain patterns by DNS answers); read by the cgroup hooks */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AT_GUARD_EPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct at_ep_key);
	__type(value, struct at_epset);
} guard_eps SEC(".maps");

/* name hash -> domain pattern bits (include/agenttrail/guard.h) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_GUARD_DOMAINS);
	__type(key, __u64);
	__type(value, struct at_domain_bits);
} guard_domains SEC(".maps");

/* thread id -> the open in progress (fanotify decisions) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct at_open_req);
} open_reqs SEC(".maps");

/* thread id -> the exec in progress (fanotify decisions) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct at_exec_req);
} exec_reqs SEC(".maps");

/* tgid -> tgid of the SQPOLL io_uring ring owner whose ring it shares
 * (itself for the owner); see file.bpf.c io_uring_setup */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} ring_owner SEC(".maps");

static __always_inline bool labels_empty(const struct at_labels *l)
{
	return !(l->w[0] | l->w[1] | l->w[2] | l->w[3]);
}

/* a |= b; returns true if a changed */
static __always_inline bool labels_or(struct at_labels *a, const struct at_labels *b)
{
	bool changed = false;

	for (int i = 0; i < AT_LABEL_WORDS; i++) {
		__u64 n = a->w[i] | b->w[i];

		if (n != a->w[i]) {
			a->w[i] = n;
			changed = true;
		}
	}
	return changed;
}

static __always_inline void inode_key_of(struct inode *ino, struct at_inode_key *k)
{
	k->ino = BPF_CORE_READ(ino, i_ino);
	k->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	k->_pad = 0;
}

static __always_inline void proc_gain_one(__u32 tgid, const struct at_labels *l);

/* The process gains labels l (and so does the owner of an SQPOLL ring it
 * shares: that ring's kernel thread submits on its behalf). */
static __always_inline void proc_gain(__u32 tgid, const struct at_labels *l)
{
	__u32 *owner;

	if (labels_empty(l))
		return;
	proc_gain_one(tgid, l);
	owner = bpf_map_lookup_elem(&ring_owner, &tgid);
	if (owner && *owner != tgid)
		proc_gain_one(*owner, l);
}

static __always_inline void proc_gain_one(__u32 tgid, const struct at_labels *l)
{
	struct at_plabels *pl, npl = {};

	pl = bpf_map_lookup_elem(&proc_labels, &tgid);
	if (pl) {
		labels_or(&pl->l, l);
		return;
	}
	labels_or(&npl.l, l);
	if (bpf_map_update_elem(&proc_labels, &tgid, &npl, BPF_NOEXIST))
		/* raced with another thread: merge into its entry */
		if ((pl = bpf_map_lookup_elem(&proc_labels, &tgid)))
			labels_or(&pl->l, l);
}

#define AT_SUBTREE_DEPTH 12 /* ancestors searched for a SUBTREE directory */

struct subtree_walk {
	struct dentry *d;
	struct at_inode_val *found;
	struct at_inode_key key;   /* the found directory's */
};

static long subtree_step(__u32 i, void *c)
{
	struct subtree_walk *w = c;
	struct dentry *cur = w->d; /* a plain local: CO-RE reads only kernel types */
	struct dentry *parent = BPF_CORE_READ(cur, d_parent);
	struct at_inode_key k;
	struct at_inode_val *v;

	if (!parent || parent == cur)
		return 1;
	w->d = parent;
	inode_key_of(BPF_CORE_READ(parent, d_inode), &k);
	v = bpf_map_lookup_elem(&inode_labels, &k);
	if (!v)
		return 0;
	if (v->flags & AT_INODE_SUBTREE) {
		w->found = v;
		w->key = k;
	}
	return 1; /* the nearest labelled directory decides */
}

/* directory (device, inode and its generation, so that a reused inode
 * number is another key) -> the SUBTREE directory that decides for files
 * in it (zero key: none); cleared by user space whenever SUBTREE entries
 * change */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct at_inode_key);
	__type(value, struct at_inode_key);
} subtree_cache SEC(".maps");

/*
 * A file with no labels of its own inside a SUBTREE directory (created
 * after the policy loaded, by anyone, at any depth below it) carries the
 * directory's labels: the nearest labelled ancestor decides. The answer
 * for a directory is cached, so most opens cost one lookup here.
 */
static __always_inline struct at_inode_val *subtree_of(struct dentry *d)
{
	struct subtree_walk w = { .d = d };
	struct at_inode_key dk, none = {}, *hit;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);

	inode_key_of(BPF_CORE_READ(parent, d_inode), &dk);
	dk._pad = BPF_CORE_READ(parent, d_inode, i_generation);
	hit = bpf_map_lookup_elem(&subtree_cache, &dk);
	if (hit)
		return hit->ino ? bpf_map_lookup_elem(&inode_labels, hit) : NULL;
	w.key = none;
	bpf_loop(AT_SUBTREE_DEPTH, subtree_step, &w, 0);
	bpf_map_update_elem(&subtree_cache, &dk, w.found ? &w.key : &none, BPF_ANY);
	return w.found;
}

/* A session process read from (or opened for reading) the file at dentry
 * d (NULL: only the inode is known, e.g. a pipe). */
static __always_inline void label_read_at(__u32 tgid, struct inode *ino, struct dentry *d)
{
	struct at_inode_key k;
	struct at_inode_val *v;

	if (!guard_labels || !ino)
		return;
	/* a directory's labels are for what is created in it (SUBTREE):
	 * listing it reads names, not the data */
	if ((BPF_CORE_READ(ino, i_mode) & 0170000) == 0040000)
		return;
	inode_key_of(ino, &k);
	v = bpf_map_lookup_elem(&inode_labels, &k);
	if (!v && d && have_subtrees())
		v = subtree_of(d);
	if (v)
		proc_gain(tgid, &v->data);
}

static __always_inline void label_read(__u32 tgid, struct inode *ino)
{
	label_read_at(tgid, ino, NULL);
}

/* The labels a write by this process carries, after its flow entry. */
static __always_inline bool written_labels(const struct at_plabels *pl, struct at_labels *out)
{
	struct at_flow *fl = NULL;

	*out = pl->l;
	if (pl->flow) {
		__u32 idx = pl->flow - 1;

		fl = bpf_map_lookup_elem(&guard_flows, &idx);
	}
	if (fl) {
		for (int i = 0; i < AT_LABEL_WORDS; i++)
			out->w[i] = (out->w[i] & ~fl->remove.w[i]) | fl->add.w[i];
	}
	return !labels_empty(out);
}

/* A session process wrote to (or opened for writing) inode ino. A file's
 * labels only grow while the policy is loaded (truncating it does not clear
 * them: the writer may have kept a copy of what was there). */
static __always_inline void label_write(__u32 tgid, struct inode *ino)
{
	struct at_plabels *pl;
	struct at_inode_key k;
	struct at_inode_val *v, nv = {};
	struct at_labels w;

	if (!guard_labels || !ino)
		return;
	pl = bpf_map_lookup_elem(&proc_labels, &tgid);
	if (!pl || !written_labels(pl, &w))
		return;
	inode_key_of(ino, &k);
	v = bpf_map_lookup_elem(&inode_labels, &k);
	if (v) {
		labels_or(&v->data, &w);
		return;
	}
	nv.data = w;
	bpf_map_update_elem(&inode_labels, &k, &nv, BPF_NOEXIST);
}

/* A file was created (or opened with O_CREAT) at dentry d: it takes the
 * labels of the nearest SUBTREE directory above it. */
static __always_inline void label_create(struct dentry *d, struct inode *ino)
{
	struct at_inode_key k;
	struct at_inode_val *dv, nv = {};

	if (!guard_labels || !d || !ino)
		return;
	inode_key_of(ino, &k);
	if (bpf_map_lookup_elem(&inode_labels, &k))
		return;
	if (!have_subtrees())
		return;
	dv = subtree_of(d);
	if (!dv)
		return;
	nv.data = dv->data;
	bpf_map_update_elem(&inode_labels, &k, &nv, BPF_NOEXIST);
}

/* Data received on a socket carries its endpoint's labels. */
static __always_inline void label_sock_recv(__u32 tgid, struct sock *sk)
{
	struct at_labels *l;
	__u64 cookie;

	if (!sk)
		return;
	cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!cookie)
		return;
	l = bpf_map_lookup_elem(&sock_labels, &cookie);
	if (l)
		proc_gain(tgid, l);
}

#define AT_LBL_S_IFMT 0170000
#define AT_LBL_S_IFSOCK 0140000

/* fd-based moves: read(fd) / write(fd) family. A socket's data carries
 * the labels of its endpoint; anything else (files, pipes) its inode's. */
static __always_inline void label_fd_read(__u32 tgid, int fd)
{
	struct inode *ino;
	struct file *f;

	if (!guard_labels)
		return;
	f = fd_file(fd);
	if (!f)
		return;
	ino = BPF_CORE_READ(f, f_inode);
	if ((BPF_CORE_READ(ino, i_mode) & AT_LBL_S_IFMT) == AT_LBL_S_IFSOCK) {
		struct socket *so = BPF_CORE_READ(f, private_data);

		label_sock_recv(tgid, BPF_CORE_READ(so, sk));
		return;
	}
	label_read(tgid, ino);
}

static __always_inline void label_fd_write(__u32 tgid, int fd)
{
	struct file *f;

	if (!guard_labels)
		return;
	/* most writers carry no label: one lookup, no fd walk */
	if (!bpf_map_lookup_elem(&proc_labels, &tgid))
		return;
	f = fd_file(fd);
	if (f)
		label_write(tgid, BPF_CORE_READ(f, f_inode));
}

/* fork: the child starts with the parent's labels (and flow), and shares
 * its parent's SQPOLL ring if it has one. */
static __always_inline void label_fork(__u32 ptgid, __u32 ctgid)
{
	struct at_plabels *pl;
	__u32 *owner;

	if (!guard_labels)
		return;
	owner = bpf_map_lookup_elem(&ring_owner, &ptgid);
	if (owner)
		bpf_map_update_elem(&ring_owner, &ctgid, owner, BPF_ANY);
	else
		bpf_map_delete_elem(&ring_owner, &ctgid);
	pl = bpf_map_lookup_elem(&proc_labels, &ptgid);
	if (pl)
		bpf_map_update_elem(&proc_labels, &ctgid, pl, BPF_ANY);
	else
		bpf_map_delete_elem(&proc_labels, &ctgid); /* a stale entry of a reused pid */
}

/* exec: gain the executable's labels; its flow entry replaces the old one. */
static __always_inline void label_exec(__u32 tgid, struct file *exe)
{
	struct at_inode_key k;
	struct at_inode_val *v;
	struct at_plabels *pl, npl = {};

	if (!guard_labels || !exe)
		return;
	inode_key_of(BPF_CORE_READ(exe, f_inode), &k);
	v = bpf_map_lookup_elem(&inode_labels, &k);
	pl = bpf_map_lookup_elem(&proc_labels, &tgid);
	if (!v) {
		if (pl)
			pl->flow = 0;
		return;
	}
	if (!pl) {
		npl.flow = v->flow;
		labels_or(&npl.l, &v->data);
		labels_or(&npl.l, &v->exec);
		if (npl.flow || !labels_empty(&npl.l))
			bpf_map_update_elem(&proc_labels, &tgid, &npl, BPF_ANY);
		return;
	}
	pl->flow = v->flow;
	labels_or(&pl->l, &v->data);
	labels_or(&pl->l, &v->exec);
}

static __always_inline void label_exit(__u32 tgid)
{
	if (guard_labels) {
		bpf_map_delete_elem(&proc_labels, &tgid);
		bpf_map_delete_elem(&ring_owner, &tgid);
	}
}

#endif /* AT_LABELS_BPF_H */
