/* test_seqfile.c — controller/seqfile.c: numbers start at 1 and increase,
 * eight processes taking numbers at once never share one (flock across the
 * atomic replace), and a file holding anything but a number is refused and
 * left as it was (table of hostile contents). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/seqfile.h"

#define PROCS 8
#define EACH  40

static char dir[] = "/tmp/vigil-test-seq-XXXXXX";
static char path[PATH_MAX];

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/controller.bundle.seq", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put_file(const char *text, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static void get_file(char *buf, size_t cap, size_t *n)
{
	int fd = open(path, O_RDONLY);
	ssize_t r;

	assert_true(fd >= 0);
	r = read(fd, buf, cap);
	close(fd);
	assert_true(r >= 0);
	*n = (size_t)r;
}

static int take(uint64_t *seq)
{
	struct seqfile s;
	int r = seqfile_lock(&s, path);

	if (r == 0)
		r = seqfile_next(&s, seq);
	seqfile_unlock(&s);
	return r;
}

static void test_increasing(void **state)
{
	uint64_t a = 0, b = 0;
	char buf[64];
	size_t n;

	unlink(path);
	assert_int_equal(take(&a), 0);
	assert_int_equal(a, 1);
	assert_int_equal(take(&b), 0);
	assert_int_equal(b, 2);
	get_file(buf, sizeof(buf), &n);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "2\n", 2);
	put_file("18446744073709551614\n", 21);
	assert_int_equal(take(&a), 0);
	assert_true(a == UINT64_MAX);
	assert_int_equal(take(&a), -EOVERFLOW);
}

static void test_concurrent(void **state)
{
	static uint8_t seen[PROCS * EACH + 1];
	int fds[2], status;
	uint64_t v;
	size_t got = 0;

	unlink(path);
	assert_int_equal(pipe(fds), 0);
	for (int p = 0; p < PROCS; p++) {
		if (fork() == 0) {
			uint64_t prev = 0;

			close(fds[0]);
			for (int i = 0; i < EACH; i++) {
				if (take(&v) < 0 || v <= prev || write(fds[1], &v, sizeof(v)) != sizeof(v))
					_exit(1);
				prev = v;
			}
			_exit(0);
		}
	}
	close(fds[1]);
	while (read(fds[0], &v, sizeof(v)) == sizeof(v)) {
		assert_true(v >= 1 && v <= PROCS * EACH);
		assert_int_equal(seen[v], 0);   /* never handed out twice */
		seen[v] = 1;
		got++;
	}
	close(fds[0]);
	for (int p = 0; p < PROCS; p++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(got, PROCS * EACH);
	assert_int_equal(take(&v), 0);
	assert_int_equal(v, PROCS * EACH + 1);
}

static void test_hostile(void **state)
{
	static const struct { const char *text; int want; size_t len; } rows[] = {
		{ "12", -EBADMSG, 0 },               /* no newline: torn or edited */
		{ "\n", -EBADMSG, 0 },
		{ "-3\n", -EBADMSG, 0 },
		{ "12 \n", -EBADMSG, 0 },
		{ "0x10\n", -EBADMSG, 0 },
		{ "7\n7\n", -EBADMSG, 0 },
		{ "18446744073709551616\n", -EOVERFLOW, 0 },
		{ "99999999999999999999999\n", -EOVERFLOW, 0 },
		{ "123456789012345678901234567890123456\n", -EBADMSG, 0 },   /* longer than any u64 */
		{ "1\0\n", -EBADMSG, 3 },   /* a NUL inside */
	};
	char buf[64];
	uint64_t v;
	size_t n;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].text);

		put_file(rows[i].text, len);
		assert_int_equal(take(&v), rows[i].want);
		get_file(buf, sizeof(buf), &n);
		assert_int_equal(n, len);   /* left as it was */
		assert_memory_equal(buf, rows[i].text, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_increasing),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
