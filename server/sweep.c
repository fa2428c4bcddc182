/* sweep.c — one sweep from the index's roots, and the server's sweep
 * thread: when it sweeps, kicks and requests (sweep.h). */
#include "server/sweep.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/vec.h"
#include "server/store/content.h"

#define ROOTS_PAGE 1024

/* The devices' keys (one array: content_mark_uploads takes it whole) and,
 * beside each, its device and an id context made when first needed. */
struct devmac { int64_t dev; struct store_idmac *mac; };
struct devkeys {
	struct vec key;   /* struct devkey */
	struct vec dev;   /* struct devmac: dev[i] goes with key[i] */
};

static int devkeys_add(void *arg, const struct ident *id)
{
	struct devkeys *k = arg;
	struct devkey *key;

	/* both or neither, so the two arrays stay in step */
	if (vec_reserve(&k->key, 1) < 0 || vec_reserve(&k->dev, 1) < 0)
		return -ENOMEM;
	key = vec_add(&k->key);
	memcpy(key->k, id->devkey, 32);
	return vec_push(&k->dev, &(struct devmac){ .dev = id->id });
}

static void devkeys_free(struct devkeys *k)
{
	struct devmac *d = k->dev.p;

	for (size_t i = 0; i < k->dev.n; i++)
		store_idmac_free(d[i].mac);
	vec_free(&k->key);
	vec_free(&k->dev);
}

static struct store_idmac *devkeys_mac(struct devkeys *k, int64_t dev)
{
	struct devmac *d = k->dev.p;

	for (size_t i = 0; i < k->dev.n; i++)
		if (d[i].dev == dev) {
			if (!d[i].mac)
				d[i].mac = store_idmac_new((struct devkey *)k->key.p + i);
			return d[i].mac;
		}
	return NULL;
}

/* The pins made since the last call (all held ones, the first time);
 * finish: when none are left, the sweep moves on to deleting. */
static int mark_pins(struct store *st, struct sweep_result *out, bool finish)
{
	struct store_root *p;
	bool deleting = false;
	size_t n, i;
	int r;

	do {
		if ((r = store_sweep_pins(st, &p, &n, finish, &deleting)) < 0)
			return r;
		for (i = 0; i < n; i++) {
			struct store_idmac *mac = store_idmac_new(&p[i].key);

			/* a pin's tree may be partly gone (a dropped version):
			 * what can be read is marked, the rest was garbage */
			if (!mac)
				r = -ENOMEM;
			else
				(void)content_mark_tree(st, mac, p[i].root, p[i].size, &out->pages);
			store_idmac_free(mac);
			out->pins++;
		}
		free(p);
	} while (r == 0 && n > 0 && (finish ? !deleting : false));
	return r;
}

/* Every live file version's tree.  A tree that cannot be read stops the
 * sweep before it deletes anything (-EIO). */
static int mark_versions(struct store *st, struct index *idx, struct devkeys *k,
			 struct sweep_result *out)
{
	struct index_root *rt = malloc(ROOTS_PAGE * sizeof(*rt));
	int64_t after = 0;
	int n, i, r = 0;

	if (!rt)
		return -ENOMEM;
	while (r == 0 && (n = index_roots(idx, after, rt, ROOTS_PAGE)) > 0) {
		for (i = 0; i < n && r == 0; i++) {
			struct store_idmac *mac = devkeys_mac(k, rt[i].dev);
			int m;

			out->roots++;
			if (!mac) {   /* no key (or no memory): its tree is not marked */
				out->unreadable++;
				continue;
			}
			m = content_mark_tree(st, mac, rt[i].content_root, rt[i].size, &out->pages);
			if (m == -ENOMEM)
				r = m;
			else if (m < 0)
				out->unreadable++;
		}
		after = rt[n - 1].id;
	}
	free(rt);
	if (r == 0 && n < 0)
		r = n;
	return r == 0 && out->unreadable ? -EIO : r;
}

