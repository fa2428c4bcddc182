/* config.c — DIR/config and vigil-server's --config FILE, both read by
 * common/conffile.c. */
#include "server/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdio.h"
#include "common/hostport.h"

#define CONFIG_OLD_MAX 4096   /* an old-grammar DIR/config (init wrote ~100 bytes) */

enum { K_LISTEN = 1, K_ADVERTISE, K_COUNTRY };

static const struct conf_key dir_keys[] = {
	{ "listen",    CONF_STR, K_LISTEN,    0, 0 },
	{ "advertise", CONF_STR, K_ADVERTISE, 0, 0 },
	{ "country",   CONF_NUM, K_COUNTRY,   1, 999 },
	{ NULL, 0, 0, 0, 0 },
};

const struct conf_key srv_flag_keys[] = {
	{ "listen",          CONF_STR,  SRV_OPT_LISTEN,    0, 0 },
	{ "advertise",       CONF_STR,  SRV_OPT_ADVERTISE, 0, 0 },
	{ "key-file",        CONF_STR,  SRV_OPT_KEY_FILE,  0, 0 },
	{ "passphrase-file", CONF_STR,  SRV_OPT_PASS_FILE, 0, 0 },
	{ "verbose",         CONF_BOOL, SRV_OPT_VERBOSE,   0, 1 },
	{ NULL, 0, 0, 0, 0 },
};

void config_defaults(struct srv_config *cfg, const char *dir)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->dir, sizeof(cfg->dir), "%s", dir);
	snprintf(cfg->listen, sizeof(cfg->listen), "0.0.0.0:%s", HOSTPORT_DEFAULT_PORT);
	cfg->country = 86;
}

void config_default_advertise(struct srv_config *cfg)
{
	char host[200], port[8];   /* small enough that "[host]:port" fits */

	if (cfg->advertise[0])
		return;
	if (hostport_split(cfg->listen, HOSTPORT_BIND, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(cfg->advertise, sizeof(cfg->advertise), "%s", cfg->listen);
		return;
	}
	/* A wildcard address is no address a client can dial. */
	if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "*"))
		snprintf(cfg->advertise, sizeof(cfg->advertise), "127.0.0.1:%s", port);
	else if (!strcmp(host, "::"))
		snprintf(cfg->advertise, sizeof(cfg->advertise), "[::1]:%s", port);
	else if (strchr(host, ':'))
		snprintf(cfg->advertise, sizeof(cfg->advertise), "[%s]:%s", host, port);
	else
		snprintf(cfg->advertise, sizeof(cfg->advertise), "%s:%s", host, port);
}

