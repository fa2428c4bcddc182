/* test_tracker_fanotify.c — the fanotify tracker on this kernel: content
 * changes under the root are reported with ranges unknown, changes
 * elsewhere on the same filesystem are not, a directory renamed into the
 * root is rescanned and then tracked, legacy syscalls are seen, and a queue
 * overflow asks for a rescan; FAN_CLOSE_WRITE becomes closed().  Needs
 * root; skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "daemon/tracker.h"
#include "tests/unit/trk_harness.h"

static void test_modify_unknown_ranges(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX];
	const struct rec *x;
	struct kid k;

	SKIP_IF_NO_TRACKER(e);
	snprintf(p, sizeof(p), "%s/f", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		write_file(p, 1000);
		step(&k);
		int fd = open(p, O_RDWR);

		CHECK(fd >= 0);
		CHECK(pwrite(fd, "abc", 3, 10) == 3);
		close(fd);
		step(&k);
		_exit(0);
	}
	await_step(e, &k);
	assert_non_null(find(e, 'c', p));
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	assert_non_null(find(e, 'c', p));
	x = find(e, 'r', p);
	assert_non_null(x);
	assert_true(x->flag);
	assert_int_equal(x->n, 0);
	go(&k);
	kid_done(e, &k);
}

static void test_outside_is_silent(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX], q[PATH_MAX];
	struct kid k;

	SKIP_IF_NO_TRACKER(e);
	snprintf(p, sizeof(p), "%s/other", e->out);
	snprintf(q, sizeof(q), "%s/other2", e->out);
	drain(e);
	e->nrec = 0;
	kid_start(&k);
	if (k.pid == 0) {
		write_file(p, 10000);
		CHECK(rename(p, q) == 0);
		CHECK(chmod(q, 0600) == 0);
		CHECK(unlink(q) == 0);
		CHECK(mkdir(p, 0700) == 0);
		CHECK(rmdir(p) == 0);
		_exit(0);
	}
	kid_done(e, &k);
	for (size_t i = 0; i < e->nrec; i++)
		fail_msg("unexpected event %c %s", e->rec[i].kind, e->rec[i].path);
}

static void test_dir_moved_in(void **state)
{
	struct env *e = *state;
	char d[PATH_MAX], f[PATH_MAX], nd[PATH_MAX], nf[PATH_MAX];
	struct kid k;
	int fd;

	SKIP_IF_NO_TRACKER(e);
	snprintf(d, sizeof(d), "%s/dir", e->out);
	snprintf(f, sizeof(f), "%s/dir/f", e->out);
	snprintf(nd, sizeof(nd), "%s/dir", e->root);
	snprintf(nf, sizeof(nf), "%s/dir/f", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		CHECK(mkdir(d, 0755) == 0);
		write_file(f, 5000);
		fd = open(f, O_RDWR);
		CHECK(fd >= 0);
		step(&k);
		CHECK(rename(d, nd) == 0);
		step(&k);
		CHECK(pwrite(fd, "hello", 5, 1000) == 5);
		step(&k);
		_exit(0);
	}
	await_step(e, &k);
	assert_int_equal(e->nrec, 0);
	go(&k);
	await_step(e, &k);
	assert_non_null(find(e, 's', nd));
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	assert_non_null(find(e, 'c', nf));
	go(&k);
	kid_done(e, &k);
}

static void test_legacy_syscalls(void **state)
{
	struct env *e = *state;
	char a[PATH_MAX], b[PATH_MAX], dd[PATH_MAX], l[PATH_MAX];
	struct kid k;

	SKIP_IF_NO_TRACKER(e);
	snprintf(a, sizeof(a), "%s/a", e->root);
	snprintf(b, sizeof(b), "%s/b", e->root);
	snprintf(dd, sizeof(dd), "%s/dd", e->root);
	snprintf(l, sizeof(l), "%s/l", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		write_file(a, 10);
#ifdef SYS_rename
		CHECK(syscall(SYS_rename, a, b) == 0);
		CHECK(syscall(SYS_mkdir, dd, 0755) == 0);
		CHECK(syscall(SYS_link, b, l) == 0);
		CHECK(syscall(SYS_chmod, b, 0600) == 0);
		CHECK(syscall(SYS_unlink, l) == 0);
		CHECK(syscall(SYS_rmdir, dd) == 0);
#else
		CHECK(rename(a, b) == 0);
		CHECK(mkdir(dd, 0755) == 0);
		CHECK(link(b, l) == 0);
		CHECK(chmod(b, 0600) == 0);
		CHECK(unlink(l) == 0);
		CHECK(rmdir(dd) == 0);
#endif
		_exit(0);
	}
	kid_done(e, &k);
	assert_non_null(find(e, 'c', a));
	assert_non_null(find(e, 'c', b));
	assert_non_null(find(e, 'c', dd));
	assert_non_null(find(e, 'c', l));
}

static void test_overflow_rescans(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX];
	struct kid k;

	SKIP_IF_NO_TRACKER(e);
	drain(e);
	e->nrec = 0;
	kid_start(&k);
	if (k.pid == 0) {
		for (int i = 0; i < 20000; i++) {
			int fd;

			snprintf(p, sizeof(p), "%s/flood-%05d", e->root, i);
			fd = open(p, O_CREAT | O_WRONLY, 0644);
			CHECK(fd >= 0);
			close(fd);
			unlink(p);
		}
		_exit(0);
	}
	kid_done(e, &k);
	assert_non_null(find(e, 's', ""));
}

static void test_close_write(void **state)
{
	struct env *e = *state;
	char p[PATH_MAX];
	struct kid k;
	int fd;

	SKIP_IF_NO_TRACKER(e);
	snprintf(p, sizeof(p), "%s/closing", e->root);
	kid_start(&k);
	if (k.pid == 0) {
		write_file(p, 100);
		step(&k);
		fd = open(p, O_RDONLY);
		CHECK(fd >= 0);
		close(fd);                     /* a reader's close: nothing */
		step(&k);
		_exit(0);
	}
	await_step(e, &k);
	assert_int_equal(count(e, 'x', p), 1);
	e->nrec = 0;
	go(&k);
	await_step(e, &k);
	assert_int_equal(count(e, 'x', p), 0);
	go(&k);
	kid_done(e, &k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_modify_unknown_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_is_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_moved_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_syscalls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_rescans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_write, setup, teardown),
	};

	log_init("test_tracker_fanotify", LOG_LVL_INFO);
	trk_ops = &tracker_fanotify_ops;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
