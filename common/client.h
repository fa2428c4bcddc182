/* client.h — how a device or controller reaches the server: TCP connect
 * with a timeout, TLS 1.3 with its bundle identity, then a mux. */
#ifndef VIGIL_CLIENT_H
#define VIGIL_CLIENT_H

#include <stddef.h>

#include "common/bundle.h"
#include "common/mux.h"

/* TCP_USER_TIMEOUT of every client socket: sent data unacknowledged this
 * long ends the connection (client.c). */
#define CLIENT_USER_TIMEOUT_MS 30000

/* Connects to hostport (NULL: b->server; "HOST:PORT" or "[V6]:PORT"),
 * verifies the server by b->ca and the fixed name "vigil-server", and
 * starts a mux with ops/arg.  timeout_ms bounds connect + handshake.
 * Returns 0 and *out, or -errno with a one-line reason in err. */
int client_connect(const struct bundle *b, const char *hostport, int timeout_ms,
		   const struct mux_ops *ops, void *arg, struct mux **out,
		   char *err, size_t errlen);
/* TCP only: a connected, non-blocking, close-on-exec socket, or -errno. */
int client_tcp_connect(const char *hostport, int timeout_ms, char *err, size_t errlen);

#endif
