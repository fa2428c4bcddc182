/* proto.c — encode/decode of the messages in proto.h, shared by all ends. */
#include "common/proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/chunker.h"
#include "common/names.h"

static void get_path(struct wire_reader *r, char *out)
{
	wire_get_str(r, out, PATH_MAX);
	if (!r->err && !path_valid(out))
		r->err = -EBADMSG;
}

void proto_put_entry(struct buf *b, const struct vg_entry *e)
{
	wire_put_str(b, e->path);
	wire_put_u8(b, e->type);
	wire_put_u8(b, e->deleted);
	wire_put_u32(b, e->mode);
	wire_put_u32(b, e->uid);
	wire_put_u32(b, e->gid);
	wire_put_u64(b, e->size);
	wire_put_i64(b, e->mtime_ns);
	wire_put_u64(b, e->version);
	wire_put_i64(b, e->capture_ns);
	wire_put_i64(b, e->recv_ns);
	wire_put_bytes(b, e->sha256, 32);
	wire_put_bytes(b, e->tree_root, 32);
	wire_put_str(b, e->link);
	wire_put_blob(b, e->xattrs, e->xattr_len);
	wire_put_bytes(b, e->digest, sizeof(e->digest));
}

void proto_get_entry(struct wire_reader *r, struct vg_entry *e)
{
	const uint8_t *x;
	size_t n;

	get_path(r, e->path);
	e->type = wire_get_u8(r);
	e->deleted = wire_get_u8(r);
	e->mode = wire_get_u32(r) & 07777;
	e->uid = wire_get_u32(r);
	e->gid = wire_get_u32(r);
	e->size = wire_get_u64(r);
	e->mtime_ns = wire_get_i64(r);
	e->version = wire_get_u64(r);
	e->capture_ns = wire_get_i64(r);
	e->recv_ns = wire_get_i64(r);
	wire_get_bytes(r, e->sha256, 32);
	wire_get_bytes(r, e->tree_root, 32);
	wire_get_str(r, e->link, PATH_MAX);
	x = wire_get_blob(r, VG_XATTR_MAX, &n);
	e->xattr_len = (uint32_t)n;
	if (x)
		memcpy(e->xattrs, x, n);
	wire_get_bytes(r, e->digest, sizeof(e->digest));
	if (!r->err && (e->type < VG_FILE || e->type > VG_SYMLINK))
		r->err = -EBADMSG;
}

void proto_put_put(struct buf *b, const struct vg_put *p)
{
	proto_put_entry(b, &p->e);
	wire_put_u8(b, p->body);
	wire_put_u64(b, p->base_version);
	wire_put_bytes(b, p->token, sizeof(p->token));
	wire_put_str(b, p->body == PUT_RENAME ? p->from : "");
}

void proto_get_put(struct wire_reader *r, struct vg_put *p)
{
	proto_get_entry(r, &p->e);
	memset(p->e.digest, 0, sizeof(p->e.digest));   /* the server's to set */
	p->body = wire_get_u8(r);
	p->base_version = wire_get_u64(r);
	wire_get_bytes(r, p->token, sizeof(p->token));
	if (r->err)
		return;
	if (p->body == PUT_RENAME)
		get_path(r, p->from);
	else
		wire_get_str(r, p->from, PATH_MAX);
	if (!r->err && (p->body < PUT_WHOLE || p->body > PUT_RENAME))
		r->err = -EBADMSG;
}

void proto_put_batch_item(struct buf *b, const struct vg_put *put, uint8_t flags)
{
	proto_put_put(b, put);
	wire_put_u8(b, flags);
}

void proto_get_batch_item(struct wire_reader *r, struct vg_batch_item *it)
{
	static const uint8_t zero[16];
	const struct vg_put *p = &it->put;

	proto_get_put(r, &it->put);
	it->flags = wire_get_u8(r);
	if (r->err)
		return;
	if (p->body != PUT_WHOLE || p->e.type != VG_FILE || p->e.deleted ||
	    p->e.size > PUTBATCH_BODY_MAX || memcmp(p->token, zero, 16) ||
	    (it->flags & ~PUTBATCH_NEW_PATH))
		r->err = -EBADMSG;
}

