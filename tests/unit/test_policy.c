/* SPDX-License-Identifier: MIT */
/*
 * Tests for the policy front end (src/policy/): the YAML language, its
 * checks and their positions, label expressions in DNF, path globs,
 * command and endpoint patterns, and the example policies in policies/.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/policy.h"

#ifndef AT_SOURCE_DIR
#error "AT_SOURCE_DIR must be defined (CMakeLists.txt does it for test_policy)"
#endif

static const struct pol_env ENV = { .home = "/home/u", .workspace = "/home/u/src/proj" };

#define HDR "version: 1\n"
/* one rule that is fine as it is, for tests about other parts */
#define OK_RULE "rules:\n  - on: exec\n    effect: block\n    reason: \"no\"\n"

static struct policy *parse(const char *yaml, struct pol_diags *d)
{
	memset(d, 0, sizeof(*d));
	return policy_parse("t.yaml", yaml, strlen(yaml), &ENV, d);
}

static void dump(const struct pol_diags *d)
{
	pol_diags_print(d, "t.yaml", stderr);
}

static bool has_diag(const struct pol_diags *d, enum pol_severity sev, unsigned line,
		     unsigned col, const char *substr)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && d->v[i].pos.line == line && d->v[i].pos.col == col &&
		    strstr(d->v[i].msg, substr))
			return true;
	return false;
}

/* The YAML fails with (at least) this error at line:col. */
static void expect_error(const char *yaml, unsigned line, unsigned col, const char *substr)
{
	struct pol_diags d;
	struct policy *p = parse(yaml, &d);

	if (!has_diag(&d, POL_ERROR, line, col, substr)) {
		fprintf(stderr, "want error %u:%u '%s'; got:\n", line, col, substr);
		dump(&d);
	}
	assert_true(has_diag(&d, POL_ERROR, line, col, substr));
	assert_null(p);
	pol_diags_free(&d);
}

/* The YAML parses, with this warning at line:col. */
static void expect_warning(const char *yaml, unsigned line, unsigned col, const char *substr)
{
	struct pol_diags d;
	struct policy *p = parse(yaml, &d);

	if (!has_diag(&d, POL_WARNING, line, col, substr) || !p) {
		fprintf(stderr, "want warning %u:%u '%s'; got:\n", line, col, substr);
		dump(&d);
	}
	assert_non_null(p);
	assert_int_equal(d.nerrors, 0);
	assert_true(has_diag(&d, POL_WARNING, line, col, substr));
	policy_free(p);
	pol_diags_free(&d);
}

/* The YAML parses without any diagnostic. */
static struct policy *parse_clean(const char *yaml)
{
	struct pol_diags d;
	struct policy *p = parse(yaml, &d);

	if (d.n) {
		fprintf(stderr, "unexpected diagnostics for:\n%s\n", yaml);
		dump(&d);
	}
	assert_int_equal(d.n, 0);
	assert_non_null(p);
	pol_diags_free(&d);
	return p;
}

static int label_id(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nlabels; i++)
		if (strcmp(p->labels[i].name, name) == 0)
			return (int)i;
	return -1;
}

static struct pol_labelset set_of(const struct policy *p, const char *names)
{
	struct pol_labelset s;
	char buf[256], *save, *t;

	memset(&s, 0, sizeof(s));
	snprintf(buf, sizeof(buf), "%s", names);
	for (t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		int id = label_id(p, t);

		assert_true(id >= 0);
		pol_set_add(&s, (unsigned)id);
	}
	return s;
}

static bool eval(const struct policy *p, size_t rule, const char *names)
{
	struct pol_labelset s = set_of(p, names);

	return pol_dnf_eval(&p->rules[rule].when, &s);
}

/* ---- the example policies ---------------------------------------------- */

static struct policy *load_example(const char *name)
{
	char path[512];
	struct pol_diags d = { 0 };
	struct policy *p;

	snprintf(path, sizeof(path), "%s/policies/%s", AT_SOURCE_DIR, name);
	p = policy_load(path, &ENV, &d);
	if (d.n)
		pol_diags_print(&d, path, stderr);
	assert_int_equal(d.n, 0);     /* no errors, no warnings */
	assert_non_null(p);
	pol_diags_free(&d);
	return p;
}

static void test_every_example_is_clean(void **state)
{
	char dir[512];
	DIR *dh;
	struct dirent *e;
	int n = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/policies", AT_SOURCE_DIR);
	assert_non_null(dh = opendir(dir));
	while ((e = readdir(dh))) {
		size_t l = strlen(e->d_name);

		if (l < 6 || strcmp(e->d_name + l - 5, ".yaml") != 0)
			continue;
		policy_free(load_example(e->d_name));
		n++;
	}
	closedir(dh);
	assert_true(n >= 8);
}

static const uint8_t *v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	static uint8_t addr[16];

	memset(addr, 0, 10);
	addr[10] = addr[11] = 0xff;
	addr[12] = a;
	addr[13] = b;
	addr[14] = c;
	addr[15] = d;
	return addr;
}

static bool set_match(const struct pol_endpoints *s, const uint8_t *addr, uint16_t port,
		      const char *domain)
{
	bool in = false;

	for (size_t i = 0; i < s->nin; i++)
		in |= pol_endpoint_match(&s->in[i], addr, port, domain);
	for (size_t i = 0; i < s->nexcept; i++)
		if (pol_endpoint_match(&s->except[i], addr, port, domain))
			return false;
	return in;
}

static void test_example_no_exfil(void **state)
{
	struct policy *p = load_example("no-exfil.yaml");
	const struct pol_rule *r;
	int secret = label_id(p, "SECRET");

	(void)state;
	assert_int_equal(p->nrules, 1);
	r = &p->rules[0];
	assert_string_equal(r->name, "no-exfil");
	assert_int_equal(r->ops, POL_OP_CONNECT | POL_OP_SEND);
	assert_int_equal(r->effect, POL_BLOCK);
	assert_true(secret >= 0);
	assert_int_equal(p->labels[secret].files.n, 10);
	assert_true(pol_glob_match(p->labels[secret].files.v[0].pattern, "/home/u/.ssh/id_rsa"));
	assert_true(pol_glob_match(p->labels[secret].files.v[6].pattern, "/srv/app/.env"));
	/* "*" except the three LLM endpoints */
	assert_int_equal(r->endpoints.nin, 1);
	assert_int_equal(r->endpoints.nexcept, 3);
	assert_false(set_match(&r->endpoints, v4(1, 2, 3, 4), 443, "api.anthropic.com"));
	assert_true(set_match(&r->endpoints, v4(1, 2, 3, 4), 80, "api.anthropic.com"));
	assert_true(set_match(&r->endpoints, v4(1, 2, 3, 4), 443, "evil.example"));
	assert_true(eval(p, 0, "SECRET"));
	assert_false(eval(p, 0, ""));
	assert_true(strstr(r->reason, "{target}") != NULL);
	policy_free(p);
}

static void test_example_cloud_metadata(void **state)
{
	struct policy *p = load_example("cloud-metadata.yaml");
	const struct pol_rule *r = &p->rules[0];
	uint8_t v6[16] = { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54 };

	(void)state;
	v6[14] = 0x02;
	assert_int_equal(p->nrules, 1);
	assert_int_equal(r->ops, POL_OP_CONNECT | POL_OP_SEND);
	assert_int_equal(r->effect, POL_BLOCK);
	assert_int_equal(r->endpoints.nin, 4);
	assert_int_equal(r->endpoints.nexcept, 0);
	assert_true(set_match(&r->endpoints, v4(169, 254, 169, 254), 80, NULL));
	assert_true(set_match(&r->endpoints, v6, 80, NULL));
	assert_true(set_match(&r->endpoints, v4(10, 0, 0, 1), 80, "metadata.google.internal"));
	assert_false(set_match(&r->endpoints, v4(169, 254, 169, 253), 80, NULL));
	assert_true(eval(p, 0, ""));  /* the whole tree */
	policy_free(p);
}

