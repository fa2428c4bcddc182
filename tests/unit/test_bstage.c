/* test_bstage.c — the staged body of a resumable DELTA or RANGES upload
 * (server/store/content_stage.c): what a later attempt is told it holds,
 * for the same PUT, another PUT, a torn header, bytes never synced, the
 * cap, a stage in use, forgetting and expiry; an encrypted store's stage
 * holds sealed records only. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "server/store/content.h"
#include "tests/unit/store_fixture.h"

static const struct devkey key1 = { { 9, 9, 9 } };
static const uint8_t token[16] = { 0x31, 0x41, 0x59 };
static const struct bstage_id id1 = { .kind = 2, .base_version = 4, .size = 1 << 20,
				      .root = { 1, 2, 3 } };
static char dir[STOREFX_DIR];
static struct store *st;

static size_t stages(void)
{
	char pat[128];
	glob_t g;
	size_t n;

	snprintf(pat, sizeof(pat), "%s/uploads/*/*.body", dir);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}

static uint64_t reopen(const struct bstage_id *id, uint64_t cap)
{
	struct bstage *sg;
	uint64_t held = 99;

	assert_int_equal(bstage_open(st, &key1, token, id, cap, &sg, &held), 0);
	bstage_close(sg, false);
	return held;
}

/* Synced bytes are held and read back; bytes appended after the last sync
 * are not promised. */
static void test_held(void **state)
{
	struct bstage *sg, *other;
	uint8_t a[5000], b[5000];
	uint64_t held;

	memset(a, 'a', sizeof(a));
	assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
	assert_int_equal(held, 0);
	assert_int_equal(bstage_append(sg, a, 3000), 0);
	assert_int_equal(bstage_sync(sg), 0);
	assert_int_equal(bstage_append(sg, a, 1000), 0);   /* never synced */
	/* in use: a second attempt waits its turn */
	assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &other, &held), -EBUSY);
	bstage_close(sg, false);

	assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
	assert_int_equal(held, 3000);
	assert_int_equal(bstage_pread(sg, b, sizeof(b), 0), 3000);
	assert_memory_equal(a, b, 3000);
	assert_int_equal(bstage_pread(sg, b, sizeof(b), 3000), 0);
	bstage_close(sg, true);
	assert_int_equal(stages(), 0);
	assert_int_equal(reopen(&id1, 1 << 20), 0);
}

/* A stage answers only the PUT it was made for, and a damaged header
 * starts over. */
static void test_other_put_and_torn(void **state)
{
	static const size_t field[] = { 8, 16, 24, 32, 64, 72 };   /* kind, base, size, root, held, crc */
	struct bstage_id other;
	struct bstage *sg;
	char path[256];
	uint8_t a[2000] = { 0 };
	uint64_t held;
	int fd;

	for (int k = 0; k < 4; k++) {
		other = id1;
		if (k == 0) other.kind = 3;
		if (k == 1) other.base_version++;
		if (k == 2) other.size++;
		if (k == 3) other.root[31] ^= 1;
		assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
		assert_int_equal(bstage_append(sg, a, sizeof(a)), 0);
		assert_int_equal(bstage_sync(sg), 0);
		bstage_close(sg, false);
		assert_int_equal(reopen(&other, 1 << 20), 0);   /* and now it is other's */
		assert_int_equal(reopen(&id1, 1 << 20), 0);
	}
	for (size_t i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
		assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
		assert_int_equal(bstage_append(sg, a, sizeof(a)), 0);
		assert_int_equal(bstage_sync(sg), 0);
		bstage_close(sg, false);
		storefx_upload_file(dir, "*.body", path, sizeof(path));
		assert_true((fd = open(path, O_RDWR)) >= 0);
		assert_int_equal(pwrite(fd, "\xff", 1, (off_t)field[i]), 1);
		close(fd);
		assert_int_equal(reopen(&id1, 1 << 20), 0);
	}
	/* a file shorter than its header says */
	assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
	assert_int_equal(bstage_append(sg, a, sizeof(a)), 0);
	assert_int_equal(bstage_sync(sg), 0);
	bstage_close(sg, false);
	storefx_upload_file(dir, "*.body", path, sizeof(path));
	assert_int_equal(truncate(path, 80 + 1000), 0);
	assert_int_equal(reopen(&id1, 1 << 20), 0);
}

