/*
 * The recording loop.
 *
 * One thread: an epoll over the ring buffer and a signalfd. Each kernel
 * record becomes one event that goes to the store and the JSONL stream
 * (recorder_events.c). Sessions end when their process tree is gone;
 * SIGINT/SIGTERM end the recording after draining what the kernel already
 * produced, so nothing recorded up to the signal is lost.
 */
#include "model/recorder.h"
#include "model/recorder_int.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agenttrail/events.h"
#include "capture/cgroup.h"
#include "capture/loader.h"
#include "capture/proctree.h"
#include "capture/tls.h"
#include "decode/redact.h"
#include "guard/control.h"
#include "guard/fan.h"
#include "guard/feedback.h"
#include "guard/guard.h"
#include "model/dnscache.h"
#include "model/correlate.h"
#include "model/event_json.h"
#include "model/flows.h"
#include "model/pidset.h"
#include "sinks/jsonl.h"
#include "sinks/store.h"

#define MAX_SESSIONS 4096
#define STOP_GRACE_NS (2ULL * 1000000000ULL)

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

static int skip_stream(void *ctx, const struct at_stream_key *k, uint64_t until)
{
	return loader_stream_skip(ctx, k, until);
}

static uint64_t stream_offset(void *ctx, const struct at_stream_key *k)
{
	return loader_stream_offset(ctx, k);
}

