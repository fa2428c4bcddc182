/* trkpath.h — path helpers shared by the bpf and fanotify trackers:
 * rebuilding a path from the kernel's leaf-first component list, lexical
 * normalisation of a syscall's path against its base directory, and the
 * "which watched root holds this path" test. */
#ifndef VIGIL_DAEMON_TRKPATH_H
#define VIGIL_DAEMON_TRKPATH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* base + "/" + components of names (leaf first, each NUL-terminated, nlen
 * bytes in all).  0 or -ENAMETOOLONG / -EINVAL (malformed names). */
int trkpath_from_names(char *out, size_t cap, const char *base, const char *names, size_t nlen);

/* Lexically resolves rel against base (rel absolute: base ignored): drops
 * "." and empty components, applies "..".  0 or -ENAMETOOLONG. */
int trkpath_normalize(char *out, size_t cap, const char *base, const char *rel);

/* Index of the root (canonical absolute paths) holding path, or -1.  A path
 * equal to a root counts. */
int trkpath_root_of(char *const roots[], size_t nroots, const char *path);

/* The directory part of path into out ("/" for "/x"). */
void trkpath_dirname(char *out, size_t cap, const char *path);

/* Kernel dev_t (MAJOR << 20 | MINOR) of a stat st_dev. */
uint64_t trkpath_kdev(dev_t d);

#endif
