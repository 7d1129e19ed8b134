/* SPDX-License-Identifier: MIT */
/*
 * Tests for the guard's user-space pieces that need no kernel: the table
 * compiler (src/policy/tables.c: rules per operation, endpoint pattern bits,
 * LPM entries, DNS binding), the causal order of `unless: after:`
 * conditions (src/guard/causal.c) and reason templates
 * (guard_format_reason in src/guard/guard.c).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "guard/causal.h"
#include "guard/guard.h"
#include "policy/policy.h"
#include "policy/tables.h"

static const struct pol_env ENV = { .home = "/home/u", .workspace = "/work/ws" };

/* Parse a policy that must have no errors (warnings are allowed). */
static struct policy *parse_ok(const char *yaml)
{
	struct pol_diags d = { 0 };
	struct policy *p = policy_parse("t.yaml", yaml, strlen(yaml), &ENV, &d);

	if (!p || d.nerrors)
		pol_diags_print(&d, "t.yaml", stderr);
	assert_int_equal(d.nerrors, 0);
	assert_non_null(p);
	pol_diags_free(&d);
	return p;
}

/* ---- tables --------------------------------------------------------------- */

static unsigned labels_count(const struct at_labels *s)
{
	unsigned n = 0;

	for (int w = 0; w < AT_LABEL_WORDS; w++)
		n += (unsigned)__builtin_popcountll(s->w[w]);
	return n;
}

static unsigned epset_count(const struct at_epset *s)
{
	unsigned n = 0;

	for (int w = 0; w < AT_EP_WORDS; w++)
		n += (unsigned)__builtin_popcountll(s->w[w]);
	return n;
}

/* Build an epset from a list of bits, terminated by -1. */
static struct at_epset bits(int first, ...)
{
	struct at_epset s;
	va_list ap;

	memset(&s, 0, sizeof(s));
	va_start(ap, first);
	for (int b = first; b >= 0; b = va_arg(ap, int))
		s.w[b / 64] |= 1ull << (b % 64);
	va_end(ap);
	return s;
}

static void assert_epset(const struct at_epset *got, const struct at_epset *want)
{
	if (memcmp(got, want, sizeof(*got))) {
		for (int w = AT_EP_WORDS - 1; w >= 0; w--)
			fprintf(stderr, "word %d: got %016llx want %016llx\n", w,
				(unsigned long long)got->w[w], (unsigned long long)want->w[w]);
	}
	assert_memory_equal(got, want, sizeof(*got));
}

/* The bit of the (unique) endpoint pattern written as `text`. */
static int bit_of(const struct pol_tables *t, const char *text)
{
	int found = -1;

	for (unsigned b = 0; b < t->neps; b++) {
		if (t->eps[b]->text && !strcmp(t->eps[b]->text, text)) {
			assert_int_equal(found, -1); /* deduplicated: only one */
			found = (int)b;
		}
	}
	if (found < 0)
		fprintf(stderr, "no endpoint pattern '%s'\n", text);
	assert_true(found >= 0);
	return found;
}

static void v4(const char *s, uint8_t out[16])
{
	uint32_t ip;

	assert_int_equal(inet_pton(AF_INET, s, &ip), 1);
	tables_v4mapped(ip, out);
}

static void v6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

/* The entry for a network given as text (IPv4 or IPv6) and prefix over the
 * 128-bit form. */
static const struct tbl_ep_entry *entry(const struct pol_tables *t, const char *addr, unsigned prefix)
{
	uint8_t a[16];

	if (strchr(addr, ':'))
		v6(addr, a);
	else
		v4(addr, a);
	for (size_t i = 0; i < t->nentries; i++)
		if (t->entries[i].prefix == prefix && !memcmp(t->entries[i].addr, a, 16))
			return &t->entries[i];
	fprintf(stderr, "no entry %s/%u\n", addr, prefix);
	return NULL;
}

static struct at_epset match(const struct pol_tables *t, const char *addr, uint16_t port)
{
	struct at_epset s;
	uint8_t a[16];

	if (strchr(addr, ':'))
		v6(addr, a);
	else
		v4(addr, a);
	tables_match(t, a, port, &s);
	return s;
}

#define BIG_POLICY                                                                        \
	"version: 1\n"                                                                    \
	"labels:\n"                                                                       \
	"  SECRET:\n"                                                                     \
	"    files: [\"~/.ssh/**\"]\n"                                                    \
	"  LLM:\n"                                                                        \
	"    endpoints: [\"api.example.com:443\", \"*.example.com\"]\n"                   \
	"  NET:\n"                                                                        \
	"    endpoints: [\"10.0.0.0/8\"]\n"                                               \
	"    except: [\"10.9.0.0/16\"]\n"                                                 \
	"rules:\n"                                                                        \
	"  - name: r-exec\n"                                                              \
	"    on: exec\n"                                                                  \
	"    effect: block\n"                                                             \
	"    reason: x\n"                                                                 \
	"  - name: r-conn\n"                                                              \
	"    on: connect\n"                                                               \
	"    target:\n"                                                                   \
	"      endpoints: [\"10.0.0.0/8\", \"[2001:db8::/32]:443\"]\n"                    \
	"    when: \"SECRET and not LLM or NET\"\n"                                       \
	"    effect: block\n"                                                             \
	"    reason: x\n"                                                                 \
	"  - name: r-both\n"                                                              \
	"    on: [connect, send]\n"                                                       \
	"    target:\n"                                                                   \
	"      endpoints: [\"10.0.0.0/8\", \"10.1.0.0/16:8000-8100\"]\n"                  \
	"      except: [\"@LLM\"]\n"                                                      \
	"    when: SECRET\n"                                                              \
	"    effect: kill\n"                                                              \
	"    reason: x\n"                                                                 \
	"  - name: r-send\n"                                                              \
	"    on: send\n"                                                                  \
	"    effect: notify\n"                                                            \
	"    reason: x\n"                                                                 \
	"flows:\n"                                                                        \
	"  - executables: [\"/usr/bin/redact\"]\n"                                        \
	"    declassify: [SECRET]\n"                                                      \
	"    endorse: [NET]\n"

struct big {
	struct policy *p;
	struct pol_tables t;
	int b10, b6, b10_1, llm443, llmwild, any, b10_9;
};

