/* fetchserve.h — the device's side of a direct fetch (`vigil get
 * --direct`): a checked fetch command names an absolute path; vigild serves
 * it only when it lies under a watched root, reached with rootwalk (no
 * symlink followed on the way, no other mount crossed), and streams it on
 * MSG_DEV_FETCH {id}: per item an ENTRY (a regular file's carries its size
 * and the sha256 of the bytes that follow), then the content as DATA; a
 * directory's items follow it, depth first; END.  Special files are not
 * sent.  A file that changes between hashing and sending makes the
 * controller's check fail; it never gets bytes it cannot verify. */
#ifndef VIGIL_DAEMON_FETCHSERVE_H
#define VIGIL_DAEMON_FETCHSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/cmdlink.h"

#define FETCH_DEPTH_MAX 256   /* directory levels below the fetched path */
#define FETCH_REPLY_MS  60000

struct fetch_result {
	uint64_t files, bytes;     /* regular files and content bytes sent */
	uint64_t dirs, links;
};

/* Serves path for command id.  0, or -errno with a one-line reason in why
 * (-EACCES: not under a watched root; -ELOOP: a symlink on the way). */
int fetchserve(struct cmdlink *l, uint64_t id, const char *path, char *const *roots,
	       size_t nroots, struct fetch_result *res, char *why, size_t whylen);

#endif
