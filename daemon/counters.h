/* counters.h — vigild's running counters, shared by the loop, the shipper
 * and the status file.  Updated with atomic adds from any thread. */
#ifndef VIGIL_DAEMON_COUNTERS_H
#define VIGIL_DAEMON_COUNTERS_H

#include <stdint.h>

#include "common/proto.h"

enum ctr {
	CTR_EVENTS, CTR_DROPS, CTR_RESCANS, CTR_BYTES_READ, CTR_UNSTABLE,
	CTR_SHIPPED, CTR_BYTES_SENT, CTR_ERRORS, CTR_XATTR_SKIPPED,
	CTR_ADOPTED,     /* versions already on the server taken over, nothing sent */
	CTR_BYTES_RECV,  /* signatures and chunk lists fetched from the server */
	/* versions shipped, by kind of PUT (they add up to CTR_SHIPPED); a
	 * directory or symlink goes WHOLE with empty content */
	CTR_SHIPPED_WHOLE, CTR_SHIPPED_DELTA, CTR_SHIPPED_RANGES, CTR_SHIPPED_META,
	CTR_SHIPPED_DELETE, CTR_SHIPPED_RENAME,
	/* vigil-simfs (daemon/simlink.c): datagrams received on STATE/simfs.sock,
	 * those dropped (not a valid message, or a path outside the watched
	 * roots), SIM reports the server acknowledged */
	CTR_SIMFS_RECEIVED, CTR_SIMFS_DROPPED, CTR_SIM_SENT,
	/* body bytes an upload sent again that an earlier, cut attempt of it
	 * had already sent: what resuming could not save (resent.h); they are
	 * in CTR_BYTES_SENT too */
	CTR_BYTES_RESENT,
	/* chunks of the files read whose sha256 vigild computed, and those it
	 * fingerprinted (a chunk the shipped version's chunk list knows by
	 * its fingerprint takes its sha256 from the list: common/chash.h) */
	CTR_CHUNK_SHA256, CTR_CHUNKS_FINGERPRINTED,
	/* librsync signatures of old regions fetched for deltas
	 * (chunkdelta.h); in CTR_BYTES_RECV too */
	CTR_SIG_BYTES_RECV,
	/* chunk sha256s a first upload's chunk list got from the server
	 * (MSG_PUT_STORED) instead of computing them (docs/daemon.md) */
	CTR_CHUNK_SHA_RECEIVED,
	/* looks of the shippers into the queue for work (daemon/worker.c
	 * take): an idle shipper naps between them, so this shows how often
	 * idle shippers wake (docs/daemon.md) */
	CTR_QUEUE_SCANS,
	/* attempts to connect to the server: the shippers' (one shared
	 * connection per SHIP_CONNS group, ship.c) and the command link's
	 * (cmdlink.c); offline they show the backoff (docs/daemon.md) */
	CTR_CONNECTS, CTR_LINK_CONNECTS,
	/* reads of the NETLINK_ROUTE socket that said the network changed
	 * (netwatch.h): each ends the waits of those offline */
	CTR_NET_CHANGES,
	CTR_COUNT
};

struct counters {
	uint64_t v[CTR_COUNT];
};

static inline void ctr_add(struct counters *c, enum ctr k, uint64_t n)
{
	__atomic_add_fetch(&c->v[k], n, __ATOMIC_RELAXED);
}

static inline uint64_t ctr_get(const struct counters *c, enum ctr k)
{
	return __atomic_load_n(&c->v[k], __ATOMIC_RELAXED);
}

extern const char *const ctr_names[CTR_COUNT];

/* Appends the counters to a report (name, value). */
void ctr_report(const struct counters *c, struct vg_report *rep);
/* Appends one named counter (a tracker's own); dropped past VG_COUNTERS_MAX. */
void report_counter(struct vg_report *rep, const char *name, uint64_t v);

#endif
