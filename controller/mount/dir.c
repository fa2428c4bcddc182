/* dir.c — cached listings for the mount (see dir.h).
 *
 * A listing is built from the server's entries into one node array and one
 * string arena, sorted by name.  The table maps "<kind><path>" to listings;
 * listings nobody holds sit on an LRU list and are freed oldest first while
 * the cache is over its byte budget.  Two threads missing the same listing
 * may both fetch it; the second result is dropped. */
#include "controller/mount/dir.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/chunktree.h"
#include "common/fnv.h"
#include "common/timefmt.h"
#include "common/wire.h"
#include "common/xattrs.h"

#define MDIRS_BUCKETS 4096
#define ARENA_MAX     ((size_t)1 << 30)
#define INFLIGHT_MAX  16     /* listings being fetched, tracked so none is fetched twice */
#define PREFETCH_MAX  64     /* queued prefetches */

struct listing {
	struct mdir pub;             /* first: mdirs_put gets it back */
	char *key;                   /* "<kind><path>" */
	struct mnode *nodes;
	struct buf arena;
	size_t bytes;
	unsigned refs;
	struct listing *hnext;       /* hash chain */
	TAILQ_ENTRY(listing) lru;    /* on d->lru when refs == 0 */
	bool on_lru;
};

struct mdirs {
	pthread_mutex_t lock;
	struct mconn *mc;
	const char *dev;
	int64_t at;
	size_t max_bytes, bytes;
	struct listing *buckets[MDIRS_BUCKETS];
	TAILQ_HEAD(, listing) lru;      /* unheld listings, oldest first */
	char *inflight[INFLIGHT_MAX];   /* keys being fetched (NULL: free) */
	pthread_cond_t loaded;          /* an inflight fetch ended */
	/* prefetch: keys queued for the workers */
	char *queue[PREFETCH_MAX];
	size_t qhead, qlen;
	pthread_cond_t work;
	bool stop;
	int nworkers;
	pthread_t workers[MDIRS_PREFETCH_THREADS];
};

static size_t str_hash(const char *s)
{
	return (size_t)(fnv1a64_str(FNV64_BASIS, s) % MDIRS_BUCKETS);
}

struct mdirs *mdirs_new(struct mconn *mc, const char *dev, int64_t at, size_t max_bytes)
{
	struct mdirs *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->loaded, NULL);
	pthread_cond_init(&d->work, NULL);
	TAILQ_INIT(&d->lru);
	d->mc = mc;
	d->dev = dev;
	d->at = at;
	d->max_bytes = max_bytes;
	return d;
}

static void listing_free(struct listing *l)
{
	if (!l)
		return;
	free(l->key);
	free(l->nodes);
	buf_free(&l->arena);
	free(l);
}

void mdirs_free(struct mdirs *d)
{
	struct listing *l, *next;
	size_t i;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_broadcast(&d->work);
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < (size_t)d->nworkers; i++)
		pthread_join(d->workers[i], NULL);
	for (; d->qlen > 0; d->qlen--, d->qhead = (d->qhead + 1) % PREFETCH_MAX)
		free(d->queue[d->qhead]);
	for (i = 0; i < MDIRS_BUCKETS; i++)
		for (l = d->buckets[i]; l; l = next) {
			next = l->hnext;
			listing_free(l);
		}
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->loaded);
	pthread_cond_destroy(&d->work);
	free(d);
}

/* ------------------------------------------------------------- building */

struct build {
	struct listing *l;
	size_t cap;
	enum mdir_kind kind;
	const char *path;            /* the listed directory (TREE) or file (LOG) */
	size_t plen;
	/* arena offsets until the arena stops moving */
	size_t *name_off, *link_off, *xattr_off;
};

/* Appends s (n bytes + NUL) to the arena; its offset, or -errno. */
static long arena_add(struct buf *a, const void *s, size_t n, bool nul)
{
	size_t off = a->len;

	if (buf_append(a, s, n) < 0 || (nul && buf_append(a, "", 1) < 0))
		return -ENOMEM;
	return (long)off;
}

