/* content_pipe.c — a big build on two threads (issue 11, "First upload of
 * a large file").
 *
 * Once a vbuild has been written PIPE_START bytes (8 MiB: content.h), its chunks are stored by
 * a worker thread of its own: the writer's thread keeps the whole-content
 * sha256, FastCDC and each chunk's sha256, then copies the chunk into a
 * bounded ring (PIPE_RING bytes, PIPE_ENTS chunks) and goes on; the worker
 * takes the chunks in order and does the rest of what on_chunk does (the
 * chunk id's HMAC, the store batch: lookup, record, CRC-32, pack write and
 * commits; the chunk tree and the checkpoint log), and the checkpoints the
 * writer queued between them (vbuild_checkpoint_bg).  Everything the worker
 * does happens in stream order, so records, index rows, tree pages and
 * checkpoint entries are the serial path's, in the serial path's order
 * (docs/store-format.md, "Write order and crashes").
 *
 * Any other call on the build (copy, zero, finish, a synchronous
 * checkpoint) first waits until the worker has taken everything queued
 * (vb_pipe_sync); the build then runs serially until the next write, so
 * the rest of content*.c never meets the worker.
 *
 * A queued checkpoint is committed by a third thread, the committer, while
 * the worker goes on storing the next chunks into the build's batch: the
 * worker hands the batch's records (store_batch_handoff) and the entries
 * logged since the last checkpoint over, and the committer makes them
 * durable (fdatasync of the packs, the index rows) and only then appends
 * the entries to the upload's state file, the order of "Write order and
 * crashes".  One checkpoint at a time: the next waits for the previous
 * one's end, so the state file grows in stream order.  Before, the worker
 * stopped for every commit (its fsyncs and ~6,500 index rows, 64 MiB
 * apart), and with a 2 MiB queue the whole stream stopped with it.  The worker's first error
 * is latched into the build by the writer's next call.  Dropping the build
 * (vbuild_free) tells the worker to skip what is still queued and joins
 * it; the batch then gives back what was written, as on the serial path. */
#include "server/store/content_vb.h"
#include "server/store/store_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_RING  (2u << 20)   /* chunk bytes queued: a few hundred chunks */
#define PIPE_ENTS  1024u
/* Wake-ups are batched (a futex wake and a context switch per ~10 KiB
 * chunk cost more than the hand-over saves): a sleeping worker is woken
 * once PIPE_KICK chunks or PIPE_KICK_BYTES are queued (or on a sync), a
 * waiting writer once half the queue is free again (or it is empty). */
#define PIPE_KICK        64u
#define PIPE_KICK_BYTES  (512u << 10)

enum { PE_CHUNK, PE_CKPT };

struct pent {
	uint8_t kind;
	uint32_t len;
	uint64_t pos;            /* the chunk's bytes: ring[pos % PIPE_RING] */
	uint8_t sha[32];         /* PE_CHUNK: its sha256; PE_CKPT: the token */
};

struct vpipe {
	struct vbuild *vb;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t room;     /* the worker took an entry */
	pthread_cond_t work;     /* an entry was added, or stop */
	uint8_t *ring;
	struct pent ent[PIPE_ENTS];
	uint64_t head, tail;     /* entries added / taken (done) */
	uint64_t wpos, rpos;     /* ring bytes handed out / given back */
	int err;                 /* the worker's first error */
	bool stop;               /* end once the queue is empty */
	bool drop;               /* skip what is queued (the build is dropped) */
	bool wwait, pwait;       /* the worker / the writer sleeps */
	/* the committer: cb's records and clog's cn entries, while cbusy */
	pthread_t cth;
	pthread_cond_t cwork;    /* a checkpoint was handed over, or cstop */
	pthread_cond_t cdone;    /* the committer finished one */
	struct store_batch *cb;  /* empty while idle */
	struct vb_entry *clog;   /* swapped with vb->log at each hand-over */
	size_t cn, ccap;
	bool cbusy, cstop;
};

/* Wakes the writer when it waits and may go on (mu held). */
static void wake_writer(struct vpipe *vp)
{
	if (vp->pwait && (vp->tail == vp->head || vp->err ||
			  (vp->head - vp->tail <= PIPE_ENTS / 2 && vp->wpos - vp->rpos <= PIPE_RING / 2)))
		pthread_cond_signal(&vp->room);
}

