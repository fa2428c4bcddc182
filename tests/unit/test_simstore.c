/* test_simstore.c — fuse/simstore.c: the sim/ files in memory.  A table of
 * replacements checks what each one reports (appeared, changed, gone, the
 * sms/ directory coming and going), that unchanged bytes keep their mtime,
 * that names outside a group or without an inode are refused and leave the
 * store as it was, that an open blob outlives its replacement, the
 * listings, and the inode numbers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fuse/simstore.h"

struct step {
	const char *group;
	const char *files[4][2];        /* name, content; NULL name ends */
	int64_t now;
	int want;                       /* simstore_replace's result */
	const char *notified;           /* names reported, comma-joined */
	const char *check;              /* a name to stat afterwards ... */
	int64_t mtime;                  /* ... its mtime, or -1: must not exist */
	size_t size;
};

static const struct step steps[] = {
	{ "identity", { { "identity", "a" } }, 10, 0, "identity", "identity", 10, 1 },
	{ "identity", { { "identity", "a" } }, 20, 0, "", "identity", 10, 1 },
	{ "identity", { { "identity", "bb" } }, 30, 0, "identity", "identity", 30, 2 },
	{ "phonebook.vcf", { { "phonebook.vcf", "" } }, 40, 0, "phonebook.vcf", "phonebook.vcf", 40, 0 },
	{ "sms/", { { "sms/1.txt", "x" }, { "sms/2.txt", "yy" } }, 50, 0,
	  "sms/1.txt,sms/2.txt,sms", "sms", 50, 0 },
	{ "sms/", { { "sms/2.txt", "yy" } }, 60, 0, "sms/1.txt", "sms/2.txt", 50, 2 },
	{ "sms/", { { "sms/2.txt", "yy" } }, 65, 0, "", "sms/1.txt", -1, 0 },
	{ "identity", { { "phonebook.vcf", "z" } }, 70, -EINVAL, "", "phonebook.vcf", 40, 0 },
	{ "sms/", { { "sms/abc", "z" } }, 70, -EINVAL, "", "sms/2.txt", 50, 2 },
	{ "sms/", { { "sms/01.txt", "z" } }, 70, -EINVAL, "", "sms/2.txt", 50, 2 },
	{ "sms/", { { NULL } }, 80, 0, "sms/2.txt,sms", "sms", -1, 0 },
	{ "identity", { { "identity", "bb" } }, 90, 0, "", "identity", 30, 2 },
	{ "phonebook.vcf", { { NULL } }, 95, 0, "phonebook.vcf", "phonebook.vcf", -1, 0 },
};

static void note(void *arg, const char *name)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 512 - n, "%s%s", n ? "," : "", name);
}

static void run_step(struct simstore *s, const struct step *st, size_t k)
{
	struct simstore_in in[4];
	struct simstore_stat ss;
	char got[512] = "";
	size_t n = 0;

	memset(in, 0, sizeof(in));
	for (; n < 4 && st->files[n][0]; n++) {
		snprintf(in[n].name, sizeof(in[n].name), "%s", st->files[n][0]);
		in[n].data = st->files[n][1];
		in[n].len = strlen(st->files[n][1]);
	}
	if (simstore_replace(s, st->group, in, n, st->now, note, got) != st->want)
		fail_msg("step %zu: result", k);
	if (strcmp(got, st->notified))
		fail_msg("step %zu: notified '%s', want '%s'", k, got, st->notified);
	if (st->mtime < 0) {
		assert_int_equal(simstore_stat(s, st->check, &ss), -ENOENT);
		return;
	}
	assert_int_equal(simstore_stat(s, st->check, &ss), 0);
	assert_int_equal(ss.mtime_ns, st->mtime);
	assert_int_equal(ss.size, st->size);
	assert_int_equal(ss.ino, simstore_ino(st->check));
}

static void test_steps(void **state)
{
	struct simstore *s = simstore_new(1);

	assert_non_null(s);
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
		run_step(s, &steps[k], k);
	simstore_free(s);
}

static void test_blob_outlives_replace(void **state)
{
	struct simstore *s = simstore_new(1);
	struct simstore_in in = { .name = "identity", .data = "old", .len = 3 };
	struct simblob *b;

	assert_int_equal(simstore_replace(s, "identity", &in, 1, 2, NULL, NULL), 0);
	assert_non_null(b = simstore_open(s, "identity"));
	in.data = "newer";
	in.len = 5;
	assert_int_equal(simstore_replace(s, "identity", &in, 1, 3, NULL, NULL), 0);
	assert_int_equal(b->len, 3);
	assert_memory_equal(b->data, "old", 3);
	simblob_put(b);
	assert_null(simstore_open(s, "phonebook.vcf"));
	assert_int_equal(errno, ENOENT);
	assert_null(simstore_open(s, ""));
	assert_int_equal(errno, EISDIR);
	simstore_free(s);
}

static int collect(void *arg, const char *name, const struct simstore_stat *st)
{
	note(arg, name);
	return 0;
}

static void test_list(void **state)
{
	struct simstore *s = simstore_new(1);
	struct simstore_in in[2] = { { .name = "sms/7.txt", .data = "a", .len = 1 },
				     { .name = "sms/3.txt", .data = "b", .len = 1 } };
	struct simstore_in id = { .name = "identity", .data = "i", .len = 1 };
	char got[512] = "";

	assert_int_equal(simstore_list(s, "sms", collect, got), -ENOENT);
	assert_int_equal(simstore_replace(s, "identity", &id, 1, 2, NULL, NULL), 0);
	assert_int_equal(simstore_replace(s, "sms/", in, 2, 2, NULL, NULL), 0);
	assert_int_equal(simstore_list(s, "", collect, got), 0);
	assert_string_equal(got, "sms,identity");
	got[0] = '\0';
	assert_int_equal(simstore_list(s, "sms", collect, got), 0);
	assert_string_equal(got, "7.txt,3.txt");
	simstore_free(s);
}

static void test_ino(void **state)
{
	const char *names[] = { "", "identity", "phonebook.vcf", "sms", "sms/0.txt", "sms/1.txt",
				"sms/4294967295.txt" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_true(simstore_ino(names[i]) > SIMSTORE_INO_BASE);
		for (size_t j = 0; j < i; j++)
			assert_true(simstore_ino(names[i]) != simstore_ino(names[j]));
	}
	assert_int_equal(simstore_ino("sms/4294967296.txt"), 0);
	assert_int_equal(simstore_ino("sms/-1.txt"), 0);
	assert_int_equal(simstore_ino("sms/1.txt.x"), 0);
	assert_int_equal(simstore_ino("other"), 0);
	assert_int_equal(simstore_ino("sms/"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_blob_outlives_replace),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_ino),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
