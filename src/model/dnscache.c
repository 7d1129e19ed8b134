/* SPDX-License-Identifier: MIT */
/*
 * The cache is a fixed array of entries, an open-addressing hash table
 * (linear probing, at most half full) of indexes into that array, and a
 * doubly-linked list through the entries in the order they were added or
 * last replaced. A full cache evicts the head of that list. Everything is
 * allocated by dnscache_new; adding never allocates.
 */
#include "model/dnscache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DC_NONE UINT32_MAX  /* no entry (list ends) */
#define DC_KEY_V4 4
#define DC_KEY_V6 6

struct dc_key {
	uint64_t session;
	uint8_t family;         /* DC_KEY_V4 or DC_KEY_V6 */
	uint8_t addr[16];       /* IPv4: first 4 bytes, the rest zero */
};

struct dc_entry {
	struct dc_key key;
	uint32_t prev;          /* toward the oldest entry */
	uint32_t next;          /* toward the newest entry */
	char name[DNS_NAME_MAX];
};

struct dnscache {
	size_t capacity;
	size_t count;           /* entries[0..count) are in use */
	struct dc_entry *entries;
	uint32_t *slots;        /* 0 = empty, else index into entries + 1 */
	size_t mask;            /* number of slots - 1, a power of two minus 1 */
	uint32_t oldest;
	uint32_t newest;
};

