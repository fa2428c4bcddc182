/* adopt.h — deciding whether a path's version already on the server can be
 * taken over instead of uploaded again (a lost or new state directory, a
 * stale base after ESTALE).
 *
 * Pure functions: the server's latest entry (MSG_DEV_LATEST) against the
 * entry vigild would send now (content hashed locally, metadata from lstat
 * and the xattrs). */
#ifndef VIGIL_DAEMON_ADOPT_H
#define VIGIL_DAEMON_ADOPT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/proto.h"

enum adopt_verdict {
	ADOPT_NONE = 0,   /* no live version of this type: ship as new */
	ADOPT_SAME,       /* same content and metadata: record it, send nothing */
	ADOPT_META,       /* same content, other metadata: PUT_META on it */
	ADOPT_CONTENT,    /* a file with other content: a delta against it */
};

/* Same content: files by size, chunk-tree root and sha256 (a server
 * sha256 of zeros is still pending: the root decides), symlinks by target,
 * directories always. */
bool adopt_same_content(const struct vg_entry *srv, const struct vg_entry *loc);
/* Same metadata: permission bits, owner, mtime, xattrs (byte for byte). */
bool adopt_same_meta(const struct vg_entry *srv, const struct vg_entry *loc);
enum adopt_verdict adopt_compare(const struct vg_entry *srv, const struct vg_entry *loc);

#endif
