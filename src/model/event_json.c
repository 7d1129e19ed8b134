/*
 * Decoding of kernel records into the JSON event contract.
 *
 * Records come from our own kernel programs, but they are still checked
 * like untrusted input: every length is validated against the record size
 * before a string is read, so a bug on the kernel side shows up as a
 * counted "malformed record", not as a crash or a read past the buffer.
 */
#include "model/event_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "agenttrail/events.h"
#include "capture/cgroup.h"
#include "decode/dns.h"
#include "model/dnscache.h"

static const char *const kind_names[AT_EV__MAX] = {
	[AT_EV_NONE] = "none",       [AT_EV_EXEC] = "exec",     [AT_EV_FORK] = "fork",
	[AT_EV_EXIT] = "exit",       [AT_EV_OPEN] = "open",     [AT_EV_UNLINK] = "unlink",
	[AT_EV_RENAME] = "rename",   [AT_EV_MKDIR] = "mkdir",   [AT_EV_CHMOD] = "chmod",
	[AT_EV_CONNECT] = "connect", [AT_EV_ACCEPT] = "accept", [AT_EV_BIND] = "bind",
	[AT_EV_LISTEN] = "listen",   [AT_EV_SOCK_CLOSE] = "sock_close",
	[AT_EV_DNS] = "dns",         [AT_EV_SESSION] = "session",
	[AT_EV_DATA] = "data",       [AT_EV_EXEC_MAP] = "exec_map", [AT_EV_VIOLATION] = "violation",
};

const char *event_kind_name(unsigned kind)
{
	if (kind >= AT_EV__MAX)
		return "unknown";
	return kind_names[kind];
}

void ev_ctx_init(struct ev_ctx *c)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	c->mono_to_wall_ns = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000LL +
			     ((int64_t)rt.tv_nsec - mono.tv_nsec);
	if (getrandom(&c->sock_key, sizeof(c->sock_key), 0) != sizeof(c->sock_key))
		c->sock_key = (uint64_t)rt.tv_nsec * 0x9e3779b97f4a7c15ULL;
}

/* ---- strings ------------------------------------------------------------- */

/* A packed string: [p, p+len) with len counting the NUL; NULL if absent. */
struct span {
	const char *p;
	size_t len;   /* without the NUL */
};

struct cursor {
	const char *p;
	size_t left;
	int bad;
};

static struct span take(struct cursor *c, size_t len)
{
	struct span s = { NULL, 0 };

	if (len == 0)
		return s;
	if (len > c->left) {
		c->bad = 1;
		return s;
	}
	s.p = c->p;
	s.len = strnlen(c->p, len);
	c->p += len;
	c->left -= len;
	return s;
}

/* Keys here, and the fixed words among the values, are ASCII literals:
 * the _nocheck setters skip jansson's UTF-8 check of each on every event.
 * Values from the kernel go through json_bytes_string(), which checks. */
static void set_span(json_t *o, const char *key, struct span s)
{
	json_object_set_new_nocheck(o, key, s.p ? json_bytes_string(s.p, s.len) : json_null());
}

/* The same through an ev_out; the string as stored, or NULL. */
static const char *out_span(struct ev_out *w, const char *key, struct span s)
{
	if (s.p)
		return evo_bytes(w, key, s.p, s.len);
	evo_null(w, key);
	return NULL;
}

/* A span as a C string in buf, cut to fit: a copy, not snprintf. */
static void span_cstr(char *buf, size_t size, struct span s)
{
	size_t n = s.len < size ? s.len : size - 1;

	memcpy(buf, s.p, n);
	buf[n] = '\0';
}

/* ---- paths and flags ----------------------------------------------------- */

/*
 * An absolute path that lexical normalisation leaves as it is: no empty,
 * "." or ".." component, no slash at the end (but "/" itself). Most paths
 * of failed opens are (a compiler's include search): they are copied.
 */
