#include "capture/proctree.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/loader.h"
#include "model/pidset.h"

pid_t proc_ppid(pid_t pid)
{
	char path[64], buf[1024], *p;
	FILE *f;
	int ppid = -1;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may contain spaces and parentheses: parse after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

struct pp {
	pid_t pid, ppid;
};

static int snapshot(struct pp **out, size_t *n)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct pp *v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		pid_t pid, ppid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		ppid = proc_ppid(pid);
		if (ppid < 0)
			continue;  /* exited meanwhile */
		if (*n == cap) {
			struct pp *nv = realloc(v, (cap ? cap * 2 : 512) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
			cap = cap ? cap * 2 : 512;
		}
		v[(*n)++] = (struct pp){ pid, ppid };
	}
	closedir(d);
	*out = v;
	return 0;
}

static int walk_once(struct loader *l, struct pidset *live, pid_t root, uint64_t session)
{
	struct pp *v = NULL;
	size_t n, count = 0;
	int added = 1;

	if (snapshot(&v, &n))
		return -1;
	/* Fixed point over the snapshot: add children of tracked processes. */
	if (!pidset_get(live, (uint32_t)root, NULL)) {
		if (loader_track(l, root, session)) {
			free(v);
			return -1;
		}
		pidset_put(live, (uint32_t)root, session);
	}
	while (added) {
		added = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t s;

			if (pidset_get(live, (uint32_t)v[i].pid, NULL))
				continue;
			if (!pidset_get(live, (uint32_t)v[i].ppid, &s) || s != session)
				continue;
			if (loader_track(l, v[i].pid, session) == 0) {
				/* Gone between the snapshot and now? Then its exit
				 * hook never saw the entry: drop it, or a later
				 * process reusing the pid would join the session.
				 * (Exiting after the insert is handled by the hook.) */
				if (kill(v[i].pid, 0) && errno == ESRCH) {
					loader_untrack(l, v[i].pid);
					continue;
				}
				pidset_put(live, (uint32_t)v[i].pid, session);
				added = 1;
				count++;
			}
		}
	}
	free(v);
	return (int)count;
}

int proctree_track(struct loader *l, struct pidset *live, pid_t pid, uint64_t session)
{
	int a, b;

	a = walk_once(l, live, pid, session);
	if (a < 0)
		return -1;
	b = walk_once(l, live, pid, session);
	if (b < 0)
		return -1;
	return 1 + a + b;
}
