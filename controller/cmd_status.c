/* cmd_status.c — `vigil status` (a device's state, commands, events) and
 * `vigil search` (versions containing every WORD). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conffile.h"
#include "common/log.h"
#include "common/names.h"
#include "common/timefmt.h"
#include "controller/commands.h"
#include "controller/jsonout.h"

#define SEARCH_WORDS_MAX VG_SEARCH_WORDS_MAX
#define SEARCH_WORD_MAX  256

static const char *when(int64_t ns, char *buf, size_t cap)
{
	if (ns == 0)
		return "-";
	return timefmt_format(ns, buf, cap);
}

/* Prints a string from the server made safe for a terminal. */
static void put_safe(const char *label, const char *s)
{
	char *esc = text_escape(s, true);

	printf("%s%s", label, esc ? esc : "?");
	free(esc);
}

static void status_print(const struct vg_status *s)
{
	char t1[TIMEFMT_MAX], t2[TIMEFMT_MAX];
	uint32_t i;

	put_safe("device:    ", s->device);
	printf("\nonline:    %s (last seen %s)\n", s->online ? "yes" : "no",
	       when(s->last_seen_ns, t1, sizeof(t1)));
	printf("backlog:   %" PRIu64 " files, oldest %s", s->backlog_files,
	       when(s->backlog_oldest_ns, t1, sizeof(t1)));
	printf(" (as of %s, device's clock; received %s)\n", when(s->backlog_at_ns, t1, sizeof(t1)),
	       when(s->report_ns, t2, sizeof(t2)));
	printf("frozen:    %s\n", s->frozen ? "yes" : "no");
	put_safe("erase:     ", s->erase_state[0] ? s->erase_state : "none");
	printf(" (%" PRIu64 " files, %" PRIu64 " bytes erased)\n", s->erase_files, s->erase_bytes);
	put_safe("sim:       iccid ", s->sim_iccid[0] ? s->sim_iccid : "-");
	put_safe(", imsi ", s->sim_imsi[0] ? s->sim_imsi : "-");
	printf(", changed %s\n", when(s->sim_changed_ns, t1, sizeof(t1)));
	printf("index:     %" PRIu64 " files (%" PRIu64 " versions), %" PRIu64
	       " could not be parsed, %" PRIu64 " binary (path only), %" PRIu64 " pending\n",
	       s->index_files, s->index_versions, s->index_unparsed, s->index_path_only,
	       s->index_pending);
	if (s->quota_bytes)
		printf("quota:     %" PRIu64 " of %" PRIu64 " bytes held%s\n", s->quota_used,
		       s->quota_bytes, s->quota_used >= s->quota_bytes ?
		       " (full: new content refused)" : "");
	else
		printf("quota:     none\n");
	printf("retention: last pass %s, %" PRIu64 " versions dropped so far\n",
	       when(s->retain_pass_ns, t1, sizeof(t1)), s->retain_dropped);
	if (s->sweep_at_ns)
		printf("sweep:     last %s, %" PRIu64 " chunks (%" PRIu64 " bytes) freed\n",
		       when(s->sweep_at_ns, t1, sizeof(t1)), s->sweep_deleted, s->sweep_deleted_bytes);
	else
		printf("sweep:     never\n");
	printf("commands:  %s\n", s->ncommands ? "" : "none");
	for (i = 0; i < s->ncommands && i < VG_STATUS_LIST_MAX; i++) {
		printf("  %6" PRIu64 " ", s->commands[i].id);
		put_safe("", s->commands[i].action);
		put_safe(" by ", s->commands[i].by);
		put_safe(": ", s->commands[i].state);
		printf(", issued %s, updated %s\n", when(s->commands[i].issued_ns, t1, sizeof(t1)),
		       when(s->commands[i].updated_ns, t2, sizeof(t2)));
	}
	printf("events:    %s\n", s->nevents ? "" : "none");
	for (i = 0; i < s->nevents && i < VG_STATUS_LIST_MAX; i++) {
		printf("  %s ", when(s->events[i].time_ns, t1, sizeof(t1)));
		put_safe("", s->events[i].kind);
		put_safe(": ", s->events[i].detail);
		printf("\n");
	}
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	static const char *usage = "vigil status DEVICE [--json]\n"
		"  Online state, backlog, freeze and erase state, SIM, keyword index\n"
		"  (files indexed, could not be parsed, pending), commands and events.\n";
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct vg_status *s = NULL;
	struct vg_status_req q;
	struct wire_reader r;
	struct buf req, msg;
	bool json = false;
	int opt, rc = CTL_FAIL;

	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "h", opts)) != -1) {
		if (opt == 'j')
			json = true;
		else if (!ctl_common_opt(c, opt, optarg))
			return ctl_opt_stop(usage, opt, argv);
	}
	if (argc - optind != 1)
		return ctl_usage(usage, "expected one DEVICE");
	if (!name_valid(argv[optind]))
		return ctl_usage(usage, "%s: not a valid device name", argv[optind]);
	if (ctl_connect(c) < 0)
		return CTL_FAIL;
	snprintf(q.dev, sizeof(q.dev), "%s", argv[optind]);
	buf_init(&req, 256);
	buf_init(&msg, MUX_FRAME_MAX);
	proto_put_status_req(&req, &q);
	if (ctl_call(c, MSG_CTL_STATUS, &req, MSG_STATUS, argv[optind], &msg) < 0)
		goto out;
	if (!(s = calloc(1, sizeof(*s))))
		goto out;
	wire_reader_init(&r, msg.data, msg.len);
	proto_get_status(&r, s);
	if (wire_done(&r) < 0) {
		log_warnx("server: malformed status");
		goto out;
	}
	if (json) {
		if (jsonout_print(jsonout_status(s)) < 0)
			goto out;
	} else {
		status_print(s);
	}
	rc = CTL_OK;