static int big_setup(void **state)
{
	struct big *b = calloc(1, sizeof(*b));
	char err[256] = "";

	assert_non_null(b);
	b->p = parse_ok(BIG_POLICY);
	if (tables_build(&b->t, b->p, err, sizeof(err)))
		fprintf(stderr, "tables_build: %s\n", err);
	assert_int_equal(b->t.neps, 7);
	b->b10 = bit_of(&b->t, "10.0.0.0/8");
	b->b6 = bit_of(&b->t, "[2001:db8::/32]:443");
	b->b10_1 = bit_of(&b->t, "10.1.0.0/16:8000-8100");
	b->llm443 = bit_of(&b->t, "api.example.com:443");
	b->llmwild = bit_of(&b->t, "*.example.com");
	b->any = bit_of(&b->t, "*");
	b->b10_9 = bit_of(&b->t, "10.9.0.0/16");
	*state = b;
	return 0;
}

static int big_teardown(void **state)
{
	struct big *b = *state;

	tables_free(&b->t);
	policy_free(b->p);
	free(b);
	return 0;
}

static void test_tables_rules_per_op(void **state)
{
	struct big *b = *state;
	const struct pol_tables *t = &b->t;

	assert_int_equal(t->nconnect, 2);
	assert_int_equal(t->nsend, 2);
	/* connect: r-conn, r-both (policy order); send: r-both, r-send */
	assert_int_equal(t->connect[0].id, 1);
	assert_int_equal(t->connect[1].id, 2);
	assert_int_equal(t->send[0].id, 2);
	assert_int_equal(t->send[1].id, 3);
	assert_int_equal(t->connect[0].effect, AT_EFF_BLOCK);
	assert_int_equal(t->connect[1].effect, AT_EFF_KILL);
	assert_int_equal(t->send[0].effect, AT_EFF_KILL);
	assert_int_equal(t->send[1].effect, AT_EFF_NOTIFY);
	assert_int_equal(t->connect[0].ops, AT_OP_CONNECT);
	assert_int_equal(t->connect[1].ops, AT_OP_CONNECT | AT_OP_SEND);
	assert_int_equal(t->send[0].ops, AT_OP_CONNECT | AT_OP_SEND);
	assert_int_equal(t->send[1].ops, AT_OP_SEND);
	/* the same rule in both tables is the same compiled rule */
	assert_memory_equal(&t->connect[1], &t->send[0], sizeof(struct at_rule));
	/* conf counts */
	assert_int_equal(t->conf.nconnect, 2);
	assert_int_equal(t->conf.nsend, 2);
	assert_int_equal(t->conf.nep_labels, 2);
	assert_int_equal(t->conf.enabled, 1);
}

static void test_tables_dnf_copied(void **state)
{
	struct big *b = *state;
	const struct pol_tables *t = &b->t;
	const struct pol_rule *r = &b->p->rules[1];
	struct at_labels secret = { { 1ull << 0 } }, llm = { { 1ull << 1 } }, net = { { 1ull << 2 } };
	bool saw_secret_not_llm = false, saw_net = false;

	assert_int_equal(t->connect[0].nterms, r->when.nterms);
	assert_int_equal(r->when.nterms, 2);
	for (unsigned i = 0; i < r->when.nterms; i++) {
		assert_memory_equal(t->connect[0].all[i].w, r->when.t[i].all.w, sizeof(t->connect[0].all[i].w));
		assert_memory_equal(t->connect[0].none[i].w, r->when.t[i].none.w, sizeof(t->connect[0].none[i].w));
		if (!memcmp(&t->connect[0].all[i], &secret, sizeof(secret)) &&
		    !memcmp(&t->connect[0].none[i], &llm, sizeof(llm)))
			saw_secret_not_llm = true;
		if (!memcmp(&t->connect[0].all[i], &net, sizeof(net)) &&
		    labels_count(&t->connect[0].none[i]) == 0)
			saw_net = true;
	}
	assert_true(saw_secret_not_llm);
	assert_true(saw_net);
	/* unused terms stay empty */
	for (unsigned i = r->when.nterms; i < AT_GUARD_TERMS; i++) {
		assert_int_equal(labels_count(&t->connect[0].all[i]), 0);
		assert_int_equal(labels_count(&t->connect[0].none[i]), 0);
	}
	/* r-send: default "true" = one empty term */
	assert_int_equal(t->send[1].nterms, 1);
	assert_int_equal(labels_count(&t->send[1].all[0]), 0);
	assert_int_equal(labels_count(&t->send[1].none[0]), 0);
}

static void test_tables_endpoint_bits(void **state)
{
	struct big *b = *state;
	const struct pol_tables *t = &b->t;
	struct at_epset want;

	/* "10.0.0.0/8" used by r-conn, r-both and label NET: one bit */
	want = bits(b->b10, b->b6, -1);
	assert_epset(&t->connect[0].ep_in, &want);
	want = bits(-1);
	assert_epset(&t->connect[0].ep_except, &want);
	want = bits(b->b10, b->b10_1, -1);
	assert_epset(&t->connect[1].ep_in, &want);
	/* except @LLM: the label's own patterns, the same bits */
	want = bits(b->llm443, b->llmwild, -1);
	assert_epset(&t->connect[1].ep_except, &want);
	/* no endpoints: ANY */
	want = bits(b->any, -1);
	assert_epset(&t->send[1].ep_in, &want);
	assert_int_equal(t->eps[b->any]->kind, POL_EP_ANY);
	assert_int_equal(t->eps[b->b10]->kind, POL_EP_CIDR);
	assert_int_equal(t->eps[b->llm443]->kind, POL_EP_DOMAIN);

	/* ports */
	assert_int_equal(t->ports[b->b6].lo, 443);
	assert_int_equal(t->ports[b->b6].hi, 443);
	assert_int_equal(t->ports[b->b10_1].lo, 8000);
	assert_int_equal(t->ports[b->b10_1].hi, 8100);
	assert_int_equal(t->ports[b->llm443].lo, 443);
	assert_int_equal(t->ports[b->b10].lo, 0);
	assert_int_equal(t->ports[b->b10].hi, 65535);
	want = bits(b->b10, b->llmwild, b->any, b->b10_9, -1);
	assert_epset(&t->conf.port_any, &want);

	/* domains wait for DNS answers: no LPM entry, but a domain record */
	assert_int_equal(t->ndomains, 2);
	/* LPM entries: 10/8, 2001:db8::/32, 10.1/16, ::/0, 10.9/16 */
	assert_int_equal(t->nentries, 5);
}

