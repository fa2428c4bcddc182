/* content_zero.c — appending a run of zeros to a version being built, at a
 * cost that does not grow with the run's length.
 *
 * A chunk's end depends only on its own bytes (common/chunker.h), so once
 * the chunker stands at a chunk boundary inside a run of zeros, every chunk
 * that ends inside the run is the same: Z zero bytes, Z fixed by the
 * stream's mode (the page size of a SQLite stream; for FastCDC the cut the
 * gear hash makes in zeros, found once by chunking zeros).  That chunk is
 * stored once and entered in the tree as a run (ctree_add_run), so a ranges
 * upload announcing a huge size and sending nothing costs no hashing of
 * zeros.  The tree is exactly the one byte-by-byte chunking gives
 * (tests/unit/test_zerofill.c compares them).  Bytes around the run (up to
 * a chunk on each side) still go through the chunker. */
#include "server/store/content_vb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/chunker.h"
#include "common/chunktree.h"

/* Zeros through the chunker, byte by byte (bounded uses only, or where the
 * sha256 or the entry log needs every byte). */
static int zero_bytes(struct vbuild *vb, uint64_t len)
{
	int r;

	if ((r = vb_need_buf(vb)) < 0)
		return vb_latch(vb, r);
	memset(vb->buf, 0, COPY_BUF);
	while (len > 0) {
		size_t k = len < COPY_BUF ? (size_t)len : COPY_BUF;

		if ((r = vb_check_gone(vb)) < 0 || (r = vb_write(vb, vb->buf, k, false)) < 0)
			return r;
		len -= k;
	}
	return 0;
}

static int first_cut(void *arg, const uint8_t *data, size_t len)
{
	*(uint32_t *)arg = (uint32_t)len;
	return 1;   /* stop: only the first chunk is wanted */
}

/* Z for mode: a fixed mode's page, or where FastCDC cuts zeros from a
 * boundary (CHUNK_MAX bytes of zeros always hold that cut). */
static int zero_len(uint32_t mode, const uint8_t *zeros, uint32_t *z)
{
	struct chunker *c;
	int r;

	if (mode != CHUNK_MODE_CDC) {
		*z = mode;
		return 0;
	}
	if (!(c = chunker_new()))
		return -ENOMEM;
	*z = 0;
	r = chunker_set_mode(c, CHUNK_MODE_CDC);
	if (r == 0 && chunker_feed(c, zeros, CHUNK_MAX, first_cut, z) != 1)
		r = -EIO;
	chunker_free(c);
	return r;
}

/* The zero chunk of the stream's mode, stored once per build. */
static int zero_chunk(struct vbuild *vb)
{
	uint32_t mode = chunker_mode(vb->ch);
	uint8_t id[STORE_ID_LEN];
	int r;

	if (vb->zmode == mode)
		return 0;
	memset(vb->buf, 0, COPY_BUF);
	if ((r = zero_len(mode, vb->buf, &vb->zlen)) < 0 ||
	    (r = content_sha256_of(vb->buf, vb->zlen, vb->zsha)) < 0)
		return r;
	store_chunk_id(&vb->key, vb->zsha, id);
	if ((r = store_batch_put(vb->batch, id, vb->buf, vb->zlen)) < 0)
		return r;
	vb->zmode = mode;
	return 0;
}

/* Appends n zero chunks, the chunker standing at a boundary. */
static int zero_run(struct vbuild *vb, uint64_t n)
{
	int r = ctree_add_run(vb->tb, vb->zsha, vb->zlen, n);

	if (r < 0)
		return vb_latch(vb, r);
	vb->size += n * vb->zlen;
	vb->emitted += n * vb->zlen;
	return 0;
}

int vbuild_zero(struct vbuild *vb, uint64_t len)
{
	uint64_t k, open;
	int r;

	if (vb->err)
		return vb->err;
	if (len > vb->max_size - vb->size)
		return vb_latch(vb, -EFBIG);
	if ((r = vb_pipe_sync(vb)) < 0)   /* reads what the worker keeps */
		return r;
	if (!vb->no_sha || !vb->log_overflow)
		return zero_bytes(vb, len);
	/* A chunk open before the run ends within CHUNK_MAX bytes; after
	 * that, the open chunk holds only zeros of the run. */
	if (vb->size != vb->emitted || chunker_mode(vb->ch) == CHUNK_MODE_UNSET) {
		k = len < CHUNK_MAX ? len : CHUNK_MAX;
		if ((r = zero_bytes(vb, k)) < 0)
			return r;
		len -= k;
	}
	if (len == 0)
		return 0;
	if ((r = vb_need_buf(vb)) < 0 || (r = zero_chunk(vb)) < 0)
		return vb_latch(vb, r);
	open = vb->size - vb->emitted;   /* < zlen, else it would have ended */
	k = open ? vb->zlen - open : 0;
	if ((r = zero_bytes(vb, k < len ? k : len)) < 0 || k >= len)
		return r;
	len -= k;
	if ((r = zero_run(vb, len / vb->zlen)) < 0)
		return r;
	return zero_bytes(vb, len % vb->zlen);
}
