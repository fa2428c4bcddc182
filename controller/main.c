/* main.c — `vigil`, the control terminal: global flags, then one command
 * from the table below.  Commands live in cmd_*.c; the session in ctl.c. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/conffile.h"
#include "common/log.h"
#include "controller/commands.h"

static const struct command commands[] = {
	{ "keygen", cmd_keygen, "make a controller's own command-signing key pair" },
	{ "devices", cmd_devices, "list the enrolled devices" },
	{ "ls", cmd_ls, "list a directory of a device's backup" },
	{ "log", cmd_log, "list every version of a path" },
	{ "search", cmd_search, "find versions containing every WORD" },
	{ "get", cmd_get, "fetch a file or a tree" },
	{ "mount", cmd_mount, "mount a device's backup read-only" },
	{ "freeze", cmd_freeze, "stop a device's applications (signed command)" },
	{ "thaw", cmd_thaw, "undo freeze (signed command)" },
	{ "erase", cmd_erase, "erase a device's user data (signed command)" },
	{ "trust", cmd_trust, "add or revoke a controller a device trusts (signed command)" },
	{ "status", cmd_status, "a device's state, commands and events" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vigil [--bundle FILE] [--server HOST:PORT] [--sign-key FILE] COMMAND [ARGS]\n\n"
		"commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n--bundle defaults to $VIGIL_BUNDLE, then ~/.config/vigil/controller.bundle.\n"
		"--sign-key (the signed commands' private key) defaults to $VIGIL_SIGN_KEY,\n"
		"then the bundle's own, then the bundle's path with .bundle replaced by .key.\n"
		"`vigil COMMAND --help` describes a command.\n");
}

static void on_signal(int sig)
{
	ctl_quit = 1;
}

/* SIGINT/SIGTERM set the quit flag so a transfer removes its temporary
 * file and stops (a second one kills at once); SIGPIPE is ignored (TLS writes report EPIPE). */
static void signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;   /* a second ^C ends the process at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct ctl c;
	size_t i;
	int opt, rc;

	log_init("vigil", LOG_LVL_INFO);
	signals_init();
	memset(&c, 0, sizeof(c));
	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "+h", opts)) != -1) {
		if (opt == CTL_OPT_HELP) {
			usage(stdout);
			return CTL_OK;
		}
		if (!ctl_common_opt(&c, opt, optarg)) {
			fprintf(stderr, "vigil: unknown option %s\n", argv[optind - 1]);
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vigil: no command given\n");
		usage(stderr);
		return CTL_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			break;
	if (i == NCOMMANDS) {
		fprintf(stderr, "vigil: unknown command \"%s\"\n", argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;   /* the command restarts getopt on its own argv */
	rc = commands[i].run(&c, argc, argv);
	ctl_close(&c);
	return rc;
}
