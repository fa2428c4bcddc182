/* loadgen_ls.c — the controller's view during bench/loadgen: every
 * ls_every_ms, one `vigil ls dev0:/load` as a user runs it (a new process,
 * TCP, TLS handshake, the listing; wall time), and one MSG_CTL_LS on a
 * controller connection kept open (the server's share alone). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/loadgen.h"
#include "common/clock.h"
#include "common/rpc.h"

#define LG_LS_MS 30000
#define LG_FIRST_MS 10000   /* at most this long for dev0's first version */

extern char **environ;

/* One `vigil ls`: 0 when it exited 0. */
static int run_vigil_ls(const struct lg_opts *o)
{
	char *argv[] = { (char *)o->vigil_bin, "--bundle", (char *)o->ctl_bundle, "--server",
			 (char *)o->server, "ls", "dev0:/load", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = 0, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, o->vigil_bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static int count_item(void *arg, struct wire_reader *rd)
{
	proto_get_entry(rd, arg);
	return wire_ok(rd) == 0 ? 0 : -EBADMSG;
}

/* MSG_CTL_LS of dev0:/load on the open connection: 0 or -errno. */
static int conn_ls(struct mux *m, struct vg_entry *scratch)
{
	struct vg_ls_req q = { .at = 0 };
	struct rpc r;
	struct buf b;
	long n;

	snprintf(q.dev, sizeof(q.dev), "dev0");
	snprintf(q.path, sizeof(q.path), "/load");
	rpc_init(&r, m, LG_LS_MS);
	buf_init(&b, VG_MSG_MAX);
	proto_put_ls_req(&b, &q);
	n = rpc_list(&r, MSG_CTL_LS, &b, MSG_ENTRIES, count_item, scratch);
	buf_free(&b);
	return n < 0 ? (int)n : 0;
}

static void sample_once(struct lg_sampler *s, struct vg_entry *scratch)
{
	int64_t t0 = mono_ns();

	s->runs++;
	if (run_vigil_ls(s->o) == 0)
		lg_samples_add(s->lat, (uint32_t)((mono_ns() - t0) / 1000));
	else
		s->failures++;
	if (!s->ctl)
		return;
	t0 = mono_ns();
	if (conn_ls(s->ctl, scratch) == 0)
		lg_samples_add(s->lat_conn, (uint32_t)((mono_ns() - t0) / 1000));
	else
		s->failures++;
}

void *lg_sampler_main(void *arg)
{
	struct lg_sampler *s = arg;
	struct vg_entry *scratch = malloc(sizeof(*scratch));
	int64_t next = mono_ms() + LG_FIRST_MS;

	/* dev0:/load exists once its pusher's first version is in */
	while (s->first && !__atomic_load_n(&s->first->pushes, __ATOMIC_RELAXED) &&
	       !*s->stop && mono_ms() < next)
		usleep(10000);
	next = mono_ms();
	while (scratch && !*s->stop) {
		int64_t left = next - mono_ms();

		if (left > 0) {
			usleep((useconds_t)(left > 50 ? 50 : left) * 1000);
			continue;
		}
		next += s->o->ls_every_ms;
		sample_once(s, scratch);
		if (next < mono_ms())
			next = mono_ms();   /* a slow sample: the next starts at once, no burst */
	}
	free(scratch);
	return NULL;
}
