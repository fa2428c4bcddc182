/* simstate.c — a device's SIM as last reported, and the events a new
 * report makes (rules in simstate.h): sim_decide() decides, the rest reads
 * and writes the devices table's sim_* columns. */
#include "server/simstate.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "server/index_int.h"

/* sim_time_ns NULL: no report stored yet. */
static const struct idx_col sim_cols[] = {
	{ "sim_iccid",      "TEXT NOT NULL DEFAULT ''" },
	{ "sim_imsi",       "TEXT NOT NULL DEFAULT ''" },
	{ "sim_operator",   "TEXT NOT NULL DEFAULT ''" },
	{ "sim_present",    "INTEGER NOT NULL DEFAULT 0" },
	{ "sim_changed_ns", "INTEGER NOT NULL DEFAULT 0" },
	{ "sim_time_ns",    "INTEGER" },
};

/* on hold (commands_flags) asks whether a device ever had a swap */
#define SIM_INDEXES \
	"CREATE INDEX IF NOT EXISTS events_sim_swap ON events(dev) WHERE kind = 'sim-swap';"

int idx_sim_schema(struct index *idx)
{
	int r = idx_add_columns(idx, "devices", sim_cols, sizeof(sim_cols) / sizeof(sim_cols[0]));

	return r < 0 ? r : idx_exec(idx, SIM_INDEXES, "sim indexes");
}

/* ------------------------------------------------------------------ decide */

static bool same_state(const struct vg_sim *a, const struct vg_sim *b)
{
	return a->present == b->present && !strcmp(a->iccid, b->iccid) &&
	       !strcmp(a->imsi, b->imsi) && !strcmp(a->operator_name, b->operator_name);
}

/* The state after rep: a present SIM as reported (an unreadable ICCID
 * keeps the known one); no SIM keeps the last one's identity. */
static void next_sim(const struct sim_state *cur, const struct vg_sim *rep, int64_t t,
		     struct vg_sim *n)
{
	*n = cur->sim;
	n->time_ns = t;
	n->present = rep->present;
	n->allowed = 0;
	if (!rep->present)
		return;
	if (rep->iccid[0])
		memcpy(n->iccid, rep->iccid, sizeof(n->iccid));
	memcpy(n->imsi, rep->imsi, sizeof(n->imsi));
	memcpy(n->operator_name, rep->operator_name, sizeof(n->operator_name));
}

void sim_decide(const struct sim_state *cur, const struct vg_sim *rep, int64_t now_ns,
		struct sim_outcome *o)
{
	const struct vg_sim *old = &cur->sim;
	int64_t t = rep->time_ns < now_ns ? rep->time_ns : now_ns;
	bool swapped;

	memset(o, 0, sizeof(*o));
	o->next = *cur;
	if (cur->known && rep->time_ns < old->time_ns)
		return;                                 /* older than what is stored */
	o->next.known = true;
	next_sim(cur, rep, t, &o->next.sim);
	if (!cur->known) {
		o->store = true;
		return;
	}
	o->store = !same_state(old, &o->next.sim);
	swapped = rep->present && rep->iccid[0] && old->iccid[0] && strcmp(old->iccid, rep->iccid);
	if (swapped)
		o->next.changed_ns = t;
	if (old->present && !rep->present) {
		o->event = "sim-removed";
		snprintf(o->detail, sizeof(o->detail), "%s", old->iccid);
	} else if (swapped && !rep->allowed) {
		o->event = "sim-swap";
		snprintf(o->detail, sizeof(o->detail), "ICCID %s -> %s, IMSI %s", old->iccid,
			 rep->iccid, rep->imsi[0] ? rep->imsi : "-");
	} else if (!old->present && rep->present && !swapped) {
		o->event = "sim-inserted";
		snprintf(o->detail, sizeof(o->detail), "%s", o->next.sim.iccid);
	}
}

/* ---------------------------------------------------------------------- I/O */

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", p ? (const char *)p : "");
}

static int get_locked(struct index *idx, int64_t dev, struct sim_state *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if ((r = idx_prep(idx, "SELECT sim_iccid, sim_imsi, sim_operator, sim_present,"
		      " sim_changed_ns, sim_time_ns FROM devices"
		      " WHERE dev = ?1 AND sim_time_ns IS NOT NULL", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->known = true;
		col_copy(st, 0, out->sim.iccid, sizeof(out->sim.iccid));
		col_copy(st, 1, out->sim.imsi, sizeof(out->sim.imsi));
		col_copy(st, 2, out->sim.operator_name, sizeof(out->sim.operator_name));
		out->sim.present = sqlite3_column_int(st, 3) != 0;
		out->changed_ns = sqlite3_column_int64(st, 4);
		out->sim.time_ns = sqlite3_column_int64(st, 5);
	} else if (rc != SQLITE_DONE) {
		r = idx_sql_fail(idx, rc, "sim state");
	}
	sqlite3_finalize(st);
	return r;
}

static int put_locked(struct index *idx, int64_t dev, const struct sim_state *s)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = idx_prep(idx, "INSERT INTO devices(dev, sim_iccid, sim_imsi, sim_operator,"
		      " sim_present, sim_changed_ns, sim_time_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		      " ON CONFLICT(dev) DO UPDATE SET sim_iccid = ?2, sim_imsi = ?3,"
		      " sim_operator = ?4, sim_present = ?5, sim_changed_ns = ?6, sim_time_ns = ?7",
		      &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_text(st, 2, s->sim.iccid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, s->sim.imsi, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, s->sim.operator_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, s->sim.present);
	sqlite3_bind_int64(st, 6, s->changed_ns);
	sqlite3_bind_int64(st, 7, s->sim.time_ns);
	r = idx_step_done(idx, st, "store sim");
	sqlite3_finalize(st);
	return r;
}

struct report_txn {
	int64_t dev, now_ns;
	const struct vg_sim *rep;
};

static int report_locked(struct index *idx, void *arg)
{
	struct report_txn *t = arg;
	struct sim_outcome o;
	struct sim_state cur;
	int r;

	if ((r = get_locked(idx, t->dev, &cur)) < 0)
		return r;
	sim_decide(&cur, t->rep, t->now_ns, &o);
	if (o.store && (r = put_locked(idx, t->dev, &o.next)) < 0)
		return r;
	if (o.event)
		r = idx_event_add_locked(idx, t->dev, o.next.sim.time_ns, o.event, o.detail);
	return r;
}

int index_sim_report(struct index *idx, int64_t dev, const struct vg_sim *rep, int64_t now_ns)
{
	struct report_txn t = { .dev = dev, .now_ns = now_ns, .rep = rep };
	int r;

	pthread_mutex_lock(&idx->lock);
	r = idx_txn(idx, report_locked, &t);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int index_sim_get(struct index *idx, int64_t dev, struct sim_state *out)
{
	int r;

	pthread_mutex_lock(&idx->lock);
	r = get_locked(idx, dev, out);
	pthread_mutex_unlock(&idx->lock);
	return r;
}
