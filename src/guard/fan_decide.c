/* The fanotify backend's decisions: what a permission event asks, which
 * rules apply, the answer and its violation event. See fan.h. */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agenttrail/events.h"
#include "guard/causal.h"
#include "guard/fan.h"
#include "guard/fan_int.h"
#include "guard/feedback.h"
#include "guard/files.h"
#include "guard/guard.h"

/* ---- one decision ---------------------------------------------------------- */



static int tgid_of(uint32_t tid, uint32_t *tgid)
{
	char p[64], line[128];
	FILE *fp;
	int rc = -1;

	snprintf(p, sizeof(p), "/proc/%u/status", tid);
	fp = fopen(p, "re");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Tgid: %u", tgid) == 1) {
			rc = 0;
			break;
		}
	fclose(fp);
	return rc;
}

static void read_link(const char *link, char *out, size_t len)
{
	ssize_t n = readlink(link, out, len - 1);

	if (n <= 0)
		snprintf(out, len, "?");
	else
		out[n] = '\0';
}

static void subject_labels(struct fan *f, struct subject *s)
{
	guard_proc_labels(f->g, s->tgid, &s->labels);
}

static bool prot_has(struct fan *f, const struct subject *s, size_t rule)
{
	uint32_t dev = files_kdev(s->st.st_dev);
	bool hit = false;

	/* the recorder's thread adds to the table (remark_new_file) */
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->nprot && !hit; i++)
		hit = f->prot[i].rule == rule && f->prot[i].ino == s->st.st_ino && f->prot[i].dev == dev;
	pthread_mutex_unlock(&f->mu);
	return hit;
}

static bool paths_match(struct fan *f, const struct pol_rule *r, size_t ri,
			const struct subject *s, const char *path)
{
	bool in = !r->paths.n;

	for (size_t i = 0; !in && i < r->paths.n; i++)
		in = pol_glob_match(r->paths.v[i].pattern, path);
	if (!in && r->paths.n)
		in = prot_has(f, s, ri);
	for (size_t i = 0; in && i < r->paths_except.n; i++)
		if (pol_glob_match(r->paths_except.v[i].pattern, path))
			in = false;
	return in;
}

static bool operand_outside(const struct pol_rule *r, const struct subject *s)
{
	char cwdlink[64], cwd[PATH_MAX];

	if (!r->operands_outside.n)
		return true;
	snprintf(cwdlink, sizeof(cwdlink), "/proc/%u/cwd", s->tid);
	read_link(cwdlink, cwd, sizeof(cwd));
	return pol_operands_outside(r, cwd, s->argv, s->argc);
}

/* Is path the ELF program loader (which runs a program given as its
 * argument, opening it without an exec of its own)? */
static bool is_loader(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, "ld-linux", 8) || !strncmp(b, "ld.so", 5) || !strncmp(b, "ld-musl", 7);
}

/*
 * "ld.so [OPTIONS] PROGRAM ARGS": the index of PROGRAM in argv (0 if none),
 * and the argv[0] it will run under (--argv0).
 */
static size_t loader_program(const struct subject *s, const char **argv0)
{
	static const char *const with_arg[] = { "--argv0", "--library-path", "--preload", "--audit",
						"--inhibit-rpath", "--glibc-hwcaps-prepend",
						"--glibc-hwcaps-mask" };
	size_t i = 1;

	*argv0 = NULL;
	while (i < s->argc && s->argv[i][0] == '-') {
		bool takes = false;

		if (!strcmp(s->argv[i], "--")) {
			i++;
			break;
		}
		for (size_t k = 0; k < sizeof(with_arg) / sizeof(with_arg[0]); k++)
			if (!strcmp(s->argv[i], with_arg[k]))
				takes = true;
		if (takes && !strcmp(s->argv[i], "--argv0") && i + 1 < s->argc)
			*argv0 = s->argv[i + 1];
		i += takes ? 2 : 1;
	}
	return i < s->argc ? i : 0;
}

static bool commands_match(const struct pol_rule *r, const char *exe, char **argv, size_t argc)
{
	for (size_t i = 0; i < r->commands.n; i++)
		if (pol_command_match(&r->commands.v[i], exe, argv, argc))
			return true;
	return false;
}

static bool exec_matches(struct fan *f, const struct pol_rule *r, size_t ri, struct subject *s,
			 const char *exe, char **argv, size_t argc)
{
	if (r->commands.n && !commands_match(r, exe, argv, argc))
		return false;
	if (r->paths.n && !paths_match(f, r, ri, s, exe))
		return false;
	return operand_outside(r, s);
}

