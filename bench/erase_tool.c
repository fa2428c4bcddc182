/* erase_tool.c — runs the erase engine (daemon/erase.c) on one root for
 * bench/erase_bench.sh and prints its report as key=value lines.
 * Usage: erase_tool STATEDIR ROOT */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "daemon/erase.h"

/* When each phase began (CLOCK_MONOTONIC seconds), from the progress sink. */
struct phases { double at[ERASE_REPORTED + 1]; };

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void progress(void *arg, const struct erase_report *r)
{
	struct phases *p = arg;

	if (r->phase <= ERASE_REPORTED && p->at[r->phase] == 0)
		p->at[r->phase] = mono();
}

int main(int argc, char **argv)
{
	struct phases ph = { { 0 } };
	struct erase_report r;
	struct erase_opts o = { 0 };
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: erase_tool STATEDIR ROOT\n");
		return 2;
	}
	log_init("erase_tool", LOG_LVL_WARN);
	o.statedir = argv[1];
	o.roots = &argv[2];
	o.nroots = 1;
	o.progress = progress;
	o.progress_arg = &ph;
	ph.at[ERASE_ROOTS] = mono();
	if ((rc = erase_run(&o, &r)) < 0) {
		fprintf(stderr, "erase_tool: %s\n", strerror(-rc));
		return 1;
	}
	printf("walk=%.2fs fitrim=%.2fs files=%llu bytes=%llu dirs=%llu busy=%llu failed=%llu "
	       "fitrim_ran=%u fitrim_unsupported=%u fitrim_error=%d\n",
	       ph.at[ERASE_FITRIM] - ph.at[ERASE_ROOTS], ph.at[ERASE_LUKS] - ph.at[ERASE_FITRIM],
	       (unsigned long long)r.files_overwritten, (unsigned long long)r.bytes_overwritten,
	       (unsigned long long)r.dirs_removed, (unsigned long long)r.unlinked_busy,
	       (unsigned long long)r.failed, r.fitrim_ran, r.fitrim_unsupported, r.fitrim_error);
	return 0;
}
