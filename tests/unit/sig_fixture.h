/* sig_fixture.h — test helper shared by test_sigderive, test_sigpatch and
 * test_chunkdelta: a temporary state directory for signatures and chunk
 * lists, reproducible random bytes (define SIGFIX_SEED before including),
 * and signatures written to and read from the cache. */
#ifndef VIGIL_TEST_SIG_FIXTURE_H
#define VIGIL_TEST_SIG_FIXTURE_H

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/pathstate.h"
#include "daemon/sigcache.h"

static char dir[64], tmp[96];

/* A state directory /tmp/vigil-TAG-XXXXXX with its tmp/ (dir, tmp). */
static inline int sigfix_setup(const char *tag)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	sigcache_quiet_librsync();
	return 0;
}

static inline int sigfix_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static uint64_t rng = SIGFIX_SEED;

/* xorshift64: the same bytes on every run */
static inline uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

/* A signature of p[0..n) cached for path under key. */
static inline void put_sig(const char *path, const uint8_t *p, size_t n, const uint8_t key[32])
{
	struct sigwriter *w;

	assert_int_equal(sigwriter_new(dir, &w), 0);
	assert_int_equal(sigwriter_feed(w, p, n), 0);
	assert_int_equal(sigwriter_commit(w, path, key), 0);
	sigwriter_free(w);
}

/* The cached signature file of path, whole (malloc). */
static inline uint8_t *slurp(const char *path, size_t *n)
{
	char f[PATH_MAX];
	struct stat st;
	uint8_t *b;
	int fd;

	assert_int_equal(pathstate_file(dir, PS_DIR_SIGS, path, f), 0);
	fd = open(f, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return b;
}

#endif
