/* mountinfo.h — the lines of /proc/self/mountinfo, parsed once for every
 * caller (cgroup discovery, the mount's read-ahead, the bpf tracker's
 * mount signature), and the mount id of an fd (erase's walk, rootwalk). */
#ifndef VIGIL_MOUNTINFO_H
#define VIGIL_MOUNTINFO_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

struct mountinfo {
	dev_t dev;               /* the st_dev of files on this mount */
	char root[PATH_MAX];     /* the path within its filesystem mounted here */
	char point[PATH_MAX];    /* the mount point */
	char fstype[64];         /* e.g. "cgroup2", "fuse.vigil" */
	const char *super;       /* the superblock options, comma-separated, as
	                          * they are in the line (up to its newline) */
};

/* Parses one mountinfo line (fields as in proc(5); octal escapes of space,
 * tab, newline and backslash undone).  0, or -EINVAL for a line that is
 * not one or whose fields do not fit.  m->super points into line. */
int mountinfo_parse(const char *line, struct mountinfo *m);

/* Calls fn for every line of /proc/self/mountinfo, with the parsed fields
 * and the raw line, until fn returns non-zero (which it returns).  0 at the
 * end, or -errno when the file cannot be read. */
typedef int (*mountinfo_fn)(const struct mountinfo *m, const char *line, void *arg);
int mountinfo_each(mountinfo_fn fn, void *arg);

/* The id of the mount fd lies on (mountinfo's first field).  A bind mount
 * of the same filesystem shares st_dev with the directory it sits in: only
 * this id tells it apart.  statx's STATX_MNT_ID where the kernel gives it
 * (5.8+), else the "mnt_id:" line of /proc/self/fdinfo/FD (3.15+): a
 * kernel before 5.8 gives no id, and qemu-user 7.2 sets STATX_MNT_ID in the
 * mask but leaves the id 0.  0, -ENOTSUP when neither says (a caller that
 * must not cross mounts refuses then), or the -errno of statx. */
int mount_id_of(int fd, uint64_t *id);
/* The fdinfo half alone: 0, or -ENOTSUP (no /proc, no mnt_id line). */
int mount_id_fdinfo(int fd, uint64_t *id);

#endif