/* Records made from captured traffic (model/exchange.h). */
static void emit_derived(void *ctx, json_t *rec)
{
	struct recorder *r = ctx;
	const char *type = json_string_value(json_object_get(rec, "type"));
	struct session *s = rec_find_session(r, (uint64_t)json_integer_value(json_object_get(rec, "session")));

	if (type && !strcmp(type, "http"))
		r->derived[0]++;
	else if (type && !strcmp(type, "llm_call"))
		r->derived[1]++;
	else
		r->derived[2]++;
	if (s)
		s->events++;
	rec_emit(r, rec);
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

static const char *const loss_names[AT_LOSS__MAX - AT_EV__MAX] = {
	"track_map_full", "sock_map_full", "dns_map_full", "data_cap",
};

static void emit_session_end(struct recorder *r, struct session *s)
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
			const char *name = k < AT_EV__MAX ? event_kind_name(k) : loss_names[k - AT_EV__MAX];

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

static pid_t spawn_child(struct recorder *r, char **argv, uint64_t session, int *exec_errno)
{
	int go[2], errp[2];
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
	pid = fork();
	if (pid < 0) {
		free(env);
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

static void reap_child(struct recorder *r)
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

/* ---- setup and the loop -------------------------------------------------- */

static int setup_sinks(struct recorder *r)
{
	char err[512];

	if (!r->o->db || r->o->db[0]) {
		if (r->o->db)
			snprintf(r->dbpath, sizeof(r->dbpath), "%s", r->o->db);
		else if (at_default_db_path_r(r->dbpath, sizeof(r->dbpath))) {
			fprintf(stderr, "agenttrail: no default database path; use --db FILE\n");
			return -1;
		}
		if (store_open(r->dbpath, &r->store, err, sizeof(err))) {
			fprintf(stderr, "agenttrail: %s\n", err);
			return -1;
		}
	}
	if (r->o->jsonl) {
		if (jsonl_open(&r->jl, r->o->jsonl)) {
			fprintf(stderr, "agenttrail: %s\n", r->jl.err);
			return -1;
		}
		r->use_jsonl = true;
	}
	return 0;
}

/* Redaction (argv and traffic), and HTTP/LLM capture: the connection
 * table and the TLS uprobes. */
static int setup_payload(struct recorder *r)
{
	const struct rec_opts *o = r->o;
	struct flows_opts fo = { 0 };

	tls_mgr_init(&r->tls, &r->ld, !o->no_tls && !o->no_payload, o->verbose, o->quiet);
	if (!o->no_redact) {
		r->redact = redact_ctx_new_random();
		if (!r->redact) {
			fprintf(stderr, "agenttrail: cannot set up redaction: %s\n", strerror(errno));
			return -1;
		}
	}
	{
		struct corr_opts co = { .credentials = (const char *const *)o->credentials,
					.ncredentials = o->ncredentials,
					.next_id = &r->next_record_id };

		r->corr = correlator_new(&co);
		if (!r->corr) {
			fprintf(stderr, "agenttrail: out of memory\n");
			return -1;
		}
	}
	if (o->no_payload)
		return 0;
	fo.sink.emit = emit_derived;
	fo.sink.ctx = r;
	fo.sink.redact = r->redact;
	fo.sink.mono_to_wall_ns = r->ev.mono_to_wall_ns;
	fo.sink.next_id = &r->next_record_id;
	fo.max_body = o->max_body;
	fo.first_bytes = tls_mgr_first_bytes;
	fo.ctx = &r->tls;
	fo.skip = skip_stream;
	fo.offset = stream_offset;
	fo.skip_ctx = &r->ld;
	r->flows = flows_new(&fo, &r->ev);
	if (!r->flows) {
		fprintf(stderr, "agenttrail: out of memory\n");
		return -1;
	}
	tls_mgr_attach_system(&r->tls);
	if (o->attach_pid > 0)
		tls_mgr_consider_maps(&r->tls, o->attach_pid);
	return 0;
}

/* The recorder's own CPU time so far, all its threads (ended ones too),
 * none of its children's: microsecond figures, unlike /proc's ticks. */
static void own_cpu(double *user_s, double *sys_s)
{
	struct rusage ru;

	*user_s = *sys_s = 0;
	if (getrusage(RUSAGE_SELF, &ru))
		return;
	*user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* --ready-file: created once capture is live, holding the CPU time that
 * start-up took ("cpu_s USER SYSTEM"), so that a benchmark can tell it
 * from the CPU time of recording. Written beside and renamed into place:
 * whoever sees the file sees all of it. */
static void write_ready_file(const char *path)
{
	char tmp[PATH_MAX];
	double u, s;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "agenttrail: --ready-file %s: %s\n", path, strerror(ENAMETOOLONG));
		return;
	}
	f = fopen(tmp, "we");
	if (!f) {
		fprintf(stderr, "agenttrail: --ready-file %s: %s\n", tmp, strerror(errno));
		return;
	}
	own_cpu(&u, &s);
	fprintf(f, "cpu_s %.6f %.6f\n", u, s);
	if (fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "agenttrail: --ready-file %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
}

static void print_summary(struct recorder *r)
{
	uint64_t drops[AT_LOSS__MAX] = { 0 };
	uint64_t lost = 0;

	loader_read_drops(&r->ld, drops);
	for (unsigned k = 1; k < AT_LOSS__MAX; k++)
		lost += drops[k];
	if (r->o->quiet && !r->o->stats)
		return;
	fprintf(stderr, "agenttrail: %llu events recorded, %llu lost in the kernel%s%s%s\n",
		(unsigned long long)r->total, (unsigned long long)lost,
		r->dbpath[0] ? ", store " : "", r->dbpath,
		r->store_failed ? " (INCOMPLETE: writing it failed, see above)" : "");
	if (lost && !r->o->stats)
		fprintf(stderr, "agenttrail: events were lost; --stats shows which kinds; "
				"a larger --ringbuf-mb helps\n");
	if (r->derived[1] || r->findings)
		fprintf(stderr, "agenttrail: %llu LLM calls, %llu tool calls, %llu findings%s\n",
			(unsigned long long)r->derived[1], (unsigned long long)r->derived[2],
			(unsigned long long)r->findings,
			r->findings ? " (agenttrail report findings)" : "");
	if (!r->o->stats)
		return;
	fprintf(stderr, "%-12s %12s %10s\n", "kind", "recorded", "lost");
	for (unsigned k = 1; k < AT_EV__MAX; k++) {
		if (k == AT_EV_SESSION)
			continue;
		fprintf(stderr, "%-12s %12llu %10llu\n", event_kind_name(k),
			(unsigned long long)r->counts[k], (unsigned long long)drops[k]);
	}
	for (unsigned k = AT_EV__MAX; k < AT_LOSS__MAX; k++)
		fprintf(stderr, "%-16s %8s %10llu\n", loss_names[k - AT_EV__MAX], "",
			(unsigned long long)drops[k]);
	if (r->malformed)
		fprintf(stderr, "malformed records: %llu\n", (unsigned long long)r->malformed);
	fprintf(stderr, "file events written straight to text: %llu\n",
		(unsigned long long)r->as_text);
	{
		uint64_t at_once, later;

		if (loader_exec_wakes(&r->ld, &at_once, &later) == 0)
			fprintf(stderr, "exec records: %llu woke the reader at once, %llu did not"
					" (program and cgroup known already)\n",
				(unsigned long long)at_once, (unsigned long long)later);
	}
	if (r->ld.missing[0])
		fprintf(stderr, "tracepoints absent on this kernel: %s\n", r->ld.missing);
	{
		double u, s;

		own_cpu(&u, &s);
		fprintf(stderr, "agenttrail CPU: user %.6f s, system %.6f s\n", u, s);
	}
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	signal(SIGPIPE, SIG_IGN);
	return sigprocmask(SIG_BLOCK, set, NULL);
}

static int start_sessions(struct recorder *r, uint64_t run_id)
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
	emit_session_end(r, s);
}

/* --comm sessions come and go for as long as the recorder runs: forget
 * ended ones so the table stays small. */
static void forget_session(struct recorder *r, size_t i)
{
	r->sessions[i] = r->sessions[--r->nsessions];
}

/* Returns true when recording should stop. */
static bool check_sessions(struct recorder *r)
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

static int run_loop(struct recorder *r, int sigfd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN };
	uint64_t stop_at = 0, deadline = 0, last_flush = rec_now_ns(CLOCK_MONOTONIC);
	uint64_t last_check = 0;
	bool more = false;

	if (ep < 0)
		return -1;
	e.data.fd = ring_buffer__epoll_fd(r->rb);
	epoll_ctl(ep, EPOLL_CTL_ADD, e.data.fd, &e);
	e.data.fd = sigfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &e);
	if (r->fanning) {
		e.data.fd = fan_wake_fd(&r->fan);
		epoll_ctl(ep, EPOLL_CTL_ADD, e.data.fd, &e);
	}
	if (r->ctl) {
		e.data.fd = control_fd(r->ctl);
		epoll_ctl(ep, EPOLL_CTL_ADD, e.data.fd, &e);
	}
	if (r->o->duration_s > 0)
		deadline = rec_now_ns(CLOCK_MONOTONIC) + (uint64_t)(r->o->duration_s * 1e9);

	for (;;) {
		struct epoll_event out[4];
		struct signalfd_siginfo si;
		uint64_t now;

		int nready;

		/* what the last turn put goes to the store's writer before we
		 * wait: one hand-over per turn, not one per event */
		if (r->store && !r->store_failed)
			rec_store_said(r, store_push(r->store));
		nready = epoll_wait(ep, out, 4, more ? 0 : 100);

		more = rec_drain_some(r);
		for (int i = 0; r->fanning && i < nready; i++) {
			if (out[i].data.fd == fan_wake_fd(&r->fan)) {
				/* an exec decision waits for what happened before it */
				uint64_t req = fan_drain_begin(&r->fan);

				while (rec_drain_some(r))
					;
				fan_drained(&r->fan, req);
			}
		}
		rec_take_fan_violations(r);
		/* the agents' hooks; also times out clients that went quiet */
		if (r->ctl)
			control_service(r->ctl);
		while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD) {
				reap_child(r);
				continue;
			}
			if (si.ssi_signo == SIGHUP && r->guarding) {
				rec_reload_policy(r);
				continue;
			}
			if (stop_at) {
				stop_at = 1;   /* second signal: stop now */
				continue;
			}
			/* A signal sent to us alone (kill, systemd) goes on to the
			 * recorded command; a terminal's Ctrl-C reached it already. */
			if (r->child > 0 && si.ssi_code == SI_USER && si.ssi_pid != 0)
				kill(r->child, (int)si.ssi_signo);
			stop_at = rec_now_ns(CLOCK_MONOTONIC) + STOP_GRACE_NS;
			r->stop_signal = (int)si.ssi_signo;
			if (!r->o->quiet)
				fprintf(stderr, "agenttrail: %s, finishing (again to stop at once)\n",
					strsignal((int)si.ssi_signo));
		}
		now = rec_now_ns(CLOCK_MONOTONIC);
		/* liveness costs syscalls per process: look every 100 ms */
		if (now - last_check >= 100000000ULL) {
			last_check = now;
			if (r->flows)
				flows_tick(r->flows, now);
			if (check_sessions(r))
				break;
		}
		if (stop_at && (now >= stop_at || r->child <= 0 ||
				(r->nsessions && r->sessions[0].root_gone)))
			break;
		if (deadline && now >= deadline)
			break;
		/* the store's writer commits on its own clock (store.h); a
		 * flush here would wait for its backlog */
		if (now - last_flush > 200000000ULL) {
			if (r->use_jsonl)
				jsonl_flush(&r->jl);
			last_flush = now;
		}
	}
	close(ep);
	return 0;
}

