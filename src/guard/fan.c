/* The fanotify backend: file and exec rules decided in user space. See fan.h. */
#include "guard/fan.h"
#include "guard/fan_int.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agenttrail/events.h"
#include "capture/loader.h"
#include "guard/causal.h"
#include "guard/files.h"
#include "guard/guard.h"
#include "guard.skel.h"
#include "proc.skel.h"

#define FAN_MARK_WALK_MAX 20000 /* directories marked under one rule path */


bool fan_needed(const struct policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].ops & (FAN_FILE_OPS | POL_OP_EXEC | FAN_OBSERVED_OPS))
			return true;
	return false;
}

bool fan_needed_now(const struct guard *g)
{
	for (size_t i = 0; i < g->pol->nrules; i++)
		if (!g->lsm_rule[i] && (g->pol->rules[i].ops & (FAN_FILE_OPS | POL_OP_EXEC | FAN_OBSERVED_OPS)))
			return true;
	return false;
}

/* ---- marks ---------------------------------------------------------------- */

void fan_add_prot(struct fan *f, const struct stat *st, uint32_t rule)
{
	if (f->nprot == f->capprot) {
		size_t cap = f->capprot ? f->capprot * 2 : 64;
		struct fan_prot *n = realloc(f->prot, cap * sizeof(*n));

		if (!n)
			return;
		f->prot = n;
		f->capprot = cap;
	}
	f->prot[f->nprot].ino = st->st_ino;
	f->prot[f->nprot].dev = files_kdev(st->st_dev);
	f->prot[f->nprot].rule = rule;
	f->nprot++;
}

static int mark(struct fan *f, unsigned flags, uint64_t mask, const char *path)
{
	if (fanotify_mark(f->fd, FAN_MARK_ADD | flags, mask, AT_FDCWD, path))
		return -1;
	f->marks++;
	return 0;
}

/* Mark every directory under dir (its children's opens) and every file a
 * rule's glob matches (its inode: hard links and symlinks too). */
static void mark_tree(struct fan *f, char *path, size_t cap, const char *pattern, uint32_t rule,
		      size_t *budget, int depth)
{
	size_t len = strlen(path);
	struct stat st;
	struct dirent *de;
	DIR *d;

	if (!*budget || depth > 64 || lstat(path, &st))
		return;
	(*budget)--;
	if (!S_ISDIR(st.st_mode)) {
		if (stat(path, &st) == 0 && pol_glob_match(pattern, path)) {
			mark(f, 0, FAN_OPEN_PERM, path);
			fan_add_prot(f, &st, rule);
		}
		return;
	}
	mark(f, FAN_MARK_ONLYDIR, FAN_OPEN_PERM | FAN_EVENT_ON_CHILD, path);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (len + 2 + strlen(de->d_name) > cap)
			continue;
		snprintf(path + len, cap - len, "%s%s", path[len - 1] == '/' ? "" : "/", de->d_name);
		mark_tree(f, path, cap, pattern, rule, budget, depth + 1);
		path[len] = '\0';
	}
	closedir(d);
}

/* The nearest existing directory at or above path. */
static void existing_dir(char *path)
{
	struct stat st;

	while (path[0] && (stat(path, &st) || !S_ISDIR(st.st_mode))) {
		char *s = strrchr(path, '/');

		if (!s || s == path) {
			strcpy(path, "/");
			return;
		}
		*s = '\0';
	}
}

static void mark_filesystem(struct fan *f, uint64_t mask, const char *path, dev_t *seen,
			    size_t *nseen)
{
	struct stat st;

	if (stat(path, &st))
		return;
	for (size_t i = 0; i < *nseen; i++)
		if (seen[i] == st.st_dev)
			return;
	if (mark(f, FAN_MARK_FILESYSTEM, mask, path) == 0)
		seen[(*nseen)++] = st.st_dev;
}