static int take_chunk(struct vbuild *vb, const struct pent *e, const uint8_t *data)
{
	uint8_t id[STORE_ID_LEN];
	int r;

	if ((r = store_idmac(vb->mac, e->sha, id)) < 0)
		return r;
	if ((r = store_batch_put(vb->batch, id, data, e->len)) < 0)
		return r;
	return vb_add_entry(vb, e->sha, e->len);
}

static void *committer(void *arg)
{
	struct vpipe *vp = arg;
	bool broken;
	int r;

	pthread_mutex_lock(&vp->mu);
	for (;;) {
		while (!vp->cbusy && !vp->cstop)
			pthread_cond_wait(&vp->cwork, &vp->mu);
		if (!vp->cbusy)
			break;
		pthread_mutex_unlock(&vp->mu);
		/* a failed commit or append voids the build (the worker's
		 * error; so broken needs no keeping), as a failed
		 * vb_checkpoint_now does in the background */
		r = store_batch_commit(vp->cb);
		if (r == 0)
			r = vb_ckpt_append(vp->vb, vp->clog, vp->cn, &broken);
		pthread_mutex_lock(&vp->mu);
		if (r < 0 && !vp->err)
			vp->err = r;
		vp->cn = 0;
		vp->cbusy = false;
		pthread_cond_broadcast(&vp->cdone);
		wake_writer(vp);
	}
	pthread_mutex_unlock(&vp->mu);
	return NULL;
}

/* Waits until the committer is idle (mu held); its error, if any. */
static int commit_wait_locked(struct vpipe *vp)
{
	while (vp->cbusy)
		pthread_cond_wait(&vp->cdone, &vp->mu);
	return vp->err;
}

/* A queued checkpoint, on the worker: once the previous one is done, the
 * batch's records and the entries logged since go to the committer. */
static int ckpt_handoff(struct vpipe *vp, const uint8_t token[16])
{
	struct vbuild *vb = vp->vb;
	struct vb_entry *log;
	size_t cap;
	int r;

	pthread_mutex_lock(&vp->mu);
	r = commit_wait_locked(vp);
	pthread_mutex_unlock(&vp->mu);
	if (r < 0 || (r = vb_ckpt_begin(vb, token)) < 0 ||
	    (r = store_batch_handoff(vb->batch, vp->cb)) < 0)
		return r;
	log = vb->log;
	cap = vb->caplog;
	pthread_mutex_lock(&vp->mu);
	vb->log = vp->clog;
	vb->caplog = vp->ccap;
	vp->clog = log;
	vp->ccap = cap;
	vp->cn = vb->nlog;
	vb->nlog = 0;
	vp->cbusy = true;
	pthread_cond_signal(&vp->cwork);
	pthread_mutex_unlock(&vp->mu);
	return 0;
}

static void *worker(void *arg)
{
	struct vpipe *vp = arg;
	struct pent e;
	int r;

	pthread_mutex_lock(&vp->mu);
	for (;;) {
		while (vp->tail == vp->head && !vp->stop) {
			vp->wwait = true;
			pthread_cond_wait(&vp->work, &vp->mu);
			vp->wwait = false;
		}
		if (vp->tail == vp->head)
			break;
		e = vp->ent[vp->tail % PIPE_ENTS];
		r = vp->err || vp->drop;
		pthread_mutex_unlock(&vp->mu);
		if (!r && e.kind == PE_CHUNK)
			r = take_chunk(vp->vb, &e, vp->ring + e.pos % PIPE_RING);
		else if (!r)
			r = ckpt_handoff(vp, e.sha);
		pthread_mutex_lock(&vp->mu);
		if (r < 0 && !vp->err)
			vp->err = r;
		vp->tail++;
		vp->rpos = e.pos + e.len;
		wake_writer(vp);
	}
	pthread_mutex_unlock(&vp->mu);
	return NULL;
}

/* Ends the committer once it is idle (it finishes a hand-over first). */
static void committer_stop(struct vpipe *vp)
{
	pthread_mutex_lock(&vp->mu);
	vp->cstop = true;
	pthread_cond_signal(&vp->cwork);
	pthread_mutex_unlock(&vp->mu);
	pthread_join(vp->cth, NULL);
}

static void pipe_free(struct vpipe *vp)
{
	pthread_cond_destroy(&vp->cdone);
	pthread_cond_destroy(&vp->cwork);
	pthread_cond_destroy(&vp->work);
	pthread_cond_destroy(&vp->room);
	pthread_mutex_destroy(&vp->mu);
	store_batch_free(vp->cb);   /* (empty unless its commit failed) */
	free(vp->clog);
	free(vp->ring);
	free(vp);
}

