/* fuzz_util.h — small helpers shared by the libFuzzer harnesses in
 * tests/fuzz/: a private temporary directory removed at exit, and a way to
 * cut one input into pieces so stream parsers see arbitrary split points.
 * Header-only so each harness links just the sources it tests. */
#ifndef VIGIL_FUZZ_UTIL_H
#define VIGIL_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_tmp[256];

static __attribute__((unused)) void fuzz_tmp_remove(void)
{
	char cmd[300];

	if (!fuzz_tmp[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fuzz_tmp);
}

/* A fresh directory under $FUZZ_TMPDIR, /dev/shm (fsync is cheap there) or
 * /tmp; removed when the process exits normally.  Aborts on failure: a
 * harness without its directory would only report false crashes. */
static __attribute__((unused)) const char *fuzz_tmpdir(const char *tag)
{
	const char *base = getenv("FUZZ_TMPDIR");

	if (!base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_tmp, sizeof(fuzz_tmp), "%s/vigil-fuzz-%s-XXXXXX", base, tag);
	if (!mkdtemp(fuzz_tmp)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_tmp_remove);
	return fuzz_tmp;
}

/* Piece sizes for feeding a stream: the first input byte picks a step
 * (1..256); fuzz_piece returns the next piece length of at most left. */
static __attribute__((unused)) size_t fuzz_piece(uint8_t step, size_t i, size_t left)
{
	size_t n = (size_t)step + 1;

	if (step >= 0xf0)           /* a few choices feed everything at once */
		return left;
	n = (n * (i % 3 + 1)) % 257 + 1;
	return n < left ? n : left;
}

#endif
