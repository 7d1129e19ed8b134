/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Resolve a struct path to an absolute path string in the kernel by walking
 * dentries up to the mount root and crossing mounts (bpf_d_path is only
 * allowed in fentry/LSM programs, which this kernel refuses).
 *
 * The walk fills a per-CPU buffer from the end towards the start, so the
 * result is one contiguous string that ends at the buffer's fixed end.
 *
 * Two forms of the same walk (btf_walk, common.bpf.h): with BTF-typed
 * loads, or with a bpf_probe_read_kernel call per field, which was half
 * the time of a recorded open. Only a name's bytes are still copied by a
 * helper in both.
 */
#ifndef AT_PATH_BPF_H
#define AT_PATH_BPF_H

#include "common.bpf.h"

#define AT_NAME_MAX 255
#define AT_PBUF_MASK (AT_PATH_MAX - 1)
#define AT_LEN_MASK (2 * AT_PATH_MAX - 1)   /* a length up to AT_PATH_MAX */

struct at_pathbuf {
	/* AT_PATH_MAX for the string plus room so that any masked write of
	 * one name stays inside the buffer as far as the verifier knows. */
	char buf[AT_PATH_MAX + AT_NAME_MAX + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);   /* two paths per event at most (rename) */
	__type(key, __u32);
	__type(value, struct at_pathbuf);
} pathbufs SEC(".maps");

struct at_pathres {
	const char *str;   /* start of the NUL-terminated string */
	__u32 len;         /* including the NUL */
	__u32 truncated;
	__u32 pseudo;      /* an unreachable (pseudo or disconnected) dentry */
};

static __always_inline struct mount *real_mount(struct vfsmount *mnt)
{
	/* CO-RE-relocated container_of: struct mount's layout varies. */
	return (struct mount *)((char *)mnt - bpf_core_field_offset(struct mount, mnt));
}

struct walk_ctx {
	struct dentry *dentry;
	struct dentry *mnt_root;
	struct mount *mnt;
	__u32 pos;         /* start of the string written so far */
	__u32 slot;
	__u32 truncated;
	__u32 done;
	__u32 pseudo;
};

/* d_parent and d_name side by side, as struct dentry has them. */
struct dentry_head {
	struct dentry *parent;
	struct qstr name;
};

/*
 * A dentry's parent and name. One bpf_probe_read_kernel for both where the
 * kernel keeps them adjacent (it has for a long time; CO-RE says where):
 * each read costs more than the bytes it copies, and the walk makes one
 * per path component.
 */
static __always_inline void read_dentry_head(struct dentry *d, struct dentry **parent,
					     struct qstr *name)
{
	__u32 parent_off = bpf_core_field_offset(struct dentry, d_parent);
	__u32 name_off = bpf_core_field_offset(struct dentry, d_name);
	struct dentry_head h;

	if (name_off == parent_off + sizeof(h.parent) &&
	    bpf_core_field_size(struct dentry, d_name) == sizeof(h.name)) {
		if (bpf_probe_read_kernel(&h, sizeof(h), (char *)d + parent_off)) {
			*parent = d;   /* unreadable: ends the walk as a pseudo dentry */
			return;
		}
		*parent = h.parent;
		*name = h.name;
		return;
	}
	*parent = BPF_CORE_READ(d, d_parent);
	*name = BPF_CORE_READ(d, d_name);
}

/* Prepend "/name" to the string built so far and move up to parent.
 * Returns what a walk step returns: 1 to stop (no room left). */
static __always_inline long walk_prepend(struct walk_ctx *w, struct at_pathbuf *pb,
					 const unsigned char *name, __u32 len,
					 struct dentry *parent)
{
	__u32 off;

	if (len > AT_NAME_MAX)
		len = AT_NAME_MAX;
	if (len + 1 > w->pos) {
		w->truncated = 1;
		return 1;
	}
	off = w->pos - len;
	bpf_probe_read_kernel(&pb->buf[off & AT_PBUF_MASK], len & AT_NAME_MAX, name);
	off -= 1;
	pb->buf[off & AT_PBUF_MASK] = '/';
	w->pos = off;
	w->dentry = parent;
	return 0;
}

/* One step of the walk: a bpf_loop callback, so the verifier checks the
 * body once instead of once per level. Returns 1 to stop. */
static long walk_step(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct at_pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &w->slot);
	struct dentry *mnt_root, *parent, *dentry;
	struct mount *mnt;
	struct qstr name;

	if (!pb)
		return 1;
	/* Locals, not w->field, inside BPF_CORE_READ: walk_ctx is ours and
	 * must not get CO-RE relocations. */
	dentry = w->dentry;
	mnt = w->mnt;
	mnt_root = w->mnt_root;
	read_dentry_head(dentry, &parent, &name);
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mparent = BPF_CORE_READ(mnt, mnt_parent);

		if (dentry != mnt_root) {
			/* its own parent but no mount root: a pipe, socket,
			 * memfd or a dentry cut off from the tree */
			w->pseudo = 1;
			w->done = 1;
			return 1;
		}
		if (mparent == mnt) {
			w->done = 1;   /* the root of this mount namespace */
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mparent;
		w->mnt_root = BPF_CORE_READ((struct vfsmount *)((char *)mparent +
					    bpf_core_field_offset(struct mount, mnt)), mnt_root);
		return 0;
	}
	return walk_prepend(w, pb, name.name, name.len, parent);
}

/* The same step with BTF-typed pointers (btf_walk): the dentry and mount
 * fields are plain loads. */
