/* unlink and rename refused without BPF-LSM: the seccomp backend. See
 * seccomp_notify.h. */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard/fan.h"
#include "guard/fan_int.h"
#include "guard/guard.h"
#include "guard/seccomp_notify.h"

#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

/* 6.6+: wake the answering thread on the caller's CPU and switch to it
 * directly (older headers lack it; older kernels refuse it: harmless) */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define X32_SYSCALL_BIT 0x40000000u

/* The calls handed to agenttrail, by architecture (x32 shares x86_64's
 * numbers with X32_SYSCALL_BIT set; i386 is `int 0x80` and 32-bit
 * programs). */
enum {
	NR64_RENAME = 82, NR64_RMDIR = 84, NR64_UNLINK = 87,
	NR64_UNLINKAT = 263, NR64_RENAMEAT = 264, NR64_RENAMEAT2 = 316,
	NR32_UNLINK = 10, NR32_RENAME = 38, NR32_RMDIR = 40,
	NR32_UNLINKAT = 301, NR32_RENAMEAT = 302, NR32_RENAMEAT2 = 353,
};

#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define IS(nr, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), (jt), (jf))

/* jt/jf count instructions after the jump: ALLOW is at 18, NOTIFY at 19. */
static const struct sock_filter filter[] = {
	/* 0 */ LD_ARCH,
	/* 1 */ IS(AUDIT_ARCH_X86_64, 0, 8),
	/* 2 */ LD_NR,
	/* 3 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_SYSCALL_BIT),
	/* 4 */ IS(NR64_UNLINK, 14, 0),
	/* 5 */ IS(NR64_RMDIR, 13, 0),
	/* 6 */ IS(NR64_RENAME, 12, 0),
	/* 7 */ IS(NR64_UNLINKAT, 11, 0),
	/* 8 */ IS(NR64_RENAMEAT, 10, 0),
	/* 9 */ IS(NR64_RENAMEAT2, 9, 8),
	/* 10 */ IS(AUDIT_ARCH_I386, 0, 7),
	/* 11 */ LD_NR,
	/* 12 */ IS(NR32_UNLINK, 6, 0),
	/* 13 */ IS(NR32_RMDIR, 5, 0),
	/* 14 */ IS(NR32_RENAME, 4, 0),
	/* 15 */ IS(NR32_UNLINKAT, 3, 0),
	/* 16 */ IS(NR32_RENAMEAT, 2, 0),
	/* 17 */ IS(NR32_RENAMEAT2, 1, 0),
	/* 18 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	/* 19 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
};

bool snotify_needed(const struct guard *g)
{
	for (size_t i = 0; i < g->pol->nrules; i++) {
		const struct pol_rule *r = &g->pol->rules[i];

		if (!g->lsm_rule[i] && (r->ops & (POL_OP_UNLINK | POL_OP_RENAME)) &&
		    r->effect != POL_NOTIFY)
			return true;
	}
	return false;
}

bool snotify_available(void)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;

	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

/* ---- handing the notification fd from the child to agenttrail -------------- */

/* One message each way: the child's errno as the payload, and its
 * notification fd as SCM_RIGHTS when it has one (u; NULL: none). */
union fd_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static void fd_msg_init(struct msghdr *msg, struct iovec *iov, int *e, union fd_cmsg *u)
{
	memset(msg, 0, sizeof(*msg));
	iov->iov_base = e;
	iov->iov_len = sizeof(*e);
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	if (u) {
		memset(u, 0, sizeof(*u));
		msg->msg_control = u->buf;
		msg->msg_controllen = sizeof(u->buf);
	}
}

void snotify_child(int sock)
{
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]),
				   .filter = (struct sock_filter *)filter };
	union fd_cmsg u;
	struct msghdr msg;
	struct iovec iov;
	int fd, e = 0;

	/* agenttrail runs with CAP_SYS_ADMIN, so no_new_privs is not needed
	 * (and not set: it would change what setuid programs do) */
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			  &prog);
	if (fd < 0)
		e = errno;
	fd_msg_init(&msg, &iov, &e, fd >= 0 ? &u : NULL);
	if (fd >= 0) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	if (fd >= 0)
		close(fd);
	close(sock);
}

