/* ship.c — from a queued path to the smallest PUT that brings the server
 * up to date, and the connection it travels on. */
#include "daemon/ship.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/random.h>

#include <openssl/evp.h>

#include "common/chunktree.h"
#include "common/client.h"
#include "common/clock.h"
#include "common/log.h"
#include "daemon/capture.h"
#include "daemon/putio.h"
#include "daemon/ship_int.h"
#include "daemon/xattrs.h"

static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	/* Commands from the server are handled by a later part; refuse. */
	mux_stream_close(s);
}

static void on_conn_close(struct mux *m, void *arg);

static const struct mux_ops dev_ops = { .on_stream = on_stream, .on_close = on_conn_close };

/* One TLS connection and the shippers holding it: it is freed by the last
 * one to let go, so a shipper that drops a broken connection never frees
 * it under another one's stream. */
struct muxref {
	struct mux *m;
	int refs;
};

/* A connection several shippers share: each of their requests is a stream
 * of it (the server allows a device 16 at once per connection). */
struct shipconn {
	pthread_mutex_t mu;
	struct muxref *cur;          /* the connection new requests use, or NULL */
	void (*closed)(void *arg);   /* ship_opts.conn_closed: set once, before any connect */
	void *closed_arg;
};

/* The mux's argument is the shipconn, which outlives every mux it makes
 * (shipconn_free frees the last one), not a shipper. */
static void on_conn_close(struct mux *m, void *arg)
{
	struct shipconn *c = arg;

	(void)m;
	if (c->closed)
		c->closed(c->closed_arg);
}

int shipconn_new(struct shipconn **out)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return -ENOMEM;
	pthread_mutex_init(&(*out)->mu, NULL);
	return 0;
}

/* Drops one reference (with c->mu held); the mux to free, or NULL. */
static struct mux *muxref_put(struct muxref *r)
{
	struct mux *m = NULL;

	if (r && --r->refs == 0) {
		m = r->m;
		free(r);
	}
	return m;
}

void shipconn_free(struct shipconn *c)
{
	if (!c)
		return;
	mux_free(muxref_put(c->cur));
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int shipper_new(const struct ship_opts *o, struct shipper **out)
{
	struct shipper *sh;

	*out = NULL;
	if (!(sh = calloc(1, sizeof(*sh))))
		return -ENOMEM;
	sh->o = *o;
	sh->ps = (struct pathstate){ .db = o->db, .statedir = o->statedir, .rt = o->rt };
	backoff_init(&sh->bo, SHIP_BACKOFF_MIN, SHIP_BACKOFF_MAX);
	rootwalk_roots_init(&sh->roots, o->roots, o->nroots);
	snprintf(sh->tmpdir, sizeof(sh->tmpdir), "%s/tmp", o->statedir);
	if (!o->conn && shipconn_new(&sh->o.conn) == 0)
		sh->own_conn = true;
	if (sh->o.conn) {
		sh->o.conn->closed = o->conn_closed;
		sh->o.conn->closed_arg = o->conn_closed_arg;
	}
	if (!sh->o.conn || !(sh->cur = malloc(sizeof(*sh->cur))) ||
	    !(sh->old = malloc(sizeof(*sh->old))) ||
	    !(sh->put = malloc(sizeof(*sh->put))) || !(sh->rs = malloc(sizeof(*sh->rs)))) {
		shipper_free(sh);
		return -ENOMEM;
	}
	statedb_kv_get(o->db, "last_capture_ns", &sh->last_capture_ns);
	/* without it, no chunk lists (shipsink.c): they need fingerprints */
	sh->fp_ok = chunklist_fp_secret(o->db, sh->fp_secret) == 0;
	*out = sh;
	return 0;
}

void shipper_free(struct shipper *sh)
{
	if (!sh)
		return;
	ship_batch_free(sh->batch);   /* its stream, before the connection goes */
	sh->batch = NULL;
	if (sh->o.conn)
		ship_disconnect(sh);
	if (sh->own_conn)
		shipconn_free(sh->o.conn);
	rootwalk_roots_end(&sh->roots);
	free(sh->cur);
	free(sh->old);
	free(sh->put);
	free(sh->rs);
	free(sh);
}

bool ship_connected(struct shipper *sh)
{
	return sh->mux && mux_alive(sh->mux);
}

/* This shipper lets go of its connection; the next request connects
 * again.  If it is the shared one, new requests of the others use a new
 * connection too; streams they have open on it run on until they end. */
void ship_disconnect(struct shipper *sh)
{
	struct shipconn *c = sh->o.conn;
	struct mux *m1 = NULL, *m2;

	if (!sh->mr)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->cur == sh->mr) {
		m1 = muxref_put(c->cur);
		c->cur = NULL;
	}
	m2 = muxref_put(sh->mr);
	pthread_mutex_unlock(&c->mu);
	sh->mr = NULL;
	sh->mux = NULL;
	mux_free(m1);
	mux_free(m2);
}

