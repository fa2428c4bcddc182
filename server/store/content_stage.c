/* content_stage.c — the staged body of a resumable DELTA or RANGES upload
 * (rules in content.h, "Resumable DELTA and RANGES uploads").
 *
 * File DIR/store/uploads/<dev>/<tokenhex>.body: an 80-byte header, then
 * the body bytes as the device sent them.  Header (big-endian): magic
 * "VGBODY01", u8 kind and 7 zero bytes, u64 base_version, u64 size,
 * root[32], u64 held, u32 CRC-32 of the 72 bytes before, u32 zero.  held
 * counts the body bytes made durable before the header naming them was
 * written, so a crash at any point leaves a header that tells the truth
 * (an older one at worst, or a torn one, which starts the upload over).
 * The magic is not the WHOLE states' (content_upload.c), so expiry sees no
 * owner here and only removes the file.
 *
 * An encrypted store's stage (magic "VGBODYS1", the same header but for
 * rid = HMAC-SHA256(the records' key, root) in root's place) holds the
 * body as sealed records after the header, each at most SEG plain bytes,
 * appended and never rewritten: a record header of REC_HDR bytes (magic
 * "VGSB", 4 zero bytes, rid[32], u64 plain offset; u32 plain
 * length) then store_seal's nonce, ciphertext and tag (the packs' code and
 * key; the first 48 header bytes are authenticated).  held still counts
 * plain bytes; reopening walks and opens every record up to held (a
 * damaged or missing one starts the upload over). */
#include "common/fdio.h"
#include "server/store/content_vb.h"
#include "server/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "common/clock.h"
#include "common/vec.h"

#define HDR_LEN 80
#define SEG     (64u << 10)   /* plain bytes per sealed record at most */

static const uint8_t stage_magic[8] = { 'V', 'G', 'B', 'O', 'D', 'Y', '0', '1' };
static const uint8_t sealed_magic[8] = { 'V', 'G', 'B', 'O', 'D', 'Y', 'S', '1' };

/* a sealed record: its plain offset and length, its place in the file */
struct srec { uint64_t poff, foff; uint32_t len; };

struct bstage {
	int fd;
	struct bstage_id id;
	uint64_t cap;
	uint64_t len;        /* body bytes written */
	uint64_t held;       /* of them, durable and in the header */
	bool full;           /* passed cap: the rest is not staged */
	bool dir_synced;
	/* an encrypted store's: records, the file's end, a sealing context,
	 * a record buffer and the last record opened (cached: -1 none) */
	struct store *st;
	struct vec recs;     /* struct srec, by poff */
	uint64_t fend;
	EVP_CIPHER_CTX *cx;
	uint8_t *rbuf, *plain;
	ssize_t cached;
	uint8_t rid[32];     /* HMAC(records' key, root): the root in no header */
	char dir[4096], file[4224];
};

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void hdr_encode(const struct bstage *sg, uint64_t held, uint8_t h[HDR_LEN])
{
	memset(h, 0, HDR_LEN);
	memcpy(h, sg->st ? sealed_magic : stage_magic, 8);
	h[8] = sg->id.kind;
	put_be(h + 16, sg->id.base_version, 8);
	put_be(h + 24, sg->id.size, 8);
	memcpy(h + 32, sg->st ? sg->rid : sg->id.root, 32);
	put_be(h + 64, held, 8);
	put_be(h + 72, store_crc32(0, h, 72), 4);
}

/* The bytes the file holds for this stage's id, or 0 (start over). */
static uint64_t hdr_held(const struct bstage *sg)
{
	uint8_t h[HDR_LEN], want[HDR_LEN];
	struct stat sb;
	uint64_t held;

	if (pread(sg->fd, h, HDR_LEN, 0) != HDR_LEN || fstat(sg->fd, &sb) < 0)
		return 0;
	held = be_uint(h + 64, 8);
	hdr_encode(sg, held, want);
	if (memcmp(h, want, HDR_LEN) || held > sg->cap ||
	    (uint64_t)sb.st_size < HDR_LEN + (sg->st ? 0 : held))
		return 0;   /* torn, another upload's, or shorter than it says */
	return held;
}

