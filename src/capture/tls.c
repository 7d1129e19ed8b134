/* SPDX-License-Identifier: MIT */
/* TLS targets and their uprobes; see tls.h. */
#include "capture/tls.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include "agenttrail/events.h"
#include "capture/loader.h"
#include "capture/tls_locate.h"
#include "tls.skel.h"

/* Cookie layout, shared with bpf/tls.bpf.c. */
#define TLS_READ (1u << 0)
#define TLS_EX (1u << 1)

static uint64_t cookie_of(uint32_t id, uint8_t source, unsigned flags)
{
	return (uint64_t)id << 32 | (uint64_t)source << 8 | flags;
}

/*
 * The kernel skips the forced wakeup of an exec of a binary looked at
 * already (loader_exe_known()): those remembered without a TLS library
 * from start, and each file considered here once it is (any outcome:
 * uprobes on its inode cover later execs; none to attach; none possible).
 * The kernel's device number is not always stat()'s (btrfs subvolumes,
 * some overlays): files named by a record are entered under the record's
 * (kernel) names; the cache's, under stat()'s, match where the two agree.
 */
static void known_from_cache(void *arg, const struct tls_cache_key *k)
{
	struct tls_mgr *m = arg;

	if (k->ctime_ns < 0)
		return;
	(void)loader_exe_known(m->l, loader_kernel_dev(k->dev), k->ino, k->size,
			       k->ctime_ns / 1000000000, (uint32_t)(k->ctime_ns % 1000000000));
}

static void known_now(struct tls_mgr *m, const struct stat *st, const struct tls_kname *kn)
{
	uint32_t kdev = loader_kernel_dev(st->st_dev);

	if (st->st_ctim.tv_sec < 0)
		return;
	if (kn) {
		if (kn->ino != (uint64_t)st->st_ino)
			return;   /* the path names another file now */
		kdev = kn->dev;
	}
	(void)loader_exe_known(m->l, kdev, st->st_ino, (uint64_t)st->st_size,
			       st->st_ctim.tv_sec, (uint32_t)st->st_ctim.tv_nsec);
}

void tls_mgr_init(struct tls_mgr *m, struct loader *l, bool enabled, bool verbose, bool quiet)
{
	memset(m, 0, sizeof(*m));
	m->l = l;
	m->enabled = enabled && l && l->tls;
	m->verbose = verbose;
	m->quiet = quiet;
	if (m->enabled) {
		const char *path = tls_cache_default_path(), *why = NULL;

		tls_cache_open(&m->no_tls, path, &why);
		if (why && verbose)
			fprintf(stderr, "agenttrail: TLS: the cache %s is not kept: %s\n", path, why);
		tls_cache_each(&m->no_tls, known_from_cache, m);
	}
}

static uint32_t kdev_of(const struct stat *st, const struct tls_kname *kn)
{
	return kn && kn->ino == (uint64_t)st->st_ino ? kn->dev : loader_kernel_dev(st->st_dev);
}

static bool seen_before(struct tls_mgr *m, dev_t dev, ino_t ino, uint32_t kdev)
{
	for (size_t i = 0; i < m->nseen; i++)
		if (m->seen[i].dev == dev && m->seen[i].ino == ino)
			return true;
	if (m->nseen == m->capseen) {
		size_t cap = m->capseen ? 2 * m->capseen : 64;
		struct tls_file *n = realloc(m->seen, cap * sizeof(*n));

		if (!n)
			return true; /* cannot remember it: do not retry every time */
		m->seen = n;
		m->capseen = cap;
	}
	m->seen[m->nseen].dev = dev;
	m->seen[m->nseen].ino = ino;
	m->seen[m->nseen].kdev = kdev;
	m->nseen++;
	return false;
}

static struct tls_attachment *new_attachment(struct tls_mgr *m, const char *path,
					     const struct stat *st, uint32_t kdev)
{
	struct tls_attachment *a;

	if (m->natt == m->capatt) {
		size_t cap = m->capatt ? 2 * m->capatt : 8;
		struct tls_attachment *n = realloc(m->att, cap * sizeof(*n));

		if (!n)
			return NULL;
		m->att = n;
		m->capatt = cap;
	}
	a = &m->att[m->natt];
	memset(a, 0, sizeof(*a));
	a->path = strdup(path);
	if (!a->path)
		return NULL;
	a->id = (uint32_t)m->natt + 1;
	a->dev = st->st_dev;
	a->ino = st->st_ino;
	a->kdev = kdev;
	m->natt++;
	return a;
}

/*
 * Where to put the probe for a function at file offset off: past an
 * endbr64 when it starts with one. The kernel cannot emulate endbr64, so a
 * probe there single-steps it out of line (a debug trap on every call);
 * the next instruction is usually one it emulates. Every call still passes
 * there with the arguments untouched and the return address on the stack.
 */