static void finish(struct recorder *r)
{
	rec_drain_all(r);
	rec_take_fan_violations(r);
	reap_child(r);
	/* what is still open on the connections is recorded before the end */
	flows_free(r->flows);
	r->flows = NULL;
	for (size_t i = 0; i < r->nsessions; i++) {
		struct session *s = &r->sessions[i];

		if (s->ended)
			continue;
		s->root_running = !s->root_gone;
		s->open_sockets = loader_session_sockets(&r->ld, s->id, true);
		emit_session_end(r, s);
	}
	if (r->store) {
		if (!r->store_failed && store_flush(r->store))
			rec_store_gave_up(r);
		store_close(r->store);
		r->store = NULL;
	}
	if (r->use_jsonl && jsonl_close(&r->jl) && r->jl.failed == 1)
		fprintf(stderr, "agenttrail: %s\n", r->jl.err);
	print_summary(r);
	if (r->have_cgroup) {
		loader_del_session_cgroup(&r->ld, r->cgroup_id);
		if (cgroup_session_remove(r->cgroup) && r->o->verbose)
			fprintf(stderr, "agenttrail: %s kept: %s\n", r->cgroup, strerror(errno));
	}
}

int recorder_run(const struct rec_opts *o)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct loader_opts lo = { 0 };
	struct policy *pol = NULL;
	uint64_t run_id = rec_now_ns(CLOCK_REALTIME) / 1000;
	char err[512];
	sigset_t set;
	int sigfd = -1, status = 1;

	if (!r)
		return 1;
	r->o = o;
	r->my_sid = getsid(0);
	r->sessions = calloc(MAX_SESSIONS, sizeof(*r->sessions));
	if (!r->sessions || pidset_init(&r->live))
		goto out;
	if (block_signals(&set) || (sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "agenttrail: signals: %s\n", strerror(errno));
		goto out;
	}
	lo.ringbuf_bytes = o->ringbuf_bytes;
	lo.watch_comms = o->ncomms > 0;
	lo.comm_session_base = run_id + 1;
	lo.verbose = o->verbose;
	lo.no_payload = o->no_payload;
	lo.tls_follows_exec = !o->no_tls && !o->no_payload;   /* as tls_mgr_init() */
	lo.guard = o->policy != NULL;
	if (rec_guard_load(r, &pol)) {
		status = 2;
		goto out;
	}
	lo.guard_entry = pol && fan_needed(pol);
	if (loader_open(&r->ld, &lo, err, sizeof(err))) {
		fprintf(stderr, "agenttrail: %s\n", err);
		goto out;
	}
	if (pol) {
		struct policy *p = pol;

		pol = NULL;   /* owned by the guard from here on, even on failure */
		if (rec_guard_open(r, p))
			goto out_loader;
	}
	r->rb = ring_buffer__new(r->ld.events_fd, rec_on_record, r, NULL);
	if (!r->rb) {
		fprintf(stderr, "agenttrail: ring buffer: %s\n", strerror(errno));
		goto out_loader;
	}
	ev_ctx_init(&r->ev);
	r->ev.dns = dnscache_new(4096);
	r->ev.cg = cgroup_names_new();
	if (setup_sinks(r) || setup_payload(r) || rec_control_open(r)) {
		/* nothing recorded yet; the store's writer thread must end
		 * before the detached tear-down forks */
		store_close(r->store);
		r->store = NULL;
		if (r->use_jsonl)
			jsonl_close(&r->jl);
		goto out_rb;
	}
	if (start_sessions(r, run_id)) {
		finish(r);
		goto out_rb;
	}
	if (o->ready_file)
		write_ready_file(o->ready_file);
	if (!o->quiet && o->ncomms)
		fprintf(stderr, "agenttrail: watching for %s%s; Ctrl-C to stop\n", o->comms[0],
			o->ncomms > 1 ? " and others" : "");
	run_loop(r, sigfd);
	finish(r);
	status = 0;
	if (o->argv && r->nsessions) {
		struct session *s = &r->sessions[0];

		if (s->root_running)   /* stopped by a signal or --duration */
			status = r->stop_signal ? 128 + r->stop_signal : 124;
		else
			status = s->exit_signal ? 128 + s->exit_signal
						: (s->exit_code >= 0 ? s->exit_code : 0);
	}
out_rb:
	flows_free(r->flows);
	tls_mgr_close(&r->tls);
	redact_ctx_free(r->redact);
	correlator_free(r->corr);
	ring_buffer__free(r->rb);
	dnscache_free(r->ev.dns);
	cgroup_names_free(r->ev.cg);
out_loader:
	rec_guard_close(r);
	loader_close_deferred(&r->ld);
out:
	if (pol)
		policy_free(pol);
	if (sigfd >= 0)
		close(sigfd);
	pidset_free(&r->live);
	jbuf_free(&r->text);
	jbuf_free(&r->strs);
	jbuf_free(&r->annot);
	free(r->sessions);
	free(r);
	return status;
}
