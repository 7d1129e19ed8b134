/*
 * The caller of an unlink or rename the seccomp filter handed to agenttrail
 * (seccomp_notify.h): its file-system credentials, read from /proc and
 * taken on by the answering thread; the strings in its memory; its names,
 * resolved the way its own call would resolve them.
 */
#ifndef AT_GUARD_SECCOMP_CALLER_H
#define AT_GUARD_SECCOMP_CALLER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define SN_AT_FDCWD (-100)

/* Credentials of a thread, as far as the file system checks them. */
struct sn_creds {
	uint32_t fsuid, fsgid;
	uint32_t groups[64];
	size_t ngroups;
	uint64_t cap_eff, cap_prm, cap_inh;
};

/* Tgid and credentials of thread tid (/proc/TID/status): 0 or -1. */
int sn_read_status(pid_t tid, uint32_t *tgid, struct sn_creds *c);
/* The calling thread takes on c's identity, keeping self's permitted
 * capabilities; sn_creds_restore() returns to self. 0 or -1. */
int sn_creds_take(const struct sn_creds *self, const struct sn_creds *c);
int sn_creds_restore(const struct sn_creds *self);
bool sn_creds_same(const struct sn_creds *a, const struct sn_creds *b);
/* Is tid in the user namespace whose /proc/.../ns/user stat is ours? */
bool sn_same_user_ns(const struct stat *ours, pid_t tid);

/* A NUL-terminated string from tid's memory: 0, or -EFAULT /
 * -ENAMETOOLONG as the kernel's own copy would fail. */
int sn_read_string(pid_t tid, uint64_t addr, char *out, size_t len);

/* One name of the call, resolved: the directory it is in (opened as the
 * caller), its last component as given, and its full path for the rules. */
struct sn_name {
	char arg[PATH_MAX];
	int start;                /* where the walk starts (opened as us) */
	int dir;                  /* the directory the last component is in */
	const char *last;         /* in arg: the last component, slashes kept */
	char full[PATH_MAX];
	struct stat st;
	bool have_st;
	int st_errno;             /* why not, when the name was looked up */
};

/* Split nm->arg and open where its walk starts (tid's root, cwd, or its
 * descriptor dfd), with our own credentials. 0 or -errno. */
int sn_name_start(pid_t tid, int dfd, struct sn_name *nm);
/* With the caller's credentials: the directory of the last component
 * (walked as the caller's own walk would go: root its root directory,
 * /proc/self its own), the full path for the rules, the file there. 0 or
 * -errno. */
int sn_name_resolve(struct sn_name *nm, int root, pid_t tid, uint32_t tgid);
void sn_name_close(struct sn_name *nm);

#endif
