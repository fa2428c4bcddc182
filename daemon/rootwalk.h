/* rootwalk.h — opening a path only if it lies beneath a root.
 *
 * Capture, direct fetch and erase all reach files by absolute device path,
 * and every one of those paths must stay inside its watched or erase root
 * while other processes rename, swap and link things under our feet.  A
 * path string is therefore never handed to open(): it is resolved relative
 * to an fd on the root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS [| RESOLVE_NO_XDEV]), or, where the kernel has no
 * openat2 (ENOSYS, before 5.6), component by component with
 * O_NOFOLLOW | O_DIRECTORY opens relative to the previous directory fd.
 *
 * Any symlink on the way (the final component included) is -ELOOP; a ".."
 * component is refused (-EXDEV) before anything is opened; with RW_NO_XDEV
 * another mount (st_dev or mount id differs from the root's, bind mounts
 * included) is -EXDEV.  The final open is O_NONBLOCK so a FIFO never blocks
 * the caller; the flag is cleared again unless the caller asked for it. */
#ifndef VIGIL_DAEMON_ROOTWALK_H
#define VIGIL_DAEMON_ROOTWALK_H

#include <stdbool.h>

#define RW_NO_XDEV  0x01u    /* never cross into another mount */
#define RW_REG      0x02u    /* the result must be a regular file (-EINVAL) */
#define RW_DIR      0x04u    /* the result must be a directory (-ENOTDIR) */

/* 0 and *rel (the part of path below root, "" when path == root), or
 * -EXDEV when path does not lie lexically beneath root.  Both absolute. */
int rootwalk_rel(const char *root, const char *path, const char **rel);

/* An O_RDONLY | O_DIRECTORY fd on root (absolute), refusing a symlink in
 * any of its components (roots are canonical: config makes them so).
 * fd or -errno. */
int rootwalk_open_root(const char *root);

/* Opens rel (relative, no leading '/'; "" is the root itself) beneath
 * rootfd with oflags (O_CLOEXEC | O_NOFOLLOW | O_NOCTTY are added).
 * fd or -errno. */
int rootwalk_openat(int rootfd, const char *rel, int oflags, unsigned flags);

/* rootwalk_open_root + rootwalk_rel + rootwalk_openat in one call. */
int rootwalk_open(const char *root, const char *path, int oflags, unsigned flags);

/* An O_PATH | O_DIRECTORY fd on the directory holding path's last
 * component, reached as rootwalk_openat does; *leaf points into path at
 * that component.  path == root is -EINVAL.  fd or -errno. */
int rootwalk_parent(const char *root, const char *path, unsigned flags, const char **leaf);

/* Test hook: true makes every walk take the component-by-component path,
 * as on a kernel without openat2. */
void rootwalk_force_fallback(bool on);

#endif
