/* connhold.c — test harness: opens N connections to the server with one
 * bundle's identity, asks the server something on each one it got (a
 * controller: DEVICES), prints "opened K answered A", then holds them all
 * until its stdin closes.  t_lockout.sh checks the per-identity cap with it.
 *
 *   connhold BUNDLE HOST:PORT N */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/bundle.h"
#include "common/client.h"
#include "common/proto.h"

#define HOLD_MAX 256

/* Whether m answers a DEVICES request with a message. */
static int answers(struct mux *m)
{
	struct buf req, reply;
	uint16_t type = 0;
	int r;

	buf_init(&req, 16);
	buf_init(&reply, MUX_FRAME_MAX);
	r = mux_call(m, MSG_CTL_DEVICES, &req, &type, &reply, 10000);
	buf_free(&req);
	buf_free(&reply);
	return r == 0 && type != MSG_ERROR;
}

int main(int argc, char **argv)
{
	static struct mux *held[HOLD_MAX];
	struct bundle *b = NULL;
	char err[256], c;
	long n;
	int i, k = 0, a = 0;

	if (argc != 4 || (n = strtol(argv[3], NULL, 10)) <= 0 || n > HOLD_MAX) {
		fprintf(stderr, "usage: connhold BUNDLE HOST:PORT N (N <= %d)\n", HOLD_MAX);
		return 2;
	}
	if (bundle_load(argv[1], &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "connhold: %s\n", err);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (client_connect(b, argv[2], 10000, NULL, NULL, &held[k], err, sizeof(err)) == 0)
			k++;
	for (i = 0; i < k; i++)
		a += answers(held[i]);
	printf("opened %d answered %d\n", k, a);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	for (i = 0; i < k; i++)
		mux_free(held[i]);
	return 0;
}