static void test_tables_ep_labels_and_flows(void **state)
{
	struct big *b = *state;
	const struct pol_tables *t = &b->t;
	struct at_epset want;

	assert_int_equal(t->nep_labels, 2);
	assert_int_equal(t->ep_labels[0].label, 1); /* LLM */
	want = bits(b->llm443, b->llmwild, -1);
	assert_epset(&t->ep_labels[0].in, &want);
	want = bits(-1);
	assert_epset(&t->ep_labels[0].except, &want);
	assert_int_equal(t->ep_labels[1].label, 2); /* NET */
	want = bits(b->b10, -1);
	assert_epset(&t->ep_labels[1].in, &want);
	want = bits(b->b10_9, -1);
	assert_epset(&t->ep_labels[1].except, &want);

	assert_int_equal(t->nflows, 1);
	assert_int_equal(t->flows[0].remove.w[0], 1ull << 0); /* SECRET */
	assert_int_equal(t->flows[0].add.w[0], 1ull << 2);    /* NET */
	for (int w = 1; w < AT_LABEL_WORDS; w++) {
		assert_int_equal(t->flows[0].remove.w[w], 0);
		assert_int_equal(t->flows[0].add.w[w], 0);
	}
}

static void test_tables_entries_v4mapped(void **state)
{
	struct big *b = *state;
	const struct pol_tables *t = &b->t;
	const struct tbl_ep_entry *e;
	struct at_epset want;
	static const uint8_t mapped10[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0 };

	e = entry(t, "10.0.0.0", 104);
	assert_non_null(e);
	assert_memory_equal(e->addr, mapped10, 16);
	want = bits(b->b10, -1);
	assert_epset(&e->own, &want);
	want = bits(b->b10, b->any, -1);
	assert_epset(&e->value, &want);

	e = entry(t, "10.1.0.0", 112);
	assert_non_null(e);
	want = bits(b->b10_1, -1);
	assert_epset(&e->own, &want);
	want = bits(b->b10_1, b->b10, b->any, -1);
	assert_epset(&e->value, &want);

	e = entry(t, "10.9.0.0", 112);
	assert_non_null(e);
	want = bits(b->b10_9, b->b10, b->any, -1);
	assert_epset(&e->value, &want);

	e = entry(t, "2001:db8::", 32);
	assert_non_null(e);
	want = bits(b->b6, b->any, -1);
	assert_epset(&e->value, &want);

	e = entry(t, "::", 0);
	assert_non_null(e);
	want = bits(b->any, -1);
	assert_epset(&e->value, &want);
}

static void test_tables_match(void **state)
{
	struct big *b = *state;
	const struct pol_tables *t = &b->t;
	struct at_epset got, want;

	got = match(t, "10.1.2.3", 8050);
	want = bits(b->b10, b->b10_1, b->any, -1);
	assert_epset(&got, &want);
	/* outside 8000-8100: that pattern's bit goes */
	got = match(t, "10.1.2.3", 80);
	want = bits(b->b10, b->any, -1);
	assert_epset(&got, &want);
	got = match(t, "10.1.2.3", 8101);
	assert_epset(&got, &want);
	got = match(t, "10.2.3.4", 8050);
	assert_epset(&got, &want);
	got = match(t, "10.9.255.1", 22);
	want = bits(b->b10, b->b10_9, b->any, -1);
	assert_epset(&got, &want);
	got = match(t, "192.168.1.1", 443);
	want = bits(b->any, -1);
	assert_epset(&got, &want);
	/* a v4-mapped IPv6 destination matches the IPv4 patterns */
	got = match(t, "::ffff:10.1.2.3", 8000);
	want = bits(b->b10, b->b10_1, b->any, -1);
	assert_epset(&got, &want);
	/* IPv6 CIDR with a port */
	got = match(t, "2001:db8:1::5", 443);
	want = bits(b->b6, b->any, -1);
	assert_epset(&got, &want);
	got = match(t, "2001:db8:1::5", 444);
	want = bits(b->any, -1);
	assert_epset(&got, &want);
	got = match(t, "2001:db9::1", 443);
	assert_epset(&got, &want);
	/* an IPv6 address that merely ends like 10.x is not in 10/8 */
	got = match(t, "::10.1.2.3", 8050);
	assert_epset(&got, &want);
}

static void test_tables_bind(void **state)
{
	struct big *b = *state;
	struct pol_tables *t = &b->t;
	const struct tbl_ep_entry *e;
	struct at_epset want, got;
	uint8_t a[16], a10[16];
	size_t n0 = t->nentries;

	v4("93.184.216.34", a);
	/* names no domain pattern matches */
	assert_null(tables_bind(t, "example.com", a));      /* "*." is strict */
	assert_null(tables_bind(t, "evil-example.com", a)); /* not a subdomain */
	assert_null(tables_bind(t, "example.org", a));
	assert_null(tables_bind(t, "api.example.com.evil.org", a));
	assert_int_equal(t->nentries, n0);

	/* a strict subdomain: only the wildcard */
	e = tables_bind(t, "x.api.example.com", a);
	assert_non_null(e);
	assert_int_equal(e->prefix, 128);
	assert_memory_equal(e->addr, a, 16);
	want = bits(b->llmwild, -1);
	assert_epset(&e->own, &want);
	want = bits(b->llmwild, b->any, -1);
	assert_epset(&e->value, &want);
	assert_int_equal(t->nentries, n0 + 1);
	/* the same name and address again: nothing new */
	assert_null(tables_bind(t, "x.api.example.com", a));

	/* the exact name (any case, trailing dot) adds the exact pattern */
	e = tables_bind(t, "API.Example.com.", a);
	assert_non_null(e);
	want = bits(b->llm443, b->llmwild, -1);
	assert_epset(&e->own, &want);
	want = bits(b->llm443, b->llmwild, b->any, -1);
	assert_epset(&e->value, &want);
	assert_int_equal(t->nentries, n0 + 1);
	assert_null(tables_bind(t, "api.example.com", a));

	/* as the kernel sees it: the :443 pattern only on 443 */
	tables_v4mapped(htonl(0x5db8d822), a); /* 93.184.216.34 */
	tables_match(t, a, 443, &got);
	want = bits(b->llm443, b->llmwild, b->any, -1);
	assert_epset(&got, &want);
	tables_match(t, a, 80, &got);
	want = bits(b->llmwild, b->any, -1);
	assert_epset(&got, &want);

	/* an address inside a CIDR: the /128 also carries the CIDR's bits */
	v4("10.1.7.7", a10);
	e = tables_bind(t, "db.example.com", a10);
	assert_non_null(e);
	want = bits(b->llmwild, -1);
	assert_epset(&e->own, &want);
	want = bits(b->llmwild, b->b10_1, b->b10, b->any, -1);
	assert_epset(&e->value, &want);
	assert_null(tables_bind(t, "db.example.com", a10));
	tables_match(t, a10, 8080, &got);
	assert_epset(&got, &want);
	/* neighbours are unaffected */
	got = match(t, "10.1.7.8", 8080);
	want = bits(b->b10_1, b->b10, b->any, -1);
	assert_epset(&got, &want);

	/* IPv6 answers bind too */
	v6("2001:db8::443", a);
	e = tables_bind(t, "api.example.com", a);
	assert_non_null(e);
	want = bits(b->llm443, b->llmwild, b->b6, b->any, -1);
	assert_epset(&e->value, &want);
}

