/* main.c — vigild: the device daemon.  Dispatches the subcommands
 * run | once | check | status (see DESIGN.md "Device daemon"). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "daemon/check.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/rsstream.h"
#include "daemon/status.h"

static void on_signal(int sig)
{
	vigild_quit = 1;
}

/* run/once: SIGTERM/SIGINT (and SIGUSR1, `vigild status` asking for a
 * fresh status.json) are blocked in every thread; `run` reads them from a
 * signalfd, `once` unblocks them for its flag handler (SIGUSR1: ignored). */
static void signals(bool once)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (once) {
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		signal(SIGUSR1, SIG_IGN);
	} else {
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
}

static int daemon_main(bool once, int argc, char **argv)
{
	struct vigild d;
	struct vconf cf;
	char err[PATH_MAX + 128];
	bool wipe;
	int rc;

	rc = vconf_parse(&cf, VCONF_RUN, argc, argv, err, sizeof(err));
	if (rc == 1) {
		vconf_free(&cf);
		return 0;
	}
	if (rc < 0) {
		log_warnx("%s%s", err, rc == -EINVAL && !cf.file_error ? " (see vigild --help)" : "");
		vconf_free(&cf);
		return rc == -EINVAL ? 2 : 1;
	}
	if (cf.verbose)
		log_set_level(LOG_LVL_DEBUG);
	signals(once);
	if (vigild_open(&d, &cf) < 0) {
		vigild_close(&d);
		vconf_free(&cf);
		return 1;
	}
	rc = once ? once_main(&d) : run_main(&d);
	wipe = d.wipe_state;
	vigild_close(&d);
	if (wipe)
		vigild_wipe(&cf);
	vconf_free(&cf);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	tracker_bpf_loader(argc, argv);   /* vigild run again to load the bpf tracker */
	log_init("vigild", LOG_LVL_INFO);
	rsstream_quiet_librsync();
	if (!cmd) {
		log_warnx("a command is needed: run, once, check or status (see vigild --help)");
		return 2;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		vconf_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return daemon_main(false, argc - 1, argv + 1);
	if (!strcmp(cmd, "once"))
		return daemon_main(true, argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return status_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return check_main(argc - 1, argv + 1);
	log_warnx("unknown command '%s' (see vigild --help)", cmd);
	return 2;
}
