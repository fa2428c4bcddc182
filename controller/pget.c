/* pget.c — parallel ranged read delivered in order (see pget.h).
 *
 * Range i lives in slot i % PGET_SLOTS and may be claimed only once range
 * i - PGET_SLOTS was drained, so a slot is never shared.  Workers fill
 * slots; the calling thread drains them in order into the sink.  The range
 * at the head (the next to drain) is drained while it arrives, every
 * PGET_STEP bytes, so its bytes reach the sink while they are still in the
 * CPU's cache; the ranges behind it wait whole in their slots.  The first
 * failure stops everything: workers claim nothing more and the caller
 * returns as soon as the failure is seen. */
#include "controller/pget.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

enum { SLOT_IDLE = 0, SLOT_FILLING, SLOT_READY };

#define PGET_STEP (256u << 10)   /* the head range is drained in pieces of this */

struct pget;

struct pslot {
	struct pget *p;
	uint8_t *buf;
	uint64_t range;     /* which range it holds */
	size_t want;
	size_t got;         /* filled so far: written by the worker (atomic) */
	size_t taken;       /* handed to the sink so far (drain only) */
	int state;
};

struct pget {
	pthread_mutex_t lock;
	pthread_cond_t cond;          /* a slot filled or drained, or a failure */
	uint64_t size, nranges;
	uint64_t next;                /* next range to claim */
	uint64_t drained;             /* ranges handed to the sink */
	struct pslot slot[PGET_SLOTS];
	pget_range_fn fetch;
	void *fetch_arg;
	const volatile sig_atomic_t *cancel;
	volatile sig_atomic_t stop;   /* 1 once err is set: for the fetches */
	int err;                      /* first failure, 0 while none */
	char why[256];
};

static bool stopped(const struct pget *p)
{
	return p->err != 0 || (p->cancel && *p->cancel);
}

/* Waits for a change, or 200 ms: *cancel is set by a signal handler,
 * which cannot signal the condition (lock held). */
static void wait_a_while(struct pget *p)
{
	struct timespec ts = deadline_in_ms(200);

	pthread_cond_timedwait(&p->cond, &p->lock, &ts);
}

/* Records the first failure (lock held). */
static void fail_locked(struct pget *p, int err, const char *why)
{
	if (p->err)
		return;
	p->err = err;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);   /* read unlocked by the fetches */
	snprintf(p->why, sizeof(p->why), "%s", why);
	pthread_cond_broadcast(&p->cond);
}

/* restore_sink_fn of a range: into its slot, never past its length.  The
 * drain is told when the head range has another PGET_STEP. */
static int slot_sink(void *arg, const void *data, size_t n)
{
	struct pslot *s = arg;
	size_t got = __atomic_load_n(&s->got, __ATOMIC_RELAXED);

	if (n > s->want - got)
		return -EFBIG;
	memcpy(s->buf + got, data, n);
	__atomic_store_n(&s->got, got + n, __ATOMIC_RELEASE);
	if ((got + n) / PGET_STEP != got / PGET_STEP &&
	    __atomic_load_n(&s->p->drained, __ATOMIC_RELAXED) == s->range) {
		pthread_mutex_lock(&s->p->lock);
		pthread_cond_broadcast(&s->p->cond);
		pthread_mutex_unlock(&s->p->lock);
	}
	return 0;
}

/* Claims the next range whose slot is free (lock held); NULL: no more. */
static struct pslot *claim(struct pget *p)
{
	struct pslot *s;

	while (!stopped(p) && p->next < p->nranges && p->next >= p->drained + PGET_SLOTS)
		pthread_cond_wait(&p->cond, &p->lock);
	if (stopped(p) || p->next >= p->nranges)
		return NULL;
	s = &p->slot[p->next % PGET_SLOTS];
	s->range = p->next++;
	s->want = s->range + 1 == p->nranges ? (size_t)(p->size - s->range * PGET_RANGE) : PGET_RANGE;
	s->got = 0;
	s->taken = 0;
	s->state = SLOT_FILLING;
	return s;
}

