/* ingest_batch.c — MSG_DEV_PUTBATCH: many small new files on one stream
 * (docs/protocol.md "Batched puts").  Each item is built as it arrives into
 * one store batch shared by the whole stream; at END the batch is made
 * durable once (one fdatasync per pack), every built item goes to the index
 * in one group (index_commit_batch: one transaction, a savepoint per item)
 * and one reply answers every item, in order: its version, or its errno.
 * An item that fails (it does not verify, the index refuses it) fails
 * alone; a stream cut before END stores nothing the device is told of, and
 * the device ships its unanswered items again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/ingest.h"
#include "server/quota.h"
#include "server/reply.h"
#include "server/store/content.h"
#include "server/retainer.h"
#include "server/upslots.h"

static const uint8_t zero32[32];

/* One built item, compact: what its version needs besides the bytes
 * (a whole struct index_version is 25 KiB, mostly the unused link and
 * xattr space: 256 of them were 6 MiB of fresh pages per batch). */
struct bitem {
	char *path;
	uint8_t *xattrs;           /* xattr_len bytes, NULL when none */
	uint32_t xattr_len, mode, uid, gid;
	uint8_t type;
	uint64_t size, version;
	int64_t mtime_ns, capture_ns, recv_ns;
	uint8_t sha256[32], tree_root[32], content_root[32];
	uint8_t *held;             /* the bytes, for on_commit (NULL: not held) */
};

struct batch {
	struct conn *c;
	struct mux_stream *s;
	struct store_batch *sb;
	struct buf in;
	struct vg_batch_item it;                 /* the item being read */
	uint32_t n;
	struct bitem items[PUTBATCH_ITEMS_MAX];
	int r[PUTBATCH_ITEMS_MAX];
	bool adopt[PUTBATCH_ITEMS_MAX], adopted[PUTBATCH_ITEMS_MAX];
	uint32_t map[PUTBATCH_ITEMS_MAX];        /* the index group's k-th item */
	uint8_t *body;                           /* PUTBATCH_BODY_MAX */
	size_t nheld;                            /* bytes held, <= SRV_BATCH_HOLD */
	struct quota_guard quota;                /* the device's, loaded at the start */
	uint32_t refused;                        /* items refused by it */
};

/* Keeps the item's bytes (just verified) for on_commit when they fit:
 * small heap blocks, reused batch after batch. */
static void hold_bytes(struct batch *b, struct bitem *bi)
{
	if (bi->size == 0 || bi->size > SRV_COMMIT_BYTES_MAX || SRV_BATCH_HOLD - b->nheld < bi->size ||
	    (bi->held = malloc(bi->size)) == NULL)
		return;
	memcpy(bi->held, b->body, bi->size);
	b->nheld += bi->size;
}

/* The item as a version (index_batch_ops.fill, and on_commit's). */
static void item_version(const struct bitem *bi, struct index_version *v)
{
	struct vg_entry *e = &v->e;

	snprintf(e->path, sizeof(e->path), "%s", bi->path);
	e->type = bi->type;
	e->deleted = 0;
	e->mode = bi->mode;
	e->uid = bi->uid;
	e->gid = bi->gid;
	e->size = bi->size;
	e->mtime_ns = bi->mtime_ns;
	e->version = bi->version;
	e->capture_ns = bi->capture_ns;
	e->recv_ns = bi->recv_ns;
	memcpy(e->sha256, bi->sha256, 32);
	memcpy(e->tree_root, bi->tree_root, 32);
	e->link[0] = '\0';
	e->xattr_len = bi->xattr_len;
	if (bi->xattr_len > 0)
		memcpy(e->xattrs, bi->xattrs, bi->xattr_len);
	memcpy(v->content_root, bi->content_root, 32);
	v->implicit = false;
	v->sha_pending = false;
}

static void group_fill(void *arg, size_t k, struct index_version *v)
{
	struct batch *b = arg;

	item_version(&b->items[b->map[k]], v);
}

static void group_done(void *arg, size_t k, const struct index_version *v)
{
	struct bitem *bi = &((struct batch *)arg)->items[((struct batch *)arg)->map[k]];

	bi->version = v->e.version;
	bi->capture_ns = v->e.capture_ns;
	bi->recv_ns = v->e.recv_ns;
}

static void item_free(struct bitem *bi)
{
	free(bi->path);
	free(bi->xattrs);
	free(bi->held);
}

/* Reads the item's e.size bytes of DATA into b->body: 0, or -EPROTO (a
 * message or END where data belongs, more data than announced), or the
 * connection's error. */
