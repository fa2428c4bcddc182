/* worker.c — the shipper threads: SHIP_WORKERS of them, each with its own
 * connection, take due queue entries (never one another shipper holds),
 * ship them, and back off on failure.  In `run` they live until told to
 * quit (finishing the file in hand) and worker 0 reports after each batch
 * and every REPORT_EVERY, and sends vigil-simfs's SIM reports; in `once`
 * they stop when nothing is left or on a failure that ends the run. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/intake.h"
#include "daemon/simpending.h"
#include "daemon/threadcaps.h"

#define REPORT_EVERY_NS (60 * 1000000000LL)
#define ENOSPC_WAIT_NS  (30 * 1000000000LL)
/* A full server: an entry's wait doubles from 30 s up to this (not the
 * hour of other failures); the first content PUT that goes through again
 * makes every deferred entry due at once (space_returned). */
#define ENOSPC_WAIT_MAX_NS (5 * 60 * 1000000000LL)
#define MIN_GAP_NS      (1000000000LL)
#define ONCE_TRIES      3
/* once: an idle shipper while another ships (a 1 GiB file) naps this long;
 * the last claim's release wakes it (vigild_release).  At 50 ms the 15
 * idle shippers scanned the queue 300 times a second: ~5 % of the device's
 * CPU in a 1 GiB first upload. */
#define ONCE_IDLE_MS    1000
#define ONCE_CONNECT_TRIES 6
/* `run`: a shipper other than 0, 4, 8, 12 (which share shipper 0's
 * connection) lets its connection go once nothing is due and it shipped
 * nothing for this long: an idle device keeps two connections (this one
 * and the command link), each pinged every few minutes, not five; edits
 * a few seconds apart reuse them (no handshake each: bench/edit_cost.sh).
 * Each such shipper wakes once for it, CONN_KEEP_NS after the last work. */
#define CONN_KEEP_NS    (30 * 1000000000LL)

struct worker {
	struct vigild *d;
	size_t i;
	struct shipper *sh;
	struct qitem q;
	int64_t last_report;
	int connect_fails;            /* failed attempts to connect since the last that worked */
	int64_t sim_retry_ns;         /* worker 0: no SIM report before then */
	int sim_fails;
	bool sim_left;                /* worker 0: a SIM report is still to send */
	/* its last entry was one for a batch while SHIP_BATCHES were open:
	 * it waits for one to end before it looks at the queue again */
	bool want_batch;
	bool slot;                    /* holds one of d->nbatches for its next batch */
	int64_t used_ns;              /* mono_ns of its last ship (CONN_KEEP_NS) */
};

/* Sleeps up to ms unless woken (new work) or told to quit. */
static void nap(struct vigild *d, int ms)
{
	struct timespec ts = deadline_in_ms(ms);

	pthread_mutex_lock(&d->mu);
	if (!d->quit)
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	pthread_mutex_unlock(&d->mu);
}

/* After a failed attempt to connect: the backoff's wait (up to 5 minutes,
 * ship.h), ended early only by quit or vigild_reachable (net_gen moved
 * since gen, read before the attempt: a network change, or another
 * connection that came back), which also starts the backoff over.  On
 * conn_cv, so new work and the idle shippers' wake-ups do not end it (the
 * next connection takes the work), and a network change wakes no one
 * else. */
static void nap_conn(struct worker *w, uint64_t gen)
{
	struct vigild *d = w->d;
	int ms = ship_backoff_ms(w->sh);
	struct timespec ts = deadline_in_ms(ms);

	pthread_mutex_lock(&d->mu);
	if (w->i == 0)
		d->retry_at = mono_ms() + ms;
	while (!d->quit && d->net_gen == gen &&
	       pthread_cond_timedwait(&d->conn_cv, &d->mu, &ts) != ETIMEDOUT)
		;
	if (d->net_gen != gen)
		ship_backoff_reset(w->sh);
	pthread_mutex_unlock(&d->mu);
}

/* `run`, offline (shipper 0 waits out a backoff): the other shippers take
 * nothing and sleep until vigild_reachable (shipper 0 or the link came
 * back, the network changed) or quit.  Before, each took the queue's
 * entries in turn, failed to connect, and released them, which woke every
 * idle shipper: about 30 wake-ups a second with the network gone.  True
 * when it slept. */