static int grow(struct build *bd)
{
	size_t ncap = bd->cap ? bd->cap * 2 : 64;
	void *p;

	if (ncap > MDIR_ENTRIES_MAX)
		return -E2BIG;
	if (!(p = realloc(bd->l->nodes, ncap * sizeof(struct mnode))))
		return -ENOMEM;
	bd->l->nodes = p;
	if (!(p = realloc(bd->name_off, ncap * 3 * sizeof(size_t))))
		return -ENOMEM;
	bd->name_off = p;
	bd->cap = ncap;
	return 0;
}

/* The name an entry gets in this listing, or NULL to skip it. */
static const char *entry_name(struct build *bd, const struct vg_entry *e, char *tmp, size_t cap)
{
	char t[TIMEFMT_MAX];
	const char *slash;

	if (bd->kind == MDIR_LOG) {
		if (e->deleted || (e->type != VG_FILE && e->type != VG_SYMLINK) ||
		    strcmp(e->path, bd->path) != 0)
			return NULL;
		snprintf(tmp, cap, "%" PRIu64 "_%s", e->version,
			 timefmt_format(e->capture_ns, t, sizeof(t)));
		return tmp;
	}
	/* TREE: only direct children (LS of a file answers with the file) */
	if (e->deleted || strncmp(e->path, bd->path, bd->plen) != 0)
		return NULL;
	slash = e->path + bd->plen;
	if (bd->plen > 1 && *slash++ != '/')
		return NULL;
	if (!*slash || strchr(slash, '/') || !strcmp(slash, ".") || !strcmp(slash, ".."))
		return NULL;
	return slash;
}

static int take_entry(void *arg, const struct vg_entry *e)
{
	struct build *bd = arg;
	struct listing *l = bd->l;
	char tmp[64 + TIMEFMT_MAX];
	const char *name = entry_name(bd, e, tmp, sizeof(tmp));
	struct mnode *n;
	size_t i = l->pub.n;
	long o1, o2, o3;
	int r;

	if (!name || (e->type != VG_FILE && e->type != VG_DIR && e->type != VG_SYMLINK))
		return 0;
	if (i == bd->cap && (r = grow(bd)) < 0)
		return r;
	n = &l->nodes[i];
	memset(n, 0, sizeof(*n));
	n->type = e->type;
	n->mode = e->mode & 07777;
	n->uid = e->uid;
	n->gid = e->gid;
	n->size = e->type == VG_FILE ? e->size : e->type == VG_SYMLINK ? strlen(e->link) : 0;
	n->version = e->version;
	n->mtime_ns = e->mtime_ns;
	n->capture_ns = e->capture_ns;
	memcpy(n->id, e->tree_root, 32);
	if (e->type == VG_FILE && !memcmp(n->id, (uint8_t[32]){ 0 }, 32)) {
		char key[PATH_MAX + 32];
		int kn = snprintf(key, sizeof(key), "%s\n%" PRIu64, e->path, e->version);

		ctree_sha256(key, (size_t)kn, n->id);
	}
	n->xattr_len = e->xattr_len <= VG_XATTR_MAX ? e->xattr_len : 0;
	o1 = arena_add(&l->arena, name, strlen(name), true);
	o2 = arena_add(&l->arena, e->link, e->type == VG_SYMLINK ? strlen(e->link) : 0, true);
	o3 = arena_add(&l->arena, e->xattrs, n->xattr_len, false);
	if (o1 < 0 || o2 < 0 || o3 < 0)
		return -ENOMEM;
	bd->name_off[i * 3] = (size_t)o1;
	bd->name_off[i * 3 + 1] = (size_t)o2;
	bd->name_off[i * 3 + 2] = (size_t)o3;
	l->pub.n++;
	return 0;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mnode *)a)->name, ((const struct mnode *)b)->name);
}

