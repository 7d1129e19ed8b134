/* SPDX-License-Identifier: MIT */
/*
 * Tests for the DNS decoder (src/decode/dns.c) and the address -> domain
 * cache (src/model/dnscache.c). Messages are built byte by byte with the
 * small builder below, so every test shows exactly what is on the wire.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "decode/dns.h"
#include "model/dnscache.h"

/* ---- message builder ------------------------------------------------------ */

#define MB_MAX 4096
#define FLAGS_QUERY 0x0100     /* RD */
#define FLAGS_RESPONSE 0x8180  /* QR, RD, RA, NOERROR */
#define CLASS_CH 3

struct mb {
	uint8_t buf[MB_MAX];
	size_t len;
};

static void mb_u8(struct mb *b, unsigned v)
{
	assert_true(b->len < MB_MAX);
	b->buf[b->len++] = (uint8_t)v;
}

static void mb_u16(struct mb *b, unsigned v)
{
	mb_u8(b, v >> 8 & 0xff);
	mb_u8(b, v & 0xff);
}

static void mb_u32(struct mb *b, uint32_t v)
{
	mb_u16(b, v >> 16);
	mb_u16(b, v & 0xffff);
}

static void mb_bytes(struct mb *b, const void *p, size_t n)
{
	assert_true(n <= MB_MAX - b->len);
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void mb_header(struct mb *b, unsigned id, unsigned flags, unsigned qd, unsigned an,
		      unsigned ns, unsigned ar)
{
	b->len = 0;
	mb_u16(b, id);
	mb_u16(b, flags);
	mb_u16(b, qd);
	mb_u16(b, an);
	mb_u16(b, ns);
	mb_u16(b, ar);
}

/* The labels of a dotted name, without an end; returns where they start. */
static size_t mb_labels(struct mb *b, const char *dotted)
{
	size_t start = b->len;
	const char *p = dotted;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		assert_true(n >= 1 && n <= 63);
		mb_u8(b, (unsigned)n);
		mb_bytes(b, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	return start;
}

static void mb_ptr(struct mb *b, size_t off)
{
	assert_true(off < 0x4000);
	mb_u8(b, 0xc0 | (unsigned)(off >> 8));
	mb_u8(b, off & 0xff);
}

/* An uncompressed name; returns its offset. */
static size_t mb_name(struct mb *b, const char *dotted)
{
	size_t start = mb_labels(b, dotted);

	mb_u8(b, 0);
	return start;
}

/* Labels (possibly none) followed by a pointer to off; returns the offset. */
static size_t mb_name_ptr(struct mb *b, const char *dotted, size_t off)
{
	size_t start = mb_labels(b, dotted);

	mb_ptr(b, off);
	return start;
}

static size_t mb_question(struct mb *b, const char *dotted, unsigned type)
{
	size_t at = mb_name(b, dotted);

	mb_u16(b, type);
	mb_u16(b, DNS_CLASS_IN);
	return at;
}

/* type, class, ttl, and a placeholder rdlength; returns the placeholder's offset */
static size_t mb_rr_begin(struct mb *b, unsigned type, unsigned klass, uint32_t ttl)
{
	size_t at;

	mb_u16(b, type);
	mb_u16(b, klass);
	mb_u32(b, ttl);
	at = b->len;
	mb_u16(b, 0);
	return at;
}

static void mb_rr_end(struct mb *b, size_t rdlen_at)
{
	size_t n = b->len - rdlen_at - 2;

	assert_true(n <= 0xffff);
	b->buf[rdlen_at] = (uint8_t)(n >> 8);
	b->buf[rdlen_at + 1] = (uint8_t)(n & 0xff);
}

/* An A record whose owner is a pointer to owner_off. */
static void mb_a(struct mb *b, size_t owner_off, uint32_t ttl, uint8_t a1, uint8_t a2,
		 uint8_t a3, uint8_t a4)
{
	const uint8_t addr[4] = { a1, a2, a3, a4 };
	size_t at;

	mb_ptr(b, owner_off);
	at = mb_rr_begin(b, DNS_TYPE_A, DNS_CLASS_IN, ttl);
	mb_bytes(b, addr, sizeof(addr));
	mb_rr_end(b, at);
}

static void mb_aaaa(struct mb *b, size_t owner_off, uint32_t ttl, const uint8_t addr[16])
{
	size_t at;

	mb_ptr(b, owner_off);
	at = mb_rr_begin(b, DNS_TYPE_AAAA, DNS_CLASS_IN, ttl);
	mb_bytes(b, addr, 16);
	mb_rr_end(b, at);
}

/* A CNAME owned by owner_off, target uncompressed; returns the target's offset. */
static size_t mb_cname(struct mb *b, size_t owner_off, uint32_t ttl, const char *target)
{
	size_t at, t;

	mb_ptr(b, owner_off);
	at = mb_rr_begin(b, DNS_TYPE_CNAME, DNS_CLASS_IN, ttl);
	t = mb_name(b, target);
	mb_rr_end(b, at);
	return t;
}

/* The same message behind a TCP length prefix. */
static void mb_to_tcp(const struct mb *msg, struct mb *tcp)
{
	tcp->len = 0;
	mb_u16(tcp, (unsigned)msg->len);
	mb_bytes(tcp, msg->buf, msg->len);
}

/* A heap copy of exactly n bytes, so that ASan sees any read past the end. */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

static struct dns_msg *msg_new(void)
{
	struct dns_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	return m;
}

static void assert_rr_equal(const struct dns_rr *a, const struct dns_rr *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->ttl, b->ttl);
	assert_int_equal(a->family, b->family);
	assert_memory_equal(a->addr, b->addr, sizeof(a->addr));
	assert_string_equal(a->target, b->target);
}

static const uint8_t v6_example[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
};

/*
 * A response with most of what the decoder handles: upper case in the
 * question, a CNAME chain whose second target is compressed into the first,
 * a skipped TXT between answers, A and AAAA answers, then an authority and an
 * additional (OPT) record. Offsets the truncation test needs are returned.
 */
struct rich {
	size_t question_end;    /* first byte after the question */
	size_t answers_end;     /* first byte after the answer section */
	size_t kept_end[8];     /* end of each kept (A/AAAA/CNAME) answer */
	size_t n_kept;
};

static void build_rich(struct mb *b, struct rich *r)
{
	size_t q, t1, t2, at;

	memset(r, 0, sizeof(*r));
	mb_header(b, 0x1234, FLAGS_RESPONSE, 1, 6, 1, 1);
	q = mb_question(b, "API.X.com", DNS_TYPE_A);
	r->question_end = b->len;

	t1 = mb_cname(b, q, 300, "edge.y.net");
	r->kept_end[r->n_kept++] = b->len;

	/* edge.y.net CNAME e1.cdn.<y.net> with y.net compressed */
	mb_ptr(b, t1);
	at = mb_rr_begin(b, DNS_TYPE_CNAME, DNS_CLASS_IN, 60);
	t2 = mb_name_ptr(b, "e1.cdn", t1 + 5);
	mb_rr_end(b, at);
	r->kept_end[r->n_kept++] = b->len;

	mb_ptr(b, t2);
	at = mb_rr_begin(b, DNS_TYPE_TXT, DNS_CLASS_IN, 60);
	mb_u8(b, 5);
	mb_bytes(b, "hello", 5);
	mb_rr_end(b, at);

	mb_a(b, t2, 20, 1, 2, 3, 4);
	r->kept_end[r->n_kept++] = b->len;
	mb_a(b, t2, 20, 5, 6, 7, 8);
	r->kept_end[r->n_kept++] = b->len;
	mb_aaaa(b, t2, 20, v6_example);
	r->kept_end[r->n_kept++] = b->len;
	r->answers_end = b->len;

	/* authority: x.com SOA with opaque rdata (not read by the decoder) */
	mb_ptr(b, q + 4);
	at = mb_rr_begin(b, DNS_TYPE_SOA, DNS_CLASS_IN, 900);
	mb_bytes(b, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10);
	mb_rr_end(b, at);
	/* additional: OPT */
	mb_u8(b, 0);
	at = mb_rr_begin(b, DNS_TYPE_OPT, 1232, 0);
	mb_rr_end(b, at);
}

static void check_rich(const struct dns_msg *m)
{
	static const uint8_t a1[4] = { 1, 2, 3, 4 }, a2[4] = { 5, 6, 7, 8 };

	assert_int_equal(m->id, 0x1234);
	assert_true(m->response);
	assert_int_equal(m->opcode, 0);
	assert_int_equal(m->rcode, 0);
	assert_string_equal(m->qname, "api.x.com");
	assert_int_equal(m->qtype, DNS_TYPE_A);
	assert_int_equal(m->n_answers, 5);
	assert_false(m->answers_truncated);

	assert_string_equal(m->answers[0].name, "api.x.com");
	assert_int_equal(m->answers[0].type, DNS_TYPE_CNAME);
	assert_int_equal(m->answers[0].ttl, 300);
	assert_int_equal(m->answers[0].family, 0);
	assert_string_equal(m->answers[0].target, "edge.y.net");

	assert_string_equal(m->answers[1].name, "edge.y.net");
	assert_int_equal(m->answers[1].type, DNS_TYPE_CNAME);
	assert_string_equal(m->answers[1].target, "e1.cdn.y.net");

	assert_string_equal(m->answers[2].name, "e1.cdn.y.net");
	assert_int_equal(m->answers[2].type, DNS_TYPE_A);
	assert_int_equal(m->answers[2].family, AF_INET);
	assert_int_equal(m->answers[2].ttl, 20);
	assert_memory_equal(m->answers[2].addr, a1, 4);
	assert_string_equal(m->answers[2].target, "");

	assert_memory_equal(m->answers[3].addr, a2, 4);

	assert_string_equal(m->answers[4].name, "e1.cdn.y.net");
	assert_int_equal(m->answers[4].type, DNS_TYPE_AAAA);
	assert_int_equal(m->answers[4].family, AF_INET6);
	assert_memory_equal(m->answers[4].addr, v6_example, 16);
}

/* What every successful decode must satisfy, whatever the input. */
static void check_invariants(int rc, const struct dns_msg *m)
{
	assert_true(rc == 0 || rc == -EINVAL || rc == -EMSGSIZE || rc == -ENAMETOOLONG);
	if (rc < 0) {
		assert_int_equal(m->n_answers, 0);
		assert_string_equal(m->qname, "");
		return;
	}
	assert_true(m->n_answers <= DNS_MAX_ANSWERS);
	assert_true(strnlen(m->qname, DNS_NAME_MAX) < DNS_NAME_MAX);
	for (const char *p = m->qname; *p; p++)
		assert_false(*p >= 'A' && *p <= 'Z');
	for (size_t i = 0; i < m->n_answers; i++) {
		const struct dns_rr *rr = &m->answers[i];

		assert_true(strnlen(rr->name, DNS_NAME_MAX) < DNS_NAME_MAX);
		assert_true(strnlen(rr->target, DNS_NAME_MAX) < DNS_NAME_MAX);
		assert_true(rr->name[0] != '\0');
		if (rr->type == DNS_TYPE_A)
			assert_int_equal(rr->family, AF_INET);
		else if (rr->type == DNS_TYPE_AAAA)
			assert_int_equal(rr->family, AF_INET6);
		else if (rr->type == DNS_TYPE_CNAME)
			assert_true(rr->family == 0 && rr->target[0] != '\0');
		else
			fail_msg("unexpected answer type %u", rr->type);
	}
}

/* ---- decoder: well-formed messages ---------------------------------------- */

static void test_a_answers(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q;

	mb_header(&b, 0xbeef, FLAGS_RESPONSE, 1, 2, 0, 0);
	q = mb_question(&b, "example.com", DNS_TYPE_A);
	mb_a(&b, q, 3600, 93, 184, 216, 34);
	mb_a(&b, q, 3600, 10, 0, 0, 1);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);

	assert_int_equal(m->id, 0xbeef);
	assert_true(m->response);
	assert_string_equal(m->qname, "example.com");
	assert_int_equal(m->qtype, DNS_TYPE_A);
	assert_int_equal(m->n_answers, 2);
	assert_false(m->answers_truncated);
	assert_string_equal(m->answers[0].name, "example.com");
	assert_int_equal(m->answers[0].type, DNS_TYPE_A);
	assert_int_equal(m->answers[0].ttl, 3600);
	assert_int_equal(m->answers[0].family, AF_INET);
	assert_memory_equal(m->answers[0].addr, "\x5d\xb8\xd8\x22", 4);
	assert_memory_equal(m->answers[0].addr + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
	assert_memory_equal(m->answers[1].addr, "\x0a\x00\x00\x01", 4);
	free(m);
}

static void test_aaaa_answer(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q;

	mb_header(&b, 7, FLAGS_RESPONSE, 1, 1, 0, 0);
	q = mb_question(&b, "v6.example.org", DNS_TYPE_AAAA);
	mb_aaaa(&b, q, 120, v6_example);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->qtype, DNS_TYPE_AAAA);
	assert_int_equal(m->n_answers, 1);
	assert_int_equal(m->answers[0].type, DNS_TYPE_AAAA);
	assert_int_equal(m->answers[0].family, AF_INET6);
	assert_memory_equal(m->answers[0].addr, v6_example, 16);
	free(m);
}