static void *worker(void *arg)
{
	struct pget *p = arg;
	struct pslot *s;
	char why[256];
	int r;

	pthread_mutex_lock(&p->lock);
	while ((s = claim(p))) {
		pthread_mutex_unlock(&p->lock);
		why[0] = '\0';
		r = p->fetch(p->fetch_arg, s->range * PGET_RANGE, s->want, slot_sink, s, &p->stop,
			     why, sizeof(why));
		if (r == 0 && __atomic_load_n(&s->got, __ATOMIC_ACQUIRE) != s->want)
			r = -EBADMSG;
		pthread_mutex_lock(&p->lock);
		if (r == -EFBIG)
			fail_locked(p, r, "server sent more than the range asked for");
		else if (r == -EBADMSG && !why[0])
			fail_locked(p, r, "short content from the server");
		else if (r < 0)
			fail_locked(p, r, why[0] ? why : strerror(-r));
		else
			s->state = SLOT_READY;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Bytes of the head slot s ready to drain now (lock held): what has come
 * once the range is whole, else only PGET_STEP or more. */
static size_t ready_bytes(const struct pget *p, const struct pslot *s)
{
	size_t got;

	if (s->range != p->drained || s->state == SLOT_IDLE)
		return 0;
	got = __atomic_load_n(&s->got, __ATOMIC_ACQUIRE);
	if (s->state == SLOT_READY)
		return got - s->taken;
	return got - s->taken >= PGET_STEP ? (got - s->taken) / PGET_STEP * PGET_STEP : 0;
}

/* Hands the ranges to sink in order (the calling thread). */
static int drain(struct pget *p, restore_sink_fn sink, void *sink_arg)
{
	int r = 0;

	pthread_mutex_lock(&p->lock);
	while (p->drained < p->nranges && r == 0) {
		struct pslot *s = &p->slot[p->drained % PGET_SLOTS];
		size_t n;

		while (!stopped(p) && (n = ready_bytes(p, s)) == 0 &&
		       !(s->state == SLOT_READY && s->range == p->drained))
			wait_a_while(p);
		if (stopped(p)) {
			r = p->err ? p->err : -EINTR;
			break;
		}
		n = ready_bytes(p, s);
		pthread_mutex_unlock(&p->lock);
		if (n > 0)
			r = sink(sink_arg, s->buf + s->taken, n);
		pthread_mutex_lock(&p->lock);
		s->taken += n;
		if (r < 0)
			fail_locked(p, r, "");   /* the caller words the sink's own failures */
		else if (s->state == SLOT_READY && s->taken == s->want) {
			s->state = SLOT_IDLE;
			__atomic_store_n(&p->drained, p->drained + 1, __ATOMIC_RELAXED);
			pthread_cond_broadcast(&p->cond);
		}
	}
	if (r == 0 && stopped(p))
		r = p->err ? p->err : -EINTR;
	if (r == -EINTR && !p->err)
		fail_locked(p, r, "interrupted");
	pthread_mutex_unlock(&p->lock);
	return r;
}

int pget_run(uint64_t size, int workers, pget_range_fn fetch, void *fetch_arg,
	     restore_sink_fn sink, void *sink_arg, const volatile sig_atomic_t *cancel,
	     char *err, size_t errlen)
{
	struct pget p = { .size = size, .fetch = fetch, .fetch_arg = fetch_arg, .cancel = cancel };
	pthread_t tid[PGET_WORKERS_MAX];
	int i, n = 0, r;

	p.nranges = (size + PGET_RANGE - 1) / PGET_RANGE;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	r = 0;
	for (i = 0; i < PGET_SLOTS && (uint64_t)i < p.nranges && r == 0; i++)
		if (!(p.slot[i].buf = malloc(PGET_RANGE)))
			r = -ENOMEM;
	for (i = 0; i < PGET_SLOTS; i++)
		p.slot[i].p = &p;
	if (workers < 1 || workers > PGET_WORKERS_MAX)
		workers = workers < 1 ? 1 : PGET_WORKERS_MAX;
	for (i = 0; i < workers && r == 0 && (uint64_t)i < p.nranges; i++) {
		if (pthread_create(&tid[n], NULL, worker, &p) != 0)
			break;
		n++;
	}
	if (r == 0 && n == 0)
		r = -EAGAIN;
	if (r == 0)
		r = drain(&p, sink, sink_arg);
	pthread_mutex_lock(&p.lock);
	if (r < 0)
		fail_locked(&p, r, "");   /* workers stop claiming */
	pthread_mutex_unlock(&p.lock);
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	if (r < 0)
		snprintf(err, errlen, "%s", p.why);
	for (i = 0; i < PGET_SLOTS; i++)
		free(p.slot[i].buf);
	pthread_mutex_destroy(&p.lock);
	pthread_cond_destroy(&p.cond);
	return r;
}