/* With c->mu held: the shared connection, made if there is none alive. */
static int conn_get_locked(struct shipper *sh, char *err, size_t errlen)
{
	struct shipconn *c = sh->o.conn;
	struct muxref *r;
	int rc;

	if (c->cur && mux_alive(c->cur->m))
		return 0;
	if (c->cur) {
		struct mux *m = muxref_put(c->cur);

		c->cur = NULL;
		mux_free(m);   /* no holder left: its threads are done with it */
	}
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	ctr_add(sh->o.ctr, CTR_CONNECTS, 1);
	rc = client_connect(sh->o.bundle, sh->o.server, SHIP_CONNECT_MS, &dev_ops, c,
			    &r->m, err, errlen);
	if (rc < 0) {
		free(r);
		return rc;
	}
	mux_set_timeouts(r->m, MUX_DEVICE_SELF_PING_MS, MUX_DEVICE_SELF_DEAD_MS);   /* mux.h */
	r->refs = 1;
	c->cur = r;
	log_info("connected to %s", sh->o.server ? sh->o.server : sh->o.bundle->server);
	return 0;
}

int ship_connect(struct shipper *sh)
{
	struct shipconn *c = sh->o.conn;
	char err[256] = "";
	int rc;

	if (ship_connected(sh))
		return 0;
	ship_disconnect(sh);
	pthread_mutex_lock(&c->mu);
	if ((rc = conn_get_locked(sh, err, sizeof(err))) == 0) {
		sh->mr = c->cur;
		sh->mr->refs++;
		sh->mux = sh->mr->m;
	}
	pthread_mutex_unlock(&c->mu);
	if (rc < 0) {
		if (strcmp(err, sh->conn_err) != 0)
			log_warnx("cannot reach the server: %s (retrying)", err);
		snprintf(sh->conn_err, sizeof(sh->conn_err), "%s", err);
		snprintf(sh->last_err, sizeof(sh->last_err), "cannot reach the server: %s", err);
		return rc;
	}
	sh->conn_err[0] = '\0';
	return 0;
}

int ship_backoff_ms(struct shipper *sh)
{
	return backoff_next(&sh->bo);
}

void ship_backoff_reset(struct shipper *sh)
{
	backoff_reset(&sh->bo);
}

const char *ship_last_error(struct shipper *sh)
{
	return sh->last_err;
}

int64_t ship_next_capture(struct shipper *sh, int64_t t)
{
	int64_t v;

	/* one sequence for every shipper: two of them never send the same
	 * time, also while the clock is behind the last capture (after a
	 * jump back every version would otherwise get last + 1 from each) */
	if (statedb_kv_raise(sh->o.db, "last_capture_ns", t, &v) == 0) {
		sh->last_capture_ns = v;
		return v;
	}
	if (t <= sh->last_capture_ns)
		t = sh->last_capture_ns + 1;
	sh->last_capture_ns = t;
	return t;
}

