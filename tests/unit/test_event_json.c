/* SPDX-License-Identifier: MIT */
/*
 * Tests for the record -> JSON decoder (src/model/event_json.c).
 *
 * Records are built here exactly as the kernel programs build them: struct
 * at_hdr, the fixed part of the kind, then the packed strings in the order
 * their length fields are declared, each NUL-terminated, lengths counting
 * the NUL (0 = absent). Every record handed to event_to_json is a heap block
 * of exactly its size, so that AddressSanitizer (-DAT_SANITIZE=ON) reports
 * any read past the record.
 *
 * The expected JSON is the contract of docs/events.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "agenttrail/events.h"
#include "decode/dns.h"
#include "model/dnscache.h"
#include "model/event_json.h"

#define FFFD "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* Fixed values of every header built here. */
#define T_TS 5000000000ULL
#define T_SESSION 42
#define T_START 123456789ULL
#define T_PID 4242
#define T_TID 4243
#define T_PPID 4000
#define T_UID 1000
#define T_WALL_OFFSET 1700000000000000000LL

/* ---- fixture ---------------------------------------------------------------- */

struct fx {
	struct ev_ctx ctx;
	char err[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	ev_ctx_init(&f->ctx);
	/* fixed values, so that ts_ns can be asserted exactly */
	f->ctx.mono_to_wall_ns = T_WALL_OFFSET;
	f->ctx.dns = dnscache_new(64);
	f->ctx.cg = NULL;
	if (!f->ctx.dns) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dnscache_free(f->ctx.dns);
	free(f);
	return 0;
}

/* ---- record builder ------------------------------------------------------- */

static void fill_hdr(struct at_hdr *h, unsigned kind, unsigned flags)
{
	memset(h, 0, sizeof(*h));
	h->kind = (uint16_t)kind;
	h->flags = (uint16_t)flags;
	h->ts_ns = T_TS;
	h->session = T_SESSION;
	h->start_ns = T_START;
	h->pid = T_PID;
	h->tid = T_TID;
	h->ppid = T_PPID;
	h->uid = T_UID;
	memcpy(h->comm, "agent", 6);
}

/* A heap block of exactly size bytes holding p; h.size is left as it is. */
static void *exact(const void *p, size_t size)
{
	void *r = malloc(size ? size : 1);

	assert_non_null(r);
	if (size)
		memcpy(r, p, size);
	return r;
}

/* Appends len bytes of s at data + *off; returns the length field value. */
static uint16_t put_bytes(uint8_t *data, size_t *off, const void *s, size_t len)
{
	assert_true(len <= 0xffff);
	if (len)
		memcpy(data + *off, s, len);
	*off += len;
	return (uint16_t)len;
}

/* Appends s with its NUL (absent when s is NULL); returns the length field. */
static uint16_t put_str(uint8_t *data, size_t *off, const char *s)
{
	return s ? put_bytes(data, off, s, strlen(s) + 1) : 0;
}

struct exec_spec {
	unsigned flags;
	const char *argv;  /* argv_len bytes, NULs included */
	size_t argv_len;
	uint32_t argc;
	const char *filename, *exe, *cwd, *cgroup;
	uint64_t cgroup_id;
};

#define EXEC_DATA_MAX (AT_ARGV_MAX + 4 * AT_PATH_MAX + AT_CGROUP_MAX)

static struct at_exec *mk_exec(const struct exec_spec *s, size_t *size)
{
	struct at_exec *e = calloc(1, sizeof(*e) + EXEC_DATA_MAX);
	uint8_t *data = (uint8_t *)e->data;
	size_t off = 0;

	assert_non_null(e);
	fill_hdr(&e->h, AT_EV_EXEC, s->flags);
	e->parent_start_ns = 111;
	e->cgroup_id = s->cgroup_id;
	e->euid = 0;
	e->gid = 1001;
	e->argc = s->argc;
	e->sid = 4000;
	e->argv_len = put_bytes(data, &off, s->argv, s->argv_len);
	e->filename_len = put_str(data, &off, s->filename);
	e->exe_len = put_str(data, &off, s->exe);
	e->cwd_len = put_str(data, &off, s->cwd);
	e->cgroup_len = put_str(data, &off, s->cgroup);
	*size = sizeof(*e) + off;
	e->h.size = (uint32_t)*size;
	e = realloc(e, *size); /* exactly the record, for ASan */
	assert_non_null(e);
	return e;
}

struct file_spec {
	unsigned kind, flags;
	int64_t ret;
	uint32_t oflags, mode;
	const char *path, *arg, *path2, *arg2;
};

static struct at_file *mk_file(const struct file_spec *s, size_t *size)
{
	struct at_file *f = calloc(1, sizeof(*f) + 4 * AT_PATH_MAX);
	uint8_t *data = (uint8_t *)f->data;
	size_t off = 0;

	assert_non_null(f);
	fill_hdr(&f->h, s->kind, s->flags);
	f->ret = s->ret;
	f->flags = s->oflags;
	f->mode = s->mode;
	f->ino = 777;
	f->dev = 2049;
	f->dirfd = -100; /* AT_FDCWD */
	f->path_len = put_str(data, &off, s->path);
	f->arg_len = put_str(data, &off, s->arg);
	f->path2_len = put_str(data, &off, s->path2);
	f->arg2_len = put_str(data, &off, s->arg2);
	*size = sizeof(*f) + off;
	f->h.size = (uint32_t)*size;
	f = realloc(f, *size);
	assert_non_null(f);
	return f;
}

static void mk_net(struct at_net *n, unsigned kind, unsigned family, unsigned sotype)
{
	memset(n, 0, sizeof(*n));
	fill_hdr(&n->h, kind, 0);
	n->h.size = sizeof(*n);
	n->family = (uint16_t)family;
	n->sotype = (uint16_t)sotype;
	n->sock = 0xffff888012345678ULL;
	n->fd = 5;
}

static void set_v4(uint8_t a[16], uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3)
{
	memset(a, 0, 16);
	a[0] = a0;
	a[1] = a1;
	a[2] = a2;
	a[3] = a3;
}

static const uint8_t V6_DB8_1[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t V6_DB8_5[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 };
static const uint8_t V6_LOOP[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static void mk_dns(struct at_dns *d, unsigned flags, const void *msg, size_t len)
{
	memset(d, 0, sizeof(*d));
	fill_hdr(&d->h, AT_EV_DNS, flags);
	d->h.size = sizeof(*d);
	d->family = AF_INET;
	set_v4(d->server, 8, 8, 4, 4);
	d->port = 53;
	assert_true(len <= AT_DNS_MAX);
	memcpy(d->data, msg, len);
	d->len = (uint16_t)len;
}

/* ---- DNS wire builder ----------------------------------------------------- */

struct wire {
	uint8_t b[AT_DNS_MAX];
	size_t n;
};

static void w8(struct wire *w, unsigned v)
{
	assert_true(w->n < sizeof(w->b));
	w->b[w->n++] = (uint8_t)v;
}

static void w16(struct wire *w, unsigned v)
{
	w8(w, (v >> 8) & 0xff);
	w8(w, v & 0xff);
}

static void w32(struct wire *w, uint32_t v)
{
	w16(w, v >> 16);
	w16(w, v & 0xffff);
}

/* An uncompressed name; returns its offset. */
static size_t wname(struct wire *w, const char *dotted)
{
	size_t at = w->n;

	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);

		w8(w, (unsigned)l);
		for (size_t i = 0; i < l; i++)
			w8(w, (unsigned char)dotted[i]);
		dotted += l;
		if (*dotted == '.')
			dotted++;
	}
	w8(w, 0);
	return at;
}

static void wptr(struct wire *w, size_t off)
{
	w16(w, 0xc000 | (unsigned)off);
}

/* rr header after the owner; returns where rdlength goes */
static size_t wrr(struct wire *w, unsigned type, uint32_t ttl)
{
	size_t at;

	w16(w, type);
	w16(w, DNS_CLASS_IN);
	w32(w, ttl);
	at = w->n;
	w16(w, 0);
	return at;
}

static void wrr_end(struct wire *w, size_t at)
{
	size_t l = w->n - at - 2;

	w->b[at] = (uint8_t)(l >> 8);
	w->b[at + 1] = (uint8_t)l;
}

/*
 * Response id 0xbeef: api.example.com A?
 *   api.example.com CNAME edge.example.net (ttl 60)
 *   edge.example.net A 93.184.216.34 (ttl 300)
 */
static void wire_cname_a(struct wire *w)
{
	size_t q, target, at;

	w->n = 0;
	w16(w, 0xbeef);
	w16(w, 0x8180);
	w16(w, 1);
	w16(w, 2);
	w16(w, 0);
	w16(w, 0);
	q = wname(w, "api.example.com");
	w16(w, DNS_TYPE_A);
	w16(w, DNS_CLASS_IN);
	wptr(w, q);
	at = wrr(w, DNS_TYPE_CNAME, 60);
	target = wname(w, "edge.example.net");
	wrr_end(w, at);
	wptr(w, target);
	at = wrr(w, DNS_TYPE_A, 300);
	w8(w, 93);
	w8(w, 184);
	w8(w, 216);
	w8(w, 34);
	wrr_end(w, at);
}

/* Response id 7: v6.example.org AAAA? -> 2001:db8::5 (ttl 30) */
static void wire_aaaa(struct wire *w)
{
	size_t q, at;

	w->n = 0;
	w16(w, 7);
	w16(w, 0x8180);
	w16(w, 1);
	w16(w, 1);
	w16(w, 0);
	w16(w, 0);
	q = wname(w, "v6.example.org");
	w16(w, DNS_TYPE_AAAA);
	w16(w, DNS_CLASS_IN);
	wptr(w, q);
	at = wrr(w, DNS_TYPE_AAAA, 30);
	for (int i = 0; i < 16; i++)
		w8(w, V6_DB8_5[i]);
	wrr_end(w, at);
}

/* ---- decoding and JSON assertions ---------------------------------------- */

/*
 * A file record also goes the recorder's other way, straight to text: it
 * must give the bytes of the object with "eid" set, and say what the
 * object says. Every test that decodes a file record checks this.
 */
#define TEXT_EID 77

static const char *ostr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void same_str(const char *what, const char *got, const char *want)
{
	if (!got != !want || (got && strcmp(got, want)))
		fail_msg("text path: %s is \"%s\", the object's \"%s\"", what,
			 got ? got : "(null)", want ? want : "(null)");
}

static void check_text_path(struct fx *f, const void *copy, size_t size, json_t *o)
{
	struct jbuf text, strs, want;
	struct ev_file v;
	char err[128];

	jbuf_init(&text);
	jbuf_init(&strs);
	jbuf_init(&want);
	if (event_file_text(&f->ctx, copy, size, TEXT_EID, &text, &strs, &v, err, sizeof(err)))
		fail_msg("event_file_text failed where event_to_json did not: %s", err);
	json_object_set_new(o, "eid", json_integer(TEXT_EID));
	assert_int_equal(json_out(&want, o), 0);
	json_object_del(o, "eid");
	if (text.len != want.len || memcmp(text.p, want.p, want.len))
		fail_msg("text path:\n  %s\nobject:\n  %s", text.p, want.p);
	same_str("type", v.type, ostr(o, "type"));
	same_str("comm", v.comm, ostr(o, "comm"));
	same_str("path", v.path, ostr(o, "path"));
	same_str("new_path", v.new_path, ostr(o, "new_path"));
	same_str("access", v.access, ostr(o, "access"));
	assert_int_equal(v.ts_ns, json_integer_value(json_object_get(o, "ts_ns")));
	assert_int_equal(v.session, json_integer_value(json_object_get(o, "session")));
	assert_int_equal(v.pid, json_integer_value(json_object_get(o, "pid")));
	assert_int_equal(v.start_ns, json_integer_value(json_object_get(o, "start_ns")));
	assert_int_equal(v.eid, TEXT_EID);
	assert_int_equal(v.ok, json_integer_value(json_object_get(o, "ret")) >= 0);
	jbuf_free(&text);
	jbuf_free(&strs);
	jbuf_free(&want);
}

/* The text path must refuse what the object's refuses. */
static void check_text_path_bad(struct fx *f, const void *copy, size_t size, const char *what)
{
	struct jbuf text, strs;
	struct ev_file v;
	char err[128] = "(untouched)";

	jbuf_init(&text);
	jbuf_init(&strs);
	if (!event_file_text(&f->ctx, copy, size, TEXT_EID, &text, &strs, &v, err, sizeof(err)))
		fail_msg("%s: the text path accepted a malformed record: %s", what, text.p);
	if (!strstr(err, "malformed"))
		fail_msg("%s: text path: no error message (err = \"%s\")", what, err);
	jbuf_free(&text);
	jbuf_free(&strs);
}

static bool is_file_record(const void *r, size_t size)
{
	const struct at_hdr *h = r;

	return size >= sizeof(*h) && event_is_file(h->kind);
}

/* Decodes an exact heap copy of r[0..size); fails the test on NULL. */
static json_t *decode(struct fx *f, const void *r, size_t size)
{
	void *copy = exact(r, size);
	json_t *o;

	f->err[0] = '\0';
	o = event_to_json(&f->ctx, copy, size, f->err, sizeof(f->err));
	if (!o) {
		free(copy);
		fail_msg("event_to_json returned NULL: %s", f->err);
	}
	if (is_file_record(copy, size))
		check_text_path(f, copy, size, o);
	free(copy);
	return o;
}

/* The record must be rejected, with a message. */
static void decode_bad(struct fx *f, const void *r, size_t size, const char *what)
{
	void *copy = exact(r, size);
	json_t *o;

	strcpy(f->err, "(untouched)");
	o = event_to_json(&f->ctx, copy, size, f->err, sizeof(f->err));
	if (o) {
		char *s = json_dumps(o, JSON_SORT_KEYS);

		free(copy);
		fail_msg("%s: malformed record accepted: %s", what, s ? s : "?");
	}
	if (strstr(f->err, "malformed") == NULL) {
		free(copy);
		fail_msg("%s: no error message (err = \"%s\")", what, f->err);
	}
	if (is_file_record(copy, size))
		check_text_path_bad(f, copy, size, what);
	free(copy);
}

static json_t *get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		char *s = json_dumps(o, JSON_SORT_KEYS);

