/* tracker_cost.c — write-path cost of the trackers: N random 4 KiB pwrites
 * into a 64 MiB file, and N getppid() calls, timed in a child process while
 * this process runs the tracker (it excludes its own tgid) and drains it
 * every 50 ms.  Modes: none, empty (an empty program on tp_btf/sys_exit,
 * the tracker's attach point), bpf (file under the watched root),
 * bpf-outside (file elsewhere), fanotify, inotify (inotifywait -m -r).
 * Every mode runs ROUNDS times, interleaved; prints min and median ns per
 * pwrite and per getppid (thread CPU time), and the ratios to "none".
 * The bpf tracker loads its programs in a child that is this binary run
 * again (daemon/tracker_bpf_load.c), hence tracker_bpf_loader() first.
 * MODES="bpf empty" (environment) runs only those modes, and none.
 * PROG_NS=1 turns the kernel's run-time statistics on (bpf_enable_stats)
 * and adds the sys_exit program's own ns per pwrite and per other syscall
 * (they make every program's run dearer by two clock reads: ~45 ns here,
 * the empty program's figure; read the ratios of a run without it).
 * The pwrites and getppids run in alternating blocks (workload()).
 * Usage: tracker_cost [N [ROUNDS]]  (see bench/tracker_cost.sh). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "common/log.h"
#include "daemon/tracker.h"
#include "daemon/tracker_bpf.h"
#include "bench_empty.skel.h"

#define FILE_SIZE (64 << 20)

static uint64_t nevents;

static void s_changed(void *a, const char *p, int64_t w) { nevents++; }
static void s_ranges(void *a, const char *p, const struct trk_range *r, size_t n, bool u) { }
static void s_rescan(void *a, const char *d) { nevents++; }
static void s_poll(void *a, const char *p, bool on) { }

static double now(void)
{
	struct timespec ts;

	/* CPU time of the calling thread (user + system, the tracepoint
	 * programs included): time spent preempted by other load does not
	 * count, so the figures hold on a busy machine */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The sys_exit program's own time so far (kernel.bpf_stats_enabled, or
 * bpf_enable_stats below): run_time_ns and run_cnt of every process's
 * syscalls, not only the workload's. */
static void prog_stats(int prog_fd, uint64_t st[2])
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	st[0] = st[1] = 0;
	if (prog_fd >= 0 && bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0) {
		st[0] = info.run_time_ns;
		st[1] = info.run_cnt;
	}
}

/* In the child: results written to fd as four doubles: ns per pwrite and
 * per getppid (thread CPU time), and with PROG_NS the program's ns per
 * pwrite and per other syscall.  The program runs on every syscall of the
 * machine: in the getppid blocks every run is one it returns from at once
 * or another process's (getppid is no op of its), which prices the other
 * runs of the pwrite blocks; what is left over is the pwrites'.  The two
 * kinds alternate in BLOCKS blocks, so both see the same other load. */
#define BLOCKS 10

static void workload(const char *path, long n, int prog_fd, int out)
{
	static char buf[4096];
	double r[4] = { 0 }, t[2] = { 0 }, t0;
	uint64_t st[2], pw[2] = { 0 }, gp[2] = { 0 }, last[2];
	long per = n / BLOCKS, done = 0;
	int fd = open(path, O_RDWR);

	if (fd < 0 || per <= 0)
		_exit(2);
	srand(1);
	prog_stats(prog_fd, last);
	for (int b = 0; b < BLOCKS; b++) {
		t0 = now();
		for (long i = 0; i < per; i++) {
			off_t off = (off_t)(rand() % (FILE_SIZE / 4096)) * 4096;

			if (pwrite(fd, buf, sizeof(buf), off) != sizeof(buf))
				_exit(3);
		}
		t[0] += now() - t0;
		prog_stats(prog_fd, st);
		pw[0] += st[0] - last[0];
		pw[1] += st[1] - last[1];
		t0 = now();
		for (long i = 0; i < per; i++)
			syscall(SYS_getppid);
		t[1] += now() - t0;
		prog_stats(prog_fd, last);
		gp[0] += last[0] - st[0];
		gp[1] += last[1] - st[1];
		done += per;
	}
	r[0] = t[0] / done * 1e9;
	r[1] = t[1] / done * 1e9;
	if (gp[1] > 0 && pw[1] >= (uint64_t)done) {
		r[3] = (double)gp[0] / (double)gp[1];
		r[2] = ((double)pw[0] - (double)(pw[1] - done) * r[3]) / done;
	}
	close(fd);
	if (write(out, r, sizeof(r)) != sizeof(r))
		_exit(4);
	_exit(0);
}

/* A running watcher of one kind; NULL members when not that kind. */
struct watcher {
	const struct tracker_ops *ops;
	struct tracker *t;
	struct bench_empty_bpf *empty;
	pid_t inotify;
};

static int watch_start(struct watcher *w, const char *mode, const char *root)
{
	struct tracker_sink sink = { NULL, s_changed, s_ranges, s_rescan, s_poll, NULL };
	char err[256], *roots[1] = { (char *)root };

	memset(w, 0, sizeof(*w));
	if (strncmp(mode, "bpf", 3) == 0)
		w->ops = &tracker_bpf_ops;
	else if (strcmp(mode, "fanotify") == 0)
		w->ops = &tracker_fanotify_ops;
	if (w->ops && w->ops->start(&w->t, roots, 1, &sink, err, sizeof(err)) < 0) {
		printf("%-12s unavailable: %s\n", mode, err);
		return -1;
	}
	if (strcmp(mode, "empty") == 0) {
		w->empty = bench_empty_bpf__open_and_load();
		if (!w->empty || bench_empty_bpf__attach(w->empty) < 0) {
			printf("%-12s unavailable: cannot load the empty program\n", mode);
			return -1;
		}
	}
	if (strcmp(mode, "inotify") == 0) {
		if ((w->inotify = fork()) == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			dup2(fd, 2);
			execlp("inotifywait", "inotifywait", "-m", "-r", "-q", root, (char *)NULL);
			_exit(127);
		}
		usleep(300000);          /* watches established */
	}
	return 0;
}

