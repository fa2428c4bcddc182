/* restore.c — atomic, verified, non-clobbering restore of files and trees. */
#include "controller/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/xattrs.h"
#include "controller/cverify.h"
#include "controller/jsonout.h"
#include "controller/restore_int.h"

/* Writeback of a fetched file: started every RESTORE_FLUSH_BYTES as the
 * data arrives, and waited for once it lies RESTORE_DIRTY_MAX behind the
 * received offset.  So the fsync before the rename waits for the last
 * RESTORE_DIRTY_MAX at most, and no more than that of the file is dirty or
 * under writeback at once: a disk slower than the transfer holds the
 * transfer back (the mux's window, then the server) instead of filling a
 * phone's or a small PC's memory with the whole file.  32 MiB is ~80 ms of
 * this host's disk (434-441 MiB/s durable, docs/performance.md): enough
 * slack that a short stall of the disk does not stall the writer. */
#define RESTORE_FLUSH_BYTES (8u << 20)
#define RESTORE_DIRTY_MAX (32u << 20)

/* What a fetched file that fails its check did not match. */
static const char *const mismatch_what[] = {
	[CVERIFY_SHA256] = "content does not match the version's sha256; nothing written",
	[CVERIFY_DIGEST] = "content does not match its upload's digest (sha256 pending); nothing written",
	[CVERIFY_ROOT] = "content does not match the version's chunk-tree root; nothing written",
};

/* A file being written: sink state. */
struct wfile {
	struct restore *r;
	int fd;
	uint64_t want, got;
	uint64_t flushed;      /* writeback started up to here */
	uint64_t written;      /* and waited for up to here (not durable: the
				* fsync flushes the disk's cache and metadata) */
	struct cverify *cv;    /* sha256, or tree root while the sha256 is pending */
};

void restore_progress(struct restore *r, bool force)
{
	int64_t t;

	if (!r->progress)
		return;
	t = mono_ns();
	if (!force && t - r->last_progress_ns < 200000000)
		return;
	r->last_progress_ns = t;
	fprintf(stderr, "\r%s: get: %llu files, %.1f MiB   ", log_progname(),
		(unsigned long long)(r->st.files + r->st.unchanged),
		(double)r->st.bytes / (1024.0 * 1024.0));
}

/* The local name of an item for messages, escaped for a terminal. */
void restore_say(struct restore *r, const char *rel, int err, const char *what)
{
	char *e1 = text_escape(r->target ? r->target : "", true);
	char *e2 = text_escape(rel ? rel : "", true);

	if (r->progress)
		fputc('\n', stderr);
	log_warnx("%s%s%s: %s%s%s", e1 ? e1 : "?", r->target && rel && *rel ? "/" : "",
		  e2 ? e2 : "?", what, err ? ": " : "", err ? strerror(err < 0 ? -err : err) : "");
	free(e1);
	free(e2);
}

struct restore *restore_new(const struct restore_src *src, bool chown_too, bool prog)
{
	struct restore *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->src = *src;
	r->chown_too = chown_too;
	r->progress = prog;
	r->rootfd = r->parentfd = -1;
	return r;
}

void restore_free(struct restore *r)
{
	size_t i;

	if (!r)
		return;
	if (r->rootfd >= 0)
		close(r->rootfd);
	if (r->parentfd >= 0)
		close(r->parentfd);
	for (i = 0; i < r->ndirs; i++) {
		free(r->dirs[i].rel);
		free(r->dirs[i].xattrs);
	}
	free(r->dirs);
	free(r->target);
	free(r);
}

const struct restore_stats *restore_stats(const struct restore *r) { return &r->st; }

void restore_keep_privileged(struct restore *r, bool keep) { r->keep_privileged = keep; }

int restore_target(const char *dest, const char *name, char *out, size_t cap)
{
	struct stat st;
	int n;

	if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode))
		n = snprintf(out, cap, "%s%s%s", dest,
			     dest[0] && dest[strlen(dest) - 1] == '/' ? "" : "/", name);
	else
		n = snprintf(out, cap, "%s", dest);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Start writeback of what arrived since the last call, and wait for the
 * part that lies more than RESTORE_DIRTY_MAX behind.  Errors are left to
 * the fsync before the rename, which reports them. */
static void wfile_writeback(struct wfile *w)
{
	sync_file_range(w->fd, (off_t)w->flushed, (off_t)(w->got - w->flushed),
			SYNC_FILE_RANGE_WRITE);
	w->flushed = w->got;
	if (w->flushed - w->written > RESTORE_DIRTY_MAX) {
		uint64_t to = w->flushed - RESTORE_DIRTY_MAX;

		sync_file_range(w->fd, (off_t)w->written, (off_t)(to - w->written),
				SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER);
		w->written = to;
	}
}

