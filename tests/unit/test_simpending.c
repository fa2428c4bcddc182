/* test_simpending.c — STATE/sim-pending (daemon/simpending.c): order,
 * removal by id only, the oldest dropped past SIMPENDING_MAX, the list
 * surviving a reopen byte for byte, and a damaged file started empty. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "daemon/simpending.h"

struct fx {
	char dir[64], file[128];
	struct simpending *p;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_simpending.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/" SIMPENDING_FILE, f->dir);
	assert_int_equal(simpending_open(f->dir, &f->p), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	simpending_free(f->p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct vg_sim sim_n(int n)
{
	struct vg_sim s = { .time_ns = n, .present = 1 };

	snprintf(s.iccid, sizeof(s.iccid), "8986%04d", n);
	snprintf(s.imsi, sizeof(s.imsi), "460%04d", n);
	snprintf(s.operator_name, sizeof(s.operator_name), "中国移动 %d", n);
	return s;
}

static void reopen(struct fx *f)
{
	simpending_free(f->p);
	assert_int_equal(simpending_open(f->dir, &f->p), 0);
}

static void test_order_and_remove(void **state)
{
	struct fx *f = *state;
	struct vg_sim s, a = sim_n(1), b = sim_n(2);
	uint64_t id, id2;
	struct stat st;

	assert_int_equal(simpending_first(f->p, &s, &id), -ENOENT);
	assert_int_equal(simpending_add(f->p, &a), 0);
	assert_int_equal(stat(f->file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(simpending_add(f->p, &b), 0);
	assert_int_equal(simpending_first(f->p, &s, &id), 0);
	assert_memory_equal(&s, &a, sizeof(s));
	reopen(f);   /* what a restart finds */
	assert_int_equal(simpending_count(f->p), 2);
	assert_int_equal(simpending_first(f->p, &s, &id), 0);
	assert_memory_equal(&s, &a, sizeof(s));
	assert_int_equal(simpending_remove(f->p, id + 100), 0);   /* unknown id: nothing */
	assert_int_equal(simpending_count(f->p), 2);
	assert_int_equal(simpending_remove(f->p, id), 0);
	assert_int_equal(simpending_first(f->p, &s, &id2), 0);
	assert_memory_equal(&s, &b, sizeof(s));
	assert_int_equal(simpending_remove(f->p, id2), 0);
	reopen(f);
	assert_int_equal(simpending_count(f->p), 0);
}

static void test_full_drops_oldest(void **state)
{
	struct fx *f = *state;
	struct vg_sim s, want;
	uint64_t id;

	for (int i = 0; i < SIMPENDING_MAX + 3; i++) {
		s = sim_n(i);
		assert_int_equal(simpending_add(f->p, &s), 0);
	}
	assert_int_equal(simpending_count(f->p), SIMPENDING_MAX);
	reopen(f);
	assert_int_equal(simpending_count(f->p), SIMPENDING_MAX);
	assert_int_equal(simpending_first(f->p, &s, &id), 0);
	want = sim_n(3);
	assert_memory_equal(&s, &want, sizeof(s));
}

static void test_damaged(void **state)
{
	static const char *const bad[] = { "", "VGSIMP01", "VGSIMP02\0\0\0\0", "garbage!garbage!" };
	struct fx *f = *state;
	struct vg_sim a = sim_n(1);
	FILE *fp;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(fp = fopen(f->file, "w"));
		fwrite(bad[i], 1, i == 2 ? 12 : strlen(bad[i]), fp);
		fclose(fp);
		reopen(f);
		assert_int_equal(simpending_count(f->p), 0);
	}
	/* a valid list with a byte more */
	assert_int_equal(simpending_add(f->p, &a), 0);
	assert_non_null(fp = fopen(f->file, "a"));
	fputc(0, fp);
	fclose(fp);
	reopen(f);
	assert_int_equal(simpending_count(f->p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_drops_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
