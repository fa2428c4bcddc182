/* test_putcaps.c — the real vigil-server against uploads that ask for more
 * work than they send (issue 10, finding 1.1), spoken through
 * client_connect + mux as a device would:
 *   - a delta building more than its announced size gets EFBIG;
 *   - a device killed in the middle of a delta that COPYs its base over
 *     and over leaves no handler behind (the server's threads come back
 *     to what they were before it connected);
 *   - a third heavy upload of one device waits for PUT_READY until one of
 *     the first two finished, while a small one is served at once. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "common/bundle.h"
#include "common/chunker.h"
#include "common/chunktree.h"
#include "common/client.h"
#include "common/mux.h"
#include "common/proto.h"
#include "server/srv.h"
#include "server/store/content.h"
#include "tests/unit/srv_fixture.h"

#define BASE_LEN   (1u << 20)

static char tmp[64], srvdir[128], hostport[64];
static pid_t server_pid;
static struct mux *dev_m;
static uint8_t *base_data;

static struct mux *connect_dev(void)
{
	char path[256], err[256] = "";
	static const struct mux_ops ops = { 0 };
	struct bundle *b = NULL;
	struct mux *m = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/phone1.bundle", tmp);
	assert_int_equal(bundle_load(path, &b, err, sizeof(err)), 0);
	rc = client_connect(b, hostport, 30000, &ops, NULL, &m, err, sizeof(err));
	bundle_free(b);
	return rc == 0 ? m : NULL;
}

static int emit(void *arg, const uint8_t *d, size_t n)
{
	uint8_t h[32];

	SHA256(d, n, h);
	return ctree_add(arg, h, (uint32_t)n);
}

static void root_of(const uint8_t *p, size_t n, uint8_t root[32])
{
	struct chunker *ch = chunker_new();
	struct ctree_builder *tb = ctree_builder_new(NULL, NULL);
	uint64_t size;

	assert_int_equal(chunker_feed(ch, p, n, emit, tb), 0);
	assert_int_equal(chunker_flush(ch, emit, tb), 0);
	assert_int_equal(ctree_finish(tb, root, &size), 0);
	ctree_builder_free(tb);
	chunker_free(ch);
}

/* Opens a PUT of path: body kind, announced size and root, base. */
static struct mux_stream *put_open(struct mux *m, const char *path, int body, uint64_t size,
				   const uint8_t root[32], const uint8_t sha[32], uint64_t base)
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
	assert_non_null(s);
	return s;
}

/* The next reply: its type, or -errno of MSG_ERROR / of mux_recv. */
static int reply(struct mux_stream *s, int ms)
{
	struct buf in;
	char text[256];
	uint16_t t;
	int r;

	buf_init(&in, MUX_FRAME_MAX);
	r = mux_recv(s, &t, &in, ms);
	if (r == MUX_MSG)
		r = t == MSG_ERROR ? -proto_get_error(in.data, in.len, text, sizeof(text)) : t;
	else if (r > 0)
		r = -EPROTO;
	buf_free(&in);
	return r;
}

/* "rs\x02\x36" and n COPY(0, BASE_LEN) commands (op 0x4f: u32 pos, u32 len). */
static uint8_t *copies(size_t n, size_t *len)
{
	static const uint8_t cp[9] = { 0x4f, 0, 0, 0, 0, 0, BASE_LEN >> 16, 0, 0 };
	uint8_t *d = malloc(4 + 9 * n + 1);

	memcpy(d, "rs\x02\x36", 4);
	for (size_t i = 0; i < n; i++)
		memcpy(d + 4 + 9 * i, cp, 9);
	*len = 4 + 9 * n;
	return d;
}

/* ------------------------------------------------------------ server */

static int setup(void **state)
{
	int port, rc = -1;
	uint8_t root[32], sha[32];
	char log[200];
	struct mux_stream *s;

	if (access(SERVER_BIN, X_OK) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/test_putcaps.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(srvdir, sizeof(srvdir), "%s/srv", tmp);
	port = srvfix_free_port();
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	assert_int_equal(run(SERVER_BIN " init %s --listen %s >/dev/null", srvdir, hostport), 0);
	assert_int_equal(run(SERVER_BIN " enroll %s --device phone1 --out %s/phone1.bundle >/dev/null",
			     srvdir, tmp), 0);
	snprintf(log, sizeof(log), "%s/server.log", tmp);
	server_pid = srvfix_start(srvdir, port, log);
	assert_non_null(dev_m = connect_dev());
	/* /base: 1 MiB of random bytes, version 1 */
	base_data = malloc(BASE_LEN);
	for (size_t i = 0; i < BASE_LEN; i++)
		base_data[i] = (uint8_t)(i * 2654435761u >> 13);
	root_of(base_data, BASE_LEN, root);
	SHA256(base_data, BASE_LEN, sha);
	s = put_open(dev_m, "/base", PUT_WHOLE, BASE_LEN, root, sha, 0);
	assert_int_equal(reply(s, 60000), MSG_PUT_READY);
	assert_int_equal(mux_send_data(s, base_data, BASE_LEN), 0);
	assert_int_equal(mux_send_end(s), 0);
	rc = reply(s, 60000);
	mux_stream_close(s);
	assert_int_equal(rc, MSG_PUT_DONE);
	return 0;
}

static int teardown(void **state)
{
	mux_free(dev_m);
	free(base_data);
	return srvfix_finish(server_pid, tmp);
}

/* Threads and CPU ticks (utime + stime) of the server. */
static int server_threads(void)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)server_pid);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static long server_ticks(void)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)server_pid);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(p = strrchr(line, ')'));
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st), 2);
	return (long)(ut + st);
}

