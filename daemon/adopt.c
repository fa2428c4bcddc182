/* adopt.c — is the server's latest version of a path the one vigild has
 * (see adopt.h)? */
#include "daemon/adopt.h"

#include <string.h>


bool adopt_same_content(const struct vg_entry *srv, const struct vg_entry *loc)
{
	static const uint8_t zero[32];

	if (srv->type != loc->type)
		return false;
	switch (srv->type) {
	case VG_FILE:
		return srv->size == loc->size && !memcmp(srv->tree_root, loc->tree_root, 32) &&
		       (!memcmp(srv->sha256, zero, 32) || !memcmp(srv->sha256, loc->sha256, 32));
	case VG_SYMLINK:
		return strcmp(srv->link, loc->link) == 0;
	case VG_DIR:
		return true;
	default:
		return false;
	}
}

bool adopt_same_meta(const struct vg_entry *srv, const struct vg_entry *loc)
{
	return (srv->mode & 07777) == (loc->mode & 07777) && srv->uid == loc->uid &&
	       srv->gid == loc->gid && srv->mtime_ns == loc->mtime_ns &&
	       srv->xattr_len == loc->xattr_len && srv->xattr_len <= VG_XATTR_MAX &&
	       !memcmp(srv->xattrs, loc->xattrs, srv->xattr_len);
}

enum adopt_verdict adopt_compare(const struct vg_entry *srv, const struct vg_entry *loc)
{
	if (srv->deleted || srv->type != loc->type || !srv->version)
		return ADOPT_NONE;
	if (!adopt_same_content(srv, loc))
		return srv->type == VG_FILE ? ADOPT_CONTENT : ADOPT_NONE;
	return adopt_same_meta(srv, loc) ? ADOPT_SAME : ADOPT_META;
}
