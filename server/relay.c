/* relay.c — admitting, delivering and answering signed commands, and
 * relaying direct fetches (relay.h, docs/commands.md). */
#include "server/relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/clock.h"
#include "common/command.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/vec.h"
#include "server/cmdadmit.h"
#include "server/commands.h"
#include "server/reply.h"
#include "server/srv.h"

/* A controller's direct fetch, waiting for the device's stream. */
struct fetch_wait {
	LIST_ENTRY(fetch_wait) link;
	uint64_t id;
	int64_t dev;
	struct mux_stream *ctl;     /* the controller's stream (its handler owns it) */
	bool attached;              /* the device's stream is being copied */
	bool done;
	int result;                 /* 0, or -errno once done */
	char why[VG_ERRMSG_MAX];
};

struct relay {
	struct srv *srv;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;         /* guards everything below */
	pthread_cond_t cv;          /* kicks, quit, fetch progress */
	bool quit;
	size_t nkick;
	int64_t kicks[RELAY_KICKS_MAX]; /* devices to deliver to */
	LIST_HEAD(, fetch_wait) fetches;
};

/* Waits on rl->cv (rl->mu held) for at most ms. */
static void cv_wait_ms(struct relay *rl, int ms)
{
	struct timespec ts = deadline_in_ms(ms);

	pthread_cond_timedwait(&rl->cv, &rl->mu, &ts);
}

/* An erased device's identity ends: refused from now on, its live
 * connections ended by the next sweep. */
static void revoke_device(struct srv *srv, const struct ident *dev)
{
	log_info("device %s: erased; revoking it", dev->name);
	if (index_ident_revoke(srv->idx, dev->name, real_ns()) == 0)
		(void)index_event_add(srv->idx, dev->id, real_ns(), "revoked",
				      "erased: identity revoked");
}

/* ----------------------------------------------------------------- delivery */

/* Pushes one command on the device's command link; 0 once acknowledged. */
static int push(struct mux *m, const struct cmd_row *row)
{
	struct buf b, reply;
	struct rpc r;
	int k;

	buf_init(&b, VG_MSG_MAX);
	buf_init(&reply, MUX_FRAME_MAX);
	command_put_envelope(&b, row->st.id, row->body, row->body_len, row->sig);
	rpc_init(&r, m, RELAY_PUSH_MS);
	k = wire_buf_error(&b);
	if (k == 0)
		k = rpc_call(&r, MSG_SRV_COMMAND, &b, MSG_OK, &reply);
	buf_free(&b);
	buf_free(&reply);
	return k;
}

/* Every deliverable command of dev, oldest first, while its link holds.
 * A new link starts from the beginning: commands delivered before but not
 * reported on are pushed again (the device answers those with the result
 * it has instead of running them twice). */
static void deliver(struct relay *rl, int64_t dev)
{
	struct srv *srv = rl->srv;
	struct vg_cmdstate st = { .state = "delivered" };
	struct cmd_row *row;
	struct conn *c;
	int r;

	if (!(c = srv_device_link(srv, dev)))
		return;
	if (!(row = malloc(sizeof(*row)))) {
		srv_conn_put(c);
		return;
	}
	while (commands_next(srv->idx, dev, c->pushed_upto, real_ns(), row) == 1) {
		if ((r = push(c->mux, row)) < 0) {
			log_info("device %s: command #%llu not delivered: %s (retrying)",
				 c->id.name, (unsigned long long)row->st.id, strerror(-r));
			break;
		}
		c->pushed_upto = row->st.id;
		st.id = row->st.id;
		if (!strcmp(row->st.state, "pending"))
			(void)commands_set_state(srv->idx, dev, &st, real_ns());
	}
	free(row);
	srv_conn_put(c);
}

static void *relay_main(void *arg)
{
	struct relay *rl = arg;
	int64_t kicks[64];
	int64_t next_sweep = mono_ms();

	pthread_mutex_lock(&rl->mu);
	while (!rl->quit) {
		size_t n = 0;

		if (rl->nkick == 0 && mono_ms() < next_sweep) {
			cv_wait_ms(rl, 100);
			continue;
		}
		while (rl->nkick && n < sizeof(kicks) / sizeof(kicks[0]))
			kicks[n++] = rl->kicks[--rl->nkick];
		pthread_mutex_unlock(&rl->mu);
		for (size_t i = 0; i < n; i++)
			deliver(rl, kicks[i]);
		if (mono_ms() >= next_sweep) {
			srv_end_revoked(rl->srv);
			srv_each_link(rl->srv, relay_kick, rl);
			next_sweep = mono_ms() + RELAY_SWEEP_MS;
		}
		pthread_mutex_lock(&rl->mu);
	}
	pthread_mutex_unlock(&rl->mu);
	return NULL;
}

