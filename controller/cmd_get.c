/* cmd_get.c — `vigil get`: fetch one version of a file, or a whole tree as
 * of a time, from the server's store into DEST (restore.c does the writing). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/conffile.h"
#include "common/log.h"
#include "common/names.h"
#include "common/timefmt.h"
#include "common/vec.h"
#include "controller/cmdsend.h"
#include "controller/commands.h"
#include "controller/getdirect.h"
#include "controller/seqfile.h"
#include "controller/jsonout.h"
#include "controller/pget.h"
#include "controller/restore.h"

/* A direct fetch that has not reached the device by then never runs. */
#define CMD_FETCH_EXPIRE_NS (10LL * 60 * 1000000000)

static const char *usage_get = "vigil get DEVICE:PATH [--at TIME | --version N] [--direct]\n"
	"          [--keep-privileged] -o|--output DEST\n"
	"  Fetches a file, or a directory's whole tree, as it was at TIME (default:\n"
	"  latest) or as version N.  DEST is created; when DEST is an existing\n"
	"  directory the item goes inside it under its own name (like cp).  An\n"
	"  existing file is never overwritten unless it already is that version.\n"
	"  Content is verified by sha256 (by the chunk-tree root while the server\n"
	"  is still computing a fresh version's sha256); mode, mtime (owner as\n"
	"  root), extended attributes (user.* and ACLs), symlinks and empty\n"
	"  directories are restored.  Setuid/setgid bits and security.*/trusted.*\n"
	"  attributes are left out unless --keep-privileged (the attributes need\n"
	"  root).\n"
	"  --direct: from the device itself, through the server's relay (a command\n"
	"  signed with this controller's key; only paths under the device's watched\n"
	"  roots, no symlink followed); verified against the device's sha256.\n";

struct get {
	struct ctl *c;
	const char *dev;
};

/* One tree item, compact (a struct vg_entry is ~24 KiB). */
struct item {
	char *path, *link;
	uint8_t type;
	uint32_t mode, uid, gid;
	uint64_t size, version;
	int64_t mtime_ns;
	uint8_t sha256[32], tree_root[32];   /* tree_root: when sha256 is pending */
	uint8_t *xattrs;     /* NULL when the version has none */
	uint32_t xattr_len;
};

/* The fields an item keeps of a vg_entry besides path, link and xattrs, in
 * either direction (item from entry when listed, entry from item when
 * restored): one list, so a field added to the item is carried both ways. */
#define ITEM_META_COPY(dst, src) do {					\
		(dst)->type = (src)->type;				\
		(dst)->mode = (src)->mode;				\
		(dst)->uid = (src)->uid;				\
		(dst)->gid = (src)->gid;				\
		(dst)->size = (src)->size;				\
		(dst)->version = (src)->version;			\
		(dst)->mtime_ns = (src)->mtime_ns;			\
		memcpy((dst)->sha256, (src)->sha256, 32);		\
		memcpy((dst)->tree_root, (src)->tree_root, 32);		\
	} while (0)

struct items {
	struct vec v;               /* struct item */
	struct vg_entry *scratch;
};

/* One MSG_CTL_READ of [off, off+len) of version e; DATA goes to sink.
 * cancel: stop waiting once set. */
static int read_range(struct get *g, const struct vg_entry *e, uint64_t off, uint64_t len,
		      restore_sink_fn sink, void *sink_arg, const volatile sig_atomic_t *cancel,
		      char *err, size_t errlen)
{
	/* every byte is checked against the version's sha256 or tree root
	 * (restore.c): the server need not hash each chunk as well */
	struct vg_read_req q = { .version = e->version, .off = off, .len = len,
				 .flags = VG_READ_VERIFIED };
	struct rpc r;
	struct buf req;
	int rc;

	snprintf(q.dev, sizeof(q.dev), "%s", g->dev);
	snprintf(q.path, sizeof(q.path), "%s", e->path);
	buf_init(&req, MUX_FRAME_MAX);
	proto_put_read_req(&req, &q);
	ctl_rpc(g->c, &r);
	r.cancel = cancel;
	rc = rpc_stream(&r, MSG_CTL_READ, &req, sink, sink_arg);
	if (rc == -ECONNRESET && mux_alive(g->c->m)) {
		/* the server reset this stream only: it failed to read its copy */
		rc = -EIO;
		snprintf(err, errlen, "server: the read was cut off (the server logs why)");
	} else if (rc < 0 && (r.remote || r.err[0])) {
		snprintf(err, errlen, "%s%s", rc == -EINTR && !r.remote ? "" : "server: ", r.err);
	}
	buf_free(&req);
	return rc;
}

