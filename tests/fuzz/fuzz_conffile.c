/* fuzz_conffile.c — libFuzzer harness for the config grammar
 * (common/conffile.c) and the three readers built on it: a table of every
 * type alone, vigild's --config FILE (daemon/config.c through vconf_parse,
 * as `vigild run --config FILE` reads it) and the server's DIR/config
 * (server/config.c config_load, old grammar included).  Byte 0 mod 3 picks
 * the reader, the rest is the file's text, written to a file in a private
 * directory.  Besides no crash or leak: the result is 0 with every setting
 * inside its documented range, or -EINVAL with one line "FILE:LINE: why";
 * a failed load leaves nothing to free. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conffile.h"
#include "common/hostport.h"
#include "common/names.h"
#include "daemon/config.h"
#include "server/config.h"
#include "tests/fuzz/fuzz_util.h"

static char dir[300], file[340];

static void write_file(const uint8_t *p, size_t n)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) < 0)
		abort();
}

/* -EINVAL's message: one line naming the file and a line number. */
static void check_err(int r, const char *err)
{
	size_t n = strlen(file);

	if (r != -EINVAL)
		return;
	if (strchr(err, '\n') || strncmp(err, file, n) || err[n] != ':' ||
	    err[n + 1] < '1' || err[n + 1] > '9')
		abort();
}

static int table_fn(void *arg, const struct conf_key *k, const char *v, long num,
		    char *why, size_t whylen)
{
	size_t n = strlen(v);

	/* a value: not empty, trimmed, one line, in range */
	if (!n || v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t' ||
	    strchr(v, '\n') || n > CONF_LINE_MAX)
		abort();
	if ((k->type == CONF_NUM && (num < k->min || num > k->max)) ||
	    (k->type == CONF_BOOL && num != 0 && num != 1))
		abort();
	++*(int *)arg;
	return 0;
}

static void table_file(void)
{
	static const struct conf_key keys[] = {
		{ "s", CONF_STR, 1, 0, 0 }, { "n", CONF_NUM, 2, -10, 10 },
		{ "b", CONF_BOOL, 3, 0, 1 }, { "l", CONF_LIST, 4, 0, 0 }, { NULL, 0, 0, 0, 0 },
	};
	char err[600] = "";
	int calls = 0;
	struct conf_set s = { keys, table_fn, &calls, 0 };
	int r = conf_file(&s, file, err, sizeof(err));

	if (r != 0 && r != -EINVAL)
		abort();
	check_err(r, err);
}

static void check_list(char *const *v, size_t n)
{
	if (n > VCONF_LIST_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (!path_valid(v[i]))
			abort();
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v[i], v[j]))
				abort();
	}
}

static void vigild_file(void)
{
	char *argv[] = { "run", "--config", file, NULL }, err[600] = "";
	struct vconf c;
	int r = vconf_parse(&c, VCONF_RUN, 3, argv, err, sizeof(err));

	if (r == 0) {
		const char *t = c.tracker;

		if (!c.state || !c.bundle || c.nwatch == 0 || !t)
			abort();
		if (strcmp(t, "auto") && strcmp(t, "bpf") && strcmp(t, "fanotify") && strcmp(t, "scan"))
			abort();
		if (c.debounce_ms < 0 || c.debounce_ms > 600000 || c.nerase == 0)
			abort();
		check_list(c.watch, c.nwatch);
		check_list(c.erase, c.nerase);
		check_list(c.luks, c.nluks);
		check_list(c.freeze, c.nfreeze);
	} else if (r != -EINVAL || !err[0]) {
		abort();
	} else if (c.file_error) {
		check_err(r, err);
	}
	vconf_free(&c);
}

static void server_file(void)
{
	char err[600] = "", host[HOSTPORT_MAX], port[HOSTPORT_PORT_SIZE];
	struct srv_config cfg;
	int r = config_load(dir, &cfg, err, sizeof(err));

	if (r == 0) {
		if (cfg.country < 1 || cfg.country > 999 || !cfg.advertise[0])
			abort();
		if (!memchr(cfg.listen, 0, sizeof(cfg.listen)) ||
		    !memchr(cfg.advertise, 0, sizeof(cfg.advertise)))
			abort();
		if (hostport_split(cfg.listen, HOSTPORT_BIND, host, sizeof(host), port, sizeof(port)) < 0)
			abort();
	} else if (r != -EINVAL || !err[0]) {
		abort();
	} else {
		check_err(r, err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s", fuzz_tmpdir("conffile"));
		snprintf(file, sizeof(file), "%s/config", dir);
	}
	if (size < 1)
		return 0;
	write_file(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0: vigild_file(); break;
	case 1: server_file(); break;
	default: table_file(); break;
	}
	return 0;
}
