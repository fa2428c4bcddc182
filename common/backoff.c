/* backoff.c — doubling waits with jitter (backoff.h). */
#include "common/backoff.h"

#include <stdlib.h>
#include <unistd.h>

#include "common/clock.h"

void backoff_init(struct backoff *b, int min_ms, int max_ms)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	b->base_ms = min_ms;
	b->seed = (unsigned)getpid() ^ (unsigned)mono_ns() ^ (unsigned)(size_t)b;
}

int backoff_next(struct backoff *b)
{
	int base = b->base_ms, jitter = (int)(rand_r(&b->seed) % (unsigned)(base / 2 + 1));

	b->base_ms = base > b->max_ms / 2 ? b->max_ms : base * 2;
	return base - base / 4 + jitter;
}

void backoff_reset(struct backoff *b)
{
	b->base_ms = b->min_ms;
}