struct range_ctx {
	struct get *g;
	const struct vg_entry *e;
};

/* pget_range_fn: a range of the version on a stream of its own. */
static int fetch_range(void *arg, uint64_t off, uint64_t len, restore_sink_fn sink,
		       void *sink_arg, const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct range_ctx *rc = arg;

	return read_range(rc->g, rc->e, off, len, sink, sink_arg, stop, err, errlen);
}

/* Streams a large get uses: VIGIL_GET_STREAMS (1 .. PGET_WORKERS_MAX) when
 * set, else PGET_WORKERS with 4 CPUs or more, else 1.  On 2 CPUs one
 * stream already keeps both busy (server handler and I/O thread, client
 * I/O thread and writer), and a second cost 15-25% more CPU for no gain
 * (docs/performance.md, "Reads"). */
static int get_streams(void)
{
	const char *v = getenv("VIGIL_GET_STREAMS");
	char *end;
	long n;

	if (!v || !*v)
		return sysconf(_SC_NPROCESSORS_ONLN) >= 4 ? PGET_WORKERS : 1;
	n = strtol(v, &end, 10);
	return *end || n < 1 ? 1 : n > PGET_WORKERS_MAX ? PGET_WORKERS_MAX : (int)n;
}

/* restore_src.fetch: the whole version into sink, in order; a large one in
 * ranges over several streams at once (pget.h). */
static int fetch(void *arg, const struct vg_entry *e, restore_sink_fn sink, void *sink_arg,
		 char *err, size_t errlen)
{
	struct get *g = arg;
	struct range_ctx rc = { g, e };
	int streams = get_streams();

	if (e->size == 0)
		return 0;
	if (e->size < PGET_MIN || streams == 1)
		return read_range(g, e, 0, e->size, sink, sink_arg, &ctl_quit, err, errlen);
	return pget_run(e->size, streams, fetch_range, &rc, sink, sink_arg, &ctl_quit, err, errlen);
}

static int item_add(void *arg, struct wire_reader *r)
{
	struct items *it = arg;
	struct vg_entry *e = it->scratch;
	struct item *x;

	proto_get_entry(r, e);
	if (wire_ok(r) < 0)
		return -EBADMSG;
	if (e->deleted)
		return 0;
	if (!(x = vec_add(&it->v)))
		return -ENOMEM;
	x->path = strdup(e->path);
	x->link = e->type == VG_SYMLINK ? strdup(e->link) : NULL;
	if (e->xattr_len > 0 && e->xattr_len <= VG_XATTR_MAX &&
	    (x->xattrs = malloc(e->xattr_len)) != NULL) {
		memcpy(x->xattrs, e->xattrs, e->xattr_len);
		x->xattr_len = e->xattr_len;
	}
	if (!x->path || (e->type == VG_SYMLINK && !x->link) || (e->xattr_len && !x->xattrs))
		return -ENOMEM;   /* the listing fails; items_free frees what x holds */
	ITEM_META_COPY(x, e);
	return 0;
}

static void items_free(struct items *it)
{
	struct item *x = it->v.p;

	for (size_t i = 0; i < it->v.n; i++) {
		free(x[i].path);
		free(x[i].link);
		free(x[i].xattrs);
	}
	vec_free(&it->v);
	free(it->scratch);
}