/* The example of tables.h: "*", 10/8, 10.1/16 nest. */
static void test_tables_lpm_nesting(void **state)
{
	struct policy *p;
	struct pol_tables t;
	const struct tbl_ep_entry *e;
	struct at_epset want;
	char err[256] = "";
	int bany, b8, b16, b32, bany443, b8ssh;

	(void)state;
	p = parse_ok("version: 1\nrules:\n"
		     "  - on: connect\n    target:\n"
		     "      endpoints: [\"10.1.0.0/16\", \"*\", \"10.0.0.0/8\", \"10.1.2.3\", \"*:443\", \"10.0.0.0/8:22\"]\n"
		     "    effect: block\n    reason: x\n"
		     "  - on: send\n    target:\n      endpoints: [\"10.0.0.0/8\", \"*\"]\n"
		     "    effect: block\n    reason: x\n");
	assert_int_equal(tables_build(&t, p, err, sizeof(err)), 0);
	assert_int_equal(t.neps, 6);
	b16 = bit_of(&t, "10.1.0.0/16");
	bany = bit_of(&t, "*");
	b8 = bit_of(&t, "10.0.0.0/8");
	b32 = bit_of(&t, "10.1.2.3");
	bany443 = bit_of(&t, "*:443");
	b8ssh = bit_of(&t, "10.0.0.0/8:22");
	/* patterns differing only in ports share an entry */
	assert_int_equal(t.nentries, 4);

	e = entry(&t, "10.1.0.0", 112);
	assert_non_null(e);
	want = bits(b16, -1);
	assert_epset(&e->own, &want);
	want = bits(b16, b8, b8ssh, bany, bany443, -1);
	assert_epset(&e->value, &want);
	e = entry(&t, "10.0.0.0", 104);
	assert_non_null(e);
	want = bits(b8, b8ssh, -1);
	assert_epset(&e->own, &want);
	want = bits(b8, b8ssh, bany, bany443, -1);
	assert_epset(&e->value, &want);
	e = entry(&t, "::", 0);
	assert_non_null(e);
	want = bits(bany, bany443, -1);
	assert_epset(&e->value, &want);
	/* a single IPv4 address: v4-mapped /128 */
	e = entry(&t, "10.1.2.3", 128);
	assert_non_null(e);
	assert_int_equal(e->addr[10], 0xff);
	assert_int_equal(e->addr[11], 0xff);
	want = bits(b32, b16, b8, b8ssh, bany, bany443, -1);
	assert_epset(&e->value, &want);

	/* port filtering of the nested bits */
	{
		struct at_epset got = match(&t, "10.1.2.3", 22);

		want = bits(b32, b16, b8, b8ssh, bany, -1);
		assert_epset(&got, &want);
		got = match(&t, "10.1.2.3", 443);
		want = bits(b32, b16, b8, bany, bany443, -1);
		assert_epset(&got, &want);
		got = match(&t, "10.200.0.1", 443);
		want = bits(b8, bany, bany443, -1);
		assert_epset(&got, &want);
	}
	/* the send rule reuses the bits */
	want = bits(b8, bany, -1);
	assert_epset(&t.send[0].ep_in, &want);
	want = bits(bany, b8, b16, b32, -1);
	assert_epset(&t.conf.port_any, &want);
	tables_free(&t);
	policy_free(p);
}

/* A rule with only `except` means "*" except these. */
static void test_tables_except_only(void **state)
{
	struct policy *p;
	struct pol_tables t;
	struct at_epset want, got;
	char err[256] = "";
	int bany, bx;

	(void)state;
	p = parse_ok("version: 1\nrules:\n"
		     "  - on: connect\n    target:\n      except: [\"127.0.0.0/8\"]\n"
		     "    effect: block\n    reason: x\n");
	assert_int_equal(tables_build(&t, p, err, sizeof(err)), 0);
	assert_int_equal(t.neps, 2);
	bany = bit_of(&t, "*");
	bx = bit_of(&t, "127.0.0.0/8");
	want = bits(bany, -1);
	assert_epset(&t.connect[0].ep_in, &want);
	want = bits(bx, -1);
	assert_epset(&t.connect[0].ep_except, &want);
	got = match(&t, "127.0.0.1", 80);
	want = bits(bany, bx, -1);
	assert_epset(&got, &want);
	assert_int_equal(t.nep_labels, 0);
	assert_int_equal(t.nflows, 0);
	assert_int_equal(t.conf.nsend, 0);
	tables_free(&t);
	policy_free(p);
}

/* A policy with n distinct endpoint patterns in one connect rule. */
static char *many_endpoints(unsigned n)
{
	size_t cap = 256 + (size_t)n * 40, o;
	char *y = malloc(cap);

	assert_non_null(y);
	o = (size_t)snprintf(y, cap, "version: 1\nrules:\n  - on: connect\n    target:\n      endpoints:\n");
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(y + o, cap - o, "        - \"10.%u.%u.0/24\"\n", i / 256, i % 256);
	snprintf(y + o, cap - o, "    effect: block\n    reason: x\n");
	return y;
}

static void test_tables_too_many_patterns(void **state)
{
	struct policy *p;
	struct pol_tables t;
	char err[256] = "";
	char *y;

	(void)state;
	/* 256 fit */
	y = many_endpoints(256);
	p = parse_ok(y);
	assert_int_equal(tables_build(&t, p, err, sizeof(err)), 0);
	assert_int_equal(t.neps, 256);
	assert_int_equal(epset_count(&t.connect[0].ep_in), 256);
	tables_free(&t);
	policy_free(p);
	free(y);

	/* 257 do not */
	y = many_endpoints(257);
	p = parse_ok(y);
	assert_int_equal(tables_build(&t, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "error:"));
	assert_non_null(strstr(err, "256"));
	policy_free(p);
	free(y);
}

