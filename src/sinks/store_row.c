/* SPDX-License-Identifier: MIT */
/*
 * The caller's side of the store: which event keys each statement binds
 * (the plan, worked out once from the prepared statements' parameter
 * names), and turning an event into a row of plain values for the writer.
 */
#include "sinks/store_int.h"
#include "sinks/store_schema.h"

#include <stdlib.h>
#include <string.h>

const struct route store_routes[STORE_ROUTES] = {
	{ "session_start", ST_SESS_START, ST_NONE },
	{ "session_end", ST_SESS_END, ST_NONE },
	{ "fork", ST_FORK, ST_NONE },
	{ "exec", ST_EXEC, ST_NONE },
	{ "exit", ST_EXIT, ST_NONE },
	/* file events: `files` is a view over the events (since schema version 4), so
	 * they route like ROUTE_OTHER; listed here, the commonest type is
	 * found by the sixth strcmp instead of after all nineteen */
	{ "open", ST_PROC_SEEN, ST_NONE },
	{ "unlink", ST_PROC_SEEN, ST_NONE },
	{ "rename", ST_PROC_SEEN, ST_NONE },
	{ "mkdir", ST_PROC_SEEN, ST_NONE },
	{ "chmod", ST_PROC_SEEN, ST_NONE },
	{ "connect", ST_PROC_SEEN, ST_CONN },
	{ "accept", ST_PROC_SEEN, ST_CONN },
	{ "bind", ST_PROC_SEEN, ST_CONN },
	{ "listen", ST_PROC_SEEN, ST_CONN },
	{ "sock_close", ST_PROC_SEEN, ST_SOCK_CLOSE },
	{ "dns", ST_PROC_SEEN, ST_DNS },
	{ "http", ST_PROC_SEEN, ST_HTTP },
	{ "llm_call", ST_PROC_SEEN, ST_LLM },
	{ "tool_call", ST_PROC_SEEN, ST_TOOL },
	/* ROUTE_OTHER: types not in the table still get their process row */
	{ NULL, ST_PROC_SEEN, ST_NONE },
};

int store_route_of(const char *type)
{
	for (int i = 0; i < ROUTE_OTHER; i++) {
		if (strcmp(store_routes[i].type, type) == 0)
			return i;
	}
	return ROUTE_OTHER;
}

static int fail(struct store *s, const char *msg, const char *detail)
{
	store_set_msg(s->err, sizeof(s->err), "store %s: internal: %s %s", s->path, msg,
		      detail);
	return -1;
}

static int key_index(struct store *s, const char *name)
{
	struct store_plan *p = &s->plan;
	size_t n = strnlen(name, STORE_KEY_MAX);

	for (int k = 0; k < p->nkeys; k++) {
		if (strcmp(p->keys[k], name) == 0)
			return k;
	}
	if (p->nkeys >= STORE_MAX_KEYS)
		return fail(s, "too many parameter names at", name);
	if (n >= STORE_KEY_MAX)
		return fail(s, "parameter name too long:", name);
	memcpy(p->keys[p->nkeys], name, n + 1);
	return p->nkeys++;
}

/* Map every parameter of every statement to its source. */
static int plan_params(struct store *s)
{
	struct store_plan *p = &s->plan;

	for (int id = 0; id < ST__MAX; id++) {
		int n = sqlite3_bind_parameter_count(s->st[id]);

		if (id == ST_SPAN)
			continue;   /* not bound from an event */
		if (id == ST_EVENT_GROUP) {
			/* bound row by row with ST_EVENT's plan */
			if (n != STORE_EVENT_GROUP * sqlite3_bind_parameter_count(s->st[ST_EVENT]))
				return fail(s, "a row of the grouped insert does not match",
					    store_stmt_sql[ST_EVENT]);
			continue;
		}
		if (n > STORE_MAX_PARAMS)
			return fail(s, "too many parameters in", store_stmt_sql[id]);
		p->nparams[id] = n;
		for (int i = 0; i < n; i++) {
			const char *name = sqlite3_bind_parameter_name(s->st[id], i + 1);
			int k;

			if (!name || name[0] != ':')
				return fail(s, "unnamed SQL parameter in", store_stmt_sql[id]);
			if (strcmp(name, ":_event_id") == 0)
				k = KEY_EVENT_ID;
			else if (strcmp(name, ":_data") == 0)
				k = KEY_DATA;
			else if ((k = key_index(s, name + 1)) < 0)
				return -1;
			p->param_key[id][i] = (int16_t)k;
		}
	}
	return 0;
}

