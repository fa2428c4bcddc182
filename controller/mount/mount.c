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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fuseloop.h"
#include "common/log.h"
#include "common/mountinfo.h"
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

struct devno_ctx {
	const char *mnt;
	dev_t dev;
};

static int devno_one(const struct mountinfo *mi, const char *line, void *arg)
{
	struct devno_ctx *c = arg;

	if (!strcmp(mi->point, c->mnt) && !strcmp(mi->fstype, "fuse.vigil"))
		c->dev = mi->dev;
	return 0;
}

/* The device number of the newest fuse.vigil mount at mnt, from
 * /proc/self/mountinfo (a stat of the mount point would wait for the INIT
 * being answered).  0, or -ENOENT. */
static int mount_devno(const char *mnt, dev_t *dev)
{
	struct devno_ctx c = { .mnt = mnt };
	int r = mountinfo_each(devno_one, &c);

	if (r < 0)
		return r;
	*dev = c.dev;
	return c.dev ? 0 : -ENOENT;
}

void mount_raise_readahead(const struct mfs *fs)
{
	char path[96];
	dev_t dev;
	FILE *fp;

	if (!fs->mnt || geteuid() != 0 || mount_devno(fs->mnt, &dev) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev), minor(dev));
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
