/* loadgen_conn.c — bench/loadgen's connections: many client_connect()s
 * from a few threads at once (a server that bounds handshakes in flight
 * sees a steady trickle, not a storm), the client side's mux callbacks,
 * and the server's RSS and thread count from /proc. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/loadgen.h"
#include "common/client.h"
#include "common/mux.h"

#define LG_CONNECT_MS 30000

/* The server opens streams to a device only for commands; none are sent
 * during a load run, so any stream is closed at once. */
static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	mux_stream_close(s);
}

const struct mux_ops lg_client_ops = { .on_stream = on_stream };

/* The next connection to make, or -1. */
static int take(struct lg_run *run)
{
	int i = -1;

	pthread_mutex_lock(&run->lock);
	if (run->next < run->nwant)
		i = run->want[run->next++];
	pthread_mutex_unlock(&run->lock);
	return i;
}

static void *connector(void *arg)
{
	struct lg_run *run = arg;
	char err[200];
	int i, r;

	while ((i = take(run)) >= 0) {
		struct mux *m = NULL;

		r = client_connect(run->bundles[i / run->o->per_dev], run->o->server,
				   LG_CONNECT_MS, &lg_client_ops, NULL, &m, err, sizeof(err));
		pthread_mutex_lock(&run->lock);
		if (r == 0) {
			run->conns[i] = m;
			run->connected++;
		} else if (!run->first_err[0]) {
			snprintf(run->first_err, sizeof(run->first_err), "connection %d: %s", i, err);
		}
		pthread_mutex_unlock(&run->lock);
	}
	return NULL;
}

int lg_connect_all(struct lg_run *run, int *want, int n, int parallel)
{
	pthread_t t[64];
	int i, started = 0;

	run->want = want;
	run->nwant = n;
	run->next = 0;
	if (parallel > 64)
		parallel = 64;
	for (i = 0; i < parallel; i++)
		if (pthread_create(&t[started], NULL, connector, run) == 0)
			started++;
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return started ? 0 : -EAGAIN;
}

long lg_proc_rss_kb(pid_t pid, int *threads)
{
	char path[64], line[256];
	long rss = -1, v;
	FILE *f;

	*threads = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (pid <= 0 || !(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			rss = v;
		else if (sscanf(line, "Threads: %ld", &v) == 1)
			*threads = (int)v;
	}
	fclose(f);
	return rss;
}
