/* store_sweep.c — the store's side of a sweep: generations, guards, pins,
 * the touched and mark sets, and deleting what is neither marked nor
 * touched (steps and argument: docs/store-format.md, "Sweeping
 * unreferenced chunks").  Marking a tree is content_sweep.c's; where the
 * roots come from, server/sweep.c's.
 *
 * Deleted records are punched after their transaction commits; the same
 * transaction lists them in sweep_punch, so a crash between the two leaves
 * the list, which the next sweep punches first. */
#include "server/store/store_int.h"
#include "server/store/idset.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/vec.h"

#define SWEEP_STEP 512   /* rows looked at, and deleted, per transaction */

struct store_sweep {
	int64_t gen;
	uint64_t gseq0;            /* guards below it are older than the sweep */
	struct idset touched, marked;
	bool deleting;             /* step 4: pins need their root marked */
	bool broken;               /* the touched or late set lost an entry: no deleting */
	struct vec late;           /* struct store_root: pins to mark */
	uint32_t a0;               /* the active pack after begin: older ones get no new rows */
	uint64_t *live;            /* [0..a0): live record bytes per pack (step 4's scan) */
	bool scanned;              /* step 4 went through every row: live is whole */
	struct store_sweep_stats stats;
};

/* Test hook (tests/integration/t_sweep_crash.sh): with VIGIL_TEST_HOOKS=1
 * and VIGIL_SWEEP_CRASH_AT=N, the process kills itself with SIGKILL at the
 * Nth crash point a sweep passes: after each step's durable change, inside
 * each deletion transaction, and in compaction (store_compact.c: records
 * written but not indexed, moves committed but the pack not unlinked,
 * unlinked but its packs row not deleted).  VIGIL_SWEEP_CRASH_IN=compact
 * counts compaction's points only.  Read once; configuration, not state. */
static long crash_at = -1;
static bool crash_compact_only;
static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void crash_init(void)
{
	const char *v = getenv("VIGIL_SWEEP_CRASH_AT"), *in = getenv("VIGIL_SWEEP_CRASH_IN");

	if (v && getenv("VIGIL_TEST_HOOKS")) {
		crash_at = strtol(v, NULL, 10);
		crash_compact_only = in && !strcmp(in, "compact");
	}
}

static void crash_point_in(bool compact)
{
	pthread_once(&crash_once, crash_init);
	if (crash_compact_only && !compact)
		return;
	if (crash_at > 0 && __atomic_sub_fetch(&crash_at, 1, __ATOMIC_SEQ_CST) == 0)
		raise(SIGKILL);
}

static void crash_point(void) { crash_point_in(false); }

void store_sweep_crash_point(void) { crash_point_in(true); }

struct store_sweep_stats *store_sweep_statsp(struct store *st)
{
	return st->sw ? &st->sw->stats : NULL;
}

const uint64_t *store_sweep_live(struct store *st, uint32_t *a0)
{
	bool ok = st->sw && st->sw->scanned;

	*a0 = ok ? st->sw->a0 : 0;
	return ok ? st->sw->live : NULL;
}

/* Starts a new active pack unless the active one is empty, so that every
 * pack below the new one, A0, may be compacted by this sweep: no batch
 * appends below A0 from now on.  A roll that fails leaves A0 the active
 * pack (only it is then left out).  No lock held. */
static uint32_t roll_for_sweep(struct store *st)
{
	uint32_t a0;

	pthread_mutex_lock(&st->mu);
	if (st->tail > 0 && !st->need_roll)
		(void)store_roll_locked(st);
	a0 = st->active;
	pthread_mutex_unlock(&st->mu);
	return a0;
}

static const char *sweep_schema =
	"CREATE TABLE IF NOT EXISTS sweep_punch(pack INTEGER NOT NULL, off INTEGER NOT NULL,"
	" len INTEGER NOT NULL, PRIMARY KEY(pack, off)) WITHOUT ROWID;";

