/* test_content_pipe.c — a big build through its two-thread pipeline
 * (server/store/content_pipe.c) gives what the serial path gives: the same
 * tree root and sha256, the same chunk records in the index, the same
 * checkpoint entries, the same bytes back; a resume in the middle of a
 * pipelined upload; a dropped build gives its records back; an error in
 * the worker reaches the caller. */
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

#include <sqlite3.h>

#include "common/chunker.h"
#include "common/chunktree.h"
#include "server/store/content.h"
#include "server/store/content_vb.h"
#include "tests/unit/root_fixture.h"
#include "tests/unit/store_fixture.h"

static const struct devkey key1 = { { 7, 1, 3 } };
static const uint8_t token[16] = { 0x5e, 1, 2, 3 };

struct fx {
	char dir[2][STOREFX_DIR];
	struct store *st[2];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	for (int i = 0; i < 2; i++)
		assert_int_equal(storefx_open(f->dir[i], "cpipe", &f->st[i]), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = 0;

	for (int i = 0; i < 2; i++)
		rc |= storefx_remove(f->dir[i], f->st[i]);
	free(f);
	return rc;
}

/* Random bytes with repeats (chunks the batch and the index already
 * hold) and a run of zeros. */
static void fill_mixed(uint8_t *p, size_t n, uint64_t seed)
{
	fill(p, n, seed);
	memcpy(p + n / 2, p, n / 8);
	memset(p + n / 4, 0, 300000);
}

/* Writes p[from, to) in uneven pieces (as mux frames come), a background
 * checkpoint every ckpt bytes (0: none). */
static void write_range(struct vbuild *vb, const uint8_t *p, size_t from, size_t to, size_t ckpt)
{
	size_t off = from, k, since = 0, piece = 777;

	while (off < to) {
		k = to - off < piece ? to - off : piece;
		assert_int_equal(vbuild_write(vb, p + off, k), 0);
		off += k;
		since += k;
		piece = piece * 5 % 65521 + 1;
		if (ckpt && since >= ckpt) {
			assert_int_equal(vbuild_checkpoint_bg(vb, token), 0);
			since = 0;
		}
	}
}

/* The index's rows (id, clen, rlen) in id order, as one string. */
static char *index_rows(const char *dir)
{
	char path[128], *out = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&out, &cap);
	sqlite3 *db;
	sqlite3_stmt *q;

	snprintf(path, sizeof(path), "file:%s/chunks.db?mode=ro", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT hex(id), clen, rlen FROM chunks ORDER BY id",
					    -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW)
		fprintf(m, "%s %lld %lld\n", sqlite3_column_text(q, 0),
			(long long)sqlite3_column_int64(q, 1), (long long)sqlite3_column_int64(q, 2));
	sqlite3_finalize(q);
	sqlite3_close(db);
	fclose(m);
	return out;
}

/* The upload state's chunk entries (not its header, whose owner is
 * random, nor its records, sealed under random nonces in an encrypted
 * store), as the store reads them back. */
static size_t state_entries(struct store *st, const char *dir, uint8_t *buf, size_t cap)
{
	struct storefx_ents c = { buf, 0, cap };
	char name[400];
	uint64_t good, n;
	int fd;

	storefx_upload_file(dir, "*", name, sizeof(name));
	assert_true((fd = open(name, O_RDONLY)) >= 0);
	assert_int_equal(upload_entries(st, fd, UINT64_MAX, storefx_collect, &c, &good, &n), 0);
	close(fd);
	assert_int_equal(c.n, n * CONTENT_CHUNK_ENTRY);
	return c.n;
}

static void check_read(struct store *st, const struct content_ref *ref, const uint8_t *p, size_t n)
{
	struct vreader *vr;
	uint8_t *b = malloc(n);

	assert_int_equal(vreader_open(st, &key1, ref, &vr), 0);
	assert_int_equal(vreader_pread(vr, b, n, 0), (ssize_t)n);
	assert_memory_equal(b, p, n);
	vreader_free(vr);
	free(b);
}

