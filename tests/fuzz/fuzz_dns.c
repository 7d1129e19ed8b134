/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the DNS decoder and the address -> domain cache.
 *
 * Each input is decoded as a UDP message and as a TCP (length-prefixed) one;
 * whatever decodes is added to a small cache, so that eviction and
 * replacement run too. Besides the sanitizers, the target checks the
 * decoder's promises and aborts when one is broken.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "decode/dns.h"
#include "model/dnscache.h"
#include "fuzz.h"

#define FUZZ_CACHE_CAPACITY 5   /* small, so that a message can fill it */

static void check_name(const char *name, bool may_be_empty)
{
	size_t n = strnlen(name, DNS_NAME_MAX);

	CHECK(n < DNS_NAME_MAX);
	CHECK(may_be_empty || n > 0);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		CHECK(ch >= 0x21 && ch <= 0x7e);
		CHECK(!(ch >= 'A' && ch <= 'Z'));
	}
}

static void check_msg(int rc, const struct dns_msg *m)
{
	CHECK(rc == 0 || rc == -EINVAL || rc == -EMSGSIZE || rc == -ENAMETOOLONG);
	if (rc < 0) {
		CHECK(m->n_answers == 0 && m->qname[0] == '\0');
		return;
	}
	check_name(m->qname, true);
	CHECK(m->n_answers <= DNS_MAX_ANSWERS);
	for (size_t i = 0; i < m->n_answers; i++) {
		const struct dns_rr *rr = &m->answers[i];

		check_name(rr->name, false);
		check_name(rr->target, rr->type != DNS_TYPE_CNAME);
		CHECK(dns_type_name(rr->type) != NULL);
		if (rr->type == DNS_TYPE_A)
			CHECK(rr->family == AF_INET);
		else if (rr->type == DNS_TYPE_AAAA)
			CHECK(rr->family == AF_INET6);
		else
			CHECK(rr->type == DNS_TYPE_CNAME && rr->family == 0);
	}
}

/* After adding m, its last address answer must be in the cache. */
static void add_and_check(struct dnscache *dc, uint64_t session, const struct dns_msg *m)
{
	dnscache_add_msg(dc, session, m);
	CHECK(dnscache_count(dc) <= FUZZ_CACHE_CAPACITY);
	if (!m->response || m->rcode != DNS_RCODE_NOERROR)
		return;
	for (size_t i = m->n_answers; i-- > 0;) {
		const struct dns_rr *rr = &m->answers[i];

		if (rr->family != 0) {
			CHECK(dnscache_lookup(dc, session, rr->family, rr->addr) != NULL);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_msg *m = malloc(sizeof(*m));
	struct dnscache *dc = dnscache_new(FUZZ_CACHE_CAPACITY);
	int rc;

	if (!m || !dc)
		goto out;

	rc = dns_parse(data, size, m);
	check_msg(rc, m);
	if (rc == 0)
		add_and_check(dc, 1, m);

	rc = dns_parse_tcp(data, size, m);
	check_msg(rc, m);
	if (rc == 0)
		add_and_check(dc, 2, m);

	/* the same answers again, in another session */
	rc = dns_parse(data, size, m);
	if (rc == 0)
		add_and_check(dc, 2, m);
out:
	dnscache_free(dc);
	free(m);
	return 0;
}
