/* fuzz_config.c — libFuzzer harness for the two config files: vigild's
 * --config FILE (daemon/config.c, through vconf_parse as `vigild run
 * --config FILE` reads it) and the server's DIR/config (server/config.c
 * config_load).  Byte 0 bit 0 picks the file, the rest is its text, written
 * to a file in a private directory.  Besides no crash or leak: the result
 * is 0 with settings inside their documented ranges, or -EINVAL with a
 * message, and a failed load leaves nothing to free. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	char *argv[] = { "--config", file, NULL }, err[512] = "";
	struct vconf c;
	int r = vconf_parse(&c, VCONF_RUN, 2, argv, err, sizeof(err));

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
	}
	vconf_free(&c);
}

static void server_file(void)
{
	char err[512] = "", host[HOSTPORT_MAX], port[HOSTPORT_PORT_SIZE];
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
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s", fuzz_tmpdir("config"));
		snprintf(file, sizeof(file), "%s/config", dir);
	}
	if (size < 1)
		return 0;
	write_file(data + 1, size - 1);
	if (data[0] & 1)
		server_file();
	else
		vigild_file();
	return 0;
}
