/* tracker_fanotify.c — the fanotify change tracker, for kernels where the
 * BPF tracker does not load.  One FAN_MARK_FILESYSTEM mark per filesystem
 * holding a root, FAN_REPORT_DFID_NAME: each event names a directory by
 * file handle plus an entry name; the handle is opened with
 * open_by_handle_at() against an fd on that filesystem and the directory's
 * path read back from /proc/self/fd.  Events outside the roots are dropped
 * here (the kernel cannot filter a filesystem mark by subtree).  Ranges are
 * never known: every content change is reported "ranges unknown". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fnv.h"
#include "common/log.h"
#include "daemon/counters.h"
#include "daemon/tracker.h"
#include "daemon/trkpath.h"

#define FT_ROOTS_MAX  32
#define FT_BUF        65536
#define FT_SEEN_MAX   1024      /* paths already reported in one process() */
#define FT_MASK (FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | FAN_CREATE | FAN_DELETE | \
		 FAN_MOVED_FROM | FAN_MOVED_TO | FAN_DELETE_SELF | FAN_ONDIR)

struct tracker {
	int fd;
	struct tracker_sink sink;
	size_t nroots;
	char *roots[FT_ROOTS_MAX];
	int mount_fd[FT_ROOTS_MAX];       /* a directory fd on each root's filesystem */
	fsid_t fsid[FT_ROOTS_MAX];
	pid_t self;
	size_t nseen;
	uint64_t seen[FT_SEEN_MAX];        /* FNV hashes of (path, what) this round */
	bool burst;                        /* the last process() read events */
	struct { uint64_t events, drops, rescans, unresolved, outside, closes; } n;
};

static void ft_stop(struct tracker *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	for (size_t i = 0; i < t->nroots; i++) {
		free(t->roots[i]);
		if (t->mount_fd[i] >= 0)
			close(t->mount_fd[i]);
	}
	free(t);
}

static int add_root(struct tracker *t, const char *root, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct statfs sf;
	size_t i = t->nroots;
	bool marked = false;

	if (i == FT_ROOTS_MAX) {
		snprintf(err, errlen, "too many roots");
		return -E2BIG;
	}
	if (!realpath(root, real) || statfs(real, &sf) < 0) {
		snprintf(err, errlen, "watched root %s: %s", root, strerror(errno));
		return -errno;
	}
	t->mount_fd[i] = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->mount_fd[i] < 0 || !(t->roots[i] = strdup(real))) {
		snprintf(err, errlen, "open %s: %s", real, strerror(errno));
		return -errno;
	}
	t->fsid[i] = sf.f_fsid;
	t->nroots++;
	for (size_t j = 0; j < i; j++)
		marked |= memcmp(&t->fsid[j], &sf.f_fsid, sizeof(sf.f_fsid)) == 0;
	if (!marked && fanotify_mark(t->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FT_MASK,
				     AT_FDCWD, real) < 0) {
		snprintf(err, errlen, "fanotify_mark %s: %s", real, strerror(errno));
		return -errno;
	}
	return 0;
}

static int ft_start(struct tracker **out, char *const roots[], size_t nroots,
		    const struct tracker_sink *sink, char *err, size_t errlen)
{
	struct tracker *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->sink = *sink;
	t->self = getpid();
	for (size_t i = 0; i < FT_ROOTS_MAX; i++)
		t->mount_fd[i] = -1;
	t->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (t->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "fanotify_init: %s%s", strerror(errno),
			 errno == EINVAL ? " (kernel older than 5.9?)" :
			 errno == ENOSYS ? " (no CONFIG_FANOTIFY, or an emulator without it: qemu-user)" : "");
		goto fail;
	}
	for (size_t i = 0; i < nroots; i++)
		if ((rc = add_root(t, roots[i], err, errlen)) < 0)
			goto fail;
	*out = t;
	return 0;
fail:
	ft_stop(t);
	return rc;
}

static int ft_fd(struct tracker *t)
{
	return t->fd;
}

static int mount_fd_for(struct tracker *t, const void *fsid)
{
	for (size_t i = 0; i < t->nroots; i++)
		if (memcmp(&t->fsid[i], fsid, sizeof(fsid_t)) == 0)
			return t->mount_fd[i];
	return -1;
}

/* Once per path and kind of report in one process() round. */
static bool first_time(struct tracker *t, const char *path, int what)
{
	uint64_t h = fnv1a64_str(FNV64_BASIS ^ (uint64_t)what, path);

	for (size_t i = 0; i < t->nseen; i++)
		if (t->seen[i] == h)
			return false;
	if (t->nseen < FT_SEEN_MAX)
		t->seen[t->nseen++] = h;
	return true;
}

