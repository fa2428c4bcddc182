/* srv.c — the server context: opening and closing what it holds, and the
 * registry of connections (their life from accept to free, and lookups). */
#include "server/srv.h"
#include "server/sweep.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/names.h"
#include "server/relay.h"
#include "server/reply.h"
#include "server/search/search.h"
#include "server/store/content.h"
#include "server/store/shafill.h"
#include "server/retainer.h"
#include "server/upslots.h"

/* ------------------------------------------------------------- context */

int srv_open(struct srv *srv, const struct srv_config *cfg)
{
	char err[256] = "", path[PATH_MAX + 16];
	int r;

	memset(srv, 0, sizeof(*srv));
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	LIST_INIT(&srv->conns);
	srv->cfg = cfg;
	if ((r = index_open(cfg->dir, false, &srv->idx)) < 0 ||
	    (r = index_open_reader(cfg->dir, &srv->ridx)) < 0) {
		log_errno(r, "%s/index.db", cfg->dir);
		return r;
	}
	if ((r = config_path(cfg, "store", path, sizeof(path))) < 0 ||
	    (r = store_open_key(path, cfg->store_key, &srv->store)) < 0) {
		log_errno(r, "%s/store", cfg->dir);
		return r;
	}
	if (!(srv->ugc = upload_gc_start(srv->store))) {
		log_warn("cannot start the upload expiry thread");
		return -ENOMEM;
	}
	if (!(srv->sweeper = sweeper_start(srv->store, srv_reader(srv), srv->idx))) {
		log_warn("cannot start the sweep thread");
		return -ENOMEM;
	}
	if ((r = shafill_new(srv->idx, srv->store, &srv->sf)) < 0) {
		log_errno(r, "cannot start the sha256 worker");
		return r;
	}
	if ((r = retainer_new(srv->idx, srv->sweeper, &srv->rt)) < 0) {
		log_errno(r, "cannot start the retention worker");
		return r;
	}
	if ((r = search_start(srv)) < 0)
		return r;
	if (!(srv->ctx = tls_server_ctx_new(cfg->dir, err, sizeof(err)))) {
		log_warnx("%s", err);
		return -EINVAL;
	}
	if (!(srv->dev_handlers = mux_limit_new(SRV_DEVICE_HANDLERS, SRV_DEVICE_SHARE)) ||
	    !(srv->ctl_handlers = mux_limit_new(SRV_CONTROLLER_HANDLERS, SRV_CONTROLLER_SHARE)) ||
	    !(srv->uploads = upslots_new(SRV_DEVICE_UPLOADS)) ||
	    !(srv->batches = upslots_new(SRV_DEVICE_BATCHES))) {
		log_warn("handler limits");
		return -ENOMEM;
	}
	if ((r = relay_start(srv, &srv->relay)) < 0) {
		log_errno(r, "cannot start the command relay");
		return r;
	}
	return 0;
}

/* How busy a handler pool got, for the operator. */
static void log_pool(const char *role, struct mux_limit *l, unsigned max)
{
	struct mux_limit_stats ls;

	if (!l)
		return;
	mux_limit_stats(l, &ls);
	log_info("%s' stream handlers: at most %u of %u at once; %llu stream(s) waited for one",
		 role, ls.peak, max, (unsigned long long)ls.waited);
}

/* What the connection limits refused, for the operator. */
static void log_limits(const struct connlimit *l)
{
	const struct connlimit_stats *st = &l->st;

	log_info("connections: at most %u of %u in the handshake at once; %llu handshake(s) "
		 "timed out, %llu evicted for another address; refused %llu (handshake "
		 "budget), %llu (per address), %llu (server full), %llu (per identity); "
		 "%llu stream(s) refused (per-identity window budget)",
		 st->unauth_peak, LIM_UNAUTH, (unsigned long long)st->handshake_timeouts,
		 (unsigned long long)st->evicted,
		 (unsigned long long)st->refused[CL_UNAUTH], (unsigned long long)st->refused[CL_ADDR],
		 (unsigned long long)st->refused[CL_CONNS], (unsigned long long)st->refused[CL_IDENT],
		 (unsigned long long)connlimit_streams_refused(l));
}

