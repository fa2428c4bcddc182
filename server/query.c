/* query.c — controller requests: devices, ls, log, stat, read, status;
 * search is in server/search/search.c. */
#include "server/query.h"
#include "server/search/search.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/names.h"
#include "common/vec.h"
#include "server/commands.h"
#include "server/reply.h"
#include "server/retain.h"
#include "server/simstate.h"
#include "server/store/content.h"
#include "server/sweep.h"

#define QUERY_DEVICES_MAX 100000

static int64_t at_or_latest(int64_t at)
{
	return at == 0 ? INDEX_AT_LATEST : at;
}

/* ------------------------------------------------------------------ batches */

/* Index entries gathered into MSG_ENTRIES batches.  The index calls
 * batch_take with its lock held, so a full batch stops the listing (it
 * resumes after `last`) instead of waiting for the peer's credit. */
struct batch {
	struct reply_batch rb;
	struct buf one;            /* one encoded entry */
	bool full;                 /* the index stopped because this batch is full */
	char last[PATH_MAX];       /* last path taken (paging key) */
	uint64_t last_version;
};

static void batch_init(struct batch *bt, struct mux_stream *s)
{
	memset(bt, 0, sizeof(*bt));
	reply_batch_init(&bt->rb, s, MSG_ENTRIES);
	buf_init(&bt->one, VG_MSG_MAX);
}

static void batch_free(struct batch *bt)
{
	reply_batch_free(&bt->rb);
	buf_free(&bt->one);
}

static int batch_take(void *arg, const struct index_version *v)
{
	struct batch *bt = arg;
	int r;

	buf_reset(&bt->one);
	proto_put_entry(&bt->one, &v->e);
	if (wire_buf_error(&bt->one))
		return -EMSGSIZE;
	if (!reply_batch_fits(&bt->rb, bt->one.len)) {
		bt->full = true;
		return 1;
	}
	if ((r = reply_batch_add(&bt->rb, &bt->one)) < 0)
		return r;
	snprintf(bt->last, sizeof(bt->last), "%s", v->e.path);
	bt->last_version = v->e.version;
	return 0;
}

static int batch_flush(struct batch *bt)
{
	bt->full = false;
	return reply_batch_flush(&bt->rb);
}

/* ----------------------------------------------------------------------- ls */

static int ls_send(struct conn *c, struct batch *bt, int64_t dev, const char *dir,
		   int64_t at, bool recursive)
{
	char after[PATH_MAX] = "";
	int r;

	for (;;) {
		r = index_ls(srv_reader(c->srv), dev, dir, at, recursive, after, SIZE_MAX, batch_take, bt);
		if (r < 0)
			return r;
		if (!bt->full)
			break;
		snprintf(after, sizeof(after), "%s", bt->last);
		if ((r = batch_flush(bt)) < 0)
			return r;
	}
	return batch_flush(bt);
}

static int do_ls(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct vg_ls_req q;
	const char *name = q.dev, *path = q.path;
	struct index_version *v = NULL;
	struct ident dev;
	struct batch bt;
	int64_t at;
	int r;

	proto_get_ls_req(wr, &q);
	if (wire_done(wr) < 0)
		return -EPROTO;
	at = at_or_latest(q.at);
	if (srv_find_device(c->srv, s, name, &dev) < 0)
		return 0;
	batch_init(&bt, s);
	if (!(v = malloc(sizeof(*v)))) {
		r = -ENOMEM;
		goto out;
	}
	if (strcmp(path, "/")) {
		r = index_latest(srv_reader(c->srv), dev.id, path, at, false, v);
		if (r == 0 && v->e.deleted)
			r = -ENOENT;
		if (r < 0)
			goto out;
		if (v->e.type != VG_DIR) {   /* ls of a file lists the file */
			if ((r = batch_take(&bt, v)) < 0 || (r = batch_flush(&bt)) < 0)
				goto out;
			r = mux_send_end(s);
			goto out;
		}
	}
	if ((r = ls_send(c, &bt, dev.id, path, at, q.recursive != 0)) == 0)
		r = mux_send_end(s);
out:
	if (r == -ENOENT)
		reply_error(s, ENOENT, "%s:%s: no such file or directory", name, path);
	else if (r < 0 && r != -ECONNRESET)
		reply_error(s, -r, "ls %s:%s: %s", name, path, strerror(-r));
	free(v);
	batch_free(&bt);
	return 0;
}