static uint64_t probe_offset(const char *path, uint64_t off)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	uint8_t b[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return off;
	n = pread(fd, b, sizeof(b), (off_t)off);
	close(fd);
	return n == (ssize_t)sizeof(b) && memcmp(b, endbr64, sizeof(b)) == 0 ? off + 4 : off;
}

/* One uprobe (entry) and one uretprobe (return) on the function at
 * offset, or on func_name when offset is 0. */
static int attach_fn(struct tls_mgr *m, struct tls_attachment *a, uint64_t offset,
		     const char *func_name, unsigned flags)
{
	struct bpf_program *progs[2] = { m->l->tls->progs.tls_enter, m->l->tls->progs.tls_exit };

	for (int ret = 0; ret < 2; ret++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret == 1,
			    .bpf_cookie = cookie_of(a->id, a->source, flags),
			    .func_name = func_name);
		struct bpf_link *link;

		if (a->nlinks == TLS_MAX_LINKS)
			return -E2BIG;
		link = bpf_program__attach_uprobe_opts(progs[ret], -1, a->path, (size_t)offset, &uo);
		if (!link)
			return -errno;
		a->links[a->nlinks++] = link;
	}
	return 0;
}

static void detach(struct tls_attachment *a)
{
	for (int i = 0; i < a->nlinks; i++)
		bpf_link__destroy(a->links[i]);
	a->nlinks = 0;
}

static int attach_openssl(struct tls_mgr *m, struct tls_attachment *a, const struct tls_targets *t)
{
	const struct {
		const struct tls_fn *fn;
		unsigned flags;
	} fns[] = {
		{ &t->ssl_write, 0 },
		{ &t->ssl_read, TLS_READ },
		{ &t->ssl_write_ex, TLS_EX },
		{ &t->ssl_read_ex, TLS_READ | TLS_EX },
	};
	int e;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		if (!fns[i].fn->offset)
			continue;
		e = attach_fn(m, a, probe_offset(a->path, fns[i].fn->offset), NULL, fns[i].flags);
		if (e)
			return e;
	}
	return 0;
}

static bool is_gnutls(const char *path)
{
	const char *base = strrchr(path, '/');

	return fnmatch("libgnutls.so*", base ? base + 1 : path, 0) == 0;
}

static void report(struct tls_mgr *m, const struct tls_attachment *a)
{
	if (m->verbose || (!m->quiet && a->source == AT_SRC_BORINGSSL))
		fprintf(stderr, "agenttrail: TLS capture: %s (%s, %s)\n", a->path, a->lib,
			a->method);
}

int tls_mgr_consider(struct tls_mgr *m, const char *path)
{
	return tls_mgr_consider_file(m, path, NULL);
}

