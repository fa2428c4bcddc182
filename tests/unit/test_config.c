/* test_config.c — vigild's flags and --config file: what is accepted,
 * what is a usage error, that both give the same settings and that the
 * command line wins; the server's DIR/config, old grammar included. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config.h"
#include "server/config.h"

static char err[512];

static int parse(enum vconf_mode mode, struct vconf *c, const char *const *args)
{
	char *argv[32] = { "run" };
	int argc = 1;

	while (args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	return vconf_parse(c, mode, argc, argv, err, sizeof(err));
}

static void test_table(void **state)
{
	static const struct { int want; const char *args[12]; } cases[] = {
		{ 0, { "--bundle", "b", "--state", "/tmp", "--watch", "/tmp" } },
		{ 0, { "--bundle=b", "--state=/tmp", "--watch=/tmp", "--tracker", "scan",
		       "--debounce-ms", "0" } },
		{ 0, { "--bundle", "b", "--state", "/tmp", "--watch", "/tmp", "--watch", "/" } },
		{ -EINVAL, { "--state", "/tmp", "--watch", "/tmp" } },                  /* no bundle */
		{ -EINVAL, { "--bundle", "b", "--watch", "/tmp" } },                   /* no state */
		{ -EINVAL, { "--bundle", "b", "--state", "/tmp" } },                   /* no watch */
		{ -EINVAL, { "--bundle", "b", "--state", "/tmp", "--watch", "/nonexistent-dir" } },
		{ -EINVAL, { "--bundle", "b", "--state", "/tmp", "--watch", "/tmp", "--tracker", "x" } },
		{ -EINVAL, { "--bundle", "b", "--state", "/tmp", "--watch", "/tmp", "--debounce-ms", "-1" } },
		{ -EINVAL, { "--bundle", "b", "--state", "/tmp", "--watch", "/tmp", "--debounce-ms", "12x" } },
		{ -EINVAL, { "--bundle", "b", "--state", "/tmp", "--watch", "/tmp", "--json" } },
		{ -EINVAL, { "--bundle", "b", "--state", "/tmp", "--watch" } },        /* no value */
		{ -EINVAL, { "--bogus", "1" } },
		{ -EINVAL, { "positional" } },
		{ -ENOENT, { "--config", "/nonexistent/file" } },                     /* exit 1 */
		{ -EINVAL, { "--bundle", "b", "--state", "/tmp", "--watch", "/tmp", "--verbose=yes" } },
		{ 1, { "--help" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vconf c;

		assert_int_equal(parse(VCONF_RUN, &c, cases[i].args), cases[i].want);
		vconf_free(&c);
	}
}

static void test_values(void **state)
{
	static const char *const args[] = { "--bundle", "b", "--state", "/tmp", "--watch", "/tmp/",
					    "--watch", "/tmp", "--server", "h:1", "--erase-luks",
					    "/dev/mmcblk0p2", "--erase-luks=/dev/sda3",
					    "--erase-luks", "/dev/sda3", NULL };
	struct vconf c;

	assert_int_equal(parse(VCONF_RUN, &c, args), 0);
	assert_int_equal(c.nwatch, 1);              /* canonical, deduplicated */
	assert_string_equal(c.watch[0], "/tmp");
	assert_int_equal(c.nerase, 1);              /* defaults to the watch roots */
	assert_string_equal(c.erase[0], "/tmp");
	assert_string_equal(c.tracker, "auto");
	assert_int_equal(c.debounce_ms, VCONF_DEBOUNCE_DEFAULT);
	assert_string_equal(c.server, "h:1");
	assert_int_equal(c.nluks, 2);               /* repeatable, deduplicated */
	assert_string_equal(c.luks[0], "/dev/mmcblk0p2");
	assert_string_equal(c.luks[1], "/dev/sda3");
	vconf_free(&c);
}

static char path[] = "/tmp/vigil-conf-XXXXXX";

