/* session.c — accept loop, handshake + identity check, stream dispatch. */
#include "server/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/devsig.h"
#include "server/ingest.h"
#include "server/query.h"
#include "server/relay.h"
#include "server/reply.h"

#define MAX_LISTEN 4

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

/* Which handlers each role may reach: a device sends 0x01xx, a controller
 * 0x02xx.  A module with requests of its own adds its table here. */
static const struct {
	enum vg_role role;
	uint16_t range;
	const struct srv_handler *table;
} tables[] = {
	{ ROLE_DEVICE, 0x0100, ingest_handlers },
	{ ROLE_DEVICE, 0x0100, relay_dev_handlers },
	{ ROLE_DEVICE, 0x0100, devsig_handlers },
	{ ROLE_CONTROLLER, 0x0200, query_handlers },
	{ ROLE_CONTROLLER, 0x0200, relay_ctl_handlers },
};

/* Runs the handler of type for c's role, replying the errors no handler
 * does itself.  Returns 0, -EPROTO or -ECONNABORTED (srv.h). */
static int dispatch(struct conn *c, struct mux_stream *s, uint16_t type,
		    const uint8_t *msg, size_t len)
{
	const struct srv_handler *h = NULL;
	struct wire_reader wr;
	bool allowed = false;
	size_t i;
	int r;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]) && !h; i++) {
		if ((int)tables[i].role != c->id.role || (type & 0xff00) != tables[i].range)
			continue;
		allowed = true;
		for (h = tables[i].table; h->fn && h->type != type; h++)
			;
		if (!h->fn)
			h = NULL;
	}
	if (!allowed) {
		reply_error(s, EPERM, "a %s may not send message 0x%04x",
			    role_name(c->id.role), type);
		return 0;
	}
	if (!h) {
		reply_error(s, ENOSYS, "unknown request 0x%04x", type);
		return 0;
	}
	wire_reader_init(&wr, msg, len);
	r = h->fn(c, s, &wr);
	if (r == -EPROTO)
		reply_error(s, EBADMSG, "malformed request 0x%04x", type);
	else if (r == -ENOMEM)
		reply_error(s, ENOMEM, "out of memory");
	return r == -EPROTO || r == -ECONNABORTED ? r : 0;
}

static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	struct conn *c = arg;
	int r = dispatch(c, s, type, msg, len);

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
	srv_conn_closed(arg);
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

	r = tls_server_handshake(srv->ctx, c->fd, LIM_HANDSHAKE_MS, &ssl, &peer, err,
				 sizeof(err));
	if (r < 0)
		srv_handshake_failed(c, r, err);
	else if ((r = check_identity(c, &peer)) < 0)
		SSL_free(ssl);
	else if ((r = srv_conn_attach(c, ssl, &conn_ops)) < 0 && r != -ECANCELED &&
		 r != -EUSERS) {
		log_errno(r, "%s: cannot start a connection", c->addr);
	}
	if (r < 0)
		goto out;   /* srv_conn_free closes the socket */
	log_info("%s: %s %s connected", c->addr, role_name(c->id.role), c->id.name);
	if (c->id.role == ROLE_DEVICE)
		(void)index_dev_seen(srv->idx, c->id.id, real_ns());
	srv_conn_wait(c);
	if (c->id.role == ROLE_DEVICE)
		(void)index_dev_seen(srv->idx, c->id.id, real_ns());
	log_info("%s: %s %s disconnected", c->addr, role_name(c->id.role), c->id.name);
out:
	srv_conn_free(c);
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
	char addr[sizeof(((struct conn *)0)->addr)];
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
	peer_addr(&ss, addr, sizeof(addr));
	if (!(c = srv_conn_new(srv, fd, addr))) {   /* refusal logged */
		close(fd);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_main, c) != 0) {
		srv_conn_free(c);
		log_warnx("cannot start a connection thread");
	}
	pthread_attr_destroy(&attr);
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

int session_serve(struct srv *srv, const char *listen_at, int sigfd)
{
	int lfds[MAX_LISTEN], r;
	size_t nl = 0, i;

	if ((r = open_listeners(listen_at, lfds, &nl)) == 0) {
		log_info("serving %s on %s", srv->cfg->dir, listen_at);
		r = serve(srv, lfds, nl, sigfd);
	}
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	relay_stop(srv->relay);   /* before the connections: it may hold one */
	srv_conns_shutdown(srv);
	return r;
}
