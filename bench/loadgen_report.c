/* loadgen_report.c — bench/loadgen's latency samples and its report: one
 * table on stdout, what bench/load_bench.sh appends to results-load.txt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench/loadgen.h"

#define LG_LS_TARGET_US 200000   /* issue 10: `vigil ls` p99 under 200 ms */

int lg_samples_init(struct lg_samples *s, size_t cap)
{
	pthread_mutex_init(&s->lock, NULL);
	s->n = 0;
	s->dropped = 0;
	s->cap = cap;
	s->v = malloc(cap * sizeof(*s->v));
	return s->v ? 0 : -ENOMEM;
}

void lg_samples_add(struct lg_samples *s, uint32_t us)
{
	pthread_mutex_lock(&s->lock);
	if (s->n < s->cap)
		s->v[s->n++] = us;
	else
		s->dropped++;
	pthread_mutex_unlock(&s->lock);
}

void lg_samples_free(struct lg_samples *s)
{
	free(s->v);
	s->v = NULL;
	pthread_mutex_destroy(&s->lock);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void lg_samples_sort(struct lg_samples *s)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
}

uint32_t lg_quantile(const struct lg_samples *s, double q)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)(q * (double)s->n + 0.999999);
	return s->v[i == 0 ? 0 : i > s->n ? s->n - 1 : i - 1];
}

static void print_lat(const char *what, struct lg_samples *s)
{
	lg_samples_sort(s);
	printf("%-22s n=%zu  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", what, s->n,
	       lg_quantile(s, 0.5) / 1000.0, lg_quantile(s, 0.99) / 1000.0,
	       lg_quantile(s, 1.0) / 1000.0);
}

/* Pushes per pusher: min, p10, median, max, and how many made none. */
static void print_fairness(struct lg_run *run)
{
	struct lg_samples per;
	int k, starved = 0;

	if (run->o->pushers == 0 || lg_samples_init(&per, (size_t)run->o->pushers) < 0)
		return;
	for (k = 0; k < run->o->pushers; k++) {
		lg_samples_add(&per, (uint32_t)run->pushers[k].pushes);
		starved += run->pushers[k].pushes == 0;
	}
	lg_samples_sort(&per);
	printf("%-22s min %u  p10 %u  median %u  max %u  (%d of %d made none)\n",
	       "pushes per pusher", lg_quantile(&per, 0), lg_quantile(&per, 0.1),
	       lg_quantile(&per, 0.5), lg_quantile(&per, 1.0), starved, run->o->pushers);
	lg_samples_free(&per);
}

static void print_pushes(struct lg_run *run)
{
	uint64_t n = 0, whole = 0, ranges = 0, errors = 0;
	const char *why = "";
	int k;

	for (k = 0; k < run->o->pushers; k++) {
		n += run->pushers[k].pushes;
		whole += run->pushers[k].whole;
		ranges += run->pushers[k].ranges;
		errors += run->pushers[k].errors;
		if (run->pushers[k].errors && !why[0])
			why = run->pushers[k].last_err;
	}
	printf("%-22s %llu in %.1f s = %.1f/s (whole %llu, ranges %llu; %llu failed%s%s)\n",
	       "pushes (durable)", (unsigned long long)n, run->push_s,
	       run->push_s > 0 ? (double)n / run->push_s : 0.0, (unsigned long long)whole,
	       (unsigned long long)ranges, (unsigned long long)errors, why[0] ? ": " : "", why);
	print_lat("close() to PUT_DONE", &run->push_lat);
	print_fairness(run);
}

static void print_server(const struct lg_run *run)
{
	if (run->rss0_kb < 0 || run->rss_idle_kb < 0 || run->idle == 0) {
		printf("%-22s (no --server-pid)\n", "server RSS");
		return;
	}
	printf("%-22s %.1f MiB with 0 connections, %.1f MiB with %d idle: %.1f KiB per idle "
	       "connection\n", "server RSS", run->rss0_kb / 1024.0, run->rss_idle_kb / 1024.0,
	       run->idle, (double)(run->rss_idle_kb - run->rss0_kb) / run->idle);
	printf("%-22s threads %d -> %d idle -> %d at the end; RSS at the end %.1f MiB\n", "",
	       run->thr0, run->thr_idle, run->thr_end, run->rss_end_kb / 1024.0);
}

void lg_report(struct lg_run *run)
{
	uint32_t p99;

	printf("%-22s %d of %d up (%d devices x %d) in %.1f s; %d alive at the end%s%s\n",
	       "connections", run->connected, run->nconns, run->o->devices, run->o->per_dev,
	       run->connect_s, run->alive_end, run->first_err[0] ? "; first failure: " : "",
	       run->first_err);
	print_pushes(run);
	print_server(run);
	print_lat("vigil ls (program)", &run->ls_lat);
	print_lat("ls on an open conn", &run->ls_conn_lat);
	print_lat("vigil ls, no pushes", &run->rest_ls);
	print_lat("open conn, no pushes", &run->rest_ls_conn);
	p99 = lg_quantile(&run->ls_lat, 0.99);
	printf("%-22s %llu runs, %llu failed; p99 %.1f ms: target < 200 ms %s\n", "ls sampler",
	       (unsigned long long)run->sampler.runs, (unsigned long long)run->sampler.failures,
	       p99 / 1000.0, p99 < LG_LS_TARGET_US && run->ls_lat.n ? "met" : "NOT met");
	fflush(stdout);
}
