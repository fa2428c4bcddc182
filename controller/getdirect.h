/* getdirect.h — receiving a direct fetch (`vigil get --direct`) into DEST.
 *
 * s is the controller's MSG_CTL_FETCH stream after MSG_CMD_QUEUED: the
 * server relays the device's items on it (docs/commands.md).  DEST follows
 * the stored-copy `get`'s rules (restore.h, keep_privileged as
 * --keep-privileged); dev names the device's "/".
 * Returns 0, or -errno after logging why. */
#ifndef VIGIL_GETDIRECT_H
#define VIGIL_GETDIRECT_H

#include <stdbool.h>

#include "controller/ctl.h"

int getdirect_receive(struct ctl *c, struct mux_stream *s, const char *dev, const char *dest,
		      bool keep_privileged);

#endif