out:
	free(s);
	buf_free(&req);
	buf_free(&msg);
	return rc;
}

/* ---- search ---- */

struct hits {
	json_t *arr;
	struct vg_hit *h;
};

static int hit_one(void *arg, struct wire_reader *r)
{
	struct hits *o = arg;
	char t[TIMEFMT_MAX], *p, *sn;

	proto_get_hit(r, o->h);
	if (wire_ok(r) < 0)
		return -EBADMSG;
	if (o->arr) {
		json_t *v = jsonout_hit(o->h);

		return v && json_array_append_new(o->arr, v) == 0 ? 0 : -ENOMEM;
	}
	p = text_escape(o->h->path, true);
	sn = text_escape(o->h->snippet, true);
	printf("%s  v%" PRIu64 "  %s  %s\n", p ? p : "?", o->h->version,
	       timefmt_format(o->h->time_ns, t, sizeof(t)), sn ? sn : "");
	free(p);
	free(sn);
	return 0;
}

int cmd_search(struct ctl *c, int argc, char **argv)
{
	static const char *usage = "vigil search DEVICE WORD... [--all-versions] [--json]\n"
		"  Versions containing every WORD (case-insensitive; phone numbers in any\n"
		"  form).  Quote a WORD with spaces.  Default: latest version of each path.\n";
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "all-versions", no_argument, NULL, 'A' },
		CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct vg_search_req *q = NULL;
	struct hits o = { 0 };
	bool json = false, all = false;
	struct buf req;
	int opt, i, nwords;
	long n;

	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "h", opts)) != -1) {
		if (opt == 'j')
			json = true;
		else if (opt == 'A')
			all = true;
		else if (!ctl_common_opt(c, opt, optarg))
			return ctl_opt_stop(usage, opt, argv);
	}
	nwords = argc - optind - 1;
	if (nwords < 1)
		return ctl_usage(usage, "expected DEVICE and at least one WORD");
	if (!name_valid(argv[optind]))
		return ctl_usage(usage, "%s: not a valid device name", argv[optind]);
	if (nwords > SEARCH_WORDS_MAX)
		return ctl_usage(usage, "at most %d words", SEARCH_WORDS_MAX);
	for (i = 0; i < nwords; i++) {
		size_t l = strlen(argv[optind + 1 + i]);

		if (l == 0 || l > SEARCH_WORD_MAX)
			return ctl_usage(usage, "a WORD must have 1 to %d bytes", SEARCH_WORD_MAX);
	}
	if (ctl_connect(c) < 0)
		return CTL_FAIL;
	if ((json && !(o.arr = json_array())) || !(o.h = malloc(sizeof(*o.h))) ||
	    !(q = calloc(1, sizeof(*q)))) {
		json_decref(o.arr);
		free(o.h);
		return CTL_FAIL;
	}
	snprintf(q->dev, sizeof(q->dev), "%s", argv[optind]);
	q->all_versions = all;
	q->nwords = (uint32_t)nwords;
	for (i = 0; i < nwords; i++)
		snprintf(q->words[i], sizeof(q->words[i]), "%s", argv[optind + 1 + i]);
	buf_init(&req, MUX_FRAME_MAX);
	proto_put_search_req(&req, q);
	n = ctl_list(c, MSG_CTL_SEARCH, &req, MSG_HITS, argv[optind], hit_one, &o);
	buf_free(&req);
	free(o.h);
	free(q);
	if (n < 0) {
		json_decref(o.arr);
		return CTL_FAIL;
	}
	return json && jsonout_print(o.arr) < 0 ? CTL_FAIL : CTL_OK;
}
