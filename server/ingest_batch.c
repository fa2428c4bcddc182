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

#include <sys/mman.h>

#include "common/log.h"
#include "server/ingest.h"
#include "server/reply.h"
#include "server/store/content.h"
#include "server/upslots.h"

static const uint8_t zero32[32];

#define VS_BYTES (PUTBATCH_ITEMS_MAX * sizeof(struct index_version))

struct batch {
	struct conn *c;
	struct mux_stream *s;
	struct store_batch *sb;
	struct buf in;
	struct vg_batch_item it;                 /* the item being read */
	uint32_t n;
	/* the items' versions: one mapping of PUTBATCH_ITEMS_MAX, given back
	 * whole at the end (as heap chunks they stayed in every handler
	 * thread's malloc arena: 68 MiB of RSS after 4,000 files) */
	struct index_version *vs;
	struct index_version *v[PUTBATCH_ITEMS_MAX];
	int r[PUTBATCH_ITEMS_MAX];
	bool adopt[PUTBATCH_ITEMS_MAX], adopted[PUTBATCH_ITEMS_MAX];
	uint8_t *body;                           /* PUTBATCH_BODY_MAX */
};

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

/* The fields of a new file version, copied without touching the unused
 * bulk of the entry (link, the xattr space): a batch holds up to
 * PUTBATCH_ITEMS_MAX of them. */
static void entry_copy(struct vg_entry *e, const struct vg_entry *q)
{
	snprintf(e->path, sizeof(e->path), "%s", q->path);
	e->type = q->type;
	e->deleted = 0;
	e->mode = q->mode;
	e->uid = q->uid;
	e->gid = q->gid;
	e->size = q->size;
	e->mtime_ns = q->mtime_ns;
	e->version = 0;
	e->capture_ns = q->capture_ns;
	e->recv_ns = 0;
	memcpy(e->sha256, q->sha256, 32);
	memcpy(e->tree_root, q->tree_root, 32);
	e->link[0] = '\0';
	e->xattr_len = q->xattr_len;
	memcpy(e->xattrs, q->xattrs, q->xattr_len);
}

/* The new version of the item in b->it from the bytes in b->body, built
 * into the shared store batch and verified against the announced tree root
 * and sha256.  0, or the item's own failure. */
static int build_item(struct batch *b, struct index_version *v)
{
	struct vg_entry *e = &v->e;
	struct content_ref ref;
	struct vbuild *vb = NULL;
	uint8_t sha[32];
	int r;

	entry_copy(e, &b->it.put.e);
	if (!strcmp(e->path, "/"))
		return -EINVAL;
	if ((r = vbuild_new_shared(b->c->srv->store, &b->c->key, b->sb, &vb)) < 0)
		return r;
	if ((r = vbuild_write(vb, b->body, e->size)) == 0 &&
	    (r = vbuild_finish(vb, &ref)) == 0 && (r = vbuild_sha256(vb, sha)) == 0) {
		/* the root is the end-to-end check; a sha256 of zeros is the
		 * server's to compute (the device hashed only the tree) */
		if (ref.size != e->size || memcmp(ref.root, e->tree_root, 32) ||
		    (memcmp(e->sha256, zero32, 32) && memcmp(sha, e->sha256, 32)))
			r = -EBADMSG;
		memcpy(e->sha256, sha, 32);
		memcpy(v->content_root, ref.root, 32);
	}
	vbuild_free(vb);
	return r;
}

/* One MSG_PUTBATCH_ITEM and its body: 0 (the item's own result in
 * b->r[n]), or a failure of the whole stream (-EPROTO, connection). */
static int recv_item(struct batch *b)
{
	struct wire_reader wr;
	struct index_version *v;
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
	v = &b->vs[i];
	v->implicit = false;
	v->sha_pending = false;
	b->v[i] = v;
	b->n++;
	b->adopt[i] = b->it.flags & PUTBATCH_NEW_PATH;
	b->r[i] = build_item(b, v);
	if (b->r[i] == -EBADMSG)
		log_warnx("device %s: %s: batched upload did not verify; nothing stored",
			  b->c->id.name, v->e.path);
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
	struct index_version *vs[PUTBATCH_ITEMS_MAX];
	bool adopt[PUTBATCH_ITEMS_MAX], adopted[PUTBATCH_ITEMS_MAX];
	uint32_t map[PUTBATCH_ITEMS_MAX], k = 0;
	int rs[PUTBATCH_ITEMS_MAX], r = store_batch_commit(b->sb);

	for (uint32_t i = 0; i < b->n; i++) {
		if (b->r[i] == 0 && r < 0)
			b->r[i] = r;
		if (b->r[i] < 0)
			continue;
		map[k] = i;
		adopt[k] = b->adopt[i];
		vs[k++] = b->v[i];
	}
	if ((r = index_commit_batch(b->c->srv->idx, b->c->id.id, vs, adopt, k, rs, adopted)) < 0)
		for (uint32_t j = 0; j < k; j++)
			rs[j] = r;
	for (uint32_t j = 0; j < k; j++) {
		b->r[map[j]] = rs[j];
		b->adopted[map[j]] = adopted[j];
	}
}

/* The answer: per item its version or errno; committed versions go to
 * the keyword indexer. */
static int answer(struct batch *b)
{
	struct vg_batch_result *res = calloc(PUTBATCH_ITEMS_MAX, sizeof(*res));
	struct srv *srv = b->c->srv;
	struct buf out;
	int r;

	if (!res)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->r[i] < 0) {
			res[i].err = (uint32_t)-b->r[i];
			if (b->r[i] != -EBADMSG && b->r[i] != -EINVAL)
				log_errno(b->r[i], "device %s: batched put %s", b->c->id.name,
					  b->v[i]->e.path);
			continue;
		}
		res[i].version = b->v[i]->e.version;
		res[i].adopted = b->adopted[i];
		if (srv->on_commit && !b->adopted[i] && b->v[i]->e.version)
			srv->on_commit(srv->on_commit_arg, b->c->id.id, b->v[i]);
	}
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
	if (!(b = calloc(1, sizeof(*b))) || !(b->body = malloc(PUTBATCH_BODY_MAX)) ||
	    (b->vs = mmap(NULL, VS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0)) == MAP_FAILED) {
		if (b)
			free(b->body);
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
	if ((r = recv_items(b)) == 0) {
		commit_items(b);
		r = answer(b);
	}   /* else nothing answered: the device sends them again */
	upslots_give(c->srv->batches, c->id.id);
out:
	store_batch_free(b->sb);   /* uncommitted (a cut stream): dropped */
	munmap(b->vs, VS_BYTES);
	buf_free(&b->in);
	free(b->body);
	free(b);
	return r == -EPROTO || r == -ENOMEM ? r : 0;
}
