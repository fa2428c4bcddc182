/* conn.h — the mount's link to the server: one mux shared by every
 * FUSE thread, replaced by a new connection when it dies, and the
 * requests the mount makes (LS, LOG, STATUS, READ, through common/rpc.h),
 * each reply item bounded by a timeout.
 *
 * A request that finds the connection dead reconnects first (at most one
 * attempt per MCONN_RETRY_MS, so a server that is down costs one refused
 * connect per second, not one per read).  A request that gets nothing for
 * MCONN_TIMEOUT_MS shuts that connection down (the next one reconnects)
 * and fails with -EIO, as do all requests while the server is unreachable. */
#ifndef VIGIL_MOUNT_CONN_H
#define VIGIL_MOUNT_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/bundle.h"
#include "common/mux.h"
#include "common/proto.h"

#define MCONN_TIMEOUT_MS  10000
#define MCONN_CONNECT_MS  5000
#define MCONN_RETRY_MS    1000

struct mconn;

/* b and server (NULL: b->server) must outlive the mconn.  borrowed, when not
 * NULL, is used until it dies and is never freed here; with b == NULL there
 * is no reconnection. */
struct mconn *mconn_new(const struct bundle *b, const char *server, struct mux *borrowed);
void mconn_free(struct mconn *mc);   /* NULL-safe; no request may be running */

/* Per entry of a listing; return 0 to go on, -errno to stop. */
typedef int (*mconn_entry_fn)(void *arg, const struct vg_entry *e);

/* MSG_CTL_LS (one level) and MSG_CTL_LOG.  0, or -errno: the server's
 * error code (ENOENT...), -EIO when the server is unreachable or silent,
 * -EBADMSG for a malformed reply, or the callback's error. */
int mconn_ls(struct mconn *mc, const char *dev, const char *path, int64_t at,
	     mconn_entry_fn fn, void *arg);
int mconn_log(struct mconn *mc, const char *dev, const char *path, mconn_entry_fn fn, void *arg);
/* MSG_CTL_STATUS: 1 when some version of dev carries extended
 * attributes, 0 when none does, or -errno as above. */
int mconn_has_xattrs(struct mconn *mc, const char *dev);
/* MSG_CTL_READ of [off, off+len) of one version into dst.  Returns the
 * number of bytes (less than len only at the end of the content) or -errno. */
ssize_t mconn_read(struct mconn *mc, const char *dev, const char *path, uint64_t version,
		   uint64_t off, size_t len, uint8_t *dst);
/* The same, one request for [off, off + the iov's total) into the iov's
 * buffers in turn (several cache blocks); full(arg, i) (may be NULL) is
 * called as soon as iov[i] is filled, so its block can be used while the
 * rest arrives. */
ssize_t mconn_readv(struct mconn *mc, const char *dev, const char *path, uint64_t version,
		    uint64_t off, const struct iovec *iov, int iovcnt,
		    void (*full)(void *arg, int i), void *arg);

#endif
