/* test_conffile.c — the "key = value" grammar (common/conffile.c): what a
 * file gives, every error with its line number, and the command line's
 * precedence; conf_getopt takes long flags only whole. */
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

#include "common/conffile.h"

enum { K_NAME = 300, K_SIZE, K_ON, K_ITEM };

static const struct conf_key keys[] = {
	{ "name", CONF_STR,  K_NAME, 0, 0 },
	{ "size", CONF_NUM,  K_SIZE, -5, 100 },
	{ "on",   CONF_BOOL, K_ON,   0, 1 },
	{ "item", CONF_LIST, K_ITEM, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

/* What the callback saw, as "key=value/num;" in order. */
struct seen {
	char log[16384];
};

static int record(void *arg, const struct conf_key *k, const char *v, long num, char *why, size_t n)
{
	struct seen *s = arg;
	size_t len = strlen(s->log);

	if (!strcmp(v, "refuse")) {
		snprintf(why, n, "refused");
		return -EINVAL;
	}
	snprintf(s->log + len, sizeof(s->log) - len, "%s=%.40s/%ld;", k->name, v, num);
	return 0;
}

static char path[] = "/tmp/test_conffile-XXXXXX";

static void put(const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Reads text (n bytes) as a file; the result, err and the log. */
static int load(const void *text, size_t n, struct conf_set *s, struct seen *sn, char *err, size_t el)
{
	memset(sn, 0, sizeof(*sn));
	err[0] = '\0';
	s->keys = keys;
	s->fn = record;
	s->arg = sn;
	put(text, n);
	return conf_file(s, path, err, el);
}

static void test_good(void **state)
{
	static const struct { const char *text, *log; } cases[] = {
		{ "", "" },
		{ "# only a comment\n\n   \n\t# indented comment\n", "" },
		{ "name = x\n", "name=x/0;" },
		{ "name=x", "name=x/0;" },                               /* no newline at the end */
		{ "  name \t=\t  a b  c \t\n", "name=a b  c/0;" },     /* blanks trimmed, kept inside */
		{ "name = /a/#b # c\n", "name=/a/#b # c/0;" },          /* no inline comments */
		{ "name = a=b\n", "name=a=b/0;" },                      /* the first '=' splits */
		{ "size = -5\nname = y\n", "size=-5/-5;name=y/0;" },
		{ "size = 100\n", "size=100/100;" },
		{ "item = a\nitem = b\nitem = a\n", "item=a/0;item=b/0;item=a/0;" },   /* accumulates */
		{ "name = x\r\nsize = 7\r\n", "name=x/0;size=7/7;" },  /* CRLF */
		{ "on = yes", "on=yes/1;" }, { "on = no", "on=no/0;" },
		{ "on = true", "on=true/1;" }, { "on = false", "on=false/0;" },
		{ "on = on", "on=on/1;" }, { "on = off", "on=off/0;" },
		{ "on = 1", "on=1/1;" }, { "on = 0", "on=0/0;" }, { "on = YES", "on=YES/1;" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_set s = { 0 };
		struct seen sn;

		assert_int_equal(load(cases[i].text, strlen(cases[i].text), &s, &sn, err, sizeof(err)), 0);
		assert_string_equal(sn.log, cases[i].log);
	}
}

static void test_errors(void **state)
{
	static const struct { const char *text; size_t n; const char *err; } cases[] = {
		{ "name = x\nbogus = 1\n", 0, ":2: unknown key 'bogus'" },
		{ "\n\nname x\n", 0, ":3: 'name x' is not 'key = value' (missing '=')" },
		{ "# c\nname =\n", 0, ":2: 'name' has an empty value" },
		{ "name =   \t\r\n", 0, ":1: 'name' has an empty value" },
		{ " = x\n", 0, ":1: no key before '='" },
		{ "size = 12x\n", 0, ":1: '12x' is not a number from -5 to 100" },
		{ "size = 101\n", 0, ":1: '101' is not a number from -5 to 100" },
		{ "size = -6\n", 0, ":1: '-6' is not a number from -5 to 100" },
		{ "size = 99999999999999999999\n", 0, ":1: '99999999999999999999' is not a number" },
		{ "on = maybe\n", 0, ":1: 'maybe' is not yes or no" },
		{ "name = a\n\n# x\nname = b\n", 0, ":4: 'name' given twice (lines 1 and 4)" },
		{ "on = yes\non = yes\n", 0, ":2: 'on' given twice (lines 1 and 2)" },
		{ "name = a\nname = refuse\n", 0, ":2: 'name' given twice" },
		{ "item = a\nitem = refuse\n", 0, ":2: refused" },
		{ "name = a\0b\n", 11, ":1: a NUL byte" },
		{ "\n\n# \0\n", 6, ":3: a NUL byte" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].text);
		struct conf_set s = { 0 };
		struct seen sn;
		char want[600];

		assert_int_equal(load(cases[i].text, n, &s, &sn, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].err);
		if (strncmp(err, want, strlen(want)))
			fail_msg("case %zu: '%s', want '%s...'", i, err, want);
		assert_null(strchr(err, '\n'));
	}
}

/* Lines at the limit: 4096 bytes pass (with "\n", "\r\n" or nothing after
 * them), 4097 do not; the error names the line. */
static void test_long_lines(void **state)
{
	static const char *const ends[] = { "\n", "\r\n", "" };
	size_t cap = 2 * CONF_LINE_MAX + 64;
	char *text = malloc(cap), err[512];

	assert_non_null(text);
	for (size_t e = 0; e < 3; e++) {
		for (size_t len = CONF_LINE_MAX - 1; len <= CONF_LINE_MAX + 2; len++) {
			struct conf_set s = { 0 };
			struct seen sn;
			size_t n = (size_t)snprintf(text, cap, "# first\n");

			memcpy(text + n, "name = ", 7);
			memset(text + n + 7, 'v', len - 7);
			n += len;
			n += (size_t)snprintf(text + n, cap - n, "%s", ends[e]);
			if (len <= CONF_LINE_MAX) {
				assert_int_equal(load(text, n, &s, &sn, err, sizeof(err)), 0);
				assert_int_equal(strncmp(sn.log, "name=vvv", 8), 0);
			} else {
				assert_int_equal(load(text, n, &s, &sn, err, sizeof(err)), -EINVAL);
				assert_non_null(strstr(err, ":2: line over 4096 bytes"));
			}
		}
	}
	free(text);
}

/* A file over 1 MiB, in short valid lines: the line that crosses it. */
static void test_big_file(void **state)
{
	size_t n = CONF_FILE_MAX + 100, line = 10;   /* "item = ab\n" */
	char *text = malloc(n), err[512], want[64];
	struct conf_set s = { 0 };
	struct seen *sn = malloc(sizeof(*sn));

	assert_non_null(text);
	assert_non_null(sn);
	for (size_t i = 0; i + line <= n; i += line)
		memcpy(text + i, "item = ab\n", line);
	/* the callback's log fills up; the parser stops at the limit */
	assert_int_equal(load(text, n - n % line, &s, sn, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), ":%zu: file over", CONF_FILE_MAX / line + 1);
	assert_non_null(strstr(err, want));
	assert_int_equal(load(text, CONF_FILE_MAX - CONF_FILE_MAX % line, &s, sn, err, sizeof(err)), 0);
	free(text);
	free(sn);
}

static void test_unreadable(void **state)
{
	struct conf_set s = { keys, record, NULL, 0 };
	char err[512];

	assert_int_equal(conf_file(&s, "/nonexistent/vigil.conf", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/vigil.conf: No such file or directory");
	assert_int_equal(conf_file(&s, "/tmp", err, sizeof(err)), -EISDIR);
}

/* The command line wins: a flag given there keeps its value, a list flag
 * replaces the file's list; the file's lines for it are still checked. */
static void test_cli_wins(void **state)
{
	struct conf_set s = { 0 };
	struct seen sn;
	char err[512];
	const char *text = "name = file\nitem = f1\nitem = f2\nsize = 3\n";

	memset(&sn, 0, sizeof(sn));
	s.keys = keys;
	s.fn = record;
	s.arg = &sn;
	assert_int_equal(conf_flag(&s, K_NAME, "cli", err, sizeof(err)), 0);
	assert_int_equal(conf_flag(&s, K_ITEM, "c1", err, sizeof(err)), 0);
	assert_int_equal(conf_flag(&s, K_ON, NULL, err, sizeof(err)), 0);   /* --on */
	put(text, strlen(text));
	assert_int_equal(conf_file(&s, path, err, sizeof(err)), 0);
	assert_string_equal(sn.log, "name=cli/0;item=c1/0;on=yes/1;size=3/3;");
	/* a bad value on the command line names the flag */
	assert_int_equal(conf_flag(&s, K_SIZE, "200", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--size: '200' is not a number from -5 to 100");
	assert_int_equal(conf_flag(&s, 999, "x", err, sizeof(err)), -ENOENT);
	/* an overridden key's bad line is still an error */
	text = "name = a\nname = b\n";
	put(text, strlen(text));
	assert_int_equal(conf_file(&s, path, err, sizeof(err)), -EINVAL);
}

static void test_options(void **state)
{
	static const struct option extra[] = { { "config", required_argument, NULL, 1 }, { 0 } };
	struct option lo[8], small[3];

	assert_int_equal(conf_options(keys, extra, lo, 8), 0);
	assert_string_equal(lo[0].name, "name");
	assert_int_equal(lo[0].has_arg, required_argument);
	assert_int_equal(lo[2].has_arg, no_argument);   /* a bool is a flag without a value */
	assert_int_equal(lo[3].val, K_ITEM);
	assert_string_equal(lo[4].name, "config");
	assert_null(lo[5].name);
	assert_int_equal(conf_options(keys, extra, small, 3), -ENOBUFS);
	assert_ptr_equal(conf_key_of(keys, K_SIZE), &keys[1]);
	assert_null(conf_key_of(keys, 1));
}

static void test_argv_take(void **state)
{
	char a0[] = "x", a1[] = "--config", a2[] = "f", a3[] = "--o=v", a4[] = "--config";
	char *argv[] = { a0, a1, a2, a3, a4, NULL };
	int argc = 5;
	bool bad = false;

	assert_string_equal(conf_argv_take(&argc, argv, 1, "--config", &bad), "f");
	assert_int_equal(argc, 3);
	assert_string_equal(argv[1], "--o=v");
	assert_string_equal(conf_argv_take(&argc, argv, 1, "--o", &bad), "v");
	assert_int_equal(argc, 2);
	assert_null(conf_argv_take(&argc, argv, 1, "--config", &bad));   /* no value */
	assert_true(bad);
	assert_null(argv[2]);
}

/* conf_getopt: a long flag is taken only whole; a prefix is '?' with
 * argv[optind - 1] the flag as given (the usage error names it), whether
 * its value came with '=' or as the next element. */
static void test_getopt_whole(void **state)
{
	static const struct option lo[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "server", required_argument, NULL, 's' },
		{ "state", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *args[3];
		int want;
		const char *named;   /* argv[optind - 1] after the call */
		const char *value;   /* optarg, when a flag was taken */
	} cases[] = {
		{ { "--verbose" }, 'v', "--verbose", NULL },
		{ { "-v" }, 'v', "-v", NULL },
		{ { "--verb" }, '?', "--verb", NULL },
		{ { "--v" }, '?', "--v", NULL },
		{ { "--server", "h:1" }, 's', "h:1", "h:1" },
		{ { "--server=h:1" }, 's', "--server=h:1", "h:1" },
		{ { "--serv", "h:1" }, '?', "--serv", NULL },
		{ { "--serv=h:1" }, '?', "--serv=h:1", NULL },
		{ { "--server", "--verbose" }, 's', "--verbose", "--verbose" },   /* a value, not a flag */
		{ { "--serve", "--verbose" }, '?', "--serve", NULL },
		{ { "--st", "x" }, '?', "--st", NULL },
		{ { "--s", "x" }, '?', "--s", NULL },   /* ambiguous: getopt's own refusal */
		{ { "--nope" }, '?', "--nope", NULL },
		{ { "pos", "--verb" }, '?', "--verb", NULL },   /* after an operand (permuted) */
	};

	(void)state;
	opterr = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[5] = { (char *)"prog" };
		int argc = 1, c;

		for (int k = 0; k < 3 && cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		optind = 0;   /* glibc: a fresh scan */
		c = conf_getopt(argc, argv, "v", lo);
		assert_int_equal(c, cases[i].want);
		assert_string_equal(argv[optind - 1], cases[i].named);
		if (c == '?')
			assert_int_equal(optopt, 0);
		if (cases[i].value)
			assert_string_equal(optarg, cases[i].value);
	}
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
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_big_file),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_cli_wins),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_argv_take),
		cmocka_unit_test(test_getopt_whole),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