static void carry_keys(struct store_plan *p, int r, enum stmt_id id)
{
	if (id == ST_NONE)
		return;
	for (int i = 0; i < p->nparams[id]; i++) {
		int k = p->param_key[id][i];

		if (k < 0 || p->key_slot[r][k] >= 0)
			continue;
		p->key_slot[r][k] = (int16_t)p->nslots[r];
		p->slot_key[r][p->nslots[r]++] = (int16_t)k;
	}
}

static const char *const head_names[HEAD__MAX] = {
	[HEAD_TYPE] = "type", [HEAD_TS] = "ts_ns", [HEAD_SESSION] = "session",
	[HEAD_PID] = "pid", [HEAD_TID] = "tid", [HEAD_PPID] = "ppid",
	[HEAD_START] = "start_ns", [HEAD_UID] = "uid", [HEAD_COMM] = "comm",
};

/* Which member of a store_head each slot of route r takes, if all have one. */
static void plan_head(struct store_plan *p, int r)
{
	p->text_ok[r] = true;
	for (int i = 0; i < p->nslots[r]; i++) {
		const char *key = p->keys[p->slot_key[r][i]];

		p->slot_head[r][i] = HEAD_NONE;
		for (int m = 0; m < HEAD__MAX; m++)
			if (strcmp(key, head_names[m]) == 0)
				p->slot_head[r][i] = (int8_t)m;
		if (p->slot_head[r][i] == HEAD_NONE)
			p->text_ok[r] = false;
	}
}

/* A route carries the keys of the insert into `events`, of its own
 * statements, and of the process row (a thread's fork falls back to it). */
