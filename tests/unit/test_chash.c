/* test_chash.c — the content hash: the sha256 is OpenSSL's of the whole,
 * the root is the chunk tree of the FastCDC chunks (as built by hand from
 * common/chunker.h + common/chunktree.h), neither depends on how the bytes
 * are fed, each half alone gives the same as both, reset starts over, and
 * the chunk function sees every chunk and can abort the feed. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "common/chash.h"
#include "common/chunker.h"
#include "common/chunktree.h"

#define N 300000

static uint8_t *data(void)
{
	uint8_t *b = malloc(N);

	for (size_t i = 0; i < N; i++)
		b[i] = (uint8_t)((i * 2654435761u) >> 13);
	return b;
}

static int by_hand_chunk(void *arg, const uint8_t *p, size_t n)
{
	uint8_t d[32];

	assert_int_equal(ctree_sha256(p, n, d), 0);
	return ctree_add(arg, d, (uint32_t)n);
}

/* The expected sha256 and root, computed without chash. */
static void expected(const uint8_t *p, size_t n, uint8_t sha[32], uint8_t root[32])
{
	struct chunker *ck = chunker_new();
	struct ctree_builder *tb = ctree_builder_new(NULL, NULL);
	unsigned len = 32;
	uint64_t size;

	assert_int_equal(EVP_Digest(p, n, sha, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(chunker_feed(ck, p, n, by_hand_chunk, tb), 0);
	assert_int_equal(chunker_flush(ck, by_hand_chunk, tb), 0);
	assert_int_equal(ctree_finish(tb, root, &size), 0);
	assert_int_equal(size, n);
	chunker_free(ck);
	ctree_builder_free(tb);
}

static void hash_in(struct chash *h, const uint8_t *p, size_t n, size_t piece, uint8_t sha[32],
		    uint8_t root[32])
{
	uint64_t size = 1;

	for (size_t off = 0; off < n; off += piece)
		assert_int_equal(chash_feed(h, p + off, n - off < piece ? n - off : piece), 0);
	assert_int_equal(chash_finish(h, sha, root, &size), 0);
	assert_int_equal(size, n);
}

static void test_both_any_split(void **state)
{
	static const size_t pieces[] = { 1, 3, 7, 100, 10000, N };
	static const size_t sizes[] = { 0, 1, 5000, N };
	uint8_t *b = data(), sha[32], root[32], s2[32], r2[32];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		expected(b, sizes[i], sha, root);
		for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
			struct chash *h = chash_new(CHASH_BOTH);

			hash_in(h, b, sizes[i], pieces[k], s2, r2);
			assert_memory_equal(sha, s2, 32);
			assert_memory_equal(root, r2, 32);
			chash_free(h);
		}
	}
	free(b);
}

static void test_one_half(void **state)
{
	static const uint8_t zero[32];
	uint8_t *b = data(), sha[32], root[32], s2[32], r2[32];
	struct chash *hs = chash_new(CHASH_SHA256), *ht = chash_new(CHASH_TREE);

	expected(b, N, sha, root);
	hash_in(hs, b, N, 4096, s2, r2);
	assert_memory_equal(sha, s2, 32);
	assert_memory_equal(zero, r2, 32);
	hash_in(ht, b, N, 4096, s2, r2);
	assert_memory_equal(zero, s2, 32);
	assert_memory_equal(root, r2, 32);
	chash_free(hs);
	chash_free(ht);
	free(b);
}

static void test_reset(void **state)
{
	uint8_t *b = data(), sha[32], root[32], s2[32], r2[32];
	struct chash *h = chash_new(CHASH_BOTH);

	expected(b + 10, 1000, sha, root);
	assert_int_equal(chash_feed(h, b, 5000), 0);
	chash_reset(h);
	hash_in(h, b + 10, 1000, 77, s2, r2);
	assert_memory_equal(sha, s2, 32);
	assert_memory_equal(root, r2, 32);
	chash_free(h);
	free(b);
}

struct seen { uint64_t bytes; int chunks, fail_at; };

static int on_chunk(void *arg, const uint8_t sha[32], uint32_t len, const uint8_t *fp)
{
	struct seen *s = arg;

	if (++s->chunks == s->fail_at)
		return -EDQUOT;
	s->bytes += len;
	return 0;
}