/* Host bits, the IPv4 and IPv6 "everything" networks. */
static void test_tables_cidr_forms(void **state)
{
	struct policy *p;
	struct pol_tables t;
	struct at_epset got, want;
	char err[256] = "";
	int b8, b4all, b6all;

	(void)state;
	p = parse_ok("version: 1\nrules:\n  - on: connect\n    target:\n"
		     "      endpoints: [\"10.0.0.0/8\", \"10.1.2.3/8\", \"0.0.0.0/0\", \"[::/0]\"]\n"
		     "    effect: block\n    reason: x\n");
	assert_int_equal(tables_build(&t, p, err, sizeof(err)), 0);
	/* "10.1.2.3/8" is "10.0.0.0/8" */
	assert_int_equal(t.neps, 3);
	b8 = bit_of(&t, "10.0.0.0/8");
	b4all = bit_of(&t, "0.0.0.0/0");
	b6all = bit_of(&t, "[::/0]");
	assert_non_null(entry(&t, "0.0.0.0", 96));
	assert_non_null(entry(&t, "::", 0));
	assert_int_equal(t.nentries, 3);
	got = match(&t, "10.200.1.1", 1);
	want = bits(b8, b4all, b6all, -1);
	assert_epset(&got, &want);
	got = match(&t, "192.0.2.1", 1);
	want = bits(b4all, b6all, -1);
	assert_epset(&got, &want);
	got = match(&t, "2001:db8::1", 1);
	want = bits(b6all, -1);
	assert_epset(&got, &want);
	tables_free(&t);
	policy_free(p);
}

/* No endpoint rule or label: empty tables, still enabled. */
static void test_tables_no_endpoints(void **state)
{
	struct policy *p;
	struct pol_tables t;
	struct at_epset got, zero = { { 0 } };
	uint8_t a[16];
	char err[256] = "";

	(void)state;
	p = parse_ok("version: 1\nrules:\n  - on: exec\n    effect: block\n    reason: x\n");
	assert_int_equal(tables_build(&t, p, err, sizeof(err)), 0);
	assert_int_equal(t.neps, 0);
	assert_int_equal(t.nentries, 0);
	assert_int_equal(t.nconnect, 0);
	assert_int_equal(t.nsend, 0);
	assert_int_equal(t.conf.enabled, 1);
	v4("1.2.3.4", a);
	tables_match(&t, a, 80, &got);
	assert_epset(&got, &zero);
	assert_null(tables_bind(&t, "example.com", a));
	tables_free(&t);
	policy_free(p);
}

/* ---- causal order --------------------------------------------------------- */

#define CAUSAL_POLICY                                                                      \
	"version: 1\n"                                                                     \
	"rules:\n"                                                                         \
	"  - name: no-rm\n"                                                                \
	"    on: exec\n"                                                                   \
	"    target: {command: rm}\n"                                                      \
	"    effect: block\n"                                                              \
	"    reason: x\n"                                                                  \
	"  - name: commit\n"                                                               \
	"    on: exec\n"                                                                   \
	"    target: {command: git commit}\n"                                              \
	"    unless:\n"                                                                    \
	"      - after: {command: [\"make test\"], exit: 0, since: [\"src/**\"]}\n"        \
	"    effect: block\n"                                                              \
	"    reason: x\n"

struct cs {
	struct policy *p;
	struct causal *c;
	char why[256];
};

static int causal_setup(void **state)
{
	struct cs *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->p = parse_ok(CAUSAL_POLICY);
	assert_int_equal(s->p->rules[1].nafter, 1);
	assert_string_equal(s->p->rules[1].after[0].since.v[0].pattern, "/work/ws/src/**");
	s->c = causal_new(s->p);
	assert_non_null(s->c);
	*state = s;
	return 0;
}

static int causal_teardown(void **state)
{
	struct cs *s = *state;

	causal_free(s->c);
	policy_free(s->p);
	free(s);
	return 0;
}

static void feed(struct cs *s, json_t *ev)
{
	assert_non_null(ev);
	causal_observe(s->c, ev);
	json_decref(ev);
}

static void ev_exec(struct cs *s, int pid, uint64_t start, uint64_t ts, const char *exe,
		    const char *a0, const char *a1)
{
	json_t *argv = json_array();

	json_array_append_new(argv, json_string(a0));
	if (a1)
		json_array_append_new(argv, json_string(a1));
	feed(s, json_pack("{s:s, s:i, s:I, s:I, s:s, s:o}", "type", "exec", "pid", pid, "start_ns",
			  (json_int_t)start, "ts_ns", (json_int_t)ts, "exe", exe, "argv", argv));
}

static void make_test(struct cs *s, int pid, uint64_t start, uint64_t ts)
{
	ev_exec(s, pid, start, ts, "/usr/bin/make", "make", "test");
}

/* code < 0: null (killed by a signal) */
static void ev_exit(struct cs *s, int pid, uint64_t start, uint64_t ts, int code)
{
	feed(s, json_pack("{s:s, s:i, s:I, s:I, s:o}", "type", "exit", "pid", pid, "start_ns",
			  (json_int_t)start, "ts_ns", (json_int_t)ts, "code",
			  code < 0 ? json_null() : json_integer(code)));
}

static void ev_open(struct cs *s, uint64_t ts, const char *path, const char *access, bool create,
		    bool truncate, int ret)
{
	feed(s, json_pack("{s:s, s:i, s:I, s:I, s:s, s:s, s:b, s:b, s:i}", "type", "open", "pid", 7,
			  "start_ns", (json_int_t)5, "ts_ns", (json_int_t)ts, "path", path, "access",
			  access, "create", create, "truncate", truncate, "ret", ret));
}

static void ev_write(struct cs *s, uint64_t ts, const char *path)
{
	ev_open(s, ts, path, "write", false, false, 3);
}

static bool holds(struct cs *s)
{
	s->why[0] = '\0';
	return causal_holds(s->c, 1, 0, s->why, sizeof(s->why));
}

static void assert_why(struct cs *s, const char *substr)
{
	if (!strstr(s->why, substr))
		fprintf(stderr, "why '%s' lacks '%s'\n", s->why, substr);
	assert_non_null(strstr(s->why, substr));
}

