/* daemon.c — setting up and tearing down vigild's context and state dir. */
#include "daemon/daemon.h"

#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/cmdlink.h"
#include "daemon/status.h"

volatile sig_atomic_t vigild_quit;

/* Leftover copies and deltas of a crashed run. */
static void empty_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static int mkdir_p(const char *p)
{
	return mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}

/* STATE/sub made if missing, its path into p.  0 or -errno (logged). */
static int state_dir(const struct vconf *cf, const char *sub, char p[PATH_MAX])
{
	int rc;

	snprintf(p, PATH_MAX, "%s/%s", cf->state, sub);
	if ((rc = mkdir_p(p)) < 0)
		log_errno(rc, "%s", p);
	return rc;
}

/* A shipping connection ended (its mux's I/O thread; no lock of ours is
 * held where a mux is freed): the idle shippers look again, and shipper
 * 0 connects again. */
static void conn_closed(void *arg)
{
	vigild_wake(arg);
}

int vigild_open(struct vigild *d, struct vconf *cf)
{
	char p[PATH_MAX], err[256];
	int rc;

	memset(d, 0, sizeof(*d));
	d->cf = cf;
	/* glibc gives each thread that mallocs its own arena, which keeps what
	 * was freed in it; vigild's threads allocate little on their hot paths,
	 * and two arenas keep its RSS near what it uses (docs/performance.md) */
	mallopt(M_ARENA_MAX, 2);
	pthread_mutex_init(&d->mu, NULL);
	resent_init(&d->resent);
	pthread_cond_init(&d->cv, NULL);
	pthread_cond_init(&d->conn_cv, NULL);
	if ((rc = mkdir_p(cf->state)) < 0) {
		log_errno(rc, "%s", cf->state);
		return rc;
	}
	if ((rc = state_dir(cf, "tmp", p)) < 0)
		return rc;
	empty_dir(p);
	/* signatures are no longer kept (an older vigild's cache goes) */
	snprintf(p, sizeof(p), "%s/sigs", cf->state);
	empty_dir(p);
	rmdir(p);
	if ((rc = bundle_load(cf->bundle, &d->bundle, err, sizeof(err))) < 0) {
		if (strstr(err, cf->bundle))
			log_warnx("%s", err);
		else
			log_warnx("%s: %s", cf->bundle, err);
		return rc;
	}
	if (d->bundle->role != ROLE_DEVICE) {
		log_warnx("%s: not a device bundle", cf->bundle);
		return -EINVAL;
	}
	if ((rc = statedb_open(cf->state, &d->db)) < 0)
		return rc;
	if ((rc = scan_ctx_init(&d->scan, d->db, cf->state)) < 0) {
		log_errno(rc, "%s", cf->state);
		return rc;
	}
	if ((rc = state_dir(cf, "chunks", p)) < 0)
		return rc;
	if (!(d->rt = rangetab_new()))
		return -ENOMEM;
	struct ship_opts o = {
		.bundle = d->bundle, .server = cf->server, .statedir = cf->state,
		.db = d->db, .scan = &d->scan, .ctr = &d->ctr, .resent = &d->resent,
		.claim = vigild_claim, .release = vigild_release, .claim_arg = d,
		.conn_closed = conn_closed, .conn_closed_arg = d,
		.rt = d->rt, .roots = cf->watch, .nroots = cf->nwatch,
	};
	for (size_t i = 0; i < SHIP_CONNS; i++)
		if ((rc = shipconn_new(&d->conn[i])) < 0)
			return rc;
	for (d->nsh = 0; d->nsh < SHIP_WORKERS; d->nsh++)
		if ((o.conn = d->conn[d->nsh % SHIP_CONNS]),
		    (rc = shipper_new(&o, &d->sh[d->nsh])) < 0) {
			log_errno(rc, "shipper");
			return rc;
		}
	return 0;
}

