/* fdio.h — whole-buffer reads and writes on file descriptors, retried on
 * EINTR and short counts, and the one way vigil reads or replaces a small
 * file (config, keys, bundles, records, status).  Shared so no part keeps its own copy. */
#ifndef VIGIL_FDIO_H
#define VIGIL_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all n bytes.  Returns 0 or -errno. */
int fd_write_all(int fd, const void *p, size_t n);
/* Writes all n bytes at offset off (pwrite).  Returns 0, -errno, or -EIO
 * when the file takes no byte. */
int fd_pwrite_all(int fd, const void *p, size_t n, uint64_t off);

/* Reads exactly n bytes at offset off (pread).  Returns 0, -errno, or
 * -ENODATA when the file ends first (it is shorter than off + n). */
int fd_pread_all(int fd, void *p, size_t n, uint64_t off);

/* file_write_atomic flags. */
#define FILE_NOREPLACE 0x1   /* fail with -EEXIST if path already exists */
#define FILE_NOSYNC    0x2   /* a view rewritten often (status.json): skip both
                              * fsyncs; readers still never see a torn file */

/* Replaces path with the n bytes at p: a temp file beside it (mode, exactly,
 * regardless of umask), fsync, rename over path, fsync of the directory.
 * After a crash path holds either the old or the new bytes.  On failure
 * path is untouched and the temp file removed.  Returns 0 or -errno. */
int file_write_atomic(const char *path, const void *p, size_t n, mode_t mode,
		      unsigned flags);

struct buf;

/* Reads the regular file path (relative to dirfd, or AT_FDCWD) whole and
 * appends it to b, whose max bounds it.  Opened O_NONBLOCK so a FIFO
 * planted there cannot block, plus oflags (e.g. O_NOFOLLOW).  Returns 0,
 * -ENOENT, -EINVAL when it is not a regular file, -EMSGSIZE when it is
 * larger than b allows, or -errno. */
int file_read_all(int dirfd, const char *path, int oflags, struct buf *b);

/* renameat2(RENAME_NOREPLACE) within one directory, or link+unlink where the
 * filesystem lacks it.  Returns 0 or -errno (-EEXIST if to exists). */
int rename_noreplace(int dirfd, const char *from, const char *to);

/* fsync of the directory holding path (makes a rename or create durable). */
int fsync_parent(const char *path);

#endif
