/* SPDX-License-Identifier: MIT */
/* Payload records -> connections -> HTTP decoders; see flows.h. */
#include "model/flows.h"

#include <stdlib.h>
#include <string.h>

#include "decode/http1.h"
#include "decode/http2.h"
#include "model/event_json.h"

#define FLOW_BUCKETS 4096
#define MAX_FLOWS 65536
/* Records of one direction that may wait for an earlier one. The ring
 * keeps each thread's records in order, so only records racing from two
 * CPUs ever wait; more than this means the earlier one was lost. */
#define STASH_MAX 8
/* Ask the kernel to skip the rest of a body only when it is this long; a
 * body that ends with the connection is skipped in windows of SKIP_WINDOW,
 * each ended by one record that keeps the count exact. */
#define SKIP_MIN (1u << 20)
#define SKIP_WINDOW (64ULL << 20)

enum proto { PROTO_UNKNOWN, PROTO_H1, PROTO_H2, PROTO_OTHER };

struct flow;
struct flows;
static void hole(struct flows *f, struct flow *fl, uint8_t dir, uint64_t lost);

struct chunk {
	uint64_t offset;
	uint64_t ts_ns;
	uint32_t len;
	uint8_t *data;
};

struct direction {
	uint64_t next;          /* offset expected next */
	uint64_t skip_until;    /* the kernel copies nothing before this (0: none) */
	bool seen;
	struct chunk stash[STASH_MAX];
	size_t nstash;
};

struct flow {
	struct flow *next;      /* hash chain */
	uint32_t key_pid;       /* 0 for sockets: their stream is the socket's */
	uint64_t conn;
	uint8_t source;
	uint64_t sock;          /* kernel socket (TLS: learnt from the records) */
	struct flow_info fi;
	struct direction dir[2]; /* AT_DIR_OUT, AT_DIR_IN */
	enum proto proto;
	uint8_t to_server;      /* the AT_DIR_* that carries requests */
	struct http1_conn *h1;
	struct http2_conn *h2;
	struct exchanges *x;
	uint64_t closed_at;     /* monotonic ns its socket closed, 0 while open */
};

struct flows {
	struct flows_opts o;
	struct ev_ctx *ev;
	struct flow *buckets[FLOW_BUCKETS];
	size_t nflows;
	uint64_t next_conn_id;
	struct flows_stats st;
};

static const char *source_name(uint8_t s)
{
	switch (s) {
	case AT_SRC_SOCKET:
		return "socket";
	case AT_SRC_OPENSSL:
		return "openssl";
	case AT_SRC_BORINGSSL:
		return "boringssl";
	case AT_SRC_GNUTLS:
		return "gnutls";
	default:
		return "unknown";
	}
}

static size_t bucket_of(uint32_t pid, uint64_t conn, uint8_t source)
{
	uint64_t h = conn ^ ((uint64_t)pid << 32) ^ source;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)(h % FLOW_BUCKETS);
}

static struct flow *find(struct flows *f, uint32_t pid, uint64_t conn, uint8_t source,
			 struct flow ***link)
{
	struct flow **pp = &f->buckets[bucket_of(pid, conn, source)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->key_pid == pid && (*pp)->conn == conn && (*pp)->source == source)
			break;
	if (link)
		*link = pp;
	return *pp;
}

/* ---- decoders ---------------------------------------------------------------- */

static bool start_decoder(struct flows *f, struct flow *fl, enum proto p)
{
	struct http1_limits lim = { .max_body = f->o.max_body };
	struct http1_callbacks cb = {
		.on_message = exchange_on_message,
		.on_body_chunk = exchange_on_body_chunk,
	};

	fl->x = exchanges_new(&fl->fi, &f->o.sink);
	if (!fl->x)
		return false;
	cb.ctx = fl->x;
	if (p == PROTO_H2) {
		fl->fi.proto = "HTTP/2";
		fl->h2 = http2_conn_new(&lim, &cb);
	} else {
		fl->fi.proto = "HTTP/1.1";
		fl->h1 = http1_conn_new(&lim, &cb);
	}
	if (!fl->h1 && !fl->h2) {
		exchanges_free(fl->x);
		fl->x = NULL;
		return false;
	}
	fl->proto = p;
	f->st.http_flows++;
	return true;
}