static void test_query(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();

	mb_header(&b, 0x0102, FLAGS_QUERY, 1, 0, 0, 0);
	mb_question(&b, "www.Example.COM", DNS_TYPE_AAAA);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->id, 0x0102);
	assert_false(m->response);
	assert_string_equal(m->qname, "www.example.com");
	assert_int_equal(m->qtype, DNS_TYPE_AAAA);
	assert_int_equal(m->n_answers, 0);
	free(m);
}

static void test_cname_chain_and_skipping(void **state)
{
	(void)state;
	struct mb b;
	struct rich r;
	struct dns_msg *m = msg_new();

	build_rich(&b, &r);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	check_rich(m);
	free(m);
}

static void test_header_only_and_root(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();

	mb_header(&b, 1, FLAGS_RESPONSE | 3, 0, 0, 0, 0); /* NXDOMAIN, no question */
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->rcode, 3);
	assert_string_equal(m->qname, "");
	assert_int_equal(m->qtype, 0);

	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_question(&b, "", DNS_TYPE_NS);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_string_equal(m->qname, ".");
	assert_int_equal(m->qtype, DNS_TYPE_NS);
	free(m);
}

static void test_escaping(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();

	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_u8(&b, 3);
	mb_bytes(&b, "A.b", 3);     /* a dot inside a label */
	mb_u8(&b, 1);
	mb_bytes(&b, "\\", 1);
	mb_u8(&b, 3);
	mb_bytes(&b, "\0 Z", 3);    /* NUL, space, upper case */
	mb_u8(&b, 0);
	mb_u16(&b, DNS_TYPE_A);
	mb_u16(&b, DNS_CLASS_IN);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_string_equal(m->qname, "a\\.b.\\\\.\\000\\032z");
	free(m);
}

