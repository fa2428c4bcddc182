/* simlink.c — the socket vigil-simfs reports to (simlink.h). */
#include "daemon/simlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/simwire.h"
#include "daemon/intake.h"
#include "daemon/simpending.h"

struct simlink {
	struct vigild *d;
	const struct tracker_sink *sink;
	int fd;
	struct sockaddr_un addr;
	struct simw_msg m;              /* the datagram being handed on */
	struct trk_range r[SIMW_RANGES_MAX];
	uint8_t buf[SIMW_MAX + 1];      /* + 1: an over-long datagram shows */
};

static int bind_sock(struct simlink *l, const char *statedir)
{
	int one = SIMLINK_RCVBUF;

	l->addr.sun_family = AF_UNIX;
	if (snprintf(l->addr.sun_path, sizeof(l->addr.sun_path), "%s/%s", statedir, SIMW_SOCK) >=
	    (int)sizeof(l->addr.sun_path))
		return -ENAMETOOLONG;
	if ((l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) < 0)
		log_warn("%s: SO_RCVBUF", l->addr.sun_path);
	if (unlink(l->addr.sun_path) < 0 && errno != ENOENT)
		return -errno;
	if (bind(l->fd, (struct sockaddr *)&l->addr, sizeof(l->addr)) < 0 ||
	    chmod(l->addr.sun_path, 0600) < 0)
		return -errno;
	return 0;
}

int simlink_open(struct vigild *d, const struct tracker_sink *sink, struct simlink **out)
{
	struct simlink *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->d = d;
	l->sink = sink;
	l->fd = -1;
	if ((rc = simpending_open(d->scan.statedir, &d->simq)) < 0) {
		free(l);
		return rc;
	}
	if ((rc = bind_sock(l, d->scan.statedir)) < 0) {
		log_errno(rc, "%s/%s: no reports from vigil-simfs", d->scan.statedir, SIMW_SOCK);
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		l->addr.sun_path[0] = '\0';
	}
	*out = l;
	return 0;
}

int simlink_fd(const struct simlink *l)
{
	return l ? l->fd : -1;
}

/* One decoded message, handed on as a tracker's event would be. */
static void deliver(struct simlink *l, const struct simw_msg *m)
{
	const struct tracker_sink *s = l->sink;

	switch (m->kind) {
	case SIMW_CHANGED:
		s->changed(s->arg, m->path, 0);
		break;
	case SIMW_RANGES:
		for (uint32_t i = 0; i < m->nranges; i++)
			l->r[i] = (struct trk_range){ m->ranges[i].off, m->ranges[i].len };
		s->ranges(s->arg, m->path, l->r, m->nranges, false);
		break;
	case SIMW_CLOSED:
		if (s->closed)
			s->closed(s->arg, m->path, 0);
		break;
	case SIMW_RESCAN:
	case SIMW_MOUNT:
		s->rescan(s->arg, m->path);
		break;
	case SIMW_SIM:
		intake_push_sim(l->d->in, &m->sim);
		break;
	}
}

void simlink_process(struct simlink *l)
{
	struct counters *c = &l->d->ctr;

	for (int i = 0; i < SIMLINK_BATCH; i++) {
		ssize_t n = recv(l->fd, l->buf, sizeof(l->buf), MSG_DONTWAIT);

		if (n < 0)
			return;   /* EAGAIN: all read */
		ctr_add(c, CTR_SIMFS_RECEIVED, 1);
		if ((size_t)n > SIMW_MAX || simw_decode(l->buf, (size_t)n, &l->m) < 0 ||
		    (l->m.kind != SIMW_SIM && !vigild_under_root(l->d, l->m.path))) {
			ctr_add(c, CTR_SIMFS_DROPPED, 1);
			continue;
		}
		deliver(l, &l->m);
	}
}

void simlink_close(struct simlink *l)
{
	if (!l)
		return;
	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->addr.sun_path);
	}
	simpending_free(l->d->simq);
	l->d->simq = NULL;
	free(l);
}
