/* What agenttrail knows and does as the caller of a notified unlink or
 * rename: its credentials, its memory, its names. See seccomp_caller.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guard/seccomp_caller.h"

/* ---- its credentials ------------------------------------------------------ */

/* The value after "Key:" on a line of a /proc status text, or NULL. */
static const char *status_field(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return p + kl + 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* The n-th number of a field (base 10 or 16), or -1 past the line's end. */
static int status_num(const char *v, unsigned n, int base, unsigned long long *out)
{
	char *end;

	if (!v)
		return -1;
	for (unsigned i = 0;; i++) {
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '\n' || !*v)
			return -1;
		*out = strtoull(v, &end, base);
		if (end == v)
			return -1;
		if (i == n)
			return 0;
		v = end;
	}
}

/*
 * Tgid and file-system credentials of thread tid, from /proc (one read:
 * the kernel formats the whole text anyway; stdio and sscanf per line cost
 * more than the kernel's part).
 */
int sn_read_status(pid_t tid, uint32_t *tgid, struct sn_creds *c)
{
	char p[64], text[4096];
	unsigned long long v;
	const char *g;
	ssize_t k;
	int fd;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)tid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	k = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (k <= 0)
		return -1;
	text[k] = '\0';
	memset(c, 0, sizeof(*c));
	if (status_num(status_field(text, "Tgid"), 0, 10, &v))
		return -1;
	*tgid = (uint32_t)v;
	if (status_num(status_field(text, "Uid"), 3, 10, &v))
		return -1;
	c->fsuid = (uint32_t)v;
	if (status_num(status_field(text, "Gid"), 3, 10, &v))
		return -1;
	c->fsgid = (uint32_t)v;
	g = status_field(text, "Groups");
	if (!g)
		return -1;
	while (status_num(g, (unsigned)c->ngroups, 10, &v) == 0) {
		if (c->ngroups == sizeof(c->groups) / sizeof(c->groups[0]))
			return -1;   /* more than we mirror */
		c->groups[c->ngroups++] = (uint32_t)v;
	}
	if (status_num(status_field(text, "CapInh"), 0, 16, &v))
		return -1;
	c->cap_inh = v;
	if (status_num(status_field(text, "CapPrm"), 0, 16, &v))
		return -1;
	c->cap_prm = v;
	if (status_num(status_field(text, "CapEff"), 0, 16, &v))
		return -1;
	c->cap_eff = v;
	return 0;
}

static int set_caps(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	return (int)syscall(SYS_capset, &h, d);
}

/*
 * This thread takes on the caller's file-system identity c. Raw syscalls:
 * each changes the calling thread only (glibc's setgroups would change
 * every thread of agenttrail). Capabilities last: the caller's effective
 * set may lack what the other calls need. The permitted set stays ours,
 * so that sn_creds_restore() can raise them again.
 */
int sn_creds_take(const struct sn_creds *self, const struct sn_creds *c)
{
	if (syscall(SYS_setgroups, c->ngroups, c->groups))
		return -1;
	syscall(SYS_setfsgid, c->fsgid);
	if ((uint32_t)syscall(SYS_setfsgid, -1) != c->fsgid)
		return -1;
	syscall(SYS_setfsuid, c->fsuid);
	if ((uint32_t)syscall(SYS_setfsuid, -1) != c->fsuid)
		return -1;
	return set_caps(c->cap_eff & self->cap_prm, self->cap_prm, self->cap_inh);
}

/* Back to our own identity: capabilities first (the others need them),
 * and again last (a change of fsuid changes the effective set). */
int sn_creds_restore(const struct sn_creds *c)
{

	if (set_caps(c->cap_eff, c->cap_prm, c->cap_inh) ||
	    syscall(SYS_setgroups, c->ngroups, c->groups))
		return -1;
	syscall(SYS_setfsgid, c->fsgid);
	syscall(SYS_setfsuid, c->fsuid);
	if ((uint32_t)syscall(SYS_setfsgid, -1) != c->fsgid ||
	    (uint32_t)syscall(SYS_setfsuid, -1) != c->fsuid)
		return -1;
	return set_caps(c->cap_eff, c->cap_prm, c->cap_inh);
}

