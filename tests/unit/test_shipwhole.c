/* test_shipwhole.c — one shipper (daemon/ship*.c) against the real
 * vigil-server: the first upload of a file reads it once (issue 11: it
 * used to be read twice, once to hash it and again to send it, and
 * bytes_read was twice its size).  The WHOLE goes out in the pass that
 * hashes it, its sha256 and chunk-tree root after the body
 * (MSG_PUT_TRAILER); the server stores the version only when they match
 * what it built.  Checked: bytes_read and bytes_sent are the file's size
 * exactly, the server's version has the file's sha256 and root, and so
 * does the shipped row; a file whose size then moves (no signature kept)
 * goes whole again the same way. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/bundle.h"
#include "common/client.h"
#include "common/chash.h"
#include "common/proto.h"
#include "daemon/putio.h"
#include "daemon/scan.h"
#include "daemon/ship.h"
#include "daemon/statedb.h"

#define SERVER_BIN "build/bin/vigil-server"

static char tmp[64], srvdir[128], statedir[128], root[128], hostport[64];
static pid_t server_pid;
static struct bundle *bundle;
static struct statedb *db;
static struct scan_ctx scan;
static struct counters ctr;
static struct shipper *sh;
static struct mux *probe;   /* a device connection of our own, to ask the server */

static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void at(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", root, rel);
}

/* Ships rel as a tracker's "closed" event would queue it: 0 expected. */
static void ship(const char *rel)
{
	static struct qitem q;

	memset(&q, 0, sizeof(q));
	at(q.path, rel);
	q.gen = 1;
	snprintf(q.reason, sizeof(q.reason), "closed");
	assert_int_equal(ship_item(sh, &q), 0);
}

/* The server's latest version of rel: 0 or -ENOENT. */
static int latest(const char *rel, struct vg_entry *e)
{
	char p[PATH_MAX];

	at(p, rel);
	return putio_latest(probe, p, e, 30000);
}

static int setup(void **state)
{
	int port = 20000 + (int)((getpid() * 13) % 20000);
	char path[256], err[256] = "";
	static const struct mux_ops ops = { 0 };
	static char *roots[1];

	if (access(SERVER_BIN, X_OK) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/test_shipwhole.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(srvdir, sizeof(srvdir), "%s/srv", tmp);
	snprintf(statedir, sizeof(statedir), "%s/state", tmp);
	snprintf(root, sizeof(root), "%s/data", tmp);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	assert_int_equal(run(SERVER_BIN " init %s --listen %s >/dev/null", srvdir, hostport), 0);
	assert_int_equal(run(SERVER_BIN " enroll %s --device phone1 --out %s/phone1.bundle >/dev/null",
			     srvdir, tmp), 0);
	if ((server_pid = fork()) == 0) {
		snprintf(path, sizeof(path), "%s/server.log", tmp);
		if (!freopen(path, "a", stderr))
			_exit(126);
		execl(SERVER_BIN, SERVER_BIN, "run", srvdir, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(run("mkdir -p %s/tmp %s", statedir, root), 0);
	snprintf(path, sizeof(path), "%s/phone1.bundle", tmp);
	assert_int_equal(bundle_load(path, &bundle, err, sizeof(err)), 0);
	assert_int_equal(statedb_open(statedir, &db), 0);
	assert_int_equal(scan_ctx_init(&scan, db, statedir), 0);
	roots[0] = root;
	struct ship_opts o = { .bundle = bundle, .server = hostport, .statedir = statedir,
			       .db = db, .scan = &scan, .ctr = &ctr, .roots = roots, .nroots = 1 };
	assert_int_equal(shipper_new(&o, &sh), 0);
	/* the server takes a moment to listen: up to 20 s */
	for (int i = 0; i < 400 && ship_connect(sh) < 0; i++)
		usleep(50000);
	assert_true(ship_connected(sh));
	assert_int_equal(client_connect(bundle, hostport, 30000, &ops, NULL, &probe, err,
					sizeof(err)), 0);
	return 0;
}

static int teardown(void **state)
{
	int status = -1;

	mux_free(probe);
	shipper_free(sh);
	statedb_close(db);
	bundle_free(bundle);
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, &status, 0);
	}
	if (getenv("KEEP"))
		fprintf(stderr, "kept %s\n", tmp);
	else
		run("rm -rf %s", tmp);
	return 0;
}

/* Random bytes of size n into rel; its sha256 and root. */
static void random_file(const char *rel, size_t n, uint8_t sha[32], uint8_t tr[32])
{
	char p[PATH_MAX];
	uint8_t *b = malloc(n);
	struct chash *h = chash_new(CHASH_BOTH);
	uint64_t size;
	int fd;

	assert_non_null(b);
	assert_non_null(h);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(rand() >> 7);
	at(p, rel);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chash_feed(h, b, n), 0);
	assert_int_equal(chash_finish(h, sha, tr, &size), 0);
	chash_free(h);
	free(b);
}

/* Ships rel (new or changed) and checks one read, one send, and the
 * version the server and the shipped table hold. */
static void ship_once(const char *rel, size_t n, const uint8_t sha[32], const uint8_t tr[32],
		      uint64_t version)
{
	uint64_t rd = ctr_get(&ctr, CTR_BYTES_READ), sent = ctr_get(&ctr, CTR_BYTES_SENT);
	uint64_t whole = ctr_get(&ctr, CTR_SHIPPED_WHOLE);
	struct vg_entry *e = malloc(sizeof(*e));
	struct shipped *row = malloc(sizeof(*row));
	char p[PATH_MAX];

	assert_non_null(e);
	assert_non_null(row);
	ship(rel);
	assert_int_equal(ctr_get(&ctr, CTR_BYTES_READ) - rd, n);
	assert_int_equal(ctr_get(&ctr, CTR_BYTES_SENT) - sent, n);
	assert_int_equal(ctr_get(&ctr, CTR_SHIPPED_WHOLE) - whole, 1);
	assert_int_equal(ctr_get(&ctr, CTR_ERRORS), 0);
	assert_int_equal(latest(rel, e), 0);
	assert_int_equal(e->version, version);
	assert_int_equal(e->size, n);
	assert_memory_equal(e->sha256, sha, 32);
	assert_memory_equal(e->tree_root, tr, 32);
	at(p, rel);
	assert_int_equal(statedb_get(db, p, row), 0);
	assert_int_equal(row->version, version);
	assert_memory_equal(row->sha256, sha, 32);
	assert_memory_equal(row->root, tr, 32);
	free(e);
	free(row);
}

static void test_first_upload_reads_once(void **state)
{
	uint8_t sha[32], tr[32];

	srand(11);
	random_file("big.bin", 3u << 20, sha, tr);
	ship_once("big.bin", 3u << 20, sha, tr, 1);
	/* grown, and no signature of the shipped version (as after a RANGES
	 * ship): sure to differ, so sent in the same one read */
	assert_int_equal(run("rm -rf %s/sigs", statedir), 0);
	random_file("big.bin", (3u << 20) + 4321, sha, tr);
	ship_once("big.bin", (3u << 20) + 4321, sha, tr, 2);
	/* an empty file too */
	random_file("empty", 0, sha, tr);
	ship_once("empty", 0, sha, tr, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_upload_reads_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