void srv_close(struct srv *srv)
{
	pthread_mutex_lock(&srv->lock);
	log_limits(&srv->lim);
	pthread_mutex_unlock(&srv->lock);
	log_pool("devices", srv->dev_handlers, SRV_DEVICE_HANDLERS);
	log_pool("controllers", srv->ctl_handlers, SRV_CONTROLLER_HANDLERS);
	pthread_mutex_lock(&srv->lock);
	if (srv->nconns == 0) {   /* else threads still use them: the process exits anyway */
		relay_free(srv->relay);
		SSL_CTX_free(srv->ctx);
		mux_limit_free(srv->dev_handlers);
		mux_limit_free(srv->ctl_handlers);
		upslots_free(srv->uploads);
		upslots_free(srv->batches);
		retainer_free(srv->rt);         /* kicks the sweeper */
		sweeper_stop(srv->sweeper);     /* prunes search.db after a sweep */
		search_stop(srv);
		shafill_free(srv->sf);
		upload_gc_stop(srv->ugc);
		store_close(srv->store);
		index_close(srv->ridx);
		index_close(srv->idx);
	}
	pthread_mutex_unlock(&srv->lock);
}

/* ------------------------------------------------------------ registry */

static void conn_link(struct srv *srv, struct conn *c)
{
	LIST_INSERT_HEAD(&srv->conns, c, link);
	srv->nconns++;
}

static void conn_unlink(struct srv *srv, struct conn *c)
{
	LIST_REMOVE(c, link);
	srv->nconns--;
	pthread_cond_broadcast(&srv->cond);
}

/* Logs refusal k of a connection from addr, at most once per
 * LIM_LOG_EVERY_S per kind (lock held: the books are in srv->lock). */
static void log_refusal(struct srv *srv, enum cl_refusal k, const char *addr, const char *who)
{
	uint64_t since = 0;

	if (!connlimit_log_due(&srv->lim, k, mono_ms() / 1000, &since))
		return;
	log_warnx("%s: refused %s: %s (limits.h); %llu refused for this since the last report",
		  addr, who, connlimit_refusal_name(k), (unsigned long long)since);
}

/* c's handshake is over (lock held). */
static void end_handshake(struct conn *c)
{
	char key[CL_ADDR_MAX];

	if (!c->unauth)
		return;
	connlimit_addr_key(c->addr, key);
	connlimit_leave(&c->srv->lim, key);
	c->unauth = false;
}

/* The handshake budget is spent: drops the oldest handshake of the
 * address connlimit_victim names, so that a newcomer from key gets its
 * slot (lock held).  Whether it did; the victim's thread sees its socket
 * shut down, fails its handshake and frees it. */
static bool evict_for(struct srv *srv, const char *key)
{
	char victim[CL_ADDR_MAX], k[CL_ADDR_MAX];
	struct conn *c, *oldest = NULL;

	if (!connlimit_victim(&srv->lim, key, victim))
		return false;
	LIST_FOREACH(c, &srv->conns, link) {   /* newest first */
		if (!c->unauth || c->fd < 0)
			continue;
		connlimit_addr_key(c->addr, k);
		if (!strcmp(k, victim))
			oldest = c;
	}
	if (!oldest)
		return false;
	end_handshake(oldest);
	shutdown(oldest->fd, SHUT_RDWR);
	srv->lim.st.evicted++;
	return true;
}

struct conn *srv_conn_new(struct srv *srv, int fd, const char *addr)
{
	char key[CL_ADDR_MAX];
	enum cl_refusal k;
	struct conn *c = NULL;

	connlimit_addr_key(addr, key);
	pthread_mutex_lock(&srv->lock);
	if (srv->lim.st.unauth >= LIM_UNAUTH)
		(void)evict_for(srv, key);
	if ((k = connlimit_enter(&srv->lim, key)) != CL_OK) {
		log_refusal(srv, k, addr, "a connection");
	} else if (!(c = calloc(1, sizeof(*c)))) {
		connlimit_leave(&srv->lim, key);
	} else {
		c->srv = srv;
		c->fd = fd;
		c->unauth = true;
		snprintf(c->addr, sizeof(c->addr), "%s", addr);
		conn_link(srv, c);
	}
	pthread_mutex_unlock(&srv->lock);
	return c;
}

/* c no longer counts as its identity's (lock held). */
static void end_authed(struct conn *c)
{
	if (c->authed)
		connlimit_gone(&c->srv->lim, c->id.id);
	c->authed = false;
}

/* Admits c's identity (lock held): 0, or -EUSERS logged. */
static int admit_ident(struct conn *c)
{
	enum cl_refusal k = connlimit_auth(&c->srv->lim, c->id.id, LIM_IDENT_CONNS);

	if (k == CL_OK) {
		c->authed = true;
		return 0;
	}
	log_refusal(c->srv, k, c->addr, c->id.role == ROLE_DEVICE ? "a device" : "a controller");
	return -EUSERS;
}

