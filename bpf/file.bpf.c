/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * File activity of session processes: open family, unlink, rename, mkdir,
 * chmod. The record is made at syscall exit, when the result is known and,
 * for a successful open, the kernel's own struct file gives the real path
 * (symlinks, "..", mounts resolved); the arguments come from the registers
 * saved at entry.
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "labels.bpf.h"

struct file_rec {
	struct at_file f;
	char data[AT_DATA_ROOM];
};

AT_SCRATCH_MAP(file_scratch, struct file_rec);

/* Which argument slots hold what, per syscall. */
struct file_args {
	int dirfd;
	const char *arg;
	int dirfd2;
	const char *arg2;
	__u32 flags;
	__u32 mode;
};

/*
 * Resolve the directory an argument is relative to, unless it is absolute.
 * Returns the new offset and sets *len.
 */
static __always_inline __u32 put_dir_of(char *data, __u32 off, int dirfd, const char *arg,
					__u32 slot, __u16 *len, __u16 *flags)
{
	struct at_pathres res;
	char first = 0;

	*len = 0;
	bpf_probe_read_user(&first, 1, arg);
	if (first == '/')
		return off;
	if (resolve_dirfd(dirfd, slot, &res))
		return off;
	*flags |= AT_F_PATH_LEXICAL;
	*len = res.len & AT_LEN_MASK;
	return put_kstr(data, off, res.str, res.len);
}

#define AT_O_ACCMODE 03
#define AT_O_WRONLY 01
#define AT_O_RDWR 02
#define AT_O_CREAT 0100
#define AT_O_TRUNC 01000
#define AT_O_PATH 010000000

/* Labels move at open: a file created in a labelled subtree inherits its
 * labels, a file opened for reading gives its labels to the process. A file
 * opened for writing takes the writer's labels only when data is written
 * (write family, copy_file_range, sendfile, splice, shared writable mmap):
 * a shell that opened a secret for one redirection and an output file for
 * another has written nothing into the output. */
static __always_inline void label_open(struct at_proc *p, struct file *f, __u32 flags)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 acc = flags & AT_O_ACCMODE;
	struct inode *ino;

	if (!guard_labels || (flags & AT_O_PATH))
		return;
	ino = BPF_CORE_READ(f, f_inode);
	if (flags & AT_O_CREAT)
		label_create(BPF_CORE_READ(f, f_path.dentry), ino);
	if (acc != AT_O_WRONLY)
		label_read_at(tgid, ino, BPF_CORE_READ(f, f_path.dentry));
}

/*
 * A program user space has looked at for TLS, opened for writing: out of
 * exe_known, so that its next exec wakes the reader at once, and the record
 * says so and wakes it too. Its uprobes sit at offsets chosen for the old
 * contents (uprobes are per inode); user space takes them off before a new
 * version runs, if it hears of it first.
 */
static __always_inline bool known_exe_written(__u64 ino, __u32 dev, __u32 flags)
{
	struct at_exe_key k = { .ino = ino, .dev = dev };

	if (!(flags & AT_O_ACCMODE) && !(flags & AT_O_TRUNC))
		return false;
	return bpf_map_delete_elem(&exe_known, &k) == 0;
}

static __always_inline int emit_file(void *ctx, __u16 kind, long ret, const struct file_args *a)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct at_proc *p = session_of(tgid);
	struct at_pathres res;
	struct file_rec *r;
	__u32 off = 0, n;

	if (!p)
		return 0;
	/* -ERESTARTSYS..-ERESTART_RESTARTBLOCK never reach the caller: the
	 * call is restarted (and recorded then) or becomes EINTR. */
	if (ret <= -512 && ret >= -516)
		return 0;
	r = cpu_scratch(&file_scratch);
	if (!r)
		return 0;
	fill_hdr(&r->f.h, kind, p);
	r->f.ret = ret;
	r->f.flags = a->flags;
	r->f.mode = a->mode;
	r->f.dirfd = a->dirfd;
	r->f.ino = 0;
	r->f.dev = 0;
	r->f.path_len = 0;
	r->f.path2_len = 0;
	r->f.arg2_len = 0;

	if (kind == AT_EV_OPEN && guard_labels) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		bpf_map_delete_elem(&open_reqs, &tid);
	}
	if (kind == AT_EV_OPEN && ret >= 0) {
		struct file *f = fd_file((int)ret);

		if (f && resolve_file(f, 0, &res) == 0) {
			off = put_kstr(r->data, off, res.str, res.len);
			r->f.path_len = res.len & AT_LEN_MASK;
			if (res.truncated)
				r->f.h.flags |= AT_F_PATH_TRUNC;
			if (res.pseudo)
				r->f.h.flags |= AT_F_PATH_PSEUDO;
			file_ino_dev(f, &r->f.ino, &r->f.dev);
			if (known_exe_written(r->f.ino, r->f.dev, a->flags))
				r->f.h.flags |= AT_F_EXE_WRITTEN;
		}
		if (f)
			label_open(p, f, a->flags);
	} else if (a->arg) {
		off = put_dir_of(r->data, off, a->dirfd, a->arg, 0, &r->f.path_len, &r->f.h.flags);
	}
	n = a->arg ? put_ustr(r->data, off, a->arg) : 0;
	r->f.arg_len = n;
	off += n;

	if (kind == AT_EV_RENAME && a->arg2) {
		off = put_dir_of(r->data, off, a->dirfd2, a->arg2, 1, &r->f.path2_len,
				 &r->f.h.flags);
		n = put_ustr(r->data, off, a->arg2);
		r->f.arg2_len = n;
		off += n;
	}
	off &= AT_DATA_MASK;
	r->f.h.size = sizeof(r->f) + off;
	if (r->f.h.flags & AT_F_EXE_WRITTEN)
		submit_now(r, sizeof(r->f) + off, kind);
	else
		submit(r, sizeof(r->f) + off, kind);
	return 0;
}