		fail_msg("field \"%s\" missing in %s", key, s ? s : "?");
	}
	return v;
}

static void expect_str(json_t *o, const char *key, const char *want)
{
	json_t *v = get(o, key);

	if (!json_is_string(v))
		fail_msg("field \"%s\" is not a string", key);
	if (strcmp(json_string_value(v), want) != 0)
		fail_msg("field \"%s\": got \"%s\", want \"%s\"", key, json_string_value(v), want);
}

static void expect_int(json_t *o, const char *key, json_int_t want)
{
	json_t *v = get(o, key);

	if (!json_is_integer(v))
		fail_msg("field \"%s\" is not an integer", key);
	if (json_integer_value(v) != want)
		fail_msg("field \"%s\": got %lld, want %lld", key, (long long)json_integer_value(v),
			 (long long)want);
}

static void expect_bool(json_t *o, const char *key, bool want)
{
	json_t *v = get(o, key);

	if (!json_is_boolean(v))
		fail_msg("field \"%s\" is not a boolean", key);
	if (json_is_true(v) != want)
		fail_msg("field \"%s\": got %s, want %s", key, json_is_true(v) ? "true" : "false",
			 want ? "true" : "false");
}

static void expect_null(json_t *o, const char *key)
{
	if (!json_is_null(get(o, key)))
		fail_msg("field \"%s\" is not null", key);
}

static void expect_absent(json_t *o, const char *key)
{
	if (json_object_get(o, key))
		fail_msg("field \"%s\" should be absent", key);
}

/* The array under key holds exactly the n strings of want. */
static void expect_str_array(json_t *o, const char *key, const char *const *want, size_t n)
{
	json_t *a = get(o, key);

	if (!json_is_array(a))
		fail_msg("field \"%s\" is not an array", key);
	if (json_array_size(a) != n) {
		char *s = json_dumps(a, 0);

		fail_msg("field \"%s\": %zu entries, want %zu: %s", key, json_array_size(a), n,
			 s ? s : "?");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);

		if (!json_is_string(v))
			fail_msg("%s[%zu] is not a string", key, i);
		if (strcmp(json_string_value(v), want[i]) != 0)
			fail_msg("%s[%zu]: got \"%s\", want \"%s\"", key, i, json_string_value(v),
				 want[i]);
	}
}

static void expect_common(json_t *o, const char *type)
{
	expect_str(o, "type", type);
	expect_int(o, "ts_ns", (json_int_t)(T_TS + T_WALL_OFFSET));
	expect_int(o, "session", T_SESSION);
	expect_int(o, "pid", T_PID);
	expect_int(o, "tid", T_TID);
	expect_int(o, "ppid", T_PPID);
	expect_int(o, "start_ns", (json_int_t)T_START);
	expect_str(o, "comm", "agent");
	expect_int(o, "uid", T_UID);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- exec ------------------------------------------------------------------ */

static void test_exec_full(void **state)
{
	struct fx *f = *state;
	static const char argv[] = "ls\0-la\0/tmp dir\0";
	const struct exec_spec s = {
		.argv = argv, .argv_len = sizeof(argv), .argc = 3,
		.filename = "/bin/ls", .exe = "/usr/bin/ls", .cwd = "/home/u/proj",
		.cgroup = "/system.slice/docker-" HEX64 ".scope", .cgroup_id = 9876,
	};
	static const char *const want[] = { "ls", "-la", "/tmp dir" };
	size_t size;
	struct at_exec *e = mk_exec(&s, &size);
	json_t *o = decode(f, e, size);

	expect_common(o, "exec");
	expect_str_array(o, "argv", want, 3);
	expect_bool(o, "argv_truncated", false);
	expect_str(o, "filename", "/bin/ls");
	expect_str(o, "exe", "/usr/bin/ls");
	expect_str(o, "cwd", "/home/u/proj");
	expect_int(o, "euid", 0);
	expect_int(o, "gid", 1001);
	expect_int(o, "sid", 4000);
	expect_int(o, "parent_start_ns", 111);
	expect_int(o, "cgroup_id", 9876);
	expect_str(o, "cgroup", "/system.slice/docker-" HEX64 ".scope");
	expect_str(o, "container_id", HEX64);
	json_decref(o);
	free(e);
}

/* As the kernel sends it: no cgroup string, named by id in user space. */
static void test_exec_no_cgroup_string(void **state)
{
	struct fx *f = *state;
	static const char argv[] = "true\0";
	const struct exec_spec s = {
		.argv = argv, .argv_len = sizeof(argv), .argc = 1,
		.filename = "/usr/bin/true", .exe = "/usr/bin/true", .cwd = "/",
		.cgroup_id = 1,
	};
	size_t size;
	struct at_exec *e = mk_exec(&s, &size);
	json_t *o = decode(f, e, size);
	static const char *const want[] = { "true" };

	expect_str_array(o, "argv", want, 1);
	expect_null(o, "cgroup"); /* no cgroup_names in the context */
	expect_null(o, "container_id");
	expect_int(o, "cgroup_id", 1);
	json_decref(o);
	free(e);
}

static void test_exec_argv_truncated(void **state)
{
	struct fx *f = *state;
	char *argv = malloc(AT_ARGV_MAX);
	struct exec_spec s = {
		.flags = AT_F_ARGV_TRUNC, .argc = 2,
		.filename = "/usr/bin/echo", .exe = "/usr/bin/echo", .cwd = "/tmp",
	};
	size_t size;
	struct at_exec *e;
	json_t *o, *a;

	/* "echo\0" then a long argument cut at AT_ARGV_MAX - 1, the NUL added */
	assert_non_null(argv);
	memcpy(argv, "echo", 5);
	memset(argv + 5, 'x', AT_ARGV_MAX - 5);
	argv[AT_ARGV_MAX - 1] = '\0';
	s.argv = argv;
	s.argv_len = AT_ARGV_MAX;
	e = mk_exec(&s, &size);
	o = decode(f, e, size);
	expect_bool(o, "argv_truncated", true);
	a = get(o, "argv");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "echo");
	assert_int_equal(strlen(json_string_value(json_array_get(a, 1))), AT_ARGV_MAX - 6);
	expect_str(o, "filename", "/usr/bin/echo");
	expect_str(o, "cwd", "/tmp");
	json_decref(o);
	free(e);
	free(argv);
}

