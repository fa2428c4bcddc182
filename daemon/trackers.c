/* trackers.c — choosing the tracker: --tracker auto tries bpf, fanotify,
 * scan, in that order, and says why each one it skips did not start.
 * The bpf and fanotify backends live in tracker_bpf.c / tracker_fanotify.c. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"

int trackers_start(struct vigild *d, const struct tracker_sink *sink)
{
	const struct tracker_ops *all[] = { &tracker_bpf_ops, &tracker_fanotify_ops,
					    &tracker_scan_ops };
	static const char *const names[] = { "bpf", "fanotify", "scan" };
	const char *want = d->cf->tracker;
	bool any = !strcmp(want, "auto");
	char err[256];
	int rc = -ENOENT;

	for (size_t i = 0; i < 3; i++) {
		if (!any && strcmp(want, names[i]))
			continue;
		err[0] = '\0';
		rc = all[i]->start(&d->trk, d->cf->watch, d->cf->nwatch, sink, err, sizeof(err));
		if (rc == 0) {
			d->tops = all[i];
			return 0;
		}
		if (!any) {	/* the one asked for: one line says why, vigild exits 1 */
			log_warnx("--tracker %s cannot start: %s", want, err[0] ? err : strerror(-rc));
			return rc;
		}
		log_warning("tracker %s unavailable: %s", names[i], err[0] ? err : strerror(-rc));
	}
	log_warnx("no tracker could start (--tracker %s)", want);
	return rc < 0 ? rc : -ENOENT;
}
