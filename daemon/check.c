/* check.c — `vigild check`: what this kernel offers vigil, and why not.
 * Reports BTF, tracefs (mounting it when absent), the capabilities the
 * trackers need, FUSE, the cgroup freezer, and the kernel options of
 * kconfig/vigil.config, whether libcryptsetup opens (vigild opens it only
 * at an erase: better known now than when a lost device is erased), then
 * actually starts the bpf and fanotify trackers on a temporary directory.
 * Exit 0 when the bpf tracker works. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/check.h"
#include "daemon/erase.h"
#include "daemon/freezer.h"
#include "daemon/tracker.h"

#define TRACEFS "/sys/kernel/tracing"

static void line(const char *what, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void line(const char *what, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%-20s %-3s ", what, ok ? "ok" : "no");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void check_tracefs(void)
{
	if (access(TRACEFS "/events", F_OK) == 0) {
		line("tracefs", true, "mounted on %s", TRACEFS);
	} else if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) == 0) {
		line("tracefs", true, "was not mounted; mounted it on %s", TRACEFS);
	} else {
		line("tracefs", false, "not mounted and mount failed: %s (CONFIG_FTRACE?)",
		     strerror(errno));
	}
}

/* CapEff bits from /proc/self/status. */
static void check_caps(void)
{
	static const struct { int bit; const char *name, *why; } caps[] = {
		{ 39, "CAP_BPF", "load BPF programs" },
		{ 38, "CAP_PERFMON", "attach tracing programs" },
		{ 21, "CAP_SYS_ADMIN", "fanotify filesystem marks, mounting tracefs" },
		{ 2, "CAP_DAC_READ_SEARCH", "open_by_handle_at for fanotify events" },
	};
	unsigned long long eff = 0;
	char buf[256];
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		line(caps[i].name, eff & (1ULL << caps[i].bit), "%s", caps[i].why);
}

static void check_fuse(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		line("fuse", true, "/dev/fuse opens (vigil-simfs, vigil mount)");
	} else {
		line("fuse", false, "/dev/fuse: %s (CONFIG_FUSE_FS)", strerror(errno));
	}
}

/* The same probe vigild relies on: cgroup v2 cgroup.freeze, or the v1 freezer. */
static void check_freezer(void)
{
	char msg[PATH_MAX * 2 + 128];
	bool ok = freezer_probe(msg, sizeof(msg));

	line("cgroup freezer", ok, "%s", msg);
}

/* Runs kconfig/check (installed or in the source tree) on the running
 * kernel's config: the same list as the fragment. */
static void check_kconfig(void)
{
	static const char *const where[] = {
		"kconfig/check", "/usr/local/share/vigil/kconfig/check",
		"/usr/share/vigil/kconfig/check",
	};
	char cmd[PATH_MAX + 16], buf[512];
	const char *env = getenv("VIGIL_KCONFIG_CHECK");
	FILE *p;
	int rc;

	for (size_t i = 0; !env && i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			env = where[i];
	if (!env) {
		line("kernel config", false, "kconfig/check not found (set VIGIL_KCONFIG_CHECK)");
		return;
	}
	snprintf(cmd, sizeof(cmd), "'%s' 2>&1", env);
	if (strchr(env, '\'') || !(p = popen(cmd, "r"))) {
		line("kernel config", false, "cannot run %s", env);
		return;
	}
	while (fgets(buf, sizeof(buf), p))
		printf("  kconfig: %s", buf);
	rc = pclose(p);
	line("kernel config", rc == 0, "%s", rc == 0 ? "every vigil option set" :
	     "see the kconfig lines above");
}

static void nop_changed(void *a, const char *p, int64_t w) { }
static void nop_ranges(void *a, const char *p, const struct trk_range *r, size_t n, bool u) { }
static void nop_rescan(void *a, const char *d) { }
static void nop_poll(void *a, const char *p, bool on) { }

/* --erase-luks needs libcryptsetup, opened only when an erase comes. */
static void check_cryptsetup(void)
{
	const char *what;
	int rc = erase_luks_ready(&what);

	line("libcryptsetup", rc == 0, "%s%s", rc == 0 ? "opens: " : "",
	     rc == 0 ? what : what[0] ? what : strerror(-rc));
	if (rc < 0)
		printf("%-20s     an erase cannot destroy LUKS key slots (--erase-luks)\n", "");
}

/* Really starts a tracker on a temporary root. */
static bool try_tracker(const struct tracker_ops *ops)
{
	struct tracker_sink sink = { .changed = nop_changed, .ranges = nop_ranges,
				     .rescan = nop_rescan, .poll_file = nop_poll };
	char dir[] = "/tmp/vigil-check-XXXXXX", err[256];
	char *roots[1] = { dir };
	struct tracker *t;
	bool ok;

	if (!mkdtemp(dir)) {
		line(ops->name, false, "mkdtemp: %s", strerror(errno));
		return false;
	}
	ok = ops->start(&t, roots, 1, &sink, err, sizeof(err)) == 0;
	if (ok) {
		ok = ops->process(t) == 0;
		ops->stop(t);
		line(ops->name, ok, "%s", ok ? "tracker loads and runs" : "process failed");
	} else {
		line(ops->name, false, "%s", err);
	}
	rmdir(dir);
	return ok;
}

int check_main(int argc, char **argv)
{
	bool bpf_ok;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: vigild check\n"
		       "Reports what this kernel offers vigil (BPF+BTF, tracefs, capabilities,\n"
		       "FUSE, cgroup freezer, kernel options), whether libcryptsetup opens\n"
		       "(erase --erase-luks), and tries the trackers.\n"
		       "Exit 0 when the bpf tracker works.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "%s: check: unexpected argument %s\n", log_progname(), argv[1]);
		return 2;
	}
	line("btf", access("/sys/kernel/btf/vmlinux", R_OK) == 0,
	     "/sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)");
	check_tracefs();
	line("bpffs", true, "not needed: the tracker pins nothing");
	check_caps();
	check_fuse();
	check_freezer();
	check_kconfig();
	check_cryptsetup();
	bpf_ok = try_tracker(&tracker_bpf_ops);
	try_tracker(&tracker_fanotify_ops);
	printf("preferred tracker: %s\n", bpf_ok ? "bpf" : "not available (vigild falls back)");
	return bpf_ok ? 0 : 1;
}
