/* test_store.c — the pack store: put/get, dedup, crash repair of pack
 * tails, damaged records, pack rolling, a full disk (a small tmpfs),
 * check's pass over the index (store_check_rows), and a batch's records
 * handed over to another batch for its commit (store_batch_handoff). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "server/store/content.h"
#include "server/store/store.h"
#include "server/store/store_int.h"
#include "tests/unit/store_fixture.h"

static const struct devkey key = { { 7, 7, 7 } };

struct fx {
	char dir[STOREFX_DIR];
	struct store *st;
	bool mounted;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(storefx_open(f->dir, "store", &f->st), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	store_close(f->st);
	if (f->mounted)
		umount(f->dir);
	rc = storefx_remove(f->dir, NULL);
	free(f);
	return rc;
}

static int sha256_test(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

static void id_of(const void *p, size_t n, uint8_t id[32])
{
	uint8_t sha[32];

	assert_int_equal(sha256_test(p, n, sha), 0);
	store_chunk_id(&key, sha, id);
}

static off_t pack_size(const char *dir, unsigned pack)
{
	char path[128];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/packs/%08u.pack", dir, pack);
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void test_put_get(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = { 0, 1, 100, 4096, 65536, STORE_CHUNK_MAX };
	uint8_t *p = malloc(STORE_CHUNK_MAX), *q = malloc(STORE_CHUNK_MAX), id[32];
	struct store_batch *b;
	struct store_stats s;
	size_t i, n;

	assert_int_equal(store_batch_new(f->st, &b), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(p, sizes[i], i);
		if (i == 2)
			memset(p, 'a', sizes[i]);      /* compressible */
		id_of(p, sizes[i], id);
		assert_int_equal(store_batch_has(b, id), 0);
		assert_int_equal(store_batch_put(b, id, p, sizes[i]), 0);
		assert_int_equal(store_batch_has(b, id), 1);
		assert_int_equal(store_has(f->st, id), 0);        /* not committed yet */
		assert_int_equal(store_batch_put(b, id, p, sizes[i]), 0);   /* dedup in batch */
	}
	assert_int_equal(store_batch_put(b, id, p, STORE_CHUNK_MAX + 1), -EMSGSIZE);
	assert_int_equal(store_batch_commit(b), 0);
	assert_int_equal(store_stats(f->st, &s), 0);
	assert_int_equal(s.chunks, 6);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(p, sizes[i], i);
		if (i == 2)
			memset(p, 'a', sizes[i]);
		id_of(p, sizes[i], id);
		assert_int_equal(store_has(f->st, id), 1);
		assert_int_equal(store_get(f->st, id, q, STORE_CHUNK_MAX, &n), 0);
		assert_int_equal(n, sizes[i]);
		assert_memory_equal(p, q, n);
		if (sizes[i] > 0)
			assert_int_equal(store_get(f->st, id, q, sizes[i] - 1, &n), -EMSGSIZE);
	}
	/* committed chunks are not stored again */
	{
		uint64_t before = s.pack_bytes;

		assert_int_equal(store_batch_put(b, id, p, sizes[5]), 0);
		assert_int_equal(store_batch_commit(b), 0);
		assert_int_equal(store_stats(f->st, &s), 0);
		assert_int_equal(s.pack_bytes, before);
	}
	memset(id, 0x55, 32);
	assert_int_equal(store_get(f->st, id, q, STORE_CHUNK_MAX, &n), -ENOENT);
	store_batch_free(b);
	free(p);
	free(q);
}

/* Waits (up to 20 s) until the store's id filter answers lookups and
 * holds at least bytes; returns its stats. */
static struct store_filter_stats filter_ready(struct store *st, uint64_t bytes)
{
	struct store_filter_stats fs;

	for (int i = 0; i < 2000; i++) {
		store_filter_stats(st, &fs);
		if (fs.ready && fs.bytes >= bytes)
			return fs;
		usleep(10000);
	}
	fail_msg("the id filter was not built");
	return fs;
}