static const uint8_t v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static bool make_key(uint64_t session, int family, const uint8_t addr[16], struct dc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->session = session;
	if (family == AF_INET) {
		k->family = DC_KEY_V4;
		memcpy(k->addr, addr, 4);
	} else if (family == AF_INET6 &&
		   memcmp(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		k->family = DC_KEY_V4;
		memcpy(k->addr, addr + sizeof(v4_mapped_prefix), 4);
	} else if (family == AF_INET6) {
		k->family = DC_KEY_V6;
		memcpy(k->addr, addr, 16);
	} else {
		return false;
	}
	return true;
}

static bool key_equal(const struct dc_key *a, const struct dc_key *b)
{
	return a->session == b->session && a->family == b->family &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* A 64-bit finalizer: every input bit affects every output bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	x ^= x >> 33;
	return x;
}

static size_t key_home(const struct dnscache *dc, const struct dc_key *k)
{
	uint64_t lo, hi, h;

	memcpy(&lo, k->addr, sizeof(lo));
	memcpy(&hi, k->addr + sizeof(lo), sizeof(hi));
	h = mix64(k->session ^ k->family);
	h = mix64(h ^ lo);
	h = mix64(h ^ hi);
	return (size_t)h & dc->mask;
}

/*
 * The slot holding k (*found = true) or the empty slot where k would go.
 * The table is never more than half full, so the probe always ends.
 */
static size_t find_slot(const struct dnscache *dc, const struct dc_key *k, bool *found)
{
	size_t i = key_home(dc, k);

	for (;;) {
		uint32_t v = dc->slots[i];

		if (v == 0) {
			*found = false;
			return i;
		}
		if (key_equal(&dc->entries[v - 1].key, k)) {
			*found = true;
			return i;
		}
		i = (i + 1) & dc->mask;
	}
}

/* Empties slot hole, moving later entries of its probe run back into it so
 * that every entry stays reachable from its home slot. */
static void clear_slot(struct dnscache *dc, size_t hole)
{
	size_t i = hole;

	for (;;) {
		uint32_t v;
		size_t home;

		i = (i + 1) & dc->mask;
		v = dc->slots[i];
		if (v == 0)
			break;
		home = key_home(dc, &dc->entries[v - 1].key);
		/* movable unless its home lies in the cyclic range (hole, i] */
		if (((i - home) & dc->mask) >= ((i - hole) & dc->mask)) {
			dc->slots[hole] = v;
			hole = i;
		}
	}
	dc->slots[hole] = 0;
}

static void list_unlink(struct dnscache *dc, uint32_t idx)
{
	struct dc_entry *e = &dc->entries[idx];

	if (e->prev != DC_NONE)
		dc->entries[e->prev].next = e->next;
	else
		dc->oldest = e->next;
	if (e->next != DC_NONE)
		dc->entries[e->next].prev = e->prev;
	else
		dc->newest = e->prev;
	e->prev = e->next = DC_NONE;
}

static void list_append(struct dnscache *dc, uint32_t idx)
{
	struct dc_entry *e = &dc->entries[idx];

	e->prev = dc->newest;
	e->next = DC_NONE;
	if (dc->newest != DC_NONE)
		dc->entries[dc->newest].next = idx;
	else
		dc->oldest = idx;
	dc->newest = idx;
}

static void copy_name(char dst[DNS_NAME_MAX], const char *src)
{
	size_t n = strnlen(src, DNS_NAME_MAX - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct dnscache *dnscache_new(size_t capacity)
{
	struct dnscache *dc;
	size_t nslots = 2;

	if (capacity == 0 || capacity > DNSCACHE_CAPACITY_MAX) {
		errno = EINVAL;
		return NULL;
	}
	while (nslots < 2 * capacity)
		nslots *= 2;
	dc = calloc(1, sizeof(*dc));
	if (!dc)
		return NULL;
	dc->entries = calloc(capacity, sizeof(*dc->entries));
	dc->slots = calloc(nslots, sizeof(*dc->slots));
	if (!dc->entries || !dc->slots) {
		dnscache_free(dc);
		errno = ENOMEM;
		return NULL;
	}
	dc->capacity = capacity;
	dc->mask = nslots - 1;
	dc->oldest = dc->newest = DC_NONE;
	return dc;
}

void dnscache_free(struct dnscache *dc)
{
	if (!dc)
		return;
	free(dc->entries);
	free(dc->slots);
	free(dc);
}

static void add_one(struct dnscache *dc, const struct dc_key *k, const char *name)
{
	bool found;
	size_t slot = find_slot(dc, k, &found);
	uint32_t idx;

	if (found) {
		idx = dc->slots[slot] - 1;
		list_unlink(dc, idx);
	} else {
		if (dc->count == dc->capacity) {
			bool victim_found;
			size_t victim_slot;

			idx = dc->oldest;
			victim_slot = find_slot(dc, &dc->entries[idx].key, &victim_found);
			if (!victim_found)
				return; /* cannot happen: every entry is in the table */
			clear_slot(dc, victim_slot);
			list_unlink(dc, idx);
			/* clearing may have moved entries: look again */
			slot = find_slot(dc, k, &found);
		} else {
			idx = (uint32_t)dc->count++;
		}
		dc->entries[idx].key = *k;
		dc->slots[slot] = idx + 1;
	}
	copy_name(dc->entries[idx].name, name);
	list_append(dc, idx);
}

/*
 * The name at the start of the CNAME chain that ends at owner: follow CNAME
 * records backwards from owner. Each step moves to another record, so at most
 * n steps are taken even if the records form a loop.
 */
static const char *chain_start(const struct dns_msg *m, size_t n, const char *owner)
{
	const char *name = owner;

	for (size_t step = 0; step < n; step++) {
		const char *from = NULL;

		for (size_t i = 0; i < n && !from; i++) {
			const struct dns_rr *rr = &m->answers[i];

			if (rr->type == DNS_TYPE_CNAME &&
			    strncmp(rr->target, name, DNS_NAME_MAX) == 0)
				from = rr->name;
		}
		if (!from)
			break;
		name = from;
	}
	return name;
}

void dnscache_add_msg(struct dnscache *dc, uint64_t session, const struct dns_msg *m)
{
	size_t n;

	if (!dc || !m || !m->response || m->rcode != DNS_RCODE_NOERROR)
		return;
	n = m->n_answers < DNS_MAX_ANSWERS ? m->n_answers : DNS_MAX_ANSWERS;
	for (size_t i = 0; i < n; i++) {
		const struct dns_rr *rr = &m->answers[i];
		const char *name;
		struct dc_key k;

		if (rr->type != DNS_TYPE_A && rr->type != DNS_TYPE_AAAA)
			continue;
		if (!make_key(session, rr->family, rr->addr, &k))
			continue;
		name = chain_start(m, n, rr->name);
		if (name[0] == '\0')
			continue;
		add_one(dc, &k, name);
	}
}

const char *dnscache_lookup(const struct dnscache *dc, uint64_t session, int family,
			    const uint8_t addr[16])
{
	struct dc_key k;
	bool found;
	size_t slot;

	if (!dc || !addr || !make_key(session, family, addr, &k))
		return NULL;
	slot = find_slot(dc, &k, &found);
	if (!found)
		return NULL;
	return dc->entries[dc->slots[slot] - 1].name;
}

size_t dnscache_count(const struct dnscache *dc)
{
	return dc ? dc->count : 0;
}
