/* test_store_seal.c — an encrypted store (store_seal.c, storekey.c): records
 * round-trip and hold no plain bytes; any changed byte of a record (header,
 * nonce, ciphertext, tag) reads as EIO, never as data; a record cannot be
 * passed off as another chunk; a wrong or missing key is refused at open;
 * nonces never repeat, across reopening and across a cut pack tail; the
 * wrapped data key rejects a wrong key file or passphrase and a changed
 * KDF parameter; a rewrapped one opens with the new secret only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "server/store/store.h"
#include "server/store/store_int.h"
#include "server/store/storekey.h"
#include "tests/unit/store_fixture.h"

static const struct devkey dkey = { { 9, 9, 9 } };
static const struct store_key k1 = { { 1, 2, 3, 4 } }, k2 = { { 1, 2, 3, 5 } };

struct fx {
	char dir[STOREFX_DIR];
	struct store *st;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-seal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(store_open_key(f->dir, &k1, &f->st), 0);
	assert_true(store_encrypted(f->st));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = storefx_remove(f->dir, f->st);

	free(f);
	return rc;
}

static void id_of(const void *p, size_t n, uint8_t id[32])
{
	uint8_t sha[32];
	unsigned int len = 32;

	assert_int_equal(EVP_Digest(p, n, sha, &len, EVP_sha256(), NULL), 1);
	store_chunk_id(&dkey, sha, id);
}

/* Stores n bytes of p (committed); id out. */
static void put(struct store *st, const void *p, size_t n, uint8_t id[32])
{
	struct store_batch *b;

	id_of(p, n, id);
	assert_int_equal(store_batch_new(st, &b), 0);
	assert_int_equal(store_batch_put(b, id, p, n), 0);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
}

static uint8_t *pack_read(const char *dir, unsigned pack, size_t *n)
{
	char path[128];
	struct stat sb;
	uint8_t *p;
	int fd;

	snprintf(path, sizeof(path), "%s/packs/%08u.pack", dir, pack);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	p = malloc((size_t)sb.st_size + 1);
	assert_true(pread(fd, p, (size_t)sb.st_size, 0) == sb.st_size);
	close(fd);
	*n = (size_t)sb.st_size;
	return p;
}

static void pack_flip(const char *dir, uint64_t off, uint8_t mask)
{
	char path[128];
	uint8_t c;
	int fd;

	snprintf(path, sizeof(path), "%s/packs/00000001.pack", dir);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_true(pread(fd, &c, 1, (off_t)off) == 1);
	c ^= mask;
	assert_true(pwrite(fd, &c, 1, (off_t)off) == 1);
	close(fd);
}

static bool has_bytes(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return true;
	return false;
}

/* Compressible and incompressible chunks of every size come back; the
 * pack holds VGE2 records and none of the plain bytes. */
static void test_roundtrip(void **state)
{
	static const size_t sizes[] = { 0, 1, 100, 4096, 65536, STORE_CHUNK_MAX };
	struct fx *f = *state;
	uint8_t *p = malloc(STORE_CHUNK_MAX), *q = malloc(STORE_CHUNK_MAX), id[6][32], *pk;
	size_t i, n, pn;

	for (i = 0; i < 6; i++) {
		fill(p, sizes[i], i);
		if (i == 3)
			memset(p, 'a', sizes[i]);
		put(f->st, p, sizes[i], id[i]);
	}
	for (i = 0; i < 6; i++) {
		fill(p, sizes[i], i);
		if (i == 3)
			memset(p, 'a', sizes[i]);
		assert_int_equal(store_get(f->st, id[i], q, STORE_CHUNK_MAX, &n), 0);
		assert_int_equal(n, sizes[i]);
		assert_memory_equal(p, q, n);
	}
	pk = pack_read(f->dir, 1, &pn);
	assert_memory_equal(pk, "VGE2", 4);
	fill(p, 65536, 4);
	assert_false(has_bytes(pk, pn, p + 1000, 32));   /* raw chunk: no plain run */
	memset(p, 'a', 64);
	assert_false(has_bytes(pk, pn, p, 64));           /* nor the compressed one's */
	free(pk);
	free(p);
	free(q);
}