/* ---------------------------------------------------------------------- log */

static int do_log(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct vg_log_req q;
	const char *name = q.dev, *path = q.path;
	struct ident dev;
	struct batch bt;
	uint64_t after = 0;
	bool any = false;
	int r;

	proto_get_log_req(wr, &q);
	if (wire_done(wr) < 0)
		return -EPROTO;
	if (srv_find_device(c->srv, s, name, &dev) < 0)
		return 0;
	batch_init(&bt, s);
	for (;;) {
		r = index_log(srv_reader(c->srv), dev.id, path, after, SIZE_MAX, batch_take, &bt);
		if (r < 0)
			break;
		any = any || r > 0;
		if (!bt.full)
			break;
		after = bt.last_version;
		if ((r = batch_flush(&bt)) < 0)
			break;
	}
	if (r >= 0 && !any)
		r = -ENOENT;
	if (r >= 0 && (r = batch_flush(&bt)) == 0)
		r = mux_send_end(s);
	if (r == -ENOENT)
		reply_error(s, ENOENT, "%s:%s: no versions", name, path);
	else if (r < 0 && r != -ECONNRESET)
		reply_error(s, -r, "log %s:%s: %s", name, path, strerror(-r));
	batch_free(&bt);
	return 0;
}

/* --------------------------------------------------------------- stat, read */

/* The version a STAT or READ names: a number, else the newest at `at`
 * (deleted -> ENOENT).  The root always exists as a directory. */
static int pick_version(struct conn *c, int64_t dev, const char *path, uint64_t version,
			int64_t at, struct index_version *v)
{
	int r;

	if (version)
		return index_version_get(srv_reader(c->srv), dev, path, version, v);
	r = index_latest(srv_reader(c->srv), dev, path, at_or_latest(at), false, v);
	if (r == 0 && v->e.deleted)
		r = -ENOENT;
	if (r == -ENOENT && !strcmp(path, "/")) {
		memset(v, 0, sizeof(*v));
		snprintf(v->e.path, sizeof(v->e.path), "/");
		v->e.type = VG_DIR;
		v->e.mode = 0755;
		v->implicit = true;
		r = 0;
	}
	return r;
}

/* STAT's and READ's lookup: device `name` (an unknown one is answered
 * here), then pick_version into *vp, which the caller frees.  1 when the
 * request is answered already (unknown device, no memory; *vp not set),
 * else pick_version's 0 or -errno. */
static int find_version(struct conn *c, struct mux_stream *s, const char *name,
			const char *path, uint64_t version, int64_t at, struct ident *dev,
			struct index_version **vp)
{
	if (srv_find_device(c->srv, s, name, dev) < 0)
		return 1;
	if (!(*vp = malloc(sizeof(**vp)))) {
		reply_error(s, ENOMEM, "out of memory");
		return 1;
	}
	return pick_version(c, dev->id, path, version, at, *vp);
}

static int do_stat(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct vg_stat_req q;
	const char *name = q.dev, *path = q.path;
	struct index_version *v;
	struct ident dev;
	struct buf b;
	int r;

	proto_get_stat_req(wr, &q);
	if (wire_done(wr) < 0)
		return -EPROTO;
	if ((r = find_version(c, s, name, path, q.version, q.at, &dev, &v)) > 0)
		return 0;
	buf_init(&b, VG_MSG_MAX);
	if (r == 0) {
		proto_put_entry(&b, &v->e);
		if ((r = wire_buf_error(&b)) == 0)
			r = reply(s, MSG_ENTRY, &b);
	}
	if (r == -ENOENT)
		reply_error(s, ENOENT, "%s:%s: no such version", name, path);
	else if (r < 0 && r != -ECONNRESET)
		reply_error(s, -r, "stat %s:%s: %s", name, path, strerror(-r));
	buf_free(&b);
	free(v);
	return 0;
}

