/* intake.c — bounded ring of tracker events, drained by its own thread
 * into the queue; rescans run here too. */
#include "daemon/intake.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/names.h"
#include "daemon/devreport.h"
#include "daemon/simpending.h"

/* The backlog the server shows (`vigil status`) is the command link's
 * device report (devreport.h): the intake pokes it once it queued
 * something.  While nothing changes the intake sleeps until pushed or
 * poked: no timer.
 * STATE/status.json: STATUS_GAP_NS after something moved (the intake took
 * in changes, a shipper shipped, the connection came or went), so it
 * trails the daemon by a fraction of a second, not by a write per batch;
 * and at once when `vigild status` asks (intake_status_now). */
#define STATUS_GAP_NS   (200000000LL)

struct item {
	enum intake_kind kind;
	int64_t when;
	char *path;               /* owned; NULL: every root */
	struct vg_sim *sim;       /* owned; IN_SIM only */
};

struct intake {
	struct vigild *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *ring, *work;
	size_t n;                 /* items in ring */
	bool overflow, stop;
	bool status_dirty;        /* something moved since the last status.json */
	bool status_now;          /* `vigild status` asked: write it now */
	int64_t last_status;      /* intake thread only: mono_ns of the last write */
};

/* Takes ownership of it->path and it->sim; a full ring drops the item,
 * counts it and turns into a rescan of everything. */
static void push_item(struct intake *in, struct item it, bool nomem)
{
	pthread_mutex_lock(&in->mu);
	if (in->n >= INTAKE_RING_MAX || nomem) {
		in->overflow = true;
		free(it.path);
		free(it.sim);
		ctr_add(&in->d->ctr, CTR_DROPS, 1);
	} else {
		in->ring[in->n++] = it;
	}
	pthread_cond_signal(&in->cv);
	pthread_mutex_unlock(&in->mu);
}

void intake_push(struct intake *in, enum intake_kind k, const char *path, int64_t when_ns)
{
	char *p = path ? strdup(path) : NULL;

	/* no memory: fall back to a rescan of everything */
	push_item(in, (struct item){ .kind = k, .when = when_ns, .path = p }, path && !p);
}

void intake_push_sim(struct intake *in, const struct vg_sim *sim)
{
	struct vg_sim *s = malloc(sizeof(*s));

	if (s)
		*s = *sim;
	push_item(in, (struct item){ .kind = IN_SIM, .sim = s }, !s);
}

int intake_scan_all(struct vigild *d)
{
	struct scan_stats st = { 0 };
	int rc = 0, r;

	scan_reload_mounts(&d->scan);
	for (size_t i = 0; i < d->cf->nwatch; i++)
		if ((r = scan_tree(&d->scan, d->cf->watch[i], real_ns(), &st)) < 0) {
			log_errno(r, "scan %s", d->cf->watch[i]);
			rc = r;
		}
	ctr_add(&d->ctr, CTR_RESCANS, 1);
	log_debug("scan: %llu entries, %llu queued, %llu gone", (unsigned long long)st.entries,
		  (unsigned long long)st.queued, (unsigned long long)st.deleted);
	return rc;
}

/* A file written all the time is shipped at most every INTAKE_MIN_GAP_NS
 * (RANGETAB_BUSY_GAP_NS while a writer is at it, rangetab.h): an event
 * within that time of its last capture is due at capture + gap.
 * A last close is due at once, but closes of one file ship at most every
 * INTAKE_CLOSE_GAP_NS (a loop of open-write-close makes versions at that
 * rate, not at the rate of the loop). */
#define INTAKE_MIN_GAP_NS   (1000000000LL)
#define INTAKE_CLOSE_GAP_NS (100000000LL)

static int64_t due_for(struct vigild *d, struct shipped *row, const char *path, int64_t due,
		       int64_t gap)
{
	/* a capture later than now: the clock went back since; no hold */
	if (statedb_get(d->db, path, row) == 0 && row->capture_ns + gap > due &&
	    row->capture_ns <= due)
		return row->capture_ns + gap;
	return due;
}

/* A file a writer is at is due no sooner than its hold (rangetab.h): the
 * shippers would hold it there (worker.c busy_hold), and an entry moved
 * back to due at every pick-up woke them all every tick. */
