/* loadgen.h — the shared state of bench/loadgen: options, connections,
 * pushers, the `vigil ls` sampler and the latency samples they collect. */
#ifndef VIGIL_BENCH_LOADGEN_H
#define VIGIL_BENCH_LOADGEN_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/bundle.h"
#include "common/mux.h"

#define LG_NAME_MAX 64

struct lg_opts {
	const char *server;       /* HOST:PORT */
	const char *dir;          /* holds dev<N>.bundle (N = 0 .. devices-1) */
	const char *ctl_bundle;   /* controller bundle for the ls sampler */
	const char *vigil_bin;    /* the `vigil` program the sampler runs */
	int devices, per_dev;     /* connections = devices * per_dev */
	int pushers;              /* the first connection of devices 0 .. pushers-1 */
	int duration_s;           /* push phase */
	int size;                 /* bytes of each pusher's file */
	int ls_every_ms;
	pid_t server_pid;         /* 0: no RSS figures */
};

/* Latencies in microseconds; grows up to a cap, then drops (counted). */
struct lg_samples {
	pthread_mutex_t lock;
	uint32_t *v;
	size_t n, cap;
	uint64_t dropped;
};

struct lg_pusher {
	int idx;
	int size;                 /* bytes of its file */
	struct mux *m;
	uint64_t version;         /* the server's latest of our path (0: none) */
	uint64_t pushes, whole, ranges, errors;
	char last_err[160];
	struct lg_samples *lat;
	const volatile sig_atomic_t *stop;
	pthread_t tid;
};

struct lg_sampler {
	const struct lg_opts *o;
	struct lg_samples *lat;   /* `vigil ls` as a program, wall time */
	struct lg_samples *lat_conn;   /* MSG_CTL_LS on an open controller connection */
	struct mux *ctl;          /* NULL: no in-connection samples */
	const struct lg_pusher *first;   /* dev0's pusher: sample once its file exists */
	uint64_t runs, failures;
	const volatile sig_atomic_t *stop;
	pthread_t tid;
};

int lg_samples_init(struct lg_samples *s, size_t cap);
void lg_samples_add(struct lg_samples *s, uint32_t us);
void lg_samples_free(struct lg_samples *s);
/* The q-quantile (0..1) in microseconds of sorted samples. */
uint32_t lg_quantile(const struct lg_samples *s, double q);
void lg_samples_sort(struct lg_samples *s);

/* The pusher thread: pushes small edits of its own file until *stop. */
void *lg_pusher_main(void *arg);
/* The sampler thread: one `vigil ls` (and one MSG_CTL_LS) every ls_every_ms. */
void *lg_sampler_main(void *arg);

/* One run: the connections, the pushers, the sampler and the figures. */
struct lg_run {
	const struct lg_opts *o;
	const volatile sig_atomic_t *quit;   /* a signal: end the push phase early */
	volatile sig_atomic_t halt;          /* pushers and sampler: stop */
	struct bundle **bundles;             /* per device */
	struct bundle *ctl_bundle;
	struct mux **conns;                  /* devices * per_dev; NULL: failed */
	struct mux *ctl;
	int nconns, connected, alive_end, idle;
	char first_err[320];
	pthread_mutex_t lock;                /* connectors: next, connected, first_err */
	int next, nwant, *want;
	struct lg_pusher *pushers;
	struct lg_sampler sampler;
	struct lg_samples push_lat, ls_lat, ls_conn_lat;
	struct lg_samples rest_ls, rest_ls_conn;   /* after the pushes, all connections idle */
	struct lg_sampler rest;
	long rss0_kb, rss_idle_kb, rss_end_kb;
	int thr0, thr_idle, thr_end;
	double connect_s, push_s;
};

int lg_run_init(struct lg_run *run, const struct lg_opts *o, const volatile sig_atomic_t *quit);
/* Connects, measures, pushes; 0, or -EIO when a connection failed or died
 * or a pusher made no progress. */
int lg_run(struct lg_run *run);
void lg_report(struct lg_run *run);
void lg_run_free(struct lg_run *run);
/* Connects conns[want[0..n-1]] with `parallel` threads. */
int lg_connect_all(struct lg_run *run, int *want, int n, int parallel);
/* VmRSS (kB) and Threads of pid, from /proc; -1 when unknown. */
long lg_proc_rss_kb(pid_t pid, int *threads);

extern const struct mux_ops lg_client_ops;

#endif
