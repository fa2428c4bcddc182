/* simlink.h — vigild's end of vigil-simfs's reports: the datagram socket
 * STATE/simfs.sock (common/simwire.h), read by the loop thread.
 *
 * Each datagram is decoded (a bad one is counted in simfs_dropped and
 * dropped, as is a path outside the watched roots) and handed on as the
 * tracker's would be, through the loop's own tracker_sink: CHANGED ->
 * changed, RANGES -> ranges, CLOSED -> closed, RESCAN and MOUNT -> rescan
 * of that directory (the intake rereads STATE/mounts first).  SIMW_SIM
 * goes to the intake thread, which keeps it in STATE/sim-pending
 * (simpending.h) for worker 0 to send; the loop never writes a file. */
#ifndef VIGIL_DAEMON_SIMLINK_H
#define VIGIL_DAEMON_SIMLINK_H

#include "daemon/daemon.h"
#include "daemon/tracker.h"

/* Datagrams read per wake-up: the loop goes back to its other fds between
 * batches (epoll is level-triggered, so the rest comes at once after). */
#define SIMLINK_BATCH  64
/* SO_RCVBUF asked for; the kernel also caps the queue at
 * net.unix.max_dgram_qlen datagrams, beyond which simfs's sends fail and
 * it falls back to SIMW_RESCAN. */
#define SIMLINK_RCVBUF (1 << 20)

struct simlink;

/* Opens d->simq (STATE/sim-pending) and binds STATE/simfs.sock (a stale
 * one is replaced; mode 0600).  A socket that cannot be bound is logged
 * and vigild runs without simfs reports (simlink_fd -1).  sink is the
 * loop's and must outlive the simlink.  0 or -errno. */
int  simlink_open(struct vigild *d, const struct tracker_sink *sink, struct simlink **out);
int  simlink_fd(const struct simlink *l);
/* Loop thread, on readable: up to SIMLINK_BATCH datagrams. */
void simlink_process(struct simlink *l);
/* After the intake and the workers stopped: closes and removes the
 * socket, frees d->simq.  NULL-safe. */
void simlink_close(struct simlink *l);

#endif