/* Pick the protocol from the first bytes seen on the connection. */
static void classify(struct flows *f, struct flow *fl, uint8_t dir, const uint8_t *p, size_t n,
		     uint32_t attach)
{
	bool preface = http2_looks_like_preface(p, n);
	bool h1 = !preface && http1_looks_like_start(p, n);

	if (fl->source == AT_SRC_BORINGSSL && dir == AT_DIR_OUT && f->o.first_bytes)
		f->o.first_bytes(f->o.ctx, attach, preface || h1);
	if (preface) {
		fl->to_server = dir;
	} else if (h1) {
		/* a status line travels to the client */
		bool status = n >= 5 && memcmp(p, "HTTP/", 5) == 0;

		fl->to_server = status ? (uint8_t)(dir ^ 1) : dir;
	} else {
		fl->proto = PROTO_OTHER;
		f->st.skipped_flows++;
		return;
	}
	if (!start_decoder(f, fl, preface ? PROTO_H2 : PROTO_H1)) {
		fl->proto = PROTO_OTHER;
		f->st.skipped_flows++;
	}
}

static enum http1_dir http_dir(const struct flow *fl, uint8_t dir)
{
	return dir == fl->to_server ? HTTP1_TO_SERVER : HTTP1_TO_CLIENT;
}

static void feed(struct flows *f, struct flow *fl, uint8_t dir, const uint8_t *p, size_t n,
		 uint64_t ts, uint32_t attach)
{
	if (fl->proto == PROTO_UNKNOWN)
		classify(f, fl, dir, p, n, attach);
	if (fl->proto == PROTO_H1)
		(void)http1_feed(fl->h1, http_dir(fl, dir), p, n, ts);
	else if (fl->proto == PROTO_H2)
		(void)http2_feed(fl->h2, http_dir(fl, dir), p, n, ts);
}

/*
 * Once the decoder only counts what it reads (a long body past the cap), tell
 * the kernel to leave the rest of it out. The last byte is still copied, so
 * that the decoder sees the body end.
 */
static void maybe_skip(struct flows *f, struct flow *fl, uint8_t dir)
{
	struct direction *d = &fl->dir[dir];
	struct at_stream_key k;
	uint64_t n;

	if (fl->proto != PROTO_H1 || !f->o.skip || d->skip_until > d->next || d->nstash)
		return;
	n = http1_skippable(fl->h1, http_dir(fl, dir));
	if (n < SKIP_MIN)
		return;
	if (n > SKIP_WINDOW)
		n = SKIP_WINDOW;
	memset(&k, 0, sizeof(k));
	k.conn = fl->conn;
	k.tgid = fl->key_pid;
	k.dir = dir;
	k.source = fl->source;
	if (f->o.skip(f->o.skip_ctx, &k, d->next + n - 1) == 0)
		d->skip_until = d->next + n - 1;
}

/* Bytes the kernel left out on request: account for them, no loss. */
static void skipped(struct flows *f, struct flow *fl, uint8_t dir, uint64_t upto)
{
	struct direction *d = &fl->dir[dir];
	uint64_t n = upto - d->next;

	if (fl->proto == PROTO_H1 && http1_skip(fl->h1, http_dir(fl, dir), n) == 0)
		f->st.skipped_bytes += n;
	else
		hole(f, fl, dir, n); /* cannot happen; keep the decoder honest */
	d->next = upto;
	if (d->next >= d->skip_until)
		d->skip_until = 0;
}

static void hole(struct flows *f, struct flow *fl, uint8_t dir, uint64_t lost)
{
	f->st.holes++;
	f->st.hole_bytes += lost;
	while (lost) {
		size_t step = lost > (uint64_t)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)lost;

		if (fl->proto == PROTO_H1)
			(void)http1_gap(fl->h1, http_dir(fl, dir), step);
		else if (fl->proto == PROTO_H2)
			(void)http2_gap(fl->h2, http_dir(fl, dir), step);
		lost -= step;
	}
}

/* ---- ordering ------------------------------------------------------------------ */

static void drop_chunk(struct chunk *c)
{
	free(c->data);
	c->data = NULL;
}

/* Deliver stashed chunks that now fit; with force, skip the hole before
 * the lowest one. */
