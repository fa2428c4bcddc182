/* srv.h — the running server's context: configuration, index, store,
 * keyword index and its workers, TLS context, and the registry of
 * connected peers (struct conn); and the shape of a request handler.
 *
 * main.c builds a struct srv (srv_open), session.c serves connections on
 * it, srv_close undoes it.  The index, the store and the keyword index are
 * thread-safe; srv->lock guards only the registry (conns, nconns, quit
 * and each conn's ready/closed/refs).
 *
 * Adding a request: write `int do_x(struct conn *, struct mux_stream *,
 * struct wire_reader *)`, add a row {MSG_X, do_x} to its module's handler
 * table (ingest_handlers for device messages 0x01xx, query_handlers for
 * controller messages 0x02xx; a new module adds its table to session.c's
 * `tables`), reply with reply.h. */
#ifndef VIGIL_SERVER_SRV_H
#define VIGIL_SERVER_SRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "common/mux.h"
#include "common/tls.h"
#include "common/wire.h"
#include "server/config.h"
#include "server/connlimit.h"
#include "server/index.h"
#include "server/store/store.h"

#define SRV_MAX_CONNS LIM_CONNS   /* authenticated; handshakes have their own (limits.h) */
#define SRV_SHUTDOWN_WAIT_S 20   /* srv_conns_shutdown waits at most this long */
/* Stream handler threads, bounded across the server per role so that
 * devices' uploads and controllers' requests never wait for each other
 * (docs/protocol.md, "Streams"): a stream beyond its role's pool, or
 * beyond one connection's share of it, waits for a slot. */
#define SRV_DEVICE_HANDLERS     256
#define SRV_DEVICE_SHARE        16
#define SRV_CONTROLLER_HANDLERS 128
#define SRV_CONTROLLER_SHARE    MUX_MAX_STREAMS
/* Heavy uploads (a file body announced at SRV_HEAVY_BYTES or more) being
 * built at once per device; more wait for a slot (upslots.h).  vigild runs
 * SHIP_WORKERS (4) shippers: two big files at a time leave two for small
 * edits, and a hostile device cannot keep more than two builds busy. */
#define SRV_DEVICE_UPLOADS 2
/* Batched puts (ingest_batch.c) being received at once per device: each
 * holds up to PUTBATCH_ITEMS_MAX versions in memory until its commit, so
 * this bounds what one device costs; 4 keep both CPUs busy. */
#define SRV_DEVICE_BATCHES 4
/* A batch keeps the bytes of its files up to SRV_COMMIT_BYTES_MAX, at most
 * SRV_BATCH_HOLD of them, for on_commit (the keyword indexer then need not
 * read them back from the store). */
#define SRV_COMMIT_BYTES_MAX 16384
#define SRV_BATCH_HOLD       (1u << 20)
#define SRV_HEAVY_BYTES    (8u << 20)
#define SRV_RECV_MS   300000   /* a handler waiting this long for a request's body fails */

struct conn;
struct relay;
struct upslots;

struct srv {
	const struct srv_config *cfg;
	struct index *idx;
	struct index *ridx;         /* read-only connection: controllers' queries */
	struct store *store;
	struct textindex *ti;       /* keyword index (search.db) */
	struct indexer *ix;         /* background worker feeding it */
	struct exproc *ex;          /* ... and its sandboxed text extractor */
	struct upload_gc *ugc;      /* expiry of abandoned uploads (store/content.h) */
	struct sweeper *sweeper;    /* the store's sweeps (sweep.h) */
	struct shafill *sf;         /* background sha256 of PUT_RANGES versions */
	struct retainer *rt;        /* background retention passes (retainer.h) */
	SSL_CTX *ctx;
	struct mux_limit *dev_handlers;   /* handler slots for devices' streams */
	struct mux_limit *ctl_handlers;   /* ... and for controllers' */
	struct upslots *uploads;    /* heavy uploads per device (upslots.h) */
	struct upslots *batches;    /* batched puts per device (SRV_DEVICE_BATCHES) */
	struct relay *relay;        /* signed commands and direct fetches (relay.h) */
	/* Called by ingest after each version it committed (NULL: nothing);
	 * the keyword indexer hooks in here.  Versions a directory rename or
	 * delete adds for descendants are not reported.  bytes: the whole
	 * content (v->e.size bytes) when ingest still holds it (a batch's
	 * files up to SRV_COMMIT_BYTES_MAX), else NULL. */
	void (*on_commit)(void *arg, int64_t dev, const struct index_version *v,
			  const void *bytes);
	void *on_commit_arg;

	pthread_mutex_t lock;       /* the registry: */
	pthread_cond_t cond;        /* broadcast when a conn closes, goes, or drops a ref */
	LIST_HEAD(, conn) conns;    /* newest first */
	size_t nconns;
	struct connlimit lim;       /* handshakes and identities (limits.h) */
	bool quit;
};