/* ------------------------------------------------------------ tests */

static void test_delta_over_announce(void **state)
{
	struct mux_stream *s = put_open(dev_m, "/base", PUT_DELTA, BASE_LEN, NULL, NULL, 1);
	size_t n;
	uint8_t *d = copies(3, &n);

	assert_int_equal(reply(s, 60000), MSG_PUT_READY);
	d[n++] = 0;   /* END */
	assert_int_equal(mux_send_data(s, d, n), 0);
	(void)mux_send_end(s);
	assert_int_equal(reply(s, 60000), -EFBIG);
	mux_stream_close(s);
	free(d);
}

/* The child: a device that starts a delta of ~28 GiB of COPYs and then
 * hangs until killed. */
static void child_upload(int wfd)
{
	struct mux *m = connect_dev();
	struct mux_stream *s;
	size_t n;
	uint8_t *d = copies(4 * 7281, &n);   /* 4 frames (in the window), 7 GiB of output each */

	if (!m)
		_exit(2);
	s = put_open(m, "/base", PUT_DELTA, CONTENT_SIZE_MAX, NULL, NULL, 1);
	if (reply(s, 60000) != MSG_PUT_READY || mux_send_data(s, d, n) < 0)
		_exit(3);
	if (write(wfd, "x", 1) != 1)
		_exit(4);
	pause();
	_exit(0);
}

static void test_cancel_on_disconnect(void **state)
{
	int before = server_threads(), pfd[2], st, i, after = 0;
	long ta, t0, t1, t2;
	char c;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		close(pfd[0]);
		child_upload(pfd[1]);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	ta = server_ticks();
	sleep(1);   /* the handler is busy copying now */
	t0 = server_ticks();
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	t1 = server_ticks();
	/* without a cancel the handler copies on for a minute and more */
	for (i = 0; i < 200 && (after = server_threads()) > before; i++)
		usleep(100000);
	t2 = server_ticks();
	fprintf(stderr, "# server CPU: %ld ticks in the 1 s before the kill; %ld ticks until"
		" the handler was gone (%d ms)\n", t0 - ta, t2 - t1, i * 100);
	assert_true(after <= before);
}

static void test_heavy_slots(void **state)
{
	uint64_t big = 16u << 20;
	uint8_t *zeros = calloc(1, big), root[32], sroot[32];
	struct mux_stream *s[3], *small;
	char path[32];
	int i;

	root_of(zeros, big, root);
	root_of(zeros, 1000, sroot);
	/* one server thread per stream: open the third only once the first two
	 * hold their slots, or it may take the second's */
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/heavy%d", i);
		s[i] = put_open(dev_m, path, PUT_RANGES, big, root, NULL, 0);
		if (i < 2)
			assert_int_equal(reply(s[i], 120000), MSG_PUT_READY);
	}
	/* the third waits for a slot, a small one does not */
	assert_int_equal(reply(s[2], 2000), -ETIMEDOUT);
	small = put_open(dev_m, "/small", PUT_RANGES, 1000, sroot, NULL, 0);
	assert_int_equal(reply(small, 60000), MSG_PUT_READY);
	assert_int_equal(mux_send_end(small), 0);
	assert_int_equal(reply(small, 60000), MSG_PUT_DONE);
	mux_stream_close(small);
	/* the first finishes: the third gets its slot */
	assert_int_equal(mux_send_end(s[0]), 0);
	assert_int_equal(reply(s[0], 30000), MSG_PUT_DONE);
	assert_int_equal(reply(s[2], 60000), MSG_PUT_READY);
	for (i = 1; i < 3; i++) {
		assert_int_equal(mux_send_end(s[i]), 0);
		assert_int_equal(reply(s[i], 60000), MSG_PUT_DONE);
	}
	for (i = 0; i < 3; i++)
		mux_stream_close(s[i]);
	free(zeros);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_over_announce),
		cmocka_unit_test(test_heavy_slots),
		cmocka_unit_test(test_cancel_on_disconnect),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