static void test_example_tests_before_commit(void **state)
{
	struct policy *p = load_example("tests-before-commit.yaml");
	const struct pol_rule *r = &p->rules[0];
	char *commit[] = { "git", "-c", "a=b", "commit", "-m", "x" };

	(void)state;
	assert_int_equal(p->nrules, 1);
	assert_int_equal(r->ops, POL_OP_EXEC);
	assert_int_equal(r->effect, POL_BLOCK);
	assert_int_equal(r->commands.n, 1);
	assert_true(pol_command_match(&r->commands.v[0], "/usr/bin/git", commit, 6));
	assert_int_equal(r->nafter, 1);
	assert_int_equal(r->after[0].commands.n, 5);
	assert_true(r->after[0].has_exit);
	assert_int_equal(r->after[0].exit_code, 0);
	assert_int_equal(r->after[0].since.n, 2);
	assert_string_equal(r->after[0].since.v[0].pattern, "/home/u/src/proj/src/**");
	assert_true(eval(p, 0, ""));
	policy_free(p);
}

static void test_example_protect_paths(void **state)
{
	struct policy *p = load_example("protect-paths.yaml");
	const struct pol_rule *r = &p->rules[0];

	(void)state;
	assert_int_equal(p->nrules, 1);
	assert_int_equal(r->ops, POL_OP_WRITE | POL_OP_RENAME | POL_OP_UNLINK);
	assert_int_equal(r->effect, POL_BLOCK);
	assert_true(r->paths.n >= 3);
	assert_string_equal(r->paths.v[0].pattern, "/home/u/src/proj/.git/hooks/**");
	assert_string_equal(r->paths.v[1].pattern, "/home/u/.bashrc");
	policy_free(p);
}

static void test_example_no_rm(void **state)
{
	struct policy *p = load_example("no-rm-outside-workspace.yaml");
	const struct pol_rule *r = &p->rules[0];
	char *rf[] = { "rm", "-rf", "/etc" }, *fr[] = { "rm", "-fr", "x" }, *vr[] = { "rm", "-vR", "x" };
	char *force[] = { "rm", "--force", "x" }, *rec[] = { "rm", "--recursive", "x" };
	bool m;

	(void)state;
	assert_int_equal(p->nrules, 1);
	assert_int_equal(r->ops, POL_OP_EXEC);
	assert_int_equal(r->effect, POL_BLOCK);
	assert_int_equal(r->operands_outside.n, 1);
	assert_string_equal(r->operands_outside.v[0].pattern, "/home/u/src/proj/**");
#define ANY_CMD(argv)                                                                       \
	do {                                                                                \
		m = false;                                                                  \
		for (size_t i = 0; i < r->commands.n; i++)                                  \
			m |= pol_command_match(&r->commands.v[i], "/usr/bin/rm", argv,      \
					       sizeof(argv) / sizeof(argv[0]));             \
	} while (0)
	ANY_CMD(rf);
	assert_true(m);
	ANY_CMD(fr);
	assert_true(m);
	ANY_CMD(vr);
	assert_true(m);
	ANY_CMD(rec);
	assert_true(m);
	ANY_CMD(force);
	assert_false(m);
#undef ANY_CMD
	policy_free(p);
}

static void test_example_untrusted_input(void **state)
{
	struct policy *p = load_example("untrusted-input.yaml");
	int u = label_id(p, "UNTRUSTED");

	(void)state;
	assert_int_equal(p->nrules, 2);
	assert_int_equal(p->rules[0].ops, POL_OP_EXEC);
	assert_int_equal(p->rules[0].commands.n, 3);
	assert_int_equal(p->rules[1].ops, POL_OP_WRITE);
	assert_int_equal(p->rules[0].effect, POL_BLOCK);
	assert_int_equal(p->rules[1].effect, POL_BLOCK);
	assert_true(u >= 0);
	/* "*" minus the LLM endpoints */
	assert_int_equal(p->labels[u].endpoints.nin, 1);
	assert_int_equal(p->labels[u].endpoints.nexcept, 3);
	assert_true(eval(p, 0, "UNTRUSTED"));
	assert_false(eval(p, 1, ""));
	policy_free(p);
}

static void test_example_declassify(void **state)
{
	struct policy *p = load_example("declassify.yaml");
	int secret = label_id(p, "SECRET");

	(void)state;
	assert_int_equal(p->nrules, 1);
	assert_int_equal(p->rules[0].effect, POL_BLOCK);
	assert_int_equal(p->nflows, 1);
	assert_int_equal(p->flows[0].executables.n, 2);
	assert_string_equal(p->flows[0].executables.v[1].pattern, "/home/u/src/proj/tools/redact");
	assert_true(pol_set_has(&p->flows[0].remove, (unsigned)secret));
	assert_false(pol_set_has(&p->flows[0].add, (unsigned)secret));
	policy_free(p);
}

static void test_example_egress_allowlist(void **state)
{
	struct policy *p = load_example("egress-allowlist.yaml");
	const struct pol_rule *r = &p->rules[0];
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12 }, lo6[16] = { [15] = 1 };

	(void)state;
	assert_int_equal(p->nrules, 1);
	assert_int_equal(r->ops, POL_OP_CONNECT | POL_OP_SEND);
	assert_int_equal(r->effect, POL_BLOCK);
	assert_int_equal(r->endpoints.nexcept, 6);
	/* allowed: not matched by the rule */
	assert_false(set_match(&r->endpoints, v4(10, 9, 8, 7), 443, NULL));
	assert_false(set_match(&r->endpoints, v4(127, 0, 0, 1), 5432, NULL));
	assert_false(set_match(&r->endpoints, v6, 443, NULL));
	assert_false(set_match(&r->endpoints, lo6, 22, NULL));
	assert_false(set_match(&r->endpoints, v4(1, 1, 1, 1), 443, "api.github.com"));
	/* blocked */
	assert_true(set_match(&r->endpoints, v4(10, 9, 8, 7), 80, NULL));
	assert_true(set_match(&r->endpoints, v6, 80, NULL));
	assert_true(set_match(&r->endpoints, v4(1, 1, 1, 1), 443, "github.com"));
	assert_true(set_match(&r->endpoints, v4(8, 8, 8, 8), 53, NULL));
	policy_free(p);
}

/* ---- the file as a whole ------------------------------------------------- */

static void test_empty_and_not_a_mapping(void **state)
{
	(void)state;
	expect_error("", 1, 1, "empty policy");
	expect_error("# nothing but a comment\n", 1, 1, "empty policy");
	expect_error("---\n", 1, 1, "empty policy");
	expect_error("\n\n- a\n- b\n", 1, 1, "must be a mapping");
	expect_error("just a string\n", 1, 1, "must be a mapping");
}

static void test_yaml_errors(void **state)
{
	(void)state;
	/* libyaml's own message, at its position */
	expect_error(HDR "rules: [a, b\n", 3, 1, "YAML");
	expect_error(HDR "a: b\n  c: d\n", 3, 4, "YAML");
	expect_error(HDR "x: &a [1]\ny: *a\n", 3, 4, "aliases");
	/* fuzz regression: an alias as a mapping key (no string behind it) */
	expect_error(HDR "*labels:\n  A: {files: /a}\n" OK_RULE, 2, 1, "aliases");
	expect_error(HDR OK_RULE "---\nversion: 1\n", 6, 1, "second");
	expect_error(HDR "rules: []\nrules: []\n", 3, 1, "duplicate key 'rules' (first at 2:1)");
	expect_error(HDR "labels:\n  A: {}\n  B: {}\n  A: {}\n" OK_RULE, 5, 3, "duplicate key 'A'");
	expect_error(HDR "? [a, b]\n: c\n", 2, 3, "keys must be strings");
	expect_error(HDR "rules:\n  - on: exec\n    effect: block\n    reason: \"a\\0b\"\n", 5, 13,
		     "NUL");
}

static void test_deep_nesting_is_an_error(void **state)
{
	char yaml[400];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(yaml, sizeof(yaml), HDR "x: ");
	for (int i = 0; i < 100; i++)
		yaml[n++] = '[';
	for (int i = 0; i < 100; i++)
		yaml[n++] = ']';
	yaml[n++] = '\n';
	yaml[n] = '\0';
	expect_error(yaml, 2, 4 + 63, "nested more than 64");  /* the top mapping is a level */
}

static void test_version(void **state)
{
	(void)state;
	expect_error(OK_RULE, 1, 1, "missing 'version: 1'");
	expect_error("version: 2\n" OK_RULE, 1, 10, "unsupported version '2'");
	expect_error("version: \"1\"\n" OK_RULE, 1, 10, "must be a number");
	expect_error("version: [1]\n" OK_RULE, 1, 10, "must be a number");
}

