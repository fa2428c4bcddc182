/* cmd_mount.c — `vigil mount`: argument checks, then the FUSE module
 * (mount/mount.h) takes over the session and its connection. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/conffile.h"
#include "common/names.h"
#include "common/timefmt.h"
#include "controller/commands.h"
#include "controller/mount/mount.h"

int cmd_mount(struct ctl *c, int argc, char **argv)
{
	static const char *usage = "vigil mount DEVICE MOUNTPOINT [--at TIME] [-f|--foreground]\n"
		"  Mounts the device's / as it was at TIME (default: latest as of now),\n"
		"  read-only; content is fetched only when read.  MOUNTPOINT/.history/<path>/\n"
		"  holds every version as <version>_<time>.  -f, --foreground: stay in the\n"
		"  foreground.\n";
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' }, { "foreground", no_argument, NULL, 'f' },
		CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	int64_t at = INT64_MAX;
	bool fg = false;
	int opt;

	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "hf", opts)) != -1) {
		if (opt == 'a') {
			if (timefmt_parse(optarg, real_ns(), &at) < 0)
				return ctl_usage(usage, "--at %s: not a TIME", optarg);
		} else if (opt == 'f') {
			fg = true;
		} else if (!ctl_common_opt(c, opt, optarg)) {
			return ctl_opt_stop(usage, opt, argv);
		}
	}
	if (argc - optind != 2)
		return ctl_usage(usage, "expected DEVICE and MOUNTPOINT");
	if (!name_valid(argv[optind]))
		return ctl_usage(usage, "%s: not a valid device name", argv[optind]);
	if (!*argv[optind + 1])
		return ctl_usage(usage, "empty MOUNTPOINT");
	if (at == INT64_MAX)
		at = real_ns();   /* "latest as of the moment of mounting" */
	if (ctl_connect(c) < 0)
		return CTL_FAIL;
	/* mountfs_main closes c->m before daemonizing and reconnects after */
	return mountfs_main(c, argv[optind], argv[optind + 1], at, fg);
}
