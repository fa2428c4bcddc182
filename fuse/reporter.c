/* reporter.c — datagrams from vigil-simfs to vigild (reporter.h).  One
 * unconnected SOCK_DGRAM socket shared by every thread: sendto() of a
 * whole datagram is atomic, MSG_DONTWAIT keeps it from ever blocking. */
#include "fuse/reporter.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/simwire.h"
#include "common/wire.h"
#include "fuse/mountreg.h"

struct reporter {
	int sock;
	struct sockaddr_un addr;
	char statedir[PATH_MAX];
	char mountpoint[PATH_MAX];
	atomic_bool lost;            /* a report was dropped: SIMW_RESCAN due */
	pthread_mutex_t mu;          /* sim, sim_due */
	struct vg_sim sim;
	bool sim_due;
};

int reporter_new(struct reporter **out, const char *statedir, const char *mountpoint,
		 char *err, size_t errlen)
{
	struct reporter *r = calloc(1, sizeof(*r));
	int n;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->addr.sun_family = AF_UNIX;
	n = snprintf(r->addr.sun_path, sizeof(r->addr.sun_path), "%s/%s", statedir, SIMW_SOCK);
	if (n < 0 || (size_t)n >= sizeof(r->addr.sun_path) ||
	    strlen(statedir) >= sizeof(r->statedir) || strlen(mountpoint) >= sizeof(r->mountpoint)) {
		snprintf(err, errlen, "%s: path too long for vigild's socket", statedir);
		free(r);
		return -ENAMETOOLONG;
	}
	if ((r->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		n = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(r);
		return n;
	}
	snprintf(r->statedir, sizeof(r->statedir), "%s", statedir);
	snprintf(r->mountpoint, sizeof(r->mountpoint), "%s", mountpoint);
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return 0;
}

void reporter_free(struct reporter *r)
{
	if (!r)
		return;
	close(r->sock);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* Encodes and sends m; a datagram that cannot go marks reports lost. */
static int send_msg(struct reporter *r, const struct simw_msg *m)
{
	struct buf b;
	int e = 0;

	buf_init(&b, SIMW_MAX);
	simw_encode(&b, m);
	if ((e = wire_buf_error(&b)) == 0 &&
	    sendto(r->sock, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (const struct sockaddr *)&r->addr, sizeof(r->addr)) < 0)
		e = -errno;
	buf_free(&b);
	if (e)
		atomic_store(&r->lost, true);
	return e;
}

/* m for kind on mountpoint + path; -ENAMETOOLONG marks reports lost. */
static int msg_init(struct reporter *r, struct simw_msg *m, int kind, const char *path)
{
	int n;

	memset(m, 0, sizeof(*m));
	m->kind = (uint8_t)kind;
	m->time_ns = real_ns();
	if (!strcmp(path, "/") || !strcmp(path, ""))
		path = "";
	n = snprintf(m->path, sizeof(m->path), "%s%s", r->mountpoint, path);
	if (n < 0 || (size_t)n >= sizeof(m->path)) {
		atomic_store(&r->lost, true);
		return -ENAMETOOLONG;
	}
	return 0;
}

static void send_path(struct reporter *r, int kind, const char *path)
{
	struct simw_msg m;

	if (r && msg_init(r, &m, kind, path) == 0)
		send_msg(r, &m);
}

void reporter_changed(struct reporter *r, const char *path)
{
	send_path(r, SIMW_CHANGED, path);
}

void reporter_closed(struct reporter *r, const char *path)
{
	send_path(r, SIMW_CLOSED, path);
}

void reporter_ranges(struct reporter *r, const char *path, uint64_t off, uint64_t len)
{
	struct simw_msg m;

	if (!r || msg_init(r, &m, SIMW_RANGES, path) < 0)
		return;
	m.nranges = 1;
	m.ranges[0].off = off;
	m.ranges[0].len = len;
	send_msg(r, &m);
}

/* Sends the kept SIM state if one is due. */
static void sim_flush(struct reporter *r)
{
	struct simw_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = SIMW_SIM;
	pthread_mutex_lock(&r->mu);
	if (r->sim_due) {
		m.time_ns = r->sim.time_ns;
		m.sim = r->sim;
		r->sim_due = send_msg(r, &m) < 0;
	}
	pthread_mutex_unlock(&r->mu);
}

void reporter_sim(struct reporter *r, const struct vg_sim *sim)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->sim = *sim;
	r->sim_due = true;
	pthread_mutex_unlock(&r->mu);
	sim_flush(r);
}

void reporter_retry(struct reporter *r)
{
	struct simw_msg m;

	if (!r)
		return;
	if (atomic_exchange(&r->lost, false) && msg_init(r, &m, SIMW_RESCAN, "") == 0)
		send_msg(r, &m);   /* failing, it marks lost again */
	sim_flush(r);
}

int reporter_register(struct reporter *r, char *err, size_t errlen)
{
	int e;

	if (!r)
		return 0;
	if ((e = mountreg_update(r->statedir, r->mountpoint, true)) < 0) {
		snprintf(err, errlen, "%s/mounts: %s", r->statedir, strerror(-e));
		return e;
	}
	send_path(r, SIMW_MOUNT, "");
	return 0;
}

void reporter_unmounted(struct reporter *r)
{
	if (r)
		send_path(r, SIMW_MOUNT, "");
}
