/* s3bench.c — PUT, GET and DELETE throughput of vigil's S3 client
 * (server/objstore/) against a live endpoint, for bench/objstore_bench.sh.
 *
 *   s3bench put|get|delete SIZE COUNT THREADS [PREFIX]
 *
 * COUNT objects of SIZE bytes under PREFIX (default "bench/SIZE"), spread
 * over THREADS threads, each with its own client (one kept-alive
 * connection).  The endpoint, bucket and keys come from the environment
 * ceph.sh writes (VIGIL_S3_ENDPOINT, VIGIL_S3_BUCKET, AWS_*; VIGIL_S3_CA for
 * an https endpoint's certificate).  Prints one
 * line: wall seconds, ops/s, MiB/s, per-operation p50/p99, the
 * process's CPU seconds (user+sys, what the client costs) and the
 * connections opened (one per thread when keep-alive works); a GET checks
 * every byte it reads back.  Exit 1 on any failed operation. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/objstore/s3.h"
#include "tests/unit/fill.h"

struct job {
	struct s3_config *cfg;
	const char *op, *prefix;
	size_t size;
	long count, threads, first;
	unsigned long connects;  /* connections the thread's client opened */
	uint64_t *lat_ns;        /* one per operation */
	uint8_t *want, *got;     /* size bytes each, filled before the clock starts */
	int rc;
};

static int one(struct s3 *s, const struct job *j, long i, uint8_t *want, uint8_t *got)
{
	char key[256];
	size_t n = 0;
	int rc;

	snprintf(key, sizeof(key), "%s/%06ld", j->prefix, i);
	if (!strcmp(j->op, "delete"))
		return s3_delete(s, key);
	/* each object its own bytes: the random block, its index first */
	memcpy(want, &i, j->size < sizeof(i) ? j->size : sizeof(i));
	if (!strcmp(j->op, "put"))
		return s3_put(s, key, want, j->size);
	rc = s3_get(s, key, 0, got, j->size, &n);
	if (!rc && (n != j->size || memcmp(want, got, n))) {
		fprintf(stderr, "s3bench: %s: %zu bytes back, or not the bytes put\n", key, n);
		rc = -EIO;
	}
	return rc;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct s3 *s = s3_new(j->cfg);

	if (!s) {
		j->rc = -ENOMEM;
		return NULL;
	}
	for (long i = j->first; i < j->count && !j->rc; i += j->threads) {
		uint64_t t0 = mono_ns();

		j->rc = one(s, j, i, j->want, j->got);
		j->lat_ns[i] = mono_ns() - t0;
	}
	j->connects = s3_connects(s);
	s3_free(s);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	static struct s3_config cfg;
	const char *ep = getenv("VIGIL_S3_ENDPOINT"), *bucket = getenv("VIGIL_S3_BUCKET");
	char prefix[128], *end;
	struct job *jobs;
	pthread_t *th;
	uint64_t *lat, t0, wall;
	long count, threads;
	size_t size;
	double c0, secs;
	int rc = 0;

	log_init("s3bench", LOG_LVL_INFO);
	if (argc < 5 || argc > 6 || (strcmp(argv[1], "put") && strcmp(argv[1], "get") &&
				     strcmp(argv[1], "delete"))) {
		fprintf(stderr, "usage: s3bench put|get|delete SIZE COUNT THREADS [PREFIX]\n");
		return 2;
	}
	errno = 0;
	size = strtoul(argv[2], &end, 10);
	count = *end || errno ? -1 : strtol(argv[3], &end, 10);
	threads = *end || errno ? -1 : strtol(argv[4], &end, 10);
	if (*end || errno || size < 1 || size > (1u << 30) || count < 1 || count > 1000000 ||
	    threads < 1 || threads > 64) {
		fprintf(stderr, "s3bench: SIZE 1..1 GiB, COUNT 1..1000000, THREADS 1..64\n");
		return 2;
	}
	if (!ep || !bucket || s3_cred_env(&cfg)) {
		fprintf(stderr, "s3bench: needs VIGIL_S3_ENDPOINT, VIGIL_S3_BUCKET and keys in the "
			"environment (the env file of tests/scale/ceph.sh up)\n");
		return 1;
	}
	snprintf(cfg.endpoint, sizeof(cfg.endpoint), "%s", ep);
	snprintf(cfg.bucket, sizeof(cfg.bucket), "%s", bucket);
	if (getenv("VIGIL_S3_CA"))
		snprintf(cfg.cafile, sizeof(cfg.cafile), "%s", getenv("VIGIL_S3_CA"));
	snprintf(prefix, sizeof(prefix), "%s", argc == 6 ? argv[5] : "bench");
	snprintf(prefix + strlen(prefix), sizeof(prefix) - strlen(prefix), "/%zu", size);
	if (s3_global_init())
		return 1;
	lat = calloc((size_t)count, sizeof(*lat));
	jobs = calloc((size_t)threads, sizeof(*jobs));
	th = calloc((size_t)threads, sizeof(*th));
	if (!lat || !jobs || !th)
		return 1;
	for (long t = 0; t < threads; t++) {
		jobs[t] = (struct job){ &cfg, argv[1], prefix, size, count, threads, t, 0, lat,
					malloc(size), malloc(size), 0 };
		if (!jobs[t].want || !jobs[t].got)
			return 1;
		/* one block for every thread: a get finds what a put with any
		 * number of threads wrote */
		fill(jobs[t].want, size, 1);
	}
	c0 = cpu_s();
	t0 = mono_ns();
	for (long t = 0; t < threads; t++)
		if (pthread_create(&th[t], NULL, worker, &jobs[t]))
			return 1;
	unsigned long conns = 0;

	for (long t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		conns += jobs[t].connects;
		if (jobs[t].rc)
			rc = 1;
	}
	wall = mono_ns() - t0;
	secs = (double)wall / 1e9;
	qsort(lat, (size_t)count, sizeof(*lat), cmp_u64);
	printf("%s %zu B x %ld, %ld thread%s: %.3f s, %.1f ops/s, %.1f MiB/s, p50 %.2f ms, "
	       "p99 %.2f ms, cpu %.3f s, %lu connection%s\n", argv[1], size, count, threads, threads > 1 ? "s" : "",
	       secs, (double)count / secs,
	       strcmp(argv[1], "delete") ? (double)size * (double)count / secs / 1048576.0 : 0.0,
	       (double)lat[count / 2] / 1e6, (double)lat[count * 99 / 100] / 1e6, cpu_s() - c0,
	       conns, conns == 1 ? "" : "s");
	for (long t = 0; t < threads; t++) {
		free(jobs[t].want);
		free(jobs[t].got);
	}
	free(lat);
	free(jobs);
	free(th);
	return rc;
}
