/* erasewalk.c — the depth-first walk of one erase root, with directory fds
 * only: every entry is looked at with statx(AT_SYMLINK_NOFOLLOW) relative to
 * its directory's fd, opened with O_NOFOLLOW and checked again on the fd
 * before a byte is written, and removed relative to the same fd.
 *
 * Mounts: where statx gives no mount id (before 5.8, qemu-user) an entry's
 * mount is only known once it is opened, from /proc/self/fdinfo
 * (mount_id_of); a directory is entered and a file written only after its
 * fd says it is on the root's mount, and a root whose mount cannot be told
 * at all is not walked (a bind mount of the same filesystem would look like
 * the root's own). */
#include "daemon/erase_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/mountinfo.h"

#define PASSES 3   /* a directory is listed again while a pass removed something */

/* What a pass saw and left in place; only the last pass's count is kept,
 * so an entry seen on several passes is counted once. */
struct obs { uint64_t kept, mounts, failed; };

static void from_statx(const struct statx *sx, struct eplan_entry *e, uint64_t *size)
{
	e->mode = sx->stx_mode;
	e->nlink = sx->stx_nlink;
	e->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	e->mnt = (sx->stx_mask & STATX_MNT_ID) ? sx->stx_mnt_id : 0;
	e->ino = sx->stx_ino;
	if (size)
		*size = sx->stx_size;
}

/* name "": dfd itself, whose mount id is then always known (fdinfo when
 * statx has none), or -ENOTSUP.  A named entry's may stay 0 (unknown). */