void proto_put_batch_done(struct buf *b, const struct vg_batch_result *res, uint32_t n)
{
	wire_put_u32(b, n);
	for (uint32_t i = 0; i < n; i++) {
		wire_put_u64(b, res[i].version);
		wire_put_u32(b, res[i].err);
		wire_put_u8(b, res[i].adopted);
	}
}

void proto_get_batch_done(struct wire_reader *r, struct vg_batch_result *res, uint32_t max,
			  uint32_t *n)
{
	*n = wire_get_u32(r);
	if (r->err)
		return;
	if (*n > max || *n > PUTBATCH_ITEMS_MAX) {
		r->err = -EBADMSG;
		return;
	}
	for (uint32_t i = 0; i < *n && !r->err; i++) {
		res[i].version = wire_get_u64(r);
		res[i].err = wire_get_u32(r);
		res[i].adopted = wire_get_u8(r);
		if (!r->err && (res[i].adopted > 1 || (res[i].err && res[i].version)))
			r->err = -EBADMSG;
	}
}

void proto_put_put_trailer(struct buf *b, const struct vg_put_trailer *t)
{
	wire_put_u8(b, t->abandon);
	wire_put_u8(b, t->flags);
	wire_put_bytes(b, t->digest, VG_DIGEST_LEN);
}

void proto_get_put_trailer(struct wire_reader *r, struct vg_put_trailer *t)
{
	t->abandon = wire_get_u8(r);
	t->flags = wire_get_u8(r);
	wire_get_bytes(r, t->digest, VG_DIGEST_LEN);
	if (!r->err && (t->abandon > 1 || (t->flags & ~VG_TRAILER_LIST)))
		r->err = -EBADMSG;
}

/* {u16 n, u32 len * n} */
void proto_put_put_cuts(struct buf *b, const struct vg_put_cuts *t)
{
	uint32_t i;

	wire_put_u16(b, (uint16_t)t->n);
	for (i = 0; i < t->n && i < VG_CUTS_MAX; i++)
		wire_put_u32(b, t->len[i]);
}

void proto_get_put_cuts(struct wire_reader *r, struct vg_put_cuts *t)
{
	uint32_t i;

	t->n = wire_get_u16(r);
	if (!r->err && (t->n == 0 || t->n > VG_CUTS_MAX))
		r->err = -EBADMSG;
	for (i = 0; !r->err && i < t->n; i++) {
		t->len[i] = wire_get_u32(r);
		if (!r->err && (t->len[i] == 0 || t->len[i] > CHUNK_MAX))
			r->err = -EBADMSG;
	}
}

void proto_put_put_stored(struct buf *b, const struct vg_put_stored *t)
{
	wire_put_u64(b, t->version);
	wire_put_bytes(b, t->tree_root, 32);
	wire_put_bytes(b, t->sha256, 32);
	wire_put_u64(b, t->n_chunks);
}

void proto_get_put_stored(struct wire_reader *r, struct vg_put_stored *t)
{
	t->version = wire_get_u64(r);
	wire_get_bytes(r, t->tree_root, 32);
	wire_get_bytes(r, t->sha256, 32);
	t->n_chunks = wire_get_u64(r);
}

void proto_put_device(struct buf *b, const struct vg_device *d)
{
	wire_put_str(b, d->name);
	wire_put_u8(b, d->online);
	wire_put_i64(b, d->last_seen_ns);
	wire_put_u64(b, d->files);
	wire_put_u64(b, d->bytes);
}

void proto_get_device(struct wire_reader *r, struct vg_device *d)
{
	wire_get_str(r, d->name, sizeof(d->name));
	d->online = wire_get_u8(r);
	d->last_seen_ns = wire_get_i64(r);
	d->files = wire_get_u64(r);
	d->bytes = wire_get_u64(r);
}

void proto_put_report(struct buf *b, const struct vg_report *rep)
{
	uint32_t i, n = rep->ncounters > VG_COUNTERS_MAX ? VG_COUNTERS_MAX : rep->ncounters;

	wire_put_u64(b, rep->backlog_files);
	wire_put_i64(b, rep->backlog_oldest_ns);
	wire_put_str(b, rep->tracker);
	wire_put_u32(b, n);
	for (i = 0; i < n; i++) {
		wire_put_str(b, rep->counters[i].name);
		wire_put_u64(b, rep->counters[i].value);
	}
	wire_put_i64(b, rep->at_ns);
}

