/* test_sigpatch.c — a signature patched for the ranges a RANGES ship
 * carries is byte for byte the signature librsync computes over the new
 * content: in-place writes in a block, across blocks, on block edges, two
 * in one block, appends on and off the block grid, shrinks, a cut and
 * regrowth to the same size; a small write re-reads only its blocks; the
 * patch goes only onto the signature of the version it was made against;
 * ranges out of order are refused; an older state directory's sha256 key
 * is rekeyed. */
#include <errno.h>
#include <fcntl.h>
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


#define SIGFIX_SEED 0x2545f4914f6cdd1dULL
#include "sig_fixture.h"

static int setup(void **state)
{
	return sigfix_setup("sp");
}

static int teardown(void **state)
{
	return sigfix_teardown();
}

#define EOFNONE UINT64_MAX

struct pcase {
	const char *name;
	size_t size, new_size;
	size_t nr;
	struct sigpatch_range r[3];   /* bytes rewritten (random) */
	uint64_t eof_from;            /* as shipranges passes it */
	uint64_t max_read;            /* 0: unchecked */
};

static const struct pcase cases[] = {
	{ "4k in place", 1 << 20, 1 << 20, 1, { { 500000, 504096 } }, EOFNONE, 3 * 2048 },
	{ "1 byte at 0", 100000, 100000, 1, { { 0, 1 } }, EOFNONE, 2048 },
	{ "last byte off grid", 100001, 100001, 1, { { 100000, 100001 } }, EOFNONE, 2048 },
	{ "one block exactly", 300000, 300000, 1, { { 2048, 4096 } }, EOFNONE, 2048 },
	{ "across a block edge", 300000, 300000, 1, { { 4000, 4200 } }, EOFNONE, 4096 },
	{ "two in one block, one next door", 300000, 300000, 3,
	  { { 10, 20 }, { 100, 200 }, { 2048, 2049 } }, EOFNONE, 4096 },
	{ "far apart", 1 << 20, 1 << 20, 3,
	  { { 0, 10 }, { 600000, 600001 }, { (1 << 20) - 1, 1 << 20 } }, EOFNONE, 3 * 2048 },
	{ "append off grid", 300000, 305000, 0, { { 0 } }, 300000, 0 },
	{ "append on grid", 2048 * 100, 2048 * 100 + 5000, 0, { { 0 } }, 2048 * 100, 0 },
	{ "append and a write", 300000, 310000, 1, { { 1000, 5000 } }, 300000, 0 },
	{ "shrink off grid", 300000, 123457, 0, { { 0 } }, 123457, 0 },
	{ "shrink on grid", 300000, 2048 * 50, 0, { { 0 } }, 2048 * 50, 0 },
	{ "shrink, write near the end", 300000, 250000, 1, { { 247000, 248000 } }, 250000, 0 },
	{ "cut and regrown", 300000, 300000, 1, { { 299000, 300000 } }, 100000, 0 },
};

static void make_new(const struct pcase *c, const uint8_t *old, uint8_t *neu)
{
	memcpy(neu, old, c->size < c->new_size ? c->size : c->new_size);
	if (c->eof_from != EOFNONE)
		for (size_t i = c->eof_from; i < c->new_size; i++)
			neu[i] = rnd8();
	for (size_t k = 0; k < c->nr; k++)
		for (uint64_t i = c->r[k].off; i < c->r[k].end && i < c->new_size; i++)
			neu[i] = rnd8();
}

static void run(const struct pcase *c)
{
	size_t cap = (c->size > c->new_size ? c->size : c->new_size) + 1, a, b;
	uint8_t *old = malloc(cap), *neu = malloc(cap), k_old[32] = { 1 }, k_new[32] = { 2 };
	uint8_t *want, *got;
	struct sigpatch *p;
	char nf[128];
	int nfd;

	for (size_t i = 0; i < c->size; i++)
		old[i] = rnd8();
	make_new(c, old, neu);
	put_sig("/f", old, c->size, k_old);
	put_sig("/want", neu, c->new_size, k_new);
	snprintf(nf, sizeof(nf), "%s/new", dir);
	nfd = open(nf, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(nfd, neu, c->new_size), (ssize_t)c->new_size);
	assert_int_equal(sigpatch_build(tmp, nfd, c->size, c->new_size, c->r, c->nr, c->eof_from,
					&p), 0);
	if (c->max_read)
		assert_true(sigpatch_bytes_read(p) <= c->max_read);
	/* only onto the signature of the version the patch was made against */
	assert_int_equal(sigpatch_apply(p, dir, "/f", k_new, c->size, k_new), -EBADMSG);
	assert_int_equal(sigpatch_apply(p, dir, "/f", k_old, c->size + 4096, k_new), -EBADMSG);
	assert_false(sigcache_has(dir, "/f", k_new));
	assert_int_equal(sigpatch_apply(p, dir, "/f", k_old, c->size, k_new), 0);
	want = slurp("/want", &a);
	got = slurp("/f", &b);
	assert_int_equal(a, b);
	assert_memory_equal(want, got, a);
	assert_true(sigcache_has(dir, "/f", k_new));
	sigpatch_free(p);
	close(nfd);
	free(want);
	free(got);
	free(old);
	free(neu);
}

static void test_patch_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].name);
		run(&cases[i]);
	}
}

static void test_out_of_order(void **state)
{
	static const struct sigpatch_range r[2] = { { 100000, 100010 }, { 10, 20 } };
	uint8_t p[200000];
	struct sigpatch *sp = (struct sigpatch *)&sp;
	char f[128];
	int fd;

	memset(p, 7, sizeof(p));
	snprintf(f, sizeof(f), "%s/ooo", dir);
	fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, p, sizeof(p)), (ssize_t)sizeof(p));
	assert_int_equal(sigpatch_build(tmp, fd, sizeof(p), sizeof(p), r, 2, EOFNONE, &sp),
			 -EINVAL);
	assert_null(sp);
	close(fd);
}

static void test_rekey(void **state)
{
	uint8_t p[50000], sha[32] = { 5 }, root[32] = { 6 }, other[32] = { 7 };

	memset(p, 3, sizeof(p));
	put_sig("/old", p, sizeof(p), sha);
	assert_false(sigcache_has(dir, "/old", root));
	assert_int_equal(sigcache_rekey(dir, "/old", other, root), -ENOENT);
	assert_int_equal(sigcache_rekey(dir, "/old", sha, root), 0);
	assert_true(sigcache_has(dir, "/old", root));
	assert_false(sigcache_has(dir, "/old", sha));
	assert_int_equal(sigcache_rekey(dir, "/none", sha, root), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_table),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_rekey),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