static void test_unknown_keys_and_types(void **state)
{
	(void)state;
	expect_error(HDR "rulez: []\n", 2, 1, "unknown key 'rulez' at the top level (did you mean 'rules'?)");
	expect_error(HDR "rules:\n  - on: exec\n    tagret: {}\n    effect: block\n    reason: x\n", 4, 5,
		     "unknown key 'tagret' in rule (did you mean 'target'?)");
	expect_error(HDR "rules:\n  - on: exec\n    target: {pahts: x}\n    effect: block\n    reason: x\n",
		     4, 14, "unknown key 'pahts' in target (did you mean 'paths'?)");
	expect_error(HDR "labels:\n  A: {file: x}\n" OK_RULE, 3, 7, "unknown key 'file' in label 'A' (did you mean 'files'?)");
	expect_error(HDR "rules:\n  - on: {a: b}\n    effect: block\n    reason: x\n", 3, 9,
		     "'on' must be a string or a list of strings");
	expect_error(HDR "rules:\n  - on: [exec, [open]]\n    effect: block\n    reason: x\n", 3, 16,
		     "'on' must be a string or a list of strings");
	expect_error(HDR "rules:\n  - on: conect\n    effect: block\n    reason: x\n", 3, 9,
		     "unknown operation 'conect' (did you mean 'connect'?)");
	expect_error(HDR "rules:\n  - on: exec\n    effect: blok\n    reason: x\n", 4, 13,
		     "unknown effect 'blok' (did you mean 'block'?)");
	expect_error(HDR "rules: {a: b}\n", 2, 8, "'rules' must be a list");
	expect_error(HDR "labels: [A]\n", 2, 9, "'labels' must be a mapping");
	expect_error(HDR "rules:\n  - on: exec\n    target: [x]\n    effect: block\n    reason: x\n", 4, 13,
		     "'target' must be a mapping");
	expect_error(HDR "rules:\n  - exec\n", 3, 5, "a rule must be a mapping");
}

static void test_required_rule_keys(void **state)
{
	(void)state;
	expect_error(HDR "rules:\n  - effect: block\n    reason: x\n", 3, 5, "no 'on'");
	expect_error(HDR "rules:\n  - on: exec\n    reason: x\n", 3, 5, "no 'effect'");
	expect_error(HDR "rules:\n  - on: exec\n    effect: block\n", 3, 5, "no 'reason'");
	expect_error(HDR "rules:\n  - on: exec\n    effect: block\n    reason: \"  \"\n", 5, 13,
		     "'reason' is empty");
	expect_error(HDR "rules:\n  - on: []\n    effect: block\n    reason: x\n", 3, 9, "'on' is empty");
}

static void test_all_errors_are_collected(void **state)
{
	struct pol_diags d;
	struct policy *p;

	(void)state;
	p = parse(HDR "rules:\n"
		  "  - on: exe\n    effect: block\n    reason: x\n"
		  "  - on: exec\n    effect: blocc\n    reason: x\n"
		  "  - on: exec\n    effect: block\n    reason: \"{nope}\"\n", &d);
	assert_null(p);
	assert_int_equal(d.nerrors, 3);
	/* in file order */
	assert_true(has_diag(&d, POL_ERROR, 3, 9, "unknown operation"));
	assert_true(has_diag(&d, POL_ERROR, 7, 13, "unknown effect"));
	assert_true(has_diag(&d, POL_ERROR, 11, 14, "unknown variable '{nope}'"));
	assert_int_equal(d.v[0].pos.line, 3);
	assert_int_equal(d.v[2].pos.line, 11);
	pol_diags_free(&d);
}

/* ---- labels and expressions ---------------------------------------------- */

static void test_unknown_labels_with_positions(void **state)
{
	(void)state;
	/* plain scalar: the label's own column */
	expect_error(HDR "labels:\n  SECRET: {files: x}\nrules:\n  - on: exec\n    when: SECRET and SECRT\n"
		     "    effect: block\n    reason: x\n", 6, 22, "unknown label 'SECRT' (did you mean 'SECRET'?)");
	/* quoted on one line, no escapes: also exact */
	expect_error(HDR "labels:\n  A: {files: x}\nrules:\n  - on: exec\n    when: \"A or B\"\n"
		     "    effect: block\n    reason: x\n", 6, 17, "unknown label 'B'");
	/* folded over lines: the scalar's position */
	expect_error(HDR "labels:\n  A: {files: x}\nrules:\n  - on: exec\n    when: >-\n      A or\n      B\n"
		     "    effect: block\n    reason: x\n", 6, 11, "unknown label 'B'");
	expect_error(HDR "labels:\n  A: {files: x}\n" OK_RULE "flows:\n  - executables: /x\n    declassify: [A, C]\n",
		     10, 21, "unknown label 'C'");
	expect_error(HDR "labels:\n  A: {files: x}\n" OK_RULE "flows:\n  - executables: /x\n    endorse: Z\n",
		     10, 14, "unknown label 'Z'");
	expect_error(HDR "labels:\n  A: {endpoints: [\"@LLM\"]}\n" OK_RULE, 3, 21, "unknown label 'LLM'");
	expect_error(HDR "labels:\n  A: {files: x}\nrules:\n  - on: exec\n    unless:\n      - labels: NOPE\n"
		     "    effect: block\n    reason: x\n", 7, 17, "unknown label 'NOPE'");
}

static void test_label_names_and_limits(void **state)
{
	char *yaml = malloc(64 * 1024);
	size_t n;

	(void)state;
	expect_error(HDR "labels:\n  1abc: {files: x}\n" OK_RULE, 3, 3, "bad label name");
	expect_error(HDR "labels:\n  a.b: {files: x}\n" OK_RULE, 3, 3, "bad label name");
	expect_error(HDR "labels:\n  not: {files: x}\n" OK_RULE, 3, 3, "keyword");
	expect_error(HDR "labels:\n  A: [x]\n" OK_RULE, 3, 6, "must be a mapping");

	/* 256 labels are fine, the 257th is one too many */
	assert_non_null(yaml);
	n = (size_t)sprintf(yaml, HDR OK_RULE "labels:\n");
	for (int i = 0; i < 256; i++)
		n += (size_t)sprintf(yaml + n, "  L%d: {files: /f%d}\n", i, i);
	struct pol_diags d;
	struct policy *p = parse(yaml, &d);

	assert_int_equal(d.n, 0);
	assert_non_null(p);
	assert_int_equal(p->nlabels, 256);
	assert_string_equal(p->labels[255].name, "L255");
	policy_free(p);
	pol_diags_free(&d);
	sprintf(yaml + n, "  L256: {files: /f}\n");
	expect_error(yaml, 7 + 256, 3, "too many labels (at most 256)");
	free(yaml);
}

static void test_label_warnings(void **state)
{
	(void)state;
	expect_warning(HDR "labels:\n  IDLE: {description: nothing}\n" OK_RULE, 3, 3,
		       "label 'IDLE' has no files, executables or endpoints and is never used");
	/* no warning when it is used (here: endorsed) */
	struct policy *p = parse_clean(HDR "labels:\n  OK: {}\n" OK_RULE
				       "flows:\n  - executables: /bin/review\n    endorse: OK\n");

	assert_true(pol_set_has(&p->flows[0].add, 0));
	policy_free(p);
	expect_warning(HDR "labels:\n  A:\n    files: x\n    except: [\"1.2.3.4\"]\n" OK_RULE, 5, 5,
		       "'except' has no effect without 'endpoints'");
}

static void test_dnf_nested_not(void **state)
{
	struct policy *p;
	const struct pol_dnf *w;
	int a, b, c;

	(void)state;
	p = parse_clean(HDR "labels:\n  A: {files: /a}\n  B: {files: /b}\n  C: {files: /c}\n"
			"rules:\n  - on: exec\n    when: \"not (A and (B or not C))\"\n"
			"    effect: block\n    reason: x\n");
	a = label_id(p, "A");
	b = label_id(p, "B");
	c = label_id(p, "C");
	w = &p->rules[0].when;
	/* ¬A ∨ (¬B ∧ C) */
	assert_int_equal(w->nterms, 2);
	assert_true(pol_set_has(&w->t[0].none, (unsigned)a));
	assert_false(pol_set_has(&w->t[0].all, (unsigned)a));
	assert_true(pol_set_has(&w->t[1].none, (unsigned)b));
	assert_true(pol_set_has(&w->t[1].all, (unsigned)c));
	for (int m = 0; m < 8; m++) {
		char names[16] = "";
		bool A = m & 1, B = m & 2, C = m & 4;

		snprintf(names, sizeof(names), "%s%s%s", A ? "A " : "", B ? "B " : "", C ? "C" : "");
		assert_int_equal(eval(p, 0, names), !(A && (B || !C)));
	}
	policy_free(p);
}

