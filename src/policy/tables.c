/* A checked policy -> the guard's kernel tables. See tables.h. */
#include "policy/tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_bit(__u64 *w, unsigned b)
{
	w[b / 64] |= 1ull << (b % 64);
}

static bool same_endpoint(const struct pol_endpoint *a, const struct pol_endpoint *b)
{
	if (a->kind != b->kind || a->port_lo != b->port_lo || a->port_hi != b->port_hi)
		return false;
	switch (a->kind) {
	case POL_EP_ANY:
		return true;
	case POL_EP_CIDR:
		return a->prefix == b->prefix && !memcmp(a->addr, b->addr, 16);
	case POL_EP_DOMAIN:
		return a->wildcard == b->wildcard && !strcmp(a->domain, b->domain);
	}
	return false;
}

/* Does the network (a, plen) contain address b? */
static bool prefix_contains(const uint8_t *a, unsigned plen, const uint8_t *b)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a, b, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((a[full] & mask) != (b[full] & mask))
			return false;
	}
	return true;
}

static struct tbl_ep_entry *find_entry(struct pol_tables *t, const uint8_t *addr, unsigned prefix)
{
	for (size_t i = 0; i < t->nentries; i++)
		if (t->entries[i].prefix == prefix && !memcmp(t->entries[i].addr, addr, 16))
			return &t->entries[i];
	return NULL;
}

static struct tbl_ep_entry *add_entry(struct pol_tables *t, const uint8_t *addr, unsigned prefix)
{
	struct tbl_ep_entry *e = find_entry(t, addr, prefix);

	if (e)
		return e;
	if (t->nentries >= AT_GUARD_EPS)
		return NULL;
	if (t->nentries == t->capentries) {
		size_t cap = t->capentries ? t->capentries * 2 : 16;
		struct tbl_ep_entry *n = realloc(t->entries, cap * sizeof(*n));

		if (!n)
			return NULL;
		t->entries = n;
		t->capentries = cap;
	}
	e = &t->entries[t->nentries++];
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, addr, 16);
	/* the network address proper: host bits cleared */
	for (unsigned b = prefix; b < 128; b++)
		e->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	e->prefix = prefix;
	return e;
}

/* value = own ∪ own of every entry whose network contains this one */
static void compute_value(struct pol_tables *t, struct tbl_ep_entry *e)
{
	e->value = e->own;
	for (size_t i = 0; i < t->nentries; i++) {
		const struct tbl_ep_entry *o = &t->entries[i];

		if (o->prefix <= e->prefix && prefix_contains(o->addr, o->prefix, e->addr))
			for (int w = 0; w < AT_EP_WORDS; w++)
				e->value.w[w] |= o->own.w[w];
	}
}

/* The bit of an endpoint pattern, numbering it on first sight. */
static int pattern_bit(struct pol_tables *t, const struct pol_endpoint *ep, char *err, size_t errlen)
{
	unsigned b;

	for (b = 0; b < t->neps; b++)
		if (same_endpoint(t->eps[b], ep))
			return (int)b;
	if (t->neps >= AT_EP_WORDS * 64) {
		snprintf(err, errlen, "%u:%u: error: more than %d distinct endpoint patterns (the kernel table holds 256)", ep->pos.line,
			 ep->pos.col, AT_EP_WORDS * 64);
		return -1;
	}
	b = t->neps++;
	t->eps[b] = ep;
	t->ports[b].lo = ep->port_lo;
	t->ports[b].hi = ep->port_hi;
	if (ep->port_lo == 0 && ep->port_hi == 65535)
		set_bit(t->conf.port_any.w, b);
	if (ep->kind == POL_EP_DOMAIN) {
		struct tbl_domain *d = realloc(t->domains, (t->ndomains + 1) * sizeof(*d));

		if (!d) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->domains = d;
		d[t->ndomains].ep = ep;
		d[t->ndomains].bit = b;
		t->ndomains++;
	} else {
		static const uint8_t zero[16];
		struct tbl_ep_entry *e = ep->kind == POL_EP_ANY ? add_entry(t, zero, 0)
								 : add_entry(t, ep->addr, ep->prefix);

		if (!e) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		set_bit(e->own.w, b);
	}
	return (int)b;
}