static int hdr_write(struct bstage *sg, uint64_t held)
{
	uint8_t h[HDR_LEN];

	hdr_encode(sg, held, h);
	return pwrite(sg->fd, h, HDR_LEN, 0) == HDR_LEN ? 0 : (errno ? -errno : -EIO);
}

/* ---- an encrypted store's records ---- */

static void srec_hdr(const struct bstage *sg, uint64_t poff, uint32_t len, uint8_t *h)
{
	memset(h, 0, REC_HDR);
	memcpy(h, "VGSB", 4);
	memcpy(h + 8, sg->rid, 32);
	put_be(h + 40, poff, 8);
	put_be(h + 48, len, 4);
}

static int srec_push(struct bstage *sg, uint64_t poff, uint64_t foff, uint32_t len)
{
	return vec_push(&sg->recs, &(struct srec){ poff, foff, len });
}

/* Record i into sg->plain (its tag checked).  0 or -EIO. */
static int srec_open(struct bstage *sg, size_t i)
{
	const struct srec *r = (const struct srec *)sg->recs.p + i;
	size_t n = REC_HDR + REC_SEAL + r->len;
	uint8_t want[REC_HDR];

	if ((ssize_t)i == sg->cached)
		return 0;
	sg->cached = -1;
	srec_hdr(sg, r->poff, r->len, want);
	if (pread(sg->fd, sg->rbuf, n, (off_t)r->foff) != (ssize_t)n || memcmp(sg->rbuf, want, REC_HDR) ||
	    store_unseal(sg->st, sg->rbuf, REC_SEAL + r->len, sg->plain) < 0)
		return -EIO;
	sg->cached = (ssize_t)i;
	return 0;
}

/* Reopening: the records up to held, each opened.  held, or 0 (start
 * over) when one is missing, damaged or another upload's. */
static uint64_t srec_scan(struct bstage *sg, uint64_t held)
{
	uint8_t h[REC_HDR];
	uint64_t poff = 0, foff = HDR_LEN;

	while (poff < held) {
		uint32_t len;

		if (pread(sg->fd, h, REC_HDR, (off_t)foff) != REC_HDR)
			break;
		len = (uint32_t)be_uint(h + 48, 4);
		if (len == 0 || len > SEG || len > held - poff || srec_push(sg, poff, foff, len) < 0 ||
		    srec_open(sg, sg->recs.n - 1) < 0)
			break;
		poff += len;
		foff += REC_HDR + REC_SEAL + len;
	}
	if (poff != held) {
		sg->recs.n = 0;
		sg->cached = -1;
		poff = 0;
		foff = HDR_LEN;
	}
	sg->fend = foff;
	return poff;
}

static int srec_append(struct bstage *sg, const uint8_t *p, size_t n)
{
	int r;

	while (n > 0) {
		uint32_t k = n < SEG ? (uint32_t)n : SEG;

		srec_hdr(sg, sg->len, k, sg->rbuf);
		if ((r = store_seal(sg->st, sg->cx, sg->rbuf, p, k)) < 0 ||
		    (r = fd_pwrite_all(sg->fd, sg->rbuf, REC_HDR + REC_SEAL + k, sg->fend)) < 0 ||
		    (r = srec_push(sg, sg->len, sg->fend, k)) < 0)
			return r;
		sg->fend += REC_HDR + REC_SEAL + k;
		sg->len += k;
		p += k;
		n -= k;
	}
	return 0;
}

static ssize_t srec_pread(struct bstage *sg, uint8_t *buf, size_t n, uint64_t off)
{
	const struct srec *rec = sg->recs.p;
	size_t lo = 0, hi = sg->recs.n, i;
	uint64_t at;

	while (hi - lo > 1) {   /* the last record starting at or before off */
		size_t mid = (lo + hi) / 2;

		if (rec[mid].poff <= off)
			lo = mid;
		else
			hi = mid;
	}
	i = lo;
	if (srec_open(sg, i) < 0)
		return -EIO;
	at = off - rec[i].poff;
	if (n > rec[i].len - at)
		n = (size_t)(rec[i].len - at);
	memcpy(buf, sg->plain + at, n);
	return (ssize_t)n;
}