static void test_dnf_unless_folding_and_synonyms(void **state)
{
	struct policy *p;

	(void)state;
	p = parse_clean(HDR "labels:\n  A: {files: /a}\n  B: {files: /b}\n  C: {files: /c}\n"
			"rules:\n  - on: exec\n    when: \"A && !B || C\"\n"
			"    unless:\n      - labels: C and not A\n      - labels: \"false\"\n"
			"    effect: block\n    reason: x\n");
	/* ((A ∧ ¬B) ∨ C) ∧ ¬(C ∧ ¬A) */
	for (int m = 0; m < 8; m++) {
		char names[16] = "";
		bool A = m & 1, B = m & 2, C = m & 4;

		snprintf(names, sizeof(names), "%s%s%s", A ? "A " : "", B ? "B " : "", C ? "C" : "");
		assert_int_equal(eval(p, 0, names), ((A && !B) || C) && !(C && !A));
	}
	assert_true(p->rules[0].when.nterms <= 2);
	policy_free(p);

	/* simplification: (A or not A) and B is B; A or (A and B) is A; default true */
	p = parse_clean(HDR "labels:\n  A: {files: /a}\n  B: {files: /b}\n"
			"rules:\n  - on: exec\n    when: (A or not A) and B\n    effect: block\n    reason: x\n"
			"  - on: exec\n    when: A or (A and B)\n    effect: block\n    reason: x\n"
			"  - on: exec\n    effect: block\n    reason: x\n");
	assert_int_equal(p->rules[0].when.nterms, 1);
	assert_int_equal(p->rules[1].when.nterms, 1);
	assert_int_equal(p->rules[2].when.nterms, 1);
	assert_true(eval(p, 2, ""));
	assert_true(eval(p, 1, "A"));
	assert_false(eval(p, 1, "B"));
	policy_free(p);
}

static void test_dnf_too_many_terms(void **state)
{
	(void)state;
	/* (A ∨ B ∨ C) ∧ (D ∨ E ∨ F) = 9 terms */
	expect_error(HDR "labels:\n  A: {files: /a}\n  B: {files: /b}\n  C: {files: /c}\n  D: {files: /d}\n"
		     "  E: {files: /e}\n  F: {files: /f}\n"
		     "rules:\n  - on: exec\n    when: (A or B or C) and (D or E or F)\n"
		     "    effect: block\n    reason: x\n", 11, 11, "9 terms in disjunctive normal form");
	/* not(...) of a 4-clause CNF with 2 literals each: fine (4 terms) ... */
	struct policy *p = parse_clean(HDR "labels:\n  A: {files: /a}\n  B: {files: /b}\n"
				       "rules:\n  - on: exec\n    when: not ((A or B) and (not A or B) and (A or not B))\n"
				       "    effect: block\n    reason: x\n");

	assert_int_equal(p->rules[0].when.nterms, 2);  /* ¬A∨¬B simplified: (¬A∧¬B)∨(A∧¬B)∨(¬A∧B) */
	policy_free(p);
	/* irreducible: (A1 ∨ B1) ∧ ... ∧ (A5 ∨ B5) has 32 terms */
	expect_error(HDR "labels:\n  A1: {files: /a}\n  B1: {files: /b}\n  A2: {files: /a}\n  B2: {files: /b}\n"
		     "  A3: {files: /a}\n  B3: {files: /b}\n  A4: {files: /a}\n  B4: {files: /b}\n"
		     "  A5: {files: /a}\n  B5: {files: /b}\n"
		     "rules:\n  - on: exec\n    when: (A1 or B1) and (A2 or B2) and (A3 or B3) and (A4 or B4) and "
		     "(A5 or B5)\n    effect: block\n    reason: x\n", 15, 11, "32 terms");
	/* a huge expansion is an error, not a hang: 2^12 terms */
	char yaml[2048];
	size_t n = (size_t)sprintf(yaml, HDR "labels:\n");

	for (int i = 0; i < 12; i++)
		n += (size_t)sprintf(yaml + n, "  A%d: {files: /a}\n  B%d: {files: /b}\n", i, i);
	n += (size_t)sprintf(yaml + n, "rules:\n  - on: exec\n    unless:\n      - labels: \"");
	for (int i = 0; i < 12; i++)
		n += (size_t)sprintf(yaml + n, "%s(not A%d and not B%d)", i ? " or " : "", i, i);
	sprintf(yaml + n, "\"\n    effect: block\n    reason: x\n");
	expect_error(yaml, 30, 17, "too complex");
}

static void test_never_fires(void **state)
{
	(void)state;
	expect_warning(HDR "labels:\n  A: {files: /a}\nrules:\n  - on: exec\n    when: A and not A\n"
		       "    effect: block\n    reason: x\n", 6, 11, "rule can never fire");
	expect_warning(HDR "labels:\n  A: {files: /a}\nrules:\n  - on: exec\n    when: A\n"
		       "    unless:\n      - labels: \"true\"\n    effect: block\n    reason: x\n", 6, 11,
		       "rule can never fire");
	expect_warning(HDR "rules:\n  - on: exec\n    when: \"false\"\n    effect: block\n    reason: x\n",
		       4, 11, "rule can never fire");
}

static void test_expression_syntax_errors(void **state)
{
	(void)state;
	expect_error(HDR "labels:\n  A: {files: /a}\nrules:\n  - on: exec\n    when: A and\n"
		     "    effect: block\n    reason: x\n", 6, 16, "at the end of the expression");
	expect_error(HDR "labels:\n  A: {files: /a}\n  B: {files: /b}\nrules:\n  - on: exec\n    when: A B\n"
		     "    effect: block\n    reason: x\n", 7, 13, "found 'B'");
	expect_error(HDR "labels:\n  A: {files: /a}\nrules:\n  - on: exec\n    when: (A or A\n"
		     "    effect: block\n    reason: x\n", 6, 18, "expected ')'");
	expect_error(HDR "labels:\n  A: {files: /a}\nrules:\n  - on: exec\n    when: A & A\n"
		     "    effect: block\n    reason: x\n", 6, 13, "found '&'");
	expect_error(HDR "rules:\n  - on: exec\n    when: \"\"\n    effect: block\n    reason: x\n",
		     4, 12, "empty label expression");
	expect_error(HDR "rules:\n  - on: exec\n    when: [a]\n    effect: block\n    reason: x\n",
		     4, 11, "'when' must be a label expression");

	/* nesting is bounded */
	char yaml[1024];
	size_t n = (size_t)sprintf(yaml, HDR "labels:\n  A: {files: /a}\nrules:\n  - on: exec\n    when: \"");

	for (int i = 0; i < 100; i++)
		yaml[n++] = '!';
	n += (size_t)sprintf(yaml + n, "A\"\n    effect: block\n    reason: x\n");
	expect_error(yaml, 6, 12 + 64, "nested too deeply");
}

/* ---- rules ---------------------------------------------------------------- */

static void test_rule_names(void **state)
{
	struct policy *p;

	(void)state;
	p = parse_clean(HDR "rules:\n  - on: exec\n    effect: block\n    reason: x\n"
			"  - name: second.one\n    on: exec\n    effect: kill\n    reason: y\n"
			"  - on: open\n    effect: notify\n    reason: z\n");
	assert_int_equal(p->nrules, 3);
	assert_string_equal(p->rules[0].name, "rule-1");
	assert_string_equal(p->rules[1].name, "second.one");
	assert_string_equal(p->rules[2].name, "rule-3");
	assert_int_equal(p->rules[1].effect, POL_KILL);
	assert_int_equal(p->rules[2].effect, POL_NOTIFY);
	assert_int_equal(p->rules[1].pos.line, 6);
	assert_int_equal(p->rules[1].pos.col, 5);
	policy_free(p);

	expect_error(HDR "rules:\n  - name: a\n    on: exec\n    effect: block\n    reason: x\n"
		     "  - name: a\n    on: exec\n    effect: block\n    reason: x\n", 7, 11,
		     "duplicate rule name 'a' (first at 3:11)");
	expect_error(HDR "rules:\n  - on: exec\n    effect: block\n    reason: x\n"
		     "  - name: rule-1\n    on: exec\n    effect: block\n    reason: x\n", 6, 11,
		     "duplicate rule name 'rule-1'");
	expect_error(HDR "rules:\n  - name: \"a b\"\n    on: exec\n    effect: block\n    reason: x\n", 3, 11,
		     "bad rule name");
}