/* The id filter (store_filter.c) answers "not stored" for new ids
 * without SQLite, and never for a stored one: after a reopen (built from
 * the index) and after it outgrew its first size while chunks were being
 * added (rebuilt twice the size, the commits meanwhile included), every
 * stored chunk is found, reads back, and is not stored again. */
static void test_filter_no_false_negative(void **state)
{
	struct fx *f = *state;
	struct store_batch *b;
	struct store_filter_stats fs0, fs1;
	struct store_stats s0, s1;
	const uint64_t n = 70000;       /* past the first filter's 64 Ki ids */
	uint8_t p[16], q[16], id[32];
	size_t got;
	uint64_t i;

	filter_ready(f->st, 0);
	assert_int_equal(store_batch_new(f->st, &b), 0);
	for (i = 0; i < n; i++) {
		memcpy(p, &i, sizeof(i));
		memcpy(p + 8, "filter..", 8);
		id_of(p, sizeof(p), id);
		assert_int_equal(store_batch_put(b, id, p, sizeof(p)), 0);
	}
	assert_int_equal(store_batch_commit(b), 0);
	fs0 = filter_ready(f->st, 128u << 10);   /* rebuilt at 128 KiB */
	assert_true(fs0.ids >= n);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(store_stats(f->st, &s0), 0);
		for (i = 0; i < n; i++) {
			memcpy(p, &i, sizeof(i));
			memcpy(p + 8, "filter..", 8);
			id_of(p, sizeof(p), id);
			assert_int_equal(store_batch_has(b, id), 1);
			assert_int_equal(store_batch_put(b, id, p, sizeof(p)), 0);   /* not again */
			if (i % 97 == 0) {
				assert_int_equal(store_get(f->st, id, q, sizeof(q), &got), 0);
				assert_memory_equal(p, q, sizeof(p));
			}
		}
		assert_int_equal(store_batch_commit(b), 0);
		assert_int_equal(store_stats(f->st, &s1), 0);
		assert_int_equal(s1.chunks, s0.chunks);
		assert_int_equal(s1.pack_bytes, s0.pack_bytes);
		/* new ids: answered by the filter, nearly all (~3 % false positives) */
		store_filter_stats(f->st, &fs0);
		for (i = 0; i < 10000; i++) {
			memcpy(p, &i, sizeof(i));
			memcpy(p + 8, "new.....", 8);
			id_of(p, sizeof(p), id);
			assert_int_equal(store_has(f->st, id), 0);
		}
		store_filter_stats(f->st, &fs1);
		assert_true(fs1.skipped - fs0.skipped >= 9000);
		/* and again from the index alone */
		store_batch_free(b);
		store_close(f->st);
		assert_int_equal(storefx_reopen(f->dir, &f->st), 0);
		filter_ready(f->st, 128u << 10);
		assert_int_equal(store_batch_new(f->st, &b), 0);
	}
	store_batch_free(b);
}

/* Records never committed (crash, failure) are cut from the pack tail at open. */
/* After a run of incompressible chunks (zstd is then tried only on every
 * 16th) compressible ones are still stored compressed, within a probe's
 * distance, and every chunk reads back as it was. */
