/* shipbatch.c — small new files in one batched put (MSG_DEV_PUTBATCH,
 * docs/protocol.md "Batched puts").  A queued path that ship_plan would
 * send to adoption (no shipped row), a regular file under SHIP_BATCH_FILE_MAX,
 * is read at once (one pass: hash and bytes) and goes out on the shipper's
 * open batch stream marked "new path", without asking LATEST first: the
 * server adopts a latest version with the same content and metadata itself
 * (index_commit_batch), or stores a new version.  The batch ends when it
 * is full or the worker has no more for it; one answer gives every item's
 * version or errno, and one state-db transaction records the shipped rows
 * and clears their queue entries.  Anything else (bigger, moving, a row, a
 * server without batches) takes ship_item's path. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/ship_int.h"
#include "daemon/xattrs.h"

#define BATCH_REPLY_MS 600000

/* What an item's answer needs; small, as a batch holds many. */
struct bitem {
	char *path;
	uint64_t gen, size;
	int attempts;
	struct stat st;
	uint8_t sha256[32], root[32];
	int64_t capture_ns;
};

struct shipbatch {
	struct put_batch *pb;        /* the open stream, NULL until the first item */
	int send_rc;                 /* a send failed: every item fails with it */
	struct bitem it[SHIP_BATCH_ITEMS];
	size_t n;
	uint64_t bytes;
	int64_t next_capture, capture_end;   /* capture times reserved */
	uint8_t body[SHIP_BATCH_FILE_MAX];
	struct stat wst;             /* ... the stat of what was read */
};

int ship_batch_new(struct shipbatch **out)
{
	return (*out = calloc(1, sizeof(**out))) ? 0 : -ENOMEM;
}

void ship_batch_free(struct shipbatch *b)
{
	if (!b)
		return;
	putio_batch_free(b->pb);
	for (size_t i = 0; i < b->n; i++)
		free(b->it[i].path);
	free(b);
}

/* A shipper's batch (48 KiB: the items and a file's bytes) exists only
 * while it is open, so at most SHIP_BATCHES of them take memory, not one
 * per shipper (docs/performance.md, "vigild's memory"). */
bool ship_batch_full(const struct shipper *sh)
{
	const struct shipbatch *b = sh->batch;

	return b && (b->n >= SHIP_BATCH_ITEMS || b->bytes >= SHIP_BATCH_BYTES || b->send_rc);
}

size_t ship_batch_count(const struct shipper *sh)
{
	return sh->batch ? sh->batch->n : 0;
}

/* ship_capture_stream's hooks: the whole file into b->body. */
struct grab {
	struct shipbatch *b;
	uint64_t got;
};

static int grab_begin(void *arg, const struct capture *c)
{
	return c->size < SHIP_BATCH_FILE_MAX ? 0 : -ENOTSUP;
}

static int grab_out(void *arg, const uint8_t *p, size_t n)
{
	struct grab *g = arg;

	if (n > SHIP_BATCH_FILE_MAX - g->got)
		return -ENOTSUP;
	memcpy(g->b->body + g->got, p, n);
	g->got += n;
	return 0;
}

/* One capture time per item, reserved SHIP_BATCH_ITEMS at a time (one
 * state-db write per batch, not per file); kept increasing as
 * ship_next_capture keeps them. */
static int64_t batch_capture(struct shipper *sh, struct shipbatch *b)
{
	int64_t first;

	if (b->next_capture >= b->capture_end) {
		if (statedb_kv_raise_by(sh->o.db, "last_capture_ns", real_ns(), SHIP_BATCH_ITEMS,
					&first) < 0)
			return ship_next_capture(sh, real_ns());
		b->next_capture = first;
		b->capture_end = first + SHIP_BATCH_ITEMS;
	}
	sh->last_capture_ns = b->next_capture;
	return b->next_capture++;
}

