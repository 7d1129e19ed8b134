/*
 * From the ring buffer to the sinks: each kernel record decoded (to an
 * object, or for plain file events straight to text), annotated with its
 * tool call, checked by the detectors and written to the store and the
 * JSONL stream. A search's failed opens are held and folded into the open
 * that ends it (model/search.h). The recording's lifecycle (the loop, the
 * end) is recorder.c's; the command and the sessions are
 * recorder_sessions.c's.
 */
#include "model/recorder_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agenttrail/events.h"
#include "decode/redact.h"
#include "guard/fan.h"
#include "guard/guard.h"
#include "model/correlate.h"
#include "model/event_json.h"
#include "model/flows.h"
#include "model/pidset.h"
#include "sinks/jsonl.h"
#include "sinks/store.h"

/* Records handled per ring_buffer__consume() call: a steady flood must not
 * keep the loop from signals, flushing and session bookkeeping. */
#define CONSUME_BUDGET 8192
#define BUDGET_SPENT (-EAGAIN)

/* The store failed (full disk, I/O error): say so once, with where the
 * events go from now on, and stop writing to it. */
void rec_store_gave_up(struct recorder *r)
{
	if (r->store_failed)
		return;
	r->store_failed = true;
	fprintf(stderr, "agenttrail: %s\n", store_last_error(r->store));
	if (r->use_jsonl)
		fprintf(stderr, "agenttrail: events from now on go only to %s\n",
			strcmp(r->o->jsonl, "-") ? r->o->jsonl : "standard output");
	else
		fprintf(stderr, "agenttrail: events from now on are not kept (no --jsonl); "
				"the recorded command keeps running\n");
}

/* The event's number in the recording: set before anything reads it. */
static void stamp_eid(struct recorder *r, json_t *ev)
{
	json_object_set_new_nocheck(ev, "eid", json_integer((json_int_t)++r->next_eid));
}

/* A sink's answer to one event: a failing sink is reported once and the
 * others keep going (losing the JSONL stream must not lose the store). */
void rec_store_said(struct recorder *r, int rc)
{
	if (!rc)
		return;
	if (store_usable(r->store))   /* this event only */
		fprintf(stderr, "agenttrail: %s\n", store_last_error(r->store));
	else
		rec_store_gave_up(r);
}

static void jsonl_said(struct recorder *r, int rc)
{
	if (!rc)
		return;
	if (r->jl.failed == 1) {
		fprintf(stderr, "agenttrail: %s\n", r->jl.err);
		r->jl.failed = 2;  /* reported */
	} else if (!r->jl.failed) {
		fprintf(stderr, "agenttrail: %s\n", r->jl.err);
	}
}

/* Send one stamped event to every sink. */
static void write_event(struct recorder *r, json_t *ev)
{
	if (r->store && !r->store_failed)
		rec_store_said(r, store_put(r->store, ev));
	if (r->use_jsonl)
		jsonl_said(r, jsonl_write(&r->jl, ev));
	r->total++;
}

/* The same for a file event written as text (r->text). */
static void write_text(struct recorder *r, const struct at_hdr *h, const struct ev_file *v)
{
	const struct store_head head = {
		.type = v->type, .ts_ns = v->ts_ns, .session = v->session, .pid = h->pid,
		.tid = h->tid, .ppid = h->ppid, .start_ns = v->start_ns, .uid = h->uid,
		.comm = v->comm,
	};

	if (r->store && !r->store_failed)
		rec_store_said(r, store_put_text(r->store, &head, r->text.p, r->text.len));
	if (r->use_jsonl)
		jsonl_said(r, jsonl_write_text(&r->jl, r->text.p, r->text.len));
	r->total++;
}

void rec_write_findings(struct recorder *r, json_t *findings)
{
	size_t i;
	json_t *f;

	json_array_foreach(findings, i, f) {
		stamp_eid(r, f);
		write_event(r, f);
		r->findings++;
		if (!r->o->quiet)
			fprintf(stderr, "agenttrail: finding [%s] %s: %s\n",
				json_string_value(json_object_get(f, "severity")),
				json_string_value(json_object_get(f, "kind")),
				json_string_value(json_object_get(f, "explanation")));
	}
	json_decref(findings);
}

/* An event, annotated with the tool call it belongs to, then what the
 * detectors found in it. */
