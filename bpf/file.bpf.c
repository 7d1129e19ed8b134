/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * File activity of session processes: open family, unlink, rename, mkdir,
 * chmod. Arguments are stashed at syscall entry; the record is made at exit,
 * when the result is known and, for a successful open, the kernel's own
 * struct file gives the real path (symlinks, "..", mounts resolved).
 */
#include "common.bpf.h"
#include "path.bpf.h"

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
	*len = res.len & AT_PBUF_MASK;
	return put_kstr(data, off, res.str, res.len);
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

	if (kind == AT_EV_OPEN && ret >= 0) {
		struct file *f = fd_file((int)ret);

		if (f && resolve_file(f, 0, &res) == 0) {
			off = put_kstr(r->data, off, res.str, res.len);
			r->f.path_len = res.len & AT_PBUF_MASK;
			if (res.truncated)
				r->f.h.flags |= AT_F_PATH_TRUNC;
			r->f.ino = BPF_CORE_READ(f, f_inode, i_ino);
			r->f.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		}
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
	submit(r, sizeof(r->f) + off, kind);
	return 0;
}

#define AT_FDCWD -100

/* Decode stashed arguments for each syscall into file_args. */
static __always_inline int file_exit(void *ctx, long ret)
{
	struct at_stash s;
	struct file_args a = { .dirfd = AT_FDCWD, .dirfd2 = AT_FDCWD };
	__u16 kind;

	if (take_stash(&s))
		return 0;
	switch (s.kind) {
	case 1: /* open(path, flags, mode) */
		a.arg = (const char *)s.args[0];
		a.flags = s.args[1];
		a.mode = s.args[2];
		kind = AT_EV_OPEN;
		break;
	case 2: /* openat(dirfd, path, flags, mode) */
		a.dirfd = (int)s.args[0];
		a.arg = (const char *)s.args[1];
		a.flags = s.args[2];
		a.mode = s.args[3];
		kind = AT_EV_OPEN;
		break;
	case 3: { /* openat2(dirfd, path, how, size) */
		struct open_how how = {};

		a.dirfd = (int)s.args[0];
		a.arg = (const char *)s.args[1];
		bpf_probe_read_user(&how, sizeof(how), (void *)s.args[2]);
		a.flags = how.flags;
		a.mode = how.mode;
		kind = AT_EV_OPEN;
		break;
	}
	case 4: /* creat(path, mode) */
		a.arg = (const char *)s.args[0];
		a.flags = 01 | 0100 | 01000; /* O_WRONLY|O_CREAT|O_TRUNC */
		a.mode = s.args[1];
		kind = AT_EV_OPEN;
		break;
	case 5: /* unlink(path) */
		a.arg = (const char *)s.args[0];
		kind = AT_EV_UNLINK;
		break;
	case 6: /* unlinkat(dirfd, path, flags) */
		a.dirfd = (int)s.args[0];
		a.arg = (const char *)s.args[1];
		a.flags = s.args[2];
		kind = AT_EV_UNLINK;
		break;
	case 7: /* rename(old, new) */
		a.arg = (const char *)s.args[0];
		a.arg2 = (const char *)s.args[1];
		kind = AT_EV_RENAME;
		break;
	case 8:  /* renameat(olddirfd, old, newdirfd, new) */
	case 13: /* renameat2(olddirfd, old, newdirfd, new, flags) */
		a.dirfd = (int)s.args[0];
		a.arg = (const char *)s.args[1];
		a.dirfd2 = (int)s.args[2];
		a.arg2 = (const char *)s.args[3];
		a.flags = s.kind == 13 ? s.args[4] : 0;
		kind = AT_EV_RENAME;
		break;
	case 9: /* mkdir(path, mode) */
		a.arg = (const char *)s.args[0];
		a.mode = s.args[1];
		kind = AT_EV_MKDIR;
		break;
	case 10: /* mkdirat(dirfd, path, mode) */
		a.dirfd = (int)s.args[0];
		a.arg = (const char *)s.args[1];
		a.mode = s.args[2];
		kind = AT_EV_MKDIR;
		break;
	case 11: /* chmod(path, mode) */
		a.arg = (const char *)s.args[0];
		a.mode = s.args[1];
		kind = AT_EV_CHMOD;
		break;
	case 12: /* fchmodat(dirfd, path, mode) */
	case 14: /* fchmodat2(dirfd, path, mode, flags) */
		a.dirfd = (int)s.args[0];
		a.arg = (const char *)s.args[1];
		a.mode = s.args[2];
		a.flags = s.kind == 14 ? s.args[3] : 0;
		kind = AT_EV_CHMOD;
		break;
	default:
		return 0;
	}
	return emit_file(ctx, kind, ret, &a);
}

#define FILE_SYSCALL(name, id, nargs)                                            \
	SEC("tracepoint/syscalls/sys_enter_" #name)                             \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                 \
	{                                                                       \
		return stash_args(id, ctx, nargs);                              \
	}                                                                       \
	SEC("tracepoint/syscalls/sys_exit_" #name)                              \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                       \
		return file_exit(ctx, ctx->ret);                                \
	}

FILE_SYSCALL(open, 1, 3)
FILE_SYSCALL(openat, 2, 4)
FILE_SYSCALL(openat2, 3, 4)
FILE_SYSCALL(creat, 4, 2)
FILE_SYSCALL(unlink, 5, 1)
FILE_SYSCALL(unlinkat, 6, 3)
FILE_SYSCALL(rename, 7, 2)
FILE_SYSCALL(renameat, 8, 4)
FILE_SYSCALL(renameat2, 13, 5)
FILE_SYSCALL(mkdir, 9, 2)
FILE_SYSCALL(mkdirat, 10, 3)
FILE_SYSCALL(chmod, 11, 2)
FILE_SYSCALL(fchmodat, 12, 3)
FILE_SYSCALL(fchmodat2, 14, 4)
