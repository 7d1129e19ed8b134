/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The BPF-LSM backend for file and exec rules, on kernels that let BPF-LSM
 * programs load (Debian's 6.1 with lsm=...,bpf; not the host here). The
 * decision happens in the kernel, in the caller's context, before the
 * operation: file_open (open, read, write), bprm_check_security (exec),
 * path_unlink and path_rename (which have no fanotify permission event).
 *
 * Which rules name a file is found by inode (lsm_self), by its directory
 * (lsm_children: any child, or one name) and by the nearest SUBTREE
 * directory above it; the rule table (lsm_rules) holds each rule's
 * operations, label condition and effect. User space puts here only the
 * rules these tables can express (guard/lsm.c); the rest stay with
 * fanotify. Processes outside every session return after one lookup.
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "labels.bpf.h"
#include "rule.bpf.h"

#define AT_EPERM 1
#define AT_SIGKILL 9
#define AT_FMODE_READ 0x1
#define AT_FMODE_WRITE 0x2
#define AT_FMODE_EXEC 0x20
#define AT_O_TRUNC 01000
#define AT_O_CREAT 0100
#define LSM_DEPTH 12

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_LSM_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct at_inode_key);
	__type(value, struct at_lsm_entry);
} lsm_self SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_LSM_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct at_inode_key);
	__type(value, struct at_lsm_entry);
} lsm_children SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AT_GUARD_RULES);
	__type(key, __u32);
	__type(value, struct at_rule);
} lsm_rules SEC(".maps");

struct lsm_rec {
	struct at_violation v;
	char data[AT_PATH_MAX + AT_NAME_MAX + 1];
};

struct lsm_state {
	struct at_labels labels;
	__u32 ops;
	__u8 effect;
	__u8 nfired;
	__u16 fired[AT_VIOL_FIRED];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_rec);
} lsm_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_state);
} lsm_state_map SEC(".maps");

/* Rule ref: does it apply (operation, labels)? Note it. */
static __always_inline void consider(struct lsm_state *st, const struct at_lsm_ref *ref)
{
	__u32 id = ref->rule;
	struct at_rule *r = bpf_map_lookup_elem(&lsm_rules, &id);
	__u8 n;

	if (!r || !(r->ops & st->ops) || !rule_labels_hold(r, &st->labels))
		return;
	for (int i = 0; i < AT_VIOL_FIRED; i++)
		if (i < st->nfired && st->fired[i] == r->id)
			return;
	n = st->nfired;
	if (n < AT_VIOL_FIRED) {
		st->fired[n & (AT_VIOL_FIRED - 1)] = (__u16)r->id;
		st->nfired = n + 1;
	}
	st->effect = rule_stronger(st->effect, r->effect);
}

/* every ref of an entry (with a name check for children entries) */
static __always_inline void consider_entry(struct lsm_state *st, const struct at_lsm_entry *e,
					   __u32 name_hash, __u16 need_flag)
{
	for (int i = 0; i < AT_LSM_SLOTS; i++) {
		const struct at_lsm_ref *ref = &e->r[i];

		if (i >= e->n)
			break;
		if (need_flag == AT_LSM_SUBTREE && !(ref->flags & AT_LSM_SUBTREE))
			continue;
		if (need_flag == AT_LSM_ANY_NAME && !(ref->flags & AT_LSM_ANY_NAME) &&
		    ref->name_hash != name_hash)
			continue;
		consider(st, ref);
	}
}

struct up_walk {
	struct dentry *d;
	struct lsm_state *st;
};

/* ancestors: the nearest SUBTREE directories above */
static long up_step(__u32 i, void *c)
{
	struct up_walk *w = c;
	struct dentry *cur = w->d;
	struct dentry *parent = BPF_CORE_READ(cur, d_parent);
	struct at_inode_key k;
	struct at_lsm_entry *e;

	if (!parent || parent == cur)
		return 1;
	w->d = parent;
	inode_key_of(BPF_CORE_READ(parent, d_inode), &k);
	e = bpf_map_lookup_elem(&lsm_self, &k);
	if (e)
		consider_entry(w->st, e, 0, AT_LSM_SUBTREE);
	return 0;
}

static __always_inline __u32 name_hash(struct dentry *d)
{
	char name[64];
	__u32 h = AT_FNV32_SEED;
	long n = bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(d, d_name.name));

	for (int i = 0; i < (int)sizeof(name); i++) {
		if (i >= n - 1)
			break;
		h = (h ^ (__u8)name[i]) * AT_FNV32_MUL;
	}
	return h;
}

/* Collect the rules that name the object at dentry d (inode ino) in dir. */
static __always_inline void collect(struct lsm_state *st, struct inode *ino, struct dentry *d,
				    struct inode *dir)
{
	struct at_inode_key k;
	struct at_lsm_entry *e;
	struct up_walk w = { .d = d, .st = st };

	if (ino) {
		inode_key_of(ino, &k);
		e = bpf_map_lookup_elem(&lsm_self, &k);
		if (e)
			consider_entry(st, e, 0, 0);
	}
	if (dir) {
		inode_key_of(dir, &k);
		e = bpf_map_lookup_elem(&lsm_children, &k);
		if (e)
			consider_entry(st, e, name_hash(d), AT_LSM_ANY_NAME);
	}
	bpf_loop(LSM_DEPTH, up_step, &w, 0);
}

static __always_inline struct lsm_state *begin(__u32 tgid, __u32 ops)
{
	__u32 zero = 0;
	struct lsm_state *st = bpf_map_lookup_elem(&lsm_state_map, &zero);
	struct at_plabels *pl;

	if (!st)
		return NULL;
	pl = bpf_map_lookup_elem(&proc_labels, &tgid);
	if (pl)
		st->labels = pl->l;
	else
		__builtin_memset(&st->labels, 0, sizeof(st->labels));
	st->ops = ops;
	st->effect = 0;
	st->nfired = 0;
	return st;
}