void relay_kick(struct relay *rl, int64_t dev)
{
	if (!rl)
		return;
	pthread_mutex_lock(&rl->mu);
	for (size_t i = 0; i < rl->nkick; i++)
		if (rl->kicks[i] == dev)
			goto out;
	if (rl->nkick < RELAY_KICKS_MAX)   /* else: the next sweep finds it */
		rl->kicks[rl->nkick++] = dev;
	pthread_cond_broadcast(&rl->cv);
out:
	pthread_mutex_unlock(&rl->mu);
}

static int collect_device(void *arg, const struct ident *id)
{
	return id->revoked ? 0 : vec_push(arg, id);
}

/* Devices whose erase is done but whose identity is not revoked: a crash
 * came between recording the final report and revoking.  Found at start. */
static void revoke_erased(struct srv *srv)
{
	struct vec e = VEC_INIT(struct ident);
	struct ident *dev;
	struct cmd_flags fl;

	if (index_ident_list(srv->idx, ROLE_DEVICE, collect_device, &e) < 0)
		log_warnx("index: cannot list devices to check erased ones");
	dev = e.p;
	for (size_t i = 0; i < e.n; i++)
		if (commands_flags(srv->idx, dev[i].id, &fl) == 0 &&
		    !strcmp(fl.erase_state, "done"))
			revoke_device(srv, &dev[i]);
	vec_free(&e);
}

int relay_start(struct srv *srv, struct relay **out)
{
	struct relay *rl = calloc(1, sizeof(*rl));
	int r;

	*out = NULL;
	if (!rl)
		return -ENOMEM;
	rl->srv = srv;
	revoke_erased(srv);
	pthread_mutex_init(&rl->mu, NULL);
	pthread_cond_init(&rl->cv, NULL);
	LIST_INIT(&rl->fetches);
	if ((r = pthread_create(&rl->th, NULL, relay_main, rl)) != 0) {
		relay_free(rl);
		return -r;
	}
	rl->started = true;
	*out = rl;
	return 0;
}

void relay_stop(struct relay *rl)
{
	if (!rl)
		return;
	pthread_mutex_lock(&rl->mu);
	rl->quit = true;
	pthread_cond_broadcast(&rl->cv);
	pthread_mutex_unlock(&rl->mu);
	if (rl->started)
		pthread_join(rl->th, NULL);
	rl->started = false;
}

void relay_free(struct relay *rl)
{
	if (!rl)
		return;
	relay_stop(rl);
	pthread_mutex_destroy(&rl->mu);
	pthread_cond_destroy(&rl->cv);
	free(rl);
}

/* --------------------------------------------------------- fetch rendezvous */

static struct fetch_wait *fetch_find(struct relay *rl, uint64_t id)
{
	struct fetch_wait *fw;

	LIST_FOREACH(fw, &rl->fetches, link)
		if (fw->id == id)
			return fw;
	return NULL;
}

/* The device refused or failed a fetch command: its waiter gives up. */
static void fetch_fail(struct relay *rl, uint64_t id, const char *why)
{
	struct fetch_wait *fw;

	pthread_mutex_lock(&rl->mu);
	if ((fw = fetch_find(rl, id)) && !fw->attached && !fw->done) {
		fw->done = true;
		fw->result = -EACCES;
		snprintf(fw->why, sizeof(fw->why), "%s", why);
		pthread_cond_broadcast(&rl->cv);
	}
	pthread_mutex_unlock(&rl->mu);
}

/* Copies the device's items to the controller's stream until END. */
static int fetch_copy(struct mux_stream *from, struct mux_stream *to)
{
	struct buf b;
	uint16_t type;
	int r;

	buf_init(&b, MUX_FRAME_MAX);
	for (;;) {
		r = mux_recv(from, &type, &b, SRV_RECV_MS);
		if (r == MUX_END) {
			r = 0;
			break;
		}
		if (r == MUX_MSG)
			r = mux_send_msg(to, type, b.data, b.len);
		else if (r == MUX_DATA)
			r = mux_send_data(to, b.data, b.len);
		if (r < 0)
			break;
	}
	buf_free(&b);
	return r;
}

/* ------------------------------------------------------------ device streams */

static int dev_cmdlink(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	if (wire_done(wr) < 0)
		return -EPROTO;
	srv_set_link(c);
	(void)reply(s, MSG_OK, NULL);
	relay_kick(c->srv->relay, c->id.id);
	return 0;
}