static int endpoint_bits(struct pol_tables *t, const struct pol_endpoint *v, size_t n,
			 struct at_epset *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int b = pattern_bit(t, &v[i], err, errlen);

		if (b < 0)
			return -1;
		set_bit(out->w, (unsigned)b);
	}
	return 0;
}

/* "any endpoint", for a rule whose target names none */
static const struct pol_endpoint any_endpoint = {
	.kind = POL_EP_ANY, .port_lo = 0, .port_hi = 65535, .text = "*",
};

static int build_rule(struct pol_tables *t, const struct pol_rule *r, size_t id,
		      struct at_rule *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->id = (uint32_t)id;
	out->ops = r->ops;
	out->effect = (uint8_t)r->effect;
	if (r->when.nterms > AT_GUARD_TERMS) {
		snprintf(err, errlen, "%u:%u: error: rule '%s': more than %d terms", r->pos.line,
			 r->pos.col, r->name, AT_GUARD_TERMS);
		return -1;
	}
	out->nterms = (uint8_t)r->when.nterms;
	for (unsigned i = 0; i < r->when.nterms; i++) {
		memcpy(out->all[i].w, r->when.t[i].all.w, sizeof(out->all[i].w));
		memcpy(out->none[i].w, r->when.t[i].none.w, sizeof(out->none[i].w));
	}
	if (r->endpoints.nin) {
		if (endpoint_bits(t, r->endpoints.in, r->endpoints.nin, &out->ep_in, err, errlen))
			return -1;
	} else if (endpoint_bits(t, &any_endpoint, 1, &out->ep_in, err, errlen)) {
		return -1;
	}
	return endpoint_bits(t, r->endpoints.except, r->endpoints.nexcept, &out->ep_except, err,
			     errlen);
}

uint64_t tables_name_hash(const char *name)
{
	uint64_t h = AT_DNS_HASH_SEED;

	for (size_t i = strlen(name); i-- > 0;) {
		unsigned char c = (unsigned char)name[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * AT_DNS_HASH_MUL;
	}
	return h;
}

/* One entry per distinct domain: "x.y" exact and "*.x.y" share it. */
static int build_domain_entries(struct pol_tables *t, char *err, size_t errlen)
{
	if (t->ndomains > AT_GUARD_DOMAINS) {
		snprintf(err, errlen, "error: more than %d domain patterns", AT_GUARD_DOMAINS);
		return -1;
	}
	t->dom_entries = calloc(t->ndomains ? t->ndomains : 1, sizeof(*t->dom_entries));
	if (!t->dom_entries) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < t->ndomains; i++) {
		uint64_t h = tables_name_hash(t->domains[i].ep->domain);
		struct tbl_dom_entry *e = NULL;
		unsigned b = t->domains[i].bit;

		for (size_t k = 0; k < t->ndom_entries; k++)
			if (t->dom_entries[k].hash == h)
				e = &t->dom_entries[k];
		if (!e) {
			e = &t->dom_entries[t->ndom_entries++];
			e->hash = h;
		}
		if (t->domains[i].ep->wildcard)
			set_bit(e->bits.wild.w, b);
		else
			set_bit(e->bits.exact.w, b);
	}
	return 0;
}

