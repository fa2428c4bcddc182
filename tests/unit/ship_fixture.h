/* ship_fixture.h — test helper shared by test_shipkeep and test_shipwhole:
 * one shipper (daemon/ship*.c) against a real vigil-server of its own on
 * loopback, with a probe connection to ask the server what it holds. */
#ifndef VIGIL_TEST_SHIP_FIXTURE_H
#define VIGIL_TEST_SHIP_FIXTURE_H

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/bundle.h"
#include "common/client.h"
#include "common/proto.h"
#include "daemon/putio.h"
#include "daemon/scan.h"
#include "daemon/ship.h"
#include "daemon/statedb.h"
#include "tests/unit/srv_fixture.h"

static char tmp[64], srvdir[128], statedir[128], root[128], hostport[64];
static pid_t server_pid;
static struct bundle *bundle;
static struct statedb *db;
static struct scan_ctx scan;
static struct counters ctr;
static struct shipper *sh;
static struct mux *probe;   /* a device connection of our own, to ask the server */

static inline void at(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", root, rel);
}

static inline void write_file(const char *rel, const char *data, mode_t mode)
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
static inline void ship(const char *rel)
{
	static struct qitem q;

	memset(&q, 0, sizeof(q));
	at(q.path, rel);
	q.gen = 1;
	snprintf(q.reason, sizeof(q.reason), "closed");
	assert_int_equal(ship_item(sh, &q), 0);
}

/* The server's latest version of rel: 0 or -ENOENT. */
static inline int latest(const char *rel, struct vg_entry *e)
{
	char p[PATH_MAX];

	at(p, rel);
	return putio_latest(probe, p, e, 30000);
}

/* A server of its own (init, enroll phone1, run) in /tmp/NAME.XXXXXX, a
 * shipper connected to it and a probe connection; -1 (skipped) without the
 * server binary. */
static inline int shipfix_setup(const char *name)
{
	int port;
	char path[256], err[256] = "";
	static const struct mux_ops ops = { 0 };
	static char *roots[1];

	if (access(SERVER_BIN, X_OK) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(tmp));
	snprintf(srvdir, sizeof(srvdir), "%s/srv", tmp);
	snprintf(statedir, sizeof(statedir), "%s/state", tmp);
	snprintf(root, sizeof(root), "%s/data", tmp);
	port = srvfix_free_port();
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	assert_int_equal(run(SERVER_BIN " init %s --listen %s >/dev/null", srvdir, hostport), 0);
	assert_int_equal(run(SERVER_BIN " enroll %s --device phone1 --out %s/phone1.bundle >/dev/null",
			     srvdir, tmp), 0);
	snprintf(path, sizeof(path), "%s/server.log", tmp);
	server_pid = srvfix_start(srvdir, port, path);
	assert_int_equal(run("mkdir -p %s/tmp %s", statedir, root), 0);
	snprintf(path, sizeof(path), "%s/phone1.bundle", tmp);
	assert_int_equal(bundle_load(path, &bundle, err, sizeof(err)), 0);
	assert_int_equal(statedb_open(statedir, &db), 0);
	assert_int_equal(scan_ctx_init(&scan, db, statedir), 0);
	roots[0] = root;
	struct ship_opts o = { .bundle = bundle, .server = hostport, .statedir = statedir,
			       .db = db, .scan = &scan, .ctr = &ctr, .roots = roots, .nroots = 1 };
	assert_int_equal(shipper_new(&o, &sh), 0);
	assert_int_equal(ship_connect(sh), 0);
	assert_true(ship_connected(sh));
	assert_int_equal(client_connect(bundle, hostport, 30000, &ops, NULL, &probe, err,
					sizeof(err)), 0);
	return 0;
}

static inline int shipfix_teardown(void)
{
	mux_free(probe);
	shipper_free(sh);
	statedb_close(db);
	bundle_free(bundle);
	return srvfix_finish(server_pid, tmp);
}

#endif