static int recv_bytes(struct batch *b, uint64_t size)
{
	uint64_t got = 0;
	uint16_t type;
	int r;

	while (got < size) {
		r = mux_recv(b->s, &type, &b->in, SRV_RECV_MS);
		if (r < 0)
			return r;
		if (r != MUX_DATA || b->in.len > size - got)
			return -EPROTO;
		memcpy(b->body + got, b->in.data, b->in.len);
		got += b->in.len;
	}
	return 0;
}

/* The new version of the item in b->it from the bytes in b->body, built
 * into the shared store batch and verified against the announced tree root
 * and sha256, into bi.  0, or the item's own failure. */
static int build_item(struct batch *b, struct bitem *bi)
{
	const struct vg_entry *q = &b->it.put.e;
	struct content_ref ref;
	struct vbuild *vb = NULL;
	uint8_t sha[32];
	int r;

	if (!strcmp(q->path, "/"))
		return -EINVAL;
	if (!(bi->path = strdup(q->path)) ||
	    (q->xattr_len > 0 && !(bi->xattrs = malloc(q->xattr_len))))
		return -ENOMEM;
	bi->xattr_len = q->xattr_len;
	if (q->xattr_len > 0)
		memcpy(bi->xattrs, q->xattrs, q->xattr_len);
	bi->type = q->type;
	bi->mode = q->mode;
	bi->uid = q->uid;
	bi->gid = q->gid;
	bi->size = q->size;
	bi->mtime_ns = q->mtime_ns;
	bi->capture_ns = q->capture_ns;
	memcpy(bi->tree_root, q->tree_root, 32);
	if ((r = vbuild_new_shared(b->c->srv->store, &b->c->key, b->sb, &vb)) < 0)
		return r;
	if ((r = vbuild_write(vb, b->body, q->size)) == 0 &&
	    (r = vbuild_finish(vb, &ref)) == 0 && (r = vbuild_sha256(vb, sha)) == 0) {
		/* the root is the end-to-end check; a sha256 of zeros is the
		 * server's to compute (the device hashed only the tree) */
		if (ref.size != q->size || memcmp(ref.root, q->tree_root, 32) ||
		    (memcmp(q->sha256, zero32, 32) && memcmp(sha, q->sha256, 32)))
			r = -EBADMSG;
		memcpy(bi->sha256, sha, 32);
		memcpy(bi->content_root, ref.root, 32);
	}
	vbuild_free(vb);
	return r;
}

/* One MSG_PUTBATCH_ITEM and its body: 0 (the item's own result in
 * b->r[n]), or a failure of the whole stream (-EPROTO, connection). */
static int recv_item(struct batch *b)
{
	struct wire_reader wr;
	struct bitem *bi;
	uint32_t i = b->n;
	int r;

	if (i >= PUTBATCH_ITEMS_MAX)
		return -EPROTO;
	wire_reader_init(&wr, b->in.data, b->in.len);
	proto_get_batch_item(&wr, &b->it);
	if (wire_done(&wr) < 0)
		return -EPROTO;
	if ((r = recv_bytes(b, b->it.put.e.size)) < 0)
		return r;
	bi = &b->items[i];
	b->n++;
	b->adopt[i] = b->it.flags & PUTBATCH_NEW_PATH;
	b->r[i] = quota_admit(b->c->srv, b->c->id.id, &b->quota, b->it.put.e.path,
			      b->it.put.e.size, NULL);
	if (b->r[i] == -EDQUOT) {
		b->refused++;
		return (bi->path = strdup(b->it.put.e.path)) ? 0 : -ENOMEM;
	}
	if (b->r[i] == 0 && (b->r[i] = build_item(b, bi)) == 0)
		hold_bytes(b, bi);
	if (b->r[i] == -EBADMSG)
		log_warnx("device %s: %s: batched upload did not verify; nothing stored",
			  b->c->id.name, b->it.put.e.path);
	return 0;
}

/* Every item until END: 0, or the failure that ends the stream. */
static int recv_items(struct batch *b)
{
	uint16_t type;
	int r;

	for (;;) {
		r = mux_recv(b->s, &type, &b->in, SRV_RECV_MS);
		if (r == MUX_END)
			return 0;
		if (r < 0)
			return r;
		if (r != MUX_MSG || type != MSG_PUTBATCH_ITEM)
			return -EPROTO;
		if ((r = recv_item(b)) < 0)
			return r;
	}
}

/* Makes the built items durable and visible: the store batch, then the
 * index group.  Items refused by either keep their errno. */
