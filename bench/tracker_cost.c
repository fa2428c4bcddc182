/* tracker_cost.c — write-path cost of the trackers: N random 4 KiB pwrites
 * into a 64 MiB file, and N getppid() calls, timed in a child process while
 * this process runs the tracker (it excludes its own tgid) and drains it
 * every 50 ms.  Modes: none, bpf (file under the watched root), bpf-outside
 * (file elsewhere), fanotify.  Prints one line per mode: ns per pwrite, ns
 * per getppid, tracker events.
 * Build: make build/bench/tracker_cost (see bench/tracker_cost.sh). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/tracker.h"

#define FILE_SIZE (64 << 20)

static uint64_t nevents;

static void s_changed(void *a, const char *p, int64_t w) { nevents++; }
static void s_ranges(void *a, const char *p, const struct trk_range *r, size_t n, bool u) { }
static void s_rescan(void *a, const char *d) { nevents++; }
static void s_poll(void *a, const char *p, bool on) { }

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* In the child: results written to fd as two doubles. */
static void workload(const char *path, long n, int out)
{
	static char buf[4096];
	double r[2], t0;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		_exit(2);
	srand(1);
	t0 = now();
	for (long i = 0; i < n; i++) {
		off_t off = (off_t)(rand() % (FILE_SIZE / 4096)) * 4096;

		if (pwrite(fd, buf, sizeof(buf), off) != sizeof(buf))
			_exit(3);
	}
	r[0] = (now() - t0) / n * 1e9;
	t0 = now();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	r[1] = (now() - t0) / n * 1e9;
	close(fd);
	if (write(out, r, sizeof(r)) != sizeof(r))
		_exit(4);
	_exit(0);
}

static int run(const char *mode, const char *root, const char *file, long n)
{
	const struct tracker_ops *ops = NULL;
	struct tracker_sink sink = { NULL, s_changed, s_ranges, s_rescan, s_poll };
	struct tracker *t = NULL;
	char err[256], *roots[1] = { (char *)root };
	double r[2] = { 0, 0 };
	int p[2], st;
	pid_t pid;

	if (strncmp(mode, "bpf", 3) == 0)
		ops = &tracker_bpf_ops;
	else if (strcmp(mode, "fanotify") == 0)
		ops = &tracker_fanotify_ops;
	if (ops && ops->start(&t, roots, 1, &sink, err, sizeof(err)) < 0) {
		printf("%-12s unavailable: %s\n", mode, err);
		return 1;
	}
	nevents = 0;
	if (pipe(p) < 0 || (pid = fork()) < 0)
		return 1;
	if (pid == 0)
		workload(file, n, p[1]);
	close(p[1]);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		usleep(50000);
		if (t)
			ops->process(t);
	}
	if (t) {
		ops->process(t);
		ops->stop(t);
	}
	if (read(p[0], r, sizeof(r)) != sizeof(r)) {
		printf("%-12s workload failed\n", mode);
		return 1;
	}
	close(p[0]);
	printf("%-12s pwrite4k %8.1f ns  getppid %7.1f ns  events %llu\n", mode, r[0], r[1],
	       (unsigned long long)nevents);
	return 0;
}

static void make_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, FILE_SIZE) < 0)
		fatal("create %s", path);
	close(fd);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	char top[] = "/tmp/vigil-bench-XXXXXX", root[64], in[96], out[96];
	const char *modes[] = { "none", "bpf", "bpf-outside", "fanotify", "none" };

	log_init("tracker_cost", LOG_LVL_WARN);
	if (n <= 0 || !mkdtemp(top))
		fatal("usage: tracker_cost [N]");
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(in, sizeof(in), "%s/file", root);
	snprintf(out, sizeof(out), "%s/file", top);
	if (mkdir(root, 0755) < 0)
		fatal("mkdir %s", root);
	make_file(in);
	make_file(out);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		run(modes[i], root, strcmp(modes[i], "bpf-outside") ? in : out, n);
	unlink(in);
	unlink(out);
	rmdir(root);
	rmdir(top);
	return 0;
}
