/*
 * at-tool: the workloads of the VM's guard checks, one static binary
 * (busybox runs its applets inside the shell, without an exec, and has no
 * make, git, ssh or DNS server). What it does depends on the name it runs
 * under, or on its first argument:
 *
 *   make [test]              exit 1 if /tmp/FAIL exists, else 0
 *   git, ssh, rm             exit 0 (stand-ins: the rules are about names)
 *   redact, copy             copy stdin to stdout (a declassifier and a plain copy)
 *   at-tool recv-exec HOST PORT PROG   read from HOST:PORT, then exec PROG;
 *                                      prints "recv-exec errno=N" if the exec fails
 *   at-tool dns-serve IP API OTHER     answer A queries on IP:53: names that start
 *                                      with "api." get API, the others OTHER
 *   at-tool dns-connect SERVER NAME PORT   resolve NAME, connect to it;
 *                                          prints "dns-connect ok|errno=N"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int copy(void)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			return 1;
	return n < 0;
}

static int tcp_to(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int recv_exec(const char *host, int port, const char *prog)
{
	char buf[512];
	int fd = tcp_to(host, port);

	if (fd < 0) {
		printf("recv-exec connect errno=%d\n", errno);
		return 2;
	}
	if (read(fd, buf, sizeof(buf)) < 0)
		return 2;
	close(fd);
	execl(prog, prog, (char *)NULL);
	printf("recv-exec errno=%d\n", errno);
	return 126;
}

static int dns_serve(const char *ip, const char *api, const char *other)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) }, peer;
	unsigned char q[512], r[600];
	struct in_addr ans_api, ans_other;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
	    inet_pton(AF_INET, api, &ans_api) != 1 || inet_pton(AF_INET, other, &ans_other) != 1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	for (;;) {
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &pl);
		size_t qend = 12;

		if (n < 17)
			continue;
		while (qend < (size_t)n && q[qend])
			qend += q[qend] + 1;
		qend += 5; /* the zero, qtype, qclass */
		if (qend > (size_t)n)
			continue;
		memcpy(r, q, qend);
		r[2] = 0x81, r[3] = 0x80;       /* response, recursion available */
		r[6] = 0, r[7] = 1;             /* one answer */
		r[8] = r[9] = r[10] = r[11] = 0;
		memcpy(r + qend, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04", 12);
		/* first label "api" */
		if (q[12] == 3 && !memcmp(q + 13, "api", 3))
			memcpy(r + qend + 12, &ans_api, 4);
		else
			memcpy(r + qend + 12, &ans_other, 4);
		sendto(fd, r, qend + 16, 0, (struct sockaddr *)&peer, pl);
	}
}

static int dns_connect(const char *server, const char *name, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) };
	unsigned char q[300] = { 0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 }, r[600];
	size_t o = 12;
	const char *p = name;
	char ip[INET_ADDRSTRLEN];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	while (*p && o < 250) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		q[o++] = (unsigned char)l;
		memcpy(q + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	q[o++] = 0;
	q[o++] = 0, q[o++] = 1, q[o++] = 0, q[o++] = 1;
	if (fd < 0 || inet_pton(AF_INET, server, &a.sin_addr) != 1 ||
	    sendto(fd, q, o, 0, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (n = recv(fd, r, sizeof(r), 0)) < 16) {
		printf("dns-connect resolve-failed\n");
		return 2;
	}
	inet_ntop(AF_INET, r + n - 4, ip, sizeof(ip));
	if (getenv("AT_DELAY_MS"))
		usleep((useconds_t)atoi(getenv("AT_DELAY_MS")) * 1000);
	fd = tcp_to(ip, port);
	if (fd < 0) {
		printf("dns-connect errno=%d\n", errno);
		return 1;
	}
	printf("dns-connect ok\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *me = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(me, "make"))
		return access("/tmp/FAIL", F_OK) == 0;
	if (!strcmp(me, "git") || !strcmp(me, "ssh") || !strcmp(me, "rm"))
		return 0;
	if (!strcmp(me, "redact") || !strcmp(me, "copy"))
		return copy();
	if (argc == 5 && !strcmp(argv[1], "recv-exec"))
		return recv_exec(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 5 && !strcmp(argv[1], "dns-serve"))
		return dns_serve(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "dns-connect"))
		return dns_connect(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "at-tool: unknown use\n");
	return 2;
}
