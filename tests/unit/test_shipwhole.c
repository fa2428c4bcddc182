/* test_shipwhole.c — one shipper (daemon/ship*.c) against the real
 * vigil-server: the first upload of a file reads it once (issue 11: it
 * used to be read twice, once to hash it and again to send it, and
 * bytes_read was twice its size).  The WHOLE goes out in the pass that
 * hashes it, its XXH3-128 digest after the body (MSG_PUT_TRAILER: the
 * device computes no sha256 at all, not even of a chunk; issue 11 round
 * 3); the server stores the version only when the digest matches what it
 * built, and answers with its tree root and the chunk list, whose sha256s
 * fill in the device's.  Checked: bytes_read and bytes_sent are the
 * file's size exactly, chunk_sha256 does not move while
 * chunk_sha256_received counts the list, the server's version has the
 * file's sha256 and root, the shipped row its root.  An append to it then
 * goes as a delta, read once, hashing one or two chunks (the others' sha256
 * from the list the server filled in), sending and fetching (the signature
 * of the old bytes next to the end, MSG_DEV_RSIG) a few KiB, never a
 * signature of the whole file. */
#include <errno.h>
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

#include "common/chash.h"
#include "common/chunker.h"

#include "daemon/shipplan.h"

#include "ship_fixture.h"

static int setup(void **state)
{
	return shipfix_setup("test_shipwhole");
}

static int teardown(void **state)
{
	return shipfix_teardown();
}

/* Random bytes of size n into rel, the first keep bytes as they were;
 * its sha256 and root. */
static void random_file(const char *rel, size_t n, size_t keep, uint8_t sha[32], uint8_t tr[32])
{
	char p[PATH_MAX];
	uint8_t *b = malloc(n);
	struct chash *h = chash_new(CHASH_BOTH);
	uint64_t size;
	int fd;

	assert_non_null(b);
	assert_non_null(h);
	at(p, rel);
	if (keep) {
		assert_true((fd = open(p, O_RDONLY)) >= 0);
		assert_int_equal(read(fd, b, keep), (ssize_t)keep);
		close(fd);
	}
	for (size_t i = keep; i < n; i++)
		b[i] = (uint8_t)(rand() >> 7);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chash_feed(h, b, n), 0);
	assert_int_equal(chash_finish(h, sha, tr, &size), 0);
	chash_free(h);
	free(b);
}

/* Ships rel (new or changed) and checks one read, one send, and the
 * version the server and the shipped table hold. */
static void ship_once(const char *rel, size_t n, const uint8_t sha[32], const uint8_t tr[32],
		      uint64_t version)
{
	uint64_t rd = ctr_get(&ctr, CTR_BYTES_READ), sent = ctr_get(&ctr, CTR_BYTES_SENT);
	uint64_t whole = ctr_get(&ctr, CTR_SHIPPED_WHOLE);
	uint64_t csha = ctr_get(&ctr, CTR_CHUNK_SHA256), got = ctr_get(&ctr, CTR_CHUNK_SHA_RECEIVED);
	static const uint8_t zero[32];
	struct vg_entry *e = malloc(sizeof(*e));
	struct shipped *row = malloc(sizeof(*row));
	char p[PATH_MAX];

	assert_non_null(e);
	assert_non_null(row);
	ship(rel);
	assert_int_equal(ctr_get(&ctr, CTR_BYTES_READ) - rd, n);
	assert_int_equal(ctr_get(&ctr, CTR_BYTES_SENT) - sent, n);
	assert_int_equal(ctr_get(&ctr, CTR_SHIPPED_WHOLE) - whole, 1);
	assert_int_equal(ctr_get(&ctr, CTR_ERRORS), 0);
	/* no chunk sha256 on the device; a list kept (>= SIG_MIN_SIZE) got
	 * every one of them from the server */
	assert_int_equal(ctr_get(&ctr, CTR_CHUNK_SHA256) - csha, 0);
	if (n >= SIG_MIN_SIZE)
		assert_true(ctr_get(&ctr, CTR_CHUNK_SHA_RECEIVED) - got >= n / CHUNK_MAX);
	assert_int_equal(latest(rel, e), 0);
	assert_int_equal(e->version, version);
	assert_int_equal(e->size, n);
	assert_memory_equal(e->sha256, sha, 32);
	assert_memory_equal(e->tree_root, tr, 32);
	at(p, rel);
	assert_int_equal(statedb_get(db, p, row), 0);
	assert_int_equal(row->version, version);
	/* the device computed no sha256 of the whole (the server did, from
	 * the stream: e->sha256 above); the row's root names the content */
	assert_memory_equal(row->sha256, zero, 32);
	assert_memory_equal(row->root, tr, 32);
	free(e);
	free(row);
}

static void test_first_upload_reads_once(void **state)
{
	uint8_t sha[32], tr[32];

	srand(11);
	random_file("big.bin", 3u << 20, 0, sha, tr);
	ship_once("big.bin", 3u << 20, sha, tr, 1);
	/* an empty file too */
	random_file("empty", 0, 0, sha, tr);
	ship_once("empty", 0, sha, tr, 1);
}

/* An append goes as a delta: one read, a few KiB each way. */
static void test_append_delta(void **state)
{
	uint64_t rd, sent, recv, delta, csha;
	struct vg_entry *e = malloc(sizeof(*e));
	uint8_t sha[32], tr[32];
	size_t n = (3u << 20) + 4321;

	srand(12);
	random_file("log.bin", 3u << 20, 0, sha, tr);
	ship_once("log.bin", 3u << 20, sha, tr, 1);
	rd = ctr_get(&ctr, CTR_BYTES_READ);
	sent = ctr_get(&ctr, CTR_BYTES_SENT);
	recv = ctr_get(&ctr, CTR_SIG_BYTES_RECV);
	delta = ctr_get(&ctr, CTR_SHIPPED_DELTA);
	csha = ctr_get(&ctr, CTR_CHUNK_SHA256);
	random_file("log.bin", n, 3u << 20, sha, tr);
	ship("log.bin");
	assert_int_equal(ctr_get(&ctr, CTR_SHIPPED_DELTA) - delta, 1);
	/* the unchanged chunks' sha256s came from the list the first upload
	 * got from the server: only the new tail is hashed (the last old
	 * chunk, cut by the end, and the appended bytes) */
	assert_true(ctr_get(&ctr, CTR_CHUNK_SHA256) - csha <= 3);
	/* the file once, and the delta back from its temp file as it is sent */
	assert_int_equal(ctr_get(&ctr, CTR_BYTES_READ) - rd,
			 n + ctr_get(&ctr, CTR_BYTES_SENT) - sent);
	assert_true(ctr_get(&ctr, CTR_BYTES_SENT) - sent < 4321 + 4096);
	/* the old bytes summed: a region of the tail (at most CD_REGION_MIN
	 * and a chunk: 12 bytes per 2 KiB block), not the 3 MiB */
	assert_true(ctr_get(&ctr, CTR_SIG_BYTES_RECV) - recv > 0);
	assert_true(ctr_get(&ctr, CTR_SIG_BYTES_RECV) - recv < 8192);
	assert_int_equal(ctr_get(&ctr, CTR_ERRORS), 0);
	assert_int_equal(latest("log.bin", e), 0);
	assert_int_equal(e->version, 2);
	assert_int_equal(e->size, n);
	/* a DELTA's sha256 is the server's, filled in later: the root decides */
	assert_memory_equal(e->tree_root, tr, 32);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_upload_reads_once),
		cmocka_unit_test(test_append_delta),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