static bool path_is_normal(const char *p, size_t n)
{
	if (n == 0 || p[0] != '/')
		return false;
	if (n == 1)
		return true;
	if (p[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *c = p + i + 1;   /* a component starts after each '/' */
		size_t left = n - i - 1;

		if (p[i] != '/')
			continue;
		if (left == 0 || c[0] == '/')
			return false;
		if (c[0] == '.' && (left == 1 || c[1] == '/' ||
				    (c[1] == '.' && (left == 2 || c[2] == '/'))))
			return false;
	}
	return true;
}

int path_join_lexical(const char *dir, const char *arg, char *out, size_t len)
{
	char buf[2 * AT_PATH_MAX + 2];
	char *parts[sizeof(buf) / 2 + 1];   /* a component is at least 1 byte + '/' */
	size_t n = 0, o = 0;
	char *save = NULL, *tok;
	size_t la = strlen(arg), ld = arg[0] == '/' ? 0 : strlen(dir) + 1;

	/* dir "/" arg, or arg alone: copies, not snprintf (a failed open of
	 * a compiler's include search comes here) */
	if (ld + la >= sizeof(buf))
		return -1;
	if (!ld && path_is_normal(arg, la)) {
		if (la + 1 > len)
			return -1;
		memcpy(out, arg, la + 1);
		return 0;
	}
	if (ld) {
		memcpy(buf, dir, ld - 1);
		buf[ld - 1] = '/';
	}
	memcpy(buf + ld, arg, la + 1);
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			if (n)
				n--;
			continue;
		}
		if (n == sizeof(parts) / sizeof(parts[0]))
			return -1;
		parts[n++] = tok;
	}
	if (len < 2)
		return -1;
	if (n == 0) {
		strcpy(out, "/");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);

		if (o + l + 2 > len)
			return -1;
		out[o++] = '/';
		memcpy(out + o, parts[i], l);
		o += l;
	}
	out[o] = '\0';
	return 0;
}

static const struct {
	uint32_t bit;
	const char *name;
} open_bits[] = {
	{ O_CREAT, "O_CREAT" },         { O_EXCL, "O_EXCL" },
	{ O_NOCTTY, "O_NOCTTY" },       { O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" },       { O_NONBLOCK, "O_NONBLOCK" },
	{ O_DSYNC, "O_DSYNC" },         { O_DIRECT, "O_DIRECT" },
	{ 0100000, "O_LARGEFILE" },     { O_DIRECTORY, "O_DIRECTORY" },
	{ O_NOFOLLOW, "O_NOFOLLOW" },   { O_NOATIME, "O_NOATIME" },
	{ O_CLOEXEC, "O_CLOEXEC" },     { 04000000, "O_SYNC" },
	{ O_PATH, "O_PATH" },           { 020000000, "O_TMPFILE" },
};

/* Append s at buf + o, cut to what len holds with a NUL; the new end. */
static size_t put_str(char *buf, size_t len, size_t o, const char *s)
{
	size_t n = strlen(s);

	if (o + 1 >= len)
		return o;
	if (n > len - 1 - o)
		n = len - 1 - o;
	memcpy(buf + o, s, n);
	buf[o + n] = '\0';
	return o + n;
}

/* Every open event names its flags: plain copies, no snprintf (which was
 * 7% of the recorder's time on a recorded build). */
void open_flags_str(uint32_t flags, char *buf, size_t len)
{
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	size_t o;

	if (len == 0)
		return;
	buf[0] = '\0';
	o = put_str(buf, len, 0, acc[flags & O_ACCMODE]);
	/* O_SYNC and O_TMPFILE are multi-bit in the ABI; the table names their
	 * own bit, so they print as O_DSYNC|O_SYNC and O_DIRECTORY|O_TMPFILE. */
	for (size_t i = 0; i < sizeof(open_bits) / sizeof(open_bits[0]) && o + 1 < len; i++) {
		if (!(flags & open_bits[i].bit))
			continue;
		o = put_str(buf, len, o, "|");
		o = put_str(buf, len, o, open_bits[i].name);
	}
}

const char *open_access(uint32_t flags)
{
	if (flags & O_PATH)
		return "path";
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		return "write";
	case O_RDWR:
		return "read-write";
	default:
		return "read";
	}
}

