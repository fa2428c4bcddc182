/* cmdlink.c — the connection signed commands arrive on (cmdlink.h). */
#include "daemon/cmdlink.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/backoff.h"
#include "common/client.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/rpc.h"
#include "daemon/putio.h"

#define LINK_CONNECT_MS 10000
/* Waits between attempts to connect, as the shippers' (ship.h): up to 5
 * minutes offline; cmdlink_retry_now (a network change) ends one early. */
#define LINK_BACKOFF_MIN 500
#define LINK_BACKOFF_MAX 300000
/* The link thread has no timer of its own: a request (a report, a poke, a
 * stream given back, quit) and the connection's end (on_close) wake it,
 * and the reporter says when it wants to be asked (devreport.h: only while
 * files are queued).  The connection's keepalive is the mux's
 * (MUX_DEVICE_PING_MS). */

struct cmdlink {
	const struct bundle *b;
	const char *server;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;          /* guards everything below */
	pthread_cond_t cv;           /* the link thread's and the waiters' for reports */
	pthread_cond_t cmd_cv;       /* cmdlink_next's: a command came, or quit */
	bool quit;
	bool retry_now;              /* the network changed: connect again now */
	int64_t retry_at;            /* mono_ms of the next attempt, 0: connected */
	struct backoff bo;           /* the link thread's */
	struct counters *ctr;        /* CTR_LINK_CONNECTS */
	void (*on_up)(void *);       /* after a connect that followed a failed one */
	void *on_up_arg;
	struct mux *mux;             /* NULL while disconnected */
	bool linked;                 /* MSG_DEV_CMDLINK acknowledged on mux */
	unsigned users;              /* streams opened by others on mux */
	size_t head, n;              /* ring of received commands */
	struct cmd_env *q;           /* [CMDLINK_QUEUE_MAX] */
	size_t nrep;
	struct vg_cmdstate rep[CMDLINK_REPORTS_MAX];
	struct vg_report *devrep;    /* the newest device report, not sent yet */
	bool devrep_pending, devrep_sending;
	cmdlink_reporter reporter;   /* makes the device report (devreport.h) */
	void *reporter_arg;
	bool dev_poked, dev_force;   /* ask the reporter (force: a report now) */
	char last_err[256];
};

static void reply_to(struct mux_stream *s, int code, const char *text)
{
	struct buf b;

	buf_init(&b, VG_MSG_MAX);
	if (code)
		proto_put_error(&b, code, text);
	if (!wire_buf_error(&b))
		(void)mux_send_msg(s, code ? MSG_ERROR : MSG_OK, b.data, b.len);
	(void)mux_send_end(s);
	buf_free(&b);
}

/* A stream the server opened: only MSG_SRV_COMMAND is expected. */
static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	struct cmdlink *l = arg;
	struct wire_reader r;
	const uint8_t *body;
	struct cmd_env *e;
	int code = 0;

	wire_reader_init(&r, msg, len);
	pthread_mutex_lock(&l->mu);
	e = &l->q[(l->head + l->n) % CMDLINK_QUEUE_MAX];
	if (type != MSG_SRV_COMMAND)
		code = EPERM;
	else if (l->n == CMDLINK_QUEUE_MAX)
		code = EBUSY;    /* the server tries again later */
	else if (command_get_envelope(&r, &e->id, &body, &e->len, e->sig) < 0 ||
		 wire_done(&r) < 0)
		code = EBADMSG;
	if (code == 0) {
		memcpy(e->body, body, e->len);
		l->n++;
		pthread_cond_broadcast(&l->cmd_cv);
	}
	pthread_mutex_unlock(&l->mu);
	reply_to(s, code, code == EBUSY ? "busy" : code == EPERM ? "not a command" :
		 "malformed command");
	mux_stream_close(s);
}

/* The connection ended (the mux's I/O thread): the link thread goes on to
 * reconnect now instead of at its next look. */
