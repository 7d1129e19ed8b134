/* SPDX-License-Identifier: MIT */
/*
 * DNS wire-format decoder (RFC 1035 section 4), for untrusted input.
 *
 * Every read goes through a bounds check against the message length. Names
 * are the only place where the decoder jumps around (compression pointers);
 * a pointer must point strictly before the start of the run of labels that
 * contains it (and after the header), so the positions jumped to strictly
 * decrease and a name is read in at most len steps whatever the bytes are.
 * The 255-byte limit on a name's wire length bounds the labels read.
 */
#include "decode/dns.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define DNS_WIRE_NAME_MAX 255   /* bytes of one name on the wire */
#define DNS_LABEL_TYPE_MASK 0xc0
#define DNS_LABEL_POINTER 0xc0  /* top two bits of a compression pointer */
#define DNS_POINTER_HIGH 0x3f   /* the rest of that byte: offset bits 13..8 */
#define DNS_FLAG_QR 0x8000
#define DNS_TTL_SIGN 0x80000000u
#define DNS_QUESTION_FIXED 4    /* type, class */
#define DNS_RR_FIXED 10         /* type, class, ttl, rdlength */

/* A position in the message; take() checks the bytes are there. */
struct cursor {
	const uint8_t *msg;
	size_t len;
	size_t pos;
};

/* Big-endian reads; the caller has checked the bytes are there. */
static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

/* The next n bytes, or NULL when the message ends before them. */
static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *p;

	if (c->len - c->pos < n)
		return NULL;
	p = c->msg + c->pos;
	c->pos += n;
	return p;
}

/* Text of a name being built; buf == NULL only validates the name. */
struct text {
	char *buf;
	size_t size;
	size_t used;    /* chars written, not counting the NUL */
};

static int text_put(struct text *t, char ch)
{
	if (!t->buf)
		return 0;
	if (t->used + 1 >= t->size) /* keep room for the NUL */
		return -ENAMETOOLONG;
	t->buf[t->used++] = ch;
	t->buf[t->used] = '\0';
	return 0;
}

/* Appends one label: lower-cased, with '.', '\' and unprintable bytes escaped. */
static int text_put_label(struct text *t, const uint8_t *label, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t b = label[i];

		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b - 'A' + 'a');
		if (b == '.' || b == '\\') {
			rc = text_put(t, '\\');
			if (rc == 0)
				rc = text_put(t, (char)b);
		} else if (b < 0x21 || b > 0x7e) {
			rc = text_put(t, '\\');
			if (rc == 0)
				rc = text_put(t, (char)('0' + b / 100));
			if (rc == 0)
				rc = text_put(t, (char)('0' + b / 10 % 10));
			if (rc == 0)
				rc = text_put(t, (char)('0' + b % 10));
		} else {
			rc = text_put(t, (char)b);
		}
	}
	return rc;
}

/*
 * Reads the name at c->pos into out (outsz bytes, or out == NULL to only
 * validate it) and moves c->pos past the name's bytes in place: past the
 * terminating zero, or past the first compression pointer.
 */