/* The index connection for reads that need not wait for devices' commits:
 * controllers' queries (index_open_reader). */
static inline struct index *srv_reader(struct srv *srv)
{
	return srv->ridx ? srv->ridx : srv->idx;
}

/* One connected (or handshaking) peer. */
struct conn {
	struct srv *srv;
	LIST_ENTRY(conn) link;      /* in srv->conns */
	int fd;                     /* until the mux owns it; -1 after */
	struct mux *mux;
	struct ident id;            /* the peer's enrolled identity */
	struct devkey key;          /* devices: content key (from id.devkey) */
	bool ready;                 /* identity checked, mux running */
	bool closed;                /* the mux ended */
	bool unauth;                /* counted in lim as a handshake */
	bool authed;                /* counted in lim as its identity's */
	bool budgeted;              /* its mux counted in lim's stream budget */
	int refs;                   /* srv_device_conn references */
	bool cmdlink;               /* devices: commands are pushed on this one */
	uint64_t pushed_upto;       /* the relay thread's: last command pushed on it */
	char addr[64];              /* peer address, for logs */
};

/* A request handler: wr is positioned after the message type.  It replies
 * on s (reply.h) and returns 0, -EPROTO when the request is malformed (the
 * caller replies EBADMSG and drops the connection), -ENOMEM (the caller
 * replies it), or -ECONNABORTED when a reply already begun was cut short
 * (the stream then ends with a reset instead of END). */
typedef int srv_handler_fn(struct conn *c, struct mux_stream *s, struct wire_reader *wr);
struct srv_handler {
	uint16_t type;
	srv_handler_fn *fn;
};

/* Opens what cfg->dir holds and starts the background workers.  Logs and
 * returns -errno; srv_close then frees whatever was opened. */
int srv_open(struct srv *srv, const struct srv_config *cfg);
/* Frees the context, unless a connection is still there (after a bounded
 * srv_conns_shutdown): then the process is about to exit anyway. */
void srv_close(struct srv *srv);

/* ------------------------------------------------------------ registry */

/* A new connection on fd from addr ("HOST:PORT"), linked and counted as
 * a handshake.  When the handshake budget is spent, the oldest handshake
 * of an address holding more than addr makes room (connlimit_victim).
 * NULL when addr's share or the budget is spent: the refusal is counted
 * and logged (rate-limited), fd is left to the caller. */
struct conn *srv_conn_new(struct srv *srv, int fd, const char *addr);
/* The identity is checked: ends c's handshake and runs the mux on ssl and
 * c->fd with ops (the handler limit and stream cap of c's role added).
 * -EUSERS when the identity or the server holds its limit of connections
 * (logged, rate-limited), -ECANCELED when the server is shutting down,
 * -errno when the mux cannot start; ssl and fd are taken either way. */
int srv_conn_attach(struct conn *c, SSL *ssl, const struct mux_ops *ops);
/* The mux ended (its on_close). */
void srv_conn_closed(struct conn *c);
/* Waits until c's mux ended or the server quits; then no lookup finds c
 * any more, and once the last reference is gone, frees the mux. */
void srv_conn_wait(struct conn *c);
/* Closes the socket if no mux took it, unlinks and frees c. */
void srv_conn_free(struct conn *c);
/* c's handshake failed with err (-ETIMEDOUT: ran out of time) for why:
 * counted, and logged at most once per LIM_LOG_EVERY_S. */
void srv_handshake_failed(struct conn *c, int err, const char *why);
/* Ends every connection and waits (bounded) until all are gone. */
void srv_conns_shutdown(struct srv *srv);

/* Whether a device has a live, checked connection now. */
bool srv_device_online(struct srv *srv, int64_t dev);
/* The device's newest live connection, referenced: c and c->mux stay
 * valid until srv_conn_put(c), though the mux may die meanwhile (calls on
 * it then fail with -ECONNRESET).  NULL when the device is not connected.
 * A holder must not block on anything but that mux. */
struct conn *srv_device_conn(struct srv *srv, int64_t dev);
void srv_conn_put(struct conn *c);
/* The same for the device's command link (srv_set_link), NULL without one. */
struct conn *srv_device_link(struct srv *srv, int64_t dev);
/* Makes c its device's command link (the newest declared wins). */
void srv_set_link(struct conn *c);
/* Calls fn(arg, dev) for every device with a live command link (not under
 * the registry's lock). */
void srv_each_link(struct srv *srv, void (*fn)(struct relay *, int64_t), struct relay *arg);
/* Ends the live connections of identities revoked since they connected
 * (by `vigil-server revoke` in another process, or by an erase). */
void srv_end_revoked(struct srv *srv);

/* The device a request names: 0 and *dev, or -errno after replying the
 * error on s (invalid name, no such device, index failure). */
int srv_find_device(struct srv *srv, struct mux_stream *s, const char *name,
		    struct ident *dev);

#endif
