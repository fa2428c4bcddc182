/* simpending.h — SIM reports from vigil-simfs waiting for the server:
 * STATE/sim-pending, durable, so a report made while the server is away
 * (or vigild restarts) still arrives.
 *
 * The intake thread adds (simlink.c's SIMW_SIM); worker 0 sends the
 * oldest and removes it only after the server's MSG_OK.  At most
 * SIMPENDING_MAX entries: when full the oldest is dropped, as the newest
 * says more about the SIM in the device now.  Thread-safe (one mutex; the
 * file is rewritten whole under it, a few KiB at most).
 *
 * File: "VGSIMP01", u32 count, count * struct vg_sim as proto.c encodes it
 * (big-endian, common/wire.h); replaced atomically (common/fdio.h). */
#ifndef VIGIL_DAEMON_SIMPENDING_H
#define VIGIL_DAEMON_SIMPENDING_H

#include <stdint.h>

#include "common/proto.h"

#define SIMPENDING_FILE "sim-pending"
#define SIMPENDING_MAX  32

struct simpending;

/* Loads STATE/sim-pending (none: empty; a damaged one is logged and
 * replaced by what is added next).  0 or -errno. */
int  simpending_open(const char *statedir, struct simpending **out);
void simpending_free(struct simpending *p);    /* NULL-safe */

/* Appends s, durable before it returns.  0 or -errno (logged). */
int simpending_add(struct simpending *p, const struct vg_sim *s);
/* The oldest entry and an id for simpending_remove: 0, or -ENOENT. */
int simpending_first(struct simpending *p, struct vg_sim *out, uint64_t *id);
/* Removes entry id if it is still there (durable).  0 or -errno. */
int simpending_remove(struct simpending *p, uint64_t id);
size_t simpending_count(struct simpending *p);

#endif
