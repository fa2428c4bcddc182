/* once.c — `vigild once`: reconcile every root, ship the whole queue with
 * the shipper threads, exit 0 only when the server has everything;
 * otherwise one clear line and exit 1.  An entry that fails is tried three
 * times; running out of server space or of connection attempts ends the
 * run at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/erase.h"
#include "daemon/intake.h"

int once_main(struct vigild *d)
{
	pthread_t th[SHIP_WORKERS];
	const char *err = "";
	uint64_t left = 0;
	int64_t oldest;
	int rc = 0;

	if (erase_state(d->cf->state, NULL) != ERASE_NONE) {
		/* shipping now would only send the erase's deletions */
		log_warnx("an erase is under way on this device; `vigild run` finishes it");
		return 1;
	}
	d->tops = &tracker_scan_ops;
	d->once = true;
	statedb_queue_reset_attempts(d->db);
	if (intake_scan_all(d) < 0) {
		log_warnx("could not read every watched root");
		rc = -EIO;
	}
	if (workers_start(d, th) < 0)
		return 1;
	workers_join(d, th);
	for (size_t i = 0; i < d->nsh; i++)
		if (ship_connected(d->sh[i])) {
			ship_report(d->sh[i], "scan");
			break;
		}
	vigild_status(d);
	statedb_queue_stats(d->db, &left, &oldest);
	if (d->last_error[0])
		err = d->last_error;
	if (vigild_quit) {
		log_warnx("interrupted: %llu file(s) not shipped yet", (unsigned long long)left);
		return 1;
	}
	if (d->fatal == -ECONNREFUSED) {
		log_warnx("%s", err[0] ? err : "cannot reach the server");
		return 1;
	}
	if (left || rc < 0 || d->fatal) {
		log_warnx("%llu file(s) not shipped: %s", (unsigned long long)left,
			  err[0] ? err : "see above");
		return 1;
	}
	log_info("everything is on the server");
	return 0;
}