static int mark_all(struct store *st, struct index *idx, struct sweep_result *out)
{
	struct devkeys k = { VEC_INIT(struct devkey), VEC_INIT(struct devmac) };
	int r;

	r = index_ident_list(idx, ROLE_DEVICE, devkeys_add, &k);
	/* states first: one gone by then was removed after its version was
	 * committed, so the versions read next hold it */
	if (r == 0)
		r = content_mark_uploads(st, k.key.p, k.key.n, &out->states);
	if (r == 0)
		r = mark_pins(st, out, false);
	if (r == 0)
		r = mark_versions(st, idx, &k, out);
	if (r == 0)
		r = mark_pins(st, out, true);
	devkeys_free(&k);
	return r;
}

int sweep_max_unused_parse(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || errno || (*end && strcmp(end, "%")) || v < 0 || v > 100)
		return -EINVAL;
	return (int)v;
}

int sweep_run(struct store *st, struct index *idx, int wait_ms, int max_unused,
	      const volatile int *cancel, struct sweep_result *out)
{
	int64_t t0 = mono_ns();
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_sweep_begin(st)) < 0)
		return out->err = r;
	r = store_sweep_wait(st, wait_ms);
	if (r == 0)
		r = mark_all(st, idx, out);
	if (r == 0)
		r = store_sweep_delete(st, NULL);
	if (r == 0)
		r = store_sweep_compact(st, max_unused < 0 ? SWEEP_MAX_UNUSED_DEFAULT : max_unused,
					cancel);
	store_sweep_end(st, &out->s);
	out->seconds = (double)(mono_ns() - t0) / 1e9;
	return out->err = r;
}

void sweep_print(FILE *f, const struct sweep_result *r, int json)
{
	if (json) {
		fprintf(f, "{\"deleted\":%" PRIu64 ",\"deleted_bytes\":%" PRIu64 ",\"marked\":%" PRIu64
		       ",\"touched\":%" PRIu64 ",\"kept_touched\":%" PRIu64 ",\"live_bytes\":%" PRIu64
		       ",\"roots\":%" PRIu64 ",\"states\":%" PRIu64 ",\"pins\":%" PRIu64
		       ",\"gen\":%" PRId64 ",\"seconds\":%.3f,\"seq\":%" PRIu64
		   ",\"search_rows\":%" PRIu64 ",", r->s.deleted, r->s.deleted_bytes,
		   r->s.marked, r->s.touched, r->s.kept_touched, r->s.live_bytes, r->roots,
		   r->states, r->pins, r->s.gen, r->seconds, r->seq, r->search_rows);
		fprintf(f, "\"compacted_packs\":%" PRIu64 ",\"removed_packs\":%" PRIu64 ",\"moved\":%"
			PRIu64 ",\"moved_bytes\":%" PRIu64 ",\"reclaimed_bytes\":%" PRIu64
			",\"unreadable_rows\":%" PRIu64 "}\n", r->s.packs_rewritten, r->s.packs_removed,
			r->s.moved, r->s.moved_bytes, r->s.reclaimed_bytes, r->s.unreadable);
		return;
	}
	fprintf(f, "swept: %" PRIu64 " chunks deleted (%" PRIu64 " bytes), %" PRIu64 " marked from %"
	       PRIu64 " versions and %" PRIu64 " upload states, %" PRIu64
	       " kept for uploads running meanwhile; %.1f s\n", r->s.deleted, r->s.deleted_bytes,
	       r->s.marked, r->roots, r->states, r->s.kept_touched, r->seconds);
	fprintf(f, "compacted: %" PRIu64 " packs rewritten (%" PRIu64 " chunks, %" PRIu64
		" bytes moved), %" PRIu64 " packs removed, %" PRIu64 " bytes of disk given back\n",
		r->s.packs_rewritten, r->s.moved, r->s.moved_bytes, r->s.packs_removed,
		r->s.reclaimed_bytes);
}

/* ------------------------------------------------------------- thread */