/* argv_len bytes without a final NUL: the last argument ends at argv_len and
 * the strings after it are still found where the lengths say. */
static void test_exec_argv_without_final_nul(void **state)
{
	struct fx *f = *state;
	static const char argv[] = { 'l', 's', '\0', '-', 'l' };
	const struct exec_spec s = {
		.argv = argv, .argv_len = sizeof(argv), .argc = 2,
		.filename = "/bin/ls", .exe = "/usr/bin/ls", .cwd = "/root",
	};
	static const char *const want[] = { "ls", "-l" };
	size_t size;
	struct at_exec *e = mk_exec(&s, &size);
	json_t *o = decode(f, e, size);

	expect_str_array(o, "argv", want, 2);
	expect_str(o, "filename", "/bin/ls");
	expect_str(o, "exe", "/usr/bin/ls");
	expect_str(o, "cwd", "/root");
	json_decref(o);
	free(e);
}

static void test_exec_argv_edge_cases(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *argv;
		size_t len;
		uint32_t argc;
		size_t n;
		const char *want[4];
	} cases[] = {
		/* the kernel's record for an empty argv: one NUL */
		{ "", 1, 0, 0, { NULL } },
		{ NULL, 0, 0, 0, { NULL } },
		/* an empty argument in the middle */
		{ "a\0\0b", 5, 3, 3, { "a", "", "b" } },
		/* a single argument, no NUL at all */
		{ "abc", 3, 1, 1, { "abc" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct exec_spec s = {
			.argv = cases[i].argv, .argv_len = cases[i].len, .argc = cases[i].argc,
			.filename = "/bin/x",
		};
		size_t size;
		struct at_exec *e = mk_exec(&s, &size);
		json_t *o = decode(f, e, size);

		expect_str_array(o, "argv", cases[i].want, cases[i].n);
		expect_str(o, "filename", "/bin/x");
		expect_null(o, "exe");
		expect_null(o, "cwd");
		json_decref(o);
		free(e);
	}
}

/*
 * A final empty argument, e.g. `git commit -m ""`: the kernel's bytes are
 * "git\0commit\0-m\0\0" with argc 4. The argv must keep the "" argument.
 */
static void test_exec_argv_trailing_empty_argument(void **state)
{
	struct fx *f = *state;
	static const char argv[] = "git\0commit\0-m\0"; /* + the literal's NUL */
	const struct exec_spec s = {
		.argv = argv, .argv_len = sizeof(argv), .argc = 4,
		.filename = "/usr/bin/git",
	};
	static const char *const want[] = { "git", "commit", "-m", "" };
	size_t size;
	struct at_exec *e = mk_exec(&s, &size);
	json_t *o = decode(f, e, size);

	expect_str_array(o, "argv", want, 4);
	json_decref(o);
	free(e);
}

/* execve("/bin/x", {"", NULL}, ...): argc 1, argv bytes "\0". */
static void test_exec_argv_single_empty_argument(void **state)
{
	struct fx *f = *state;
	const struct exec_spec s = {
		.argv = "", .argv_len = 1, .argc = 1, .filename = "/bin/x",
	};
	static const char *const want[] = { "" };
	size_t size;
	struct at_exec *e = mk_exec(&s, &size);
	json_t *o = decode(f, e, size);

	expect_str_array(o, "argv", want, 1);
	json_decref(o);
	free(e);
}

/* ---- fork / exit / session -------------------------------------------------- */

static void test_fork(void **state)
{
	struct fx *f = *state;

	for (int thread = 0; thread <= 1; thread++) {
		struct at_fork r;
		json_t *o;

		memset(&r, 0, sizeof(r));
		fill_hdr(&r.h, AT_EV_FORK, thread ? AT_F_THREAD : 0);
		r.h.size = sizeof(r);
		r.parent_start_ns = 999;
		r.parent_tid = 4000;
		r.child_tid = 4243;
		o = decode(f, &r, sizeof(r));
		expect_common(o, "fork");
		expect_bool(o, "thread", thread);
		expect_int(o, "parent_start_ns", 999);
		expect_int(o, "parent_tid", 4000);
		expect_int(o, "child_tid", 4243);
		json_decref(o);
	}
}

static void test_exit(void **state)
{
	struct fx *f = *state;
	struct at_exit r;
	json_t *o;

	memset(&r, 0, sizeof(r));
	fill_hdr(&r.h, AT_EV_EXIT, 0);
	r.h.size = sizeof(r);
	r.code = 3;
	r.signal = 0;
	r.duration_ns = 1500000000ULL;
	o = decode(f, &r, sizeof(r));
	expect_common(o, "exit");
	expect_int(o, "code", 3);
	expect_int(o, "signal", 0);
	expect_bool(o, "core_dumped", false);
	expect_int(o, "duration_ns", 1500000000LL);
	json_decref(o);

	/* killed by SIGSEGV, core dumped */
	fill_hdr(&r.h, AT_EV_EXIT, AT_F_CORE_DUMP);
	r.h.size = sizeof(r);
	r.code = 0;
	r.signal = 11;
	o = decode(f, &r, sizeof(r));
	expect_null(o, "code");
	expect_int(o, "signal", 11);
	expect_bool(o, "core_dumped", true);
	json_decref(o);

	/* killed by SIGKILL, no core */
	fill_hdr(&r.h, AT_EV_EXIT, 0);
	r.h.size = sizeof(r);
	r.signal = 9;
	o = decode(f, &r, sizeof(r));
	expect_null(o, "code");
	expect_int(o, "signal", 9);
	expect_bool(o, "core_dumped", false);
	json_decref(o);
}

static void test_session_record(void **state)
{
	struct fx *f = *state;
	struct at_session r;
	json_t *o;

	fill_hdr(&r.h, AT_EV_SESSION, 0);
	r.h.size = sizeof(r);
	o = decode(f, &r, sizeof(r));
	expect_common(o, "session");
	json_decref(o);
}

/* ---- files ----------------------------------------------------------------- */

static void test_open_success_kernel_path(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_OPEN, .ret = 3, .oflags = O_RDONLY | O_CLOEXEC,
		.path = "/etc/passwd", .arg = "../../etc/passwd",
	};
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o = decode(f, r, size);

	expect_common(o, "open");
	expect_str(o, "path", "/etc/passwd");
	expect_str(o, "path_source", "kernel");
	expect_str(o, "arg_path", "../../etc/passwd");
	expect_int(o, "flags", O_RDONLY | O_CLOEXEC);
	expect_str(o, "flags_str", "O_RDONLY|O_CLOEXEC");
	expect_str(o, "access", "read");
	expect_bool(o, "create", false);
	expect_bool(o, "truncate", false);
	expect_int(o, "mode", 0);
	expect_int(o, "ret", 3);
	expect_null(o, "errno");
	expect_int(o, "ino", 777);
	expect_int(o, "dev", 2049);
	expect_absent(o, "path_truncated");
	json_decref(o);
	free(r);
}

static void test_open_success_write_truncated_path(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_OPEN, .flags = AT_F_PATH_TRUNC, .ret = 4,
		.oflags = O_WRONLY | O_CREAT | O_TRUNC, .mode = 0644,
		.path = "/deep/out.txt", .arg = "out.txt",
	};
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o = decode(f, r, size);

	expect_str(o, "path", "/deep/out.txt");
	expect_str(o, "path_source", "kernel");
	expect_str(o, "flags_str", "O_WRONLY|O_CREAT|O_TRUNC");
	expect_str(o, "access", "write");
	expect_bool(o, "create", true);
	expect_bool(o, "truncate", true);
	expect_int(o, "mode", 0644);
	expect_bool(o, "path_truncated", true);
	json_decref(o);
	free(r);
}

static void test_open_failure_relative_lexical(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_OPEN, .flags = AT_F_PATH_LEXICAL, .ret = -ENOENT,
		.oflags = O_RDWR | O_CREAT, .mode = 0600,
		.path = "/home/u/proj/src", .arg = "../missing/./f.txt",
	};
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o = decode(f, r, size);

	expect_common(o, "open");
	expect_str(o, "path", "/home/u/proj/missing/f.txt");
	expect_str(o, "path_source", "lexical");
	expect_str(o, "arg_path", "../missing/./f.txt");
	expect_int(o, "ret", -ENOENT);
	expect_str(o, "errno", "ENOENT");
	expect_str(o, "access", "read-write");
	expect_str(o, "flags_str", "O_RDWR|O_CREAT");
	json_decref(o);
	free(r);
}

/* A failed open of an absolute name: the kernel sends no directory. */
static void test_open_failure_absolute(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_OPEN, .ret = -EACCES, .oflags = O_RDONLY,
		.arg = "/etc/./ssl/../shadow",
	};
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o = decode(f, r, size);

	expect_str(o, "path", "/etc/shadow");
	expect_str(o, "path_source", "lexical");
	expect_str(o, "arg_path", "/etc/./ssl/../shadow");
	expect_str(o, "errno", "EACCES");
	json_decref(o);
	free(r);
}