static bool target_matches(struct fan *f, const struct pol_rule *r, size_t ri, struct subject *s,
			   bool exec)
{
	const char *argv0;
	size_t p;

	if (!exec)
		return paths_match(f, r, ri, s, s->path);
	if (exec_matches(f, r, ri, s, s->path, s->argv, s->argc))
		return true;
	/* the program the loader is asked to run is what runs (when the loader
	 * is what was exec'd, not the interpreter of another program) */
	if (!s->first_event || !is_loader(s->path) || !(p = loader_program(s, &argv0)))
		return false;
	if (argv0) {
		char *saved = s->argv[p];
		bool hit;

		s->argv[p] = (char *)argv0;
		hit = exec_matches(f, r, ri, s, saved, s->argv + p, s->argc - p);
		s->argv[p] = saved;
		if (hit)
			return true;
	}
	return exec_matches(f, r, ri, s, s->argv[p], s->argv + p, s->argc - p);
}

/* Ask the recorder to process what the ring holds, so that after/since
 * see everything that happened before this exec. Bounded: the recorder's
 * thread may itself be waiting on a permission event. */
static void wait_for_drain(struct fan *f)
{
	uint64_t one = 1, want;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += FAN_DRAIN_WAIT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&f->mu);
	want = ++f->drain_req;
	pthread_mutex_unlock(&f->mu);
	if (write(f->wake_fd, &one, sizeof(one)) != sizeof(one))
		return;
	pthread_mutex_lock(&f->mu);
	while (f->drain_done < want)
		if (pthread_cond_timedwait(&f->cv, &f->mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&f->mu);
}

static bool unless_after(struct fan *f, const struct pol_rule *r, size_t ri, bool *drained,
			 char *why, size_t whylen)
{
	bool holds = false;

	if (!r->nafter)
		return false;
	if (!*drained) {
		wait_for_drain(f);
		*drained = true;
	}
	pthread_mutex_lock(&f->mu);
	for (size_t k = 0; !holds && k < r->nafter; k++)
		holds = causal_holds(f->causal, ri, k, why, whylen);
	pthread_mutex_unlock(&f->mu);
	return holds;
}

static unsigned ops_of(const struct subject *s, bool exec)
{
	unsigned acc = s->flags & O_ACCMODE, ops = POL_OP_OPEN;

	if (exec)
		return POL_OP_EXEC;
	if (!s->flags_known)
		return POL_OP_OPEN | POL_OP_READ | POL_OP_WRITE;
	if (acc != O_WRONLY)
		ops |= POL_OP_READ;
	if (acc != O_RDONLY || (s->flags & (O_TRUNC | O_CREAT)))
		ops |= POL_OP_WRITE;
	return ops;
}

/*
 * The violation event of a decision, queued for the recorder. mechanism:
 * "fanotify" or "seccomp" (decided before the operation; enforced), or
 * "tracepoint" (seen in the recorded event, after the fact; not enforced).
 */