static void on_link_close(struct mux *m, void *arg)
{
	struct cmdlink *l = arg;

	(void)m;
	pthread_mutex_lock(&l->mu);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static const struct mux_ops link_ops = { .on_stream = on_stream, .on_close = on_link_close };

/* One report over m; 0 once acknowledged (or refused for good). */
static int send_report(struct mux *m, const struct vg_cmdstate *st)
{
	struct buf b, reply;
	struct rpc r;
	int k;

	buf_init(&b, VG_MSG_MAX);
	buf_init(&reply, MUX_FRAME_MAX);
	command_put_state(&b, st);
	rpc_init(&r, m, CMDLINK_REPLY_MS);
	k = wire_buf_error(&b);
	if (k == 0)
		k = rpc_call(&r, MSG_DEV_CMD_STATE, &b, MSG_OK, &reply);
	if (k < 0 && r.remote) {
		/* the server refused it (no such command of ours): do not resend */
		log_warnx("command #%llu: the server refused its report: %s",
			  (unsigned long long)st->id, r.err);
		k = 0;
	}
	buf_free(&b);
	buf_free(&reply);
	return k;
}

/* Sends the kept reports in order (mu held; released around each call).
 * Only the link thread sends, so reports leave one at a time, in order. */
static void flush_reports(struct cmdlink *l, struct mux *m)
{
	while (l->nrep && l->linked && l->mux == m) {
		struct vg_cmdstate st = l->rep[0];
		int r;

		pthread_mutex_unlock(&l->mu);
		r = send_report(m, &st);
		pthread_mutex_lock(&l->mu);
		if (r < 0)
			return;
		if (l->nrep && l->rep[0].id == st.id && !strcmp(l->rep[0].state, st.state)) {
			memmove(&l->rep[0], &l->rep[1], (l->nrep - 1) * sizeof(l->rep[0]));
			l->nrep--;
		}
		pthread_cond_broadcast(&l->cv);
	}
}

/* Sends the kept device report (mu held; released around the call).  A
 * newer one made meanwhile replaces it; one that did not go through is
 * kept for the next connection unless a newer one came. */
static void flush_dev_report(struct cmdlink *l, struct mux *m)
{
	struct vg_report *tx;
	int r;

	if (!l->devrep_pending || !l->linked || l->mux != m)
		return;
	if (!(tx = malloc(sizeof(*tx))))
		return;
	*tx = *l->devrep;
	l->devrep_pending = false;
	l->devrep_sending = true;
	pthread_mutex_unlock(&l->mu);
	r = putio_report(m, tx, CMDLINK_REPLY_MS);
	pthread_mutex_lock(&l->mu);
	l->devrep_sending = false;
	/* refused by a live server: dropped (the next one has newer figures) */
	if (r < 0 && !mux_alive(m) && !l->devrep_pending) {
		*l->devrep = *tx;
		l->devrep_pending = true;
	}
	free(tx);
	pthread_cond_broadcast(&l->cv);
}

/* Asks the reporter for a device report while linked (mu held; released
 * around the call, so it may take the state db's lock): made when it is
 * sent, it says what the queue holds now.  Returns how soon to ask again
 * at the latest (ms), -1: only when poked. */
static int make_dev_report(struct cmdlink *l)
{
	struct vg_report *rep;
	bool force = l->dev_force, made;
	int wait = -1;

	l->dev_poked = false;   /* a new link forces one (link_up) */
	if (!l->reporter || !l->linked || !(rep = malloc(sizeof(*rep))))
		return wait;
	l->dev_force = false;
	pthread_mutex_unlock(&l->mu);
	made = l->reporter(l->reporter_arg, force, rep, &wait);
	pthread_mutex_lock(&l->mu);
	if (made) {
		*l->devrep = *rep;
		l->devrep_pending = true;
	}
	free(rep);
	return wait;
}

/* Connects and declares the link; 0 with l->mux set (mu not held). */
static int link_up(struct cmdlink *l)
{
	struct buf none, reply;
	struct mux *m = NULL;
	struct rpc rp;
	char err[256];
	int r;

	ctr_add(l->ctr, CTR_LINK_CONNECTS, 1);
	r = client_connect(l->b, l->server, LINK_CONNECT_MS, &link_ops, l, &m, err, sizeof(err));
	if (r < 0) {
		if (strcmp(err, l->last_err))
			log_warnx("command link: cannot reach the server: %s (retrying)", err);
		snprintf(l->last_err, sizeof(l->last_err), "%s", err);
		return r;
	}
	mux_set_timeouts(m, MUX_DEVICE_SELF_PING_MS, MUX_DEVICE_SELF_DEAD_MS);   /* mux.h */
	buf_init(&none, 16);
	buf_init(&reply, MUX_FRAME_MAX);
	rpc_init(&rp, m, CMDLINK_REPLY_MS);
	r = rpc_call(&rp, MSG_DEV_CMDLINK, &none, MSG_OK, &reply);
	buf_free(&none);
	buf_free(&reply);
	if (r < 0) {
		log_warnx("command link: the server did not accept it: %s",
			  rp.err[0] ? rp.err : strerror(-r));
		mux_free(m);
		return r;
	}
	l->last_err[0] = '\0';
	log_info("command link up");
	pthread_mutex_lock(&l->mu);
	l->mux = m;
	l->linked = true;
	l->dev_force = l->reporter != NULL;   /* the server hears where we stand */
	pthread_mutex_unlock(&l->mu);
	return 0;
}

/* After a failed attempt (mu held): the backoff's wait, which only quit
 * or a network change ends early; reports and pokes go with the next
 * connection, they do not make one. */
static void link_wait(struct cmdlink *l)
{
	int ms = backoff_next(&l->bo);
	struct timespec ts = deadline_in_ms(ms);

	l->retry_at = mono_ms() + ms;
	while (!l->quit && !l->retry_now &&
	       pthread_cond_timedwait(&l->cv, &l->mu, &ts) != ETIMEDOUT)
		;
	if (l->retry_now)
		backoff_reset(&l->bo);
}

static void *link_main(void *arg)
{
	struct cmdlink *l = arg;
	int wait, r;

	pthread_setname_np(pthread_self(), "vigild-link");   /* top -H, bench row 5 */
	pthread_mutex_lock(&l->mu);
	while (!l->quit) {
		struct timespec ts;

		if (!l->mux) {
			l->retry_now = false;   /* a change from now on counts */
			pthread_mutex_unlock(&l->mu);
			r = link_up(l);
			pthread_mutex_lock(&l->mu);
			if (r < 0) {
				link_wait(l);
				continue;
			}
			if (l->retry_at && l->on_up) {   /* the server is back */
				void (*fn)(void *) = l->on_up;
				void *fa = l->on_up_arg;

				pthread_mutex_unlock(&l->mu);
				fn(fa);
				pthread_mutex_lock(&l->mu);
			}
			l->retry_at = 0;
			backoff_reset(&l->bo);
		}
		flush_reports(l, l->mux);
		wait = make_dev_report(l);
		flush_dev_report(l, l->mux);
		if (l->mux && !mux_alive(l->mux)) {
			struct mux *m = l->mux;

			log_info("command link down");
			l->linked = false;
			while (l->users > 0)
				pthread_cond_wait(&l->cv, &l->mu);
			l->mux = NULL;
			pthread_mutex_unlock(&l->mu);
			mux_free(m);
			pthread_mutex_lock(&l->mu);
			continue;
		}
		if (l->nrep > 0 && (wait < 0 || wait > LINK_BACKOFF_MIN))
			wait = LINK_BACKOFF_MIN;       /* a report did not go: again soon */
		if (!l->dev_poked && !l->quit && wait < 0) {
			pthread_cond_wait(&l->cv, &l->mu);
		} else if (!l->dev_poked && !l->quit) {
			ts = deadline_in_ms(wait);
			pthread_cond_timedwait(&l->cv, &l->mu, &ts);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int cmdlink_start(const struct bundle *b, const char *server, struct counters *ctr,
		  struct cmdlink **out)
{
	struct cmdlink *l = calloc(1, sizeof(*l));
	int r;

	*out = NULL;
	if (!l || !(l->q = calloc(CMDLINK_QUEUE_MAX, sizeof(*l->q))) ||
	    !(l->devrep = calloc(1, sizeof(*l->devrep)))) {
		if (l)
			free(l->q);
		free(l);
		return -ENOMEM;
	}
	l->b = b;
	l->server = server;
	l->ctr = ctr;
	backoff_init(&l->bo, LINK_BACKOFF_MIN, LINK_BACKOFF_MAX);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	pthread_cond_init(&l->cmd_cv, NULL);
	if ((r = pthread_create(&l->th, NULL, link_main, l)) != 0) {
		cmdlink_stop(l);
		return -r;
	}
	l->started = true;
	*out = l;
	return 0;
}

void cmdlink_on_up(struct cmdlink *l, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&l->mu);
	l->on_up = fn;
	l->on_up_arg = arg;
	pthread_mutex_unlock(&l->mu);
}

void cmdlink_retry_now(struct cmdlink *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	if (!l->mux) {
		l->retry_now = true;
		pthread_cond_broadcast(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
}

int64_t cmdlink_retry_at(struct cmdlink *l, bool *linked)
{
	int64_t at;

	pthread_mutex_lock(&l->mu);
	at = l->mux ? 0 : l->retry_at;
	*linked = l->linked;
	pthread_mutex_unlock(&l->mu);
	return at;
}

void cmdlink_cancel(struct cmdlink *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->quit = true;
	if (l->mux)
		mux_shutdown(l->mux);
	pthread_cond_broadcast(&l->cv);
	pthread_cond_broadcast(&l->cmd_cv);
	pthread_mutex_unlock(&l->mu);
}

void cmdlink_stop(struct cmdlink *l)
{
	if (!l)
		return;
	cmdlink_cancel(l);
	if (l->started)
		pthread_join(l->th, NULL);
	mux_free(l->mux);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	pthread_cond_destroy(&l->cmd_cv);
	free(l->q);
	free(l->devrep);
	free(l);
}

int cmdlink_next(struct cmdlink *l, struct cmd_env *out, int timeout_ms)
{
	struct timespec ts = deadline_in_ms(timeout_ms < 0 ? 0 : timeout_ms);
	int r = 0;

	pthread_mutex_lock(&l->mu);
	while (!l->quit && l->n == 0 && r != ETIMEDOUT)
		r = timeout_ms < 0 ? pthread_cond_wait(&l->cmd_cv, &l->mu) :
				     pthread_cond_timedwait(&l->cmd_cv, &l->mu, &ts);
	if (l->quit)
		r = -ECANCELED;
	else if (l->n == 0)
		r = -ETIMEDOUT;
	else {
		*out = l->q[l->head];
		l->head = (l->head + 1) % CMDLINK_QUEUE_MAX;
		l->n--;
		r = 0;
	}
	pthread_mutex_unlock(&l->mu);
	return r;
}

/* Keeps st for resending: replaces an older report of the same command,
 * else appends (the oldest is dropped when full: a newer state of some
 * command matters more than an old one of another). */
static void keep_report(struct cmdlink *l, const struct vg_cmdstate *st)
{
	size_t i;

	for (i = 0; i < l->nrep && l->rep[i].id != st->id; i++)
		;
	if (i == l->nrep) {
		if (l->nrep == CMDLINK_REPORTS_MAX) {
			memmove(&l->rep[0], &l->rep[1], (l->nrep - 1) * sizeof(l->rep[0]));
			l->nrep--;
		}
		i = l->nrep++;
	}
	l->rep[i] = *st;
}

void cmdlink_report(struct cmdlink *l, const struct vg_cmdstate *st)
{
	pthread_mutex_lock(&l->mu);
	keep_report(l, st);
	pthread_cond_broadcast(&l->cv);   /* the link thread sends it */
	pthread_mutex_unlock(&l->mu);
}

int cmdlink_wait_reported(struct cmdlink *l, int timeout_ms)
{
	struct timespec ts = deadline_in_ms(timeout_ms);
	int r = 0;

	pthread_mutex_lock(&l->mu);
	while (!l->quit && l->nrep > 0 && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	r = l->nrep == 0 ? 0 : l->quit ? -ECANCELED : -ETIMEDOUT;
	pthread_mutex_unlock(&l->mu);
	return r;
}

void cmdlink_set_reporter(struct cmdlink *l, cmdlink_reporter fn, void *arg)
{
	pthread_mutex_lock(&l->mu);
	l->reporter = fn;
	l->reporter_arg = arg;
	l->dev_poked = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

void cmdlink_dev_poke(struct cmdlink *l, bool force)
{
	pthread_mutex_lock(&l->mu);
	if (!l->dev_poked || (force && !l->dev_force)) {
		l->dev_poked = true;
		l->dev_force |= force;
		pthread_cond_broadcast(&l->cv);   /* the link thread reports */
	}
	pthread_mutex_unlock(&l->mu);
}

int cmdlink_wait_dev_reported(struct cmdlink *l, int timeout_ms)
{
	struct timespec ts = deadline_in_ms(timeout_ms);
	int r = 0;

	pthread_mutex_lock(&l->mu);
	while (!l->quit && (l->dev_force || l->devrep_pending || l->devrep_sending) &&
	       r != ETIMEDOUT)
		r = pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	r = !l->dev_force && !l->devrep_pending && !l->devrep_sending ? 0 :
	    l->quit ? -ECANCELED : -ETIMEDOUT;
	pthread_mutex_unlock(&l->mu);
	return r;
}

struct mux_stream *cmdlink_open_stream(struct cmdlink *l, uint16_t type, const void *msg,
				       size_t len)
{
	struct mux_stream *s = NULL;
	struct mux *m;

	pthread_mutex_lock(&l->mu);
	m = l->linked ? l->mux : NULL;
	if (m)
		l->users++;
	pthread_mutex_unlock(&l->mu);
	if (!m) {
		errno = ENOTCONN;
		return NULL;
	}
	if (!(s = mux_open(m, type, msg, len))) {
		int e = errno;

		cmdlink_close_stream(l, NULL);
		errno = e;
	}
	return s;
}

void cmdlink_close_stream(struct cmdlink *l, struct mux_stream *s)
{
	if (s)
		mux_stream_close(s);
	pthread_mutex_lock(&l->mu);
	l->users--;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}