static void test_chunk_fn(void **state)
{
	uint8_t *b = data(), sha[32], root[32];
	struct seen s = { 0 }, f = { .fail_at = 2 };
	struct chash *h = chash_new(CHASH_BOTH);
	int r = 0;

	chash_set_chunk_fn(h, on_chunk, &s);
	hash_in(h, b, N, 65536, sha, root);
	assert_int_equal(s.bytes, N);
	assert_true(s.chunks > 2);   /* 300 KB is several FastCDC chunks */
	chash_reset(h);
	chash_set_chunk_fn(h, on_chunk, &f);
	for (size_t off = 0; off < N && r == 0; off += 65536)
		r = chash_feed(h, b + off, N - off < 65536 ? N - off : 65536);
	if (r == 0)
		r = chash_finish(h, sha, root, &(uint64_t){ 0 });
	assert_int_equal(r, -EDQUOT);
	chash_free(h);
	free(b);
}

/* A known hook that knows every chunk of a first pass by (fp, len). */
struct book {
	uint8_t fp[256][CHASH_FP_LEN], sha[256][32];
	uint32_t len[256];
	int n;
	bool lie;   /* hand back a wrong sha256 */
};

static int book_add(void *arg, const uint8_t sha[32], uint32_t len, const uint8_t *fp)
{
	struct book *k = arg;

	assert_non_null(fp);
	assert_true(k->n < 256);
	memcpy(k->fp[k->n], fp, CHASH_FP_LEN);
	memcpy(k->sha[k->n], sha, 32);
	k->len[k->n++] = len;
	return 0;
}

static int book_known(void *arg, const uint8_t fp[CHASH_FP_LEN], uint32_t len, uint8_t sha[32])
{
	struct book *k = arg;

	for (int i = 0; i < k->n; i++)
		if (k->len[i] == len && !memcmp(k->fp[i], fp, CHASH_FP_LEN)) {
			memcpy(sha, k->sha[i], 32);
			sha[0] ^= k->lie;
			return 1;
		}
	return 0;
}

/* Fingerprints: keyed (another secret, other fingerprints), the same for
 * the same bytes; a chunk known by its fingerprint takes the known sha256
 * (not computed: counted), and the root is a full hash's. */
static void test_fingerprints(void **state)
{
	uint8_t *b = data(), sha[32], root[32], want[32], s1[CHASH_FP_SECRET], s2[CHASH_FP_SECRET];
	uint8_t f1[CHASH_FP_LEN], f2[CHASH_FP_LEN], f3[CHASH_FP_LEN];
	struct book *k = calloc(1, sizeof(*k));
	struct chash *h = chash_new(CHASH_TREE);
	uint64_t nsha, nfp;

	assert_int_equal(chash_fp_secret(s1, "0123456789abcdef", 16), 0);
	assert_int_equal(chash_fp_secret(s2, "0123456789abcdeF", 16), 0);
	assert_int_equal(chash_fp_secret(s2, "short", 5), -EINVAL);
	chash_fingerprint(s1, b, 5000, f1);
	chash_fingerprint(s1, b, 5000, f2);
	chash_fingerprint(s2, b, 5000, f3);
	assert_memory_equal(f1, f2, CHASH_FP_LEN);
	assert_memory_not_equal(f1, f3, CHASH_FP_LEN);
	/* first pass: every chunk hashed and fingerprinted */
	chash_set_chunk_fn(h, book_add, k);
	chash_set_fp(h, s1, NULL, NULL);
	hash_in(h, b, N, 65536, sha, root);
	memcpy(want, root, 32);
	chash_counts(h, &nsha, &nfp);
	assert_int_equal(nsha, (uint64_t)k->n);
	assert_int_equal(nfp, (uint64_t)k->n);
	chash_free(h);
	/* one byte changed: one chunk hashed, the others known */
	b[N / 2] ^= 1;
	h = chash_new(CHASH_TREE);
	chash_set_fp(h, s1, book_known, k);
	hash_in(h, b, N, 7000, sha, root);
	chash_counts(h, &nsha, &nfp);
	assert_true(nsha >= 1 && nsha <= 2);   /* the byte may move a cut */
	assert_true(nfp + 1 >= (uint64_t)k->n && nfp > nsha + 10);
	chash_free(h);
	h = chash_new(CHASH_TREE);
	hash_in(h, b, N, 7000, sha, want);
	assert_memory_equal(root, want, 32);
	chash_free(h);
	/* the known sha256 is what goes into the tree */
	k->lie = true;
	h = chash_new(CHASH_TREE);
	chash_set_fp(h, s1, book_known, k);
	hash_in(h, b, N, 7000, sha, root);
	assert_memory_not_equal(root, want, 32);
	chash_free(h);
	free(k);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_any_split),
		cmocka_unit_test(test_fingerprints),
		cmocka_unit_test(test_one_half),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_chunk_fn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