static void queue_violation(struct fan *f, struct subject *s, const size_t *fired, size_t nfired,
			    unsigned op, enum pol_effect eff, const char *why, const char *mechanism)
{
	bool observed = !strcmp(mechanism, "tracepoint");
	const struct policy *p = f->g->pol;
	const struct pol_rule *r = &p->rules[fired[0]];
	char comm[32] = "?", link[64], labels[1024] = "", reason[2048];
	json_t *o = json_object(), *rules = json_array(), *lab = json_array();
	struct timespec ts;
	FILE *fp;

	snprintf(link, sizeof(link), "/proc/%u/comm", s->tid);
	if (s->comm[0])
		snprintf(comm, sizeof(comm), "%s", s->comm);
	else if ((fp = fopen(link, "re"))) {
		if (fgets(comm, sizeof(comm), fp))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(fp);
	}
	guard_labels_text(p, &s->labels, labels, sizeof(labels), lab);
	for (size_t i = 0; i < nfired; i++)
		json_array_append_new(rules, json_string(p->rules[fired[i]].name));
	guard_format_reason(r->reason, r->name, pol_op_name(op), comm, s->tgid, s->exe, s->path,
			    labels[0] ? labels : "no labels", reason, sizeof(reason));
	if (why && why[0] && strlen(reason) + strlen(why) + 4 < sizeof(reason)) {
		strcat(reason, " (");
		strcat(reason, why);
		strcat(reason, ")");
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(o, "type", json_string("violation"));
	json_object_set_new(o, "ts_ns", json_integer((json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec));
	json_object_set_new(o, "session", json_integer((json_int_t)s->proc.session));
	json_object_set_new(o, "pid", json_integer(s->tgid));
	json_object_set_new(o, "tid", json_integer(s->tid));
	json_object_set_new(o, "start_ns", json_integer((json_int_t)s->proc.start_ns));
	json_object_set_new(o, "comm", json_string(comm));
	json_object_set_new(o, "rule", json_string(r->name));
	json_object_set_new(o, "rules", rules);
	json_object_set_new(o, "op", json_string(pol_op_name(op)));
	json_object_set_new(o, "effect", json_string(pol_effect_name(eff)));
	json_object_set_new(o, "mechanism", json_string(mechanism));
	json_object_set_new(o, "errno", json_integer(eff == POL_NOTIFY || observed ? 0 : EPERM));
	if (observed)
		json_object_set_new(o, "enforced", json_false());
	json_object_set_new(o, "target", json_string(s->path));
	json_object_set_new(o, "exe", json_string(s->exe));
	json_object_set_new(o, "labels", lab);
	json_object_set_new(o, "reason", json_string(reason));
	/* the refused program waits for the answer: tell it first */
	if (!observed && eff == POL_BLOCK && f->g->tool_reason)
		json_object_set_new(o, "told", json_boolean(feedback_to_stderr((pid_t)s->tgid, r->name,
										 reason) == 0));
	if (op == POL_OP_EXEC) {
		json_t *argv = json_array();

		for (size_t i = 0; i < s->argc; i++)
			json_array_append_new(argv, json_string(s->argv[i]));
		json_object_set_new(o, "argv", argv);
	}
	pthread_mutex_lock(&f->mu);
	json_array_append_new(f->queue, o);
	pthread_mutex_unlock(&f->mu);
}

static void split_argv(struct subject *s)
{
	size_t off = 0, len = s->req.len < sizeof(s->req.buf) ? s->req.len : sizeof(s->req.buf) - 1;

	s->req.buf[len] = '\0';
	s->argc = 0;
	while (off < len && s->argc < s->req.argc && s->argc < AT_EXEC_ARGC_MAX) {
		s->argv[s->argc++] = &s->req.buf[off];
		off += strlen(&s->req.buf[off]) + 1;
	}
}

/* Is this the first permission event of exec request (tid, ts)? The file
 * asked for comes first, then its ELF interpreter. */
static bool first_exec_event(struct fan *f, uint32_t tid, uint64_t ts)
{
	const unsigned n = sizeof(f->seen_exec) / sizeof(f->seen_exec[0]);

	for (unsigned i = 0; i < n; i++)
		if (f->seen_exec[i].tid == tid && f->seen_exec[i].ts == ts)
			return false;
	f->seen_exec[f->seen_next % n].tid = tid;
	f->seen_exec[f->seen_next % n].ts = ts;
	f->seen_next++;
	return true;
}

/* A session process's exec whose arguments were not captured (the
 * kernel's table of execs in progress was full): refused, as the first
 * exec rule, so that a flood of execs cannot open a way around the rules. */
static uint32_t refuse_unknown_exec(struct fan *f, const struct fanotify_event_metadata *m,
				    struct subject *s)
{
	size_t fired = 0;
	char link[64];
	bool found = false;

	pthread_rwlock_rdlock(&f->pol_lock);
	for (size_t ri = 0; ri < f->g->pol->nrules && !found; ri++)
		if (f->g->pol->rules[ri].ops & POL_OP_EXEC) {
			fired = ri;
			found = true;
		}
	if (found) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
		read_link(link, s->path, sizeof(s->path));
		snprintf(s->exe, sizeof(s->exe), "%s", s->path);
		subject_labels(f, s);
		queue_violation(f, s, &fired, 1, POL_OP_EXEC, POL_BLOCK,
				"refused: its arguments could not be captured", "fanotify");
	}
	pthread_rwlock_unlock(&f->pol_lock);
	f->decisions++;
	if (!found)
		return FAN_ALLOW;
	f->denied++;
	return FAN_DENY;
}

/* FAN_ALLOW or FAN_DENY for one permission event. */
uint32_t fan_decide(struct fan *f, const struct fanotify_event_metadata *m, struct subject *s)
{
	bool exec = m->mask & FAN_OPEN_EXEC_PERM, drained = false;
	enum pol_effect eff = 0;
	size_t fired[AT_VIOL_FIRED], nfired = 0;
	char link[64], why[512] = "";
	unsigned ops;
	const struct policy *p;

	memset(s, 0, offsetof(struct subject, exe));
	s->tid = (uint32_t)m->pid;
	if (exec) {
		if (bpf_map_lookup_elem(f->fd_exec_reqs, &s->tid, &s->req)) {
			/* No argv captured: not a session process, or (fail
			 * closed) one whose exec could not be noted because the
			 * table was full. Every exec of the machine comes here;
			 * while nothing was lost, the answer needs no /proc read. */
			uint32_t zero = 0;
			uint64_t lost = 0;

			if (bpf_map_lookup_elem(f->fd_exec_lost, &zero, &lost) || !lost ||
			    tgid_of(s->tid, &s->tgid) ||
			    bpf_map_lookup_elem(f->fd_tracked, &s->tgid, &s->proc))
				return FAN_ALLOW;
			return refuse_unknown_exec(f, m, s);
		}
		s->tgid = s->req.tgid;
		split_argv(s);
		s->first_event = first_exec_event(f, s->tid, s->req.ts);
	} else {
		struct at_open_req req;

		if (bpf_map_lookup_elem(f->fd_open_reqs, &s->tid, &req) == 0) {
			s->tgid = req.tgid;
			s->flags = req.flags;
			s->flags_known = true;
		} else if (tgid_of(s->tid, &s->tgid)) {
			return FAN_ALLOW; /* gone */
		}
	}
	if (bpf_map_lookup_elem(f->fd_tracked, &s->tgid, &s->proc))
		return FAN_ALLOW;  /* outside every session */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
	read_link(link, s->path, sizeof(s->path));
	if (fstat(m->fd, &s->st))
		memset(&s->st, 0, sizeof(s->st));
	if (exec) {
		snprintf(s->exe, sizeof(s->exe), "%s", s->path);
	} else {
		snprintf(link, sizeof(link), "/proc/%u/exe", s->tid);
		read_link(link, s->exe, sizeof(s->exe));
	}
	ops = ops_of(s, exec);

	pthread_rwlock_rdlock(&f->pol_lock);
	p = f->g->pol;
	subject_labels(f, s);
	for (size_t ri = 0; ri < p->nrules; ri++) {
		const struct pol_rule *r = &p->rules[ri];

		if (f->g->lsm_rule[ri] || !(r->ops & ops) || !target_matches(f, r, ri, s, exec) ||
		    !pol_dnf_eval(&r->when, &s->labels))
			continue;
		if (unless_after(f, r, ri, &drained, why, sizeof(why)))
			continue;
		if (nfired < AT_VIOL_FIRED)
			fired[nfired++] = ri;
		if (r->effect == POL_KILL || (r->effect == POL_BLOCK && eff != POL_KILL) || !eff)
			eff = r->effect;
	}
	if (nfired) {
		unsigned op = exec ? POL_OP_EXEC : (ops & POL_OP_WRITE) ? POL_OP_WRITE
						 : (ops & POL_OP_READ) ? POL_OP_READ : POL_OP_OPEN;

		/* report the op the first rule was written for */
		for (unsigned b = POL_OP_EXEC; b <= POL_OP_SEND; b <<= 1)
			if (p->rules[fired[0]].ops & ops & b) {
				op = b;
				break;
			}
		queue_violation(f, s, fired, nfired, op, eff, why, "fanotify");
	}
	pthread_rwlock_unlock(&f->pol_lock);
	f->decisions++;
	if (!nfired || eff == POL_NOTIFY)
		return FAN_ALLOW;
	f->denied++;
	if (eff == POL_KILL)
		kill((pid_t)s->tgid, SIGKILL);
	return FAN_DENY;
}


/*
 * The rules an unlink or rename of paths[] (the name, or a rename's old and
 * new names; NULL where absent) by s fires, and the strongest effect among
 * them (0: none). sts[k] is the file at paths[k] when known (an inode a
 * rule's path named, reached through another name), else NULL. drained:
 * the recorded history is already up to date (the recorder's thread).
 */
static enum pol_effect unlink_rename_rules(struct fan *f, struct subject *s, unsigned op,
					   const char *const paths[2], const struct stat *const sts[2],
					   bool drained, size_t *fired, size_t *nfired, char *why,
					   size_t whylen)
{
	const struct policy *p = f->g->pol;
	enum pol_effect eff = 0;

	*nfired = 0;
	subject_labels(f, s);
	for (size_t ri = 0; ri < p->nrules; ri++) {
		const struct pol_rule *r = &p->rules[ri];
		bool hit = false;

		if (f->g->lsm_rule[ri] || !(r->ops & op) || !pol_dnf_eval(&r->when, &s->labels))
			continue;
		for (int k = 0; k < 2 && !hit; k++) {
			if (!paths[k])
				continue;
			if (sts[k])
				s->st = *sts[k];
			else
				memset(&s->st, 0, sizeof(s->st));
			if (paths_match(f, r, ri, s, paths[k])) {
				hit = true;
				snprintf(s->path, sizeof(s->path), "%s", paths[k]);
			}
		}
		if (!hit || unless_after(f, r, ri, &drained, why, whylen))
			continue;
		if (*nfired < AT_VIOL_FIRED)
			fired[(*nfired)++] = ri;
		if (r->effect == POL_KILL || (r->effect == POL_BLOCK && eff != POL_KILL) || !eff)
			eff = r->effect;
	}
	return eff;
}

enum pol_effect fan_judge_unlink_rename(struct fan *f, struct subject *s, unsigned op,
					const char *const paths[2], const struct stat *const sts[2])
{
	size_t fired[AT_VIOL_FIRED], nfired;
	enum pol_effect eff;
	char why[512] = "";

	pthread_rwlock_rdlock(&f->pol_lock);
	eff = unlink_rename_rules(f, s, op, paths, sts, false, fired, &nfired, why, sizeof(why));
	/* notify alone lets it happen: reported from the recorded event */
	if (eff == POL_NOTIFY)
		eff = 0;
	if (eff)
		queue_violation(f, s, fired, nfired, op, eff, why, "seccomp");
	pthread_rwlock_unlock(&f->pol_lock);
	if (eff == POL_KILL)
		kill((pid_t)s->tgid, SIGKILL);
	return eff;
}

/*
 * An unlink or rename that happened (the recorded event), checked against
 * the rules after the fact: what the seccomp backend did not stop (no
 * BPF-LSM and a process it does not see), and every notify rule. The
 * violation says so (mechanism "tracepoint", enforced false); effect kill
 * still stops the process from going on.
 */
void fan_observe_unlink_rename(struct fan *f, const json_t *ev, unsigned op)
{
	struct subject *s;
	size_t fired[AT_VIOL_FIRED], nfired = 0;
	enum pol_effect eff;
	const json_t *ret = json_object_get(ev, "ret");
	const char *paths[2] = { json_string_value(json_object_get(ev, "path")),
				 json_string_value(json_object_get(ev, "new_path")) };
	const struct stat *sts[2] = { NULL, NULL };
	char why[512] = "";

	if (!json_is_integer(ret) || json_integer_value(ret) < 0)
		return;
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->tgid = (uint32_t)json_integer_value(json_object_get(ev, "pid"));
	s->tid = (uint32_t)json_integer_value(json_object_get(ev, "tid"));
	s->proc.session = (uint64_t)json_integer_value(json_object_get(ev, "session"));
	s->proc.start_ns = (uint64_t)json_integer_value(json_object_get(ev, "start_ns"));
	pthread_rwlock_rdlock(&f->pol_lock);
	eff = unlink_rename_rules(f, s, op, paths, sts, true, fired, &nfired, why, sizeof(why));
	if (nfired) {
		const char *exe = json_string_value(json_object_get(ev, "exe"));
		const char *comm = json_string_value(json_object_get(ev, "comm"));

		snprintf(s->exe, sizeof(s->exe), "%s", exe ? exe : "?");
		snprintf(s->comm, sizeof(s->comm), "%s", comm ? comm : "?");
		queue_violation(f, s, fired, nfired, op, eff,
				eff == POL_NOTIFY ? "" :
				f->seccomp ? "observed: not refused: a process the seccomp filter does not "
					     "cover (another mount or user namespace, or not started by "
					     "agenttrail run)"
					   : "observed: this kernel cannot refuse unlink or rename without BPF-LSM",
				"tracepoint");
		if (eff == POL_KILL)
			kill((pid_t)s->tgid, SIGKILL);
	}
	pthread_rwlock_unlock(&f->pol_lock);
	free(s);
}
