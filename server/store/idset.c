/* idset.c — open-addressing set of id prefixes (idset.h). */
#include "server/store/idset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t zero_key[IDSET_KEY];

static size_t slot_of(const uint8_t *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));   /* HMAC output: uniform */
	return (size_t)h & (cap - 1);
}

/* Inserts into k (cap slots, room guaranteed); true when it was new. */
static bool put(uint8_t (*k)[IDSET_KEY], size_t cap, const uint8_t *id)
{
	size_t i;

	for (i = slot_of(id, cap); memcmp(k[i], zero_key, IDSET_KEY); i = (i + 1) & (cap - 1))
		if (!memcmp(k[i], id, IDSET_KEY))
			return false;
	memcpy(k[i], id, IDSET_KEY);
	return true;
}

static int grow(struct idset *s)
{
	size_t cap = s->cap ? 2 * s->cap : 1024, i;
	uint8_t (*k)[IDSET_KEY] = calloc(cap, IDSET_KEY);

	if (!k)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (memcmp(s->k[i], zero_key, IDSET_KEY))
			put(k, cap, s->k[i]);
	free(s->k);
	s->k = k;
	s->cap = cap;
	return 0;
}

int idset_add(struct idset *s, const uint8_t *id)
{
	if (!memcmp(id, zero_key, IDSET_KEY)) {
		bool was = s->zero;

		s->zero = true;
		return was ? 0 : 1;
	}
	if (2 * (s->n + 1) > s->cap && grow(s) < 0)
		return -ENOMEM;
	if (!put(s->k, s->cap, id))
		return 0;
	s->n++;
	return 1;
}

bool idset_has(const struct idset *s, const uint8_t *id)
{
	size_t i;

	if (!memcmp(id, zero_key, IDSET_KEY))
		return s->zero;
	if (!s->cap)
		return false;
	for (i = slot_of(id, s->cap); memcmp(s->k[i], zero_key, IDSET_KEY); i = (i + 1) & (s->cap - 1))
		if (!memcmp(s->k[i], id, IDSET_KEY))
			return true;
	return false;
}

size_t idset_count(const struct idset *s) { return s->n + (s->zero ? 1 : 0); }

void idset_clear(struct idset *s)
{
	free(s->k);
	memset(s, 0, sizeof(*s));
}
