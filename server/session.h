/* session.h — the running server: listeners, per-connection TLS handshake
 * and identity check, a mux per connection, dispatch of streams by message
 * type and by the peer's role, and the registry of connected peers.
 *
 * Threads: the accept loop (also waits on a signalfd for SIGTERM/SIGINT),
 * one thread per connection (handshake, then it waits until the mux closes
 * and frees it), and the mux's own I/O and stream threads.  The index and
 * the store are shared and thread-safe; struct srv's lock guards only the
 * connection list. */
#ifndef VIGIL_SERVER_SESSION_H
#define VIGIL_SERVER_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "common/mux.h"
#include "common/tls.h"
#include "server/config.h"
#include "server/index.h"
#include "server/store/store.h"

#define SESSION_HANDSHAKE_MS 10000
#define SESSION_MAX_CONNS    1024
#define SESSION_RECV_MS      300000   /* a request waiting this long for its body fails */
#define SESSION_DRAIN_MS     2000     /* after replying: wait this long for the peer's END */
#define SESSION_DRAIN_ITEMS  64       /* ... or this many unread items, then reset */
#define SESSION_LINGER_MS    200      /* before dropping a peer that broke the protocol */

struct conn;

struct srv {
	const struct srv_config *cfg;
	struct index *idx;
	struct store *store;
	struct textindex *ti;       /* keyword index (search.db) */
	struct indexer *ix;         /* background worker feeding it */
	struct shafill *sf;         /* background sha256 of PUT_RANGES versions */
	SSL_CTX *ctx;
	pthread_mutex_t lock;       /* guards conns, nconns, quit */
	pthread_cond_t cond;
	struct conn *conns;
	size_t nconns;
	bool quit;
	/* Called by ingest after each version it committed (NULL: nothing);
	 * the keyword indexer hooks in here.  Versions a directory rename or
	 * delete adds for descendants are not reported. */
	void (*on_commit)(void *arg, int64_t dev, const struct index_version *v);
	void *on_commit_arg;
};

/* One connected (or handshaking) peer. */
struct conn {
	struct srv *srv;
	struct conn *next, *prev;
	int fd;                     /* until the mux owns it; -1 after */
	struct mux *mux;
	struct ident id;            /* the peer's enrolled identity */
	struct devkey key;          /* devices: content key (from id.devkey) */
	bool ready;                 /* identity checked, mux running */
	bool closed;                /* on_close seen */
	char addr[64];              /* peer address, for logs */
};

/* Serves cfg->dir until SIGTERM or SIGINT.  Returns 0 after a clean
 * shutdown, or -errno (reason logged) when it could not start. */
int session_run(const struct srv_config *cfg, const char *listen_override);

/* Whether a device has a live, checked connection now. */
bool session_device_online(struct srv *srv, int64_t dev);

/* Replies MSG_ERROR{code, text} on s (errors ignored: the peer may be gone). */
void session_reply_error(struct mux_stream *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Replies one message whose body is in b (NULL: empty); 0 or -errno. */
int session_reply(struct mux_stream *s, uint16_t type, const struct buf *b);

#endif
