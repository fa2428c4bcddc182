/* simsend.c — test harness: plays vigil-simfs's part towards vigild, one
 * datagram per call on STATE/simfs.sock, encoded by common/simwire.c.
 *
 *   simsend SOCK changed|closed|rescan|mount PATH
 *   simsend SOCK ranges PATH OFF:LEN...
 *   simsend SOCK sim PRESENT ALLOWED ICCID IMSI [OPERATOR]   (time: now)
 *   simsend SOCK raw HEX                                     (any bytes)
 * Exit 0 when the datagram went, 1 otherwise (as simfs, it never waits). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "common/simwire.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int kind_of(const char *s)
{
	static const char *const names[] = { "", "changed", "ranges", "closed", "rescan",
					     "mount", "sim" };

	for (int k = SIMW_CHANGED; k <= SIMW_SIM; k++)
		if (!strcmp(s, names[k]))
			return k;
	return -1;
}

static int fill(struct simw_msg *m, int argc, char **argv)
{
	m->time_ns = now_ns();
	if (m->kind == SIMW_SIM) {
		if (argc < 4)
			return -1;
		m->sim.time_ns = m->time_ns;
		m->sim.present = (uint8_t)strtoul(argv[0], NULL, 10);
		m->sim.allowed = (uint8_t)strtoul(argv[1], NULL, 10);
		snprintf(m->sim.iccid, sizeof(m->sim.iccid), "%s", argv[2]);
		snprintf(m->sim.imsi, sizeof(m->sim.imsi), "%s", argv[3]);
		snprintf(m->sim.operator_name, sizeof(m->sim.operator_name), "%s",
			 argc > 4 ? argv[4] : "");
		return 0;
	}
	if (argc < 1)
		return -1;
	snprintf(m->path, sizeof(m->path), "%s", argv[0]);
	for (int i = 1; i < argc && m->nranges < SIMW_RANGES_MAX; i++, m->nranges++) {
		char *end;

		m->ranges[m->nranges].off = strtoull(argv[i], &end, 10);
		if (*end != ':')
			return -1;
		m->ranges[m->nranges].len = strtoull(end + 1, NULL, 10);
	}
	return 0;
}

static int unhex(const char *s, struct buf *b)
{
	for (; s[0] && s[1]; s += 2) {
		unsigned v;

		if (sscanf(s, "%2x", &v) != 1)
			return -1;
		wire_put_u8(b, (uint8_t)v);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct simw_msg m;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct buf b;
	int fd, k;

	if (argc < 4) {
		fprintf(stderr, "usage: simsend SOCK KIND ARGS...\n");
		return 2;
	}
	buf_init(&b, SIMW_MAX + 65536);
	if (!strcmp(argv[2], "raw")) {
		if (unhex(argv[3], &b) < 0)
			return 2;
	} else {
		if ((k = kind_of(argv[2])) < 0)
			return 2;
		m.kind = (uint8_t)k;
		if (fill(&m, argc - 3, argv + 3) < 0)
			return 2;
		simw_encode(&b, &m);
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    sendto(fd, b.data ? (const void *)b.data : "", b.len, MSG_DONTWAIT,
		   (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "simsend: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	return 0;
}
