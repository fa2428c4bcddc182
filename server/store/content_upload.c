/* content_upload.c — resumable WHOLE uploads.
 *
 * The state of an upload is the list of chunk entries (sha256, length) it
 * has produced so far, in DIR/store/uploads/<dev>/<token>: records of
 * {sha256[32], u32 len, u32 CRC-32 of the 36 bytes before} (big-endian),
 * appended at each checkpoint after the chunks themselves were committed to
 * the store, so every entry names a durable chunk.  Resuming re-adds the
 * entries to a fresh tree builder (the tree depends only on the entries)
 * and restarts the chunker at that boundary in the stream's mode, detected
 * from the first chunk's bytes (so the state file needs no mode field and
 * cannot disagree with the content); the client resends from the sum of
 * the lengths.  A torn last record is cut off. */
#include "server/store/content_vb.h"
#include "server/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/chunker.h"
#include "common/hex.h"
#include "common/log.h"

#define ENT_LEN 40

/* dir = DIR/store/uploads/<hex of sha256(key)[0..8]>, file = <tokenhex> */
static void upload_path(struct store *st, const struct devkey *key, const uint8_t token[16],
			char *dir, size_t dcap, char *file, size_t fcap)
{
	uint8_t h[32];
	char dh[HEX_SIZE(8)], th[HEX_SIZE(16)];

	content_sha256_of(key->k, sizeof(key->k), h);
	hex_encode(h, 8, dh);
	hex_encode(token, 16, th);
	snprintf(dir, dcap, "%s/uploads/%s", store_dir(st), dh);
	snprintf(file, fcap, "%s/%s", dir, th);
}

