// SPDX-License-Identifier: MIT
/*
 * loops - tight syscall loops for the agenttrail overhead benchmark.
 *
 *   loops open N [PATH]     openat(AT_FDCWD, PATH, O_RDONLY) + close, N times
 *   loops stat N [PATH]     stat(PATH), N times
 *   loops write N           write(2) of one byte to /dev/null, N times (the
 *                           descriptor is opened before the timed loop)
 *   loops forkexec N [PROG] fork + execve(PROG, {"true"}) + waitpid, N times;
 *                           PROG (default /bin/true) must exit 0 (the VM
 *                           bench passes one static program, so that the
 *                           host and the guest exec the same file)
 *   loops unlink N          unlink of N empty files, which it creates first
 *                           (untimed) in a new directory under /tmp
 *   loops connect N         TCP connect + close (with a RST, see below) to a
 *                           loopback listener that this program runs in a
 *                           thread, N times
 *   loops rate R SEC [PATH] openat + close at R per second for SEC seconds
 *                           (the event-rate stress of bench/run --stress)
 *   loops turns open|stat N [PATH]
 *                           for each byte read from stdin, N opens (or
 *                           stats) and one "ns_per_op=X" line, flushed; ends
 *                           at end of input (the paired measurement of
 *                           bench/run --paired: two of these take turns)
 *
 * PATH defaults to /etc/passwd, PROG to /bin/true; both must be absolute.  The last line written
 * to stdout is "ns_per_op=X", the CLOCK_MONOTONIC time of the loop divided
 * by N; setup (the listener, the thread) is outside the timed region.
 * `rate` first prints "ops=N seconds=S rate=X": how many opens it made, in
 * how long, and the rate it achieved (lower than R if it could not keep up).
 * Errors go to stderr and give exit status 1.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *default_path = "/etc/passwd";

static void die(const char *what)
{
	fprintf(stderr, "loops: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		die("clock_gettime");
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void loop_open(long n, const char *path)
{
	for (long i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			die(path);
		close(fd);
	}
}

static void loop_stat(long n, const char *path)
{
	struct stat st;

	for (long i = 0; i < n; i++) {
		if (stat(path, &st))
			die(path);
	}
}

static void loop_write(long n, int fd)
{
	const char byte = 0;

	for (long i = 0; i < n; i++) {
		if (write(fd, &byte, 1) != 1)
			die("write /dev/null");
	}
}

static void loop_forkexec(long n, const char *prog)
{
	char *const argv[] = { "true", NULL };
	char *const envp[] = { NULL };

	for (long i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			execve(prog, argv, envp);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "loops: %s failed (status %#x)\n", prog, status);
			exit(1);
		}
	}
}

/*
 * Opens at a steady rate: before each batch, the number of opens due by now
 * is rate * elapsed; when ahead, sleep until the next one is due.  When the
 * loop cannot keep up (in a session, each open costs more), it runs flat
 * out and the achieved rate it prints is lower than asked.
 */
static void loop_rate(double rate, double seconds, const char *path)
{
	double t0 = now_ns(), end = t0 + seconds * 1e9, t;
	long done = 0;

	while ((t = now_ns()) < end) {
		long due = (long)((t - t0) * rate / 1e9) + 1;

		if (done >= due) {
			long long next = (long long)(t0 + (double)done * 1e9 / rate);
			struct timespec ts = {
				.tv_sec = (time_t)(next / 1000000000LL),
				.tv_nsec = (long)(next % 1000000000LL),
			};

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		if (due - done > 256)
			due = done + 256;   /* check the clock at least every 256 opens */
		loop_open(due - done, path);
		done = due;
	}
	t = now_ns();
	printf("ops=%ld seconds=%.3f rate=%.0f\n", done, (t - t0) / 1e9,
	       done ? (double)done / ((t - t0) / 1e9) : 0.0);
	printf("ns_per_op=%.1f\n", done ? (t - t0) / (double)done : 0.0);
}

/*
 * Times itself: the files are made first, outside the timed loop, in a
 * directory of their own (removed at the end).
 */
static void loop_unlink(long n)
{
	char dir[] = "/tmp/loops-unlink-XXXXXX", name[32];
	double t0, t1;
	int dfd;

	if (!mkdtemp(dir))
		die("mkdtemp");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die(dir);
	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof(name), "f%ld", i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			die(name);
		close(fd);
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%ld", i);
		if (unlinkat(dfd, name, 0))
			die(name);
	}
	t1 = now_ns();
	close(dfd);
	if (rmdir(dir))
		die(dir);
	printf("ns_per_op=%.1f\n", (t1 - t0) / (double)n);
}

/*
 * The listener thread accepts and closes connections until the main thread
 * sets stop and shuts the listening socket down, which wakes accept().
 *
 * The client closes with SO_LINGER {1, 0}, i.e. with a RST: a graceful close
 * would leave every client port in TIME_WAIT for 60 s, and a few hundred
 * thousand of them (a full benchmark run) fill the kernel's TIME_WAIT table
 * and make every later connect() slower while it looks for a free port.
 */
struct listener {
	int fd;
	atomic_bool stop;
};