int tls_mgr_consider_file(struct tls_mgr *m, const char *path, const struct tls_kname *kn)
{
	struct tls_targets t;
	struct tls_attachment *a;
	struct stat st;
	char err[256] = "";
	int e;

	if (!m->enabled || !path || path[0] != '/' || stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	if (seen_before(m, st.st_dev, st.st_ino, kdev_of(&st, kn)))
		return 0;
	/* looked at once, whatever the outcome below (the reader is awake
	 * now and attaches before it reads the next record) */
	known_now(m, &st, kn);
	if (is_gnutls(path)) {
		a = new_attachment(m, path, &st, kdev_of(&st, kn));
		if (!a)
			return 0;
		a->lib = "gnutls";
		a->method = "symbols";
		a->source = AT_SRC_GNUTLS;
		e = attach_fn(m, a, 0, "gnutls_record_send", 0);
		if (!e)
			e = attach_fn(m, a, 0, "gnutls_record_recv", TLS_READ);
	} else {
		if (tls_cache_has(&m->no_tls, &st))
			return 0;
		memset(&t, 0, sizeof(t));
		e = tls_locate(path, &t, err, sizeof(err));
		if (e == -ENOENT || e == -ENOEXEC) {
			if (m->verbose && e == -ENOENT && err[0])
				fprintf(stderr, "agenttrail: TLS: %s: %s\n", path, err);
			if (e == -ENOENT)
				tls_cache_add(&m->no_tls, &st);
			return 0;
		}
		if (e) {
			if (!m->quiet)
				fprintf(stderr, "agenttrail: TLS: cannot read %s: %s\n", path,
					err[0] ? err : strerror(-e));
			return 0;
		}
		a = new_attachment(m, path, &st, kdev_of(&st, kn));
		if (!a)
			return 0;
		a->lib = strcmp(t.lib, "boringssl") == 0 ? "boringssl" : "openssl";
		a->method = t.method;
		a->source = strcmp(t.method, "boringssl-scan") == 0 ? AT_SRC_BORINGSSL
								     : AT_SRC_OPENSSL;
		e = attach_openssl(m, a, &t);
	}
	if (e) {
		detach(a);
		a->disabled = true;
		if (!m->quiet)
			fprintf(stderr, "agenttrail: TLS: cannot attach uprobes to %s: %s\n", path,
				strerror(-e));
		return 0;
	}
	report(m, a);
	return 1;
}

/* Links destroyed off the recorder's thread: taking a uprobe off waits
 * for grace periods (up to a second here) after the breakpoints are out,
 * and the recorder has the new version to attach meanwhile. */
struct detach_job {
	struct bpf_link *links[TLS_MAX_LINKS];
	int nlinks;
};

static void *detach_thread(void *arg)
{
	struct detach_job *j = arg;

	for (int i = 0; i < j->nlinks; i++)
		bpf_link__destroy(j->links[i]);
	free(j);
	return NULL;
}

static void detach_in_background(struct tls_mgr *m, struct tls_attachment *a)
{
	struct detach_job *j = calloc(1, sizeof(*j));
	pthread_t t;

	for (size_t i = 0; i < m->ndetachers;)   /* slots of finished ones */
		if (pthread_tryjoin_np(m->detachers[i], NULL) == 0)
			m->detachers[i] = m->detachers[--m->ndetachers];
		else
			i++;
	if (j && m->ndetachers < sizeof(m->detachers) / sizeof(m->detachers[0])) {
		memcpy(j->links, a->links, sizeof(j->links));
		j->nlinks = a->nlinks;
		if (pthread_create(&t, NULL, detach_thread, j) == 0) {
			m->detachers[m->ndetachers++] = t;
			a->nlinks = 0;
			return;
		}
	}
	free(j);
	detach(a);   /* here, then */
}

void tls_mgr_file_written(struct tls_mgr *m, uint32_t kdev, uint64_t ino)
{
	for (size_t i = 0; i < m->nseen; i++)
		if (m->seen[i].kdev == kdev && (uint64_t)m->seen[i].ino == ino) {
			m->seen[i] = m->seen[--m->nseen];
			break;
		}
	for (size_t i = 0; i < m->natt; i++) {
		struct tls_attachment *a = &m->att[i];

		if (a->kdev != kdev || (uint64_t)a->ino != ino || a->disabled)
			continue;
		detach_in_background(m, a);
		a->disabled = true;
		a->rewritten = true;
		if (m->verbose || !m->quiet)
			fprintf(stderr, "agenttrail: TLS capture: %s is being rewritten; its uprobes "
				"are taken off, and it is looked at again when it next runs\n",
				a->path);
	}
}

void tls_mgr_consider_maps(struct tls_mgr *m, pid_t pid)
{
	char fn[64], line[4096 + 128];
	FILE *f;

	snprintf(fn, sizeof(fn), "/proc/%d/maps", (int)pid);
	f = fopen(fn, "re");
	if (!f)
		return; /* gone already */
	while (fgets(line, sizeof(line), f)) {
		char perms[8], *path;

		if (sscanf(line, "%*s %7s", perms) != 1 || perms[2] != 'x')
			continue;
		path = strchr(line, '/');
		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		tls_mgr_consider(m, path);
	}
	fclose(f);
}

void tls_mgr_attach_system(struct tls_mgr *m)
{
	static const char *const dirs[] = {
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
		"/usr/lib", "/usr/local/lib",
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		if (!d)
			continue;
		while ((e = readdir(d))) {
			char path[4096];

			if (fnmatch("libssl.so*", e->d_name, 0) &&
			    fnmatch("libgnutls.so*", e->d_name, 0))
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name) >=
			    (int)sizeof(path))
				continue;
			tls_mgr_consider(m, path);
		}
		closedir(d);
	}
}

void tls_mgr_first_bytes(void *ctx, uint32_t attach, bool http)
{
	struct tls_mgr *m = ctx;
	struct tls_attachment *a;

	if (!attach || attach > m->natt)
		return;
	a = &m->att[attach - 1];
	if (a->validated || a->disabled)
		return;
	if (http) {
		a->validated = true;
		return;
	}
	detach(a);
	a->disabled = true;
	fprintf(stderr,
		"agenttrail: TLS capture: unsupported build of %s: the functions found by scanning "
		"did not carry HTTP; detached (its LLM traffic is not recorded)\n",
		a->path);
}

json_t *tls_mgr_json(const struct tls_mgr *m)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < m->natt; i++) {
		const struct tls_attachment *a = &m->att[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "path", a->path, "lib",
				      a->lib ? a->lib : "", "method", a->method ? a->method : "",
				      "validated", a->validated, "disabled", a->disabled,
				      "rewritten", a->rewritten);

		if (o)
			json_array_append_new(arr, o);
	}
	return arr;
}

void tls_mgr_close(struct tls_mgr *m)
{
	for (size_t i = 0; i < m->ndetachers; i++)
		pthread_join(m->detachers[i], NULL);
	for (size_t i = 0; i < m->natt; i++) {
		detach(&m->att[i]);
		free(m->att[i].path);
	}
	free(m->att);
	free(m->seen);
	tls_cache_close(&m->no_tls);
	memset(m, 0, sizeof(*m));
}