static int64_t due_held(struct vigild *d, const char *path, int64_t due, int64_t now)
{
	int64_t mnow = mono_ns(), until = rangetab_hold(d->rt, path, mnow);

	return until && now + (until - mnow) > due ? now + (until - mnow) : due;
}

/* true when path's entry is new or due sooner than before: the shippers
 * have not seen it yet (an entry they saw, they took, stepped over or
 * nap towards). */
static bool due_sooner(struct vigild *d, struct qitem *q, const char *path, int64_t due)
{
	return !q || statedb_queue_get(d->db, path, q) < 0 || due < q->not_before_ns;
}

/* The rescans of single directories asked for; STATE/mounts first, as a
 * SIMW_MOUNT (or any rescan) may follow a simfs mount coming or going. */
static bool rescan_dirs(struct vigild *d, const struct item *its, size_t n, int64_t now)
{
	bool reloaded = false;

	for (size_t i = 0; i < n; i++) {
		const struct item *it = &its[i];

		if (it->kind != IN_RESCAN || !it->path || !path_valid(it->path) ||
		    !vigild_under_root(d, it->path))
			continue;
		if (!reloaded)
			scan_reload_mounts(&d->scan);
		reloaded = true;
		scan_tree(&d->scan, it->path, now, NULL);
		ctr_add(&d->ctr, CTR_RESCANS, 1);
	}
	return reloaded;
}

/* SIM reports into the durable list worker 0 sends from. */
static bool keep_sims(struct vigild *d, const struct item *its, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n; i++)
		if (its[i].kind == IN_SIM && its[i].sim && d->simq) {
			simpending_add(d->simq, its[i].sim);
			any = true;
		}
	return any;
}

/* Takes the ring's items (swap), enqueues changes, runs rescans. */
static void drain(struct intake *in, size_t n, bool all)
{
	struct vigild *d = in->d;
	int64_t now = real_ns(), due = now + (int64_t)d->cf->debounce_ms * 1000000LL;
	struct shipped *row = malloc(sizeof(*row));
	bool queued = keep_sims(d, in->work, n);
	int64_t first_due = INT64_MAX;   /* of the changes: whom to wake */
	struct qitem *q = malloc(sizeof(*q));

	statedb_begin(d->db);
	for (size_t i = 0; i < n; i++) {
		struct item *it = &in->work[i];

		if ((it->kind == IN_CHANGED || it->kind == IN_CLOSED) && it->path &&
		    path_valid(it->path) && vigild_under_root(d, it->path)) {
			bool closed = it->kind == IN_CLOSED;
			int64_t gap = closed ? INTAKE_CLOSE_GAP_NS :
				      rangetab_busy(d->rt, it->path, mono_ns()) ?
				      RANGETAB_BUSY_GAP_NS : INTAKE_MIN_GAP_NS;
			int64_t due0 = closed ? now : due;

			due0 = row ? due_for(d, row, it->path, due0, gap) : due0;
			if (!closed)
				due0 = due_held(d, it->path, due0, now);
			ctr_add(&d->ctr, CTR_EVENTS, 1);
			if (due0 < first_due && due_sooner(d, q, it->path, due0))
				first_due = due0;
			statedb_enqueue(d->db, it->path, it->when ? it->when : now, due0,
					closed ? "closed" : "event");
		} else if (it->kind == IN_RESCAN && !it->path) {
			all = true;
		}
	}
	statedb_commit(d->db);
	if (all)
		intake_scan_all(d);
	if (all || rescan_dirs(d, in->work, n, now))
		queued = true;
	for (size_t i = 0; i < n; i++) {
		free(in->work[i].path);
		free(in->work[i].sim);
	}
	free(row);
	free(q);
	if (queued)
		vigild_wake(d);
	else if (first_due != INT64_MAX)
		vigild_wake_at(d, first_due);
}

static void status_mark(struct intake *in, bool now)
{
	if (!in)
		return;
	pthread_mutex_lock(&in->mu);
	if (!in->status_dirty || (now && !in->status_now))
		pthread_cond_signal(&in->cv);
	in->status_dirty = true;
	in->status_now |= now;
	pthread_mutex_unlock(&in->mu);
}

void intake_status_poke(struct intake *in)
{
	status_mark(in, false);
}