static void watch_stop(struct watcher *w)
{
	if (w->t) {
		w->ops->process(w->t);
		w->ops->stop(w->t);
	}
	bench_empty_bpf__destroy(w->empty);
	if (w->inotify > 0) {
		kill(w->inotify, SIGTERM);
		waitpid(w->inotify, NULL, 0);
	}
}

/* A new fd of the sys_exit program this mode attached; -1 when none. */
static int exit_prog(struct watcher *w)
{
	if (w->empty)
		return dup(bpf_program__fd(w->empty->progs.bench_empty_exit));
	if (w->t && w->ops == &tracker_bpf_ops)
		return tracker_bpf_exit_prog(w->t);
	return -1;
}

static int run(const char *mode, const char *root, const char *file, long n, double r[4])
{
	struct watcher w;
	int p[2], st, prog_fd = -1;
	pid_t pid;

	if (watch_start(&w, mode, root) < 0)
		return -1;
	if (getenv("PROG_NS"))
		prog_fd = exit_prog(&w);
	nevents = 0;
	if (pipe(p) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0)
		workload(file, n, prog_fd, p[1]);
	close(p[1]);
	if (prog_fd >= 0)
		close(prog_fd);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		usleep(50000);
		if (w.t)
			w.ops->process(w.t);
	}
	watch_stop(&w);
	if (read(p[0], r, 4 * sizeof(double)) != 4 * sizeof(double)) {
		printf("%-12s workload failed\n", mode);
		return -1;
	}
	close(p[0]);
	return 0;
}

static void make_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, FILE_SIZE) < 0)
		fatal("create %s", path);
	close(fd);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* MODES="bpf ..." (environment) runs only those and "none" (the base of
 * the ratios); default: every mode. */
static bool mode_wanted(const char *mode)
{
	const char *want = getenv("MODES"), *p;
	size_t n = strlen(mode);

	if (!want || !*want || strcmp(mode, "none") == 0)
		return true;
	for (p = want; (p = strstr(p, mode)); p += n)
		if ((p == want || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

#define NMODES 6
#define ROUNDS_MAX 50

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;   /* checked below */
	char top[] = "/tmp/vigil-bench-XXXXXX", root[64], in[96], out[96];
	const char *modes[NMODES] = { "none", "empty", "bpf", "bpf-outside", "fanotify", "inotify" };
	static double res[NMODES][4][ROUNDS_MAX];
	bool prog_ns = getenv("PROG_NS") != NULL;
	int ok[NMODES] = { 0 };
	double base[2][2] = { { 0 } };

	tracker_bpf_loader(argc, argv);   /* this binary is the bpf tracker's loader too */
	log_init("tracker_cost", LOG_LVL_WARN);
	if (n <= 0 || rounds <= 0 || rounds > ROUNDS_MAX || !mkdtemp(top))
		fatal("usage: tracker_cost [N [ROUNDS<=50]]");
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(in, sizeof(in), "%s/file", root);
	snprintf(out, sizeof(out), "%s/file", top);
	if (mkdir(root, 0755) < 0)
		fatal("mkdir %s", root);
	make_file(in);
	make_file(out);
	/* PROG_NS: the programs' run time counted while this runs (as
	 * kernel.bpf_stats_enabled=1 does), read per round by the workload */
	if (prog_ns && bpf_enable_stats(BPF_STATS_RUN_TIME) < 0)
		fatal("PROG_NS: bpf_enable_stats");
	for (int k = 0; k < rounds; k++)
		for (int m = 0; m < NMODES; m++) {
			double r[4];

			if (!mode_wanted(modes[m]) ||
			    run(modes[m], root, strcmp(modes[m], "bpf-outside") ? in : out, n, r) < 0)
				continue;
			for (int j = 0; j < 4; j++)
				res[m][j][ok[m]] = r[j];
			ok[m]++;
		}
	printf("%d rounds of %ld; ns per call, min / median; ratio of medians to none\n", rounds, n);
	printf("%-12s %17s %7s   %17s %7s %9s", "mode", "pwrite4k", "ratio", "getppid", "ratio",
	       "+ns/empty");
	if (prog_ns)
		printf("   %-22s", "program ns/run: pwrite, other (median)");
	printf("\n");
	for (int m = 0; m < NMODES; m++) {
		double med[4], mn[4];

		if (!ok[m])
			continue;
		for (int j = 0; j < 4; j++) {
			qsort(res[m][j], ok[m], sizeof(double), cmp_double);
			mn[j] = res[m][j][0];
			med[j] = res[m][j][ok[m] / 2];
		}
		if (m == 0)
			memcpy(base[0], med, sizeof(base[0]));
		if (m == 1)
			memcpy(base[1], med, sizeof(base[1]));
		printf("%-12s %8.1f / %6.1f %6.2fx   %7.1f / %7.1f %6.2fx %+8.1f", modes[m], mn[0],
		       med[0], med[0] / base[0][0], mn[1], med[1], med[1] / base[0][1],
		       base[1][1] ? med[1] - base[1][1] : 0.0);
		if (prog_ns && m > 0)
			printf("   %7.1f, %5.1f", med[2], med[3]);
		printf("\n");
	}
	unlink(in);
	unlink(out);
	rmdir(root);
	rmdir(top);
	return 0;
}
