/*
 * Evasion attempts for test_guard_evasions.py: each subcommand tries to get
 * past the guard in a way the Python workloads (guard_work.py) cannot, and
 * prints one line per attempt, "NAME ok" or "NAME errno=N", like
 * guard_work.py. Built by the test at run time:
 *
 *   cc -O1 -Wall -o evasion evasion.c
 *
 * io_uring is driven with raw io_uring_setup/io_uring_enter/io_uring_register
 * and rings mapped here: no liburing.
 *
 * Subcommands (FILE is read with open+read first; "-" reads nothing):
 *
 *   uring-connect MODE FILE HOST PORT NAME
 *       MODE inline   IORING_OP_CONNECT, issued from io_uring_enter
 *            async    the same with IOSQE_ASYNC (an io-wq worker connects)
 *            sqpoll   on an IORING_SETUP_SQPOLL ring this process created
 *            sqpoll-inherited
 *                     a clean parent creates an SQPOLL ring and forks; the
 *                     child reads FILE, registers its socket as a fixed file
 *                     and submits the connect on the inherited ring; then
 *                     it connects with connect(2) too ("NAME-direct")
 *   uring-sendmsg FILE HOST PORT NAME       IORING_OP_SENDMSG, UDP, msg_name
 *   uring-open MODE PATH rd|wr|trunc NAME   IORING_OP_OPENAT (MODE inline,
 *                                           async, openat2)
 *   execveat MODE TARGET ARGV0 NAME         in a child; "ok" when the child
 *       MODE dirfd        TARGET = DIR/PROG: execveat(open(DIR), "PROG")
 *            fdcwd        execveat(AT_FDCWD, TARGET)
 *            empty-opath  execveat(open(TARGET, O_PATH), "", AT_EMPTY_PATH)
 *            empty-rdonly the same with an O_RDONLY descriptor
 *   exec-flood N NAME
 *       N children, each attempting one execve of a program that does not
 *       exist (ENOENT) and exiting; "NAME ok" when all ran
 *   daemon-connect WHERE FILE HOST PORT NAME DONEFILE
 *       double fork, setsid in the grandchild, both parents exit; FILE is read
 *       by the top process (WHERE ancestor) or by the grandchild once alone
 *       (WHERE grandchild); the grandchild connects, then creates DONEFILE
 *   cgroup-connect CGDIR FILE HOST PORT NAME
 *       write our pid to CGDIR/cgroup.procs, print "NAME-cgroup <path>", read
 *       FILE, connect
 *   thread-connect MODE FILE HOST PORT NAME
 *       MODE reader-alive  a thread reads FILE and stays alive (blocked)
 *                          while the main thread connects
 *            main-reads    the main thread reads, a new thread connects
 *   udp-send KIND FILE HOST PORT NAME
 *       KIND 4        sendmsg on an AF_INET socket, msg_name sockaddr_in
 *            6        sendmsg on an AF_INET6 socket, sockaddr_in6
 *            6mapped  AF_INET6 socket, sockaddr_in6 ::ffff:HOST
 *            6sin     AF_INET6 socket, msg_name a sockaddr_in
 *            mmsg     sendmmsg, two datagrams, AF_INET
 *            connect  connect() a UDP socket, then send() without address
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void result(const char *name, int err)
{
	if (err)
		printf("%s errno=%d\n", name, err);
	else
		printf("%s ok\n", name);
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "evasion: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* open + read(2) to the end: the way a process gains a file's labels */
static void read_file(const char *path)
{
	char buf[4096];
	int fd;

	if (!strcmp(path, "-"))
		return;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* HOST PORT -> a sockaddr of the family the address is written in */
static socklen_t make_addr(const char *host, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)atoi(port));
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)atoi(port));
		return sizeof(*s6);
	}
	fprintf(stderr, "evasion: bad address %s\n", host);
	exit(2);
}

static int tcp_connect(const char *host, const char *port);