/* Every byte of a record, changed alone, makes the read fail with EIO and
 * hand back no plain byte: through store_get and through a span read
 * decoded with and without the CRC (the verified fast path).  Except the
 * CRC-32 field itself: with the key, the tag (stronger) is checked
 * instead, so the chunk still reads; the CRC serves a scan without the
 * key (docs/store-format.md, "Encryption at rest"). */
static void test_tamper(void **state)
{
	struct fx *f = *state;
	uint8_t p[3000], q[3000], id[32], rec[4096];
	struct store_loc l;
	size_t n, len, i;

	fill(p, sizeof(p), 42);
	put(f->st, p, sizeof(p), id);
	assert_int_equal(store_locate(f->st, (const uint8_t(*)[32])id, 1, &l), 0);
	len = store_rec_bytes(&l);
	assert_int_equal(len, REC_HDR + REC_SEAL + sizeof(p));
	for (i = 0; i < len; i += (i < REC_HDR + REC_NONCE + 8 || i + 24 > len) ? 1 : 97) {
		if (i >= 48 && i < 52) {
			pack_flip(f->dir, l.off + i, 0x01);
			assert_int_equal(store_get(f->st, id, q, sizeof(q), &n), 0);
			assert_memory_equal(p, q, sizeof(p));
			pack_flip(f->dir, l.off + i, 0x01);
			continue;
		}
		pack_flip(f->dir, l.off + i, 0x01);
		memset(q, 0, sizeof(q));
		assert_int_equal(store_get(f->st, id, q, sizeof(q), &n), -EIO);
		assert_int_equal(store_read_span(f->st, l.pack, l.off, len, rec), 0);
		assert_int_equal(store_decode(f->st, id, &l, rec, false, q, sizeof(q), &n), -EIO);
		assert_int_equal(store_decode(f->st, id, &l, rec, true, q, sizeof(q), &n), -EIO);
		assert_false(has_bytes(q, sizeof(q), p + 100, 16));
		pack_flip(f->dir, l.off + i, 0x01);
	}
	assert_int_equal(store_get(f->st, id, q, sizeof(q), &n), 0);
	assert_memory_equal(p, q, sizeof(p));
}

/* A record with another chunk's id written into its header (CRC fixed up,
 * index pointing at it) is refused: the id is authenticated. */
static void test_swap_id(void **state)
{
	struct fx *f = *state;
	uint8_t a[2000], b[2000], ida[32], idb[32], q[2000], rec[4096];
	struct store_loc la, lb;
	size_t n;

	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	put(f->st, a, sizeof(a), ida);
	put(f->st, b, sizeof(b), idb);
	assert_int_equal(store_locate(f->st, (const uint8_t(*)[32])ida, 1, &la), 0);
	assert_int_equal(store_locate(f->st, (const uint8_t(*)[32])idb, 1, &lb), 0);
	assert_int_equal(store_read_span(f->st, la.pack, la.off, store_rec_bytes(&la), rec), 0);
	memcpy(rec + 8, idb, 32);   /* a's record, claiming to be b */
	assert_int_equal(store_decode(f->st, idb, &la, rec, true, q, sizeof(q), &n), -EIO);
	assert_int_equal(store_decode(f->st, idb, &la, rec, false, q, sizeof(q), &n), -EIO);
	/* and a plain VGC2 record is never accepted by an encrypted store */
	memcpy(rec, "VGC2", 4);
	assert_int_equal(store_decode(f->st, ida, &la, rec, false, q, sizeof(q), &n), -EIO);
}

/* A wrong key, no key, or a key for a plain store with chunks: refused at
 * open; the right key opens. */
