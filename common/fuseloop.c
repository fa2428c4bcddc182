/* fuseloop.c — the shared FUSE loop (fuseloop.h). */
#include "common/fuseloop.h"

#include <errno.h>

int fuseloop_run(struct fuse *f, unsigned threads)
{
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	int r;

	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_max_threads(lc, threads);
	fuse_loop_cfg_set_idle_threads(lc, threads / 2);
	fuse_loop_cfg_set_clone_fd(lc, 0);
	r = fuse_loop_mt(f, lc);
	fuse_loop_cfg_destroy(lc);
	return r;
}