/* The entry of a new version from a stat. */
void ship_entry_from_stat(struct vg_entry *e, const char *path, const struct stat *st)
{
	/* not the 16 KiB of xattr bytes: only e->xattr_len of them are ever
	 * read, and untouched they take no memory in shippers that send none */
	memset(e, 0, offsetof(struct vg_entry, xattrs));
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->type = (uint8_t)scan_type(st->st_mode);
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size;
	e->mtime_ns = scan_ts(&st->st_mtim);
}

void ship_row_from(struct shipped *r, const struct vg_entry *e, const struct stat *st,
		     uint64_t version)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", e->path);
	scan_fill_stat(r, st);
	snprintf(r->link, sizeof(r->link), "%s", e->link);
	r->version = version;
	memcpy(r->sha256, e->sha256, 32);
	memcpy(r->root, e->tree_root, 32);
	r->capture_ns = e->capture_ns;
}

void ship_token_for(const struct vg_entry *e, uint8_t token[16])
{
	uint8_t d[32];
	unsigned n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	memset(token, 0, 16);
	if (!md || e->size < SHIP_RESUME_MIN) {
		/* a small body is sent again whole: cheaper than the server
		 * keeping (and removing) an upload state for every file */
		EVP_MD_CTX_free(md);
		return;
	}
	/* Same path and content => same token, so a retry after a lost
	 * connection or a restart resumes the server's partial upload. */
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, e->path, strlen(e->path) + 1);
	EVP_DigestUpdate(md, e->sha256, 32);   /* zeros when the read computed none: */
	EVP_DigestUpdate(md, e->tree_root, 32);   /* the root names the content */
	EVP_DigestUpdate(md, &e->size, sizeof(e->size));
	if (EVP_DigestFinal_ex(md, d, &n) == 1)
		memcpy(token, d, 16);
	EVP_MD_CTX_free(md);
}

/* Names the body of p for resuming and for bytes_resent.  WHOLE by its
 * token (path and content).  DELTA and RANGES by a hash of what the body
 * is for and of the body itself: the same token then always means the
 * same bytes, whether or not a retry builds the delta the same way (one
 * that does not starts a new upload).  They carry it as their token when
 * the body is at least SHIP_RESUME_MIN, so the server stages it. */
static void ship_body_id(struct vg_put *p, struct put_body *body)
{
	static const uint8_t zero[16];
	uint8_t d[32], *buf = NULL;
	EVP_MD_CTX *md = NULL;
	uint64_t off = 0;
	unsigned n = 0;
	ssize_t k;

	body->has_id = false;
	if (p->body == PUT_WHOLE) {
		memcpy(body->id, p->token, 16);
		body->has_id = memcmp(p->token, zero, 16) != 0;
		return;
	}
	if ((p->body != PUT_DELTA && p->body != PUT_RANGES) || body->fd < 0 ||
	    !(md = EVP_MD_CTX_new()) || !(buf = malloc(CAPTURE_BUF)))
		goto out;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, p->e.path, strlen(p->e.path) + 1);
	EVP_DigestUpdate(md, &p->body, sizeof(p->body));
	EVP_DigestUpdate(md, &p->base_version, sizeof(p->base_version));
	EVP_DigestUpdate(md, &p->e.size, sizeof(p->e.size));
	EVP_DigestUpdate(md, p->e.tree_root, 32);
	EVP_DigestUpdate(md, &body->size, sizeof(body->size));
	while (off < body->size) {
		k = pread(body->fd, buf, CAPTURE_BUF, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto out;   /* unnamed: sent, but neither resumed nor counted */
		EVP_DigestUpdate(md, buf, (size_t)k);
		off += (uint64_t)k;
	}
	if (EVP_DigestFinal_ex(md, d, &n) != 1)
		goto out;
	memcpy(body->id, d, 16);
	body->has_id = true;
	if (body->size >= SHIP_RESUME_MIN)
		memcpy(p->token, d, 16);
out:
	free(buf);
	EVP_MD_CTX_free(md);
}

/* Every PUT that carries metadata carries the path's xattrs as they are
 * now (a setxattr alone moves ctime, which queues a META).  -EAGAIN when
 * the path went away; other read errors ship the version without them. */
