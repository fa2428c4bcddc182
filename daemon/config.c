/* config.c — vigild's command-line flags and --config FILE: one table of
 * keys (vconf_keys) for both, read by common/conffile.c. */
#include "daemon/config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conffile.h"
#include "common/names.h"

enum { K_BUNDLE = 256, K_STATE, K_WATCH, K_SERVER, K_TRACKER, K_DEBOUNCE, K_ERASE_ROOT,
       K_ERASE_LUKS, K_FREEZE, K_VERBOSE, O_CONFIG, O_JSON, O_HELP };

const struct conf_key vconf_keys[] = {
	{ "bundle",        CONF_STR,  K_BUNDLE,     0, 0 },
	{ "state",         CONF_STR,  K_STATE,      0, 0 },
	{ "watch",         CONF_LIST, K_WATCH,      0, 0 },
	{ "server",        CONF_STR,  K_SERVER,     0, 0 },
	{ "tracker",       CONF_STR,  K_TRACKER,    0, 0 },
	{ "debounce-ms",   CONF_NUM,  K_DEBOUNCE,   0, 600000 },
	{ "erase-root",    CONF_LIST, K_ERASE_ROOT, 0, 0 },
	{ "erase-luks",    CONF_LIST, K_ERASE_LUKS, 0, 0 },
	{ "freeze-cgroup", CONF_LIST, K_FREEZE,     0, 0 },
	{ "verbose",       CONF_BOOL, K_VERBOSE,    0, 1 },
	{ NULL, 0, 0, 0, 0 },
};

void vconf_usage(FILE *f)
{
	fputs("usage: vigild run   --bundle FILE --state DIR --watch DIR [--watch DIR]...\n"
	      "                    [--server HOST:PORT] [--tracker auto|bpf|fanotify|scan]\n"
	      "                    [--debounce-ms N] [--erase-root DIR]... [--erase-luks BLOCKDEV]...\n"
	      "                    [--freeze-cgroup PATH]... [--verbose] [--config FILE]\n"
	      "       vigild once  (same flags as run)  reconcile everything with the server, then exit\n"
	      "       vigild check                      what this kernel offers\n"
	      "       vigild status --state DIR [--json] [--config FILE]\n"
	      "--config FILE: 'key = value' lines, a key for each flag above (watch = /home);\n"
	      "a flag on the command line wins over the file.\n", f);
}

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int add_list(char **list, size_t *n, const char *v, bool canon,
		    char *err, size_t errlen)
{
	char rp[PATH_MAX];
	char *s;

	if (*n >= VCONF_LIST_MAX) {
		snprintf(err, errlen, "too many entries (max %d)", VCONF_LIST_MAX);
		return -EINVAL;
	}
	if (canon) {
		if (!realpath(v, rp)) {
			snprintf(err, errlen, "%s: %s", v, strerror(errno));
			return -EINVAL;
		}
		v = rp;
	}
	if (!path_valid(v)) {
		snprintf(err, errlen, "%s: not an absolute normalised path", v);
		return -EINVAL;
	}
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i], v) == 0)
			return 0;
	if (!(s = strdup(v)))
		return -ENOMEM;
	list[(*n)++] = s;
	return 0;
}

struct applyctx {
	struct vconf *c;
	enum vconf_mode mode;
};

/* One setting (conf_fn), from a flag or a line of the file.  status reads
 * only the state directory from a file that holds run's settings. */
