/* cmdexec.c — checking and running signed commands (cmdexec.h). */
#include "daemon/cmdexec.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/log.h"
#include "daemon/cmdcheck.h"
#include "daemon/cmdlink.h"
#include "daemon/cmdseq.h"
#include "daemon/cmdtrust.h"
#include "daemon/daemon.h"
#include "daemon/erase.h"
#include "daemon/fetchserve.h"
#include "daemon/freezer.h"

struct cmdexec {
	struct vigild *d;
	struct cmdlink *link;
	struct cmdseq *seq;
	struct freezer *fz;
	struct cmd_env *env;        /* the command in hand */
	struct cmdcheck_result *res;/* its check; res->cmd the decoded body */
	struct vg_command *cmd;     /* = &res->cmd */
	pthread_t th;
	bool started;
};

static void set_state(struct vg_cmdstate *st, const char *state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_state(struct vg_cmdstate *st, const char *state, const char *fmt, ...)
{
	va_list ap;

	snprintf(st->state, sizeof(st->state), "%s", state);
	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ actions */

static void act_freeze(struct cmdexec *x, bool freeze, struct vg_cmdstate *st)
{
	char err[512] = "";
	int r;

	if (freezer_count(x->fz) == 0) {
		set_state(st, "failed", "no --freeze-cgroup configured on this device");
		return;
	}
	r = freeze ? freezer_freeze(x->fz, FREEZER_TIMEOUT_MS, err, sizeof(err)) :
		     freezer_thaw(x->fz, FREEZER_TIMEOUT_MS, err, sizeof(err));
	if (r < 0)
		set_state(st, "failed", "%s", err);
	else
		set_state(st, "done", "%s %zu cgroup(s), confirmed by the kernel",
			  freeze ? "froze" : "thawed", freezer_count(x->fz));
}

static void act_trust(struct cmdexec *x, struct vg_cmdstate *st)
{
	struct vigild *d = x->d;
	char err[256] = "";
	int r = cmdtrust_apply(d->bundle, d->cf->bundle, x->cmd, err, sizeof(err));

	if (r < 0)
		set_state(st, "failed", "%s", err);
	else
		set_state(st, "done", "%s %s", x->cmd->action == CMD_TRUST_ADD ?
			  "now trusts" : "no longer trusts", x->cmd->trust_name);
}

static void act_fetch(struct cmdexec *x, struct vg_cmdstate *st)
{
	struct vigild *d = x->d;
	struct fetch_result res;
	char why[VG_ERRMSG_MAX] = "";
	int r = fetchserve(x->link, x->env->id, x->cmd->path, d->cf->watch, d->cf->nwatch, &res,
			   why, sizeof(why));

	st->files = res.files;
	st->bytes = res.bytes;
	if (r < 0)
		set_state(st, "failed", "%s", why[0] ? why : strerror(-r));
	else
		set_state(st, "done", "sent %llu file(s), %llu byte(s)",
			  (unsigned long long)res.files, (unsigned long long)res.bytes);
}


/* -------------------------------------------------------------------- erase */

#define ERASE_CMD_FILE "erase-cmd"   /* in STATE: the id of the erase in progress */

static void erase_summary(struct vg_cmdstate *st, const struct erase_report *r)
{
	st->files = r->files_overwritten;
	st->bytes = r->bytes_overwritten;
	st->unlinked_only = r->unlinked_links + r->unlinked_special + r->unlinked_symlinks +
			    r->unlinked_busy;
	st->fitrim = r->fitrim_ran > 0 && !r->fitrim_unsupported && !r->fitrim_error;
	st->luks_slots = r->luks_slots_destroyed;
	snprintf(st->reason, sizeof(st->reason),
		 "overwrote %llu file(s), %llu byte(s); unlinked only: %llu hard-linked, "
		 "%llu special, %llu symlink(s), %llu busy; %llu mount(s) not entered; "
		 "%llu left (errors); FITRIM %s; LUKS: %u key slot(s) destroyed on %u volume(s)%s",
		 (unsigned long long)r->files_overwritten, (unsigned long long)r->bytes_overwritten,
		 (unsigned long long)r->unlinked_links, (unsigned long long)r->unlinked_special,
		 (unsigned long long)r->unlinked_symlinks, (unsigned long long)r->unlinked_busy,
		 (unsigned long long)r->mounts_skipped, (unsigned long long)r->failed,
		 r->fitrim_ran ? (r->fitrim_unsupported || r->fitrim_error ? "ran on some" : "ran") :
		 r->fitrim_unsupported ? "not supported" : "failed",
		 r->luks_slots_destroyed, r->luks_volumes, r->luks_failed ? " (some failed)" : "");
}

struct erase_ctx {
	struct cmdexec *x;
	uint64_t id;
	int64_t last_ms;
};

/* Progress while erasing: running, with the figures so far (at most 1/s). */
static void erase_progress(void *arg, const struct erase_report *r)
{
	struct erase_ctx *ec = arg;
	struct vg_cmdstate st = { .id = ec->id };

	if (mono_ms() - ec->last_ms < 1000)
		return;
	ec->last_ms = mono_ms();
	erase_summary(&st, r);
	snprintf(st.state, sizeof(st.state), "running");
	cmdlink_report(ec->x->link, &st);
}

static int erase_go(struct cmdexec *x, uint64_t id, bool resume, struct erase_report *rep)
{
	struct vigild *d = x->d;
	char *keep[2] = { d->cf->state, d->cf->bundle };
	struct erase_ctx ec = { .x = x, .id = id };
	struct erase_opts o = {
		.statedir = d->cf->state, .roots = d->cf->erase, .nroots = d->cf->nerase,
		.luks = d->cf->luks, .nluks = d->cf->nluks, .keep = keep, .nkeep = 2,
		.progress = x->link ? erase_progress : NULL, .progress_arg = &ec,
	};

	return resume ? erase_resume(&o, rep) : erase_run(&o, rep);
}

/* Waits (bounded) until nothing is queued: the backup as fresh as it gets. */
static uint64_t ship_queue(struct vigild *d)
{
	int64_t until = mono_ms() + CMDEXEC_SHIP_WAIT_MS, oldest;
	uint64_t left = 0;

	vigild_wake(d);
	while (statedb_queue_stats(d->db, &left, &oldest) == 0 && left > 0 && mono_ms() < until)
		usleep(100 * 1000);
	return left;
}

static void act_erase(struct cmdexec *x, struct vg_cmdstate *st)
{
	struct vigild *d = x->d;
	struct erase_report rep;
	char path[PATH_MAX], idtxt[32], err[512] = "";
	uint64_t left = ship_queue(d);
	int r;

	pthread_mutex_lock(&d->mu);
	d->erasing = true;
	pthread_mutex_unlock(&d->mu);
	if (left)
		log_warnx("erase: %llu file(s) not on the server after %d s; erasing anyway",
			  (unsigned long long)left, CMDEXEC_SHIP_WAIT_MS / 1000);
	if (freezer_count(x->fz) && freezer_freeze(x->fz, FREEZER_TIMEOUT_MS, err, sizeof(err)) < 0)
		log_warnx("erase: freeze first: %s; erasing anyway", err);
	snprintf(path, sizeof(path), "%s/%s", d->cf->state, ERASE_CMD_FILE);
	snprintf(idtxt, sizeof(idtxt), "%llu\n", (unsigned long long)x->env->id);
	if ((r = file_write_atomic(path, idtxt, strlen(idtxt), 0600, 0)) < 0) {
		set_state(st, "failed", "cannot record the erase: %s", strerror(-r));
		return;
	}
	if ((r = erase_go(x, x->env->id, false, &rep)) < 0) {
		set_state(st, "failed", "cannot keep the erase journal: %s", strerror(-r));
		return;
	}
	erase_summary(st, &rep);
	snprintf(st->state, sizeof(st->state), "done");
	if (left)
		snprintf(st->reason + strlen(st->reason), sizeof(st->reason) - strlen(st->reason),
			 "; %llu file(s) never reached the server", (unsigned long long)left);
}

/* After the final report is on the server: nothing of vigild is left to
 * keep; main removes the state dir and the bundle once everything stopped. */
static void erase_finish(struct cmdexec *x)
{
	struct vigild *d = x->d;

	int r;

	while ((r = cmdlink_wait_reported(x->link, 1000)) == -ETIMEDOUT && !vigild_quit)
		;
	if (r < 0)
		return;   /* stopping: the report goes out at the next start */
	(void)erase_mark_reported(d->cf->state);
	log_info("erase reported; removing vigild's state and bundle");
	pthread_mutex_lock(&d->mu);
	d->wipe_state = true;
	pthread_mutex_unlock(&d->mu);
	vigild_quit = 1;
}

/* The id of the erase recorded in STATE, 0 when none. */
static uint64_t erase_recorded_id(struct vigild *d)
{
	char path[PATH_MAX];
	uint64_t id = 0;
	struct buf b;

	snprintf(path, sizeof(path), "%s/%s", d->cf->state, ERASE_CMD_FILE);
	buf_init(&b, 32);
	/* "ID\n", NUL-terminated for strtoull */
	if (file_read_all(AT_FDCWD, path, O_NOFOLLOW, &b) == 0 && buf_append(&b, "", 1) == 0)
		id = strtoull((const char *)b.data, NULL, 10);
	buf_free(&b);
	return id;
}

/* ------------------------------------------------------------------ checking */

/* Commits a new result for the command in hand (rec holds its record). */
static void record_result(struct cmdexec *x, struct cmdseq_rec *rec, const struct vg_cmdstate *st)
{
	int r;

	rec->result = *st;
	if ((r = cmdseq_commit(x->seq, x->d->cf->state, rec)) < 0)
		log_errno(r, "%s/%s: the result of command #%llu", x->d->cf->state, CMDSEQ_FILE,
			  (unsigned long long)st->id);
}

static void run_checked(struct cmdexec *x, struct vg_cmdstate *st)
{
	struct cmdseq_rec rec;
	int r;

	/* durable before anything happens: a crash cannot reopen a replay */
	cmdcheck_record(x->res, x->env->id, real_ns(), &rec);
	if ((r = cmdseq_commit(x->seq, x->d->cf->state, &rec)) < 0) {
		set_state(st, "failed", "cannot record the sequence number: %s", strerror(-r));
		return;
	}
	cmdlink_report(x->link, &rec.result);
	log_info("command #%llu: %s from %s", (unsigned long long)x->env->id,
		 command_action_name(x->cmd->action), x->cmd->controller);
	switch (x->cmd->action) {
	case CMD_FREEZE:       act_freeze(x, true, st); break;
	case CMD_THAW:         act_freeze(x, false, st); break;
	case CMD_TRUST_ADD:
	case CMD_TRUST_REVOKE: act_trust(x, st); break;
	case CMD_FETCH:        act_fetch(x, st); break;
	case CMD_ERASE:        act_erase(x, st); break;
	default:               set_state(st, "failed", "unknown action"); break;
	}
	st->updated_ns = real_ns();
	record_result(x, &rec, st);
}

static void handle(struct cmdexec *x)
{
	struct vigild *d = x->d;
	struct vg_cmdstate st = { .id = x->env->id };
	enum cmdcheck_verdict v;

	v = cmdcheck_decide(x->env->body, x->env->len, x->env->sig, d->bundle, d->bundle->name,
			    real_ns(), x->seq, x->res);
	if (v == CMDCHECK_REFUSE) {
		log_warnx("command #%llu refused: %s", (unsigned long long)x->env->id,
			  x->res->reason);
		set_state(&st, "refused", "%s", x->res->reason);
	} else if (v == CMDCHECK_REDELIVERY) {
		st = x->res->prev->result;
		st.id = x->env->id;
	} else {
		run_checked(x, &st);
	}
	cmdlink_report(x->link, &st);   /* kept and resent while offline */
	if (v != CMDCHECK_REFUSE && x->cmd->action == CMD_ERASE && !strcmp(st.state, "done"))
		erase_finish(x);
}

/* An erase that finished before the last stop but was not reported yet. */
static void report_erase_done(struct cmdexec *x)
{
	struct erase_report rep;
	struct vg_cmdstate st = { .id = erase_recorded_id(x->d), .state = "done" };

	if (erase_state(x->d->cf->state, &rep) != ERASE_DONE || st.id == 0)
		return;
	erase_summary(&st, &rep);
	cmdlink_report(x->link, &st);
	erase_finish(x);
}

static void *exec_main(void *arg)
{
	struct cmdexec *x = arg;
	int r;

	pthread_setname_np(pthread_self(), "vigild-exec");
	report_erase_done(x);
	/* no timeout: a command or the stop (cmdlink_cancel) wakes it */
	while ((r = cmdlink_next(x->link, x->env, -1)) != -ECANCELED)
		if (r == 0)
			handle(x);
	return NULL;
}

/* At start: an erase cut short is finished before anything else runs. */
static int erase_take_up(struct cmdexec *x)
{
	struct vigild *d = x->d;
	struct erase_report rep;
	enum erase_phase ph = erase_state(d->cf->state, NULL);
	int r;

	if (ph == ERASE_NONE)
		return 0;
	d->erasing = true;   /* no thread runs yet */
	if (ph == ERASE_REPORTED) {
		d->wipe_state = true;
		vigild_quit = 1;
		return 0;
	}
	if (ph == ERASE_DONE)
		return 0;
	log_info("an erase was cut short: taking it up again");
	if ((r = erase_go(x, erase_recorded_id(d), true, &rep)) < 0)
		log_errno(r, "erase: cannot keep the journal");
	return r;
}

int cmdexec_start(struct vigild *d, struct cmdexec **out)
{
	struct cmdexec *x = calloc(1, sizeof(*x));
	char err[512] = "";
	int r;

	*out = NULL;
	if (!x || !(x->env = malloc(sizeof(*x->env))) || !(x->res = calloc(1, sizeof(*x->res)))) {
		cmdexec_stop(x);
		return -ENOMEM;
	}
	x->cmd = &x->res->cmd;
	x->d = d;
	if (getenv("VIGIL_TEST_ERASE_EXIT_AFTER"))   /* t_erase.sh: a crash mid-erase */
		erase_test_exit_after(strtoull(getenv("VIGIL_TEST_ERASE_EXIT_AFTER"), NULL, 10), false);
	if ((r = freezer_open(&x->fz, d->cf->state, d->cf->freeze, d->cf->nfreeze, err,
			      sizeof(err))) < 0 ||
	    (r = freezer_restore(x->fz, FREEZER_TIMEOUT_MS, err, sizeof(err))) < 0) {
		log_warnx("%s", err);
		cmdexec_stop(x);
		return r;
	}
	if (r == 1)
		log_info("frozen again, as recorded before the last stop");
	if ((r = cmdseq_load(d->cf->state, &x->seq)) < 0) {
		log_errno(r, "%s/cmdseq", d->cf->state);
		cmdexec_stop(x);
		return r;
	}
	if ((r = erase_take_up(x)) < 0 ||
	    (r = cmdlink_start(d->bundle, d->cf->server, &d->ctr, &x->link)) < 0 ||
	    (r = -pthread_create(&x->th, NULL, exec_main, x)) < 0) {
		cmdexec_stop(x);
		return r;
	}
	x->started = true;
	*out = x;
	return 0;
}

struct cmdlink *cmdexec_link(struct cmdexec *x)
{
	return x ? x->link : NULL;
}

void cmdexec_stop(struct cmdexec *x)
{
	if (!x)
		return;
	cmdlink_cancel(x->link);   /* every wait of the executor ends */
	if (x->started)
		pthread_join(x->th, NULL);
	cmdlink_stop(x->link);
	cmdseq_free(x->seq);
	freezer_free(x->fz);
	free(x->env);
	free(x->res);
	free(x);
}
