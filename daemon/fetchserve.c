/* fetchserve.c — streaming a path to a controller that asked for it
 * directly (fetchserve.h). */
#include "daemon/fetchserve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/rpc.h"
#include "daemon/rootwalk.h"
#include "daemon/ship.h"

#define FETCH_BUF (256 * 1024)

struct fetch {
	struct mux_stream *s;
	dev_t dev;                  /* the root's filesystem: never left */
	struct vg_entry *e;         /* scratch */
	uint8_t *buf;               /* FETCH_BUF */
	struct fetch_result *res;
	char *why;
	size_t whylen;
};

static int fail(struct fetch *f, int err, const char *path, const char *what)
{
	snprintf(f->why, f->whylen, "%s: %s", path, what ? what : strerror(-err));
	return err;
}

static int send_entry(struct fetch *f)
{
	struct buf b;
	int r;

	buf_init(&b, VG_MSG_MAX);
	proto_put_entry(&b, f->e);
	r = wire_buf_error(&b);
	if (r == 0)
		r = mux_send_msg(f->s, MSG_ENTRY, b.data, b.len);
	buf_free(&b);
	return r;
}

/* sha256 of the first size bytes of fd; -ESTALE when it has fewer now. */
static int hash_file(struct fetch *f, int fd, uint64_t size, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t off = 0;
	int r = 0;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	while (off < size && r == 0) {
		size_t want = size - off < FETCH_BUF ? (size_t)(size - off) : FETCH_BUF;
		ssize_t n = pread(fd, f->buf, want, (off_t)off);

		if (n < 0)
			r = -errno;
		else if (n == 0)
			r = -ESTALE;
		else if (!EVP_DigestUpdate(ctx, f->buf, (size_t)n))
			r = -EIO;
		else
			off += (uint64_t)n;
	}
	if (r == 0 && !EVP_DigestFinal_ex(ctx, out, NULL))
		r = -EIO;
	EVP_MD_CTX_free(ctx);
	return r;
}

/* ENTRY with size and sha256, then exactly size bytes of DATA. */
static int send_file(struct fetch *f, int fd, const char *path, const struct stat *st)
{
	uint64_t off = 0, size = (uint64_t)st->st_size;
	int r;

	ship_entry_from_stat(f->e, path, st);
	if ((r = hash_file(f, fd, size, f->e->sha256)) < 0)
		return fail(f, r, path, r == -ESTALE ? "shrank while it was read" : NULL);
	if ((r = send_entry(f)) < 0)
		return r;
	while (off < size) {
		size_t want = size - off < FETCH_BUF ? (size_t)(size - off) : FETCH_BUF;
		ssize_t n = pread(fd, f->buf, want, (off_t)off);

		if (n <= 0)
			return fail(f, n < 0 ? -errno : -ESTALE, path,
				    n < 0 ? NULL : "shrank while it was read");
		if ((r = mux_send_data(f->s, f->buf, (size_t)n)) < 0)
			return r;
		off += (uint64_t)n;
	}
	f->res->files++;
	f->res->bytes += size;
	return 0;
}

static int send_link(struct fetch *f, int dirfd, const char *name, const char *path,
		     const struct stat *st)
{
	ssize_t n;

	ship_entry_from_stat(f->e, path, st);
	n = readlinkat(dirfd, name, f->e->link, sizeof(f->e->link) - 1);
	if (n < 0)
		return fail(f, -errno, path, NULL);
	f->e->link[n] = '\0';
	f->res->links++;
	return send_entry(f);
}

static int send_any(struct fetch *f, int fd, const char *path, const struct stat *st,
		    int depth);

/* A directory's ENTRY, then its items (fd is consumed). */
static int send_dir(struct fetch *f, int fd, const char *path, const struct stat *st,
		    int depth)
{
	char child[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r;

	ship_entry_from_stat(f->e, path, st);
	if ((r = send_entry(f)) < 0) {
		close(fd);
		return r;
	}
	f->res->dirs++;
	if (depth >= FETCH_DEPTH_MAX) {
		close(fd);
		return fail(f, -ELOOP, path, "too deep");
	}
	if (!(d = fdopendir(fd))) {
		close(fd);
		return fail(f, -errno, path, NULL);
	}
	while (r == 0 && (de = readdir(d))) {
		struct stat cst;
		int cfd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "",
			     de->d_name) >= (int)sizeof(child)) {
			r = fail(f, -ENAMETOOLONG, path, "a name in it is too long");
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;   /* gone meanwhile */
			r = fail(f, -errno, child, NULL);
			break;
		}
		if (cst.st_dev != f->dev)
			continue;   /* another mount: not ours to serve */
		if (S_ISLNK(cst.st_mode)) {
			r = send_link(f, dirfd(d), de->d_name, child, &cst);
			continue;
		}
		if (!S_ISREG(cst.st_mode) && !S_ISDIR(cst.st_mode))
			continue;   /* FIFOs, sockets, devices: never opened */
		cfd = openat(dirfd(d), de->d_name,
			     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (cfd < 0) {
			if (errno == ENOENT)
				continue;
			r = fail(f, -errno, child, NULL);
			break;
		}
		r = send_any(f, cfd, child, &cst, depth + 1);
	}
	closedir(d);
	return r;
}

