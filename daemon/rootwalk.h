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
#include <stddef.h>
#include <sys/stat.h>

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

/* rootwalk_openat that also gives the result's stat (taken for the type
 * checks anyway: the caller needs no fstat of its own). */
int rootwalk_openat_st(int rootfd, const char *rel, int oflags, unsigned flags, struct stat *st);

/* lstat of rel beneath rootfd, reached as rootwalk_openat does (a symlink
 * on the way is -ELOOP, the final component is not followed: a symlink
 * there is its own stat); "" is the root itself.  0 or -errno. */
int rootwalk_lstatat(int rootfd, const char *rel, unsigned flags, struct stat *st);

/* The watched roots' fds held for one walk (a shipper's batch of files,
 * or one item): each root is opened (rootwalk_open_root) the first time
 * the walk needs it, rootwalk_roots_end closes them all, so a root that
 * was renamed or replaced between walks is opened afresh by the next
 * one.  At most n (<= ROOTWALK_ROOTS_MAX) fds are open at any time. */
#define ROOTWALK_ROOTS_MAX 64
struct rootwalk_roots {
	char *const *roots;          /* canonical absolute paths (config) */
	size_t n;
	int fd[ROOTWALK_ROOTS_MAX];  /* -1: not open in this walk */
	unsigned long opens;         /* roots opened since init (tests) */
};
/* roots[0..n) (n is cut to ROOTWALK_ROOTS_MAX); nothing opened yet. */
void rootwalk_roots_init(struct rootwalk_roots *r, char *const *roots, size_t n);
/* The fd on roots[i] for this walk: fd or -errno. */
int  rootwalk_roots_fd(struct rootwalk_roots *r, size_t i);
/* The walk is over: every fd closed. */
void rootwalk_roots_end(struct rootwalk_roots *r);

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