struct sweeper {
	struct store *st;
	struct index *idx, *widx;
	sweep_after_fn *after;
	void *after_arg;
	volatile int stopping;   /* for after's long loops */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* the thread: a kick, a request, quit */
	pthread_cond_t done;     /* requesters: a sweep ended */
	bool quit;
	bool continuous;
	bool kicked;             /* since the last automatic sweep began */
	uint64_t want;           /* requests: sweep number they wait for */
	int want_mu;             /* their lowest --max-unused, -1: none */
	uint64_t started, ended; /* sweeps of this thread */
	struct sweep_result last;
	int64_t dropped;         /* index rows missing at the last sweep */
	int64_t next_ns;         /* no automatic sweep before */
	int64_t check_ns;        /* next look at the index */
	int64_t interval_ns;
};

static int64_t env_s(const char *name, int64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	long long s;

	if (!v || !*v || !getenv("VIGIL_TEST_HOOKS"))
		return dflt;
	s = strtoll(v, &end, 10);
	return *end || s < 0 ? dflt : s;
}

bool sweep_due(const struct sweep_due_in *in)
{
	if (in->requested || in->continuous)
		return true;
	return in->interval_over && (in->kicked || in->gap);
}

/* Whether versions went missing since the last sweep (looked at every
 * SWEEP_CHECK_S, and only when the interval would allow a sweep). */
static bool index_gap(struct sweeper *sw, int64_t now)
{
	int64_t rows, max_id;

	if (now < sw->check_ns || now < sw->next_ns)
		return false;
	sw->check_ns = now + env_s("VIGIL_SWEEP_CHECK_S", SWEEP_CHECK_S) * 1000000000;
	if (index_version_span(sw->idx, &rows, &max_id) < 0)
		return false;
	return max_id - rows > sw->dropped;
}

static void sweep_once(struct sweeper *sw, int max_unused, struct sweep_result *res)
{
	int64_t rows = 0, max_id = 0;
	int r;

	(void)index_version_span(sw->idx, &rows, &max_id);
	r = sweep_run(sw->st, sw->idx, SWEEP_WAIT_MS, max_unused, &sw->stopping, res);
	if (r == 0)
		sw->dropped = max_id - rows;
	if (r == 0 && sw->after)
		sw->after(sw->after_arg, res, &sw->stopping);
	if (r == -ECANCELED)
		log_info("%s: sweep: compaction stopped, the server is stopping (the next"
			 " sweep goes on)", store_dir(sw->st));
	else if (r < 0)
		log_errno(r, "%s: sweep", store_dir(sw->st));
	else if (res->s.deleted)
		log_info("%s: sweep deleted %" PRIu64 " chunks (%" PRIu64 " bytes) in %.1f s",
			 store_dir(sw->st), res->s.deleted, res->s.deleted_bytes, res->seconds);
	if ((r = sweep_record(sw->widx, res)) < 0)
		log_errno(r, "%s: recording the sweep", store_dir(sw->st));
}

/* Decides under mu; true (kick and request taken) to sweep now, else
 * how long to wait in *wait_ms. */
static bool decide_locked(struct sweeper *sw, long *wait_ms)
{
	int64_t now = mono_ns();
	struct sweep_due_in in = {
		.requested = sw->want > sw->started, .continuous = sw->continuous,
		.kicked = sw->kicked, .interval_over = now >= sw->next_ns,
	};

	if (!sweep_due(&in)) {
		pthread_mutex_unlock(&sw->mu);   /* reads the index */
		in.gap = index_gap(sw, now);
		pthread_mutex_lock(&sw->mu);
	}
	if (!sweep_due(&in) || sw->quit) {
		/* a kick waits for the interval; the index is looked at
		 * when both its period and the interval are over */
		int64_t at = sw->kicked || sw->check_ns < sw->next_ns ? sw->next_ns : sw->check_ns;

		*wait_ms = at <= now ? 1 : (at - now) / 1000000 + 1;
		if (*wait_ms > 60000)
			*wait_ms = 60000;
		return false;
	}
	if (in.interval_over)
		sw->kicked = false;   /* served by this sweep; a later kick is kept */
	return true;
}