/* Streams [off, off+len) of a version's content as DATA frames, each read
 * into the frame's own buffer (mux_buf_new) and sent without a copy.
 * flags: the request's VG_READ_*. */
static int send_content(struct conn *c, struct mux_stream *s, const struct ident *dev,
			const struct index_version *v, uint64_t off, uint64_t len, uint32_t flags)
{
	struct content_ref ref = { .size = v->e.size };
	struct devkey key;
	struct vreader *vr = NULL;
	uint8_t *chunk = NULL;
	uint64_t end;
	ssize_t n;
	int r;

	memcpy(ref.root, v->content_root, 32);
	memcpy(key.k, dev->devkey, 32);
	if (off > v->e.size)
		return -EINVAL;
	end = len == 0 || len > v->e.size - off ? v->e.size : off + len;
	if (off < end && (r = vreader_open(c->srv->store, &key, &ref, &vr)) < 0)
		return r;
	if (vr)
		vreader_set_verified(vr, (flags & VG_READ_VERIFIED) != 0);
	if ((r = reply(s, MSG_OK, NULL)) < 0)
		goto out;
	while (off < end) {
		size_t want = end - off < MUX_FRAME_MAX ? (size_t)(end - off) : MUX_FRAME_MAX;

		if (!(chunk = mux_buf_new())) {
			r = -ECONNABORTED;
			goto out;
		}
		n = vreader_pread(vr, chunk, want, off);
		if (n <= 0) {
			r = n < 0 ? (int)n : -EIO;   /* short content: the store is damaged */
			log_errno(r, "read %s version %llu at %llu", v->e.path,
				  (unsigned long long)v->e.version, (unsigned long long)off);
			r = -ECONNABORTED;   /* OK was sent: end with a reset, not END */
			goto out;
		}
		r = mux_send_buf(s, chunk, (size_t)n);
		chunk = NULL;
		if (r < 0)
			goto out;
		off += (uint64_t)n;
	}
	r = mux_send_end(s);
out:
	mux_buf_free(chunk);
	vreader_free(vr);
	return r;
}

static int do_read(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct vg_read_req q;
	const char *name = q.dev, *path = q.path;
	struct index_version *v;
	struct ident dev;
	int r;

	proto_get_read_req(wr, &q);
	if (wire_done(wr) < 0)
		return -EPROTO;
	if ((r = find_version(c, s, name, path, q.version, 0, &dev, &v)) > 0)
		return 0;
	if (r == 0 && v->e.deleted)
		r = -ENOENT;
	if (r == 0 && v->e.type != VG_FILE)
		r = v->e.type == VG_DIR ? -EISDIR : -EINVAL;
	if (r == 0)
		r = send_content(c, s, &dev, v, q.off, q.len, q.flags);
	if (r == -ENOENT)
		reply_error(s, ENOENT, "%s:%s: no such version", name, path);
	else if (r == -EISDIR)
		reply_error(s, EISDIR, "%s:%s: is a directory", name, path);
	else if (r == -EINVAL)
		reply_error(s, EINVAL, "%s:%s: not a regular file, or offset past its end",
				    name, path);
	else if (r < 0 && r != -ECONNRESET && r != -ECONNABORTED)
		reply_error(s, -r, "read %s:%s: %s", name, path, strerror(-r));
	free(v);
	return r == -ECONNABORTED ? r : 0;
}

/* ------------------------------------------------------------------ devices */

/* One device of the reply, and its id in the index. */
struct qdev { struct vg_device d; int64_t id; };