/* Reads q's file into the item; 0, 1 (not for a batch), or -errno. */
static int batch_read(struct shipper *sh, struct shipbatch *b, const struct qitem *q,
		      const struct stat *st)
{
	struct vg_entry *e = &sh->put->e;
	struct ship_sink s = { .dfd = -1 };
	struct capture cap = { .fd = -1 };
	struct grab g = { .b = b };
	unsigned skipped = 0;
	int rc;

	ship_sink_open(sh, q->path, st, NULL, false, &s);
	s.no_sha256 = true;   /* the tree root alone: the server computes the sha256 */
	s.begin = grab_begin;
	s.out = grab_out;
	s.out_arg = &g;
	rc = ship_capture_stream(sh, q->path, &s, &cap);
	if (rc == 0 && g.got != cap.size)
		rc = -ENOTSUP;
	if (rc == 0) {
		ship_entry_from_stat(e, q->path, &cap.st);
		sh->put->base_version = 0;
		memset(sh->put->token, 0, sizeof(sh->put->token));
		sh->put->from[0] = '\0';
		b->wst = cap.st;
		e->size = cap.size;
		memcpy(e->sha256, cap.sha256, 32);
		memcpy(e->tree_root, cap.root, 32);
		sh->put->body = PUT_WHOLE;
		/* through the open file (no lookup of the path again); a
		 * database's fd is its backup, whose xattrs are not the file's */
		rc = xattrs_fill_fd(e, cap.sqlite || cap.tmp[0] ? -1 : cap.fd, q->path, &skipped);
		if (skipped)
			ctr_add(sh->o.ctr, CTR_XATTR_SKIPPED, skipped);
		if (rc == -ENOENT || rc == -ENOTDIR)
			rc = -EAGAIN;
		else if (rc < 0)
			rc = 0;   /* shipped without them, as ship.c's put_xattrs */
	}
	capture_release(&cap);
	ship_sink_close(&s);
	if (rc == -EBUSY || rc == -ENOTSUP)
		return 1;   /* moving, or grew: the capture path handles it */
	return rc;
}

/* Sends the item read into sh->put/b->body and keeps what its answer needs
 * (path: its copy, owned by the batch from now on). */
static void batch_send(struct shipper *sh, struct shipbatch *b, const struct qitem *q,
		       char *path)
{
	struct vg_entry *e = &sh->put->e;
	struct bitem *it = &b->it[b->n++];
	int rc = b->send_rc;

	e->capture_ns = batch_capture(sh, b);
	if (!rc && !b->pb && (rc = ship_connected(sh) ? 0 : -ECONNRESET) == 0)
		rc = putio_batch_open(sh->mux, BATCH_REPLY_MS, &b->pb);
	if (!rc)
		rc = putio_batch_add(b->pb, sh->put, PUTBATCH_NEW_PATH, b->body);
	b->send_rc = rc;
	*it = (struct bitem){ .path = path, .gen = q->gen, .attempts = q->attempts,
			      .size = e->size, .st = b->wst, .capture_ns = e->capture_ns };
	memcpy(it->sha256, e->sha256, 32);
	memcpy(it->root, e->tree_root, 32);
	b->bytes += e->size;
	ctr_add(sh->o.ctr, CTR_BYTES_READ, e->size);
	if (!rc)
		ctr_add(sh->o.ctr, CTR_BYTES_SENT, e->size);
}

/* Whether q is one for a batch: 1 (st set), 0, or -errno. */
static int batch_fits(struct shipper *sh, const struct qitem *q, struct stat *st)
{
	struct ship_facts f;
	int rc;

	if (ship_batch_full(sh))
		return 0;
	if ((rc = ship_look(sh, q, st, sh->old, &f)) < 0)
		return rc;
	return ship_plan(&f) == SHIP_ADOPT && S_ISREG(st->st_mode) &&
	       st->st_size < SHIP_BATCH_FILE_MAX;
}

int ship_batch_fits(struct shipper *sh, const struct qitem *q)
{
	struct stat st;

	return batch_fits(sh, q, &st);
}

int ship_batch_add(struct shipper *sh, const struct qitem *q)
{
	struct stat st;
	char *path;
	int rc;

	if ((rc = batch_fits(sh, q, &st)) <= 0)
		return rc;
	if (!sh->batch && ship_batch_new(&sh->batch) < 0)
		return -ENOMEM;
	if (!(path = strdup(q->path)))
		return -ENOMEM;
	if (sh->o.rt)   /* as ship_content: writes from now on form the next set */
		rangetab_take(sh->o.rt, q->path, false, sh->rs);
	if ((rc = batch_read(sh, sh->batch, q, &st)) != 0) {
		free(path);
		if (sh->batch->n == 0) {   /* none open after all */
			ship_batch_free(sh->batch);
			sh->batch = NULL;
		}
		return rc == 1 ? 0 : rc;
	}
	batch_send(sh, sh->batch, q, path);
	return 1;
}

/* Records item i's stored (or adopted) version: its row, its queue entry
 * cleared (inside the caller's transaction). */
