/* connlimit.h — the books behind server/limits.h: connections in the TLS
 * handshake (all together and per source address), authenticated ones (all
 * together and per identity), refusal counters, and when a refusal may be
 * logged.  Pure bookkeeping: no I/O, no lock (the caller holds srv->lock),
 * and a zeroed struct is an empty one. */
#ifndef VIGIL_SERVER_CONNLIMIT_H
#define VIGIL_SERVER_CONNLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/mux.h"
#include "server/limits.h"

enum cl_refusal {
	CL_OK = 0,
	CL_UNAUTH,      /* LIM_UNAUTH handshakes in progress */
	CL_ADDR,        /* LIM_UNAUTH_PER_ADDR of them from this address */
	CL_CONNS,       /* LIM_CONNS authenticated connections */
	CL_IDENT,       /* this identity holds its cap already */
	CL_FAILED,      /* not a refusal: a handshake failed (for logging) */
	CL_NKINDS
};

#define CL_ADDR_MAX 48   /* an address key: IPv6 text fits */

struct connlimit_stats {
	unsigned unauth, authed;            /* held now */
	unsigned unauth_peak;
	uint64_t refused[CL_NKINDS];        /* [CL_OK] unused */
	uint64_t handshake_timeouts;
	uint64_t evicted;                   /* handshakes dropped for a newcomer */
	uint64_t streams_refused;           /* OPENs beyond an identity's budget, of
					     * identities gone (connlimit_streams_refused
					     * adds the ones still here) */
};

struct connlimit {
	struct { char key[CL_ADDR_MAX]; unsigned n; } addr[LIM_UNAUTH];
	/* A slot is in use while its identity holds connections (n) or a mux
	 * of it still lives (muxes: its streams may still hold the budget). */
	struct { int64_t id; unsigned n, muxes; struct mux_budget budget; } ident[LIM_CONNS];
	struct connlimit_stats st;
	long logged_at[CL_NKINDS];          /* seconds, 0: never */
	uint64_t logged_upto[CL_NKINDS];    /* refused[k] at that log */
};

/* The address part of "HOST:PORT" (the whole of a string without ':'),
 * truncated to CL_ADDR_MAX - 1 bytes. */
void connlimit_addr_key(const char *hostport, char out[CL_ADDR_MAX]);
/* A TCP connection from address key wants to start its handshake:
 * CL_OK (counted) or the refusal (counted as such). */
enum cl_refusal connlimit_enter(struct connlimit *l, const char *key);
/* The budget is spent (connlimit_enter said CL_UNAUTH): whether a
 * newcomer from key may take the slot of a handshake from another address
 * holding more than key would hold with it (then *victim: that address,
 * the one holding the most).  So a flood from a few addresses makes room
 * for everyone else and stays within an equal share. */
bool connlimit_victim(const struct connlimit *l, const char *key, char victim[CL_ADDR_MAX]);
/* Its handshake is over, whatever the outcome. */
void connlimit_leave(struct connlimit *l, const char *key);
/* Identity id (cap: its connections at most) authenticated: CL_OK
 * (counted) or the refusal. */
enum cl_refusal connlimit_auth(struct connlimit *l, int64_t id, unsigned cap);
/* An authenticated connection of id ended. */
void connlimit_gone(struct connlimit *l, int64_t id);
/* The stream budget shared by the muxes of identity id (just admitted by
 * connlimit_auth), max streams at most (LIM_*_IDENT_STREAMS); counts one
 * more mux of id until connlimit_budget_put.  NULL when id holds no slot. */
struct mux_budget *connlimit_budget_get(struct connlimit *l, int64_t id, unsigned max);
/* A mux of id that connlimit_budget_get counted is freed. */
void connlimit_budget_put(struct connlimit *l, int64_t id);
/* OPENs refused for identities' budgets, in all. */
uint64_t connlimit_streams_refused(const struct connlimit *l);
/* Connections identity id holds now. */
unsigned connlimit_ident_count(const struct connlimit *l, int64_t id);
/* Whether a refusal of kind k may be logged at now_s (once per
 * LIM_LOG_EVERY_S per kind); *since: refusals of k not logged before it. */
bool connlimit_log_due(struct connlimit *l, enum cl_refusal k, long now_s, uint64_t *since);
const char *connlimit_refusal_name(enum cl_refusal k);

#endif
