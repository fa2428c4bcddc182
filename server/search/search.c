/* search.c — MSG_CTL_SEARCH: request decoding, hit batches, END; the
 * keyword index's start, stop and status for the server context. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"
#include "common/proto.h"
#include "common/tls.h"
#include "server/search/search.h"
#include "server/sweep.h"
#include "server/reply.h"
#include "server/srv.h"
#include "server/search/exproc.h"
#include "server/search/indexer.h"
#include "server/store/content.h"
#include "server/config.h"
#include "common/log.h"

struct hits_batch {
	struct reply_batch rb;
	struct index *idx;
	int64_t dev;
	bool all;
	struct buf one;
	struct index_version *v;   /* scratch for the latest check */
};

static int
hit_take(void *arg, const struct vg_hit *h)
{
	struct hits_batch *hb = arg;
	int r;

	if (!hb->all) {   /* only a path's current, live version */
		r = index_latest(hb->idx, hb->dev, h->path, INDEX_AT_LATEST, true, hb->v);
		if (r == -ENOENT || (r == 0 && (hb->v->e.deleted || hb->v->e.version != h->version)))
			return 0;
		if (r < 0)
			return r;
	} else {   /* retention may have dropped it since it was indexed */
		r = index_version_get(hb->idx, hb->dev, h->path, h->version, hb->v);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
	}
	buf_reset(&hb->one);
	proto_put_hit(&hb->one, h);
	if ((r = wire_buf_error(&hb->one)) < 0)
		return r;
	return reply_batch_put(&hb->rb, &hb->one);
}

static int
run(struct srv *srv, struct mux_stream *s, const struct ident *dev,
    char *const words[], size_t n, bool all)
{
	struct hits_batch hb = { .idx = srv->idx, .dev = dev->id, .all = all };
	int r;

	if ((hb.v = malloc(sizeof(*hb.v))) == NULL)
		return -ENOMEM;
	reply_batch_init(&hb.rb, s, MSG_HITS);
	buf_init(&hb.one, VG_MSG_MAX);
	r = textindex_search(srv->ti, dev->id, words, n, all, hit_take, &hb);
	if (r >= 0 && (r = reply_batch_flush(&hb.rb)) == 0)
		r = mux_send_end(s);
	reply_batch_free(&hb.rb);
	buf_free(&hb.one);
	free(hb.v);
	return r;
}

int
search_handle(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	char *words[VG_SEARCH_WORDS_MAX];
	struct vg_search_req *q;
	struct ident dev;
	uint32_t i;
	int r = 0;

	if ((q = malloc(sizeof(*q))) == NULL) {
		reply_error(s, ENOMEM, "out of memory");
		return 0;
	}
	proto_get_search_req(wr, q);
	if (wire_done(wr) < 0) {
		r = -EPROTO;
	} else if (q->nwords == 0 || q->nwords > TI_WORDS_MAX) {
		reply_error(s, EINVAL, "search takes 1 to %d words", TI_WORDS_MAX);
	} else if (srv_find_device(c->srv, s, q->dev, &dev) == 0) {
		for (i = 0; i < q->nwords; i++)
			words[i] = q->words[i];
		r = run(c->srv, s, &dev, words, q->nwords, q->all_versions != 0);
		if (r == -ENOENT)
			reply_error(s, ENOENT, "no device named %s", q->dev);
		else if (r < 0 && r != -ECONNRESET)
			reply_error(s, -r, "search: %s", strerror(-r));
		r = 0;
	}
	free(q);
	return r;
}

/* The indexer's devkey op: one row by id (it used to list every identity
 * for each version it indexed). */
int
search_devkey(void *idx, int64_t device_id, struct devkey *out)
{
	struct ident id;
	int r = index_ident_by_id(idx, device_id, &id);

	if (r == 0 && id.role != ROLE_DEVICE)
		r = -ENOENT;
	if (r == 0)
		memcpy(out->k, id.devkey, sizeof(out->k));
	memset(&id, 0, sizeof(id));
	return r;
}