int tables_build(struct pol_tables *t, const struct policy *p, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->pol = p;
	t->connect = calloc(p->nrules ? p->nrules : 1, sizeof(*t->connect));
	t->send = calloc(p->nrules ? p->nrules : 1, sizeof(*t->send));
	t->ep_labels = calloc(p->nlabels ? p->nlabels : 1, sizeof(*t->ep_labels));
	t->flows = calloc(p->nflows ? p->nflows : 1, sizeof(*t->flows));
	if (!t->connect || !t->send || !t->ep_labels || !t->flows) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (p->nflows > AT_GUARD_FLOWS) {
		snprintf(err, errlen, "more than %d flows entries", AT_GUARD_FLOWS);
		goto fail;
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		if (r->ops & POL_OP_CONNECT &&
		    build_rule(t, r, i, &t->connect[t->nconnect++], err, errlen))
			goto fail;
		if (r->ops & POL_OP_SEND && build_rule(t, r, i, &t->send[t->nsend++], err, errlen))
			goto fail;
	}
	for (size_t i = 0; i < p->nlabels; i++) {
		const struct pol_label *l = &p->labels[i];
		struct at_ep_label *el;

		if (!l->endpoints.nin)
			continue;
		el = &t->ep_labels[t->nep_labels++];
		el->label = (uint32_t)i;
		if (endpoint_bits(t, l->endpoints.in, l->endpoints.nin, &el->in, err, errlen) ||
		    endpoint_bits(t, l->endpoints.except, l->endpoints.nexcept, &el->except, err,
				  errlen))
			goto fail;
	}
	for (size_t i = 0; i < p->nflows; i++) {
		memcpy(t->flows[i].remove.w, p->flows[i].remove.w, sizeof(t->flows[i].remove.w));
		memcpy(t->flows[i].add.w, p->flows[i].add.w, sizeof(t->flows[i].add.w));
	}
	t->nflows = p->nflows;
	for (size_t i = 0; i < t->nentries; i++)
		compute_value(t, &t->entries[i]);
	if (build_domain_entries(t, err, errlen))
		goto fail;
	t->conf.nconnect = (uint32_t)t->nconnect;
	t->conf.nsend = (uint32_t)t->nsend;
	t->conf.nep_labels = (uint32_t)t->nep_labels;
	t->conf.enabled = 1;
	return 0;
fail:
	tables_free(t);
	return -1;
}

void tables_free(struct pol_tables *t)
{
	free(t->entries);
	free(t->domains);
	free(t->dom_entries);
	free(t->connect);
	free(t->send);
	free(t->ep_labels);
	free(t->flows);
	memset(t, 0, sizeof(*t));
}

const struct tbl_ep_entry *tables_bind(struct pol_tables *t, const char *name, const uint8_t addr[16])
{
	struct at_epset bits = { { 0 } };
	struct tbl_ep_entry *e;
	bool any = false;

	for (size_t i = 0; i < t->ndomains; i++) {
		if (pol_endpoint_match(t->domains[i].ep, addr, t->domains[i].ep->port_lo, name)) {
			set_bit(bits.w, t->domains[i].bit);
			any = true;
		}
	}
	if (!any)
		return NULL;
	e = find_entry(t, addr, 128);
	if (e) {
		bool changed = false;

		for (int w = 0; w < AT_EP_WORDS; w++) {
			if ((e->own.w[w] | bits.w[w]) != e->own.w[w])
				changed = true;
			e->own.w[w] |= bits.w[w];
		}
		if (!changed)
			return NULL;
	} else {
		e = add_entry(t, addr, 128);
		if (!e)
			return NULL;
		e->own = bits;
	}
	compute_value(t, e);
	return e;
}

void tables_match(const struct pol_tables *t, const uint8_t addr[16], uint16_t port,
		  struct at_epset *out)
{
	const struct tbl_ep_entry *best = NULL;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < t->nentries; i++) {
		const struct tbl_ep_entry *e = &t->entries[i];

		if (prefix_contains(e->addr, e->prefix, addr) && (!best || e->prefix > best->prefix))
			best = e;
	}
	if (!best)
		return;
	*out = best->value;
	for (unsigned b = 0; b < t->neps; b++)
		if ((out->w[b / 64] >> (b % 64) & 1) && (port < t->ports[b].lo || port > t->ports[b].hi))
			out->w[b / 64] &= ~(1ull << (b % 64));
}

void tables_v4mapped(uint32_t ip_be, uint8_t out[16])
{
	memset(out, 0, 16);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(&out[12], &ip_be, 4);
}
