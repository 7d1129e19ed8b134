/* SPDX-License-Identifier: MIT */
/* HTTP messages -> http, llm_call and tool_call records; see exchange.h. */
#include "model/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/llm.h"
#include "decode/sse.h"
#include "model/event_json.h"
#include "model/exchange_msg.h"

/* Exchanges in flight on one connection. HTTP/1 has a few (pipelining),
 * HTTP/2 as many as its open streams. */
#define MAX_SLOTS 1024
/* Arrival times kept per streamed response: one per SSE event. */
#define MAX_EVENT_TIMES (1u << 20)

/*
 * One exchange: its request and its response, each recorded when the
 * decoder reports it. They usually come in that order, but a response can
 * be reported first (its bytes raced ahead of the request's last record
 * from another thread, or bytes of the request were lost), so either half
 * may wait for the other.
 */
struct slot {
	uint64_t seq;
	/* request */
	bool have_req;
	json_t *req;
	uint8_t *req_body;         /* redacted */
	size_t req_body_len;
	char *path;                /* target without the query */
	enum llm_provider provider;
	uint64_t req_ts;           /* monotonic, first byte */
	/* response */
	bool have_resp;
	json_t *resp;
	uint8_t *resp_body;        /* redacted */
	size_t resp_body_len;
	int status;
	bool event_stream;
	bool resp_incomplete;
	uint64_t resp_ts_last;
	/* when each event of a streamed response arrived (wall-clock ns) */
	struct sse_parser *timing;
	uint64_t cur_ts;
	uint64_t *ev_ts;
	size_t nev, capev;
};

struct exchanges {
	const struct flow_info *fi;
	const struct exchange_sink *sink;
	struct slot *slots[MAX_SLOTS];
	size_t nslots;
	uint64_t count;
	uint64_t llm_count;
};

/* ---- slots -------------------------------------------------------------------- */

static void slot_free(struct slot *s)
{
	if (!s)
		return;
	json_decref(s->req);
	json_decref(s->resp);
	free(s->req_body);
	free(s->resp_body);
	free(s->path);
	sse_free(s->timing);
	free(s->ev_ts);
	free(s);
}

static struct slot *slot_find(struct exchanges *x, uint64_t seq, size_t *idx)
{
	for (size_t i = 0; i < x->nslots; i++)
		if (x->slots[i]->seq == seq) {
			*idx = i;
			return x->slots[i];
		}
	return NULL;
}

static void emit_slot(struct exchanges *x, struct slot *s);

static void slot_remove(struct exchanges *x, size_t i)
{
	memmove(&x->slots[i], &x->slots[i + 1], (x->nslots - i - 1) * sizeof(x->slots[0]));
	x->nslots--;
}

/* Record the slot as it is and drop it. */
static void flush_slot(struct exchanges *x, size_t i)
{
	struct slot *s = x->slots[i];

	slot_remove(x, i);
	emit_slot(x, s);
	slot_free(s);
}

/* The slot for seq, made when absent (the oldest one is recorded as it
 * is when the table is full). NULL when out of memory. */
static struct slot *slot_get(struct exchanges *x, uint64_t seq)
{
	struct slot *s;
	size_t i;

	s = slot_find(x, seq, &i);
	if (s)
		return s;
	if (x->nslots == MAX_SLOTS)
		flush_slot(x, 0);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->seq = seq;
	x->slots[x->nslots++] = s;
	return s;
}

static void complete_if_paired(struct exchanges *x, uint64_t seq)
{
	size_t i;
	struct slot *s = slot_find(x, seq, &i);

	if (s && s->have_req && s->have_resp)
		flush_slot(x, i);
}

/* ---- records --------------------------------------------------------------------- */

/* The fields every record of this connection carries. */
static json_t *record_base(struct exchanges *x, const char *type, uint64_t ts_mono)
{
	const struct flow_info *fi = x->fi;
	json_t *o = json_object();
	char id[64];

	if (!o)
		return NULL;
	snprintf(id, sizeof(id), "%s-%llu-%llu", type, (unsigned long long)fi->session,
		 (unsigned long long)++*x->sink->next_id);
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "ts_ns", json_integer(xmsg_wall(x->sink, ts_mono)));
	json_object_set_new(o, "session", json_integer((json_int_t)fi->session));
	json_object_set_new(o, "pid", json_integer(fi->pid));
	json_object_set_new(o, "tid", json_integer(fi->tid));
	json_object_set_new(o, "ppid", json_integer(fi->ppid));
	json_object_set_new(o, "start_ns", json_integer((json_int_t)fi->start_ns));
	json_object_set_new(o, "comm", json_bytes_string(fi->comm, strnlen(fi->comm, 16)));
	json_object_set_new(o, "uid", json_integer(fi->uid));
	json_object_set_new(o, "conn", json_integer((json_int_t)fi->conn_id));
	json_object_set_new(o, "sock", fi->sock_id ? json_integer(fi->sock_id) : json_null());
	json_object_set_new(o, "source", json_string(fi->source));
	json_object_set_new(o, "tls", json_boolean(fi->tls));
	json_object_set_new(o, "proto", json_string(fi->proto ? fi->proto : "HTTP/1.1"));
	return o;
}