/* Fetches a listing from the server; *out has refs == 1. */
static int build(struct mdirs *d, enum mdir_kind kind, const char *path, struct listing **out)
{
	struct build bd = { .kind = kind, .path = path, .plen = strlen(path) };
	struct listing *l = calloc(1, sizeof(*l));
	size_t i;
	int r;

	if (!l)
		return -ENOMEM;
	bd.l = l;
	buf_init(&l->arena, ARENA_MAX);
	if (kind == MDIR_TREE)
		r = mconn_ls(d->mc, d->dev, path, d->at, take_entry, &bd);
	else
		r = mconn_log(d->mc, d->dev, path, take_entry, &bd);
	if (r == 0 && kind == MDIR_LOG && l->pub.n == 0)
		r = -ENOENT;
	if (r == 0 && !(l->key = malloc(bd.plen + 2)))
		r = -ENOMEM;
	if (r < 0) {
		free(bd.name_off);
		listing_free(l);
		return r;
	}
	l->key[0] = (char)kind;
	memcpy(l->key + 1, path, bd.plen + 1);
	for (i = 0; i < l->pub.n; i++) {   /* the arena stopped moving */
		l->nodes[i].name = (const char *)l->arena.data + bd.name_off[i * 3];
		l->nodes[i].link = (const char *)l->arena.data + bd.name_off[i * 3 + 1];
		l->nodes[i].xattrs = l->arena.data + bd.name_off[i * 3 + 2];
	}
	free(bd.name_off);
	if (l->pub.n > 1)   /* qsort(NULL, 0) is undefined */
		qsort(l->nodes, l->pub.n, sizeof(*l->nodes), node_cmp);
	l->pub.e = l->nodes;
	l->bytes = sizeof(*l) + bd.plen + 2 + bd.cap * sizeof(struct mnode) + l->arena.cap;
	l->refs = 1;
	*out = l;
	return 0;
}

/* ---------------------------------------------------------------- table */

static void lru_del(struct mdirs *d, struct listing *l)
{
	if (!l->on_lru)
		return;
	TAILQ_REMOVE(&d->lru, l, lru);
	l->on_lru = false;
}

static void lru_add(struct mdirs *d, struct listing *l)
{
	TAILQ_INSERT_TAIL(&d->lru, l, lru);
	l->on_lru = true;
}

static struct listing *lookup(struct mdirs *d, const char *key)
{
	struct listing *l;

	for (l = d->buckets[str_hash(key)]; l; l = l->hnext)
		if (!strcmp(l->key, key))
			return l;
	return NULL;
}

static void unhash(struct mdirs *d, struct listing *l)
{
	struct listing **pp = &d->buckets[str_hash(l->key)];

	while (*pp && *pp != l)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = l->hnext;
}

/* Frees unheld listings, oldest first, while over budget.  Lock held;
 * returns a chain to free outside the lock. */
static struct listing *trim(struct mdirs *d)
{
	struct listing *l, *chain = NULL;

	while (d->bytes > d->max_bytes && (l = TAILQ_FIRST(&d->lru))) {
		lru_del(d, l);
		unhash(d, l);
		d->bytes -= l->bytes;
		l->hnext = chain;
		chain = l;
	}
	return chain;
}

static void free_chain(struct listing *l)
{
	struct listing *next;

	for (; l; l = next) {
		next = l->hnext;
		listing_free(l);
	}
}

static int inflight_find(struct mdirs *d, const char *key)
{
	int i;

	for (i = 0; i < INFLIGHT_MAX; i++)
		if (d->inflight[i] && !strcmp(d->inflight[i], key))
			return i;
	return -1;
}

/* Marks key as being fetched; the slot, or -1 when the table is full
 * (the fetch then goes unmarked: at worst fetched twice).  Lock held. */
static int inflight_add(struct mdirs *d, char *key)
{
	int i;

	for (i = 0; i < INFLIGHT_MAX; i++)
		if (!d->inflight[i]) {
			d->inflight[i] = key;
			return i;
		}
	return -1;
}

/* Fetches key's listing unless cached or being fetched (then waits for
 * that fetch).  Lock held on entry and exit; returns l or NULL with *r. */
static struct listing *load(struct mdirs *d, char *key, int *r)
{
	struct listing *l, *fresh = NULL;
	int slot;

