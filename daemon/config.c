/* config.c — vigild's command-line flags and --config FILE (same keys). */
#include "daemon/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"

void vconf_usage(FILE *f)
{
	fputs("usage: vigild run   --bundle FILE --state DIR --watch DIR [--watch DIR]...\n"
	      "                    [--server HOST:PORT] [--tracker auto|bpf|fanotify|scan]\n"
	      "                    [--debounce-ms N] [--erase-root DIR]... [--erase-luks BLOCKDEV]...\n"
	      "                    [--freeze-cgroup PATH]...\n"
	      "                    [--config FILE]\n"
	      "       vigild once  (same flags as run)  reconcile everything with the server, then exit\n"
	      "       vigild check                      what this kernel offers\n"
	      "       vigild status --state DIR [--json]\n", f);
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

/* One setting by key.  Returns 0, -ENOENT for an unknown key, -EINVAL. */
static int apply(struct vconf *c, const char *key, const char *v, char *err, size_t errlen)
{
	char *end;
	long n;

	if (!strcmp(key, "bundle"))
		return set_str(&c->bundle, v);
	if (!strcmp(key, "state"))
		return set_str(&c->state, v);
	if (!strcmp(key, "server"))
		return set_str(&c->server, v);
	if (!strcmp(key, "tracker")) {
		if (strcmp(v, "auto") && strcmp(v, "bpf") && strcmp(v, "fanotify") && strcmp(v, "scan")) {
			snprintf(err, errlen, "--tracker: expected auto, bpf, fanotify or scan, not '%s'", v);
			return -EINVAL;
		}
		return set_str(&c->tracker, v);
	}
	if (!strcmp(key, "debounce-ms")) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < 0 || n > 600000) {
			snprintf(err, errlen, "--debounce-ms: expected 0..600000, not '%s'", v);
			return -EINVAL;
		}
		c->debounce_ms = (int)n;
		return 0;
	}
	if (!strcmp(key, "watch"))
		return add_list(c->watch, &c->nwatch, v, true, err, errlen);
	if (!strcmp(key, "erase-root"))
		return add_list(c->erase, &c->nerase, v, true, err, errlen);
	if (!strcmp(key, "erase-luks"))
		return add_list(c->luks, &c->nluks, v, false, err, errlen);
	if (!strcmp(key, "freeze-cgroup"))
		return add_list(c->freeze, &c->nfreeze, v, false, err, errlen);
	snprintf(err, errlen, "unknown setting '%s'", key);
	return -ENOENT;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int vconf_load_file(struct vconf *c, const char *path, char *err, size_t errlen)
{
	char line[PATH_MAX + 64], e2[256];
	FILE *f;
	int rc = 0, lineno = 0;

	if (!(f = fopen(path, "re"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *k, *v, *h;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -EINVAL;
			break;
		}
		if ((h = strchr(line, '#')))
			*h = '\0';
		k = trim(line);
		if (!*k)
			continue;
		v = k + strcspn(k, " \t=");
		if (*v)
			*v++ = '\0';
		v = trim(v);
		if (*v == '=')
			v = trim(v + 1);
		if (!*v) {
			snprintf(err, errlen, "%s:%d: '%s' needs a value", path, lineno, k);
			rc = -EINVAL;
			break;
		}
		if ((rc = apply(c, k, v, e2, sizeof(e2))) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, e2);
			rc = -EINVAL;
			break;
		}
	}
	fclose(f);
	return rc;
}

static const char *const flag_keys[] = {
	"bundle", "state", "server", "tracker", "debounce-ms", "watch",
	"erase-root", "erase-luks", "freeze-cgroup", NULL,
};

static int parse_args(struct vconf *c, enum vconf_mode mode, int argc, char **argv,
		      char *err, size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		char key[32];
		size_t kl;
		int rc;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			vconf_usage(stdout);
			return 1;
		}
		if (!strcmp(a, "--json") && mode == VCONF_STATUS) {
			c->json = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -EINVAL;
		}
		a += 2;
		eq = strchr(a, '=');
		kl = eq ? (size_t)(eq - a) : strlen(a);
		if (kl >= sizeof(key)) {
			snprintf(err, errlen, "unknown option '%s'", argv[i]);
			return -EINVAL;
		}
		memcpy(key, a, kl);
		key[kl] = '\0';
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		if (!v) {
			snprintf(err, errlen, "option --%s needs a value", key);
			return -EINVAL;
		}
		if (!strcmp(key, "config")) {
			if ((rc = vconf_load_file(c, v, err, errlen)) < 0)
				return rc;
			continue;
		}
		bool known = false;
		for (size_t k = 0; flag_keys[k]; k++)
			known |= !strcmp(flag_keys[k], key);
		if (!known || (mode == VCONF_STATUS && strcmp(key, "state"))) {
			snprintf(err, errlen, "unknown option '--%s'", key);
			return -EINVAL;
		}
		if ((rc = apply(c, key, v, err, errlen)) < 0)
			return -EINVAL;
	}
	return 0;
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