static void test_causal_sequence(void **state)
{
	struct cs *s = *state;

	/* nothing yet */
	assert_false(holds(s));
	assert_why(s, "has not succeeded");
	/* other rules / conditions */
	assert_false(causal_holds(s->c, 0, 0, NULL, 0));
	assert_false(causal_holds(s->c, 1, 1, NULL, 0));
	assert_false(causal_holds(s->c, 2, 0, NULL, 0));

	/* running, not exited yet */
	make_test(s, 100, 900, 1000);
	assert_false(holds(s));
	ev_exit(s, 100, 900, 2000, 0);
	assert_true(holds(s));
	assert_true(causal_holds(s->c, 1, 0, NULL, 0));

	/* a later write under src/ */
	ev_write(s, 3000, "/work/ws/src/main.c");
	assert_false(holds(s));
	assert_why(s, "/work/ws/src/main.c");

	/* another passing run */
	make_test(s, 101, 3900, 4000);
	ev_exit(s, 101, 3900, 4500, 0);
	assert_true(holds(s));

	/* a write, then a failing run */
	ev_write(s, 5000, "/work/ws/src/lib/x.c");
	make_test(s, 102, 5900, 6000);
	ev_exit(s, 102, 5900, 6500, 2);
	assert_false(holds(s));
	assert_why(s, "exited with 2");

	/* and passing again */
	make_test(s, 103, 6900, 7000);
	ev_exit(s, 103, 6900, 7500, 0);
	assert_true(holds(s));
}

static void pass_once(struct cs *s)
{
	make_test(s, 100, 900, 1000);
	ev_exit(s, 100, 900, 2000, 0);
	assert_true(holds(s));
}

static void test_causal_failed_write_ignored(void **state)
{
	struct cs *s = *state;

	pass_once(s);
	ev_open(s, 3000, "/work/ws/src/main.c", "write", true, true, -13);
	assert_true(holds(s));
	ev_open(s, 3001, "/work/ws/src/main.c", "read-write", false, false, -2);
	assert_true(holds(s));
}

static void test_causal_write_outside_since(void **state)
{
	struct cs *s = *state;

	pass_once(s);
	ev_write(s, 3000, "/work/ws/docs/notes.md");
	ev_write(s, 3001, "/work/ws/srcx/a.c");
	ev_write(s, 3002, "/other/work/ws/src/a.c");
	ev_write(s, 3003, "/tmp/src/a.c");
	assert_true(holds(s));
	/* reading under src/ is not a write */
	ev_open(s, 3004, "/work/ws/src/a.c", "read", false, false, 3);
	assert_true(holds(s));
	/* but creating or truncating is, even when opened for reading */
	ev_open(s, 3005, "/work/ws/src/new.c", "read", true, false, 3);
	assert_false(holds(s));
	assert_why(s, "/work/ws/src/new.c");
}

static void test_causal_truncate_unlink(void **state)
{
	struct cs *s = *state;

	pass_once(s);
	ev_open(s, 3000, "/work/ws/src/a.c", "read", false, true, 3);
	assert_false(holds(s));
	make_test(s, 101, 3900, 4000);
	ev_exit(s, 101, 3900, 4500, 0);
	assert_true(holds(s));
	feed(s, json_pack("{s:s, s:I, s:s, s:i}", "type", "unlink", "ts_ns", (json_int_t)5000, "path",
			  "/work/ws/src/gone.c", "ret", 0));
	assert_false(holds(s));
	assert_why(s, "/work/ws/src/gone.c");
}

static void test_causal_rename(void **state)
{
	struct cs *s = *state;

	pass_once(s);
	/* moved into src/: the new name counts */
	feed(s, json_pack("{s:s, s:I, s:s, s:s, s:i}", "type", "rename", "ts_ns", (json_int_t)3000,
			  "path", "/tmp/x.c", "new_path", "/work/ws/src/x.c", "ret", 0));
	assert_false(holds(s));
	assert_why(s, "/work/ws/src/x.c");

	make_test(s, 101, 3900, 4000);
	ev_exit(s, 101, 3900, 4500, 0);
	assert_true(holds(s));
	/* moved out of src/: the old name counts */
	feed(s, json_pack("{s:s, s:I, s:s, s:s, s:i}", "type", "rename", "ts_ns", (json_int_t)5000,
			  "path", "/work/ws/src/y.c", "new_path", "/tmp/y.c", "ret", 0));
	assert_false(holds(s));
	assert_why(s, "/work/ws/src/y.c");

	make_test(s, 102, 5900, 6000);
	ev_exit(s, 102, 5900, 6500, 0);
	assert_true(holds(s));
	/* a failed rename changed nothing */
	feed(s, json_pack("{s:s, s:I, s:s, s:s, s:i}", "type", "rename", "ts_ns", (json_int_t)7000,
			  "path", "/work/ws/src/y.c", "new_path", "/work/ws/src/z.c", "ret", -2));
	assert_true(holds(s));
	/* outside since on both sides */
	feed(s, json_pack("{s:s, s:I, s:s, s:s, s:i}", "type", "rename", "ts_ns", (json_int_t)7100,
			  "path", "/tmp/a", "new_path", "/tmp/b", "ret", 0));
	assert_true(holds(s));
}

static void test_causal_non_matching_exec(void **state)
{
	struct cs *s = *state;

	ev_exec(s, 100, 900, 1000, "/usr/bin/make", "make", "build");
	ev_exit(s, 100, 900, 2000, 0);
	assert_false(holds(s));
	ev_exec(s, 101, 1900, 2100, "/usr/bin/cmake", "cmake", "test");
	ev_exit(s, 101, 1900, 2200, 0);
	assert_false(holds(s));
	ev_exec(s, 102, 2900, 3000, "/usr/bin/make", "make", NULL);
	ev_exit(s, 102, 2900, 3100, 0);
	assert_false(holds(s));
	assert_why(s, "has not succeeded");
}

/* One run that exited 0: an exec event (filename, cwd, argv) and its exit. */
static void script_run(struct causal *c, int pid, uint64_t t, const char *exe,
		       const char *filename, json_t *argv)
{
	json_t *ev = json_pack("{s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:o}", "type", "exec", "pid", pid,
			       "start_ns", (json_int_t)t, "ts_ns", (json_int_t)t + 1, "exe", exe,
			       "cwd", "/work/ws", "filename", filename, "argv", argv);

	assert_non_null(ev);
	causal_observe(c, ev);
	json_decref(ev);
	ev = json_pack("{s:s, s:i, s:I, s:I, s:i}", "type", "exit", "pid", pid, "start_ns",
		       (json_int_t)t, "ts_ns", (json_int_t)t + 2, "code", 0);
	causal_observe(c, ev);
	json_decref(ev);
}

/* A script run through its #! line is recorded as its interpreter with
 * the script's path as an argument; the command is the script. */
