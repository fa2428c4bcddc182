/* client.c — connecting a device or controller to the server: TCP with a
 * deadline, TLS 1.3 with the bundle's identity, then a mux. */
#include "common/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "common/clock.h"
#include "common/hostport.h"

/* One non-blocking connect attempt; 0 or -errno. */
static int try_connect(const struct addrinfo *ai, long deadline)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int r, soerr = 0, one = 1;
	unsigned user_timeout = CLIENT_USER_TIMEOUT_MS;

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto ok;
	if (errno != EINPROGRESS) {
		r = -errno;
		goto fail;
	}
	for (;;) {
		long left = deadline - mono_ms();

		if (left <= 0) {
			r = -ETIMEDOUT;
			goto fail;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR) {
			r = -errno;
			goto fail;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		r = soerr ? -soerr : -errno;
		goto fail;
	}
ok:
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* data the peer has not acknowledged for this long: the connection is
	 * dead (a phone that moved to another network); the kernel ends it at
	 * once instead of the keepalive minutes later (mux.h,
	 * MUX_DEVICE_PING_MS), and no timer of ours runs while idle */
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
	return fd;
fail:
	close(fd);
	return r;
}

int client_tcp_connect(const char *hostport, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char host[HOSTPORT_MAX], port[HOSTPORT_PORT_SIZE];
	long deadline = mono_ms() + (timeout_ms < 0 ? 3600000L : timeout_ms);
	int r, fd = -ECONNREFUSED;

	if (hostport_split(hostport, 0, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "bad server address \"%s\" (want HOST:PORT)", hostport);
		return -EINVAL;
	}
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if ((fd = try_connect(ai, deadline)) >= 0 || fd == -ETIMEDOUT)
			break;
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "connect to %s: %s", hostport,
			 fd == -ETIMEDOUT ? "timed out" : strerror(-fd));
	return fd;
}

int client_connect(const struct bundle *b, const char *hostport, int timeout_ms,
		   const struct mux_ops *ops, void *arg, struct mux **out,
		   char *err, size_t errlen)
{
	long start = mono_ms();
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char why[256];
	int fd = -1, r, left;

	*out = NULL;
	if (!hostport)
		hostport = b->server;
	if (!(ctx = tls_client_ctx_new(b->cert, b->key, b->ca, err, errlen)))
		return -EINVAL;
	if ((fd = client_tcp_connect(hostport, timeout_ms, err, errlen)) < 0) {
		r = fd;
		goto out;
	}
	left = timeout_ms < 0 ? -1 : (int)(timeout_ms - (mono_ms() - start));
	if (left == 0)
		left = 1;
	if ((r = tls_client_handshake(ctx, fd, left < 0 && timeout_ms >= 0 ? 1 : left,
				      &ssl, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s: %s", hostport, why);
		goto out;
	}
	if (!(*out = mux_new(ssl, fd, ops, arg))) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot start connection: %s", hostport, strerror(errno));
		fd = -1;  /* mux_new freed ssl and fd */
		goto out;
	}
	mux_set_label(*out, hostport);
	fd = -1;
	/* TLS 1.3 finishes on the client before the server has checked our
	 * certificate: the server's HELLO says it accepted us. */
	left = timeout_ms < 0 ? -1 : (int)(timeout_ms - (mono_ms() - start));
	if ((r = mux_wait_ready(*out, timeout_ms < 0 ? -1 : left > 0 ? left : 1)) < 0) {
		mux_last_error(*out, why, sizeof(why));
		if (r == -ETIMEDOUT)
			snprintf(err, errlen, "%s: server did not answer", hostport);
		else if (strstr(why, "alert"))
			snprintf(err, errlen, "%s: server refused our certificate (%s)", hostport, why);
		else
			snprintf(err, errlen, "%s: server closed the connection "
				 "(identity not enrolled or revoked?): %s", hostport, why);
		if (r == -ECONNRESET)
			r = strstr(why, "alert") ? -EACCES : -ECONNREFUSED;
		mux_free(*out);
		*out = NULL;
		goto out;
	}
out:
	if (fd >= 0) {
		SSL_free(ssl);
		close(fd);
	}
	SSL_CTX_free(ctx);
	return r;
}