static int dev_cmd_state(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct srv *srv = c->srv;
	struct vg_cmdstate st;
	struct cmd_row *row;
	int r;

	command_get_state(wr, &st);
	if (wire_done(wr) < 0 || !strcmp(st.state, "delivered") || !strcmp(st.state, "pending") ||
	    !strcmp(st.state, "expired"))
		return -EPROTO;
	if (!(row = malloc(sizeof(*row))))
		return -ENOMEM;
	r = commands_set_state(srv->idx, c->id.id, &st, real_ns());
	if (r == -EALREADY)
		r = 0;   /* a report overtaken by a later one, or repeated: nothing to do */
	if (r < 0) {
		reply_error(s, -r, "command #%llu: %s", (unsigned long long)st.id,
				    strerror(-r));
		free(row);
		return 0;
	}
	(void)reply(s, MSG_OK, NULL);
	if (!strcmp(st.state, "refused") || !strcmp(st.state, "failed"))
		fetch_fail(srv->relay, st.id, st.reason);
	if (r == 1 && !strcmp(st.state, "done") && commands_get(srv->idx, st.id, row) == 0 &&
	    !strcmp(row->action, command_action_name(CMD_ERASE)))
		revoke_device(srv, &c->id);   /* the final report: the identity ends here */
	free(row);
	return 0;
}

static int dev_fetch(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct relay *rl = c->srv->relay;
	struct fetch_wait *fw;
	uint64_t id = wire_get_u64(wr);
	int r;

	if (wire_done(wr) < 0)
		return -EPROTO;
	pthread_mutex_lock(&rl->mu);
	/* the controller's handler registers right after queueing: a quick
	 * device may get here first */
	for (int tries = 0; !(fw = fetch_find(rl, id)) && tries < 20 && !rl->quit; tries++) {
		cv_wait_ms(rl, 100);
	}
	if (fw && (fw->dev != c->id.id || fw->attached || fw->done))
		fw = NULL;
	if (fw)
		fw->attached = true;
	pthread_mutex_unlock(&rl->mu);
	if (!fw) {
		reply_error(s, ENOENT, "no controller waits for fetch #%llu",
				    (unsigned long long)id);
		return 0;
	}
	r = fetch_copy(s, fw->ctl);
	pthread_mutex_lock(&rl->mu);
	fw->done = true;
	fw->result = r;
	pthread_cond_broadcast(&rl->cv);
	pthread_mutex_unlock(&rl->mu);
	if (r < 0) {
		reply_error(s, -r, "fetch #%llu: %s", (unsigned long long)id, strerror(-r));
		return -ECONNABORTED;
	}
	(void)reply(s, MSG_OK, NULL);
	return 0;
}

const struct srv_handler relay_dev_handlers[] = {
	{ MSG_DEV_CMDLINK, dev_cmdlink },
	{ MSG_DEV_CMD_STATE, dev_cmd_state },
	{ MSG_DEV_FETCH, dev_fetch },
	{ 0, NULL },
};

/* -------------------------------------------------------- controller streams */

/* cmd_admit (server/cmdadmit.h) with the device the body names looked up.
 * 0 with *cmd and *dev, or -errno with why. */
static int admit_check(struct srv *srv, const struct ident *ctl, const uint8_t *body,
		       size_t len, const uint8_t sig[SIGN_SIG_LEN], struct vg_command *cmd,
		       int64_t *dev, char *why, size_t whylen)
{
	struct ident d;
	struct cmd_admit a = { .ctl = ctl, .body = body, .len = len, .sig = sig,
			       .now_ns = real_ns() };
	int r;

	if (command_decode(body, len, cmd) == 0) {
		r = index_ident_get(srv->idx, cmd->device, &d);
		if (r < 0 && r != -ENOENT)
			return snprintf(why, whylen, "index: %s", strerror(-r)), r;
		a.dev = r == 0 ? &d : NULL;
	}
	if ((r = cmd_admit(&a, cmd, why, whylen)) == 0)
		*dev = d.id;
	return r;
}

/* Admits and queues the command in an envelope; replies CMD_QUEUED or ERROR.
 * 0 with *id set when queued, 1 when refused (already answered), -EPROTO. */