static void drain_stash(struct flows *f, struct flow *fl, uint8_t dir, bool force)
{
	struct direction *d = &fl->dir[dir];

	while (d->nstash) {
		size_t lo = 0;

		for (size_t i = 1; i < d->nstash; i++)
			if (d->stash[i].offset < d->stash[lo].offset)
				lo = i;
		struct chunk c = d->stash[lo];

		if (c.offset > d->next && !force)
			return;
		d->stash[lo] = d->stash[--d->nstash];
		if (c.offset > d->next) {
			hole(f, fl, dir, c.offset - d->next);
			d->next = c.offset;
		}
		if (c.offset + c.len > d->next) {
			/* skip any part already delivered */
			uint64_t skip = d->next - c.offset;

			feed(f, fl, dir, c.data + skip, c.len - skip, c.ts_ns, 0);
			d->next = c.offset + c.len;
		}
		drop_chunk(&c);
		force = false;
	}
}

static void stash(struct flows *f, struct flow *fl, uint8_t dir, const struct at_data *r)
{
	struct direction *d = &fl->dir[dir];
	struct chunk *c;

	if (d->nstash == STASH_MAX)
		drain_stash(f, fl, dir, true); /* the missing record was lost */
	c = &d->stash[d->nstash];
	c->data = malloc(r->len);
	if (!c->data) {
		/* cannot wait for the earlier bytes: this record becomes a hole */
		return;
	}
	memcpy(c->data, r->data, r->len);
	c->offset = r->offset;
	c->len = r->len;
	c->ts_ns = r->h.ts_ns;
	d->nstash++;
}

/* ---- flow lifetime ------------------------------------------------------------- */

/* A skip window still open at the end: the kernel's offset says how many
 * bytes it left out. */
static void close_skip(struct flows *f, struct flow *fl, uint8_t dir)
{
	struct direction *d = &fl->dir[dir];
	struct at_stream_key k;
	uint64_t off;

	if (!d->skip_until || !f->o.offset)
		return;
	memset(&k, 0, sizeof(k));
	k.conn = fl->conn;
	k.tgid = fl->key_pid;
	k.dir = dir;
	k.source = fl->source;
	off = f->o.offset(f->o.skip_ctx, &k);
	if (off > d->next)
		skipped(f, fl, dir, off < d->skip_until ? off : d->skip_until);
}

static void flow_end(struct flows *f, struct flow *fl)
{
	for (int dir = 0; dir < 2; dir++) {
		if (!fl->dir[dir].nstash)
			close_skip(f, fl, (uint8_t)dir);
		drain_stash(f, fl, (uint8_t)dir, true);
		for (size_t i = 0; i < fl->dir[dir].nstash; i++)
			drop_chunk(&fl->dir[dir].stash[i]);
	}
	if (fl->h1) {
		(void)http1_close(fl->h1);
		http1_conn_free(fl->h1);
	}
	if (fl->h2) {
		(void)http2_close(fl->h2);
		http2_conn_free(fl->h2);
	}
	exchanges_free(fl->x);
	free(fl);
	f->nflows--;
}

static struct flow *flow_new(struct flows *f, const struct at_data *d, uint32_t key_pid,
			     struct flow **link)
{
	struct flow *fl;

	if (f->nflows >= MAX_FLOWS) {
		f->st.table_full++;
		return NULL;
	}
	fl = calloc(1, sizeof(*fl));
	if (!fl)
		return NULL;
	fl->key_pid = key_pid;
	fl->conn = d->conn;
	fl->source = d->source;
	fl->sock = d->source == AT_SRC_SOCKET ? d->conn : d->sock;
	fl->fi.session = d->h.session;
	fl->fi.start_ns = d->h.start_ns;
	fl->fi.pid = d->h.pid;
	fl->fi.tid = d->h.tid;
	fl->fi.ppid = d->h.ppid;
	fl->fi.uid = d->h.uid;
	memcpy(fl->fi.comm, d->h.comm, sizeof(fl->fi.comm));
	fl->fi.source = source_name(d->source);
	fl->fi.tls = d->source != AT_SRC_SOCKET;
	fl->fi.conn_id = ++f->next_conn_id;
	fl->fi.sock_id = event_sock_id(f->ev, fl->sock);
	fl->next = *link;
	*link = fl;
	f->nflows++;
	f->st.flows++;
	return fl;
}

static void unlink_flow(struct flows *f, struct flow *fl)
{
	struct flow **pp = &f->buckets[bucket_of(fl->key_pid, fl->conn, fl->source)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == fl) {
			*pp = fl->next;
			return;
		}
}

