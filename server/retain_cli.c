/* retain_cli.c — `vigil-server retain`: set a retention policy (a device's
 * or the default) and apply it at once, show the policies and holds, or
 * release a device's hold.  An admin handler (admin.h): inside the server
 * serving DIR (its index and key), where a pass that dropped versions
 * kicks the server's sweeper as the background retainer's passes do
 * (retainer.h; at most one automatic sweep per SWEEP_INTERVAL_S), or on a
 * stopped DIR, whose next `run` sweeps what was dropped (sweep.h, a gap).
 * Exit: 0, 1 failure, 2 usage. */
#include "server/retain_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/names.h"
#include "common/timefmt.h"
#include "common/tls.h"
#include "common/vec.h"
#include "server/admin.h"
#include "server/index.h"
#include "server/retain.h"
#include "server/sweep.h"

#define EXIT_USAGE 2

/* One run of the command: its options, and where it works and prints. */
struct ropts {
	const char *dir, *device;
	bool all, show, release, json, any_keep;
	struct retain_policy p;
	const struct admin_env *env;
	FILE *out, *err;
};

static int usage(FILE *err, const char *fmt, const char *arg)
{
	fputs("vigil-server: ", err);
	fprintf(err, fmt, arg);
	fputs(" (see vigil-server --help)\n", err);
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

static int parse_opt(int c, const char *val, struct ropts *o)
{
	switch (c) {
	case O_ALL:     o->all = true; return 0;
	case O_SHOW:    o->show = true; return 0;
	case O_RELEASE: o->release = true; return 0;
	case O_JSON:    o->json = true; return 0;
	case O_WITHIN:
		o->any_keep = true;
		return timefmt_duration(val, &o->p.within_ns) < 0 ?
			usage(o->err, "bad --keep-within DURATION '%s' (like 12h, 14d, 2w)", val) : 0;
	default:   /* O_HOURLY .. O_MONTHLY */
		o->any_keep = true;
		return parse_count(val, &o->p.count[c - O_HOURLY]) < 0 ?
			usage(o->err, "bad count '%s' (0 to 100000)", val) : 0;
	}
}

/* The option argv[*i] names ("--opt", "--opt=VALUE" or "--opt VALUE"):
 * its code and value (taken from argv, *i moved past it), or 0.  No
 * getopt: handlers run on threads of the server (admin.h). */
static int option_of(int argc, char **argv, int *i, const char **val)
{
	static const struct { const char *name; int code; bool arg; } opts[] = {
		{ "all", O_ALL, false },
		{ "show", O_SHOW, false },
		{ "release-hold", O_RELEASE, false },
		{ "json", O_JSON, false },
		{ "keep-within", O_WITHIN, true },
		{ "keep-hourly", O_HOURLY, true },
		{ "keep-daily", O_DAILY, true },
		{ "keep-weekly", O_WEEKLY, true },
		{ "keep-monthly", O_MONTHLY, true },
	};
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	size_t n = eq ? (size_t)(eq - a) : strlen(a);

	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		if (strlen(opts[k].name) != n || strncmp(opts[k].name, a, n))
			continue;
		if (!opts[k].arg && eq)
			return 0;
		if (opts[k].arg && !eq && *i + 1 >= argc)
			return 0;
		*val = !opts[k].arg ? NULL : eq ? eq + 1 : argv[++*i];
		return opts[k].code;
	}
	return 0;
}

static int parse(int argc, char **argv, struct ropts *o)
{
	const char *pos[2], *val;
	int c, r, npos = 0;

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || !argv[i][1]) {
			if (npos == 2)
				return usage(o->err, "unexpected argument '%s'", argv[i]);
			pos[npos++] = argv[i];
			continue;
		}
		if (argv[i][1] != '-' || !(c = option_of(argc, argv, &i, &val)))
			return usage(o->err, "bad option '%s'", argv[i]);
		if ((r = parse_opt(c, val, o)) != 0)
			return r;
	}
	if (npos < 1)
		return usage(o->err, "%s needs DIR", "retain");
	o->dir = pos[0];
	o->device = npos == 2 ? pos[1] : NULL;
	if (o->device && o->all)
		return usage(o->err, "give a DEVICE or --all, not both%s", "");
	if ((o->show || o->release) && o->any_keep)
		return usage(o->err, "--keep-* options set a policy; not with %s",
			     o->show ? "--show" : "--release-hold");
	if (o->show && o->release)
		return usage(o->err, "--show or --release-hold, not both%s", "");
	if (o->release && !o->device)
		return usage(o->err, "--release-hold needs a DEVICE%s", "");
	if (o->show && o->all)
		return usage(o->err, "--show shows every device; no --all%s", "");
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

