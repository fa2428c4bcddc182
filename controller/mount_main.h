/* mount_main.h — the entry `vigil mount` uses: like mountfs_run()
 * (mountfs.h), but given the whole session so the mount can connect again
 * after daemonizing and whenever the server comes back.
 *
 * c->b must be loaded and c->m connected (ctl_connect): the mount checks the
 * device with that connection, then frees it (c->m = NULL) before mounting
 * and forking, and makes its own connections from c->b and c->server. */
#ifndef VIGIL_MOUNT_MAIN_H
#define VIGIL_MOUNT_MAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/ctl.h"

int mountfs_main(struct ctl *c, const char *device, const char *mountpoint,
		 int64_t at_ns, bool foreground);

#endif
