/* scan.c — reconcile scan of watched trees against the shipped table. */
#include "daemon/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proto.h"

int64_t scan_ts(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int scan_type(mode_t m)
{
	if (S_ISREG(m))
		return VG_FILE;
	if (S_ISDIR(m))
		return VG_DIR;
	if (S_ISLNK(m))
		return VG_SYMLINK;
	return 0;
}

void scan_fill_stat(struct shipped *s, const struct stat *st)
{
	s->type = (uint8_t)scan_type(st->st_mode);
	s->size = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size;
	s->mtime_ns = scan_ts(&st->st_mtim);
	s->ctime_ns = scan_ts(&st->st_ctim);
	s->ino = st->st_ino;
	s->dev = st->st_dev;
	s->mode = st->st_mode;
	s->uid = st->st_uid;
	s->gid = st->st_gid;
}

bool scan_differs(const struct stat *st, const struct shipped *s)
{
	struct shipped n;

	scan_fill_stat(&n, st);
	/* st_dev is left out on purpose: some filesystems renumber it across
	 * reboots, which would re-queue everything for nothing. */
	return n.type != s->type || n.size != s->size || n.mtime_ns != s->mtime_ns ||
	       n.ctime_ns != s->ctime_ns || n.ino != s->ino || n.mode != s->mode ||
	       n.uid != s->uid || n.gid != s->gid;
}

bool scan_racy(const struct shipped *s)
{
	return s->type == VG_FILE && s->capture_ns != 0 &&
	       s->mtime_ns >= s->capture_ns - SCAN_RACY_NS;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

bool scan_excluded(const struct scan_ctx *c, const char *path)
{
	static const char *const sufs[] = { "-wal", "-journal", "-shm" };
	size_t n = strlen(c->statedir);

	if (n && strncmp(path, c->statedir, n) == 0 && (path[n] == '\0' || path[n] == '/'))
		return true;
	for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++) {
		char base[PATH_MAX];
		size_t bl;

		if (!has_suffix(path, sufs[i]))
			continue;
		/* Only a companion when the main file exists: the database is
		 * captured as one consistent state (capture.c). */
		bl = strlen(path) - strlen(sufs[i]);
		memcpy(base, path, bl);
		base[bl] = '\0';
		if (access(base, F_OK) == 0)
			return true;
	}
	return false;
}

void scan_reload_mounts(struct scan_ctx *c)
{
	char path[PATH_MAX + 16], line[PATH_MAX + 2];
	FILE *f;

	c->nmounts = 0;
	snprintf(path, sizeof(path), "%s/mounts", c->statedir);
	if (!(f = fopen(path, "re")))
		return;
	while (c->nmounts < SCAN_MOUNTS_MAX && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		size_t n = strlen(line);

		if (line[0] == '/' && n < PATH_MAX)
			memcpy(c->mounts[c->nmounts++], line, n + 1);
	}
	fclose(f);
}

int scan_ctx_init(struct scan_ctx *c, struct statedb *db, const char *statedir)
{
	memset(c, 0, sizeof(*c));
	c->db = db;
	if (!realpath(statedir, c->statedir))
		return -errno;
	scan_reload_mounts(c);
	return 0;
}

static bool mount_allowed(const struct scan_ctx *c, const char *path)
{
	for (size_t i = 0; i < c->nmounts; i++)
		if (strcmp(c->mounts[i], path) == 0)
			return true;
	return false;
}

struct walk {
	struct scan_ctx *c;
	int64_t now_ns;
	struct scan_stats *st;
	struct shipped *s;        /* scratch */
	unsigned batch;           /* writes in the open transaction */
	char path[PATH_MAX];
};

/* Commits every few hundred writes so the shipper thread, which shares
 * the database, is not held off for a whole scan. */
static int batch_tick(struct walk *w)
{
	int rc;

	if (++w->batch < 256)
		return 0;
	w->batch = 0;
	if ((rc = statedb_commit(w->c->db)) < 0)
		return statedb_begin(w->c->db) < 0 ? rc : rc;
	return statedb_begin(w->c->db);
}

/* Compares one entry with the shipped table; queues it when it differs. */
static int visit(struct walk *w, const struct stat *st)
{
	int rc;

	w->st->entries++;
	if ((rc = batch_tick(w)) < 0)
		return rc;
	rc = statedb_get(w->c->db, w->path, w->s);
	if (rc == -ENOENT || (rc == 0 && scan_differs(st, w->s))) {
		w->st->queued++;
		return statedb_enqueue(w->c->db, w->path, w->now_ns, w->now_ns, "scan");
	}
	if (rc == 0 && scan_racy(w->s)) {
		int64_t due = w->s->mtime_ns + SCAN_RACY_NS;

		w->st->queued++;
		return statedb_enqueue(w->c->db, w->path, w->now_ns,
				       due > w->now_ns ? due : w->now_ns, "racy");
	}
	return rc;
}

static int walk_dir(struct walk *w, int dfd, dev_t rootdev, int depth);

/* A database's -wal (or -journal) changes while the main file keeps its
 * stat: when the companion moved after the database was last captured,
 * queue the database. */
static int companion_changed(struct walk *w, int dfd, const char *name)
{
	size_t n = strlen(w->path), k;
	struct stat st;
	int rc = 0;

	if (has_suffix(w->path, "-wal"))
		k = 4;
	else if (has_suffix(w->path, "-journal"))
		k = 8;
	else
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	w->path[n - k] = '\0';
	if (statedb_get(w->c->db, w->path, w->s) == 0 &&
	    scan_ts(&st.st_mtim) >= w->s->capture_ns - SCAN_RACY_NS) {
		w->st->queued++;
		rc = statedb_enqueue(w->c->db, w->path, w->now_ns, w->now_ns, "companion");
	}
	w->path[n - k] = '-';   /* both suffixes start with it */
	return rc;
}

static int walk_entry(struct walk *w, int dfd, const char *name, dev_t rootdev, int depth)
{
	size_t len = strlen(w->path);
	struct stat st;
	int rc = 0, cfd;

	if (len + 1 + strlen(name) >= sizeof(w->path))
		return 0;   /* too long to ship: path_valid would refuse it */
	snprintf(w->path + len, sizeof(w->path) - len, "%s%s", len == 1 ? "" : "/", name);
	if (scan_excluded(w->c, w->path)) {
		rc = companion_changed(w, dfd, name);
		goto out;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !scan_type(st.st_mode))
		goto out;   /* vanished, or a fifo/socket/device */
	if (S_ISDIR(st.st_mode) && st.st_dev != rootdev && !mount_allowed(w->c, w->path))
		goto out;   /* another mount: not ours */
	if ((rc = visit(w, &st)) < 0)
		goto out;
	if (S_ISDIR(st.st_mode) && depth < SCAN_DEPTH_MAX) {
		cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd >= 0)
			rc = walk_dir(w, cfd, st.st_dev, depth + 1);   /* closes cfd */
	}
out:
	w->path[len] = '\0';
	return rc;
}