void rec_emit(struct recorder *r, json_t *ev)
{
	json_t *findings;

	stamp_eid(r, ev);
	findings = r->corr ? correlate(r->corr, ev) : NULL;
	write_event(r, ev);
	if (findings)
		rec_write_findings(r, findings);
}

/*
 * Command lines carry credentials too (curl -H "x-api-key: ...", tokens in
 * flags): with redaction on, each argv string goes through the same
 * redaction as captured traffic, so the same secret gets the same tag.
 */
void rec_redact_argv(struct recorder *r, json_t *ev)
{
	json_t *argv = json_object_get(ev, "argv"), *a;
	size_t i;

	if (!r->redact || !json_is_array(argv))
		return;
	json_array_foreach(argv, i, a) {
		const char *s = json_string_value(a);
		uint8_t *out = NULL;
		size_t n = 0, count = 0;

		if (!s || redact_bytes(r->redact, (const uint8_t *)s, json_string_length(a), &out,
				       &n, &count) != 0)
			continue;
		if (count)
			json_array_set_new(argv, i, json_bytes_string((const char *)out, n));
		free(out);
	}
}

/* Keep the live-process set in step with the event stream. */
static void track_liveness(struct recorder *r, const struct at_hdr *h, struct session *s)
{
	switch (h->kind) {
	case AT_EV_FORK:
		if (!(h->flags & AT_F_THREAD))
			pidset_put(&r->live, h->pid, h->session);
		break;
	case AT_EV_EXEC:
		pidset_put(&r->live, h->pid, h->session);
		break;
	case AT_EV_EXIT:
		pidset_del(&r->live, h->pid);
		if (s && h->pid == (uint32_t)s->root && strcmp(s->mode, "command") != 0) {
			const struct at_exit *x = (const struct at_exit *)h;

			s->root_gone = true;
			s->exit_code = x->signal ? -1 : x->code;
			s->exit_signal = x->signal;
		}
		break;
	default:
		break;
	}
}

static int handle_record(struct recorder *r, void *data, size_t size);

/* libbpf advances past a record whose callback returns an error, so
 * returning BUDGET_SPENT after handling it ends the call without loss. */
int rec_on_record(void *ctx, void *data, size_t size)
{
	struct recorder *r = ctx;

	handle_record(r, data, size);
	if (r->drain_cutoff_ns && size >= sizeof(struct at_hdr) &&
	    ((const struct at_hdr *)data)->ts_ns > r->drain_cutoff_ns)
		r->past_cutoff = true;
	return ++r->batch >= CONSUME_BUDGET ? BUDGET_SPENT : 0;
}

/* Consume what is ready, at most one budget. Returns true if more may be
 * waiting. */
bool rec_drain_some(struct recorder *r)
{
	int n;

	r->batch = 0;
	n = ring_buffer__consume(r->rb);
	/* a search cut by the end of what was ready is written as it was:
	 * nothing waits in here for a record that may come much later */
	rec_give_back_searches(r);
	if (n == BUDGET_SPENT)
		return true;
	if (n < 0 && n != -EINTR)
		fprintf(stderr, "agenttrail: ring buffer: %s\n", strerror(-n));
	return false;
}

/*
 * Consume everything the kernel produced up to now: until a consume call
 * finds the ring empty, or until a record made after this moment shows up
 * (producers that keep going cannot hold the drain forever, and what they
 * make after now comes after the stop anyway). The ring is ordered by
 * reservation, so every record from before now has been handled then.
 */
void rec_drain_all(struct recorder *r)
{
	rec_drain_until(r, 0);
}

bool rec_drain_until(struct recorder *r, uint64_t budget_ns)
{
	uint64_t start = rec_now_ns(CLOCK_MONOTONIC);
	bool more;

	r->drain_cutoff_ns = start;
	r->past_cutoff = false;
	while ((more = rec_drain_some(r)) && !r->past_cutoff)
		if (budget_ns && rec_now_ns(CLOCK_MONOTONIC) - start > budget_ns)
			break;
	r->drain_cutoff_ns = 0;
	return more && !r->past_cutoff;
}

/*
 * An exec: its program to look at for TLS (under the kernel's names for
 * it), and its cgroup, once named, told to the kernel; both spare later
 * execs a forced wakeup (bpf/proc.bpf.c, exec_wake()).
 */