static void test_too_many_rules(void **state)
{
	size_t size = 1100 * 60, n;
	char *yaml = malloc(size);

	(void)state;
	assert_non_null(yaml);
	n = (size_t)sprintf(yaml, HDR "rules:\n");
	for (int i = 0; i < 1024; i++)
		n += (size_t)sprintf(yaml + n, "  - {on: exec, effect: block, reason: x}\n");
	struct pol_diags d;
	struct policy *p = parse(yaml, &d);

	assert_int_equal(d.n, 0);
	assert_non_null(p);
	assert_int_equal(p->nrules, 1024);
	policy_free(p);
	pol_diags_free(&d);
	sprintf(yaml + n, "  - {on: exec, effect: block, reason: x}\n");
	expect_error(yaml, 3 + 1024, 5, "too many rules (at most 1024)");
	free(yaml);
}

static void test_target_warnings(void **state)
{
	(void)state;
	expect_warning(HDR "rules:\n  - on: exec\n    target:\n      endpoints: [\"*\"]\n"
		       "    effect: block\n    reason: x\n", 5, 7, "'endpoints' has no effect on exec");
	expect_warning(HDR "rules:\n  - on: [connect, send]\n    target:\n      paths: /x\n"
		       "    effect: block\n    reason: x\n", 5, 7, "'paths' has no effect on connect, send");
	expect_warning(HDR "rules:\n  - on: write\n    target:\n      command: git\n"
		       "    effect: block\n    reason: x\n", 5, 7, "'command' has no effect on write");
	expect_warning(HDR "rules:\n  - on: open\n    target:\n      operands_outside: /x\n"
		       "    effect: block\n    reason: x\n", 5, 7, "'operands_outside' has no effect on open");
	/* applying to one of the ops is enough */
	policy_free(parse_clean(HDR "rules:\n  - on: [exec, connect]\n    target:\n      endpoints: \"*\"\n"
				"      paths: /x\n    effect: block\n    reason: x\n"));
}

static void test_reason_template(void **state)
{
	struct policy *p;

	(void)state;
	p = parse_clean(HDR "rules:\n  - on: exec\n    effect: block\n"
			"    reason: \"  {rule} {op} {comm} {pid} {exe} {target} {labels} {{literal} }  \"\n");
	assert_string_equal(p->rules[0].reason, "{rule} {op} {comm} {pid} {exe} {target} {labels} {{literal} }");
	policy_free(p);
	expect_error(HDR "rules:\n  - on: exec\n    effect: block\n    reason: \"pid {pid} by {user}\"\n",
		     5, 27, "unknown variable '{user}'");
	expect_error(HDR "rules:\n  - on: exec\n    effect: block\n    reason: pid {pi}\n",
		     5, 17, "unknown variable '{pi}' in 'reason' (did you mean 'pid'?)");
	expect_error(HDR "rules:\n  - on: exec\n    effect: block\n    reason: \"bad {pid\"\n",
		     5, 18, "unterminated '{'");
}

static void test_unless_after(void **state)
{
	struct policy *p;
	const struct pol_after *a;

	(void)state;
	p = parse_clean(HDR "rules:\n  - on: exec\n    target: {command: git push}\n    unless:\n"
			"      - after: {command: make test, exit: 0, since: [\"src/**\", \"**/*.c\"]}\n"
			"      - after:\n          command: [\"pytest*\", \"/usr/bin/make check\"]\n"
			"    effect: block\n    reason: x\n");
	assert_int_equal(p->rules[0].nafter, 2);
	a = &p->rules[0].after[0];
	assert_int_equal(a->commands.n, 1);
	assert_int_equal(a->commands.v[0].nwords, 2);
	assert_string_equal(a->commands.v[0].words[1], "test");
	assert_true(a->has_exit);
	assert_int_equal(a->exit_code, 0);
	assert_string_equal(a->since.v[0].pattern, "/home/u/src/proj/src/**");
	assert_string_equal(a->since.v[1].pattern, "**/*.c");
	a = &p->rules[0].after[1];
	assert_false(a->has_exit);
	assert_int_equal(a->commands.n, 2);
	assert_string_equal(a->commands.v[1].words[0], "/usr/bin/make");
	assert_true(eval(p, 0, ""));
	policy_free(p);

	expect_error(HDR "rules:\n  - on: exec\n    unless:\n      - after: {command: x, exit: 256}\n"
		     "    effect: block\n    reason: x\n", 5, 35, "'exit' must be an exit status");
	expect_error(HDR "rules:\n  - on: exec\n    unless:\n      - after: {command: x, exit: \"0\"}\n"
		     "    effect: block\n    reason: x\n", 5, 35, "'exit' must be an exit status");
	expect_error(HDR "rules:\n  - on: exec\n    unless:\n      - after: {command: x, exit: -1}\n"
		     "    effect: block\n    reason: x\n", 5, 35, "'exit' must be an exit status");
	expect_error(HDR "rules:\n  - on: exec\n    unless:\n      - after: {command: []}\n"
		     "    effect: block\n    reason: x\n", 5, 26, "'command' is empty");
	expect_error(HDR "rules:\n  - on: exec\n    unless:\n      - after: {exit: 0}\n"
		     "    effect: block\n    reason: x\n", 5, 16, "needs a 'command'");
	expect_error(HDR "rules:\n  - on: exec\n    unless:\n      - labels: \"true\"\n        after: {command: x}\n"
		     "    effect: block\n    reason: x\n", 5, 9, "exactly one of 'labels' or 'after'");
	expect_error(HDR "rules:\n  - on: exec\n    unless: x\n    effect: block\n    reason: x\n", 4, 13,
		     "'unless' must be a list");
	expect_error(HDR "rules:\n  - on: exec\n    target: {command: \" \"}\n    effect: block\n    reason: x\n",
		     4, 23, "empty command pattern");
}

static void test_flows(void **state)
{
	(void)state;
	expect_error(HDR "labels:\n  A: {files: /a}\n" OK_RULE "flows:\n  - declassify: A\n", 9, 5,
		     "no 'executables'");
	expect_error(HDR "labels:\n  A: {files: /a}\n" OK_RULE "flows:\n  - executables: []\n    declassify: A\n",
		     9, 18, "'executables' is empty");
	expect_warning(HDR OK_RULE "flows:\n  - executables: /x\n", 7, 5, "flow has no effect");
	expect_error(HDR OK_RULE "flows:\n  - executables: /x\n    endorse: A\n    delcassify: B\n", 9, 5,
		     "unknown key 'delcassify' in flow (did you mean 'declassify'?)");
}

/* ---- paths and globs ------------------------------------------------------ */

static void test_expansion(void **state)
{
	struct policy *p;
	const struct pol_globs *g;
	static const char *const want[] = {
		"/home/u/.ssh/**", "/home/u", "/home/u/src/proj/secrets/*", "/home/u/src/proj",
		"/home/u/src/proj/rel/x", "**/.env", "**", "**/**.pem", "/etc/x", "/a/c",
		"/home/u/src/proj/a", "/", "/home/u/src/proj/build/**",
	};

	(void)state;
	p = parse_clean(HDR "labels:\n  A:\n    files: [\"~/.ssh/**\", \"~\", \"{workspace}/secrets/*\", "
			"\"{workspace}\", \"rel//x/\", \"**/.env\", \"**\", \"**.pem\", \"/etc/./x\", "
			"\"/a/b/../c\", \"./a\", \"/..\", \"{workspace}/build/**/\"]\n" OK_RULE);
	assert_string_equal(p->workspace, "/home/u/src/proj");
	assert_string_equal(p->home, "/home/u");
	g = &p->labels[0].files;
	assert_int_equal(g->n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < g->n; i++)
		assert_string_equal(g->v[i].pattern, want[i]);
	assert_string_equal(g->v[0].text, "~/.ssh/**");
	assert_int_equal(g->v[1].pos.line, 4);
	policy_free(p);

	/* the policy's own workspace: "~", relative to the session's, normalised */
	p = parse_clean(HDR "workspace: \"~/w/../work/\"\nlabels:\n  A: {files: x}\n" OK_RULE);
	assert_string_equal(p->workspace, "/home/u/work");
	assert_string_equal(p->labels[0].files.v[0].pattern, "/home/u/work/x");
	policy_free(p);
	p = parse_clean(HDR "workspace: sub/dir\n" OK_RULE);
	assert_string_equal(p->workspace, "/home/u/src/proj/sub/dir");
	policy_free(p);

	/* glob characters in the workspace are literal */
	struct pol_env env = { .home = "/h", .workspace = "/w[1]" };
	struct pol_diags d = { 0 };
	const char *yaml = HDR "labels:\n  A: {files: \"{workspace}/*.c\"}\n" OK_RULE;

	p = policy_parse("t", yaml, strlen(yaml), &env, &d);
	assert_non_null(p);
	assert_string_equal(p->labels[0].files.v[0].pattern, "/w\\[1\\]/*.c");
	assert_true(pol_glob_match(p->labels[0].files.v[0].pattern, "/w[1]/a.c"));
	assert_false(pol_glob_match(p->labels[0].files.v[0].pattern, "/w1/a.c"));
	policy_free(p);
	pol_diags_free(&d);
}