static int walk_dir(struct walk *w, int dfd, dev_t rootdev, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((rc = walk_entry(w, dirfd(d), de->d_name, rootdev, depth)) < 0)
			break;
	}
	closedir(d);
	return rc;
}

/* True when dir is a mountpoint now: its device differs from its parent's. */
static bool mounted_now(const char *dir)
{
	char parent[PATH_MAX];
	struct stat a, b;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	if (!(slash = strrchr(parent, '/')))
		return false;
	slash[slash == parent] = '\0';   /* "/x" -> "/" */
	return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* A path below a registered vigil-simfs mountpoint that is not mounted now
 * (simfs stopped: the phone shutting down, an upgrade) is out of sight, not
 * deleted: its versions stay the latest until simfs shows it again. */
static bool under_absent_mount(const struct scan_ctx *c, const char *path)
{
	for (size_t i = 0; i < c->nmounts; i++) {
		size_t n = strlen(c->mounts[i]);

		if (strncmp(path, c->mounts[i], n) == 0 && path[n] == '/' &&
		    !mounted_now(c->mounts[i]))
			return true;
	}
	return false;
}

static int check_gone(void *arg, const struct shipped *s)
{
	struct walk *w = arg;
	struct stat st;

	if (lstat(s->path, &st) == 0 && scan_type(st.st_mode))
		return 0;
	if (under_absent_mount(w->c, s->path))
		return 0;
	if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != 0)
		return 0;   /* unreadable now (EACCES...): not evidence of deletion */
	w->st->deleted++;
	return statedb_enqueue(w->c->db, s->path, w->now_ns, w->now_ns, "gone");
}

int scan_tree(struct scan_ctx *c, const char *dir, int64_t now_ns, struct scan_stats *st)
{
	struct scan_stats dummy = { 0 };
	struct walk *w;
	struct stat sb;
	int rc, dfd;

	if (!(w = calloc(1, sizeof(*w))) || !(w->s = malloc(sizeof(*w->s)))) {
		free(w);
		return -ENOMEM;
	}
	w->c = c;
	w->now_ns = now_ns;
	w->st = st ? st : &dummy;
	snprintf(w->path, sizeof(w->path), "%s", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &sb) < 0) {
		rc = -errno;
		if (dfd >= 0)
			close(dfd);
		if (rc == -ENOENT || rc == -ENOTDIR)   /* the dir itself went away */
			rc = statedb_each_under(c->db, dir, check_gone, w);
		goto out;
	}
	if ((rc = statedb_begin(c->db)) < 0) {
		close(dfd);
		goto out;
	}
	if (!scan_excluded(c, dir))
		rc = visit(w, &sb);
	if (rc >= 0)
		rc = walk_dir(w, dfd, sb.st_dev, 0);
	else
		close(dfd);
	if (rc >= 0)
		rc = statedb_each_under(c->db, dir, check_gone, w);
	if (statedb_commit(c->db) < 0 && rc >= 0)
		rc = -EIO;
out:
	free(w->s);
	free(w);
	return rc < 0 ? rc : 0;
}
