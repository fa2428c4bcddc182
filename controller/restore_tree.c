/* restore_tree.c — restoring a directory tree: every path is walked below
 * the root one component at a time with O_NOFOLLOW, directories are made
 * 0700 while being filled and get their own metadata last, deepest first. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "controller/restore_int.h"

static int remember_dir(struct restore *r, const char *rel, const struct vg_entry *e)
{
	struct dir_meta *d;

	if (r->ndirs == r->capdirs) {
		size_t ncap = r->capdirs ? r->capdirs * 2 : 64;

		if (r->capdirs >= RESTORE_DIRS_MAX)
			return -ENOMEM;
		if (ncap > RESTORE_DIRS_MAX)   /* the last step up stops at the limit */
			ncap = RESTORE_DIRS_MAX;
		if (!(d = realloc(r->dirs, ncap * sizeof(*d))))
			return -ENOMEM;
		r->dirs = d;
		r->capdirs = ncap;
	}
	d = &r->dirs[r->ndirs];
	if (!(d->rel = strdup(rel)))
		return -ENOMEM;
	d->xattrs = NULL;
	d->xattr_len = 0;
	if (e->xattr_len > 0 && e->xattr_len <= VG_XATTR_MAX) {
		if (!(d->xattrs = malloc(e->xattr_len))) {
			free(d->rel);
			return -ENOMEM;
		}
		memcpy(d->xattrs, e->xattrs, e->xattr_len);
		d->xattr_len = e->xattr_len;
	}
	d->mode = e->mode;
	d->uid = e->uid;
	d->gid = e->gid;
	d->mtime_ns = e->mtime_ns;
	r->ndirs++;
	return 0;
}

/* Opens directory name below dirfd, never through a symlink; creates it
 * (mode `mode`, before umask) when create and it is missing, and then sets
 * *made (may be NULL). */
static int open_subdir(int dirfd, const char *name, bool create, mode_t mode, bool *made)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd, name, mode) == 0) {
			if (made)
				*made = true;
		} else if (errno != EEXIST) {
			return -errno;
		}
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

/* Walks rel's parent directories below the root (creating missing ones);
 * returns an fd of the parent and points *base at the last component. */
static int open_parent(struct restore *r, const char *rel, bool create, const char **base)
{
	char comp[NAME_MAX + 1];
	const char *p = rel, *slash;
	int fd = dup(r->rootfd), nfd;

	if (fd < 0)
		return -errno;
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);

		if (n == 0 || n > NAME_MAX) {
			close(fd);
			return -EINVAL;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		nfd = open_subdir(fd, comp, create, 0777, NULL);
		close(fd);
		if (nfd < 0)
			return nfd;
		fd = nfd;
		p = slash + 1;
	}
	if (!*p || strlen(p) > NAME_MAX) {
		close(fd);
		return -EINVAL;
	}
	*base = p;
	return fd;
}

