/* cmdseq.c — STATE/cmdseq, the per-controller highest seq, body hash and
 * last result (cmdseq.h).
 *
 * File layout (big-endian, common/wire.h):
 *   bytes[4] "VGCS"  u32 version (1)  u32 n
 *   n × { str controller, u64 seq, bytes[32] body_sha256, cmdstate }
 *   bytes[32] sha256 of everything before it
 * The checksum turns a flipped bit in a seq (which would otherwise parse)
 * into a refusal to start instead of a silently reopened replay. */
#include "daemon/cmdseq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/fdio.h"
#include "common/names.h"
#include "common/wire.h"

#define CMDSEQ_MAGIC   "VGCS"
#define CMDSEQ_VERSION 1
/* A record is at most 4+63 + 8 + 32 + (8 + 4+15 + 4+255 + 3*8 + 1 + 4 + 8)
 * = 430 bytes; 256 of them plus header and checksum stay under 128 KiB. */
#define CMDSEQ_FILE_MAX (256 * 1024)

static int sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int olen = 0;

	return EVP_Digest(p, n, out, &olen, EVP_sha256(), NULL) == 1 && olen == 32 ? 0 : -EIO;
}

static int encode(const struct cmdseq_rec *rec, size_t n, struct buf *b)
{
	uint8_t sum[32];

	wire_put_bytes(b, CMDSEQ_MAGIC, 4);
	wire_put_u32(b, CMDSEQ_VERSION);
	wire_put_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		wire_put_str(b, rec[i].controller);
		wire_put_u64(b, rec[i].seq);
		wire_put_bytes(b, rec[i].body_sha256, 32);
		command_put_state(b, &rec[i].result);
	}
	if (wire_buf_error(b) < 0)
		return -EMSGSIZE;
	if (sha256(b->data, b->len, sum) < 0)
		return -EIO;
	wire_put_bytes(b, sum, 32);
	return wire_buf_error(b);
}

/* Parses a whole file into s (s->rec allocated here, freed by the caller
 * whatever the result). */
static int decode(const uint8_t *p, size_t len, struct cmdseq *s)
{
	struct wire_reader r;
	uint8_t magic[4], sum[32];
	uint32_t n;

	if (len < 12 + 32 || sha256(p, len - 32, sum) < 0 || memcmp(sum, p + len - 32, 32))
		return -EBADMSG;
	wire_reader_init(&r, p, len - 32);
	wire_get_bytes(&r, magic, 4);
	if (memcmp(magic, CMDSEQ_MAGIC, 4) || wire_get_u32(&r) != CMDSEQ_VERSION)
		return -EBADMSG;
	n = wire_get_u32(&r);
	if (wire_ok(&r) < 0 || n > CMDSEQ_MAX)
		return -EBADMSG;
	if (n && !(s->rec = calloc(n, sizeof(*s->rec))))
		return -ENOMEM;
	for (s->n = 0; s->n < n; s->n++) {
		struct cmdseq_rec *x = &s->rec[s->n];

		wire_get_str(&r, x->controller, sizeof(x->controller));
		x->seq = wire_get_u64(&r);
		wire_get_bytes(&r, x->body_sha256, 32);
		command_get_state(&r, &x->result);
		if (wire_ok(&r) < 0 || !name_valid(x->controller) ||
		    cmdseq_get(s, x->controller))
			return -EBADMSG;
	}
	return wire_done(&r);
}

/* STATE/cmdseq into b; 1 when the file does not exist.  A missing state
 * directory is an error, not an empty record. */
static int read_file(const char *state_dir, struct buf *b)
{
	int dfd, r;

	if ((dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	r = file_read_all(dfd, CMDSEQ_FILE, O_NOFOLLOW, b);
	close(dfd);
	if (r == -ENOENT)
		return 1;
	if (r == -EINVAL)
		return -EBADMSG;   /* a FIFO or device is not our file */
	return r == -EMSGSIZE ? -EFBIG : r;
}

int cmdseq_load(const char *state_dir, struct cmdseq **out)
{
	struct cmdseq *s = calloc(1, sizeof(*s));
	struct buf b;
	int r;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	buf_init(&b, CMDSEQ_FILE_MAX);
	r = read_file(state_dir, &b);
	if (r == 1)
		r = 0;          /* never written: nothing accepted yet */
	else if (r == 0)
		r = decode(b.data, b.len, s);
	buf_free(&b);
	if (r < 0) {
		cmdseq_free(s);
		return r;
	}
	*out = s;
	return 0;
}

const struct cmdseq_rec *cmdseq_get(const struct cmdseq *s, const char *controller)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->rec[i].controller, controller) == 0)
			return &s->rec[i];
	return NULL;
}

/* After a crash the file holds either the old set or the new one, and
 * once this returns 0 the new one (common/fdio.h). */
static int write_atomic(const char *state_dir, const uint8_t *p, size_t n)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, CMDSEQ_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	return file_write_atomic(path, p, n, 0600, 0);
}

/* The set with rec inserted or replaced, in a new array (*out). */
static int with_record(const struct cmdseq *s, const struct cmdseq_rec *rec,
		       struct cmdseq_rec **out, size_t *n)
{
	const struct cmdseq_rec *old = cmdseq_get(s, rec->controller);

	*n = s->n + (old ? 0 : 1);
	if (*n > CMDSEQ_MAX)
		return -ENOSPC;
	if (!(*out = calloc(*n, sizeof(**out))))
		return -ENOMEM;
	if (s->n)
		memcpy(*out, s->rec, s->n * sizeof(*s->rec));
	(*out)[old ? (size_t)(old - s->rec) : s->n] = *rec;
	return 0;
}

int cmdseq_commit(struct cmdseq *s, const char *state_dir, const struct cmdseq_rec *rec)
{
	struct cmdseq check = { 0, NULL };
	struct cmdseq_rec *next = NULL;
	struct buf b;
	size_t n;
	int r;

	if (!name_valid(rec->controller))
		return -EINVAL;
	if ((r = with_record(s, rec, &next, &n)) < 0)
		return r;
	buf_init(&b, CMDSEQ_FILE_MAX);
	if ((r = encode(next, n, &b)) < 0)
		goto out;
	/* never write what load would refuse (an unknown result state, say):
	 * that file would stop vigild from accepting any command */
	if ((r = decode(b.data, b.len, &check)) < 0) {
		r = r == -ENOMEM ? r : -EINVAL;
		goto out;
	}
	if ((r = write_atomic(state_dir, b.data, b.len)) < 0)
		goto out;
	free(s->rec);
	s->rec = next;
	s->n = n;
	next = NULL;
out:
	free(check.rec);
	free(next);
	buf_free(&b);
	return r;
}

void cmdseq_free(struct cmdseq *s)
{
	if (!s)
		return;
	free(s->rec);
	free(s);
}