static void test_compression_pointers(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q, com, prev, at;

	mb_header(&b, 9, FLAGS_RESPONSE, 1, 3, 0, 0);
	q = mb_question(&b, "www.example.com", DNS_TYPE_A);
	com = q + 12; /* "com" inside the question */

	/* a skipped TXT whose rdata holds a chain of pointers to pointers */
	mb_ptr(&b, q);
	at = mb_rr_begin(&b, DNS_TYPE_TXT, DNS_CLASS_IN, 1);
	prev = b.len;
	mb_ptr(&b, com);
	for (int i = 0; i < 100; i++) {
		size_t here = b.len;

		mb_ptr(&b, prev);
		prev = here;
	}
	mb_rr_end(&b, at);

	/* owner: labels then a pointer into the middle of another name */
	mb_name_ptr(&b, "mail", q + 4);
	at = mb_rr_begin(&b, DNS_TYPE_A, DNS_CLASS_IN, 5);
	mb_bytes(&b, "\x01\x01\x01\x01", 4);
	mb_rr_end(&b, at);

	/* owner: labels then the end of the pointer chain */
	mb_name_ptr(&b, "deep", prev);
	at = mb_rr_begin(&b, DNS_TYPE_A, DNS_CLASS_IN, 5);
	mb_bytes(&b, "\x02\x02\x02\x02", 4);
	mb_rr_end(&b, at);

	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->n_answers, 2);
	assert_string_equal(m->answers[0].name, "mail.example.com");
	assert_string_equal(m->answers[1].name, "deep.com");
	free(m);
}

static void test_multiple_questions(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q;

	mb_header(&b, 2, FLAGS_RESPONSE, 2, 1, 0, 0);
	q = mb_question(&b, "first.com", DNS_TYPE_A);
	mb_name_ptr(&b, "second", q + 6);
	mb_u16(&b, DNS_TYPE_AAAA);
	mb_u16(&b, DNS_CLASS_IN);
	mb_a(&b, q, 1, 9, 9, 9, 9);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_string_equal(m->qname, "first.com");
	assert_int_equal(m->qtype, DNS_TYPE_A);
	assert_int_equal(m->n_answers, 1);
	assert_memory_equal(m->answers[0].addr, "\x09\x09\x09\x09", 4);
	free(m);
}

