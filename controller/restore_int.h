/* restore_int.h — what restore.c (files) and restore_tree.c (trees) share. */
#ifndef VIGIL_RESTORE_INT_H
#define VIGIL_RESTORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/restore.h"

#define RESTORE_DIRS_MAX 4000000

struct dir_meta {
	char *rel;               /* "" is the root */
	uint32_t mode, uid, gid;
	int64_t mtime_ns;
	uint8_t *xattrs;         /* copy of the version's list, NULL when empty */
	uint32_t xattr_len;
};

struct restore {
	struct restore_src src;
	bool chown_too, progress;
	bool keep_privileged;    /* set-id bits, security.* and trusted.* (restore.h) */
	struct restore_stats st;
	char *target;            /* tree root as given (for messages) */
	int rootfd, parentfd;    /* tree root, and the directory holding it */
	struct dir_meta *dirs;
	size_t ndirs, capdirs;
	int64_t last_progress_ns;
};

/* Logs "TARGET[/rel]: what[: strerror(err)]" once (err 0: no errno text). */
void restore_say(struct restore *r, const char *rel, int err, const char *what);
/* A file or symlink named name in dirfd; counts a failure. */
int restore_put_item(struct restore *r, int dirfd, const char *name,
	     const struct vg_entry *e, const char *rel);
/* The progress line on stderr (when enabled); force: print now. */
void restore_progress(struct restore *r, bool force);
/* Owner (chown_too), xattrs (failures are warnings, counted), mode, mtime
 * of an open file or directory; rel names it in messages. */
int restore_set_meta_fd(struct restore *r, int fd, const struct vg_entry *e, const char *rel);

#endif
