/* erasejournal.c — STATE/erase: the erase's progress, two checksummed slots
 * rewritten in place, so a kill -9 or a power cut leaves one whole record. */
#include "daemon/erase_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "common/fdio.h"

_Static_assert(sizeof(struct ej_rec) <= EJ_SLOT, "journal record fits its slot");

static const char ej_magic[8] = "VGERASE1";

static uint32_t rec_crc(const struct ej_rec *r)
{
	return (uint32_t)crc32(0L, (const Bytef *)r, (uInt)offsetof(struct ej_rec, crc));
}

static bool slot_valid(const struct ej_rec *r)
{
	return memcmp(r->magic, ej_magic, 8) == 0 && r->crc == rec_crc(r);
}

/* The newer valid slot of fd into rec: 0 or -EBADMSG. */
static int read_slots(int fd, struct ej_rec *rec)
{
	struct ej_rec a, b;
	bool va, vb;

	va = pread(fd, &a, sizeof(a), 0) == (ssize_t)sizeof(a) && slot_valid(&a);
	vb = pread(fd, &b, sizeof(b), EJ_SLOT) == (ssize_t)sizeof(b) && slot_valid(&b);
	if (!va && !vb)
		return -EBADMSG;
	*rec = (va && (!vb || a.seq > b.seq)) ? a : b;
	return 0;
}

static int journal_path(const char *statedir, char *p, size_t cap)
{
	return snprintf(p, cap, "%s/erase", statedir) >= (int)cap ? -ENAMETOOLONG : 0;
}

/* A new journal: full size written and synced, directory entry synced. */
static int make_file(const char *p)
{
	static const uint8_t zero[2 * EJ_SLOT];
	int fd, rc = 0;

	if ((fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -errno;
	if (pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero) || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	if (rc == 0)
		rc = fsync_parent(p);
	if (rc < 0) {
		close(fd);
		unlink(p);
		return rc;
	}
	return fd;
}

int ej_open(const char *statedir, bool create, struct ejournal *j, bool *fresh)
{
	char p[PATH_MAX];
	int rc;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	*fresh = false;
	if ((rc = journal_path(statedir, p, sizeof(p))) < 0)
		return rc;
	j->fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (j->fd < 0 && errno == ENOENT && create) {
		if ((j->fd = make_file(p)) < 0)
			return j->fd;
		*fresh = true;
		memcpy(j->rec.magic, ej_magic, 8);
		j->rec.luks_slot = -1;
		return 0;
	}
	if (j->fd < 0)
		return -errno;
	if ((rc = read_slots(j->fd, &j->rec)) < 0) {
		ej_close(j);
		return rc;
	}
	return 0;
}

int ej_write(struct ejournal *j)
{
	j->rec.seq++;
	j->rec.crc = rec_crc(&j->rec);
	if (pwrite(j->fd, &j->rec, sizeof(j->rec), (off_t)(j->rec.seq & 1) * EJ_SLOT) !=
	    (ssize_t)sizeof(j->rec))
		return errno ? -errno : -EIO;
	return fdatasync(j->fd) < 0 ? -errno : 0;
}

void ej_close(struct ejournal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

int ej_read(const char *statedir, struct ej_rec *rec)
{
	char p[PATH_MAX];
	int fd, rc;

	if ((rc = journal_path(statedir, p, sizeof(p))) < 0)
		return rc;
	if ((fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	rc = read_slots(fd, rec);
	close(fd);
	return rc;
}
