/* resent.c — bytes re-sent by retried uploads (resent.h). */
#include "daemon/resent.h"

#include <string.h>

void resent_init(struct resent *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
}

void resent_destroy(struct resent *r)
{
	pthread_mutex_destroy(&r->mu);
}

/* The slot of id, or the one to take for it (free, else least recent). */
static size_t slot_of(const struct resent *r, const uint8_t id[16], bool *found)
{
	size_t pick = 0;

	*found = false;
	for (size_t i = 0; i < RESENT_SLOTS; i++) {
		if (r->e[i].used && !memcmp(r->e[i].id, id, 16)) {
			*found = true;
			return i;
		}
		if (r->e[i].used < r->e[pick].used)
			pick = i;
	}
	return pick;
}

uint64_t resent_note(struct resent *r, const uint8_t id[16], uint64_t from, uint64_t to,
		     bool done)
{
	uint64_t again = 0;
	bool found;
	size_t i;

	pthread_mutex_lock(&r->mu);
	i = slot_of(r, id, &found);
	if (!found && (done || to <= from)) {
		pthread_mutex_unlock(&r->mu);
		return 0;   /* nothing to remember */
	}
	if (!found) {
		memcpy(r->e[i].id, id, 16);
		r->e[i].sent_to = 0;
	}
	if (r->e[i].sent_to > from)
		again = (r->e[i].sent_to < to ? r->e[i].sent_to : to) - from;
	if (to > r->e[i].sent_to)
		r->e[i].sent_to = to;
	r->e[i].used = ++r->clock;
	if (done)
		r->e[i].used = 0;
	pthread_mutex_unlock(&r->mu);
	return again;
}