static int put_xattrs(struct shipper *sh)
{
	struct vg_entry *e = &sh->put->e;
	unsigned skipped = 0;
	int rc;

	if (sh->put->body == PUT_DELETE) {
		e->xattr_len = 0;
		return 0;
	}
	rc = xattrs_fill(e, e->path, &skipped);
	if (skipped)
		ctr_add(sh->o.ctr, CTR_XATTR_SKIPPED, skipped);
	if (rc == -ENOENT || rc == -ENOTDIR)
		return -EAGAIN;
	if (rc < 0)
		log_errno(rc, "%s: reading extended attributes (shipped without them)", e->path);
	return 0;
}

static enum ctr put_counter(uint8_t body)
{
	switch (body) {
	case PUT_DELTA:  return CTR_SHIPPED_DELTA;
	case PUT_RANGES: return CTR_SHIPPED_RANGES;
	case PUT_META:   return CTR_SHIPPED_META;
	case PUT_DELETE: return CTR_SHIPPED_DELETE;
	case PUT_RENAME: return CTR_SHIPPED_RENAME;
	default:         return CTR_SHIPPED_WHOLE;
	}
}

/* Before sh->put goes out: connected, its xattrs, its body named. */
static int put_prepare(struct shipper *sh, struct put_body *body)
{
	int rc;

	if (!ship_connected(sh))
		return -ECONNRESET;
	if ((rc = put_xattrs(sh)) < 0)
		return rc;
	ship_body_id(sh->put, body);
	return 0;
}

/* After sh->put went (rc: how): counters, the error logged and mapped. */
static int put_done(struct shipper *sh, struct put_body *body, int rc, const char *err,
		    const uint64_t *version)
{
	static const char *const kind[] = { "?", "whole", "delta", "ranges", "meta", "delete", "rename" };

	ctr_add(sh->o.ctr, CTR_BYTES_READ, body->bytes_read);
	ctr_add(sh->o.ctr, CTR_BYTES_SENT, body->bytes_sent);
	if (body->has_id && sh->o.resent)
		ctr_add(sh->o.ctr, CTR_BYTES_RESENT,
			resent_note(sh->o.resent, body->id, body->resume_off,
				    body->resume_off + body->bytes_sent, rc == 0));
	if (rc == 0) {
		ctr_add(sh->o.ctr, CTR_SHIPPED, 1);
		ctr_add(sh->o.ctr, put_counter(sh->put->body), 1);
		log_debug("%s: %s -> version %llu", sh->put->e.path,
			  kind[sh->put->body <= PUT_RENAME ? sh->put->body : 0],
			  (unsigned long long)*version);
		return 0;
	}
	if (rc == -ECONNRESET || rc == -ETIMEDOUT)
		snprintf(sh->last_err, sizeof(sh->last_err), "connection lost");
	else if (rc == -ENOSPC)
		snprintf(sh->last_err, sizeof(sh->last_err), "server out of space: %s", err);
	else if (rc == -EDQUOT)
		snprintf(sh->last_err, sizeof(sh->last_err), "%s", err[0] ? err :
			 "over this device's quota on the server");
	else if (rc != -EAGAIN && rc != -ESTALE)
		snprintf(sh->last_err, sizeof(sh->last_err), "%s: %s%s%s", sh->put->e.path,
			 strerror(-rc), err[0] ? ": " : "", err);
	if (rc == -ENOSPC || rc == -EDQUOT || (rc != -EAGAIN && rc != -ESTALE && rc != -ECONNRESET &&
			      rc != -ETIMEDOUT)) {
		ctr_add(sh->o.ctr, CTR_ERRORS, 1);
		log_warnx("%s", sh->last_err);
	}
	if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EPROTO)
		ship_disconnect(sh);
	return rc;
}

/* Sends sh->put; logs and maps failures.  On 0, *version is set. */
int ship_send_put(struct shipper *sh, struct put_body *body, uint64_t *version)
{
	struct put_body none = { .fd = -1 };
	char err[VG_ERRMSG_MAX] = "";
	int rc;

	if (!body)
		body = &none;
	if ((rc = put_prepare(sh, body)) < 0)
		return rc;
	rc = putio_send(sh->mux, sh->put, body, SHIP_REPLY_MS, version, err, sizeof(err));
	return put_done(sh, body, rc, err, version);
}

