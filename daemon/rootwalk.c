/* rootwalk.c — root-confined opens: openat2 where the kernel has it, a
 * component-by-component O_NOFOLLOW walk where it does not. */
#include "daemon/rootwalk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/mountinfo.h"

/* Flags openat2 accepts together with O_PATH (anything else is -EINVAL). */
#define PATH_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define OPENAT2_RETRIES 8   /* -EAGAIN: a rename or mount raced the walk */

static atomic_bool force_fallback;   /* test hook */
static atomic_bool no_openat2;       /* the kernel answered ENOSYS once */

void rootwalk_force_fallback(bool on)
{
	atomic_store(&force_fallback, on);
}

int rootwalk_rel(const char *root, const char *path, const char **rel)
{
	size_t n = strlen(root);

	if (root[0] != '/' || path[0] != '/')
		return -EXDEV;
	if (n == 1) {
		*rel = path + 1;
		return 0;
	}
	if (strncmp(path, root, n) != 0 || (path[n] && path[n] != '/'))
		return -EXDEV;
	*rel = path[n] ? path + n + 1 : "";
	return 0;
}

static bool has_dotdot(const char *rel)
{
	for (const char *p = rel; *p;) {
		size_t l = strcspn(p, "/");

		if (l == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += l;
		p += *p == '/';
	}
	return false;
}

/* Mount identity of an fd: st_dev and the mount id (statx, or fdinfo on
 * kernels without STATX_MNT_ID; mount_id_of).  A bind mount of the same
 * filesystem shares st_dev, only the mount id tells it apart: where none
 * can be had, -ENOTSUP and the open is refused. */
struct mntid { dev_t dev; uint64_t mnt; };

static int mnt_of(int fd, struct mntid *m)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	m->dev = st.st_dev;
	return mount_id_of(fd, &m->mnt);
}

static int same_mount(int a, int b)
{
	struct mntid x, y;
	int rc;

	if ((rc = mnt_of(a, &x)) < 0 || (rc = mnt_of(b, &y)) < 0)
		return rc;
	return x.dev == y.dev && x.mnt == y.mnt ? 0 : -EXDEV;
}