static void test_bad_globs(void **state)
{
	(void)state;
	expect_error(HDR "labels:\n  A: {files: \"\"}\n" OK_RULE, 3, 14, "empty path pattern");
	expect_error(HDR "labels:\n  A: {files: [\"/ok\", \"~bob/x\"]}\n" OK_RULE, 3, 22, "'~user' is not supported");
	expect_error(HDR "labels:\n  A: {files: \"/x/{workspace}/y\"}\n" OK_RULE, 3, 14, "only expanded at the start");
	expect_error(HDR "labels:\n  A: {files: \"{workspace}x\"}\n" OK_RULE, 3, 14, "must be followed by '/'");
	expect_error(HDR "labels:\n  A: {files: \"/a/*/../b\"}\n" OK_RULE, 3, 14, "cannot follow a wildcard");
	expect_error(HDR "labels:\n  A: {files: \"**/..\"}\n" OK_RULE, 3, 14, "'..'");
	expect_error(HDR "labels:\n  A: {files: {a: b}}\n" OK_RULE, 3, 14, "'files' must be a string or a list");
	expect_error(HDR "workspace: \"~x\"\n" OK_RULE, 2, 12, "'~user'");
	expect_error(HDR "workspace: \"{workspace}/x\"\n" OK_RULE, 2, 12, "cannot refer");
}

static void test_glob_match_basics(void **state)
{
	(void)state;
	assert_true(pol_glob_match("/a/b", "/a/b"));
	assert_false(pol_glob_match("/a/b", "/a/bc"));
	assert_false(pol_glob_match("/a/b", "/a"));
	assert_true(pol_glob_match("/a/*.c", "/a/x.c"));
	assert_true(pol_glob_match("/a/*.c", "/a/.c"));
	assert_false(pol_glob_match("/a/*.c", "/a/b/x.c"));    /* '*' stays in a component */
	assert_false(pol_glob_match("/a/*", "/a"));
	assert_true(pol_glob_match("/a/?", "/a/x"));
	assert_false(pol_glob_match("/a/?", "/a/xy"));
	assert_false(pol_glob_match("/a?b", "/a/b"));          /* '?' does not match '/' */
	assert_true(pol_glob_match("/a/[abc]", "/a/b"));
	assert_false(pol_glob_match("/a/[abc]", "/a/d"));
	assert_true(pol_glob_match("/a/[a-z]x", "/a/qx"));
	assert_false(pol_glob_match("/a/[a-z]x", "/a/Qx"));
	assert_true(pol_glob_match("/a/[!a-z]", "/a/Q"));
	assert_false(pol_glob_match("/a/[!a-z]", "/a/q"));
	assert_true(pol_glob_match("/a/[]]", "/a/]"));
	assert_true(pol_glob_match("/a/[x", "/a/[x"));          /* no ']': literal */
	assert_true(pol_glob_match("/a/\\*", "/a/*"));
	assert_false(pol_glob_match("/a/\\*", "/a/x"));
	assert_true(pol_glob_match("/a/*x*y*z", "/a/_x_y_z"));
	assert_false(pol_glob_match("/a/*x*y*z", "/a/_x_z_y"));
	assert_true(pol_glob_match("/", "/"));
	assert_false(pol_glob_match("/", "/a"));
	assert_false(pol_glob_match(NULL, "/a"));
}

static void test_glob_match_doublestar(void **state)
{
	(void)state;
	assert_true(pol_glob_match("/a/**/b", "/a/b"));
	assert_true(pol_glob_match("/a/**/b", "/a/x/b"));
	assert_true(pol_glob_match("/a/**/b", "/a/x/y/z/b"));
	assert_false(pol_glob_match("/a/**/b", "/a/x/y/z/c"));
	assert_false(pol_glob_match("/a/**/b", "/c/a/b"));
	/* a trailing "**" component: the directory itself and everything below */
	assert_true(pol_glob_match("/h/.ssh/**", "/h/.ssh"));
	assert_true(pol_glob_match("/h/.ssh/**", "/h/.ssh/id_rsa"));
	assert_true(pol_glob_match("/h/.ssh/**", "/h/.ssh/a/b/c"));
	assert_false(pol_glob_match("/h/.ssh/**", "/h/.sshx"));
	assert_false(pol_glob_match("/h/.ssh/**", "/h"));
	/* anywhere */
	assert_true(pol_glob_match("**/.env", "/.env"));
	assert_true(pol_glob_match("**/.env", "/srv/app/.env"));
	assert_false(pol_glob_match("**/.env", "/srv/app/.env.example"));
	assert_true(pol_glob_match("**/id_rsa*", "/home/u/.ssh/id_rsa.pub"));
	assert_true(pol_glob_match("**", "/anything/at/all"));
	assert_true(pol_glob_match("**/*.pem", "/etc/ssl/a.pem"));
	/* "**" inside a component is two '*' */
	assert_true(pol_glob_match("/a/**.c", "/a/x.c"));
	assert_false(pol_glob_match("/a/**.c", "/a/b/x.c"));
	/* several "**" */
	assert_true(pol_glob_match("/a/**/b/**/c", "/a/1/b/2/3/c"));
	assert_true(pol_glob_match("/a/**/b/**/c", "/a/b/c"));
	assert_false(pol_glob_match("/a/**/b/**/c", "/a/c/b"));
}

static void test_glob_no_blowup(void **state)
{
	char path[2 * 200 + 8], word[1100];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		path[n++] = '/';
		path[n++] = i == 0 ? 'a' : 'x';
	}
	path[n] = '\0';
	/* ends in x: no match, and every "**" can take any number of components */
	assert_false(pol_glob_match("/a/**/**/**/**/**/b", path));
	path[n - 1] = 'b';
	assert_true(pol_glob_match("/a/**/**/**/**/**/b", path));
	assert_true(pol_glob_match("/a/**/x/**/x/**/x/**/x/**/b", path));
	assert_false(pol_glob_match("/a/**/x/**/y/**/b", path));
	/* many stars in one component */
	memset(word, 'a', 1000);
	word[0] = '/';
	word[1000] = '\0';
	assert_false(pol_glob_match("/*a*a*a*a*a*a*a*a*a*a*a*b", word));
	assert_true(pol_glob_match("/*a*a*a*a*a*a*a*a*a*a*a*a", word));
}

/* ---- commands ------------------------------------------------------------- */

static struct pol_command cmd(char **words, size_t n)
{
	struct pol_command c = { .words = words, .nwords = n };

	return c;
}

