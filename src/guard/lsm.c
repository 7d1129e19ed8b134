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

/* Add a ref to the entry of (dev, ino) in map fd. */
static int add_ref(int fd, const struct stat *st, uint16_t slot, uint16_t flags, uint32_t hash,
		   char *err, size_t errlen)
{
	struct at_inode_key k = { .ino = st->st_ino, .dev = files_kdev(st->st_dev) };
	struct at_lsm_entry e;

	if (bpf_map_lookup_elem(fd, &k, &e))
		memset(&e, 0, sizeof(e));
	for (uint32_t i = 0; i < e.n; i++)
		if (e.r[i].rule == slot && e.r[i].flags == flags && e.r[i].name_hash == hash)
			return 0;
	if (e.n >= AT_LSM_SLOTS) {
		snprintf(err, errlen, "more than %d rules name one file", AT_LSM_SLOTS);
		return -1;
	}
	e.r[e.n].rule = slot;
	e.r[e.n].flags = flags;
	e.r[e.n].name_hash = hash;
	e.n++;
	if (bpf_map_update_elem(fd, &k, &e, BPF_ANY)) {
		snprintf(err, errlen, "writing the LSM file table: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int put_glob(struct guard *g, const char *pat, uint16_t slot, char *err, size_t errlen)
{
	char prefix[4096], dir[4096];
	struct stat st;
	char *base;

	switch (shape_of(pat, prefix, sizeof(prefix))) {
	case SHAPE_EXACT:
		if (stat(prefix, &st) == 0 && add_ref(g->fd_lsm_self, &st, slot, 0, 0, err, errlen))
			return -1;
		/* the name in its directory: the file may be created later */
		snprintf(dir, sizeof(dir), "%s", prefix);
		base = strrchr(dir, '/');
		if (!base || !base[1])
			return 0;
		*base = '\0';
		if (stat(dir[0] ? dir : "/", &st) == 0 &&
		    add_ref(g->fd_lsm_children, &st, slot, 0, fnv32(base + 1), err, errlen))
			return -1;
		return 0;
	case SHAPE_SUBTREE:
		if (stat(prefix, &st))
			return 0;
		return add_ref(g->fd_lsm_self, &st, slot, AT_LSM_SUBTREE, 0, err, errlen);
	case SHAPE_CHILDREN:
		if (stat(prefix, &st))
			return 0;
		return add_ref(g->fd_lsm_children, &st, slot, AT_LSM_ANY_NAME, 0, err, errlen);
	case SHAPE_NONE:
		break;
	}
	return 0;
}

int lsm_install(struct guard *g, char *err, size_t errlen)
{
	const struct policy *p = g->pol;
	uint32_t n = 0;

	memset(g->lsm_rule, 0, sizeof(g->lsm_rule));
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
		if (bpf_map_update_elem(g->fd_lsm_rules, &n, &kr, BPF_ANY)) {
			snprintf(err, errlen, "writing the LSM rule table: %s", strerror(errno));
			return -1;
		}
		for (size_t gi = 0; gi < r->paths.n; gi++)
			if (put_glob(g, r->paths.v[gi].pattern, (uint16_t)n, err, errlen))
				return -1;
		g->lsm_rule[ri] = true;
		n++;
	}
	return 0;
}
