/* session.h — serving connections on a built server context (srv.h):
 * listeners, the accept loop (which also waits on a signalfd), the TLS
 * handshake and identity check of each connection, and the dispatch of
 * each stream a peer opens to the handler its role and message type name.
 *
 * Threads: the accept loop; one thread per connection (handshake, then it
 * waits until the mux closes and frees it); the mux's own I/O thread and
 * stream handler threads, bounded per role across the server (srv.h). */
#ifndef VIGIL_SERVER_SESSION_H
#define VIGIL_SERVER_SESSION_H

#include "server/srv.h"

#define SESSION_DRAIN_MS     2000     /* after replying: wait this long for the peer's END */
#define SESSION_DRAIN_ITEMS  64       /* ... or this many unread items, then reset */
#define SESSION_LINGER_MS    200      /* before dropping a peer that broke the protocol */

/* Serves srv on listen_at until sigfd (a signalfd) reports a signal, then
 * ends every connection.  Returns 0 after a clean shutdown, or -errno
 * (reason logged) when it could not listen. */
int session_serve(struct srv *srv, const char *listen_at, int sigfd);

#endif