static int collect_device(void *arg, const struct ident *id)
{
	struct vec *l = arg;
	struct qdev *q;

	if (l->n == QUERY_DEVICES_MAX)
		return -E2BIG;
	if (!(q = vec_add(l)))
		return -ENOMEM;
	snprintf(q->d.name, sizeof(q->d.name), "%s", id->name);
	q->id = id->id;
	return 0;
}

static int devices_send(struct conn *c, struct mux_stream *s, const struct vec *l)
{
	struct qdev *q = l->p;
	struct index_devstate st;
	struct reply_batch rb;
	struct buf one;
	size_t i;
	int r = 0;

	reply_batch_init(&rb, s, MSG_DEVICES);
	buf_init(&one, VG_MSG_MAX);
	for (i = 0; r == 0 && i < l->n; i++) {
		if ((r = index_dev_state(srv_reader(c->srv), q[i].id, &st)) < 0)
			break;
		q[i].d.online = srv_device_online(c->srv, q[i].id);
		q[i].d.last_seen_ns = st.last_seen_ns;
		q[i].d.files = st.files;
		q[i].d.bytes = st.bytes;
		buf_reset(&one);
		proto_put_device(&one, &q[i].d);
		if ((r = wire_buf_error(&one)) == 0)
			r = reply_batch_put(&rb, &one);
	}
	if (r == 0 && (r = reply_batch_flush(&rb)) == 0)
		r = mux_send_end(s);
	reply_batch_free(&rb);
	buf_free(&one);
	return r;
}

static int do_devices(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct vec l = VEC_INIT(struct qdev);
	int r;

	if (wire_done(wr) < 0)
		return -EPROTO;
	/* collect first: the index lock is held during the listing callback */
	r = index_ident_list(srv_reader(c->srv), ROLE_DEVICE, collect_device, &l);
	if (r == 0)
		r = devices_send(c, s, &l);
	if (r < 0 && r != -ECONNRESET)
		reply_error(s, -r, "devices: %s", strerror(-r));
	vec_free(&l);
	return 0;
}

/* ------------------------------------------------------------------- status */

static void add_event(void *arg, int64_t time_ns, const char *kind, const char *detail)
{
	struct vg_status *st = arg;

	if (st->nevents >= VG_STATUS_LIST_MAX)
		return;
	st->events[st->nevents].time_ns = time_ns;
	snprintf(st->events[st->nevents].kind, sizeof(st->events[0].kind), "%s", kind ? kind : "");
	snprintf(st->events[st->nevents].detail, sizeof(st->events[0].detail), "%s",
		 detail ? detail : "");
	st->nevents++;
}

static void add_command(void *arg, const struct cmd_row *c)
{
	struct vg_status *st = arg;

	if (st->ncommands >= VG_STATUS_LIST_MAX)
		return;
	st->commands[st->ncommands].id = c->st.id;
	snprintf(st->commands[st->ncommands].action, sizeof(st->commands[0].action), "%s",
		 c->action);
	snprintf(st->commands[st->ncommands].by, sizeof(st->commands[0].by), "%s", c->controller);
	snprintf(st->commands[st->ncommands].state, sizeof(st->commands[0].state), "%s",
		 c->st.state);
	st->commands[st->ncommands].issued_ns = c->issued_ns;
	st->commands[st->ncommands].updated_ns = c->st.updated_ns;
	st->ncommands++;
}

/* Freeze and erase state, the newest commands (expired ones marked first,
 * so a command past its expiry never shows as pending) and the events. */
static int status_commands(struct srv *srv, int64_t dev, struct vg_status *st)
{
	struct index *idx = srv_reader(srv);
	struct cmd_flags f;
	int r;

	/* marking writes: the writer's connection; the rest reads */
	if ((r = commands_expire(srv->idx, dev, real_ns())) < 0 ||
	    (r = commands_flags(idx, dev, &f)) < 0 ||
	    (r = commands_list(idx, dev, VG_STATUS_LIST_MAX, add_command, st)) < 0 ||
	    (r = index_events(idx, dev, VG_STATUS_LIST_MAX, add_event, st)) < 0)
		return r;
	st->frozen = f.frozen;
	snprintf(st->erase_state, sizeof(st->erase_state), "%s", f.erase_state);
	st->erase_files = f.erase_files;
	st->erase_bytes = f.erase_bytes;
	return 0;
}