void flows_data(struct flows *f, const struct at_data *d, size_t size)
{
	uint32_t key_pid;
	struct flow **link, *fl;
	struct direction *dir;
	uint8_t di;

	if (size < offsetof(struct at_data, data) || d->len > AT_DATA_MAX ||
	    size < offsetof(struct at_data, data) + d->len || d->dir > AT_DIR_IN || !d->len)
		return;
	f->st.records++;
	f->st.bytes += d->len;
	di = d->dir;
	key_pid = d->source == AT_SRC_SOCKET ? 0 : d->h.pid;
	fl = find(f, key_pid, d->conn, d->source, &link);
	if (fl && d->offset < fl->dir[di].next && d->offset == 0) {
		/* the kernel started this stream afresh: a new connection
		 * behind a reused socket or SSL address */
		unlink_flow(f, fl);
		flow_end(f, fl);
		fl = find(f, key_pid, d->conn, d->source, &link);
	}
	if (!fl) {
		fl = flow_new(f, d, key_pid, link);
		if (!fl)
			return;
	}
	if (!fl->sock && d->sock) {
		fl->sock = d->sock;
		fl->fi.sock_id = event_sock_id(f->ev, d->sock);
	}
	if (fl->proto == PROTO_OTHER)
		return;
	dir = &fl->dir[di];
	if (!dir->seen) {
		/* the first record of a direction sets where it starts */
		dir->seen = true;
		dir->next = d->offset;
	}
	if (dir->skip_until && d->offset > dir->next)
		skipped(f, fl, di, d->offset < dir->skip_until ? d->offset : dir->skip_until);
	if (d->offset > dir->next) {
		stash(f, fl, di, d);
		return;
	}
	if (d->offset + d->len <= dir->next)
		return; /* already delivered */
	{
		uint64_t skip = dir->next - d->offset;

		feed(f, fl, di, d->data + skip, d->len - skip, d->h.ts_ns, d->attach);
		dir->next = d->offset + d->len;
	}
	drain_stash(f, fl, di, false);
	maybe_skip(f, fl, di);
}

/* End every flow for which match() holds. */
static void end_matching(struct flows *f, bool (*match)(const struct flow *, uint64_t), uint64_t arg)
{
	for (size_t b = 0; b < FLOW_BUCKETS; b++) {
		struct flow **pp = &f->buckets[b];

		while (*pp) {
			struct flow *fl = *pp;

			if (match(fl, arg)) {
				*pp = fl->next;
				flow_end(f, fl);
			} else {
				pp = &fl->next;
			}
		}
	}
}

static bool tls_of_pid(const struct flow *fl, uint64_t pid)
{
	return fl->key_pid == (uint32_t)pid && fl->source != AT_SRC_SOCKET;
}

static bool of_session(const struct flow *fl, uint64_t session)
{
	return fl->fi.session == session;
}

static bool any_flow(const struct flow *fl, uint64_t unused)
{
	(void)fl;
	(void)unused;
	return true;
}

/*
 * A socket reaches TCP_CLOSE before its owner has necessarily read all it
 * received (a client that shut down its side first sees TIME_WAIT, and the
 * response is still queued): flows over it end a grace period later.
 */
void flows_sock_closed(struct flows *f, uint64_t sock, uint64_t now_ns)
{
	if (!sock)
		return;
	for (size_t b = 0; b < FLOW_BUCKETS; b++)
		for (struct flow *fl = f->buckets[b]; fl; fl = fl->next)
			if (fl->sock == sock && !fl->closed_at)
				fl->closed_at = now_ns ? now_ns : 1;
}

static bool closed_long_ago(const struct flow *fl, uint64_t deadline)
{
	return fl->closed_at && fl->closed_at <= deadline;
}

void flows_tick(struct flows *f, uint64_t now_ns)
{
	if (now_ns > FLOWS_CLOSE_GRACE_NS)
		end_matching(f, closed_long_ago, now_ns - FLOWS_CLOSE_GRACE_NS);
}

void flows_proc_exit(struct flows *f, uint32_t pid)
{
	end_matching(f, tls_of_pid, pid);
}

void flows_session_end(struct flows *f, uint64_t session)
{
	end_matching(f, of_session, session);
}

struct flows *flows_new(const struct flows_opts *o, struct ev_ctx *ev)
{
	struct flows *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->o = *o;
	f->ev = ev;
	return f;
}

void flows_free(struct flows *f)
{
	if (!f)
		return;
	end_matching(f, any_flow, 0);
	free(f);
}

const struct flows_stats *flows_stats(const struct flows *f)
{
	return &f->st;
}
