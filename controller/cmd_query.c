/* cmd_query.c — read-only queries: devices, ls, log (status and search are
 * in cmd_status.c).
 * Each prints a table for people, or one JSON document with --json. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/conffile.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/names.h"
#include "common/timefmt.h"
#include "common/vec.h"
#include "controller/commands.h"
#include "controller/cverify.h"
#include "controller/jsonout.h"

/* What one listing prints into: a JSON array or stdout rows. */
struct out {
	json_t *arr;            /* --json */
	bool recursive;         /* ls: full paths instead of names */
	bool header;            /* log: table header printed */
	const char *dir;        /* ls: the listed directory */
	struct vg_entry *e;     /* scratch for decoding (large) */
};

static int out_add(struct out *o, json_t *v)
{
	if (!v || json_array_append_new(o->arr, v) < 0)
		return -ENOMEM;
	return 0;
}

/* The scratch entry, and the JSON array when json: 0 or -ENOMEM. */
static int out_open(struct out *o, bool json)
{
	if ((json && !(o->arr = json_array())) || !(o->e = malloc(sizeof(*o->e)))) {
		json_decref(o->arr);
		o->arr = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* After a listing of n items (or -errno): prints the JSON, frees o,
 * returns the exit code. */
static int out_close(struct out *o, long n, bool json)
{
	int rc = n < 0 ? CTL_FAIL : CTL_OK;

	free(o->e);
	o->e = NULL;
	if (rc == CTL_OK && json && jsonout_print(o->arr) < 0)
		rc = CTL_FAIL;
	else if (rc != CTL_OK)
		json_decref(o->arr);
	return rc;
}

static void fmt_local(int64_t ns, char *buf, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns == 0 || !localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, cap, "-");
}

static void mode_str(const struct vg_entry *e, char s[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	s[0] = e->type == VG_DIR ? 'd' : e->type == VG_SYMLINK ? 'l' : '-';
	for (i = 0; i < 9; i++)
		s[1 + i] = (e->mode & (0400 >> i)) ? rwx[i] : '-';
	if (e->mode & 04000)
		s[3] = (e->mode & 0100) ? 's' : 'S';
	if (e->mode & 02000)
		s[6] = (e->mode & 0010) ? 's' : 'S';
	if (e->mode & 01000)
		s[9] = (e->mode & 0001) ? 't' : 'T';
	s[10] = '\0';
}

/* ---- devices ---- */

static int device_one(void *arg, struct wire_reader *r)
{
	struct out *o = arg;
	struct vg_device d;
	char seen[32];

	memset(&d, 0, sizeof(d));
	proto_get_device(r, &d);
	if (wire_ok(r) < 0)
		return -EBADMSG;
	if (o->arr)
		return out_add(o, jsonout_device(&d));
	fmt_local(d.last_seen_ns, seen, sizeof(seen));
	printf("%-24s %-7s %-19s %10" PRIu64 " %14" PRIu64 "\n", d.name,
	       d.online ? "online" : "offline", seen, d.files, d.bytes);
	return 0;
}

int cmd_devices(struct ctl *c, int argc, char **argv)
{
	static const char *usage = "vigil devices [--json]\n"
		"  Lists enrolled devices: name, online now, last seen, files and bytes stored.\n";
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct out o = { 0 };
	bool json = false;
	long n;
	int opt;

	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "h", opts)) != -1) {
		if (opt == 'j')
			json = true;
		else if (!ctl_common_opt(c, opt, optarg))
			return ctl_opt_stop(usage, opt, argv);
	}
	if (optind != argc)
		return ctl_usage(usage, "unexpected argument %s", argv[optind]);
	if (ctl_connect(c) < 0)
		return CTL_FAIL;
	if (json && !(o.arr = json_array()))
		return CTL_FAIL;
	if (!json)
		printf("%-24s %-7s %-19s %10s %14s\n", "NAME", "STATE", "LAST SEEN", "FILES", "BYTES");
	n = ctl_list(c, MSG_CTL_DEVICES, NULL, MSG_DEVICES, NULL, device_one, &o);
	if (n < 0) {
		json_decref(o.arr);
		return CTL_FAIL;
	}
	return json && jsonout_print(o.arr) < 0 ? CTL_FAIL : CTL_OK;
}

/* ---- ls ---- */