static void test_other_classes_and_opcodes(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q, at;

	/* an A record in class CH has other rdata: skipped, not an error */
	mb_header(&b, 3, FLAGS_RESPONSE, 1, 2, 0, 0);
	q = mb_question(&b, "version.bind", DNS_TYPE_A);
	mb_ptr(&b, q);
	at = mb_rr_begin(&b, DNS_TYPE_A, CLASS_CH, 0);
	mb_bytes(&b, "\x00\x01", 2);
	mb_rr_end(&b, at);
	mb_a(&b, q, 0, 4, 3, 2, 1);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->n_answers, 1);
	assert_memory_equal(m->answers[0].addr, "\x04\x03\x02\x01", 4);

	/* UPDATE (opcode 5): the "answer" section holds prerequisites */
	mb_header(&b, 4, 0x8000 | 5 << 11, 1, 1, 0, 0);
	q = mb_question(&b, "zone.example", DNS_TYPE_SOA);
	mb_a(&b, q, 0, 1, 1, 1, 1);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->opcode, 5);
	assert_string_equal(m->qname, "zone.example");
	assert_int_equal(m->n_answers, 0);
	free(m);
}

static void test_ttl_top_bit(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q;

	mb_header(&b, 5, FLAGS_RESPONSE, 1, 2, 0, 0);
	q = mb_question(&b, "t.example", DNS_TYPE_A);
	mb_a(&b, q, 0x80000001u, 1, 1, 1, 1);
	mb_a(&b, q, 0x7fffffffu, 1, 1, 1, 2);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->answers[0].ttl, 0);
	assert_int_equal(m->answers[1].ttl, 0x7fffffffu);
	free(m);
}

static void test_answer_limit(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q;

	mb_header(&b, 6, FLAGS_RESPONSE, 1, DNS_MAX_ANSWERS, 0, 0);
	q = mb_question(&b, "many.example", DNS_TYPE_A);
	for (unsigned i = 0; i < DNS_MAX_ANSWERS; i++)
		mb_a(&b, q, 1, 10, 0, 0, (uint8_t)i);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->n_answers, DNS_MAX_ANSWERS);
	assert_false(m->answers_truncated);

	mb_header(&b, 6, FLAGS_RESPONSE, 1, DNS_MAX_ANSWERS + 8, 0, 0);
	q = mb_question(&b, "many.example", DNS_TYPE_A);
	for (unsigned i = 0; i < DNS_MAX_ANSWERS + 8; i++)
		mb_a(&b, q, 1, 10, 0, 0, (uint8_t)i);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(m->n_answers, DNS_MAX_ANSWERS);
	assert_true(m->answers_truncated);
	assert_int_equal(m->answers[DNS_MAX_ANSWERS - 1].addr[3], DNS_MAX_ANSWERS - 1);
	free(m);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(dns_type_name(DNS_TYPE_A), "A");
	assert_string_equal(dns_type_name(DNS_TYPE_AAAA), "AAAA");
	assert_string_equal(dns_type_name(DNS_TYPE_CNAME), "CNAME");
	assert_string_equal(dns_type_name(DNS_TYPE_HTTPS), "HTTPS");
	assert_string_equal(dns_type_name(DNS_TYPE_PTR), "PTR");
	assert_null(dns_type_name(0));
	assert_null(dns_type_name(60000));
}

/* ---- decoder: hostile and broken input ------------------------------------ */

static void test_pointer_loops(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q, p;

	/* question name is a pointer to itself */
	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_ptr(&b, DNS_HEADER_LEN);
	mb_u16(&b, DNS_TYPE_A);
	mb_u16(&b, DNS_CLASS_IN);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* a label, then a pointer back to that label */
	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_name_ptr(&b, "a", DNS_HEADER_LEN);
	mb_u16(&b, DNS_TYPE_A);
	mb_u16(&b, DNS_CLASS_IN);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* two pointers in an answer owner pointing at each other */
	mb_header(&b, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	mb_question(&b, "a.com", DNS_TYPE_A);
	p = b.len;
	mb_ptr(&b, p + 2);
	mb_ptr(&b, p);
	mb_rr_begin(&b, DNS_TYPE_A, DNS_CLASS_IN, 0);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* a pointer into the header */
	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_ptr(&b, 4);
	mb_u16(&b, DNS_TYPE_A);
	mb_u16(&b, DNS_CLASS_IN);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* a label, then a forward pointer (to its own second byte) */
	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_name_ptr(&b, "x", DNS_HEADER_LEN + 3);
	mb_u8(&b, 0);
	mb_u16(&b, DNS_TYPE_A);
	mb_u16(&b, DNS_CLASS_IN);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* a loop inside a CNAME target */
	mb_header(&b, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	q = mb_question(&b, "c.example", DNS_TYPE_A);
	mb_ptr(&b, q);
	p = mb_rr_begin(&b, DNS_TYPE_CNAME, DNS_CLASS_IN, 0);
	mb_name_ptr(&b, "t", b.len);
	mb_rr_end(&b, p);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);
	assert_int_equal(m->n_answers, 0);
	assert_string_equal(m->qname, "");
	assert_int_equal(m->id, 1); /* the header is still reported */
	free(m);
}

static void test_label_too_long(void **state)
{
	(void)state;
	static const unsigned bad[] = { 64, 100, 127, 128, 191 };
	uint8_t filler[200];
	struct mb b;
	struct dns_msg *m = msg_new();

	memset(filler, 'a', sizeof(filler));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
		mb_u8(&b, bad[i]);
		mb_bytes(&b, filler, sizeof(filler));
		mb_u8(&b, 0);
		mb_u16(&b, DNS_TYPE_A);
		mb_u16(&b, DNS_CLASS_IN);
		assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);
	}

	/* 63 is the longest label */
	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_u8(&b, 63);
	mb_bytes(&b, filler, 63);
	mb_u8(&b, 0);
	mb_u16(&b, DNS_TYPE_A);
	mb_u16(&b, DNS_CLASS_IN);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(strlen(m->qname), 63);
	free(m);
}

