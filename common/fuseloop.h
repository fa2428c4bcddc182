/* fuseloop.h — the multi-threaded FUSE loop both of vigil's filesystems run
 * (`vigil mount`, vigil-simfs): at most `threads` workers, half of them kept
 * idle, no cloned descriptors. */
#ifndef VIGIL_FUSELOOP_H
#define VIGIL_FUSELOOP_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse.h>

/* Serves until unmounted or signalled: fuse_loop_mt's result (0, a signal
 * number > 0 that ended it, or < 0), or -ENOMEM. */
int fuseloop_run(struct fuse *f, unsigned threads);

#endif
