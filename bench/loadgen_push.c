/* loadgen_push.c — one pusher of bench/loadgen: small edits of its own
 * file (/load/file on its device), shipped with the daemon's own PUT code
 * (daemon/putio.c) alternately whole and as one changed range, timed from
 * the decision to push (the close() a tracker reports) to PUT_DONE, which
 * the server sends only after the version is committed durably. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/loadgen.h"
#include "common/chash.h"
#include "common/clock.h"
#include "daemon/putio.h"

#define LG_PATH    "/load/file"
#define LG_EDIT    64          /* bytes changed per edit */
#define LG_PUT_MS  60000

struct push {
	struct lg_pusher *p;
	uint8_t *content;
	size_t size;
	int fd;                   /* memfd: the body putio_send streams */
	struct vg_put *put;       /* large (PATH_MAX strings): on the heap */
	uint64_t seed;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* An edit: LG_EDIT random bytes at a random offset; returns the offset. */
static size_t edit(struct push *w)
{
	size_t off = (size_t)(rnd(&w->seed) % (w->size - LG_EDIT)), i;

	for (i = 0; i < LG_EDIT; i++)
		w->content[off + i] = (uint8_t)rnd(&w->seed);
	return off;
}

static int hash_entry(struct push *w)
{
	struct vg_entry *e = &w->put->e;
	struct chash *h = chash_new(CHASH_BOTH);
	uint64_t n = 0;
	int r;

	if (!h)
		return -ENOMEM;
	if ((r = chash_feed(h, w->content, w->size)) == 0)
		r = chash_finish(h, e->sha256, e->tree_root, &n);
	chash_free(h);
	return r;
}

/* The body in the memfd: the whole content, or one {u64 off, u32 len, bytes}. */
static int write_body(struct push *w, bool ranges, size_t off, uint64_t *len)
{
	uint8_t rec[12 + LG_EDIT];
	const void *p = w->content;
	size_t n = w->size;
	int i;

	if (ranges) {
		for (i = 0; i < 8; i++)
			rec[i] = (uint8_t)((uint64_t)off >> (56 - 8 * i));
		for (i = 0; i < 4; i++)
			rec[8 + i] = (uint8_t)((uint32_t)LG_EDIT >> (24 - 8 * i));
		memcpy(rec + 12, w->content + off, LG_EDIT);
		p = rec;
		n = sizeof(rec);
	}
	if (pwrite(w->fd, p, n, 0) != (ssize_t)n)
		return -EIO;
	*len = n;
	return 0;
}

/* One edit and its PUT; the latency goes to the samples when it succeeded. */
static int push_one(struct push *w)
{
	struct lg_pusher *p = w->p;
	struct vg_entry *e = &w->put->e;
	struct put_body body = { .fd = w->fd };
	bool ranges = p->version && (p->pushes % 2);
	int64_t t0 = mono_ns();
	uint64_t v = 0;
	size_t off = edit(w);
	int r;

	e->mtime_ns = e->capture_ns = real_ns();
	w->put->body = ranges ? PUT_RANGES : PUT_WHOLE;
	w->put->base_version = ranges ? p->version : 0;
	if ((r = hash_entry(w)) < 0 || (r = write_body(w, ranges, off, &body.size)) < 0)
		return r;
	r = putio_send(p->m, w->put, &body, LG_PUT_MS, &v, p->last_err, sizeof(p->last_err));
	if (r < 0) {
		p->version = 0;   /* start over with a whole version */
		return r;
	}
	lg_samples_add(p->lat, (uint32_t)((mono_ns() - t0) / 1000));
	p->version = v;
	__atomic_add_fetch(&p->pushes, 1, __ATOMIC_RELAXED);
	if (ranges)
		p->ranges++;
	else
		p->whole++;
	return 0;
}

static int push_init(struct push *w, struct lg_pusher *p, size_t size)
{
	size_t i;

	w->p = p;
	w->size = size;
	w->seed = 0x9e3779b97f4a7c15ull ^ ((uint64_t)p->idx << 20) ^ (uint64_t)mono_ns();
	w->fd = memfd_create("loadgen", MFD_CLOEXEC);
	w->content = malloc(size);
	w->put = calloc(1, sizeof(*w->put));
	if (w->fd < 0 || !w->content || !w->put)
		return -ENOMEM;
	for (i = 0; i < size; i++)
		w->content[i] = (uint8_t)('a' + i % 26);
	snprintf(w->put->e.path, sizeof(w->put->e.path), "%s", LG_PATH);
	w->put->e.type = VG_FILE;
	w->put->e.mode = 0644;
	w->put->e.size = size;
	return 0;
}

void *lg_pusher_main(void *arg)
{
	struct lg_pusher *p = arg;
	struct push w = { .fd = -1 };

	if (push_init(&w, p, (size_t)p->size) < 0) {
		snprintf(p->last_err, sizeof(p->last_err), "out of memory");
		p->errors++;
		goto out;
	}
	while (!*p->stop) {
		if (push_one(&w) < 0) {
			p->errors++;
			usleep(100000);   /* a failed push: back off a little */
		}
	}
out:
	if (w.fd >= 0)
		close(w.fd);
	free(w.content);
	free(w.put);
	return NULL;
}
