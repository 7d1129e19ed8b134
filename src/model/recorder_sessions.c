/*
 * Sessions: what a recording is made of. Each starts one of three ways
 * (the command run in its own cgroup, a process attached with --pid, a
 * --comm name watched for, whose sessions the kernel starts at exec),
 * opens with a session_start record and ends with session_end once its
 * process tree is gone and its sockets have had their grace to close.
 *
 * The recording itself (the loader, the sinks, the payload capture, the
 * signals, the loop and the summary) is recorder.c's; it asks this file to
 * start the sessions, to reap the command, to look at the sessions every
 * 100 ms, and to end those still open when the recording stops.
 */
#include "model/recorder_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agenttrail/events.h"
#include "capture/cgroup.h"
#include "capture/loader.h"
#include "capture/proctree.h"
#include "guard/control.h"
#include "model/correlate.h"
#include "model/event_json.h"
#include "model/flows.h"
#include "model/pidset.h"

struct session *rec_find_session(struct recorder *r, uint64_t id)
{
	for (size_t i = 0; i < r->nsessions; i++)
		if (r->sessions[i].id == id)
			return &r->sessions[i];
	return NULL;
}

struct session *rec_add_session(struct recorder *r, uint64_t id, pid_t root, const char *mode)
{
	struct session *s;

	if (r->nsessions == MAX_SESSIONS)
		return NULL;
	s = &r->sessions[r->nsessions++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->root = root;
	s->mode = mode;
	s->exit_code = -1;
	s->started_ns = rec_now_ns(CLOCK_REALTIME);
	return s;
}

static void emit_session_end_record(struct recorder *r, struct session *s);

void rec_session_start(struct recorder *r, struct session *s, char **argv, const char *cwd)
{
	json_t *ev = json_object();
	json_t *args = json_array();
	struct utsname u;
	char hostbuf[256] = "";

	if (uname(&u) == 0)
		snprintf(hostbuf, sizeof(hostbuf), "%s", u.nodename);
	for (size_t i = 0; argv && argv[i]; i++)
		json_array_append_new(args, json_bytes_string(argv[i], strlen(argv[i])));
	json_object_set_new(ev, "type", json_string("session_start"));
	json_object_set_new(ev, "ts_ns", json_integer((json_int_t)s->started_ns));
	json_object_set_new(ev, "session", json_integer((json_int_t)s->id));
	json_object_set_new(ev, "pid", json_integer(s->root));
	json_object_set_new(ev, "root_pid", json_integer(s->root));
	json_object_set_new(ev, "argv", args);
	rec_redact_argv(r, ev);
	json_object_set_new(ev, "mode", json_string(s->mode));
	json_object_set_new(ev, "cgroup", r->have_cgroup && strcmp(s->mode, "command") == 0
						  ? json_string(r->cgroup) : json_null());
	json_object_set_new(ev, "cwd", cwd ? json_bytes_string(cwd, strlen(cwd)) : json_null());
	json_object_set_new(ev, "host", json_string(hostbuf));
	rec_emit(r, ev);
	json_decref(ev);
}

const char *const rec_loss_names[AT_LOSS__MAX - AT_EV__MAX] = {
	"track_map_full", "sock_map_full", "dns_map_full", "data_cap",
};

void rec_session_end(struct recorder *r, struct session *s)
{
	if (r->corr)
		rec_write_findings(r, correlate_session_end(r->corr, s->id));
	emit_session_end_record(r, s);
}

static void emit_session_end_record(struct recorder *r, struct session *s)
{
	uint64_t drops[AT_LOSS__MAX] = { 0 };
	json_t *ev = json_object();
	json_t *d = json_object();
	uint64_t lost = 0;

	if (loader_read_drops(&r->ld, drops) == 0) {
		for (unsigned k = 1; k < AT_LOSS__MAX; k++) {
			const char *name = k < AT_EV__MAX ? event_kind_name(k) : rec_loss_names[k - AT_EV__MAX];

			json_object_set_new(d, name, json_integer((json_int_t)drops[k]));
			lost += drops[k];
		}
	}
	json_object_set_new(ev, "type", json_string("session_end"));
	json_object_set_new(ev, "ts_ns", json_integer((json_int_t)rec_now_ns(CLOCK_REALTIME)));
	json_object_set_new(ev, "session", json_integer((json_int_t)s->id));
	json_object_set_new(ev, "pid", json_integer(s->root));
	json_object_set_new(ev, "exit_code", s->exit_code >= 0 && !s->exit_signal
					     ? json_integer(s->exit_code) : json_null());
	json_object_set_new(ev, "exit_signal", json_integer(s->exit_signal));
	json_object_set_new(ev, "events", json_integer((json_int_t)s->events));
	json_object_set_new(ev, "drops", d);
	json_object_set_new(ev, "lost_total", json_integer((json_int_t)lost));
	json_object_set_new(ev, "malformed", json_integer((json_int_t)r->malformed));
	json_object_set_new(ev, "sockets_open_at_end", json_integer(s->open_sockets));
	json_object_set_new(ev, "root_running", json_boolean(s->root_running));
	rec_emit(r, ev);
	json_decref(ev);
	s->ended = true;
}

/* ---- starting the recorded command --------------------------------------- */

/*
 * The command's environment: ours, with AGENTTRAIL_SESSION and (with a
 * control socket) AGENTTRAIL_SOCKET set. Built before the fork: the store's
 * writer is a thread, and the child of a multithreaded process should not
 * allocate (setenv does). The strings are the caller's buffers.
 */
static char **command_env(char *sess_var, char *sock_var)
{
	extern char **environ;
	size_t n = 0, o = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(environ[i], "AGENTTRAIL_SESSION=", 19) ||
		    (sock_var && !strncmp(environ[i], "AGENTTRAIL_SOCKET=", 18)))
			continue;
		env[o++] = environ[i];
	}
	env[o++] = sess_var;
	if (sock_var)
		env[o++] = sock_var;
	env[o] = NULL;
	return env;
}