static void follow_exec(struct recorder *r, const struct at_exec *e, json_t *ev)
{
	struct tls_kname kn = { .dev = e->exe_dev, .ino = e->exe_ino };

	tls_mgr_consider_file(&r->tls, json_string_value(json_object_get(ev, "exe")),
			      e->exe_ino ? &kn : NULL);
	if (json_is_string(json_object_get(ev, "cgroup")) && e->cgroup_id != r->cgroup_told &&
	    loader_cgroup_known(&r->ld, e->cgroup_id) == 0)
		r->cgroup_told = e->cgroup_id;
}

/* What the traffic capture learns from ordinary events: new executables
 * to look at for TLS, sockets and processes whose connections ended. */
static void follow_payload(struct recorder *r, const struct at_hdr *h, size_t size, json_t *ev)
{
	if (h->kind == AT_EV_EXEC && size >= sizeof(struct at_exec))
		follow_exec(r, (const struct at_exec *)h, ev);
	if (!r->flows)
		return;
	if (h->kind == AT_EV_SOCK_CLOSE && size >= sizeof(struct at_net))
		flows_sock_closed(r->flows, ((const struct at_net *)h)->sock, h->ts_ns);
	else if (h->kind == AT_EV_EXIT)
		flows_proc_exit(r->flows, h->pid);
}

/*
 * File events, the commonest kind by far (a build's compilers, an agent's
 * test runs), are written straight from the record to their text, with
 * what the detectors need given as C values and the tool call they belong
 * to appended as text; the object, and its cost (about three times the
 * text's), only for the rest. The guard's fanotify backend reads objects:
 * with it, file events keep theirs.
 */
static bool file_as_text(const struct recorder *r, const struct at_hdr *h)
{
	return event_is_file(h->kind) && !r->fanning;
}

/* annot's members at the end of the event's text, before its closing
 * brace; -1 (out of memory) with the text as it was. */
static int append_members(struct jbuf *text, const struct jbuf *annot)
{
	if (!annot->len)
		return 0;
	if (jbuf_reserve(text, annot->len + 1) != 0)
		return -1;
	text->len--;   /* the '}' event_file_text() ended with */
	/* neither can fail: the room is reserved */
	(void)jbuf_add(text, annot->p, annot->len);
	(void)jbuf_add(text, "}", 1);
	return 0;
}

/* A file event, written as text; with run, the open that ended run's
 * search, the run's misses folded into it (model/search.h). */
static int handle_file_text(struct recorder *r, const struct at_hdr *h, const void *data,
			    size_t size, struct session *s, struct search_run *run)
{
	struct ev_file v;
	json_t *findings;
	bool lost = false;
	char err[128];

	if (event_file_text(&r->ev, data, size, (int64_t)(r->next_eid + 1), &r->text, &r->strs,
			    &v, err, sizeof(err)) != 0) {
		r->malformed++;
		if (r->o->verbose)
			fprintf(stderr, "agenttrail: %s\n", err);
		return 0;
	}
	r->next_eid++;
	r->as_text++;
	r->counts[h->kind]++;
	if (s)
		s->events++;
	track_liveness(r, h, s);
	findings = r->corr ? correlate_file(r->corr, &v, &r->annot, &lost) : NULL;
	if (lost || (r->corr && append_members(&r->text, &r->annot) != 0))
		fprintf(stderr, "agenttrail: out of memory; event %lld is written without"
			" its tool call\n", (long long)v.eid);
	if (run && search_append_searched(run, &r->text) == 0) {
		r->counts[h->kind] += run->n;
		r->folded += run->n;
		search_clear(&r->search, run);
	} else if (run) {
		fprintf(stderr, "agenttrail: out of memory; the failed opens that led to event"
			" %lld are written after it\n", (long long)v.eid);
	}
	write_text(r, h, &v);
	if (findings)
		rec_write_findings(r, findings);
	return 0;
}

/* A run of failed opens that did not end in the open they searched for:
 * written as the events they were. */
static void give_back(struct recorder *r, struct search_run *run)
{
	const void *rec;
	size_t off = 0, size;

	while (search_next(run, &off, &rec, &size))
		handle_file_text(r, rec, rec, size,
				 rec_find_session(r, ((const struct at_hdr *)rec)->session), NULL);
	search_clear(&r->search, run);
}

void rec_give_back_searches(struct recorder *r)
{
	struct search_run *oldest;

	while ((oldest = search_oldest(&r->search)))
		give_back(r, oldest);
}

/* Keep a failed open back, to fold it into the open its search ends in;
 * false when it is to be written now. */