static long walk_step_btf(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct at_pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &w->slot);
	struct dentry *dentry = w->dentry, *parent;
	struct mount *mnt = w->mnt;

	if (!pb)
		return 1;
	parent = dentry->d_parent;
	if (dentry == w->mnt_root || dentry == parent) {
		struct mount *mparent = mnt->mnt_parent;

		if (dentry != w->mnt_root) {
			w->pseudo = 1;   /* as in walk_step */
			w->done = 1;
			return 1;
		}
		if (mparent == mnt) {
			w->done = 1;
			return 1;
		}
		w->dentry = mnt->mnt_mountpoint;
		w->mnt = mparent;
		w->mnt_root = mparent->mnt.mnt_root;
		return 0;
	}
	return walk_prepend(w, pb, dentry->d_name.name, dentry->d_name.len, parent);
}

/* Walk (dentry, vfsmnt) upwards into pathbufs[slot]. Both are kernel
 * addresses, typed or not. Returns 0 and fills res, or -1 when no buffer
 * is available. */
static __always_inline int resolve_path(struct dentry *dentry, struct vfsmount *vfsmnt,
					__u32 slot, struct at_pathres *res)
{
	struct at_pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &slot);
	struct walk_ctx w = {};
	__u32 pos;

	/* Defined on every path: where a caller's later code meets the
	 * failure path, clang may otherwise copy a register it never set,
	 * which kernels that check the path (6.1) refuse. */
	*res = (struct at_pathres){};
	if (!pb)
		return -1;
	w.pos = AT_PATH_MAX - 1;
	w.slot = slot;
	pb->buf[AT_PATH_MAX - 1] = '\0';
	if (btf_walk) {
		w.dentry = AT_CAST(struct dentry, dentry);
		w.mnt = AT_CAST(struct mount, (unsigned long)vfsmnt -
					      bpf_core_field_offset(struct mount, mnt));
		w.mnt_root = w.mnt->mnt.mnt_root;
		bpf_loop(AT_PATH_DEPTH, walk_step_btf, &w, 0);
	} else {
		w.dentry = dentry;
		w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		w.mnt = real_mount(vfsmnt);
		bpf_loop(AT_PATH_DEPTH, walk_step, &w, 0);
	}
	res->truncated = w.truncated || !w.done;
	res->pseudo = w.pseudo;
	pos = w.pos;
	if (pos == AT_PATH_MAX - 1) {
		pos -= 1;
		pb->buf[pos & AT_PBUF_MASK] = '/';
	}
	pos &= AT_PBUF_MASK;
	res->str = &pb->buf[pos];
	res->len = AT_PATH_MAX - pos;
	return 0;
}

/* Resolve a struct path (a kernel address). */
static __always_inline int resolve_path_of(const struct path *path, __u32 slot,
					   struct at_pathres *res)
{
	struct path p;

	*res = (struct at_pathres){};
	if (btf_walk) {
		const struct path *bp = AT_CAST(struct path, path);

		return resolve_path(bp->dentry, bp->mnt, slot, res);
	}
	if (bpf_core_read(&p, sizeof(p), path))
		return -1;
	return resolve_path(p.dentry, p.mnt, slot, res);
}

/* Resolve the path of an open file. */
static __always_inline int resolve_file(struct file *f, __u32 slot, struct at_pathres *res)
{
	*res = (struct at_pathres){};
	if (!f)
		return -1;
	return resolve_path_of(&f->f_path, slot, res);
}

/* Resolve the current task's working directory. */
static __always_inline int resolve_cwd(__u32 slot, struct at_pathres *res)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fs_struct *fs = task->fs;

	*res = (struct at_pathres){};
	if (!fs)
		return -1;
	return resolve_path_of(&fs->pwd, slot, res);
}

/* Resolve the directory a relative path argument starts from: dirfd, or
 * the cwd for AT_FDCWD. */
static __always_inline int resolve_dirfd(int dirfd, __u32 slot, struct at_pathres *res)
{
	if (dirfd != -100 /* AT_FDCWD */)
		return resolve_file(fd_file(dirfd), slot, res);
	return resolve_cwd(slot, res);
}

/* The inode number and device of an open file. */
static __always_inline void file_ino_dev(struct file *f, __u64 *ino, __u32 *dev)
{
	if (btf_walk) {
		struct inode *i = AT_CAST(struct file, f)->f_inode;

		*ino = i->i_ino;
		*dev = i->i_sb->s_dev;
		return;
	}
	*ino = BPF_CORE_READ(f, f_inode, i_ino);
	*dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
}

/*
 * Append helpers for packing strings after a record's fixed part. data is
 * the record's data[] area, which must be at least AT_DATA_ROOM bytes; off
 * is where to write. Return the new offset (the caller masks it again).
 */
#define AT_DATA_MASK 0x7fff
#define AT_DATA_ROOM (AT_DATA_MASK + 1 + 2 * AT_PATH_MAX)

static __always_inline __u32 put_kstr(char *data, __u32 off, const char *src, __u32 len)
{
	off &= AT_DATA_MASK;
	len &= AT_LEN_MASK;
	if (len && bpf_probe_read_kernel(&data[off], len, src))
		return off;
	return off + len;
}

/* A user string; returns bytes written including the NUL (0 on failure). */
static __always_inline __u32 put_ustr(char *data, __u32 off, const char *src)
{
	long n;

	off &= AT_DATA_MASK;
	n = bpf_probe_read_user_str(&data[off], AT_PATH_MAX, src);
	return n > 0 ? (__u32)n : 0;
}

#endif /* AT_PATH_BPF_H */
