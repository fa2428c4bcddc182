/* reporter.h — vigil-simfs's reports to vigild (common/simwire.h): one
 * datagram per change to STATE/simfs.sock, sent without ever waiting.
 *
 * Any FUSE thread may report; a datagram that cannot go (vigild down, its
 * buffer full) is dropped and marks the mount for a SIMW_RESCAN, which
 * the poller thread sends at its next wake through reporter_retry(), as it
 * resends a SIM state that could not go.  Paths given here are the paths
 * inside the mount ("/a/b"); reports carry mountpoint + path.  Without
 * --state (a NULL reporter) every call does nothing. */
#ifndef VIGIL_FUSE_REPORTER_H
#define VIGIL_FUSE_REPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"

struct reporter;

/* statedir and mountpoint absolute and canonical.  0, or -errno with a
 * one-line reason in err. */
int reporter_new(struct reporter **out, const char *statedir, const char *mountpoint,
		 char *err, size_t errlen);
void reporter_free(struct reporter *r);               /* NULL-safe */

/* Adds the mountpoint to STATE/mounts and tells vigild (SIMW_MOUNT).
 * 0 or -errno (err says why).  At exit, reporter_unmounted tells vigild the
 * mount went; the line stays, so vigild takes what it shipped below the
 * mountpoint for out of sight, not deleted (daemon/scan.h), until simfs
 * mounts there again.  To stop backing a mountpoint up for good, remove its
 * line from STATE/mounts. */
int reporter_register(struct reporter *r, char *err, size_t errlen);
void reporter_unmounted(struct reporter *r);

void reporter_changed(struct reporter *r, const char *path);
/* len may run to TRK_EOF (bpf/events.h): the rest of the file, a cut. */
void reporter_ranges(struct reporter *r, const char *path, uint64_t off, uint64_t len);
void reporter_closed(struct reporter *r, const char *path);
/* The SIM state; kept and sent again by reporter_retry while it could not go. */
void reporter_sim(struct reporter *r, const struct vg_sim *sim);
/* The poller's wake: SIMW_RESCAN if reports were lost, a SIM state due. */
void reporter_retry(struct reporter *r);

#endif
