/*
 * cgroup v2 helpers. On hybrid systems the v2 hierarchy is mounted somewhere
 * like /sys/fs/cgroup/unified, on pure v2 systems at /sys/fs/cgroup: the
 * mount point is always read from /proc/self/mountinfo.
 */
#include "capture/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mountpoint opts... - fstype source super */
		char mnt[1024], *sep;

		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1)
			continue;
		if (strlen(mnt) + 1 > len)
			break;
		strcpy(buf, mnt);
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

int cgroup_id_of(const char *dir, uint64_t *id)
{
	struct stat st;

	if (stat(dir, &st))
		return -1;
	*id = (uint64_t)st.st_ino;
	return 0;
}

int cgroup_session_create(uint64_t session, char *path, size_t len)
{
	char root[1024], base[1100];
	int n;

	if (cgroup2_mount(root, sizeof(root))) {
		errno = ENOENT;
		return -1;
	}
	snprintf(base, sizeof(base), "%s/agenttrail", root);
	if (mkdir(base, 0755) && errno != EEXIST)
		return -1;
	n = snprintf(path, len, "%s/session-%llu", base, (unsigned long long)session);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

int cgroup_move(const char *path, pid_t pid)
{
	char procs[1200];
	int fd, n, rc = 0;
	char num[32];

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = snprintf(num, sizeof(num), "%d", (int)pid);
	if (write(fd, num, (size_t)n) != n)
		rc = -1;
	close(fd);
	return rc;
}

int cgroup_session_remove(const char *path)
{
	return rmdir(path);
}

/* ---- id -> path ---------------------------------------------------------- */

#define CG_CACHE 512

struct cg_entry {
	uint64_t id;
	char *path;        /* NULL: known not to exist */
};

struct cgroup_names {
	char root[1024];
	size_t rootlen;
	struct cg_entry e[CG_CACHE];
	size_t next;       /* FIFO replacement cursor */
};

struct cgroup_names *cgroup_names_new(void)
{
	struct cgroup_names *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (cgroup2_mount(c->root, sizeof(c->root)))
		c->root[0] = '\0';
	c->rootlen = strlen(c->root);
	return c;
}

void cgroup_names_free(struct cgroup_names *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CG_CACHE; i++)
		free(c->e[i].path);
	free(c);
}

static void cache_put(struct cgroup_names *c, uint64_t id, const char *path)
{
	struct cg_entry *e = &c->e[c->next];

	free(e->path);
	e->id = id;
	e->path = path ? strdup(path) : NULL;
	c->next = (c->next + 1) % CG_CACHE;
}

/* Depth-first search for the directory whose inode is id. */
static int walk_find(const char *dir, uint64_t id, char *out, size_t outlen, int depth)
{
	DIR *d;
	struct dirent *de;
	int found = -1;

	if (depth > 32)
		return -1;
	d = opendir(dir);
	if (!d)
		return -1;
	while (found && (de = readdir(d))) {
		char sub[4096];
		int n;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		n = snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(sub))
			continue;
		if ((uint64_t)de->d_ino == id) {
			if ((size_t)n < outlen) {
				memcpy(out, sub, (size_t)n + 1);
				found = 0;
			}
			break;
		}
		found = walk_find(sub, id, out, outlen, depth + 1);
	}
	closedir(d);
	return found;
}

int cgroup_name(struct cgroup_names *c, uint64_t id, char *buf, size_t len)
{
	char full[4096];
	uint64_t rootid;

	if (!c->root[0])
		return -1;
	for (size_t i = 0; i < CG_CACHE; i++) {
		if (id == 0 || c->e[i].id != id)   /* unused slots have id 0 */
			continue;
		if (!c->e[i].path)
			return -1;
		if (strlen(c->e[i].path) + 1 > len)
			return -1;
		strcpy(buf, c->e[i].path);
		return 0;
	}
	if (cgroup_id_of(c->root, &rootid) == 0 && rootid == id) {
		strcpy(full, "/");
	} else if (walk_find(c->root, id, full, sizeof(full), 0) == 0) {
		memmove(full, full + c->rootlen, strlen(full + c->rootlen) + 1);
	} else {
		cache_put(c, id, NULL);
		return -1;
	}
	cache_put(c, id, full);
	if (strlen(full) + 1 > len)
		return -1;
	strcpy(buf, full);
	return 0;
}

static int is_hex64_at(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return !isxdigit((unsigned char)s[64]);
}

int container_id_from_cgroup(const char *path, char *buf, size_t len)
{
	size_t n = strlen(path);

	if (len < 65)
		return 0;
	for (size_t i = 0; i + 64 <= n; i++) {
		if (i > 0 && path[i - 1] != '/' && path[i - 1] != '-' && path[i - 1] != ':')
			continue;
		if (is_hex64_at(path + i)) {
			memcpy(buf, path + i, 64);
			buf[64] = '\0';
			return 1;
		}
	}
	return 0;
}
