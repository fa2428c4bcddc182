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
 * owner here and only removes the file. */
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

#include "common/clock.h"

#define HDR_LEN 80

static const uint8_t stage_magic[8] = { 'V', 'G', 'B', 'O', 'D', 'Y', '0', '1' };

struct bstage {
	int fd;
	struct bstage_id id;
	uint64_t cap;
	uint64_t len;        /* body bytes written */
	uint64_t held;       /* of them, durable and in the header */
	bool full;           /* passed cap: the rest is not staged */
	bool dir_synced;
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
	memcpy(h, stage_magic, 8);
	h[8] = sg->id.kind;
	put_be(h + 16, sg->id.base_version, 8);
	put_be(h + 24, sg->id.size, 8);
	memcpy(h + 32, sg->id.root, 32);
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
	    (uint64_t)sb.st_size < HDR_LEN + held)
		return 0;   /* torn, another upload's, or shorter than it says */
	return held;
}

static int hdr_write(struct bstage *sg, uint64_t held)
{
	uint8_t h[HDR_LEN];

	hdr_encode(sg, held, h);
	return pwrite(sg->fd, h, HDR_LEN, 0) == HDR_LEN ? 0 : (errno ? -errno : -EIO);
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
	if (ftruncate(sg->fd, (off_t)(HDR_LEN + sg->held)) < 0) {
		r = -errno;
		goto fail;
	}
	if (sg->held == 0 && (r = hdr_write(sg, 0)) < 0)
		goto fail;
	*held = sg->held;
	*out = sg;
	return 0;
fail:
	if (sg->fd >= 0)
		close(sg->fd);
	free(sg);
	return r;
}

ssize_t bstage_pread(struct bstage *sg, void *buf, size_t n, uint64_t off)
{
	ssize_t r;

	if (off >= sg->len)
		return 0;
	if (n > sg->len - off)
		n = (size_t)(sg->len - off);
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
	close(sg->fd);
	free(sg);
}
