/* test_vec.c — vec: pushes keep every element in order across growth,
 * vec_add zeroes, vec_reserve allocates once, growth that would overflow
 * size * cap (or n + extra) is refused and leaves the array as it was,
 * vec_free empties and leaves it usable. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/vec.h"

struct row { int64_t id; char name[13]; };

static void test_push_grow(void **state)
{
	struct vec v = VEC_INIT(int64_t);

	assert_null(v.p);
	assert_int_equal(v.n, 0);
	for (int64_t i = 0; i < 10000; i++) {
		int64_t x = i * 7 - 3;

		assert_int_equal(vec_push(&v, &x), 0);
		assert_int_equal(v.n, (size_t)i + 1);
		assert_true(v.cap >= v.n);
	}
	for (size_t i = 0; i < v.n; i++)
		assert_int_equal(((int64_t *)v.p)[i], (int64_t)i * 7 - 3);
	assert_int_equal(v.cap, 16384);   /* doubling from 16 */
	vec_free(&v);
}

static void test_struct_add(void **state)
{
	struct vec v;
	struct row r = { .id = 5, .name = "five" }, *e;

	vec_init(&v, sizeof(struct row));
	for (int i = 0; i < 40; i++) {
		assert_non_null(e = vec_add(&v));
		assert_int_equal(e->id, 0);
		assert_memory_equal(e->name, (char[13]){ 0 }, sizeof(e->name));
		e->id = i;
	}
	assert_int_equal(vec_push(&v, &r), 0);
	assert_int_equal(v.n, 41);
	for (int i = 0; i < 40; i++)
		assert_int_equal(((struct row *)v.p)[i].id, i);
	assert_int_equal(((struct row *)v.p)[40].id, 5);
	assert_string_equal(((struct row *)v.p)[40].name, "five");
	vec_free(&v);
}

static void test_reserve(void **state)
{
	struct vec v = VEC_INIT(uint8_t);
	void *p;

	assert_int_equal(vec_reserve(&v, 0), 0);
	assert_null(v.p);                     /* nothing asked, nothing allocated */
	assert_int_equal(vec_reserve(&v, 1000), 0);
	assert_int_equal(v.cap, 1024);
	assert_int_equal(v.n, 0);
	p = v.p;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(vec_push(&v, &(uint8_t){ (uint8_t)i }), 0);
	assert_ptr_equal(v.p, p);             /* no reallocation within the reserve */
	assert_int_equal(vec_reserve(&v, 24), 0);
	assert_int_equal(v.cap, 1024);
	vec_free(&v);
}

static void test_overflow(void **state)
{
	struct vec big;
	struct vec v = VEC_INIT(int64_t);
	int64_t x = 42;

	/* 16 elements of SIZE_MAX / 8 bytes: size * cap overflows */
	vec_init(&big, SIZE_MAX / 8);
	assert_int_equal(vec_reserve(&big, 1), -ENOMEM);
	assert_null(vec_add(&big));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(vec_push(&big, &x), -ENOMEM);
	assert_null(big.p);
	assert_int_equal(big.n, 0);
	assert_int_equal(big.cap, 0);

	/* n + extra overflows; and more than SIZE_MAX / size elements */
	assert_int_equal(vec_push(&v, &x), 0);
	assert_int_equal(vec_reserve(&v, SIZE_MAX), -ENOMEM);
	assert_int_equal(vec_reserve(&v, SIZE_MAX / 8), -ENOMEM);
	assert_int_equal(v.n, 1);              /* the array is as it was */
	assert_int_equal(v.cap, 16);
	assert_int_equal(((int64_t *)v.p)[0], 42);
	vec_free(&v);
}

static void test_free_reuse(void **state)
{
	struct vec v = VEC_INIT(int);
	int x = 3;

	vec_free(&v);                          /* an empty vec frees */
	assert_int_equal(vec_push(&v, &x), 0);
	vec_free(&v);
	assert_null(v.p);
	assert_int_equal(v.n, 0);
	assert_int_equal(v.cap, 0);
	assert_int_equal(v.size, sizeof(int)); /* and is usable again */
	assert_int_equal(vec_push(&v, &x), 0);
	assert_int_equal(((int *)v.p)[0], 3);
	vec_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_grow),
		cmocka_unit_test(test_struct_add),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_free_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
