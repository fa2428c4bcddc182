/* once.c — `vigild once`: reconcile every root, ship the whole queue,
 * exit 0 only when the server has everything; otherwise one clear line
 * and exit 1.  A failing entry is tried ONCE_TRIES times. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/intake.h"

#define ONCE_TRIES          3
#define ONCE_CONNECT_TRIES  6

static int connect_retry(struct vigild *d)
{
	for (int i = 0; i < ONCE_CONNECT_TRIES && !vigild_quit; i++) {
		if (ship_connect(d->sh) == 0) {
			ship_backoff_reset(d->sh);
			return 0;
		}
		usleep((useconds_t)ship_backoff_ms(d->sh) * 1000);
	}
	return -ECONNREFUSED;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return scan_ts(&t);
}

int once_main(struct vigild *d)
{
	struct qitem *q = malloc(sizeof(*q));
	uint64_t left = 0;
	int64_t oldest;
	int rc = 0;

	d->tops = &tracker_scan_ops;
	if (!q)
		return 1;
	statedb_queue_reset_attempts(d->db);
	if (intake_scan_all(d) < 0) {
		log_warnx("could not read every watched root");
		rc = -EIO;
	}
	if (connect_retry(d) < 0) {
		log_warnx("%s", ship_last_error(d->sh));
		free(q);
		return 1;
	}
	/* Due times are ignored: `once` looks at racy entries right away. */
	while (!vigild_quit && statedb_queue_next(d->db, INT64_MAX, ONCE_TRIES, q) == 0) {
		int r = ship_item(d->sh, q);

		if (r == 0)
			continue;
		if (r == -ENOSPC) {
			rc = r;
			break;
		}
		statedb_queue_defer(d->db, q->path, now_ns());
		if ((r == -ECONNRESET || r == -ETIMEDOUT || r == -EPROTO) && connect_retry(d) < 0) {
			rc = r;
			break;
		}
	}
	ship_report(d->sh, "scan");
	vigild_status(d);
	statedb_queue_stats(d->db, &left, &oldest);
	free(q);
	if (vigild_quit) {
		log_warnx("interrupted: %llu file(s) not shipped yet", (unsigned long long)left);
		return 1;
	}
	if (left || rc < 0) {
		log_warnx("%llu file(s) not shipped: %s", (unsigned long long)left,
			  ship_last_error(d->sh)[0] ? ship_last_error(d->sh) : "see above");
		return 1;
	}
	log_info("everything is on the server");
	return 0;
}
