/* exchild.c — the extractor child's loop (exchild.h): sandbox, HELLO, then
 * one extract() per JOB over a source that reads through the parent, or
 * one per item of a BATCH over the bytes it carries. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "server/search/exchild.h"
#include "server/search/exwire.h"
#include "server/search/sandbox.h"

struct child {
	int fd;
	uint8_t *in, *out;    /* EXW_MSG_MAX each */
};

static int send_msg(struct child *c, uint32_t type, int64_t a, uint64_t b, const void *p,
		    size_t len)
{
	struct exw_hdr h = { .type = type, .len = (uint32_t)len, .a = a, .b = b };
	ssize_t n;

	memcpy(c->out, &h, sizeof(h));
	if (len > 0)
		memcpy(c->out + sizeof(h), p, len);
	n = write(c->fd, c->out, sizeof(h) + len);
	return n == (ssize_t)(sizeof(h) + len) ? 0 : -EPIPE;
}

/* One packet into c->in: its header, or -EPIPE at the end. */
static int recv_msg(struct child *c, struct exw_hdr *h)
{
	ssize_t n = read(c->fd, c->in, EXW_MSG_MAX);

	if (n < (ssize_t)sizeof(*h))
		return -EPIPE;
	memcpy(h, c->in, sizeof(*h));
	return h->len == (size_t)n - sizeof(*h) ? 0 : -EPROTO;
}

static ssize_t rpc_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	struct child *c = arg;
	struct exw_hdr h;
	size_t done = 0, want;
	int r;

	while (done < n) {
		want = n - done < EXW_DATA_MAX ? n - done : EXW_DATA_MAX;
		if ((r = send_msg(c, EXW_READ, (int64_t)(off + done), want, NULL, 0)) < 0 ||
		    (r = recv_msg(c, &h)) < 0)
			return r;
		if (h.type != EXW_DATA || h.a > (int64_t)want || (h.a >= 0 && h.len != h.a))
			return -EPROTO;
		if (h.a < 0)
			return h.a;
		memcpy((uint8_t *)buf + done, c->in + sizeof(h), (size_t)h.a);
		done += (size_t)h.a;
		if ((size_t)h.a < want)
			break;
	}
	return (ssize_t)done;
}

static int emit_text(void *arg, const char *text, size_t len)
{
	return send_msg(arg, EXW_TEXT, 0, 0, text, len);
}

/* VIGIL_TEST_EXTRACT_HOOK: contents that crash or hang the child. */
static void test_hook(const struct ex_source *src)
{
	static const char crash[] = "VIGIL-TEST-CRASH", hang[] = "VIGIL-TEST-HANG";
	char head[32] = "";
	volatile int *volatile nowhere = NULL;

	if (getenv("VIGIL_TEST_EXTRACT_HOOK") == NULL ||
	    src->pread(src->arg, head, sizeof(head) - 1, 0) < 0)
		return;
	if (!strncmp(head, crash, sizeof(crash) - 1))
		*nowhere = 1;
	if (!strncmp(head, hang, sizeof(hang) - 1))
		for (;;)
			__asm__ volatile("");
}

/* One file: test hook, extract(), DONE with index as b. */
static int extract_one(struct child *c, const char *path, const struct ex_source *src,
		       const struct ex_limits *lim, uint64_t index)
{
	struct exw_done d;
	struct ex_result res;
	int rc;

	test_hook(src);
	rc = extract(path[0] ? path : NULL, src, lim, emit_text, c, &res);
	memset(&d, 0, sizeof(d));
	d.kind = res.kind;
	d.malformed = res.malformed;
	d.truncated = res.truncated;
	memcpy(d.reason, res.reason, sizeof(d.reason));
	d.out_bytes = res.out_bytes;
	return send_msg(c, EXW_DONE, rc, index, &d, sizeof(d));
}

static int run_job(struct child *c, const struct exw_hdr *h)
{
	struct exw_job job;
	struct ex_limits lim;
	struct ex_source src = { .arg = c, .size = (uint64_t)h->a, .pread = rpc_pread };

	if (h->len != sizeof(job) || h->a < 0)
		return -EPROTO;
	memcpy(&job, c->in + sizeof(*h), sizeof(job));
	job.path[sizeof(job.path) - 1] = '\0';
	lim.max_out = job.max_out;
	lim.sqlite_max_size = job.sqlite_max_size;
	lim.sqlite_budget_ms = job.sqlite_budget_ms;
	lim.sqlite_cache_kib = job.sqlite_cache_kib;
	return extract_one(c, job.path, &src, &lim, 0);
}

/* Every item of a BATCH, in order, from the bytes it carries. */
static int run_batch(struct child *c, const struct exw_hdr *h)
{
	const uint8_t *p = c->in + sizeof(*h), *bytes;
	struct exw_batch b;
	struct exw_item it;
	struct ex_limits lim;
	struct ex_mem m;
	struct ex_source src;
	char path[EXW_PATH_MAX];
	const char *pp;
	size_t off = sizeof(b);
	int r;

	if (h->len < sizeof(b) || h->a < 1 || h->a > EXW_BATCH_ITEMS)
		return -EPROTO;
	memcpy(&b, p, sizeof(b));
	lim.max_out = b.max_out;
	lim.sqlite_max_size = b.sqlite_max_size;
	lim.sqlite_budget_ms = b.sqlite_budget_ms;
	lim.sqlite_cache_kib = b.sqlite_cache_kib;
	for (int64_t i = 0; i < h->a; i++) {
		if (exw_batch_item(p, h->len, &off, &it, &pp, &bytes) < 0)
			return -EPROTO;
		memcpy(path, pp, it.path_len);
		path[it.path_len] = '\0';
		src = ex_source_mem(&m, bytes, it.size);
		if ((r = extract_one(c, path, &src, &lim, (uint64_t)i)) < 0)
			return r;
	}
	return off == h->len ? 0 : -EPROTO;
}

int exchild_main(void)
{
	struct child c = { .fd = EXW_FD };
	struct exw_hdr h;
	uint64_t held = 0;
	pid_t parent = getppid();
	int r, seed;

	c.in = malloc(EXW_MSG_MAX);
	c.out = malloc(EXW_MSG_MAX);
	if (c.in == NULL || c.out == NULL)
		return 1;
	/* what would open files later: SQLite's setup and its PRNG seed */
	if (sqlite3_initialize() != SQLITE_OK)
		return 1;
	sqlite3_randomness(sizeof(seed), &seed);
	r = sandbox_enter(c.fd, parent, &held);
	if (send_msg(&c, EXW_HELLO, r < 0 ? r : 0, held, NULL, 0) < 0 || r < 0)
		return 1;
	while (recv_msg(&c, &h) == 0) {
		if (h.type == EXW_JOB)
			r = run_job(&c, &h);
		else if (h.type == EXW_BATCH)
			r = run_batch(&c, &h);
		else
			r = -EPROTO;
		if (r < 0)
			return 1;
	}
	return 0;
}
