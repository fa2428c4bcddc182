/* loadgen.c — a load generator on vigil's own client code: devices × per_dev
 * TLS connections to one vigil-server (enrolled bundles in DIR/dev<N>.bundle),
 * most idle (the mux keeps them alive with its pings), `pushers` of them
 * pushing small edits in a loop for duration_s, and a controller sampling
 * `vigil ls` meanwhile.  Prints pushes/s, close()-to-durable p50/p99, the
 * server's RSS per idle connection, the ls latencies and the pushes per
 * pusher.  Exit 0 when every connection held and every pusher made progress
 * (the figures themselves are reported, not judged).  See bench/load_bench.sh. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/loadgen.h"
#include "common/clock.h"
#include "common/log.h"

static volatile sig_atomic_t stop;

static void usage(void)
{
	fprintf(stderr, "usage: loadgen --server HOST:PORT --dir DIR --ctl BUNDLE --vigil PATH\n"
		"        [--devices N] [--per-dev N] [--pushers N] [--duration S] [--size BYTES]\n"
		"        [--ls-every MS] [--server-pid PID]\n");
	exit(2);
}

static long num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		usage();
	return v;
}

static void parse(int argc, char **argv, struct lg_opts *o)
{
	static const struct option lo[] = {
		{ "server", 1, 0, 's' }, { "dir", 1, 0, 'd' }, { "ctl", 1, 0, 'c' },
		{ "vigil", 1, 0, 'v' }, { "devices", 1, 0, 'D' }, { "per-dev", 1, 0, 'P' },
		{ "pushers", 1, 0, 'u' }, { "duration", 1, 0, 't' }, { "size", 1, 0, 'z' },
		{ "ls-every", 1, 0, 'l' }, { "server-pid", 1, 0, 'p' }, { 0, 0, 0, 0 } };
	int c;

	*o = (struct lg_opts){ .devices = 100, .per_dev = 5, .pushers = 50, .duration_s = 60,
			       .size = 4096, .ls_every_ms = 100 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->server = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'c': o->ctl_bundle = optarg; break;
		case 'v': o->vigil_bin = optarg; break;
		case 'D': o->devices = (int)num(optarg, 1, 100000); break;
		case 'P': o->per_dev = (int)num(optarg, 1, 64); break;
		case 'u': o->pushers = (int)num(optarg, 0, 100000); break;
		case 't': o->duration_s = (int)num(optarg, 1, 86400); break;
		case 'z': o->size = (int)num(optarg, 128, 1 << 24); break;
		case 'l': o->ls_every_ms = (int)num(optarg, 10, 60000); break;
		case 'p': o->server_pid = (pid_t)num(optarg, 1, 1 << 30); break;
		default: usage();
		}
	}
	if (!o->server || !o->dir || !o->ctl_bundle || !o->vigil_bin || optind != argc ||
	    o->pushers > o->devices)
		usage();
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct lg_opts o;
	struct lg_run run;
	int r;

	log_init("loadgen", LOG_LVL_WARN);
	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((r = lg_run_init(&run, &o, &stop)) < 0) {
		fprintf(stderr, "loadgen: %s\n", strerror(-r));
		return 1;
	}
	r = lg_run(&run);
	lg_report(&run);
	lg_run_free(&run);
	return r < 0 ? 1 : 0;
}
