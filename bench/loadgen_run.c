/* loadgen_run.c — the phases of one bench/loadgen run: load the bundles,
 * measure the server idle, connect the idle connections and measure again,
 * connect the pushers and the controller, push for duration_s while the
 * sampler lists, then count the connections still alive. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/loadgen.h"
#include "common/client.h"
#include "common/clock.h"

#define LG_CONNECTORS  8
#define LG_SETTLE_MS   2000     /* after connecting, before reading RSS */
#define LG_SAMPLES_MAX (4u << 20)
#define LG_REST_MS     4000     /* ls sampled with no pushes, after them */

static int load_bundles(struct lg_run *run)
{
	char path[4096], err[256];
	int d;

	for (d = 0; d < run->o->devices; d++) {
		snprintf(path, sizeof(path), "%s/dev%d.bundle", run->o->dir, d);
		if (bundle_load(path, &run->bundles[d], err, sizeof(err)) < 0) {
			fprintf(stderr, "loadgen: %s\n", err);
			return -EINVAL;
		}
	}
	if (bundle_load(run->o->ctl_bundle, &run->ctl_bundle, err, sizeof(err)) < 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

int lg_run_init(struct lg_run *run, const struct lg_opts *o, const volatile sig_atomic_t *quit)
{
	memset(run, 0, sizeof(*run));
	run->o = o;
	run->quit = quit;
	run->nconns = o->devices * o->per_dev;
	pthread_mutex_init(&run->lock, NULL);
	run->bundles = calloc((size_t)o->devices, sizeof(*run->bundles));
	run->conns = calloc((size_t)run->nconns, sizeof(*run->conns));
	run->pushers = calloc((size_t)o->pushers + 1, sizeof(*run->pushers));
	if (!run->bundles || !run->conns || !run->pushers ||
	    lg_samples_init(&run->push_lat, LG_SAMPLES_MAX) < 0 ||
	    lg_samples_init(&run->ls_lat, LG_SAMPLES_MAX) < 0 ||
	    lg_samples_init(&run->ls_conn_lat, LG_SAMPLES_MAX) < 0 ||
	    lg_samples_init(&run->rest_ls, LG_SAMPLES_MAX) < 0 ||
	    lg_samples_init(&run->rest_ls_conn, LG_SAMPLES_MAX) < 0)
		return -ENOMEM;
	return load_bundles(run);
}

static bool is_pusher(const struct lg_run *run, int i)
{
	return i % run->o->per_dev == 0 && i / run->o->per_dev < run->o->pushers;
}

/* Idle connections first (pushers false) or the pushers' (true). */
static int connect_set(struct lg_run *run, bool pushers)
{
	int *want = malloc((size_t)run->nconns * sizeof(int)), i, n = 0, r;

	if (!want)
		return -ENOMEM;
	for (i = 0; i < run->nconns; i++)
		if (is_pusher(run, i) == pushers)
			want[n++] = i;
	if (!pushers)
		run->idle = n;
	r = lg_connect_all(run, want, n, LG_CONNECTORS);
	run->want = NULL;
	free(want);
	return r;
}

static void start_workers(struct lg_run *run)
{
	struct lg_sampler *s = &run->sampler;
	int k;

	for (k = 0; k < run->o->pushers; k++) {
		struct lg_pusher *p = &run->pushers[k];

		*p = (struct lg_pusher){ .idx = k, .size = run->o->size,
					 .m = run->conns[k * run->o->per_dev],
					 .lat = &run->push_lat, .stop = &run->halt };
		if (p->m && pthread_create(&p->tid, NULL, lg_pusher_main, p) != 0)
			p->m = NULL;
	}
	*s = (struct lg_sampler){ .o = run->o, .lat = &run->ls_lat, .lat_conn = &run->ls_conn_lat,
				  .ctl = run->ctl, .stop = &run->halt,
				  .first = run->o->pushers && run->pushers[0].m ? &run->pushers[0] : NULL };
	if (pthread_create(&s->tid, NULL, lg_sampler_main, s) != 0)
		s->o = NULL;
}

static void stop_workers(struct lg_run *run)
{
	int k;

	run->halt = 1;
	for (k = 0; k < run->o->pushers; k++)
		if (run->pushers[k].m)
			pthread_join(run->pushers[k].tid, NULL);
	if (run->sampler.o)
		pthread_join(run->sampler.tid, NULL);
}

static void push_phase(struct lg_run *run)
{
	int64_t t0 = mono_ms(), end = t0 + (int64_t)run->o->duration_s * 1000;

	start_workers(run);
	while (!*run->quit && mono_ms() < end)
		usleep(50000);
	stop_workers(run);
	run->push_s = (double)(mono_ms() - t0) / 1000.0;
}

/* The control: the same ls sampling with every connection idle. */
static void rest_phase(struct lg_run *run)
{
	struct lg_sampler *s = &run->rest;

	run->halt = 0;
	*s = (struct lg_sampler){ .o = run->o, .lat = &run->rest_ls, .lat_conn = &run->rest_ls_conn,
				  .ctl = run->ctl, .stop = &run->halt };
	if (pthread_create(&s->tid, NULL, lg_sampler_main, s) != 0)
		return;
	usleep(LG_REST_MS * 1000);
	run->halt = 1;
	pthread_join(s->tid, NULL);
}

/* Whether the run held: every connection up and alive, every pusher moved. */
static int verdict(const struct lg_run *run)
{
	int k;

	if (run->connected < run->nconns || run->alive_end < run->connected)
		return -EIO;
	for (k = 0; k < run->o->pushers; k++)
		if (run->pushers[k].pushes == 0)
			return -EIO;
	return 0;
}

int lg_run(struct lg_run *run)
{
	const struct lg_opts *o = run->o;
	char err[256];
	int64_t t0 = mono_ms();
	int i;

	run->rss0_kb = lg_proc_rss_kb(o->server_pid, &run->thr0);
	connect_set(run, false);
	usleep(LG_SETTLE_MS * 1000);
	run->rss_idle_kb = lg_proc_rss_kb(o->server_pid, &run->thr_idle);
	connect_set(run, true);
	run->connect_s = (double)(mono_ms() - t0 - LG_SETTLE_MS) / 1000.0;
	if (client_connect(run->ctl_bundle, o->server, 30000, &lg_client_ops, NULL, &run->ctl,
			   err, sizeof(err)) < 0)
		fprintf(stderr, "loadgen: controller: %s (only `vigil ls` is sampled)\n", err);
	push_phase(run);
	if (!*run->quit)
		rest_phase(run);
	for (i = 0; i < run->nconns; i++)
		if (run->conns[i] && mux_alive(run->conns[i]))
			run->alive_end++;
	run->rss_end_kb = lg_proc_rss_kb(o->server_pid, &run->thr_end);
	return verdict(run);
}

void lg_run_free(struct lg_run *run)
{
	int i;

	for (i = 0; run->conns && i < run->nconns; i++)
		mux_free(run->conns[i]);
	mux_free(run->ctl);
	for (i = 0; run->bundles && i < run->o->devices; i++)
		bundle_free(run->bundles[i]);
	bundle_free(run->ctl_bundle);
	free(run->bundles);
	free(run->conns);
	free(run->want);
	free(run->pushers);
	lg_samples_free(&run->push_lat);
	lg_samples_free(&run->ls_lat);
	lg_samples_free(&run->ls_conn_lat);
	lg_samples_free(&run->rest_ls);
	lg_samples_free(&run->rest_ls_conn);
	pthread_mutex_destroy(&run->lock);
}