static int via_openat2(int rootfd, const char *rel, int oflags, unsigned flags)
{
	struct open_how how = {
		.flags = (uint64_t)oflags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   ((flags & RW_NO_XDEV) ? RESOLVE_NO_XDEV : 0),
	};

	for (int i = 0; i < OPENAT2_RETRIES; i++) {
		long fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

/* After a failed O_NOFOLLOW open: a symlink is -ELOOP whatever the kernel
 * said (O_DIRECTORY makes it -ENOTDIR). */
static int why_failed(int dirfd, const char *name, int err)
{
	struct stat st;

	if (err == -ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return -ELOOP;
	return err;
}

/* O_NOFOLLOW | O_DIRECTORY on a final symlink is -ENOTDIR; say -ELOOP
 * for it as for any other symlink on the way. */
static int enotdir_why(int rootfd, const char *rel, unsigned flags)
{
	struct stat st;
	int fd = via_openat2(rootfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC, flags), rc = -ENOTDIR;

	if (fd < 0)
		return fd == -ELOOP ? fd : -ENOTDIR;
	if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode))
		rc = -ELOOP;
	close(fd);
	return rc;
}

/* One component below dirfd (consumed: closed on every path).  fd or -errno. */
static int step(int rootfd, int dirfd, const char *name, int oflags, unsigned flags)
{
	int fd = openat(dirfd, name, oflags), rc;

	if (fd < 0) {
		rc = why_failed(dirfd, name, -errno);
		close(dirfd);
		return rc;
	}
	close(dirfd);
	if ((flags & RW_NO_XDEV) && (rc = same_mount(rootfd, fd)) < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int via_components(int rootfd, const char *rel, int oflags, unsigned flags)
{
	char buf[PATH_MAX], *p = buf, *slash;
	int dfd;

	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, rel, strlen(rel) + 1);
	if ((dfd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	while ((slash = strchr(p, '/'))) {
		*slash = '\0';
		if (*p && strcmp(p, ".") != 0 &&
		    (dfd = step(rootfd, dfd, p, PATH_FLAGS, flags)) < 0)
			return dfd;
		p = slash + 1;
	}
	return step(rootfd, dfd, *p ? p : ".", oflags, flags);
}

/* Type checks on the result (its stat into *st), and O_NONBLOCK off again
 * unless asked for: F_SETFL takes the status flags asked for without
 * O_NONBLOCK (it ignores the access mode and the open-time flags), so no
 * F_GETFL is needed. */
static int finish(int fd, int oflags, bool want_nonblock, unsigned flags, struct stat *st)
{
	int rc = 0;

	if (fstat(fd, st) < 0)
		rc = -errno;
	else if (S_ISLNK(st->st_mode))
		rc = -ELOOP;
	else if ((flags & RW_REG) && !S_ISREG(st->st_mode))
		rc = -EINVAL;
	else if ((flags & RW_DIR) && !S_ISDIR(st->st_mode))
		rc = -ENOTDIR;
	else if (!(oflags & O_PATH) && !want_nonblock && fcntl(fd, F_SETFL, oflags & ~O_NONBLOCK) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int rootwalk_openat_st(int rootfd, const char *rel, int oflags, unsigned flags, struct stat *st)
{
	bool want_nonblock = oflags & O_NONBLOCK;
	int fd = -ENOSYS;

	if (rel[0] == '/')
		return -EINVAL;
	if (has_dotdot(rel))
		return -EXDEV;
	oflags |= O_CLOEXEC | O_NOFOLLOW;
	if (!(oflags & O_PATH))
		oflags |= O_NOCTTY | O_NONBLOCK;   /* a FIFO must never block us */
	if (!atomic_load(&force_fallback) && !atomic_load(&no_openat2)) {
		fd = via_openat2(rootfd, rel, oflags, flags);
		if (fd == -ENOSYS)
			atomic_store(&no_openat2, true);
		if (fd == -ENOTDIR && (oflags & O_DIRECTORY))
			fd = enotdir_why(rootfd, rel, flags);
	}
	if (fd == -ENOSYS)
		fd = via_components(rootfd, rel, oflags, flags);
	if (fd < 0)
		return fd;
	return finish(fd, oflags, want_nonblock, flags, st);
}

int rootwalk_openat(int rootfd, const char *rel, int oflags, unsigned flags)
{
	struct stat st;

	return rootwalk_openat_st(rootfd, rel, oflags, flags, &st);
}

int rootwalk_lstatat(int rootfd, const char *rel, unsigned flags, struct stat *st)
{
	int fd = -ENOSYS, rc = 0;

	if (rel[0] == '/')
		return -EINVAL;
	if (has_dotdot(rel))
		return -EXDEV;
	if (!*rel)
		return fstat(rootfd, st) < 0 ? -errno : 0;
	/* O_PATH | O_NOFOLLOW: a final symlink is opened itself (openat2
	 * allows that even with RESOLVE_NO_SYMLINKS), one on the way is -ELOOP */
	if (!atomic_load(&force_fallback) && !atomic_load(&no_openat2)) {
		fd = via_openat2(rootfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC, flags);
		if (fd == -ENOSYS)
			atomic_store(&no_openat2, true);
	}
	if (fd == -ENOSYS)
		fd = via_components(rootfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC, flags);
	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int rootwalk_open_root(const char *root)
{
	int s, fd;

	if (root[0] != '/')
		return -EINVAL;
	if ((s = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	fd = rootwalk_openat(s, root + 1, O_RDONLY | O_DIRECTORY, RW_DIR);
	close(s);
	return fd;
}

int rootwalk_open(const char *root, const char *path, int oflags, unsigned flags)
{
	const char *rel;
	int rfd, fd;

	if ((fd = rootwalk_rel(root, path, &rel)) < 0)
		return fd;
	if ((rfd = rootwalk_open_root(root)) < 0)
		return rfd;
	fd = rootwalk_openat(rfd, rel, oflags, flags);
	close(rfd);
	return fd;
}

int rootwalk_parent(const char *root, const char *path, unsigned flags, const char **leaf)
{
	char dir[PATH_MAX];
	const char *rel, *slash;
	int rfd, fd;

	if ((fd = rootwalk_rel(root, path, &rel)) < 0)
		return fd;
	if (!*rel)
		return -EINVAL;
	slash = strrchr(rel, '/');
	*leaf = slash ? slash + 1 : rel;
	if (!**leaf || !strcmp(*leaf, ".") || !strcmp(*leaf, ".."))
		return -EINVAL;
	if ((size_t)(*leaf - rel) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, rel, (size_t)(*leaf - rel));
	dir[*leaf - rel] = '\0';
	if ((rfd = rootwalk_open_root(root)) < 0)
		return rfd;
	fd = rootwalk_openat(rfd, dir, O_PATH | O_DIRECTORY, flags | RW_DIR);
	close(rfd);
	return fd;
}

void rootwalk_roots_init(struct rootwalk_roots *r, char *const *roots, size_t n)
{
	r->roots = roots;
	r->n = n < ROOTWALK_ROOTS_MAX ? n : ROOTWALK_ROOTS_MAX;
	r->opens = 0;
	for (size_t i = 0; i < ROOTWALK_ROOTS_MAX; i++)
		r->fd[i] = -1;
}

int rootwalk_roots_fd(struct rootwalk_roots *r, size_t i)
{
	int fd;

	if (i >= r->n)
		return -EINVAL;
	if (r->fd[i] >= 0)
		return r->fd[i];
	if ((fd = rootwalk_open_root(r->roots[i])) < 0)
		return fd;
	r->opens++;
	return r->fd[i] = fd;
}

void rootwalk_roots_end(struct rootwalk_roots *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->fd[i] >= 0) {
			close(r->fd[i]);
			r->fd[i] = -1;
		}
}