/* The device's last retention pass and the store's last sweep. */
static int status_lifecycle(struct index *idx, int64_t dev, struct vg_status *st)
{
	struct retain_devinfo h;
	struct sweep_result w;
	int r;

	if ((r = retain_info(idx, dev, &h)) < 0)
		return r;
	st->retain_pass_ns = h.pass_ns;
	st->retain_dropped = h.dropped;
	if ((r = sweep_last(idx, &w)) == -ENOENT)
		return 0;
	st->sweep_at_ns = w.at_ns;
	st->sweep_deleted = w.s.deleted;
	st->sweep_deleted_bytes = w.s.deleted_bytes;
	return r;
}

/* The last SIM seen (its identity stays while none is present). */
static int status_sim(struct index *idx, int64_t dev, struct vg_status *st)
{
	struct sim_state ss;
	int r;

	if ((r = index_sim_get(idx, dev, &ss)) < 0)
		return r;
	memcpy(st->sim_iccid, ss.sim.iccid, sizeof(st->sim_iccid));
	memcpy(st->sim_imsi, ss.sim.imsi, sizeof(st->sim_imsi));
	st->sim_changed_ns = ss.changed_ns;
	return 0;
}

static int do_status(struct conn *c, struct mux_stream *s, struct wire_reader *wr)
{
	struct vg_status_req q;
	const char *name = q.dev;
	struct index_devstate ds;
	struct vg_status *st;
	struct ident dev;
	struct buf b;
	int r;

	proto_get_status_req(wr, &q);
	if (wire_done(wr) < 0)
		return -EPROTO;
	if (srv_find_device(c->srv, s, name, &dev) < 0)
		return 0;
	if (!(st = calloc(1, sizeof(*st)))) {
		reply_error(s, ENOMEM, "out of memory");
		return 0;
	}
	buf_init(&b, VG_MSG_MAX);
	if ((r = index_dev_state(srv_reader(c->srv), dev.id, &ds)) < 0)
		goto out;
	snprintf(st->device, sizeof(st->device), "%s", dev.name);
	st->online = srv_device_online(c->srv, dev.id);
	st->last_seen_ns = ds.last_seen_ns;
	st->backlog_files = ds.report.backlog_files;
	st->backlog_oldest_ns = ds.report.backlog_oldest_ns;
	st->backlog_at_ns = ds.report.at_ns;
	st->report_ns = ds.report_ns;
	st->has_xattrs = ds.has_xattrs;
	if ((r = index_quota_get(srv_reader(c->srv), dev.id, &st->quota_bytes,
				 &st->quota_used)) < 0 ||
	    (r = status_lifecycle(srv_reader(c->srv), dev.id, st)) < 0)
		goto out;
	if ((r = status_sim(srv_reader(c->srv), dev.id, st)) < 0 ||
	    (r = status_commands(c->srv, dev.id, st)) < 0 ||
	    (r = search_status(c->srv, dev.id, st)) < 0)
		goto out;
	proto_put_status(&b, st);
	if ((r = wire_buf_error(&b)) == 0)
		r = reply(s, MSG_STATUS, &b);
out:
	if (r < 0 && r != -ECONNRESET)
		reply_error(s, -r, "status %s: %s", name, strerror(-r));
	buf_free(&b);
	free(st);
	return 0;
}

/* ----------------------------------------------------------------- dispatch */

const struct srv_handler query_handlers[] = {
	{ MSG_CTL_DEVICES, do_devices },
	{ MSG_CTL_LS, do_ls },
	{ MSG_CTL_LOG, do_log },
	{ MSG_CTL_STAT, do_stat },
	{ MSG_CTL_READ, do_read },
	{ MSG_CTL_STATUS, do_status },
	{ MSG_CTL_SEARCH, search_handle },
	{ 0, NULL },
};
