/* fuzz_bundle.c — libFuzzer harness for common/bundle.c: bundle_load on an
 * arbitrary file (written to a private temporary directory).  Checks
 * bundle.h's promises: 0 with a complete bundle, or -errno with a one-line
 * reason; never a crash or a leak. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bundle.h"
#include "tests/fuzz/fuzz_util.h"

static char path[300];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(path, sizeof(path), "%s/bundle", fuzz_tmpdir("bundle"));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle *b = NULL;
	char err[256];
	int fd, r;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, data, size) != (ssize_t)size || close(fd) != 0)
		abort();
	err[0] = '\0';
	r = bundle_load(path, &b, err, sizeof(err));
	if (r > 0 || (r == 0) != (b != NULL))
		abort();
	if (r < 0 && (!err[0] || strchr(err, '\n')))
		abort();
	if (r == 0 && (!b->cert || !b->key || !b->ca))
		abort();
	bundle_free(b);
	return 0;
}