/* A question name of labels with the given lengths, made of 'a'. */
static size_t mb_long_question(struct mb *b, const unsigned *lens, size_t n)
{
	uint8_t filler[63];
	size_t at = b->len;

	memset(filler, 'a', sizeof(filler));
	for (size_t i = 0; i < n; i++) {
		mb_u8(b, lens[i]);
		mb_bytes(b, filler, lens[i]);
	}
	mb_u8(b, 0);
	mb_u16(b, DNS_TYPE_A);
	mb_u16(b, DNS_CLASS_IN);
	return at;
}

static void test_name_too_long(void **state)
{
	(void)state;
	static const unsigned ok255[] = { 63, 63, 63, 61 };      /* 255 bytes */
	static const unsigned bad256[] = { 63, 63, 63, 62 };     /* 256 bytes */
	static const unsigned bad257[] = { 63, 63, 63, 63 };     /* 257 bytes */
	static const unsigned three[] = { 63, 63, 63 };          /* 193 bytes */
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q;

	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_long_question(&b, ok255, 4);
	assert_int_equal(dns_parse(b.buf, b.len, m), 0);
	assert_int_equal(strlen(m->qname), 253);

	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_long_question(&b, bad256, 4);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_long_question(&b, bad257, 4);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* too long only once a compression pointer is followed */
	mb_header(&b, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	q = mb_long_question(&b, three, 3);
	{
		uint8_t filler[62];

		memset(filler, 'b', sizeof(filler));
		mb_u8(&b, 62);
		mb_bytes(&b, filler, 62);
		mb_ptr(&b, q);
		mb_rr_end(&b, mb_rr_begin(&b, DNS_TYPE_TXT, DNS_CLASS_IN, 0));
	}
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);
	free(m);
}

static void test_name_text_too_long(void **state)
{
	(void)state;
	uint8_t bin[63];
	struct mb b;
	struct dns_msg *m = msg_new();

	memset(bin, 0x01, sizeof(bin)); /* each byte becomes "\001" */
	mb_header(&b, 1, FLAGS_QUERY, 1, 0, 0, 0);
	mb_u8(&b, 63);
	mb_bytes(&b, bin, 63);
	mb_u8(&b, 63);
	mb_bytes(&b, bin, 63);
	mb_u8(&b, 0);
	mb_u16(&b, DNS_TYPE_A);
	mb_u16(&b, DNS_CLASS_IN);
	assert_int_equal(dns_parse(b.buf, b.len, m), -ENAMETOOLONG);
	assert_string_equal(m->qname, "");
	free(m);
}

