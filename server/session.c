/* session.c — accept loop, handshake + identity check, stream dispatch. */
#include "server/session.h"
#include "server/search/search.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "server/ingest.h"
#include "server/query.h"
#include "server/store/shafill.h"

#define MAX_LISTEN 4
#define SHUTDOWN_WAIT_S 20

/* ------------------------------------------------------------------ replies */

int session_reply(struct mux_stream *s, uint16_t type, const struct buf *b)
{
	return mux_send_msg(s, type, b ? b->data : NULL, b ? b->len : 0);
}

void session_reply_error(struct mux_stream *s, int code, const char *fmt, ...)
{
	char text[VG_ERRMSG_MAX];
	struct buf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_init(&b, VG_MSG_MAX);
	proto_put_error(&b, code, text);
	if (!wire_buf_error(&b))
		(void)mux_send_msg(s, MSG_ERROR, b.data, b.len);
	buf_free(&b);
}

/* ----------------------------------------------------------------- registry */

static void conn_link(struct srv *srv, struct conn *c)
{
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
}

static void conn_unlink(struct srv *srv, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	pthread_cond_broadcast(&srv->cond);
}

bool session_device_online(struct srv *srv, int64_t dev)
{
	bool on = false;

	pthread_mutex_lock(&srv->lock);
	for (struct conn *c = srv->conns; c && !on; c = c->next)
		on = c->ready && !c->closed && c->id.role == ROLE_DEVICE && c->id.id == dev;
	pthread_mutex_unlock(&srv->lock);
	return on;
}

/* ----------------------------------------------------------------- dispatch */

/* Waits (bounded) for the peer's END, so that closing the stream does not
 * reset it while the peer is still finishing its request: a reset could
 * overtake nothing, but it makes the peer's own late END fail. */
static void drain(struct mux_stream *s)
{
	struct buf scratch;
	uint16_t type;
	int i, r = 0;

	buf_init(&scratch, MUX_FRAME_MAX);
	for (i = 0; i < SESSION_DRAIN_ITEMS; i++) {
		r = mux_recv(s, &type, &scratch, SESSION_DRAIN_MS);
		if (r == MUX_END || r < 0)
			break;
	}
	buf_free(&scratch);
}

static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	struct conn *c = arg;
	int r;

	if (c->id.role == ROLE_DEVICE && (type & 0xff00) == 0x0100)
		r = ingest_handle(c, s, type, msg, len);
	else if (c->id.role == ROLE_CONTROLLER && (type & 0xff00) == 0x0200)
		r = query_handle(c, s, type, msg, len);
	else {
		session_reply_error(s, EPERM, "a %s may not send message 0x%04x",
				    role_name(c->id.role), type);
		r = 0;
	}
	/* Replies are complete only with END (a stream closed without it is
	 * reset and its queued replies dropped); a handler that must signal a
	 * broken body (content cut short) returns -ECONNABORTED instead. */
	if (r != -ECONNABORTED) {
		(void)mux_send_end(s);
		drain(s);
	}
	mux_stream_close(s);
	if (r == -EPROTO) {
		log_warnx("%s %s (%s): protocol violation, disconnecting",
			  role_name(c->id.role), c->id.name, c->addr);
		usleep(SESSION_LINGER_MS * 1000);   /* let the error reply go out */
		mux_shutdown(m);
	}
}

static void on_close(struct mux *m, void *arg)
{
	struct conn *c = arg;

	pthread_mutex_lock(&c->srv->lock);
	c->closed = true;
	pthread_cond_broadcast(&c->srv->cond);
	pthread_mutex_unlock(&c->srv->lock);
}

static const struct mux_ops conn_ops = { .on_stream = on_stream, .on_close = on_close };