static void test_causal_script(void **state)
{
	struct policy *p = parse_ok("version: 1\n"
				    "rules:\n"
				    "  - name: commit\n"
				    "    on: exec\n"
				    "    target: {command: git commit}\n"
				    "    unless:\n"
				    "      - after: {command: [run-tests, \"ci/lint --all\"], exit: 0}\n"
				    "    effect: block\n"
				    "    reason: x\n");
	struct causal *c = causal_new(p);

	(void)state;
	assert_non_null(c);
	/* "sh -c run-tests-other": the script's name is not in argv[1..2] */
	script_run(c, 10, 1, "/usr/bin/dash", "/bin/sh",
		   json_pack("[sss]", "/bin/sh", "-c", "run-tests-other"));
	assert_false(causal_holds(c, 0, 0, NULL, 0));
	/* ./run-tests, a #! script */
	script_run(c, 11, 20, "/usr/bin/dash", "./run-tests", json_pack("[ss]", "/bin/sh", "./run-tests"));
	assert_true(causal_holds(c, 0, 0, NULL, 0));
	causal_free(c);
	c = causal_new(p);
	/* "#!/usr/bin/env python3 -u" style: one interpreter argument; the
	 * script's own arguments follow it */
	script_run(c, 12, 30, "/usr/bin/python3", "ci/lint",
		   json_pack("[ssss]", "/usr/bin/python3", "-u", "ci/lint", "--all"));
	assert_true(causal_holds(c, 0, 0, NULL, 0));
	causal_free(c);
	policy_free(p);
}

static void test_causal_other_process_exit(void **state)
{
	struct cs *s = *state;

	make_test(s, 100, 900, 1000);
	/* same pid, another process (pid reuse), and another pid */
	ev_exit(s, 100, 901, 1500, 0);
	ev_exit(s, 101, 900, 1600, 0);
	assert_false(holds(s));
	/* the run is still pending: its own exit counts */
	ev_exit(s, 100, 900, 2000, 0);
	assert_true(holds(s));
}

static void test_causal_killed_run(void **state)
{
	struct cs *s = *state;

	make_test(s, 100, 900, 1000);
	ev_exit(s, 100, 900, 2000, -1);
	assert_false(holds(s));
	assert_why(s, "killed by a signal");
	make_test(s, 101, 2900, 3000);
	ev_exit(s, 101, 2900, 3500, 0);
	assert_true(holds(s));
}

static void test_causal_write_during_run(void **state)
{
	struct cs *s = *state;

	/* a write after the run started invalidates it, even before its exit */
	make_test(s, 100, 900, 1000);
	ev_write(s, 1500, "/work/ws/src/a.c");
	ev_exit(s, 100, 900, 2000, 0);
	assert_false(holds(s));
	assert_why(s, "/work/ws/src/a.c");
}

static void test_causal_overlapping_runs(void **state)
{
	struct cs *s = *state;

	/* A starts, src/ changes, B starts and passes, then A passes: B is
	 * what counts, and nothing changed since B started */
	make_test(s, 100, 900, 1000);
	ev_write(s, 2000, "/work/ws/src/a.c");
	make_test(s, 101, 2900, 3000);
	ev_exit(s, 101, 2900, 4000, 0);
	ev_exit(s, 100, 900, 5000, 0);
	assert_true(holds(s));
	ev_write(s, 6000, "/work/ws/src/a.c");
	assert_false(holds(s));
}

/* Several rules and conditions: each has its own history. */
static void test_causal_several_conditions(void **state)
{
	struct policy *p;
	struct causal *c;
	char why[256];
	json_t *ev;

	(void)state;
	p = parse_ok("version: 1\nrules:\n"
		     "  - name: a\n    on: exec\n    target: {command: deploy}\n    unless:\n"
		     "      - after: {command: [pytest, \"npm test\"], since: \"**/*.py\"}\n"
		     "    effect: block\n    reason: x\n"
		     "  - name: b\n    on: exec\n    target: {command: git push}\n    unless:\n"
		     "      - after: {command: \"make lint\", exit: 0}\n"
		     "      - after: {command: \"make check\", exit: 1}\n"
		     "    effect: block\n    reason: x\n");
	c = causal_new(p);
	assert_non_null(c);
	assert_false(causal_holds(c, 0, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "has not run"));
	assert_false(causal_holds(c, 1, 0, NULL, 0));
	assert_false(causal_holds(c, 1, 1, NULL, 0));

	/* no `exit`: a run that exits with any status counts */
	ev = json_pack("{s:s, s:i, s:I, s:I, s:s, s:[s]}", "type", "exec", "pid", 10, "start_ns",
		       (json_int_t)5, "ts_ns", (json_int_t)10, "exe", "/usr/bin/pytest", "argv", "pytest");
	causal_observe(c, ev);
	json_decref(ev);
	ev = json_pack("{s:s, s:i, s:I, s:I, s:i}", "type", "exit", "pid", 10, "start_ns",
		       (json_int_t)5, "ts_ns", (json_int_t)20, "code", 1);
	causal_observe(c, ev);
	json_decref(ev);
	assert_true(causal_holds(c, 0, 0, NULL, 0));
	assert_false(causal_holds(c, 1, 0, NULL, 0));
	assert_false(causal_holds(c, 1, 1, NULL, 0));

	/* a .py written anywhere invalidates a, not b */
	ev = json_pack("{s:s, s:I, s:s, s:s, s:b, s:b, s:i}", "type", "open", "ts_ns", (json_int_t)30,
		       "path", "/tmp/x/y.py", "access", "write", "create", 0, "truncate", 0, "ret", 4);
	causal_observe(c, ev);
	json_decref(ev);
	assert_false(causal_holds(c, 0, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "/tmp/x/y.py"));

	/* make check exiting with 1 satisfies b's second condition only */
	ev = json_pack("{s:s, s:i, s:I, s:I, s:s, s:[ss]}", "type", "exec", "pid", 11, "start_ns",
		       (json_int_t)35, "ts_ns", (json_int_t)40, "exe", "/usr/bin/make", "argv", "make", "check");
	causal_observe(c, ev);
	json_decref(ev);
	ev = json_pack("{s:s, s:i, s:I, s:I, s:i}", "type", "exit", "pid", 11, "start_ns",
		       (json_int_t)35, "ts_ns", (json_int_t)50, "code", 1);
	causal_observe(c, ev);
	json_decref(ev);
	assert_false(causal_holds(c, 0, 0, NULL, 0));
	assert_false(causal_holds(c, 1, 0, NULL, 0));
	assert_true(causal_holds(c, 1, 1, NULL, 0));

	/* npm test satisfies a again */
	ev = json_pack("{s:s, s:i, s:I, s:I, s:s, s:[ss]}", "type", "exec", "pid", 12, "start_ns",
		       (json_int_t)55, "ts_ns", (json_int_t)60, "exe", "/usr/bin/npm", "argv", "npm", "test");
	causal_observe(c, ev);
	json_decref(ev);
	ev = json_pack("{s:s, s:i, s:I, s:I, s:i}", "type", "exit", "pid", 12, "start_ns",
		       (json_int_t)55, "ts_ns", (json_int_t)70, "code", 0);
	causal_observe(c, ev);
	json_decref(ev);
	assert_true(causal_holds(c, 0, 0, NULL, 0));
	assert_false(causal_holds(c, 1, 0, NULL, 0));
	assert_true(causal_holds(c, 1, 1, NULL, 0));

	causal_free(c);
	policy_free(p);
}