/* Report, and the answer: 0 (allow) or -EPERM. */
static __always_inline int finish(struct at_proc *p, struct lsm_state *st, __u8 opbit,
				  const struct path *path, struct dentry *name)
{
	__u32 zero = 0;
	struct lsm_rec *r;
	struct at_pathres res;
	__u32 off = 0;

	if (!st->nfired)
		return 0;
	r = bpf_map_lookup_elem(&lsm_scratch, &zero);
	if (r) {
		fill_hdr(&r->v.h, AT_EV_VIOLATION, p);
		for (int i = 0; i < AT_VIOL_FIRED; i++)
			r->v.rules[i] = i < st->nfired ? st->fired[i] : 0;
		r->v.nrules = st->nfired;
		r->v.op = opbit;
		r->v.effect = st->effect;
		r->v.mech = AT_MECH_LSM;
		r->v.err = st->effect == AT_EFF_NOTIFY ? 0 : AT_EPERM;
		r->v.family = 0;
		r->v.port = 0;
		r->v.sotype = 0;
		__builtin_memset(r->v.addr, 0, sizeof(r->v.addr));
		r->v.labels = st->labels;
		r->v.path_len = 0;
		r->v.name_len = 0;
		if (path && resolve_path_of(path, 0, &res) == 0) {
			off = put_kstr(r->data, 0, res.str, res.len) & (AT_PATH_MAX - 1);
			r->v.path_len = res.len & AT_LEN_MASK;
		}
		if (name) {
			long n = bpf_probe_read_kernel_str(&r->data[off & (AT_PATH_MAX - 1)],
							   AT_NAME_MAX + 1,
							   BPF_CORE_READ(name, d_name.name));

			if (n > 0) {
				r->v.name_len = n;
				off += n;
			}
		}
		off &= 2 * AT_PATH_MAX - 1;
		r->v.h.size = sizeof(r->v) + off;
		if (off <= sizeof(r->data))
			submit(r, sizeof(r->v) + off, AT_EV_VIOLATION);
	}
	if (st->effect == AT_EFF_NOTIFY)
		return 0;
	if (st->effect == AT_EFF_KILL)
		bpf_send_signal(AT_SIGKILL);
	return -AT_EPERM;
}

SEC("lsm/file_open")
int BPF_PROG(guard_file_open, struct file *file, int ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, ops = AT_OP_OPEN;
	struct at_proc *p;
	struct lsm_state *st;
	struct dentry *d;
	unsigned int mode, flags;

	if (ret)
		return ret;
	p = session_of(tgid);
	if (!p)
		return 0;
	mode = BPF_CORE_READ(file, f_mode);
	flags = BPF_CORE_READ(file, f_flags);
	if (mode & AT_FMODE_EXEC)
		return 0;   /* the exec itself: bprm_check_security decides */
	if (mode & AT_FMODE_READ)
		ops |= AT_OP_READ;
	if ((mode & AT_FMODE_WRITE) || (flags & (AT_O_TRUNC | AT_O_CREAT)))
		ops |= AT_OP_WRITE;
	st = begin(tgid, ops);
	if (!st)
		return 0;
	d = BPF_CORE_READ(file, f_path.dentry);
	collect(st, BPF_CORE_READ(file, f_inode), d, BPF_CORE_READ(d, d_parent, d_inode));
	return finish(p, st, (ops & AT_OP_WRITE) ? 3 : (ops & AT_OP_READ) ? 2 : 1, &file->f_path,
		      NULL);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(guard_bprm_check, struct linux_binprm *bprm, int ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct file *f = BPF_CORE_READ(bprm, file);
	struct at_proc *p;
	struct lsm_state *st;
	struct dentry *d;

	if (ret)
		return ret;
	p = session_of(tgid);
	if (!p || !f)
		return 0;
	st = begin(tgid, AT_OP_EXEC);
	if (!st)
		return 0;
	d = BPF_CORE_READ(f, f_path.dentry);
	collect(st, BPF_CORE_READ(f, f_inode), d, BPF_CORE_READ(d, d_parent, d_inode));
	return finish(p, st, 0, &f->f_path, NULL);
}

SEC("lsm/path_unlink")
int BPF_PROG(guard_path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct at_proc *p;
	struct lsm_state *st;

	if (ret)
		return ret;
	p = session_of(tgid);
	if (!p)
		return 0;
	st = begin(tgid, AT_OP_UNLINK);
	if (!st)
		return 0;
	collect(st, BPF_CORE_READ(dentry, d_inode), dentry, BPF_CORE_READ(dir, dentry, d_inode));
	return finish(p, st, 4, dir, dentry);
}

/* (The hook gained a flags argument in later kernels: only the first four
 * are read, and the previous verdict is not, so this works on both.) */
SEC("lsm/path_rename")
int BPF_PROG(guard_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct at_proc *p;
	struct lsm_state *st;

	p = session_of(tgid);
	if (!p)
		return 0;
	st = begin(tgid, AT_OP_RENAME);
	if (!st)
		return 0;
	/* the name it leaves and the name it takes (replacing a file there) */
	collect(st, BPF_CORE_READ(old_dentry, d_inode), old_dentry,
		BPF_CORE_READ(old_dir, dentry, d_inode));
	collect(st, BPF_CORE_READ(new_dentry, d_inode), new_dentry,
		BPF_CORE_READ(new_dir, dentry, d_inode));
	return finish(p, st, 5, new_dir, new_dentry);
}