/* ---- io_uring, by hand -------------------------------------------------- */

struct ring {
	int fd;
	unsigned flags;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, *sq_flags;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r, unsigned flags)
{
	struct io_uring_params p;
	size_t sqsz, cqsz;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	memset(r, 0, sizeof(*r));
	p.flags = flags;
	if (flags & IORING_SETUP_SQPOLL)
		p.sq_thread_idle = 5000; /* ms: the thread stays awake for the test */
	r->fd = (int)syscall(__NR_io_uring_setup, 8, &p);
	if (r->fd < 0)
		return -errno;
	r->flags = flags;
	sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (cqsz > sqsz)
			sqsz = cqsz;
		cqsz = sqsz;
	}
	sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -errno;
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		cq = sq;
	} else {
		cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			  IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return -errno;
	}
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -errno;
	r->sq_head = (unsigned *)(sq + p.sq_off.head);
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->sq_flags = (unsigned *)(sq + p.sq_off.flags);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit one SQE and wait for its completion; returns the CQE's res. */
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	unsigned enter = IORING_ENTER_GETEVENTS, submit = 1;
	int res;

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (r->flags & IORING_SETUP_SQPOLL) {
		/* the kernel thread submits; wake it if it went to sleep */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		submit = 0;
		if (__atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) & IORING_SQ_NEED_WAKEUP)
			enter |= IORING_ENTER_SQ_WAKEUP;
	}
	for (;;) {
		head = __atomic_load_n(r->cq_head, __ATOMIC_RELAXED);
		if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
			break;
		if (syscall(__NR_io_uring_enter, r->fd, submit, 1, enter, NULL, 0) < 0 &&
		    errno != EINTR && errno != EAGAIN && errno != EBUSY)
			die("io_uring_enter");
		submit = 0;
		if (r->flags & IORING_SETUP_SQPOLL)
			enter = IORING_ENTER_GETEVENTS |
				((__atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) &
				  IORING_SQ_NEED_WAKEUP) ? IORING_ENTER_SQ_WAKEUP : 0);
	}
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static void uring_result(const char *name, int res)
{
	result(name, res < 0 ? -res : 0);
}

/* Kept global: an SQPOLL thread of the parent reads the address from the
 * parent's copy of this memory (identical after fork). */
static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;

static void connect_sqe(struct io_uring_sqe *sqe, int fd)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_CONNECT;
	sqe->fd = fd;
	sqe->addr = (unsigned long)&g_addr;
	sqe->off = g_addrlen;
}

static int cmd_uring_connect(char **a)
{
	const char *mode = a[0], *file = a[1], *name = a[4];
	struct io_uring_sqe sqe;
	struct ring r;
	int s, rc;

	g_addrlen = make_addr(a[2], a[3], &g_addr);
	if (!strcmp(mode, "sqpoll-inherited")) {
		char direct[256];
		pid_t pid;
		int st;

		/* the parent: never reads FILE, owns the SQPOLL thread */
		if ((rc = ring_init(&r, IORING_SETUP_SQPOLL)))
			return result(name, -rc), 0;
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			read_file(file);
			s = socket(g_addr.ss_family, SOCK_STREAM, 0);
			if (s < 0)
				die("socket");
			if (syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_FILES, &s, 1) < 0)
				die("io_uring_register");
			connect_sqe(&sqe, 0);
			sqe.flags = IOSQE_FIXED_FILE;
			uring_result(name, ring_run(&r, &sqe));
			/* the same connect as a plain system call: the label is there */
			snprintf(direct, sizeof(direct), "%s-direct", name);
			result(direct, tcp_connect(a[2], a[3]));
			_exit(0);
		}
		waitpid(pid, &st, 0);
		return 0;
	}
	read_file(file);
	if ((rc = ring_init(&r, !strcmp(mode, "sqpoll") ? IORING_SETUP_SQPOLL : 0)))
		return result(name, -rc), 0;
	s = socket(g_addr.ss_family, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	connect_sqe(&sqe, s);
	if (!strcmp(mode, "async"))
		sqe.flags = IOSQE_ASYNC;
	else if (strcmp(mode, "inline") && strcmp(mode, "sqpoll"))
		return fprintf(stderr, "evasion: mode %s\n", mode), 2;
	uring_result(name, ring_run(&r, &sqe));
	return 0;
}

