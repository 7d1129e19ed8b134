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
 */
#ifndef AT_DNSBIND_BPF_H
#define AT_DNSBIND_BPF_H

#include "labels.bpf.h"

#define DNSB_MASK (AT_DNS_MAX - 1)
#define DNSB_LABELS 32
#define DNSB_ANSWERS 16

struct dnsb {
	const __u8 *data;        /* the message (the record's data[]) */
	__u32 len;
	__u32 off;
	__u32 nlabels;
	__u16 start[DNSB_LABELS];
	__u8 llen[DNSB_LABELS];
	__u64 h;
	struct at_epset bits;
	bool bad;
};

static __always_inline __u8 dnsb_byte(const struct dnsb *b, __u32 off)
{
	return b->data[off & DNSB_MASK];
}

/* question name: record where each label starts */
static long dnsb_qlabel(__u32 i, void *c)
{
	struct dnsb *b = c;
	__u32 idx;
	__u8 l;

	if (b->off >= b->len) {
		b->bad = true;
		return 1;
	}
	l = dnsb_byte(b, b->off);
	if (l == 0) {
		b->off++;
		return 1;
	}
	if (l & 0xc0 || i >= DNSB_LABELS) {
		b->bad = true;
		return 1;
	}
	idx = i;
	asm volatile("" : "+r"(idx)); /* keep the mask below for the verifier */
	idx &= DNSB_LABELS - 1;
	b->start[idx] = b->off + 1;
	b->llen[idx] = l;
	b->nlabels = i + 1;
	b->off += 1 + l;
	return 0;
}

/* one label, last to first: hash its characters right to left, then look
 * the suffix that starts here up */
static long dnsb_suffix(__u32 i, void *c)
{
	struct dnsb *b = c;
	__u32 k = b->nlabels - 1 - i;
	struct at_domain_bits *v;
	__u32 start;
	__u8 l;

	if (i >= b->nlabels)
		return 1;
	asm volatile("" : "+r"(k));
	k &= DNSB_LABELS - 1;
	start = b->start[k];
	l = b->llen[k];
	if (i > 0)
		b->h = (b->h ^ '.') * AT_DNS_HASH_MUL;
	for (int j = 62; j >= 0; j--) {
		__u8 ch;

		if (j >= l)
			continue;
		ch = dnsb_byte(b, start + j);
		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		b->h = (b->h ^ ch) * AT_DNS_HASH_MUL;
	}
	v = bpf_map_lookup_elem(&guard_domains, &b->h);
	if (v) {
		for (int w = 0; w < AT_EP_WORDS; w++) {
			if (k == 0)
				b->bits.w[w] |= v->exact.w[w];
			else
				b->bits.w[w] |= v->wild.w[w];
		}
	}
	return 0;
}

static __always_inline void dnsb_bind(const struct dnsb *b, const __u8 *addr)
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
static long dnsb_answer(__u32 i, void *c)
{
	struct dnsb *b = c;
	__u8 addr[16] = {};
	__u16 type, rdlen;
	__u32 off = b->off;

	/* owner name: a pointer, or labels up to a zero or a pointer */
	for (int n = 0; n < 64; n++) {
		__u8 l;

		if (off >= b->len)
			return 1;
		l = dnsb_byte(b, off);
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
	type = (__u16)dnsb_byte(b, off) << 8 | dnsb_byte(b, off + 1);
	rdlen = (__u16)dnsb_byte(b, off + 8) << 8 | dnsb_byte(b, off + 9);
	off += 10;
	if (off + rdlen > b->len)
		return 1;
	if (type == 1 && rdlen == 4) {
		addr[10] = 0xff;
		addr[11] = 0xff;
		for (int j = 0; j < 4; j++)
			addr[12 + j] = dnsb_byte(b, off + j);
		dnsb_bind(b, addr);
	} else if (type == 28 && rdlen == 16) {
		for (int j = 0; j < 16; j++)
			addr[j] = dnsb_byte(b, off + j);
		dnsb_bind(b, addr);
	}
	b->off = off + rdlen;
	return 0;
}

/* A DNS message a session process received (UDP, or TCP with its 2-byte
 * length first). */
static __always_inline void dns_bind_answers(const struct at_dns *d)
{
	__u32 base = (d->h.flags & AT_F_DNS_TCP) ? 2 : 0;
	struct dnsb parse, *b = &parse; /* on the stack: it holds a pointer */
	__u16 flags, ancount;

	if (!guard_labels || d->len < base + 12)
		return;
	b->data = d->data;
	b->len = d->len > AT_DNS_MAX ? AT_DNS_MAX : d->len;
	flags = (__u16)dnsb_byte(b, base + 2) << 8 | dnsb_byte(b, base + 3);
	if (!(flags & 0x8000) || (flags & 0x000f))  /* a response, NOERROR */
		return;
	ancount = (__u16)dnsb_byte(b, base + 6) << 8 | dnsb_byte(b, base + 7);
	if (!ancount)
		return;
	b->off = base + 12;
	b->nlabels = 0;
	b->bad = false;
	b->h = AT_DNS_HASH_SEED;
	__builtin_memset(&b->bits, 0, sizeof(b->bits));
	bpf_loop(DNSB_LABELS + 1, dnsb_qlabel, b, 0);
	if (b->bad || !b->nlabels)
		return;
	b->off += 4;  /* qtype, qclass */
	bpf_loop(DNSB_LABELS, dnsb_suffix, b, 0);
	if (labels_empty((struct at_labels *)&b->bits))
		return;
	bpf_loop(ancount > DNSB_ANSWERS ? DNSB_ANSWERS : ancount, dnsb_answer, b, 0);
}

#endif /* AT_DNSBIND_BPF_H */