static void test_unlink_mkdir_chmod(void **state)
{
	struct fx *f = *state;
	const struct file_spec u = {
		.kind = AT_EV_UNLINK, .flags = AT_F_PATH_LEXICAL, .ret = 0, .oflags = 512,
		.path = "/tmp/w", .arg = "d",
	};
	const struct file_spec m = {
		.kind = AT_EV_MKDIR, .flags = AT_F_PATH_LEXICAL, .ret = -EEXIST, .mode = 0755,
		.path = "/tmp", .arg = "w/new/",
	};
	const struct file_spec c = {
		.kind = AT_EV_CHMOD, .ret = 0, .mode = 04755, .arg = "/usr/local/bin/x",
	};
	size_t size;
	struct at_file *r;
	json_t *o;

	r = mk_file(&u, &size);
	o = decode(f, r, size);
	expect_common(o, "unlink");
	expect_str(o, "path", "/tmp/w/d");
	expect_str(o, "path_source", "lexical");
	expect_str(o, "arg_path", "d");
	expect_int(o, "flags", 512);
	expect_int(o, "ret", 0);
	expect_null(o, "errno");
	json_decref(o);
	free(r);

	r = mk_file(&m, &size);
	o = decode(f, r, size);
	expect_common(o, "mkdir");
	expect_str(o, "path", "/tmp/w/new");
	expect_int(o, "mode", 0755);
	expect_str(o, "errno", "EEXIST");
	json_decref(o);
	free(r);

	r = mk_file(&c, &size);
	o = decode(f, r, size);
	expect_common(o, "chmod");
	expect_str(o, "path", "/usr/local/bin/x");
	expect_int(o, "mode", 04755);
	json_decref(o);
	free(r);
}

static void test_rename(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_RENAME, .flags = AT_F_PATH_LEXICAL, .ret = 0, .oflags = 1,
		.path = "/work/a", .arg = "old.txt", .path2 = "/work/b", .arg2 = "sub/../new.txt",
	};
	const struct file_spec abs = {
		.kind = AT_EV_RENAME, .ret = -EXDEV,
		.arg = "/x/y", .arg2 = "/mnt/other/y",
	};
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o = decode(f, r, size);

	expect_common(o, "rename");
	expect_str(o, "path", "/work/a/old.txt");
	expect_str(o, "arg_path", "old.txt");
	expect_str(o, "new_path", "/work/b/new.txt");
	expect_str(o, "new_arg_path", "sub/../new.txt");
	expect_int(o, "flags", 1);
	expect_int(o, "ret", 0);
	expect_null(o, "errno");
	json_decref(o);
	free(r);

	r = mk_file(&abs, &size);
	o = decode(f, r, size);
	expect_str(o, "path", "/x/y");
	expect_str(o, "new_path", "/mnt/other/y");
	expect_str(o, "errno", "EXDEV");
	json_decref(o);
	free(r);
}

/* A path whose length field ends before its NUL: only the bytes inside the
 * field are used. */
static void test_file_string_without_nul(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_OPEN, .ret = 3, .path = "/abcdef", .arg = "x",
	};
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o;

	/* "/abcdef\0x\0" read as path_len 4 ("/abc"), arg_len 6 ("def\0x\0") */
	r->path_len = 4;
	r->arg_len = 6;
	o = decode(f, r, size);
	expect_str(o, "path", "/abc");
	expect_str(o, "arg_path", "def");
	json_decref(o);
	free(r);
}

/* ---- non-UTF-8 bytes -------------------------------------------------------- */

static void test_non_utf8_path(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_OPEN, .ret = 3,
		.path = "/tmp/\xff\xfe-caf\xc3\xa9-\xc0\xaf-\xed\xa0\x80-\xe2\x82",
		.arg = "\x80x",
	};
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o = decode(f, r, size);
	char *dump;

	expect_str(o, "path",
		   "/tmp/" FFFD FFFD "-caf\xc3\xa9-" FFFD FFFD "-" FFFD FFFD FFFD "-" FFFD FFFD);
	expect_str(o, "arg_path", FFFD "x");
	/* and the event serialises */
	dump = json_dumps(o, 0);
	assert_non_null(dump);
	free(dump);
	json_decref(o);
	free(r);
}

static void test_non_utf8_comm_and_argv(void **state)
{
	struct fx *f = *state;
	static const char argv[] = "a\xff\0\xf4\x90\x80\x80\0";
	const struct exec_spec s = {
		.argv = argv, .argv_len = sizeof(argv) - 1, .argc = 2, .filename = "/x",
	};
	static const char *const want[] = { "a" FFFD, FFFD FFFD FFFD FFFD };
	size_t size;
	struct at_exec *e = mk_exec(&s, &size);
	json_t *o;

	/* a comm that fills all 16 bytes, no NUL, invalid byte at the end */
	memcpy(e->h.comm, "0123456789abcde\xfe", AT_COMM_LEN);
	o = decode(f, e, size);
	expect_str(o, "comm", "0123456789abcde" FFFD);
	expect_str_array(o, "argv", want, 2);
	json_decref(o);
	free(e);
}

static void test_json_bytes_string(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ "", 0, "" },
		{ "plain", 5, "plain" },
		{ "\xe2\x82\xac", 3, "\xe2\x82\xac" },           /* U+20AC */
		{ "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },   /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf" },   /* U+10FFFF */
		{ "\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD },  /* > U+10FFFF */
		{ "\xc1\xbf", 2, FFFD FFFD },                    /* overlong */
		{ "\xe0\x80\xaf", 3, FFFD FFFD FFFD },           /* overlong */
		{ "\xed\xbf\xbf", 3, FFFD FFFD FFFD },           /* surrogate */
		{ "\xe2\x82", 2, FFFD FFFD },                    /* cut short */
		{ "a\xf0\x9f\x98", 4, "a" FFFD FFFD FFFD },      /* cut short */
		{ "\xfe\xff", 2, FFFD FFFD },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_bytes_string(cases[i].in, cases[i].len);

		assert_non_null(j);
		assert_string_equal(json_string_value(j), cases[i].want);
		json_decref(j);
	}
	/* a NUL inside is kept, with the length */
	{
		json_t *j = json_bytes_string("a\0b", 3);

		assert_non_null(j);
		assert_int_equal(json_string_length(j), 3);
		assert_memory_equal(json_string_value(j), "a\0b", 3);
		json_decref(j);
	}
	/* jansson's own check is skipped: whatever comes in, what comes out
	 * must pass it (random bytes, biased towards UTF-8 lead bytes) */
	{
		static const unsigned char pick[] = { 0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2,
						      0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff };
		uint64_t x = 0x2545f4914f6cdd1dULL;
		unsigned char in[24];

		for (int round = 0; round < 20000; round++) {
			size_t n = (size_t)(round % (int)sizeof(in));
			json_t *j, *check;

			for (size_t k = 0; k < n; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				in[k] = (x & 3) ? pick[x % sizeof(pick)] : (unsigned char)(x >> 8);
			}
			j = json_bytes_string((const char *)in, n);
			assert_non_null(j);
			check = json_stringn(json_string_value(j), json_string_length(j));
			if (!check)
				fail_msg("not valid UTF-8 for jansson (round %d)", round);
			json_decref(check);
			json_decref(j);
		}
	}

	/* longer than the decoder's stack buffer, all invalid: 3x growth */
	{
		size_t n = 5000;
		char *in = malloc(n);
		json_t *j;
		const char *s;

		assert_non_null(in);
		memset(in, 0xff, n);
		j = json_bytes_string(in, n);
		assert_non_null(j);
		s = json_string_value(j);
		assert_int_equal(json_string_length(j), 3 * n);
		for (size_t i = 0; i < n; i++)
			assert_memory_equal(s + 3 * i, FFFD, 3);
		json_decref(j);
		free(in);
	}
}

/* ---- sockets --------------------------------------------------------------- */

static void test_connect_v4(void **state)
{
	struct fx *f = *state;
	struct at_net n;
	json_t *o;

	mk_net(&n, AT_EV_CONNECT, AF_INET, SOCK_STREAM);
	set_v4(n.saddr, 10, 0, 0, 2);
	set_v4(n.daddr, 203, 0, 113, 7);
	n.sport = 40000;
	n.dport = 443;
	n.ret = -EINPROGRESS;
	o = decode(f, &n, sizeof(n));
	expect_common(o, "connect");
	expect_str(o, "family", "inet");
	expect_str(o, "sotype", "stream");
	expect_str(o, "saddr", "10.0.0.2");
	expect_int(o, "sport", 40000);
	expect_str(o, "daddr", "203.0.113.7");
	expect_int(o, "dport", 443);
	expect_null(o, "unix_path");
	expect_null(o, "domain");
	expect_int(o, "fd", 5);
	expect_int(o, "ret", -EINPROGRESS);
	expect_str(o, "errno", "EINPROGRESS");
	assert_true(json_is_integer(get(o, "sock")));
	expect_absent(o, "backlog");
	expect_absent(o, "bytes_sent");
	json_decref(o);
}

static void test_connect_v6_and_listen(void **state)
{
	struct fx *f = *state;
	struct at_net n;
	json_t *o;

	mk_net(&n, AT_EV_CONNECT, AF_INET6, SOCK_DGRAM);
	memcpy(n.saddr, V6_LOOP, 16);
	memcpy(n.daddr, V6_DB8_1, 16);
	n.sport = 5353;
	n.dport = 53;
	n.ret = 0;
	o = decode(f, &n, sizeof(n));
	expect_str(o, "family", "inet6");
	expect_str(o, "sotype", "dgram");
	expect_str(o, "saddr", "::1");
	expect_int(o, "sport", 5353);
	expect_str(o, "daddr", "2001:db8::1");
	expect_int(o, "dport", 53);
	expect_int(o, "ret", 0);
	expect_null(o, "errno");
	json_decref(o);

	mk_net(&n, AT_EV_LISTEN, AF_INET6, SOCK_STREAM);
	n.sport = 8080;
	n.backlog = 128;
	o = decode(f, &n, sizeof(n));
	expect_common(o, "listen");
	expect_str(o, "saddr", "::");
	expect_int(o, "sport", 8080);
	expect_int(o, "backlog", 128);
	json_decref(o);
}