/* Sends what fd is (consumed), after checking it is what was stat'ed. */
static int send_any(struct fetch *f, int fd, const char *path, const struct stat *want,
		    int depth)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return fail(f, r, path, NULL);
	}
	if (st.st_dev != f->dev || (want && st.st_ino != want->st_ino)) {
		close(fd);
		return fail(f, -EAGAIN, path, "replaced while it was read");
	}
	if (S_ISDIR(st.st_mode))
		return send_dir(f, fd, path, &st, depth);
	if (S_ISREG(st.st_mode)) {
		r = send_file(f, fd, path, &st);
		close(fd);
		return r;
	}
	close(fd);
	return fail(f, -EINVAL, path, "not a regular file, directory or symlink");
}

/* The watched root path lies under (the longest), or NULL. */
static const char *root_of(const char *path, char *const *roots, size_t n)
{
	const char *best = NULL, *rel;

	for (size_t i = 0; i < n; i++)
		if (rootwalk_rel(roots[i], path, &rel) == 0 &&
		    (!best || strlen(roots[i]) > strlen(best)))
			best = roots[i];
	return best;
}

static const char *link_leaf(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* When path itself (and nothing above it) is a symlink: its directory,
 * reached beneath root (an O_PATH fd), else -errno. */
static int link_itself(const char *root, const char *path)
{
	struct stat st;
	const char *leaf;
	int dfd = rootwalk_parent(root, path, RW_NO_XDEV, &leaf);

	if (dfd < 0)
		return dfd;
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
		close(dfd);
		return -ELOOP;
	}
	return dfd;
}

/* Waits for the server's answer to the whole stream. */
static int finish(struct fetch *f)
{
	struct buf b;
	struct rpc r;
	int k = mux_send_end(f->s);

	buf_init(&b, MUX_FRAME_MAX);
	rpc_init(&r, NULL, FETCH_REPLY_MS);   /* only waits on f->s */
	if (k == 0)
		k = rpc_expect(&r, f->s, MSG_OK, &b);
	if (k < 0 && r.err[0])
		snprintf(f->why, f->whylen, "server: %s", r.err);
	buf_free(&b);
	return k;
}

int fetchserve(struct cmdlink *l, uint64_t id, const char *path, char *const *roots,
	       size_t nroots, struct fetch_result *res, char *why, size_t whylen)
{
	struct fetch f = { .res = res, .why = why, .whylen = whylen };
	const char *root = root_of(path, roots, nroots);
	struct stat rst;
	struct buf b;
	int fd = -1, r;

	memset(res, 0, sizeof(*res));
	if (!root)
		return fail(&f, -EACCES, path, "not under a watched root");
	r = rootwalk_open(root, path, O_RDONLY, RW_NO_XDEV);
	if (r == -ELOOP && (fd = link_itself(root, path)) >= 0)
		r = -ENOLINK;   /* path is a symlink: sent as one, from its directory */
	else if (r < 0)
		return fail(&f, r, path, r == -ELOOP ? "a symlink on the way (not followed)" :
			    r == -EXDEV ? "on another mount" : NULL);
	else
		fd = r;
	if (stat(root, &rst) < 0) {
		r = fail(&f, -errno, root, NULL);
		close(fd);
		return r;
	}
	f.dev = rst.st_dev;
	f.e = malloc(sizeof(*f.e));
	f.buf = malloc(FETCH_BUF);
	buf_init(&b, 64);
	wire_put_u64(&b, id);
	if (!f.e || !f.buf || wire_buf_error(&b)) {
		r = fail(&f, -ENOMEM, path, NULL);
		close(fd);
		goto out;
	}
	if (!(f.s = cmdlink_open_stream(l, MSG_DEV_FETCH, b.data, b.len))) {
		r = fail(&f, -errno, path, "no connection to the server");
		close(fd);
		goto out;
	}
	if (r == -ENOLINK) {
		struct stat lst;

		r = fstatat(fd, link_leaf(path), &lst, AT_SYMLINK_NOFOLLOW) < 0 ? -errno :
		    send_link(&f, fd, link_leaf(path), path, &lst);
		close(fd);
	} else {
		r = send_any(&f, fd, path, NULL, 0);
	}
	if (r == 0)
		r = finish(&f);
	else if (!why[0])
		fail(&f, r, path, NULL);
	cmdlink_close_stream(l, f.s);   /* without END after a failure: a reset */
out:
	buf_free(&b);
	free(f.e);
	free(f.buf);
	return r;
}
