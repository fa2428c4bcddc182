/* fuzz_s3xml.c — libFuzzer harness for server/objstore/s3_xml.c, the
 * parsers of S3's XML replies (hostile input from the object store or
 * anything answering at its address).  Byte 0 picks the parser (0: a
 * listing page, 1: an error, 2: a multipart upload's id) and, in bits 2-7,
 * the size of the output buffers; the rest is the reply.  Besides "no
 * crash, no leak, no UB": only 0 or -EBADMSG; every key handed out is
 * non-empty and NUL-terminated within S3_KEY_MAX; the token, code, message
 * and id NUL-terminated inside their buffers; a listing's callback result
 * comes back as it was. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/objstore/s3_int.h"
#include "tests/fuzz/fuzz_util.h"

struct seen {
	int n, stop_at;
};

static int on_key(void *arg, const char *k, uint64_t size)
{
	struct seen *z = arg;
	size_t l = strnlen(k, S3_KEY_MAX + 1);

	(void)size;
	if (!l || l > S3_KEY_MAX)
		abort();
	return ++z->n == z->stop_at ? 42 : 0;
}

static void terminated(const char *p, size_t cap)
{
	if (!memchr(p, '\0', cap))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[S3_UPLOADID_MAX + 8], b[S3_UPLOADID_MAX + 8];
	size_t cap;
	int rc;

	if (size < 1)
		return 0;
	cap = 1 + (size_t)(data[0] >> 2) * 4;   /* 1..253 bytes */
	memset(a, 'x', sizeof(a));
	memset(b, 'x', sizeof(b));
	switch (data[0] & 3) {
	case 0: {
		struct seen z = { 0, 1 + (data[0] >> 2) };
		bool truncated = true;
		int stop = -1;

		rc = s3_xml_list(data + 1, size - 1, on_key, &z, &stop, &truncated, a, cap);
		if (rc != 0 && rc != -EBADMSG)
			abort();
		if (rc == 0) {
			terminated(a, cap);
			if (stop != 0 && (stop != 42 || z.n != z.stop_at))
				abort();
		}
		break;
	}
	case 1:
		rc = s3_xml_error(data + 1, size - 1, a, cap, b, cap);
		if (rc != 0 && rc != -EBADMSG)
			abort();
		if (rc == 0) {
			terminated(a, cap);
			terminated(b, cap);
		}
		break;
	default:
		rc = s3_xml_field(data + 1, size - 1, "InitiateMultipartUploadResult", "UploadId", a,
				  cap);
		if (rc != 0 && rc != -EBADMSG)
			abort();
		if (rc == 0)
			terminated(a, cap);
		break;
	}
	return 0;
}
