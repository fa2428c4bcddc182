/* main.c — vigil-simfs: the SIM overlay.  Parses the command line, sets up
 * the mount (sim/ from the modem, the rest passed through to --backing),
 * registers it with vigild (--state), daemonizes once the mount is up,
 * serves with a pool of FUSE threads beside the modem thread, and on
 * SIGTERM/SIGINT unmount (the STATE/mounts line stays: fuse/reporter.h).
 * Exit status: 0, 1 (start-up failed), 2 (usage). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/conffile.h"
#include "common/fuseloop.h"
#include "common/log.h"
#include "fuse/poller.h"
#include "fuse/simfs.h"

#define PROG          "vigil-simfs"
#define ALLOW_MAX     32
#define POLL_DEFAULT  30
#define POLL_MAX      86400
#define BAUD_MAX      4000000

struct opts {
	const char *modem, *backing, *state, *mountpoint;
	unsigned poll_s, baud;
	char *allow[ALLOW_MAX];
	size_t nallow;
	bool foreground;
};

static void usage(FILE *f)
{
	fputs("usage: " PROG " --modem TTY|mm [--backing DIR] [--state DIR] [--poll SECONDS]\n"
	      "                   [--baud N] [--allow-iccid ICCID[,ICCID...]]... [--verbose]\n"
	      "                   MOUNTPOINT [-f]\n"
	      "  --modem TTY|mm      the modem's AT port (e.g. /dev/ttyUSB2) or ModemManager\n"
	      "  --backing DIR       every path but sim/ passes through to DIR\n"
	      "  --state DIR         vigild's state directory: register the mount, report changes\n"
	      "  --poll SECONDS      read the SIM this often (default 30)\n"
	      "  --baud N            the AT port's speed (default: as it is)\n"
	      "  --allow-iccid LIST  ICCIDs whose appearance is no SIM-swap alarm\n"
	      "  --verbose           debug messages too (libfuse's among them)\n"
	      "  -f                  stay in the foreground\n", f);
}

/* A usage error: one line, exit 2. */
static void __attribute__((noreturn, format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static unsigned number(const char *opt, const char *v, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max)
		bad("%s: expected a number from %lu to %lu, not '%s'", opt, min, max, v);
	return (unsigned)n;
}

/* --allow-iccid: a comma-separated list of ICCIDs (digits; hex as SIMs pad them). */
static void allow_add(struct opts *o, char *list)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(t);

		if (n == 0 || n >= SIM_ICCID_MAX || strspn(t, "0123456789abcdefABCDEF") != n)
			bad("--allow-iccid: '%s' is not an ICCID", t);
		if (o->nallow >= ALLOW_MAX)
			bad("--allow-iccid: at most %d ICCIDs", ALLOW_MAX);
		o->allow[o->nallow++] = t;
	}
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "modem", required_argument, NULL, 'm' }, { "backing", required_argument, NULL, 'b' },
		{ "state", required_argument, NULL, 's' }, { "poll", required_argument, NULL, 'p' },
		{ "baud", required_argument, NULL, 'B' }, { "allow-iccid", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->poll_s = POLL_DEFAULT;
	opterr = 0;
	while ((c = conf_getopt(argc, argv, ":fh", lo)) != -1) {
		switch (c) {
		case 'm': o->modem = optarg; break;
		case 'b': o->backing = optarg; break;
		case 's': o->state = optarg; break;
		case 'p': o->poll_s = number("--poll", optarg, 1, POLL_MAX); break;
		case 'B': o->baud = number("--baud", optarg, 0, BAUD_MAX); break;
		case 'a': allow_add(o, optarg); break;
		case 'f': o->foreground = true; break;
		case 'v': log_set_level(LOG_LVL_DEBUG); break;
		case 'h': usage(stdout); exit(0);
		case ':': bad("%s needs a value", argv[optind - 1]);
		default: bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!o->modem || !o->modem[0])
		bad("--modem TTY|mm is required");
	if (optind != argc - 1)
		bad(optind >= argc ? "MOUNTPOINT is required" : "one MOUNTPOINT only");
	o->mountpoint = argv[optind];
}

/* libfuse's own messages: only when debugging (simfs logs its failures once). */
static void fuse_logger(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("fuse: %s", line);
}

/* A directory's canonical path into out (PATH_MAX); 0 or -errno, logged. */
static int canon_dir(const char *what, const char *path, char *out)
{
	struct stat st;

	if (!realpath(path, out) || stat(out, &st) < 0) {
		log_warn("%s %s", what, path);
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("%s %s: not a directory", what, path);
		return -ENOTDIR;
	}
	return 0;
}

/* The mount's state from the options: 0, or -errno after one log line. */
static int fs_setup(struct simfs *fs, const struct opts *o)
{
	char state[PATH_MAX], err[PATH_MAX + 64];
	int e;

	fs->backing = -1;
	fs->uid = getuid();
	fs->gid = getgid();
	fs->start_ns = real_ns();
	if ((e = canon_dir("mountpoint", o->mountpoint, fs->mountpoint)) < 0)
		return e;
	if (o->backing && (fs->backing = open(o->backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("--backing %s", o->backing);
		return -errno;
	}
	if (o->state && (e = canon_dir("--state", o->state, state)) < 0)
		return e;
	if (o->state && (e = reporter_new(&fs->rep, state, fs->mountpoint, err, sizeof(err))) < 0) {
		log_warnx("--state: %s", err);
		return e;
	}
	if (!(fs->store = simstore_new(fs->start_ns)) || ptopens_new(fs) < 0) {
		log_warnx("out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void fs_teardown(struct simfs *fs)
{
	if (fs->modem_busy)
		return;   /* the process exits; the modem thread may still read */
	ptopens_free(fs);
	simstore_free(fs->store);
	reporter_free(fs->rep);
	if (fs->backing >= 0)
		close(fs->backing);
}

/* fuse_new with the mount's options; NULL after saying why. */
static struct fuse *fs_new(struct simfs *fs)
{
	char *argv[] = { PROG, "-o", "default_permissions,fsname=vigil-simfs,subtype=vigil-simfs",
			 NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse *f;

	f = fuse_new(&args, &simfs_ops, sizeof(simfs_ops), fs);
	fuse_opt_free_args(&args);
	if (!f)
		log_warnx("cannot set up FUSE");
	return f;
}

/* Serves until unmounted or signalled; 0 or 1. */
static int serve(struct fuse *f)
{
	return fuseloop_run(f, SIMFS_THREADS) < 0 ? 1 : 0;   /* > 0: the signal that ended it */
}

/* Into the background once the mount is up: the parent exits 0 when the
 * child is set up.  Unlike fuse_daemonize, stderr stays where the caller
 * sent it unless it is a terminal, so the modem's trouble lines reach a
 * log file.  0 or -errno (in the caller, before any fork succeeded). */
static int daemonize(void)
{
	int p[2], null;
	char ok = 1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -EAGAIN;
	}
	if (pid > 0) {   /* the parent: wait for the child's word, then leave */
		close(p[1]);
		_exit(read(p[0], &ok, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") < 0 || (null = open("/dev/null", O_RDWR)) < 0)
		_exit(1);
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	if (isatty(STDERR_FILENO))
		dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
	if (write(p[1], &ok, 1) != 1)
		_exit(1);
	close(p[1]);
	return 0;
}

/* Mounted: registers, daemonizes, runs the modem thread and the FUSE loop. */
static int run_mounted(struct simfs *fs, struct fuse *f, const struct opts *o)
{
	struct poller_cfg pc = { .spec = o->modem, .baud = o->baud, .poll_s = o->poll_s,
				 .allow = o->allow, .nallow = o->nallow };
	struct poller *p = NULL;
	char err[PATH_MAX + 64];
	int rc, e;

	pc.ops = strcmp(o->modem, "mm") ? &modem_at_ops : &modem_mm_ops;
	if (reporter_register(fs->rep, err, sizeof(err)) < 0) {
		log_warnx("registering the mount: %s", err);
		return 1;
	}
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0 ||
	    (!o->foreground && daemonize() < 0)) {
		log_warnx("cannot set up signals or daemonize");
		rc = 1;
		goto out;
	}
	/* threads from here on: after the fork */
	if ((e = poller_start(&p, &pc, fs->store, fs->rep)) < 0) {
		log_errno(e, "starting the modem thread");
		rc = 1;
		goto out;
	}
	rc = serve(f);
	if ((fs->modem_busy = !poller_stop(p, 2000)))
		log_warnx("the modem thread did not stop in time");
out:
	reporter_unmounted(fs->rep);
	fuse_remove_signal_handlers(fuse_get_session(f));
	return rc;
}

int main(int argc, char **argv)
{
	struct simfs fs = { .backing = -1 };
	struct fuse *f = NULL;
	struct opts o;
	int rc = 1;

	log_init(PROG, LOG_LVL_INFO);
	parse(argc, argv, &o);
	fuse_set_log_func(fuse_logger);
	if (fs_setup(&fs, &o) < 0 || !(f = fs_new(&fs)))
		goto out;
	if (fuse_mount(f, fs.mountpoint) != 0) {
		log_warnx("cannot mount on %s", fs.mountpoint);
		goto out;
	}
	rc = run_mounted(&fs, f, &o);
	fuse_unmount(f);
out:
	if (f)
		fuse_destroy(f);
	fs_teardown(&fs);
	return rc;
}
