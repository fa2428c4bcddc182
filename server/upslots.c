/* upslots.c — per-device slots for heavy uploads (upslots.h).  A short
 * array of the devices holding slots: entries are dropped when their count
 * falls to zero, so it holds at most one entry per upload in progress. */
#include "server/upslots.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/clock.h"
#include "common/vec.h"

#define POLL_MS 200   /* how often a waiter asks whether its peer is gone */

struct slot { int64_t dev; unsigned held; };

struct upslots {
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* broadcast when a slot frees */
	unsigned per_dev;
	struct vec s;            /* struct slot */
};

struct upslots *upslots_new(unsigned per_dev)
{
	struct upslots *u = calloc(1, sizeof(*u));
	pthread_condattr_t ca;

	if (!u)
		return NULL;
	pthread_mutex_init(&u->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->cond, &ca);
	pthread_condattr_destroy(&ca);
	u->per_dev = per_dev ? per_dev : 1;
	vec_init(&u->s, sizeof(struct slot));
	return u;
}

void upslots_free(struct upslots *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	vec_free(&u->s);
	free(u);
}

/* dev's entry, created when add; NULL when absent (or out of memory). */
static struct slot *find(struct upslots *u, int64_t dev, bool add)
{
	struct slot *s = u->s.p, *ns;

	for (size_t i = 0; i < u->s.n; i++)
		if (s[i].dev == dev)
			return &s[i];
	if (!add)
		return NULL;
	if ((ns = vec_add(&u->s)))
		ns->dev = dev;
	return ns;
}

static void wait_poll(struct upslots *u)
{
	struct timespec ts = mono_deadline_in_ms(POLL_MS);

	pthread_cond_timedwait(&u->cond, &u->lock, &ts);
}

int upslots_take(struct upslots *u, int64_t dev, bool (*gone)(void *arg), void *arg)
{
	struct slot *s;
	int r = 0;

	pthread_mutex_lock(&u->lock);
	for (;;) {
		if (!(s = find(u, dev, true))) {
			r = -ENOMEM;
			break;
		}
		if (s->held < u->per_dev) {
			s->held++;
			break;
		}
		if (gone && gone(arg)) {
			r = -ECANCELED;
			break;
		}
		wait_poll(u);
	}
	pthread_mutex_unlock(&u->lock);
	return r;
}

void upslots_give(struct upslots *u, int64_t dev)
{
	struct slot *s;

	pthread_mutex_lock(&u->lock);
	if ((s = find(u, dev, false)) && s->held > 0 && --s->held == 0)
		*s = ((struct slot *)u->s.p)[--u->s.n];   /* drop the entry: move the last one here */
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

unsigned upslots_held(struct upslots *u, int64_t dev)
{
	struct slot *s;
	unsigned n;

	pthread_mutex_lock(&u->lock);
	n = (s = find(u, dev, false)) ? s->held : 0;
	pthread_mutex_unlock(&u->lock);
	return n;
}