void vb_ckpt_close(struct vbuild *vb)
{
	if (vb->ckpt_fd >= 0)
		close(vb->ckpt_fd);
	vb->ckpt_fd = -1;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int ckpt_open(struct vbuild *vb, const uint8_t token[16], bool create)
{
	char dir[4096], file[4200];
	int fd, dfd;

	upload_path(vb->st, &vb->key, token, dir, sizeof(dir), file, sizeof(file));
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(file, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
	if (fd < 0)
		return -errno;
	if (create) {   /* the new name must survive a crash */
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0) {
			int r = -errno;
			if (dfd >= 0)
				close(dfd);
			close(fd);
			return r;
		}
		close(dfd);
	}
	vb->ckpt_fd = fd;
	memcpy(vb->ckpt_token, token, 16);
	vb->ckpt_len = 0;
	return 0;
}

static int ckpt_append(struct vbuild *vb)
{
	uint8_t rec[ENT_LEN * 256];
	size_t i = 0, k;
	uint64_t at = vb->ckpt_len;
	ssize_t w;

	while (i < vb->nlog) {
		for (k = 0; k < 256 && i < vb->nlog; k++, i++) {
			uint8_t *e = rec + k * ENT_LEN;

			memcpy(e, vb->log[i].sha, 32);
			put32(e + 32, vb->log[i].len);
			put32(e + 36, store_crc32(0, e, 36));
		}
		w = pwrite(vb->ckpt_fd, rec, k * ENT_LEN, (off_t)at);
		if (w != (ssize_t)(k * ENT_LEN))
			goto fail;
		at += (uint64_t)w;
	}
	if (fdatasync(vb->ckpt_fd) < 0)
		goto fail;
	vb->ckpt_len = at;
	vb->nlog = 0;
	return 0;
fail:
	i = (size_t)errno;
	if (ftruncate(vb->ckpt_fd, (off_t)vb->ckpt_len) < 0)
		vb->log_overflow = true;   /* file state unknown: no more checkpoints */
	return i ? -(int)i : -EIO;
}

int vbuild_checkpoint(struct vbuild *vb, const uint8_t token[16])
{
	int r;

	if (vb->err)
		return vb->err;
	if (vb->finished)
		return -EINVAL;
	if (vb->ckpt_fd >= 0 && memcmp(vb->ckpt_token, token, 16))
		return -EINVAL;          /* entries before this call are gone */
	if (vb->log_overflow)       /* too long without a checkpoint, or one failed */
		return -EOVERFLOW;
	if ((r = store_batch_commit(vb->batch)) < 0) {
		vb->err = r;             /* logged chunks may be lost: the build is void */
		return r;
	}
	if (vb->ckpt_fd < 0 && (r = ckpt_open(vb, token, true)) < 0)
		return r;
	return ckpt_append(vb);
}

/* The chunker mode of the upload, from its first chunk; in a fixed mode
 * every chunk before the resume point must be exactly that long (state
 * written by an older chunker is not: -EIO, the upload starts over). */
static int resume_mode(const uint8_t *chunk, size_t n, uint32_t *mode)
{
	if (*mode == CHUNK_MODE_UNSET)
		*mode = chunker_detect(chunk, n);
	if (*mode != CHUNK_MODE_CDC && n != *mode)
		return -EIO;
	return 0;
}

/* Re-adds the saved entries; sets *offset and the chunker's mode.  Cuts a
 * torn tail. */
static int resume_entries(struct vbuild *vb, uint64_t *offset)
{
	uint8_t rec[ENT_LEN * 256], id[STORE_ID_LEN];
	uint8_t *chunk = malloc(STORE_CHUNK_MAX);
	uint32_t mode = CHUNK_MODE_UNSET;
	uint64_t at = 0;
	ssize_t k;
	size_t i, n;
	int r = 0;

	if (!chunk)
		return -ENOMEM;
	while (r == 0 && (k = pread(vb->ckpt_fd, rec, sizeof(rec), (off_t)at)) > 0) {
		for (i = 0; i + ENT_LEN <= (size_t)k && r == 0; i += ENT_LEN) {
			const uint8_t *e = rec + i;
			uint32_t len = get32(e + 32);

			if (store_crc32(0, e, 36) != get32(e + 36) || len == 0 || len > CHUNK_MAX)
				goto torn;
			/* the chunk must still be there; it also feeds the sha256 */
			store_chunk_id(&vb->key, e, id);
			r = store_get(vb->st, id, chunk, STORE_CHUNK_MAX, &n);
			if (r == -ENOENT || (r == 0 && n != len))
				r = -EIO;
			if (r == 0)
				r = resume_mode(chunk, n, &mode);
			if (r == 0 && EVP_DigestUpdate(vb->sha, chunk, n) != 1)
				r = -EIO;
			if (r == 0 && (r = vb_add_entry(vb, e, len)) == 0) {
				vb->size += len;
				vb->nlog = 0;   /* already in the file */
				at += ENT_LEN;
			}
		}
		if ((size_t)k % ENT_LEN)
			goto torn;
	}
	goto out;
torn:
	if (ftruncate(vb->ckpt_fd, (off_t)at) < 0)
		r = -errno;
out:
	free(chunk);
	vb->nlog = 0;
	vb->ckpt_len = at;
	*offset = vb->size;
	if (r == 0) {
		chunker_reset(vb->ch);
		r = chunker_set_mode(vb->ch, mode);
	}
	return r;
}

int vbuild_resume(struct store *st, const struct devkey *key, const uint8_t token[16],
		  struct vbuild **out, uint64_t *offset)
{
	struct vbuild *vb;
	int r;

	*out = NULL;
	*offset = 0;
	if ((r = vbuild_new(st, key, &vb)) < 0)
		return r;
	if ((r = ckpt_open(vb, token, false)) < 0 || (r = resume_entries(vb, offset)) < 0) {
		vbuild_free(vb);
		*offset = 0;
		if (r == -EIO || r == -EBADMSG) {
			/* a chunk it names is gone or damaged: start the upload over */
			log_errno(r, "%s: upload state unusable, dropped", store_dir(st));
			vbuild_forget(st, key, token);
			r = -ENOENT;
		}
		return r;
	}
	*out = vb;
	return 0;
}

void vbuild_forget(struct store *st, const struct devkey *key, const uint8_t token[16])
{
	char dir[4096], file[4200];

	upload_path(st, key, token, dir, sizeof(dir), file, sizeof(file));
	unlink(file);
	rmdir(dir);    /* only succeeds when no other upload of this device remains */
}
