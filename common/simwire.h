/* simwire.h — what vigil-simfs tells vigild, one datagram per message on
 * the unix socket STATE/simfs.sock (SOCK_DGRAM, bound by vigild, mode 0600).
 *
 * simfs sends with MSG_DONTWAIT and never waits: a datagram that cannot go
 * (vigild not running, its socket buffer full) is dropped, and simfs sends
 * SIMW_RESCAN of its mountpoint at the next chance, so vigild reconciles
 * instead (docs/simfs.md).  vigild also rescans every root when it starts.
 *
 * Encoding: common/wire.h, fields in this order:
 *   u8 version (SIMW_VERSION), u8 kind, i64 time_ns, str path,
 *   u32 nranges, nranges * (u64 off, u64 len),      (SIMW_RANGES only)
 *   struct vg_sim (proto.h)                          (SIMW_SIM only)
 * path is absolute, as vigild sees it (mountpoint + path inside the mount),
 * and must pass path_valid().  At most SIMW_RANGES_MAX ranges per datagram
 * (simfs sends more datagrams for more); a datagram is at most SIMW_MAX. */
#ifndef VIGIL_SIMWIRE_H
#define VIGIL_SIMWIRE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/proto.h"

#define SIMW_VERSION     1
#define SIMW_SOCK        "simfs.sock"     /* in the vigild state directory */
#define SIMW_RANGES_MAX  64
#define SIMW_MAX         (PATH_MAX + 64 + SIMW_RANGES_MAX * 16 + 256)

enum simw_kind {
	SIMW_CHANGED = 1,   /* path's content, metadata or existence changed */
	SIMW_RANGES  = 2,   /* these byte ranges of path were written */
	SIMW_CLOSED  = 3,   /* the last writable descriptor of path was closed */
	SIMW_RESCAN  = 4,   /* reconcile the tree below path (reports were lost) */
	SIMW_MOUNT   = 5,   /* a simfs mount at path came (or went): reread STATE/mounts */
	SIMW_SIM     = 6,   /* the SIM as simfs reads it now (struct vg_sim) */
};

struct simw_msg {
	uint8_t kind;                   /* enum simw_kind */
	int64_t time_ns;                /* when it happened (real time) */
	char path[PATH_MAX];            /* "" for SIMW_SIM */
	uint32_t nranges;
	struct { uint64_t off, len; } ranges[SIMW_RANGES_MAX];
	struct vg_sim sim;
};

void simw_encode(struct buf *b, const struct simw_msg *m);
/* 0, or -EPROTO for a datagram that is not exactly one valid message
 * (wrong version, unknown kind, bad path, too many ranges, trailing bytes). */
int simw_decode(const void *p, size_t n, struct simw_msg *m);

#endif