#define AT_FDCWD -100

/* One handler per syscall, tail-called for session processes only. */
#define FILE_EXIT(name, kind, ...)                                              \
	SYSCALL_EXIT(name)                                                      \
	{                                                                       \
		struct file_args a = { .dirfd = AT_FDCWD, .dirfd2 = AT_FDCWD }; \
		struct at_args r;                                               \
                                                                                \
		if (syscall_args(ctx, &r))                                      \
			return 0;                                               \
		__VA_ARGS__;                                                    \
		return emit_file(ctx, kind, exit_ret(ctx), &a);                 \
	}

#define ARG(i) (r.a[i])
#define STR(i) ((const char *)r.a[i])

FILE_EXIT(open, AT_EV_OPEN,
	  a.arg = STR(0); a.flags = ARG(1); a.mode = ARG(2))
FILE_EXIT(openat, AT_EV_OPEN,
	  a.dirfd = (int)ARG(0); a.arg = STR(1); a.flags = ARG(2); a.mode = ARG(3))
FILE_EXIT(openat2, AT_EV_OPEN,
	  struct open_how how = {};
	  a.dirfd = (int)ARG(0); a.arg = STR(1);
	  bpf_probe_read_user(&how, sizeof(how), (void *)ARG(2));
	  a.flags = how.flags; a.mode = how.mode)
FILE_EXIT(creat, AT_EV_OPEN,
	  a.arg = STR(0); a.flags = 01 | 0100 | 01000 /* O_WRONLY|O_CREAT|O_TRUNC */;
	  a.mode = ARG(1))
FILE_EXIT(unlink, AT_EV_UNLINK, a.arg = STR(0))
FILE_EXIT(unlinkat, AT_EV_UNLINK,
	  a.dirfd = (int)ARG(0); a.arg = STR(1); a.flags = ARG(2))
/* rmdir(p) is unlinkat(AT_FDCWD, p, AT_REMOVEDIR): one kind, the same flags */
FILE_EXIT(rmdir, AT_EV_UNLINK, a.arg = STR(0); a.flags = 0x200)
FILE_EXIT(rename, AT_EV_RENAME, a.arg = STR(0); a.arg2 = STR(1))
FILE_EXIT(renameat, AT_EV_RENAME,
	  a.dirfd = (int)ARG(0); a.arg = STR(1); a.dirfd2 = (int)ARG(2); a.arg2 = STR(3))
FILE_EXIT(renameat2, AT_EV_RENAME,
	  a.dirfd = (int)ARG(0); a.arg = STR(1); a.dirfd2 = (int)ARG(2); a.arg2 = STR(3);
	  a.flags = ARG(4))
FILE_EXIT(mkdir, AT_EV_MKDIR, a.arg = STR(0); a.mode = ARG(1))
FILE_EXIT(mkdirat, AT_EV_MKDIR, a.dirfd = (int)ARG(0); a.arg = STR(1); a.mode = ARG(2))
FILE_EXIT(chmod, AT_EV_CHMOD, a.arg = STR(0); a.mode = ARG(1))
FILE_EXIT(fchmodat, AT_EV_CHMOD, a.dirfd = (int)ARG(0); a.arg = STR(1); a.mode = ARG(2))
FILE_EXIT(fchmodat2, AT_EV_CHMOD,
	  a.dirfd = (int)ARG(0); a.arg = STR(1); a.mode = ARG(2); a.flags = ARG(3))

/*
 * Files mapped executable: the binaries and libraries a session process runs
 * code from, so user space can look for TLS libraries in them (a library
 * loaded long after exec, like Python's libssl on `import ssl`, is found
 * here). Reported once per (dev, ino) while the entry stays in the map.
 */
struct map_key {
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct map_key);
	__type(value, __u8);
} exec_maps_seen SEC(".maps");

#define AT_PROT_EXEC 0x4
#define AT_PROT_WRITE 0x2
#define AT_MAP_SHARED 0x1