/* Replays a streamed response (redacted) into the LLM decoder, each event
 * with the time its bytes were captured. */
struct replay {
	struct llm_call *llm;
	const struct slot *s;
	size_t k;
};

static void replay_event(void *ctx, const struct sse_event *ev)
{
	struct replay *r = ctx;
	uint64_t ts = r->k < r->s->nev ? r->s->ev_ts[r->k]
				       : (r->s->nev ? r->s->ev_ts[r->s->nev - 1] : 0);

	r->k++;
	(void)llm_call_sse_event(r->llm, ev->event, ev->data, ts);
}

static json_t *decode_llm(struct exchanges *x, struct slot *s)
{
	struct llm_call *llm = llm_call_new(s->provider);
	char err[128];
	json_t *call = NULL;

	if (!llm)
		return NULL;
	if (x->sink->llm_cap)
		llm_call_set_cap(llm, x->sink->llm_cap);
	if (llm_call_set_path(llm, s->path ? s->path : "") ||
	    llm_call_request(llm, s->req_body, s->req_body_len))
		goto out;
	if (s->have_resp) {
		(void)llm_call_response_status(llm, s->status);
		if (s->event_stream) {
			struct replay r = { .llm = llm, .s = s };
			struct sse_parser *p = sse_new(0, replay_event, &r);

			if (!p)
				goto out;
			(void)sse_feed(p, s->resp_body, s->resp_body_len);
			(void)sse_finish(p);
			sse_free(p);
		} else if (s->resp_body_len) {
			(void)llm_call_response_body(llm, s->resp_body, s->resp_body_len);
		}
	}
	call = llm_call_finish(llm, err, sizeof(err));
out:
	llm_call_free(llm);
	return call;
}

/* The llm_call of an exchange and its tool_call records; names the call
 * in the http record. */
static void emit_llm(struct exchanges *x, struct slot *s, json_t *http_rec)
{
	json_t *call = decode_llm(x, s), *rec, *tools, *tc;
	size_t i;

	if (!call)
		return;
	rec = record_base(x, "llm_call", s->req_ts);
	if (!rec) {
		json_decref(call);
		return;
	}
	json_object_update(rec, call); /* provider, model, request, response, usage, ... */
	json_object_set_new(rec, "type", json_string("llm_call"));
	json_object_set(rec, "http", json_object_get(http_rec, "id"));
	json_object_set(rec, "host", json_object_get(s->req, "host"));
	json_object_set_new(rec, "path", s->path ? json_string(s->path) : json_null());
	json_object_set_new(rec, "start_ts_ns", json_integer(xmsg_wall(x->sink, s->req_ts)));
	json_object_set_new(rec, "end_ts_ns", s->have_resp
				? json_integer(xmsg_wall(x->sink, s->resp_ts_last)) : json_null());
	json_object_set_new(rec, "complete", json_boolean(s->have_resp && !s->resp_incomplete));
	x->sink->emit(x->sink->ctx, rec);
	x->llm_count++;

	tools = llm_tool_calls(call);
	json_array_foreach(tools, i, tc) {
		json_t *t = record_base(x, "tool_call", s->have_resp ? s->resp_ts_last : s->req_ts);

		if (!t)
			break;
		json_object_update(t, tc);
		json_object_set_new(t, "type", json_string("tool_call"));
		json_object_set(t, "llm_call", json_object_get(rec, "id"));
		json_object_set(t, "id", json_object_get(tc, "id"));
		json_object_set_new(t, "index", json_integer((json_int_t)i));
		x->sink->emit(x->sink->ctx, t);
		json_decref(t);
	}
	json_decref(tools);
	json_decref(call);
	json_object_set(http_rec, "llm_call", json_object_get(rec, "id"));
	json_decref(rec);
}

/* One http record (and its llm_call) from what the slot holds. */
static void emit_slot(struct exchanges *x, struct slot *s)
{
	json_t *rec;

	if (!s->have_req && !s->have_resp)
		return;
	rec = record_base(x, "http", s->have_req ? s->req_ts : s->resp_ts_last);
	if (!rec)
		return;
	json_object_set(rec, "request", s->have_req ? s->req : json_null());
	json_object_set(rec, "response", s->have_resp ? s->resp : json_null());
	json_object_set_new(rec, "seq", json_integer((json_int_t)s->seq));
	json_object_set_new(rec, "llm_call", json_null());
	json_object_set_new(rec, "provider",
			    json_string(llm_provider_name(s->have_req ? s->provider : LLM_NONE)));
	/* the llm_call first, so that the http record can name it */
	if (s->have_req && s->provider != LLM_NONE)
		emit_llm(x, s, rec);
	x->sink->emit(x->sink->ctx, rec);
	json_decref(rec);
	x->count++;
}