static void test_command_match(void **state)
{
	char *gc[] = { "git", "commit" }, *full[] = { "/usr/bin/git", "commit" };
	char *glob[] = { "/usr/*/git", "commit" }, *py[] = { "pytest*" }, *rm[] = { "rm", "-r*", "/x*" };
	char *a1[] = { "git", "commit", "-m", "x" };
	char *a2[] = { "git", "-c", "a=b", "commit", "-m", "x" };
	char *a3[] = { "git", "status" };
	char *a4[] = { "git", "log", "--grep", "commit" };
	char *b1[] = { "python", "-m", "pytest" };
	char *b2[] = { "pytest-3", "-q" };
	char *r1[] = { "rm", "/x/y", "-rf" }, *r2[] = { "rm", "-rf", "/x/y" };
	struct pol_command c;

	(void)state;
	c = cmd(gc, 2);
	assert_true(pol_command_match(&c, "/usr/bin/git", a1, 4));
	assert_true(pol_command_match(&c, "/usr/bin/git", a2, 6));
	assert_false(pol_command_match(&c, "/usr/bin/git", a3, 2));
	assert_true(pol_command_match(&c, "/usr/bin/git", a4, 4));  /* a subsequence, by design */
	assert_false(pol_command_match(&c, "/usr/bin/hg", a1 + 1, 3));
	/* argv[0]'s basename is accepted too (symlinks, busybox) */
	char *bb[] = { "/home/u/bin/git", "commit" };

	assert_true(pol_command_match(&c, "/usr/libexec/git-core/git-wrapper", bb, 2));
	assert_false(pol_command_match(&c, "/usr/bin/git", bb, 1));
	/* a word with '/' is a glob over the full executable path */
	c = cmd(full, 2);
	assert_true(pol_command_match(&c, "/usr/bin/git", a1, 4));
	assert_false(pol_command_match(&c, "/usr/local/bin/git", a1, 4));
	c = cmd(glob, 2);
	assert_true(pol_command_match(&c, "/usr/local/git", a1, 4));
	assert_false(pol_command_match(&c, "/usr/local/bin/git", a1, 4));
	/* globs in words; '/' is not special within an argument */
	c = cmd(py, 1);
	assert_false(pol_command_match(&c, "/usr/bin/python3", b1, 3));
	assert_true(pol_command_match(&c, "/usr/bin/pytest-3", b2, 2));
	/* order matters */
	c = cmd(rm, 3);
	assert_false(pol_command_match(&c, "/bin/rm", r1, 3));
	assert_true(pol_command_match(&c, "/bin/rm", r2, 3));
	assert_false(pol_command_match(&c, NULL, NULL, 0));
}

/* ---- endpoints ------------------------------------------------------------ */

static struct pol_endpoint ep(const char *text)
{
	struct policy *p;
	struct pol_endpoint e;
	char yaml[256];

	snprintf(yaml, sizeof(yaml), HDR "rules:\n  - on: connect\n    target: {endpoints: \"%s\"}\n"
		 "    effect: block\n    reason: x\n", text);
	p = parse_clean(yaml);
	assert_int_equal(p->rules[0].endpoints.nin, 1);
	e = p->rules[0].endpoints.in[0];
	assert_string_equal(e.text, text);
	/* keep e: steal its strings */
	p->rules[0].endpoints.in[0].domain = NULL;
	p->rules[0].endpoints.in[0].text = NULL;
	policy_free(p);
	return e;
}

static void ep_free(struct pol_endpoint *e)
{
	free(e->domain);
	free(e->text);
}

static void test_endpoint_forms(void **state)
{
	struct pol_endpoint e;
	uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 10, 1, 2, 3 };
	uint8_t db8[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff }, other6[16] = { 0x20, 0x01, 0x0d, 0xb9 };
	uint8_t lo6[16] = { [15] = 1 };

	(void)state;
	e = ep("*");
	assert_int_equal(e.kind, POL_EP_ANY);
	assert_int_equal(e.port_lo, 0);
	assert_int_equal(e.port_hi, 65535);
	assert_true(pol_endpoint_match(&e, lo6, 1, NULL));
	ep_free(&e);

	e = ep("*:443");
	assert_int_equal(e.kind, POL_EP_ANY);
	assert_true(pol_endpoint_match(&e, lo6, 443, NULL));
	assert_false(pol_endpoint_match(&e, lo6, 444, NULL));
	ep_free(&e);

	/* IPv4: v4-mapped, prefix 96 + n; matches a v4-mapped IPv6 destination */
	e = ep("10.0.0.0/8:8000-8100");
	assert_int_equal(e.kind, POL_EP_CIDR);
	assert_int_equal(e.prefix, 104);
	assert_int_equal(e.addr[10], 0xff);
	assert_int_equal(e.addr[12], 10);
	assert_int_equal(e.port_lo, 8000);
	assert_int_equal(e.port_hi, 8100);
	assert_true(pol_endpoint_match(&e, mapped, 8000, NULL));
	assert_true(pol_endpoint_match(&e, mapped, 8100, NULL));
	assert_false(pol_endpoint_match(&e, mapped, 8101, NULL));
	assert_false(pol_endpoint_match(&e, mapped, 7999, NULL));
	mapped[12] = 11;
	assert_false(pol_endpoint_match(&e, mapped, 8000, NULL));
	mapped[12] = 10;
	/* a plain IPv6 address with the same low bytes is not IPv4 */
	uint8_t compat[16] = { [12] = 10, 1, 2, 3 };

	assert_false(pol_endpoint_match(&e, compat, 8000, NULL));
	ep_free(&e);

	e = ep("1.2.3.4");
	assert_int_equal(e.prefix, 128);
	assert_int_equal(e.port_hi, 65535);
	assert_true(pol_endpoint_match(&e, v4(1, 2, 3, 4), 9, NULL));
	assert_false(pol_endpoint_match(&e, v4(1, 2, 3, 5), 9, NULL));
	ep_free(&e);

	e = ep("[2001:db8::/32]:*");
	assert_int_equal(e.prefix, 32);
	assert_true(pol_endpoint_match(&e, db8, 1, NULL));
	assert_false(pol_endpoint_match(&e, other6, 1, NULL));
	ep_free(&e);

	e = ep("[::1]:22");
	assert_int_equal(e.prefix, 128);
	assert_true(pol_endpoint_match(&e, lo6, 22, NULL));
	assert_false(pol_endpoint_match(&e, lo6, 23, NULL));
	ep_free(&e);

	e = ep("::1");   /* bare IPv6, no port */
	assert_int_equal(e.kind, POL_EP_CIDR);
	assert_true(pol_endpoint_match(&e, lo6, 22, NULL));
	ep_free(&e);

	e = ep("[::ffff:10.0.0.0/104]");  /* IPv4 written as v4-mapped IPv6 */
	assert_true(pol_endpoint_match(&e, mapped, 1, NULL));
	ep_free(&e);

	/* domains: lower case, no trailing dot; "*." is strict subdomains */
	e = ep("Api.Example.COM.:443");
	assert_int_equal(e.kind, POL_EP_DOMAIN);
	assert_string_equal(e.domain, "api.example.com");
	assert_false(e.wildcard);
	assert_true(pol_endpoint_match(&e, lo6, 443, "API.example.com"));
	assert_true(pol_endpoint_match(&e, lo6, 443, "api.example.com."));
	assert_false(pol_endpoint_match(&e, lo6, 443, "x.api.example.com"));
	assert_false(pol_endpoint_match(&e, lo6, 443, NULL));
	assert_false(pol_endpoint_match(&e, lo6, 80, "api.example.com"));
	ep_free(&e);

	e = ep("*.github.com");
	assert_true(e.wildcard);
	assert_string_equal(e.domain, "github.com");
	assert_true(pol_endpoint_match(&e, lo6, 1, "api.github.com"));
	assert_true(pol_endpoint_match(&e, lo6, 1, "a.b.GitHub.com"));
	assert_false(pol_endpoint_match(&e, lo6, 1, "github.com"));
	assert_false(pol_endpoint_match(&e, lo6, 1, "evilgithub.com"));
	assert_false(pol_endpoint_match(&e, lo6, 1, ".github.com"));
	ep_free(&e);
}

static void test_endpoint_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "10.0.0.0/33", "prefix length /33 too long" },
		{ "10.0.0.0/x", "bad prefix" },
		{ "10.0.0/8", "bad IPv4 address" },
		{ "1.2.3.256", "bad IPv4 address" },
		{ "[2001:db8::/129]", "too long" },
		{ "[2001:db8::", "missing ']'" },
		{ "[zz::1]", "bad IPv6 address" },
		{ "[::1]x", "after ']'" },
		{ "host:99999", "port out of range" },
		{ "host:", "missing port" },
		{ "host:80-70", "empty port range" },
		{ "host:8a", "bad port" },
		{ "ho st", "invalid character" },
		{ "a..b", "empty label" },
		{ "a.*.b", "'*' is only allowed" },
		{ "example.com/8", "bad IPv4 address" },
		{ "", "empty endpoint" },
		{ "2001:db8::1:443x", "bad IPv6 address" },
	};
	char yaml[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), HDR "rules:\n  - on: connect\n    target:\n"
			 "      endpoints: [\"*:1\", \"%s\"]\n    effect: block\n    reason: x\n", bad[i].text);
		expect_error(yaml, 5, 26, bad[i].msg);
	}
	/* host bits past the prefix: a warning, and cleared */
	expect_warning(HDR "rules:\n  - on: connect\n    target: {endpoints: \"10.1.2.3/8\"}\n"
		       "    effect: block\n    reason: x\n", 4, 25, "bits set past its prefix");
}

