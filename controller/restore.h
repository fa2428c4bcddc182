/* restore.h — writing fetched versions into the local filesystem for `get`.
 *
 * Rules (DESIGN.md): DEST is created like cp does it; an existing file is
 * never overwritten unless it already holds the same version (same sha256:
 * then it is left exactly as it is, counted unchanged); content goes to
 * a temporary file in the destination directory, is checked against the
 * version's sha256 and size, fsynced, then renamed into place without
 * replacing anything
 * (RENAME_NOREPLACE) — so there is never a partial file under the final
 * name.  Only what the restore creates gets the stored metadata: mode and
 * mtime, owner too when chown_too (root), extended attributes (user.* and
 * ACLs; one that cannot be set is a warning) on files and directories;
 * symlinks come back as symlinks (owner and times), empty directories as
 * directories.  An existing identical file or symlink, and an existing
 * directory a tree merges into (DEST itself included), keep their own
 * mode, mtime, owner and xattrs.  What grants privilege is dropped unless
 * restore_keep_privileged() asks for it (DESIGN.md, `get --keep-privileged`):
 * the setuid and setgid bits (the sticky bit stays), and the security.*
 * (file capabilities, SELinux labels) and trusted.* attributes, which are
 * then set only as root.
 * Directory metadata is applied last, deepest first, so a read-only
 * directory can still be filled (directories are made 0700 meanwhile).
 *
 * Paths inside a tree come from the server: they are walked one component
 * at a time with O_NOFOLLOW below the root, so a symlink in the tree (or a
 * hostile listing) can never redirect a write outside DEST.
 *
 * Errors are logged here, once, with the local path; functions return
 * 0 or -errno.  A tree keeps going after a failed item; the caller counts. */
#ifndef VIGIL_RESTORE_H
#define VIGIL_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"

/* Receives the content in pieces; returns 0 or -errno to stop. */
typedef int (*restore_sink_fn)(void *sink_arg, const void *p, size_t n);

struct restore_src {
	/* Streams the content of version e (a regular file) into sink.
	 * Returns 0, or -errno with a one-line reason in err. */
	int (*fetch)(void *arg, const struct vg_entry *e, restore_sink_fn sink,
		     void *sink_arg, char *err, size_t errlen);
	void *arg;
};

struct restore_stats {
	uint64_t files;       /* regular files written */
	uint64_t bytes;       /* content bytes written */
	uint64_t unchanged;   /* already there with the same content */
	uint64_t links, dirs;
	uint64_t failed;
	uint64_t xattrs;        /* extended attributes set */
	uint64_t xattr_failed;  /* could not be set (warned, not a failure) */
	uint64_t setid_dropped; /* files and directories whose set-id bits were dropped */
	uint64_t xattr_dropped; /* security.* and trusted.* attributes not restored */
};

struct restore;

/* progress: a one-line counter on stderr (the caller checks isatty). */
struct restore *restore_new(const struct restore_src *src, bool chown_too, bool progress);
void restore_free(struct restore *r);     /* NULL-safe; closes everything */
/* keep: restore set-id bits and security.* / trusted.* attributes too
 * (default: dropped and counted in the stats). */
void restore_keep_privileged(struct restore *r, bool keep);

/* Where `get -o dest` puts an item called name: dest/name when dest is an
 * existing directory (following symlinks, like cp), else dest itself.
 * Returns 0 or -ENAMETOOLONG. */
int restore_target(const char *dest, const char *name, char *out, size_t cap);

/* One file or symlink at target (its directory must exist). */
int restore_one(struct restore *r, const char *target, const struct vg_entry *e);

/* A tree: target becomes a directory (created, or merged into when it is
 * one already); root (may be NULL) is its stored metadata, applied at
 * finish, and only when target was created here. */
int restore_tree_begin(struct restore *r, const char *target, const struct vg_entry *root);
/* An item below the root; rel is its path relative to the root ("a/b.txt"),
 * made of valid components (no "", ".", ".."), parents listed before their
 * children (a directory made implicitly as a parent and listed later is
 * taken as existing). */
int restore_tree_add(struct restore *r, const char *rel, const struct vg_entry *e);

/* The path of p relative to root, or NULL when p is not strictly below
 * root (both absolute; root "/" holds every other path). */
const char *restore_below(const char *root, const char *p);

/* Applies directory metadata deepest first, syncs directories, ends the
 * progress line.  Returns 0, or -EIO when any item failed. */
int restore_finish(struct restore *r);

const struct restore_stats *restore_stats(const struct restore *r);

#endif
