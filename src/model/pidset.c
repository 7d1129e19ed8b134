#include "model/pidset.h"

#include <stdlib.h>

#define EMPTY 0u
#define DELETED UINT32_MAX

static size_t slot_of(uint32_t pid, size_t cap)
{
	return (size_t)((pid * 2654435761u) & (cap - 1));
}

int pidset_init(struct pidset *s)
{
	s->cap = 256;
	s->used = s->filled = 0;
	s->keys = calloc(s->cap, sizeof(*s->keys));
	s->vals = calloc(s->cap, sizeof(*s->vals));
	if (!s->keys || !s->vals) {
		pidset_free(s);
		return -1;
	}
	return 0;
}

void pidset_free(struct pidset *s)
{
	free(s->keys);
	free(s->vals);
	s->keys = NULL;
	s->vals = NULL;
	s->cap = s->used = s->filled = 0;
}

static int grow(struct pidset *s)
{
	struct pidset n = { 0 };
	size_t newcap = s->used * 4 > s->cap ? s->cap * 2 : s->cap;

	n.cap = newcap;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->keys[i] != EMPTY && s->keys[i] != DELETED)
			pidset_put(&n, s->keys[i], s->vals[i]);
	free(s->keys);
	free(s->vals);
	*s = n;
	return 0;
}

int pidset_put(struct pidset *s, uint32_t pid, uint64_t session)
{
	size_t i, tomb = SIZE_MAX;

	if (pid == EMPTY || pid == DELETED)
		return -1;
	if ((s->filled + 1) * 2 > s->cap && grow(s))
		return -1;
	for (i = slot_of(pid, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (s->keys[i] == pid) {
			s->vals[i] = session;
			return 0;
		}
		if (s->keys[i] == DELETED && tomb == SIZE_MAX)
			tomb = i;
		if (s->keys[i] == EMPTY)
			break;
	}
	if (tomb != SIZE_MAX)
		i = tomb;
	else
		s->filled++;
	s->keys[i] = pid;
	s->vals[i] = session;
	s->used++;
	return 0;
}

static size_t find(const struct pidset *s, uint32_t pid)
{
	if (!s->cap || pid == EMPTY || pid == DELETED)
		return SIZE_MAX;
	for (size_t i = slot_of(pid, s->cap), n = 0; n < s->cap; i = (i + 1) & (s->cap - 1), n++) {
		if (s->keys[i] == pid)
			return i;
		if (s->keys[i] == EMPTY)
			break;
	}
	return SIZE_MAX;
}

int pidset_get(const struct pidset *s, uint32_t pid, uint64_t *session)
{
	size_t i = find(s, pid);

	if (i == SIZE_MAX)
		return 0;
	if (session)
		*session = s->vals[i];
	return 1;
}

void pidset_del(struct pidset *s, uint32_t pid)
{
	size_t i = find(s, pid);

	if (i == SIZE_MAX)
		return;
	s->keys[i] = DELETED;
	s->used--;
}

size_t pidset_count_session(const struct pidset *s, uint64_t session)
{
	size_t n = 0;

	for (size_t i = 0; i < s->cap; i++)
		if (s->keys[i] != EMPTY && s->keys[i] != DELETED && s->vals[i] == session)
			n++;
	return n;
}

int pidset_next(const struct pidset *s, size_t *it, uint32_t *pid, uint64_t *session)
{
	for (; *it < s->cap; (*it)++) {
		if (s->keys[*it] != EMPTY && s->keys[*it] != DELETED) {
			*pid = s->keys[*it];
			*session = s->vals[*it];
			(*it)++;
			return 1;
		}
	}
	return 0;
}
