/* The control socket's transport. See control.h. */
#include "guard/control.h"
#include "model/json_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
/* A hook sends its request at once and reads the answer at once: a client
 * slower than this, either way, loses its connection (and its slot). */
#define CLIENT_TIMEOUT_NS (2ull * 1000000000ull)
#define BACKLOG 128

struct client {
	int fd;                   /* -1: free */
	pid_t pid;
	uint64_t session;         /* 0: not in a session of ours */
	uint64_t since_ns;
	char *buf;                /* the request, then the answer */
	size_t len;
	size_t off;               /* answer: bytes sent */
	bool answering;
};

struct control {
	int lfd, ep;
	bool listening;           /* the listening socket is in ep */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct control_ops ops;
	struct client cl[MAX_CLIENTS];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int make_dir(char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(CONTROL_DIR, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", CONTROL_DIR, strerror(errno));
		return -1;
	}
	/* the socket's name must not be replaceable by anyone but root */
	if (lstat(CONTROL_DIR, &st) || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022)) {
		snprintf(err, errlen, "%s must be a directory owned by root and writable only by it",
			 CONTROL_DIR);
		return -1;
	}
	return 0;
}

struct control *control_open(const char *path, gid_t group, const struct control_ops *ops,
			     char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event e = { .events = EPOLLIN };
	struct stat st;
	mode_t old;
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->lfd = c->ep = -1;
	c->ops = *ops;
	for (int i = 0; i < MAX_CLIENTS; i++)
		c->cl[i].fd = -1;
	if (!path && make_dir(err, errlen))
		goto fail;
	if (path)
		rc = snprintf(c->path, sizeof(c->path), "%s", path);
	else
		rc = snprintf(c->path, sizeof(c->path), "%s/%d.sock", CONTROL_DIR, (int)getpid());
	if (rc < 0 || (size_t)rc >= sizeof(c->path)) {
		snprintf(err, errlen, "control socket path too long");
		goto fail;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->lfd < 0 || c->ep < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	/* a socket left by an agenttrail that was killed with this pid; never
	 * anything else */
	if (!lstat(c->path, &st) && S_ISSOCK(st.st_mode))
		unlink(c->path);
	old = umask(0177);
	rc = bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || listen(c->lfd, BACKLOG)) {
		snprintf(err, errlen, "cannot listen on %s: %s", c->path, strerror(errno));
		goto fail;
	}
	if (group != (gid_t)-1 && (lchown(c->path, 0, group) || chmod(c->path, 0660))) {
		snprintf(err, errlen, "cannot give %s to group %d: %s", c->path, (int)group,
			 strerror(errno));
		goto fail;
	}
	e.data.fd = c->lfd;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->lfd, &e)) {
		snprintf(err, errlen, "control socket: epoll: %s", strerror(errno));
		goto fail;
	}
	c->listening = true;
	return c;
fail:
	control_close(c);
	return NULL;
}

const char *control_path(const struct control *c)
{
	return c->path;
}

int control_fd(const struct control *c)
{
	return c->ep;
}

/* Stop taking connections while every slot is busy: the next ones wait in
 * the backlog instead of being reset. */
static void listen_while_free(struct control *c)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = c->lfd };
	bool any = false;

	for (int k = 0; k < MAX_CLIENTS && !any; k++)
		any = c->cl[k].fd < 0;
	if (any != c->listening &&
	    !epoll_ctl(c->ep, any ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->lfd, any ? &e : NULL))
		c->listening = any;
}

static void drop(struct control *c, struct client *k)
{
	epoll_ctl(c->ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k->buf);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
	listen_while_free(c);
}

/* Send what the socket takes now; the rest when it is writable again. */
static void send_some(struct control *c, struct client *k)
{
	while (k->off < k->len) {
		ssize_t n = send(k->fd, k->buf + k->off, k->len - k->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			drop(c, k);  /* the hook went away: it loses its answer, nothing else */
			return;
		}
		k->off += (size_t)n;
	}
	drop(c, k);
}

