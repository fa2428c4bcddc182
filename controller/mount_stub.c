/* mount_stub.c — placeholder for mountfs_run until the FUSE mount module
 * exists.  Weak, but note: in a static library the first member defining a
 * symbol wins, so the module that implements mountfs_run must replace
 * (delete) this file rather than rely on the weak attribute. */
#include "controller/mountfs.h"

#include "common/log.h"

__attribute__((weak)) int mountfs_run(struct mux *m, const char *device, const char *mountpoint,
				      int64_t at_ns, bool foreground)
{
	log_warnx("mount: not built");
	return 1;
}
