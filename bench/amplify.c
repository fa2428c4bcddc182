/* amplify.c — a device that asks the server for much work with little
 * input (issue 10, finding 1.1), for bench/amplify_bench.sh:
 *
 *   amplify BUNDLE HOST:PORT ranges SIZE      PUT_RANGES of a new path announcing
 *                                             SIZE bytes, empty body; waits for the reply
 *   amplify BUNDLE HOST:PORT ranges-hang SIZE the same, but hangs after END (kill it)
 *   amplify BUNDLE HOST:PORT delta-hang N     PUT_WHOLE of a 1 MiB base, then a delta
 *                                             of N COPYs of it announcing 1 TiB; hangs
 *
 * Prints "ready" once the body is sent (the bench kills it from then on)
 * and the reply's code at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "common/bundle.h"
#include "common/chunker.h"
#include "common/chunktree.h"
#include "common/client.h"
#include "common/mux.h"
#include "common/proto.h"
#include "common/wire.h"

#define BASE_LEN (1u << 20)

static struct mux_stream *put_open(struct mux *m, const char *path, int body, uint64_t size,
				   const uint8_t *root, const uint8_t *sha, uint64_t base)
{
	struct vg_put p;
	struct mux_stream *s;
	struct buf b;

	memset(&p, 0, sizeof(p));
	snprintf(p.e.path, sizeof(p.e.path), "%s", path);
	p.e.type = VG_FILE;
	p.e.mode = 0640;
	p.e.capture_ns = (int64_t)time(NULL) * 1000000000;
	p.e.size = size;
	p.body = (uint8_t)body;
	p.base_version = base;
	if (root)
		memcpy(p.e.tree_root, root, 32);
	if (sha)
		memcpy(p.e.sha256, sha, 32);
	buf_init(&b, VG_MSG_MAX);
	proto_put_put(&b, &p);
	s = mux_open(m, MSG_DEV_PUT, b.data, b.len);
	buf_free(&b);
	return s;
}

/* The reply's type, or -code of MSG_ERROR, or mux_recv's error. */
static int reply(struct mux_stream *s)
{
	struct buf in;
	char text[256];
	uint16_t t;
	int r;

	buf_init(&in, MUX_FRAME_MAX);
	r = mux_recv(s, &t, &in, -1);
	if (r == MUX_MSG)
		r = t == MSG_ERROR ? -proto_get_error(in.data, in.len, text, sizeof(text)) : t;
	buf_free(&in);
	return r;
}

static int emit(void *arg, const uint8_t *d, size_t n)
{
	uint8_t h[32];

	SHA256(d, n, h);
	return ctree_add(arg, h, (uint32_t)n);
}

/* Stores a 1 MiB base under /amp-base: its version, or -1. */
static long put_base(struct mux *m)
{
	uint8_t *d = malloc(BASE_LEN), root[32], sha[32];
	struct chunker *ch = chunker_new();
	struct ctree_builder *tb = ctree_builder_new(NULL, NULL);
	struct mux_stream *s;
	struct wire_reader wr;
	struct buf in;
	uint64_t size;
	uint16_t t;
	long v = -1;

	for (size_t i = 0; i < BASE_LEN; i++)
		d[i] = (uint8_t)(i * 2654435761u >> 13);
	chunker_feed(ch, d, BASE_LEN, emit, tb);
	chunker_flush(ch, emit, tb);
	ctree_finish(tb, root, &size);
	SHA256(d, BASE_LEN, sha);
	buf_init(&in, MUX_FRAME_MAX);
	s = put_open(m, "/amp-base", PUT_WHOLE, BASE_LEN, root, sha, 0);
	if (s && reply(s) == MSG_PUT_READY && mux_send_data(s, d, BASE_LEN) == 0 &&
	    mux_send_end(s) == 0 && mux_recv(s, &t, &in, -1) == MUX_MSG && t == MSG_PUT_DONE) {
		wire_reader_init(&wr, in.data, in.len);
		v = (long)wire_get_u64(&wr);
	}
	if (s)
		mux_stream_close(s);
	buf_free(&in);
	ctree_builder_free(tb);
	chunker_free(ch);
	free(d);
	return v;
}

static int delta_hang(struct mux *m, unsigned long n)
{
	static const uint8_t cp[9] = { 0x4f, 0, 0, 0, 0, 0, BASE_LEN >> 16, 0, 0 };
	uint8_t *d = malloc(4 + 9 * n);
	struct mux_stream *s;
	long v = put_base(m);

	if (v < 0 || !d)
		return 1;
	memcpy(d, "rs\x02\x36", 4);
	for (unsigned long i = 0; i < n; i++)
		memcpy(d + 4 + 9 * i, cp, 9);
	s = put_open(m, "/amp-base", PUT_DELTA, 1ull << 40, NULL, NULL, (uint64_t)v);
	if (!s || reply(s) != MSG_PUT_READY || mux_send_data(s, d, 4 + 9 * n) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}

int main(int argc, char **argv)
{
	static const struct mux_ops ops = { 0 };
	char err[256] = "", path[64];
	struct bundle *b = NULL;
	struct mux *m = NULL;
	struct mux_stream *s;
	uint8_t root[32] = { 1 };
	int r;

	if (argc != 5)
		return 2;
	if (bundle_load(argv[1], &b, err, sizeof(err)) < 0 ||
	    client_connect(b, argv[2], 30000, &ops, NULL, &m, err, sizeof(err)) < 0) {
		fprintf(stderr, "amplify: %s\n", err);
		return 1;
	}
	if (!strcmp(argv[3], "delta-hang"))
		return delta_hang(m, strtoul(argv[4], NULL, 10));
	snprintf(path, sizeof(path), "/amp-%d-%ld", (int)getpid(), (long)time(NULL));
	s = put_open(m, path, PUT_RANGES, strtoull(argv[4], NULL, 10), root, NULL, 0);
	if (!s || reply(s) != MSG_PUT_READY || mux_send_end(s) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (!strcmp(argv[3], "ranges-hang"))
		pause();
	r = reply(s);
	printf("reply %d\n", r);
	mux_free(m);
	bundle_free(b);
	return 0;
}