int srv_conn_attach(struct conn *c, SSL *ssl, const struct mux_ops *ops)
{
	struct srv *srv = c->srv;
	struct mux_ops o = *ops;
	bool dev = c->id.role == ROLE_DEVICE;
	int r = 0;

	o.limit = dev ? srv->dev_handlers : srv->ctl_handlers;
	o.max_streams = dev ? LIM_DEVICE_STREAMS : LIM_CONTROLLER_STREAMS;
	if (dev) {   /* an upload's credit comes back less often (mux.h) */
		o.rx_window = MUX_WINDOW_DEVICE;
		o.features = MUX_FEAT_CUTS;
	}
	pthread_mutex_lock(&srv->lock);
	end_handshake(c);
	if (srv->quit)
		r = -ECANCELED;
	else
		r = admit_ident(c);
	if (r == 0)
		o.budget = connlimit_budget_get(&srv->lim, c->id.id, dev ?
						LIM_DEVICE_IDENT_STREAMS : LIM_CONTROLLER_IDENT_STREAMS);
	if (r < 0) {
		SSL_free(ssl);
		close(c->fd);
	} else if (!(c->mux = mux_new(ssl, c->fd, &o, c))) {   /* takes ssl and fd */
		r = -errno;
		connlimit_budget_put(&srv->lim, c->id.id);
		end_authed(c);
	} else {
		if (dev)   /* the device's battery: pinged every few minutes (mux.h) */
			mux_set_timeouts(c->mux, MUX_DEVICE_PING_MS, MUX_DEVICE_DEAD_MS);
		c->budgeted = o.budget != NULL;
		c->ready = true;
	}
	c->fd = -1;
	pthread_mutex_unlock(&srv->lock);
	return r;
}

void srv_handshake_failed(struct conn *c, int err, const char *why)
{
	struct srv *srv = c->srv;
	uint64_t since = 0;

	pthread_mutex_lock(&srv->lock);
	if (err == -ETIMEDOUT)
		srv->lim.st.handshake_timeouts++;
	srv->lim.st.refused[CL_FAILED]++;
	if (connlimit_log_due(&srv->lim, CL_FAILED, mono_ms() / 1000, &since))
		log_info("%s: handshake failed: %s (%llu more since the last report)", c->addr,
			 why, (unsigned long long)since - 1);
	pthread_mutex_unlock(&srv->lock);
}

void srv_conn_closed(struct conn *c)
{
	pthread_mutex_lock(&c->srv->lock);
	c->closed = true;
	pthread_cond_broadcast(&c->srv->cond);
	pthread_mutex_unlock(&c->srv->lock);
}

void srv_conn_wait(struct conn *c)
{
	struct srv *srv = c->srv;

	pthread_mutex_lock(&srv->lock);
	while (!c->closed && !srv->quit)
		pthread_cond_wait(&srv->cond, &srv->lock);
	c->ready = false;
	end_authed(c);   /* its handlers may still run: the peer may reconnect */
	pthread_mutex_unlock(&srv->lock);
	/* Wakes the holders of references: their calls on the mux fail. */
	mux_shutdown(c->mux);
	pthread_mutex_lock(&srv->lock);
	while (c->refs > 0)
		pthread_cond_wait(&srv->cond, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	mux_free(c->mux);   /* waits for its stream handlers */
	c->mux = NULL;
	pthread_mutex_lock(&srv->lock);
	if (c->budgeted)   /* none of its streams holds the budget now */
		connlimit_budget_put(&srv->lim, c->id.id);
	c->budgeted = false;
	pthread_mutex_unlock(&srv->lock);
}

void srv_conn_free(struct conn *c)
{
	struct srv *srv = c->srv;

	pthread_mutex_lock(&srv->lock);
	if (c->fd >= 0)   /* under the lock: srv_conns_shutdown may be using it */
		close(c->fd);
	end_handshake(c);
	end_authed(c);
	conn_unlink(srv, c);
	pthread_mutex_unlock(&srv->lock);
	free(c);
}

void srv_conns_shutdown(struct srv *srv)
{
	struct timespec until = deadline_in_ms(SRV_SHUTDOWN_WAIT_S * 1000L);
	struct conn *c;

	pthread_mutex_lock(&srv->lock);
	srv->quit = true;
	/* Connection threads wake on quit and free their mux; a handshake in
	 * progress ends when its socket is shut down. */
	LIST_FOREACH(c, &srv->conns, link)
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
	pthread_cond_broadcast(&srv->cond);
	while (srv->nconns > 0)
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&srv->lock);
}