static void test_bad_rdata(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();
	size_t q, at;

	/* A with 5 bytes */
	mb_header(&b, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	q = mb_question(&b, "r.example", DNS_TYPE_A);
	mb_ptr(&b, q);
	at = mb_rr_begin(&b, DNS_TYPE_A, DNS_CLASS_IN, 0);
	mb_bytes(&b, "\x01\x02\x03\x04\x05", 5);
	mb_rr_end(&b, at);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* AAAA with 4 bytes */
	mb_header(&b, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	q = mb_question(&b, "r.example", DNS_TYPE_AAAA);
	mb_ptr(&b, q);
	at = mb_rr_begin(&b, DNS_TYPE_AAAA, DNS_CLASS_IN, 0);
	mb_bytes(&b, "\x01\x02\x03\x04", 4);
	mb_rr_end(&b, at);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* CNAME with a byte after its target */
	mb_header(&b, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	q = mb_question(&b, "r.example", DNS_TYPE_A);
	mb_ptr(&b, q);
	at = mb_rr_begin(&b, DNS_TYPE_CNAME, DNS_CLASS_IN, 0);
	mb_name(&b, "t.example");
	mb_u8(&b, 0);
	mb_rr_end(&b, at);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* CNAME whose target runs past its rdlength (into the next record) */
	mb_header(&b, 1, FLAGS_RESPONSE, 1, 2, 0, 0);
	q = mb_question(&b, "r.example", DNS_TYPE_A);
	mb_ptr(&b, q);
	mb_rr_begin(&b, DNS_TYPE_CNAME, DNS_CLASS_IN, 0);
	b.buf[b.len - 1] = 3; /* rdlength 3 */
	mb_name(&b, "target.example");
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);

	/* empty CNAME rdata */
	mb_header(&b, 1, FLAGS_RESPONSE, 1, 1, 0, 0);
	q = mb_question(&b, "r.example", DNS_TYPE_A);
	mb_ptr(&b, q);
	mb_rr_end(&b, mb_rr_begin(&b, DNS_TYPE_CNAME, DNS_CLASS_IN, 0));
	assert_int_equal(dns_parse(b.buf, b.len, m), -EINVAL);
	free(m);
}

static void test_short_and_null(void **state)
{
	(void)state;
	struct mb b;
	struct dns_msg *m = msg_new();

	assert_int_equal(dns_parse(NULL, 0, m), -EMSGSIZE);
	assert_int_equal(dns_parse(NULL, 5, m), -EINVAL);
	assert_int_equal(dns_parse((const uint8_t *)"x", 1, NULL), -EINVAL);
	assert_int_equal(dns_parse_tcp(NULL, 0, m), -EMSGSIZE);
	assert_int_equal(dns_parse_tcp((const uint8_t *)"x", 1, NULL), -EINVAL);

	/* a question count with nothing behind it */
	mb_header(&b, 1, FLAGS_QUERY, 3, 0, 0, 0);
	assert_int_equal(dns_parse(b.buf, b.len, m), -EMSGSIZE);
	free(m);
}

/* Every prefix of a valid message decodes to an error or to a prefix of it. */
static void test_truncated_every_offset(void **state)
{
	(void)state;
	struct mb b, tcp;
	struct rich r;
	struct dns_msg *full = msg_new(), *m = msg_new();

	build_rich(&b, &r);
	assert_int_equal(dns_parse(b.buf, b.len, full), 0);
	check_rich(full);

	for (size_t cut = 0; cut < b.len; cut++) {
		uint8_t *p = exact_copy(b.buf, cut);
		int rc = dns_parse(p, cut, m);
		size_t want = 0;

		free(p);
		check_invariants(rc, m);
		if (cut < r.question_end) {
			assert_int_equal(rc, -EMSGSIZE);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(m->qname, "api.x.com");
		for (size_t i = 0; i < r.n_kept; i++)
			if (r.kept_end[i] <= cut)
				want++;
		assert_int_equal(m->n_answers, want);
		for (size_t i = 0; i < m->n_answers; i++)
			assert_rr_equal(&m->answers[i], &full->answers[i]);
		assert_int_equal(m->answers_truncated, cut < r.answers_end);
	}

	/* the same over TCP, with the length prefix promising the whole message */
	mb_to_tcp(&b, &tcp);
	for (size_t cut = 0; cut < tcp.len; cut++) {
		uint8_t *p = exact_copy(tcp.buf, cut);
		int rc = dns_parse_tcp(p, cut, m);

		free(p);
		check_invariants(rc, m);
		if (cut < 2 + r.question_end) {
			assert_int_equal(rc, -EMSGSIZE);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(m->answers_truncated, cut - 2 < r.answers_end);
	}
	free(full);
	free(m);
}

static void test_tcp_framing(void **state)
{
	(void)state;
	struct mb b, tcp;
	struct rich r;
	struct dns_msg *m = msg_new();

	build_rich(&b, &r);
	mb_to_tcp(&b, &tcp);
	assert_int_equal(dns_parse_tcp(tcp.buf, tcp.len, m), 0);
	check_rich(m);

	/* bytes after the framed message (the next message) are ignored */
	mb_bytes(&tcp, "\x00\x0c garbage", 10);
	assert_int_equal(dns_parse_tcp(tcp.buf, tcp.len, m), 0);
	check_rich(m);

	/* a length that stops inside the question */
	tcp.buf[0] = 0;
	tcp.buf[1] = DNS_HEADER_LEN + 3;
	assert_int_equal(dns_parse_tcp(tcp.buf, tcp.len, m), -EMSGSIZE);

	/* a length that stops inside the answers */
	tcp.buf[0] = (uint8_t)(r.kept_end[2] >> 8);
	tcp.buf[1] = (uint8_t)(r.kept_end[2] & 0xff);
	assert_int_equal(dns_parse_tcp(tcp.buf, tcp.len, m), 0);
	assert_int_equal(m->n_answers, 3);
	assert_true(m->answers_truncated);

	/* zero length, and the prefix alone */
	tcp.buf[0] = tcp.buf[1] = 0;
	assert_int_equal(dns_parse_tcp(tcp.buf, tcp.len, m), -EMSGSIZE);
	assert_int_equal(dns_parse_tcp(tcp.buf, 1, m), -EMSGSIZE);
	assert_int_equal(dns_parse_tcp(tcp.buf, 2, m), -EMSGSIZE);
	free(m);
}

/* A small PRNG with its state in the caller (xorshift64). */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_garbage(void **state)
{
	(void)state;
	struct mb b;
	struct rich r;
	struct dns_msg *m = msg_new();
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint8_t buf[700];

	/* random bytes */
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = rng_next(&seed) % sizeof(buf);
		uint8_t *p;

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_next(&seed);
		if (len > 6 && iter % 2) {
			buf[4] = 0; /* one question: gets further more often */
			buf[5] = 1;
		}
		p = exact_copy(buf, len);
		check_invariants(dns_parse(p, len, m), m);
		check_invariants(dns_parse_tcp(p, len, m), m);
		free(p);
	}

	/* a valid message with a few bytes changed */
	build_rich(&b, &r);
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t *p = exact_copy(b.buf, b.len);
		int flips = 1 + (int)(rng_next(&seed) % 4);

		for (int i = 0; i < flips; i++) {
			uint64_t v = rng_next(&seed);

			p[v % b.len] = (uint8_t)(v >> 32);
		}
		check_invariants(dns_parse(p, b.len, m), m);
		free(p);
	}
	free(m);
}

/* Odd inputs written by hand, then every input the fuzzer found a problem with. */
static void test_regressions(void **state)
{
	(void)state;
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
		/* question name: a pointer into the header */
		{ "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x00\x00\x01\x00\x01", 18 },
		/* a maximal pointer (0x3fff) in a short message */
		{ "\x00\x00\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff\x00\x01\x00\x01", 18 },
		/* TCP: a length prefix of 0xffff before a header alone */
		{ "\xff\xff\x00\x00\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00", 14 },
	};
	struct dns_msg *m = msg_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *p = exact_copy((const uint8_t *)cases[i].bytes, cases[i].len);

		check_invariants(dns_parse(p, cases[i].len, m), m);
		check_invariants(dns_parse_tcp(p, cases[i].len, m), m);
		free(p);
	}
	free(m);
}

/* ---- cache -------------------------------------------------------------- */

static void msg_reset(struct dns_msg *m, const char *qname)
{
	memset(m, 0, sizeof(*m));
	m->response = true;
	snprintf(m->qname, sizeof(m->qname), "%s", qname);
	m->qtype = DNS_TYPE_A;
}

static struct dns_rr *msg_add(struct dns_msg *m, const char *owner, uint16_t type)
{
	struct dns_rr *rr;

	assert_true(m->n_answers < DNS_MAX_ANSWERS);
	rr = &m->answers[m->n_answers++];
	memset(rr, 0, sizeof(*rr));
	snprintf(rr->name, sizeof(rr->name), "%s", owner);
	rr->type = type;
	return rr;
}

static void msg_add_a(struct dns_msg *m, const char *owner, const uint8_t a[4])
{
	struct dns_rr *rr = msg_add(m, owner, DNS_TYPE_A);

	rr->family = AF_INET;
	memcpy(rr->addr, a, 4);
}

static void msg_add_aaaa(struct dns_msg *m, const char *owner, const uint8_t a[16])
{
	struct dns_rr *rr = msg_add(m, owner, DNS_TYPE_AAAA);

	rr->family = AF_INET6;
	memcpy(rr->addr, a, 16);
}

