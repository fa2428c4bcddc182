/* mount.c — starting and ending `vigil mount`: check the device over
 * the command's connection, mount, daemonize (the mux's I/O thread would not
 * survive the fork, so that connection is closed first and the mount makes
 * its own afterwards), serve with a pool of FUSE threads until unmounted. */
#include "controller/mount/mount.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fuseloop.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "controller/mount/mount_int.h"

static int count_entry(void *arg, const struct vg_entry *e)
{
	(*(size_t *)arg)++;
	return 0;
}

/* The device exists and the server answers: LS of "/" at the mount's
 * time.  Also asks whether any version of it has extended attributes. */
static int check_device(struct mux *m, struct mfs *fs)
{
	struct mconn *mc = mconn_new(NULL, NULL, m);
	const char *dev = fs->dev;
	size_t n = 0;
	int e;

	if (!mc)
		return -ENOMEM;
	e = mconn_ls(mc, dev, "/", fs->at, count_entry, &n);
	/* unknown (an older server): keep answering getxattr */
	fs->no_xattrs = e == 0 && mconn_has_xattrs(mc, dev) == 0;
	mconn_free(mc);
	if (e == -ENOENT)
		log_warnx("mount: no device named %s", dev);
	else if (e < 0)
		log_warnx("mount: %s: %s", dev, strerror(-e));
	return e;
}

/* The mountinfo field at p (octal escapes of space, tab, newline and
 * backslash undone) into out; the rest of the line in *end. */
static void mountinfo_field(const char *p, char *out, size_t cap, const char **end)
{
	size_t n = 0;

	while (*p && *p != ' ' && *p != '\n') {
		char c = *p++;

		if (c == '\\' && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' &&
		    p[2] >= '0' && p[2] <= '7') {
			c = (char)((p[0] - '0') << 6 | (p[1] - '0') << 3 | (p[2] - '0'));
			p += 3;
		}
		if (n + 1 < cap)
			out[n++] = c;
	}
	out[n] = '\0';
	*end = p;
}

/* The "major:minor" of the newest fuse.vigil mount at mnt, from
 * /proc/self/mountinfo (a stat of the mount point would wait for the INIT
 * being answered).  0, or -ENOENT. */
static int mount_devno(const char *mnt, char *devno, size_t cap)
{
	char line[PATH_MAX * 2 + 256], dev[32], point[PATH_MAX];
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	const char *p;
	int r = -ENOENT;

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		/* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE ... */
		if (!(p = strchr(line, ' ')) || !(p = strchr(p + 1, ' ')))
			continue;
		mountinfo_field(p + 1, dev, sizeof(dev), &p);
		if (!*p || !(p = strchr(p + 1, ' ')))
			continue;
		mountinfo_field(p + 1, point, sizeof(point), &p);
		if (strcmp(point, mnt) || !(p = strstr(p, " - fuse.vigil ")))
			continue;
		snprintf(devno, cap, "%s", dev);
		r = 0;
	}
	fclose(fp);
	return r;
}

void mount_raise_readahead(const struct mfs *fs)
{
	char devno[32], path[96];
	FILE *fp;

	if (!fs->mnt || geteuid() != 0 || mount_devno(fs->mnt, devno, sizeof(devno)) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", devno);
	if ((fp = fopen(path, "we"))) {
		fprintf(fp, "%u\n", MOUNT_READAHEAD_KB);
		fclose(fp);
	}
}

/* fuse_new with the mount's options; NULL after printing why. */
static struct fuse *fs_new(struct mfs *fs)
{
	char opts[VG_NAME_MAX + 96];
	char *argv[] = { "vigil", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse *f;

	snprintf(opts, sizeof(opts), "ro,default_permissions,fsname=vigil:%s,subtype=vigil", fs->dev);
	f = fuse_new(&args, &mountfs_ops, sizeof(mountfs_ops), fs);
	fuse_opt_free_args(&args);
	if (!f)
		log_warnx("mount: cannot set up FUSE");
	return f;
}

/* Runs the session until unmounted or signalled; 0 or 1. */
static int serve(struct fuse *f)
{
	return fuseloop_run(f, MOUNT_THREADS) == 0 ? 0 : 1;
}

/* Mounts and serves, connecting from b (to server, when given). */
static int run(struct mfs *fs, const struct bundle *b, const char *server,
	       const char *mountpoint, bool foreground)
{
	struct fuse *f;
	int rc = 1;

	if (!(f = fs_new(fs)))
		return 1;
	if (fuse_mount(f, mountpoint) != 0) {
		log_warnx("mount: cannot mount on %s", mountpoint);
		fuse_destroy(f);
		return 1;
	}
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
		goto out;
	if (!foreground && fuse_daemonize(0) != 0)
		goto out;
	/* threads and connections from here on: after the fork */
	fs->mc = mconn_new(b, server, NULL);
	fs->dirs = fs->mc ? mdirs_new(fs->mc, fs->dev, fs->at, MOUNT_DIR_CACHE) : NULL;
	fs->rd = fs->mc ? mread_new(fs->mc, fs->dev, MREAD_BLOCK, MREAD_CACHE, MREAD_WORKERS) : NULL;
	if (!fs->dirs || !fs->rd || mdirs_start_prefetch(fs->dirs) < 0) {
		log_warnx("mount: out of memory");
		goto out;
	}
	rc = serve(f);
out:
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
	fuse_destroy(f);
	mread_free(fs->rd);
	mdirs_free(fs->dirs);
	mconn_free(fs->mc);
	return rc;
}

int mountfs_main(struct ctl *c, const char *device, const char *mountpoint,
		 int64_t at_ns, bool foreground)
{
	struct mfs fs = { .dev = device, .at = at_ns, .uid = getuid(), .gid = getgid() };
	int r;

	if (at_ns == INT64_MAX)
		fs.at = real_ns();
	if (check_device(c->m, &fs) < 0)
		return 1;
	/* a dozen threads allocating frames: few arenas keep RSS near what is live */
	mallopt(M_ARENA_MAX, 2);
	/* ... and keep freed frames instead of trimming the heap top after
	 * each one (madvise, then page faults on the next: cmd_get.c) */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mux_free(c->m);   /* its I/O thread would not survive daemonizing */
	c->m = NULL;
	fs.mnt = realpath(mountpoint, NULL);   /* for its readahead (may stay NULL) */
	r = run(&fs, c->b, c->server, mountpoint, foreground);
	free(fs.mnt);
	return r;
}