static int apply(void *arg, const struct conf_key *k, const char *v, long num,
		 char *err, size_t errlen)
{
	struct applyctx *a = arg;
	struct vconf *c = a->c;

	if (a->mode == VCONF_STATUS && k->id != K_STATE)
		return 0;
	switch (k->id) {
	case K_BUNDLE:     return set_str(&c->bundle, v);
	case K_STATE:      return set_str(&c->state, v);
	case K_SERVER:     return set_str(&c->server, v);
	case K_DEBOUNCE:   c->debounce_ms = (int)num; return 0;
	case K_VERBOSE:    c->verbose = num; return 0;
	case K_WATCH:      return add_list(c->watch, &c->nwatch, v, true, err, errlen);
	case K_ERASE_ROOT: return add_list(c->erase, &c->nerase, v, true, err, errlen);
	case K_ERASE_LUKS: return add_list(c->luks, &c->nluks, v, false, err, errlen);
	case K_FREEZE:     return add_list(c->freeze, &c->nfreeze, v, false, err, errlen);
	case K_TRACKER:
		if (strcmp(v, "auto") && strcmp(v, "bpf") && strcmp(v, "fanotify") && strcmp(v, "scan")) {
			snprintf(err, errlen, "expected auto, bpf, fanotify or scan, not '%s'", v);
			return -EINVAL;
		}
		return set_str(&c->tracker, v);
	}
	return -ENOENT;   /* a key of the table without a case: a bug */
}

static int parse_args(struct vconf *c, enum vconf_mode mode, int argc, char **argv,
		      char *err, size_t errlen)
{
	static const struct option extra[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct applyctx a = { c, mode };
	struct conf_set set = { vconf_keys, apply, &a, 0 };
	struct option lo[CONF_KEYS_MAX + 4];
	const char *config = NULL;
	int o, r;

	if ((r = conf_options(vconf_keys, extra, lo, sizeof(lo) / sizeof(lo[0]))) < 0)
		return r;
	optind = 0;   /* a fresh scan (the unit tests parse many times) */
	opterr = 0;
	while ((o = conf_getopt(argc, argv, ":h", lo)) != -1) {
		if (o == O_HELP || o == 'h') {
			vconf_usage(stdout);
			return 1;
		}
		if (o == O_CONFIG) {
			config = optarg;
		} else if (o == O_JSON && mode == VCONF_STATUS) {
			c->json = true;
		} else if (o == ':') {
			snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
			return -EINVAL;
		} else if (o == '?' || o == O_JSON || (mode == VCONF_STATUS && o != K_STATE)) {
			snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		} else if ((r = conf_flag(&set, o, optarg, err, errlen)) < 0) {
			return r;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (config && (r = conf_file(&set, config, err, errlen)) < 0)
		c->file_error = true;
	return config ? r : 0;
}

int vconf_parse(struct vconf *c, enum vconf_mode mode, int argc, char **argv,
		char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->debounce_ms = VCONF_DEBOUNCE_DEFAULT;
	if ((rc = parse_args(c, mode, argc, argv, err, errlen)) != 0)
		return rc;
	if (!c->state) {
		snprintf(err, errlen, "--state DIR is required");
		return -EINVAL;
	}
	if (mode == VCONF_STATUS)
		return 0;
	if (!c->bundle) {
		snprintf(err, errlen, "--bundle FILE is required");
		return -EINVAL;
	}
	if (c->nwatch == 0) {
		snprintf(err, errlen, "at least one --watch DIR is required");
		return -EINVAL;
	}
	if (!c->tracker && (rc = set_str(&c->tracker, "auto")) < 0)
		return rc;
	if (c->nerase == 0)
		for (size_t i = 0; i < c->nwatch; i++)
			if ((rc = add_list(c->erase, &c->nerase, c->watch[i], false, err, errlen)) < 0)
				return rc;
	return 0;
}

void vconf_free(struct vconf *c)
{
	free(c->bundle);
	free(c->state);
	free(c->server);
	free(c->tracker);
	for (size_t i = 0; i < c->nwatch; i++)
		free(c->watch[i]);
	for (size_t i = 0; i < c->nerase; i++)
		free(c->erase[i]);
	for (size_t i = 0; i < c->nluks; i++)
		free(c->luks[i]);
	for (size_t i = 0; i < c->nfreeze; i++)
		free(c->freeze[i]);
	memset(c, 0, sizeof(*c));
}