SYSCALL_EXIT(mmap)
{
	struct at_exec_map *m;
	struct at_pathres res;
	struct map_key key = {};
	struct at_args a;
	struct at_proc *p;
	struct file *f;
	__u8 one = 1;
	__u32 off;

	if (exit_ret(ctx) < 0 && exit_ret(ctx) > -4096)
		return 0;
	if (syscall_args(ctx, &a) || (long)a.a[4] < 0)
		return 0;
	/* a shared writable mapping writes the file without write(2) */
	if ((a.a[2] & AT_PROT_WRITE) && (a.a[3] & AT_MAP_SHARED))
		label_fd_write(bpf_get_current_pid_tgid() >> 32, (int)a.a[4]);
	if (!(a.a[2] & AT_PROT_EXEC))
		return 0;
	p = session_of(bpf_get_current_pid_tgid() >> 32);
	if (!p)
		return 0;
	f = fd_file((int)a.a[4]);
	if (!f)
		return 0;
	file_ino_dev(f, &key.ino, &key.dev);
	if (bpf_map_lookup_elem(&exec_maps_seen, &key))
		return 0;
	bpf_map_update_elem(&exec_maps_seen, &key, &one, BPF_ANY);
	m = cpu_scratch(&file_scratch);
	if (!m || resolve_file(f, 0, &res))
		return 0;
	fill_hdr(&m->h, AT_EV_EXEC_MAP, p);
	m->ino = key.ino;
	m->dev = key.dev;
	m->_pad = 0;
	off = put_kstr(m->data, 0, res.str, res.len);
	m->path_len = res.len & AT_LEN_MASK;
	if (res.truncated)
		m->h.flags |= AT_F_PATH_TRUNC;
	off &= AT_DATA_MASK;
	m->h.size = sizeof(*m) + off;
	submit(m, sizeof(*m) + off, AT_EV_EXEC_MAP);
	return 0;
}

/*
 * Data moving through descriptors without a path: positional and vectored
 * reads and writes, and in-kernel copies (cp uses copy_file_range). Only
 * labels move here; nothing is recorded.
 */
#define LABEL_EXIT(name, ...)                                                   \
	SYSCALL_EXIT(name)                                                      \
	{                                                                       \
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;                  \
		struct at_args r;                                               \
                                                                                \
		if (!guard_labels || exit_ret(ctx) <= 0 || syscall_args(ctx, &r)) \
			return 0;                                               \
		__VA_ARGS__;                                                    \
		return 0;                                                       \
	}

LABEL_EXIT(pread64, label_fd_read(tgid, (int)ARG(0)))
LABEL_EXIT(preadv, label_fd_read(tgid, (int)ARG(0)))
LABEL_EXIT(preadv2, label_fd_read(tgid, (int)ARG(0)))
LABEL_EXIT(pwrite64, label_fd_write(tgid, (int)ARG(0)))
LABEL_EXIT(pwritev, label_fd_write(tgid, (int)ARG(0)))
LABEL_EXIT(pwritev2, label_fd_write(tgid, (int)ARG(0)))
/* in -> out: the reader gains the input's labels, then writes them */
LABEL_EXIT(copy_file_range,
	   label_fd_read(tgid, (int)ARG(0)); label_fd_write(tgid, (int)ARG(2)))
LABEL_EXIT(sendfile64,
	   label_fd_read(tgid, (int)ARG(1)); label_fd_write(tgid, (int)ARG(0)))
LABEL_EXIT(splice,
	   label_fd_read(tgid, (int)ARG(0)); label_fd_write(tgid, (int)ARG(2)))
LABEL_EXIT(tee, label_fd_read(tgid, (int)ARG(0)); label_fd_write(tgid, (int)ARG(1)))

/* An exec attempt is over (failed, or succeeded: the new image returns
 * through here too): its argv, kept for fanotify, goes. */
#define EXEC_DONE(name)                                                         \
	SYSCALL_EXIT(name)                                                      \
	{                                                                       \
		__u32 tid = (__u32)bpf_get_current_pid_tgid();                  \
                                                                                \
		if (guard_labels)                                               \
			bpf_map_delete_elem(&exec_reqs, &tid);                  \
		return 0;                                                       \
	}

EXEC_DONE(execve)
EXEC_DONE(execveat)

/*
 * A process that created an SQPOLL io_uring ring has a kernel thread of its
 * own submit what any process sharing the ring (its children) queues: the
 * connect hook sees the ring owner, not the child. Labels a process gains
 * are given to the owner of the ring it inherited as well.
 */
#define AT_IORING_SETUP_SQPOLL (1u << 1)

SYSCALL_EXIT(io_uring_setup)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, flags = 0;
	struct at_args r;

	if (!guard_labels || exit_ret(ctx) < 0 || syscall_args(ctx, &r))
		return 0;
	/* struct io_uring_params: sq_entries, cq_entries, flags */
	if (bpf_probe_read_user(&flags, sizeof(flags), (void *)(ARG(1) + 8)) ||
	    !(flags & AT_IORING_SETUP_SQPOLL))
		return 0;
	bpf_map_update_elem(&ring_owner, &tgid, &tgid, BPF_ANY);
	return 0;
}
