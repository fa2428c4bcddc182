/* retainer.c — background retention passes (retainer.h). */
#include "server/retainer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/vec.h"
#include "server/retain.h"
#include "server/sweep.h"

struct retainer {
	struct index *idx;
	struct sweeper *sw;                /* kicked after a pass that dropped versions */
	volatile int stop;                 /* retainer_free: a running pass ends */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool quit;
	bool all;                          /* every device is due (start, overflow) */
	int64_t dirty[RETAIN_DIRTY_MAX];   /* devices kicked since their last pass */
	size_t ndirty;
	int64_t first_ms, due_ms;          /* first kick of this round; when due */
	int64_t next_pass_ms;              /* rate limit */
	int64_t quiet_ms;
	uint64_t passes;
};

static int take_dev(void *arg, const struct ident *id)
{
	return vec_push(arg, &id->id);
}

/* One pass over the devices in d (logs its own failures); a sweep is
 * kicked when it dropped versions (sweep.h: at most one per interval). */
static void pass(struct retainer *rt, const struct vec *d)
{
	const int64_t *dev = d->p;
	struct retain_result res;
	uint64_t dropped = 0;
	int r;

	for (size_t i = 0; i < d->n; i++) {
		pthread_mutex_lock(&rt->lock);
		if (rt->quit) {
			pthread_mutex_unlock(&rt->lock);
			return;
		}
		pthread_mutex_unlock(&rt->lock);
		r = retain_apply(rt->idx, dev[i], real_ns(), NULL, NULL, &rt->stop, &res);
		dropped += res.dropped;
		if (r == -ECANCELED)
			break;
		if (r < 0)
			log_errno(r, "retention pass of device %lld", (long long)dev[i]);
		else if (res.dropped)
			log_info("retention: device %lld: %llu of %llu versions dropped",
				 (long long)dev[i], (unsigned long long)res.dropped,
				 (unsigned long long)res.versions);
	}
	if (dropped)
		sweeper_kick(rt->sw);
}

/* Takes the due devices (under the lock): the dirty list, or all. */
static int take_due(struct retainer *rt, struct vec *d)
{
	bool all = rt->all;
	int r = 0;

	d->n = 0;
	for (size_t i = 0; i < rt->ndirty && !all && r == 0; i++)
		r = take_dev(d, &(struct ident){ .id = rt->dirty[i] });
	rt->all = false;
	rt->ndirty = 0;
	rt->first_ms = 0;
	rt->due_ms = INT64_MAX;
	if (all) {
		pthread_mutex_unlock(&rt->lock);
		r = index_ident_list(rt->idx, ROLE_DEVICE, take_dev, d);
		pthread_mutex_lock(&rt->lock);
	}
	return r;
}

static void *worker(void *arg)
{
	struct retainer *rt = arg;
	struct vec d = VEC_INIT(int64_t);
	struct timespec until;
	int64_t now, at;

	pthread_setname_np(pthread_self(), "retainer");   /* top -H */
	pthread_mutex_lock(&rt->lock);
	while (!rt->quit) {
		now = mono_ms();
		at = rt->due_ms > rt->next_pass_ms ? rt->due_ms : rt->next_pass_ms;
		if (now < at) {
			until = deadline_in_ms(at - now < 60000 ? (long)(at - now) : 60000L);
			pthread_cond_timedwait(&rt->wake, &rt->lock, &until);
			continue;
		}
		if (take_due(rt, &d) < 0)
			log_warnx("retention: cannot list the devices; retried later");
		pthread_mutex_unlock(&rt->lock);
		pass(rt, &d);
		pthread_mutex_lock(&rt->lock);
		rt->passes++;
		rt->next_pass_ms = mono_ms() + rt->quiet_ms;
	}
	pthread_mutex_unlock(&rt->lock);
	vec_free(&d);
	return NULL;
}

void retainer_kick(struct retainer *rt, int64_t dev)
{
	bool have = false;
	int64_t now;

	if (!rt)
		return;
	pthread_mutex_lock(&rt->lock);
	for (size_t i = 0; i < rt->ndirty && !have; i++)
		have = rt->dirty[i] == dev;
	if (!have && rt->ndirty < RETAIN_DIRTY_MAX)
		rt->dirty[rt->ndirty++] = dev;
	else if (!have)
		rt->all = true;
	now = mono_ms();
	if (!rt->first_ms)
		rt->first_ms = now;
	/* quiet since the last kick, but not later than the first + max */
	rt->due_ms = now + rt->quiet_ms;
	if (rt->due_ms > rt->first_ms + RETAIN_WAIT_MAX_S * 1000L)
		rt->due_ms = rt->first_ms + RETAIN_WAIT_MAX_S * 1000L;
	pthread_cond_signal(&rt->wake);
	pthread_mutex_unlock(&rt->lock);
}

uint64_t retainer_passes(struct retainer *rt)
{
	uint64_t n;

	pthread_mutex_lock(&rt->lock);
	n = rt->passes;
	pthread_mutex_unlock(&rt->lock);
	return n;
}

int retainer_new(struct index *idx, struct sweeper *sw, struct retainer **out)
{
	struct retainer *rt = calloc(1, sizeof(*rt));
	const char *quiet = getenv("VIGIL_TEST_RETAIN_QUIET_MS");
	int rc;

	*out = NULL;
	if (!rt)
		return -ENOMEM;
	rt->idx = idx;
	rt->sw = sw;
	rt->all = true;     /* every device once at start */
	rt->due_ms = 0;
	rt->quiet_ms = RETAIN_QUIET_S * 1000L;
	if (quiet) {
		long ms = strtol(quiet, NULL, 10);

		if (ms >= 0 && ms <= 3600000)
			rt->quiet_ms = ms;
	}
	pthread_mutex_init(&rt->lock, NULL);
	pthread_cond_init(&rt->wake, NULL);
	if ((rc = pthread_create(&rt->thread, NULL, worker, rt)) != 0) {
		pthread_mutex_destroy(&rt->lock);
		pthread_cond_destroy(&rt->wake);
		free(rt);
		return -rc;
	}
	*out = rt;
	return 0;
}

void retainer_free(struct retainer *rt)
{
	if (!rt)
		return;
	pthread_mutex_lock(&rt->lock);
	rt->quit = true;
	rt->stop = 1;   /* a pass under way ends at its next page */
	pthread_cond_signal(&rt->wake);
	pthread_mutex_unlock(&rt->lock);
	pthread_join(rt->thread, NULL);
	pthread_mutex_destroy(&rt->lock);
	pthread_cond_destroy(&rt->wake);
	free(rt);
}
