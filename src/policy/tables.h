/*
 * A checked policy -> the guard's kernel tables (include/agenttrail/guard.h).
 *
 * Endpoint patterns of rules and labels are numbered (one bit each, at most
 * 256). Address patterns become LPM entries whose value already holds the
 * bits of every wider entry containing them, so one lookup gives all
 * patterns an address is in; domain patterns get entries later, as the
 * session's DNS answers bind names to addresses (tables_bind).
 *
 * File and executable labels are not here: they name paths, and the guard
 * binds them to inodes (guard/files.c).
 */
#ifndef AT_POLICY_TABLES_H
#define AT_POLICY_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agenttrail/guard.h"
#include "policy/policy.h"

struct tbl_ep_entry {
	uint8_t addr[16];
	unsigned prefix;
	struct at_epset own;     /* patterns that put this entry here */
	struct at_epset value;   /* own ∪ every containing entry's own */
};

struct tbl_domain {
	const struct pol_endpoint *ep; /* points into the policy */
	unsigned bit;
};

/* guard_domains entries: the kernel binds DNS answers with these */
struct tbl_dom_entry {
	uint64_t hash;                 /* tables_name_hash(domain) */
	struct at_domain_bits bits;
};

struct pol_tables {
	const struct policy *pol;
	/* endpoint patterns, by bit */
	const struct pol_endpoint *eps[AT_EP_WORDS * 64];
	struct at_ep_port ports[AT_EP_WORDS * 64];
	unsigned neps;
	struct tbl_ep_entry *entries;   /* address entries (CIDR, ANY, bound) */
	size_t nentries, capentries;
	struct tbl_domain *domains;
	size_t ndomains;
	struct tbl_dom_entry *dom_entries;
	size_t ndom_entries;
	/* rules per operation, in policy order */
	struct at_rule *connect, *send;
	size_t nconnect, nsend;
	struct at_ep_label *ep_labels;
	size_t nep_labels;
	struct at_flow *flows;
	size_t nflows;
	struct at_guard_conf conf;
};

/* Returns 0, or -1 with a message in err (e.g. more than 256 endpoint
 * patterns). */
int tables_build(struct pol_tables *t, const struct policy *p, char *err, size_t errlen);
void tables_free(struct pol_tables *t);

/*
 * A DNS answer bound `name` to `addr` (16 bytes, IPv4 v4-mapped): if any
 * domain pattern matches the name, add or update the /128 entry. Returns
 * the entry (to be written to the map) or NULL when nothing matched or it
 * was already there with the same value.
 */
const struct tbl_ep_entry *tables_bind(struct pol_tables *t, const char *name, const uint8_t addr[16]);

/* Pattern bits of a destination, as the kernel computes them (tests). */
void tables_match(const struct pol_tables *t, const uint8_t addr[16], uint16_t port,
		  struct at_epset *out);

/* The kernel's name hash (include/agenttrail/guard.h): over the
 * characters from last to first, lower-cased. */
uint64_t tables_name_hash(const char *name);

/* v4 -> v4-mapped 16-byte form */
void tables_v4mapped(uint32_t ip_be, uint8_t out[16]);

#endif