/* ---- the decoder's callbacks -------------------------------------------------------- */

static enum llm_provider detect(const struct http1_message *m)
{
	const char *names[64], *values[64];
	size_t n = m->n_headers < 64 ? m->n_headers : 64;

	for (size_t i = 0; i < n; i++) {
		names[i] = m->headers[i].name;
		values[i] = m->headers[i].value;
	}
	return llm_detect(m->method, xmsg_header(m, "host"), m->target, names, values, n);
}

static void on_request(struct exchanges *x, const struct http1_message *m)
{
	const char *host = xmsg_header(m, "host");
	struct slot *s;
	size_t i;

	s = slot_find(x, m->seq, &i);
	if (s && s->have_req)
		flush_slot(x, i); /* a seq seen again after lost bytes */
	s = slot_get(x, m->seq);
	if (!s)
		return;
	s->req = xmsg_json(x->sink, m, &s->req_body, &s->req_body_len);
	if (!s->req)
		return;
	s->have_req = true;
	s->req_ts = m->ts_first_ns;
	json_object_set_new(s->req, "host", host ? json_string(host) : json_null());
	/* the path without its query, which may carry a key */
	s->path = strndup(m->target, strcspn(m->target, "?"));
	s->provider = detect(m);
	complete_if_paired(x, m->seq);
}

static void on_response(struct exchanges *x, const struct http1_message *m)
{
	struct slot *s;
	size_t i;

	if (m->interim)
		return; /* 100 Continue, 103 Early Hints: the final one follows */
	s = slot_find(x, m->seq, &i);
	if (s && s->have_resp)
		flush_slot(x, i);
	s = slot_get(x, m->seq);
	if (!s)
		return;
	s->resp = xmsg_json(x->sink, m, &s->resp_body, &s->resp_body_len);
	if (!s->resp)
		return;
	s->have_resp = true;
	s->status = m->status;
	s->event_stream = m->event_stream;
	s->resp_incomplete = m->incomplete;
	s->resp_ts_last = m->ts_last_ns;
	sse_free(s->timing); /* every event has its time now */
	s->timing = NULL;
	complete_if_paired(x, m->seq);
}

void exchange_on_message(void *ctx, const struct http1_message *m)
{
	if (m->is_request)
		on_request(ctx, m);
	else
		on_response(ctx, m);
}

static void on_timed_event(void *ctx, const struct sse_event *ev)
{
	struct slot *s = ctx;

	(void)ev;
	if (s->nev == s->capev) {
		size_t cap = s->capev ? 2 * s->capev : 64;
		uint64_t *n;

		if (cap > MAX_EVENT_TIMES)
			return; /* later events take the last time known */
		n = realloc(s->ev_ts, cap * sizeof(*n));
		if (!n)
			return;
		s->ev_ts = n;
		s->capev = cap;
	}
	s->ev_ts[s->nev++] = s->cur_ts;
}

/*
 * Bytes of a streamed (text/event-stream) response as they arrive: only the
 * time of each event is noted here; the events themselves are decoded from
 * the redacted body once the response is complete, so that no secret in a
 * stream reaches a record and chunk boundaries cannot split one.
 */
void exchange_on_body_chunk(void *ctx, const struct http1_message *m, const uint8_t *data, size_t n)
{
	struct exchanges *x = ctx;
	struct slot *s;

	if (m->is_request || m->interim)
		return;
	s = slot_get(x, m->seq);
	if (!s)
		return;
	if (!s->timing) {
		s->timing = sse_new(0, on_timed_event, s);
		if (!s->timing)
			return;
	}
	s->cur_ts = (uint64_t)xmsg_wall(x->sink, m->ts_last_ns);
	(void)sse_feed(s->timing, data, n);
}

struct exchanges *exchanges_new(const struct flow_info *fi, const struct exchange_sink *sink)
{
	struct exchanges *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->fi = fi;
	x->sink = sink;
	return x;
}

void exchanges_free(struct exchanges *x)
{
	if (!x)
		return;
	while (x->nslots)
		flush_slot(x, 0);
	free(x);
}

uint64_t exchanges_count(const struct exchanges *x)
{
	return x->count;
}

uint64_t exchanges_llm_count(const struct exchanges *x)
{
	return x->llm_count;
}
