/* capture.c — consistent reads of files and SQLite databases, hashed in
 * the same pass. */
#include "daemon/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/rootwalk.h"
#include "daemon/scan.h"

bool capture_is_sqlite(int fd)
{
	static const char hdr[16] = "SQLite format 3";   /* with its NUL */
	char b[16];

	return pread(fd, b, 16, 0) == 16 && memcmp(b, hdr, 16) == 0;
}

static int mktmp(const char *tmpdir, const char *tag, char out[PATH_MAX])
{
	int fd;

	if (snprintf(out, PATH_MAX, "%s/%s-XXXXXX", tmpdir, tag) >= PATH_MAX)
		return -ENAMETOOLONG;
	if ((fd = mkostemp(out, O_CLOEXEC)) < 0)
		return -errno;
	return fd;
}

/* SQLite opens its files by name, and its default VFS resolves every
 * symlink in that name first.  The "vigil-beneath" VFS is the default one
 * with two changes: a name is only accepted as /proc/self/fd/DIRFD/LEAF, where
 * DIRFD is the database's directory opened by rootwalk (so no component
 * above LEAF is looked up by path again, and LEAF-wal, LEAF-journal and
 * LEAF-shm are found in that same directory), and the database file itself
 * must be a regular file, not a symlink or a FIFO, before it is opened (the
 * default VFS adds O_NOFOLLOW to every open). */
#define FDNAME_PREFIX "/proc/self/fd/"

static sqlite3_vfs beneath_vfs;
static sqlite3_vfs *base_vfs;
static pthread_once_t beneath_once = PTHREAD_ONCE_INIT;

static int beneath_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	size_t l = strlen(name);

	if (strncmp(name, FDNAME_PREFIX, strlen(FDNAME_PREFIX)) != 0 || l >= (size_t)n)
		return SQLITE_CANTOPEN;
	memcpy(out, name, l + 1);
	return SQLITE_OK;
}