static int wfile_sink(void *arg, const void *p, size_t n)
{
	struct wfile *w = arg;
	int e;

	if (n > w->want - w->got)
		return -EFBIG;   /* more than the version's size: never trust it */
	if ((e = fd_write_all(w->fd, p, n)) < 0)
		return e;
	if ((e = cverify_feed(w->cv, p, n)) < 0)
		return e;
	w->got += n;
	if (w->got - w->flushed >= RESTORE_FLUSH_BYTES)
		wfile_writeback(w);
	w->r->st.bytes += n;
	restore_progress(w->r, false);
	return 0;
}

static int tmp_name(char *out, size_t cap)
{
	uint32_t x;

	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = (uint32_t)mono_ns() ^ (uint32_t)getpid();
	snprintf(out, cap, ".vigil-tmp-%08x", x);
	return 0;
}

static struct timespec ts_of(int64_t ns)
{
	struct timespec t;

	t.tv_sec = (time_t)(ns / 1000000000);
	t.tv_nsec = (long)(ns % 1000000000);
	if (t.tv_nsec < 0) {
		t.tv_nsec += 1000000000;
		t.tv_sec -= 1;
	}
	return t;
}

static bool xattr_privileged(const char *name)
{
	return !strncmp(name, "trusted.", 8) || !strncmp(name, "security.", 9);
}

/* user.* and ACLs may be set by the owner; trusted.* and security.* grant
 * privilege (security.capability is a file's capabilities) and are set only
 * when asked for, and only by root; other namespaces are not restored. */
static bool xattr_settable(const char *name, bool root, bool keep_privileged)
{
	if (!strncmp(name, "user.", 5) || !strcmp(name, "system.posix_acl_access") ||
	    !strcmp(name, "system.posix_acl_default"))
		return true;
	return root && keep_privileged && xattr_privileged(name);
}

/* The version's xattrs onto fd; a failure is a warning, never an error. */
static void set_xattrs_fd(struct restore *r, int fd, const struct vg_entry *e, const char *rel)
{
	bool root = geteuid() == 0;
	char name[XATTR_NAME_LEN + 1], what[XATTR_NAME_LEN + 64];
	const uint8_t *v;
	const char *n;
	size_t pos = 0, nl, vl;
	int k;

	if (e->xattr_len > VG_XATTR_MAX)
		return;
	while ((k = xattr_next(e->xattrs, e->xattr_len, &pos, &n, &nl, &v, &vl)) > 0) {
		memcpy(name, n, nl);
		name[nl] = '\0';
		if (!xattr_settable(name, root, r->keep_privileged)) {
			r->st.xattr_dropped += !r->keep_privileged && xattr_privileged(name);
			continue;
		}
		if (fsetxattr(fd, name, v, vl, 0) < 0) {
			snprintf(what, sizeof(what), "warning: cannot set extended attribute %s", name);
			restore_say(r, rel, errno, what);
			r->st.xattr_failed++;
		} else {
			r->st.xattrs++;
		}
	}
	if (k < 0) {
		restore_say(r, rel, 0, "warning: malformed extended attributes from the server; rest skipped");
		r->st.xattr_failed++;
	}
}

/* Owner (root only), then xattrs (chown clears security.capability; user.*
 * needs write permission, so before the mode), mode (chown may clear
 * set-id bits; they are dropped unless kept), then times. */
int restore_set_meta_fd(struct restore *r, int fd, const struct vg_entry *e, const char *rel)
{
	struct timespec tv[2] = { { .tv_nsec = UTIME_NOW }, ts_of(e->mtime_ns) };
	mode_t mode = e->mode & 07777;

	if (!r->keep_privileged && (mode & (S_ISUID | S_ISGID))) {
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
		r->st.setid_dropped++;
	}
	if (r->chown_too && fchown(fd, e->uid, e->gid) < 0)
		return -errno;
	set_xattrs_fd(r, fd, e, rel);
	if (fchmod(fd, mode) < 0)
		return -errno;
	/* a directory the server made up (an implicit ancestor) has no mtime */
	if (e->type == VG_DIR && e->mtime_ns == 0)
		return 0;
	if (futimens(fd, tv) < 0)
		return -errno;
	return 0;
}