static int get_tree(struct get *g, struct restore *rs, const char *target,
		    const struct vg_entry *root, int64_t at)
{
	char what[PATH_MAX + VG_NAME_MAX + 8];
	struct vg_ls_req q = { .at = at, .recursive = 1 };
	struct items it = { .v = VEC_INIT(struct item) };
	struct buf req;
	size_t i;
	long n;
	int r;

	if (restore_tree_begin(rs, target, root) < 0)
		return -EIO;
	if (!(it.scratch = malloc(sizeof(*it.scratch))))
		return -ENOMEM;
	ctl_target_str(g->dev, root->path, what, sizeof(what));
	snprintf(q.dev, sizeof(q.dev), "%s", g->dev);
	snprintf(q.path, sizeof(q.path), "%s", root->path);
	buf_init(&req, MUX_FRAME_MAX);
	proto_put_ls_req(&req, &q);
	n = ctl_list(g->c, MSG_CTL_LS, &req, MSG_ENTRIES, what, item_add, &it);
	buf_free(&req);
	r = n < 0 ? (int)n : 0;
	for (i = 0; r == 0 && i < it.v.n; i++) {
		struct item *x = (struct item *)it.v.p + i;
		struct vg_entry *e = it.scratch;
		const char *rel = restore_below(root->path, x->path);

		if (!rel) {
			log_warnx("server listed %s outside %s; skipped", x->path, what);
			continue;
		}
		memset(e, 0, offsetof(struct vg_entry, xattrs));
		snprintf(e->path, sizeof(e->path), "%s", x->path);
		if (x->link)
			snprintf(e->link, sizeof(e->link), "%s", x->link);
		ITEM_META_COPY(e, x);
		if (x->xattr_len)
			memcpy(e->xattrs, x->xattrs, x->xattr_len);
		e->xattr_len = x->xattr_len;
		restore_tree_add(rs, rel, e);   /* failures are counted by restore */
		if (ctl_quit) {
			log_warnx("interrupted");
			r = -EINTR;
		} else if (!mux_alive(g->c->m)) {
			log_warnx("server: connection lost");
			r = -ECONNRESET;
		}
	}
	items_free(&it);
	if (restore_finish(rs) < 0 && r == 0)
		r = -EIO;
	return r;
}

struct get_args {
	char dev[VG_NAME_MAX], path[PATH_MAX];
	const char *dest;
	int64_t at;
	uint64_t version;
	bool direct, keep_privileged;
};

static int get_parse(struct ctl *c, int argc, char **argv, struct get_args *a)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' }, { "version", required_argument, NULL, 'V' },
		{ "direct", no_argument, NULL, 'd' }, { "output", required_argument, NULL, 'o' },
		{ "keep-privileged", no_argument, NULL, 'P' }, CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	bool have_at = false;
	char *end;
	int opt;

	a->at = INT64_MAX;
	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "ho:", opts)) != -1) {
		if (opt == 'a') {
			if (timefmt_parse(optarg, real_ns(), &a->at) < 0)
				return ctl_usage(usage_get, "--at %s: not a TIME", optarg);
			have_at = true;
		} else if (opt == 'V') {
			errno = 0;
			a->version = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || a->version == 0 || optarg[0] == '-')
				return ctl_usage(usage_get, "--version %s: not a version number", optarg);
		} else if (opt == 'd') {
			a->direct = true;
		} else if (opt == 'o') {
			a->dest = optarg;
		} else if (opt == 'P') {
			a->keep_privileged = true;
		} else if (opt == CTL_OPT_HELP) {
			return ctl_help(usage_get) - 1;   /* -1: stop, exit 0 */
		} else if (!ctl_common_opt(c, opt, optarg)) {
			return ctl_bad_option(usage_get, argv);
		}
	}
	if (argc - optind != 1)
		return ctl_usage(usage_get, "expected one DEVICE:PATH");
	if (!a->dest || !*a->dest)
		return ctl_usage(usage_get, "-o DEST is required");
	if (have_at && a->version)
		return ctl_usage(usage_get, "--at and --version exclude each other");
	return ctl_parse_target(usage_get, argv[optind], a->dev, a->path, true);
}

/* Queues a signed fetch on MSG_CTL_FETCH; *out is the stream, open after
 * MSG_CMD_QUEUED, on which the device's items follow.  0 or -errno (printed). */