static int sealed_init(struct bstage *sg, struct store *st)
{
	if (!st->enc)
		return 0;
	unsigned int n = sizeof(sg->rid);

	sg->st = st;
	sg->cached = -1;
	vec_init(&sg->recs, sizeof(struct srec));
	HMAC(EVP_sha256(), st->pkey, sizeof(st->pkey), sg->id.root, 32, sg->rid, &n);
	sg->cx = store_seal_ctx(st);
	sg->rbuf = malloc(REC_HDR + REC_SEAL + SEG);
	sg->plain = malloc(SEG);
	return sg->cx && sg->rbuf && sg->plain ? 0 : -ENOMEM;
}

static void stage_free(struct bstage *sg)
{
	if (sg->fd >= 0)
		close(sg->fd);
	EVP_CIPHER_CTX_free(sg->cx);
	if (sg->plain)
		OPENSSL_cleanse(sg->plain, SEG);
	free(sg->plain);
	free(sg->rbuf);
	vec_free(&sg->recs);
	free(sg);
}

int bstage_open(struct store *st, const struct devkey *key, const uint8_t token[16],
		const struct bstage_id *id, uint64_t cap, struct bstage **out, uint64_t *held)
{
	struct bstage *sg = calloc(1, sizeof(*sg));
	char file[4200];
	int r;

	*out = NULL;
	*held = 0;
	if (!sg)
		return -ENOMEM;
	sg->fd = -1;
	sg->id = *id;
	sg->cap = cap;
	if ((r = sealed_init(sg, st)) < 0)
		goto fail;
	upload_path(st, key, token, sg->dir, sizeof(sg->dir), file, sizeof(file));
	snprintf(sg->file, sizeof(sg->file), "%s.body", file);
	if (mkdir(sg->dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto fail;
	}
	if ((sg->fd = upload_lock_open(AT_FDCWD, sg->file, O_RDWR | O_CREAT)) < 0) {
		r = sg->fd;
		goto fail;
	}
	/* an abandoned stage starts over, as an expired WHOLE state does */
	if (!upload_expired_fd(sg->fd, real_ns()))
		sg->held = sg->len = hdr_held(sg);
	if (sg->st)
		sg->held = sg->len = srec_scan(sg, sg->held);
	if (ftruncate(sg->fd, (off_t)(sg->st ? sg->fend : HDR_LEN + sg->held)) < 0) {
		r = -errno;
		goto fail;
	}
	if (sg->held == 0 && (r = hdr_write(sg, 0)) < 0)
		goto fail;
	*held = sg->held;
	*out = sg;
	return 0;
fail:
	stage_free(sg);
	return r;
}

ssize_t bstage_pread(struct bstage *sg, void *buf, size_t n, uint64_t off)
{
	ssize_t r;

	if (off >= sg->len)
		return 0;
	if (n > sg->len - off)
		n = (size_t)(sg->len - off);
	if (sg->st)
		return srec_pread(sg, buf, n, off);
	do
		r = pread(sg->fd, buf, n, (off_t)(HDR_LEN + off));
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int bstage_append(struct bstage *sg, const void *p, size_t n)
{
	int r;

	if (sg->full || n > sg->cap - sg->len) {
		sg->full = true;   /* a cut from here on restarts at what is held */
		return 0;
	}
	if (sg->st)
		return srec_append(sg, p, n);
	if ((r = fd_pwrite_all(sg->fd, p, n, HDR_LEN + sg->len)) < 0)
		return r;
	sg->len += n;
	return 0;
}

int bstage_sync(struct bstage *sg)
{
	int dfd, r = 0;

	if (sg->len == sg->held && sg->dir_synced)
		return 0;
	/* the bytes first, then the header that names them */
	if (fdatasync(sg->fd) < 0 || (r = hdr_write(sg, sg->len)) < 0 || fdatasync(sg->fd) < 0)
		return r < 0 ? r : -errno;
	sg->held = sg->len;
	if (!sg->dir_synced) {   /* the new name must survive a crash */
		if ((dfd = open(sg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0)
			r = -errno;
		if (dfd >= 0)
			close(dfd);
		sg->dir_synced = r == 0;
	}
	return r;
}

void bstage_close(struct bstage *sg, bool forget)
{
	if (!sg)
		return;
	if (forget) {
		unlink(sg->file);   /* still under our lock: nobody resumes it meanwhile */
		rmdir(sg->dir);     /* only when no other upload of this device remains */
	}
	stage_free(sg);
}