/* store 0 serially, store 1 through the pipeline: the same everything. */
static void test_same_as_serial(void **state)
{
	struct fx *f = *state;
	size_t n = 24u << 20, sn[2];
	uint8_t *p = malloc(n), *ent[2], sha[2][32], want[32];
	struct content_ref dev, out[2];
	char *rows[2];

	fill_mixed(p, n, 42);
	device_root(p, n, &dev);
	ctree_sha256(p, n, want);
	for (int i = 0; i < 2; i++) {
		struct vbuild *vb;

		assert_int_equal(vbuild_new(f->st[i], &key1, &vb), 0);
		vbuild_set_pipe(vb, i ? 0 : UINT64_MAX);
		write_range(vb, p, 0, n, 3u << 20);
		assert_int_equal(vbuild_checkpoint(vb, token), 0);
		assert_int_equal(vbuild_pipelined(vb), i == 1);
		ent[i] = malloc(n);
		sn[i] = state_entries(f->st[i], f->dir[i], ent[i], n);
		assert_int_equal(vbuild_finish(vb, &out[i]), 0);
		assert_int_equal(vbuild_sha256(vb, sha[i]), 0);
		vbuild_free(vb);
		vbuild_forget(f->st[i], &key1, token);
		assert_memory_equal(out[i].root, dev.root, 32);
		assert_int_equal(out[i].size, n);
		assert_memory_equal(sha[i], want, 32);
		check_read(f->st[i], &out[i], p, n);
		store_close(f->st[i]);   /* the index as a restart finds it */
		rows[i] = index_rows(f->dir[i]);
		assert_int_equal(storefx_reopen(f->dir[i], &f->st[i]), 0);
	}
	assert_true(sn[0] > 36 * 1000);   /* ~2,500 chunk entries of 36 bytes */
	assert_int_equal(sn[0], sn[1]);
	assert_memory_equal(ent[0], ent[1], sn[0]);
	assert_true(strlen(rows[0]) > 1000);
	assert_string_equal(rows[0], rows[1]);
	for (int i = 0; i < 2; i++) {
		free(ent[i]);
		free(rows[i]);
	}
	free(p);
}

/* A pipelined upload cut in the middle (queued chunks and a queued
 * checkpoint dropped), the server restarted, resumed and finished through
 * the pipeline: the device's root and the bytes. */
static void test_resume_middle(void **state)
{
	struct fx *f = *state;
	size_t n = 20u << 20, sync_at = 9u << 20;
	uint8_t *p = malloc(n);
	struct content_ref dev, out;
	struct vbuild *vb;
	uint64_t off;

	fill_mixed(p, n, 43);
	device_root(p, n, &dev);
	assert_int_equal(vbuild_new(f->st[0], &key1, &vb), 0);
	vbuild_set_pipe(vb, 0);
	write_range(vb, p, 0, sync_at, 2u << 20);
	assert_int_equal(vbuild_checkpoint(vb, token), 0);
	write_range(vb, p, sync_at, sync_at + (5u << 20), 1u << 20);
	assert_true(vbuild_pipelined(vb));
	vbuild_free(vb);                     /* connection lost */
	store_close(f->st[0]);               /* server restarted */
	assert_int_equal(storefx_reopen(f->dir[0], &f->st[0]), 0);

	assert_int_equal(vbuild_resume(f->st[0], &key1, token, &vb, &off), 0);
	assert_true(off > sync_at - CHUNK_MAX && off <= sync_at + (5u << 20));
	vbuild_set_pipe(vb, 0);
	write_range(vb, p, off, n, 4u << 20);
	assert_int_equal(vbuild_finish(vb, &out), 0);
	assert_true(vbuild_pipelined(vb));
	vbuild_free(vb);
	vbuild_forget(f->st[0], &key1, token);
	assert_memory_equal(out.root, dev.root, 32);
	check_read(f->st[0], &out, p, n);
	free(p);
}

/* A pipelined build dropped before its end (no checkpoint, under the
 * batch's own commit size) leaves nothing: no index row, and its records
 * cut from the pack again. */
static void test_abort(void **state)
{
	struct fx *f = *state;
	size_t n = 12u << 20;
	uint8_t *p = malloc(n);
	struct store_stats a, b;
	struct vbuild *vb;

	fill_mixed(p, n, 44);
	assert_int_equal(store_stats(f->st[0], &a), 0);
	assert_int_equal(vbuild_new(f->st[0], &key1, &vb), 0);
	vbuild_set_pipe(vb, 0);
	write_range(vb, p, 0, n, 0);
	assert_true(vbuild_pipelined(vb));
	vbuild_free(vb);
	assert_int_equal(store_stats(f->st[0], &b), 0);
	assert_int_equal(b.chunks, a.chunks);
	assert_int_equal(b.pack_bytes, a.pack_bytes);
	free(p);
}

/* The worker's error (a background checkpoint under another token) is
 * latched and returned to the writer: at the latest by finish. */
static void test_worker_error(void **state)
{
	struct fx *f = *state;
	static const uint8_t other[16] = { 0xcd };
	size_t n = 6u << 20;
	uint8_t *p = malloc(n);
	struct content_ref out;
	struct vbuild *vb;

	fill_mixed(p, n, 45);
	assert_int_equal(vbuild_new(f->st[0], &key1, &vb), 0);
	vbuild_set_pipe(vb, 0);
	write_range(vb, p, 0, n / 2, 1u << 20);
	assert_int_equal(vbuild_checkpoint_bg(vb, other), 0);   /* queued */
	{
		size_t off = n / 2;
		int r = 0;

		while (off < n && r == 0) {
			r = vbuild_write(vb, p + off, 65536);
			off += 65536;
		}
		assert_true(r == 0 || r == -EINVAL);
	}
	assert_int_equal(vbuild_finish(vb, &out), -EINVAL);
	vbuild_free(vb);
	vbuild_forget(f->st[0], &key1, token);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_as_serial, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_resume_middle, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_abort, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_worker_error, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