static void test_sock_id_stable_and_hidden(void **state)
{
	struct fx *f = *state;
	struct at_net n;
	json_t *a, *b, *c;

	mk_net(&n, AT_EV_CONNECT, AF_INET, SOCK_STREAM);
	a = decode(f, &n, sizeof(n));
	n.h.kind = AT_EV_SOCK_CLOSE;
	b = decode(f, &n, sizeof(n));
	n.sock += 64;
	c = decode(f, &n, sizeof(n));
	assert_int_equal(json_integer_value(get(a, "sock")), json_integer_value(get(b, "sock")));
	assert_int_not_equal(json_integer_value(get(a, "sock")), json_integer_value(get(c, "sock")));
	/* never the kernel address itself */
	assert_int_not_equal(json_integer_value(get(a, "sock")), (json_int_t)0xffff888012345678ULL);
	assert_true(json_integer_value(get(a, "sock")) >= 0);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void test_unix_sockets(void **state)
{
	struct fx *f = *state;
	struct at_net n;
	json_t *o;

	/* abstract: a leading NUL, shown as '@' */
	mk_net(&n, AT_EV_CONNECT, AF_UNIX, SOCK_STREAM);
	memcpy(n.unix_path, "\0my-abstract", 12);
	o = decode(f, &n, sizeof(n));
	expect_str(o, "family", "unix");
	expect_str(o, "unix_path", "@my-abstract");
	expect_null(o, "saddr");
	expect_null(o, "daddr");
	expect_null(o, "domain");
	json_decref(o);

	/* a file socket */
	mk_net(&n, AT_EV_BIND, AF_UNIX, SOCK_SEQPACKET);
	strcpy(n.unix_path, "/run/agent.sock");
	o = decode(f, &n, sizeof(n));
	expect_common(o, "bind");
	expect_str(o, "sotype", "seqpacket");
	expect_str(o, "unix_path", "/run/agent.sock");
	json_decref(o);

	/* sun_path filled to the last byte, no NUL: 108 characters */
	mk_net(&n, AT_EV_ACCEPT, AF_UNIX, SOCK_STREAM);
	memset(n.unix_path, 'p', AT_UNIX_PATH_MAX);
	o = decode(f, &n, sizeof(n));
	expect_common(o, "accept");
	assert_int_equal(json_string_length(get(o, "unix_path")), AT_UNIX_PATH_MAX);
	json_decref(o);

	/* abstract, filled to the last byte: '@' + 107 characters */
	mk_net(&n, AT_EV_CONNECT, AF_UNIX, SOCK_STREAM);
	memset(n.unix_path, 'q', AT_UNIX_PATH_MAX);
	n.unix_path[0] = '\0';
	o = decode(f, &n, sizeof(n));
	assert_int_equal(json_string_length(get(o, "unix_path")), AT_UNIX_PATH_MAX);
	assert_int_equal(json_string_value(get(o, "unix_path"))[0], '@');
	json_decref(o);
}

static void test_sock_close(void **state)
{
	struct fx *f = *state;
	struct at_net n;
	json_t *o;

	mk_net(&n, AT_EV_SOCK_CLOSE, AF_INET, SOCK_STREAM);
	set_v4(n.saddr, 192, 168, 1, 10);
	set_v4(n.daddr, 198, 51, 100, 1);
	n.sport = 51000;
	n.dport = 80;
	n.bytes_sent = 1234;
	n.bytes_recv = 5000000000ULL;
	o = decode(f, &n, sizeof(n));
	expect_common(o, "sock_close");
	expect_str(o, "family", "inet");
	expect_str(o, "saddr", "192.168.1.10");
	expect_int(o, "sport", 51000);
	expect_str(o, "daddr", "198.51.100.1");
	expect_int(o, "dport", 80);
	expect_null(o, "domain");
	expect_int(o, "bytes_sent", 1234);
	expect_int(o, "bytes_recv", 5000000000LL);
	assert_true(json_is_integer(get(o, "sock")));
	json_decref(o);
}

/* ---- dns ------------------------------------------------------------------- */

static void test_dns_answer_then_connect_domain(void **state)
{
	struct fx *f = *state;
	struct wire w;
	struct at_dns *d = malloc(sizeof(*d));
	struct at_net n;
	json_t *o, *answers, *a;

	assert_non_null(d);
	wire_cname_a(&w);
	mk_dns(d, 0, w.b, w.n);
	o = decode(f, d, sizeof(*d));
	expect_common(o, "dns");
	expect_str(o, "server", "8.8.4.4");
	expect_int(o, "port", 53);
	expect_int(o, "id", 0xbeef);
	expect_bool(o, "response", true);
	expect_int(o, "rcode", 0);
	expect_str(o, "qname", "api.example.com");
	expect_str(o, "qtype", "A");
	expect_absent(o, "error");
	answers = get(o, "answers");
	assert_true(json_is_array(answers));
	assert_int_equal(json_array_size(answers), 2);
	a = json_array_get(answers, 0);
	expect_str(a, "name", "api.example.com");
	expect_str(a, "type", "CNAME");
	expect_str(a, "target", "edge.example.net");
	expect_int(a, "ttl", 60);
	expect_absent(a, "addr");
	a = json_array_get(answers, 1);
	expect_str(a, "name", "edge.example.net");
	expect_str(a, "type", "A");
	expect_str(a, "addr", "93.184.216.34");
	expect_int(a, "ttl", 300);
	expect_absent(a, "target");
	json_decref(o);

	/* a connect to the answered address, same session: named */
	mk_net(&n, AT_EV_CONNECT, AF_INET, SOCK_STREAM);
	set_v4(n.daddr, 93, 184, 216, 34);
	n.dport = 443;
	o = decode(f, &n, sizeof(n));
	expect_str(o, "domain", "api.example.com");
	json_decref(o);

	/* the v4-mapped form on a dual-stack socket: named too */
	mk_net(&n, AT_EV_CONNECT, AF_INET6, SOCK_STREAM);
	memset(n.daddr, 0, 16);
	n.daddr[10] = n.daddr[11] = 0xff;
	n.daddr[12] = 93;
	n.daddr[13] = 184;
	n.daddr[14] = 216;
	n.daddr[15] = 34;
	o = decode(f, &n, sizeof(n));
	expect_str(o, "daddr", "::ffff:93.184.216.34");
	expect_str(o, "domain", "api.example.com");
	json_decref(o);

	/* and its close */
	mk_net(&n, AT_EV_SOCK_CLOSE, AF_INET, SOCK_STREAM);
	set_v4(n.daddr, 93, 184, 216, 34);
	o = decode(f, &n, sizeof(n));
	expect_str(o, "domain", "api.example.com");
	json_decref(o);

	/* another session did not resolve it */
	mk_net(&n, AT_EV_CONNECT, AF_INET, SOCK_STREAM);
	set_v4(n.daddr, 93, 184, 216, 34);
	n.h.session = T_SESSION + 1;
	o = decode(f, &n, sizeof(n));
	expect_null(o, "domain");
	json_decref(o);

	/* an address nobody resolved */
	mk_net(&n, AT_EV_CONNECT, AF_INET, SOCK_STREAM);
	set_v4(n.daddr, 93, 184, 216, 35);
	o = decode(f, &n, sizeof(n));
	expect_null(o, "domain");
	json_decref(o);
	free(d);
}

static void test_dns_aaaa_over_tcp_then_connect_v6(void **state)
{
	struct fx *f = *state;
	struct wire w, t;
	struct at_dns *d = malloc(sizeof(*d));
	struct at_net n;
	json_t *o, *a;

	assert_non_null(d);
	wire_aaaa(&w);
	t.n = 0;
	w16(&t, (unsigned)w.n);
	memcpy(t.b + t.n, w.b, w.n);
	t.n += w.n;
	mk_dns(d, AT_F_DNS_TCP, t.b, t.n);
	d->family = AF_INET6;
	memcpy(d->server, V6_DB8_1, 16);
	o = decode(f, d, sizeof(*d));
	expect_str(o, "server", "2001:db8::1");
	expect_int(o, "id", 7);
	expect_str(o, "qname", "v6.example.org");
	expect_str(o, "qtype", "AAAA");
	a = json_array_get(get(o, "answers"), 0);
	assert_non_null(a);
	expect_str(a, "type", "AAAA");
	expect_str(a, "addr", "2001:db8::5");
	expect_int(a, "ttl", 30);
	json_decref(o);

	mk_net(&n, AT_EV_CONNECT, AF_INET6, SOCK_STREAM);
	memcpy(n.daddr, V6_DB8_5, 16);
	o = decode(f, &n, sizeof(n));
	expect_str(o, "domain", "v6.example.org");
	json_decref(o);
	free(d);
}

static void test_dns_query_adds_nothing(void **state)
{
	struct fx *f = *state;
	struct wire w;
	struct at_dns *d = malloc(sizeof(*d));
	json_t *o;

	assert_non_null(d);
	wire_cname_a(&w);
	w.b[2] = 0x01; /* QR = 0: a query (with answers, which a query must not add) */
	w.b[3] = 0x00;
	mk_dns(d, 0, w.b, w.n);
	o = decode(f, d, sizeof(*d));
	expect_bool(o, "response", false);
	json_decref(o);
	assert_int_equal(dnscache_count(f->ctx.dns), 0);
	free(d);
}

static void test_dns_garbage(void **state)
{
	struct fx *f = *state;
	struct at_dns *d = malloc(sizeof(*d));
	uint8_t junk[40];
	json_t *o;

	assert_non_null(d);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 0xc0); /* pointers and reserved label types */
	mk_dns(d, 0, junk, sizeof(junk));
	o = decode(f, d, sizeof(*d));
	expect_common(o, "dns");
	expect_str(o, "error", "malformed DNS message");
	expect_int(o, "len", sizeof(junk));
	expect_str(o, "server", "8.8.4.4");
	json_decref(o);

	/* too short for a header, as TCP too */
	mk_dns(d, AT_F_DNS_TCP, junk, 3);
	o = decode(f, d, sizeof(*d));
	assert_true(json_is_string(get(o, "error")));
	json_decref(o);

	/* empty */
	mk_dns(d, 0, junk, 0);
	o = decode(f, d, sizeof(*d));
	assert_true(json_is_string(get(o, "error")));
	expect_int(o, "len", 0);
	json_decref(o);

	/* a length beyond the captured bytes is clamped to AT_DNS_MAX */
	mk_dns(d, AT_F_DNS_TRUNC, junk, sizeof(junk));
	d->len = 0xffff;
	o = decode(f, d, sizeof(*d));
	assert_true(json_is_string(get(o, "error")));
	expect_int(o, "len", AT_DNS_MAX);
	expect_bool(o, "truncated", true);
	json_decref(o);

	/* an unknown server family */
	mk_dns(d, 0, junk, sizeof(junk));
	d->family = 0;
	o = decode(f, d, sizeof(*d));
	expect_null(o, "server");
	json_decref(o);
	assert_int_equal(dnscache_count(f->ctx.dns), 0);
	free(d);
}