static void test_raw_run_then_text(void **state)
{
	struct fx *f = *state;
	struct store_batch *b;
	struct store_stats s0, s1;
	uint8_t p[8192], q[8192], id[32];
	size_t n, i;

	assert_int_equal(store_batch_new(f->st, &b), 0);
	for (i = 0; i < 64; i++) {   /* random: stored raw */
		fill(p, sizeof(p), 1000 + i);
		id_of(p, sizeof(p), id);
		assert_int_equal(store_batch_put(b, id, p, sizeof(p)), 0);
	}
	assert_int_equal(store_batch_commit(b), 0);
	assert_int_equal(store_stats(f->st, &s0), 0);
	assert_true(s0.pack_bytes >= 64 * sizeof(p));
	for (i = 0; i < 64; i++) {   /* text: shrinks to a few hundred bytes */
		memset(p, 'a' + (int)(i % 26), sizeof(p));
		snprintf((char *)p, 32, "chunk %zu", i);
		id_of(p, sizeof(p), id);
		assert_int_equal(store_batch_put(b, id, p, sizeof(p)), 0);
	}
	assert_int_equal(store_batch_commit(b), 0);
	assert_int_equal(store_stats(f->st, &s1), 0);
	/* at most one probe interval (16) of them raw, the rest compressed */
	assert_true(s1.pack_bytes - s0.pack_bytes < 17 * (sizeof(p) + 64) + 47 * 512);
	for (i = 0; i < 64; i++) {
		fill(p, sizeof(p), 1000 + i);
		id_of(p, sizeof(p), id);
		assert_int_equal(store_get(f->st, id, q, sizeof(q), &n), 0);
		assert_int_equal(n, sizeof(p));
		assert_memory_equal(p, q, n);
		memset(p, 'a' + (int)(i % 26), sizeof(p));
		snprintf((char *)p, 32, "chunk %zu", i);
		id_of(p, sizeof(p), id);
		assert_int_equal(store_get(f->st, id, q, sizeof(q), &n), 0);
		assert_memory_equal(p, q, sizeof(p));
	}
	store_batch_free(b);
}

/* Puts chunks seed .. seed+total-1 of ch incompressible bytes each
 * (fill) through b. */
static void put_filled(struct store_batch *b, uint8_t *p, size_t ch, int total, uint64_t seed)
{
	uint8_t id[32];

	for (int i = 0; i < total; i++) {
		fill(p, ch, seed + (uint64_t)i);
		id_of(p, ch, id);
		assert_int_equal(store_batch_put(b, id, p, ch), 0);
	}
}

/* Every step-th of those chunks reads back the same (p, q: ch bytes). */
static void filled_read_back(struct store *st, uint8_t *p, uint8_t *q, size_t ch, int total,
			     int step, uint64_t seed)
{
	uint8_t id[32];
	size_t n;

	for (int i = 0; i < total; i += step) {
		fill(p, ch, seed + (uint64_t)i);
		id_of(p, ch, id);
		assert_int_equal(store_get(st, id, q, ch, &n), 0);
		assert_int_equal(n, ch);
		assert_memory_equal(p, q, ch);
	}
}

/* One batch writing into more packs than it may hold at once
 * (BATCH_PACKS, 8): it commits what it wrote and goes on with the records
 * still in its write buffer; every chunk reads back, also after a
 * reopen. */
static void test_batch_many_packs(void **state)
{
	struct fx *f = *state;
	enum { CH = 1 << 20 };
	uint8_t *p = malloc(CH), *q = malloc(CH);
	int total = (int)(9 * STORE_PACK_ROLL / CH) + 8;
	struct store_batch *b;
	struct store_stats s;

	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal(store_batch_new(f->st, &b), 0);
	put_filled(b, p, CH, total, 7000);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
	assert_int_equal(store_stats(f->st, &s), 0);
	assert_true(s.packs >= 9);
	assert_int_equal(s.chunks, (uint64_t)total);
	store_close(f->st);
	assert_int_equal(storefx_reopen(f->dir, &f->st), 0);
	filled_read_back(f->st, p, q, CH, total, 23, 7000);
	free(p);
	free(q);
}

/* Pages of pack p resident in the page cache among [0, len): mincore. */
static size_t resident_pages(const char *dir, unsigned pack, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = len / pg, k = 0;
	unsigned char *vec = malloc(n);
	char path[128];
	void *m;
	int fd;

	snprintf(path, sizeof(path), "%s/packs/%08u.pack", dir, pack);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	assert_non_null(vec);
	assert_int_equal(mincore(m, len, vec), 0);
	for (size_t i = 0; i < n; i++)
		k += vec[i] & 1;
	munmap(m, len);
	close(fd);
	free(vec);
	return k;
}

