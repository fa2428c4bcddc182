/* simapply.h — what a modem read changes: the snapshot rendered into the
 * sim/ files (simdoc.h) and swapped into the store (simstore.h), each
 * changed file reported to vigild, and the SIM state reported when it
 * differs from the last one (simapply.c).  Used by the poller thread only. */
#ifndef VIGIL_FUSE_SIMAPPLY_H
#define VIGIL_FUSE_SIMAPPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"
#include "fuse/reporter.h"
#include "fuse/sim.h"
#include "fuse/simstore.h"

#define SIMAPPLY_DOC_MAX  (4u << 20)   /* bytes of one rendered file at most */

struct simapply {
	struct simstore *store;
	struct reporter *rep;            /* may be NULL */
	char *const *allow;              /* --allow-iccid, nallow of them */
	size_t nallow;
	bool have_id;
	struct sim_identity id;          /* the identity shown now ... */
	int64_t id_ns;                   /* ... and when it was first read */
	bool sent;
	struct vg_sim last;              /* the SIM state last reported */
};

void simapply_init(struct simapply *a, struct simstore *store, struct reporter *rep,
		   char *const *allow, size_t nallow);
/* Applies one successful read.  0, or -errno when a file could not be
 * rendered (that file keeps its previous content). */
int simapply_snapshot(struct simapply *a, const struct sim_snapshot *s, int64_t now_ns);

#endif
