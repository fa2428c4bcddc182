/* xattrs.h — a path's extended attributes into a new version's entry.
 *
 * Read with llistxattr/lgetxattr (a symlink's own, never its target's),
 * encoded as common/xattrs.h describes, sorted by name.  Attributes that
 * would take the list past VG_XATTR_MAX are left out: one warning per
 * call, and the number left out is returned through *skipped. */
#ifndef VIGIL_DAEMON_XATTRS_H
#define VIGIL_DAEMON_XATTRS_H

#include <stdbool.h>

#include "common/proto.h"

/* Fills e->xattrs/e->xattr_len from path.  0 (also when the filesystem
 * has no xattrs), or -errno (-ENOENT: path gone); e->xattr_len is 0 on
 * error.  skipped may be NULL. */
int xattrs_fill(struct vg_entry *e, const char *path, unsigned *skipped);
/* The same from fd, a file open on what path names (fd < 0: path);
 * path only names it in warnings then. */
int xattrs_fill_fd(struct vg_entry *e, int fd, const char *path, unsigned *skipped);

/* true when path has at least one xattr (or they cannot be listed). */
bool xattrs_present(const char *path);

#endif