static int read_name(struct cursor *c, char *out, size_t outsz)
{
	struct text t = { .buf = out, .size = outsz, .used = 0 };
	size_t p = c->pos;          /* next label byte to read */
	size_t run_start = c->pos;  /* where the current run of labels began */
	size_t end = 0;             /* c->pos after the name, once known */
	bool jumped = false;
	size_t wire = 0;            /* bytes of the name on the wire */
	size_t labels = 0;
	int rc;

	if (out) {
		if (outsz < 2)
			return -ENAMETOOLONG;
		out[0] = '\0';
	}
	for (;;) {
		uint8_t b;

		if (p >= c->len)
			return -EMSGSIZE;
		b = c->msg[p];
		if ((b & DNS_LABEL_TYPE_MASK) == DNS_LABEL_POINTER) {
			size_t target;

			if (c->len - p < 2)
				return -EMSGSIZE;
			target = (size_t)(b & DNS_POINTER_HIGH) << 8 | c->msg[p + 1];
			if (target >= run_start)
				return -EINVAL; /* forward or self pointer: a possible loop */
			if (target < DNS_HEADER_LEN)
				return -EINVAL; /* no name starts inside the header */
			if (!jumped) {
				end = p + 2;
				jumped = true;
			}
			p = run_start = target;
			continue;
		}
		if (b & DNS_LABEL_TYPE_MASK)
			return -EINVAL; /* 0x40 / 0x80: no such label types (or > 63) */
		if (b == 0) {
			if (!jumped)
				end = p + 1;
			break;
		}
		/* this label, and at least the terminating zero after it */
		wire += 1 + (size_t)b;
		if (wire + 1 > DNS_WIRE_NAME_MAX)
			return -EINVAL;
		if (c->len - p - 1 < b)
			return -EMSGSIZE;
		if (labels > 0) {
			rc = text_put(&t, '.');
			if (rc < 0)
				return rc;
		}
		rc = text_put_label(&t, c->msg + p + 1, b);
		if (rc < 0)
			return rc;
		labels++;
		p += 1 + (size_t)b;
	}
	if (labels == 0) {
		rc = text_put(&t, '.'); /* the root */
		if (rc < 0)
			return rc;
	}
	c->pos = end;
	return 0;
}

/* Reads one question, keeping name and type when qname != NULL. */
static int read_question(struct cursor *c, char *qname, size_t qsize, uint16_t *qtype)
{
	const uint8_t *fixed;
	int rc;

	rc = read_name(c, qname, qsize);
	if (rc < 0)
		return rc;
	fixed = take(c, DNS_QUESTION_FIXED);
	if (!fixed)
		return -EMSGSIZE;
	if (qtype)
		*qtype = be16(fixed);
	return 0;
}

/* Reads a CNAME's rdata: exactly one name filling rdata[0..rdlen). */
static int read_cname(const struct cursor *c, const uint8_t *rdata, size_t rdlen,
		      char *out, size_t outsz)
{
	/* A view of the message that ends with the record: pointers can only
	 * reach earlier bytes anyway, and the record is known to be whole. */
	size_t start = (size_t)(rdata - c->msg);
	struct cursor rd = { .msg = c->msg, .len = start + rdlen, .pos = start };
	int rc;

	rc = read_name(&rd, out, outsz);
	if (rc == -EMSGSIZE)
		return -EINVAL; /* the name runs past its record */
	if (rc < 0)
		return rc;
	if (rd.pos != rd.len)
		return -EINVAL; /* bytes left over after the name */
	return 0;
}

/*
 * Reads one resource record at c->pos into *rr and moves past it. *keep
 * tells whether it is one of the kinds dns_msg holds.
 */
static int read_rr(struct cursor *c, struct dns_rr *rr, bool *keep)
{
	const uint8_t *fixed, *rdata;
	uint16_t klass, rdlen;
	int rc;

	*keep = false;
	memset(rr, 0, sizeof(*rr));
	rc = read_name(c, rr->name, sizeof(rr->name));
	if (rc < 0)
		return rc;
	fixed = take(c, DNS_RR_FIXED);
	if (!fixed)
		return -EMSGSIZE;
	rr->type = be16(fixed);
	klass = be16(fixed + 2);
	rr->ttl = be32(fixed + 4);
	rdlen = be16(fixed + 8);
	rdata = take(c, rdlen);
	if (!rdata)
		return -EMSGSIZE;

	if (rr->ttl & DNS_TTL_SIGN)
		rr->ttl = 0; /* RFC 2181 section 8 */
	if (klass != DNS_CLASS_IN)
		return 0;
	switch (rr->type) {
	case DNS_TYPE_A:
		if (rdlen != 4)
			return -EINVAL;
		rr->family = AF_INET;
		memcpy(rr->addr, rdata, 4);
		break;
	case DNS_TYPE_AAAA:
		if (rdlen != 16)
			return -EINVAL;
		rr->family = AF_INET6;
		memcpy(rr->addr, rdata, 16);
		break;
	case DNS_TYPE_CNAME:
		rc = read_cname(c, rdata, rdlen, rr->target, sizeof(rr->target));
		if (rc < 0)
			return rc;
		break;
	default:
		return 0;
	}
	*keep = true;
	return 0;
}