static int print_json(const struct ropts *o, json_t *doc)
{
	int r = doc && json_dumpf(doc, o->out, JSON_COMPACT) == 0 ? 0 : -EIO;

	json_decref(doc);
	if (r == 0)
		fputc('\n', o->out);
	return r;
}

/* ------------------------------------------------------------- devices */

static int take_dev(void *arg, const struct ident *id)
{
	return vec_push(arg, id);
}

/* Every device, or the one named (said on err when unknown), into l
 * (struct ident; vec_free it once this returned 0). */
static int devices(const struct ropts *o, struct vec *l)
{
	struct index *idx = o->env->idx;
	const char *name = o->device;
	struct ident id;
	int r;

	vec_init(l, sizeof(struct ident));
	if (!name) {
		if ((r = index_ident_list(idx, ROLE_DEVICE, take_dev, l)) < 0) {
			vec_free(l);
			admin_say(o->err, r, "devices");
		}
		return r < 0 ? r : 0;
	}
	if (!name_valid(name))
		return admin_say(o->err, 0, "'%s' is not a valid name", name), -EINVAL;
	if ((r = index_ident_get(idx, name, &id)) == -ENOENT || (r == 0 && id.role != ROLE_DEVICE))
		return admin_say(o->err, 0, "no device named %s", name), -ENOENT;
	if (r < 0)
		return admin_say(o->err, r, "%s", name), r;
	return take_dev(l, &id);
}

/* --------------------------------------------------------------- apply */

/* One device's pass (stopped when the server stops); a line (or a JSON
 * object into arr); what it dropped is added to *dropped. */
static int apply_one(const struct ropts *o, const struct ident *d, json_t *arr,
		     uint64_t *dropped)
{
	struct index *idx = o->env->idx;
	struct retain_result res;
	struct retain_devinfo h;
	int r = retain_apply(idx, d->id, real_ns(), NULL, NULL, &o->env->quit, &res);

	*dropped += res.dropped;
	if (r == -ECANCELED)
		return admin_say(o->err, 0, "retention of %s: the server is stopping", d->name), r;
	if (r < 0)
		return admin_say(o->err, r, "apply retention to %s", d->name), r;
	if (res.held && (r = retain_info(idx, d->id, &h)) < 0)
		return admin_say(o->err, r, "%s", d->name), r;
	if (arr)
		return json_array_append_new(arr, json_pack("{s:s, s:b, s:o, s:b, s:b, s:I, s:I}",
			"device", d->name, "on_hold", res.held,
			"hold", res.held ? json_string(h.reason) : json_null(),
			"keeps_everything", res.empty, "stopped", res.stopped,
			"versions", (json_int_t)res.versions, "dropped", (json_int_t)res.dropped)) ?
			-ENOMEM : 0;
	if (res.held)
		fprintf(o->out, "%s: on hold (%s): nothing dropped\n", d->name, h.reason);
	else if (res.empty)
		fprintf(o->out, "%s: keeps everything\n", d->name);
	else
		fprintf(o->out, "%s: %" PRIu64 " versions looked at, %" PRIu64 " dropped%s\n",
			d->name, res.versions, res.dropped,
			res.stopped ? " (stopped: the policy or hold changed meanwhile)" : "");
	return 0;
}

/* After passes that dropped versions in a running server: its sweeper
 * gives their space back (as after the retainer's own passes). */
static void dropped_some(const struct ropts *o, uint64_t dropped)
{
	if (dropped && o->env->live)
		sweeper_kick(o->env->sw);
}

static int do_set(const struct ropts *o)
{
	const struct ident *dev;
	struct vec l;
	json_t *doc = NULL, *arr = NULL;
	uint64_t dropped = 0;
	char text[256];
	int r;

	if ((r = devices(o, &l)) < 0)
		return r;
	dev = l.p;
	r = retain_set(o->env->idx, o->device ? dev[0].id : 0, &o->p, real_ns());
	if (r < 0) {
		admin_say(o->err, r, "store the policy");
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
		fprintf(o->out, "%s: %s\n", o->device ? o->device : "all devices (default)", text);
	}
	for (size_t i = 0; i < l.n && r == 0; i++)
		r = apply_one(o, &dev[i], arr, &dropped);
	dropped_some(o, dropped);
	if (r == 0 && doc) {
		r = print_json(o, doc);
		doc = NULL;
	}
out:
	json_decref(doc);
	vec_free(&l);
	return r;
}