/* A big upload's records leave the page cache behind its tail once
 * written back (drop-behind, store_batch.c): of 32 MiB put through one
 * batch, the first 16 MiB are no longer cached, and every chunk still
 * reads back the same. */
static void test_drop_behind(void **state)
{
	struct fx *f = *state;
	enum { CH = 64 << 10, TOTAL = 512, HEAD = 16 << 20 };
	uint8_t *p = malloc(CH), *q = malloc(CH);
	struct store_batch *b;
	unsigned pack = 0;
	struct statfs fs;

	/* tmpfs pages are the file itself: nothing can be dropped */
	assert_int_equal(statfs(f->dir, &fs), 0);
	if (fs.f_type == TMPFS_MAGIC) {
		free(p);
		free(q);
		skip();
	}
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal(store_batch_new(f->st, &b), 0);
	put_filled(b, p, CH, TOTAL, 9100);
	while (pack < 16 && pack_size(f->dir, pack) < HEAD)
		pack++;
	assert_true(pack < 16);
	/* before the commit: only the last DROP_LAG or so may be cached */
	assert_true(resident_pages(f->dir, pack, HEAD) < (HEAD / 4096) / 4);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
	filled_read_back(f->st, p, q, CH, TOTAL, 37, 9100);
	free(p);
	free(q);
}

static void test_tail_repair(void **state)
{
	struct fx *f = *state;
	uint8_t p[10000], id[32], q[10000];
	struct store_batch *b;
	off_t committed;
	size_t n;
	int i;

	assert_int_equal(store_batch_new(f->st, &b), 0);
	fill(p, sizeof(p), 1);
	id_of(p, sizeof(p), id);
	assert_int_equal(store_batch_put(b, id, p, sizeof(p)), 0);
	assert_int_equal(store_batch_commit(b), 0);
	committed = pack_size(f->dir, 1);
	for (i = 2; i < 6; i++) {
		uint8_t x[32];

		fill(p, sizeof(p), (uint64_t)i);
		id_of(p, sizeof(p), x);
		assert_int_equal(store_batch_put(b, x, p, sizeof(p)), 0);
	}
	store_batch_free(b);                 /* dropped without commit: cut at once */
	assert_int_equal(pack_size(f->dir, 1), committed);
	store_close(f->st);
	/* what a crash leaves: whole unindexed records and a torn one */
	{
		char path[128];
		int fd;

		snprintf(path, sizeof(path), "%s/packs/00000001.pack", f->dir);
		fd = open(path, O_WRONLY | O_APPEND);
		assert_true(write(fd, p, sizeof(p)) == (ssize_t)sizeof(p));
		close(fd);
	}
	assert_true(pack_size(f->dir, 1) > committed);
	{
		char path[128];
		int fd;

		snprintf(path, sizeof(path), "%s/packs/00000001.pack", f->dir);
		fd = open(path, O_WRONLY | O_APPEND);
		assert_true(write(fd, "VGC2torn", 8) == 8);
		close(fd);
	}
	assert_int_equal(storefx_reopen(f->dir, &f->st), 0);
	assert_int_equal(pack_size(f->dir, 1), committed);
	fill(p, sizeof(p), 1);
	assert_int_equal(store_get(f->st, id, q, sizeof(q), &n), 0);
	assert_memory_equal(p, q, sizeof(p));
}

static void test_damaged_record(void **state)
{
	struct fx *f = *state;
	uint8_t p[5000], id[32], q[5000], c;
	struct store_batch *b;
	char path[128];
	size_t n;
	int fd;

	fill(p, sizeof(p), 3);
	id_of(p, sizeof(p), id);
	assert_int_equal(store_batch_new(f->st, &b), 0);
	assert_int_equal(store_batch_put(b, id, p, sizeof(p)), 0);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
	snprintf(path, sizeof(path), "%s/packs/00000001.pack", f->dir);
	fd = open(path, O_RDWR);
	assert_true(pread(fd, &c, 1, 2000) == 1);
	c ^= 0x10;
	assert_true(pwrite(fd, &c, 1, 2000) == 1);
	close(fd);
	assert_int_equal(store_get(f->st, id, q, sizeof(q), &n), -EIO);
}

