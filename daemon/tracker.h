/* tracker.h — the change-detection backends of vigild (bpf, fanotify, scan).
 *
 * A tracker tells the daemon which paths may have changed; the daemon re-stats
 * them and decides what to ship.  Every backend fills one tracker_ops; vigild
 * --tracker auto tries bpf, fanotify, scan in that order.  The bpf backend
 * excludes vigild's own tgid. */
#ifndef VIGIL_TRACKER_H
#define VIGIL_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/events.h"
#include "common/proto.h"

/* What a tracker tells the daemon.  Paths are absolute.  Called from the
 * daemon's loop thread (inside tracker_ops.process). */
struct trk_range { uint64_t off, len; };
struct tracker_sink {
	void *arg;
	/* path's content/metadata/existence may have changed; D re-stats it */
	void (*changed)(void *arg, const char *path, int64_t when_ns);
	/* written byte ranges of a regular file since its last pick-up;
	 * n == 0 with unknown=true means "ranges unknown, use the delta path".
	 * A range with off + len >= TRK_EOF (bpf/events.h) runs from off to the
	 * end of the file, whatever its size when it ships: a truncation, whose
	 * cut must count even when the file grew again before anyone looked. */
	void (*ranges)(void *arg, const char *path, const struct trk_range *r, size_t n, bool unknown);
	/* events were lost or a directory changed in ways not itemised:
	 * rescan this directory (recursive), or every root when dir == NULL */
	void (*rescan)(void *arg, const char *dir);
	/* vigild must re-check this file on its periodic timer (writable shared mapping alive) */
	void (*poll_file)(void *arg, const char *path, bool on);
	/* the last writable descriptor of this regular file was closed: the
	 * daemon ships it at once instead of waiting for the debounce.  Comes
	 * in addition to changed()/ranges(); may be NULL in a sink. */
	void (*closed)(void *arg, const char *path, int64_t when_ns);
};

/* The loop's pick-up period while a tracker has work in hand: it bounds
 * the latency of an event in a burst (a burst costs one wake-up per tick,
 * not one per event). */
#define TRK_TICK_MS  50
#define TRK_WAIT_FD  (-1)

struct tracker;
struct tracker_ops {
	const char *name;   /* "bpf", "fanotify", "scan" */
	/* 0, or -errno with a one-line reason in err (e.g. "no BTF") */
	int  (*start)(struct tracker **out, char *const roots[], size_t nroots,
		      const struct tracker_sink *sink, char *err, size_t errlen);
	int  (*fd)(struct tracker *);        /* pollable fd for the daemon's epoll, or -1 */
	int  (*process)(struct tracker *);   /* fd readable, or the time next_ms asked for */
	/* After process(): in how many ms it wants process() again without
	 * its fd becoming readable (work in hand: records of a burst, slots
	 * to release, a rescan to settle), or TRK_WAIT_FD when nothing is
	 * pending: the loop then sleeps on the fd alone (docs/daemon.md,
	 * "Idle and battery").  NULL: every TRK_TICK_MS. */
	int  (*next_ms)(struct tracker *);
	void (*counters)(struct tracker *, struct vg_report *rep); /* append named counters: events, drops, rescans, ... */
	void (*stop)(struct tracker *);
};

extern const struct tracker_ops tracker_bpf_ops, tracker_fanotify_ops, tracker_scan_ops;

/* The bpf tracker's loader is this binary run again (tracker_bpf_load.c):
 * every main() that may start the bpf tracker calls this first.  When argv
 * is the loader's, it loads, answers and exits; otherwise it returns 0. */
int tracker_bpf_loader(int argc, char **argv);

#endif
