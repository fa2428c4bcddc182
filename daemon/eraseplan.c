/* eraseplan.c — what erase does with one directory entry, decided from its
 * statx alone (no I/O; tests/unit/test_erase.c checks every case). */
#include "daemon/erase_int.h"

#include <sys/stat.h>

enum eplan erase_plan(const struct eplan_entry *e, const struct eplan_ctx *c)
{
	for (size_t i = 0; i < c->nkeep; i++)
		if (c->keep[i][0] == e->dev && c->keep[i][1] == e->ino)
			return EP_KEEP;
	/* A bind mount of the same filesystem keeps st_dev: only the mount
	 * id tells it apart.  0: statx by name gave none (before 5.8,
	 * qemu-user); the walk asks again on the opened fd (fdinfo) before it
	 * enters or writes anything. */
	if (e->dev != c->root_dev || (e->mnt && c->root_mnt && e->mnt != c->root_mnt))
		return EP_MOUNT;
	if (S_ISLNK(e->mode))
		return EP_SYMLINK;
	if (S_ISDIR(e->mode))
		return c->depth + 1 >= ERASE_DEPTH_MAX ? EP_TOO_DEEP : EP_DESCEND;
	if (S_ISREG(e->mode))
		return e->nlink > 1 ? EP_LINKS : EP_OVERWRITE;
	return EP_SPECIAL;
}