static void deliver(struct tracker *t, uint64_t mask, const char *path)
{
	if (mask & (FAN_MOVED_TO | FAN_CREATE)) {
		struct stat st;

		if ((mask & FAN_ONDIR) || (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
			if (mask & FAN_MOVED_TO) {
				t->n.rescans++;
				t->sink.rescan(t->sink.arg, path);
			}
		}
	}
	if (first_time(t, path, 0))
		t->sink.changed(t->sink.arg, path, real_ns());
	if ((mask & FAN_MODIFY) && !(mask & FAN_ONDIR) && first_time(t, path, 1))
		t->sink.ranges(t->sink.arg, path, NULL, 0, true);
	/* FAN_CLOSE_WRITE comes at the last close of each writable struct file
	 * (not of the inode: another writer may still hold it open). */
	if ((mask & FAN_CLOSE_WRITE) && !(mask & FAN_ONDIR) && t->sink.closed &&
	    first_time(t, path, 2)) {
		t->n.closes++;
		t->sink.closed(t->sink.arg, path, real_ns());
	}
}

/* One DFID_NAME info record -> absolute path, or false. */
static bool resolve(struct tracker *t, const struct fanotify_event_info_fid *fid,
		    size_t len, char *out, size_t cap)
{
	const struct file_handle *fh = (const struct file_handle *)fid->handle;
	size_t hsize = sizeof(*fid) + sizeof(*fh);
	char link[64], dir[PATH_MAX];
	const char *name;
	ssize_t n;
	int mfd, dfd;

	if (len < hsize || fh->handle_bytes > len - hsize)
		return false;
	name = (const char *)fh->f_handle + fh->handle_bytes;
	if (fid->hdr.info_type != FAN_EVENT_INFO_TYPE_DFID_NAME ||
	    !memchr(name, '\0', len - hsize - fh->handle_bytes))
		name = ".";
	if ((mfd = mount_fd_for(t, &fid->fsid)) < 0)
		return false;
	dfd = open_by_handle_at(mfd, (struct file_handle *)fh, O_PATH | O_CLOEXEC);
	if (dfd < 0) {
		t->n.unresolved++;     /* directory gone: its parent's event covers it */
		return false;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	n = readlink(link, dir, sizeof(dir) - 1);
	close(dfd);
	if (n <= 0)
		return false;
	dir[n] = '\0';
	if (strcmp(name, ".") == 0)
		snprintf(out, cap, "%s", dir);
	else if (snprintf(out, cap, "%s/%s", strcmp(dir, "/") ? dir : "", name) >= (int)cap)
		return false;
	return true;
}

/* m is an aligned copy of the event's header; raw is the event in the read
 * buffer, whose info records are only 4-byte aligned. */
static void handle(struct tracker *t, const struct fanotify_event_metadata *m, const char *raw)
{
	const char *p = raw + m->metadata_len, *end = raw + m->event_len;
	char path[PATH_MAX];

	t->n.events++;
	if (m->mask & FAN_Q_OVERFLOW) {
		t->n.drops++;
		t->n.rescans++;
		t->sink.rescan(t->sink.arg, NULL);
		return;
	}
	if (m->pid == t->self)
		return;
	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		const struct fanotify_event_info_fid *fid = (const void *)p;
		size_t len = fid->hdr.len;

		if (len < sizeof(fid->hdr) || len > (size_t)(end - p))
			break;
		if ((fid->hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
		     fid->hdr.info_type == FAN_EVENT_INFO_TYPE_DFID) &&
		    resolve(t, fid, len, path, sizeof(path))) {
			if (trkpath_root_of(t->roots, t->nroots, path) >= 0)
				deliver(t, m->mask, path);
			else
				t->n.outside++;
		}
		p += len;
	}
}

static int ft_process(struct tracker *t)
{
	char buf[FT_BUF] __attribute__((aligned(8)));
	ssize_t n;

	t->nseen = 0;
	t->burst = false;
	for (;;) {
		struct fanotify_event_metadata m;
		size_t off = 0;

		n = read(t->fd, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return 0;
		t->burst = true;
		/* Events with name records are not 8-byte multiples: copy each
		 * header out rather than casting into the buffer. */
		while ((size_t)n - off >= sizeof(m)) {
			memcpy(&m, buf + off, sizeof(m));
			if (m.event_len < sizeof(m) || m.event_len > (size_t)n - off)
				break;
			if (m.vers == FANOTIFY_METADATA_VERSION && m.metadata_len <= m.event_len)
				handle(t, &m, buf + off);
			if (m.fd >= 0)
				close(m.fd);
			off += m.event_len;
		}
	}
}

/* Events this turn: more may follow, read them on the next tick (one
 * wake-up per tick during a burst, not one per event); else the fd. */
static int ft_next_ms(struct tracker *t)
{
	return t->burst ? TRK_TICK_MS : TRK_WAIT_FD;
}

static void ft_counters(struct tracker *t, struct vg_report *rep)
{
	report_counter(rep, "events", t->n.events);
	report_counter(rep, "drops", t->n.drops);
	report_counter(rep, "rescans", t->n.rescans);
	report_counter(rep, "unresolved", t->n.unresolved);
	report_counter(rep, "outside_roots", t->n.outside);
	report_counter(rep, "closes", t->n.closes);
}

const struct tracker_ops tracker_fanotify_ops = {
	.name = "fanotify",
	.start = ft_start,
	.fd = ft_fd,
	.process = ft_process,
	.next_ms = ft_next_ms,
	.counters = ft_counters,
	.stop = ft_stop,
};