int restore_tree_begin(struct restore *r, const char *target, const struct vg_entry *root)
{
	struct stat st;
	bool made;
	int err;

	free(r->target);
	if (!(r->target = strdup(target)))
		return -ENOMEM;
	made = mkdir(target, 0700) == 0;
	if (!made && errno != EEXIST) {
		err = -errno;
		restore_say(r, NULL, err, "cannot create directory");
		return err;
	}
	if (stat(target, &st) < 0 || !S_ISDIR(st.st_mode)) {
		restore_say(r, NULL, 0, "exists and is not a directory; not overwritten");
		return -EEXIST;
	}
	if ((r->rootfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = -errno;
		restore_say(r, NULL, err, "cannot open directory");
		return err;
	}
	r->parentfd = openat(r->rootfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r->st.dirs++;
	/* an existing directory merged into keeps its own metadata */
	if (made && root && (err = remember_dir(r, "", root)) < 0)
		return err;
	return 0;
}

static int tree_dir(struct restore *r, int dirfd, const char *name, const char *rel,
		    const struct vg_entry *e)
{
	bool made = false;
	int fd = open_subdir(dirfd, name, true, 0700, &made), err;

	if (fd < 0) {
		restore_say(r, rel, fd == -ENOTDIR || fd == -ELOOP ? 0 : fd,
		    fd == -ENOTDIR || fd == -ELOOP ? "exists and is not a directory" :
		    "cannot create directory");
		return fd;
	}
	close(fd);
	/* only a directory made here gets the stored metadata; listings come
	 * parents first, so open_parent never made one that is listed later */
	if (made && (err = remember_dir(r, rel, e)) < 0) {
		restore_say(r, rel, err, "too many directories");
		return err;
	}
	r->st.dirs++;
	return 0;
}

int restore_tree_add(struct restore *r, const char *rel, const struct vg_entry *e)
{
	const char *base;
	int dirfd, err;

	if (r->rootfd < 0)
		return -EBADF;
	dirfd = open_parent(r, rel, true, &base);
	if (dirfd < 0) {
		restore_say(r, rel, dirfd, "cannot reach the parent directory");
		r->st.failed++;
		return dirfd;
	}
	if (e->type == VG_DIR) {
		err = tree_dir(r, dirfd, base, rel, e);
		if (err < 0)
			r->st.failed++;
	} else {
		err = restore_put_item(r, dirfd, base, e, rel);
	}
	close(dirfd);
	return err;
}

static size_t depth(const char *rel)
{
	size_t d = *rel ? 1 : 0;

	for (; *rel; rel++)
		d += *rel == '/';
	return d;
}

static int by_depth_desc(const void *a, const void *b)
{
	size_t da = depth(((const struct dir_meta *)a)->rel);
	size_t db = depth(((const struct dir_meta *)b)->rel);

	return da < db ? 1 : da > db ? -1 : 0;
}

static int finish_dir(struct restore *r, const struct dir_meta *d)
{
	struct vg_entry *e = calloc(1, sizeof(*e));
	const char *base;
	int pfd, fd, err;

	if (!e)
		return -ENOMEM;
	e->type = VG_DIR;
	e->mode = d->mode;
	e->uid = d->uid;
	e->gid = d->gid;
	e->mtime_ns = d->mtime_ns;
	if (d->xattr_len)
		memcpy(e->xattrs, d->xattrs, d->xattr_len);
	e->xattr_len = d->xattr_len;
	if (!*d->rel) {
		fd = dup(r->rootfd);
	} else {
		pfd = open_parent(r, d->rel, false, &base);
		fd = pfd < 0 ? pfd : open_subdir(pfd, base, false, 0, NULL);
		if (pfd >= 0)
			close(pfd);
	}
	if (fd < 0) {
		free(e);
		return fd < -1 ? fd : -errno;
	}
	err = restore_set_meta_fd(r, fd, e, d->rel);
	fsync(fd);
	close(fd);
	free(e);
	return err;
}

int restore_finish(struct restore *r)
{
	size_t i;
	int err;

	if (r->ndirs)
		qsort(r->dirs, r->ndirs, sizeof(*r->dirs), by_depth_desc);
	for (i = 0; i < r->ndirs; i++) {
		if ((err = finish_dir(r, &r->dirs[i])) < 0) {
			restore_say(r, r->dirs[i].rel, err, "cannot set directory metadata");
			r->st.failed++;
		}
	}
	if (r->parentfd >= 0)
		fsync(r->parentfd);
	if (r->progress) {
		restore_progress(r, true);
		fputc('\n', stderr);
	}
	if (r->st.setid_dropped || r->st.xattr_dropped)
		log_info("left out (--keep-privileged restores them): setuid/setgid bits on %llu "
			 "files or directories, %llu security.*/trusted.* attributes",
			 (unsigned long long)r->st.setid_dropped,
			 (unsigned long long)r->st.xattr_dropped);
	return r->st.failed ? -EIO : 0;
}

const char *restore_below(const char *root, const char *p)
{
	size_t n = strlen(root);

	if (n == 1)
		return p[0] == '/' && p[1] ? p + 1 : NULL;
	if (strncmp(p, root, n) != 0 || p[n] != '/' || !p[n + 1])
		return NULL;
	return p + n + 1;
}