static int parse_msg(const uint8_t *buf, size_t len, struct dns_msg *out)
{
	struct cursor c = { .msg = buf, .len = len, .pos = 0 };
	const uint8_t *hdr = take(&c, DNS_HEADER_LEN);
	uint16_t flags, qdcount, ancount;
	int rc;

	if (!hdr)
		return -EMSGSIZE;
	out->id = be16(hdr);
	flags = be16(hdr + 2);
	qdcount = be16(hdr + 4);
	ancount = be16(hdr + 6);
	/* hdr + 8, hdr + 10: authority and additional counts, not read */
	out->response = (flags & DNS_FLAG_QR) != 0;
	out->opcode = (uint8_t)(flags >> 11 & 0xf);
	out->rcode = (uint8_t)(flags & 0xf);

	for (unsigned i = 0; i < qdcount; i++) {
		if (i == 0)
			rc = read_question(&c, out->qname, sizeof(out->qname), &out->qtype);
		else
			rc = read_question(&c, NULL, 0, NULL);
		if (rc < 0)
			return rc;
	}
	if (out->opcode != DNS_OPCODE_QUERY)
		return 0; /* other opcodes give the sections other meanings */

	for (unsigned i = 0; i < ancount; i++) {
		struct dns_rr rr;
		bool keep;

		rc = read_rr(&c, &rr, &keep);
		if (rc == -EMSGSIZE) {
			/* cut short: what was read before is whole */
			out->answers_truncated = true;
			return 0;
		}
		if (rc < 0)
			return rc;
		if (!keep)
			continue;
		if (out->n_answers == DNS_MAX_ANSWERS) {
			out->answers_truncated = true;
			return 0;
		}
		out->answers[out->n_answers++] = rr;
	}
	return 0;
}

int dns_parse(const uint8_t *buf, size_t len, struct dns_msg *out)
{
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len > 0)
		return -EINVAL;
	rc = parse_msg(buf, len, out);
	if (rc < 0) {
		uint16_t id = out->id;
		bool response = out->response;
		uint8_t opcode = out->opcode, rcode = out->rcode;

		memset(out, 0, sizeof(*out));
		out->id = id;
		out->response = response;
		out->opcode = opcode;
		out->rcode = rcode;
	}
	return rc;
}

int dns_parse_tcp(const uint8_t *buf, size_t len, struct dns_msg *out)
{
	size_t msg_len;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len > 0)
		return -EINVAL;
	if (len < 2)
		return -EMSGSIZE;
	msg_len = (size_t)buf[0] << 8 | buf[1];
	if (msg_len > len - 2)
		msg_len = len - 2; /* the capture ended inside the message */
	return dns_parse(buf + 2, msg_len, out);
}

const char *dns_type_name(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_A: return "A";
	case DNS_TYPE_NS: return "NS";
	case DNS_TYPE_CNAME: return "CNAME";
	case DNS_TYPE_SOA: return "SOA";
	case DNS_TYPE_PTR: return "PTR";
	case 13: return "HINFO";
	case DNS_TYPE_MX: return "MX";
	case DNS_TYPE_TXT: return "TXT";
	case DNS_TYPE_AAAA: return "AAAA";
	case DNS_TYPE_SRV: return "SRV";
	case 35: return "NAPTR";
	case 39: return "DNAME";
	case DNS_TYPE_OPT: return "OPT";
	case 43: return "DS";
	case 46: return "RRSIG";
	case 47: return "NSEC";
	case 48: return "DNSKEY";
	case 50: return "NSEC3";
	case 52: return "TLSA";
	case 64: return "SVCB";
	case DNS_TYPE_HTTPS: return "HTTPS";
	case 252: return "AXFR";
	case 255: return "ANY";
	case 257: return "CAA";
	default: return NULL;
	}
}