int store_sweep_open(struct store *st)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_exec(st->db, sweep_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "SELECT v FROM meta WHERE k='gen'", -1, &q, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		st->gen = sqlite3_column_int64(q, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	if (st->gen < 1)
		st->gen = 1;
	return rc == SQLITE_OK || rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

void store_sweep_close(struct store *st)
{
	pthread_mutex_destroy(&st->swmu);
	pthread_mutex_destroy(&st->gmu);
	pthread_cond_destroy(&st->gcv);
}

/* ------------------------------------------------------------- guards */

void store_guard_enter(struct store *st, struct store_guard *g)
{
	pthread_mutex_lock(&st->gmu);
	g->seq = ++st->gseq;
	g->next = NULL;
	g->prev = st->gtail;
	if (st->gtail)
		st->gtail->next = g;
	else
		st->ghead = g;
	st->gtail = g;
	pthread_mutex_unlock(&st->gmu);
}

void store_guard_exit(struct store *st, struct store_guard *g)
{
	pthread_mutex_lock(&st->gmu);
	if (g->prev)
		g->prev->next = g->next;
	else
		st->ghead = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		st->gtail = g->prev;
	g->prev = g->next = NULL;
	pthread_cond_broadcast(&st->gcv);
	pthread_mutex_unlock(&st->gmu);
}

/* --------------------------------------------------------------- pins */

/* With dbmu held: root goes to the running sweep's list of roots to mark;
 * when that fails, the sweep may not delete. */
static void late_add(struct store_sweep *sw, const struct devkey *key, const uint8_t root[32],
		     uint64_t size)
{
	struct store_root *l = vec_add(&sw->late);

	if (!l) {
		sw->broken = true;
		return;
	}
	l->key = *key;
	memcpy(l->root, root, 32);
	l->size = size;
}

/* With dbmu held, while the sweep deletes: whether the tree of the root
 * page id is kept whole.  Marked: its whole tree is.  Touched, or stored
 * in this sweep's generation: a build that began after step 1 stored or
 * reused it, after everything below it, so its tree is what a version
 * committed after the marking references (case (a)-(c) of the argument). */
static bool root_kept_locked(struct store *st, struct store_sweep *sw, const uint8_t *id)
{
	sqlite3_stmt *q = NULL;
	bool kept = false;

	if (idset_has(&sw->marked, id) || idset_has(&sw->touched, id))
		return true;
	if (sqlite3_prepare_v2(st->db, "SELECT gen FROM chunks WHERE id=?", -1, &q, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_blob(q, 1, id, STORE_ID_LEN, SQLITE_STATIC);
		kept = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) >= sw->gen;
	}
	sqlite3_finalize(q);
	return kept;
}

int store_pin(struct store *st, struct store_pin *p, const struct devkey *key,
	      const uint8_t root[32], const uint8_t id[STORE_ID_LEN], uint64_t size)
{
	struct store_sweep *sw;

	p->key = *key;
	memcpy(p->root, root, 32);
	memcpy(p->id, id, STORE_ID_LEN);
	p->size = size;
	pthread_mutex_lock(&st->dbmu);
	if ((sw = st->sw) && sw->deleting && !root_kept_locked(st, sw, id)) {
		pthread_mutex_unlock(&st->dbmu);
		p->on = false;
		return -ENOENT;   /* dropped, and being swept */
	}
	if (sw && !sw->deleting)
		late_add(sw, key, root, size);
	p->prev = NULL;
	p->next = st->pins;
	if (st->pins)
		st->pins->prev = p;
	st->pins = p;
	p->on = true;
	pthread_mutex_unlock(&st->dbmu);
	return 0;
}

void store_unpin(struct store *st, struct store_pin *p)
{
	if (!p || !p->on)
		return;
	pthread_mutex_lock(&st->dbmu);
	if (p->prev)
		p->prev->next = p->next;
	else
		st->pins = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->on = false;
	pthread_mutex_unlock(&st->dbmu);
}

/* ------------------------------------------------------------- a sweep */

void store_sweep_touch_locked(struct store *st, const uint8_t id[STORE_ID_LEN])
{
	if (st->sw && idset_add(&st->sw->touched, id) < 0)
		st->sw->broken = true;
}

/* With dbmu held: meta.gen = gen, durably.  0 or -errno. */
static int gen_store_locked(struct store *st, int64_t gen)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "UPDATE meta SET v=? WHERE k='gen'", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, gen);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

int store_sweep_begin(struct store *st)
{
	struct store_sweep *sw;
	struct store_pin *p;
	int r;

	if (pthread_mutex_trylock(&st->swmu) != 0)
		return -EBUSY;
	if (!(sw = calloc(1, sizeof(*sw)))) {
		pthread_mutex_unlock(&st->swmu);
		return -ENOMEM;
	}
	vec_init(&sw->late, sizeof(struct store_root));
	pthread_mutex_lock(&st->dbmu);
	sw->gen = st->gen + 1;
	if ((r = gen_store_locked(st, sw->gen)) == 0) {
		st->gen = sw->gen;
		for (p = st->pins; p; p = p->next)   /* marked like later pins */
			late_add(sw, &p->key, p->root, p->size);
		st->sw = sw;
	}
	pthread_mutex_unlock(&st->dbmu);
	if (r < 0) {
		vec_free(&sw->late);
		free(sw);
		pthread_mutex_unlock(&st->swmu);
		return r;
	}
	sw->stats.gen = sw->gen;
	sw->a0 = roll_for_sweep(st);
	crash_point();
	/* guards that entered before now may have reused rows untouched,
	 * or appended below A0 */
	pthread_mutex_lock(&st->gmu);
	sw->gseq0 = ++st->gseq;
	pthread_mutex_unlock(&st->gmu);
	return 0;
}

int store_sweep_wait(struct store *st, int timeout_ms)
{
	struct timespec until = deadline_in_ms(timeout_ms);
	uint64_t seq0 = st->sw->gseq0;
	int r = 0;

	pthread_mutex_lock(&st->gmu);
	while (st->ghead && st->ghead->seq < seq0 && r == 0)
		if (pthread_cond_timedwait(&st->gcv, &st->gmu, &until) == ETIMEDOUT)
			r = -ETIMEDOUT;
	if (r && !(st->ghead && st->ghead->seq < seq0))
		r = 0;
	pthread_mutex_unlock(&st->gmu);
	return r;
}

int store_sweep_mark(struct store *st, const uint8_t id[STORE_ID_LEN])
{
	/* only the sweeper writes the set, and only before it deletes;
	 * store_pin reads it from then on */
	int r = idset_add(&st->sw->marked, id);

	if (r > 0 && st->sw->marked.n % 64 == 0)
		crash_point();
	return r;
}

bool store_sweep_marked(struct store *st, const uint8_t id[STORE_ID_LEN])
{
	return idset_has(&st->sw->marked, id);
}

int store_sweep_pins(struct store *st, struct store_root **out, size_t *n, bool finish,
		     bool *deleting)
{
	struct store_sweep *sw = st->sw;

	pthread_mutex_lock(&st->dbmu);
	*out = sw->late.p;   /* the caller's now */
	*n = sw->late.n;
	vec_init(&sw->late, sizeof(struct store_root));
	if (*n == 0 && finish && !sw->broken)
		sw->deleting = true;
	*deleting = sw->deleting;
	pthread_mutex_unlock(&st->dbmu);
	return 0;
}

void store_sweep_end(struct store *st, struct store_sweep_stats *out)
{
	struct store_sweep *sw = st->sw;

	if (!sw)
		return;
	pthread_mutex_lock(&st->dbmu);
	st->sw = NULL;
	sw->stats.touched = idset_count(&sw->touched);
	pthread_mutex_unlock(&st->dbmu);
	sw->stats.marked = idset_count(&sw->marked);
	if (out)
		*out = sw->stats;
	idset_clear(&sw->touched);
	idset_clear(&sw->marked);
	vec_free(&sw->late);
	free(sw->live);
	free(sw);
	pthread_mutex_unlock(&st->swmu);
}

/* ------------------------------------------------------------ deleting */

struct row {
	uint8_t id[STORE_ID_LEN];
	uint32_t pack;
	uint64_t off, len, owner;
	int64_t gen;
};

/* Up to SWEEP_STEP rows with id > after (NULL: from the start), in id
 * order.  *n = how many.  dbmu held. */
static int rows_page_locked(struct store *st, const uint8_t *after, struct row *rw, size_t *n)
{
	static const uint8_t zero[STORE_ID_LEN];
	sqlite3_stmt *q = NULL;
	int rc;

	*n = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT id, pack, off, clen, gen, owner FROM chunks"
				" WHERE id > ? ORDER BY id LIMIT ?", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(q, 1, after ? after : zero, after ? STORE_ID_LEN : 0,
				  SQLITE_STATIC);
		sqlite3_bind_int(q, 2, SWEEP_STEP);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			struct row *r = &rw[*n];

			if (sqlite3_column_bytes(q, 0) != STORE_ID_LEN)
				continue;
			memcpy(r->id, sqlite3_column_blob(q, 0), STORE_ID_LEN);
			r->pack = (uint32_t)sqlite3_column_int64(q, 1);
			r->off = (uint64_t)sqlite3_column_int64(q, 2);
			r->len = REC_HDR + (uint64_t)sqlite3_column_int64(q, 3);
			r->gen = sqlite3_column_int64(q, 4);
			r->owner = (uint64_t)sqlite3_column_int64(q, 5);
			(*n)++;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : store_db_err(st, rc);
}

static int step_reset(sqlite3 *db, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	return rc == SQLITE_DONE ? sqlite3_changes(db) : -1;
}

/* Deletes r's chunks row (by id and place, never one of generation gen or
 * later) and, when it went, its prov row, and lists its record in
 * sweep_punch.  1 deleted, 0 not there (any more), -1 error. */
static int row_delete(sqlite3 *db, sqlite3_stmt *const q[3], const struct row *r, int64_t gen)
{
	int c;

	sqlite3_bind_blob(q[0], 1, r->id, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(q[0], 2, r->pack);
	sqlite3_bind_int64(q[0], 3, (int64_t)r->off);
	sqlite3_bind_int64(q[0], 4, gen);
	if ((c = step_reset(db, q[0])) <= 0)
		return c;
	sqlite3_bind_int64(q[1], 1, (int64_t)r->owner);
	sqlite3_bind_int64(q[1], 2, r->pack);
	sqlite3_bind_int64(q[1], 3, (int64_t)r->off);
	sqlite3_bind_int64(q[2], 1, r->pack);
	sqlite3_bind_int64(q[2], 2, (int64_t)r->off);
	sqlite3_bind_int64(q[2], 3, (int64_t)r->len);
	if ((r->owner && step_reset(db, q[1]) < 0) || step_reset(db, q[2]) < 0)
		return -1;
	return 1;
}

/* One transaction: deletes the candidates rw[0..n) not touched meanwhile,
 * their prov rows, and lists their records in sweep_punch; keeps in
 * rw[0..*kept) the ones deleted.  dbmu held. */
static int delete_locked(struct store *st, struct row *rw, size_t n, size_t *kept)
{
	static const char *const sql[3] = {
		"DELETE FROM chunks WHERE id=? AND pack=? AND off=? AND gen<?",
		"DELETE FROM prov WHERE owner=? AND pack=? AND off=?",
		"INSERT OR IGNORE INTO sweep_punch VALUES(?, ?, ?)",
	};
	struct store_sweep *sw = st->sw;
	sqlite3_stmt *q[3] = { NULL, NULL, NULL };
	uint64_t bytes = 0;
	size_t i, k = 0;
	int rc, j, c;

	*kept = 0;
	if (sw->broken)
		return -ENOMEM;
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (j = 0; j < 3 && rc == SQLITE_OK; j++)
		rc = sqlite3_prepare_v2(st->db, sql[j], -1, &q[j], NULL);
	for (i = 0; i < n && rc == SQLITE_OK; i++) {
		if (idset_has(&sw->touched, rw[i].id)) {
			sw->stats.kept_touched++;
			continue;
		}
		crash_point();   /* (a rollback) */
		if ((c = row_delete(st->db, q, &rw[i], sw->gen)) < 0) {
			rc = SQLITE_IOERR;
		} else if (c > 0) {
			bytes += rw[i].len;
			rw[k++] = rw[i];
		}
	}
	if (rc == SQLITE_OK && k)
		rc = store_freed_add_locked(st, k, bytes) == 0 ? SQLITE_OK : SQLITE_IOERR;
	for (j = 0; j < 3; j++)
		sqlite3_finalize(q[j]);
	if ((rc = store_txn_end(st, rc)) == 0)
		*kept = k;
	return rc;
}

/* Punches the records listed in sweep_punch and empties it: what a step
 * deleted, or what a crashed sweep deleted before it could punch. */
static int journal_flush(struct store *st)
{
	struct vec f = VEC_INIT(struct store_extent);
	struct store_extent *e;
	sqlite3_stmt *q = NULL;
	int rc, r = 0;

	pthread_mutex_lock(&st->dbmu);
	rc = sqlite3_prepare_v2(st->db, "SELECT pack, off, len FROM sweep_punch", -1, &q, NULL);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(q)) != SQLITE_ROW)
			break;
		if (!(e = vec_add(&f))) {
			rc = SQLITE_NOMEM;
			break;
		}
		e->pack = (uint32_t)sqlite3_column_int64(q, 0);
		e->off = (uint64_t)sqlite3_column_int64(q, 1);
		e->len = (uint64_t)sqlite3_column_int64(q, 2);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->dbmu);
	if (rc != SQLITE_DONE)
		r = store_db_err(st, rc);
	if (r == 0 && f.n) {
		/* no row names these records: punching twice is harmless */
		crash_point();
		store_punch_extents(st, f.p, f.n);
		crash_point();
		pthread_mutex_lock(&st->dbmu);
		rc = sqlite3_exec(st->db, "DELETE FROM sweep_punch", NULL, NULL, NULL);
		pthread_mutex_unlock(&st->dbmu);
		r = rc == SQLITE_OK ? 0 : store_db_err(st, rc);
	}
	vec_free(&f);
	return r;
}

