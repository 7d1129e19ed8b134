/* SPDX-License-Identifier: MIT */
/*
 * Endpoint patterns as written in a policy:
 *
 *     *            any address, any port
 *     host.example.com, *.example.com      a DNS name; "*." = strict subdomains
 *     1.2.3.4, 10.0.0.0/8                   IPv4, stored v4-mapped (::ffff:0:0/96)
 *     [::1], [2001:db8::/32]                IPv6
 *     ::1, 2001:db8::/32                    IPv6 without brackets (then no port)
 *
 * each with an optional ":443", ":8000-8100" or ":*" (the default).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define DOMAIN_MAX 253
#define DOMAIN_LABEL_MAX 63

void pol_endpoint_clear(struct pol_endpoint *e)
{
	free(e->domain);
	free(e->text);
	e->domain = NULL;
	e->text = NULL;
}

int pol_endpoint_copy(struct pol_endpoint *dst, const struct pol_endpoint *src)
{
	*dst = *src;
	dst->domain = NULL;
	dst->text = NULL;
	if (src->domain && !(dst->domain = strdup(src->domain)))
		return -1;
	if (src->text && !(dst->text = strdup(src->text))) {
		free(dst->domain);
		dst->domain = NULL;
		return -1;
	}
	return 0;
}

bool pol_endpoint_same(const struct pol_endpoint *a, const struct pol_endpoint *b)
{
	if (a->kind != b->kind || a->port_lo != b->port_lo || a->port_hi != b->port_hi)
		return false;
	switch (a->kind) {
	case POL_EP_ANY:
		return true;
	case POL_EP_CIDR:
		return a->prefix == b->prefix && memcmp(a->addr, b->addr, 16) == 0;
	case POL_EP_DOMAIN:
		return a->wildcard == b->wildcard && a->domain && b->domain &&
		       strcmp(a->domain, b->domain) == 0;
	}
	return false;
}

/* A decimal number of at most `maxdig` digits, the whole of s[0..n). */
static bool parse_uint(const char *s, size_t n, unsigned maxdig, unsigned long *v)
{
	if (n == 0 || n > maxdig)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned long)(s[i] - '0');
	}
	return true;
}

static int parse_ports(const char *s, struct pol_endpoint *e, char *err, size_t errlen)
{
	const char *dash = strchr(s, '-');
	unsigned long lo, hi;

	if (strcmp(s, "*") == 0)
		return 0;
	if (!*s) {
		snprintf(err, errlen, "missing port after ':'");
		return -1;
	}
	if (dash) {
		if (!parse_uint(s, (size_t)(dash - s), 5, &lo) ||
		    !parse_uint(dash + 1, strlen(dash + 1), 5, &hi)) {
			snprintf(err, errlen, "bad port range '%.40s' (expected LO-HI)", s);
			return -1;
		}
	} else if (!parse_uint(s, strlen(s), 5, &lo)) {
		snprintf(err, errlen, "bad port '%.40s'", s);
		return -1;
	} else {
		hi = lo;
	}
	if (lo > 65535 || hi > 65535) {
		snprintf(err, errlen, "port out of range in '%.40s' (0-65535)", s);
		return -1;
	}
	if (lo > hi) {
		snprintf(err, errlen, "empty port range '%.40s' (%lu > %lu)", s, lo, hi);
		return -1;
	}
	e->port_lo = (uint16_t)lo;
	e->port_hi = (uint16_t)hi;
	return 0;
}

/* Clear the address bits past the prefix; true when some were set. */
static bool mask_host_bits(struct pol_endpoint *e)
{
	bool set = false;

	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = e->prefix >= (i + 1) * 8 ? 8 : e->prefix > i * 8 ? e->prefix - i * 8 : 0;
		uint8_t mask = (uint8_t)(keep ? 0xff << (8 - keep) : 0);

		if (e->addr[i] & ~mask)
			set = true;
		e->addr[i] &= mask;
	}
	return set;
}