static int cmd_uring_sendmsg(char **a)
{
	const char *name = a[3];
	struct io_uring_sqe sqe;
	struct msghdr msg;
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct ring r;
	int s, rc;

	read_file(a[0]);
	g_addrlen = make_addr(a[1], a[2], &g_addr);
	if ((rc = ring_init(&r, 0)))
		return result(name, -rc), 0;
	s = socket(g_addr.ss_family, SOCK_DGRAM, 0);
	if (s < 0)
		die("socket");
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &g_addr;
	msg.msg_namelen = g_addrlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_SENDMSG;
	sqe.fd = s;
	sqe.addr = (unsigned long)&msg;
	sqe.len = 1;
	uring_result(name, ring_run(&r, &sqe));
	return 0;
}

static int cmd_uring_open(char **a)
{
	const char *mode = a[0], *path = a[1], *how = a[2], *name = a[3];
	struct io_uring_sqe sqe;
	struct open_how oh;
	struct ring r;
	int flags, rc, res;

	if (!strcmp(how, "rd"))
		flags = O_RDONLY;
	else if (!strcmp(how, "wr"))
		flags = O_WRONLY | O_APPEND;
	else if (!strcmp(how, "trunc"))
		flags = O_WRONLY | O_TRUNC;
	else
		return fprintf(stderr, "evasion: open %s\n", how), 2;
	if ((rc = ring_init(&r, 0)))
		return result(name, -rc), 0;
	memset(&sqe, 0, sizeof(sqe));
	sqe.fd = AT_FDCWD;
	sqe.addr = (unsigned long)path;
	if (!strcmp(mode, "openat2")) {
		memset(&oh, 0, sizeof(oh));
		oh.flags = flags;
		sqe.opcode = IORING_OP_OPENAT2;
		sqe.len = sizeof(oh);
		sqe.off = (unsigned long)&oh;
	} else {
		sqe.opcode = IORING_OP_OPENAT;
		sqe.open_flags = flags;
		if (!strcmp(mode, "async"))
			sqe.flags = IOSQE_ASYNC;
		else if (strcmp(mode, "inline"))
			return fprintf(stderr, "evasion: mode %s\n", mode), 2;
	}
	res = ring_run(&r, &sqe);
	if (res >= 0 && flags != O_RDONLY) {
		/* the open is the evasion; this shows what it allows */
		if (write(res, "evaded\n", 7) != 7)
			res = -errno;
	}
	uring_result(name, res);
	return 0;
}

/* ---- execveat --------------------------------------------------------------- */

static int cmd_execveat(char **a)
{
	const char *mode = a[0], *target = a[1], *name = a[3];
	char *argv[] = { a[2], NULL };
	extern char **environ;
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int dfd = AT_FDCWD, flags = 0;
		const char *path = target;

		if (!strcmp(mode, "dirfd")) {
			char dir[4096];
			const char *slash = strrchr(target, '/');

			if (!slash)
				_exit(EINVAL);
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - target), target);
			dfd = open(dir, O_RDONLY | O_DIRECTORY);
			path = slash + 1;
		} else if (!strcmp(mode, "empty-opath") || !strcmp(mode, "empty-rdonly")) {
			dfd = open(target, !strcmp(mode, "empty-opath") ? O_PATH : O_RDONLY);
			path = "";
			flags = AT_EMPTY_PATH;
		} else if (strcmp(mode, "fdcwd")) {
			_exit(EINVAL);
		}
		if (dfd < 0 && dfd != AT_FDCWD)
			_exit(errno);
		syscall(__NR_execveat, dfd, path, argv, environ, flags);
		_exit(errno);
	}
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	/* the program is a copy of true: 0 means it ran */
	result(name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static int cmd_exec_flood(char **a)
{
	char *argv[] = { "missing", NULL };
	int n = atoi(a[0]), st, err = 0;

	fflush(stdout);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			err = errno;
			break;
		}
		if (pid == 0) {
			execve("/nonexistent/missing", argv, argv + 1);
			_exit(0);
		}
		if (waitpid(pid, &st, 0) < 0) {
			err = errno;
			break;
		}
	}
	result(a[1], err);
	return 0;
}

