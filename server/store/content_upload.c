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
 * the lengths.  A torn last record is cut off.
 *
 * The first record is a header naming the upload's owner id (store.h:
 * its provisional chunks): magic "VGUPLD01", u64 owner, 16 zero bytes, len
 * 0, CRC.  A file without one (written before it existed) has owner 0 and
 * its chunks are left to the sweeper.  A builder holds an exclusive flock
 * on its state file for as long as it lives, so content_expire.c never
 * collects an upload in use; the file's mtime (each checkpoint appends) is
 * when it was last touched. */
#include "server/store/content_vb.h"
#include "server/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/byteorder.h"
#include "common/chash.h"
#include "common/chunker.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"

#define ENT_LEN 40

void upload_path(struct store *st, const struct devkey *key, const uint8_t token[16],
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

static const uint8_t hdr_magic[8] = { 'V', 'G', 'U', 'P', 'L', 'D', '0', '1' };

/* The owner a header record names, or 0 when e is not one. */
static uint64_t hdr_owner(const uint8_t *e)
{
	if (memcmp(e, hdr_magic, 8) || be32_get(e + 32) != 0 || store_crc32(0, e, 36) != be32_get(e + 36))
		return 0;
	return (uint64_t)be32_get(e + 8) << 32 | be32_get(e + 12);
}

uint64_t upload_owner_fd(int fd)
{
	uint8_t e[ENT_LEN];

	return pread(fd, e, ENT_LEN, 0) == ENT_LEN ? hdr_owner(e) : 0;
}

int upload_lock_open(int dirfd, const char *name, int oflags)
{
	struct stat sb;
	int fd, tries;

	for (tries = 0; tries < 4; tries++) {
		fd = openat(dirfd, name, oflags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			return errno == EWOULDBLOCK ? -EBUSY : -errno;
		}
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			close(fd);
			return -EINVAL;
		}
		if (sb.st_nlink > 0)
			return fd;
		close(fd);   /* collected while we waited for the lock */
		if (!(oflags & O_CREAT))
			return -ENOENT;
	}
	return -EAGAIN;
}

/* A new upload's state: whatever an older one of this token left is
 * collected, then the header with a fresh owner, made durable. */
static int ckpt_start(struct vbuild *vb, const char *dir)
{
	uint8_t e[ENT_LEN] = { 0 };
	uint64_t owner = upload_owner_fd(vb->ckpt_fd);
	int dfd, r = 0;

	if (owner && (r = store_owner_collect(vb->st, owner, NULL, NULL)) < 0)
		return r;
	do {
		if (getrandom(&owner, sizeof(owner), 0) != sizeof(owner))
			return -errno;
		owner &= INT64_MAX;   /* an SQLite integer */
	} while (!owner);
	memcpy(e, hdr_magic, 8);
	be64_put(e + 8, owner);
	be32_put(e + 36, store_crc32(0, e, 36));
	if (ftruncate(vb->ckpt_fd, 0) < 0 || pwrite(vb->ckpt_fd, e, ENT_LEN, 0) != ENT_LEN ||
	    fdatasync(vb->ckpt_fd) < 0)
		return -errno;
	/* the new name must survive a crash */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0)
		r = -errno;
	if (dfd >= 0)
		close(dfd);
	vb->owner = owner;
	vb->ckpt_len = ENT_LEN;
	store_batch_set_owner(vb->batch, owner);
	return r;
}