/* One line back, then the connection ends. Never waits for the client. */
static void answer(struct control *c, struct client *k, json_t *resp)
{
	char *text = resp ? json_pool_dumps(resp, JSON_COMPACT) : NULL;
	struct epoll_event e = { .events = EPOLLOUT, .data.fd = k->fd };

	if (!text)
		text = strdup("{\"error\":\"internal error\",\"code\":\"internal\"}");
	if (!text) {
		drop(c, k);
		return;
	}
	free(k->buf);
	k->len = strlen(text);
	text[k->len++] = '\n';   /* replaces the NUL */
	k->buf = text;
	k->off = 0;
	k->answering = true;
	if (epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &e)) {
		drop(c, k);
		return;
	}
	send_some(c, k);
}

static void answer_error(struct control *c, struct client *k, const char *code, const char *msg)
{
	json_t *o = json_pack("{s:s, s:s}", "error", msg, "code", code);

	answer(c, k, o);
	json_decref(o);
}

static void accept_one(struct control *c)
{
	struct epoll_event e = { .events = EPOLLIN };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct client *k = NULL;
	int fd;

	for (int i = 0; i < MAX_CLIENTS && !k; i++)
		if (c->cl[i].fd < 0)
			k = &c->cl[i];
	if (!k)
		return;    /* left in the backlog */
	fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		close(fd);
		return;
	}
	k->fd = fd;
	k->pid = cred.pid;
	k->since_ns = mono_ns();
	/* 0: answered "not in session" once its request is read (closing
	 * with the request unread would reset the connection instead) */
	k->session = c->ops.session_of(c->ops.ctx, cred.pid);
	e.data.fd = fd;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &e))
		drop(c, k);
	listen_while_free(c);
}

static void read_client(struct control *c, struct client *k)
{
	char chunk[16384];
	ssize_t n;
	char *nl;
	json_t *req, *resp;
	json_error_t jerr;

	while ((n = read(k->fd, chunk, sizeof(chunk))) > 0) {
		char *nb;

		if (k->len + (size_t)n > CONTROL_MAX_REQUEST) {
			answer_error(c, k, "too_large", "request larger than 1 MiB");
			return;
		}
		nb = realloc(k->buf, k->len + (size_t)n + 1);
		if (!nb) {
			answer_error(c, k, "internal", "out of memory");
			return;
		}
		k->buf = nb;
		memcpy(k->buf + k->len, chunk, (size_t)n);
		k->len += (size_t)n;
		k->buf[k->len] = '\0';
		if (memchr(chunk, '\n', (size_t)n))
			break;
	}
	nl = k->buf ? memchr(k->buf, '\n', k->len) : NULL;
	if (!nl) {
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			drop(c, k);   /* closed before a whole request */
		return;
	}
	/* the pid was looked up at accept: it must still be the same process
	 * in the same session (not a reused pid) when its labels are read */
	if (!k->session || c->ops.session_of(c->ops.ctx, k->pid) != k->session) {
		answer_error(c, k, "not_in_session",
			     "this process is not in a session this agenttrail records");
		return;
	}
	req = json_loadb(k->buf, (size_t)(nl - k->buf), 0, &jerr);
	if (!json_is_object(req)) {
		json_decref(req);
		answer_error(c, k, "bad_request", "a request is one JSON object on one line");
		return;
	}
	resp = c->ops.handle(c->ops.ctx, k->pid, k->session, req);
	json_decref(req);
	answer(c, k, resp);
	json_decref(resp);
}

void control_service(struct control *c)
{
	struct epoll_event ev[16];
	uint64_t now;
	int n = epoll_wait(c->ep, ev, 16, 0);

	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == c->lfd) {
			for (int k = 0; k < MAX_CLIENTS; k++)
				accept_one(c);
			continue;
		}
		for (int k = 0; k < MAX_CLIENTS; k++) {
			struct client *cl = &c->cl[k];

			if (cl->fd != ev[i].data.fd)
				continue;
			if (cl->answering)
				send_some(c, cl);
			else
				read_client(c, cl);
			break;
		}
	}
	now = mono_ns();   /* after the accepts: their since_ns is not later */
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (c->cl[k].fd >= 0 && now - c->cl[k].since_ns > CLIENT_TIMEOUT_NS)
			drop(c, &c->cl[k]);
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (c->cl[k].fd >= 0)
			drop(c, &c->cl[k]);
	if (c->lfd >= 0) {
		close(c->lfd);
		unlink(c->path);
	}
	if (c->ep >= 0)
		close(c->ep);
	free(c);
}
