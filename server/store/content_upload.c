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
 * when it was last touched.
 *
 * An encrypted store's state (header magic "VGUPLDS1", the owner readable
 * for expiry) holds the entries as sealed records instead, one or more per
 * checkpoint, appended and never rewritten: a record header of REC_HDR
 * bytes (magic "VGSU", u32 n entries, u64 owner, u64 index of its first
 * entry in the file, 24 zero bytes; u32 plain length = n * 36), then
 * store_seal's nonce, the n entries {sha256[32], u32 len} sealed, and the
 * tag (the packs' code and key; the first 48 header bytes authenticated,
 * so a record is this upload's and in its place).  A record that does not
 * open is torn: nothing from it on counts.  A plain state in an encrypted
 * store (written before states were sealed) is read by the sweeper and
 * expiry, never resumed: the upload starts over. */
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

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "common/byteorder.h"
#include "common/chash.h"
#include "common/chunker.h"
#include "common/clock.h"
#include "common/fdio.h"
#include "common/hex.h"
#include "common/log.h"

#define ENT_LEN   40     /* a plain state's record */
#define ENT       CONTENT_CHUNK_ENTRY   /* an entry: sha256[32], u32 len */
#define SEAL_ENTS 1820   /* entries per sealed record (and per read): under 64 KiB */
#define SREC_LEN(n) (REC_HDR + REC_SEAL + (size_t)(n) * ENT)
#define UBUF      (SEAL_ENTS * ENT_LEN)   /* SEAL_ENTS plain records, or one sealed */

_Static_assert(SREC_LEN(SEAL_ENTS) <= UBUF, "a sealed record fits the buffer");
_Static_assert(SEAL_ENTS * ENT < 65536, "pieces of the chunk list under 64 KiB");

void upload_path(struct store *st, const struct devkey *key, const uint8_t token[16],
		 char *dir, size_t dcap, char *file, size_t fcap)
{
	uint8_t h[32];
	unsigned int n = sizeof(h);
	char dh[HEX_SIZE(8)], th[HEX_SIZE(16)];

	content_sha256_of(key->k, sizeof(key->k), h);
	hex_encode(h, 8, dh);
	/* a device's token is a hash of the path and the content (protocol.md,
	 * "Resuming a PUT"): an encrypted store names the file by a keyed
	 * hash of it, so the name confirms no guessed file */
	if (st->enc && HMAC(EVP_sha256(), st->pkey, sizeof(st->pkey), token, 16, h, &n))
		token = h;
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
static const uint8_t sealed_magic[8] = { 'V', 'G', 'U', 'P', 'L', 'D', 'S', '1' };

/* A state file's kind, from its first record. */
enum ukind { U_BARE, U_PLAIN, U_SEALED };   /* no header (from before), header, sealed */

struct uhead {
	enum ukind kind;
	uint64_t owner;   /* 0: none */
	uint64_t start;   /* offset of its first entry record */
};

static void uhead_read(int fd, struct uhead *h)
{
	uint8_t e[ENT_LEN];
	bool plain, sealed;

	*h = (struct uhead){ U_BARE, 0, 0 };
	if (pread(fd, e, ENT_LEN, 0) != ENT_LEN || be32_get(e + 32) != 0 ||
	    store_crc32(0, e, 36) != be32_get(e + 36))
		return;
	plain = !memcmp(e, hdr_magic, 8);
	sealed = !memcmp(e, sealed_magic, 8);
	if ((!plain && !sealed) || be64_get(e + 8) == 0 || be64_get(e + 8) > INT64_MAX)
		return;   /* (owners are SQLite integers, never 0) */
	h->kind = sealed ? U_SEALED : U_PLAIN;
	h->owner = be64_get(e + 8);
	h->start = ENT_LEN;
}

uint64_t upload_owner_fd(int fd)
{
	struct uhead h;

	uhead_read(fd, &h);
	return h.owner;
}

/* ---- entries: encoded, sealed, read back ---- */

static void srec_hdr(uint8_t *h, uint64_t owner, uint64_t first, uint32_t n)
{
	memset(h, 0, REC_HDR);
	memcpy(h, "VGSU", 4);
	be32_put(h + 4, n);
	be64_put(h + 8, owner);
	be64_put(h + 16, first);
	be32_put(h + 48, n * ENT);
}

/* One read of entries at *at (at most SEAL_ENTS, none past end) into ents:
 * how many (*at moves past them), 0 at the file's end (or end), -EBADMSG
 * at a torn or damaged record, -errno. */
static ssize_t plain_read(int fd, uint64_t *at, uint64_t end, uint8_t *buf, uint8_t *ents)
{
	size_t want = end - *at < UBUF ? (size_t)(end - *at) : UBUF, i, n = 0;
	ssize_t k = pread(fd, buf, want, (off_t)*at);

	if (k <= 0)
		return k < 0 ? -errno : 0;
	for (i = 0; i + ENT_LEN <= (size_t)k; i += ENT_LEN, n++) {
		const uint8_t *e = buf + i;
		uint32_t len = be32_get(e + 32);

		if (store_crc32(0, e, 36) != be32_get(e + 36) || len == 0 || len > CHUNK_MAX)
			break;
		memcpy(ents + n * ENT, e, ENT);
	}
	*at += n * ENT_LEN;
	return n ? (ssize_t)n : -EBADMSG;
}

static ssize_t sealed_read(struct store *st, int fd, const struct uhead *h, uint64_t idx,
			   uint64_t *at, uint64_t end, uint8_t *buf, uint8_t *ents)
{
	uint8_t want[REC_HDR];
	ssize_t k = pread(fd, buf, REC_HDR, (off_t)*at);
	uint32_t n;
	size_t i;

	if (k <= 0)
		return k < 0 ? -errno : 0;
	n = be32_get(buf + 4);
	if (k != REC_HDR || n == 0 || n > SEAL_ENTS || SREC_LEN(n) > end - *at || !st->enc)
		return -EBADMSG;
	srec_hdr(want, h->owner, idx, n);
	if (memcmp(buf, want, REC_HDR))
		return -EBADMSG;   /* torn, or another upload's or place's */
	k = pread(fd, buf + REC_HDR, SREC_LEN(n) - REC_HDR, (off_t)(*at + REC_HDR));
	if (k < 0)
		return -errno;
	if ((size_t)k != SREC_LEN(n) - REC_HDR || store_unseal(st, buf, REC_SEAL + n * ENT, ents) < 0)
		return -EBADMSG;
	for (i = 0; i < n; i++)
		if (be32_get(ents + i * ENT + 32) == 0 || be32_get(ents + i * ENT + 32) > CHUNK_MAX)
			return -EBADMSG;
	*at += SREC_LEN(n);
	return n;
}

int upload_entries(struct store *st, int fd, uint64_t end, upload_each_fn each, void *arg,
		   uint64_t *good, uint64_t *count)
{
	uint8_t *buf = malloc(UBUF), *ents = malloc(SEAL_ENTS * ENT);
	struct uhead h;
	uint64_t at;
	ssize_t n = 0;
	int r = 0;

	uhead_read(fd, &h);
	at = h.start;
	*count = 0;
	if (!buf || !ents)
		r = -ENOMEM;
	while (r == 0 && at < end) {
		n = h.kind == U_SEALED ? sealed_read(st, fd, &h, *count, &at, end, buf, ents)
				       : plain_read(fd, &at, end, buf, ents);
		if (n <= 0)
			break;
		*count += (uint64_t)n;
		r = each(arg, ents, (size_t)n);
	}
	*good = at;
	if (ents)
		OPENSSL_cleanse(ents, SEAL_ENTS * ENT);
	free(ents);
	free(buf);
	if (r < 0)
		return r;
	return n == -EBADMSG ? 1 : n < 0 ? (int)n : 0;
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
	memcpy(e, vb->st->enc ? sealed_magic : hdr_magic, 8);
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
	vb->ckpt_ents = 0;
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
	vb->ckpt_ents = 0;
	if (create && (r = ckpt_start(vb, dir)) < 0) {
		vb_ckpt_close(vb);
		return r;
	}
	return 0;
}

/* n entries of the log as ENT-byte entries */
static void ents_put(uint8_t *o, const struct vb_entry *log, size_t n)
{
	for (size_t i = 0; i < n; i++, o += ENT) {
		memcpy(o, log[i].sha, 32);
		be32_put(o + 32, log[i].len);
	}
}

/* k entries (ents) as the file's records into buf: their length, or
 * -errno (sealing). */
static ssize_t recs_put(struct vbuild *vb, EVP_CIPHER_CTX *cx, const uint8_t *ents, size_t k,
			uint64_t first, uint8_t *buf)
{
	int r;

	if (vb->st->enc) {
		srec_hdr(buf, vb->owner, first, (uint32_t)k);
		return (r = store_seal(vb->st, cx, buf, ents, k * ENT)) < 0 ? r : (ssize_t)SREC_LEN(k);
	}
	for (size_t i = 0; i < k; i++) {
		uint8_t *e = buf + i * ENT_LEN;

		memcpy(e, ents + i * ENT, ENT);
		be32_put(e + 36, store_crc32(0, e, 36));
	}
	return (ssize_t)(k * ENT_LEN);
}

int vb_ckpt_append(struct vbuild *vb, const struct vb_entry *log, size_t n, bool *broken)
{
	uint8_t *buf = malloc(UBUF), *ents = malloc(SEAL_ENTS * ENT);
	EVP_CIPHER_CTX *cx = vb->st->enc ? store_seal_ctx(vb->st) : NULL;
	uint64_t at = vb->ckpt_len;
	size_t i = 0, k = 0;
	ssize_t w = 0;
	int r = 0;

	*broken = false;
	if (!buf || !ents || (vb->st->enc && !cx))
		r = -ENOMEM;
	for (; r == 0 && i < n; i += k) {
		k = n - i < SEAL_ENTS ? n - i : SEAL_ENTS;
		ents_put(ents, log + i, k);
		if ((w = recs_put(vb, cx, ents, k, vb->ckpt_ents + i, buf)) < 0 ||
		    (r = fd_pwrite_all(vb->ckpt_fd, buf, (size_t)w, at)) < 0)
			r = w < 0 ? (int)w : r;
		else
			at += (uint64_t)w;
	}
	if (r == 0 && fdatasync(vb->ckpt_fd) < 0)
		r = -errno;
	if (ents)
		OPENSSL_cleanse(ents, SEAL_ENTS * ENT);
	free(ents);
	free(buf);
	EVP_CIPHER_CTX_free(cx);
	if (r < 0) {
		if (ftruncate(vb->ckpt_fd, (off_t)vb->ckpt_len) < 0)
			*broken = true;   /* file state unknown: no more checkpoints */
		return r;
	}
	vb->ckpt_len = at;
	vb->ckpt_ents += n;
	return 0;
}

int vb_ckpt_begin(struct vbuild *vb, const uint8_t token[16])
{
	if (vb->ckpt_fd >= 0 && memcmp(vb->ckpt_token, token, 16))
		return -EINVAL;          /* entries before this call are gone */
	if (vb->log_overflow)       /* too long without a checkpoint, or one failed */
		return -EOVERFLOW;
	/* the state (and its owner) first, so the rows committed next carry it */
	return vb->ckpt_fd < 0 ? ckpt_open(vb, token, true) : 0;
}

int vb_checkpoint_now(struct vbuild *vb, const uint8_t token[16], bool *fatal)
{
	bool broken;
	int r;

	*fatal = false;
	if ((r = vb_ckpt_begin(vb, token)) < 0)
		return r;
	if ((r = store_batch_commit(vb->batch)) < 0) {
		*fatal = true;           /* logged chunks may be lost: the build is void */
		return r;
	}
	r = vb_ckpt_append(vb, vb->log, vb->nlog, &broken);
	vb->log_overflow |= broken;
	if (r == 0)
		vb->nlog = 0;
	return r;
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

struct resume_arg {
	struct vbuild *vb;
	uint8_t *chunk;   /* STORE_CHUNK_MAX bytes */
	uint32_t mode;
};

/* Each entry's chunk must still be there; it also feeds the sha256 and
 * the digest. */
static int resume_ents(void *arg, const uint8_t *ents, size_t n)
{
	struct resume_arg *a = arg;
	struct vbuild *vb = a->vb;
	uint8_t id[STORE_ID_LEN];
	size_t got;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		const uint8_t *e = ents + i * ENT;
		uint32_t len = be32_get(e + 32);

		store_chunk_id(&vb->key, e, id);
		r = store_get(vb->st, id, a->chunk, STORE_CHUNK_MAX, &got);
		if (r == -ENOENT || (r == 0 && got != len))
			r = -EIO;
		if (r == 0)
			r = resume_mode(a->chunk, got, &a->mode);
		if (r == 0)
			r = chash_feed(vb->whole, a->chunk, got);
		if (r == 0 && (r = vb_add_entry(vb, e, len)) == 0) {
			vb->size += len;
			vb->nlog = 0;   /* already in the file */
		}
	}
	return r;
}

/* Re-adds the saved entries; sets *offset and the chunker's mode.  Cuts a
 * torn tail. */
static int resume_entries(struct vbuild *vb, uint64_t *offset)
{
	struct resume_arg a = { vb, malloc(STORE_CHUNK_MAX), CHUNK_MODE_UNSET };
	struct uhead h;
	uint64_t good = 0, n = 0;
	int r = 0;

	if (!a.chunk)
		return -ENOMEM;
	uhead_read(vb->ckpt_fd, &h);
	if ((h.kind == U_SEALED) != vb->st->enc)
		r = -EIO;   /* plain in an encrypted store (from before): start over */
	/* before any lookup: its own pages are not "reused" */
	if (r == 0 && (vb->owner = h.owner) != 0)
		store_batch_set_owner(vb->batch, vb->owner);
	if (r == 0)
		r = upload_entries(vb->st, vb->ckpt_fd, UINT64_MAX, resume_ents, &a, &good, &n);
	if (r == 1)   /* torn */
		r = ftruncate(vb->ckpt_fd, (off_t)good) < 0 ? -errno : 0;
	free(a.chunk);
	vb->nlog = 0;
	vb->ckpt_len = good;
	vb->ckpt_ents = n;
	*offset = vb->size;
	if (r == 0) {
		chunker_reset(vb->ch);
		r = chunker_set_mode(vb->ch, a.mode);
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

int vbuild_chunk_count(const struct vbuild *vb, uint64_t *n)
{
	*n = 0;
	if (!vb->finished || vb->err)
		return -EINVAL;
	if (vb->log_overflow)
		return -EOVERFLOW;
	*n = (vb->ckpt_fd >= 0 ? vb->ckpt_ents : 0) + vb->nlog;
	return 0;
}

#define LIST_ENTS SEAL_ENTS   /* entries per piece of the list */

struct list_arg {
	uint8_t *o;   /* LIST_ENTS entries */
	size_t k;
	int (*out)(void *arg, const void *p, size_t n);
	void *arg;
};

static int list_ents(void *arg, const uint8_t *ents, size_t n)
{
	struct list_arg *l = arg;
	int r = 0;

	while (n > 0 && r == 0) {
		size_t c = LIST_ENTS - l->k < n ? LIST_ENTS - l->k : n;

		memcpy(l->o + l->k * ENT, ents, c * ENT);
		l->k += c;
		ents += c * ENT;
		n -= c;
		if (l->k == LIST_ENTS) {
			r = l->out(l->arg, l->o, l->k * ENT);
			l->k = 0;
		}
	}
	return r;
}

/* The state file's entries (checked as resuming checks them: all of them,
 * up to what the checkpoints wrote), then the log's. */
int vbuild_chunk_list(const struct vbuild *vb, int (*out)(void *arg, const void *p, size_t n),
		      void *arg)
{
	struct list_arg l = { malloc(LIST_ENTS * ENT), 0, out, arg };
	uint64_t cnt, good, n = 0;
	int r = vbuild_chunk_count(vb, &cnt);

	if (!l.o)
		return -ENOMEM;
	if (r == 0 && vb->ckpt_fd >= 0) {
		r = upload_entries(vb->st, vb->ckpt_fd, vb->ckpt_len, list_ents, &l, &good, &n);
		if (r > 0 || (r == 0 && (good != vb->ckpt_len || n != vb->ckpt_ents)))
			r = -EIO;
	}
	for (size_t i = 0, k; r == 0 && i < vb->nlog; i += k) {
		uint8_t e[64 * ENT];

		k = vb->nlog - i < 64 ? vb->nlog - i : 64;
		ents_put(e, vb->log + i, k);
		r = list_ents(&l, e, k);
	}
	if (r == 0 && l.k)
		r = out(arg, l.o, l.k * ENT);
	free(l.o);
	return r;
}