static int admit(struct conn *c, struct mux_stream *s, struct wire_reader *wr,
		 uint8_t want_fetch, uint64_t *id, int64_t *dev)
{
	struct srv *srv = c->srv;
	uint8_t sig[SIGN_SIG_LEN];
	const uint8_t *body;
	struct vg_command *cmd;
	char why[VG_ERRMSG_MAX] = "";
	struct buf b;
	uint64_t zero;
	size_t blen;
	int r;

	if (command_get_envelope(wr, &zero, &body, &blen, sig) < 0 || wire_done(wr) < 0)
		return -EPROTO;
	if (!(cmd = malloc(sizeof(*cmd))))
		return -ENOMEM;
	r = admit_check(srv, &c->id, body, blen, sig, cmd, dev, why, sizeof(why));
	if (r == 0 && (cmd->action == CMD_FETCH) != want_fetch) {
		r = -EINVAL;
		snprintf(why, sizeof(why), "%s goes on %s", command_action_name(cmd->action),
			 want_fetch ? "MSG_CTL_COMMAND" : "MSG_CTL_FETCH");
	}
	if (r == 0) {
		struct cmd_new n;

		commands_new_from(&n, cmd, body, blen, sig);
		r = commands_queue(srv->idx, *dev, &n, real_ns(), id);
	}
	free(cmd);
	if (r < 0) {
		reply_error(s, -r, "%s", why[0] ? why : strerror(-r));
		return 1;
	}
	buf_init(&b, 64);
	wire_put_u64(&b, *id);
	r = reply(s, MSG_CMD_QUEUED, &b);
	buf_free(&b);
	return r < 0 ? 1 : 0;
}

static int ctl_command(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	uint64_t id;
	int64_t dev;
	int r = admit(c, s, wr, 0, &id, &dev);

	if (r == 0)
		relay_kick(c->srv->relay, dev);
	return r < 0 ? r : 0;
}

static int ctl_cmdwait(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	uint64_t id = wire_get_u64(wr);
	uint32_t ms = wire_get_u32(wr);
	struct cmd_row *row;
	struct buf b;
	int r;

	if (wire_done(wr) < 0)
		return -EPROTO;
	if (ms > RELAY_WAIT_MAX_MS)
		ms = RELAY_WAIT_MAX_MS;
	if (!(row = malloc(sizeof(*row))))
		return -ENOMEM;
	r = commands_wait(c->srv->idx, id, NULL, (long)ms, row);
	if (r < 0 && r != -ETIMEDOUT) {
		reply_error(s, -r, "command #%llu: %s", (unsigned long long)id,
				    strerror(-r));
		free(row);
		return 0;
	}
	buf_init(&b, VG_MSG_MAX);
	command_put_state(&b, &row->st);
	if (wire_buf_error(&b) == 0)
		(void)reply(s, MSG_CMD_STATE, &b);
	buf_free(&b);
	free(row);
	return 0;
}

/* Waits for the device to answer fetch fw (or to refuse it). */
static int fetch_wait(struct relay *rl, struct fetch_wait *fw)
{
	int64_t deadline = mono_ms() + RELAY_FETCH_MS;

	pthread_mutex_lock(&rl->mu);
	while (!fw->done && !rl->quit && (fw->attached || mono_ms() < deadline)) {
		cv_wait_ms(rl, 1000);
	}
	if (!fw->done) {
		fw->done = true;
		fw->result = -ETIMEDOUT;
		snprintf(fw->why, sizeof(fw->why), "the device did not answer in %d s",
			 RELAY_FETCH_MS / 1000);
	}
	LIST_REMOVE(fw, link);
	pthread_mutex_unlock(&rl->mu);
	return fw->result;
}

static int ctl_fetch(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct relay *rl = c->srv->relay;
	struct fetch_wait fw = { .ctl = s };
	uint64_t id;
	int64_t dev;
	int r = admit(c, s, wr, 1, &id, &dev);

	if (r != 0)
		return r < 0 ? r : 0;
	/* registered before the command can reach the device */
	pthread_mutex_lock(&rl->mu);
	fw.id = id;
	fw.dev = dev;
	LIST_INSERT_HEAD(&rl->fetches, &fw, link);
	pthread_cond_broadcast(&rl->cv);
	pthread_mutex_unlock(&rl->mu);
	relay_kick(rl, dev);
	r = fetch_wait(rl, &fw);
	if (r < 0 && !fw.attached) {
		reply_error(s, -r, "%s", fw.why);
		return 0;
	}
	return r < 0 ? -ECONNABORTED : 0;
}

const struct srv_handler relay_ctl_handlers[] = {
	{ MSG_CTL_COMMAND, ctl_command },
	{ MSG_CTL_CMDWAIT, ctl_cmdwait },
	{ MSG_CTL_FETCH, ctl_fetch },
	{ 0, NULL },
};