static void test_wrong_key(void **state)
{
	struct fx *f = *state;
	uint8_t p[100], id[32];
	struct store *st = NULL;
	char plain[STOREFX_DIR];

	fill(p, sizeof(p), 5);
	put(f->st, p, sizeof(p), id);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open_key(f->dir, &k2, &st), -EKEYREJECTED);
	assert_null(st);
	assert_int_equal(store_open(f->dir, &st), -ENOKEY);
	assert_int_equal(store_open_key(f->dir, &k1, &f->st), 0);
	assert_int_equal(store_has(f->st, id), 1);

	snprintf(plain, sizeof(plain), "/tmp/vg-sealplain-XXXXXX");   /* plain whatever */
	assert_non_null(mkdtemp(plain));                              /* VIGIL_TEST_ENCRYPT */
	assert_int_equal(store_open(plain, &st), 0);
	put(st, p, sizeof(p), id);
	store_close(st);
	st = NULL;
	assert_int_equal(store_open_key(plain, &k1, &st), -EINVAL);
	assert_int_equal(store_open(plain, &st), 0);
	assert_false(store_encrypted(st));
	assert_int_equal(storefx_remove(plain, st), 0);
}

/* A store from before encryption (no meta 'cipher' row) opens as a plain
 * store, without a key, and keeps its chunks; a key cannot turn it into an
 * encrypted one. */
static void test_old_store(void **state)
{
	char dir[] = "/tmp/vg-sealold-XXXXXX", cmd[128];
	struct store *st = NULL;
	sqlite3 *db;
	uint8_t p[300], q[300], id[32];
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(dir, &st), 0);
	fill(p, sizeof(p), 8);
	put(st, p, sizeof(p), id);
	store_close(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "%s/chunks.db", dir);
	assert_int_equal(sqlite3_open(cmd, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM meta WHERE k='cipher'", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open_key(dir, &k1, &st), -EINVAL);
	assert_int_equal(store_open(dir, &st), 0);
	assert_false(store_encrypted(st));
	assert_int_equal(store_get(st, id, q, sizeof(q), &n), 0);
	assert_memory_equal(p, q, sizeof(p));
	assert_int_equal(storefx_remove(dir, st), 0);
}

/* The nonces (bytes 4..11 of the nonce: the counter) of every record in
 * pack 1, and the count. */
static size_t nonces(const char *dir, uint8_t (*out)[REC_NONCE], size_t max)
{
	size_t pn, off = 0, k = 0;
	uint8_t *pk = pack_read(dir, 1, &pn);

	while (off + REC_HDR <= pn && k < max) {
		uint32_t clen = (uint32_t)pk[off + 44] << 24 | pk[off + 45] << 16 | pk[off + 46] << 8 |
				pk[off + 47];

		memcpy(out[k++], pk + off + REC_HDR, REC_NONCE);
		off += REC_HDR + clen;
	}
	free(pk);
	return k;
}

/* Nonces never repeat across reopening: the counter resumes above the
 * durable reservation. */
static void test_nonce_unique(void **state)
{
	struct fx *f = *state;
	uint8_t p[500], id[32], (*nc)[REC_NONCE] = calloc(64, REC_NONCE);
	size_t k, i, j;
	int round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 4; i++) {
			fill(p, sizeof(p), 100 * (uint64_t)round + i);
			put(f->st, p, sizeof(p), id);
		}
		store_close(f->st);
		assert_int_equal(store_open_key(f->dir, &k1, &f->st), 0);
	}
	k = nonces(f->dir, nc, 64);
	assert_int_equal(k, 12);
	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++)
			assert_memory_not_equal(nc[i] + 4, nc[j] + 4, 8);
	free(nc);
}

/* Records written out, then cut from the pack tail when their batch is
 * dropped: the records written next at the same offsets get fresh nonces
 * (a nonce made of pack and offset would repeat here). */
static void test_nonce_after_cut(void **state)
{
	struct fx *f = *state;
	uint8_t p[10000], id[32], first[REC_NONCE], *pk;
	struct store_batch *b;
	size_t pn;
	int i;

	assert_int_equal(store_batch_new(f->st, &b), 0);
	for (i = 0; i < 40; i++) {   /* 400 KB: the 256 KiB write buffer goes out */
		fill(p, sizeof(p), 1000 + (uint64_t)i);
		id_of(p, sizeof(p), id);
		assert_int_equal(store_batch_put(b, id, p, sizeof(p)), 0);
	}
	pk = pack_read(f->dir, 1, &pn);
	assert_true(pn > REC_HDR + REC_NONCE);
	memcpy(first, pk + REC_HDR, REC_NONCE);
	free(pk);
	store_batch_free(b);   /* dropped: cut from the tail */
	pk = pack_read(f->dir, 1, &pn);
	free(pk);
	assert_int_equal(pn, 0);
	fill(p, sizeof(p), 1000);
	put(f->st, p, sizeof(p), id);
	pk = pack_read(f->dir, 1, &pn);
	assert_memory_not_equal(pk + REC_HDR, first, REC_NONCE);
	free(pk);
}