/* Past the cap nothing more is staged: a cut resumes at what was. */
static void test_cap(void **state)
{
	struct bstage *sg;
	uint8_t a[700] = { 0 };
	uint64_t held;

	assert_int_equal(bstage_open(st, &key1, token, &id1, 1000, &sg, &held), 0);
	assert_int_equal(bstage_append(sg, a, 700), 0);
	assert_int_equal(bstage_append(sg, a, 700), 0);   /* over: not staged, no error */
	assert_int_equal(bstage_append(sg, a, 10), 0);    /* nor anything after */
	assert_int_equal(bstage_sync(sg), 0);
	bstage_close(sg, false);
	assert_int_equal(reopen(&id1, 1000), 700);
}

/* An untouched stage expires like a WHOLE state: removed by the sweep, or
 * started over by the next attempt. */
static void test_expiry(void **state)
{
	struct timespec tv[2] = { { .tv_nsec = UTIME_OMIT }, { 0 } };
	struct upload_expired x;
	struct bstage *sg;
	uint8_t a[100] = { 0 };
	char path[256];
	uint64_t held;

	assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
	assert_int_equal(bstage_append(sg, a, sizeof(a)), 0);
	assert_int_equal(bstage_sync(sg), 0);
	bstage_close(sg, false);
	storefx_upload_file(dir, "*.body", path, sizeof(path));
	tv[1].tv_sec = (time_t)(real_ns() / 1000000000 - UPLOAD_EXPIRE_S - 60);
	assert_int_equal(utimensat(AT_FDCWD, path, tv, 0), 0);
	assert_int_equal(reopen(&id1, 1 << 20), 0);   /* too old: starts over */

	assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
	assert_int_equal(bstage_append(sg, a, sizeof(a)), 0);
	assert_int_equal(bstage_sync(sg), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, tv, 0), 0);
	assert_int_equal(vbuild_expire(st, real_ns(), &x), 0);
	assert_int_equal(x.uploads, 0);               /* in use: kept */
	bstage_close(sg, false);
	assert_int_equal(vbuild_expire(st, real_ns(), &x), 0);
	assert_int_equal(x.uploads, 1);
	assert_int_equal(stages(), 0);
}

/* An encrypted store's stage: sealed records, no plain byte and no root
 * in the file; reads across records; a changed byte starts over. */
static void test_sealed(void **state)
{
	static uint8_t a[200000], b[200000];
	struct bstage *sg;
	char path[256];
	uint64_t held;
	ssize_t n;
	size_t got = 0;
	int fd;

	fill(a, sizeof(a), 7);
	assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
	assert_int_equal(bstage_append(sg, a, 150000), 0);
	assert_int_equal(bstage_append(sg, a + 150000, 50000), 0);
	assert_int_equal(bstage_sync(sg), 0);
	assert_int_equal(bstage_append(sg, a, 999), 0);   /* never synced */
	bstage_close(sg, false);
	storefx_upload_file(dir, "*.body", path, sizeof(path));
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	n = read(fd, b, sizeof(b));
	close(fd);
	assert_true(n > 80);
	assert_memory_equal(b, "VGBODYS1", 8);
	for (size_t off = 0; off + 32 <= sizeof(a); off += 4099)
		assert_null(memmem(b, (size_t)n, a + off, 32));
	assert_null(memmem(b, (size_t)n, id1.root, 32));

	assert_int_equal(bstage_open(st, &key1, token, &id1, 1 << 20, &sg, &held), 0);
	assert_int_equal(held, 200000);
	while ((n = bstage_pread(sg, b + got, 7777, got)) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(got, 200000);
	assert_memory_equal(a, b, 200000);
	assert_int_equal(bstage_pread(sg, b, 100, 65530), 6);   /* to a record's end */
	assert_memory_equal(b, a + 65530, 6);
	bstage_close(sg, false);

	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, b, 1, 100000), 1);
	b[0] ^= 1;
	assert_int_equal(pwrite(fd, b, 1, 100000), 1);
	close(fd);
	assert_int_equal(reopen(&id1, 1 << 20), 0);
}

static int setup_sealed(void **state)
{
	const char *e = getenv("VIGIL_TEST_ENCRYPT");

	setenv("VIGIL_TEST_ENCRYPT", "1", 1);
	unsetenv("VIGIL_UPLOAD_EXPIRE_S");
	assert_int_equal(storefx_open(dir, "bstage", &st), 0);
	if (e)
		setenv("VIGIL_TEST_ENCRYPT", e, 1);
	else
		unsetenv("VIGIL_TEST_ENCRYPT");
	return 0;
}

static int setup(void **state)
{
	unsetenv("VIGIL_UPLOAD_EXPIRE_S");
	return storefx_open(dir, "bstage", &st);
}

static int teardown(void **state)
{
	return storefx_remove(dir, st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_put_and_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed, setup_sealed, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