/* The LEAF of /proc/self/fd/DIRFD/LEAF is a regular file right now. */
static bool leaf_regular(const char *name)
{
	const char *p = name + strlen(FDNAME_PREFIX);
	struct stat st;
	char *end;
	long dfd;

	errno = 0;
	dfd = strtol(p, &end, 10);
	if (errno || end == p || *end != '/' || dfd < 0 || dfd > INT_MAX)
		return false;
	return fstatat((int)dfd, end + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int beneath_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags,
			int *outflags)
{
	if (name && (flags & SQLITE_OPEN_MAIN_DB) &&
	    (strncmp(name, FDNAME_PREFIX, strlen(FDNAME_PREFIX)) != 0 || !leaf_regular(name)))
		return SQLITE_CANTOPEN;
	return base_vfs->xOpen(base_vfs, name, f, flags, outflags);
}

static void beneath_register(void)
{
	if (!(base_vfs = sqlite3_vfs_find(NULL)))
		return;
	beneath_vfs = *base_vfs;   /* pAppData too: the unix VFS keeps its locking style there */
	beneath_vfs.zName = "vigil-beneath";
	beneath_vfs.xFullPathname = beneath_fullpath;
	beneath_vfs.xOpen = beneath_open;
	if (sqlite3_vfs_register(&beneath_vfs, 0) != SQLITE_OK)
		base_vfs = NULL;
}

/* Opens the database at path (beneath root) read-only through the
 * directory fd *dirfd (the caller closes it after sqlite3_close). */
static int open_beneath(const char *root, const char *path, sqlite3 **db, int *dirfd)
{
	char name[PATH_MAX];
	const char *leaf;

	pthread_once(&beneath_once, beneath_register);
	if (!base_vfs)
		return SQLITE_ERROR;
	if ((*dirfd = rootwalk_parent(root, path, 0, &leaf)) < 0)
		return SQLITE_CANTOPEN;
	if (snprintf(name, sizeof(name), FDNAME_PREFIX "%d/%s", *dirfd, leaf) >= (int)sizeof(name))
		return SQLITE_CANTOPEN;
	return sqlite3_open_v2(name, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW,
			       "vigil-beneath");
}

int capture_sqlite_backup(const char *root, const char *src, const char *tmpdir,
			  char out[PATH_MAX])
{
	sqlite3 *s = NULL, *d = NULL;
	sqlite3_backup *bk;
	int fd, rc, tries = 0, dirfd = -1;

	if ((fd = mktmp(tmpdir, "sqlite", out)) < 0)
		return fd;
	close(fd);
	rc = open_beneath(root, src, &s, &dirfd);
	if (rc == SQLITE_OK)
		rc = sqlite3_open_v2(out, &d, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(s, 2000);
	if (!(bk = sqlite3_backup_init(d, "main", s, "main"))) {
		rc = sqlite3_errcode(d);
		goto out;
	}
	/* One step of -1 copies every page inside one read transaction. */
	while ((rc = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		if (++tries > 50)
			break;
		sqlite3_sleep(100);
	}
	sqlite3_backup_finish(bk);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	if (rc != SQLITE_OK)
		log_debug("%s: sqlite backup: %s", src, sqlite3_errstr(rc));
	sqlite3_close(s);
	sqlite3_close(d);
	if (dirfd >= 0)
		close(dirfd);
	if (rc != SQLITE_OK) {
		unlink(out);
		out[0] = '\0';
		return rc == SQLITE_FULL ? -ENOSPC : -EIO;
	}
	return 0;
}

static bool same_state(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	       scan_ts(&a->st_mtim) == scan_ts(&b->st_mtim) &&
	       scan_ts(&a->st_ctim) == scan_ts(&b->st_ctim);
}

/* One pass over fd: every byte to the hash, the sink, and (copyfd >= 0) a
 * copy.  Returns 0 or -errno; *total gets the bytes read. */
static int read_pass(int fd, struct chash *h, const struct capture_sink *sink, int copyfd,
		     uint8_t *buf, uint64_t *total)
{
	uint64_t off = 0;
	ssize_t n;
	int rc;

	chash_reset(h);
	if (sink && sink->reset && (rc = sink->reset(sink->arg)) < 0)
		return rc;
	for (;;) {
		n = pread(fd, buf, CAPTURE_BUF, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if ((rc = chash_feed(h, buf, (size_t)n)) < 0)
			return rc;
		if (sink && (rc = sink->data(sink->arg, buf, (size_t)n)) < 0)
			return rc;
		if (copyfd >= 0 && write(copyfd, buf, (size_t)n) != n)
			return errno ? -errno : -EIO;
		off += (uint64_t)n;
	}
	*total = off;
	return 0;
}

/* Reads fd until a pass sees the file hold still; copies it otherwise. */
static int capture_fd(int fd, const char *tmpdir, const struct capture_sink *sink,
		      struct capture *c, struct chash *h, uint8_t *buf)
{
	struct stat before, after;
	int rc, cfd;

	if (fstat(fd, &before) < 0)
		return -errno;
	/* a writer at it now: a read that waits for stillness would only be
	 * thrown away (each as long as the copy), so copy at once */
	for (int i = 0; i < (sink && sink->moving ? 0 : CAPTURE_TRIES); i++) {
		c->capture_ns = real_ns();
		if ((rc = read_pass(fd, h, sink, -1, buf, &c->size)) < 0)
			return rc;
		if (fstat(fd, &after) < 0)
			return -errno;
		if (same_state(&before, &after) && c->size == (uint64_t)after.st_size) {
			c->st = after;
			return 0;
		}
		before = after;
	}
	/* Never still: ship a copy made in one pass (a bounded-interval
	 * snapshot of a file that is being written all the time). */
	if (fstat(fd, &before) < 0)
		return -errno;
	if ((cfd = mktmp(tmpdir, "copy", c->tmp)) < 0)
		return cfd;
	c->capture_ns = real_ns();
	rc = read_pass(fd, h, sink, cfd, buf, &c->size);
	if (rc == 0 && fstat(fd, &c->st) < 0)
		rc = -errno;
	if (rc < 0) {
		close(cfd);
		unlink(c->tmp);
		c->tmp[0] = '\0';
		return rc;
	}
	/* held still during the copy after all: one state, not "unstable" */
	c->unstable = !same_state(&before, &c->st) || c->size != (uint64_t)c->st.st_size;
	close(c->fd);
	c->fd = cfd;
	return 0;
}

/* Whether fd is a SQLite database: with peek (CAPTURE_BUF bytes), from
 * the file's first bytes read into it (*npeek of them: the pass goes on
 * from there, one read less per small file), else from 16 bytes. */
static bool is_sqlite_peek(int fd, const struct stat *st, uint8_t *peek, size_t *npeek)
{
	static const char hdr[16] = "SQLite format 3";   /* with its NUL */
	size_t want = (uint64_t)st->st_size < CAPTURE_BUF ? (size_t)st->st_size : CAPTURE_BUF;
	ssize_t n;

	if (!peek)
		return capture_is_sqlite(fd);
	while ((n = pread(fd, peek, want, 0)) < 0 && errno == EINTR)
		;
	*npeek = n > 0 ? (size_t)n : 0;
	return n >= 16 && memcmp(peek, hdr, 16) == 0;
}

/* Opens path beneath root (through rootfd, the root's fd for this walk,
 * when >= 0; else the root is opened here) into c->fd (a SQLite
 * database: its backup, and c->tmp, c->sqlite set); *src gets the
 * source's stat.  peek: as is_sqlite_peek (*npeek 0 for a backup). */
static int capture_open(const char *root, int rootfd, const char *path, const char *tmpdir,
			struct capture *c, struct stat *src, uint8_t *peek, size_t *npeek)
{
	char bk[PATH_MAX];
	const char *rel;
	int bfd, rc, rfd = rootfd;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if ((rc = rootwalk_rel(root, path, &rel)) < 0)
		return rc;
	if (rfd < 0 && (rfd = rootwalk_open_root(root)) < 0)
		return rfd;
	/* never through a symlink, never outside root, never blocking on a FIFO */
	c->fd = rootwalk_openat_st(rfd, rel, O_RDONLY, RW_REG, src);
	if (rfd != rootfd)
		close(rfd);
	if (c->fd < 0)
		return c->fd;
	if (!is_sqlite_peek(c->fd, src, peek, npeek))
		return 0;
	if (npeek)
		*npeek = 0;   /* the source's bytes: the backup is read instead */
	/* Not a database SQLite can open (damaged, or only looks like one):
	 * its bytes are still the user's data, read them plainly. */
	if ((rc = capture_sqlite_backup(root, path, tmpdir, bk)) < 0)
		return rc == -ENOSPC ? rc : 0;
	if ((bfd = open(bk, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		unlink(bk);
		return rc;
	}
	close(c->fd);
	c->fd = bfd;
	memcpy(c->tmp, bk, sizeof(bk));
	c->sqlite = true;
	return 0;
}

static struct chash *capture_hash(const struct capture_sink *sink)
{
	unsigned what = sink && sink->no_sha256 ? CHASH_TREE : CHASH_BOTH;
	struct chash *h;

	if (sink && sink->digest)
		what = CHASH_DIGEST | (sink->fp_secret && sink->chunk ? CHASH_CHUNKS : 0);
	h = chash_new(what);

	if (h && sink && sink->chunk)
		chash_set_chunk_fn(h, sink->chunk, sink->arg);
	if (h && sink && sink->fp_secret)
		chash_set_fp(h, sink->fp_secret, sink->known, sink->arg);
	return h;
}

/* The end of capture_file and capture_stream: rc 0 finishes the hash into
 * c; everything is freed, and c released unless it succeeded. */
static int capture_end(struct capture *c, struct chash *h, uint8_t *buf, int rc)
{
	uint64_t size;

	if (rc == 0)
		rc = chash_finish(h, c->sha256, c->root, &size);
	if (rc == 0) {
		chash_counts(h, &c->chunks_sha, &c->chunks_fp);
		chash_digest(h, c->digest);
	}
	free(buf);
	chash_free(h);
	if (rc < 0)
		capture_release(c);
	return rc;
}

int capture_file(const char *root, const char *path, const char *tmpdir,
		 const struct capture_sink *sink, struct capture *c)
{
	return capture_file_at(root, -1, path, tmpdir, sink, c);
}

int capture_file_at(const char *root, int rootfd, const char *path, const char *tmpdir,
		    const struct capture_sink *sink, struct capture *c)
{
	struct stat src;
	uint8_t *buf = NULL;
	struct chash *h = NULL;
	int rc;

	if ((rc = capture_open(root, rootfd, path, tmpdir, c, &src, NULL, NULL)) < 0)
		goto out;
	if (!(buf = malloc(CAPTURE_BUF)) || !(h = capture_hash(sink))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = capture_fd(c->fd, tmpdir, sink, c, h, buf);
	if (rc == 0 && c->sqlite)
		c->st = src;   /* the stat tuple to remember is the database file's own */
out:
	return capture_end(c, h, buf, rc);
}

/* One piece of stream_pass read into a buffer of the sink's own
 * (sink->buf_new), hashed and handed to sink->data_buf: the bytes read
 * (0: the file shrank, nothing handed), or -errno. */
static ssize_t pass_piece(struct capture *c, struct chash *h, const struct capture_sink *sink,
			  size_t want, uint64_t off)
{
	uint8_t *p = sink->buf_new(sink->arg);
	ssize_t n;
	int rc;

	if (!p)
		return -ENOMEM;
	do
		n = pread(c->fd, p, want, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		rc = n < 0 ? -errno : 0;
		sink->buf_free(sink->arg, p);
		return rc;
	}
	if ((rc = chash_feed(h, p, (size_t)n)) < 0) {
		sink->buf_free(sink->arg, p);
		return rc;
	}
	rc = sink->data_buf(sink->arg, p, (size_t)n);   /* takes p */
	return rc < 0 ? rc : n;
}

/* buf[0..n) hashed and given to the sink. */
static int pass_buf(struct chash *h, const struct capture_sink *sink, const uint8_t *buf, size_t n)
{
	int rc = chash_feed(h, buf, n);

	if (rc == 0 && sink)
		rc = sink->data(sink->arg, buf, n);
	return rc;
}

/* The one pass of capture_stream over c->fd: exactly c->size bytes, the
 * file's stat checked against *before as it goes. */
static int stream_pass(struct capture *c, const struct stat *before, struct chash *h,
		       const struct capture_sink *sink, uint8_t *buf, size_t pre)
{
	uint64_t off = 0, check = CAPTURE_CHECK;
	struct stat now;
	ssize_t n;
	int rc;

	while (off < c->size) {
		size_t want = c->size - off < CAPTURE_BUF ? (size_t)(c->size - off) : CAPTURE_BUF;

		if (pre) {   /* the first bytes are in buf already (capture_open's peek) */
			n = (ssize_t)(pre < want ? pre : want);
			pre = 0;
			rc = pass_buf(h, sink, buf, (size_t)n);
		} else if (sink && sink->buf_new) {   /* into a frame: no copy on the way out */
			n = pass_piece(c, h, sink, want, off);
			rc = n < 0 ? (int)n : 0;
		} else {
			n = pread(c->fd, buf, want, (off_t)off);
			if (n < 0 && errno == EINTR)
				continue;
			rc = n < 0 ? -errno : n ? pass_buf(h, sink, buf, (size_t)n) : 0;
		}
		if (rc < 0)
			return rc;
		if (n == 0)
			return -EBUSY;   /* shrank under the read */
		off += (uint64_t)n;
		if (off >= check || off == c->size) {
			if (fstat(c->fd, &now) < 0)
				return -errno;
			if (!same_state(before, &now))
				return -EBUSY;
			check = off + CAPTURE_CHECK;
		}
	}
	return 0;
}

int capture_stream(const char *root, const char *path, const char *tmpdir,
		   const struct capture_sink *sink, struct capture *c)
{
	return capture_stream_at(root, -1, path, tmpdir, sink, c);
}

int capture_stream_at(const char *root, int rootfd, const char *path, const char *tmpdir,
		      const struct capture_sink *sink, struct capture *c)
{
	struct stat src, before;
	uint8_t *buf = NULL;
	struct chash *h = NULL;
	int64_t t0 = real_ns();   /* the read starts with the open's peek */
	size_t pre = 0;
	int rc;

	if (sink && sink->moving) {   /* a writer is at it: it would not hold still */
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		return -EBUSY;
	}
	if (!(buf = malloc(CAPTURE_BUF)) || !(h = capture_hash(sink))) {
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = capture_open(root, rootfd, path, tmpdir, c, &src, buf, &pre)) < 0)
		goto out;
	/* the source's stat came with its open; a backup's is its own */
	if (!c->sqlite)
		before = src;
	else if (fstat(c->fd, &before) < 0) {
		rc = -errno;
		goto out;
	}
	c->st = c->sqlite ? src : before;
	c->size = (uint64_t)before.st_size;
	c->capture_ns = c->sqlite ? real_ns() : t0;
	if (sink && sink->reset && (rc = sink->reset(sink->arg)) < 0)
		goto out;
	if (sink && sink->begin && (rc = sink->begin(sink->arg, c)) < 0)
		goto out;
	rc = stream_pass(c, &before, h, sink, buf, pre);
out:
	return capture_end(c, h, buf, rc);
}

void capture_release(struct capture *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->tmp[0])
		unlink(c->tmp);
	c->tmp[0] = '\0';
}
