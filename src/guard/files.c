/* Path globs -> inode labels. See files.h. */
#include "guard/files.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <limits.h>
#include <sys/sysmacros.h>

#include "guard/guard.h"

uint32_t files_kdev(dev_t d)
{
	return (uint32_t)((major(d) << 20) | minor(d));
}

/* What a matched path receives. */
struct bind {
	struct guard *g;
	const char *pattern;
	const struct at_labels *data;   /* labels of the data (files:) */
	const struct at_labels *exec;   /* labels gained by exec (executables:) */
	uint32_t flow;                  /* 1 + flow index, 0 none */
	size_t walked;
};

static void or_labels(struct at_labels *a, const struct at_labels *b)
{
	for (int i = 0; i < AT_LABEL_WORDS; i++)
		a->w[i] |= b->w[i];
}

static void bind_inode(struct bind *b, const struct stat *st)
{
	struct at_inode_key k = { .ino = st->st_ino, .dev = files_kdev(st->st_dev) };
	struct at_inode_val v;

	if (bpf_map_lookup_elem(b->g->fd_inodes, &k, &v))
		memset(&v, 0, sizeof(v));
	if (b->data) {
		or_labels(&v.data, b->data);
		if (S_ISDIR(st->st_mode) && !(v.flags & AT_INODE_SUBTREE)) {
			v.flags |= AT_INODE_SUBTREE;
			b->g->subtrees++;
		}
	}
	if (b->exec)
		or_labels(&v.exec, b->exec);
	if (b->flow)
		v.flow = b->flow;
	if (bpf_map_update_elem(b->g->fd_inodes, &k, &v, BPF_ANY) == 0)
		b->g->files_bound++;
}

void files_fixed_prefix(const char *pattern, char *out, size_t len)
{
	const char *last_slash = pattern, *p;

	for (p = pattern; *p; p++) {
		if (*p == '*' || *p == '?' || *p == '[' || *p == '\\')
			break;
		if (*p == '/')
			last_slash = p;
	}
	if (!*p) {
		snprintf(out, len, "%s", pattern); /* no wildcard: the path itself */
		return;
	}
	snprintf(out, len, "%.*s", (int)(last_slash - pattern), pattern);
	if (!out[0])
		snprintf(out, len, "/");
}

static bool pseudo_fs(const char *path)
{
	return !strcmp(path, "/proc") || !strcmp(path, "/sys") || !strcmp(path, "/dev") ||
	       !strcmp(path, "/run");
}

static void walk(struct bind *b, char *path, size_t cap, int depth)
{
	size_t len = strlen(path);
	struct stat st, lst;
	DIR *d;
	struct dirent *de;

	if (b->walked++ >= FILES_WALK_MAX) {
		b->g->files_skipped++;
		return;
	}
	if (lstat(path, &lst))
		return;
	/* symlinks count for what they point to, but are not walked into */
	if (S_ISLNK(lst.st_mode)) {
		if (stat(path, &st) == 0 && pol_glob_match(b->pattern, path) && !S_ISDIR(st.st_mode))
			bind_inode(b, &st);
		return;
	}
	if (pol_glob_match(b->pattern, path))
		bind_inode(b, &lst);
	if (!S_ISDIR(lst.st_mode) || depth > 64 || pseudo_fs(path))
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (len + 1 + strlen(de->d_name) + 1 > cap)
			continue;
		snprintf(path + len, cap - len, "%s%s", len > 1 || path[0] != '/' ? "/" : "",
			 de->d_name);
		walk(b, path, cap, depth + 1);
		path[len] = '\0';
	}
	closedir(d);
}

static void bind_globs(struct bind *b, const struct pol_globs *globs)
{
	char *path = malloc(PATH_MAX);

	if (!path)
		return;
	for (size_t i = 0; i < globs->n; i++) {
		const char *pat = globs->v[i].pattern;

		b->pattern = pat;
		/* "**" at the start: anywhere - the workspace is what is walked */
		if (!strncmp(pat, "**", 2))
			snprintf(path, PATH_MAX, "%s", b->g->pol->workspace);
		else
			files_fixed_prefix(pat, path, PATH_MAX);
		walk(b, path, PATH_MAX, 0);
	}
	free(path);
}

static void label_bit(struct at_labels *l, unsigned kid)
{
	memset(l, 0, sizeof(*l));
	l->w[kid / 64] |= 1ull << (kid % 64);
}

void files_bind(struct guard *g)
{
	const struct policy *p = g->pol;
	struct at_labels l;

	g->files_bound = 0;
	g->files_skipped = 0;
	g->subtrees = 0;
	for (size_t i = 0; i < p->nlabels; i++) {
		struct bind b = { .g = g };

		label_bit(&l, g->kid[i]);
		b.data = &l;
		bind_globs(&b, &p->labels[i].files);
		b.data = NULL;
		b.exec = &l;
		bind_globs(&b, &p->labels[i].executables);
	}
	for (size_t i = 0; i < p->nflows; i++) {
		struct bind b = { .g = g, .flow = (uint32_t)i + 1 };

		bind_globs(&b, &p->flows[i].executables);
	}
	{
		uint32_t zero = 0, n = (uint32_t)g->subtrees;

		/* what was found for directories may have changed */
		guard_clear_map(g->fd_subtree_cache, sizeof(struct at_inode_key));

		/* a reload keeps earlier labels, so the count only grows */
		if (n)
			bpf_map_update_elem(g->fd_subtrees, &zero, &n, BPF_ANY);
	}
	if (g->files_skipped && !g->quiet)
		fprintf(stderr,
			"agenttrail: guard: a label's globs reach more than %d entries; the rest "
			"is not labelled (narrow the globs)\n", FILES_WALK_MAX);
}