static int batch_record(struct shipper *sh, const struct bitem *it, uint64_t version,
			struct qitem *q)
{
	struct shipped *r = sh->old;

	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", it->path);
	scan_fill_stat(r, &it->st);
	r->version = version;
	memcpy(r->sha256, it->sha256, 32);
	memcpy(r->root, it->root, 32);
	r->capture_ns = it->capture_ns;
	snprintf(q->path, sizeof(q->path), "%s", it->path);
	q->gen = it->gen;
	return pathstate_commit(&sh->ps, r, q);
}

/* One item's outcome in counters and the log (as ship.c's put_done). */
static int batch_count(struct shipper *sh, const struct bitem *it,
		       const struct vg_batch_result *res)
{
	int rc = res->err ? -(int)res->err : 0;

	if (rc == 0) {
		ctr_add(sh->o.ctr, res->adopted ? CTR_ADOPTED : CTR_SHIPPED, 1);
		if (!res->adopted)
			ctr_add(sh->o.ctr, CTR_SHIPPED_WHOLE, 1);
		return 0;
	}
	snprintf(sh->last_err, sizeof(sh->last_err), "%s: %s", it->path, strerror(-rc));
	if (rc != -EAGAIN) {
		ctr_add(sh->o.ctr, CTR_ERRORS, 1);
		log_warnx("%s", sh->last_err);
	}
	return rc == -EBADMSG ? -EAGAIN : rc;   /* read again next time */
}

/* The answer applied: rows and queue in one transaction; rcs[i] set. */
static void batch_apply(struct shipper *sh, struct shipbatch *b,
			const struct vg_batch_result *res, int *rcs)
{
	struct qitem *q = malloc(sizeof(*q));
	int rc = q ? statedb_begin(sh->o.db) : -ENOMEM;

	for (size_t i = 0; i < b->n; i++) {
		rcs[i] = rc < 0 ? rc : batch_count(sh, &b->it[i], &res[i]);
		if (rcs[i] == 0)
			rcs[i] = batch_record(sh, &b->it[i], res[i].version, q);
	}
	if (rc == 0 && statedb_commit(sh->o.db) < 0)
		for (size_t i = 0; i < b->n; i++)
			rcs[i] = rcs[i] ? rcs[i] : -EIO;
	free(q);
}

int ship_batch_flush(struct shipper *sh, void (*done)(void *arg, const struct qitem *q, int rc),
		     void *arg)
{
	struct shipbatch *b = sh->batch;
	struct vg_batch_result *res;
	int *rcs, rc;
	char err[VG_ERRMSG_MAX] = "";
	struct qitem *q;

	if (!b)
		return 0;   /* nothing was added */
	res = calloc(SHIP_BATCH_ITEMS, sizeof(*res));
	rcs = calloc(SHIP_BATCH_ITEMS, sizeof(*rcs));
	q = malloc(sizeof(*q));
	rc = b->send_rc;
	if (!res || !rcs || !q)
		rc = -ENOMEM;
	if (!rc && b->pb)
		rc = putio_batch_finish(b->pb, res, (uint32_t)b->n, err, sizeof(err));
	else if (!rc)
		rc = -ECONNRESET;
	if (rc < 0 && rc != -ECONNRESET && rc != -ETIMEDOUT) {
		snprintf(sh->last_err, sizeof(sh->last_err), "batched put: %s%s%s",
			 strerror(-rc), err[0] ? ": " : "", err);
		log_warnx("%s", sh->last_err);
	}
	putio_batch_free(b->pb);   /* its stream, before the connection may go */
	b->pb = NULL;
	if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EPROTO)
		ship_disconnect(sh);
	if (rc == 0)
		batch_apply(sh, b, res, rcs);
	for (size_t i = 0; i < b->n; i++) {
		if (q) {
			memset(q, 0, sizeof(*q));
			snprintf(q->path, sizeof(q->path), "%s", b->it[i].path ? b->it[i].path : "");
			q->gen = b->it[i].gen;
			q->attempts = b->it[i].attempts;
			done(arg, q, rc < 0 ? rc : rcs ? rcs[i] : -ENOMEM);
		}
		free(b->it[i].path);
	}
	b->n = 0;   /* their paths are freed */
	ship_batch_free(b);   /* closed: its memory goes until the next one */
	sh->batch = NULL;
	free(res);
	free(rcs);
	free(q);
	return rc;
}