static void set_result(struct ev_out *w, int64_t ret)
{
	evo_int(w, "ret", ret);
	if (ret < 0 && ret > -4096) {
		const char *name = strerrorname_np((int)-ret);

		if (name)
			evo_word(w, "errno", name);
		else
			evo_int(w, "errno", -ret);
	} else {
		evo_null(w, "errno");
	}
}

/* ---- per kind ------------------------------------------------------------ */

/* The members every event has; comm as stored. */
static const char *common_members(struct ev_ctx *c, struct ev_out *w, const struct at_hdr *h)
{
	const char *comm;

	evo_word(w, "type", event_kind_name(h->kind));
	evo_int(w, "ts_ns", (long long)(h->ts_ns + (uint64_t)c->mono_to_wall_ns));
	evo_int(w, "session", (long long)h->session);
	evo_int(w, "pid", h->pid);
	evo_int(w, "tid", h->tid);
	evo_int(w, "ppid", h->ppid);
	evo_int(w, "start_ns", (long long)h->start_ns);
	comm = evo_bytes(w, "comm", h->comm, strnlen(h->comm, AT_COMM_LEN));
	evo_int(w, "uid", h->uid);
	return comm;
}

json_t *event_common(struct ev_ctx *c, const struct at_hdr *h)
{
	json_t *o = json_object();
	struct ev_out w;

	if (!o)
		return NULL;
	evo_object(&w, o);
	common_members(c, &w, h);
	if (w.failed) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int decode_exec(struct ev_ctx *c, json_t *o, const struct at_exec *e, size_t size)
{
	struct cursor cur = { e->data, size - sizeof(*e), 0 };
	struct span argv, filename, exe, cwd, cg;
	char cgpath[1024], cid[80];
	json_t *arr;

	argv.p = cur.p;
	argv.len = e->argv_len;
	if (e->argv_len > cur.left)
		return -1;
	cur.p += e->argv_len;
	cur.left -= e->argv_len;
	arr = json_array();
	if (!arr)
		return -1;
	for (size_t i = 0; i < argv.len;) {
		size_t l = strnlen(argv.p + i, argv.len - i);

		/* A lone final NUL is the terminator the kernel adds for an
		 * empty argv, unless argc says it is a real "" argument. */
		if (l == 0 && i + 1 >= argv.len && json_array_size(arr) >= e->argc)
			break;
		json_array_append_new(arr, json_bytes_string(argv.p + i, l));
		i += l + 1;
	}
	filename = take(&cur, e->filename_len);
	exe = take(&cur, e->exe_len);
	cwd = take(&cur, e->cwd_len);
	cg = take(&cur, e->cgroup_len);
	if (cur.bad) {
		json_decref(arr);
		return -1;
	}
	json_object_set_new_nocheck(o, "argv", arr);
	json_object_set_new_nocheck(o, "argv_truncated", json_boolean(e->h.flags & AT_F_ARGV_TRUNC));
	if (e->h.flags & AT_F_PATH_TRUNC)
		json_object_set_new_nocheck(o, "path_truncated", json_true());
	set_span(o, "filename", filename);
	set_span(o, "exe", exe);
	set_span(o, "cwd", cwd);
	json_object_set_new_nocheck(o, "euid", json_integer(e->euid));
	json_object_set_new_nocheck(o, "gid", json_integer(e->gid));
	json_object_set_new_nocheck(o, "sid", json_integer(e->sid));
	json_object_set_new_nocheck(o, "parent_start_ns", json_integer((json_int_t)e->parent_start_ns));
	json_object_set_new_nocheck(o, "cgroup_id", json_integer((json_int_t)e->cgroup_id));
	if (cg.p) {
		set_span(o, "cgroup", cg);
		span_cstr(cgpath, sizeof(cgpath), cg);
	} else if (c->cg && cgroup_name(c->cg, e->cgroup_id, cgpath, sizeof(cgpath)) == 0) {
		json_object_set_new_nocheck(o, "cgroup", json_string(cgpath));
	} else {
		cgpath[0] = '\0';
		json_object_set_new_nocheck(o, "cgroup", json_null());
	}
	if (cgpath[0] && container_id_from_cgroup(cgpath, cid, sizeof(cid)))
		json_object_set_new_nocheck(o, "container_id", json_string(cid));
	else
		json_object_set_new_nocheck(o, "container_id", json_null());
	return 0;
}

/* The path an event names, joined to its directory where the kernel gave
 * none; the string as stored. */
static const char *joined_path(struct ev_out *w, const char *key, const char *src_key,
			       uint16_t flags, struct span dir, struct span arg)
{
	char dirbuf[AT_PATH_MAX + 1], argbuf[AT_PATH_MAX + 1], out[2 * AT_PATH_MAX + 2];
	const char *p;

	if (arg.p && arg.p[0] == '/') {
		/* absolute argument: normalise lexically */
		span_cstr(argbuf, sizeof(argbuf), arg);
		if (path_join_lexical("/", argbuf, out, sizeof(out)) == 0) {
			p = evo_bytes(w, key, out, strlen(out));
			if (src_key)
				evo_word(w, src_key, "lexical");
			return p;
		}
	}
	if (dir.p && arg.p && (flags & AT_F_PATH_LEXICAL)) {
		span_cstr(dirbuf, sizeof(dirbuf), dir);
		span_cstr(argbuf, sizeof(argbuf), arg);
		if (path_join_lexical(dirbuf, argbuf, out, sizeof(out)) == 0) {
			p = evo_bytes(w, key, out, strlen(out));
			if (src_key)
				evo_word(w, src_key, "lexical");
			return p;
		}
	}
	p = out_span(w, key, arg);
	if (src_key)
		evo_word(w, src_key, "unresolved");
	return p;
}

bool event_is_file(unsigned kind)
{
	return kind == AT_EV_OPEN || kind == AT_EV_UNLINK || kind == AT_EV_RENAME ||
	       kind == AT_EV_MKDIR || kind == AT_EV_CHMOD;
}

/* A file event's "path" and "path_source": the kernel's path of an opened
 * file, else the argument joined to its directory. */
static const char *file_path(struct ev_out *w, const struct at_file *f, struct span path,
			     struct span arg)
{
	const char *p;
	char fl[64];

	if (f->h.kind == AT_EV_OPEN && f->ret >= 0 && (f->h.flags & AT_F_PATH_PSEUDO)) {
		/* a pipe, socket or memfd reached through a path such as
		 * /dev/stdin or /proc/self/fd/N: no place in the tree */
		snprintf(fl, sizeof(fl), "pseudo:[%llu]", (unsigned long long)f->ino);
		p = evo_bytes(w, "path", fl, strlen(fl));
		evo_word(w, "path_source", "pseudo");
		return p;
	}
	if (f->h.kind == AT_EV_OPEN && f->ret >= 0 && path.p && !(f->h.flags & AT_F_PATH_LEXICAL)) {
		p = out_span(w, "path", path);
		evo_word(w, "path_source", "kernel");
		return p;
	}
	return joined_path(w, "path", "path_source", f->h.flags, path, arg);
}

/* The members after the common ones; what the event says goes to *v. */
static int file_members(struct ev_out *w, const struct at_file *f, size_t size,
			struct ev_file *v)
{
	struct cursor cur = { f->data, size - sizeof(*f), 0 };
	struct span path = take(&cur, f->path_len);
	struct span arg = take(&cur, f->arg_len);
	struct span path2 = take(&cur, f->path2_len);
	struct span arg2 = take(&cur, f->arg2_len);
	char fl[256];

	if (cur.bad)
		return -1;
	v->path = file_path(w, f, path, arg);
	out_span(w, "arg_path", arg);
	if (f->h.flags & AT_F_PATH_TRUNC)
		evo_bool(w, "path_truncated", true);
	set_result(w, f->ret);
	v->ok = f->ret >= 0;
	evo_int(w, "flags", f->flags);
	switch (f->h.kind) {
	case AT_EV_OPEN:
		open_flags_str(f->flags, fl, sizeof(fl));
		v->access = open_access(f->flags);
		evo_word(w, "flags_str", fl);
		evo_word(w, "access", v->access);
		evo_bool(w, "create", f->flags & O_CREAT);
		evo_bool(w, "truncate", f->flags & O_TRUNC);
		evo_int(w, "mode", f->mode);
		evo_int(w, "ino", (long long)f->ino);
		evo_int(w, "dev", f->dev);
		break;
	case AT_EV_MKDIR:
	case AT_EV_CHMOD:
		evo_int(w, "mode", f->mode);
		break;
	case AT_EV_RENAME:
		v->new_path = joined_path(w, "new_path", NULL, f->h.flags, path2, arg2);
		out_span(w, "new_arg_path", arg2);
		break;
	default:
		break;
	}
	return 0;
}

static int decode_file(json_t *o, const struct at_file *f, size_t size)
{
	struct ev_out w;
	struct ev_file v = { 0 };

	evo_object(&w, o);
	return file_members(&w, f, size, &v);
}

const char *event_file_path(const void *data, size_t size, struct jbuf *scratch,
			    struct jbuf *strs)
{
	const struct at_file *f = data;
	struct cursor cur;
	struct span path, arg;
	struct ev_out w;
	const char *p;

	if (size < sizeof(*f) || f->h.size > size || !event_is_file(f->h.kind))
		return NULL;
	cur = (struct cursor){ f->data, size - sizeof(*f), 0 };
	path = take(&cur, f->path_len);
	arg = take(&cur, f->arg_len);
	/* room as in event_file_text(): arg twice, a '/' or two */
	if (cur.bad || evo_text(&w, scratch, strs, EVO_STR_ROOM(2 * size + 64)) != 0)
		return NULL;
	p = file_path(&w, f, path, arg);
	return w.failed ? NULL : p;
}

int event_file_text(struct ev_ctx *c, const void *data, size_t size, int64_t eid,
		    struct jbuf *out, struct jbuf *strs, struct ev_file *v, char *err,
		    size_t errlen)
{
	const struct at_file *f = data;
	struct ev_out w;

	memset(v, 0, sizeof(*v));
	if (size < sizeof(f->h) || f->h.size > size || !event_is_file(f->h.kind)) {
		snprintf(err, errlen, "malformed record (size %zu)", size);
		return -1;
	}
	if (size < sizeof(*f)) {
		snprintf(err, errlen, "malformed %s record (size %zu)", event_kind_name(f->h.kind),
			 size);
		return -1;
	}
	/* every string evo_bytes() keeps comes from the record: arg and arg2
	 * twice (in a joined path and as themselves), a joined path adds a
	 * '/' or two, a pseudo path is under 30 bytes; the 64 covers those */
	if (evo_text(&w, out, strs, EVO_STR_ROOM(2 * size + 64)) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v->comm = common_members(c, &w, &f->h);
	if (file_members(&w, f, size, v) != 0) {
		snprintf(err, errlen, "malformed %s record (size %zu)", event_kind_name(f->h.kind),
			 size);
		return -1;
	}
	evo_int(&w, "eid", eid);
	if (evo_close(&w) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v->type = event_kind_name(f->h.kind);
	v->ts_ns = (int64_t)(f->h.ts_ns + (uint64_t)c->mono_to_wall_ns);
	v->session = (int64_t)f->h.session;
	v->pid = f->h.pid;
	v->start_ns = (int64_t)f->h.start_ns;
	v->eid = eid;
	return 0;
}

static const char *family_name(unsigned f)
{
	switch (f) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_UNIX:
		return "unix";
	default:
		return NULL;
	}
}

static const char *sotype_name(unsigned t)
{
	switch (t & 0xf) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_RAW:
		return "raw";
	default:
		return NULL;
	}
}

static json_t *addr_json(unsigned family, const uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (family != AF_INET && family != AF_INET6)
		return json_null();
	if (!inet_ntop(family, a, buf, sizeof(buf)))
		return json_null();
	return json_string(buf);
}

static uint64_t mix64(uint64_t x);

int64_t event_sock_id(const struct ev_ctx *c, uint64_t sock)
{
	return sock ? (int64_t)(mix64(sock ^ c->sock_key) >> 12) : 0;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static void decode_net(struct ev_ctx *c, json_t *o, const struct at_net *n)
{
	const char *fam = family_name(n->family);
	const char *st = sotype_name(n->sotype);
	const char *domain = NULL;

	json_object_set_new_nocheck(o, "family", fam ? json_string(fam) : json_integer(n->family));
	json_object_set_new_nocheck(o, "sotype", st ? json_string(st) : json_null());
	json_object_set_new_nocheck(o, "saddr", addr_json(n->family, n->saddr));
	json_object_set_new_nocheck(o, "sport", json_integer(n->sport));
	json_object_set_new_nocheck(o, "daddr", addr_json(n->family, n->daddr));
	json_object_set_new_nocheck(o, "dport", json_integer(n->dport));
	if (n->family == AF_UNIX) {
		size_t l = strnlen(n->unix_path, AT_UNIX_PATH_MAX);

		/* abstract sockets start with a NUL: show it as '@' like ss(8) */
		if (l == 0 && n->unix_path[1]) {
			char ab[AT_UNIX_PATH_MAX + 1];
			size_t al = strnlen(n->unix_path + 1, AT_UNIX_PATH_MAX - 1);

			ab[0] = '@';
			memcpy(ab + 1, n->unix_path + 1, al);
			json_object_set_new_nocheck(o, "unix_path", json_bytes_string(ab, al + 1));
		} else {
			json_object_set_new_nocheck(o, "unix_path", json_bytes_string(n->unix_path, l));
		}
	} else {
		json_object_set_new_nocheck(o, "unix_path", json_null());
	}
	if (c->dns && (n->family == AF_INET || n->family == AF_INET6))
		domain = dnscache_lookup(c->dns, n->h.session, n->family, n->daddr);
	json_object_set_new_nocheck(o, "domain", domain ? json_string(domain) : json_null());
	json_object_set_new_nocheck(o, "sock", json_integer((json_int_t)(mix64(n->sock ^ c->sock_key) >> 12)));
	if (n->h.kind == AT_EV_SOCK_CLOSE) {
		json_object_set_new_nocheck(o, "bytes_sent", json_integer((json_int_t)n->bytes_sent));
		json_object_set_new_nocheck(o, "bytes_recv", json_integer((json_int_t)n->bytes_recv));
	} else {
		struct ev_out w;

		json_object_set_new_nocheck(o, "fd", json_integer(n->fd));
		evo_object(&w, o);
		set_result(&w, n->ret);
	}
	if (n->h.kind == AT_EV_LISTEN)
		json_object_set_new_nocheck(o, "backlog", json_integer(n->backlog));
}

static void decode_dns(struct ev_ctx *c, json_t *o, const struct at_dns *d)
{
	struct dns_msg *m = malloc(sizeof(*m));
	size_t len = d->len > AT_DNS_MAX ? AT_DNS_MAX : d->len;
	int rc = -EINVAL;
	json_t *answers;

	json_object_set_new_nocheck(o, "server", addr_json(d->family, d->server));
	json_object_set_new_nocheck(o, "port", json_integer(d->port));
	json_object_set_new_nocheck(o, "truncated", json_boolean(d->h.flags & AT_F_DNS_TRUNC));
	if (!m)
		return;
	if (d->h.flags & AT_F_DNS_TCP)
		rc = dns_parse_tcp(d->data, len, m);
	if (rc)
		rc = dns_parse(d->data, len, m);
	if (rc) {
		json_object_set_new_nocheck(o, "error", json_string("malformed DNS message"));
		json_object_set_new_nocheck(o, "len", json_integer((json_int_t)len));
		free(m);
		return;
	}
	json_object_set_new_nocheck(o, "id", json_integer(m->id));
	json_object_set_new_nocheck(o, "response", json_boolean(m->response));
	json_object_set_new_nocheck(o, "rcode", json_integer(m->rcode));
	json_object_set_new_nocheck(o, "qname", json_string(m->qname));
	json_object_set_new_nocheck(o, "qtype", dns_type_name(m->qtype) ? json_string(dns_type_name(m->qtype))
								 : json_integer(m->qtype));
	answers = json_array();
	for (size_t i = 0; i < m->n_answers; i++) {
		const struct dns_rr *rr = &m->answers[i];
		json_t *a = json_object();

		json_object_set_new(a, "name", json_string(rr->name));
		json_object_set_new(a, "type", json_string(dns_type_name(rr->type) ? dns_type_name(rr->type) : "?"));
		if (rr->family)
			json_object_set_new(a, "addr", addr_json((unsigned)rr->family, rr->addr));
		else
			json_object_set_new(a, "target", json_string(rr->target));
		json_object_set_new(a, "ttl", json_integer(rr->ttl));
		json_array_append_new(answers, a);
	}
	json_object_set_new_nocheck(o, "answers", answers);
	if (c->dns && m->response)
		dnscache_add_msg(c->dns, d->h.session, m);
	free(m);
}

json_t *event_to_json(struct ev_ctx *c, const void *data, size_t size, char *err, size_t errlen)
{
	const struct at_hdr *h = data;
	json_t *o;
	int bad = 0;

	if (size < sizeof(*h) || h->size > size || h->kind == AT_EV_NONE || h->kind >= AT_EV__MAX) {
		snprintf(err, errlen, "malformed record (size %zu)", size);
		return NULL;
	}
	o = event_common(c, h);
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	switch (h->kind) {
	case AT_EV_EXEC:
		bad = size < sizeof(struct at_exec) || decode_exec(c, o, data, size);
		break;
	case AT_EV_FORK: {
		const struct at_fork *f = data;

		if ((bad = size < sizeof(*f)))
			break;
		json_object_set_new_nocheck(o, "parent_start_ns", json_integer((json_int_t)f->parent_start_ns));
		json_object_set_new_nocheck(o, "thread", json_boolean(h->flags & AT_F_THREAD));
		json_object_set_new_nocheck(o, "child_tid", json_integer(f->child_tid));
		json_object_set_new_nocheck(o, "parent_tid", json_integer(f->parent_tid));
		break;
	}
	case AT_EV_EXIT: {
		const struct at_exit *x = data;

		if ((bad = size < sizeof(*x)))
			break;
		json_object_set_new_nocheck(o, "code", x->signal ? json_null() : json_integer(x->code));
		json_object_set_new_nocheck(o, "signal", json_integer(x->signal));
		json_object_set_new_nocheck(o, "core_dumped", json_boolean(h->flags & AT_F_CORE_DUMP));
		json_object_set_new_nocheck(o, "duration_ns", json_integer((json_int_t)x->duration_ns));
		break;
	}
	case AT_EV_OPEN:
	case AT_EV_UNLINK:
	case AT_EV_RENAME:
	case AT_EV_MKDIR:
	case AT_EV_CHMOD:
		bad = size < sizeof(struct at_file) || decode_file(o, data, size);
		break;
	case AT_EV_CONNECT:
	case AT_EV_ACCEPT:
	case AT_EV_BIND:
	case AT_EV_LISTEN:
	case AT_EV_SOCK_CLOSE:
		if (!(bad = size < sizeof(struct at_net)))
			decode_net(c, o, data);
		break;
	case AT_EV_DNS:
		if (!(bad = size < sizeof(struct at_dns)))
			decode_dns(c, o, data);
		break;
	case AT_EV_SESSION:
		break;
	default:
		bad = 1;
	}
	if (bad) {
		snprintf(err, errlen, "malformed %s record (size %zu)", event_kind_name(h->kind), size);
		json_decref(o);
		return NULL;
	}
	return o;
}