bool sn_creds_same(const struct sn_creds *a, const struct sn_creds *b)
{
	return a->fsuid == b->fsuid && a->fsgid == b->fsgid && a->ngroups == b->ngroups &&
	       !memcmp(a->groups, b->groups, a->ngroups * sizeof(a->groups[0])) &&
	       a->cap_eff == b->cap_eff;
}

/* Is tid in our user namespace? Only then do its credentials mean here
 * what they mean to the kernel when it checks them for the caller. */
bool sn_same_user_ns(const struct stat *ours, pid_t tid)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)tid);
	return stat(p, &st) == 0 && st.st_dev == ours->st_dev && st.st_ino == ours->st_ino;
}

/* A NUL-terminated string from tid's memory: 0, or -EFAULT /
 * -ENAMETOOLONG as the kernel's own copy would fail. Read page by page:
 * process_vm_readv does not split an iovec at a fault. */
int sn_read_string(pid_t tid, uint64_t addr, char *out, size_t len)
{
	size_t got = 0;

	while (got < len) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		struct iovec l, r;
		ssize_t k;

		if (chunk > len - got)
			chunk = len - got;
		l.iov_base = out + got;
		l.iov_len = chunk;
		r.iov_base = (void *)(uintptr_t)(addr + got);
		r.iov_len = chunk;
		k = process_vm_readv(tid, &l, 1, &r, 1, 0);
		if (k <= 0)
			return -EFAULT;
		if (memchr(out + got, '\0', (size_t)k))
			return 0;
		got += (size_t)k;
	}
	return -ENAMETOOLONG;
}


#define WALK_MAX_LINKS 40     /* the kernel's limit (MAXSYMLINKS) */
#define PROC_MAGIC 0x9fa0     /* PROC_SUPER_MAGIC */

struct walk {
	int root;                 /* the caller's root directory */
	pid_t tid;
	uint32_t tgid;
	int links;                /* symlinks followed so far */
};

