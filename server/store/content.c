/* content.c — building a version: bytes through the chunker (FastCDC, or
 * page-sized chunks for SQLite databases), each chunk stored under the
 * device's key and added to the chunk tree; copying from a base version
 * reuses its chunks where chunk boundaries line up.
 * Resumable uploads (checkpoint/resume) are in content_upload.c, runs of
 * zeros in content_zero.c. */
#include "server/store/content_int.h"
#include "server/store/content_vb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "common/chash.h"
#include "common/chunker.h"
#include "common/chunktree.h"

int content_sha256_of(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

int vb_latch(struct vbuild *vb, int r)
{
	if (r < 0 && vb->err == 0)
		vb->err = r;
	return r;
}

int vb_check_gone(struct vbuild *vb)
{
	if (vb->gone && vb->gone(vb->gone_arg))
		return vb_latch(vb, -ECANCELED);
	return 0;
}

void vbuild_set_limits(struct vbuild *vb, uint64_t max_size, content_cancel_fn gone, void *arg)
{
	vb->max_size = max_size < CONTENT_SIZE_MAX ? max_size : CONTENT_SIZE_MAX;
	vb->gone = gone;
	vb->gone_arg = arg;
}

static int put_page(void *arg, const uint8_t hash[32], const uint8_t *page, size_t len)
{
	struct vbuild *vb = arg;
	uint8_t id[STORE_ID_LEN];
	int r;

	if ((r = store_idmac(vb->mac, hash, id)) < 0)
		return r;
	return store_batch_put(vb->batch, id, page, len);
}

/* Records a chunk entry for the next checkpoint (bounded; see content.h). */
static void log_entry(struct vbuild *vb, const uint8_t sha[32], uint32_t len)
{
	struct vb_entry *n;

	if (vb->log_overflow)
		return;
	if (vb->nlog == vb->caplog) {
		size_t cap = vb->caplog ? vb->caplog * 2 : 256;

		if (cap > VB_LOG_MAX || !(n = realloc(vb->log, cap * sizeof(*n)))) {
			vb->log_overflow = true;
			return;
		}
		vb->log = n;
		vb->caplog = cap;
	}
	memcpy(vb->log[vb->nlog].sha, sha, 32);
	vb->log[vb->nlog++].len = len;
}

int vb_add_entry(struct vbuild *vb, const uint8_t sha[32], uint32_t len)
{
	int r = ctree_add(vb->tb, sha, len);

	if (r < 0)
		return r;
	log_entry(vb, sha, len);
	vb->emitted += len;
	return 0;
}

/* A chunk's sha256, with the build's own context (no look-up of SHA-256
 * per chunk). */
static int chunk_sha(struct vbuild *vb, const uint8_t *data, size_t len, uint8_t sha[32])
{
	unsigned int n = 32;

	if (EVP_DigestInit_ex2(vb->csha, vb->md, NULL) != 1 ||
	    EVP_DigestUpdate(vb->csha, data, len) != 1 || EVP_DigestFinal_ex(vb->csha, sha, &n) != 1)
		return -EIO;
	return 0;
}

static int on_chunk(void *arg, const uint8_t *data, size_t len)
{
	struct vbuild *vb = arg;
	uint8_t sha[32], id[STORE_ID_LEN];
	int r;

	if ((r = chunk_sha(vb, data, len, sha)) < 0 || (r = store_idmac(vb->mac, sha, id)) < 0)
		return r;
	if ((r = store_batch_put(vb->batch, id, data, len)) < 0)
		return r;
	return vb_add_entry(vb, sha, (uint32_t)len);
}

/* The writer's half of a pipelined build: the chunk is hashed here, stored
 * by the worker (content_pipe.c). */
static int on_chunk_piped(void *arg, const uint8_t *data, size_t len)
{
	struct vbuild *vb = arg;
	uint8_t sha[32];
	int r;

	if ((r = chunk_sha(vb, data, len, sha)) < 0)
		return r;
	return vb_pipe_chunk(vb, sha, data, len);
}

void vbuild_set_pipe(struct vbuild *vb, uint64_t start_at) { vb->pipe_at = start_at; }
bool vbuild_pipelined(const struct vbuild *vb) { return vb->piped; }

/* A builder writing into batch b (the caller's, never piped: the caller
 * owns and commits it), or into a batch of its own when b is NULL.  A
 * batch made only to be freed again cost a zstd context, a guard and a
 * hash table per item of a batched put (3 % of the server's CPU on
 * 4 KiB files). */
static int vb_new(struct store *st, const struct devkey *key, struct store_batch *b,
		  struct vbuild **out)
{
	struct vbuild *vb = calloc(1, sizeof(*vb));
	int r = -ENOMEM;

	*out = NULL;
	if (!vb)
		return -ENOMEM;
	vb->st = st;
	vb->key = *key;
	vb->ckpt_fd = -1;
	vb->max_size = CONTENT_SIZE_MAX;
	vb->pipe_at = b ? UINT64_MAX : PIPE_START;
	vb->batch = b;
	vb->shared = b != NULL;
	if (!b && (r = store_batch_new(st, &vb->batch)) < 0)
		goto fail;
	r = -ENOMEM;
	vb->ch = chunker_new();
	vb->tb = ctree_builder_new(put_page, vb);
	vb->whole = chash_new(CHASH_SHA256 | CHASH_DIGEST);
	vb->csha = EVP_MD_CTX_new();
	vb->md = content_md_sha256();
	vb->mac = store_idmac_new(key);
	if (!vb->ch || !vb->tb || !vb->whole || !vb->csha || !vb->md || !vb->mac)
		goto fail;
	*out = vb;
	return 0;
fail:
	vbuild_free(vb);
	return r;
}

int vbuild_new(struct store *st, const struct devkey *key, struct vbuild **out)
{
	return vb_new(st, key, NULL, out);
}

int vbuild_new_shared(struct store *st, const struct devkey *key, struct store_batch *b,
		      struct vbuild **out)
{
	return vb_new(st, key, b, out);
}

void vbuild_free(struct vbuild *vb)
{
	if (!vb)
		return;
	vb_pipe_stop(vb);   /* first: the worker uses the batch and the tree */
	vreader_free(vb->base);
	if (!vb->shared)
		store_batch_free(vb->batch);
	chunker_free(vb->ch);
	ctree_builder_free(vb->tb);
	chash_free(vb->whole);
	EVP_MD_CTX_free(vb->csha);
	store_idmac_free(vb->mac);
	vb_ckpt_close(vb);
	free(vb->log);
	free(vb->buf);
	free(vb);
}

uint64_t vbuild_size(const struct vbuild *vb) { return vb->size; }

/* piped: the caller's own bytes, which may go through the pipeline; a
 * copy or a run of zeros (which synced it first, and read what the
 * worker keeps between their writes) writes serially. */
int vb_write(struct vbuild *vb, const void *p, size_t n, bool piped)
{
	int r;

	if (vb->err)
		return vb->err;
	if (vb->finished)
		return vb_latch(vb, -EINVAL);
	if (n > vb->max_size - vb->size)
		return vb_latch(vb, -EFBIG);
	if (n == 0)
		return 0;
	if ((r = chash_feed(vb->whole, p, n)) < 0)
		return vb_latch(vb, r);
	vb->size += n;
	if (piped && !vb->pipe && vb->size >= vb->pipe_at && vb_pipe_start(vb) == 0)
		vb->piped = true;          /* (without it, serially) */
	r = chunker_feed(vb->ch, p, n, piped && vb->pipe ? on_chunk_piped : on_chunk, vb);
	return vb_latch(vb, r);
}

int vbuild_cuts(struct vbuild *vb, const uint32_t *len, size_t n)
{
	uint64_t seed;
	int r;

	if (vb->err)
		return vb->err;
	if (!vb->cuts) {   /* which chunks are scanned whole: unknown to the device */
		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			return vb_latch(vb, -errno);
		chunker_take_cuts(vb->ch, VB_CUTS_SAMPLE, seed);
		vb->cuts = true;
	}
	r = chunker_push_cuts(vb->ch, len, n);
	return r == -ENOSPC ? -EPROTO : vb_latch(vb, r);
}

int vbuild_write(struct vbuild *vb, const void *p, size_t n)
{
	return vb_write(vb, p, n, true);
}

int vb_need_buf(struct vbuild *vb)
{
	if (!vb->buf && !(vb->buf = malloc(COPY_BUF)))
		return -ENOMEM;
	return 0;
}

static int base_reader(struct vbuild *vb, const struct content_ref *base)
{
	uint8_t head[CHUNK_DETECT_LEN];
	ssize_t k;
	int r;

	if (vb->base && !memcmp(vreader_ref(vb->base), base, sizeof(*base)))
		return 0;
	vreader_free(vb->base);
	vb->base = NULL;
	if ((r = vreader_open(vb->st, &vb->key, base, &vb->base)) < 0)
		return r;
	k = vreader_pread(vb->base, head, sizeof(head), 0);
	if (k < 0)
		return (int)k;
	vb->base_mode = chunker_detect(head, (size_t)k);
	return 0;
}

/* Feeds base[off, off+n) as bytes. */
static int copy_bytes(struct vbuild *vb, uint64_t off, uint64_t n)
{
	ssize_t k;
	int r;

	while (n > 0) {
		k = vreader_pread(vb->base, vb->buf, n < COPY_BUF ? (size_t)n : COPY_BUF, off);
		if (k <= 0)
			return k < 0 ? (int)k : -EIO;
		if ((r = vb_write(vb, vb->buf, (size_t)k, false)) < 0)
			return r;
		off += (uint64_t)k;
		n -= (uint64_t)k;
	}
	return 0;
}

/* Would the chunker, fed base chunk c from here, cut exactly c?  Only at a
 * boundary of the new stream once its mode is known (so never for its first
 * chunk).  In a fixed mode any chunk of exactly that size is cut the same.
 * FastCDC decides a cut from the chunk's own bytes only, so a chunk the
 * base's FastCDC cut by content (not its last, cut by the end) is cut the
 * same again; a fixed-mode base's chunks were not cut by content. */
static bool reusable(const struct vbuild *vb, const struct vchunk *c)
{
	uint32_t m = chunker_mode(vb->ch);

	if (vb->size != vb->emitted || m == CHUNK_MODE_UNSET)
		return false;
	if (m == CHUNK_MODE_CDC)
		return vb->base_mode == CHUNK_MODE_CDC && !c->last;
	return c->len == m;
}

/* Appends a base chunk as is (reusable() said the chunker would cut it the
 * same way).  Its bytes are read back only to keep the whole-content
 * sha256. */
static int reuse_chunk(struct vbuild *vb, const struct vchunk *c)
{
	ssize_t k;
	int r;

	if (!vb->no_sha) {
		k = vreader_pread(vb->base, vb->buf, c->len, c->start);
		if (k != (ssize_t)c->len)
			return k < 0 ? (int)k : -EIO;
		if ((r = chash_feed(vb->whole, vb->buf, c->len)) < 0)
			return r;
	}
	if ((r = vb_add_entry(vb, c->sha, c->len)) < 0)
		return r;
	vb->size += c->len;
	vb->reused += c->len;
	return 0;
}

/* Appends the largest base subtree that starts at off and fits in len as
 * one tree entry, reading nothing below it (ctree_add_subtree).  Only when
 * the caller wants no sha256 and keeps no entry log (PUT_RANGES: both
 * would need every chunk), at a chunk boundary of the new stream, and when
 * the chunker would cut every chunk below the same way: the base's mode is
 * the stream's (FastCDC, or the same fixed size) and the subtree stops
 * short of the base's final chunk.  So a copy of n bytes costs the pages
 * along two paths of the base tree, not n / 10 KiB chunk entries.
 * Returns the bytes appended, 0 when no subtree fits (add chunks), or
 * -errno. */
static int64_t reuse_subtree(struct vbuild *vb, uint64_t off, uint64_t len)
{
	struct vsubtree t[VSUBTREE_MAX];
	uint32_t m = chunker_mode(vb->ch);
	int n, i, r;

	if (!vb->no_sha || !vb->log_overflow || vb->size != vb->emitted ||
	    m == CHUNK_MODE_UNSET || m != vb->base_mode)
		return 0;
	if ((n = vreader_subtrees_at(vb->base, off, len, t)) <= 0)
		return n;
	for (i = 0; i < n; i++) {
		r = ctree_add_subtree(vb->tb, t[i].level, t[i].hash, t[i].bytes);
		if (r == -EAGAIN)
			continue;
		if (r < 0)
			return r;
		vb->emitted += t[i].bytes;
		vb->size += t[i].bytes;
		vb->reused += t[i].bytes;
		return (int64_t)t[i].bytes;
	}
	return 0;
}

int vbuild_copy(struct vbuild *vb, const struct content_ref *base, uint64_t off, uint64_t len)
{
	int64_t k;
	struct vchunk c;
	uint64_t n;
	int r;

	if (vb->err)
		return vb->err;
	if (off > base->size || len > base->size - off)
		return vb_latch(vb, -EBADMSG);
	if (len > vb->max_size - vb->size)
		return vb_latch(vb, -EFBIG);
	if (len == 0)
		return 0;
	if ((r = vb_pipe_sync(vb)) < 0)
		return r;
	if ((r = vb_need_buf(vb)) < 0 || (r = base_reader(vb, base)) < 0)
		return vb_latch(vb, r);
	while (len > 0) {
		if ((r = vb_check_gone(vb)) < 0)
			return r;
		if ((k = reuse_subtree(vb, off, len)) < 0)
			return vb_latch(vb, (int)k);
		if (k > 0) {
			off += (uint64_t)k;
			len -= (uint64_t)k;
			continue;
		}
		if ((r = vreader_chunk_at(vb->base, off, &c)) < 0)
			return vb_latch(vb, r);
		if (c.start == off && c.len <= len && c.len <= COPY_BUF && reusable(vb, &c)) {
			r = reuse_chunk(vb, &c);
			n = c.len;
		} else {
			n = c.start + c.len - off;
			if (n > len)
				n = len;
			r = copy_bytes(vb, off, n);
		}
		if (r < 0)
			return vb_latch(vb, r);
		off += n;
		len -= n;
	}
	return 0;
}

int vbuild_finish(struct vbuild *vb, struct content_ref *out)
{
	uint8_t unused_root[32];   /* the tree's root comes from vb->tb */
	uint64_t size = 0, fed;
	int r;

	if (vb->err)
		return vb->err;
	if (vb->finished)
		return vb_latch(vb, -EINVAL);
	if ((r = vb_pipe_sync(vb)) < 0)
		return r;
	r = chunker_flush(vb->ch, on_chunk, vb);
	if (r == 0)
		r = ctree_finish(vb->tb, out->root, &size);
	if (r == 0 && size != vb->size)
		r = -EIO;
	if (r == 0 && !vb->shared)
		r = store_batch_commit(vb->batch);
	/* the upload's chunks are the version's now: never collected as abandoned */
	if (r == 0 && vb->owner)
		r = store_owner_release(vb->st, vb->owner);
	if (r == 0)
		r = chash_finish(vb->whole, vb->sha_out, unused_root, &fed);
	if (r < 0)
		return vb_latch(vb, r);
	out->size = size;
	vb->finished = true;
	return 0;
}

int vbuild_digest(const struct vbuild *vb, uint8_t out[16])
{
	/* reused base chunks are not fed to it: only a build of bytes alone */
	if (!vb->finished || vb->err || vb->reused)
		return -EINVAL;
	chash_digest(vb->whole, out);
	return 0;
}

int vbuild_digest_only(struct vbuild *vb)
{
	struct chash *h;

	if (vb->size || vb->err || vb->finished)
		return -EINVAL;
	if (!(h = chash_new(CHASH_DIGEST)))
		return -ENOMEM;
	chash_free(vb->whole);
	vb->whole = h;
	vb->no_sha = true;
	return 0;
}

int vbuild_sha256(const struct vbuild *vb, uint8_t out[32])
{
	if (!vb->finished || vb->err || vb->no_sha)
		return -EINVAL;
	memcpy(out, vb->sha_out, 32);
	return 0;
}
