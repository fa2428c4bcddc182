/* test_config.c — vigild's flags and --config file: what is accepted,
 * what is a usage error, and that both give the same settings. */
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

static int parse(enum vconf_mode mode, struct vconf *c, const char *const *args)
{
	char *argv[32], err[512];
	int argc = 0;

	while (args[argc])
		argv[argc] = (char *)args[argc], argc++;
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
		{ -EINVAL, { "--config", "/nonexistent/file" } },
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

static void test_file(void **state)
{
	char path[] = "/tmp/vigil-conf-XXXXXX", arg[64];
	const char *args[] = { "--config", arg, "--debounce-ms", "7", NULL };
	struct vconf c;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# comment\n\nbundle /b.bundle\nstate = /tmp\n  watch\t/tmp  # trailing\n"
	      "tracker scan\ndebounce-ms 100\nfreeze-cgroup /sys/fs/cgroup/user\n"
	      "erase-luks /dev/mmcblk2p3\n", f);
	fclose(f);
	snprintf(arg, sizeof(arg), "%s", path);
	assert_int_equal(parse(VCONF_RUN, &c, args), 0);
	assert_string_equal(c.bundle, "/b.bundle");
	assert_string_equal(c.state, "/tmp");
	assert_string_equal(c.watch[0], "/tmp");
	assert_string_equal(c.tracker, "scan");
	assert_int_equal(c.debounce_ms, 7);         /* the later flag wins */
	assert_int_equal(c.nfreeze, 1);
	assert_int_equal(c.nluks, 1);
	assert_string_equal(c.luks[0], "/dev/mmcblk2p3");
	vconf_free(&c);

	static const char *const bad[] = {
		"nokey\n", "tracker\n", "tracker nope\n", "watch relative/dir\n", "unknown 1\n",
		"erase-luks dev/sda1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		assert_int_equal(parse(VCONF_RUN, &c, args), -EINVAL);
		vconf_free(&c);
	}
	/* a line longer than any setting */
	f = fopen(path, "w");
	for (int i = 0; i < 10000; i++)
		fputc('a', f);
	fclose(f);
	assert_int_equal(parse(VCONF_RUN, &c, args), -EINVAL);
	vconf_free(&c);
	unlink(path);
}

static void test_status_mode(void **state)
{
	static const char *const ok[] = { "--state", "/x", "--json", NULL };
	static const char *const bad[] = { "--state", "/x", "--watch", "/tmp", NULL };
	struct vconf c;

	assert_int_equal(parse(VCONF_STATUS, &c, ok), 0);
	assert_true(c.json);
	vconf_free(&c);
	assert_int_equal(parse(VCONF_STATUS, &c, bad), -EINVAL);
	vconf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_status_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
