/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Domain patterns bound in the kernel: when a session process receives a
 * DNS answer, the addresses it gives for a name that a policy's domain
 * pattern matches join that pattern in guard_eps before the process can
 * connect to them (user space, reading the same answer from the ring
 * buffer, would come microseconds too late for a fast client).
 *
 * Only what is needed is parsed, within bounds: the question's name (no
 * compression there), then up to 16 answer records; A and AAAA records
 * bind. Anything malformed stops the parse; nothing is trusted.
 *
 * The parse state lives in a map value, not on the stack: verifiers before
 * 6.7 check a bpf_loop callback for one iteration only, so a stack value
 * that only changes on a later iteration looks constant to them, and they
 * remove the code that depends on it (6.1 did, here).
 */
#ifndef AT_DNSBIND_BPF_H
#define AT_DNSBIND_BPF_H

#include "labels.bpf.h"

#define DNSB_MASK (AT_DNS_MAX - 1)
#define DNSB_ANSWERS 16

struct dnsb_state {
	__u32 len;
	__u32 off;
	__u32 nlabels;
	__u32 qstart;            /* offset of the question's name */
	__u32 qlen;              /* its bytes before the final zero */
	__u64 lenpos[4];         /* bit p: byte qstart + p is a label length */
	__u64 h;
	struct at_epset bits;
	__u32 bad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dnsb_state);
} dnsb_states SEC(".maps");

/* bpf_loop's context (on the stack): the message and the state */
struct dnsb {
	const __u8 *data;        /* the message (the record's data[]) */
	struct dnsb_state *s;
};

static __always_inline __u8 dnsb_byte(const struct dnsb *c, __u32 off)
{
	return c->data[off & DNSB_MASK];
}

/* question name: note where each label's length byte is */
static long dnsb_qlabel(__u32 i, void *ctx)
{
	struct dnsb *c = ctx;
	struct dnsb_state *b = c->s;
	__u32 rel;
	__u8 l;

	if (b->off >= b->len) {
		b->bad = true;
		return 1;
	}
	l = dnsb_byte(c, b->off);
	if (l == 0) {
		b->qlen = b->off - b->qstart;
		b->off++;
		return 1;
	}
	rel = b->off - b->qstart;
	if (l & 0xc0 || rel + 1 + l > 255) {
		b->bad = true;
		return 1;
	}
	b->lenpos[(rel / 64) & 3] |= 1ull << (rel % 64);
	b->nlabels = i + 1;
	b->off += 1 + l;
	return 0;
}

/*
 * The name's bytes from the last to the first: characters go into the
 * hash; at a label's length byte the hash is that of the suffix starting
 * there, looked up (exact at the first label, wildcard below it).
 */
static long dnsb_suffix(__u32 i, void *ctx)
{
	struct dnsb *c = ctx;
	struct dnsb_state *b = c->s;
	struct at_domain_bits *v;
	__u32 pos;
	__u8 ch;

	if (i >= b->qlen)
		return 1;
	pos = b->qlen - 1 - i;
	if (!(b->lenpos[(pos / 64) & 3] >> (pos % 64) & 1)) {
		ch = dnsb_byte(c, b->qstart + pos);
		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		b->h = (b->h ^ ch) * AT_DNS_HASH_MUL;
		return 0;
	}
	v = bpf_map_lookup_elem(&guard_domains, &b->h);
	if (v) {
		for (int w = 0; w < AT_EP_WORDS; w++)
			b->bits.w[w] |= pos == 0 ? v->exact.w[w] : v->wild.w[w];
	}
	if (pos > 0)
		b->h = (b->h ^ '.') * AT_DNS_HASH_MUL;
	return 0;
}

