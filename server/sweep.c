/* sweep.c — one sweep from the index's roots, the server's sweep thread,
 * and the request file `vigil-server sweep` uses (sweep.h). */
#include "server/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/tls.h"
#include "server/store/content.h"

#define ROOTS_PAGE 1024

/* The devices' keys, and an id context per device made when first needed. */
struct devkeys {
	int64_t *dev;
	struct devkey *key;
	struct store_idmac **mac;
	size_t n, cap;
};

static int devkeys_add(void *arg, const struct ident *id)
{
	struct devkeys *k = arg;

	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		void *a = realloc(k->dev, cap * sizeof(*k->dev)), *b, *c;

		if (a)
			k->dev = a;
		b = a ? realloc(k->key, cap * sizeof(*k->key)) : NULL;
		if (b)
			k->key = b;
		c = b ? realloc(k->mac, cap * sizeof(*k->mac)) : NULL;
		if (!c)
			return -ENOMEM;
		k->mac = c;
		k->cap = cap;
	}
	k->dev[k->n] = id->id;
	memcpy(k->key[k->n].k, id->devkey, 32);
	k->mac[k->n++] = NULL;
	return 0;
}

static void devkeys_free(struct devkeys *k)
{
	for (size_t i = 0; i < k->n; i++)
		store_idmac_free(k->mac[i]);
	free(k->dev);
	free(k->key);
	free(k->mac);
}

static struct store_idmac *devkeys_mac(struct devkeys *k, int64_t dev)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->dev[i] == dev) {
			if (!k->mac[i])
				k->mac[i] = store_idmac_new(&k->key[i]);
			return k->mac[i];
		}
	return NULL;
}

/* The pins made since the last call (all held ones, the first time);
 * finish: when none are left, the sweep moves on to deleting. */
static int mark_pins(struct store *st, struct sweep_result *out, bool finish)
{
	struct store_root *p;
	bool deleting = false;
	size_t n, i;
	int r;

	do {
		if ((r = store_sweep_pins(st, &p, &n, finish, &deleting)) < 0)
			return r;
		for (i = 0; i < n; i++) {
			struct store_idmac *mac = store_idmac_new(&p[i].key);

			/* a pin's tree may be partly gone (a dropped version):
			 * what can be read is marked, the rest was garbage */
			if (!mac)
				r = -ENOMEM;
			else
				(void)content_mark_tree(st, mac, p[i].root, p[i].size, &out->pages);
			store_idmac_free(mac);
			out->pins++;
		}
		free(p);
	} while (r == 0 && n > 0 && (finish ? !deleting : false));
	return r;
}

/* Every live file version's tree.  A tree that cannot be read stops the
 * sweep before it deletes anything (-EIO). */
static int mark_versions(struct store *st, struct index *idx, struct devkeys *k,
			 struct sweep_result *out)
{
	struct index_root *rt = malloc(ROOTS_PAGE * sizeof(*rt));
	int64_t after = 0;
	int n, i, r = 0;

	if (!rt)
		return -ENOMEM;
	while (r == 0 && (n = index_roots(idx, after, rt, ROOTS_PAGE)) > 0) {
		for (i = 0; i < n && r == 0; i++) {
			struct store_idmac *mac = devkeys_mac(k, rt[i].dev);
			int m;

			out->roots++;
			if (!mac) {   /* no key (or no memory): its tree is not marked */
				out->unreadable++;
				continue;
			}
			m = content_mark_tree(st, mac, rt[i].content_root, rt[i].size, &out->pages);
			if (m == -ENOMEM)
				r = m;
			else if (m < 0)
				out->unreadable++;
		}
		after = rt[n - 1].id;
	}
	free(rt);
	if (r == 0 && n < 0)
		r = n;
	return r == 0 && out->unreadable ? -EIO : r;
}

static int mark_all(struct store *st, struct index *idx, struct sweep_result *out)
{
	struct devkeys k = { 0 };
	int r;

	r = index_ident_list(idx, ROLE_DEVICE, devkeys_add, &k);
	/* states first: one gone by then was removed after its version was
	 * committed, so the versions read next hold it */
	if (r == 0)
		r = content_mark_uploads(st, k.key, k.n, &out->states);
	if (r == 0)
		r = mark_pins(st, out, false);
	if (r == 0)
		r = mark_versions(st, idx, &k, out);
	if (r == 0)
		r = mark_pins(st, out, true);
	devkeys_free(&k);
	return r;
}

