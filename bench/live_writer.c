/* live_writer.c — the writers of bench/live_bench.sh: random 4 KiB pwrites
 * into an existing file, either at a steady rate for a while (a file that
 * never stays still) or a fixed number as fast as possible (the writer's
 * slowdown).  fio does the same where installed; this one needs nothing.
 *
 *   live_writer rate PATH RATE_MIB SECONDS THREADS   (RATE_MIB 0: flat out)
 *     prints "bytes B start_ns S end_ns E"
 *   live_writer count PATH N
 *     prints "wall W cpu C" (seconds; cpu = user + sys of the writer) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096
#define TICK_NS 10000000LL   /* rate writers pace themselves per 10 ms */

struct job {
	int fd;
	uint64_t nblk, per_tick, bytes;   /* per_tick 0: flat out */
	int64_t end_ns;
	unsigned seed;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int one_write(struct job *j, char *buf)
{
	off_t off = (off_t)(rand_r(&j->seed) % j->nblk) * BLK;

	memcpy(buf, &j->bytes, sizeof(j->bytes));   /* every block written differs */
	if (pwrite(j->fd, buf, BLK, off) != BLK)
		return -1;
	j->bytes += BLK;
	return 0;
}

static void *rate_main(void *arg)
{
	struct job *j = arg;
	char buf[BLK];
	int64_t next = mono_ns();

	memset(buf, 'w', sizeof(buf));
	while (mono_ns() < j->end_ns) {
		if (!j->per_tick) {
			for (int i = 0; i < 64; i++)
				if (one_write(j, buf) < 0)
					return NULL;
			continue;
		}
		for (uint64_t i = 0; i < j->per_tick; i++)
			if (one_write(j, buf) < 0)
				return NULL;
		next += TICK_NS;
		struct timespec ts = { next / 1000000000LL, next % 1000000000LL };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	return NULL;
}

static int open_file(const char *path, uint64_t *nblk)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < BLK) {
		fprintf(stderr, "live_writer: %s: %s\n", path, fd < 0 ? strerror(errno) : "too small");
		exit(1);
	}
	*nblk = (uint64_t)st.st_size / BLK;
	return fd;
}

static int do_rate(const char *path, double rate_mib, double secs, int threads)
{
	struct job j[64];
	pthread_t th[64];
	uint64_t nblk, total = 0;
	int fd = open_file(path, &nblk);
	int64_t start = real_ns();

	if (threads < 1 || threads > 64)
		return 2;
	for (int i = 0; i < threads; i++) {
		double per_tick = rate_mib * 1048576.0 / BLK / threads * (TICK_NS / 1e9);

		j[i] = (struct job){ .fd = fd, .nblk = nblk, .seed = (unsigned)i + 1,
				     .per_tick = rate_mib > 0 && per_tick < 1 ? 1 : (uint64_t)per_tick,
				     .end_ns = mono_ns() + (int64_t)(secs * 1e9) };
		pthread_create(&th[i], NULL, rate_main, &j[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += j[i].bytes;
	}
	close(fd);
	printf("bytes %llu start_ns %lld end_ns %lld\n", (unsigned long long)total,
	       (long long)start, (long long)real_ns());
	return 0;
}

static int do_count(const char *path, long n)
{
	struct job j = { .seed = 1 };
	char buf[BLK];
	struct rusage ru;
	int64_t t0;

	memset(buf, 'c', sizeof(buf));
	j.fd = open_file(path, &j.nblk);
	t0 = mono_ns();
	for (long i = 0; i < n; i++)
		if (one_write(&j, buf) < 0) {
			perror("pwrite");
			return 1;
		}
	double wall = (mono_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	close(j.fd);
	printf("wall %.3f cpu %.3f\n", wall,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "rate"))
		return do_rate(argv[2], strtod(argv[3], NULL), strtod(argv[4], NULL),
			       (int)strtol(argv[5], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "count"))
		return do_count(argv[2], strtol(argv[3], NULL, 10));
	fprintf(stderr, "usage: live_writer rate PATH RATE_MIB SECONDS THREADS\n"
			"       live_writer count PATH N\n");
	return 2;
}