static void test_endpoint_references(void **state)
{
	struct policy *p;
	const struct pol_endpoints *s;

	(void)state;
	/* transitive, deduplicated */
	p = parse_clean(HDR "labels:\n"
			"  A: {endpoints: [\"a.com\", \"@B\"]}\n"
			"  B: {endpoints: [\"b.com\", \"@C\"]}\n"
			"  C: {endpoints: [\"c.com\", \"a.com\"]}\n"
			"  U: {endpoints: \"*\", except: [\"@A\", \"d.com\"]}\n"
			"rules:\n  - on: connect\n    target: {endpoints: \"@U\"}\n    when: U\n"
			"    effect: block\n    reason: x\n");
	s = &p->labels[label_id(p, "A")].endpoints;
	assert_int_equal(s->nin, 3);
	assert_int_equal(s->nexcept, 0);
	s = &p->labels[label_id(p, "U")].endpoints;
	assert_int_equal(s->nin, 1);
	assert_int_equal(s->nexcept, 4);
	s = &p->rules[0].endpoints;
	assert_int_equal(s->nin, 1);
	assert_int_equal(s->nexcept, 4);
	assert_true(set_match(s, v4(1, 2, 3, 4), 1, "e.com"));
	assert_false(set_match(s, v4(1, 2, 3, 4), 1, "c.com"));
	policy_free(p);

	/* rule "except" without "endpoints": everything but */
	p = parse_clean(HDR "rules:\n  - on: connect\n    target: {except: \"a.com\"}\n"
			"    effect: block\n    reason: x\n");
	s = &p->rules[0].endpoints;
	assert_int_equal(s->nin, 1);
	assert_int_equal(s->in[0].kind, POL_EP_ANY);
	assert_true(set_match(s, v4(1, 2, 3, 4), 1, "b.com"));
	assert_false(set_match(s, v4(1, 2, 3, 4), 1, "a.com"));
	policy_free(p);

	expect_error(HDR "labels:\n  A: {endpoints: \"@B\"}\n  B: {endpoints: [\"x.com\", \"@A\"]}\n" OK_RULE,
		     4, 28, "loop back to label");
	expect_error(HDR "labels:\n  A: {endpoints: \"@A\"}\n" OK_RULE, 3, 18, "loop back to label 'A'");
	expect_error(HDR "labels:\n  U: {endpoints: \"*\", except: \"x.com\"}\n"
		     "  V: {endpoints: \"*\", except: \"@U\"}\n" OK_RULE, 4, 31,
		     "cannot be used in 'except'");
	expect_error(HDR "labels:\n  U: {endpoints: \"*\", except: \"x.com\"}\n"
		     "  V: {endpoints: [\"@U\", \"y.com\"]}\n" OK_RULE, 4, 19, "must be the only item");
	expect_warning(HDR "labels:\n  E: {files: /x}\n  V: {endpoints: [\"@E\", \"y.com\"]}\n" OK_RULE, 4, 19,
		       "has no endpoints");
}

/* ---- loading, printing, names --------------------------------------------- */

static void test_load_errors(void **state)
{
	struct pol_diags d = { 0 };
	char path[] = "/tmp/test_policy_XXXXXX";
	int fd;
	FILE *f;
	char *out = NULL;
	size_t outlen = 0;

	(void)state;
	assert_null(policy_load("/nonexistent/policy.yaml", &ENV, &d));
	assert_int_equal(d.nerrors, 1);
	assert_true(strstr(d.v[0].msg, "cannot open") != NULL);
	pol_diags_free(&d);

	assert_null(policy_load("/tmp", &ENV, &d));
	assert_true(strstr(d.v[0].msg, "not a regular file") != NULL);
	pol_diags_free(&d);

	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(ftruncate(fd, (4 << 20) + 1), 0);
	close(fd);
	assert_null(policy_load(path, &ENV, &d));
	assert_true(strstr(d.v[0].msg, "larger than 4 MiB") != NULL);
	pol_diags_free(&d);

	/* a real file with an error: printed as FILE:LINE:COL */
	assert_non_null(f = fopen(path, "w"));
	fputs("version: 1\nrules:\n  - on: exec\n    effect: bloc\n    reason: x\n", f);
	fclose(f);
	assert_null(policy_load(path, &ENV, &d));
	assert_non_null(f = open_memstream(&out, &outlen));
	pol_diags_print(&d, path, f);
	fclose(f);
	char want[256];

	snprintf(want, sizeof(want), "%s:4:13: error: unknown effect 'bloc' (did you mean 'block'?)", path);
	assert_true(strncmp(out, want, strlen(want)) == 0);
	free(out);
	pol_diags_free(&d);
	unlink(path);

	/* no home: an error without a position */
	struct pol_env env = { .home = NULL, .workspace = "/w" };
	const char *yaml = HDR OK_RULE;

	assert_null(policy_parse("t", yaml, strlen(yaml), &env, &d));
	assert_int_equal(d.v[0].pos.line, 0);
	assert_non_null(f = open_memstream(&out, &outlen));
	pol_diags_print(&d, "t", f);
	fclose(f);
	assert_true(strncmp(out, "t: error: ", 10) == 0);
	free(out);
	pol_diags_free(&d);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pol_op_name(POL_OP_EXEC), "exec");
	assert_string_equal(pol_op_name(POL_OP_SEND), "send");
	assert_string_equal(pol_op_name(POL_OP_RENAME), "rename");
	assert_string_equal(pol_op_name(POL_OP_EXEC | POL_OP_SEND), "?");
	assert_string_equal(pol_effect_name(POL_BLOCK), "block");
	assert_string_equal(pol_effect_name(POL_KILL), "kill");
	assert_string_equal(pol_effect_name(POL_NOTIFY), "notify");
	assert_string_equal(pol_effect_name((enum pol_effect)0), "?");
}

static void test_dnf_eval(void **state)
{
	struct pol_dnf d = { 0 };
	struct pol_labelset s = { 0 };

	(void)state;
	assert_false(pol_dnf_eval(&d, &s));        /* no terms: false */
	d.nterms = 1;
	assert_true(pol_dnf_eval(&d, &s));         /* one empty term: true */
	pol_set_add(&d.t[0].all, 200);
	pol_set_add(&d.t[0].none, 3);
	assert_false(pol_dnf_eval(&d, &s));
	pol_set_add(&s, 200);
	assert_true(pol_dnf_eval(&d, &s));
	pol_set_add(&s, 3);
	assert_false(pol_dnf_eval(&d, &s));
	d.nterms = 2;
	pol_set_add(&d.t[1].all, 3);
	assert_true(pol_dnf_eval(&d, &s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_example_is_clean),
		cmocka_unit_test(test_example_no_exfil),
		cmocka_unit_test(test_example_cloud_metadata),
		cmocka_unit_test(test_example_tests_before_commit),
		cmocka_unit_test(test_example_protect_paths),
		cmocka_unit_test(test_example_no_rm),
		cmocka_unit_test(test_example_untrusted_input),
		cmocka_unit_test(test_example_declassify),
		cmocka_unit_test(test_example_egress_allowlist),
		cmocka_unit_test(test_empty_and_not_a_mapping),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_deep_nesting_is_an_error),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_unknown_keys_and_types),
		cmocka_unit_test(test_required_rule_keys),
		cmocka_unit_test(test_all_errors_are_collected),
		cmocka_unit_test(test_unknown_labels_with_positions),
		cmocka_unit_test(test_label_names_and_limits),
		cmocka_unit_test(test_label_warnings),
		cmocka_unit_test(test_dnf_nested_not),
		cmocka_unit_test(test_dnf_unless_folding_and_synonyms),
		cmocka_unit_test(test_dnf_too_many_terms),
		cmocka_unit_test(test_never_fires),
		cmocka_unit_test(test_expression_syntax_errors),
		cmocka_unit_test(test_rule_names),
		cmocka_unit_test(test_too_many_rules),
		cmocka_unit_test(test_target_warnings),
		cmocka_unit_test(test_reason_template),
		cmocka_unit_test(test_unless_after),
		cmocka_unit_test(test_flows),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_bad_globs),
		cmocka_unit_test(test_glob_match_basics),
		cmocka_unit_test(test_glob_match_doublestar),
		cmocka_unit_test(test_glob_no_blowup),
		cmocka_unit_test(test_command_match),
		cmocka_unit_test(test_endpoint_forms),
		cmocka_unit_test(test_endpoint_errors),
		cmocka_unit_test(test_endpoint_references),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dnf_eval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