void proto_get_report(struct wire_reader *r, struct vg_report *rep)
{
	uint32_t i;

	rep->backlog_files = wire_get_u64(r);
	rep->backlog_oldest_ns = wire_get_i64(r);
	wire_get_str(r, rep->tracker, sizeof(rep->tracker));
	rep->ncounters = wire_get_u32(r);
	if (rep->ncounters > VG_COUNTERS_MAX) {
		r->err = -EBADMSG;
		rep->ncounters = 0;
	}
	for (i = 0; i < rep->ncounters && !r->err; i++) {
		wire_get_str(r, rep->counters[i].name, sizeof(rep->counters[i].name));
		rep->counters[i].value = wire_get_u64(r);
	}
	rep->at_ns = wire_get_i64(r);
}

void proto_put_sim(struct buf *b, const struct vg_sim *s)
{
	wire_put_i64(b, s->time_ns);
	wire_put_u8(b, s->present);
	wire_put_u8(b, s->allowed);
	wire_put_str(b, s->iccid);
	wire_put_str(b, s->imsi);
	wire_put_str(b, s->operator_name);
}

/* Printable ASCII only: an ICCID or IMSI ends up in events and JSON. */
static bool ident_ok(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

void proto_get_sim(struct wire_reader *r, struct vg_sim *s)
{
	s->time_ns = wire_get_i64(r);
	s->present = wire_get_u8(r);
	s->allowed = wire_get_u8(r);
	wire_get_str(r, s->iccid, sizeof(s->iccid));
	wire_get_str(r, s->imsi, sizeof(s->imsi));
	wire_get_str(r, s->operator_name, sizeof(s->operator_name));
	if (!r->err && (s->present > 1 || s->allowed > 1 || !ident_ok(s->iccid) ||
			!ident_ok(s->imsi)))
		r->err = -EBADMSG;
}

void proto_put_status(struct buf *b, const struct vg_status *s)
{
	uint32_t i, nc = s->ncommands > VG_STATUS_LIST_MAX ? VG_STATUS_LIST_MAX : s->ncommands;
	uint32_t ne = s->nevents > VG_STATUS_LIST_MAX ? VG_STATUS_LIST_MAX : s->nevents;

	wire_put_str(b, s->device);
	wire_put_u8(b, s->online);
	wire_put_i64(b, s->last_seen_ns);
	wire_put_u64(b, s->backlog_files);
	wire_put_i64(b, s->backlog_oldest_ns);
	wire_put_u8(b, s->frozen);
	wire_put_str(b, s->erase_state);
	wire_put_u64(b, s->erase_files);
	wire_put_u64(b, s->erase_bytes);
	wire_put_str(b, s->sim_iccid);
	wire_put_str(b, s->sim_imsi);
	wire_put_i64(b, s->sim_changed_ns);
	wire_put_u32(b, nc);
	for (i = 0; i < nc; i++) {
		wire_put_u64(b, s->commands[i].id);
		wire_put_str(b, s->commands[i].action);
		wire_put_str(b, s->commands[i].by);
		wire_put_str(b, s->commands[i].state);
		wire_put_i64(b, s->commands[i].issued_ns);
		wire_put_i64(b, s->commands[i].updated_ns);
	}
	wire_put_u32(b, ne);
	for (i = 0; i < ne; i++) {
		wire_put_i64(b, s->events[i].time_ns);
		wire_put_str(b, s->events[i].kind);
		wire_put_str(b, s->events[i].detail);
	}
	wire_put_u64(b, s->index_files);
	wire_put_u64(b, s->index_versions);
	wire_put_u64(b, s->index_unparsed);
	wire_put_u64(b, s->index_path_only);
	wire_put_u64(b, s->index_pending);
	wire_put_u8(b, s->has_xattrs);
	wire_put_i64(b, s->backlog_at_ns);
	wire_put_i64(b, s->report_ns);
	wire_put_u64(b, s->quota_bytes);
	wire_put_u64(b, s->quota_used);
	wire_put_i64(b, s->retain_pass_ns);
	wire_put_u64(b, s->retain_dropped);
	wire_put_i64(b, s->sweep_at_ns);
	wire_put_u64(b, s->sweep_deleted);
	wire_put_u64(b, s->sweep_deleted_bytes);
}

void proto_get_status(struct wire_reader *r, struct vg_status *s)
{
	uint32_t i;

	wire_get_str(r, s->device, sizeof(s->device));
	s->online = wire_get_u8(r);
	s->last_seen_ns = wire_get_i64(r);
	s->backlog_files = wire_get_u64(r);
	s->backlog_oldest_ns = wire_get_i64(r);
	s->frozen = wire_get_u8(r);
	wire_get_str(r, s->erase_state, sizeof(s->erase_state));
	s->erase_files = wire_get_u64(r);
	s->erase_bytes = wire_get_u64(r);
	wire_get_str(r, s->sim_iccid, sizeof(s->sim_iccid));
	wire_get_str(r, s->sim_imsi, sizeof(s->sim_imsi));
	s->sim_changed_ns = wire_get_i64(r);
	s->ncommands = wire_get_u32(r);
	if (s->ncommands > VG_STATUS_LIST_MAX)
		r->err = -EBADMSG;
	for (i = 0; i < s->ncommands && !r->err; i++) {
		s->commands[i].id = wire_get_u64(r);
		wire_get_str(r, s->commands[i].action, sizeof(s->commands[i].action));
		wire_get_str(r, s->commands[i].by, sizeof(s->commands[i].by));
		wire_get_str(r, s->commands[i].state, sizeof(s->commands[i].state));
		s->commands[i].issued_ns = wire_get_i64(r);
		s->commands[i].updated_ns = wire_get_i64(r);
	}
	s->nevents = r->err ? 0 : wire_get_u32(r);
	if (s->nevents > VG_STATUS_LIST_MAX)
		r->err = -EBADMSG;
	for (i = 0; i < s->nevents && !r->err; i++) {
		s->events[i].time_ns = wire_get_i64(r);
		wire_get_str(r, s->events[i].kind, sizeof(s->events[i].kind));
		wire_get_str(r, s->events[i].detail, sizeof(s->events[i].detail));
	}
	s->index_files = wire_get_u64(r);
	s->index_versions = wire_get_u64(r);
	s->index_unparsed = wire_get_u64(r);
	s->index_path_only = wire_get_u64(r);
	s->index_pending = wire_get_u64(r);
	s->has_xattrs = wire_get_u8(r);
	s->backlog_at_ns = wire_get_i64(r);
	s->report_ns = wire_get_i64(r);
	s->quota_bytes = wire_get_u64(r);
	s->quota_used = wire_get_u64(r);
	s->retain_pass_ns = wire_get_i64(r);
	s->retain_dropped = wire_get_u64(r);
	s->sweep_at_ns = wire_get_i64(r);
	s->sweep_deleted = wire_get_u64(r);
	s->sweep_deleted_bytes = wire_get_u64(r);
	if (r->err)
		s->ncommands = s->nevents = 0;
}

void proto_put_hit(struct buf *b, const struct vg_hit *h)
{
	wire_put_str(b, h->path);
	wire_put_u64(b, h->version);
	wire_put_i64(b, h->time_ns);
	wire_put_str(b, h->snippet);
}

void proto_get_hit(struct wire_reader *r, struct vg_hit *h)
{
	get_path(r, h->path);
	h->version = wire_get_u64(r);
	h->time_ns = wire_get_i64(r);
	wire_get_str(r, h->snippet, sizeof(h->snippet));
}

/* ----------------------------------------------------------------- requests */

void proto_put_ls_req(struct buf *b, const struct vg_ls_req *q)
{
	wire_put_str(b, q->dev);
	wire_put_str(b, q->path);
	wire_put_i64(b, q->at);
	wire_put_u8(b, q->recursive);
}

void proto_get_ls_req(struct wire_reader *r, struct vg_ls_req *q)
{
	wire_get_str(r, q->dev, sizeof(q->dev));
	get_path(r, q->path);
	q->at = wire_get_i64(r);
	q->recursive = wire_get_u8(r);
}

void proto_put_log_req(struct buf *b, const struct vg_log_req *q)
{
	wire_put_str(b, q->dev);
	wire_put_str(b, q->path);
}

void proto_get_log_req(struct wire_reader *r, struct vg_log_req *q)
{
	wire_get_str(r, q->dev, sizeof(q->dev));
	get_path(r, q->path);
}

void proto_put_stat_req(struct buf *b, const struct vg_stat_req *q)
{
	wire_put_str(b, q->dev);
	wire_put_str(b, q->path);
	wire_put_u64(b, q->version);
	wire_put_i64(b, q->at);
}

void proto_get_stat_req(struct wire_reader *r, struct vg_stat_req *q)
{
	wire_get_str(r, q->dev, sizeof(q->dev));
	get_path(r, q->path);
	q->version = wire_get_u64(r);
	q->at = wire_get_i64(r);
}

void proto_put_read_req(struct buf *b, const struct vg_read_req *q)
{
	wire_put_str(b, q->dev);
	wire_put_str(b, q->path);
	wire_put_u64(b, q->version);
	wire_put_u64(b, q->off);
	wire_put_u64(b, q->len);
	wire_put_u32(b, q->flags);
}

void proto_get_read_req(struct wire_reader *r, struct vg_read_req *q)
{
	wire_get_str(r, q->dev, sizeof(q->dev));
	get_path(r, q->path);
	q->version = wire_get_u64(r);
	q->off = wire_get_u64(r);
	q->len = wire_get_u64(r);
	q->flags = wire_get_u32(r);
}

void proto_put_status_req(struct buf *b, const struct vg_status_req *q)
{
	wire_put_str(b, q->dev);
}

void proto_get_status_req(struct wire_reader *r, struct vg_status_req *q)
{
	wire_get_str(r, q->dev, sizeof(q->dev));
}

void proto_put_search_req(struct buf *b, const struct vg_search_req *q)
{
	uint32_t i, n = q->nwords > VG_SEARCH_WORDS_MAX ? VG_SEARCH_WORDS_MAX : q->nwords;

	wire_put_str(b, q->dev);
	wire_put_u8(b, q->all_versions);
	wire_put_u32(b, n);
	for (i = 0; i < n; i++)
		wire_put_str(b, q->words[i]);
}

void proto_get_search_req(struct wire_reader *r, struct vg_search_req *q)
{
	uint32_t i;

	wire_get_str(r, q->dev, sizeof(q->dev));
	q->all_versions = wire_get_u8(r);
	q->nwords = wire_get_u32(r);
	if (q->nwords > VG_SEARCH_WORDS_MAX) {
		r->err = -EBADMSG;
		q->nwords = 0;
	}
	for (i = 0; i < q->nwords && !r->err; i++)
		wire_get_str(r, q->words[i], sizeof(q->words[i]));
	if (r->err)
		q->nwords = 0;
}

void proto_put_latest_req(struct buf *b, const struct vg_latest_req *q)
{
	wire_put_str(b, q->path);
}

void proto_get_latest_req(struct wire_reader *r, struct vg_latest_req *q)
{
	get_path(r, q->path);
}

void proto_put_sig_req(struct buf *b, const struct vg_sig_req *q)
{
	wire_put_str(b, q->path);
	wire_put_u64(b, q->version);
}

void proto_get_sig_req(struct wire_reader *r, struct vg_sig_req *q)
{
	get_path(r, q->path);
	q->version = wire_get_u64(r);
}

void proto_put_rsig_req(struct buf *b, const struct vg_sig_req *q)
{
	proto_put_sig_req(b, q);
	wire_put_u64(b, q->off);
	wire_put_u64(b, q->len);
}

void proto_get_rsig_req(struct wire_reader *r, struct vg_sig_req *q)
{
	proto_get_sig_req(r, q);
	q->off = wire_get_u64(r);
	q->len = wire_get_u64(r);
}

/* -------------------------------------------------------------------- error */

void proto_put_error(struct buf *b, int code, const char *text)
{
	wire_put_u32(b, (uint32_t)(code < 0 ? -code : code));
	wire_put_str(b, text);
}

int proto_get_error(const uint8_t *msg, size_t len, char *text, size_t cap)
{
	struct wire_reader r;
	uint32_t code;

	wire_reader_init(&r, msg, len);
	code = wire_get_u32(&r);
	wire_get_str(&r, text, cap);
	if (wire_ok(&r) < 0) {
		snprintf(text, cap, "malformed error reply");
		return EBADMSG;
	}
	/* a peer's code outside 1..INT_MAX would read as success or overflow -code */
	return code && code <= INT_MAX ? (int)code : EIO;
}