/* One page of rows after *after: the doomed ones deleted and punched. */
static int delete_page(struct store *st, struct row *rw, uint8_t *after, bool *more)
{
	struct store_sweep *sw = st->sw;
	size_t n, i, k = 0;
	int r;

	pthread_mutex_lock(&st->dbmu);
	r = rows_page_locked(st, sw->stats.rows ? after : NULL, rw, &n);
	pthread_mutex_unlock(&st->dbmu);
	if (r < 0)
		return r;
	*more = n == SWEEP_STEP;
	if (n)
		memcpy(after, rw[n - 1].id, STORE_ID_LEN);
	sw->stats.rows += n;
	for (i = 0; i < n; i++)
		if (rw[i].pack < sw->a0)
			sw->live[rw[i].pack] += rw[i].len;
	for (i = 0; i < n; i++) {
		if (rw[i].gen < sw->gen && !idset_has(&sw->marked, rw[i].id))
			rw[k++] = rw[i];
		else
			sw->stats.live_bytes += rw[i].len;
	}
	if (!k)
		return 0;
	pthread_mutex_lock(&st->dbmu);
	r = delete_locked(st, rw, k, &n);
	pthread_mutex_unlock(&st->dbmu);
	for (i = 0; i < n; i++) {
		sw->stats.deleted_bytes += rw[i].len;
		if (rw[i].pack < sw->a0)
			sw->live[rw[i].pack] -= rw[i].len;
	}
	sw->stats.deleted += n;
	return r < 0 ? r : journal_flush(st);
}

int store_sweep_delete(struct store *st, struct store_sweep_stats *out)
{
	uint8_t after[STORE_ID_LEN];
	struct row *rw;
	bool more = true;
	int r;

	if (!st->sw->deleting)   /* store_sweep_pins says when */
		return st->sw->broken ? -ENOMEM : -EINVAL;
	if ((r = journal_flush(st)) < 0)
		return r;
	free(st->sw->live);
	st->sw->live = calloc(st->sw->a0 ? st->sw->a0 : 1, sizeof(*st->sw->live));
	if (!st->sw->live || !(rw = malloc(SWEEP_STEP * sizeof(*rw))))
		return -ENOMEM;
	while (r == 0 && more)
		r = delete_page(st, rw, after, &more);
	free(rw);
	st->sw->scanned = r == 0;
	if (out)
		*out = st->sw->stats;
	return r;
}
