/* test_simapply.c — fuse/simapply.c: a modem read into the sim/ files.
 * The same snapshot twice changes nothing (the identity's read time is when
 * that identity first appeared, so its bytes stay); a phonebook or message
 * list not read keeps its files; an empty message list removes sms/; a
 * repeated message index gives one file; another ICCID rewrites the
 * identity with the new read time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fuse/simapply.h"

#define S(n) ((int64_t)(n) * 1000000000LL)

static void snap(struct sim_snapshot *s, const char *iccid, size_t nsms)
{
	memset(s, 0, sizeof(*s));
	s->id.present = true;
	snprintf(s->id.iccid, sizeof(s->id.iccid), "%s", iccid);
	snprintf(s->id.imsi, sizeof(s->id.imsi), "460001234567890");
	s->phonebook_ok = s->sms_ok = true;
	s->ncontacts = 1;
	s->contacts = calloc(1, sizeof(*s->contacts));
	s->contacts[0] = (struct sim_contact){ .index = 1, .name = "张三",
					       .number = "+8613800138001", .type = 145 };
	s->nsms = nsms;
	s->sms = calloc(nsms ? nsms : 1, sizeof(*s->sms));
	for (size_t i = 0; i < nsms; i++) {
		s->sms[i].index = (unsigned)(i < 2 ? 4 : 9);   /* 4 twice */
		snprintf(s->sms[i].text, sizeof(s->sms[i].text), "m%zu", i);
	}
}

static int64_t mtime(struct simstore *st, const char *name)
{
	struct simstore_stat ss;

	return simstore_stat(st, name, &ss) == 0 ? ss.mtime_ns : -1;
}

static bool has(struct simstore *st, const char *name, const char *text)
{
	struct simblob *b = simstore_open(st, name);
	bool r = b && memmem(b->data, b->len, text, strlen(text)) != NULL;

	simblob_put(b);
	return r;
}

static void test_apply(void **state)
{
	struct simstore *st = simstore_new(0);
	struct sim_snapshot s;
	struct simapply a;

	simapply_init(&a, st, NULL, NULL, 0);
	snap(&s, "89860012345678901234", 3);
	assert_int_equal(simapply_snapshot(&a, &s, S(100)), 0);
	assert_int_equal(mtime(st, "identity"), S(100));
	assert_int_equal(mtime(st, "phonebook.vcf"), S(100));
	assert_int_equal(mtime(st, "sms/4.txt"), S(100));
	assert_int_equal(mtime(st, "sms/9.txt"), S(100));
	assert_true(has(st, "sms/4.txt", "m0"));   /* the first of index 4 */
	assert_true(has(st, "phonebook.vcf", "张三"));

	assert_int_equal(simapply_snapshot(&a, &s, S(200)), 0);   /* same SIM */
	assert_int_equal(mtime(st, "identity"), S(100));
	assert_int_equal(mtime(st, "phonebook.vcf"), S(100));
	sim_snapshot_free(&s);

	snap(&s, "89860012345678901234", 0);
	s.phonebook_ok = false;
	s.ncontacts = 0;
	assert_int_equal(simapply_snapshot(&a, &s, S(300)), 0);
	assert_true(has(st, "phonebook.vcf", "张三"));            /* kept */
	assert_int_equal(mtime(st, "sms"), -1);                   /* none left */
	assert_int_equal(mtime(st, "identity"), S(100));
	sim_snapshot_free(&s);

	snap(&s, "8944110012345678901", 1);
	s.sms_ok = false;
	assert_int_equal(simapply_snapshot(&a, &s, S(400)), 0);
	assert_int_equal(mtime(st, "identity"), S(400));
	assert_true(has(st, "identity", "iccid=8944110012345678901\n"));
	assert_int_equal(mtime(st, "sms"), -1);                   /* not read: kept (none) */
	sim_snapshot_free(&s);
	simstore_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