static void *sweeper_main(void *arg)
{
	struct sweeper *sw = arg;
	struct sweep_result res;
	long wait_ms;
	int mu;

	pthread_setname_np(pthread_self(), "sweeper");   /* top -H */
	pthread_mutex_lock(&sw->mu);
	while (!sw->quit) {
		if (!decide_locked(sw, &wait_ms)) {
			struct timespec until = deadline_in_ms(wait_ms);

			if (!sw->quit)
				pthread_cond_timedwait(&sw->cv, &sw->mu, &until);
			continue;
		}
		sw->started++;
		mu = sw->want >= sw->started ? sw->want_mu : -1;
		if (sw->want <= sw->started)
			sw->want_mu = -1;   /* every request waiting is served by this one */
		pthread_mutex_unlock(&sw->mu);
		sweep_once(sw, mu, &res);
		pthread_mutex_lock(&sw->mu);
		sw->last = res;
		sw->ended = sw->started;
		sw->next_ns = mono_ns() + sw->interval_ns;
		pthread_cond_broadcast(&sw->done);
	}
	pthread_cond_broadcast(&sw->done);
	pthread_mutex_unlock(&sw->mu);
	return NULL;
}

void sweeper_kick(struct sweeper *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->kicked = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
}

int sweeper_request(struct sweeper *sw, const volatile int *quit, int max_unused,
		    struct sweep_result *out)
{
	uint64_t mine;
	int r = 0;

	pthread_mutex_lock(&sw->mu);
	mine = sw->started + 1;   /* the next one to begin: after this call */
	if (sw->want < mine)
		sw->want = mine;
	if (max_unused >= 0 && (sw->want_mu < 0 || max_unused < sw->want_mu))
		sw->want_mu = max_unused;
	pthread_cond_signal(&sw->cv);
	while (sw->ended < mine && !sw->quit && !(quit && *quit)) {
		struct timespec until = deadline_in_ms(200);   /* to see *quit */

		pthread_cond_timedwait(&sw->done, &sw->mu, &until);
	}
	if (sw->ended < mine)
		r = -ECANCELED;
	else
		*out = sw->last;   /* a later sweep's, if more ended: as new */
	pthread_mutex_unlock(&sw->mu);
	return r ? r : out->err;
}

void sweeper_set_after(struct sweeper *sw, sweep_after_fn *after, void *arg)
{
	pthread_mutex_lock(&sw->mu);
	sw->after = after;
	sw->after_arg = arg;
	pthread_mutex_unlock(&sw->mu);
}

struct sweeper *sweeper_start(struct store *st, struct index *idx, struct index *widx)
{
	struct sweeper *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return NULL;
	sw->st = st;
	sw->idx = idx;
	sw->widx = widx;
	sw->want_mu = -1;
	sw->continuous = env_s("VIGIL_SWEEP_CONTINUOUS", 0) > 0;
	sw->interval_ns = env_s("VIGIL_SWEEP_INTERVAL_S", SWEEP_INTERVAL_S) * 1000000000;
	sw->next_ns = mono_ns() + sw->interval_ns;
	sw->check_ns = mono_ns();
	pthread_mutex_init(&sw->mu, NULL);
	pthread_cond_init(&sw->cv, NULL);
	pthread_cond_init(&sw->done, NULL);
	if (pthread_create(&sw->th, NULL, sweeper_main, sw) != 0) {
		pthread_mutex_destroy(&sw->mu);
		pthread_cond_destroy(&sw->cv);
		pthread_cond_destroy(&sw->done);
		free(sw);
		return NULL;
	}
	return sw;
}

void sweeper_stop(struct sweeper *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->quit = true;
	sw->stopping = 1;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	pthread_join(sw->th, NULL);
	pthread_mutex_destroy(&sw->mu);
	pthread_cond_destroy(&sw->cv);
	pthread_cond_destroy(&sw->done);
	free(sw);
}
