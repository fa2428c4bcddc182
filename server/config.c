/* config.c — parse and write DIR/config. */
#include "server/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/hostport.h"

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

static int parse_line(struct srv_config *cfg, char *line, char *err, size_t errlen)
{
	char *key, *val, *save = NULL, host[HOSTPORT_MAX], port[HOSTPORT_PORT_SIZE];

	line[strcspn(line, "#\r\n")] = '\0';
	key = strtok_r(line, " \t", &save);
	if (!key)
		return 0;
	val = strtok_r(NULL, " \t", &save);
	if (!val || strtok_r(NULL, " \t", &save)) {
		snprintf(err, errlen, "'%s' needs exactly one value", key);
		return -EINVAL;
	}
	if (!strcmp(key, "listen") || !strcmp(key, "advertise")) {
		if (hostport_split(val, key[0] == 'l' ? HOSTPORT_BIND : 0, host, sizeof(host),
				   port, sizeof(port)) < 0) {
			snprintf(err, errlen, "bad %s address '%s'", key, val);
			return -EINVAL;
		}
		snprintf(key[0] == 'l' ? cfg->listen : cfg->advertise, HOSTPORT_MAX, "%s", val);
	} else if (!strcmp(key, "country")) {
		char *end;
		long c = strtol(val, &end, 10);

		if (*end || c < 1 || c > 999) {
			snprintf(err, errlen, "bad country code '%s'", val);
			return -EINVAL;
		}
		cfg->country = (int)c;
	} else {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -EINVAL;
	}
	return 0;
}

int config_load(const char *dir, struct srv_config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX + 16], line[1024];
	int r = 0, lineno = 0;
	FILE *f;

	config_defaults(cfg, dir);
	if (strlen(dir) >= sizeof(cfg->dir)) {
		snprintf(err, errlen, "%s: name too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(path, sizeof(path), "%s/config", dir);
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s (not a server directory? run 'vigil-server init')",
			 path, strerror(errno));
		return r;
	}
	while (fgets(line, sizeof(line), f)) {
		char why[200] = "";

		lineno++;
		if ((r = parse_line(cfg, line, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			break;
		}
	}
	fclose(f);
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
		     "# vigil-server configuration\nlisten %s\nadvertise %s\ncountry %d\n",
		     cfg->listen, cfg->advertise, cfg->country);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -ENAMETOOLONG;
	return file_write_atomic(path, text, (size_t)n, 0600, 0);
}
