/* test_cmdseq.c — daemon/cmdseq.c: a missing file is empty; commits
 * round-trip through the file (insert and replace); a file with any byte
 * flipped, cut at any length or with a byte added is refused, never read as
 * empty; a symlink or FIFO in its place is refused; a failed commit leaves
 * both memory and file as they were; the CMDSEQ_MAX bound holds; nothing
 * load would refuse is ever written. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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

#include "daemon/cmdseq.h"

static char dir[64], file[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vigil-cmdseq-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/%s", dir, CMDSEQ_FILE);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void rec_fill(struct cmdseq_rec *r, const char *ctl, uint64_t seq, const char *st)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->controller, sizeof(r->controller), "%s", ctl);
	r->seq = seq;
	memset(r->body_sha256, (int)seq, 32);
	r->result.id = seq * 100;
	snprintf(r->result.state, sizeof(r->result.state), "%s", st);
	snprintf(r->result.reason, sizeof(r->result.reason), "erased %llu files",
		 (unsigned long long)seq);
	r->result.files = seq;
	r->result.fitrim = 1;
	r->result.updated_ns = 1700000000000000000LL + (int64_t)seq;
}

static uint8_t *slurp(size_t *n)
{
	struct stat st;
	uint8_t *p;
	int fd = open(file, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return p;
}

static void spit(const uint8_t *p, size_t n)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void test_missing_is_empty_and_round_trip(void **state)
{
	struct cmdseq *s, *t;
	struct cmdseq_rec a, b, a2;

	(void)state;
	unlink(file);
	assert_int_equal(cmdseq_load(dir, &s), 0);
	assert_int_equal(s->n, 0);
	assert_null(cmdseq_get(s, "ctl1"));
	rec_fill(&a, "ctl1", 3, "done");
	rec_fill(&b, "ctl2", 9, "running");
	assert_int_equal(cmdseq_commit(s, dir, &a), 0);
	assert_int_equal(cmdseq_commit(s, dir, &b), 0);
	rec_fill(&a2, "ctl1", 4, "refused");
	assert_int_equal(cmdseq_commit(s, dir, &a2), 0);   /* replaces ctl1's */
	assert_int_equal(s->n, 2);
	assert_int_equal(cmdseq_load(dir, &t), 0);
	assert_int_equal(t->n, 2);
	assert_memory_equal(cmdseq_get(t, "ctl1"), &a2, sizeof(a2));
	assert_memory_equal(cmdseq_get(t, "ctl2"), &b, sizeof(b));
	assert_int_equal(access(file, F_OK), 0);
	{
		glob_t g;
		char pat[160];

		snprintf(pat, sizeof(pat), "%s.tmp*", file);
		assert_int_equal(glob(pat, 0, NULL, &g), GLOB_NOMATCH);   /* no leftover */
	}
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	cmdseq_free(s);
	cmdseq_free(t);
	cmdseq_free(NULL);
}

/* Any single damaged byte, any cut, any extra byte: an error, never empty. */
static void test_corruption_refused(void **state)
{
	struct cmdseq *s;
	struct cmdseq_rec a;
	uint8_t *good;
	size_t n;

	(void)state;
	unlink(file);
	assert_int_equal(cmdseq_load(dir, &s), 0);
	rec_fill(&a, "ctl1", 12, "done");
	assert_int_equal(cmdseq_commit(s, dir, &a), 0);
	cmdseq_free(s);
	good = slurp(&n);
	for (size_t i = 0; i < n; i++) {
		good[i] ^= 0x01;
		spit(good, n);
		s = (struct cmdseq *)1;
		if (cmdseq_load(dir, &s) != -EBADMSG || s != NULL)
			fail_msg("byte %zu flipped: loaded", i);
		good[i] ^= 0x01;
	}
	for (size_t cut = 0; cut < n; cut++) {
		spit(good, cut);
		if (cmdseq_load(dir, &s) != -EBADMSG)
			fail_msg("cut at %zu: loaded", cut);
	}
	good[n] = 0;
	spit(good, n + 1);
	assert_int_equal(cmdseq_load(dir, &s), -EBADMSG);
	spit(good, n);
	assert_int_equal(cmdseq_load(dir, &s), 0);
	assert_int_equal(cmdseq_get(s, "ctl1")->seq, 12);
	cmdseq_free(s);
	free(good);
}