static int open_direct(struct ctl *c, struct vg_command *cmd, struct mux_stream **out)
{
	struct mux_stream *s = NULL;
	struct seqfile sf;
	struct buf req, msg;
	struct rpc rp;
	int r;

	buf_init(&req, VG_MSG_MAX);
	buf_init(&msg, VG_MSG_MAX);
	if ((r = cmdsend_prepare(c, cmd, CMD_FETCH_EXPIRE_NS, &sf, &req)) < 0)
		goto out;
	ctl_rpc(c, &rp);
	if ((r = rpc_open(&rp, MSG_CTL_FETCH, &req, true, &s)) == 0)
		r = rpc_expect(&rp, s, MSG_CMD_QUEUED, &msg);
	seqfile_unlock(&sf);   /* the server has it (or refused it) */
	if (r < 0)
		ctl_rpc_log(&rp, r, cmd->device);
	if (r == 0)
		*out = s;
	else if (s)
		mux_stream_close(s);
out:
	buf_free(&req);
	buf_free(&msg);
	return r;
}

/* --direct: a signed fetch command; the device answers through the relay. */
static int get_direct(struct ctl *c, const struct get_args *a)
{
	struct vg_command *cmd;
	struct mux_stream *s = NULL;
	int r;

	if (a->at != INT64_MAX || a->version)
		return ctl_usage(usage_get, "--direct fetches what the device holds now: "
				 "no --at or --version");
	if ((r = cmdsend_check_key(c)) != 0 || ctl_connect(c) < 0)
		return r ? r : CTL_FAIL;
	if (!(cmd = calloc(1, sizeof(*cmd))))
		return CTL_FAIL;
	cmd->action = CMD_FETCH;
	snprintf(cmd->device, sizeof(cmd->device), "%s", a->dev);
	snprintf(cmd->path, sizeof(cmd->path), "%s", a->path);
	r = open_direct(c, cmd, &s);
	free(cmd);
	if (r < 0)
		return CTL_FAIL;
	r = getdirect_receive(c, s, a->dev, a->dest, a->keep_privileged);
	mux_stream_close(s);
	return r == 0 ? CTL_OK : CTL_FAIL;
}

int cmd_get(struct ctl *c, int argc, char **argv)
{
	struct get_args a;
	struct get g = { .c = c };
	struct restore_src src = { fetch, &g };
	struct restore *rs = NULL;
	struct vg_entry *e = NULL;
	char target[PATH_MAX], what[PATH_MAX + VG_NAME_MAX + 8];
	const char *name;
	int r, rc = CTL_FAIL;

	memset(&a, 0, sizeof(a));
	if ((r = get_parse(c, argc, argv, &a)) != 0)
		return r < 0 ? CTL_OK : r;
	if (a.direct)
		return get_direct(c, &a);
	/* Frames of up to 64 KiB are allocated by the I/O thread and freed by
	 * the reader: without this, glibc gives each freed heap top back
	 * (madvise) and the next frame faults its pages in again, a quarter
	 * of the CPU of a large get (docs/performance.md, "Reads"). */
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	g.dev = a.dev;
	ctl_target_str(a.dev, a.path, what, sizeof(what));
	if (ctl_connect(c) < 0 || !(e = malloc(sizeof(*e))))
		goto out;
	if (ctl_stat(c, a.dev, a.path, a.version, a.at, e) < 0)
		goto out;
	if (e->deleted) {
		log_warnx("%s: deleted at that time (version %" PRIu64 ")", what, e->version);
		goto out;
	}
	name = strrchr(a.path, '/') + 1;
	if (!*name)
		name = a.dev;   /* the device's "/" is named after the device */
	if (restore_target(a.dest, name, target, sizeof(target)) < 0) {
		log_warnx("%s: name too long", a.dest);
		goto out;
	}
	if (!(rs = restore_new(&src, geteuid() == 0, isatty(STDERR_FILENO))))
		goto out;
	restore_keep_privileged(rs, a.keep_privileged);
	if (e->type == VG_DIR)
		r = get_tree(&g, rs, target, e, a.version ? e->capture_ns : a.at);
	else if ((r = restore_one(rs, target, e)) == 0)
		r = restore_finish(rs);   /* ends the progress line */
	if (r == 0)
		rc = CTL_OK;
out:
	restore_free(rs);
	free(e);
	return rc;
}