static bool hold_miss(struct recorder *r, const void *data, size_t size)
{
	struct search_run *out;

	for (;;) {
		switch (search_hold(&r->search, data, size, &out)) {
		case SEARCH_HELD:
			return true;
		case SEARCH_GIVE_BACK:
			give_back(r, out);   /* frees a slot or the thread's run */
			continue;
		default:
			return false;
		}
	}
}

/*
 * The run of failed opens the record's thread holds, if the record ends
 * its search (NULL otherwise). Another file event of the thread is left to
 * search_hold(), which keeps the run going or gives it back; anything else
 * the thread did comes after the run, which is written now.
 */
static struct search_run *search_ended_by(struct recorder *r, const struct at_hdr *h,
					  const void *data, size_t size)
{
	struct search_run *run = search_of(&r->search, h->tid);

	if (!run)
		return NULL;
	if (file_as_text(r, h))
		return search_ends(&r->search, run, data, size) ? run : NULL;
	give_back(r, run);
	return NULL;
}

static int handle_record(struct recorder *r, void *data, size_t size)
{
	const struct at_hdr *h = data;
	struct search_run *ended;
	struct session *s;
	char err[128];
	json_t *ev;

	if (size < sizeof(*h)) {
		r->malformed++;
		return 0;
	}
	ended = search_ended_by(r, h, data, size);
	s = rec_find_session(r, h->session);
	if (h->kind == AT_EV_SESSION) {
		if (!s) {
			s = rec_add_session(r, h->session, (pid_t)h->pid, "comm");
			if (s) {
				pidset_put(&r->live, h->pid, h->session);
				rec_session_start(r, s, NULL, NULL);
			}
		}
		return 0;
	}
	if (h->kind == AT_EV_DATA) {
		if (r->flows)
			flows_data(r->flows, data, size);
		r->counts[AT_EV_DATA]++;
		return 0;
	}
	if (h->kind == AT_EV_EXEC_MAP) {
		const struct at_exec_map *m = data;

		if (size >= sizeof(*m) + m->path_len && m->path_len && !m->data[m->path_len - 1]) {
			struct tls_kname kn = { .dev = m->dev, .ino = m->ino };

			tls_mgr_consider_file(&r->tls, m->data, &kn);
		}
		r->counts[AT_EV_EXEC_MAP]++;
		return 0;
	}
	if (h->kind == AT_EV_VIOLATION) {
		rec_on_violation(r, data, size);
		return 0;
	}
	/* names bound to addresses before anything else reads the answer */
	if (h->kind == AT_EV_DNS && r->guarding)
		guard_dns_record(&r->guard, data, size);
	/* DNS over TCP read in two calls: the 2-byte length prefix alone
	 * carries nothing; the message that follows is decoded by itself. */
	if (h->kind == AT_EV_DNS && (h->flags & AT_F_DNS_TCP) && size >= sizeof(struct at_dns) &&
	    ((const struct at_dns *)data)->len == 2)
		return 0;
	/* a program with uprobes being rewritten: off before it runs again */
	if (h->kind == AT_EV_OPEN && (h->flags & AT_F_EXE_WRITTEN) && size >= sizeof(struct at_file))
		tls_mgr_file_written(&r->tls, ((const struct at_file *)data)->dev,
				     ((const struct at_file *)data)->ino);
	if (file_as_text(r, h)) {
		if (!ended && hold_miss(r, data, size))
			return 0;
		return handle_file_text(r, h, data, size, s, ended);
	}
	ev = event_to_json(&r->ev, data, size, err, sizeof(err));
	if (!ev) {
		r->malformed++;
		if (r->o->verbose)
			fprintf(stderr, "agenttrail: %s\n", err);
		return 0;
	}
	if (h->kind < AT_EV__MAX)
		r->counts[h->kind]++;
	if (s)
		s->events++;
	if (h->kind != AT_EV_EXIT || size >= sizeof(struct at_exit))
		track_liveness(r, h, s);
	if (r->fanning && (h->kind == AT_EV_EXEC || h->kind == AT_EV_EXIT || h->kind == AT_EV_OPEN ||
			   h->kind == AT_EV_UNLINK || h->kind == AT_EV_RENAME || h->kind == AT_EV_MKDIR))
		fan_observe(&r->fan, ev);   /* before redaction: argv as the policy sees it */
	if (h->kind == AT_EV_EXEC)
		rec_redact_argv(r, ev);
	rec_emit(r, ev);
	follow_payload(r, h, size, ev);
	json_decref(ev);
	return 0;
}