static int sx_at(int dfd, const char *name, struct eplan_entry *e, uint64_t *size)
{
	struct statx sx;
	int fl = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (*name ? 0 : AT_EMPTY_PATH);

	if (statx(dfd, name, fl, STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
		return -errno;
	from_statx(&sx, e, size);
	if (!*name && !e->mnt)
		return mount_id_fdinfo(dfd, &e->mnt);
	return 0;
}

/* b is the opened fd's: a mount id a's statx did not give is not compared */
static bool same_entry(const struct eplan_entry *a, const struct eplan_entry *b)
{
	return a->dev == b->dev && a->ino == b->ino && (!a->mnt || a->mnt == b->mnt) &&
	       (a->mode & S_IFMT) == (b->mode & S_IFMT);
}

/* An entry opened and checked against its statx (now: the fd's, with its
 * mount id): 1 when it is on another mount than the root's. */
static bool on_other_mount(const struct ewalk *w, const struct eplan_entry *now)
{
	return erase_plan(now, &w->ctx) == EP_MOUNT;
}

/* The fd's own statx, compared with what the walk saw by name: 0 the same
 * entry on the root's mount, 1 on another mount (counted in ob, left), or
 * -EAGAIN (changed since: look again). */
static int check_opened(const struct ewalk *w, int fd, const struct eplan_entry *e,
			struct eplan_entry *now, uint64_t *size, struct obs *ob)
{
	int rc = sx_at(fd, "", now, size);

	if (rc == -ENOTSUP) {   /* its mount cannot be told: never entered nor written */
		ob->failed++;
		return 1;
	}
	if (rc < 0 || !same_entry(e, now))
		return -EAGAIN;
	if (on_other_mount(w, now)) {
		ob->mounts++;
		return 1;
	}
	return 0;
}

static void count(struct erase_report *r, const struct ej_pending *p)
{
	switch (p->kind) {
	case EJ_FILE: r->files_overwritten++; break;
	case EJ_LINKS: r->unlinked_links++; break;
	case EJ_SPECIAL: r->unlinked_special++; break;
	case EJ_SYMLINK: r->unlinked_symlinks++; break;
	case EJ_BUSY: r->unlinked_busy++; break;
	case EJ_DIR: r->dirs_removed++; break;
	default: return;
	}
	if (p->kind == EJ_FILE || p->kind == EJ_BUSY)
		r->bytes_overwritten += p->bytes;
}

void erase_progress(struct ewalk *w)
{
	w->since_progress = 0;
	if (w->o->progress)
		w->o->progress(w->o->progress_arg, &w->j->rec.r);
}

/* Journal first, then (truncfd >= 0) truncate, then unlink.  1 removed,
 * 0 left in place (counted in ob), -errno when the journal failed. */
static int remove_entry(struct ewalk *w, int dfd, uint64_t pino, const char *name,
			const struct eplan_entry *e, uint32_t kind, uint64_t bytes, int truncfd,
			struct obs *ob)
{
	struct ej_pending *p = &w->j->rec.pending;
	int rc;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->bytes = bytes;
	p->dev = e->dev;
	p->ino = e->ino;
	p->parent_ino = pino;
	snprintf(p->name, sizeof(p->name), "%s", name);
	if ((rc = ej_write(w->j)) < 0)
		return rc;
	if (kind == EJ_FILE)
		erase_test_hook(&w->j->rec.r, 1);
	if (truncfd >= 0)   /* on failure the unlink still frees the blocks once nobody holds them */
		(void)!ftruncate(truncfd, 0);
	rc = unlinkat(dfd, name, kind == EJ_DIR ? AT_REMOVEDIR : 0) == 0 ? 1 : -errno;
	if (rc == 1)
		count(&w->j->rec.r, p);
	else if (rc != -ENOENT && rc != -ENOTEMPTY && rc != -EEXIST)
		ob->failed++;
	p->kind = EJ_NONE;
	if (rc == 1 && kind == EJ_FILE)
		erase_test_hook(&w->j->rec.r, 0);
	if (rc == 1 && ++w->since_progress >= ERASE_PROGRESS_EVERY)
		erase_progress(w);
	return rc == 1;
}

static int fill_random(uint8_t *b, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t k = getrandom(b + off, n - off, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		off += (size_t)k;
	}
	return 0;
}

/* One pass of CSPRNG bytes over [0, size), then fdatasync. */
static int overwrite(struct ewalk *w, int fd, uint64_t size, uint64_t *done)
{
	int rc;

	for (*done = 0; *done < size;) {
		size_t n = size - *done < ERASE_BUF ? (size_t)(size - *done) : ERASE_BUF;
		ssize_t k;

		if ((rc = fill_random(w->buf, n)) < 0)
			return rc;
		k = pwrite(fd, w->buf, n, (off_t)*done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		*done += (uint64_t)k;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

/* A regular file with one link: overwrite, sync, truncate, unlink.  A file
 * that cannot be opened for writing, grew meanwhile or failed to write is
 * "busy": unlinked, and reported as not reliably overwritten. */
static int erase_file(struct ewalk *w, int dfd, uint64_t pino, const char *name,
		      const struct eplan_entry *e, uint64_t size, struct obs *ob)
{
	struct eplan_entry now;
	uint64_t done = 0, after = 0;
	uint32_t kind = EJ_FILE;
	int fd, rc;

	fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && (errno == ELOOP || errno == ENXIO || errno == EISDIR))
		return -EAGAIN;   /* it changed kind since the statx: look again */
	if (fd < 0)
		return remove_entry(w, dfd, pino, name, e, EJ_BUSY, 0, -1, ob);
	if ((rc = check_opened(w, fd, e, &now, NULL, ob)) != 0) {
		close(fd);
		return rc > 0 ? 0 : rc;
	}
	if (now.nlink > 1) {   /* linked meanwhile: never overwrite */
		close(fd);
		return remove_entry(w, dfd, pino, name, e, EJ_LINKS, 0, -1, ob);
	}
	if (overwrite(w, fd, size, &done) < 0 || sx_at(fd, "", &now, &after) < 0 || after != size)
		kind = EJ_BUSY;
	rc = remove_entry(w, dfd, pino, name, e, kind, done, fd, ob);
	close(fd);
	return rc;
}

static int walk_dir(struct ewalk *w, int dfd, int depth, struct obs *into);

static int erase_dir(struct ewalk *w, int dfd, uint64_t pino, const char *name,
		     const struct eplan_entry *e, int depth, struct obs *ob)
{
	struct eplan_entry now;
	int fd, rc;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return -EAGAIN;
	if (fd < 0) {
		ob->failed++;
		return 0;
	}
	if ((rc = check_opened(w, fd, e, &now, NULL, ob)) != 0) {
		close(fd);
		return rc > 0 ? 0 : rc;
	}
	rc = walk_dir(w, fd, depth + 1, ob);
	close(fd);
	if (rc < 0)
		return rc;
	return remove_entry(w, dfd, pino, name, e, EJ_DIR, 0, -1, ob);
}

/* The entry recorded just before a crash, met again: its unlink did not
 * happen.  A file is finished and counted as recorded (its data was
 * already overwritten and synced); a directory is simply walked again. */
static bool is_resumed(const struct ewalk *w, uint64_t pino, const char *name,
		       const struct eplan_entry *e)
{
	const struct ej_pending *p = &w->resume;

	return p->kind != EJ_NONE && p->parent_ino == pino &&
	       p->ino == e->ino && p->dev == e->dev && strcmp(p->name, name) == 0;
}

static int do_entry(struct ewalk *w, int dfd, uint64_t pino, const char *name, int depth,
		    struct obs *ob)
{
	struct eplan_entry e;
	uint64_t size;
	int rc;

	if ((rc = sx_at(dfd, name, &e, &size)) < 0) {
		ob->failed += rc != -ENOENT;
		return 0;
	}
	if (is_resumed(w, pino, name, &e)) {
		struct ej_pending p = w->resume;

		w->resume.kind = EJ_NONE;
		if (p.kind != EJ_DIR)
			return remove_entry(w, dfd, pino, name, &e, p.kind, p.bytes, -1, ob);
	}
	w->ctx.depth = depth;
	switch (erase_plan(&e, &w->ctx)) {
	case EP_KEEP: ob->kept++; return 0;
	case EP_MOUNT: ob->mounts++; return 0;
	case EP_TOO_DEEP: ob->failed++; return 0;
	case EP_SYMLINK: return remove_entry(w, dfd, pino, name, &e, EJ_SYMLINK, 0, -1, ob);
	case EP_SPECIAL: return remove_entry(w, dfd, pino, name, &e, EJ_SPECIAL, 0, -1, ob);
	case EP_LINKS: return remove_entry(w, dfd, pino, name, &e, EJ_LINKS, 0, -1, ob);
	case EP_OVERWRITE: return erase_file(w, dfd, pino, name, &e, size, ob);
	case EP_DESCEND: return erase_dir(w, dfd, pino, name, &e, depth, ob);
	}
	return 0;
}

/* One listing of dfd.  Removed count, or -errno (journal). */
static int one_pass(struct ewalk *w, int dfd, uint64_t pino, int depth, struct obs *ob,
		    bool *again)
{
	struct dirent *de;
	int removed = 0, rc, lfd;
	DIR *d;

	if ((lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    !(d = fdopendir(lfd))) {
		if (lfd >= 0)
			close(lfd);
		ob->failed++;
		return 0;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = do_entry(w, dfd, pino, de->d_name, depth, ob);
		if (rc == -EAGAIN) {
			*again = true;
			continue;
		}
		if (rc < 0) {
			closedir(d);
			return rc;
		}
		removed += rc;
	}
	closedir(d);
	return removed;
}

/* Walks dfd's entries; what its last pass saw and left goes into *into,
 * the observations of the pass of the directory holding it (NULL: the
 * root's, into the report).  So a directory walked again because its
 * parent makes another pass (it held a mount, and could not be removed)
 * counts once, as its parent's last pass saw it. */
static int walk_dir(struct ewalk *w, int dfd, int depth, struct obs *into)
{
	struct eplan_entry self;
	struct obs ob = { 0 };
	struct erase_report *r = &w->j->rec.r;
	bool again = false;
	int rc;

	if (sx_at(dfd, "", &self, NULL) < 0) {
		ob.failed++;
		goto out;
	}
	for (int pass = 0; pass < PASSES; pass++) {
		memset(&ob, 0, sizeof(ob));
		again = false;
		if ((rc = one_pass(w, dfd, self.ino, depth, &ob, &again)) < 0)
			return rc;
		if (rc == 0 && !again)
			break;
	}
	ob.failed += again ? 1 : 0;
out:
	if (into) {
		into->kept += ob.kept;
		into->mounts += ob.mounts;
		into->failed += ob.failed;
	} else {
		r->kept += ob.kept;
		r->mounts_skipped += ob.mounts;
		r->failed += ob.failed;
	}
	return 0;
}

int erase_walk_root(struct ewalk *w, int rootfd)
{
	struct eplan_entry root;
	int rc;

	if ((rc = sx_at(rootfd, "", &root, NULL)) < 0)
		return rc;   /* -ENOTSUP: its mounts cannot be told apart */
	w->ctx.root_dev = root.dev;
	w->ctx.root_mnt = root.mnt;
	if ((rc = walk_dir(w, rootfd, 0, NULL)) < 0)
		return rc;
	/* recorded before the crash and never met again: its unlink (or
	 * rmdir) had happened, count it now */
	if (w->resume.kind != EJ_NONE)
		count(&w->j->rec.r, &w->resume);
	w->resume.kind = EJ_NONE;
	return 0;
}