/* A response cut inside its answers still decodes what is whole. */
static void test_dns_truncated_capture(void **state)
{
	struct fx *f = *state;
	struct wire w;
	struct at_dns *d = malloc(sizeof(*d));
	json_t *o;

	assert_non_null(d);
	wire_cname_a(&w);
	mk_dns(d, AT_F_DNS_TRUNC, w.b, w.n - 2);
	o = decode(f, d, sizeof(*d));
	expect_bool(o, "truncated", true);
	expect_absent(o, "error");
	expect_str(o, "qname", "api.example.com");
	assert_int_equal(json_array_size(get(o, "answers")), 1); /* the CNAME */
	json_decref(o);
	free(d);
}

/* ---- malformed records ----------------------------------------------------- */

static void test_bad_sizes_and_kinds(void **state)
{
	struct fx *f = *state;
	struct at_fork r;
	json_t *o;

	memset(&r, 0, sizeof(r));
	fill_hdr(&r.h, AT_EV_FORK, 0);
	r.h.size = sizeof(r);

	/* smaller than the header */
	decode_bad(f, &r, 0, "size 0");
	decode_bad(f, &r, 1, "size 1");
	decode_bad(f, &r, sizeof(struct at_hdr) - 1, "size hdr-1");

	/* h.size larger than the buffer */
	r.h.size = sizeof(r) + 1;
	decode_bad(f, &r, sizeof(r), "h.size > size");
	r.h.size = UINT32_MAX;
	decode_bad(f, &r, sizeof(r), "h.size = UINT32_MAX");
	r.h.size = sizeof(r);
	o = decode(f, &r, sizeof(r));
	json_decref(o);

	/* unknown kinds */
	r.h.kind = AT_EV_NONE;
	decode_bad(f, &r, sizeof(r), "kind NONE");
	r.h.kind = AT_EV__MAX;
	decode_bad(f, &r, sizeof(r), "kind __MAX");
	r.h.kind = 0xffff;
	decode_bad(f, &r, sizeof(r), "kind 0xffff");
}

/* Each kind's fixed part must be whole. */
static void test_bad_short_fixed_parts(void **state)
{
	struct fx *f = *state;
	static const struct {
		unsigned kind;
		size_t fixed;
	} kinds[] = {
		{ AT_EV_EXEC, sizeof(struct at_exec) },    { AT_EV_FORK, sizeof(struct at_fork) },
		{ AT_EV_EXIT, sizeof(struct at_exit) },    { AT_EV_OPEN, sizeof(struct at_file) },
		{ AT_EV_UNLINK, sizeof(struct at_file) },  { AT_EV_RENAME, sizeof(struct at_file) },
		{ AT_EV_MKDIR, sizeof(struct at_file) },   { AT_EV_CHMOD, sizeof(struct at_file) },
		{ AT_EV_CONNECT, sizeof(struct at_net) },  { AT_EV_ACCEPT, sizeof(struct at_net) },
		{ AT_EV_BIND, sizeof(struct at_net) },     { AT_EV_LISTEN, sizeof(struct at_net) },
		{ AT_EV_SOCK_CLOSE, sizeof(struct at_net) }, { AT_EV_DNS, sizeof(struct at_dns) },
	};
	uint8_t *buf = calloc(1, sizeof(struct at_dns));

	assert_non_null(buf);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct at_hdr h;
		char what[64];

		snprintf(what, sizeof(what), "%s fixed-1", event_kind_name(kinds[i].kind));
		fill_hdr(&h, kinds[i].kind, 0);
		h.size = (uint32_t)(kinds[i].fixed - 1);
		memcpy(buf, &h, sizeof(h));
		decode_bad(f, buf, kinds[i].fixed - 1, what);
		snprintf(what, sizeof(what), "%s header only", event_kind_name(kinds[i].kind));
		h.size = sizeof(h);
		memcpy(buf, &h, sizeof(h));
		decode_bad(f, buf, sizeof(h), what);
	}
	free(buf);
}

static void test_bad_exec_string_lengths(void **state)
{
	struct fx *f = *state;
	static const char argv[] = "sh\0-c\0echo hi\0";
	const struct exec_spec s = {
		.argv = argv, .argv_len = sizeof(argv), .argc = 3,
		.filename = "/bin/sh", .exe = "/usr/bin/dash", .cwd = "/tmp",
		.cgroup = "/user.slice",
	};
	static const char *const names[] = { "argv_len", "filename_len", "exe_len", "cwd_len",
					     "cgroup_len" };
	size_t size;
	struct at_exec *e = mk_exec(&s, &size);
	json_t *o = decode(f, e, size);

	json_decref(o);
	for (int field = 0; field < 5; field++) {
		uint16_t *lens[5] = { &e->argv_len, &e->filename_len, &e->exe_len, &e->cwd_len,
				      &e->cgroup_len };
		uint16_t saved = *lens[field];
		char what[64];

		/* one byte too many, then the largest value */
		*lens[field] = (uint16_t)(saved + 1);
		snprintf(what, sizeof(what), "exec %s + 1", names[field]);
		decode_bad(f, e, size, what);
		*lens[field] = 0xffff;
		snprintf(what, sizeof(what), "exec %s = 0xffff", names[field]);
		decode_bad(f, e, size, what);
		*lens[field] = saved;
	}
	/* the lengths as built fit exactly */
	o = decode(f, e, size);
	json_decref(o);
	free(e);
}

static void test_bad_file_string_lengths(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_RENAME, .flags = AT_F_PATH_LEXICAL,
		.path = "/a", .arg = "b", .path2 = "/c", .arg2 = "d",
	};
	static const char *const names[] = { "path_len", "arg_len", "path2_len", "arg2_len" };
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o = decode(f, r, size);

	json_decref(o);
	for (unsigned kind = AT_EV_OPEN; kind <= AT_EV_CHMOD; kind++) {
		r->h.kind = (uint16_t)kind;
		for (int field = 0; field < 4; field++) {
			uint16_t *lens[4] = { &r->path_len, &r->arg_len, &r->path2_len,
					      &r->arg2_len };
			uint16_t saved = *lens[field];
			char what[64];

			*lens[field] = (uint16_t)(saved + 1);
			snprintf(what, sizeof(what), "%s %s + 1", event_kind_name(kind), names[field]);
			decode_bad(f, r, size, what);
			*lens[field] = 0xffff;
			snprintf(what, sizeof(what), "%s %s = 0xffff", event_kind_name(kind),
				 names[field]);
			decode_bad(f, r, size, what);
			*lens[field] = saved;
		}
	}
	free(r);
}

/*
 * The text path on what the tests above do not reach: pseudo paths, errno
 * values without a name, 64-bit inodes, characters JSON escapes, long
 * non-ASCII paths. decode() compares the text with the object's.
 */
static void test_text_path_edges(void **state)
{
	struct fx *f = *state;
	static char long_utf8[3 * 1200 + 8], long_bad[1500];
	const struct file_spec specs[] = {
		{ .kind = AT_EV_OPEN, .flags = AT_F_PATH_PSEUDO, .ret = 0, .path = "/dev/stdin",
		  .arg = "/dev/stdin" },
		{ .kind = AT_EV_OPEN, .ret = -4000, .oflags = 0101 | 01000000, .path = NULL,
		  .arg = "rel/x" },
		{ .kind = AT_EV_OPEN, .ret = -13, .oflags = 02, .arg = "/a/\"q\"\\b\x01\x1f\x7f" },
		{ .kind = AT_EV_OPEN, .flags = AT_F_PATH_TRUNC, .ret = 5, .path = "/deep/path",
		  .arg = "path" },
		{ .kind = AT_EV_OPEN, .ret = 3, .oflags = 010000000, .path = long_utf8, .arg = "x" },
		{ .kind = AT_EV_OPEN, .flags = AT_F_PATH_LEXICAL, .ret = -2, .path = "/cwd",
		  .arg = long_bad },
		{ .kind = AT_EV_OPEN, .ret = 3, .path = "", .arg = "" },
		{ .kind = AT_EV_RENAME, .ret = 0, .path = "/a", .arg = "a", .path2 = NULL,
		  .arg2 = NULL },
		{ .kind = AT_EV_RENAME, .flags = AT_F_PATH_LEXICAL, .ret = -18, .path = "/w",
		  .arg = "../x", .path2 = "/w", .arg2 = "y/./z" },
		{ .kind = AT_EV_MKDIR, .ret = -17, .mode = 0755, .arg = "/tmp/d" },
		{ .kind = AT_EV_CHMOD, .ret = 0, .mode = 04755, .arg = "/tmp/f" },
		{ .kind = AT_EV_UNLINK, .ret = -21, .oflags = 0x200, .arg = "/tmp/dir" },
	};

	for (size_t i = 0; i + 3 < sizeof(long_utf8) - 8; i += 3)
		memcpy(long_utf8 + i, "\xe2\x82\xac", 3);   /* U+20AC, valid */
	long_utf8[0] = '/';
	memset(long_bad, '\xfe', sizeof(long_bad) - 1);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		size_t size;
		struct at_file *r = mk_file(&specs[i], &size);
		json_t *o;

		if (i == 4)
			r->ino = 0x8000000000000001ull;  /* printed as a negative json_int_t */
		if (i == 2)
			memcpy(r->h.comm, "c\"o\\m\x02m\xff", 8);
		o = decode(f, r, size);   /* checks the text path */
		json_decref(o);
		free(r);
	}
}

