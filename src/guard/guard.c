/* The guard: policy -> kernel maps, DNS binding, violations, reload. */
#include "guard/guard.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "capture/loader.h"
#include "decode/dns.h"
#include "guard/files.h"
#include "guard/lsm.h"
#include "guard_lsm.skel.h"
#include "guard.skel.h"
#include "model/event_json.h"
#include "proc.skel.h"

int guard_env(struct pol_env *env, char *home, size_t hlen, char *ws, size_t wlen)
{
	const char *sudo = getenv("SUDO_USER"), *h = getenv("HOME");
	struct passwd *pw = NULL;

	if (sudo && *sudo && strcmp(sudo, "root"))
		pw = getpwnam(sudo);
	if (pw && pw->pw_dir)
		snprintf(home, hlen, "%s", pw->pw_dir);
	else if (h && *h == '/')
		snprintf(home, hlen, "%s", h);
	else if ((pw = getpwuid(getuid())) && pw->pw_dir)
		snprintf(home, hlen, "%s", pw->pw_dir);
	else
		return -1;
	if (!getcwd(ws, wlen))
		return -1;
	env->home = home;
	env->workspace = ws;
	return 0;
}

struct policy *guard_load_policy(const char *path, const struct pol_env *env, bool quiet)
{
	struct pol_diags d = { 0 };
	struct policy *p = policy_load(path, env, &d);

	if (!p || (!quiet && d.n))
		pol_diags_print(&d, path, stderr);
	pol_diags_free(&d);
	return p;
}

/* ---- label ids ------------------------------------------------------------ */

/*
 * The kernel knows labels by bit. A reload must not change what a bit
 * means, or every label processes and files carry would change meaning:
 * labels keep their bit while their name stays; new names take free bits.
 */
static int assign_label_bits(struct guard *g, const struct policy *p, unsigned *kid,
			     char *err, size_t errlen)
{
	bool used[POL_MAX_LABELS] = { false };

	for (size_t i = 0; i < p->nlabels; i++) {
		kid[i] = POL_MAX_LABELS;
		for (unsigned b = 0; b < POL_MAX_LABELS; b++) {
			if (g->kname[b] && !strcmp(g->kname[b], p->labels[i].name)) {
				kid[i] = b;
				used[b] = true;
				break;
			}
		}
	}
	for (size_t i = 0; i < p->nlabels; i++) {
		unsigned b;

		if (kid[i] != POL_MAX_LABELS)
			continue;
		for (b = 0; b < POL_MAX_LABELS; b++)
			if (!g->kname[b] && !used[b])
				break;
		if (b == POL_MAX_LABELS) {
			/* every bit holds a label of some earlier version */
			snprintf(err, errlen, "no free label bit for '%s' (restart to reuse them)",
				 p->labels[i].name);
			return -1;
		}
		kid[i] = b;
		used[b] = true;
	}
	return 0;
}

static void remap_set(const unsigned *kid, size_t n, const uint64_t *in, __u64 *out)
{
	memset(out, 0, AT_LABEL_WORDS * sizeof(__u64));
	for (size_t i = 0; i < n; i++)
		if (in[i / 64] >> (i % 64) & 1)
			out[kid[i] / 64] |= 1ull << (kid[i] % 64);
}

/* Policy label ids -> kernel bits, in every table that holds labels. */
static void remap_tables(struct pol_tables *t, const struct policy *p, const unsigned *kid)
{
	struct at_labels tmp;

	for (size_t r = 0; r < t->nconnect + t->nsend; r++) {
		struct at_rule *ru = r < t->nconnect ? &t->connect[r] : &t->send[r - t->nconnect];

		for (unsigned i = 0; i < ru->nterms; i++) {
			remap_set(kid, p->nlabels, (const uint64_t *)ru->all[i].w, tmp.w);
			ru->all[i] = tmp;
			remap_set(kid, p->nlabels, (const uint64_t *)ru->none[i].w, tmp.w);
			ru->none[i] = tmp;
		}
	}
	for (size_t i = 0; i < t->nep_labels; i++)
		t->ep_labels[i].label = kid[t->ep_labels[i].label];
	for (size_t i = 0; i < t->nflows; i++) {
		remap_set(kid, p->nlabels, (const uint64_t *)t->flows[i].remove.w, tmp.w);
		t->flows[i].remove = tmp;
		remap_set(kid, p->nlabels, (const uint64_t *)t->flows[i].add.w, tmp.w);
		t->flows[i].add = tmp;
	}
}

