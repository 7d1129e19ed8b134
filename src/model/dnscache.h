/* SPDX-License-Identifier: MIT */
/*
 * Bounded address -> domain cache: remembers, per session, which name each
 * address was resolved from, so that a later connect to that address can be
 * labelled with the name the program asked for.
 *
 * Key: (session, family, address). Value: the question name of the DNS
 * response, i.e. the start of the CNAME chain that led to the address:
 * "api.x.com CNAME edge.y.net; edge.y.net A 1.2.3.4" maps 1.2.3.4 to
 * "api.x.com". A newer answer for the same key replaces the older name.
 * When the cache is full, the entry least recently added (or replaced) is
 * evicted. Records are not expired by TTL.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is treated as the IPv4
 * address a.b.c.d, so a dual-stack socket connecting to the mapped form of
 * an A answer still finds its name.
 *
 * Not thread-safe: one owner at a time.
 */
#ifndef AGENTTRAIL_MODEL_DNSCACHE_H
#define AGENTTRAIL_MODEL_DNSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "decode/dns.h"

#define DNSCACHE_CAPACITY_MAX ((size_t)1 << 24)

struct dnscache;

/*
 * A cache holding up to capacity entries (1..DNSCACHE_CAPACITY_MAX); all of
 * its memory is allocated here. NULL with errno set (EINVAL, ENOMEM) on error.
 */
struct dnscache *dnscache_new(size_t capacity);
void dnscache_free(struct dnscache *dc);

/*
 * Adds the A and AAAA answers of m, a decoded response with rcode NOERROR,
 * under session; other messages (queries, errors) are ignored.
 */
void dnscache_add_msg(struct dnscache *dc, uint64_t session, const struct dns_msg *m);

/*
 * The name addr was resolved from in session, or NULL. family is AF_INET
 * (addr[0..4) is used) or AF_INET6 (addr[0..16)). The string belongs to the
 * cache and stays valid until the next dnscache_add_msg or dnscache_free.
 */
const char *dnscache_lookup(const struct dnscache *dc, uint64_t session, int family,
			    const uint8_t addr[16]);

/* Entries currently held. */
size_t dnscache_count(const struct dnscache *dc);

#endif /* AGENTTRAIL_MODEL_DNSCACHE_H */
