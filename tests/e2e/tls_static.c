/*
 * A TLS client with OpenSSL linked in statically, for test_llm.py: its
 * SSL_write/SSL_read live in the executable itself, so agenttrail's uprobes
 * sit on this file's inode. Built by the test at run time, twice: with
 * -DPAD the code before OpenSSL's grows by 64 KiB, so every function of
 * it moves (a new version of the program, at other offsets).
 *
 *   cc -O1 [-DPAD] -o tls_static tls_static.c -Wl,-Bstatic -lssl -lcrypto \
 *      -Wl,-Bdynamic -lpthread -ldl
 *
 * Usage: tls_static HOST PORT CAFILE PATH [DELAY_MS]: GET PATH over HTTPS
 * (HTTP/1.1, Connection: close), the response body on stdout, exit 0 on a
 * 200. DELAY_MS: wait that long first (a program agenttrail has not seen is
 * attached after its exec is read; the test is not about that race).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef PAD
__attribute__((used, noinline)) void pad(void)
{
	__asm__ volatile(".skip 65536, 0x90");
}
#endif

static int tcp(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	int fd;

	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int main(int argc, char **argv)
{
	char req[1024], buf[16384];
	size_t got = 0;
	SSL_CTX *ctx;
	SSL *ssl;
	char *body;
	int fd, n;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: tls_static HOST PORT CAFILE PATH [DELAY_MS]\n");
		return 2;
	}
	if (argc == 6) {
		long ms = atol(argv[5]);
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_load_verify_locations(ctx, argv[3], NULL))
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fd = tcp(argv[1], argv[2]);
	if (fd < 0) {
		perror("connect");
		return 1;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, argv[1]);
	if (SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		     argv[4], argv[1]);
	if (SSL_write(ssl, req, n) != n)
		return 1;
	while (got < sizeof(buf) - 1 && (n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got))) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	body = strstr(buf, "\r\n\r\n");
	if (body)
		fputs(body + 4, stdout);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
}