static int mark_policy(struct fan *f, char *err, size_t errlen)
{
	const struct policy *p = f->g->pol;
	const char *fs_roots[] = { "/", p->workspace, p->home, "/tmp" };
	dev_t exec_seen[8], open_seen[8];
	size_t nexec = 0, nopen = 0;
	char *path = malloc(PATH_MAX);

	if (!path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fanotify_mark(f->fd, FAN_MARK_FLUSH, 0, AT_FDCWD, "/");
	fanotify_mark(f->fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, "/");
	f->marks = 0;
	f->nprot = 0;
	for (size_t r = 0; r < p->nrules; r++) {
		const struct pol_rule *ru = &p->rules[r];

		if (f->g->lsm_rule[r])
			continue;   /* decided in the kernel by the LSM programs */
		if (ru->ops & POL_OP_EXEC)
			for (size_t i = 0; i < sizeof(fs_roots) / sizeof(fs_roots[0]); i++)
				mark_filesystem(f, FAN_OPEN_EXEC_PERM, fs_roots[i], exec_seen, &nexec);
		if (!(ru->ops & FAN_FILE_OPS))
			continue;
		if (!ru->paths.n)
			for (size_t i = 0; i < sizeof(fs_roots) / sizeof(fs_roots[0]); i++)
				mark_filesystem(f, FAN_OPEN_PERM, fs_roots[i], open_seen, &nopen);
		for (size_t g = 0; g < ru->paths.n; g++) {
			const char *pat = ru->paths.v[g].pattern;
			size_t budget = FAN_MARK_WALK_MAX;
			struct stat st;

			if (!strncmp(pat, "**", 2)) {
				/* anywhere: the workspace's whole filesystem */
				mark_filesystem(f, FAN_OPEN_PERM, p->workspace, open_seen, &nopen);
				continue;
			}
			files_fixed_prefix(pat, path, PATH_MAX);
			if (stat(path, &st) == 0) {
				/* an existing file: its inode (a new file put in its
				 * place later is marked when the recorder sees it) */
				mark_tree(f, path, PATH_MAX, pat, (uint32_t)r, &budget, 0);
				continue;
			}
			/* not there yet: its directory's children, so that its
			 * creation is decided too */
			existing_dir(path);
			mark(f, FAN_MARK_ONLYDIR, FAN_OPEN_PERM | FAN_EVENT_ON_CHILD, path);
		}
	}
	free(path);
	return 0;
}

static void *responder(void *arg)
{
	struct fan *f = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct subject *s = malloc(sizeof(*s));
	struct pollfd pfd[2] = { { .fd = f->fd, .events = POLLIN }, { .fd = f->stop_fd, .events = POLLIN } };

	if (!s)
		return NULL;
	for (;;) {
		ssize_t n;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		n = read(f->fd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, n);
		     m = FAN_EVENT_NEXT(m, n)) {
			struct fanotify_response resp = { .fd = m->fd, .response = FAN_ALLOW };

			if (m->vers != FANOTIFY_METADATA_VERSION)
				continue;
			if (m->mask & FAN_Q_OVERFLOW)
				f->overflows++;
			if (m->fd < 0)
				continue;
			if (m->mask & (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)) {
				resp.response = fan_decide(f, m, s);
				if (write(f->fd, &resp, sizeof(resp)) != sizeof(resp))
					f->overflows++;
			}
			close(m->fd);
		}
	}
	free(s);
	return NULL;
}

/* ---- lifecycle -------------------------------------------------------------- */

int fan_open(struct fan *f, struct guard *g, struct loader *l, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->fd = f->wake_fd = f->stop_fd = -1;
	f->g = g;
	f->fd_open_reqs = bpf_map__fd(l->proc->maps.open_reqs);
	f->fd_exec_reqs = bpf_map__fd(l->proc->maps.exec_reqs);
	f->fd_exec_lost = bpf_map__fd(l->guard->maps.exec_reqs_lost);
	f->fd_tracked = l->tracked_fd;
	f->fd_procs = bpf_map__fd(l->proc->maps.proc_labels);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	pthread_rwlock_init(&f->pol_lock, NULL);
	f->queue = json_array();
	f->causal = causal_new(g->pol);
	f->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_REPORT_TID | FAN_UNLIMITED_QUEUE,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0) {
		snprintf(err, errlen, "fanotify_init: %s (file and exec rules need fanotify "
			 "permission events)", strerror(errno));
		goto fail;
	}
	f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->wake_fd < 0 || f->stop_fd < 0 || !f->queue || !f->causal) {
		snprintf(err, errlen, "fanotify backend: %s", strerror(errno));
		goto fail;
	}
	if (mark_policy(f, err, errlen))
		goto fail;
	if (pthread_create(&f->thread, NULL, responder, f)) {
		snprintf(err, errlen, "fanotify backend: cannot start its thread");
		goto fail;
	}
	f->running = true;
	return 0;
fail:
	fan_close(f);
	return -1;
}

