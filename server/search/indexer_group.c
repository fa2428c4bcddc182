/* indexer_group.c — small new contents of one queue take extracted in one go
 * (one BATCH to the sandboxed extractor). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/search/indexer_int.h"

/* ---- small files in groups ---- */

struct group {
	struct ex_item ex[INDEXER_GROUP];
	struct ti_content *c[INDEXER_GROUP];
	uint8_t *read[INDEXER_GROUP];  /* bytes read back from the store */
	size_t map[INDEXER_GROUP];     /* ex[k] is its[map[k]] */
	size_t k;
};

/* A small content not held: read whole from the store into *out. */
static int
read_small(struct indexer *ix, const struct item *it, uint8_t **out)
{
	struct ex_source src;
	uint8_t *p = malloc(it->ref.size ? it->ref.size : 1);
	ssize_t n = -ENOMEM;
	int rc;

	if (p == NULL)
		return -ENOMEM;
	if ((rc = ix_source_open(ix, it, &src)) < 0) {
		free(p);
		return rc;
	}
	n = it->ref.size ? src.pread(src.arg, p, it->ref.size, 0) : 0;
	ix_source_close(ix, &src);
	if (n < 0 || (uint64_t)n != it->ref.size) {
		free(p);
		return n < 0 ? (int)n : -EIO;
	}
	*out = p;
	return 0;
}

/* Whether its[i] goes into the group's extraction: a small file whose
 * content is new (not indexed, not earlier in the group) and readable;
 * then its content is begun and ex[k] set up.  content_begin is the one
 * lookup of the key (-EEXIST: indexed already). */
static bool
group_add(struct indexer *ix, struct group *g, const struct item *its, size_t i)
{
	const struct item *it = &its[i];
	struct ex_item *x = &g->ex[g->k];
	const uint8_t *bytes = it->bytes;

	if (it->deleted || it->ref.size > INDEXER_SMALL)
		return false;
	for (size_t j = 0; j < g->k; j++)
		if (!memcmp(its[g->map[j]].ref.root, it->ref.root, TI_KEY_LEN))
			return false;
	if (textindex_content_begin(ix->ti, it->ref.root, &g->c[g->k]) < 0)
		return false;
	g->read[g->k] = NULL;
	if (bytes == NULL && read_small(ix, it, &g->read[g->k]) < 0) {
		textindex_content_abort(g->c[g->k]);
		return false;   /* ix_process() says why */
	}
	*x = (struct ex_item){ .path = it->path, .bytes = bytes ? bytes : g->read[g->k],
			       .size = it->ref.size, .emit = textindex_content_text,
			       .arg = g->c[g->k] };
	g->map[g->k++] = i;
	return true;
}

static void
group_extract(struct indexer *ix, struct group *g)
{
	struct ex_item *x;
	struct ex_source src;
	struct ex_mem m;
	int rc;

	if (ix->ops.extract_batch != NULL) {
		if ((rc = ix->ops.extract_batch(ix->ops.xarg, g->ex, g->k, NULL)) < 0)
			for (size_t j = 0; j < g->k; j++)
				g->ex[j].rc = rc;
		return;
	}
	for (size_t j = 0; j < g->k; j++) {
		x = &g->ex[j];
		src = ex_source_mem(&m, x->bytes, x->size);
		if (ix->ops.extract != NULL)
			x->rc = ix->ops.extract(ix->ops.xarg, x->path, &src, NULL, x->emit, x->arg,
						&x->res);
		else
			x->rc = extract(x->path, &src, NULL, x->emit, x->arg, &x->res);
	}
}

/* Items taken from the queue together: the small new contents among them
 * extracted in one go (in a text-index batch only, where several
 * contents may be open at once), then each item as ix_process() does it (a
 * content indexed here costs it one row); every item is freed. */
void
ix_process_group(struct indexer *ix, struct item *its, size_t n, bool batch)
{
	struct group *g = calloc(1, sizeof(*g));
	bool done[INDEXER_GROUP] = { false };   /* its[i]'s content is indexed now */
	int rc;

	/* a resting item takes the path's ownership: NULL here */
	for (size_t i = 0; i < n; i++)
		if (ix_park(ix, &its[i]))
			its[i].path = NULL;
	for (size_t i = 0; i < n && batch && g != NULL; i++)
		if (its[i].path != NULL)
			(void)group_add(ix, g, its, i);
	if (g != NULL && g->k > 0)
		group_extract(ix, g);
	for (size_t j = 0; g != NULL && j < g->k; j++) {
		rc = ix_content_finish(ix, &its[g->map[j]], g->c[j], g->ex[j].rc, &g->ex[j].res);
		if (rc < 0)
			log_errno(rc, "search index: %s", its[g->map[j]].path);
		done[g->map[j]] = rc == 0;
		free(g->read[j]);
	}
	for (size_t i = 0; i < n; i++)
		if (its[i].path != NULL) {
			ix_process(ix, &its[i], done[i]);
			ix_item_free(ix, &its[i]);
		}
	free(g);
}