void vigild_close(struct vigild *d)
{
	for (size_t i = 0; i < d->nsh; i++)
		shipper_free(d->sh[i]);
	for (size_t i = 0; i < SHIP_CONNS; i++)
		shipconn_free(d->conn[i]);
	for (size_t i = 0; i < d->nclaimed; i++)
		free(d->claimed[i]);
	pathset_free(&d->held);
	statedb_close(d->db);
	rangetab_free(d->rt);
	bundle_free(d->bundle);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	pthread_cond_destroy(&d->conn_cv);
	resent_destroy(&d->resent);
}

bool vigild_under_root(const struct vigild *d, const char *path)
{
	for (size_t i = 0; i < d->cf->nwatch; i++) {
		size_t n = strlen(d->cf->watch[i]);

		if (strncmp(path, d->cf->watch[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '/' || n == 1))
			return true;
	}
	return false;
}

void vigild_wake(struct vigild *d)
{
	vigild_wake_at(d, INT64_MIN);
}

void vigild_wake_at(struct vigild *d, int64_t due_ns)
{
	bool later = due_ns == INT64_MIN;

	pthread_mutex_lock(&d->mu);
	__atomic_add_fetch(&d->wake_gen, 1, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < SHIP_WORKERS && !later; i++)
		later = d->nap_until[i] > due_ns;
	if (later)
		pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void vigild_reachable(struct vigild *d)
{
	struct cmdlink *link;

	pthread_mutex_lock(&d->mu);
	d->net_gen++;
	pthread_cond_broadcast(&d->conn_cv);
	link = d->link;
	pthread_mutex_unlock(&d->mu);
	cmdlink_retry_now(link);
}

void vigild_status(struct vigild *d)
{
	struct status_snap s;
	char err[sizeof(d->last_error)];
	struct vg_report trk;
	struct cmdlink *link;

	pthread_mutex_lock(&d->mu);
	s.connected = d->connected;
	s.retry_at = d->retry_at;
	link = d->link;
	memcpy(err, d->last_error, sizeof(err));
	trk = d->trk_ctr;
	pthread_mutex_unlock(&d->mu);
	s.linked = false;
	s.link_retry_at = link ? cmdlink_retry_at(link, &s.linked) : 0;
	s.trk = &trk;
	s.tracker = d->tops ? d->tops->name : "";
	s.last_error = err;
	s.ctr = &d->ctr;
	s.refresh = !d->once;
	status_write(d->cf->state, d->db, &s);
}

bool vigild_claim(void *arg, const char *path)
{
	struct vigild *d = arg;
	bool ok;
	char *p;

	pthread_mutex_lock(&d->mu);
	ok = d->nclaimed < STATEDB_EXCL_MAX && !pathset_has(&d->held, path);
	for (size_t i = 0; ok && i < d->nclaimed; i++)
		ok = strcmp(d->claimed[i], path) != 0;
	if (ok && (p = strdup(path)))
		d->claimed[d->nclaimed++] = p;
	else
		ok = false;
	pthread_mutex_unlock(&d->mu);
	return ok;
}

void vigild_release(void *arg, const char *path)
{
	struct vigild *d = arg;

	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->nclaimed; i++)
		if (strcmp(d->claimed[i], path) == 0) {
			free(d->claimed[i]);
			d->claimed[i] = d->claimed[--d->nclaimed];
			break;
		}
	/* the idle shippers' long nap ends: once, when nothing is claimed;
	 * and when a look stepped over a due entry someone held */
	if ((d->once && d->nclaimed == 0) || d->stepped_over) {
		d->stepped_over = false;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
}

static int wipe_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	if ((flag == FTW_DP ? rmdir(p) : unlink(p)) < 0)
		log_warn("erase: cannot remove %s", p);
	return 0;
}

void vigild_wipe(const struct vconf *cf)
{
	/* FTW_PHYS: a symlink in the state dir is removed, never followed */
	if (nftw(cf->state, wipe_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		log_warn("erase: cannot remove %s", cf->state);
	if (unlink(cf->bundle) < 0)
		log_warn("erase: cannot remove %s", cf->bundle);
}