static void put(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_file(void **state)
{
	const char *args[] = { "--config", path, "--debounce-ms", "7", "--freeze-cgroup", "/c", NULL };
	struct vconf c;

	put("# comment\n\nbundle = /b.bundle\nstate=/tmp\n  watch\t= /tmp  \nwatch = /\n"
	    "tracker = scan\ndebounce-ms = 100\nfreeze-cgroup = /sys/fs/cgroup/user\n"
	    "freeze-cgroup = /sys/fs/cgroup/other\nerase-luks = /dev/mmcblk2p3\nverbose = on\n");
	assert_int_equal(parse(VCONF_RUN, &c, args), 0);
	assert_string_equal(c.bundle, "/b.bundle");
	assert_string_equal(c.state, "/tmp");
	assert_int_equal(c.nwatch, 2);              /* a list accumulates */
	assert_string_equal(c.watch[0], "/tmp");
	assert_string_equal(c.watch[1], "/");
	assert_string_equal(c.tracker, "scan");
	assert_true(c.verbose);
	assert_int_equal(c.debounce_ms, 7);         /* the command line wins */
	assert_int_equal(c.nfreeze, 1);             /* and replaces a list */
	assert_string_equal(c.freeze[0], "/c");
	assert_int_equal(c.nluks, 1);
	assert_string_equal(c.luks[0], "/dev/mmcblk2p3");
	vconf_free(&c);

	static const struct { const char *text, *err; } bad[] = {
		{ "bundle /b\n", ":1: 'bundle /b' is not 'key = value'" },   /* the old grammar */
		{ "tracker =\n", ":1: 'tracker' has an empty value" },
		{ "\ntracker = nope\n", ":2: expected auto, bpf, fanotify or scan, not 'nope'" },
		{ "watch = relative/dir\n", ":1: relative/dir: No such file" },
		{ "unknown = 1\n", ":1: unknown key 'unknown'" },
		{ "config = /x\n", ":1: unknown key 'config'" },
		{ "erase-luks = dev/sda1\n", ":1: dev/sda1: not an absolute normalised path" },
		{ "state = /a\nstate = /b\n", ":2: 'state' given twice (lines 1 and 2)" },
		{ "verbose = perhaps\n", ":1: 'perhaps' is not yes or no" },
		{ "debounce-ms = 600001\n", ":1: '600001' is not a number from 0 to 600000" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];

		put(bad[i].text);
		assert_int_equal(parse(VCONF_RUN, &c, args), -EINVAL);
		assert_true(c.file_error);
		snprintf(want, sizeof(want), "%s%s", path, bad[i].err);
		if (strncmp(err, want, strlen(want)))
			fail_msg("case %zu: '%s', want '%s...'", i, err, want);
		vconf_free(&c);
	}
}

static void test_status_mode(void **state)
{
	static const char *const ok[] = { "--state", "/x", "--json", NULL };
	static const char *const bad[] = { "--state", "/x", "--watch", "/tmp", NULL };
	static const char *const file[] = { "--config", path, NULL };
	struct vconf c;

	assert_int_equal(parse(VCONF_STATUS, &c, ok), 0);
	assert_true(c.json);
	vconf_free(&c);
	assert_int_equal(parse(VCONF_STATUS, &c, bad), -EINVAL);
	vconf_free(&c);
	/* status takes the state directory from run's file */
	put("bundle = /b\nstate = /var/lib/vigild\nwatch = /nonexistent\n");
	assert_int_equal(parse(VCONF_STATUS, &c, file), 0);
	assert_string_equal(c.state, "/var/lib/vigild");
	vconf_free(&c);
}

/* The server's DIR/config: today's grammar, and an old "key value" file
 * read the same way (legacy set: run rewrites it). */
static void test_server_dir(void **state)
{
	char dir[] = "/tmp/vigil-srvconf-XXXXXX", file[64];
	struct srv_config cfg;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/config", dir);
	config_defaults(&cfg, dir);
	snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:7000");
	cfg.country = 44;
	config_default_advertise(&cfg);
	assert_int_equal(config_save(&cfg), 0);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(config_load(dir, &cfg, err, sizeof(err)), 0);
	assert_false(cfg.legacy);
	assert_string_equal(cfg.listen, "127.0.0.1:7000");
	assert_string_equal(cfg.advertise, "127.0.0.1:7000");
	assert_int_equal(cfg.country, 44);

	FILE *f = fopen(file, "w");
	fputs("# vigil-server configuration\nlisten 0.0.0.0:7445   # all\r\n\nadvertise h.example:7445\n"
	      "country 1\n", f);
	fclose(f);
	assert_int_equal(config_load(dir, &cfg, err, sizeof(err)), 0);
	assert_true(cfg.legacy);
	assert_string_equal(cfg.listen, "0.0.0.0:7445");
	assert_string_equal(cfg.advertise, "h.example:7445");
	assert_int_equal(cfg.country, 1);
	/* an old file's errors keep its line numbers */
	f = fopen(file, "w");
	fputs("listen 0.0.0.0:7445\n\n# x\ncountry 1000\n", f);
	fclose(f);
	assert_int_equal(config_load(dir, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/config:4: '1000' is not a number from 1 to 999"));
	f = fopen(file, "w");
	fputs("listen 0.0.0.0:7445\ncountry\nadvertise h:1\n", f);   /* a key alone */
	fclose(f);
	assert_int_equal(config_load(dir, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/config:2: 'country' has an empty value"));
	f = fopen(file, "w");
	fputs("listen = 0.0.0.0:7445\ncountry 1\n", f);   /* half new: the new grammar's error */
	fclose(f);
	assert_int_equal(config_load(dir, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/config:2: 'country 1' is not 'key = value'"));
	unlink(file);
	assert_int_equal(config_load(dir, &cfg, err, sizeof(err)), -ENOENT);
	rmdir(dir);
}

static int setup(void **state)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_status_mode),
		cmocka_unit_test(test_server_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