int sweep_run(struct store *st, struct index *idx, int wait_ms, struct sweep_result *out)
{
	int64_t t0 = mono_ns();
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_sweep_begin(st)) < 0)
		return out->err = r;
	r = store_sweep_wait(st, wait_ms);
	if (r == 0)
		r = mark_all(st, idx, out);
	if (r == 0)
		r = store_sweep_delete(st, NULL);
	store_sweep_end(st, &out->s);
	out->seconds = (double)(mono_ns() - t0) / 1e9;
	return out->err = r;
}

/* ------------------------------------------------------ result file */

static int result_write(const char *storedir, const struct sweep_result *r)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sweep.last", storedir);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/sweep.last.tmp", storedir) >= sizeof(tmp) ||
	    !(f = fopen(tmp, "we")))
		return -errno;
	fprintf(f, "seq %" PRIu64 "\nerr %d\ndeleted %" PRIu64 "\ndeleted_bytes %" PRIu64
		"\nmarked %" PRIu64 "\ntouched %" PRIu64 "\nkept_touched %" PRIu64
		"\nrows %" PRIu64 "\nlive_bytes %" PRIu64 "\nroots %" PRIu64 "\npages %" PRIu64
		"\nstates %" PRIu64 "\npins %" PRIu64 "\nunreadable %" PRIu64 "\ngen %" PRId64
		"\nseconds %.3f\n", r->seq, r->err, r->s.deleted, r->s.deleted_bytes, r->s.marked,
		r->s.touched, r->s.kept_touched, r->s.rows, r->s.live_bytes, r->roots, r->pages,
		r->states, r->pins, r->unreadable, r->s.gen, r->seconds);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	return rename(tmp, path) < 0 ? -errno : 0;
}

/* sweep.last into r; -ENOENT when there is none. */
static int result_read(const char *storedir, struct sweep_result *r)
{
	char path[PATH_MAX], key[32];
	unsigned long long v;
	double d;
	FILE *f;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/sweep.last", storedir);
	if (!(f = fopen(path, "re")))
		return -errno;
	while (fscanf(f, "%31s", key) == 1) {
		if (!strcmp(key, "seconds") || !strcmp(key, "err") || !strcmp(key, "gen")) {
			if (fscanf(f, "%lf", &d) != 1)
				break;
			if (!strcmp(key, "seconds"))
				r->seconds = d;
			else if (!strcmp(key, "err"))
				r->err = (int)d;
			else
				r->s.gen = (int64_t)d;
			continue;
		}
		if (fscanf(f, "%llu", &v) != 1)
			break;
		uint64_t *fld = !strcmp(key, "seq") ? &r->seq : !strcmp(key, "deleted") ? &r->s.deleted :
			!strcmp(key, "deleted_bytes") ? &r->s.deleted_bytes :
			!strcmp(key, "marked") ? &r->s.marked : !strcmp(key, "touched") ? &r->s.touched :
			!strcmp(key, "kept_touched") ? &r->s.kept_touched : !strcmp(key, "rows") ? &r->s.rows :
			!strcmp(key, "live_bytes") ? &r->s.live_bytes : !strcmp(key, "roots") ? &r->roots :
			!strcmp(key, "pages") ? &r->pages : !strcmp(key, "states") ? &r->states :
			!strcmp(key, "pins") ? &r->pins : !strcmp(key, "unreadable") ? &r->unreadable : NULL;
		if (fld)
			*fld = v;
	}
	fclose(f);
	return 0;
}

