/* commands.c — the durable command queue and its audit trail in index.db:
 * queueing, the relay's next command, state changes reported by the relay
 * and the device, expiry, the device's freeze/erase flags, and a wait for a
 * change.  Rules in commands.h; tables in docs/index.md. */
#include "server/commands.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "server/index_int.h"
#include "server/retain.h"

#define EXPIRE_BATCH 64      /* commands expired per step (ids collected first) */
#define DETAIL_MAX   512     /* an event's detail; status shows the first 255 bytes */

/* Schema 1 made the table with these columns (and never used it). */
#define COMMANDS_V1 \
	"CREATE TABLE IF NOT EXISTS commands(" \
	" id INTEGER PRIMARY KEY, dev INTEGER NOT NULL, controller TEXT NOT NULL," \
	" action TEXT NOT NULL, body BLOB NOT NULL, state TEXT NOT NULL," \
	" issued_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL, expires_ns INTEGER NOT NULL);"

/* Schema 2's columns, added to a new table and an old one alike. */
static const struct idx_col added_cols[] = {
	{ "seq",           "INTEGER NOT NULL DEFAULT 0" },
	{ "sig",           "BLOB NOT NULL DEFAULT x''" },
	{ "reason",        "TEXT NOT NULL DEFAULT ''" },
	{ "files",         "INTEGER NOT NULL DEFAULT 0" },
	{ "bytes",         "INTEGER NOT NULL DEFAULT 0" },
	{ "unlinked_only", "INTEGER NOT NULL DEFAULT 0" },
	{ "fitrim",        "INTEGER NOT NULL DEFAULT 0" },
	{ "luks_slots",    "INTEGER NOT NULL DEFAULT 0" },
	{ "queued_ns",     "INTEGER NOT NULL DEFAULT 0" },
	{ "delivered_ns",  "INTEGER NOT NULL DEFAULT 0" },
};

/* The trail is append-only in the file itself too: events can be neither
 * changed nor deleted, commands not deleted, and a command's request (who
 * asked what, signed) never changes; only its progress columns do. */
#define COMMANDS_INDEXES \
	"CREATE INDEX IF NOT EXISTS commands_by_dev ON commands(dev, id);" \
	"CREATE UNIQUE INDEX IF NOT EXISTS commands_by_seq ON commands(controller, seq)" \
	" WHERE seq > 0;" \
	"CREATE INDEX IF NOT EXISTS commands_open ON commands(dev, id)" \
	" WHERE state IN ('pending', 'delivered');" \
	"CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events" \
	" BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;" \
	"CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events" \
	" BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;" \
	"CREATE TRIGGER IF NOT EXISTS commands_no_delete BEFORE DELETE ON commands" \
	" BEGIN SELECT RAISE(ABORT, 'commands are kept'); END;" \
	"CREATE TRIGGER IF NOT EXISTS commands_request_fixed BEFORE UPDATE OF" \
	" id, dev, controller, action, body, sig, seq, issued_ns, expires_ns, queued_ns" \
	" ON commands BEGIN SELECT RAISE(ABORT, 'a command request never changes'); END;"

#define CCOLS "id, dev, controller, action, body, sig, state, reason, files, bytes," \
	      " unlinked_only, fitrim, luks_slots, seq, issued_ns, expires_ns, queued_ns," \
	      " delivered_ns, updated_ns"

int idx_commands_schema(struct index *idx)
{
	int r;

	if ((r = idx_exec(idx, COMMANDS_V1, "commands table")) < 0 ||
	    (r = idx_add_columns(idx, "commands", added_cols,
				 sizeof(added_cols) / sizeof(added_cols[0]))) < 0)
		return r;
	return idx_exec(idx, COMMANDS_INDEXES, "commands indexes");
}

/* ------------------------------------------------------------------ states */

enum { RANK_PENDING, RANK_DELIVERED, RANK_RUNNING, RANK_FINAL };

static int state_rank(const char *s)
{
	static const struct { const char *name; int rank; } t[] = {
		{ "pending", RANK_PENDING }, { "delivered", RANK_DELIVERED },
		{ "running", RANK_RUNNING }, { "done", RANK_FINAL }, { "failed", RANK_FINAL },
		{ "refused", RANK_FINAL }, { "expired", RANK_FINAL },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].rank;
	return -1;
}