static void print_entry(const struct out *o, const struct vg_entry *e)
{
	const char *name = e->path;
	char mode[11], when[32], *esc, *lesc = NULL;
	size_t dl = strlen(o->dir);

	if (!o->recursive) {
		if (strncmp(e->path, o->dir, dl) == 0 && e->path[dl] == '/')
			name = e->path + dl + 1;
		else if (dl == 1 && e->path[0] == '/' && e->path[1])
			name = e->path + 1;
	}
	mode_str(e, mode);
	fmt_local(e->mtime_ns, when, sizeof(when));
	esc = text_escape(name, true);
	if (e->type == VG_SYMLINK)
		lesc = text_escape(e->link, true);
	printf("%s %6u %6u %12" PRIu64 " %s %s%s%s\n", mode, e->uid, e->gid, e->size, when,
	       esc ? esc : "?", lesc ? " -> " : "", lesc ? lesc : "");
	free(esc);
	free(lesc);
}

static int ls_one(void *arg, struct wire_reader *r)
{
	struct out *o = arg;

	proto_get_entry(r, o->e);
	if (wire_ok(r) < 0)
		return -EBADMSG;
	if (o->e->deleted)
		return 0;
	if (o->arr)
		return out_add(o, jsonout_ls_entry(o->e));
	print_entry(o, o->e);
	return 0;
}

/* LS listed nothing: an empty directory, or PATH is a file (shown like
 * `ls -l FILE`), or it does not exist at that time. */
static int ls_empty(struct ctl *c, struct out *o, const char *dev, const char *path, int64_t at)
{
	char what[PATH_MAX + VG_NAME_MAX + 8];

	if (ctl_stat(c, dev, path, 0, at, o->e) < 0)
		return -ENOENT;
	if (o->e->deleted) {
		ctl_target_str(dev, path, what, sizeof(what));
		log_warnx("%s: deleted at that time", what);
		return -ENOENT;
	}
	if (o->e->type == VG_DIR)
		return 0;
	o->recursive = true;
	if (o->arr)
		return out_add(o, jsonout_ls_entry(o->e));
	print_entry(o, o->e);
	return 0;
}

int cmd_ls(struct ctl *c, int argc, char **argv)
{
	static const char *usage = "vigil ls DEVICE[:PATH] [--at TIME] [--recursive] [--json]\n"
		"  Lists a directory as it was at TIME (default: latest); DEVICE alone is '/'.\n"
		"  TIME: 2026-11-28T19:05:00Z, 2026-11-28T19:05 (local), @UNIXSECONDS, -10m, -2h, -3d\n";
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "recursive", no_argument, NULL, 'r' },
		{ "at", required_argument, NULL, 'a' }, CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct vg_ls_req q = { .at = INT64_MAX };
	char what[PATH_MAX + VG_NAME_MAX + 8];
	struct out o = { 0 };
	bool json = false;
	struct buf req;
	long n;
	int opt, r;

	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "hrR", opts)) != -1) {
		if (opt == 'j')
			json = true;
		else if (opt == 'r' || opt == 'R')
			o.recursive = true;
		else if (opt == 'a') {
			if (timefmt_parse(optarg, real_ns(), &q.at) < 0)
				return ctl_usage(usage, "--at %s: not a TIME", optarg);
		} else if (!ctl_common_opt(c, opt, optarg))
			return ctl_opt_stop(usage, opt, argv);
	}
	if (argc - optind != 1)
		return ctl_usage(usage, "expected one DEVICE[:PATH]");
	if ((r = ctl_parse_target(usage, argv[optind], q.dev, q.path, false)) != 0)
		return r;
	if (ctl_connect(c) < 0 || out_open(&o, json) < 0)
		return CTL_FAIL;
	o.dir = q.path;
	q.recursive = o.recursive;
	ctl_target_str(q.dev, q.path, what, sizeof(what));
	buf_init(&req, MUX_FRAME_MAX);
	proto_put_ls_req(&req, &q);
	n = ctl_list(c, MSG_CTL_LS, &req, MSG_ENTRIES, what, ls_one, &o);
	buf_free(&req);
	if (n == 0 && ls_empty(c, &o, q.dev, q.path, q.at) < 0)
		n = -ENOENT;
	return out_close(&o, n, json);
}

/* ---- log ---- */

/* log keeps what it prints of each version until the end: whether a
 * missing sha256 is pending depends on the versions after it. */
struct logrow {
	struct jsonout_logsha sha;
	uint64_t version, size;
	int64_t capture_ns;
	uint8_t sha256[32];
	uint8_t type;
	bool deleted;
	char *lesc;             /* text: the escaped symlink target */
};

struct logrows {
	struct out *o;
	struct vec r;           /* struct logrow: row i is the JSON array's entry i */
};