/* ---- maps ----------------------------------------------------------------- */

static int put_array(int fd, const void *v, size_t n, size_t size, const char *what, char *err,
		     size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t k = (uint32_t)i;

		if (bpf_map_update_elem(fd, &k, (const char *)v + i * size, BPF_ANY)) {
			snprintf(err, errlen, "writing the %s table: %s", what, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int put_entry(struct guard *g, const struct tbl_ep_entry *e)
{
	struct at_ep_key k = { .prefixlen = e->prefix };

	memcpy(k.addr, e->addr, 16);
	return bpf_map_update_elem(g->fd_eps, &k, &e->value, BPF_ANY);
}

void guard_clear_map(int fd, size_t keysize)
{
	char key[64], next[64];

	if (keysize > sizeof(key))
		return;
	/* a deleted key cannot be iterated from: start over each time */
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, keysize);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

/*
 * Write the tables. The switch (conf.enabled) goes off first and on last,
 * so the hooks never see half a policy: during a reload, connects are
 * allowed for the few microseconds the tables take to write.
 */
static int write_tables(struct guard *g, struct pol_tables *t, char *err, size_t errlen)
{
	struct at_guard_conf off = { 0 };
	uint32_t zero = 0;

	if (bpf_map_update_elem(g->fd_conf, &zero, &off, BPF_ANY)) {
		snprintf(err, errlen, "writing the guard switch: %s", strerror(errno));
		return -1;
	}
	guard_clear_map(g->fd_eps, sizeof(struct at_ep_key));
	guard_clear_map(g->fd_domains, sizeof(uint64_t));
	for (size_t i = 0; i < t->ndom_entries; i++) {
		if (bpf_map_update_elem(g->fd_domains, &t->dom_entries[i].hash,
					&t->dom_entries[i].bits, BPF_ANY)) {
			snprintf(err, errlen, "writing the domain table: %s", strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < t->nentries; i++) {
		if (put_entry(g, &t->entries[i])) {
			snprintf(err, errlen, "writing the endpoint table: %s", strerror(errno));
			return -1;
		}
	}
	if (put_array(g->fd_ports, t->ports, t->neps, sizeof(t->ports[0]), "endpoint port", err,
		      errlen) ||
	    put_array(g->fd_ep_labels, t->ep_labels, t->nep_labels, sizeof(t->ep_labels[0]),
		      "endpoint label", err, errlen) ||
	    put_array(g->fd_connect, t->connect, t->nconnect, sizeof(t->connect[0]), "connect rule",
		      err, errlen) ||
	    put_array(g->fd_send, t->send, t->nsend, sizeof(t->send[0]), "send rule", err,
		      errlen) ||
	    put_array(g->fd_flows, t->flows, t->nflows, sizeof(t->flows[0]), "flow", err, errlen))
		return -1;
	if (bpf_map_update_elem(g->fd_conf, &zero, &t->conf, BPF_ANY)) {
		snprintf(err, errlen, "writing the guard switch: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int install(struct guard *g, struct policy *p, char *err, size_t errlen)
{
	struct pol_tables t;
	unsigned kid[POL_MAX_LABELS];

	if (assign_label_bits(g, p, kid, err, errlen))
		return -1;
	if (tables_build(&t, p, err, errlen))
		return -1;
	remap_tables(&t, p, kid);
	if (write_tables(g, &t, err, errlen)) {
		tables_free(&t);
		return -1;
	}
	/* the new policy is live: adopt its names and tables */
	for (unsigned b = 0; b < POL_MAX_LABELS; b++) {
		free(g->kname[b]);
		g->kname[b] = NULL;
	}
	for (size_t i = 0; i < p->nlabels; i++)
		g->kname[kid[i]] = strdup(p->labels[i].name);
	memcpy(g->kid, kid, sizeof(kid));
	tables_free(&g->t);
	g->t = t;
	if (g->pol)
		policy_free(g->pol);
	g->pol = p;
	files_bind(g);
	if (lsm_install(g, err, errlen))
		return -1;
	if (g->lsm_full && !g->quiet)
		fprintf(stderr, "agenttrail: %zu rule%s that BPF-LSM could decide go to fanotify: "
			"more than %d rules name one of their files\n", g->lsm_full,
			g->lsm_full == 1 ? "" : "s", AT_LSM_SLOTS);
	/* addresses the session already resolved keep their names */
	for (size_t i = 0; i < g->nbound; i++) {
		const struct tbl_ep_entry *e = tables_bind(&g->t, g->bound[i].name, g->bound[i].addr);

		if (e)
			put_entry(g, e);
	}
	return 0;
}

int guard_open(struct guard *g, struct loader *l, struct policy *pol, const char *path,
	       const struct pol_env *env, bool quiet, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->quiet = quiet;
	g->env = *env;
	g->path = strdup(path);
	if (!g->path || !l->guard) {
		snprintf(err, errlen, "the guard programs are not loaded");
		policy_free(pol);
		return -1;
	}
	g->fd_eps = bpf_map__fd(l->guard->maps.guard_eps);
	g->fd_ports = bpf_map__fd(l->guard->maps.guard_ep_ports);
	g->fd_ep_labels = bpf_map__fd(l->guard->maps.guard_ep_labels);
	g->fd_connect = bpf_map__fd(l->guard->maps.guard_connect);
	g->fd_send = bpf_map__fd(l->guard->maps.guard_send);
	g->fd_conf = bpf_map__fd(l->guard->maps.guard_conf);
	g->fd_flows = bpf_map__fd(l->proc->maps.guard_flows);
	g->fd_inodes = bpf_map__fd(l->proc->maps.inode_labels);
	g->fd_procs = bpf_map__fd(l->proc->maps.proc_labels);
	g->fd_domains = bpf_map__fd(l->proc->maps.guard_domains);
	g->fd_subtrees = bpf_map__fd(l->proc->maps.label_subtrees);
	g->fd_subtree_cache = bpf_map__fd(l->proc->maps.subtree_cache);
	g->fd_lsm_self = g->fd_lsm_children = g->fd_lsm_rules = -1;
	if (l->guard_lsm) {
		g->fd_lsm_self = bpf_map__fd(l->guard_lsm->maps.lsm_self);
		g->fd_lsm_children = bpf_map__fd(l->guard_lsm->maps.lsm_children);
		g->fd_lsm_rules = bpf_map__fd(l->guard_lsm->maps.lsm_rules);
	}
	if (install(g, pol, err, errlen)) {
		policy_free(pol);
		return -1;
	}
	return 0;
}

int guard_reload(struct guard *g, char *err, size_t errlen)
{
	struct pol_diags d = { 0 };
	struct policy *p = policy_load(g->path, &g->env, &d);

	if (!p) {
		char first[300] = "invalid policy";

		if (d.n)
			snprintf(first, sizeof(first), "%u:%u: %s", d.v[0].pos.line, d.v[0].pos.col,
				 d.v[0].msg);
		snprintf(err, errlen, "%s: %s; %zu error(s), the running policy stays", g->path,
			 first, d.nerrors);
		pol_diags_free(&d);
		return -1;
	}
	pol_diags_free(&d);
	if (install(g, p, err, errlen)) {
		policy_free(p);
		return -1;
	}
	return 0;
}

void guard_close(struct guard *g)
{
	tables_free(&g->t);
	if (g->pol)
		policy_free(g->pol);
	for (unsigned b = 0; b < POL_MAX_LABELS; b++)
		free(g->kname[b]);
	free(g->path);
	free(g->bound);
	memset(g, 0, sizeof(*g));
}

/* ---- DNS binding ---------------------------------------------------------- */

/* Keep (name, addr) for a reload (bounded; the oldest are kept). */
static void remember_binding(struct guard *g, const char *name, const uint8_t addr[16])
{
	for (size_t i = 0; i < g->nbound; i++)
		if (!memcmp(g->bound[i].addr, addr, 16) && !strcmp(g->bound[i].name, name))
			return;
	if (g->nbound >= AT_GUARD_DOMAINS * 4)
		return;
	if (g->nbound == g->capbound) {
		size_t cap = g->capbound ? g->capbound * 2 : 64;
		struct guard_bound *n = realloc(g->bound, cap * sizeof(*n));

		if (!n)
			return;
		g->bound = n;
		g->capbound = cap;
	}
	snprintf(g->bound[g->nbound].name, sizeof(g->bound[0].name), "%s", name);
	memcpy(g->bound[g->nbound].addr, addr, 16);
	g->nbound++;
}

void guard_dns_answer(struct guard *g, const char *name, const uint8_t addr[16])
{
	const struct tbl_ep_entry *e;

	if (!g->pol)
		return;
	remember_binding(g, name, addr);
	if (!g->t.ndomains)
		return;
	e = tables_bind(&g->t, name, addr);
	if (e && put_entry(g, e) && !g->quiet)
		fprintf(stderr, "agenttrail: guard: cannot bind %s: %s\n", name, strerror(errno));
}

void guard_dns_record(struct guard *g, const void *data, size_t size)
{
	const struct at_dns *d = data;
	struct dns_msg *m;
	int rc;

	if (!g->pol || size < sizeof(*d) || d->len > AT_DNS_MAX)
		return;
	m = malloc(sizeof(*m));
	if (!m)
		return;
	rc = (d->h.flags & AT_F_DNS_TCP) ? dns_parse_tcp(d->data, d->len, m)
					 : dns_parse(d->data, d->len, m);
	if (rc == 0 && m->response) {
		for (size_t i = 0; i < m->n_answers; i++) {
			const struct dns_rr *rr = &m->answers[i];
			uint8_t a[16];

			if (rr->family == AF_INET)
				tables_v4mapped(*(const uint32_t *)rr->addr, a);
			else if (rr->family == AF_INET6)
				memcpy(a, rr->addr, 16);
			else
				continue;
			/* the name asked for, and each name of a CNAME chain */
			guard_dns_answer(g, rr->name, a);
			if (strcmp(rr->name, m->qname))
				guard_dns_answer(g, m->qname, a);
		}
	}
	free(m);
}

/* ---- violations ----------------------------------------------------------- */

static const char *op_name(unsigned bit)
{
	return pol_op_name(1u << bit);
}

static const char *mech_name(unsigned m)
{
	switch (m) {
	case AT_MECH_CGROUP: return "cgroup";
	case AT_MECH_LSM: return "lsm";
	case AT_MECH_FANOTIFY: return "fanotify";
	case AT_MECH_TRACE: return "tracepoint";
	}
	return "unknown";
}

/* LSM decisions carry the file's path (and a last component to join). */
static bool file_target(const struct at_violation *v, size_t size, char *out, size_t len)
{
	const char *path = v->data, *name = v->data + v->path_len;

	if (!v->path_len || sizeof(*v) + (size_t)v->path_len + v->name_len > size ||
	    path[v->path_len - 1] || (v->name_len && name[v->name_len - 1]))
		return false;
	if (v->name_len)
		snprintf(out, len, "%s%s%s", path, strcmp(path, "/") ? "/" : "", name);
	else
		snprintf(out, len, "%s", path);
	return true;
}

static void format_addr(const struct at_violation *v, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!memcmp(v->addr, mapped, 12)) {
		inet_ntop(AF_INET, v->addr + 12, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, v->port);
	} else {
		inet_ntop(AF_INET6, v->addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, v->port);
	}
}

void guard_format_reason(const char *tmpl, const char *rule, const char *op, const char *comm,
			 uint32_t pid, const char *exe, const char *target, const char *labels,
			 char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (const char *p = tmpl; *p && o + 1 < len;) {
		const char *val = NULL;
		char num[16];
		size_t n;

		if (p[0] == '{' && p[1] == '{') {
			out[o++] = '{';
			p += 2;
			continue;
		}
		if (p[0] == '}' && p[1] == '}') {
			out[o++] = '}';
			p += 2;
			continue;
		}
		if (*p != '{') {
			out[o++] = *p++;
			continue;
		}
#define VAR(name, v) else if (!strncmp(p, "{" name "}", sizeof(name) + 1)) { val = (v); n = sizeof(name) + 1; }
		if (0) {
		}
		VAR("rule", rule)
		VAR("op", op)
		VAR("comm", comm)
		VAR("exe", exe)
		VAR("target", target)
		VAR("labels", labels)
		VAR("pid", (snprintf(num, sizeof(num), "%u", pid), num))
		else {
			out[o++] = *p++;
			continue;
		}
#undef VAR
		p += n;
		for (const char *s = val ? val : ""; *s && o + 1 < len; s++)
			out[o++] = *s;
	}
	out[o] = '\0';
	pol_utf8_trim(out);   /* a long reason is cut: never inside a character */
}

static void exe_of(uint32_t pid, char *out, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, out, len - 1);
	if (n <= 0)
		snprintf(out, len, "?");
	else
		out[n] = '\0';
}

json_t *guard_violation_json(struct guard *g, struct ev_ctx *c, const void *data, size_t size)
{
	const struct at_violation *v = data;
	char target[4400], exe[4096], labels[1024] = "", reason[2048], comm[AT_COMM_LEN + 1];
	json_t *o, *rules, *lab;
	const struct pol_rule *first = NULL;

	if (size < sizeof(*v) || v->nrules == 0 || v->nrules > AT_VIOL_FIRED || !g->pol)
		return NULL;
	o = event_common(c, &v->h);
	if (!o)
		return NULL;
	if (!file_target(v, size, target, sizeof(target)))
		format_addr(v, target, sizeof(target));
	exe_of(v->h.pid, exe, sizeof(exe));
	memcpy(comm, v->h.comm, AT_COMM_LEN);
	comm[AT_COMM_LEN] = '\0';

	lab = json_array();
	for (unsigned b = 0; b < POL_MAX_LABELS; b++) {
		if (!(v->labels.w[b / 64] >> (b % 64) & 1))
			continue;
		json_array_append_new(lab, json_string(g->kname[b] ? g->kname[b] : "?"));
		if (strlen(labels) + 70 < sizeof(labels)) {
			if (labels[0])
				strcat(labels, ", ");
			strcat(labels, g->kname[b] ? g->kname[b] : "?");
		}
	}
	rules = json_array();
	for (unsigned i = 0; i < v->nrules; i++) {
		if (v->rules[i] >= g->pol->nrules)
			continue;
		if (!first)
			first = &g->pol->rules[v->rules[i]];
		json_array_append_new(rules, json_string(g->pol->rules[v->rules[i]].name));
	}
	if (!first) {
		/* a decision of a policy that has been replaced since */
		json_decref(rules);
		json_decref(lab);
		json_decref(o);
		return NULL;
	}
	guard_format_reason(first->reason, first->name, op_name(v->op), comm, v->h.pid, exe, target,
			    labels[0] ? labels : "no labels", reason, sizeof(reason));
	json_object_set_new(o, "rule", json_string(first->name));
	json_object_set_new(o, "rules", rules);
	json_object_set_new(o, "op", json_string(op_name(v->op)));
	json_object_set_new(o, "effect", json_string(pol_effect_name((enum pol_effect)v->effect)));
	json_object_set_new(o, "mechanism", json_string(mech_name(v->mech)));
	json_object_set_new(o, "errno", json_integer(v->err));
	json_object_set_new(o, "target", json_string(target));
	json_object_set_new(o, "exe", json_string(exe));
	json_object_set_new(o, "labels", lab);
	json_object_set_new(o, "reason", json_string(reason));
	g->violations++;
	return o;
}

void guard_proc_labels(const struct guard *g, uint32_t tgid, struct pol_labelset *out)
{
	struct at_plabels pl;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(g->fd_procs, &tgid, &pl))
		return;
	for (size_t i = 0; i < g->pol->nlabels; i++)
		if (pl.l.w[g->kid[i] / 64] >> (g->kid[i] % 64) & 1)
			pol_set_add(out, (unsigned)i);
}

void guard_labels_text(const struct policy *p, const struct pol_labelset *s, char *out,
		       size_t len, json_t *names)
{
	size_t o = 0;

	if (len)
		out[0] = '\0';
	for (size_t i = 0; i < p->nlabels; i++) {
		if (!pol_set_has(s, (unsigned)i))
			continue;
		if (names)
			json_array_append_new(names, json_string(p->labels[i].name));
		if (len && o + strlen(p->labels[i].name) + 3 < len)
			o += (size_t)snprintf(out + o, len - o, "%s%s", o ? ", " : "", p->labels[i].name);
	}
}