bool commands_state_final(const char *state)
{
	return state_rank(state) == RANK_FINAL;
}

/* ------------------------------------------------------------------ helpers */

/* idx_txn, and fn > 0 means it changed something: wake waiters. */
static int in_txn(struct index *idx, int (*fn)(struct index *, void *), void *arg)
{
	int r = idx_txn(idx, fn, arg);

	if (r > 0)
		pthread_cond_broadcast(&idx->cmd_changed);
	return r;
}

static void col_str(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", p ? (const char *)p : "");
}

static void read_row(sqlite3_stmt *st, struct cmd_row *c)
{
	int n;

	memset(c, 0, sizeof(*c));
	c->st.id = (uint64_t)sqlite3_column_int64(st, 0);
	c->dev = sqlite3_column_int64(st, 1);
	col_str(st, 2, c->controller, sizeof(c->controller));
	col_str(st, 3, c->action, sizeof(c->action));
	n = sqlite3_column_bytes(st, 4);
	if (n > 0 && (size_t)n <= sizeof(c->body)) {
		memcpy(c->body, sqlite3_column_blob(st, 4), (size_t)n);
		c->body_len = (size_t)n;
	}
	if (sqlite3_column_bytes(st, 5) == SIGN_SIG_LEN)
		memcpy(c->sig, sqlite3_column_blob(st, 5), SIGN_SIG_LEN);
	col_str(st, 6, c->st.state, sizeof(c->st.state));
	col_str(st, 7, c->st.reason, sizeof(c->st.reason));
	c->st.files = (uint64_t)sqlite3_column_int64(st, 8);
	c->st.bytes = (uint64_t)sqlite3_column_int64(st, 9);
	c->st.unlinked_only = (uint64_t)sqlite3_column_int64(st, 10);
	c->st.fitrim = (uint8_t)sqlite3_column_int(st, 11);
	c->st.luks_slots = (uint32_t)sqlite3_column_int64(st, 12);
	c->seq = (uint64_t)sqlite3_column_int64(st, 13);
	c->issued_ns = sqlite3_column_int64(st, 14);
	c->expires_ns = sqlite3_column_int64(st, 15);
	c->queued_ns = sqlite3_column_int64(st, 16);
	c->delivered_ns = sqlite3_column_int64(st, 17);
	c->st.updated_ns = sqlite3_column_int64(st, 18);
}

/* One row by a query binding (?1 = a, ?2 = b).  1 found, 0 none. */
static int row_query(struct index *idx, const char *sql, int64_t a, int64_t b,
		     struct cmd_row *out, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = idx_prep(idx, sql, &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_row(st, out);
		r = 1;
	} else if (rc != SQLITE_DONE) {
		r = idx_sql_fail(idx, rc, what);
	}
	sqlite3_finalize(st);
	return r;
}

