/* retain_cli.c — `vigil-server retain`: set a retention policy (a device's
 * or the default) and apply it at once, show the policies and holds, or
 * release a device's hold.  Works on index.db alone, so it runs while
 * `run` serves (WAL); the server applies the policies too, in the
 * background (retainer.h).  Exit: 0, 1 failure, 2 usage. */
#include "server/retain_cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/names.h"
#include "common/timefmt.h"
#include "common/tls.h"
#include "server/config.h"
#include "server/index.h"
#include "server/retain.h"
#include "server/sweep.h"

#define EXIT_USAGE 2

struct ropts {
	const char *dir, *device;
	bool all, show, release, json, any_keep;
	struct retain_policy p;
};

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", log_progname());
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see %s --help)\n", log_progname());
	return EXIT_USAGE;
}

static int parse_count(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > RETAIN_COUNT_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

enum { O_ALL = 1, O_SHOW, O_RELEASE, O_JSON, O_WITHIN, O_HOURLY, O_DAILY, O_WEEKLY, O_MONTHLY };

static int parse_opt(int c, struct ropts *o)
{
	switch (c) {
	case O_ALL:     o->all = true; return 0;
	case O_SHOW:    o->show = true; return 0;
	case O_RELEASE: o->release = true; return 0;
	case O_JSON:    o->json = true; return 0;
	case O_WITHIN:
		o->any_keep = true;
		return timefmt_duration(optarg, &o->p.within_ns) < 0 ?
			usage("bad --keep-within DURATION '%s' (like 12h, 14d, 2w)", optarg) : 0;
	case O_HOURLY: case O_DAILY: case O_WEEKLY: case O_MONTHLY:
		o->any_keep = true;
		return parse_count(optarg, &o->p.count[c - O_HOURLY]) < 0 ?
			usage("bad count '%s' (0 to 100000)", optarg) : 0;
	default:
		return usage("bad option '%s'", optarg ? optarg : "?");
	}
}

static int parse(int argc, char **argv, struct ropts *o)
{
	static const struct option lo[] = {
		{ "all", no_argument, NULL, O_ALL },
		{ "show", no_argument, NULL, O_SHOW },
		{ "release-hold", no_argument, NULL, O_RELEASE },
		{ "json", no_argument, NULL, O_JSON },
		{ "keep-within", required_argument, NULL, O_WITHIN },
		{ "keep-hourly", required_argument, NULL, O_HOURLY },
		{ "keep-daily", required_argument, NULL, O_DAILY },
		{ "keep-weekly", required_argument, NULL, O_WEEKLY },
		{ "keep-monthly", required_argument, NULL, O_MONTHLY },
		{ NULL, 0, NULL, 0 },
	};
	const char *pos[3];
	int c, r, npos = 0;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == '?' || c == ':')
			return usage("bad option '%s'", argv[optind - 1]);
		if ((r = parse_opt(c, o)) != 0)
			return r;
	}
	for (; optind < argc; optind++) {
		if (npos == 2)
			return usage("unexpected argument '%s'", argv[optind]);
		pos[npos++] = argv[optind];
	}
	if (npos < 1)
		return usage("%s needs DIR", "retain");
	o->dir = pos[0];
	o->device = npos == 2 ? pos[1] : NULL;
	if (o->device && o->all)
		return usage("give a DEVICE or --all, not both%s", "");
	if ((o->show || o->release) && o->any_keep)
		return usage("--keep-* options set a policy; not with %s",
			     o->show ? "--show" : "--release-hold");
	if (o->show && o->release)
		return usage("--show or --release-hold, not both%s", "");
	if (o->release && !o->device)
		return usage("--release-hold needs a DEVICE%s", "");
	if (o->show && o->all)
		return usage("--show shows every device; no --all%s", "");
	return 0;
}

