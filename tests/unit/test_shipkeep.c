/* test_shipkeep.c — one shipper (daemon/ship*.c) against the real
 * vigil-server: a queued file whose read finds nothing to send must
 * refresh its own shipped row and no other.  The soak's lost directory
 * (docs/reliability.md, "Under faults"): the row was built from the last
 * PUT sent, so a directory's row took the file's stat; when the file was
 * renamed, the shipper found that row by inode and sent the directory as
 * the rename's source, and the server moved the whole directory's files
 * under the file's new name.  Here: ship dir d (with d/a) and file x,
 * replace x by a copy with the same bytes and mtime (a new inode, what an
 * editor's save-and-rename does), send a PUT of d (a chmod), ship x
 * (nothing to send), rename x to y and ship y and x.  The server must hold
 * d/a and y, and x as deleted. */
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

static void write_file(const char *rel, const char *data, mode_t mode)
{
	char p[PATH_MAX];
	int fd;

	at(p, rel);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
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
	snprintf(tmp, sizeof(tmp), "/tmp/test_shipkeep.XXXXXX");
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

static void test_keep_own_row(void **state)
{
	char x[PATH_MAX], xt[PATH_MAX], y[PATH_MAX], d[PATH_MAX];
	struct timespec mt[2];
	struct vg_entry *e = malloc(sizeof(*e));
	struct shipped *row = malloc(sizeof(*row));
	struct stat st;

	assert_non_null(e);
	assert_non_null(row);
	at(d, "d");
	at(x, "x.bin");
	at(xt, "x.bin.tmp");
	at(y, "y.bin");
	assert_int_equal(mkdir(d, 0755), 0);
	write_file("d/a", "the directory's file\n", 0644);
	write_file("x.bin", "the file that moves\n", 0644);
	ship("d");
	ship("d/a");
	ship("x.bin");
	assert_int_equal(latest("x.bin", e), 0);
	assert_int_equal(e->version, 1);

	/* x replaced by a copy: same bytes, mode and mtime, a new inode */
	assert_int_equal(stat(x, &st), 0);
	write_file("x.bin.tmp", "the file that moves\n", 0644);
	mt[0] = st.st_atim;
	mt[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, xt, mt, 0), 0);
	assert_int_equal(rename(xt, x), 0);
	/* a PUT of d goes out just before x is looked at again */
	assert_int_equal(chmod(d, 0700), 0);
	ship("d");
	ship("x.bin");   /* read: same content and metadata, nothing sent */
	assert_int_equal(latest("x.bin", e), 0);
	assert_int_equal(e->version, 1);

	/* x renamed: the server moves x, and only x */
	assert_int_equal(rename(x, y), 0);
	ship("y.bin");
	ship("x.bin");
	assert_int_equal(latest("y.bin", e), 0);
	assert_int_equal(e->type, VG_FILE);
	assert_false(e->deleted);
	assert_int_equal(e->size, strlen("the file that moves\n"));
	assert_int_equal(latest("x.bin", e), 0);
	assert_true(e->deleted);
	assert_int_equal(latest("d/a", e), 0);
	assert_false(e->deleted);
	assert_int_equal(latest("d", e), 0);
	assert_int_equal(e->type, VG_DIR);
	assert_false(e->deleted);
	/* and the shipped table still knows d as a directory */
	assert_int_equal(statedb_get(db, d, row), 0);
	assert_int_equal(row->type, VG_DIR);
	assert_int_equal(statedb_get(db, y, row), 0);
	assert_int_equal(stat(y, &st), 0);
	assert_int_equal(row->ino, st.st_ino);
	free(e);
	free(row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_own_row),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
