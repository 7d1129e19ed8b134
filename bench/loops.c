// SPDX-License-Identifier: MIT
/*
 * loops - tight syscall loops for the agenttrail overhead benchmark.
 *
 *   loops open N [PATH]     openat(AT_FDCWD, PATH, O_RDONLY) + close, N times
 *   loops stat N [PATH]     stat(PATH), N times
 *   loops forkexec N        fork + execve("/bin/true") + waitpid, N times
 *   loops connect N         TCP connect + close (with a RST, see below) to a
 *                           loopback listener that this program runs in a
 *                           thread, N times
 *
 * PATH defaults to /etc/passwd and must be absolute.  The only line written
 * to stdout is "ns_per_op=X", the CLOCK_MONOTONIC time of the loop divided
 * by N; setup (the listener, the thread) is outside the timed region.
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

static void loop_forkexec(long n)
{
	char *const argv[] = { "true", NULL };
	char *const envp[] = { NULL };

	for (long i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			execve("/bin/true", argv, envp);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "loops: /bin/true failed (status %#x)\n", status);
			exit(1);
		}
	}
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

static void usage(void)
{
	fprintf(stderr,
		"usage: loops open N [PATH] | stat N [PATH] | forkexec N | connect N\n"
		"prints ns_per_op=X (CLOCK_MONOTONIC around the loop, divided by N)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4)
		usage();

	const char *mode = argv[1];
	const char *path = argc == 4 ? argv[3] : default_path;
	char *end;
	long n = strtol(argv[2], &end, 10);

	if (*end || n <= 0)
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

	double t0 = now_ns();

	if (strcmp(mode, "open") == 0)
		loop_open(n, path);
	else if (strcmp(mode, "stat") == 0)
		loop_stat(n, path);
	else if (strcmp(mode, "forkexec") == 0 && argc == 3)
		loop_forkexec(n);
	else
		usage();

	double t1 = now_ns();

	printf("ns_per_op=%.1f\n", (t1 - t0) / (double)n);
	return 0;
}
