/* test_sigderive.c — a signature derived from the old signature and the
 * delta is byte for byte the signature librsync computes over the new
 * content, for in-place edits, insertions (shifted blocks), deletions,
 * appends, shrinks, unchanged content and sizes off the block grid; an
 * in-place edit re-reads only the blocks it touched; a cache file of the
 * wrong content is refused. */
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


#define SIGFIX_SEED 0x9e3779b97f4a7c15ULL
#include "sig_fixture.h"

static int setup(void **state)
{
	return sigfix_setup("sd");
}

static int teardown(void **state)
{
	return sigfix_teardown();
}

struct edit {
	const char *name;
	size_t size;
	int kind;          /* 0 overwrite, 1 insert, 2 delete, 3 append, 4 truncate */
	size_t off, len;
	uint64_t max_read; /* 0: unchecked */
};

static const struct edit edits[] = {
	{ "unchanged", 300000, 0, 0, 0, 1 },
	{ "4k in place", 1 << 20, 0, 500000, 4096, 4 * 2048 },
	{ "1 byte at 0", 100000, 0, 0, 1, 2048 },
	{ "last byte", 100001, 0, 100000, 1, 2048 },
	{ "insert 100", 300000, 1, 150000, 100, 0 },
	{ "delete 3000", 300000, 2, 10000, 3000, 0 },
	{ "append 5000", 300000, 3, 0, 5000, 0 },
	{ "truncate", 300000, 4, 123457, 0, 0 },
	{ "off grid", 300007, 0, 299000, 7, 0 },
};

static void run(const struct edit *e)
{
	size_t cap = e->size + e->len + 10, nsize = e->size, a, b;
	uint8_t *old = malloc(cap), *neu = malloc(cap), sha_old[32] = { 1 }, sha_new[32] = { 2 };
	uint8_t *want, *got;
	struct deltawriter *dw;
	rs_signature_t *sig;
	uint64_t dsize = 0, rd = 0;
	int dfd, nfd;
	char nf[128];

	for (size_t i = 0; i < e->size; i++)
		old[i] = rnd8();
	memcpy(neu, old, e->size);
	switch (e->kind) {
	case 0: for (size_t i = 0; i < e->len; i++) neu[e->off + i] ^= 0x5a; break;
	case 1:
		memmove(neu + e->off + e->len, old + e->off, e->size - e->off);
		for (size_t i = 0; i < e->len; i++) neu[e->off + i] = rnd8();
		nsize += e->len;
		break;
	case 2: memmove(neu + e->off, old + e->off + e->len, e->size - e->off - e->len);
		nsize -= e->len; break;
	case 3: for (size_t i = 0; i < e->len; i++) neu[e->size + i] = rnd8();
		nsize += e->len; break;
	case 4: nsize = e->off; break;
	}
	put_sig("/f", old, e->size, sha_old);
	put_sig("/want", neu, nsize, sha_new);
	assert_int_equal(sigcache_load(dir, "/f", sha_old, &sig), 0);
	assert_int_equal(deltawriter_new(tmp, sig, 0, &dw), 0);
	assert_int_equal(deltawriter_feed(dw, neu, nsize), 0);
	assert_int_equal(deltawriter_finish(dw, &dfd, &dsize), 0);
	snprintf(nf, sizeof(nf), "%s/new", dir);
	nfd = open(nf, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(nfd, neu, nsize), (ssize_t)nsize);
	assert_int_equal(sigcache_derive(dir, "/f", sha_old, e->size, dfd, dsize, nfd, nsize,
					 sha_new, &rd), 0);
	want = slurp("/want", &a);
	got = slurp("/f", &b);
	assert_int_equal(a, b);
	assert_memory_equal(want, got, a);
	if (e->max_read)
		assert_true(rd <= e->max_read);
	/* the cache now describes the new content: a derive from the old
	 * sha256 is refused */
	assert_int_equal(sigcache_derive(dir, "/f", sha_old, e->size, dfd, dsize, nfd, nsize,
					 sha_new, &rd), -EBADMSG);
	close(nfd);
	deltawriter_free(dw);
	rs_free_sumset(sig);
	free(want);
	free(got);
	free(old);
	free(neu);
}

static void test_derive_table(void **state)
{
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		print_message("%s\n", edits[i].name);
		run(&edits[i]);
	}
}

static void test_bad_delta(void **state)
{
	uint8_t p[50000], sha[32] = { 3 };
	char f[128];
	int dfd, nfd;

	memset(p, 1, sizeof(p));
	put_sig("/g", p, sizeof(p), sha);
	snprintf(f, sizeof(f), "%s/bad", dir);
	dfd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(dfd, "\x72\x73\x02\x36\x55", 5), 5);   /* unknown op */
	nfd = open(f, O_RDONLY);
	assert_int_equal(sigcache_derive(dir, "/g", sha, sizeof(p), dfd, 5, nfd, sizeof(p), sha,
					 NULL), -EBADMSG);
	/* COPY past the announced new size; truncated */
	assert_int_equal(pwrite(dfd, "\x72\x73\x02\x36\x45\x00\xff", 7, 0), 7);
	assert_int_equal(sigcache_derive(dir, "/g", sha, sizeof(p), dfd, 7, nfd, 100, sha, NULL),
			 -EBADMSG);
	assert_int_equal(sigcache_derive(dir, "/g", sha, sizeof(p), dfd, 3, nfd, 100, sha, NULL),
			 -EBADMSG);
	close(dfd);
	close(nfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_table),
		cmocka_unit_test(test_bad_delta),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
