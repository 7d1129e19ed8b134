/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the policy front end (src/policy/).
 *
 * Input: a policy file, as it is. Besides the sanitizers, checked: a
 * policy comes back exactly when there is no error; the checked form keeps
 * its promises (limits, label ids in range, DNFs of at most POL_MAX_TERMS
 * terms, absolute or "**" patterns, sane endpoints, non-empty reasons);
 * the matchers run on what was parsed. The input's first two lines are
 * also fed to the matchers directly, as a glob / command word / endpoint
 * pattern and a path / argument, so that their worst cases get explored
 * without going through YAML.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "fuzz.h"

static const struct pol_env ENV = { .home = "/home/u", .workspace = "/home/u/src/proj" };

static bool set_ok(const struct pol_labelset *s, size_t nlabels)
{
	for (size_t i = nlabels; i < POL_MAX_LABELS; i++)
		if (pol_set_has(s, (unsigned)i))
			return false;
	return true;
}

static void check_globs(const struct pol_globs *g)
{
	for (size_t i = 0; i < g->n; i++) {
		const char *p = g->v[i].pattern;

		CHECK(p && p[0] && g->v[i].text);
		CHECK(p[0] == '/' || (p[0] == '*' && p[1] == '*'));
		CHECK(!strstr(p, "//"));
		(void)pol_glob_match(p, "/home/u/src/proj/src/main.c");
		(void)pol_glob_match(p, "/home/u/.ssh/id_rsa");
		(void)pol_glob_match(p, "/");
	}
}

static void check_endpoints(const struct pol_endpoints *e)
{
	static const uint8_t v4[16] = { [10] = 0xff, [11] = 0xff, 10, 1, 2, 3 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	for (size_t k = 0; k < 2; k++) {
		const struct pol_endpoint *v = k ? e->except : e->in;
		size_t n = k ? e->nexcept : e->nin;

		for (size_t i = 0; i < n; i++) {
			CHECK(v[i].port_lo <= v[i].port_hi);
			CHECK(v[i].text);
			if (v[i].kind == POL_EP_CIDR)
				CHECK(v[i].prefix <= 128);
			if (v[i].kind == POL_EP_DOMAIN)
				CHECK(v[i].domain && v[i].domain[0]);
			(void)pol_endpoint_match(&v[i], v4, 443, "api.example.com");
			(void)pol_endpoint_match(&v[i], v6, 80, NULL);
		}
	}
}

static void check_commands(const struct pol_commands *c)
{
	static char *argv[] = { "git", "-c", "a=b", "commit", "-m", "msg", "--", "/tmp/x" };

	for (size_t i = 0; i < c->n; i++) {
		CHECK(c->v[i].nwords > 0 && c->v[i].text);
		(void)pol_command_match(&c->v[i], "/usr/bin/git", argv, 8);
	}
}

static void check_policy(const struct policy *p)
{
	struct pol_labelset all;

	memset(&all, 0xff, sizeof(all));
	CHECK(p->workspace && p->workspace[0] == '/');
	CHECK(p->home && p->home[0] == '/');
	CHECK(p->nlabels <= POL_MAX_LABELS);
	CHECK(p->nrules <= POL_MAX_RULES);
	for (size_t i = 0; i < p->nlabels; i++) {
		CHECK(p->labels[i].name[0]);
		check_globs(&p->labels[i].files);
		check_globs(&p->labels[i].executables);
		check_endpoints(&p->labels[i].endpoints);
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		CHECK(r->name[0]);
		CHECK(r->ops != 0 && r->ops < (1u << 8));
		CHECK(r->effect >= POL_BLOCK && r->effect <= POL_NOTIFY);
		CHECK(r->reason && r->reason[0]);
		CHECK(r->when.nterms <= POL_MAX_TERMS);
		for (unsigned t = 0; t < r->when.nterms; t++)
			CHECK(set_ok(&r->when.t[t].all, p->nlabels) && set_ok(&r->when.t[t].none, p->nlabels));
		(void)pol_dnf_eval(&r->when, &all);
		check_globs(&r->paths);
		check_globs(&r->paths_except);
		check_globs(&r->operands_outside);
		check_commands(&r->commands);
		check_endpoints(&r->endpoints);
		for (size_t a = 0; a < r->nafter; a++) {
			check_commands(&r->after[a].commands);
			check_globs(&r->after[a].since);
			CHECK(!r->after[a].has_exit || (r->after[a].exit_code >= 0 && r->after[a].exit_code <= 255));
		}
	}
	for (size_t i = 0; i < p->nflows; i++) {
		check_globs(&p->flows[i].executables);
		CHECK(set_ok(&p->flows[i].add, p->nlabels) && set_ok(&p->flows[i].remove, p->nlabels));
	}
}

/* The first two lines of the input straight into the matchers. */
static void raw_matchers(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *a, *b;
	struct pol_endpoint e;
	char err[160];
	bool host_bits;

	if (!nl || memchr(data, 0, size))
		return;
	a = strndup((const char *)data, (size_t)(nl - data));
	b = strndup((const char *)nl + 1, size - (size_t)(nl - data) - 1);
	CHECK(a && b);
	if (strchr(b, '\n'))
		*strchr(b, '\n') = '\0';
	(void)pol_glob_match(a, b);
	(void)pol_word_match(a, b);
	if (pol_endpoint_parse(a, &e, err, sizeof(err), &host_bits) == 0) {
		static const uint8_t any[16];

		CHECK(e.port_lo <= e.port_hi);
		(void)pol_endpoint_match(&e, any, 443, b);
		pol_endpoint_clear(&e);
	}
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct pol_diags d = { 0 };
	struct policy *p;

	if (!null)
		null = fopen("/dev/null", "w");
	p = policy_parse("fuzz.yaml", (const char *)data, size, &ENV, &d);
	CHECK((p != NULL) == (d.nerrors == 0));
	CHECK(d.n <= POL_MAX_DIAGS + 1);
	for (size_t i = 0; i < d.n; i++)
		CHECK(memchr(d.v[i].msg, '\0', sizeof(d.v[i].msg)));
	if (p)
		check_policy(p);
	if (null)
		pol_diags_print(&d, "fuzz.yaml", null);
	policy_free(p);
	pol_diags_free(&d);
	raw_matchers(data, size);
	return 0;
}