static int ckpt_open(struct vbuild *vb, const uint8_t token[16], bool create)
{
	char dir[4096], file[4200];
	int fd, r;

	upload_path(vb->st, &vb->key, token, dir, sizeof(dir), file, sizeof(file));
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = upload_lock_open(AT_FDCWD, file, O_RDWR | (create ? O_CREAT : 0));
	if (fd < 0)
		return fd;
	vb->ckpt_fd = fd;
	memcpy(vb->ckpt_token, token, 16);
	vb->ckpt_len = 0;
	if (create && (r = ckpt_start(vb, dir)) < 0) {
		vb_ckpt_close(vb);
		return r;
	}
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
			be32_put(e + 32, vb->log[i].len);
			be32_put(e + 36, store_crc32(0, e, 36));
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

int vb_checkpoint_now(struct vbuild *vb, const uint8_t token[16], bool *fatal)
{
	int r;

	*fatal = false;
	if (vb->ckpt_fd >= 0 && memcmp(vb->ckpt_token, token, 16))
		return -EINVAL;          /* entries before this call are gone */
	if (vb->log_overflow)       /* too long without a checkpoint, or one failed */
		return -EOVERFLOW;
	/* the state (and its owner) first, so the rows committed next carry it */
	if (vb->ckpt_fd < 0 && (r = ckpt_open(vb, token, true)) < 0)
		return r;
	if ((r = store_batch_commit(vb->batch)) < 0) {
		*fatal = true;           /* logged chunks may be lost: the build is void */
		return r;
	}
	return ckpt_append(vb);
}

int vbuild_checkpoint(struct vbuild *vb, const uint8_t token[16])
{
	bool fatal;
	int r;

	if (vb->err)
		return vb->err;
	if (vb->finished)
		return -EINVAL;
	if ((r = vb_pipe_sync(vb)) < 0)
		return r;
	r = vb_checkpoint_now(vb, token, &fatal);
	return fatal ? vb_latch(vb, r) : r;
}

int vbuild_checkpoint_bg(struct vbuild *vb, const uint8_t token[16])
{
	if (vb->err)
		return vb->err;
	if (vb->finished)
		return -EINVAL;
	if (!vb->pipe)
		return vbuild_checkpoint(vb, token);
	return vb_latch(vb, vb_pipe_ckpt(vb, token));
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
			uint32_t len = be32_get(e + 32);

			if (at == 0 && (vb->owner = hdr_owner(e)) != 0) {
				/* before any lookup: its own pages are not "reused" */
				store_batch_set_owner(vb->batch, vb->owner);
				at += ENT_LEN;
				continue;
			}
			if (store_crc32(0, e, 36) != be32_get(e + 36) || len == 0 || len > CHUNK_MAX)
				goto torn;
			/* the chunk must still be there; it also feeds the sha256
			 * and the digest */
			store_chunk_id(&vb->key, e, id);
			r = store_get(vb->st, id, chunk, STORE_CHUNK_MAX, &n);
			if (r == -ENOENT || (r == 0 && n != len))
				r = -EIO;
			if (r == 0)
				r = resume_mode(chunk, n, &mode);
			if (r == 0)
				r = chash_feed(vb->whole, chunk, n);
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
	if ((r = ckpt_open(vb, token, false)) == 0 && upload_expired_fd(vb->ckpt_fd, real_ns()))
		r = -ESTALE;   /* abandoned too long: collected, and the upload starts over */
	if (r == 0)
		r = resume_entries(vb, offset);
	if (r < 0) {
		vbuild_free(vb);
		*offset = 0;
		if (r == -EIO || r == -EBADMSG || r == -ESTALE) {
			/* a chunk it names is gone or damaged: start the upload over */
			if (r != -ESTALE)
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

	uint64_t owner = 0;
	int fd;

	upload_path(st, key, token, dir, sizeof(dir), file, sizeof(file));
	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		owner = upload_owner_fd(fd);
		close(fd);
	}
	/* released when the upload finished; otherwise its chunks go too */
	if (owner && store_owner_collect(st, owner, NULL, NULL) < 0)
		return;   /* the state stays: expiry tries again */
	unlink(file);
	rmdir(dir);    /* only succeeds when no other upload of this device remains */
}

/* ---- the finished build's chunk list (vbuild_chunk_list) ---- */

/* The first entry of the state file after its header (0: it has none). */
static uint64_t list_start(const struct vbuild *vb)
{
	return vb->ckpt_len >= ENT_LEN && upload_owner_fd(vb->ckpt_fd) ? ENT_LEN : 0;
}

int vbuild_chunk_count(const struct vbuild *vb, uint64_t *n)
{
	uint64_t in_file = 0;

	*n = 0;
	if (!vb->finished || vb->err)
		return -EINVAL;
	if (vb->log_overflow)
		return -EOVERFLOW;
	if (vb->ckpt_fd >= 0)
		in_file = (vb->ckpt_len - list_start(vb)) / ENT_LEN;
	*n = in_file + vb->nlog;
	return 0;
}

#define LIST_ENTS 1820   /* 36-byte entries: under 64 KiB per piece */

/* The state file's entries (CRC-checked), then the log's. */
int vbuild_chunk_list(const struct vbuild *vb, int (*out)(void *arg, const void *p, size_t n),
		      void *arg)
{
	uint8_t *o = malloc(LIST_ENTS * CONTENT_CHUNK_ENTRY), rec[ENT_LEN * 256];
	uint64_t at = vb->ckpt_fd >= 0 ? list_start(vb) : 0, cnt;
	size_t k = 0;
	int r = vbuild_chunk_count(vb, &cnt);

	if (!o)
		return -ENOMEM;
	while (r == 0 && vb->ckpt_fd >= 0 && at < vb->ckpt_len) {
		size_t want = vb->ckpt_len - at < sizeof(rec) ? (size_t)(vb->ckpt_len - at) : sizeof(rec);
		ssize_t got = pread(vb->ckpt_fd, rec, want, (off_t)at);

		if (got <= 0 || got % ENT_LEN) {
			r = got < 0 ? -errno : -EIO;
			break;
		}
		for (size_t i = 0; r == 0 && i < (size_t)got; i += ENT_LEN) {
			if (store_crc32(0, rec + i, 36) != be32_get(rec + i + 36)) {
				r = -EIO;
				break;
			}
			memcpy(o + k++ * CONTENT_CHUNK_ENTRY, rec + i, CONTENT_CHUNK_ENTRY);
			if (k == LIST_ENTS) {
				r = out(arg, o, k * CONTENT_CHUNK_ENTRY);
				k = 0;
			}
		}
		at += (uint64_t)got;
	}
	for (size_t i = 0; r == 0 && i < vb->nlog; i++) {
		memcpy(o + k * CONTENT_CHUNK_ENTRY, vb->log[i].sha, 32);
		be32_put(o + k++ * CONTENT_CHUNK_ENTRY + 32, vb->log[i].len);
		if (k == LIST_ENTS) {
			r = out(arg, o, k * CONTENT_CHUNK_ENTRY);
			k = 0;
		}
	}
	if (r == 0 && k)
		r = out(arg, o, k * CONTENT_CHUNK_ENTRY);
	free(o);
	return r;
}