static int do_release(const struct ropts *o)
{
	struct retain_devinfo h;
	const struct ident *dev;
	struct vec l;
	json_t *arr = NULL;
	uint64_t dropped = 0;
	int r, released;

	if ((r = devices(o, &l)) < 0)
		return r;
	dev = l.p;
	if ((r = retain_info(o->env->idx, dev[0].id, &h)) == 0)
		r = retain_release(o->env->idx, dev[0].id, "vigil-server retain --release-hold",
				   real_ns());
	if (r < 0) {
		admin_say(o->err, r, "release %s", o->device);
		goto out;
	}
	released = r;
	if (!o->json && released)
		fprintf(o->out, "%s: hold released (was: %s)\n", o->device, h.reason);
	else if (!o->json)
		fprintf(o->out, "%s: not on hold\n", o->device);
	/* the policy applies from now on: at once */
	if (o->json && !(arr = json_array())) {
		r = -ENOMEM;
		goto out;
	}
	r = apply_one(o, &dev[0], arr, &dropped);
	dropped_some(o, dropped);
	if (r == 0 && arr)
		r = print_json(o, json_pack("{s:s, s:b, s:o, s:O}", "device", o->device,
					    "released", released == 1,
					    "was", released ? json_string(h.reason) : json_null(),
					    "applied", json_array_get(arr, 0)));
out:
	json_decref(arr);
	vec_free(&l);
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

static void show_dev_text(FILE *out, const struct ident *d, const struct retain_policy *p,
			  bool own, const struct retain_devinfo *h)
{
	char text[256], t[TIMEFMT_MAX];

	policy_text(p, text, sizeof(text));
	fprintf(out, "%s: %s%s; ", d->name, text, own ? "" : " (default)");
	if (h->on_hold)
		fprintf(out, "on hold: %s; ", h->reason);
	else if (h->released_ns)
		fprintf(out, "hold released %s; ", timefmt_format(h->released_ns, t, sizeof(t)));
	fprintf(out, "%" PRIu64 " versions dropped; last pass %s\n", h->dropped,
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

static void sweep_text(FILE *out, const struct sweep_result *w, bool any)
{
	char t[TIMEFMT_MAX];
	const char *how = "", *why = "";

	if (!any) {
		fprintf(out, "last sweep: never\n");
		return;
	}
	if (w->err == -ECANCELED)   /* the server stopped it; the next one goes on */
		how = "; stopped early by the server's stop, the next sweep goes on";
	else if (w->err)
		how = "; failed: ", why = strerror(-w->err);
	fprintf(out, "last sweep: %s, %" PRIu64 " chunks (%" PRIu64 " bytes) freed, %" PRIu64
		" search rows of dropped versions deleted%s%s\n",
		timefmt_format(w->at_ns, t, sizeof(t)), w->s.deleted, w->s.deleted_bytes,
		w->search_rows, how, why);
}

static int do_show(const struct ropts *o)
{
	struct index *idx = o->env->ridx;
	struct sweep_result w;
	bool swept;
	struct retain_policy p;
	struct retain_devinfo h;
	const struct ident *dev;
	struct vec l;
	json_t *doc = NULL, *arr = NULL;
	char text[256];
	bool own;
	int r;

	if ((r = devices(o, &l)) < 0)
		return r;
	dev = l.p;
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
		fprintf(o->out, "default: %s\n", text);
		sweep_text(o->out, &w, swept);
	}
	for (size_t i = 0; i < l.n; i++) {
		if ((r = retain_get(idx, dev[i].id, &p, &own)) < 0 ||
		    (r = retain_info(idx, dev[i].id, &h)) < 0)
			goto fail;
		if (!arr)
			show_dev_text(o->out, &dev[i], &p, own, &h);
		else if (json_array_append_new(arr, show_dev_json(&dev[i], &p, own, &h)))
			r = -ENOMEM;
	}
	if (r == 0 && doc) {
		r = print_json(o, doc);
		doc = NULL;
	}
fail:
	if (r < 0)
		admin_say(o->err, r, "retention");
	json_decref(doc);
	vec_free(&l);
	return r;
}

int retain_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err)
{
	struct ropts o = { .env = env, .out = out, .err = err };
	int r;

	if ((r = parse(argc, argv, &o)) != 0)
		return r;
	if (o.show)
		r = do_show(&o);
	else if (o.release)
		r = do_release(&o);
	else
		r = do_set(&o);
	return r < 0 ? 1 : 0;
}
