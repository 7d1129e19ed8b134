// SPDX-License-Identifier: MIT
#include "capture/tls_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define DEFAULT_DIR "/var/cache/agenttrail"
#define DEFAULT_PATH DEFAULT_DIR "/tls-no-library"

const char *tls_cache_default_path(void)
{
	const char *env = getenv("AGENTTRAIL_TLS_CACHE");

	if (env)
		return env[0] ? env : NULL;
	return geteuid() == 0 ? DEFAULT_PATH : NULL;
}

static struct tls_cache_key key_of(const struct stat *st)
{
	struct tls_cache_key k = {
		.dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
		.ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
	};
	return k;
}

static bool key_eq(const struct tls_cache_key *a, const struct tls_cache_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static size_t key_hash(const struct tls_cache_key *k)
{
	uint64_t h = k->ino * 0x9e3779b97f4a7c15ULL ^ k->dev ^ (uint64_t)k->mtime_ns;

	h ^= h >> 29;
	return (size_t)(h * 0xbf58476d1ce4e5b9ULL >> 7);
}

/* The slot holding k, or the empty one where it would go. */
static struct tls_cache_key *find_slot(const struct tls_cache *c, const struct tls_cache_key *k)
{
	size_t i = key_hash(k) & (c->nslots - 1);

	while (c->slots[i].ino != 0 && !key_eq(&c->slots[i], k))
		i = (i + 1) & (c->nslots - 1);
	return &c->slots[i];
}

/* Into memory; false when full (the table holds TLS_CACHE_MAX keys). */
static bool insert(struct tls_cache *c, const struct tls_cache_key *k)
{
	struct tls_cache_key *slot;

	if (!c->slots || k->ino == 0)
		return false;
	slot = find_slot(c, k);
	if (slot->ino != 0)
		return true;
	if (c->n >= TLS_CACHE_MAX)
		return false;
	*slot = *k;
	c->n++;
	return true;
}

static bool parse_line(const char *line, struct tls_cache_key *k)
{
	char end;

	return sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64 "%c",
		      &k->dev, &k->ino, &k->size, &k->mtime_ns, &k->ctime_ns, &end) == 6 &&
	       end == '\n' && k->ino != 0;
}

static int open_file(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (slash && slash != path && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -1;
	}
	return open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* Reads the keys of the file; a file too long to keep is emptied. */
static void load(struct tls_cache *c)
{
	char line[256];
	size_t lines = 0;
	int dupfd = dup(c->fd);
	FILE *f = dupfd >= 0 ? fdopen(dupfd, "r") : NULL;

	if (!f) {
		if (dupfd >= 0)
			close(dupfd);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		struct tls_cache_key k;

		lines++;
		if (parse_line(line, &k))
			insert(c, &k);
	}
	fclose(f);
	if (lines > TLS_CACHE_MAX) {
		/* start over rather than let it grow without end */
		if (ftruncate(c->fd, 0) == 0) {
			memset(c->slots, 0, c->nslots * sizeof(*c->slots));
			c->n = 0;
		}
	}
}

void tls_cache_open(struct tls_cache *c, const char *path, const char **why)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->nslots = 2 * TLS_CACHE_MAX;  /* a power of two, at most half full */
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->slots) {
		c->nslots = 0;
		if (why)
			*why = "out of memory";
		return;
	}
	if (!path)
		return;
	c->fd = open_file(path);
	if (c->fd < 0) {
		if (why)
			*why = strerror(errno);
		return;
	}
	/* shared with other agenttrail processes: whole lines only */
	if (flock(c->fd, LOCK_SH) == 0) {
		load(c);
		flock(c->fd, LOCK_UN);
	}
}

bool tls_cache_has(const struct tls_cache *c, const struct stat *st)
{
	struct tls_cache_key k = key_of(st);

	return c->slots && k.ino != 0 && find_slot(c, &k)->ino != 0;
}

void tls_cache_each(const struct tls_cache *c,
		    void (*fn)(void *arg, const struct tls_cache_key *k), void *arg)
{
	for (size_t i = 0; i < c->nslots; i++)
		if (c->slots[i].ino != 0)
			fn(arg, &c->slots[i]);
}

void tls_cache_add(struct tls_cache *c, const struct stat *st)
{
	struct tls_cache_key k = key_of(st);
	char line[160];
	int n;

	if (tls_cache_has(c, st) || !insert(c, &k) || c->fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 "\n",
		     k.dev, k.ino, k.size, k.mtime_ns, k.ctime_ns);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	/* one write of a short line to an O_APPEND file: never interleaved
	 * with another writer's; a failed or short write loses a line, which
	 * the next load skips */
	if (write(c->fd, line, (size_t)n) != n) {
		close(c->fd);
		c->fd = -1;
	}
}

void tls_cache_close(struct tls_cache *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->slots);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