/* "ADDR" or "ADDR/N", IPv4 (v4 true) or IPv6, s[0..n). */
static int parse_cidr(const char *s, size_t n, bool v4, struct pol_endpoint *e,
		      char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(s, '/', n);
	size_t an = slash ? (size_t)(slash - s) : n;
	unsigned long prefix = v4 ? 32 : 128;
	const char *fam = v4 ? "IPv4" : "IPv6";

	if (an == 0 || an >= sizeof(buf)) {
		snprintf(err, errlen, "bad %s address '%.*s'", fam, (int)(an > 60 ? 60 : an), s);
		return -1;
	}
	memcpy(buf, s, an);
	buf[an] = '\0';
	if (v4) {
		uint8_t a4[4];

		if (inet_pton(AF_INET, buf, a4) != 1) {
			snprintf(err, errlen, "bad IPv4 address '%s'", buf);
			return -1;
		}
		memset(e->addr, 0, 10);
		e->addr[10] = e->addr[11] = 0xff;
		memcpy(e->addr + 12, a4, 4);
	} else if (inet_pton(AF_INET6, buf, e->addr) != 1) {
		snprintf(err, errlen, "bad IPv6 address '%s'", buf);
		return -1;
	}
	if (slash && !parse_uint(slash + 1, n - an - 1, 3, &prefix)) {
		snprintf(err, errlen, "bad prefix length '/%.*s'", (int)(n - an - 1 > 20 ? 20 : n - an - 1),
			 slash + 1);
		return -1;
	}
	if (prefix > (v4 ? 32u : 128u)) {
		snprintf(err, errlen, "prefix length /%lu too long for %s (at most /%u)", prefix, fam,
			 v4 ? 32u : 128u);
		return -1;
	}
	e->kind = POL_EP_CIDR;
	e->prefix = (unsigned)prefix + (v4 ? 96 : 0);
	return 0;
}

static int parse_domain(const char *s, size_t n, struct pol_endpoint *e, char *err, size_t errlen)
{
	bool numeric = true;
	size_t lab = 0;
	char *d;

	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		e->wildcard = true;
		s += 2;
		n -= 2;
	}
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0) {
		snprintf(err, errlen, "empty host name");
		return -1;
	}
	if (n > DOMAIN_MAX) {
		snprintf(err, errlen, "host name longer than %d characters", DOMAIN_MAX);
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? s[i] : '.';

		if (c == '.') {
			if (lab == 0) {
				snprintf(err, errlen, "empty label in host name '%.*s'", (int)n, s);
				return -1;
			}
			lab = 0;
			continue;
		}
		if (c == '*') {
			snprintf(err, errlen, "'*' is only allowed as a whole first label ('*.example.com')");
			return -1;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_') {
			snprintf(err, errlen, "invalid character '%c' in host name", isprint((unsigned char)c) ? c : '?');
			return -1;
		}
		if (!isdigit((unsigned char)c))
			numeric = false;
		if (++lab > DOMAIN_LABEL_MAX) {
			snprintf(err, errlen, "label longer than %d characters in host name", DOMAIN_LABEL_MAX);
			return -1;
		}
	}
	if (numeric) {
		snprintf(err, errlen, "bad IPv4 address '%.*s'", (int)n, s);
		return -1;
	}
	if (!(d = strndup(s, n))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (char *q = d; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	e->kind = POL_EP_DOMAIN;
	e->domain = d;
	return 0;
}

static bool looks_v4(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.' && s[i] != '/')
			return false;
	return n > 0;
}

int pol_endpoint_parse(const char *s, struct pol_endpoint *e, char *err, size_t errlen,
		       bool *host_bits)
{
	size_t n = strlen(s);
	const char *host = s, *ports = NULL, *colon;
	size_t hn;
	int r;

	memset(e, 0, sizeof(*e));
	e->port_lo = 0;
	e->port_hi = 65535;
	*host_bits = false;
	if (n == 0) {
		snprintf(err, errlen, "empty endpoint");
		return -1;
	}
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb) {
			snprintf(err, errlen, "missing ']' in '%.60s'", s);
			return -1;
		}
		if (rb[1] && rb[1] != ':') {
			snprintf(err, errlen, "unexpected '%.20s' after ']' (expected ':PORT')", rb + 1);
			return -1;
		}
		if (rb[1] == ':')
			ports = rb + 2;
		r = parse_cidr(s + 1, (size_t)(rb - s - 1), false, e, err, errlen);
	} else if ((colon = strchr(s, ':')) && strchr(colon + 1, ':')) {
		/* bare IPv6: no port (write "[::1]:443" for one) */
		r = parse_cidr(s, n, false, e, err, errlen);
	} else {
		hn = colon ? (size_t)(colon - s) : n;
		if (colon)
			ports = colon + 1;
		if (hn == 1 && host[0] == '*') {
			e->kind = POL_EP_ANY;
			r = 0;
		} else if (memchr(host, '/', hn) || looks_v4(host, hn)) {
			r = parse_cidr(host, hn, true, e, err, errlen);
		} else {
			r = parse_domain(host, hn, e, err, errlen);
		}
	}
	if (r == 0 && ports)
		r = parse_ports(ports, e, err, errlen);
	if (r == 0 && e->kind == POL_EP_CIDR)
		*host_bits = mask_host_bits(e);
	if (r == 0 && !(e->text = strdup(s))) {
		snprintf(err, errlen, "out of memory");
		r = -1;
	}
	if (r != 0)
		pol_endpoint_clear(e);
	return r;
}
