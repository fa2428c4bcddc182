/* mux_limit.c — a bound on stream handler threads shared by several
 * connections (a server's many muxes): a counter of slots, a queue of
 * handlers waiting for one, and the hand-over of a freed slot to the
 * connection of the oldest waiter whose share allows it. */
#include <errno.h>
#include <stdlib.h>

#include "common/mux_int.h"

struct mux_limit *mux_limit_new(unsigned max, unsigned share)
{
	struct mux_limit *l;

	if (max == 0 || share == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (!(l = calloc(1, sizeof(*l))))
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	l->max = max;
	l->share = share;
	return l;
}

void mux_limit_free(struct mux_limit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

void mux_limit_stats(struct mux_limit *l, struct mux_limit_stats *out)
{
	pthread_mutex_lock(&l->lock);
	out->running = l->running;
	out->waiting = l->nwait;
	out->peak = l->peak;
	out->waited = l->waited;
	pthread_mutex_unlock(&l->lock);
}

int mux_limit_enter(struct mux_limit *l, struct handler *h)
{
	int queued = 0;

	pthread_mutex_lock(&l->lock);
	if (l->running < l->max && h->m->limit_held < l->share) {
		l->running++;
		h->m->limit_held++;
		if (l->running > l->peak)
			l->peak = l->running;
	} else {
		h->next = NULL;
		if (l->wq_tail)
			l->wq_tail->next = h;
		else
			l->wq = h;
		l->wq_tail = h;
		l->nwait++;
		l->waited++;
		queued = 1;
	}
	pthread_mutex_unlock(&l->lock);
	return queued;
}

/* Unlinks h from the queue; prev is its predecessor or NULL (lock held). */
static void unqueue(struct mux_limit *l, struct handler *prev, struct handler *h)
{
	if (prev)
		prev->next = h->next;
	else
		l->wq = h->next;
	if (l->wq_tail == h)
		l->wq_tail = prev;
	l->nwait--;
	h->next = NULL;
}

/* One slot is free: to the oldest waiter allowed it, else to the pool
 * (lock held).  The waiter's mux is alive: mux_limit_drop takes its
 * handlers off the queue, under this lock, before it is freed. */
static void hand_over(struct mux_limit *l)
{
	struct handler *h, *prev = NULL;
	struct mux *m;

	for (h = l->wq; h && h->m->limit_held >= l->share; h = h->next)
		prev = h;
	if (!h) {
		l->running--;
		return;
	}
	unqueue(l, prev, h);
	m = h->m;
	m->limit_held++;
	h->next = __atomic_load_n(&m->granted, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&m->granted, &h->next, h, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	mux_wake(m);
}

void mux_limit_leave(struct mux_limit *l, struct mux *m)
{
	pthread_mutex_lock(&l->lock);
	m->limit_held--;
	hand_over(l);
	pthread_mutex_unlock(&l->lock);
}

void mux_limit_drop(struct mux_limit *l, struct mux *m)
{
	struct handler *h, *prev = NULL, *next;

	pthread_mutex_lock(&l->lock);
	for (h = l->wq; h; h = next) {
		next = h->next;
		if (h->m == m) {
			unqueue(l, prev, h);
			free(h);
		} else {
			prev = h;
		}
	}
	h = __atomic_exchange_n(&m->granted, NULL, __ATOMIC_ACQUIRE);
	for (; h; h = next) {
		next = h->next;
		free(h);
		m->limit_held--;
		hand_over(l);
	}
	pthread_mutex_unlock(&l->lock);
}