static void *accept_loop(void *arg)
{
	struct listener *l = arg;

	for (;;) {
		int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0) {
			close(c);
			continue;
		}
		if (atomic_load(&l->stop))
			break;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		die("accept");
	}
	return NULL;
}

static void loop_connect(long n)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	struct listener l;
	pthread_t thread;
	int one = 1;

	atomic_init(&l.stop, false);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l.fd < 0)
		die("socket");
	if (setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("setsockopt");
	if (bind(l.fd, (struct sockaddr *)&addr, sizeof(addr)))
		die("bind");
	if (listen(l.fd, 4096))
		die("listen");
	if (getsockname(l.fd, (struct sockaddr *)&addr, &len))
		die("getsockname");
	errno = pthread_create(&thread, NULL, accept_loop, &l);
	if (errno)
		die("pthread_create");

	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			die("socket");
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst)))
			die("setsockopt");
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			die("connect");
		close(fd);
	}

	double t1 = now_ns();

	atomic_store(&l.stop, true);
	if (shutdown(l.fd, SHUT_RDWR))
		die("shutdown");
	errno = pthread_join(thread, NULL);
	if (errno)
		die("pthread_join");
	close(l.fd);
	printf("ns_per_op=%.1f\n", (t1 - t0) / (double)n);
}

/*
 * Chunks on demand: the caller decides when each chunk runs, so that two
 * processes (one in a session, one outside it, or one process with and
 * without agenttrail loaded) take turns within milliseconds, and a machine
 * whose speed drifts over seconds slows both sides of each pair alike.
 */
static void loop_turns(bool open_mode, long n, const char *path)
{
	char token;
	ssize_t r;

	while ((r = read(STDIN_FILENO, &token, 1)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read stdin");
		}
		double t0 = now_ns();

		if (open_mode)
			loop_open(n, path);
		else
			loop_stat(n, path);
		double t1 = now_ns();

		if (printf("ns_per_op=%.1f\n", (t1 - t0) / (double)n) < 0 || fflush(stdout))
			die("write stdout");
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loops open N [PATH] | stat N [PATH] | write N | forkexec N [PROG] |\n"
		"       unlink N | connect N\n"
		"       loops rate R SECONDS [PATH]\n"
		"       loops turns open|stat N [PATH]   (a chunk per byte on stdin)\n"
		"prints ns_per_op=X (CLOCK_MONOTONIC around the loop, divided by N)\n");
	exit(2);
}

static int main_turns(int argc, char **argv)
{
	const char *path = argc == 5 ? argv[4] : default_path;
	char *end;
	long n = strtol(argv[3], &end, 10);
	bool open_mode = strcmp(argv[2], "open") == 0;

	if (argc > 5 || *end || n <= 0 || (!open_mode && strcmp(argv[2], "stat") != 0))
		usage();
	if (path[0] != '/') {
		fprintf(stderr, "loops: PATH must be absolute\n");
		return 2;
	}
	loop_turns(open_mode, n, path);
	return 0;
}

static int main_rate(int argc, char **argv)
{
	const char *path = argc == 5 ? argv[4] : default_path;
	char *end1, *end2;
	double rate = strtod(argv[2], &end1);
	double seconds = strtod(argv[3], &end2);

	if (argc < 4 || argc > 5 || *end1 || *end2 || !(rate > 0) || !(seconds > 0) ||
	    rate > 1e9 || seconds > 86400)
		usage();
	if (path[0] != '/') {
		fprintf(stderr, "loops: PATH must be absolute\n");
		return 2;
	}
	loop_rate(rate, seconds, path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "rate") == 0)
		return main_rate(argc, argv);
	if (argc >= 4 && strcmp(argv[1], "turns") == 0)
		return main_turns(argc, argv);
	if (argc < 3 || argc > 4)
		usage();

	const char *mode = argv[1];
	/* open and stat: the file; forkexec: the program */
	const char *path = argc == 4 ? argv[3] : strcmp(mode, "forkexec") == 0 ? "/bin/true"
							 : default_path;
	char *end;
	long n = strtol(argv[2], &end, 10);

	if (*end || n <= 0 || (strcmp(mode, "write") == 0 && argc != 3))
		usage();
	if (path[0] != '/') {
		fprintf(stderr, "loops: PATH must be absolute\n");
		return 2;
	}

	if (strcmp(mode, "connect") == 0) {
		/* times itself: its setup must stay outside the timed loop */
		loop_connect(n);
		return 0;
	}
	if (strcmp(mode, "unlink") == 0 && argc == 3) {
		loop_unlink(n);
		return 0;
	}

	int null_fd = -1;

	if (strcmp(mode, "write") == 0) {
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null_fd < 0)
			die("/dev/null");
	}

	double t0 = now_ns();

	if (null_fd >= 0)
		loop_write(n, null_fd);
	else if (strcmp(mode, "open") == 0)
		loop_open(n, path);
	else if (strcmp(mode, "stat") == 0)
		loop_stat(n, path);
	else if (strcmp(mode, "forkexec") == 0)
		loop_forkexec(n, path);
	else
		usage();

	double t1 = now_ns();

	printf("ns_per_op=%.1f\n", (t1 - t0) / (double)n);
	return 0;
}
