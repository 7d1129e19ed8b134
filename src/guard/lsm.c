/* The BPF-LSM backend's tables. See lsm.h. */
#include "guard/lsm.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "guard/files.h"
#include "guard/guard.h"

static const unsigned lsm_ops = POL_OP_EXEC | POL_OP_OPEN | POL_OP_READ | POL_OP_WRITE |
				POL_OP_UNLINK | POL_OP_RENAME;

static bool has_wildcard(const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '\\')
			return true;
	return false;
}

enum glob_shape { SHAPE_NONE, SHAPE_EXACT, SHAPE_SUBTREE, SHAPE_CHILDREN };

/* How a glob can be put by inode; prefix gets the directory or file. */
static enum glob_shape shape_of(const char *pat, char *prefix, size_t len)
{
	size_t n = strlen(pat);
	struct stat st;

	if (n >= len || pat[0] != '/')
		return SHAPE_NONE;
	if (!has_wildcard(pat, n)) {
		snprintf(prefix, len, "%s", pat);
		return SHAPE_EXACT;
	}
	if (n > 3 && !strcmp(pat + n - 3, "/**") && !has_wildcard(pat, n - 3)) {
		snprintf(prefix, len, "%.*s", (int)(n - 3), pat);
		return stat(prefix, &st) == 0 && S_ISDIR(st.st_mode) ? SHAPE_SUBTREE : SHAPE_NONE;
	}
	if (n > 2 && !strcmp(pat + n - 2, "/*") && !has_wildcard(pat, n - 2)) {
		snprintf(prefix, len, "%.*s", (int)(n - 2), pat);
		return stat(prefix, &st) == 0 && S_ISDIR(st.st_mode) ? SHAPE_CHILDREN : SHAPE_NONE;
	}
	return SHAPE_NONE;
}

bool lsm_rule_capable(const struct pol_rule *r)
{
	char prefix[4096];

	if (!(r->ops & lsm_ops) || (r->ops & ~lsm_ops) || r->commands.n ||
	    r->operands_outside.n || r->nafter || r->paths_except.n || !r->paths.n)
		return false;
	for (size_t i = 0; i < r->paths.n; i++)
		if (shape_of(r->paths.v[i].pattern, prefix, sizeof(prefix)) == SHAPE_NONE)
			return false;
	return true;
}

static uint32_t fnv32(const char *s)
{
	uint32_t h = AT_FNV32_SEED;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * AT_FNV32_MUL;
	return h;
}

/* One reference a rule puts in a file table: (dev, ino) in map fd. */
struct lsm_ref {
	int fd;
	struct at_inode_key k;
	uint16_t flags;
	uint32_t hash;
};

#define LSM_REFS_MAX 64       /* per rule; more paths than this: fanotify */

static void add_planned(struct lsm_ref *refs, size_t *n, int fd, const struct stat *st,
			uint16_t flags, uint32_t hash)
{
	if (*n == LSM_REFS_MAX) {
		*n = LSM_REFS_MAX + 1;   /* too many: the rule is not put here */
		return;
	}
	if (*n > LSM_REFS_MAX)
		return;
	memset(&refs[*n], 0, sizeof(refs[*n]));
	refs[*n].fd = fd;
	refs[*n].k.ino = st->st_ino;
	refs[*n].k.dev = files_kdev(st->st_dev);
	refs[*n].flags = flags;
	refs[*n].hash = hash;
	(*n)++;
}

/* The references glob pat puts (the file, or its directory). */
static void plan_glob(struct guard *g, const char *pat, struct lsm_ref *refs, size_t *n)
{
	char prefix[4096], dir[4096];
	struct stat st;
	char *base;

	switch (shape_of(pat, prefix, sizeof(prefix))) {
	case SHAPE_EXACT:
		if (stat(prefix, &st) == 0)
			add_planned(refs, n, g->fd_lsm_self, &st, 0, 0);
		/* the name in its directory: the file may be created later */
		snprintf(dir, sizeof(dir), "%s", prefix);
		base = strrchr(dir, '/');
		if (!base || !base[1])
			return;
		*base = '\0';
		if (stat(dir[0] ? dir : "/", &st) == 0)
			add_planned(refs, n, g->fd_lsm_children, &st, 0, fnv32(base + 1));
		return;
	case SHAPE_SUBTREE:
		if (stat(prefix, &st) == 0)
			add_planned(refs, n, g->fd_lsm_self, &st, AT_LSM_SUBTREE, 0);
		return;
	case SHAPE_CHILDREN:
		if (stat(prefix, &st) == 0)
			add_planned(refs, n, g->fd_lsm_children, &st, AT_LSM_ANY_NAME, 0);
		return;
	case SHAPE_NONE:
		break;
	}
}

static bool same_ref(const struct lsm_ref *a, uint16_t slot, const struct at_lsm_entry *e,
		     uint32_t i)
{
	return e->r[i].rule == slot && e->r[i].flags == a->flags && e->r[i].name_hash == a->hash;
}