/* Content into a temporary file, verified, renamed into place. */
static int put_new_file(struct restore *r, int dirfd, const char *name,
			const struct vg_entry *e, const char *rel)
{
	struct wfile w = { .r = r, .fd = -1, .want = e->size };
	char tmp[32], why[256] = "";
	int err, tries;

	for (tries = 0; tries < 16 && w.fd < 0; tries++) {
		tmp_name(tmp, sizeof(tmp));
		w.fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (w.fd < 0 && errno != EEXIST)
			break;
	}
	if (w.fd < 0) {
		restore_say(r, rel, errno, "cannot create a temporary file");
		return -errno;
	}
	if (!(w.cv = cverify_new(e))) {
		err = -ENOMEM;
		restore_say(r, rel, err, "sha256");
		goto fail;
	}
	err = r->src.fetch(r->src.arg, e, wfile_sink, &w, why, sizeof(why));
	if (err < 0) {
		restore_say(r, rel, err == -EFBIG || err == -EINTR ? 0 : err, err == -EFBIG ? "server sent more than the version's size" :
		    why[0] ? why : "fetch failed");
		goto fail;
	}
	if (w.got != e->size || cverify_finish(w.cv) != 0) {
		err = -EBADMSG;
		restore_say(r, rel, 0, w.got != e->size ? "short content from the server; nothing written" :
		    mismatch_what[cverify_by(e)]);
		goto fail;
	}
	if ((err = restore_set_meta_fd(r, w.fd, e, rel)) < 0 || (fsync(w.fd) < 0 && (err = -errno))) {
		restore_say(r, rel, err, "cannot set metadata");
		goto fail;
	}
	close(w.fd);
	w.fd = -1;
	if ((err = rename_noreplace(dirfd, tmp, name)) < 0) {
		restore_say(r, rel, err == -EEXIST ? 0 : err, err == -EEXIST ?
		    "appeared while fetching; not overwritten" : "cannot rename into place");
		goto fail;
	}
	fsync(dirfd);
	cverify_free(w.cv);
	r->st.files++;
	restore_progress(r, false);
	return 0;
fail:
	if (w.fd >= 0)
		close(w.fd);
	unlinkat(dirfd, tmp, 0);
	cverify_free(w.cv);
	return err;
}

/* An existing file that already holds the version is left exactly as it
 * is, metadata included: only what the restore creates gets the stored one. */
static int put_file(struct restore *r, int dirfd, const char *name,
		    const struct vg_entry *e, const char *rel)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			restore_say(r, rel, errno, "cannot stat");
			return -errno;
		}
		return put_new_file(r, dirfd, name, e, rel);
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size ||
	    cverify_file(dirfd, name, e) != 0) {
		restore_say(r, rel, 0, "exists and is not this version; not overwritten");
		return -EEXIST;
	}
	r->st.unchanged++;
	return 0;
}

static int put_symlink(struct restore *r, int dirfd, const char *name,
		       const struct vg_entry *e, const char *rel)
{
	struct timespec tv[2] = { { .tv_nsec = UTIME_NOW }, ts_of(e->mtime_ns) };
	char have[PATH_MAX + 1], tmp[32];
	struct stat st;
	ssize_t n;
	int err;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		n = S_ISLNK(st.st_mode) ? readlinkat(dirfd, name, have, sizeof(have) - 1) : -1;
		if (n < 0 || (have[n] = '\0', strcmp(have, e->link) != 0)) {
			restore_say(r, rel, 0, "exists and is not this symlink; not overwritten");
			return -EEXIST;
		}
		r->st.unchanged++;
		return 0;   /* not ours: its owner and times stay */
	}
	tmp_name(tmp, sizeof(tmp));
	if (symlinkat(e->link, dirfd, tmp) < 0) {
		restore_say(r, rel, errno, "cannot create symlink");
		return -errno;
	}
	if ((err = rename_noreplace(dirfd, tmp, name)) < 0) {
		unlinkat(dirfd, tmp, 0);
		restore_say(r, rel, err, "cannot rename symlink into place");
		return err;
	}
	r->st.links++;
	/* the link is in place: a refused owner is a warning, as a refused
	 * extended attribute is (the return value was ignored before
	 * _FORTIFY_SOURCE's warn_unused_result caught it) */
	if (r->chown_too && fchownat(dirfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		restore_say(r, rel, errno, "warning: cannot set the symlink's owner");
	utimensat(dirfd, name, tv, AT_SYMLINK_NOFOLLOW);
	return 0;
}

int restore_put_item(struct restore *r, int dirfd, const char *name,
		    const struct vg_entry *e, const char *rel)
{
	int err;

	if (e->type == VG_FILE)
		err = put_file(r, dirfd, name, e, rel);
	else if (e->type == VG_SYMLINK)
		err = put_symlink(r, dirfd, name, e, rel);
	else {
		restore_say(r, rel, 0, "not a file or symlink");
		err = -EINVAL;
	}
	if (err < 0)
		r->st.failed++;
	return err;
}

int restore_one(struct restore *r, const char *target, const struct vg_entry *e)
{
	char *dir = strdup(target), *slash, *name;
	int dirfd, err;

	if (!dir)
		return -ENOMEM;
	while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	slash = strrchr(dir, '/');
	if (slash == dir + strlen(dir) - 1) {
		free(dir);
		log_warnx("%s: not a file name", target);
		return -EINVAL;
	}
	name = slash ? slash + 1 : dir;
	if (slash == dir)
		dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if (slash) {
		*slash = '\0';
		dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else
		dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		err = -errno;
		log_errno(err, "%s", target);
		free(dir);
		return err;
	}
	free(r->target);
	r->target = strdup(target);
	err = restore_put_item(r, dirfd, name, e, NULL);
	close(dirfd);
	free(dir);
	return err;
}