void intake_status_now(struct intake *in)
{
	status_mark(in, true);
}

/* Nothing to take in (in->mu held): sleeps until pushed, poked or stopped,
 * or, with status.json due, until STATUS_GAP_NS after the last write. */
static void intake_wait(struct intake *in)
{
	struct timespec ts;
	int64_t left;

	if (in->n || in->overflow || in->stop || in->status_now)
		return;
	if (!in->status_dirty) {
		pthread_cond_wait(&in->cv, &in->mu);
		return;
	}
	left = in->last_status + STATUS_GAP_NS - mono_ns();
	if (left <= 0)
		return;
	ts = deadline_in_ms((int)(left / 1000000) + 1);
	pthread_cond_timedwait(&in->cv, &in->mu, &ts);
}

/* Test hook (VIGIL_TEST_HOOKS=1): while the file VIGIL_TEST_INTAKE_HOLD
 * names exists, the intake takes nothing in, as in a long rescan; it
 * marks that with the file <name>.held (tests/integration/t_backlog.sh). */
static void test_intake_hold(void)
{
	const char *on = getenv("VIGIL_TEST_HOOKS"), *p = getenv("VIGIL_TEST_INTAKE_HOLD");
	struct timespec ts = { .tv_nsec = 50000000 };
	char mark[PATH_MAX];
	int fd;

	if (!on || strcmp(on, "1") || !p || access(p, F_OK) < 0)
		return;
	snprintf(mark, sizeof(mark), "%s.held", p);
	if ((fd = open(mark, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) >= 0)
		close(fd);
	while (access(p, F_OK) == 0)
		nanosleep(&ts, NULL);
	unlink(mark);
}

static void *intake_main(void *arg)
{
	struct intake *in = arg;
	struct item *t;
	size_t n;
	bool all, stop, write_now, dirty;
	int64_t now;

	pthread_setname_np(pthread_self(), "vigild-intake");
	for (;;) {
		pthread_mutex_lock(&in->mu);
		intake_wait(in);
		pthread_mutex_unlock(&in->mu);
		test_intake_hold();
		pthread_mutex_lock(&in->mu);
		t = in->ring;            /* swap: the loop keeps pushing meanwhile */
		in->ring = in->work;
		in->work = t;
		n = in->n;
		in->n = 0;
		all = in->overflow;
		in->overflow = false;
		stop = in->stop;
		pthread_mutex_unlock(&in->mu);
		if (n || all) {
			drain(in, n, all);
			devreport_poke(in->d);   /* status.json too */
		}
		now = mono_ns();   /* intervals: immune to wall-clock jumps */
		pthread_mutex_lock(&in->mu);
		dirty = in->status_dirty;
		write_now = stop || in->status_now || !in->last_status ||
			    (dirty && now - in->last_status >= STATUS_GAP_NS);
		if (write_now)
			in->status_dirty = in->status_now = false;
		pthread_mutex_unlock(&in->mu);
		if (write_now) {
			vigild_status(in->d);
			in->last_status = now;
		}
		if (stop)
			break;
	}
	return NULL;
}

int intake_start(struct vigild *d, struct intake **out)
{
	struct intake *in = calloc(1, sizeof(*in));
	int rc;

	*out = NULL;
	if (!in)
		return -ENOMEM;
	in->d = d;
	in->status_dirty = true;   /* the first status.json: at once */
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cv, NULL);
	in->ring = calloc(INTAKE_RING_MAX, sizeof(struct item));
	in->work = calloc(INTAKE_RING_MAX, sizeof(struct item));
	if (!in->ring || !in->work) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = -pthread_create(&in->th, NULL, intake_main, in)) < 0)
		goto fail;
	*out = in;
	return 0;
fail:
	free(in->ring);
	free(in->work);
	free(in);
	return rc;
}

void intake_stop(struct intake *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&in->mu);
	in->stop = true;
	pthread_cond_signal(&in->cv);
	pthread_mutex_unlock(&in->mu);
	pthread_join(in->th, NULL);
	for (size_t i = 0; i < in->n; i++) {
		free(in->ring[i].path);
		free(in->ring[i].sim);
	}
	free(in->ring);
	free(in->work);
	pthread_mutex_destroy(&in->mu);
	pthread_cond_destroy(&in->cv);
	free(in);
}