/* The wrapped data key: the right key file or passphrase unwraps it, a
 * wrong one is rejected, a changed KDF parameter too. */
static void test_datakey(void **state)
{
	char dir[] = "/tmp/vg-dkey-XXXXXX", path[64], kf[64];
	struct store_secret s = { .has_key = true, .key = { 1 } }, w = s;
	struct store_key a, b;
	uint8_t raw[32];
	int fd;

	assert_non_null(mkdtemp(dir));
	assert_false(store_key_present(dir));
	assert_int_equal(store_key_load(dir, &s, &a), -ENOENT);
	assert_int_equal(store_key_create(dir, &s, &a), 0);
	assert_true(store_key_present(dir));
	assert_int_equal(store_key_create(dir, &s, &b), -EEXIST);
	assert_int_equal(store_key_load(dir, &s, &b), 0);
	assert_memory_equal(a.k, b.k, 32);
	w.key[0] = 2;
	assert_int_equal(store_key_load(dir, &w, &b), -EKEYREJECTED);
	w = (struct store_secret){ .pass = "secret", .plen = 6 };
	assert_int_equal(store_key_load(dir, &w, &b), -EKEYREJECTED);

	/* a passphrase store (scrypt at the build's cost: once) */
	snprintf(path, sizeof(path), "%s/p", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(store_key_create(path, &w, &a), 0);
	assert_int_equal(store_key_load(path, &w, &b), 0);
	assert_memory_equal(a.k, b.k, 32);
	/* rekey: the same data key under a key file; the passphrase no longer
	 * unwraps it; a missing datakey is not made */
	assert_int_equal(store_key_rewrap(path, &s, &a), 0);
	assert_int_equal(store_key_load(path, &w, &b), -EKEYREJECTED);
	assert_int_equal(store_key_load(path, &s, &b), 0);
	assert_memory_equal(a.k, b.k, 32);
	snprintf(kf, sizeof(kf), "%s/none", dir);
	assert_int_equal(store_key_rewrap(kf, &s, &a), -ENOENT);
	/* the KDF's parameters are authenticated: a lowered N is refused
	 * before any scrypt at the changed cost could be trusted */
	snprintf(kf, sizeof(kf), "%s/datakey", dir);
	assert_true((fd = open(kf, O_RDWR)) >= 0);
	assert_true(pwrite(fd, "\x02", 1, 8) == 1);   /* key file -> passphrase kind */
	close(fd);
	assert_int_equal(store_key_load(dir, &w, &b) < 0, 1);

	/* key files: made as hex, read back; 32 raw bytes too; other sizes refused */
	snprintf(kf, sizeof(kf), "%s/k", dir);
	assert_int_equal(store_key_file_make(kf, raw), 0);
	assert_int_equal(store_key_file_make(kf, raw), -EEXIST);
	assert_int_equal(store_key_file_read(kf, s.key), 0);
	assert_memory_equal(raw, s.key, 32);
	assert_true((fd = open(kf, O_WRONLY | O_TRUNC)) >= 0);
	assert_true(write(fd, raw, 31) == 31);
	close(fd);
	assert_int_equal(store_key_file_read(kf, s.key), -EINVAL);
	assert_true((fd = open(kf, O_WRONLY | O_APPEND)) >= 0);
	assert_true(write(fd, raw, 1) == 1);
	close(fd);
	assert_int_equal(store_key_file_read(kf, s.key), 0);
	assert_memory_equal(raw, s.key, 31);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_swap_id, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_nonce_unique, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_nonce_after_cut, fx_setup, fx_teardown),
		cmocka_unit_test(test_datakey),
		cmocka_unit_test(test_old_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