/*
 * Do a rule's references fit, each file's entry holding at most
 * AT_LSM_SLOTS of them? A rule that does not is left to fanotify whole
 * (half of its files in the kernel's table would be worse than none).
 */
static bool refs_fit(const struct lsm_ref *refs, size_t n, uint16_t slot)
{
	if (n > LSM_REFS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct at_lsm_entry e;
		uint32_t used = 0;

		if (bpf_map_lookup_elem(refs[i].fd, &refs[i].k, &e))
			memset(&e, 0, sizeof(e));
		used = e.n;
		/* the rule's own new references to the same file */
		for (size_t j = 0; j < n; j++) {
			bool present = false;

			if (refs[j].fd != refs[i].fd || memcmp(&refs[j].k, &refs[i].k, sizeof(refs[j].k)))
				continue;
			for (size_t d = 0; d < j && !present; d++)
				present = refs[d].fd == refs[j].fd &&
					  !memcmp(&refs[d].k, &refs[j].k, sizeof(refs[d].k)) &&
					  refs[d].flags == refs[j].flags && refs[d].hash == refs[j].hash;
			for (uint32_t x = 0; x < e.n && x < AT_LSM_SLOTS && !present; x++)
				present = same_ref(&refs[j], slot, &e, x);
			if (!present)
				used++;
		}
		if (used > AT_LSM_SLOTS)
			return false;
	}
	return true;
}

/* Add a planned reference to the entry of its file. */
static int add_ref(const struct lsm_ref *ref, uint16_t slot, char *err, size_t errlen)
{
	struct at_lsm_entry e;

	if (bpf_map_lookup_elem(ref->fd, &ref->k, &e))
		memset(&e, 0, sizeof(e));
	for (uint32_t i = 0; i < e.n && i < AT_LSM_SLOTS; i++)
		if (same_ref(ref, slot, &e, i))
			return 0;
	if (e.n >= AT_LSM_SLOTS) {   /* refs_fit() said it would: a bug */
		snprintf(err, errlen, "more than %d rules name one file", AT_LSM_SLOTS);
		return -1;
	}
	e.r[e.n].rule = slot;
	e.r[e.n].flags = ref->flags;
	e.r[e.n].name_hash = ref->hash;
	e.n++;
	if (bpf_map_update_elem(ref->fd, &ref->k, &e, BPF_ANY)) {
		snprintf(err, errlen, "writing the LSM file table: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int lsm_install(struct guard *g, char *err, size_t errlen)
{
	const struct policy *p = g->pol;
	struct lsm_ref refs[LSM_REFS_MAX];
	size_t nrefs;
	uint32_t n = 0;

	memset(g->lsm_rule, 0, sizeof(g->lsm_rule));
	g->lsm_full = 0;
	if (g->fd_lsm_rules < 0)
		return 0;
	guard_clear_map(g->fd_lsm_self, sizeof(struct at_inode_key));
	guard_clear_map(g->fd_lsm_children, sizeof(struct at_inode_key));
	for (size_t ri = 0; ri < p->nrules && n < AT_GUARD_RULES; ri++) {
		const struct pol_rule *r = &p->rules[ri];
		struct at_rule kr;

		if (!lsm_rule_capable(r))
			continue;
		memset(&kr, 0, sizeof(kr));
		kr.id = (uint32_t)ri;
		kr.ops = r->ops;
		kr.effect = (uint8_t)r->effect;
		kr.nterms = (uint8_t)(r->when.nterms > AT_GUARD_TERMS ? AT_GUARD_TERMS : r->when.nterms);
		for (unsigned t = 0; t < kr.nterms; t++)
			for (size_t i = 0; i < p->nlabels; i++) {
				unsigned b = g->kid[i];

				if (pol_set_has(&r->when.t[t].all, (unsigned)i))
					kr.all[t].w[b / 64] |= 1ull << (b % 64);
				if (pol_set_has(&r->when.t[t].none, (unsigned)i))
					kr.none[t].w[b / 64] |= 1ull << (b % 64);
			}
		nrefs = 0;
		for (size_t gi = 0; gi < r->paths.n; gi++)
			plan_glob(g, r->paths.v[gi].pattern, refs, &nrefs);
		if (!refs_fit(refs, nrefs, (uint16_t)n)) {
			g->lsm_full++;   /* left to fanotify */
			continue;
		}
		if (bpf_map_update_elem(g->fd_lsm_rules, &n, &kr, BPF_ANY)) {
			snprintf(err, errlen, "writing the LSM rule table: %s", strerror(errno));
			return -1;
		}
		for (size_t i = 0; i < nrefs; i++)
			if (add_ref(&refs[i], (uint16_t)n, err, errlen))
				return -1;
		g->lsm_rule[ri] = true;
		n++;
	}
	return 0;
}