int vb_pipe_start(struct vbuild *vb)
{
	struct vpipe *vp = calloc(1, sizeof(*vp));
	int r;

	if (!vp)
		return -ENOMEM;
	vp->vb = vb;
	pthread_mutex_init(&vp->mu, NULL);
	pthread_cond_init(&vp->room, NULL);
	pthread_cond_init(&vp->work, NULL);
	pthread_cond_init(&vp->cwork, NULL);
	pthread_cond_init(&vp->cdone, NULL);
	if (!(vp->ring = malloc(PIPE_RING)))
		r = -ENOMEM;
	else if ((r = store_batch_new(vb->st, &vp->cb)) == 0 &&
		 pthread_create(&vp->cth, NULL, committer, vp) != 0)
		r = -EAGAIN;
	else if (r == 0 && pthread_create(&vp->th, NULL, worker, vp) != 0) {
		committer_stop(vp);
		r = -EAGAIN;
	}
	if (r < 0) {
		pipe_free(vp);
		return r;
	}
	vb->pipe = vp;
	return 0;
}

/* Room for an entry of len ring bytes, waited for: its position in *pos,
 * or the worker's error. */
static int pipe_room(struct vpipe *vp, uint32_t len, uint64_t *pos)
{
	uint64_t at = vp->wpos;
	int r;

	if (at % PIPE_RING + len > PIPE_RING)
		at += PIPE_RING - at % PIPE_RING;   /* never wraps inside a chunk */
	pthread_mutex_lock(&vp->mu);
	while (!vp->err && (vp->head - vp->tail == PIPE_ENTS || at + len - vp->rpos > PIPE_RING)) {
		vp->pwait = true;
		pthread_cond_signal(&vp->work);   /* (it is full: the worker must run) */
		pthread_cond_wait(&vp->room, &vp->mu);
		vp->pwait = false;
	}
	r = vp->err;
	pthread_mutex_unlock(&vp->mu);
	*pos = at;
	return r;
}

static void pipe_add(struct vpipe *vp, const struct pent *e)
{
	pthread_mutex_lock(&vp->mu);
	vp->ent[vp->head % PIPE_ENTS] = *e;
	vp->head++;
	vp->wpos = e->pos + e->len;
	if (vp->wwait && (vp->head - vp->tail >= PIPE_KICK || vp->wpos - vp->rpos >= PIPE_KICK_BYTES))
		pthread_cond_signal(&vp->work);
	pthread_mutex_unlock(&vp->mu);
}

int vb_pipe_chunk(struct vbuild *vb, const uint8_t sha[32], const uint8_t *data, size_t len)
{
	struct vpipe *vp = vb->pipe;
	struct pent e = { .kind = PE_CHUNK, .len = (uint32_t)len };
	int r;

	if (len > PIPE_RING)
		return -EMSGSIZE;
	if ((r = pipe_room(vp, e.len, &e.pos)) < 0)
		return r;
	/* the worker reads these bytes only once the entry is added */
	memcpy(vp->ring + e.pos % PIPE_RING, data, len);
	memcpy(e.sha, sha, 32);
	pipe_add(vp, &e);
	return 0;
}

int vb_pipe_ckpt(struct vbuild *vb, const uint8_t token[16])
{
	struct vpipe *vp = vb->pipe;
	struct pent e = { .kind = PE_CKPT };
	int r;

	if ((r = pipe_room(vp, 0, &e.pos)) < 0)
		return r;
	memcpy(e.sha, token, 16);
	pipe_add(vp, &e);
	return 0;
}

int vb_pipe_sync(struct vbuild *vb)
{
	struct vpipe *vp = vb->pipe;
	int r;

	if (!vp)
		return 0;
	pthread_mutex_lock(&vp->mu);
	while (vp->tail != vp->head) {
		vp->pwait = true;
		pthread_cond_signal(&vp->work);
		pthread_cond_wait(&vp->room, &vp->mu);
		vp->pwait = false;
	}
	r = commit_wait_locked(vp);
	pthread_mutex_unlock(&vp->mu);
	return vb_latch(vb, r);
}

void vb_pipe_stop(struct vbuild *vb)
{
	struct vpipe *vp = vb->pipe;

	if (!vp)
		return;
	pthread_mutex_lock(&vp->mu);
	vp->stop = true;
	vp->drop = true;
	pthread_cond_signal(&vp->work);
	pthread_mutex_unlock(&vp->mu);
	pthread_join(vp->th, NULL);
	committer_stop(vp);
	pipe_free(vp);
	vb->pipe = NULL;
}