int config_path(const struct srv_config *cfg, const char *file, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", cfg->dir, file);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* A HOST:PORT value into out (HOSTPORT_MAX bytes).  0 or -EINVAL (why). */
static int set_addr(char *out, const struct conf_key *k, const char *v, unsigned flags,
		    char *why, size_t whylen)
{
	char host[HOSTPORT_MAX], port[HOSTPORT_PORT_SIZE];

	if (strlen(v) >= HOSTPORT_MAX || hostport_split(v, flags, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(why, whylen, "%s: '%.64s' is not a HOST:PORT address", k->name, v);
		return -EINVAL;
	}
	snprintf(out, HOSTPORT_MAX, "%s", v);
	return 0;
}

static int dir_apply(void *arg, const struct conf_key *k, const char *v, long num,
		     char *why, size_t whylen)
{
	struct srv_config *cfg = arg;

	switch (k->id) {
	case K_LISTEN:    return set_addr(cfg->listen, k, v, HOSTPORT_BIND, why, whylen);
	case K_ADVERTISE: return set_addr(cfg->advertise, k, v, 0, why, whylen);
	case K_COUNTRY:   cfg->country = (int)num; return 0;
	}
	return -ENOENT;
}

/* An old-grammar file: no setting line holds '=' ("listen HOST:PORT";
 * '#' began a comment anywhere, a value was one word). */
static bool is_legacy(const char *text)
{
	bool any = false;

	for (const char *l = text; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t n = strcspn(l, "\n#"), blank = strspn(l, " \t\r");

		if (blank >= n)
			continue;
		if (memchr(l, '=', n))
			return false;
		any = true;
	}
	return any;
}

/* The old grammar's lines as "key = value" (into out): the first word is
 * the key, the rest up to a '#' the value; the one parser then reads them,
 * so an old file is held to the same checks. */
static int legacy_convert(const char *text, struct buf *out)
{
	int r = 0;

	for (const char *l = text; *l && !r; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t n = strcspn(l, "\n#"), b = strspn(l, " \t"), k;

		while (n > b && strchr(" \t\r", l[n - 1]))
			n--;
		if (n <= b) {   /* a blank line keeps the numbering of the file */
			r = buf_append(out, "\n", 1);
			continue;
		}
		k = b + strcspn(l + b, " \t\r\n#");   /* the first word: within [b, n] */
		if (k > n)
			k = n;
		r = buf_printf(out, "%.*s = %.*s\n", (int)(k - b), l + b, (int)(n - k), l + k);
	}
	return r < 0 ? r : 0;
}

/* An old-grammar DIR/config, converted and read by the one parser. */
static int legacy_load(struct conf_set *set, const char *text, const char *path,
		       char *err, size_t errlen)
{
	struct buf conv;
	FILE *f = NULL;
	int r;

	buf_init(&conv, 3 * CONFIG_OLD_MAX);   /* "k\n" grows to "k = \n": at most 2.5 times */
	if ((r = legacy_convert(text, &conv)) == 0 && !(f = fmemopen(conv.data, conv.len, "r")))
		r = -errno;
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	else
		r = conf_stream(set, f, path, err, errlen);
	if (f)
		fclose(f);
	buf_free(&conv);
	return r;
}

int config_load(const char *dir, struct srv_config *cfg, char *err, size_t errlen)
{
	struct conf_set set = { dir_keys, dir_apply, cfg, 0 };
	char path[PATH_MAX + 16];
	struct buf text;
	int r;

	config_defaults(cfg, dir);
	if (strlen(dir) >= sizeof(cfg->dir)) {
		snprintf(err, errlen, "%s: name too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(path, sizeof(path), "%s/config", dir);
	buf_init(&text, CONFIG_OLD_MAX);
	r = file_read_all(AT_FDCWD, path, 0, &text);
	if (r == 0 && !buf_cstr(&text))
		r = -ENOMEM;
	if (r == 0 && (cfg->legacy = is_legacy(buf_cstr(&text))))
		r = legacy_load(&set, buf_cstr(&text), path, err, errlen);
	else if (r == 0 || r == -EMSGSIZE)   /* too big for an old file: the parser says why */
		r = conf_file(&set, path, err, errlen);
	else
		snprintf(err, errlen, "%s: %s (not a server directory? run 'vigil-server init')",
			 path, strerror(-r));
	buf_free(&text);
	if (!r)
		config_default_advertise(cfg);
	return r;
}

int config_save(const struct srv_config *cfg)
{
	char path[PATH_MAX + 16], text[1024];
	int n;

	snprintf(path, sizeof(path), "%s/config", cfg->dir);
	n = snprintf(text, sizeof(text),
		     "# vigil-server's settings for this directory (man vigil.conf)\n"
		     "listen = %s\nadvertise = %s\ncountry = %d\n",
		     cfg->listen, cfg->advertise, cfg->country);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -ENAMETOOLONG;
	return file_write_atomic(path, text, (size_t)n, 0600, 0);
}

static int flag_apply(void *arg, const struct conf_key *k, const char *v, long num,
		      char *why, size_t whylen)
{
	struct srv_flags *f = arg;
	char *out = k->id == SRV_OPT_KEY_FILE ? f->key_file : f->pass_file;

	switch (k->id) {
	case SRV_OPT_LISTEN:    return set_addr(f->listen, k, v, HOSTPORT_BIND, why, whylen);
	case SRV_OPT_ADVERTISE: return set_addr(f->advertise, k, v, 0, why, whylen);
	case SRV_OPT_VERBOSE:   f->verbose = num; return 0;
	case SRV_OPT_KEY_FILE:
	case SRV_OPT_PASS_FILE:
		if ((k->id == SRV_OPT_KEY_FILE ? f->pass_file : f->key_file)[0]) {
			snprintf(why, whylen, "give one of key-file, passphrase-file");
			return -EINVAL;
		}
		if (strlen(v) >= PATH_MAX) {
			snprintf(why, whylen, "'%s' is longer than a path", k->name);
			return -EINVAL;
		}
		snprintf(out, PATH_MAX, "%s", v);
		return 0;
	}
	return -ENOENT;
}

int srv_flags_load(const char *path, struct srv_flags *f, char *err, size_t errlen)
{
	struct conf_set set = { srv_flag_keys, flag_apply, f, 0 };

	memset(f, 0, sizeof(*f));
	return conf_file(&set, path, err, errlen);
}
