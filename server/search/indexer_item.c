/* indexer_item.c — one queued item read from the store and indexed: its content (unless
 * already indexed) and its version. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/search/indexer_int.h"

static ssize_t
vr_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	return vreader_pread(arg, buf, n, off);
}

/* Gives an item's slot back (lock held). */
void
ix_slot_give_locked(struct indexer *ix, struct item *it)
{
	struct slots *c;

	if (it->bytes == NULL)
		return;
	for (int k = 0; k < 2; k++) {
		c = &ix->slots[k];
		if (it->bytes >= c->slab && it->bytes < c->slab + c->size * c->count)
			c->free[c->nfree++] = (uint16_t)((size_t)(it->bytes - c->slab) / c->size);
	}
	it->bytes = NULL;
}

/* Gives back an item's path and slot. */
void
ix_item_free(struct indexer *ix, struct item *it)
{
	free(it->path);
	if (it->bytes != NULL) {
		pthread_mutex_lock(&ix->lock);
		ix_slot_give_locked(ix, it);
		pthread_mutex_unlock(&ix->lock);
	}
}

int
ix_source_open(struct indexer *ix, const struct item *it, struct ex_source *src)
{
	struct vreader *vr;
	int rc;

	if (ix->ops.open != NULL)
		return ix->ops.open(ix->ops.arg, it->device_id, &it->ref, src);
	if (ix->st == NULL || ix->ops.devkey == NULL)
		return -ENOTSUP;
	/* a run of versions mostly comes from one device: keep its key */
	if (!ix->key_valid || ix->key_dev != it->device_id) {
		ix->key_valid = false;
		if ((rc = ix->ops.devkey(ix->ops.arg, it->device_id, &ix->key)) < 0)
			return rc;
		ix->key_dev = it->device_id;
		ix->key_valid = true;
	}
	rc = vreader_open(ix->st, &ix->key, &it->ref, &vr);
	if (rc < 0)
		return rc;
	src->arg = vr;
	src->size = it->ref.size;
	src->pread = vr_pread;
	return 0;
}

void
ix_source_close(struct indexer *ix, struct ex_source *src)
{
	if (ix->ops.open != NULL) {
		if (ix->ops.close != NULL)
			ix->ops.close(ix->ops.arg, src);
		return;
	}
	vreader_free(src->arg);
}

/* Indexes an unreadable content as path only, with the reason. */
static int
content_unreadable(struct indexer *ix, const struct item *it, int err)
{
	struct ti_content *c;
	char why[128];
	int rc;

	snprintf(why, sizeof(why), "cannot read content: %s", strerror(-err));
	log_warnx("search index: device %lld %s version %llu: %s", (long long)it->device_id,
		  it->path, (unsigned long long)it->version, why);
	if ((rc = textindex_content_begin(ix->ti, it->ref.root, &c)) < 0)
		return rc == -EEXIST ? 0 : rc;
	return textindex_content_end(c, TI_MALFORMED, "unreadable", why);
}

/* Ends content c after its extraction returned rc with res. */
int
ix_content_finish(struct indexer *ix, const struct item *it, struct ti_content *c, int rc,
	       const struct ex_result *res)
{
	enum ti_status status;

	if (rc < 0) {
		textindex_content_abort(c);
		return rc == -EIO || rc == -EBADMSG || rc == -ENOENT ? content_unreadable(ix, it, rc) : rc;
	}
	status = res->malformed ? TI_MALFORMED : res->kind == EX_BINARY ? TI_PATH_ONLY : TI_TEXT;
	if (res->malformed || res->truncated)
		log_warnx("search index: device %lld %s version %llu (%s): %s%s",
			  (long long)it->device_id, it->path, (unsigned long long)it->version,
			  ex_kind_name(res->kind), res->reason, res->malformed ? "" : " (text cut)");
	return textindex_content_end(c, status, ex_kind_name(res->kind),
				     res->reason[0] ? res->reason : NULL);
}

static int
index_content(struct indexer *ix, const struct item *it)
{
	struct ex_source src;
	struct ex_result res;
	struct ti_content *c;
	int rc;

	if ((rc = ix_source_open(ix, it, &src)) < 0)
		return content_unreadable(ix, it, rc);
	if ((rc = textindex_content_begin(ix->ti, it->ref.root, &c)) < 0) {
		ix_source_close(ix, &src);
		return rc == -EEXIST ? 0 : rc;
	}
	if (ix->ops.extract != NULL)
		rc = ix->ops.extract(ix->ops.xarg, it->path, &src, NULL, textindex_content_text, c,
				     &res);
	else
		rc = extract(it->path, &src, NULL, textindex_content_text, c, &res);
	ix_source_close(ix, &src);
	return ix_content_finish(ix, it, c, rc, &res);
}

void
ix_process(struct indexer *ix, const struct item *it, bool indexed)
{
	int rc, tries = 0;

	do {   /* a prune may collect the content between the two: once more */
		rc = 0;
		if (!it->deleted && !indexed && (rc = textindex_has_content(ix->ti, it->ref.root)) == 0)
			rc = index_content(ix, it);
		if (rc >= 0)
			rc = textindex_add_version(ix->ti, it->device_id, it->path, it->version,
						   it->time_ns, it->deleted ? NULL : it->ref.root);
		indexed = false;
	} while (rc == -ENOENT && !it->deleted && ++tries < 2);
	if (rc < 0)
		log_errno(rc, "search index: device %lld %s version %llu not indexed",
			  (long long)it->device_id, it->path, (unsigned long long)it->version);
}