/* "14d", "1d12h", "90s": the duration back in the grammar it came in. */
static void fmt_duration(int64_t ns, char *buf, size_t cap)
{
	static const struct { char u; int64_t s; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	int64_t s = ns / NS_PER_S;
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 4 && o < cap; i++)
		if (s >= units[i].s) {
			o += (size_t)snprintf(buf + o, cap - o, "%" PRId64 "%c", s / units[i].s,
					      units[i].u);
			s %= units[i].s;
		}
}

static void policy_text(const struct retain_policy *p, char *buf, size_t cap)
{
	static const char *const names[RET_NBUCKETS] = { "hourly", "daily", "weekly", "monthly" };
	char d[64];
	size_t o;

	if (retain_policy_empty(p)) {
		snprintf(buf, cap, "keep everything");
		return;
	}
	o = (size_t)snprintf(buf, cap, "keep");
	if (p->within_ns) {
		fmt_duration(p->within_ns, d, sizeof(d));
		o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, " within %s", d);
	}
	for (int i = 0; i < RET_NBUCKETS; i++)
		if (p->count[i])
			o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%s %u %s",
					      o > 4 ? "," : "", p->count[i], names[i]);
}

static json_t *policy_json(const struct retain_policy *p)
{
	char d[64];

	fmt_duration(p->within_ns, d, sizeof(d));
	return json_pack("{s:o, s:I, s:I, s:I, s:I, s:I}",
			 "keep_within", p->within_ns ? json_string(d) : json_null(),
			 "keep_within_s", (json_int_t)(p->within_ns / NS_PER_S),
			 "keep_hourly", (json_int_t)p->count[RET_HOURLY],
			 "keep_daily", (json_int_t)p->count[RET_DAILY],
			 "keep_weekly", (json_int_t)p->count[RET_WEEKLY],
			 "keep_monthly", (json_int_t)p->count[RET_MONTHLY]);
}

static json_t *time_json(int64_t ns)
{
	char t[TIMEFMT_MAX];

	return ns ? json_string(timefmt_format(ns, t, sizeof(t))) : json_null();
}

static int print_json(json_t *doc)
{
	int r = doc && json_dumpf(doc, stdout, JSON_COMPACT) == 0 ? 0 : -EIO;

	json_decref(doc);
	if (r == 0)
		fputc('\n', stdout);
	return r;
}

/* ------------------------------------------------------------- devices */

struct devlist { struct ident *d; size_t n, cap; int err; };

static int take_dev(void *arg, const struct ident *id)
{
	struct devlist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ident *d = realloc(l->d, cap * sizeof(*d));

		if (!d)
			return l->err = -ENOMEM;
		l->d = d;
		l->cap = cap;
	}
	l->d[l->n++] = *id;
	return 0;
}

/* Every device, or the one named (exit status 1 logged when unknown). */
static int devices(struct index *idx, const char *name, struct devlist *l)
{
	struct ident id;
	int r;

	memset(l, 0, sizeof(*l));
	if (!name) {
		r = index_ident_list(idx, ROLE_DEVICE, take_dev, l);
		return r < 0 ? (log_errno(r, "devices"), r) : 0;
	}
	if (!name_valid(name))
		return log_warnx("'%s' is not a valid name", name), -EINVAL;
	if ((r = index_ident_get(idx, name, &id)) == -ENOENT || (r == 0 && id.role != ROLE_DEVICE))
		return log_warnx("no device named %s", name), -ENOENT;
	if (r < 0)
		return log_errno(r, "%s", name), r;
	return take_dev(l, &id);
}

/* --------------------------------------------------------------- apply */