/* ---- reason templates ----------------------------------------------------- */

static void fmt(const char *tmpl, char *out, size_t len)
{
	guard_format_reason(tmpl, "no-exfil", "connect", "curl", 4242, "/usr/bin/curl",
			    "1.2.3.4:443", "SECRET, PII", out, len);
}

static void test_reason_variables(void **state)
{
	char out[512];

	(void)state;
	fmt("{rule}|{op}|{comm}|{pid}|{exe}|{target}|{labels}", out, sizeof(out));
	assert_string_equal(out, "no-exfil|connect|curl|4242|/usr/bin/curl|1.2.3.4:443|SECRET, PII");
	fmt("{comm} ({pid}) read {labels}; the {op} to {target} is not allowed",
	    out, sizeof(out));
	assert_string_equal(out, "curl (4242) read SECRET, PII; the connect to 1.2.3.4:443 is not allowed");
	/* twice, adjacent */
	fmt("{pid}{pid}", out, sizeof(out));
	assert_string_equal(out, "42424242");
	/* pid extremes */
	guard_format_reason("{pid}", "r", "o", "c", 0, "e", "t", "l", out, sizeof(out));
	assert_string_equal(out, "0");
	guard_format_reason("{pid}", "r", "o", "c", UINT32_MAX, "e", "t", "l", out, sizeof(out));
	assert_string_equal(out, "4294967295");
	/* NULL values are empty */
	guard_format_reason("[{exe}][{labels}]", "r", "o", "c", 1, NULL, "t", NULL, out, sizeof(out));
	assert_string_equal(out, "[][]");
	/* values are not expanded again */
	guard_format_reason("{comm}", "r", "o", "{rule}", 1, "e", "t", "l", out, sizeof(out));
	assert_string_equal(out, "{rule}");
}

static void test_reason_literals(void **state)
{
	char out[512];

	(void)state;
	fmt("{{", out, sizeof(out));
	assert_string_equal(out, "{");
	fmt("}}", out, sizeof(out));
	assert_string_equal(out, "}");
	fmt("{{rule}} is {rule}", out, sizeof(out));
	assert_string_equal(out, "{rule} is no-exfil");
	fmt("a {{ b }} c", out, sizeof(out));
	assert_string_equal(out, "a { b } c");
	/* unknown or unterminated: verbatim */
	fmt("{x} {user} {} {RULE} {pid", out, sizeof(out));
	assert_string_equal(out, "{x} {user} {} {RULE} {pid");
	fmt("{", out, sizeof(out));
	assert_string_equal(out, "{");
	fmt("}", out, sizeof(out));
	assert_string_equal(out, "}");
	fmt("", out, sizeof(out));
	assert_string_equal(out, "");
}

/* Formats into a heap buffer of exactly len bytes (so that ASan sees any
 * write past it) and checks the result is a NUL-terminated prefix. */
static void fmt_small(const char *tmpl, size_t len, const char *want)
{
	char *out = malloc(len);

	assert_non_null(out);
	memset(out, 'Z', len);
	fmt(tmpl, out, len);
	assert_non_null(memchr(out, '\0', len));
	assert_string_equal(out, want);
	free(out);
}

static void test_reason_truncation(void **state)
{
	char guard[8];

	(void)state;
	fmt_small("{rule} by {comm}", 1, "");
	fmt_small("{rule} by {comm}", 2, "n");
	fmt_small("{rule} by {comm}", 10, "no-exfil ");
	fmt_small("{rule}{exe}", 10, "no-exfil/");
	fmt_small("{exe}", 10, "/usr/bin/");
	fmt_small("{pid}", 3, "42");
	fmt_small("{{{{{{{{{{{{", 2, "{");
	fmt_small("}}}}}}}}}}}}", 10, "}}}}}}");
	fmt_small("{x}{x}{x}{x}", 10, "{x}{x}{x}");
	fmt_small("plain text that is long", 10, "plain tex");
	fmt_small("", 1, "");
	fmt_small("{labels}", 12, "SECRET, PII");
	fmt_small("{labels}", 11, "SECRET, PI");
	/* len 0 writes nothing */
	memset(guard, 'Z', sizeof(guard));
	fmt("{rule}", guard, 0);
	assert_int_equal(guard[0], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tables_rules_per_op, big_setup, big_teardown),
		cmocka_unit_test_setup_teardown(test_tables_dnf_copied, big_setup, big_teardown),
		cmocka_unit_test_setup_teardown(test_tables_endpoint_bits, big_setup, big_teardown),
		cmocka_unit_test_setup_teardown(test_tables_ep_labels_and_flows, big_setup, big_teardown),
		cmocka_unit_test_setup_teardown(test_tables_entries_v4mapped, big_setup, big_teardown),
		cmocka_unit_test_setup_teardown(test_tables_match, big_setup, big_teardown),
		cmocka_unit_test_setup_teardown(test_tables_bind, big_setup, big_teardown),
		cmocka_unit_test(test_tables_lpm_nesting),
		cmocka_unit_test(test_tables_except_only),
		cmocka_unit_test(test_tables_too_many_patterns),
		cmocka_unit_test(test_tables_cidr_forms),
		cmocka_unit_test(test_tables_no_endpoints),
		cmocka_unit_test_setup_teardown(test_causal_sequence, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_failed_write_ignored, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_write_outside_since, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_truncate_unlink, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_rename, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_non_matching_exec, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_other_process_exit, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_killed_run, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_write_during_run, causal_setup, causal_teardown),
		cmocka_unit_test_setup_teardown(test_causal_overlapping_runs, causal_setup, causal_teardown),
		cmocka_unit_test(test_causal_several_conditions),
		cmocka_unit_test(test_causal_script),
		cmocka_unit_test(test_reason_variables),
		cmocka_unit_test(test_reason_literals),
		cmocka_unit_test(test_reason_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
