/* content_sweep.c — marking for a sweep: a version's chunk tree, an upload
 * state's entries, the pinned roots (docs/store-format.md, "Sweeping
 * unreferenced chunks").
 *
 * A page is marked after its whole subtree was, so a walk that fails
 * half-way leaves that page and its ancestors unmarked: another root that
 * shares the page walks it again (and fails the same way) instead of
 * taking it as done. */
#include "server/store/content_vb.h"
#include "server/store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chunktree.h"
#include "common/hex.h"

/* Walks the page named hash (at expected level, -1: the root) and marks
 * it after everything below it.  buf: CTREE_PAGE_BYTES_MAX bytes. */
static int mark_page(struct store *st, struct store_idmac *mac, const uint8_t hash[32], int level,
		     uint8_t *buf, uint64_t *pages)
{
	struct ctree_page pg = { 0 };
	uint8_t id[STORE_ID_LEN], pid[STORE_ID_LEN], h[32];
	size_t n, i;
	int r;

	if ((r = store_idmac(mac, hash, pid)) < 0)
		return r;
	if (store_sweep_marked(st, pid))
		return 0;   /* its subtree is marked */
	if ((r = store_get(st, pid, buf, CTREE_PAGE_BYTES_MAX, &n)) < 0)
		return r == -EMSGSIZE ? -EBADMSG : r;
	if ((r = content_sha256_of(buf, n, h)) < 0)
		return r;
	if (memcmp(h, hash, 32))
		return -EIO;
	if ((r = ctree_page_decode(buf, n, &pg)) < 0)
		return r;
	if (level >= 0 && pg.level != level)
		r = -EBADMSG;
	for (i = 0; i < pg.n && r == 0 && pg.level == 0; i++)
		if ((r = store_idmac(mac, pg.e[i].hash, id)) == 0)
			r = store_sweep_mark(st, id) < 0 ? -ENOMEM : 0;
	if (pg.level > 0 && r == 0) {
		uint8_t *child = malloc(CTREE_PAGE_BYTES_MAX);

		r = child ? 0 : -ENOMEM;
		for (i = 0; i < pg.n && r == 0; i++)
			r = mark_page(st, mac, pg.e[i].hash, pg.level - 1, child, pages);
		free(child);
	}
	ctree_page_release(&pg);
	if (r == 0 && store_sweep_mark(st, pid) < 0)
		r = -ENOMEM;
	if (r == 0)
		(*pages)++;
	return r;
}

int content_mark_tree(struct store *st, struct store_idmac *mac, const uint8_t root[32],
		      uint64_t size, uint64_t *pages)
{
	uint8_t *buf;
	int r;

	if (size == 0) {
		/* empty content reads nothing; its page is kept if stored */
		uint8_t id[STORE_ID_LEN];

		if ((r = store_idmac(mac, root, id)) < 0)
			return r;
		return store_sweep_mark(st, id) < 0 ? -ENOMEM : 0;
	}
	if (!(buf = malloc(CTREE_PAGE_BYTES_MAX)))
		return -ENOMEM;
	r = mark_page(st, mac, root, -1, buf, pages);
	free(buf);
	return r;
}

struct mark_arg { struct store *st; struct store_idmac *mac; };

static int mark_ents(void *arg, const uint8_t *ents, size_t n)
{
	struct mark_arg *m = arg;
	uint8_t id[STORE_ID_LEN];
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		if ((r = store_idmac(m->mac, ents + i * CONTENT_CHUNK_ENTRY, id)) == 0 &&
		    store_sweep_mark(m->st, id) < 0)
			r = -ENOMEM;
	return r;
}

/* The entries of one upload state file (not a .body stage: those own no
 * chunks), up to a torn record.  A builder may be appending: what it
 * appends later names chunks it committed or reused during the sweep. */
static int mark_state(struct store *st, struct store_idmac *mac, int dirfd, const char *name)
{
	struct mark_arg m = { st, mac };
	uint64_t good, n;
	int fd, r;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;   /* gone: its version is committed */
	r = upload_entries(st, fd, UINT64_MAX, mark_ents, &m, &good, &n);
	close(fd);
	return r < 0 ? r : 0;
}

int content_mark_uploads(struct store *st, const struct devkey *keys, size_t nkeys,
			 uint64_t *states)
{
	char path[PATH_MAX], dh[HEX_SIZE(8)];
	uint8_t h[32];
	struct dirent *e;
	struct store_idmac *mac;
	DIR *d;
	size_t i;
	int r = 0, dfd;

	for (i = 0; i < nkeys && r == 0; i++) {
		content_sha256_of(keys[i].k, sizeof(keys[i].k), h);
		hex_encode(h, 8, dh);
		if ((size_t)snprintf(path, sizeof(path), "%s/uploads/%s", store_dir(st), dh) >=
		    sizeof(path))
			return -ENAMETOOLONG;
		if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;   /* no upload of this device */
		if (!(d = fdopendir(dfd))) {
			close(dfd);
			return -errno;
		}
		if (!(mac = store_idmac_new(&keys[i])))
			r = -ENOMEM;
		while (r == 0 && (e = readdir(d)))
			if (e->d_name[0] != '.' && !strchr(e->d_name, '.')) {
				r = mark_state(st, mac, dirfd(d), e->d_name);
				(*states)++;
			}
		store_idmac_free(mac);
		closedir(d);
	}
	return r;
}