void fan_close(struct fan *f)
{
	uint64_t one = 1;

	if (f->running) {
		if (write(f->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(f->thread, NULL);
		f->running = false;
	}
	/* closing the group answers every pending event with "allow" */
	if (f->fd >= 0)
		close(f->fd);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	f->fd = f->wake_fd = f->stop_fd = -1;
	causal_free(f->causal);
	f->causal = NULL;
	json_decref(f->queue);
	f->queue = NULL;
	free(f->prot);
	f->prot = NULL;
	if (f->g) {
		pthread_mutex_destroy(&f->mu);
		pthread_cond_destroy(&f->cv);
		pthread_rwlock_destroy(&f->pol_lock);
		f->g = NULL;
	}
}

void fan_lock_policy(struct fan *f)
{
	pthread_rwlock_wrlock(&f->pol_lock);
}

void fan_unlock_policy(struct fan *f)
{
	pthread_rwlock_unlock(&f->pol_lock);
}

int fan_policy_changed(struct fan *f, char *err, size_t errlen)
{
	struct causal *c = causal_new(f->g->pol);

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&f->mu);
	causal_free(f->causal);
	f->causal = c;
	pthread_mutex_unlock(&f->mu);
	return mark_policy(f, err, errlen);
}

/*
 * A file now at a path a rule protects that its mark does not cover (put
 * there by a rename, or created in a directory that was not marked): mark
 * it, so the next open is decided.
 */
static void remark_new_file(struct fan *f, const char *path)
{
	const struct policy *p = f->g->pol;
	struct stat st;

	for (size_t ri = 0; ri < p->nrules; ri++) {
		const struct pol_rule *r = &p->rules[ri];

		if (f->g->lsm_rule[ri] || !(r->ops & FAN_FILE_OPS))
			continue;
		for (size_t g = 0; g < r->paths.n; g++) {
			if (!pol_glob_match(r->paths.v[g].pattern, path) || stat(path, &st) ||
			    !S_ISREG(st.st_mode))
				continue;
			if (mark(f, 0, FAN_OPEN_PERM, path) == 0) {
				pthread_mutex_lock(&f->mu);
				fan_add_prot(f, &st, (uint32_t)ri);
				pthread_mutex_unlock(&f->mu);
			}
			break;
		}
	}
}

void fan_observe(struct fan *f, const json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	const json_t *ret = json_object_get(ev, "ret");
	bool ok = json_is_integer(ret) && json_integer_value(ret) >= 0;

	/* new files at protected paths get their own marks */
	if (ok && type && !strcmp(type, "rename") && json_object_get(ev, "new_path")) {
		pthread_rwlock_rdlock(&f->pol_lock);
		remark_new_file(f, json_string_value(json_object_get(ev, "new_path")));
		pthread_rwlock_unlock(&f->pol_lock);
	} else if (ok && type && !strcmp(type, "open") &&
		   json_is_true(json_object_get(ev, "create")) && json_object_get(ev, "path")) {
		pthread_rwlock_rdlock(&f->pol_lock);
		remark_new_file(f, json_string_value(json_object_get(ev, "path")));
		pthread_rwlock_unlock(&f->pol_lock);
	}

	pthread_mutex_lock(&f->mu);
	causal_observe(f->causal, ev);
	pthread_mutex_unlock(&f->mu);
	if (type && !strcmp(type, "unlink"))
		fan_observe_unlink_rename(f, ev, POL_OP_UNLINK);
	else if (type && !strcmp(type, "rename"))
		fan_observe_unlink_rename(f, ev, POL_OP_RENAME);
}

int fan_wake_fd(const struct fan *f)
{
	return f->wake_fd;
}

uint64_t fan_drain_begin(struct fan *f)
{
	uint64_t v, req;

	while (read(f->wake_fd, &v, sizeof(v)) == sizeof(v))
		;
	pthread_mutex_lock(&f->mu);
	req = f->drain_req;
	pthread_mutex_unlock(&f->mu);
	return req;
}

void fan_drained(struct fan *f, uint64_t req)
{
	pthread_mutex_lock(&f->mu);
	if (req > f->drain_done)
		f->drain_done = req;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

json_t *fan_take_violations(struct fan *f)
{
	json_t *q = NULL;

	pthread_mutex_lock(&f->mu);
	if (f->queue && json_array_size(f->queue)) {
		q = f->queue;
		f->queue = json_array();
	}
	pthread_mutex_unlock(&f->mu);
	return q;
}