static void commit_items(struct batch *b)
{
	const struct index_batch_ops ops = { group_fill, group_done, b };
	bool adopt[PUTBATCH_ITEMS_MAX], adopted[PUTBATCH_ITEMS_MAX];
	uint32_t k = 0;
	int rs[PUTBATCH_ITEMS_MAX], r = store_batch_commit(b->sb);

	for (uint32_t i = 0; i < b->n; i++) {
		if (b->r[i] == 0 && r < 0)
			b->r[i] = r;
		if (b->r[i] < 0)
			continue;
		b->map[k] = i;
		adopt[k++] = b->adopt[i];
	}
	if ((r = index_commit_batch(b->c->srv->idx, b->c->id.id, &ops, adopt, k, rs, adopted)) < 0)
		for (uint32_t j = 0; j < k; j++)
			rs[j] = r;
	if (r >= 0)
		retainer_kick(b->c->srv->rt, b->c->id.id);
	for (uint32_t j = 0; j < k; j++) {
		b->r[b->map[j]] = rs[j];
		b->adopted[b->map[j]] = adopted[j];
	}
}

/* Committed versions to the keyword indexer (on_commit), each through
 * one scratch version. */
static void tell_commits(struct batch *b)
{
	struct srv *srv = b->c->srv;
	struct index_version *v;

	if (!srv->on_commit || !(v = malloc(sizeof(*v))))
		return;
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->r[i] < 0 || b->adopted[i] || !b->items[i].version)
			continue;
		item_version(&b->items[i], v);
		srv->on_commit(srv->on_commit_arg, b->c->id.id, v, b->items[i].held);
	}
	free(v);
}

/* The answer: per item its version or errno; committed versions go to
 * the keyword indexer. */
static int answer(struct batch *b)
{
	struct vg_batch_result *res = calloc(PUTBATCH_ITEMS_MAX, sizeof(*res));
	struct buf out;
	int r;

	if (!res)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->r[i] < 0) {
			res[i].err = (uint32_t)-b->r[i];
			if (b->r[i] != -EBADMSG && b->r[i] != -EINVAL && b->r[i] != -EDQUOT)
				log_errno(b->r[i], "device %s: batched put %s", b->c->id.name,
					  b->items[i].path ? b->items[i].path : "?");
			continue;
		}
		res[i].version = b->items[i].version;
		res[i].adopted = b->adopted[i];
	}
	tell_commits(b);
	buf_init(&out, VG_MSG_MAX);
	proto_put_batch_done(&out, res, b->n);
	if ((r = wire_buf_error(&out)) == 0)
		r = reply(b->s, MSG_PUTBATCH_DONE, &out);
	buf_free(&out);
	free(res);
	return r;
}

static bool peer_gone(void *arg)
{
	const struct conn *c = arg;

	return !mux_alive(c->mux);
}

int ingest_putbatch(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct batch *b;
	int r;

	if (wire_done(wr) < 0)
		return -EPROTO;
	if (!(b = calloc(1, sizeof(*b))) || !(b->body = malloc(PUTBATCH_BODY_MAX))) {
		free(b);
		return -ENOMEM;
	}
	b->c = c;
	b->s = s;
	buf_init(&b->in, MUX_FRAME_MAX);
	if ((r = store_batch_new(c->srv->store, &b->sb)) < 0) {
		reply_error(s, -r, "store: %s", strerror(-r));
		r = 0;
		goto out;
	}
	if ((r = upslots_take(c->srv->batches, c->id.id, peer_gone, c)) < 0)
		goto out;
	if ((r = quota_load(c->srv, c->id.id, &b->quota)) < 0) {
		upslots_give(c->srv->batches, c->id.id);
		reply_error(s, -r, "index: %s", strerror(-r));
		r = 0;
		goto out;
	}
	if ((r = recv_items(b)) == 0) {
		if (b->refused) {
			char msg[160];

			quota_refused(c->srv, c->id.id, &b->quota, msg, sizeof(msg));
			log_warnx("device %s: %u batched file(s) refused: %s", c->id.name,
				  b->refused, msg);
		}
		commit_items(b);
		r = answer(b);
	}   /* else nothing answered: the device sends them again */
	upslots_give(c->srv->batches, c->id.id);
out:
	store_batch_free(b->sb);   /* uncommitted (a cut stream): dropped */
	buf_free(&b->in);
	free(b->body);
	for (uint32_t i = 0; i < b->n; i++)
		item_free(&b->items[i]);
	free(b);
	return r == -EPROTO || r == -ENOMEM ? r : 0;
}
