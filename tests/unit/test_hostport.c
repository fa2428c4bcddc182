/* test_hostport.c — hostport_split: every accepted form, to dial and to
 * bind, and a corpus of hostile or malformed addresses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/hostport.h"

struct hp_case {
	const char *in;
	unsigned flags;
	int want;
	const char *host, *port;
};

static void check(const struct hp_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char host[HOSTPORT_MAX] = "?", port[HOSTPORT_PORT_SIZE] = "?";
		int r = hostport_split(c[i].in, c[i].flags, host, sizeof(host), port, sizeof(port));

		if (r != c[i].want)
			fail_msg("'%s' flags %u: %d, want %d", c[i].in, c[i].flags, r, c[i].want);
		if (r == 0 && (strcmp(host, c[i].host) || strcmp(port, c[i].port)))
			fail_msg("'%s': host '%s' port '%s', want '%s' '%s'", c[i].in, host, port,
				 c[i].host, c[i].port);
	}
}

static void test_accepted(void **state)
{
	static const struct hp_case cases[] = {
		{ "backup.example:7445", 0, 0, "backup.example", "7445" },
		{ "127.0.0.1:1", 0, 0, "127.0.0.1", "1" },
		{ "h:65535", 0, 0, "h", "65535" },
		{ "[::1]:7445", 0, 0, "::1", "7445" },
		{ "[fe80::1%eth0]:80", 0, 0, "fe80::1%eth0", "80" },
		{ "0.0.0.0:9", HOSTPORT_BIND, 0, "0.0.0.0", "9" },
		{ "*:9", HOSTPORT_BIND, 0, "*", "9" },
		{ ":9", HOSTPORT_BIND, 0, "", "9" },
		{ "[::]:9", HOSTPORT_BIND, 0, "::", "9" },
		{ "myhost", HOSTPORT_BIND, 0, "myhost", HOSTPORT_DEFAULT_PORT },
		{ "[::]", HOSTPORT_BIND, 0, "::", HOSTPORT_DEFAULT_PORT },
		{ "h:0080", 0, 0, "h", "0080" },
	};

	check(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_refused(void **state)
{
	static const struct hp_case cases[] = {
		{ "", 0, -EINVAL, NULL, NULL },
		{ "", HOSTPORT_BIND, -EINVAL, NULL, NULL },
		{ "nocolon", 0, -EINVAL, NULL, NULL },          /* a client needs a port */
		{ "[::1]", 0, -EINVAL, NULL, NULL },
		{ ":7445", 0, -EINVAL, NULL, NULL },            /* nothing to dial */
		{ "*:7445", 0, -EINVAL, NULL, NULL },
		{ "h:", 0, -EINVAL, NULL, NULL },
		{ "h:", HOSTPORT_BIND, -EINVAL, NULL, NULL },
		{ "h:0", 0, -EINVAL, NULL, NULL },
		{ "h:65536", 0, -EINVAL, NULL, NULL },
		{ "h:99999", 0, -EINVAL, NULL, NULL },
		{ "h:123456", 0, -EINVAL, NULL, NULL },
		{ "h:12x", 0, -EINVAL, NULL, NULL },
		{ "h:-1", 0, -EINVAL, NULL, NULL },
		{ "h:+80", 0, -EINVAL, NULL, NULL },
		{ "h: 80", 0, -EINVAL, NULL, NULL },
		{ "h:80 ", 0, -EINVAL, NULL, NULL },
		{ "::1:7445", 0, -EINVAL, NULL, NULL },         /* bare IPv6 */
		{ "::1", HOSTPORT_BIND, -EINVAL, NULL, NULL },
		{ "[::1]7445", 0, -EINVAL, NULL, NULL },
		{ "[::1]:", 0, -EINVAL, NULL, NULL },
		{ "[::1", 0, -EINVAL, NULL, NULL },
		{ "::1]:80", 0, -EINVAL, NULL, NULL },
		{ "[]:80", 0, -EINVAL, NULL, NULL },
		{ "[]:80", HOSTPORT_BIND, -EINVAL, NULL, NULL },
		{ "[host]:80", 0, -EINVAL, NULL, NULL },        /* brackets hold IPv6 */
		{ "[::1]]:80", 0, -EINVAL, NULL, NULL },
		{ "[[::1]]:80", 0, -EINVAL, NULL, NULL },
		{ "a b:80", 0, -EINVAL, NULL, NULL },
		{ "a\tb:80", 0, -EINVAL, NULL, NULL },
		{ "a\nb:80", 0, -EINVAL, NULL, NULL },
		{ "a/b:80", 0, -EINVAL, NULL, NULL },
		{ "a#b:80", 0, -EINVAL, NULL, NULL },
		{ "a\x7f:80", 0, -EINVAL, NULL, NULL },
		{ "a:b:80", 0, -EINVAL, NULL, NULL },
	};

	check(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_sizes(void **state)
{
	char in[HOSTPORT_MAX + 8], host[8], port[HOSTPORT_PORT_SIZE];

	assert_int_equal(hostport_split(NULL, 0, host, sizeof(host), port, sizeof(port)), -EINVAL);
	/* host exactly fits, then one byte too long */
	assert_int_equal(hostport_split("abcdefg:1", 0, host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "abcdefg");
	assert_int_equal(hostport_split("abcdefgh:1", 0, host, sizeof(host), port, sizeof(port)),
			 -EINVAL);
	assert_int_equal(hostport_split("h:65535", 0, host, sizeof(host), port, 5), -EINVAL);
	/* the whole address is bounded, whatever the buffers:
	 * HOSTPORT_MAX - 1 characters pass, HOSTPORT_MAX do not */
	for (size_t len = HOSTPORT_MAX - 1; len <= HOSTPORT_MAX; len++) {
		char big[HOSTPORT_MAX + 8];

		memset(in, 'a', len - 3);
		snprintf(in + len - 3, 4, ":80");
		assert_int_equal(strlen(in), len);
		assert_int_equal(hostport_split(in, 0, big, sizeof(big), port, sizeof(port)),
				 len < HOSTPORT_MAX ? 0 : -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