/* The certificate passed the CA; the index decides whether it still counts. */
static int check_identity(struct conn *c, const struct peer *p)
{
	int r = index_ident_get(c->srv->idx, p->name, &c->id);

	if (r == -ENOENT) {
		log_warnx("%s: refused %s %s: not enrolled", c->addr, role_name(p->role), p->name);
		return -EACCES;
	}
	if (r < 0)
		return r;
	if (c->id.revoked || (int)p->role != c->id.role ||
	    memcmp(p->cert_sha256, c->id.cert_sha256, 32)) {
		log_warnx("%s: refused %s %s: %s", c->addr, role_name(p->role), p->name,
			  c->id.revoked ? "revoked" : "not the enrolled certificate");
		return -EACCES;
	}
	memcpy(c->key.k, c->id.devkey, 32);
	return 0;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct srv *srv = c->srv;
	char err[256] = "";
	struct peer peer;
	SSL *ssl = NULL;
	int r;

	r = tls_server_handshake(srv->ctx, c->fd, SESSION_HANDSHAKE_MS, &ssl, &peer, err,
				 sizeof(err));
	if (r < 0)
		log_info("%s: handshake failed: %s", c->addr, err);
	else if ((r = check_identity(c, &peer)) < 0)
		SSL_free(ssl);
	pthread_mutex_lock(&srv->lock);
	if (r == 0 && srv->quit) {
		SSL_free(ssl);
		r = -ECANCELED;
	}
	if (r < 0) {
		close(c->fd);
		c->fd = -1;
		goto out;
	}
	/* mux_new takes ssl and fd, also on failure */
	c->mux = mux_new(ssl, c->fd, &conn_ops, c);
	c->fd = -1;
	if (!c->mux) {
		log_warn("%s: cannot start a connection", c->addr);
		goto out;
	}
	c->ready = true;
	pthread_mutex_unlock(&srv->lock);
	log_info("%s: %s %s connected", c->addr, role_name(c->id.role), c->id.name);
	if (c->id.role == ROLE_DEVICE)
		(void)index_dev_seen(srv->idx, c->id.id, index_now_ns());

	pthread_mutex_lock(&srv->lock);
	while (!c->closed && !srv->quit)
		pthread_cond_wait(&srv->cond, &srv->lock);
	c->ready = false;
	pthread_mutex_unlock(&srv->lock);
	mux_free(c->mux);   /* waits for its stream handlers */
	c->mux = NULL;
	if (c->id.role == ROLE_DEVICE)
		(void)index_dev_seen(srv->idx, c->id.id, index_now_ns());
	log_info("%s: %s %s disconnected", c->addr, role_name(c->id.role), c->id.name);
	pthread_mutex_lock(&srv->lock);
out:
	conn_unlink(srv, c);
	pthread_mutex_unlock(&srv->lock);
	free(c);
	return NULL;
}

/* --------------------------------------------------------------- listeners */

static int open_listeners(const char *hostport, int *fds, size_t *nfds)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char host[HOSTPORT_MAX], port[HOSTPORT_PORT_SIZE];
	int one = 1, rc, fd, saved = 0;

	*nfds = 0;
	if (hostport_split(hostport, HOSTPORT_BIND, host, sizeof(host), port, sizeof(port)) < 0) {
		log_warnx("bad listen address '%s'", hostport);
		return -EINVAL;
	}
	rc = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port, &hints, &res);
	if (rc) {
		log_warnx("listen address %s: %s", hostport, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai && *nfds < MAX_LISTEN; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
			saved = errno;
			close(fd);
			continue;
		}
		fds[(*nfds)++] = fd;
	}
	freeaddrinfo(res);
	if (*nfds == 0) {
		errno = saved ? saved : EADDRNOTAVAIL;
		log_warn("cannot listen on %s", hostport);
		return -errno;
	}
	return 0;
}

static void peer_addr(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	}
	snprintf(out, cap, "%s:%d", host, port);
}