/* A record whose h.size is smaller than the buffer is decoded from its own
 * bytes only (the buffer may hold more). */
static void test_record_in_larger_buffer(void **state)
{
	struct fx *f = *state;
	struct at_exit x;
	uint8_t buf[sizeof(x) + 16];
	json_t *o;

	memset(&x, 0, sizeof(x));
	fill_hdr(&x.h, AT_EV_EXIT, 0);
	x.h.size = sizeof(x);
	x.code = 1;
	memset(buf, 0xaa, sizeof(buf));
	memcpy(buf, &x, sizeof(x));
	o = decode(f, buf, sizeof(buf));
	expect_int(o, "code", 1);
	json_decref(o);
}

/* ---- memory: every JSON value made is freed -------------------------------- */

/* jansson's allocations, counted while a test runs, so that a value leaked by
 * the decoder shows up without a sanitizer. */
static long live_json_allocs;

static void *counting_malloc(size_t n)
{
	void *p = malloc(n);

	if (p)
		live_json_allocs++;
	return p;
}

static void counting_free(void *p)
{
	if (p)
		live_json_allocs--;
	free(p);
}

/* Decodes r (exact copy), frees the result, and returns the allocations
 * jansson still holds afterwards (0 when nothing leaked). */
static long leaked_by_decode(struct fx *f, const void *r, size_t size)
{
	void *copy = exact(r, size);
	json_malloc_t old_malloc;
	json_free_t old_free;
	json_t *o;
	long left;

	json_get_alloc_funcs(&old_malloc, &old_free);
	live_json_allocs = 0;
	json_set_alloc_funcs(counting_malloc, counting_free);
	o = event_to_json(&f->ctx, copy, size, f->err, sizeof(f->err));
	json_decref(o);
	left = live_json_allocs;
	json_set_alloc_funcs(old_malloc, old_free);
	free(copy);
	return left;
}

/* Malformed records are rejected without leaking what was built so far. */
static void test_no_leak_on_malformed(void **state)
{
	struct fx *f = *state;
	static const char argv[] = "sh\0-c\0true\0";
	const struct exec_spec es = {
		.argv = argv, .argv_len = sizeof(argv), .argc = 3,
		.filename = "/bin/sh", .exe = "/usr/bin/dash", .cwd = "/tmp", .cgroup = "/x",
	};
	const struct file_spec fs = {
		.kind = AT_EV_RENAME, .flags = AT_F_PATH_LEXICAL,
		.path = "/a", .arg = "b", .path2 = "/c", .arg2 = "d",
	};
	size_t esize, fsize;
	struct at_exec *e = mk_exec(&es, &esize);
	struct at_file *r = mk_file(&fs, &fsize);
	uint16_t *elens[5] = { &e->argv_len, &e->filename_len, &e->exe_len, &e->cwd_len,
			       &e->cgroup_len };
	uint16_t *flens[4] = { &r->path_len, &r->arg_len, &r->path2_len, &r->arg2_len };
	static const char *const enames[5] = { "argv_len", "filename_len", "exe_len", "cwd_len",
					       "cgroup_len" };
	static const char *const fnames[4] = { "path_len", "arg_len", "path2_len", "arg2_len" };
	long left;

	/* the well-formed records first: decoded and freed, nothing left */
	assert_int_equal(leaked_by_decode(f, e, esize), 0);
	assert_int_equal(leaked_by_decode(f, r, fsize), 0);

	for (int i = 0; i < 5; i++) {
		uint16_t saved = *elens[i];

		*elens[i] = 0xffff;
		left = leaked_by_decode(f, e, esize);
		if (left != 0)
			fail_msg("exec with %s = 0xffff: %ld JSON allocations leaked", enames[i],
				 left);
		*elens[i] = saved;
	}
	for (int i = 0; i < 4; i++) {
		uint16_t saved = *flens[i];

		*flens[i] = 0xffff;
		left = leaked_by_decode(f, r, fsize);
		if (left != 0)
			fail_msg("rename with %s = 0xffff: %ld JSON allocations leaked", fnames[i],
				 left);
		*flens[i] = saved;
	}
	/* a fixed part cut short (the header already decoded) */
	e->h.size = sizeof(*e) - 1;
	assert_int_equal(leaked_by_decode(f, e, sizeof(*e) - 1), 0);
	free(e);
	free(r);
}

/* ---- path_join_lexical ----------------------------------------------------- */

static void test_path_join_lexical(void **state)
{
	static const struct {
		const char *dir, *arg;
		const char *want; /* NULL: -1 expected */
	} cases[] = {
		{ "/a/b", "../c", "/a/c" },
		{ "/a/b", "c", "/a/b/c" },
		{ "/a/b", "./c/./d", "/a/b/c/d" },
		{ "/a/b", "../../..", "/" },
		{ "/", "..", "/" },
		{ "/", ".", "/" },
		{ "/", "../../x", "/x" },
		{ "/", "", "/" },
		{ "/a", ".", "/a" },
		{ "/a", "..", "/" },
		{ "/a/b/", "c/", "/a/b/c" },
		{ "/a//b", ".//c//d/", "/a/b/c/d" },
		{ "/a/b", "c/..", "/a/b" },
		{ "/a", "b/../..", "/" },
		{ "/a", "...", "/a/..." },
		{ "/a", "..b", "/a/..b" },
		{ "/a", ".hidden/x", "/a/.hidden/x" },
		{ "/ignored", "/abs/../y", "/y" },
		{ "/ignored", "/", "/" },
		{ "/ignored", "//x//", "/x" },
		{ "/dir with space", "f", "/dir with space/f" },
		/* absolute and normal already: as they are */
		{ "/ignored", "/usr/include/stdio.h", "/usr/include/stdio.h" },
		{ "/ignored", "/a", "/a" },
		{ "/ignored", "/.a/..b/...", "/.a/..b/..." },
		/* absolute, one step from normal */
		{ "/ignored", "/a/", "/a" },
		{ "/ignored", "/a/.", "/a" },
		{ "/ignored", "/a/..", "/" },
		{ "/ignored", "/a/./b", "/a/b" },
		{ "/ignored", "/a/../b", "/b" },
		{ "/ignored", "/a//b", "/a/b" },
		{ "/ignored", "/.", "/" },
		{ "/ignored", "/..", "/" },
		{ "/ignored", "/./a", "/a" },
		{ "/ignored", "//", "/" },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = path_join_lexical(cases[i].dir, cases[i].arg, out, sizeof(out));

		if (rc != 0)
			fail_msg("join(\"%s\", \"%s\"): rc %d", cases[i].dir, cases[i].arg, rc);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("join(\"%s\", \"%s\"): \"%s\", want \"%s\"", cases[i].dir,
				 cases[i].arg, out, cases[i].want);
	}
}

/* The normal form by the book: components split on '/', empty and "."
 * ones dropped, ".." taking the one before it away. */
static void normal_form(const char *arg, char *out)
{
	const char *parts[16];
	size_t lens[16], n = 0, o = 0;

	for (const char *p = arg; *p;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (n)
				n--;
		} else if (l && !(l == 1 && p[0] == '.')) {
			parts[n] = p;
			lens[n++] = l;
		}
		p += l + (e != NULL);
	}
	for (size_t i = 0; i < n; i++) {
		out[o++] = '/';
		memcpy(out + o, parts[i], lens[i]);
		o += lens[i];
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
}

/* Every absolute path of up to 9 bytes made of '/', '.' and 'a', those the
 * copy takes and those it does not: the book's normal form. */
static void test_path_join_lexical_all_short(void **state)
{
	static const char alphabet[] = "/.a";
	char arg[16], want[32], out[32];
	unsigned long checked = 0;

	(void)state;
	for (int len = 1; len <= 9; len++) {
		unsigned long total = 1;

		for (int i = 1; i < len; i++)
			total *= 3;
		for (unsigned long k = 0; k < total; k++) {
			unsigned long v = k;

			arg[0] = '/';
			for (int i = 1; i < len; i++, v /= 3)
				arg[i] = alphabet[v % 3];
			arg[len] = '\0';
			normal_form(arg, want);
			assert_int_equal(path_join_lexical("/ignored", arg, out, sizeof(out)), 0);
			if (strcmp(out, want) != 0)
				fail_msg("join(\"%s\"): \"%s\", want \"%s\"", arg, out, want);
			checked++;
		}
	}
	assert_int_equal(checked, 9841);   /* 3^0 + ... + 3^8 */
}

