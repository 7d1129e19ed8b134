/* SPDX-License-Identifier: MIT */
/*
 * Decoder for one DNS message in wire format (RFC 1035), as captured from a
 * socket. The input is untrusted: it may be garbage, cut short at any byte,
 * or contain compression pointer loops. The decoder never reads outside
 * [buf, buf + len), never writes outside *out, and always terminates.
 *
 * Names are returned as text: lower-case, labels joined with '.', without
 * the trailing dot; the root name is ".". Label bytes that would make the
 * text ambiguous or unprintable are escaped the way zone files do: '.' and
 * '\' as "\." and "\\", bytes outside 0x21..0x7e as "\DDD" (decimal).
 */
#ifndef AGENTTRAIL_DECODE_DNS_H
#define AGENTTRAIL_DECODE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 256     /* text of one name, including the NUL */
#define DNS_MAX_ANSWERS 32   /* answers kept from one message */
#define DNS_HEADER_LEN 12

/* Record types this project names (dns_type_name knows a few more). */
#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_PTR 12
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33
#define DNS_TYPE_OPT 41
#define DNS_TYPE_HTTPS 65

#define DNS_CLASS_IN 1
#define DNS_OPCODE_QUERY 0
#define DNS_RCODE_NOERROR 0

/* One answer record of type A, AAAA or CNAME (class IN). */
struct dns_rr {
	char name[DNS_NAME_MAX];   /* owner name */
	uint16_t type;             /* DNS_TYPE_A, DNS_TYPE_AAAA or DNS_TYPE_CNAME */
	uint32_t ttl;              /* seconds; values with the top bit set read as 0 */
	int family;                /* AF_INET / AF_INET6 for A / AAAA, 0 otherwise */
	uint8_t addr[16];          /* A: first 4 bytes; AAAA: all 16; network order */
	char target[DNS_NAME_MAX]; /* CNAME target, "" otherwise */
};

struct dns_msg {
	uint16_t id;
	bool response;             /* QR bit */
	uint8_t opcode;            /* 0 = QUERY; answers are only read for QUERY */
	uint8_t rcode;             /* low 4 bits of the header flags */
	char qname[DNS_NAME_MAX];  /* first question, "" when there is none */
	uint16_t qtype;            /* first question, 0 when there is none */
	size_t n_answers;          /* entries used in answers[] */
	struct dns_rr answers[DNS_MAX_ANSWERS];
	/*
	 * Set when answers[] does not hold every A/AAAA/CNAME answer of the
	 * message: there were more than DNS_MAX_ANSWERS, or the bytes ended
	 * inside the answer section (a capture cut short). The answers that are
	 * present are complete and valid either way.
	 */
	bool answers_truncated;
};

/*
 * Decodes the message buf[0..len). Only the first question is kept (the
 * others are skipped); answers of type A, AAAA and CNAME in class IN are
 * kept in message order, other records are skipped. The authority and
 * additional sections are not read.
 *
 * Returns 0 on success, or a negative errno value:
 *   -EINVAL        malformed: a reserved label type (a label longer than 63),
 *                  a name longer than 255 bytes on the wire, a compression
 *                  pointer that does not point strictly backwards (this is
 *                  what rules out loops) or that points into the header, an
 *                  A/AAAA record whose length is not 4/16, a CNAME whose
 *                  target does not fill its record; also NULL arguments
 *   -EMSGSIZE      the bytes end before the end of the question section
 *   -ENAMETOOLONG  a name is valid on the wire but its escaped text does not
 *                  fit in DNS_NAME_MAX
 * On failure *out is zeroed except for what the header gave (id, response,
 * opcode, rcode) when at least the header was present.
 */
int dns_parse(const uint8_t *buf, size_t len, struct dns_msg *out);

/*
 * The same for a message read from a TCP stream: a 2-byte big-endian length
 * comes first. Bytes after that length are ignored; when fewer bytes than the
 * length follow (a capture cut short), the ones present are decoded.
 * Returns -EMSGSIZE when len < 2.
 */
int dns_parse_tcp(const uint8_t *buf, size_t len, struct dns_msg *out);

/* "A", "AAAA", "CNAME", ... for a record type, or NULL when unknown. */
const char *dns_type_name(uint16_t type);

#endif /* AGENTTRAIL_DECODE_DNS_H */