static bool park_offline(struct worker *w)
{
	struct vigild *d = w->d;
	bool parked = false;
	uint64_t gen;

	if (w->i == 0 || d->once)
		return false;
	pthread_mutex_lock(&d->mu);
	gen = d->net_gen;
	while (!d->quit && d->retry_at > 0 && d->net_gen == gen) {
		parked = true;
		pthread_cond_wait(&d->conn_cv, &d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return parked;
}

/* An idle shipper's nap (nothing it may take now): up to ms (-1: no
 * limit), unless woken (vigild_wake_at: work due before then; a release
 * of what it stepped over) or anything woke the shippers since it looked
 * (gen). */
static void nap_idle(struct worker *w, int ms, uint64_t gen)
{
	struct vigild *d = w->d;
	struct timespec ts = deadline_in_ms(ms < 0 ? 0 : ms);

	pthread_mutex_lock(&d->mu);
	if (!d->quit && __atomic_load_n(&d->wake_gen, __ATOMIC_SEQ_CST) == gen) {
		d->nap_until[w->i] = ms < 0 ? INT64_MAX : ts.tv_sec * 1000000000LL + ts.tv_nsec;
		if (ms < 0)
			pthread_cond_wait(&d->cv, &d->mu);
		else
			pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		d->nap_until[w->i] = 0;
	}
	pthread_mutex_unlock(&d->mu);
}

static void set_state(struct vigild *d, int connected, const char *err, int fatal)
{
	pthread_mutex_lock(&d->mu);
	if (connected >= 0)
		d->connected = connected;
	if (err)
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
	if (fatal && !d->fatal)
		d->fatal = fatal;
	pthread_mutex_unlock(&d->mu);
	intake_status_poke(d->in);   /* status.json shows it */
}

static bool stopping(struct vigild *d)
{
	bool q;

	pthread_mutex_lock(&d->mu);
	q = d->quit || vigild_quit || (d->once && d->fatal);
	pthread_mutex_unlock(&d->mu);
	return q;
}

/* After a failure: when to look at this entry again. */
static int64_t retry_at(const struct qitem *q, int rc)
{
	bool full = rc == -ENOSPC || rc == -EDQUOT;   /* the store, or our quota */
	int64_t base = full ? ENOSPC_WAIT_NS : 200000000LL;   /* 0.2 s */
	int64_t max = full ? ENOSPC_WAIT_MAX_NS : 3600 * 1000000000LL;
	int shift = q->attempts < 12 ? q->attempts : 12;

	return real_ns() + (base << shift > max ? max : base << shift);
}

/* Content PUTs (whole, delta, ranges) that went through, by every shipper. */
static uint64_t content_puts(struct vigild *d)
{
	return ctr_get(&d->ctr, CTR_SHIPPED_WHOLE) + ctr_get(&d->ctr, CTR_SHIPPED_DELTA) +
	       ctr_get(&d->ctr, CTR_SHIPPED_RANGES);
}

/* A full server remembered; once content is stored again, the entries it
 * deferred are due now instead of after their backoff (a delete or a META
 * going through proves no space, so only content counts). */
static void space_returned(struct vigild *d, int rc, uint64_t before)
{
	if (rc == -ENOSPC || rc == -EDQUOT) {
		__atomic_store_n(&d->nospace, true, __ATOMIC_RELAXED);
		return;
	}
	if (rc != 0 || content_puts(d) == before ||
	    !__atomic_exchange_n(&d->nospace, false, __ATOMIC_RELAXED))
		return;
	if (statedb_queue_release(d->db, real_ns()) == 0)
		vigild_wake(d);
}

/* Worker 0 reports for all: after a batch (anyone shipped something and the
 * queue has nothing due) and every REPORT_EVERY_NS; not in `run`, where
 * the command link reports as the backlog moves (devreport.h; two
 * senders could land an older report after a newer one). */
static void report(struct worker *w)
{
	bool by_link;

	pthread_mutex_lock(&w->d->mu);
	by_link = w->d->link != NULL;
	pthread_mutex_unlock(&w->d->mu);
	if (w->i != 0 || by_link)
		return;
	__atomic_store_n(&w->d->report_dirty, false, __ATOMIC_RELAXED);
	ship_report(w->sh, w->d->tops ? w->d->tops->name : "");
	w->last_report = real_ns();
}

/* Worker 0 sends the SIM reports vigil-simfs made (STATE/sim-pending),
 * oldest first, each removed only once the server stored it.  The intake
 * wakes the workers when it adds one.  A refusal is tried again later,
 * backing off to SIM_RETRY_MAX_NS, so a server that cannot take them
 * (an older one) is not asked every second. */
#define SIM_RETRY_MAX_NS (60 * 1000000000LL)

static void send_sims(struct worker *w)
{
	struct vigild *d = w->d;
	struct vg_sim s;
	uint64_t id;
	int rc;

	if (w->i != 0 || !d->simq || real_ns() < w->sim_retry_ns)
		return;
	w->sim_left = false;
	while (!stopping(d) && simpending_first(d->simq, &s, &id) == 0) {
		w->sim_left = true;   /* until it is sent: the idle nap is bounded */
		if ((rc = ship_sim(w->sh, &s)) < 0) {
			int64_t wait = 1000000000LL << (w->sim_fails < 6 ? w->sim_fails : 6);

			/* a lost connection: the reconnect paces the next try */
			if (rc == -ECONNRESET || rc == -ETIMEDOUT)
				return;
			w->sim_fails++;
			w->sim_retry_ns = real_ns() + (wait < SIM_RETRY_MAX_NS ? wait : SIM_RETRY_MAX_NS);
			return;
		}
		w->sim_fails = 0;
		w->sim_left = false;
		simpending_remove(d->simq, id);
		ctr_add(&d->ctr, CTR_SIM_SENT, 1);
	}
}

/* 0 when connected; -EAGAIN to try again; -ECONNREFUSED: give up (once). */
static int ensure_conn(struct worker *w)
{
	struct vigild *d = w->d;
	uint64_t gen;

	if (ship_connected(w->sh))
		return 0;
	pthread_mutex_lock(&d->mu);
	gen = d->net_gen;
	pthread_mutex_unlock(&d->mu);
	if (ship_connect(w->sh) == 0) {
		ship_backoff_reset(w->sh);
		if (w->i == 0) {
			pthread_mutex_lock(&d->mu);
			d->retry_at = 0;
			pthread_mutex_unlock(&d->mu);
		}
		set_state(d, 1, "", 0);
		if (w->connect_fails > 0)   /* the server is back: the others try now too */
			vigild_reachable(d);
		w->connect_fails = 0;
		report(w);
		return 0;
	}
	w->connect_fails++;
	set_state(d, 0, ship_last_error(w->sh), 0);
	if (d->once && w->connect_fails >= ONCE_CONNECT_TRIES) {
		set_state(d, -1, NULL, -ECONNREFUSED);
		return -ECONNREFUSED;
	}
	nap_conn(w, gen);
	return -EAGAIN;
}

/* Test hook (VIGIL_TEST_HOOKS=1): while the file VIGIL_TEST_SHIP_HOLD
 * names exists, shippers take nothing, so a backlog stays put
 * (tests/integration/t_backlog.sh). */
static bool test_ship_held(void)
{
	const char *on = getenv("VIGIL_TEST_HOOKS"), *p = getenv("VIGIL_TEST_SHIP_HOLD");

	return on && !strcmp(on, "1") && p && access(p, F_OK) == 0;
}

/* A file a writer is at is not captured yet (rangetab.h: a new run of
 * writes waits, a first write waits to see whether a run begins): its
 * entry is held until then.  A last close is never held. */
static bool busy_hold(struct vigild *d, const struct qitem *q)
{
	int64_t now = mono_ns(), until;

	if (!strcmp(q->reason, "closed") || !(until = rangetab_hold(d->rt, q->path, now)))
		return false;
	statedb_queue_hold(d->db, q->path, real_ns() + (until - now));
	return true;
}

/* An entry another shipper holds (claimed, or in its batch); d->mu held. */
static bool skip_taken(void *arg, const char *path)
{
	struct vigild *d = arg;

	bool taken = pathset_has(&d->held, path);

	for (size_t i = 0; !taken && i < d->nclaimed; i++)
		taken = !strcmp(d->claimed[i], path);
	if (taken)
		d->stepped_over = true;   /* its release wakes the idle shippers */
	return taken;
}

/* The next due entry no other shipper holds, now held by this one.
 * 0, or -ENOENT with *inflight = entries other shippers hold. */
static int take(struct worker *w, size_t *inflight)
{
	struct vigild *d = w->d;
	int rc;

	pthread_mutex_lock(&d->mu);
	/* an erase's deletions are not a new state to keep */
	if (d->erasing || test_ship_held()) {
		*inflight = d->nclaimed;
		pthread_mutex_unlock(&d->mu);
		return -EAGAIN;
	}
	for (int i = 0; i < 4; i++) {
		/* a worker holding a batch slot starts where the batches'
		 * gathering stopped (the entries before it are mostly in open
		 * batches, as take_more says), then from the start */
		const struct qcursor *from = w->slot && d->gather_at.path[0] ? &d->gather_at : NULL;
		int64_t now = d->once ? INT64_MAX : real_ns();
		int tries = d->once ? ONCE_TRIES : 1 << 30;
		size_t n = 0;

		ctr_add(&d->ctr, CTR_QUEUE_SCANS, 1);
		rc = statedb_queue_scan(d->db, now, tries, from, skip_taken, d, &w->q, 1, &n);
		if (rc == -ENOENT && from)
			rc = statedb_queue_scan(d->db, now, tries, NULL, skip_taken, d, &w->q, 1, &n);
		if (rc < 0 || d->once || !busy_hold(d, &w->q))
			break;
		rc = -EAGAIN;
	}
	if (rc == 0 && d->nclaimed < STATEDB_EXCL_MAX &&
	    (d->claimed[d->nclaimed] = strdup(w->q.path)))
		d->nclaimed++;
	else if (rc == 0)
		rc = -EAGAIN;
	*inflight = d->nclaimed;
	pthread_mutex_unlock(&d->mu);
	return rc;
}

/* How long to sleep with nothing due (rc -ENOENT): until the next entry is
 * due (the debounce of a fresh change, a retry's backoff); with none, in
 * `run`, until woken (-1): new work (vigild_wake), the release of a due
 * entry it stepped over (skip_taken), quit.  Nothing it may take now
 * (-EAGAIN: an erase, a test hold, every claim in use): at most a second.
 * `once` looks every 50 ms. */
static int idle_ms(struct vigild *d, int rc)
{
	int64_t now = real_ns(), t;
	int ms = d->once ? 50 : rc == -ENOENT ? -1 : 1000;

	if (statedb_queue_next_due(d->db, now, &t) == 0) {
		int64_t due = (t - now) / 1000000 + 1;

		if (ms < 0 || due < ms)
			ms = due > INT_MAX ? INT_MAX : (int)due;
	}
	return ms;
}

static void after_ship(struct worker *w, const struct qitem *q, int rc)
{
	struct vigild *d = w->d;

	if (rc == 0) {
		/* changed again while it was being shipped: not before MIN_GAP
		 * (RANGETAB_BUSY_GAP_NS while a writer is at it), so a file
		 * written all the time ships about every 2 s */
		if (!d->once)
			statedb_queue_hold(d->db, q->path, real_ns() +
					   (rangetab_busy(d->rt, q->path, mono_ns()) ?
					    RANGETAB_BUSY_GAP_NS : MIN_GAP_NS));
		return;
	}
	if (rc == -EAGAIN && d->once) {
		nap(d, 50);   /* busy elsewhere or just changed: look again, no strike */
		return;
	}
	if (rc != -EAGAIN)
		set_state(d, ship_connected(w->sh), ship_last_error(w->sh),
			  d->once && (rc == -ENOSPC || rc == -EDQUOT) ? rc : 0);
	if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EPROTO) {
		if (d->once)
			statedb_queue_defer(d->db, q->path, 0);
		else
			nap(d, ship_backoff_ms(w->sh));
		return;
	}
	statedb_queue_defer(d->db, q->path, d->once ? 0 : retry_at(q, rc));
}

/* Up to max more due entries for this worker's batch, each now held
 * (d->held) so no other shipper takes it: the number taken. */
#define GATHER_STEP 16

static size_t take_more(struct worker *w, struct qitem *qs, size_t max)
{
	struct vigild *d = w->d;
	size_t n = 0, k = 0;

	int64_t now = mono_ns(), t = d->once ? INT64_MAX : real_ns();
	int tries = d->once ? ONCE_TRIES : 1 << 30, rc = -ENOENT;

	pthread_mutex_lock(&d->mu);
	/* from where the last gathering stopped: the entries before it are
	 * mostly held by batches in flight, stepping over them again and
	 * again was a fifth of vigild's CPU; once nothing is after it, from
	 * the start again */
	if (!d->erasing && !test_ship_held() &&
	    (rc = statedb_queue_scan(d->db, t, tries, d->gather_at.path[0] ? &d->gather_at : NULL,
				     skip_taken, d, qs, max, &n)) == -ENOENT && d->gather_at.path[0]) {
		d->gather_at.path[0] = '\0';
		rc = statedb_queue_scan(d->db, t, tries, NULL, skip_taken, d, qs, max, &n);
	}
	if (rc == 0 && n) {
		d->gather_at.seen_ns = qs[n - 1].first_seen_ns;
		snprintf(d->gather_at.path, sizeof(d->gather_at.path), "%s", qs[n - 1].path);
	}
	if (rc == 0)
		for (size_t i = 0; i < n; i++)
			/* one a writer is at waits for take()'s hold (busy_hold) */
			if ((d->once || strcmp(qs[i].reason, "closed") == 0 ||
			     !rangetab_hold(d->rt, qs[i].path, now)) &&
			    pathset_add(&d->held, qs[i].path) == 0)
				qs[k++] = qs[i];
	pthread_mutex_unlock(&d->mu);
	return k;
}

static void unhold(struct vigild *d, const char *path)
{
	pthread_mutex_lock(&d->mu);
	pathset_del(&d->held, path);
	if (d->stepped_over) {   /* a look skipped it: look again */
		d->stepped_over = false;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
}

/* A batch ended: the shippers waiting for one may start theirs. */
static void batch_end(struct vigild *d)
{
	pthread_mutex_lock(&d->mu);
	d->nbatches--;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Gives back a slot reserved by wait_slot and not used. */
static void slot_drop(struct worker *w)
{
	if (w->slot) {
		w->slot = false;
		batch_end(w->d);
	}
}

/* A worker whose entry had to wait for a batch slot waits here (at most
 * 200 ms) for a batch to end and reserves the slot it frees, before it
 * scans the queue again: one waiter per freed slot looks, not all of
 * them (each look steps over every entry the open batches hold). */
static void wait_slot(struct worker *w)
{
	struct vigild *d = w->d;
	struct timespec ts = deadline_in_ms(200);

	w->want_batch = false;
	pthread_mutex_lock(&d->mu);
	while (d->nbatches >= SHIP_BATCHES && !d->quit &&
	       pthread_cond_timedwait(&d->cv, &d->mu, &ts) == 0)
		;
	if (d->nbatches < SHIP_BATCHES) {
		d->nbatches++;
		w->slot = true;
	}
	pthread_mutex_unlock(&d->mu);
}

static void batch_done(void *arg, const struct qitem *q, int rc)
{
	struct worker *w = arg;

	unhold(w->d, q->path);
	after_ship(w, q, rc);
}

/* w->q, taken and claimed, starts a batch when it is a small new file
 * (ship.h ship_batch_add): more due entries join it until it is full or
 * none is left, then one answer for all.  false: not one for a batch. */
static bool ship_batched(struct worker *w)
{
	struct vigild *d = w->d;
	struct qitem *qs;
	uint64_t before = content_puts(d);
	size_t n;
	int rc;

	if (ship_batch_fits(w->sh, &w->q) != 1) {
		slot_drop(w);
		return false;
	}
	pthread_mutex_lock(&d->mu);
	if (!w->slot && d->nbatches >= SHIP_BATCHES) {
		/* wait for a batch to end (wait_slot, before the next look);
		 * the entry stays queued, no attempt counted */
		pthread_mutex_unlock(&d->mu);
		vigild_release(d, w->q.path);
		w->want_batch = true;
		return true;
	}
	if (!w->slot)
		d->nbatches++;
	w->slot = false;   /* the slot is this batch's now */
	rc = pathset_add(&d->held, w->q.path);
	pthread_mutex_unlock(&d->mu);
	if (rc < 0 || (rc = ship_batch_add(w->sh, &w->q)) == 0) {
		if (rc == 0)
			unhold(d, w->q.path);
		batch_end(d);
		return false;
	}
	vigild_release(d, w->q.path);   /* held by the batch from now on */
	if (rc < 0) {
		unhold(d, w->q.path);
		batch_end(d);
		after_ship(w, &w->q, rc);
		return true;
	}
	/* a round that adds nothing ends it: what is left is not for a batch */
	qs = malloc(GATHER_STEP * sizeof(*qs));
	for (size_t added = 1; qs && added && !ship_batch_full(w->sh) && !stopping(d) &&
	     (n = take_more(w, qs, GATHER_STEP)) > 0;) {
		added = 0;
		for (size_t i = 0; i < n; i++) {
			if ((rc = ship_batch_add(w->sh, &qs[i])) == 1) {
				added++;
				continue;
			}
			unhold(d, qs[i].path);   /* not for a batch: taken later */
			if (rc < 0)
				after_ship(w, &qs[i], rc);
		}
	}
	free(qs);
	rc = ship_batch_flush(w->sh, batch_done, w);
	malloc_trim(0);
	batch_end(d);
	__atomic_store_n(&d->report_dirty, true, __ATOMIC_RELAXED);
	devreport_poke(d);
	space_returned(d, rc, before);
	return true;
}

/* The shippers went idle after shipping (nothing in flight, the queue
 * empty): give back what the work left behind, once per such turn, before
 * the daemon idles for good: the heap pages freed (glibc keeps them, mostly
 * between live blocks, until trimmed: about 0.5 MiB after a first backup)
 * and a long write-ahead log (statedb_tidy).  docs/daemon.md, "Memory and
 * state". */
static void tidy(struct vigild *d)
{
	uint64_t queued = 1;
	int64_t oldest;
	int rc;

	/* not while a scan still feeds the queue: only when it is empty */
	if (!__atomic_load_n(&d->tidy_due, __ATOMIC_RELAXED) ||
	    statedb_queue_stats(d->db, &queued, &oldest) < 0 || queued ||
	    !__atomic_exchange_n(&d->tidy_due, false, __ATOMIC_RELAXED))
		return;
	malloc_trim(0);
	if ((rc = statedb_tidy(d->db)) == -EBUSY)
		__atomic_store_n(&d->tidy_due, true, __ATOMIC_RELAXED);   /* next idle turn */
}

/* Nothing to take (rc -ENOENT or -EAGAIN): report, then nap; false when
 * `once` is done (nothing due, nothing in flight). */
static bool idle_turn(struct worker *w, int rc, size_t inflight, uint64_t gen)
{
	struct vigild *d = w->d;
	int ms;

	if (d->once && inflight == 0 && rc == -ENOENT)
		return false;
	if (!d->once && (__atomic_load_n(&d->report_dirty, __ATOMIC_RELAXED) ||
			 real_ns() - w->last_report > REPORT_EVERY_NS))
		report(w);
	if (!d->once && !inflight && rc == -ENOENT)
		tidy(d);
	if (d->once && inflight && rc == -ENOENT) {
		nap(d, ONCE_IDLE_MS);
		return true;
	}
	ms = idle_ms(d, rc);
	if (w->sim_left) {   /* worker 0: the next try of a SIM report */
		int64_t left = (w->sim_retry_ns - real_ns()) / 1000000 + 1;
		int cap = left < 1000 ? 1000 : left > INT_MAX ? INT_MAX : (int)left;

		ms = ms < 0 || ms > cap ? cap : ms;
	}
	/* nothing left at all: the shared connections other than worker
	 * 0's close CONN_KEEP_NS after their last work (their keepalives
	 * would wake the device); the next work connects again
	 * (docs/daemon.md, "Idle and battery") */
	if (ms < 0 && !inflight && w->i % SHIP_CONNS != 0 && ship_connected(w->sh)) {
		int64_t left = w->used_ns + CONN_KEEP_NS - mono_ns();

		if (left > 0)
			ms = (int)(left / 1000000) + 1;
		else
			ship_disconnect(w->sh);
	}
	nap_idle(w, ms, gen);
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct vigild *d = w->d;
	size_t inflight;
	uint64_t gen;
	uint64_t before;
	int rc = 0;

	/* named only once its capabilities are down: a thread called
	 * vigild-ship never holds more than a shipper may */
	if ((rc = threadcaps_shipper()) < 0 && w->i == 0)
		log_errno(rc, "shippers keep their capabilities");
	pthread_setname_np(pthread_self(), "vigild-ship");
	while (!stopping(d)) {
		/* Worker 0 stays connected (it reports); the others connect
		 * only once they hold work, so a small run costs one handshake. */
		if (w->i == 0 && (rc = ensure_conn(w)) == -ECONNREFUSED)
			break;
		if (w->i == 0 && rc < 0)
			continue;
		if (park_offline(w))
			continue;
		send_sims(w);
		if (w->want_batch)
			wait_slot(w);
		gen = __atomic_load_n(&d->wake_gen, __ATOMIC_SEQ_CST);
		rc = take(w, &inflight);
		if (rc < 0)
			slot_drop(w);
		if (rc == -ENOENT || rc == -EAGAIN) {
			if (!idle_turn(w, rc, inflight, gen))
				break;
			continue;
		}
		if (rc < 0) {
			nap(d, 1000);
			continue;
		}
		if ((rc = ensure_conn(w)) < 0) {
			slot_drop(w);
			vigild_release(d, w->q.path);
			if (rc == -ECONNREFUSED)
				break;
			continue;
		}
		__atomic_store_n(&d->tidy_due, true, __ATOMIC_RELAXED);   /* tidy() */
		before = content_puts(d);
		w->used_ns = mono_ns();
		/* one walk: the roots' fds it opened are closed after it */
		if (ship_batched(w)) {
			ship_walk_end(w->sh);
			continue;
		}
		rc = ship_item(w->sh, &w->q);
		ship_walk_end(w->sh);
		vigild_release(d, w->q.path);
		__atomic_store_n(&d->report_dirty, true, __ATOMIC_RELAXED);
		after_ship(w, &w->q, rc);
		devreport_poke(d);   /* shipped: off the queue, or deferred */
		space_returned(d, rc, before);
	}
	if (!d->once && ship_connected(w->sh))
		report(w);
	return NULL;
}

int workers_start(struct vigild *d, pthread_t th[SHIP_WORKERS])
{
	struct worker *ws = calloc(d->nsh, sizeof(*ws));

	if (!ws)
		return -ENOMEM;
	for (size_t i = 0; i < d->nsh; i++) {
		ws[i] = (struct worker){ .d = d, .i = i, .sh = d->sh[i] };
		if (pthread_create(&th[i], NULL, worker_main, &ws[i]) != 0) {
			log_warnx("cannot start shipper threads");
			pthread_mutex_lock(&d->mu);
			d->quit = true;
			pthread_cond_broadcast(&d->cv);
			pthread_cond_broadcast(&d->conn_cv);
			pthread_mutex_unlock(&d->mu);
			for (size_t k = 0; k < i; k++)
				pthread_join(th[k], NULL);
			free(ws);
			return -EAGAIN;
		}
	}
	d->workers = ws;
	return 0;
}

void workers_join(struct vigild *d, pthread_t th[SHIP_WORKERS])
{
	for (size_t i = 0; i < d->nsh; i++)
		pthread_join(th[i], NULL);
	free(d->workers);
	d->workers = NULL;
}
