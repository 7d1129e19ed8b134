/*
 * unlink and rename refused on kernels without BPF-LSM.
 *
 * No permission event exists for them (fanotify has none, tracepoints
 * cannot change a syscall's result), so `agenttrail run` gives the command
 * it starts a seccomp filter, inherited by its whole process tree, that
 * hands unlink, unlinkat, rmdir, rename, renameat and renameat2 to
 * agenttrail (SECCOMP_RET_USER_NOTIF). A thread here resolves the names
 * the way the kernel would, asks the rules (fan_judge_unlink_rename), and
 * then either answers EPERM or does the operation itself, under the
 * caller's credentials, on the directories it resolved - so the names the
 * rules saw are the names acted on: another thread of the caller that
 * rewrites the path buffer after the check changes nothing (the race that
 * letting the call go on with SECCOMP_USER_NOTIF_FLAG_CONTINUE would
 * open). The caller's own syscall returns the answer, so the recorded
 * event stays the caller's.
 *
 * A caller in another mount or user namespace, or with another root, is
 * let through (its names cannot be resolved as it sees them); the recorded
 * event is then checked after the fact, as on a kernel without this
 * backend. io_uring's UNLINKAT and RENAMEAT do not pass through seccomp.
 * When agenttrail stops (or is killed) while processes of the tree live
 * on, a small process started with the backend answers for them (letting
 * every call go on) until the last one is gone, so they never see ENOSYS.
 */
#ifndef AT_GUARD_SECCOMP_NOTIFY_H
#define AT_GUARD_SECCOMP_NOTIFY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "guard/seccomp_caller.h"

struct fan;
struct guard;

struct snotify {
	int listener;             /* the filter's notification fd, -1 when none */
	int stop_fd;              /* eventfd: stop the thread */
	int answerer_fd;          /* the answerer of last resort waits for its EOF */
	pthread_t thread;
	bool running;
	struct fan *f;
	void *req, *resp;         /* buffers of the kernel's sizes */
	size_t req_size, resp_size;
	struct sn_creds self;     /* the thread's own, restored after each call */
	struct stat self_user;    /* our user namespace */
	/* the thread's own counters; read after snotify_stop */
	uint64_t decided, refused, passed_on, emulated;
};

/* Does g's policy have block or kill rules on unlink or rename that
 * BPF-LSM does not decide? */
bool snotify_needed(const struct guard *g);
/* Does this kernel offer SECCOMP_RET_USER_NOTIF? */
bool snotify_available(void);

/* In the child, between fork and exec (async-signal-safe only): install
 * the filter and send its notification fd over the socket sock; on failure
 * send the errno instead. The child goes on either way. */
void snotify_child(int sock);
/* In the parent: the notification fd the child sent (into *listener), or
 * -1 with errno (the child's reason when it sent one). */
int snotify_receive(int sock, int *listener);

/* Start answering for listener (taken over, closed by snotify_stop). */
int snotify_start(struct snotify *n, struct fan *f, int listener, char *err, size_t errlen);
/* Stop answering; processes of the tree still alive are answered from now
 * on by the answerer of last resort, which lets their calls go on. */
void snotify_stop(struct snotify *n);

#endif
