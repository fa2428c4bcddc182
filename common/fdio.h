/* fdio.h — whole-buffer reads and writes on file descriptors, retried on
 * EINTR and short counts.  Shared so no part keeps its own copy. */
#ifndef VIGIL_FDIO_H
#define VIGIL_FDIO_H

#include <stddef.h>

/* Writes all n bytes.  Returns 0 or -errno. */
int fd_write_all(int fd, const void *p, size_t n);

#endif
