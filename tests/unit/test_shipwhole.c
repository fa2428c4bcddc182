/* test_shipwhole.c — one shipper (daemon/ship*.c) against the real
 * vigil-server: the first upload of a file reads it once (issue 11: it
 * used to be read twice, once to hash it and again to send it, and
 * bytes_read was twice its size).  The WHOLE goes out in the pass that
 * hashes it, its chunk-tree root after the body (MSG_PUT_TRAILER, with a
 * zero sha256: the device computes none, the server does from the
 * stream); the server stores the version only when the root matches what
 * it built.  Checked: bytes_read and bytes_sent are the file's size
 * exactly, the server's version has the file's sha256 and root, the
 * shipped row its root; a file whose size then moves (no signature kept)
 * goes whole again the same way. */
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

#include "ship_fixture.h"

static int setup(void **state)
{
	return shipfix_setup("test_shipwhole");
}

static int teardown(void **state)
{
	return shipfix_teardown();
}

/* Random bytes of size n into rel; its sha256 and root. */
static void random_file(const char *rel, size_t n, uint8_t sha[32], uint8_t tr[32])
{
	char p[PATH_MAX];
	uint8_t *b = malloc(n);
	struct chash *h = chash_new(CHASH_BOTH);
	uint64_t size;
	int fd;

	assert_non_null(b);
	assert_non_null(h);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(rand() >> 7);
	at(p, rel);
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
	random_file("big.bin", 3u << 20, sha, tr);
	ship_once("big.bin", 3u << 20, sha, tr, 1);
	/* grown, and no signature of the shipped version (as after a RANGES
	 * ship): sure to differ, so sent in the same one read */
	assert_int_equal(run("rm -rf %s/sigs", statedir), 0);
	random_file("big.bin", (3u << 20) + 4321, sha, tr);
	ship_once("big.bin", (3u << 20) + 4321, sha, tr, 2);
	/* an empty file too */
	random_file("empty", 0, sha, tr);
	ship_once("empty", 0, sha, tr, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_upload_reads_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
