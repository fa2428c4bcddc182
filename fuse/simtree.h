/* simtree.h — the read-only sim/ tree of the mount (simtree.c), served
 * from the store (simstore.h) and never from the modem, and the synthetic
 * root of a mount without --backing.  name is the path below sim/ ("" for
 * sim/ itself). */
#ifndef VIGIL_FUSE_SIMTREE_H
#define VIGIL_FUSE_SIMTREE_H

#include "fuse/simfs.h"

int simtree_getattr(struct simfs *fs, const char *name, struct stat *st);
int simtree_open(struct simfs *fs, const char *name, struct fuse_file_info *fi);
int simtree_read(char *buf, size_t size, off_t off, struct fuse_file_info *fi);
void simtree_release(struct fuse_file_info *fi);
int simtree_opendir(struct simfs *fs, const char *name);
int simtree_readdir(struct simfs *fs, const char *name, void *buf, fuse_fill_dir_t fill);
/* The root without --backing: a 0555 directory holding only sim/. */
void simtree_root_attr(struct simfs *fs, struct stat *st);

#endif