int ship_stream_open(struct shipper *sh, struct put_body *body, struct put_stream **ps)
{
	char err[VG_ERRMSG_MAX] = "";
	int rc;

	*ps = NULL;
	if ((rc = put_prepare(sh, body)) < 0)
		return rc;
	rc = putio_stream_open(sh->mux, sh->put, body, SHIP_REPLY_MS, ps, err, sizeof(err));
	return rc < 0 ? put_done(sh, body, rc, err, NULL) : 0;
}

int ship_stream_end(struct shipper *sh, struct put_body *body, struct put_stream *ps, int rc,
		    const struct putio_trailer *t, struct vg_put_stored *st, int *list_rc)
{
	char err[VG_ERRMSG_MAX] = "";

	memset(st, 0, sizeof(*st));
	*list_rc = -ENOENT;
	if (rc == -EBUSY) {      /* the file moved under the read: not a send failure */
		putio_stream_free(ps);   /* abandons it */
		put_done(sh, body, -EAGAIN, err, NULL);
		return rc;
	}
	if (rc == 0)
		rc = putio_stream_finish(ps, t, st, list_rc, err, sizeof(err));
	ctr_add(sh->o.ctr, CTR_BYTES_RECV, body->bytes_received);
	putio_stream_free(ps);   /* abandons an unfinished one */
	return put_done(sh, body, rc, err, &st->version);
}

static void stream_token_nonce(struct shipper *sh, int64_t *nonce)
{
	if (statedb_kv_get(sh->o.db, "upload_nonce", nonce) == 0 && *nonce)
		return;
	if (getrandom(nonce, sizeof(*nonce), 0) != sizeof(*nonce) || !*nonce)
		*nonce = (int64_t)real_ns() ^ getpid();
	(void)statedb_kv_set(sh->o.db, "upload_nonce", *nonce);
}

void ship_stream_token(struct shipper *sh, const struct vg_entry *e, const struct stat *st,
		       uint8_t token[16])
{
	int64_t f[6] = { (int64_t)st->st_dev, (int64_t)st->st_ino, (int64_t)e->size,
			 scan_ts(&st->st_mtim), scan_ts(&st->st_ctim), 0 };
	uint8_t d[32];
	unsigned n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	memset(token, 0, 16);
	if (!md)
		return;
	stream_token_nonce(sh, &f[5]);
	/* The same file state (nothing moves ctime back) gets the same token,
	 * so a retry after a cut or a restart resumes the server's partial
	 * upload; the state directory's nonce keeps another state directory
	 * (a wiped one, another device) from naming it. */
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, "vigil-stream-1", 15);
	EVP_DigestUpdate(md, e->path, strlen(e->path) + 1);
	EVP_DigestUpdate(md, f, sizeof(f));
	if (EVP_DigestFinal_ex(md, d, &n) == 1)
		memcpy(token, d, 16);
	EVP_MD_CTX_free(md);
}

/* The server's latest of path differs from what we think: learn it.  A
 * live version is re-learnt by adoption; a DELETE takes its number. */