/* The command's seccomp filter for unlink and rename: its notification fd,
 * sent by the child before it execs, and the thread that answers it. */
static void start_snotify(struct recorder *r, int sn[2])
{
	char err[300];
	int listener;

	close(sn[1]);
	if (snotify_receive(sn[0], &listener))
		fprintf(stderr, "agenttrail: no seccomp filter for the command (%s): unlink and "
			"rename rules are only observed\n", strerror(errno));
	else if (snotify_start(&r->sn, &r->fan, listener, err, sizeof(err)))
		fprintf(stderr, "agenttrail: seccomp: %s: unlink and rename rules are only "
			"observed\n", err);
	else
		r->snotifying = true;
	close(sn[0]);
}

static pid_t spawn_child(struct recorder *r, char **argv, uint64_t session, int *exec_errno)
{
	int go[2], errp[2], sn[2] = { -1, -1 };
	char sess_var[64], sock_var[PATH_MAX + 32];
	char **env;
	ssize_t n;
	pid_t pid;
	char c = 'g';
	int e = 0;

	*exec_errno = 0;
	snprintf(sess_var, sizeof(sess_var), "AGENTTRAIL_SESSION=%llu", (unsigned long long)session);
	if (r->ctl && snprintf(sock_var, sizeof(sock_var), "AGENTTRAIL_SOCKET=%s",
			       control_path(r->ctl)) >= (int)sizeof(sock_var))
		return -1;
	env = command_env(sess_var, r->ctl ? sock_var : NULL);
	if (!env)
		return -1;
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		free(env);
		return -1;
	}
	if (r->sn_wanted && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sn)) {
		fprintf(stderr, "agenttrail: no seccomp filter for the command (socketpair: %s): "
			"unlink and rename rules are only observed\n", strerror(errno));
		sn[0] = sn[1] = -1;
	}
	pid = fork();
	if (pid < 0) {
		free(env);
		if (sn[0] >= 0) {
			close(sn[0]);
			close(sn[1]);
		}
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);   /* ignored in agenttrail only */
		/* With the JSONL stream on stdout, the command's own output goes
		 * to stderr so that the stream stays parseable. */
		if (r->o->jsonl && !strcmp(r->o->jsonl, "-") && dup2(2, 1) < 0)
			_exit(126);
		close(go[1]);
		close(errp[0]);
		/* Wait until the parent tracked us and moved us into the cgroup. */
		while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			_exit(126);
		if (sn[1] >= 0) {
			close(sn[0]);
			snotify_child(sn[1]);
		}
		execvpe(argv[0], argv, env);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	free(env);
	close(go[0]);
	close(errp[1]);
	if (loader_track(&r->ld, pid, session))
		fprintf(stderr, "agenttrail: cannot track pid %d: %s\n", pid, strerror(errno));
	if (r->have_cgroup && cgroup_move(r->cgroup, pid))
		fprintf(stderr, "agenttrail: cannot move pid %d into %s: %s (tracking by lineage only)\n",
			pid, r->cgroup, strerror(errno));
	pidset_put(&r->live, (uint32_t)pid, session);
	if (write(go[1], &c, 1) != 1)
		fprintf(stderr, "agenttrail: cannot start the command: %s\n", strerror(errno));
	close(go[1]);
	if (sn[0] >= 0)
		start_snotify(r, sn);
	while ((n = read(errp[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(errp[0]);
	if (n == (ssize_t)sizeof(e))
		*exec_errno = e;
	return pid;
}

/* ---- session end detection ----------------------------------------------- */

static bool process_alive(struct recorder *r, pid_t pid)
{
	if (kill(pid, 0) && errno == ESRCH)
		return false;
	/* A zombie still answers kill(); the kernel map is dropped at exit. */
	return loader_is_tracked(&r->ld, pid) != 0;
}

/* Is the session's tree gone? Daemons (processes that left our terminal
 * session with setsid) do not hold it open unless --follow. */
static bool tree_gone(struct recorder *r, struct session *s)
{
	size_t it = 0;
	uint32_t pid;
	uint64_t sid;
	bool any = false;

	while (pidset_next(&r->live, &it, &pid, &sid)) {
		if (sid != s->id)
			continue;
		if (!process_alive(r, (pid_t)pid)) {
			pidset_del(&r->live, pid);
			continue;
		}
		if (!r->o->follow && strcmp(s->mode, "command") == 0 && s->root_gone &&
		    getsid((pid_t)pid) != r->my_sid)
			continue;   /* a daemon */
		any = true;
	}
	return !any;
}

void rec_reap_child(struct recorder *r)
{
	int status;
	pid_t p;

	while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
		struct session *s = r->nsessions ? &r->sessions[0] : NULL;

		if (p != r->child || !s)
			continue;
		s->root_gone = true;
		if (WIFEXITED(status)) {
			s->exit_code = WEXITSTATUS(status);
			s->exit_signal = 0;
		} else if (WIFSIGNALED(status)) {
			s->exit_code = -1;
			s->exit_signal = WTERMSIG(status);
		}
	}
}

/* ---- starting the sessions, and seeing them end -------------------------- */

int rec_start_sessions(struct recorder *r, uint64_t run_id)
{
	const struct rec_opts *o = r->o;
	char cwd[PATH_MAX];
	struct session *s;
	int exec_errno;

	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	if (o->argv) {
		if (!o->no_cgroup) {
			if (cgroup_session_create(run_id, r->cgroup, sizeof(r->cgroup)) == 0 &&
			    cgroup_id_of(r->cgroup, &r->cgroup_id) == 0 &&
			    loader_add_session_cgroup(&r->ld, r->cgroup_id, run_id) == 0) {
				r->have_cgroup = true;
				/* ours until the end: nameable whenever its execs are read */
				(void)loader_cgroup_known(&r->ld, r->cgroup_id);
			} else
				fprintf(stderr, "agenttrail: no session cgroup (%s); tracking by lineage only\n",
					strerror(errno));
		}
		s = rec_add_session(r, run_id, 0, "command");
		r->child = spawn_child(r, o->argv, run_id, &exec_errno);
		if (r->child < 0) {
			fprintf(stderr, "agenttrail: cannot start %s: %s\n", o->argv[0], strerror(errno));
			return -1;
		}
		s->root = r->child;
		rec_session_start(r, s, o->argv, cwd);
		if (exec_errno) {
			fprintf(stderr, "agenttrail: cannot run %s: %s\n", o->argv[0], strerror(exec_errno));
			s->exit_code = 127;
		}
		return 0;
	}
	if (o->attach_pid > 0) {
		if (kill(o->attach_pid, 0) && errno == ESRCH) {
			fprintf(stderr, "agenttrail: no process %d\n", (int)o->attach_pid);
			return -1;
		}
		s = rec_add_session(r, run_id, o->attach_pid, "pid");
		if (proctree_track(&r->ld, &r->live, o->attach_pid, run_id) < 0) {
			fprintf(stderr, "agenttrail: cannot attach to %d: %s\n", (int)o->attach_pid,
				strerror(errno));
			return -1;
		}
		rec_session_start(r, s, NULL, cwd);
		return 0;
	}
	for (size_t i = 0; i < o->ncomms; i++) {
		if (loader_watch_comm(&r->ld, o->comms[i])) {
			fprintf(stderr, "agenttrail: cannot watch %s: %s\n", o->comms[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* After the tree is gone, TCP closes may still be in flight (the peer's
 * FIN, TIME_WAIT): wait this long for their byte totals. */
#define SOCKET_GRACE_NS (1000ULL * 1000000ULL)

/* Close a session: its last events, then session_end. */
static void end_session(struct recorder *r, struct session *s)
{
	rec_drain_all(r);
	if (r->flows)
		flows_session_end(r->flows, s->id);
	s->open_sockets = loader_session_sockets(&r->ld, s->id, true);
	rec_session_end(r, s);
}

/* --comm sessions come and go for as long as the recorder runs: forget
 * ended ones so the table stays small. */
static void forget_session(struct recorder *r, size_t i)
{
	r->sessions[i] = r->sessions[--r->nsessions];
}

/* Returns true when recording should stop. */
bool rec_check_sessions(struct recorder *r)
{
	bool all_ended = r->nsessions > 0;
	uint64_t now = rec_now_ns(CLOCK_MONOTONIC);

	for (size_t i = r->nsessions; i-- > 0;) {
		struct session *s = &r->sessions[i];

		if (s->ended)
			continue;
		if (strcmp(s->mode, "command") == 0 && !s->root_gone) {
			all_ended = false;
			continue;
		}
		if (!tree_gone(r, s)) {
			s->gone_ns = 0;
			all_ended = false;
			continue;
		}
		if (!s->gone_ns)
			s->gone_ns = now;
		if (now - s->gone_ns < SOCKET_GRACE_NS &&
		    loader_session_sockets(&r->ld, s->id, false) > 0) {
			all_ended = false;
			continue;
		}
		end_session(r, s);
		if (!strcmp(s->mode, "comm"))
			forget_session(r, i);
	}
	/* --comm keeps watching for new sessions until stopped */
	return all_ended && r->o->ncomms == 0;
}