static void test_not_a_regular_file(void **state)
{
	struct cmdseq *s;
	char target[160];

	(void)state;
	unlink(file);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	spit((const uint8_t *)"x", 1);
	assert_int_equal(rename(file, target), 0);
	assert_int_equal(symlink(target, file), 0);
	assert_int_equal(cmdseq_load(dir, &s), -ELOOP);
	unlink(file);
	assert_int_equal(mkfifo(file, 0600), 0);
	assert_int_equal(cmdseq_load(dir, &s), -EBADMSG);   /* and did not block */
	unlink(file);
	unlink(target);
	/* an oversized file */
	uint8_t *big = calloc(1, 512 * 1024);
	spit(big, 512 * 1024);
	assert_int_equal(cmdseq_load(dir, &s), -EFBIG);
	free(big);
	unlink(file);
}

static void test_failed_commit_changes_nothing(void **state)
{
	struct cmdseq *s, *t;
	struct cmdseq_rec a, bad;
	char nodir[128];
	uint8_t *before, *after;
	size_t n1, n2;

	(void)state;
	unlink(file);
	assert_int_equal(cmdseq_load(dir, &s), 0);
	rec_fill(&a, "ctl1", 5, "done");
	assert_int_equal(cmdseq_commit(s, dir, &a), 0);
	before = slurp(&n1);
	/* a state no reader accepts, an invalid name: refused, nothing written */
	rec_fill(&bad, "ctl1", 6, "bogus");
	assert_int_equal(cmdseq_commit(s, dir, &bad), -EINVAL);
	rec_fill(&bad, "ctl2", 6, "");
	assert_int_equal(cmdseq_commit(s, dir, &bad), -EINVAL);
	rec_fill(&bad, "Ctl1", 6, "done");
	assert_int_equal(cmdseq_commit(s, dir, &bad), -EINVAL);
	after = slurp(&n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	assert_int_equal(s->n, 1);
	assert_int_equal(cmdseq_get(s, "ctl1")->seq, 5);
	/* the write itself fails: memory unchanged */
	snprintf(nodir, sizeof(nodir), "%s/missing", dir);
	rec_fill(&bad, "ctl1", 6, "done");
	assert_int_equal(cmdseq_commit(s, nodir, &bad), -ENOENT);
	assert_int_equal(cmdseq_load(nodir, &t), -ENOENT);   /* not "empty" */
	assert_int_equal(cmdseq_get(s, "ctl1")->seq, 5);
	assert_int_equal(cmdseq_load(dir, &t), 0);
	assert_int_equal(cmdseq_get(t, "ctl1")->seq, 5);
	cmdseq_free(t);
	cmdseq_free(s);
	free(before);
	free(after);
}

static void test_bounded(void **state)
{
	struct cmdseq *s, *t;
	struct cmdseq_rec a;
	char name[32];

	(void)state;
	unlink(file);
	assert_int_equal(cmdseq_load(dir, &s), 0);
	for (int i = 0; i < CMDSEQ_MAX; i++) {
		snprintf(name, sizeof(name), "ctl%d", i);
		rec_fill(&a, name, (uint64_t)i + 1, "done");
		assert_int_equal(cmdseq_commit(s, dir, &a), 0);
	}
	rec_fill(&a, "one-too-many", 1, "done");
	assert_int_equal(cmdseq_commit(s, dir, &a), -ENOSPC);
	rec_fill(&a, "ctl7", 99, "failed");            /* replacing still works */
	assert_int_equal(cmdseq_commit(s, dir, &a), 0);
	assert_int_equal(cmdseq_load(dir, &t), 0);
	assert_int_equal(t->n, CMDSEQ_MAX);
	assert_int_equal(cmdseq_get(t, "ctl7")->seq, 99);
	assert_int_equal(cmdseq_get(t, "ctl255")->seq, 256);
	cmdseq_free(s);
	cmdseq_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_is_empty_and_round_trip),
		cmocka_unit_test(test_corruption_refused),
		cmocka_unit_test(test_not_a_regular_file),
		cmocka_unit_test(test_failed_commit_changes_nothing),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
