/* SPDX-License-Identifier: MIT */
/*
 * The policy object's life: loading a file, freeing, diagnostics.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy_int.h"

#define POL_FILE_MAX (4u << 20)

void pol_diag(struct pol_diags *d, enum pol_severity sev, struct pol_pos pos, const char *fmt, ...)
{
	struct pol_diag *v;
	va_list ap;

	if (sev == POL_ERROR)
		d->nerrors++;
	if (d->n > POL_MAX_DIAGS)
		return;
	if ((d->n & (d->n - 1)) == 0) {      /* 0, 1, 2, 4...: grow */
		v = realloc(d->v, (d->n ? d->n * 2 : 1) * sizeof(*v));
		if (!v)
			return;
		d->v = v;
	}
	v = &d->v[d->n++];
	v->sev = sev;
	v->pos = pos;
	if (d->n > POL_MAX_DIAGS) {
		/* the one past the limit says so; nerrors still counts them all */
		v->sev = POL_ERROR;
		snprintf(v->msg, sizeof(v->msg), "too many problems; the rest are not shown");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
	va_end(ap);
}

void pol_diags_print(const struct pol_diags *d, const char *file, FILE *f)
{
	if (!d || !f)
		return;
	if (!file)
		file = "<policy>";
	for (size_t i = 0; i < d->n; i++) {
		const struct pol_diag *x = &d->v[i];
		const char *sev = x->sev == POL_ERROR ? "error" : "warning";

		if (x->pos.line)
			fprintf(f, "%s:%u:%u: %s: %s\n", file, x->pos.line, x->pos.col, sev, x->msg);
		else
			fprintf(f, "%s: %s: %s\n", file, sev, x->msg);
	}
}

void pol_diags_free(struct pol_diags *d)
{
	if (!d)
		return;
	free(d->v);
	memset(d, 0, sizeof(*d));
}

struct policy *policy_load(const char *path, const struct pol_env *env, struct pol_diags *d)
{
	static const struct pol_pos none;
	struct pol_diags local = { 0 };
	struct policy *p = NULL;
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd;

	if (!d)
		d = &local;
	/* O_NONBLOCK: a FIFO must not hang us before the S_ISREG check */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		pol_diag(d, POL_ERROR, none, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		pol_diag(d, POL_ERROR, none, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pol_diag(d, POL_ERROR, none, "not a regular file");
		goto out;
	}
	if (st.st_size > (off_t)POL_FILE_MAX) {
		pol_diag(d, POL_ERROR, none, "larger than %u MiB", POL_FILE_MAX >> 20);
		goto out;
	}
	/* read one byte more than allowed, in case the file grew */
	if (!(buf = malloc(POL_FILE_MAX + 1))) {
		pol_diag(d, POL_ERROR, none, "out of memory");
		goto out;
	}
	while (n <= POL_FILE_MAX) {
		ssize_t r = read(fd, buf + n, POL_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			pol_diag(d, POL_ERROR, none, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > POL_FILE_MAX) {
		pol_diag(d, POL_ERROR, none, "larger than %u MiB", POL_FILE_MAX >> 20);
		goto out;
	}
	p = policy_parse(path, buf, n, env, d);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	if (d == &local)
		pol_diags_free(&local);
	return p;
}

static void globs_free(struct pol_globs *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].pattern);
		free(g->v[i].text);
	}
	free(g->v);
	memset(g, 0, sizeof(*g));
}

static void commands_free(struct pol_commands *c)
{
	for (size_t i = 0; i < c->n; i++) {
		for (size_t w = 0; w < c->v[i].nwords; w++)
			free(c->v[i].words[w]);
		free(c->v[i].words);
		free(c->v[i].text);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static void endpoints_free(struct pol_endpoints *e)
{
	for (size_t i = 0; i < e->nin; i++)
		pol_endpoint_clear(&e->in[i]);
	for (size_t i = 0; i < e->nexcept; i++)
		pol_endpoint_clear(&e->except[i]);
	free(e->in);
	free(e->except);
	memset(e, 0, sizeof(*e));
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nlabels; i++) {
		struct pol_label *l = &p->labels[i];

		free(l->description);
		globs_free(&l->files);
		globs_free(&l->executables);
		endpoints_free(&l->endpoints);
	}
	for (size_t i = 0; i < p->nrules; i++) {
		struct pol_rule *r = &p->rules[i];

		commands_free(&r->commands);
		globs_free(&r->paths);
		globs_free(&r->paths_except);
		globs_free(&r->operands_outside);
		endpoints_free(&r->endpoints);
		for (size_t a = 0; a < r->nafter; a++) {
			commands_free(&r->after[a].commands);
			globs_free(&r->after[a].since);
		}
		free(r->after);
		free(r->reason);
	}
	for (size_t i = 0; i < p->nflows; i++)
		globs_free(&p->flows[i].executables);
	free(p->labels);
	free(p->rules);
	free(p->flows);
	free(p->file);
	free(p->workspace);
	free(p->home);
	free(p);
}