static int get_locked(struct index *idx, uint64_t id, struct cmd_row *out)
{
	int r = row_query(idx, "SELECT " CCOLS " FROM commands WHERE id = ?1 AND ?2 = 0",
			  (int64_t)id, 0, out, "get command");

	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static int event(struct index *idx, int64_t dev, int64_t now, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int event(struct index *idx, int64_t dev, int64_t now, const char *fmt, ...)
{
	char detail[DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);   /* a long reason is cut */
	va_end(ap);
	return idx_event_add_locked(idx, dev, now, "command", detail);
}

/* ------------------------------------------------------------------- queue */

struct queue_op {
	int64_t dev, now;
	const struct cmd_new *n;
	uint64_t id;
};

/* The same controller and seq queued before: its id when it is the same
 * command (a retry), -EEXIST when it is another.  0: not queued yet. */
static int queue_retry(struct index *idx, struct queue_op *q)
{
	struct cmd_row *old = malloc(sizeof(*old));
	sqlite3_stmt *st = NULL;
	int r;

	if (!old)
		return -ENOMEM;
	if ((r = idx_prep(idx, "SELECT " CCOLS " FROM commands WHERE controller = ?1 AND seq = ?2",
			  &st)) < 0)
		goto out;
	sqlite3_bind_text(st, 1, q->n->controller, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (int64_t)q->n->seq);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		r = 0;
	} else if (r != SQLITE_ROW) {
		r = idx_sql_fail(idx, r, "queue retry");
	} else {
		read_row(st, old);
		r = old->dev == q->dev && old->body_len == q->n->body_len &&
		    memcmp(old->body, q->n->body, old->body_len) == 0 &&
		    memcmp(old->sig, q->n->sig, SIGN_SIG_LEN) == 0 ? 1 : -EEXIST;
		q->id = old->st.id;
	}
out:
	sqlite3_finalize(st);
	free(old);
	return r;
}

static int queue_locked(struct index *idx, void *arg)
{
	struct queue_op *q = arg;
	const struct cmd_new *n = q->n;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = queue_retry(idx, q)) != 0)
		return r < 0 ? r : 0;
	if ((r = idx_prep(idx, "INSERT INTO commands(dev, controller, action, body, sig, state, seq,"
			  " issued_ns, expires_ns, queued_ns, updated_ns) VALUES"
			  " (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8, ?9, ?9)", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, q->dev);
	sqlite3_bind_text(st, 2, n->controller, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, n->action, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 4, n->body, (int)n->body_len, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, n->sig, SIGN_SIG_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, (int64_t)n->seq);
	sqlite3_bind_int64(st, 7, n->issued_ns);
	sqlite3_bind_int64(st, 8, n->expires_ns);
	sqlite3_bind_int64(st, 9, q->now);
	r = idx_step_done(idx, st, "queue command");
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	q->id = (uint64_t)sqlite3_last_insert_rowid(idx->db);
	if ((r = event(idx, q->dev, q->now, "%s queued %s #%" PRIu64, n->controller, n->action,
		       q->id)) < 0)
		return r;
	return 1;
}

void commands_new_from(struct cmd_new *n, const struct vg_command *c, const uint8_t *body,
		       size_t len, const uint8_t *sig)
{
	*n = (struct cmd_new){ .controller = c->controller, .action = command_action_name(c->action),
			       .seq = c->seq, .issued_ns = c->issued_ns,
			       .expires_ns = c->expires_ns, .body = body, .body_len = len,
			       .sig = sig };
}

int commands_queue(struct index *idx, int64_t dev, const struct cmd_new *n, int64_t now_ns,
		   uint64_t *id)
{
	struct queue_op q = { .dev = dev, .now = now_ns, .n = n };
	int r;

	*id = 0;
	if (!n->controller || !n->controller[0] || strlen(n->controller) >= VG_NAME_MAX ||
	    !n->action || !n->action[0] || strlen(n->action) >= CMD_ACTION_MAX ||
	    n->seq == 0 || n->seq > INT64_MAX || !n->body || n->body_len == 0 ||
	    n->body_len > CMD_BODY_MAX || !n->sig || dev <= 0)
		return -EINVAL;
	pthread_mutex_lock(&idx->lock);
	r = in_txn(idx, queue_locked, &q);
	pthread_mutex_unlock(&idx->lock);
	if (r < 0)
		return r;
	*id = q.id;
	return 0;
}

/* ------------------------------------------------------------------ expiry */

struct expire_op {
	int64_t dev, now;
	uint64_t id;            /* 0: every command of dev (of all when dev is 0) */
};

/* One batch: collects up to EXPIRE_BATCH due commands, then marks each.
 * Returns how many it marked. */
static int expire_batch(struct index *idx, const struct expire_op *e)
{
	struct { int64_t id, dev; char action[CMD_ACTION_MAX], by[VG_NAME_MAX]; } due[EXPIRE_BATCH];
	sqlite3_stmt *st = NULL;
	int r, rc, i, n = 0;

	if ((r = idx_prep(idx, "SELECT id, dev, action, controller FROM commands"
			  " WHERE state IN ('pending', 'delivered') AND expires_ns <= ?1"
			  " AND (?2 = 0 OR dev = ?2) AND (?3 = 0 OR id = ?3) ORDER BY id LIMIT ?4",
			  &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, e->now);
	sqlite3_bind_int64(st, 2, e->dev);
	sqlite3_bind_int64(st, 3, (int64_t)e->id);
	sqlite3_bind_int(st, 4, EXPIRE_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		due[n].id = sqlite3_column_int64(st, 0);
		due[n].dev = sqlite3_column_int64(st, 1);
		col_str(st, 2, due[n].action, sizeof(due[n].action));
		col_str(st, 3, due[n].by, sizeof(due[n].by));
		n++;
	}
	if (rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "due commands");
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; r == 0 && i < n; i++) {
		if ((r = idx_prep(idx, "UPDATE commands SET state = 'expired', updated_ns = ?2"
				  " WHERE id = ?1", &st)) < 0)
			break;
		sqlite3_bind_int64(st, 1, due[i].id);
		sqlite3_bind_int64(st, 2, e->now);
		r = idx_step_done(idx, st, "expire command");
		sqlite3_finalize(st);
		st = NULL;
		if (r == 0)
			r = event(idx, due[i].dev, e->now, "#%" PRId64 " %s expired (queued by %s)",
				  due[i].id, due[i].action, due[i].by);
	}
	return r < 0 ? r : n;
}

static int expire_locked(struct index *idx, void *arg)
{
	int r, total = 0;

	do {
		if ((r = expire_batch(idx, arg)) < 0)
			return r;
		total += r;
	} while (r == EXPIRE_BATCH);
	return total;
}

int commands_expire(struct index *idx, int64_t dev, int64_t now_ns)
{
	struct expire_op e = { .dev = dev, .now = now_ns };
	int r;

	pthread_mutex_lock(&idx->lock);
	r = in_txn(idx, expire_locked, &e);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int commands_next(struct index *idx, int64_t dev, uint64_t after, int64_t now_ns,
		  struct cmd_row *out)
{
	struct expire_op e = { .dev = dev, .now = now_ns };
	int r;

	if (dev <= 0)
		return -EINVAL;
	pthread_mutex_lock(&idx->lock);
	if ((r = in_txn(idx, expire_locked, &e)) >= 0)
		r = row_query(idx, "SELECT " CCOLS " FROM commands WHERE dev = ?1 AND id > ?2"
			      " AND state IN ('pending', 'delivered') ORDER BY id LIMIT 1",
			      dev, (int64_t)after, out, "next command");
	pthread_mutex_unlock(&idx->lock);
	return r;
}

/* ------------------------------------------------------------ state changes */

struct state_op {
	int64_t dev, now;
	const struct vg_cmdstate *st;
	int result;             /* what commands_set_state returns */
};

static bool same_report(const struct vg_cmdstate *a, const struct vg_cmdstate *b)
{
	return strcmp(a->state, b->state) == 0 && strcmp(a->reason, b->reason) == 0 &&
	       a->files == b->files && a->bytes == b->bytes &&
	       a->unlinked_only == b->unlinked_only && a->fitrim == b->fitrim &&
	       a->luks_slots == b->luks_slots;
}

/* The event for a change to st->state: "#id action state", the erase
 * figures, and the device's reason. */
static int state_event(struct index *idx, const struct cmd_row *c, const struct vg_cmdstate *st,
		       int64_t now)
{
	char figs[200] = "";

	if (strcmp(c->action, "erase") == 0 && state_rank(st->state) >= RANK_RUNNING &&
	    strcmp(st->state, "refused") != 0)
		snprintf(figs, sizeof(figs), " (%" PRIu64 " files, %" PRIu64 " bytes overwritten,"
			 " %" PRIu64 " unlinked only, fitrim %s, %" PRIu32 " LUKS key slots"
			 " destroyed)", st->files, st->bytes, st->unlinked_only,
			 st->fitrim ? "yes" : "no", st->luks_slots);
	return event(idx, c->dev, now, "#%" PRIu64 " %s %s%s%s%s", c->st.id, c->action, st->state,
		     figs, st->reason[0] ? ": " : "", st->reason);
}

static int state_store(struct index *idx, const struct cmd_row *c, const struct vg_cmdstate *st,
		       int64_t now)
{
	bool relay = strcmp(st->state, "delivered") == 0;   /* carries no report */
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = idx_prep(idx, "UPDATE commands SET state = ?2, reason = ?3, files = ?4,"
			  " bytes = ?5, unlinked_only = ?6, fitrim = ?7, luks_slots = ?8,"
			  " updated_ns = ?9, delivered_ns = CASE WHEN delivered_ns = 0 THEN ?9"
			  " ELSE delivered_ns END WHERE id = ?1", &q)) < 0)
		return r;
	sqlite3_bind_int64(q, 1, (int64_t)c->st.id);
	sqlite3_bind_text(q, 2, st->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, relay ? "" : st->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 4, relay ? 0 : (int64_t)st->files);
	sqlite3_bind_int64(q, 5, relay ? 0 : (int64_t)st->bytes);
	sqlite3_bind_int64(q, 6, relay ? 0 : (int64_t)st->unlinked_only);
	sqlite3_bind_int(q, 7, relay ? 0 : st->fitrim != 0);
	sqlite3_bind_int64(q, 8, relay ? 0 : (int64_t)st->luks_slots);
	sqlite3_bind_int64(q, 9, now);
	r = idx_step_done(idx, q, "command state");
	sqlite3_finalize(q);
	return r;
}

/* Decides and applies one change inside the transaction; o->result is the
 * answer, the return value says whether to commit (>= 0) and wake (> 0). */
static int set_state_locked(struct index *idx, void *arg)
{
	struct state_op *o = arg;
	const struct vg_cmdstate *st = o->st;
	struct cmd_row *c = malloc(sizeof(*c));
	int r, want = state_rank(st->state), have;

	if (!c)
		return -ENOMEM;
	r = row_query(idx, "SELECT " CCOLS " FROM commands WHERE id = ?1 AND dev = ?2",
		      (int64_t)st->id, o->dev, c, "command");
	if (r <= 0) {
		r = r == 0 ? -ENOENT : r;
		goto out;
	}
	have = state_rank(c->st.state);
	if (want == have && strcmp(c->st.state, st->state) == 0 &&
	    (want == RANK_DELIVERED || same_report(&c->st, st))) {
		o->result = r = 0;                    /* the same report again */
	} else if (strcmp(c->st.state, "expired") == 0 && want > RANK_DELIVERED) {
		/* the device acted (or refused) after the server gave up on
		 * the command: the state stays, the trail says what came */
		o->result = -EALREADY;
		r = event(idx, c->dev, o->now, "#%" PRIu64 " %s reported %s after it expired%s%s",
			  c->st.id, c->action, st->state, st->reason[0] ? ": " : "", st->reason);
	} else if (have == RANK_FINAL || want < have || (want == have && want != RANK_RUNNING)) {
		o->result = r = -EALREADY;
	} else if ((r = state_store(idx, c, st, o->now)) == 0) {
		/* running again with new figures is progress: no event */
		if (want != have)
			r = state_event(idx, c, st, o->now);
		if (r == 0)
			o->result = r = 1;
	}
out:
	free(c);
	return r;
}

int commands_set_state(struct index *idx, int64_t dev, const struct vg_cmdstate *st,
		       int64_t now_ns)
{
	struct state_op o = { .dev = dev, .now = now_ns, .st = st };
	int r, want = state_rank(st->state);

	/* pending and expired are the server's own; anything else is unknown */
	if (want <= RANK_PENDING || strcmp(st->state, "expired") == 0)
		return -EINVAL;
	pthread_mutex_lock(&idx->lock);
	r = in_txn(idx, set_state_locked, &o);
	pthread_mutex_unlock(&idx->lock);
	return r < 0 && r != -EALREADY ? r : o.result;
}

/* ----------------------------------------------------------------- reading */

int commands_get(struct index *idx, uint64_t id, struct cmd_row *out)
{
	int r;

	pthread_mutex_lock(&idx->lock);
	r = get_locked(idx, id, out);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

int commands_list(struct index *idx, int64_t dev, size_t max,
		  void (*cb)(void *arg, const struct cmd_row *c), void *arg)
{
	struct cmd_row *c = malloc(sizeof(*c));
	sqlite3_stmt *st = NULL;
	int r, rc, n = 0;

	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&idx->lock);
	if ((r = idx_prep(idx, "SELECT * FROM (SELECT " CCOLS " FROM commands WHERE dev = ?1"
			  " ORDER BY id DESC LIMIT ?2) ORDER BY id", &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_row(st, c);
		cb(arg, c);
		n++;
	}
	if (rc != SQLITE_DONE)
		r = idx_sql_fail(idx, rc, "list commands");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&idx->lock);
	free(c);
	return r < 0 ? r : n;
}

/* The erase that speaks for the device: a done one if any (the device is
 * erased, whatever came after), else the newest that did not expire. */
static void erase_state(const char *state, struct cmd_flags *f)
{
	int rank = state_rank(state);

	if (strcmp(state, "done") == 0)
		snprintf(f->erase_state, sizeof(f->erase_state), "done");
	else if (rank == RANK_RUNNING)
		snprintf(f->erase_state, sizeof(f->erase_state), "running");
	else if (rank == RANK_FINAL)   /* failed, refused */
		snprintf(f->erase_state, sizeof(f->erase_state), "failed");
	else
		snprintf(f->erase_state, sizeof(f->erase_state), "pending");
}

static int flags_locked(struct index *idx, int64_t dev, struct cmd_flags *f)
{
	struct retain_devinfo h;
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* one pass over the device's commands; two answers */
	if ((r = idx_prep(idx, "SELECT"
		" (SELECT action FROM commands WHERE dev = ?1 AND state = 'done' AND action IN"
		"  ('freeze', 'thaw') ORDER BY updated_ns DESC, id DESC LIMIT 1),"
		" (SELECT state || ' ' || files || ' ' || bytes FROM commands WHERE dev = ?1"
		"  AND action = 'erase' AND state != 'expired'"
		"  ORDER BY state = 'done' DESC, id DESC LIMIT 1)", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, dev);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = idx_sql_fail(idx, rc, "command flags");
		goto out;
	}
	f->frozen = sqlite3_column_type(st, 0) != SQLITE_NULL &&
		    strcmp((const char *)sqlite3_column_text(st, 0), "freeze") == 0;
	if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
		char state[CMD_STATE_MAX];
		unsigned long long files, bytes;

		if (sscanf((const char *)sqlite3_column_text(st, 1), "%15s %llu %llu", state,
			   &files, &bytes) == 3) {
			erase_state(state, f);
			f->erase_files = files;
			f->erase_bytes = bytes;
		}
	}
	/* on hold: retain_db.c decides (a release ends a hold) */
	if ((r = idx_retain_hold_locked(idx, dev, &h)) == 0)
		f->on_hold = h.on_hold;
out:
	sqlite3_finalize(st);
	return r;
}

int commands_flags(struct index *idx, int64_t dev, struct cmd_flags *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(out->erase_state, sizeof(out->erase_state), "none");
	pthread_mutex_lock(&idx->lock);
	r = flags_locked(idx, dev, out);
	pthread_mutex_unlock(&idx->lock);
	return r;
}

/* ------------------------------------------------------------------- wait */

static struct timespec ts_of_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	return ts;
}

static bool ts_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

int commands_wait(struct index *idx, uint64_t id, const char *from, long timeout_ms,
		  struct cmd_row *out)
{
	struct timespec deadline = deadline_in_ms(timeout_ms < 0 ? 0 : timeout_ms), until;
	struct expire_op e = { .id = id };
	int r;

	pthread_mutex_lock(&idx->lock);
	for (;;) {
		if ((r = get_locked(idx, id, out)) < 0)
			break;
		e.now = real_ns();
		if (state_rank(out->st.state) <= RANK_DELIVERED && out->expires_ns <= e.now) {
			if ((r = in_txn(idx, expire_locked, &e)) < 0)
				break;
			continue;
		}
		if (commands_state_final(out->st.state) || (from && strcmp(out->st.state, from))) {
			r = 0;
			break;
		}
		if (!ts_before(ts_of_ns(e.now), deadline)) {
			r = -ETIMEDOUT;
			break;
		}
		until = deadline;
		if (state_rank(out->st.state) <= RANK_DELIVERED &&
		    ts_before(ts_of_ns(out->expires_ns), until))
			until = ts_of_ns(out->expires_ns);
		pthread_cond_timedwait(&idx->cmd_changed, &idx->lock, &until);
	}
	pthread_mutex_unlock(&idx->lock);
	return r;
}