static int fix_stale(struct shipper *sh, const char *path)
{
	struct vg_entry *e = malloc(sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	rc = putio_latest(sh->mux, path, e, 30000);
	if (rc == -ENOENT || (rc == 0 && (e->deleted || sh->put->body != PUT_DELETE))) {
		/* forget what we shipped: the next look compares with the
		 * server's version and adopts it, or sends META or a delta
		 * against it (shipadopt.c); with none there, it
		 * ships as new */
		pathstate_forget(&sh->ps, path);
		rc = -EAGAIN;
	} else if (rc == 0 && statedb_get(sh->o.db, path, sh->cur) == 0) {
		/* our DELETE was stale: take the server's version as the base */
		if (memcmp(e->tree_root, sh->cur->root, 32) != 0 || e->type != sh->cur->type) {
			pathstate_drop(&sh->ps, path, PS_CONTENT);
			memcpy(sh->cur->sha256, e->sha256, 32);
			memcpy(sh->cur->root, e->tree_root, 32);
			sh->cur->type = e->type;
			sh->cur->size = e->size;
			sh->cur->mtime_ns = 0;   /* forces a fresh look */
		}
		sh->cur->version = e->version;
		pathstate_commit(&sh->ps, sh->cur, NULL);
		rc = -EAGAIN;
	} else if (rc == 0) {
		rc = -EAGAIN;
	}
	free(e);
	if (rc != -EAGAIN && rc < 0)
		log_errno(rc, "%s: asking the server for its latest version", path);
	return rc;
}

int ship_finish_put(struct shipper *sh, int rc, const char *path)
{
	if (rc == -ESTALE)
		return fix_stale(sh, path);
	if (rc == -ENOENT && sh->put->body == PUT_RENAME) {
		/* the source has no live version on the server: forget it,
		 * the next look ships the new path whole */
		pathstate_forget(&sh->ps, sh->put->from);
		return -EAGAIN;
	}
	if (rc == -EBADMSG && sh->put->body == PUT_DELTA) {
		/* the next try sends it whole (not a delta against the
		 * server's list, which might fail the same way) */
		pathstate_drop(&sh->ps, path, PS_CHUNKS);
		snprintf(sh->no_delta, sizeof(sh->no_delta), "%s", path);
		return -EAGAIN;
	}
	if (rc == -EBADMSG && sh->put->body == PUT_RANGES) {
		/* the server's rebuild did not reach our root: never trust this
		 * list again; the next try reads the file (delta or whole) */
		log_warnx("%s: ranges did not verify on the server; sending it by delta", path);
		pathstate_drop(&sh->ps, path, PS_CHUNKS | PS_RANGES);
		return -EAGAIN;
	}
	return rc;
}


int ship_commit(struct shipper *sh, const struct qitem *q, const struct stat *st,
		uint64_t version)
{
	ship_row_from(sh->old, &sh->put->e, st, version);
	return pathstate_commit(&sh->ps, sh->old, q);
}

int ship_keep(struct shipper *sh, const struct qitem *q, const struct stat *st,
	      const struct shipped *base, int64_t capture_ns)
{
	struct shipped *r = sh->old;

	/* built from q and base, never from sh->put: nothing was sent, so
	 * sh->put still holds the last PUT's entry, another path's */
	if (r != base)
		memcpy(r, base, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", q->path);
	scan_fill_stat(r, st);
	r->capture_ns = capture_ns;
	return pathstate_commit(&sh->ps, r, q);
}

/* A request/reply on the shipper's connection ended with rc: a lost
 * connection is dropped (the next call reconnects). */
static int after_rpc(struct shipper *sh, int rc, const char *what)
{
	if (rc == -ECONNRESET || rc == -ETIMEDOUT)
		ship_disconnect(sh);
	else if (rc < 0)
		log_debug("%s: %s", what, strerror(-rc));
	return rc;
}

int ship_report(struct shipper *sh, const char *tracker)
{
	struct vg_report *rep;
	int rc;

	if (!ship_connected(sh))
		return -ECONNRESET;
	if (!(rep = calloc(1, sizeof(*rep))))
		return -ENOMEM;
	statedb_queue_stats(sh->o.db, &rep->backlog_files, &rep->backlog_oldest_ns);
	rep->at_ns = real_ns();
	snprintf(rep->tracker, sizeof(rep->tracker), "%s", tracker ? tracker : "");
	ctr_report(sh->o.ctr, rep);
	rc = putio_report(sh->mux, rep, 10000);
	free(rep);
	return after_rpc(sh, rc, "report");
}

int ship_sim(struct shipper *sh, const struct vg_sim *sim)
{
	if (!ship_connected(sh))
		return -ECONNRESET;
	return after_rpc(sh, putio_sim(sh->mux, sim, 10000), "sim report");
}