static bool same_inode(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int walk(struct walk *w, int start, const char *path);

/*
 * A symlink of procfs, met at component comp of a walk in directory cur.
 * "self" and "thread-self" name whoever reads them - here agenttrail - so
 * they are put as the caller's numbers; the others (fd/N, cwd, root) are
 * magic: they jump to the object itself, which only following them (not
 * their text) reaches, under the caller's credentials for its access.
 */
static int proc_link(struct walk *w, int cur, const char *comp)
{
	char sub[64];
	int next;

	if (!strcmp(comp, "self") || !strcmp(comp, "thread-self")) {
		if (!strcmp(comp, "self"))
			snprintf(sub, sizeof(sub), "%u", w->tgid);
		else
			snprintf(sub, sizeof(sub), "%u/task/%d", w->tgid, (int)w->tid);
		return walk(w, cur, sub);
	}
	next = openat(cur, comp, O_PATH | O_CLOEXEC);
	return next < 0 ? -errno : next;
}

/* The next directory after cur: comp, a symlink followed as the caller's
 * walk would follow it. Closes nothing. */
static int step(struct walk *w, int cur, const char *comp)
{
	char target[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	int next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	ssize_t k;

	if (next < 0)
		return -errno;
	if (fstat(next, &st)) {
		int e = errno;

		close(next);
		return -e;
	}
	if (S_ISDIR(st.st_mode))
		return next;
	if (!S_ISLNK(st.st_mode)) {
		close(next);
		return -ENOTDIR;
	}
	if (++w->links > WALK_MAX_LINKS) {
		close(next);
		return -ELOOP;
	}
	if (fstatfs(next, &sfs) == 0 && sfs.f_type == PROC_MAGIC) {
		close(next);
		next = proc_link(w, cur, comp);
	} else {
		k = readlinkat(next, "", target, sizeof(target) - 1);
		close(next);
		if (k < 0)
			return -EIO;
		target[k] = '\0';
		next = walk(w, cur, target);
	}
	if (next >= 0 && (fstat(next, &st) || !S_ISDIR(st.st_mode))) {
		close(next);
		return -ENOTDIR;
	}
	return next;
}

/*
 * The directory path names, walked from start (the caller's root when path
 * is absolute) one component at a time as the caller's own walk would go:
 * the mounts are those of its namespace (start and root are its /proc
 * links), ".." stops at its root, a symlink is followed from where it sits
 * (an absolute one from its root). Each step is an openat() with our
 * thread holding the caller's credentials, so search permission is the
 * caller's. Returns an O_PATH descriptor of the directory, or -errno.
 */
static int walk(struct walk *w, int start, const char *path)
{
	char comp[NAME_MAX + 1];
	int cur = dup(path[0] == '/' ? w->root : start);

	if (cur < 0)
		return -errno;
	while (*path) {
		size_t len;
		int next;

		while (*path == '/')
			path++;
		len = strcspn(path, "/");
		if (!len)
			break;
		if (len > NAME_MAX) {
			close(cur);
			return -ENAMETOOLONG;
		}
		memcpy(comp, path, len);
		comp[len] = '\0';
		path += len;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..") && same_inode(cur, w->root))
			continue;   /* the caller's root is as high as it goes */
		next = step(w, cur, comp);
		close(cur);
		if (next < 0)
			return next;
		cur = next;
	}
	return cur;
}

/* Split arg and open where its walk starts (the caller's root, cwd or
 * dirfd), with our own credentials: /proc's links of a process that is not
 * dumpable are ours to follow, not the caller's. */
int sn_name_start(pid_t tid, int dfd, struct sn_name *nm)
{
	char p[64];
	size_t e = strlen(nm->arg);
	char *slash;

	nm->start = nm->dir = -1;
	if (!e)
		return -ENOENT;
	while (e > 1 && nm->arg[e - 1] == '/')
		e--;
	slash = memrchr(nm->arg, '/', e);
	nm->last = slash && slash[1] && slash[1] != '/' ? slash + 1 : nm->arg;
	if (nm->arg[0] == '/')
		snprintf(p, sizeof(p), "/proc/%d/root", (int)tid);
	else if (dfd == SN_AT_FDCWD)
		snprintf(p, sizeof(p), "/proc/%d/cwd", (int)tid);
	else if (dfd < 0)
		return -EBADF;
	else
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)tid, dfd);
	nm->start = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (nm->start < 0)
		return errno == ENOENT && dfd != SN_AT_FDCWD && nm->arg[0] != '/' ? -EBADF : -errno;
	return 0;
}

/* As the caller: the directory of the last component, and what the rules
 * match on. */
int sn_name_resolve(struct sn_name *nm, int root, pid_t tid, uint32_t tgid)
{
	char link[64], dir[PATH_MAX], lastname[NAME_MAX + 1];
	size_t dl = (size_t)(nm->last - nm->arg), ll;
	struct walk w = { .root = root, .tid = tid, .tgid = tgid, .links = 0 };
	ssize_t k;

	if (nm->last == nm->arg) {
		nm->dir = dup(nm->start);
		if (nm->dir < 0)
			return -errno;
	} else {
		memcpy(dir, nm->arg, dl);
		dir[dl] = '\0';
		nm->dir = walk(&w, nm->start, dir);
		if (nm->dir < 0)
			return nm->dir;
	}
	ll = strcspn(nm->last, "/");
	if (ll > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(lastname, nm->last, ll);
	lastname[ll] = '\0';
	snprintf(link, sizeof(link), "/proc/self/fd/%d", nm->dir);
	k = readlink(link, dir, sizeof(dir) - 1);
	if (k <= 0)
		return -EIO;
	dir[k] = '\0';
	if ((size_t)snprintf(nm->full, sizeof(nm->full), "%s%s%s", dir,
			     strcmp(dir, "/") && ll ? "/" : "", lastname) >= sizeof(nm->full))
		return -ENAMETOOLONG;
	nm->have_st = ll && fstatat(nm->dir, lastname, &nm->st, AT_SYMLINK_NOFOLLOW) == 0;
	nm->st_errno = ll && !nm->have_st ? errno : 0;
	return 0;
}

void sn_name_close(struct sn_name *nm)
{
	if (nm->start >= 0)
		close(nm->start);
	if (nm->dir >= 0)
		close(nm->dir);
	nm->start = nm->dir = -1;
}