/* ingest's on_commit: queue files (and deletions) for the indexer. */
static void search_on_commit(void *arg, int64_t dev, const struct index_version *v,
			     const void *bytes)
{
	struct srv *srv = arg;
	struct content_ref ref = { .size = v->e.size };

	if (!v->e.deleted && v->e.type != VG_FILE)
		return;
	memcpy(ref.root, v->content_root, sizeof(ref.root));
	indexer_enqueue_bytes(srv->ix, dev, v->e.path, v->e.version, v->e.capture_ns,
			      v->e.deleted ? NULL : &ref, bytes);
}

int search_status(struct srv *srv, int64_t device_id, struct vg_status *st)
{
	struct ti_stats ts;
	int r;

	if (srv->ti == NULL)
		return 0;
	if ((r = textindex_stats(srv->ti, device_id, &ts)) < 0)
		return r;
	st->index_files = ts.files;
	st->index_versions = ts.versions;
	st->index_unparsed = ts.malformed;
	st->index_path_only = ts.path_only;
	st->index_pending = ts.pending + (srv->ix ? indexer_backlog(srv->ix) : 0);
	return 0;
}

/* After an unclean stop, versions that were only in the lost in-memory
 * queue go back into the pending table. */
static int recover(struct srv *srv)
{
	char path[4096];
	int64_t n;

	if (textindex_was_clean(srv->ti))
		return 0;
	if (snprintf(path, sizeof(path), "%s/index.db", srv->cfg->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((n = textindex_recover(srv->ti, path)) < 0)
		return (int)n;
	if (n > 0)
		log_info("search index: %lld version(s) not indexed before an unclean stop, queued",
			 (long long)n);
	return 0;
}

/* Whether the index still holds a version search.db has a row of. */
static int version_exists(void *arg, int64_t dev, const char *path, uint64_t version)
{
	struct srv *srv = arg;
	struct index_version *v = malloc(sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	r = index_version_get(srv_reader(srv), dev, path, version, v);
	free(v);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

/* After each sweep: the rows of versions retention dropped go (they were
 * only filtered out of hits until then). */
static void after_sweep(void *arg, struct sweep_result *res, const volatile int *cancel)
{
	struct srv *srv = arg;
	int64_t n = textindex_prune(srv->ti, version_exists, srv, cancel);

	if (n < 0)
		log_errno((int)n, "%s/search.db: deleting dropped versions", srv->cfg->dir);
	else
		res->search_rows = (uint64_t)n;
}

int search_start(struct srv *srv)
{
	struct indexer_ops iops = { .arg = srv->idx, .devkey = search_devkey,
				    .extract = exproc_extract, .extract_batch = exproc_extract_batch };
	int r;

	/* hostile files are parsed in a child: a re-execution of this binary */
	if ((r = exproc_new("/proc/self/exe", &srv->ex)) < 0) {
		log_errno(r, "search index: extractor");
		return r;
	}
	iops.xarg = srv->ex;
	if ((r = textindex_open(srv->cfg->dir, srv->cfg->country, &srv->ti)) < 0 ||
	    (r = recover(srv)) < 0 ||
	    (r = indexer_new(srv->ti, srv->store, &iops, &srv->ix)) < 0) {
		log_errno(r, "%s/search.db", srv->cfg->dir);
		return r;
	}
	srv->on_commit = search_on_commit;
	srv->on_commit_arg = srv;
	sweeper_set_after(srv->sweeper, after_sweep, srv);   /* stopped before search_stop */
	return 0;
}

void search_stop(struct srv *srv)
{
	srv->on_commit = NULL;
	if (indexer_free(srv->ix) == 0 && srv->ti)   /* nothing lost: no recovery next time */
		(void)textindex_mark_clean(srv->ti);
	srv->ix = NULL;
	exproc_free(srv->ex);
	srv->ex = NULL;
	textindex_close(srv->ti);
	srv->ti = NULL;
}