int snotify_receive(int sock, int *listener)
{
	union fd_cmsg u;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t n;
	int e = 0;

	*listener = -1;
	fd_msg_init(&msg, &iov, &e, &u);
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -1;
	if (n != (ssize_t)sizeof(e)) {
		errno = ECHILD;     /* the child ended before it said */
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(listener, CMSG_DATA(c), sizeof(int));
	if (*listener >= 0)
		return 0;
	errno = e ? e : EPROTO;
	return -1;
}

/* This thread could not take back agenttrail's identity: every later
 * answer would be wrong. Nothing sane is left to do. */
static int creds_lost(void)
{
	fprintf(stderr, "agenttrail: seccomp: cannot take back our own credentials: stopping\n");
	abort();
}

/* ---- the call: its names, resolved as the caller would ---------------------- */

struct call {
	unsigned op;              /* POL_OP_UNLINK or POL_OP_RENAME */
	int dfd[2];
	uint64_t addr[2];
	unsigned flags;           /* unlinkat's or renameat2's */
	int npaths;
};

static int decode(const struct seccomp_data *d, struct call *c)
{
	uint32_t nr = d->nr;
	int i386 = d->arch == AUDIT_ARCH_I386;

	memset(c, 0, sizeof(*c));
	c->dfd[0] = c->dfd[1] = SN_AT_FDCWD;
	if (!i386)
		nr &= ~X32_SYSCALL_BIT;
	if (nr == (i386 ? NR32_UNLINK : NR64_UNLINK) || nr == (i386 ? NR32_RMDIR : NR64_RMDIR)) {
		c->op = POL_OP_UNLINK;
		c->addr[0] = d->args[0];
		c->flags = nr == (i386 ? NR32_RMDIR : NR64_RMDIR) ? AT_REMOVEDIR : 0;
		c->npaths = 1;
	} else if (nr == (i386 ? NR32_UNLINKAT : NR64_UNLINKAT)) {
		c->op = POL_OP_UNLINK;
		c->dfd[0] = (int)(uint32_t)d->args[0];
		c->addr[0] = d->args[1];
		c->flags = (uint32_t)d->args[2];
		c->npaths = 1;
	} else if (nr == (i386 ? NR32_RENAME : NR64_RENAME)) {
		c->op = POL_OP_RENAME;
		c->addr[0] = d->args[0];
		c->addr[1] = d->args[1];
		c->npaths = 2;
	} else if (nr == (i386 ? NR32_RENAMEAT : NR64_RENAMEAT) ||
		   nr == (i386 ? NR32_RENAMEAT2 : NR64_RENAMEAT2)) {
		c->op = POL_OP_RENAME;
		c->dfd[0] = (int)(uint32_t)d->args[0];
		c->addr[0] = d->args[1];
		c->dfd[1] = (int)(uint32_t)d->args[2];
		c->addr[1] = d->args[3];
		if (nr == (i386 ? NR32_RENAMEAT2 : NR64_RENAMEAT2))
			c->flags = (uint32_t)d->args[4];
		c->npaths = 2;
	} else {
		return -1;
	}
	if (i386) {
		c->addr[0] &= 0xffffffffu;
		c->addr[1] &= 0xffffffffu;
	}
	return 0;
}

/* ---- one notification -------------------------------------------------------- */

struct work {
	struct call c;
	int root;                 /* the caller's root directory */
	struct sn_name nm[2];
	struct sn_creds creds;
	struct subject s;
};

/* The call itself, done here (as the caller, on the directories the rules
 * were asked about). Returns 0 or -errno. */
static long act(const struct work *w)
{
	long rc;

	if (w->c.op == POL_OP_UNLINK)
		rc = unlinkat(w->nm[0].dir, w->nm[0].last, (int)w->c.flags);
	else
		rc = syscall(SYS_renameat2, w->nm[0].dir, w->nm[0].last, w->nm[1].dir, w->nm[1].last,
			     w->c.flags);
	return rc ? -errno : 0;
}

enum verdict { LET_GO, ANSWER };

static enum verdict handle(struct snotify *n, const struct seccomp_notif *req, struct work *w,
			   long *answer)
{
	pid_t tid = (pid_t)req->pid;
	uint32_t tgid = 0;
	const char *paths[2] = { NULL, NULL };
	const struct stat *sts[2] = { NULL, NULL };
	bool as_caller;
	int rc = 0;

	if (decode(&req->data, &w->c))
		return LET_GO;
	for (int k = 0; k < w->c.npaths && !rc; k++)
		rc = sn_read_string(tid, w->c.addr[k], w->nm[k].arg, sizeof(w->nm[k].arg));
	if (rc) {
		*answer = rc;
		return ANSWER;
	}
	if (sn_read_status(tid, &tgid, &w->creds) || !sn_same_user_ns(&n->self_user, tid) ||
	    bpf_map_lookup_elem(n->f->fd_tracked, &tgid, &w->s.proc))
		return LET_GO;  /* not ours to resolve, or outside every session */

	for (int k = 0; k < 2; k++)
		w->nm[k].start = w->nm[k].dir = -1;
	{
		char p[64];

		snprintf(p, sizeof(p), "/proc/%d/root", (int)tid);
		w->root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (w->root < 0)
			rc = -errno;
	}
	for (int k = 0; k < w->c.npaths && !rc; k++)
		rc = sn_name_start(tid, w->c.dfd[k], &w->nm[k]);
	/* Everything read from /proc/TID until here (its memory, status,
	 * root, cwd and descriptors) was the notified thread's, not a new
	 * one's under a reused number, if its call is still waiting now. */
	if (!rc && ioctl(n->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id))
		rc = -ESRCH;
	as_caller = !sn_creds_same(&w->creds, &n->self);
	if (!rc && as_caller && sn_creds_take(&n->self, &w->creds))
		rc = -EPERM;  /* cannot act as the caller: fail closed */
	for (int k = 0; k < w->c.npaths && !rc; k++)
		rc = sn_name_resolve(&w->nm[k], w->root, tid, tgid);
	if (as_caller && sn_creds_restore(&n->self))
		rc = creds_lost();
	if (rc)
		goto out;
	/* nothing to remove or move: the kernel's own error, before any
	 * rule (as its lookup comes before the LSM hooks) */
	if (w->nm[0].st_errno) {
		rc = -w->nm[0].st_errno;
		goto out;
	}

	for (int k = 0; k < w->c.npaths; k++) {
		paths[k] = w->nm[k].full;
		sts[k] = w->nm[k].have_st ? &w->nm[k].st : NULL;
	}
	memset(&w->s, 0, offsetof(struct subject, proc));
	w->s.tid = (uint32_t)tid;
	w->s.tgid = tgid;
	w->s.comm[0] = '\0';
	{
		char link[64];
		ssize_t k;

		snprintf(link, sizeof(link), "/proc/%d/exe", (int)tid);
		k = readlink(link, w->s.exe, sizeof(w->s.exe) - 1);
		w->s.exe[k > 0 ? k : 0] = '\0';
	}
	n->decided++;
	if (fan_judge_unlink_rename(n->f, &w->s, w->c.op, paths, sts)) {
		n->refused++;
		rc = -EPERM;
		goto out;
	}
	if (as_caller && sn_creds_take(&n->self, &w->creds)) {
		rc = sn_creds_restore(&n->self) ? creds_lost() : -EPERM;
		goto out;
	}
	rc = (int)act(w);
	n->emulated++;
	if (as_caller && sn_creds_restore(&n->self))
		creds_lost();
out:
	for (int k = 0; k < 2; k++)
		sn_name_close(&w->nm[k]);
	if (w->root >= 0)
		close(w->root);
	w->root = -1;
	*answer = rc;
	return ANSWER;
}

static void answer_one(struct snotify *n, struct work *w)
{
	struct seccomp_notif *req = n->req;
	struct seccomp_notif_resp *resp = n->resp;
	long rc = 0;

	memset(req, 0, n->req_size);
	if (ioctl(n->listener, SECCOMP_IOCTL_NOTIF_RECV, req))
		return;   /* the caller is gone (ENOENT), or a signal */
	memset(resp, 0, n->resp_size);
	resp->id = req->id;
	if (handle(n, req, w, &rc) == LET_GO) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		n->passed_on++;
	} else {
		resp->error = (int32_t)rc;
		resp->val = 0;
	}
	/* ENOENT: the caller was killed meanwhile */
	(void)ioctl(n->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

static void *sn_thread(void *arg)
{
	struct snotify *n = arg;
	struct work *w = calloc(1, sizeof(*w));
	bool hung_up = false;

	if (!w) {
		fprintf(stderr, "agenttrail: seccomp: out of memory; unlink and rename go unanswered\n");
		return NULL;
	}
	pthread_setname_np(pthread_self(), "at-seccomp");
	for (;;) {
		struct pollfd p[2] = { { .fd = hung_up ? -1 : n->listener, .events = POLLIN },
				       { .fd = n->stop_fd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN)
			answer_one(n, w);
		else if (p[0].revents & (POLLHUP | POLLERR))
			hung_up = true;   /* every process of the tree is gone */
	}
	free(w);
	return NULL;
}

/*
 * The answerer of last resort, started with the thread: a detached process
 * that holds the notification fd too and waits until agenttrail is gone -
 * its end of a pipe reads end of file when agenttrail stops or is killed -
 * then lets every call of the processes still filtered go on (the
 * recording, and with it every rule, has ended), and exits with the last
 * of them. Without it they would get ENOSYS from every unlink and rename.
 * Only async-signal-safe calls after fork: agenttrail has threads.
 */
static void answerer_loop(struct snotify *n)
{
	struct seccomp_notif *req = n->req;
	struct seccomp_notif_resp *resp = n->resp;
	struct pollfd p[2] = { { .fd = 3, .events = 0 }, { .fd = 4, .events = POLLIN } };
	char c;

	/* agenttrail answers while it lives; leave when the tree is gone */
	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			_exit(0);
		if (p[1].revents && read(4, &c, 1) <= 0)
			break;
	}
	close(4);
	for (;;) {
		p[0].events = POLLIN;
		if (poll(p, 1, -1) < 0)
			continue;
		if (!(p[0].revents & POLLIN))
			_exit(0);
		memset(req, 0, n->req_size);
		if (ioctl(3, SECCOMP_IOCTL_NOTIF_RECV, req))
			continue;
		memset(resp, 0, n->resp_size);
		resp->id = req->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		(void)ioctl(3, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
}

static int start_answerer(struct snotify *n, char *err, size_t errlen)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		int null;

		if (fork() != 0)
			_exit(0);     /* not agenttrail's child: nobody to reap it */
		setsid();
		prctl(PR_SET_NAME, "at-answerer");   /* not another agenttrail, in ps */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		if (dup2(n->listener, 3) < 0 || dup2(p[0], 4) < 0)
			_exit(1);
		null = open("/dev/null", O_RDWR);
		for (int fd = 0; fd < 3 && null >= 0; fd++)
			dup2(null, fd);
		syscall(SYS_close_range, 5, ~0U, 0);
		answerer_loop(n);
		_exit(0);
	}
	close(p[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	n->answerer_fd = p[1];
	return 0;
}

int snotify_start(struct snotify *n, struct fan *f, int listener, char *err, size_t errlen)
{
	struct seccomp_notif_sizes sizes;
	uint32_t tgid;

	memset(n, 0, sizeof(*n));
	n->listener = listener;
	n->stop_fd = n->answerer_fd = -1;
	n->f = f;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes)) {
		snprintf(err, errlen, "seccomp notification sizes: %s", strerror(errno));
		goto fail;
	}
	n->req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif)
			      ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
	n->resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
			       ? sizes.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
	n->req = calloc(1, n->req_size);
	n->resp = calloc(1, n->resp_size);
	if (!n->req || !n->resp) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (sn_read_status(getpid(), &tgid, &n->self) || stat("/proc/self/ns/user", &n->self_user)) {
		snprintf(err, errlen, "cannot read our own credentials and namespaces: %s",
			 strerror(errno));
		goto fail;
	}
	/* the caller waits for the answer: let the two run as one */
	(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	if (start_answerer(n, err, errlen))
		goto fail;
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (n->stop_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&n->thread, NULL, sn_thread, n)) {
		snprintf(err, errlen, "cannot start the seccomp thread");
		goto fail;
	}
	n->running = true;
	f->seccomp = true;
	return 0;
fail:
	snotify_stop(n);
	return -1;
}

void snotify_stop(struct snotify *n)
{
	uint64_t one = 1;

	if (n->running) {
		if (write(n->stop_fd, &one, sizeof(one)) != sizeof(one))
			fprintf(stderr, "agenttrail: seccomp: cannot stop the thread\n");
		else
			pthread_join(n->thread, NULL);
		n->running = false;
	}
	if (n->f)
		n->f->seccomp = false;
	/* the answerer takes over from here */
	if (n->answerer_fd >= 0)
		close(n->answerer_fd);
	if (n->listener >= 0)
		close(n->listener);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	free(n->req);
	free(n->resp);
	n->listener = n->stop_fd = n->answerer_fd = -1;
	n->req = n->resp = NULL;
}