/* ---- plain TCP connect --------------------------------------------------------- */

static int tcp_connect(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	int s = socket(ss.ss_family, SOCK_STREAM, 0), err = 0;

	if (s < 0)
		return errno;
	if (connect(s, (struct sockaddr *)&ss, len) < 0)
		err = errno;
	else if (write(s, "x", 1) != 1)
		err = errno;
	close(s);
	return err;
}

/* ---- double fork + setsid ------------------------------------------------------------ */

static int cmd_daemon_connect(char **a)
{
	const char *where = a[0], *file = a[1], *name = a[4], *done = a[5];
	char detached[256];
	pid_t top = getpid(), mid;
	int st;

	if (!strcmp(where, "ancestor"))
		read_file(file);
	else if (strcmp(where, "grandchild"))
		return fprintf(stderr, "evasion: where %s\n", where), 2;
	fflush(stdout);
	mid = fork();
	if (mid < 0)
		die("fork");
	if (mid == 0) {
		pid_t me = getpid();

		if (fork() == 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			int i, alone = 0, fd;

			setsid();
			/* wait until both the parent and the grandparent are gone */
			for (i = 0; i < 500; i++) {
				if (getppid() != me && kill(top, 0) < 0 && errno == ESRCH) {
					alone = 1;
					break;
				}
				nanosleep(&ts, NULL);
			}
			snprintf(detached, sizeof(detached), "%s-detached", name);
			result(detached, alone && getsid(0) == getpid() ? 0 : EAGAIN);
			if (!strcmp(where, "grandchild"))
				read_file(file);
			result(name, tcp_connect(a[2], a[3]));
			fd = open(done, O_WRONLY | O_CREAT, 0600);
			if (fd >= 0)
				close(fd);
			_exit(0);
		}
		_exit(0);
	}
	waitpid(mid, &st, 0);
	return 0;
}

/* ---- another cgroup ------------------------------------------------------------------ */

static int cmd_cgroup_connect(char **a)
{
	const char *dir = a[0], *name = a[4];
	char path[4096], line[4096], label[256];
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		die(path);
	snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(fd, line, strlen(line)) < 0)
		die("write cgroup.procs");
	close(fd);
	fp = fopen("/proc/self/cgroup", "r");
	if (!fp)
		die("/proc/self/cgroup");
	snprintf(label, sizeof(label), "%s-cgroup", name);
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			printf("%s %s\n", label, line + 3);
		}
	fclose(fp);
	read_file(a[1]);
	result(name, tcp_connect(a[2], a[3]));
	return 0;
}

/* ---- threads ------------------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int have_read, may_leave;
static char **targs;

static void *reader(void *arg)
{
	read_file(arg);
	pthread_mutex_lock(&mu);
	have_read = 1;
	pthread_cond_broadcast(&cv);
	while (!may_leave) /* alive, blocked, while the other thread connects */
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *connector(void *arg)
{
	result(arg, tcp_connect(targs[2], targs[3]));
	return NULL;
}