static int log_one(void *arg, struct wire_reader *r)
{
	struct logrows *l = arg;
	struct vg_entry *e = l->o->e;
	struct logrow *row;

	proto_get_entry(r, e);
	if (wire_ok(r) < 0)
		return -EBADMSG;
	if (!(row = vec_add(&l->r)))
		return -ENOMEM;
	memcpy(row->sha.tree_root, e->tree_root, 32);
	row->sha.live_file = e->type == VG_FILE && !e->deleted;
	row->sha.missing = cverify_sha_pending(e);
	row->version = e->version;
	row->size = e->size;
	row->capture_ns = e->capture_ns;
	memcpy(row->sha256, e->sha256, 32);
	row->type = e->type;
	row->deleted = e->deleted;
	if (!l->o->arr && e->type == VG_SYMLINK && !(row->lesc = text_escape(e->link, true)))
		return -ENOMEM;
	return l->o->arr ? out_add(l->o, jsonout_log_entry(e)) : 0;
}

static void log_text(const struct logrow *row, bool pending)
{
	char when[TIMEFMT_MAX], sha[HEX_SIZE(32)] = "-";

	timefmt_format(row->capture_ns, when, sizeof(when));
	if (row->sha.live_file && row->sha.missing)
		snprintf(sha, sizeof(sha), pending ? "(pending)" : "(not computed)");
	else if (row->sha.live_file)
		hex_encode(row->sha256, 32, sha);
	if (row->deleted) {
		printf("%8" PRIu64 "  %-30s %12s  %-64s  deleted\n", row->version, when, "-", "-");
		return;
	}
	printf("%8" PRIu64 "  %-30s %12" PRIu64 "  %-64s  %s%s%s\n", row->version, when,
	       row->size, sha, jsonout_type(row->type), row->lesc ? " -> " : "",
	       row->lesc ? row->lesc : "");
}

/* Decides the pending flags, then prints the table (the JSON array is
 * printed by out_close).  0 or -ENOMEM. */
static int log_print(struct logrows *l)
{
	const struct logrow *row = l->r.p;
	size_t n = l->r.n;
	struct jsonout_logsha *s = malloc((n ? n : 1) * sizeof(*s));
	bool *pend = malloc(n ? n : 1);
	int r = s && pend ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++)
		s[i] = row[i].sha;
	if (r == 0)
		jsonout_log_pending(s, n, pend);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (l->o->arr && pend[i])
			r = json_object_set_new(json_array_get(l->o->arr, i), "sha256_pending",
						json_true()) < 0 ? -ENOMEM : 0;
		else if (!l->o->arr) {
			if (i == 0)
				printf("%8s  %-30s %12s  %-64s  %s\n", "VERSION", "TIME", "SIZE",
				       "SHA256", "TYPE");
			log_text(&row[i], pend[i]);
		}
	}
	free(s);
	free(pend);
	return r;
}

int cmd_log(struct ctl *c, int argc, char **argv)
{
	static const char *usage = "vigil log DEVICE:PATH [--json]\n"
		"  Every version of PATH, oldest first: version, capture time, size, sha256.\n";
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	char what[PATH_MAX + VG_NAME_MAX + 8];
	struct vg_log_req q;
	struct out o = { 0 };
	struct logrows rows = { .o = &o, .r = VEC_INIT(struct logrow) };
	bool json = false;
	struct buf req;
	long n;
	int opt, r;

	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "h", opts)) != -1) {
		if (opt == 'j')
			json = true;
		else if (!ctl_common_opt(c, opt, optarg))
			return ctl_opt_stop(usage, opt, argv);
	}
	if (argc - optind != 1)
		return ctl_usage(usage, "expected one DEVICE:PATH");
	if ((r = ctl_parse_target(usage, argv[optind], q.dev, q.path, true)) != 0)
		return r;
	if (ctl_connect(c) < 0 || out_open(&o, json) < 0)
		return CTL_FAIL;
	ctl_target_str(q.dev, q.path, what, sizeof(what));
	buf_init(&req, MUX_FRAME_MAX);
	proto_put_log_req(&req, &q);
	n = ctl_list(c, MSG_CTL_LOG, &req, MSG_ENTRIES, what, log_one, &rows);
	buf_free(&req);
	if (n == 0) {
		log_warnx("%s: no such path", what);
		n = -ENOENT;
	}
	if (n > 0 && log_print(&rows) < 0)
		n = -ENOMEM;
	for (size_t i = 0; i < rows.r.n; i++)
		free(((struct logrow *)rows.r.p)[i].lesc);
	vec_free(&rows.r);
	return out_close(&o, n, json);
}