static void test_path_join_lexical_limits(void **state)
{
	char out[32];
	char *big, *out2;
	size_t bign = 3 * AT_PATH_MAX;

	(void)state;
	/* "/abc/defgh" needs 11 bytes; nothing is written past len */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(path_join_lexical("/abc", "defgh", out, 11), 0);
	assert_string_equal(out, "/abc/defgh");
	for (size_t i = 11; i < sizeof(out); i++)
		assert_int_equal(out[i], 'Z');
	memset(out, 'Z', sizeof(out));
	assert_int_equal(path_join_lexical("/abc", "defgh", out, 10), -1);
	for (size_t i = 10; i < sizeof(out); i++)
		assert_int_equal(out[i], 'Z');
	assert_int_equal(path_join_lexical("/abcdefghijklmnop", "q", out, 16), -1);
	/* even "/" needs 2 bytes */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(path_join_lexical("/", ".", out, 2), 0);
	assert_string_equal(out, "/");
	memset(out, 'Z', sizeof(out));
	assert_int_equal(path_join_lexical("/", ".", out, 1), -1);
	assert_int_equal(path_join_lexical("/", "..", out, 0), -1);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 'Z');
	/* an absolute path copied as it is: the same limit */
	assert_int_equal(path_join_lexical("/", "/abcdefgh", out, 10), 0);
	assert_string_equal(out, "/abcdefgh");
	memset(out, 'Z', sizeof(out));
	assert_int_equal(path_join_lexical("/", "/abcdefgh", out, 9), -1);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 'Z');

	/* inputs longer than two paths: -1, no overflow */
	big = malloc(bign + 1);
	out2 = malloc(bign + 2);
	assert_non_null(big);
	assert_non_null(out2);
	big[0] = '/';
	memset(big + 1, 'a', bign - 1);
	big[bign] = '\0';
	assert_int_equal(path_join_lexical(big, "x", out2, bign + 2), -1);
	assert_int_equal(path_join_lexical("/", big, out2, bign + 2), -1);

	/* the join's own buffer holds 2 * AT_PATH_MAX + 1 bytes and a NUL,
	 * to the byte: an absolute argument of that length, and dir "/" arg
	 * of that length, fit; one byte more does not */
	memset(big + 1, 'a', bign - 1);
	big[2 * AT_PATH_MAX + 1] = '\0';
	assert_int_equal(path_join_lexical("/d", big, out2, bign + 2), 0);
	assert_int_equal(strlen(out2), 2 * AT_PATH_MAX + 1);
	big[2 * AT_PATH_MAX + 1] = 'a';
	big[2 * AT_PATH_MAX + 2] = '\0';
	assert_int_equal(path_join_lexical("/d", big, out2, bign + 2), -1);
	big[0] = 'a';
	big[2 * AT_PATH_MAX - 2] = '\0';   /* "/d" "/" arg: 3 + 2 * AT_PATH_MAX - 2 */
	assert_int_equal(path_join_lexical("/d", big, out2, bign + 2), 0);
	assert_int_equal(strlen(out2), 2 * AT_PATH_MAX + 1);
	big[2 * AT_PATH_MAX - 2] = 'a';
	big[2 * AT_PATH_MAX - 1] = '\0';
	assert_int_equal(path_join_lexical("/d", big, out2, bign + 2), -1);
	free(big);
	free(out2);
}

/*
 * Many components: dir "/d" and an argument of 2048 one-letter components
 * (4095 bytes, a legal PATH_MAX name). The join must be exact or fail; it
 * must not drop components silently.
 */
static void test_path_join_lexical_many_components(void **state)
{
	const size_t ncomp = 2048;
	char *arg = malloc(2 * ncomp);
	char *want = malloc(2 * ncomp + 3);
	char *out = malloc(2 * AT_PATH_MAX + 2);
	size_t o = 0;
	int rc;

	(void)state;
	assert_non_null(arg);
	assert_non_null(want);
	assert_non_null(out);
	for (size_t i = 0; i < ncomp; i++) {
		arg[2 * i] = 'x';
		arg[2 * i + 1] = '/';
	}
	arg[2 * ncomp - 1] = '\0'; /* 4095 characters */
	memcpy(want, "/d", 2);
	o = 2;
	for (size_t i = 0; i < ncomp; i++) {
		want[o++] = '/';
		want[o++] = 'x';
	}
	want[o] = '\0';
	rc = path_join_lexical("/d", arg, out, 2 * AT_PATH_MAX + 2);
	if (rc == 0 && strcmp(out, want) != 0)
		fail_msg("join(\"/d\", 2048 components) = %zu bytes, want %zu: components dropped",
			 strlen(out), strlen(want));
	free(arg);
	free(want);
	free(out);
}

/* ---- open flags ------------------------------------------------------------ */

static void test_open_flags_str(void **state)
{
	static const struct {
		uint32_t flags;
		const char *want;
	} cases[] = {
		{ O_RDONLY, "O_RDONLY" },
		{ O_WRONLY, "O_WRONLY" },
		{ O_RDWR, "O_RDWR" },
		{ O_ACCMODE, "O_ACCMODE" },
		{ O_WRONLY | O_CREAT | O_TRUNC, "O_WRONLY|O_CREAT|O_TRUNC" },
		{ O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, "O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC" },
		{ O_RDWR | O_APPEND | O_NONBLOCK, "O_RDWR|O_APPEND|O_NONBLOCK" },
		{ O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		  "O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC" },
		{ O_PATH | O_CLOEXEC, "O_RDONLY|O_CLOEXEC|O_PATH" },
		{ O_RDONLY | O_NOATIME | O_NOCTTY, "O_RDONLY|O_NOCTTY|O_NOATIME" },
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		open_flags_str(cases[i].flags, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("flags 0%o: \"%s\", want \"%s\"", cases[i].flags, buf, cases[i].want);
	}

	/* O_TMPFILE (which includes O_DIRECTORY's bit in the libc value) */
	open_flags_str(O_RDWR | O_TMPFILE, buf, sizeof(buf));
	assert_true(strncmp(buf, "O_RDWR|", 7) == 0);
	assert_non_null(strstr(buf, "|O_TMPFILE"));
	/* O_SYNC (includes O_DSYNC's bit) */
	open_flags_str(O_WRONLY | O_SYNC, buf, sizeof(buf));
	assert_non_null(strstr(buf, "|O_SYNC"));

	/* every bit at once fits the decoder's buffer; a small buffer is cut */
	open_flags_str(0xffffffffu, buf, sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf) - 1);
	{
		char small[12];

		memset(small, 'Z', sizeof(small));
		open_flags_str(O_WRONLY | O_CREAT | O_TRUNC, small, 8);
		assert_string_equal(small, "O_WRONL");
		assert_int_equal(small[8], 'Z');
	}
}

static void test_open_access(void **state)
{
	(void)state;
	assert_string_equal(open_access(O_RDONLY), "read");
	assert_string_equal(open_access(O_RDONLY | O_CREAT), "read");
	assert_string_equal(open_access(O_WRONLY), "write");
	assert_string_equal(open_access(O_WRONLY | O_APPEND), "write");
	assert_string_equal(open_access(O_RDWR), "read-write");
	assert_string_equal(open_access(O_RDWR | O_TMPFILE), "read-write");
	assert_string_equal(open_access(O_WRONLY | O_TMPFILE), "write");
	assert_string_equal(open_access(O_PATH), "path");
	assert_string_equal(open_access(O_PATH | O_DIRECTORY | O_CLOEXEC), "path");
}

/* An O_PATH open in an event: access "path". */
static void test_open_o_path_event(void **state)
{
	struct fx *f = *state;
	const struct file_spec s = {
		.kind = AT_EV_OPEN, .ret = 7, .oflags = O_PATH | O_CLOEXEC, .path = "/proc",
		.arg = "/proc",
	};
	size_t size;
	struct at_file *r = mk_file(&s, &size);
	json_t *o = decode(f, r, size);

	expect_str(o, "access", "path");
	expect_str(o, "flags_str", "O_RDONLY|O_CLOEXEC|O_PATH");
	json_decref(o);
	free(r);
}

/* ---- misc ------------------------------------------------------------------ */

static void test_kind_names(void **state)
{
	static const char *const names[AT_EV__MAX] = {
		"none", "exec", "fork", "exit", "open", "unlink", "rename", "mkdir", "chmod",
		"connect", "accept", "bind", "listen", "sock_close", "dns", "session", "data",
		"exec_map", "violation",
	};

	(void)state;
	for (unsigned k = 0; k < AT_EV__MAX; k++)
		assert_string_equal(event_kind_name(k), names[k]);
	assert_string_equal(event_kind_name(AT_EV__MAX), "unknown");
	assert_string_equal(event_kind_name(0xffffffffu), "unknown");
}

/* ev_ctx_init: mono + offset is the wall clock now. */
static void test_ev_ctx_init_clock(void **state)
{
	struct ev_ctx c = { 0 };
	struct timespec rt, mono;
	int64_t wall, est;

	(void)state;
	ev_ctx_init(&c);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &rt);
	wall = (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec;
	est = (int64_t)mono.tv_sec * 1000000000LL + mono.tv_nsec + c.mono_to_wall_ns;
	assert_true(llabs(wall - est) < 1000000000LL);
	assert_null(c.dns);
	assert_null(c.cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_exec_full),
		T(test_exec_no_cgroup_string),
		T(test_exec_argv_truncated),
		T(test_exec_argv_without_final_nul),
		T(test_exec_argv_edge_cases),
		T(test_exec_argv_trailing_empty_argument),
		T(test_exec_argv_single_empty_argument),
		T(test_fork),
		T(test_exit),
		T(test_session_record),
		T(test_open_success_kernel_path),
		T(test_open_success_write_truncated_path),
		T(test_open_failure_relative_lexical),
		T(test_open_failure_absolute),
		T(test_unlink_mkdir_chmod),
		T(test_rename),
		T(test_file_string_without_nul),
		T(test_non_utf8_path),
		T(test_non_utf8_comm_and_argv),
		T(test_json_bytes_string),
		T(test_connect_v4),
		T(test_connect_v6_and_listen),
		T(test_sock_id_stable_and_hidden),
		T(test_unix_sockets),
		T(test_sock_close),
		T(test_dns_answer_then_connect_domain),
		T(test_dns_aaaa_over_tcp_then_connect_v6),
		T(test_dns_query_adds_nothing),
		T(test_dns_garbage),
		T(test_dns_truncated_capture),
		T(test_bad_sizes_and_kinds),
		T(test_bad_short_fixed_parts),
		T(test_bad_exec_string_lengths),
		T(test_bad_file_string_lengths),
		T(test_record_in_larger_buffer),
		T(test_text_path_edges),
		T(test_no_leak_on_malformed),
		T(test_path_join_lexical),
		T(test_path_join_lexical_all_short),
		T(test_path_join_lexical_limits),
		T(test_path_join_lexical_many_components),
		T(test_open_flags_str),
		T(test_open_access),
		T(test_open_o_path_event),
		T(test_kind_names),
		T(test_ev_ctx_init_clock),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