/* A store from an older format is refused at open, not read as damage. */
static void test_old_format_refused(void **state)
{
	struct fx *f = *state;
	char cmd[256];

	store_close(f->st);
	f->st = NULL;
	snprintf(cmd, sizeof(cmd), "sqlite3 %s/chunks.db \"UPDATE meta SET v=1 WHERE k='format'\"",
		 f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(storefx_reopen(f->dir, &f->st), -EPROTO);
	assert_null(f->st);
}

static void test_pack_roll(void **state)
{
	struct fx *f = *state;
	uint8_t *p = malloc(65536), *q = malloc(65536), id[32];
	struct store_batch *b;
	struct store_stats s;
	int i, total = (int)(STORE_PACK_ROLL / 65536) + 50;
	size_t n;

	assert_int_equal(store_batch_new(f->st, &b), 0);
	for (i = 0; i < total; i++) {
		fill(p, 65536, (uint64_t)i + 100);
		id_of(p, 65536, id);
		assert_int_equal(store_batch_put(b, id, p, 65536), 0);
	}
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
	assert_int_equal(store_stats(f->st, &s), 0);
	assert_int_equal(s.packs, 2);
	assert_true(pack_size(f->dir, 1) <= (off_t)STORE_PACK_ROLL);
	store_close(f->st);
	assert_int_equal(storefx_reopen(f->dir, &f->st), 0);
	for (i = 0; i < total; i += 37) {
		fill(p, 65536, (uint64_t)i + 100);
		id_of(p, 65536, id);
		assert_int_equal(store_get(f->st, id, q, 65536, &n), 0);
		assert_memory_equal(p, q, 65536);
	}
	free(p);
	free(q);
}

/* ---- full disk ---- */
static int build(struct store *st, const uint8_t *p, size_t n, struct content_ref *ref)
{
	struct vbuild *vb;
	int r = vbuild_new(st, &key, &vb);

	if (r == 0)
		r = vbuild_write(vb, p, n);
	if (r == 0)
		r = vbuild_finish(vb, ref);
	vbuild_free(vb);
	return r;
}

static void check(struct store *st, const struct content_ref *ref, const uint8_t *p, size_t n)
{
	struct vreader *vr;
	uint8_t *q = malloc(n);

	assert_int_equal(vreader_open(st, &key, ref, &vr), 0);
	assert_int_equal(vreader_pread(vr, q, n, 0), (ssize_t)n);
	assert_memory_equal(p, q, n);
	vreader_free(vr);
	free(q);
}

static void test_enospc(void **state)
{
	struct fx *f = *state;
	size_t n = 600000, big = 3u << 20;
	uint8_t *a = malloc(n), *bb = malloc(big), junk[65536];
	struct content_ref ra, rb;
	char filler[128];
	int fd, r;

	store_close(f->st);
	f->st = NULL;
	if (mount("tmpfs", f->dir, "tmpfs", 0, "size=4m") < 0) {
		print_message("skipped: cannot mount tmpfs (%s)\n", strerror(errno));
		skip();
	}
	f->mounted = true;
	assert_int_equal(storefx_reopen(f->dir, &f->st), 0);
	fill(a, n, 1);
	fill(bb, big, 2);
	assert_int_equal(build(f->st, a, n, &ra), 0);
	/* fill the disk, leaving little room */
	snprintf(filler, sizeof(filler), "%s/filler", f->dir);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	fill(junk, sizeof(junk), 3);
	while (write(fd, junk, sizeof(junk)) > 0)
		;
	assert_int_equal(ftruncate(fd, lseek(fd, 0, SEEK_CUR) - 200000), 0);
	close(fd);
	{
		struct store_stats s0, s1;

		assert_int_equal(store_stats(f->st, &s0), 0);
		r = build(f->st, bb, big, &rb);
		assert_int_equal(r, -ENOSPC);
		assert_int_equal(store_stats(f->st, &s1), 0);
		assert_int_equal(s1.pack_bytes, s0.pack_bytes);   /* failed tail cut at once */
	}
	check(f->st, &ra, a, n);                  /* what was stored is intact */
	store_close(f->st);                       /* and stays so across a restart */
	assert_int_equal(storefx_reopen(f->dir, &f->st), 0);
	check(f->st, &ra, a, n);
	assert_int_equal(build(f->st, bb, big, &rb), -ENOSPC);
	unlink(filler);                           /* space comes back */
	assert_int_equal(build(f->st, bb, big, &rb), 0);
	check(f->st, &rb, bb, big);
	check(f->st, &ra, a, n);
	free(a);
	free(bb);
}

/* A batch's tables grow with it (store_batch.c batch_reserve): thousands
 * of chunks, past the automatic commit, each stored once; a chunk put
 * again, early or late, in the batch or after its commit, adds nothing. */
static void test_batch_growth(void **state)
{
	struct fx *f = *state;
	enum { N = 5000 };
	uint8_t p[64], id[32];
	struct store_batch *b;
	struct store_stats s;
	uint64_t bytes;
	int i;

	assert_int_equal(store_batch_new(f->st, &b), 0);
	for (i = 0; i < N; i++) {
		fill(p, sizeof(p), (uint64_t)i + 7);
		id_of(p, sizeof(p), id);
		assert_int_equal(store_batch_put(b, id, p, (size_t)i % sizeof(p) + 1), 0);
		fill(p, sizeof(p), (uint64_t)i / 2 + 7);     /* an earlier one */
		id_of(p, sizeof(p), id);
		assert_int_equal(store_batch_has(b, id), 1);
	}
	assert_int_equal(store_batch_commit(b), 0);
	assert_int_equal(store_stats(f->st, &s), 0);
	assert_int_equal(s.chunks, N);
	bytes = s.pack_bytes;
	for (i = N - 1; i >= 0; i--) {
		fill(p, sizeof(p), (uint64_t)i + 7);
		id_of(p, sizeof(p), id);
		assert_int_equal(store_batch_put(b, id, p, (size_t)i % sizeof(p) + 1), 0);
	}
	assert_int_equal(store_batch_commit(b), 0);
	assert_int_equal(store_stats(f->st, &s), 0);
	assert_int_equal(s.chunks, N);
	assert_int_equal(s.pack_bytes, bytes);
	store_batch_free(b);
}

/* ---- store_check_rows (vigil-server check) ---- */
struct badlist { int n; uint64_t off[8]; char why[8][64]; volatile int quit; };

static int on_bad(void *arg, const uint8_t id[STORE_ID_LEN], const struct store_loc *l,
		  const char *why)
{
	struct badlist *bl = arg;

	(void)id;
	if (bl->n < 8) {
		bl->off[bl->n] = l->off;
		snprintf(bl->why[bl->n], sizeof(bl->why[0]), "%s", why);
	}
	bl->n++;
	return 0;
}

static void flip_at(const char *dir, off_t off)
{
	char path[128];
	uint8_t c;
	int fd;

	snprintf(path, sizeof(path), "%s/packs/00000001.pack", dir);
	fd = open(path, O_RDWR);
	assert_true(pread(fd, &c, 1, off) == 1);
	c ^= 0x5a;
	assert_true(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

/* Three records: clean, then a header flipped (the second), then the pack
 * cut inside the third: each fault is heard once, with its row's place;
 * a payload flip is not a header fault. */
static void test_check_rows(void **state)
{
	struct fx *f = *state;
	uint8_t p[6000];
	struct store_check_stats cs;
	struct store_batch *b;
	struct badlist bl = { 0 };
	char path[128];
	/* each record: header, 6000 raw bytes (random), the seal when encrypted */
	const uint64_t rec = REC_HDR + 6000 + (store_encrypted(f->st) ? REC_SEAL : 0);

	assert_int_equal(store_batch_new(f->st, &b), 0);
	put_filled(b, p, sizeof(p), 3, 40);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
	assert_int_equal(store_check_rows(f->st, on_bad, &bl, NULL, &cs), 0);
	assert_int_equal(bl.n, 0);
	assert_int_equal(cs.rows, 3);
	assert_int_equal(cs.bad, 0);
	flip_at(f->dir, REC_HDR + 100);                      /* record 0's payload */
	flip_at(f->dir, (off_t)rec + 20);                    /* record 1's id */
	snprintf(path, sizeof(path), "%s/packs/00000001.pack", f->dir);
	assert_int_equal(truncate(path, (off_t)(2 * rec + 100)), 0);
	assert_int_equal(store_check_rows(f->st, on_bad, &bl, NULL, &cs), 0);
	assert_int_equal(bl.n, 2);
	assert_int_equal(cs.bad, 2);
	for (int i = 0; i < 2; i++) {
		if (bl.off[i] == rec)
			assert_string_equal(bl.why[i], "bad record header");
		else if (bl.off[i] == 2 * rec)
			assert_string_equal(bl.why[i], "record beyond the pack's end (truncated)");
		else
			fail_msg("fault at %llu", (unsigned long long)bl.off[i]);
	}
}

/* A pass told to stop (a server stopping under a running check) ends at
 * the next row, not at the end of its page of 1,024: three damaged rows,
 * the first fault sets quit, one row seen, one fault heard. */
static int bad_then_quit(void *arg, const uint8_t id[STORE_ID_LEN], const struct store_loc *l,
			 const char *why)
{
	struct badlist *bl = arg;

	on_bad(arg, id, l, why);
	bl->quit = 1;
	return 0;
}

static void test_check_rows_cancel(void **state)
{
	struct fx *f = *state;
	uint8_t p[3000];
	struct store_check_stats cs;
	struct store_batch *b;
	struct badlist bl = { 0 };
	const uint64_t rec = REC_HDR + 3000 + (store_encrypted(f->st) ? REC_SEAL : 0);

	assert_int_equal(store_batch_new(f->st, &b), 0);
	put_filled(b, p, sizeof(p), 3, 60);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
	for (int i = 0; i < 3; i++)
		flip_at(f->dir, (off_t)(i * rec) + 20);        /* each record's id */
	assert_int_equal(store_check_rows(f->st, bad_then_quit, &bl, &bl.quit, &cs),
			 -ECANCELED);
	assert_int_equal(bl.n, 1);
	assert_int_equal(cs.rows, 1);
	bl = (struct badlist){ 0 };                          /* not stopped: all three */
	assert_int_equal(store_check_rows(f->st, on_bad, &bl, &bl.quit, &cs), 0);
	assert_int_equal(bl.n, 3);
	assert_int_equal(cs.rows, 3);
}

/* The last pack deleted: the store still opens, new records go to a pack
 * numbered above it, and the lost rows are "pack missing". */
static void test_last_pack_lost(void **state)
{
	struct fx *f = *state;
	uint8_t p[5000], q[5000], id[32], id2[32];
	struct store_check_stats cs;
	struct store_batch *b;
	struct badlist bl = { 0 };
	char path[128];
	size_t n;

	fill(p, sizeof(p), 77);
	id_of(p, sizeof(p), id);
	assert_int_equal(store_batch_new(f->st, &b), 0);
	assert_int_equal(store_batch_put(b, id, p, sizeof(p)), 0);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
	store_close(f->st);
	snprintf(path, sizeof(path), "%s/packs/00000001.pack", f->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(storefx_reopen(f->dir, &f->st), 0);
	assert_int_equal(store_check_rows(f->st, on_bad, &bl, NULL, &cs), 0);
	assert_int_equal(bl.n, 1);
	assert_string_equal(bl.why[0], "pack missing");
	fill(p, sizeof(p), 78);
	id_of(p, sizeof(p), id2);
	assert_int_equal(store_batch_new(f->st, &b), 0);
	assert_int_equal(store_batch_put(b, id2, p, sizeof(p)), 0);
	assert_int_equal(store_batch_commit(b), 0);
	store_batch_free(b);
	assert_int_equal(pack_size(f->dir, 1), -1);           /* number 1 not reused */
	assert_true(pack_size(f->dir, 2) > 0);
	assert_int_equal(store_get(f->st, id2, q, sizeof(q), &n), 0);
	assert_memory_equal(p, q, sizeof(p));
}

static int64_t prov_rows(struct store *st, uint64_t owner)
{
	sqlite3_stmt *q = NULL;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(st->db, "SELECT count(*) FROM prov WHERE owner=?", -1,
					    &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, (int64_t)owner);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* A big upload's checkpoint (content_pipe.c): the records handed over are
 * committed by the other batch, with the owner, while the first goes on;
 * a chunk stored again meanwhile is not found (not indexed yet), so its
 * second record is written, found a duplicate at the commit and given
 * back; every chunk reads back. */
static void test_batch_handoff(void **state)
{
	struct fx *f = *state;
	enum { N1 = 40, N2 = 10, LEN = 10000 };
	uint8_t p[LEN], q[LEN], id[N1 + N2][32];
	struct store_batch *b, *to;
	struct store_stats s0, s1;
	size_t i, n;

	assert_int_equal(store_batch_new(f->st, &b), 0);
	assert_int_equal(store_batch_new(f->st, &to), 0);
	store_batch_set_owner(b, 77);
	assert_int_equal(store_stats(f->st, &s0), 0);
	for (i = 0; i < N1 + N2; i++) {
		fill(p, LEN, 300 + i);
		id_of(p, LEN, id[i]);
	}
	for (i = 0; i < N1; i++) {
		fill(p, LEN, 300 + i);
		assert_int_equal(store_batch_put(b, id[i], p, LEN), 0);
	}
	assert_int_equal(store_batch_handoff(b, to), 0);
	assert_int_equal(store_batch_has(to, id[0]), 1);
	assert_int_equal(store_batch_has(b, id[0]), 0);   /* neither b's nor indexed */
	for (i = 0; i <= N2; i++) {   /* id[0] again, then N2 new ones */
		size_t k = i ? N1 + i - 1 : 0;

		fill(p, LEN, 300 + k);
		assert_int_equal(store_batch_put(b, id[k], p, LEN), 0);
	}
	assert_int_equal(store_batch_handoff(b, to), -EINVAL);   /* to is not empty */
	assert_int_equal(store_batch_commit(to), 0);
	assert_int_equal(store_stats(f->st, &s1), 0);
	assert_int_equal(s1.chunks, s0.chunks + N1);
	assert_int_equal(prov_rows(f->st, 77), N1);
	assert_int_equal(store_batch_commit(b), 0);
	assert_int_equal(store_stats(f->st, &s1), 0);
	assert_int_equal(s1.chunks, s0.chunks + N1 + N2);
	assert_int_equal(s1.freed_records, s0.freed_records + 1);   /* id[0]'s second record */
	assert_int_equal(prov_rows(f->st, 77), N1 + N2);
	for (i = 0; i < N1 + N2; i++) {
		fill(p, LEN, 300 + i);
		assert_int_equal(store_get(f->st, id[i], q, sizeof(q), &n), 0);
		assert_int_equal(n, LEN);
		assert_memory_equal(p, q, LEN);
	}
	store_batch_free(to);
	store_batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_raw_run_then_text, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch_many_packs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_drop_behind, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tail_repair, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_record, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_old_format_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pack_roll, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_enospc, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch_growth, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_filter_no_false_negative, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_check_rows, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_check_rows_cancel, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_last_pack_lost, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch_handoff, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