bool sweep_server_running(const char *storedir)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/chunks.db", storedir);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)   /* the server holds it in exclusive mode (store.c) */
		rc = sqlite3_exec(db, "SELECT 1 FROM meta LIMIT 1", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

int sweep_request(const char *storedir, int timeout_s, struct sweep_result *out)
{
	char path[PATH_MAX];
	int64_t until = mono_ns() + (int64_t)timeout_s * 1000000000;
	uint64_t seq0;
	int fd;

	seq0 = result_read(storedir, out) == 0 ? out->seq : 0;
	snprintf(path, sizeof(path), "%s/sweep.request", storedir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -errno;
	close(fd);
	while (mono_ns() < until) {
		if (result_read(storedir, out) == 0 && out->seq > seq0)
			return 0;
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

void sweep_print(const struct sweep_result *r, int json)
{
	if (json) {
		printf("{\"deleted\":%" PRIu64 ",\"deleted_bytes\":%" PRIu64 ",\"marked\":%" PRIu64
		       ",\"touched\":%" PRIu64 ",\"kept_touched\":%" PRIu64 ",\"live_bytes\":%" PRIu64
		       ",\"roots\":%" PRIu64 ",\"states\":%" PRIu64 ",\"pins\":%" PRIu64
		       ",\"gen\":%" PRId64 ",\"seconds\":%.3f}\n", r->s.deleted, r->s.deleted_bytes,
		       r->s.marked, r->s.touched, r->s.kept_touched, r->s.live_bytes, r->roots,
		       r->states, r->pins, r->s.gen, r->seconds);
		return;
	}
	printf("swept: %" PRIu64 " chunks deleted (%" PRIu64 " bytes), %" PRIu64 " marked from %"
	       PRIu64 " versions and %" PRIu64 " upload states, %" PRIu64
	       " kept for uploads running meanwhile; %.1f s\n", r->s.deleted, r->s.deleted_bytes,
	       r->s.marked, r->roots, r->states, r->s.kept_touched, r->seconds);
}

/* ------------------------------------------------------------- thread */

struct sweeper {
	struct store *st;
	struct index *idx;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;
	bool continuous;
	int64_t dropped;         /* index rows missing at the last sweep */
	int64_t next_ns;         /* no automatic sweep before */
	int64_t check_ns;        /* next look at the index */
	uint64_t seq;
};

static int64_t env_s(const char *name, int64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	long long s;

	if (!v || !*v || !getenv("VIGIL_TEST_HOOKS"))
		return dflt;
	s = strtoll(v, &end, 10);
	return *end || s < 0 ? dflt : s;
}

/* Versions dropped since the last sweep (and the interval passed), or a
 * request: whether to sweep now. */
static bool sweep_due(struct sweeper *sw, const char *req)
{
	int64_t rows, max_id, now = mono_ns();

	if (unlink(req) == 0 || sw->continuous)
		return true;
	if (now < sw->check_ns)
		return false;
	sw->check_ns = now + env_s("VIGIL_SWEEP_CHECK_S", SWEEP_CHECK_S) * 1000000000;
	if (now < sw->next_ns || index_version_span(sw->idx, &rows, &max_id) < 0)
		return false;
	return max_id - rows > sw->dropped;
}

static void sweep_once(struct sweeper *sw)
{
	struct sweep_result res;
	int64_t rows = 0, max_id = 0;
	int r;

	(void)index_version_span(sw->idx, &rows, &max_id);
	r = sweep_run(sw->st, sw->idx, SWEEP_WAIT_MS, &res);
	res.seq = ++sw->seq;
	if (r == 0)
		sw->dropped = max_id - rows;
	sw->next_ns = mono_ns() + env_s("VIGIL_SWEEP_INTERVAL_S", SWEEP_INTERVAL_S) * 1000000000;
	if (r < 0)
		log_errno(r, "%s: sweep", store_dir(sw->st));
	else if (res.s.deleted)
		log_info("%s: sweep deleted %" PRIu64 " chunks (%" PRIu64 " bytes) in %.1f s",
			 store_dir(sw->st), res.s.deleted, res.s.deleted_bytes, res.seconds);
	if ((r = result_write(store_dir(sw->st), &res)) < 0)
		log_errno(r, "%s/sweep.last", store_dir(sw->st));
}

static void *sweeper_main(void *arg)
{
	struct sweeper *sw = arg;
	char req[PATH_MAX];

	snprintf(req, sizeof(req), "%s/sweep.request", store_dir(sw->st));
	pthread_mutex_lock(&sw->mu);
	while (!sw->quit) {
		pthread_mutex_unlock(&sw->mu);
		if (sweep_due(sw, req))
			sweep_once(sw);
		pthread_mutex_lock(&sw->mu);
		if (!sw->quit && !sw->continuous) {
			struct timespec until = deadline_in_ms(200);

			pthread_cond_timedwait(&sw->cv, &sw->mu, &until);
		}
	}
	pthread_mutex_unlock(&sw->mu);
	return NULL;
}

struct sweeper *sweeper_start(struct store *st, struct index *idx)
{
	struct sweeper *sw = calloc(1, sizeof(*sw));
	struct sweep_result last;

	if (!sw)
		return NULL;
	sw->st = st;
	sw->idx = idx;
	sw->continuous = env_s("VIGIL_SWEEP_CONTINUOUS", 0) > 0;
	sw->next_ns = mono_ns() + env_s("VIGIL_SWEEP_INTERVAL_S", SWEEP_INTERVAL_S) * 1000000000;
	if (result_read(store_dir(st), &last) == 0)
		sw->seq = last.seq;
	pthread_mutex_init(&sw->mu, NULL);
	pthread_cond_init(&sw->cv, NULL);
	if (pthread_create(&sw->th, NULL, sweeper_main, sw) != 0) {
		pthread_mutex_destroy(&sw->mu);
		pthread_cond_destroy(&sw->cv);
		free(sw);
		return NULL;
	}
	return sw;
}

void sweeper_stop(struct sweeper *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->quit = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	pthread_join(sw->th, NULL);
	pthread_mutex_destroy(&sw->mu);
	pthread_cond_destroy(&sw->cv);
	free(sw);
}