/* The newest live connection of device dev, or with link_only its command
 * link (lock held). */
static struct conn *device_conn(struct srv *srv, int64_t dev, bool link_only)
{
	struct conn *c;

	LIST_FOREACH(c, &srv->conns, link)
		if (c->ready && !c->closed && c->id.role == ROLE_DEVICE && c->id.id == dev &&
		    (c->cmdlink || !link_only))
			return c;
	return NULL;
}

/* device_conn, referenced. */
static struct conn *device_conn_get(struct srv *srv, int64_t dev, bool link_only)
{
	struct conn *c;

	pthread_mutex_lock(&srv->lock);
	if ((c = device_conn(srv, dev, link_only)))
		c->refs++;
	pthread_mutex_unlock(&srv->lock);
	return c;
}

bool srv_device_online(struct srv *srv, int64_t dev)
{
	bool on;

	pthread_mutex_lock(&srv->lock);
	on = device_conn(srv, dev, false) != NULL;
	pthread_mutex_unlock(&srv->lock);
	return on;
}

struct conn *srv_device_conn(struct srv *srv, int64_t dev)
{
	return device_conn_get(srv, dev, false);
}

struct conn *srv_device_link(struct srv *srv, int64_t dev)
{
	return device_conn_get(srv, dev, true);
}

void srv_set_link(struct conn *c)
{
	struct srv *srv = c->srv;

	pthread_mutex_lock(&srv->lock);
	struct conn *o;

	LIST_FOREACH(o, &srv->conns, link)
		if (o->id.role == ROLE_DEVICE && o->id.id == c->id.id)
			o->cmdlink = false;
	c->cmdlink = true;
	pthread_mutex_unlock(&srv->lock);
}

void srv_each_link(struct srv *srv, void (*fn)(struct relay *, int64_t), struct relay *arg)
{
	struct conn *c;
	int64_t *devs = malloc(SRV_MAX_CONNS * sizeof(*devs));
	size_t n = 0;

	if (!devs)
		return;
	pthread_mutex_lock(&srv->lock);
	LIST_FOREACH(c, &srv->conns, link)
		if (n < SRV_MAX_CONNS && c->ready && !c->closed && c->cmdlink)
			devs[n++] = c->id.id;
	pthread_mutex_unlock(&srv->lock);
	for (size_t i = 0; i < n; i++)
		fn(arg, devs[i]);
	free(devs);
}

void srv_end_revoked(struct srv *srv)
{
	struct conn **held = malloc(SRV_MAX_CONNS * sizeof(*held)), *c;
	struct ident id;
	size_t n = 0;

	if (!held)
		return;
	pthread_mutex_lock(&srv->lock);
	LIST_FOREACH(c, &srv->conns, link)
		if (n < SRV_MAX_CONNS && c->ready && !c->closed) {
			c->refs++;
			held[n++] = c;
		}
	pthread_mutex_unlock(&srv->lock);
	for (size_t i = 0; i < n; i++) {
		c = held[i];
		if (index_ident_by_id(srv->idx, c->id.id, &id) == 0 && id.revoked) {
			log_info("%s: %s %s is revoked: disconnecting", c->addr,
				 role_name(c->id.role), c->id.name);
			mux_shutdown(c->mux);
		}
		srv_conn_put(c);
	}
	free(held);
}

void srv_conn_put(struct conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->srv->lock);
	if (--c->refs == 0)
		pthread_cond_broadcast(&c->srv->cond);
	pthread_mutex_unlock(&c->srv->lock);
}

/* ------------------------------------------------------------- requests */

int srv_find_device(struct srv *srv, struct mux_stream *s, const char *name,
		    struct ident *dev)
{
	int r;

	if (!name_valid(name)) {
		reply_error(s, EINVAL, "'%s' is not a valid device name", name);
		return -EINVAL;
	}
	r = index_ident_get(srv_reader(srv), name, dev);
	if (r == 0 && dev->role != ROLE_DEVICE)
		r = -ENOENT;
	if (r == -ENOENT)
		reply_error(s, ENOENT, "no device named %s", name);
	else if (r < 0)
		reply_error(s, -r, "index: %s", strerror(-r));
	return r;
}