static void accept_one(struct srv *srv, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	pthread_attr_t attr;
	struct conn *c;
	pthread_t t;
	int fd, one = 1;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept");
		if (errno == EMFILE || errno == ENFILE)
			usleep(100000);   /* let connections drain */
		return;
	}
	/* Replies are small frames; without this the last segment of each
	 * waits for the peer's delayed ACK (~40 ms per request). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_mutex_lock(&srv->lock);
	if (srv->nconns >= SESSION_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		pthread_mutex_unlock(&srv->lock);
		log_warnx("too many connections; refusing one");
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	peer_addr(&ss, c->addr, sizeof(c->addr));
	conn_link(srv, c);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_main, c) != 0) {
		conn_unlink(srv, c);
		close(fd);
		free(c);
		log_warnx("cannot start a connection thread");
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&srv->lock);
}

/* Wakes every connection and waits (bounded) until all are gone. */
static void shut_all(struct srv *srv)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SHUTDOWN_WAIT_S;
	pthread_mutex_lock(&srv->lock);
	srv->quit = true;
	/* Connection threads wake on quit and mux_free their connection; a
	 * handshake in progress ends when its socket is shut down. */
	for (struct conn *c = srv->conns; c; c = c->next)
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
	pthread_cond_broadcast(&srv->cond);
	while (srv->nconns > 0)
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&srv->lock);
}

static int serve(struct srv *srv, int *lfds, size_t nl, int sfd)
{
	struct pollfd pfd[MAX_LISTEN + 1];
	struct signalfd_siginfo si;
	size_t i;

	for (i = 0; i < nl; i++)
		pfd[i] = (struct pollfd){ .fd = lfds[i], .events = POLLIN };
	pfd[nl] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, nl + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return -errno;
		}
		if (pfd[nl].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				log_info("signal %u: shutting down", si.ssi_signo);
				return 0;
			}
		}
		for (i = 0; i < nl; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(srv, lfds[i]);
	}
}

static int srv_open(struct srv *srv, const struct srv_config *cfg)
{
	char err[256] = "", path[PATH_MAX + 16];
	int r;

	srv->cfg = cfg;
	if ((r = index_open(cfg->dir, false, &srv->idx)) < 0) {
		log_errno(r, "%s/index.db", cfg->dir);
		return r;
	}
	if ((r = config_path(cfg, "store", path, sizeof(path))) < 0 ||
	    (r = store_open(path, &srv->store)) < 0) {
		log_errno(r, "%s/store", cfg->dir);
		return r;
	}
	if ((r = shafill_new(srv->idx, srv->store, &srv->sf)) < 0) {
		log_errno(r, "cannot start the sha256 worker");
		return r;
	}
	if ((r = search_start(srv)) < 0)
		return r;
	if (!(srv->ctx = tls_server_ctx_new(cfg->dir, err, sizeof(err)))) {
		log_warnx("%s", err);
		return -EINVAL;
	}
	return 0;
}

int session_run(const struct srv_config *cfg, const char *listen_override)
{
	const char *listen_at = listen_override ? listen_override : cfg->listen;
	struct srv srv = { .conns = NULL };
	int lfds[MAX_LISTEN], sfd = -1, r;
	size_t nl = 0, i;
	sigset_t set;

	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.cond, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread starts, so every thread inherits the mask
	 * and only the signalfd sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		r = -errno;
		log_warn("signalfd");
		goto out;
	}
	if ((r = srv_open(&srv, cfg)) < 0 || (r = open_listeners(listen_at, lfds, &nl)) < 0)
		goto out;
	log_info("serving %s on %s", cfg->dir, listen_at);
	r = serve(&srv, lfds, nl, sfd);
out:
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	shut_all(&srv);
	if (sfd >= 0)
		close(sfd);
	pthread_mutex_lock(&srv.lock);
	if (srv.nconns == 0) {   /* else threads still use them: the process exits anyway */
		SSL_CTX_free(srv.ctx);
		search_stop(&srv);
		shafill_free(srv.sf);
		store_close(srv.store);
		index_close(srv.idx);
	}
	pthread_mutex_unlock(&srv.lock);
	return r;
}