static void msg_add_cname(struct dns_msg *m, const char *owner, const char *target)
{
	struct dns_rr *rr = msg_add(m, owner, DNS_TYPE_CNAME);

	snprintf(rr->target, sizeof(rr->target), "%s", target);
}

static void v4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(out, 0, 16);
	out[0] = a;
	out[1] = b;
	out[2] = c;
	out[3] = d;
}

static void assert_lookup(const struct dnscache *dc, uint64_t session, int family,
			  const uint8_t addr[16], const char *want)
{
	const char *got = dnscache_lookup(dc, session, family, addr);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_cache_cname_chain(void **state)
{
	(void)state;
	struct dnscache *dc = dnscache_new(64);
	struct dns_msg *m = msg_new();
	uint8_t a[16], other[16];

	assert_non_null(dc);
	v4(a, 1, 2, 3, 4);
	v4(other, 9, 9, 9, 9);
	/* answers out of order, and an unrelated record */
	msg_reset(m, "api.x.com");
	msg_add_a(m, "edge2.z.org", a);
	msg_add_cname(m, "edge.y.net", "edge2.z.org");
	msg_add_cname(m, "api.x.com", "edge.y.net");
	msg_add_a(m, "unrelated.example", other);
	dnscache_add_msg(dc, 1, m);
	assert_lookup(dc, 1, AF_INET, a, "api.x.com");
	assert_lookup(dc, 1, AF_INET, other, "unrelated.example");
	assert_int_equal(dnscache_count(dc), 2);

	/* a CNAME loop does not hang and still yields a name */
	msg_reset(m, "loop.example");
	msg_add_cname(m, "loop.example", "b.example");
	msg_add_cname(m, "b.example", "loop.example");
	msg_add_a(m, "b.example", other);
	dnscache_add_msg(dc, 1, m);
	assert_non_null(dnscache_lookup(dc, 1, AF_INET, other));

	/* end to end: the wire message of build_rich */
	{
		struct mb b;
		struct rich r;

		build_rich(&b, &r);
		assert_int_equal(dns_parse(b.buf, b.len, m), 0);
		dnscache_add_msg(dc, 2, m);
		v4(a, 1, 2, 3, 4);
		assert_lookup(dc, 2, AF_INET, a, "api.x.com");
		v4(a, 5, 6, 7, 8);
		assert_lookup(dc, 2, AF_INET, a, "api.x.com");
		assert_lookup(dc, 2, AF_INET6, v6_example, "api.x.com");
	}
	dnscache_free(dc);
	free(m);
}

static void test_cache_replacement(void **state)
{
	(void)state;
	struct dnscache *dc = dnscache_new(8);
	struct dns_msg *m = msg_new();
	uint8_t a[16];

	assert_non_null(dc);
	v4(a, 10, 0, 0, 1);
	msg_reset(m, "old.example");
	msg_add_a(m, "old.example", a);
	dnscache_add_msg(dc, 1, m);
	assert_lookup(dc, 1, AF_INET, a, "old.example");

	msg_reset(m, "new.example");
	msg_add_a(m, "new.example", a);
	dnscache_add_msg(dc, 1, m);
	assert_lookup(dc, 1, AF_INET, a, "new.example");
	assert_int_equal(dnscache_count(dc), 1);
	dnscache_free(dc);
	free(m);
}

static void add_one_a(struct dnscache *dc, struct dns_msg *m, uint64_t session,
		      const char *name, const uint8_t a[16])
{
	msg_reset(m, name);
	msg_add_a(m, name, a);
	dnscache_add_msg(dc, session, m);
}

static void test_cache_eviction(void **state)
{
	(void)state;
	struct dnscache *dc = dnscache_new(4);
	struct dns_msg *m = msg_new();
	uint8_t a[6][16];

	assert_non_null(dc);
	for (int i = 0; i < 6; i++)
		v4(a[i], 192, 0, 2, (uint8_t)(i + 1));
	add_one_a(dc, m, 1, "n1.example", a[0]);
	add_one_a(dc, m, 1, "n2.example", a[1]);
	add_one_a(dc, m, 1, "n3.example", a[2]);
	add_one_a(dc, m, 1, "n4.example", a[3]);
	assert_int_equal(dnscache_count(dc), 4);

	/* full: the oldest (a[0]) goes */
	add_one_a(dc, m, 1, "n5.example", a[4]);
	assert_int_equal(dnscache_count(dc), 4);
	assert_lookup(dc, 1, AF_INET, a[0], NULL);
	assert_lookup(dc, 1, AF_INET, a[1], "n2.example");
	assert_lookup(dc, 1, AF_INET, a[4], "n5.example");

	/* replacing a[1] makes it the newest: a[2] is evicted next */
	add_one_a(dc, m, 1, "n2-again.example", a[1]);
	add_one_a(dc, m, 1, "n6.example", a[5]);
	assert_lookup(dc, 1, AF_INET, a[2], NULL);
	assert_lookup(dc, 1, AF_INET, a[1], "n2-again.example");
	assert_lookup(dc, 1, AF_INET, a[3], "n4.example");
	assert_lookup(dc, 1, AF_INET, a[4], "n5.example");
	assert_lookup(dc, 1, AF_INET, a[5], "n6.example");
	dnscache_free(dc);

	/* capacity 1 */
	dc = dnscache_new(1);
	assert_non_null(dc);
	add_one_a(dc, m, 1, "n1.example", a[0]);
	add_one_a(dc, m, 1, "n2.example", a[1]);
	assert_lookup(dc, 1, AF_INET, a[0], NULL);
	assert_lookup(dc, 1, AF_INET, a[1], "n2.example");
	dnscache_free(dc);
	free(m);
}

static void test_cache_sessions_and_families(void **state)
{
	(void)state;
	struct dnscache *dc = dnscache_new(16);
	struct dns_msg *m = msg_new();
	uint8_t a[16], a_dirty[16], mapped[16], v6[16];

	assert_non_null(dc);
	v4(a, 203, 0, 113, 7);
	add_one_a(dc, m, 1, "one.example", a);
	add_one_a(dc, m, 2, "two.example", a);
	assert_lookup(dc, 1, AF_INET, a, "one.example");
	assert_lookup(dc, 2, AF_INET, a, "two.example");
	assert_lookup(dc, 3, AF_INET, a, NULL);

	/* IPv4: bytes past the first 4 do not matter */
	memcpy(a_dirty, a, 16);
	memset(a_dirty + 4, 0xee, 12);
	assert_lookup(dc, 1, AF_INET, a_dirty, "one.example");

	/* the IPv4-mapped IPv6 form finds the A answer */
	memset(mapped, 0, sizeof(mapped));
	mapped[10] = mapped[11] = 0xff;
	memcpy(mapped + 12, a, 4);
	assert_lookup(dc, 1, AF_INET6, mapped, "one.example");

	/* an IPv6 address sharing its first 4 bytes is another key */
	memcpy(v6, a, 16);
	v6[15] = 1;
	assert_lookup(dc, 1, AF_INET6, v6, NULL);
	msg_reset(m, "six.example");
	msg_add_aaaa(m, "six.example", v6);
	dnscache_add_msg(dc, 1, m);
	assert_lookup(dc, 1, AF_INET6, v6, "six.example");
	assert_lookup(dc, 1, AF_INET, a, "one.example");

	/* unknown family, NULL arguments */
	assert_lookup(dc, 1, AF_UNIX, a, NULL);
	assert_null(dnscache_lookup(dc, 1, AF_INET, NULL));
	assert_null(dnscache_lookup(NULL, 1, AF_INET, a));
	dnscache_add_msg(NULL, 1, m);
	dnscache_add_msg(dc, 1, NULL);
	dnscache_free(NULL);
	dnscache_free(dc);
	free(m);
}

static void test_cache_ignores_non_answers(void **state)
{
	(void)state;
	struct dnscache *dc = dnscache_new(16);
	struct dns_msg *m = msg_new();
	uint8_t a[16];

	assert_non_null(dc);
	v4(a, 198, 51, 100, 1);
	msg_reset(m, "q.example");
	msg_add_a(m, "q.example", a);
	m->response = false;                 /* a query */
	dnscache_add_msg(dc, 1, m);
	m->response = true;
	m->rcode = 2;                        /* SERVFAIL */
	dnscache_add_msg(dc, 1, m);
	assert_int_equal(dnscache_count(dc), 0);
	assert_lookup(dc, 1, AF_INET, a, NULL);

	errno = 0;
	assert_null(dnscache_new(0));
	assert_int_equal(errno, EINVAL);
	assert_null(dnscache_new(DNSCACHE_CAPACITY_MAX + 1));
	dnscache_free(dc);
	free(m);
}

/* Random adds against a plain model of the cache (oldest-added eviction). */
static void test_cache_model(void **state)
{
	(void)state;
	enum { CAP = 16, N_ADDR = 40, N_SESS = 2, OPS = 20000 };
	struct model_entry {
		bool used;
		uint64_t session;
		uint8_t last;   /* last byte of the address */
		unsigned age;
		char name[32];
	} model[CAP];
	struct dnscache *dc = dnscache_new(CAP);
	struct dns_msg *m = msg_new();
	uint64_t seed = 12345;

	assert_non_null(dc);
	memset(model, 0, sizeof(model));
	for (unsigned op = 1; op <= OPS; op++) {
		uint64_t session = 1 + rng_next(&seed) % N_SESS;
		uint8_t last = (uint8_t)(rng_next(&seed) % N_ADDR);
		uint8_t a[16];
		char name[32];
		int slot = -1, oldest = -1;

		snprintf(name, sizeof(name), "n%u.example", op);
		v4(a, 10, 1, 0, last);
		add_one_a(dc, m, session, name, a);

		for (int i = 0; i < CAP; i++) {
			if (model[i].used && model[i].session == session && model[i].last == last)
				slot = i;
		}
		for (int i = 0; i < CAP && slot < 0; i++) {
			if (!model[i].used)
				slot = i;
		}
		if (slot < 0) {
			for (int i = 0; i < CAP; i++)
				if (oldest < 0 || model[i].age < model[oldest].age)
					oldest = i;
			slot = oldest;
		}
		model[slot].used = true;
		model[slot].session = session;
		model[slot].last = last;
		model[slot].age = op;
		snprintf(model[slot].name, sizeof(model[slot].name), "%s", name);

		for (uint64_t s = 1; s <= N_SESS; s++) {
			for (unsigned l = 0; l < N_ADDR; l++) {
				const char *want = NULL;

				for (int i = 0; i < CAP; i++)
					if (model[i].used && model[i].session == s && model[i].last == l)
						want = model[i].name;
				v4(a, 10, 1, 0, (uint8_t)l);
				assert_lookup(dc, s, AF_INET, a, want);
			}
		}
	}
	assert_int_equal(dnscache_count(dc), CAP);
	dnscache_free(dc);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_answers),
		cmocka_unit_test(test_aaaa_answer),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_cname_chain_and_skipping),
		cmocka_unit_test(test_header_only_and_root),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_compression_pointers),
		cmocka_unit_test(test_multiple_questions),
		cmocka_unit_test(test_other_classes_and_opcodes),
		cmocka_unit_test(test_ttl_top_bit),
		cmocka_unit_test(test_answer_limit),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_pointer_loops),
		cmocka_unit_test(test_label_too_long),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_name_text_too_long),
		cmocka_unit_test(test_bad_rdata),
		cmocka_unit_test(test_short_and_null),
		cmocka_unit_test(test_truncated_every_offset),
		cmocka_unit_test(test_tcp_framing),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_regressions),
		cmocka_unit_test(test_cache_cname_chain),
		cmocka_unit_test(test_cache_replacement),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_cache_sessions_and_families),
		cmocka_unit_test(test_cache_ignores_non_answers),
		cmocka_unit_test(test_cache_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
