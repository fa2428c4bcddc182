/* getdirect.c — the receiving end of `vigil get --direct`: the device's
 * items, relayed by the server (an ENTRY per item; a regular file's
 * content follows it as DATA, e->size bytes, with its sha256 in the
 * entry), restored by restore.c exactly as a stored-copy `get` restores
 * them: verified against the sha256, written to a temporary file, renamed
 * into place, metadata applied. */
#include "controller/getdirect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "controller/restore.h"

struct direct {
	struct rpc rp;              /* the session's timeouts and cancellation */
	struct mux_stream *s;
	uint64_t left;            /* DATA bytes of the current file not read yet */
	struct buf msg;
	char err[VG_ERRMSG_MAX];
};

/* Reads the current file's DATA into sink (NULL: skips it). */
static int take_data(struct direct *d, restore_sink_fn sink, void *sink_arg)
{
	uint16_t t;
	int r;

	while (d->left > 0) {
		r = rpc_recv(&d->rp, d->s, &t, &d->msg);
		if (r < 0 && d->rp.remote) {
			snprintf(d->err, sizeof(d->err), "%s", d->rp.err);
			return r;
		}
		if (r != MUX_DATA || d->msg.len > d->left) {
			snprintf(d->err, sizeof(d->err), "%s", r == MUX_END ? "content cut short" :
				 r < 0 ? "connection lost" : "unexpected reply");
			return r < 0 ? r : -EPROTO;
		}
		d->left -= d->msg.len;
		if (sink && (r = sink(sink_arg, d->msg.data, d->msg.len)) < 0)
			return r;
	}
	return 0;
}

/* restore_src.fetch: the DATA that follows the entry just read. */
static int fetch(void *arg, const struct vg_entry *e, restore_sink_fn sink, void *sink_arg,
		 char *err, size_t errlen)
{
	struct direct *d = arg;
	int r = take_data(d, sink, sink_arg);

	if (r < 0)
		snprintf(err, errlen, "device: %s", d->err[0] ? d->err : strerror(-r));
	return r;
}

/* The next item: 1 with e filled, 0 at END, -errno (reason logged). */
static int next_entry(struct direct *d, struct vg_entry *e)
{
	struct wire_reader wr;
	uint16_t t;
	int r = rpc_recv(&d->rp, d->s, &t, &d->msg);

	if (r == MUX_END)
		return 0;
	if (r < 0 && d->rp.remote) {
		snprintf(d->err, sizeof(d->err), "%s", d->rp.err);
		log_warnx("%s", d->err);
		return r;
	}
	if (r != MUX_MSG || t != MSG_ENTRY) {
		log_warnx("%s", r == -ECONNRESET ? "the fetch was cut short (device or server gone)" :
			  r < 0 ? strerror(-r) : "unexpected reply");
		return r < 0 ? r : -EPROTO;
	}
	wire_reader_init(&wr, d->msg.data, d->msg.len);
	proto_get_entry(&wr, e);
	if (wire_done(&wr) < 0 || e->type < VG_FILE || e->type > VG_SYMLINK) {
		log_warnx("device: a malformed entry");
		return -EPROTO;
	}
	d->left = e->type == VG_FILE ? e->size : 0;
	return 1;
}

static int receive(struct direct *d, struct restore *rs, const char *dest, const char *dev)
{
	struct vg_entry *e = malloc(sizeof(*e));
	char target[PATH_MAX], root[PATH_MAX];
	const char *name, *rel;
	int r;

	if (!e)
		return -ENOMEM;
	if ((r = next_entry(d, e)) <= 0) {
		if (r == 0)
			log_warnx("device: sent nothing");
		free(e);
		return r == 0 ? -EPROTO : r;
	}
	snprintf(root, sizeof(root), "%s", e->path);
	name = strrchr(root, '/') + 1;
	if (restore_target(dest, *name ? name : dev, target, sizeof(target)) < 0) {
		log_warnx("%s: name too long", dest);
		free(e);
		return -ENAMETOOLONG;
	}
	if (e->type != VG_DIR) {
		r = restore_one(rs, target, e);
		if (r == 0 && (r = take_data(d, NULL, NULL)) == 0 && next_entry(d, e) != 0)
			r = -EPROTO;   /* one file: nothing may follow */
		free(e);
		return r;
	}
	r = restore_tree_begin(rs, target, e) < 0 ? -EIO : 0;
	while (r == 0 && (r = next_entry(d, e)) == 1) {
		if (!(rel = restore_below(root, e->path))) {
			log_warnx("device: sent %s, outside %s", e->path, root);
			r = -EPROTO;
			break;
		}
		restore_tree_add(rs, rel, e);   /* failures are counted by restore */
		r = take_data(d, NULL, NULL);
		if (r < 0)
			log_warnx("device: %s", d->err[0] ? d->err : strerror(-r));
	}
	free(e);
	return r;
}

int getdirect_receive(struct ctl *c, struct mux_stream *s, const char *dev, const char *dest,
		      bool keep_privileged)
{
	struct direct d = { .s = s };
	struct restore_src src = { fetch, &d };
	struct restore *rs;
	int r;

	ctl_rpc(c, &d.rp);
	buf_init(&d.msg, MUX_FRAME_MAX);
	if (!(rs = restore_new(&src, geteuid() == 0, isatty(STDERR_FILENO)))) {
		buf_free(&d.msg);
		return -ENOMEM;
	}
	restore_keep_privileged(rs, keep_privileged);
	r = receive(&d, rs, dest, dev);
	if (restore_finish(rs) < 0 && r == 0)
		r = -EIO;
	restore_free(rs);
	buf_free(&d.msg);
	return r;
}