int store_plan_build(struct store *s)
{
	struct store_plan *p = &s->plan;

	memset(p, 0, sizeof(*p));
	if (plan_params(s) != 0)
		return -1;
	for (int r = 0; r < STORE_ROUTES; r++) {
		for (int k = 0; k < STORE_MAX_KEYS; k++)
			p->key_slot[r][k] = -1;
		carry_keys(p, r, ST_EVENT);
		carry_keys(p, r, ST_PROC_SEEN);
		carry_keys(p, r, store_routes[r].first);
		carry_keys(p, r, store_routes[r].second);
		plan_head(p, r);
	}
	/* the recorder gives file events as text (store_put_text): a
	 * statement that reads more of them must fail here, loudly, not
	 * refuse every such event later */
	for (int r = 0; r < ROUTE_OTHER; r++) {
		static const char *const file_types[] = { "open", "unlink", "rename", "mkdir",
							  "chmod" };

		for (size_t i = 0; i < sizeof(file_types) / sizeof(file_types[0]); i++)
			if (!strcmp(store_routes[r].type, file_types[i]) && !p->text_ok[r])
				return fail(s, "a statement reads more than the common members"
					    " of", file_types[i]);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Encoding */

/* One value the way the statements want it: scalars as themselves,
 * arrays and objects as JSON text, absent or null as NULL. */
static int encode_cell(struct jbuf *b, const json_t *v, struct cell *c, int max_len)
{
	size_t off = b->len;

	memset(c, 0, sizeof(*c));
	c->kind = CELL_NULL;
	if (!v)
		return 0;
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		c->kind = CELL_INT;
		c->v.i = json_integer_value(v);
		return 0;
	case JSON_REAL:
		c->kind = CELL_REAL;
		c->v.d = json_real_value(v);
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		c->kind = CELL_INT;
		c->v.i = json_is_true(v);
		return 0;
	case JSON_STRING:
		if (jbuf_add(b, json_string_value(v), json_string_length(v)) != 0)
			return -1;
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (json_out(b, v) != 0)
			return -1;
		break;
	case JSON_NULL:
	default:
		return 0;
	}
	if (b->len - off > (size_t)max_len)
		return -1;   /* SQLite would refuse it on the writer's thread */
	c->kind = CELL_TEXT;
	c->v.off = off;
	c->len = (uint32_t)(b->len - off);
	return 0;
}

/* Encode ev for a row: 0, or -1 (s->err says why). */
int store_row_encode(struct store *s, const json_t *ev, int route)
{
	const struct store_plan *p = &s->plan;
	struct row_head *h = &s->draft;
	struct jbuf *b = &s->scratch;
	const json_t *ts;
	int rc;

	if (b->cap > STORE_SCRATCH_MAX)
		jbuf_free(b);   /* after a huge event: memory back, it regrows */
	jbuf_reset(b);
	/* the JSON ends with a NUL: bound as a C string where SQLite's JSON
	 * functions read it (store_write.c, bind_data) */
	rc = json_out(b, ev);
	h->json_len = b->len;
	if (rc != 0 || b->len > (size_t)s->max_len || jbuf_add(b, "", 1) != 0) {
		store_set_msg(s->err, sizeof(s->err), "store %s: cannot store a %s event"
			      " (not valid UTF-8, too deep, larger than SQLite's limit of %d"
			      " bytes, or out of memory)", s->path,
			      json_string_value(json_object_get(ev, "type")), s->max_len);
		return -1;
	}
	/* the event's JSON and its NUL come first: :_data is the text itself */
	for (int i = 0; i < p->nslots[route]; i++) {
		const char *key = p->keys[p->slot_key[route][i]];

		if (encode_cell(b, json_object_get(ev, key), &s->cells[i], s->max_len) != 0) {
			store_set_msg(s->err, sizeof(s->err), "store %s: cannot store \"%s\""
				      " of a %s event", s->path, key,
				      json_string_value(json_object_get(ev, "type")));
			return -1;
		}
	}
	h->text_len = b->len;
	h->route = route;
	h->identity = json_is_integer(json_object_get(ev, "pid")) &&
		      json_is_integer(json_object_get(ev, "start_ns"));
	h->thread = json_is_true(json_object_get(ev, "thread"));
	h->session = json_integer_value(json_object_get(ev, "session"));
	ts = json_object_get(ev, "ts_ns");
	h->has_ts = json_is_integer(ts);
	h->ts_ns = json_integer_value(ts);
	h->pid = json_integer_value(json_object_get(ev, "pid"));
	h->start_ns = json_integer_value(json_object_get(ev, "start_ns"));
	return 0;
}

static void int_cell(struct cell *c, int64_t v)
{
	memset(c, 0, sizeof(*c));
	c->kind = CELL_INT;
	c->v.i = v;
}

/* A string member after the text: NULL stays a NULL cell. */
static int text_cell(struct jbuf *b, const char *v, struct cell *c)
{
	size_t off = b->len, n;

	memset(c, 0, sizeof(*c));
	c->kind = CELL_NULL;
	if (!v)
		return 0;
	n = strlen(v);
	if (jbuf_add(b, v, n) != 0)
		return -1;
	c->kind = CELL_TEXT;
	c->v.off = off;
	c->len = (uint32_t)n;
	return 0;
}

int store_row_encode_text(struct store *s, const struct store_head *h, const char *json,
			  size_t len, int route)
{
	const struct store_plan *p = &s->plan;
	struct row_head *d = &s->draft;
	struct jbuf *b = &s->scratch;
	const int64_t ints[HEAD__MAX] = {
		[HEAD_TS] = h->ts_ns, [HEAD_SESSION] = h->session, [HEAD_PID] = h->pid,
		[HEAD_TID] = h->tid, [HEAD_PPID] = h->ppid, [HEAD_START] = h->start_ns,
		[HEAD_UID] = h->uid,
	};

	if (!p->text_ok[route]) {
		store_set_msg(s->err, sizeof(s->err), "store %s: internal: a %s event needs"
			      " more than its common members", s->path, h->type);
		return -1;
	}
	if (b->cap > STORE_SCRATCH_MAX)
		jbuf_free(b);
	jbuf_reset(b);
	/* the text and its NUL first, as store_row_encode() lays it out */
	if (len > (size_t)s->max_len || jbuf_add(b, json, len) != 0 || jbuf_add(b, "", 1) != 0) {
		store_set_msg(s->err, sizeof(s->err), "store %s: cannot store a %s event"
			      " (larger than SQLite's limit of %d bytes, or out of memory)",
			      s->path, h->type, s->max_len);
		return -1;
	}
	d->json_len = len;
	for (int i = 0; i < p->nslots[route]; i++) {
		int m = p->slot_head[route][i], rc = 0;

		if (m == HEAD_TYPE)
			rc = text_cell(b, h->type, &s->cells[i]);
		else if (m == HEAD_COMM)
			rc = text_cell(b, h->comm, &s->cells[i]);
		else
			int_cell(&s->cells[i], ints[m]);
		if (rc != 0) {
			store_set_msg(s->err, sizeof(s->err), "store %s: out of memory", s->path);
			return -1;
		}
	}
	d->text_len = b->len;
	d->route = route;
	d->identity = true;
	d->thread = false;
	d->session = h->session;
	d->has_ts = true;
	d->ts_ns = h->ts_ns;
	d->pid = h->pid;
	d->start_ns = h->start_ns;
	return 0;
}

size_t store_row_size(const struct store *s)
{
	return sizeof(struct row) + (size_t)s->plan.nslots[s->draft.route] * sizeof(struct cell) +
	       s->draft.text_len + 1;
}

void store_row_fill(const struct store *s, struct row *r)
{
	int n = s->plan.nslots[s->draft.route];

	r->next = NULL;
	r->h = s->draft;
	memcpy(r->cells, s->cells, (size_t)n * sizeof(struct cell));
	memcpy((char *)&r->cells[n], s->scratch.p, s->draft.text_len + 1);
}