/* One device's pass; a line (or a JSON object into arr). */
static int apply_one(struct index *idx, const struct ident *d, json_t *arr)
{
	struct retain_result res;
	struct retain_devinfo h;
	int r = retain_apply(idx, d->id, real_ns(), NULL, NULL, NULL, &res);

	if (r < 0)
		return log_errno(r, "apply retention to %s", d->name), r;
	if (res.held && (r = retain_info(idx, d->id, &h)) < 0)
		return log_errno(r, "%s", d->name), r;
	if (arr)
		return json_array_append_new(arr, json_pack("{s:s, s:b, s:o, s:b, s:b, s:I, s:I}",
			"device", d->name, "on_hold", res.held,
			"hold", res.held ? json_string(h.reason) : json_null(),
			"keeps_everything", res.empty, "stopped", res.stopped,
			"versions", (json_int_t)res.versions, "dropped", (json_int_t)res.dropped)) ?
			-ENOMEM : 0;
	if (res.held)
		printf("%s: on hold (%s): nothing dropped\n", d->name, h.reason);
	else if (res.empty)
		printf("%s: keeps everything\n", d->name);
	else
		printf("%s: %" PRIu64 " versions looked at, %" PRIu64 " dropped%s\n", d->name,
		       res.versions, res.dropped,
		       res.stopped ? " (stopped: the policy or hold changed meanwhile)" : "");
	return 0;
}

static int do_set(struct index *idx, const struct ropts *o)
{
	struct devlist l;
	json_t *doc = NULL, *arr = NULL;
	char text[256];
	int r;

	if ((r = devices(idx, o->device, &l)) < 0)
		return r;
	r = retain_set(idx, o->device ? l.d[0].id : 0, &o->p, real_ns());
	if (r < 0) {
		log_errno(r, "store the policy");
		goto out;
	}
	policy_text(&o->p, text, sizeof(text));
	if (o->json) {
		doc = json_pack("{s:o, s:o, s:[]}", "device", o->device ? json_string(o->device) :
				json_null(), "policy", policy_json(&o->p), "devices");
		arr = doc ? json_object_get(doc, "devices") : NULL;
		if (!arr) {
			r = -ENOMEM;
			goto out;
		}
	} else {
		printf("%s: %s\n", o->device ? o->device : "all devices (default)", text);
	}
	for (size_t i = 0; i < l.n && r == 0; i++)
		r = apply_one(idx, &l.d[i], arr);
	if (r == 0 && doc) {
		r = print_json(doc);
		doc = NULL;
	}
out:
	json_decref(doc);
	free(l.d);
	return r;
}

static int do_release(struct index *idx, const struct ropts *o)
{
	struct retain_devinfo h;
	struct devlist l;
	json_t *arr = NULL;
	int r, released;

	if ((r = devices(idx, o->device, &l)) < 0)
		return r;
	if ((r = retain_info(idx, l.d[0].id, &h)) == 0)
		r = retain_release(idx, l.d[0].id, "vigil-server retain --release-hold", real_ns());
	if (r < 0) {
		log_errno(r, "release %s", o->device);
		goto out;
	}
	released = r;
	if (!o->json && released)
		printf("%s: hold released (was: %s)\n", o->device, h.reason);
	else if (!o->json)
		printf("%s: not on hold\n", o->device);
	/* the policy applies from now on: at once */
	if (o->json && !(arr = json_array())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = apply_one(idx, &l.d[0], arr)) == 0 && arr)
		r = print_json(json_pack("{s:s, s:b, s:o, s:O}", "device", o->device,
					 "released", released == 1,
					 "was", released ? json_string(h.reason) : json_null(),
					 "applied", json_array_get(arr, 0)));
out:
	json_decref(arr);
	free(l.d);
	return r;
}

/* ---------------------------------------------------------------- show */

static json_t *show_dev_json(const struct ident *d, const struct retain_policy *p, bool own,
			     const struct retain_devinfo *h)
{
	return json_pack("{s:s, s:o, s:b, s:b, s:o, s:o, s:o, s:I}", "device", d->name,
			 "policy", policy_json(p), "own", own, "on_hold", h->on_hold,
			 "hold", h->on_hold ? json_string(h->reason) : json_null(),
			 "released", time_json(h->released_ns), "last_pass", time_json(h->pass_ns),
			 "dropped", (json_int_t)h->dropped);
}

