/*
 * The recording loop.
 *
 * One thread: an epoll over the ring buffer and a signalfd. Each kernel
 * record becomes one event that goes to the store and the JSONL stream
 * (recorder_events.c). Sessions end when their process tree is gone
 * (recorder_sessions.c); SIGINT/SIGTERM end the recording after draining
 * what the kernel already produced, so nothing recorded up to the signal
 * is lost.
 */
#include "model/recorder.h"
#include "model/recorder_int.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agenttrail/events.h"
#include "capture/cgroup.h"
#include "capture/loader.h"
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

#define STOP_GRACE_NS (2ULL * 1000000000ULL)

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
		fprintf(stderr, "%-16s %8s %10llu\n", rec_loss_names[k - AT_EV__MAX], "",
			(unsigned long long)drops[k]);
	if (r->malformed)
		fprintf(stderr, "malformed records: %llu\n", (unsigned long long)r->malformed);
	fprintf(stderr, "file events written straight to text: %llu\n",
		(unsigned long long)r->as_text);
	fprintf(stderr, "failed opens folded into the open that ended their search: %llu\n",
		(unsigned long long)r->folded);
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
		uint64_t ns, runs;

		loader_prog_time(&r->ld, &ns, &runs);
		if (runs)
			fprintf(stderr, "agenttrail BPF: %llu program runs, %.6f s"
					" (counted while kernel.bpf_stats_enabled is 1)\n",
				(unsigned long long)runs, (double)ns / 1e9);
		else
			fprintf(stderr, "agenttrail BPF: not counted (sysctl"
					" kernel.bpf_stats_enabled=1 counts it)\n");
	}
	{
		double u, s;

		own_cpu(&u, &s);
		fprintf(stderr, "agenttrail CPU when the recording ended: user %.6f s, system %.6f s"
				" (then: storing what was left, closing)\n", r->end_cpu[0], r->end_cpu[1]);
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
				rec_reap_child(r);
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
			if (rec_check_sessions(r))
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
	/* what it took while the sessions ran; the rest is storing and closing */
	own_cpu(&r->end_cpu[0], &r->end_cpu[1]);
	rec_drain_all(r);
	rec_take_fan_violations(r);
	rec_reap_child(r);
	/* what is still open on the connections is recorded before the end */
	flows_free(r->flows);
	r->flows = NULL;
	for (size_t i = 0; i < r->nsessions; i++) {
		struct session *s = &r->sessions[i];

		if (s->ended)
			continue;
		s->root_running = !s->root_gone;
		s->open_sockets = loader_session_sockets(&r->ld, s->id, true);
		rec_session_end(r, s);
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
	searches_init(&r->search);
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
	if (rec_start_sessions(r, run_id)) {
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
	searches_free(&r->search);
	free(r->sessions);
	free(r);
	return status;
}
