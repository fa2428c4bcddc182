/* mount_ids.h — mount ids as erase's walk and rootwalk see them, for the
 * tests of mount crossing (linked with -Wl,--wrap=statx: the Makefile's
 * MOUNT_ID_TESTS).
 *
 * mount_ids_hide() makes statx lie as a kernel before 5.8 does (no
 * STATX_MNT_ID in the mask) or as qemu-user 7.2 does (the bit set, every
 * id 0), so the /proc/self/fdinfo fallback of mount_id_of() runs on this
 * kernel; the shipped binaries never carry the switch.  mount_ids_known()
 * says whether a bind mount can be told from the directory it sits in at
 * all (statx or fdinfo); a test skips (cmocka's skip, said why) where not. */
#ifndef VIGIL_TEST_MOUNT_IDS_H
#define VIGIL_TEST_MOUNT_IDS_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mountinfo.h"

enum mount_ids_lie { MNTID_TRUE, MNTID_NO_MASK, MNTID_ZERO };

static enum mount_ids_lie mount_ids_lie;

int __real_statx(int dfd, const char *path, int flags, unsigned mask, struct statx *sx);
int __wrap_statx(int dfd, const char *path, int flags, unsigned mask, struct statx *sx);

int __wrap_statx(int dfd, const char *path, int flags, unsigned mask, struct statx *sx)
{
	int r = __real_statx(dfd, path, flags, mask, sx);

	if (r == 0 && mount_ids_lie != MNTID_TRUE) {
		sx->stx_mnt_id = 0;
		if (mount_ids_lie == MNTID_NO_MASK)
			sx->stx_mask &= ~(unsigned)STATX_MNT_ID;
		else
			sx->stx_mask |= STATX_MNT_ID;
	}
	return r;
}

static inline void mount_ids_hide(enum mount_ids_lie how)
{
	mount_ids_lie = how;
}

static inline int mount_id_path(const char *p, uint64_t *id)
{
	int fd = open(p, O_PATH | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = mount_id_of(fd, id);
	close(fd);
	return r;
}

static inline bool mount_ids_known(const char *dir, const char *mnt)
{
	uint64_t a, b;

	return mount_id_path(dir, &a) == 0 && mount_id_path(mnt, &b) == 0 && a != b;
}

#endif