static int cmd_thread_connect(char **a)
{
	const char *mode = a[0];
	pthread_t t;

	targs = a;
	if (!strcmp(mode, "reader-alive")) {
		if (pthread_create(&t, NULL, reader, a[1]))
			die("pthread_create");
		pthread_mutex_lock(&mu);
		while (!have_read)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		result(a[4], tcp_connect(a[2], a[3]));
		pthread_mutex_lock(&mu);
		may_leave = 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		pthread_join(t, NULL);
	} else if (!strcmp(mode, "main-reads")) {
		read_file(a[1]);
		if (pthread_create(&t, NULL, connector, a[4]))
			die("pthread_create");
		pthread_join(t, NULL);
	} else {
		return fprintf(stderr, "evasion: mode %s\n", mode), 2;
	}
	return 0;
}

/* ---- UDP ----------------------------------------------------------------------------- */

static int cmd_udp_send(char **a)
{
	const char *kind = a[0], *name = a[4];
	struct sockaddr_storage ss;
	struct sockaddr_in6 m6;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr msg;
	socklen_t len;
	int s, family, err = 0;

	read_file(a[1]);
	len = make_addr(a[2], a[3], &ss);
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_name = &ss;
	msg.msg_namelen = len;
	family = ss.ss_family;
	if (!strcmp(kind, "6mapped") || !strcmp(kind, "6sin")) {
		if (ss.ss_family != AF_INET)
			return fprintf(stderr, "evasion: %s needs an IPv4 host\n", kind), 2;
		family = AF_INET6;
		if (!strcmp(kind, "6mapped")) {
			memset(&m6, 0, sizeof(m6));
			m6.sin6_family = AF_INET6;
			m6.sin6_port = s4->sin_port;
			m6.sin6_addr.s6_addr[10] = 0xff;
			m6.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&m6.sin6_addr.s6_addr[12], &s4->sin_addr, 4);
			msg.msg_name = &m6;
			msg.msg_namelen = sizeof(m6);
		}
	}
	s = socket(family, SOCK_DGRAM, 0);
	if (s < 0)
		die("socket");
	if (!strcmp(kind, "4") || !strcmp(kind, "6") || !strcmp(kind, "6mapped") ||
	    !strcmp(kind, "6sin")) {
		if (sendmsg(s, &msg, 0) < 0)
			err = errno;
	} else if (!strcmp(kind, "mmsg")) {
		struct mmsghdr mm[2];

		memset(mm, 0, sizeof(mm));
		mm[0].msg_hdr = msg;
		mm[1].msg_hdr = msg;
		if (sendmmsg(s, mm, 2, 0) < 0)
			err = errno;
	} else if (!strcmp(kind, "connect")) {
		if (connect(s, (struct sockaddr *)&ss, len) < 0 || send(s, "x", 1, 0) < 0)
			err = errno;
	} else {
		return fprintf(stderr, "evasion: kind %s\n", kind), 2;
	}
	close(s);
	result(name, err);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	int nargs;
	int (*fn)(char **);
} cmds[] = {
	{ "uring-connect", 5, cmd_uring_connect },
	{ "uring-sendmsg", 4, cmd_uring_sendmsg },
	{ "uring-open", 4, cmd_uring_open },
	{ "execveat", 4, cmd_execveat },
	{ "exec-flood", 2, cmd_exec_flood },
	{ "daemon-connect", 6, cmd_daemon_connect },
	{ "cgroup-connect", 5, cmd_cgroup_connect },
	{ "thread-connect", 5, cmd_thread_connect },
	{ "udp-send", 5, cmd_udp_send },
};

int main(int argc, char **argv)
{
	alarm(20); /* a hung attempt ends as a missing result, not a hung test */
	if (argc >= 2)
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (!strcmp(argv[1], cmds[i].name)) {
				if (argc - 2 != cmds[i].nargs) {
					fprintf(stderr, "evasion: %s takes %d arguments\n",
						cmds[i].name, cmds[i].nargs);
					return 2;
				}
				return cmds[i].fn(argv + 2);
			}
	fprintf(stderr, "usage: evasion SUBCOMMAND ARGS... (see the source)\n");
	return 2;
}