static __always_inline void dnsb_bind(const struct dnsb_state *b, const __u8 *addr)
{
	struct at_ep_key k = { .prefixlen = 128 };
	struct at_epset *cur, nv = {};
	bool changed = false;

	__builtin_memcpy(k.addr, addr, 16);
	cur = bpf_map_lookup_elem(&guard_eps, &k);
	if (cur)
		nv = *cur;
	for (int w = 0; w < AT_EP_WORDS; w++) {
		if ((nv.w[w] | b->bits.w[w]) != nv.w[w])
			changed = true;
		nv.w[w] |= b->bits.w[w];
	}
	if (changed)
		bpf_map_update_elem(&guard_eps, &k, &nv, BPF_ANY);
}

/* one answer record */
static long dnsb_answer(__u32 i, void *ctx)
{
	struct dnsb *c = ctx;
	struct dnsb_state *b = c->s;
	__u8 addr[16] = {};
	__u16 type, rdlen;
	__u32 off = b->off;

	/* owner name: a pointer, or labels up to a zero or a pointer */
	for (int n = 0; n < 64; n++) {
		__u8 l;

		if (off >= b->len)
			return 1;
		l = dnsb_byte(c, off);
		if ((l & 0xc0) == 0xc0) {
			off += 2;
			break;
		}
		if (l == 0) {
			off += 1;
			break;
		}
		off += 1 + l;
	}
	if (off + 10 > b->len)
		return 1;
	type = (__u16)dnsb_byte(c, off) << 8 | dnsb_byte(c, off + 1);
	rdlen = (__u16)dnsb_byte(c, off + 8) << 8 | dnsb_byte(c, off + 9);
	off += 10;
	if (off + rdlen > b->len)
		return 1;
	if (type == 1 && rdlen == 4) {
		addr[10] = 0xff;
		addr[11] = 0xff;
		for (int j = 0; j < 4; j++)
			addr[12 + j] = dnsb_byte(c, off + j);
		dnsb_bind(b, addr);
	} else if (type == 28 && rdlen == 16) {
		for (int j = 0; j < 16; j++)
			addr[j] = dnsb_byte(c, off + j);
		dnsb_bind(b, addr);
	}
	b->off = off + rdlen;
	return 0;
}

/* A DNS message a session process received (UDP, or TCP with its 2-byte
 * length first). */
static __always_inline void dns_bind_answers(const struct at_dns *d)
{
	__u32 base = (d->h.flags & AT_F_DNS_TCP) ? 2 : 0, zero = 0;
	struct dnsb c;
	struct dnsb_state *b;
	__u16 flags, ancount;

	if (!guard_labels || d->len < base + 12)
		return;
	b = bpf_map_lookup_elem(&dnsb_states, &zero);
	if (!b)
		return;
	c.data = d->data;
	c.s = b;
	b->len = d->len > AT_DNS_MAX ? AT_DNS_MAX : d->len;
	flags = (__u16)dnsb_byte(&c, base + 2) << 8 | dnsb_byte(&c, base + 3);
	if (!(flags & 0x8000) || (flags & 0x000f))  /* a response, NOERROR */
		return;
	ancount = (__u16)dnsb_byte(&c, base + 6) << 8 | dnsb_byte(&c, base + 7);
	if (!ancount)
		return;
	b->off = base + 12;
	b->qstart = b->off;
	b->qlen = 0;
	b->nlabels = 0;
	b->bad = false;
	b->h = AT_DNS_HASH_SEED;
	__builtin_memset(b->lenpos, 0, sizeof(b->lenpos));
	__builtin_memset(&b->bits, 0, sizeof(b->bits));
	bpf_loop(128, dnsb_qlabel, &c, 0);
	if (b->bad || !b->nlabels || !b->qlen)
		return;
	b->off += 4;  /* qtype, qclass */
	bpf_loop(255, dnsb_suffix, &c, 0);
	if (labels_empty((struct at_labels *)&b->bits))
		return;
	bpf_loop(ancount > DNSB_ANSWERS ? DNSB_ANSWERS : ancount, dnsb_answer, &c, 0);
}

#endif /* AT_DNSBIND_BPF_H */