	while (!(l = lookup(d, key)) && inflight_find(d, key) >= 0)
		pthread_cond_wait(&d->loaded, &d->lock);
	if (l)
		return l;
	slot = inflight_add(d, key);
	pthread_mutex_unlock(&d->lock);
	*r = build(d, (enum mdir_kind)key[0], key + 1, &fresh);
	pthread_mutex_lock(&d->lock);
	if (slot >= 0)
		d->inflight[slot] = NULL;
	pthread_cond_broadcast(&d->loaded);
	if (*r < 0)
		return NULL;
	if ((l = lookup(d, key))) {   /* an unmarked twin won */
		listing_free(fresh);
		return l;
	}
	fresh->refs = 0;
	fresh->hnext = d->buckets[str_hash(key)];
	d->buckets[str_hash(key)] = fresh;
	d->bytes += fresh->bytes;
	return fresh;
}

static char *make_key(enum mdir_kind kind, const char *path, char *stack, size_t cap)
{
	size_t n = strlen(path);
	char *key = stack;

	if (n + 2 > cap && !(key = malloc(n + 2)))
		return NULL;
	key[0] = (char)kind;
	memcpy(key + 1, path, n + 1);
	return key;
}

int mdirs_get(struct mdirs *d, enum mdir_kind kind, const char *path, const struct mdir **out)
{
	char stack[256], *key = make_key(kind, path, stack, sizeof(stack));
	struct listing *l, *chain;
	int r = 0;

	if (!key)
		return -ENOMEM;
	pthread_mutex_lock(&d->lock);
	if ((l = load(d, key, &r))) {
		lru_del(d, l);
		l->refs++;
		*out = &l->pub;
	}
	chain = trim(d);
	pthread_mutex_unlock(&d->lock);
	free_chain(chain);
	if (key != stack)
		free(key);
	return r;
}

static void *prefetch_worker(void *arg)
{
	struct mdirs *d = arg;
	struct listing *l, *chain;
	char *key;
	int r;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		if (d->qlen == 0) {
			pthread_cond_wait(&d->work, &d->lock);
			continue;
		}
		key = d->queue[d->qhead];
		d->qhead = (d->qhead + 1) % PREFETCH_MAX;
		d->qlen--;
		/* a fresh listing nobody holds: evictable, youngest */
		if ((l = load(d, key, &r)) && l->refs == 0 && !l->on_lru)
			lru_add(d, l);
		chain = trim(d);
		pthread_mutex_unlock(&d->lock);
		free_chain(chain);
		free(key);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int mdirs_start_prefetch(struct mdirs *d)
{
	int i;

	for (i = 0; i < MDIRS_PREFETCH_THREADS; i++) {
		if (pthread_create(&d->workers[i], NULL, prefetch_worker, d) != 0)
			return d->nworkers > 0 ? 0 : -EAGAIN;
		d->nworkers++;
	}
	return 0;
}

void mdirs_prefetch(struct mdirs *d, enum mdir_kind kind, const char *path)
{
	char *key = make_key(kind, path, NULL, 0);

	if (!key)
		return;
	pthread_mutex_lock(&d->lock);
	if (d->nworkers > 0 && d->qlen < PREFETCH_MAX && !lookup(d, key) &&
	    inflight_find(d, key) < 0) {
		d->queue[(d->qhead + d->qlen) % PREFETCH_MAX] = key;
		d->qlen++;
		key = NULL;
		pthread_cond_signal(&d->work);
	}
	pthread_mutex_unlock(&d->lock);
	free(key);
}

void mdirs_put(struct mdirs *d, const struct mdir *dir)
{
	struct listing *l = (struct listing *)dir, *chain;

	if (!dir)
		return;
	pthread_mutex_lock(&d->lock);
	if (--l->refs == 0)
		lru_add(d, l);
	chain = trim(d);
	pthread_mutex_unlock(&d->lock);
	free_chain(chain);
}

const struct mnode *mdir_find(const struct mdir *dir, const char *name)
{
	size_t lo = 0, hi = dir->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, dir->e[mid].name);

		if (c == 0)
			return &dir->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int mnode_xattr_next(const struct mnode *n, size_t *pos, const char **name, size_t *nlen,
		     const uint8_t **value, size_t *vlen)
{
	return xattr_next(n->xattrs, n->xattr_len, pos, name, nlen, value, vlen);
}

size_t mdirs_bytes(struct mdirs *d)
{
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = d->bytes;
	pthread_mutex_unlock(&d->lock);
	return n;
}