static void show_dev_text(const struct ident *d, const struct retain_policy *p, bool own,
			  const struct retain_devinfo *h)
{
	char text[256], t[TIMEFMT_MAX];

	policy_text(p, text, sizeof(text));
	printf("%s: %s%s; ", d->name, text, own ? "" : " (default)");
	if (h->on_hold)
		printf("on hold: %s; ", h->reason);
	else if (h->released_ns)
		printf("hold released %s; ", timefmt_format(h->released_ns, t, sizeof(t)));
	printf("%" PRIu64 " versions dropped; last pass %s\n", h->dropped,
	       h->pass_ns ? timefmt_format(h->pass_ns, t, sizeof(t)) : "never");
}

/* The last sweep (sweep_db.c): null / "never" when none was recorded. */
static json_t *sweep_json(const struct sweep_result *w, bool any)
{
	if (!any)
		return json_null();
	return json_pack("{s:o, s:I, s:i, s:I, s:I, s:I, s:f}", "at", time_json(w->at_ns),
			 "seq", (json_int_t)w->seq, "err", w->err,
			 "deleted", (json_int_t)w->s.deleted,
			 "deleted_bytes", (json_int_t)w->s.deleted_bytes,
			 "search_rows", (json_int_t)w->search_rows, "seconds", w->seconds);
}

static void sweep_text(const struct sweep_result *w, bool any)
{
	char t[TIMEFMT_MAX];

	if (!any) {
		printf("last sweep: never\n");
		return;
	}
	printf("last sweep: %s, %" PRIu64 " chunks (%" PRIu64 " bytes) freed, %" PRIu64
	       " search rows of dropped versions deleted%s%s\n", timefmt_format(w->at_ns, t, sizeof(t)),
	       w->s.deleted, w->s.deleted_bytes, w->search_rows, w->err ? "; failed: " : "",
	       w->err ? strerror(-w->err) : "");
}

static int do_show(struct index *idx, const struct ropts *o)
{
	struct sweep_result w;
	bool swept;
	struct retain_policy p;
	struct retain_devinfo h;
	struct devlist l;
	json_t *doc = NULL, *arr = NULL;
	char text[256];
	bool own;
	int r;

	if ((r = devices(idx, o->device, &l)) < 0)
		return r;
	if ((r = retain_get(idx, 0, &p, &own)) < 0)
		goto fail;
	policy_text(&p, text, sizeof(text));
	if ((r = sweep_last(idx, &w)) < 0 && r != -ENOENT)
		goto fail;
	swept = r == 0;
	r = 0;
	if (o->json) {
		doc = json_pack("{s:o, s:o, s:[]}", "default", policy_json(&p), "sweep",
				sweep_json(&w, swept), "devices");
		if (!doc || !(arr = json_object_get(doc, "devices"))) {
			r = -ENOMEM;
			goto fail;
		}
	} else {
		printf("default: %s\n", text);
		sweep_text(&w, swept);
	}
	for (size_t i = 0; i < l.n; i++) {
		if ((r = retain_get(idx, l.d[i].id, &p, &own)) < 0 ||
		    (r = retain_info(idx, l.d[i].id, &h)) < 0)
			goto fail;
		if (!arr)
			show_dev_text(&l.d[i], &p, own, &h);
		else if (json_array_append_new(arr, show_dev_json(&l.d[i], &p, own, &h)))
			r = -ENOMEM;
	}
	if (r == 0 && doc) {
		r = print_json(doc);
		doc = NULL;
	}
fail:
	if (r < 0)
		log_errno(r, "retention");
	json_decref(doc);
	free(l.d);
	return r;
}

int retain_main(int argc, char **argv)
{
	char err[256] = "";
	struct srv_config cfg;
	struct index *idx = NULL;
	struct ropts o;
	int r;

	if ((r = parse(argc, argv, &o)) != 0)
		return r;
	if (config_load(o.dir, &cfg, err, sizeof(err)) < 0)
		return log_warnx("%s", err), 1;
	if ((r = index_open(o.dir, false, &idx)) < 0)
		return log_errno(r, "%s/index.db", o.dir), 1;
	if (o.show)
		r = do_show(idx, &o);
	else if (o.release)
		r = do_release(idx, &o);
	else
		r = do_set(idx, &o);
	index_close(idx);
	return r < 0 ? 1 : 0;
}
