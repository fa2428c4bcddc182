/* exproc_job.c — files through the extractor child (exproc.h): a JOB and
 * the child's READs served from the source, or a BATCH of small files
 * carried whole; the child's TEXT checked and passed on, its DONE checked;
 * a failure of the child ends in a malformed result, never in an error. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "server/search/exproc_int.h"

struct job {
	struct exproc *ep;
	const struct ex_source *src;
	struct ex_limits lim;
	ex_emit_fn emit;
	void *arg;
	int64_t deadline;
	uint64_t out;        /* text bytes passed on */
	int err;             /* the source's or emit's error: the job is cancelled */
	int rc;              /* extract()'s value in the child */
	uint64_t index;      /* the item a DONE must name (0 for a JOB) */
	bool batch;          /* a BATCH: the child has every byte, no READ */
	uint8_t data[EXW_DATA_MAX];
};

/* Well-formed UTF-8 without NUL: what extract() emits, checked again. */
static bool text_ok(const uint8_t *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		uint8_t c = p[i];

		k = c == 0 ? 0 : c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
		if (k == 0 || i + k > n)
			return false;
		for (size_t j = 1; j < k; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
		i += k;
	}
	return true;
}

static int serve_read(struct job *j, const struct exw_hdr *h)
{
	ssize_t n;

	if (j->batch || h->len != 0 || h->a < 0 || h->b > EXW_DATA_MAX)
		return -EPROTO;
	if (j->err != 0)
		n = -ECANCELED;
	else if ((uint64_t)h->a >= j->src->size)
		n = 0;
	else if ((n = j->src->pread(j->src->arg, j->data, h->b, (uint64_t)h->a)) < 0)
		j->err = (int)n;
	return exproc_send(j->ep, j->deadline, EXW_DATA, n, j->data, n > 0 ? (size_t)n : 0);
}

static int take_text(struct job *j, const struct exw_hdr *h)
{
	const uint8_t *p = j->ep->buf + sizeof(*h);
	int r;

	if (h->len == 0 || h->len > EX_PIECE_MAX || !text_ok(p, h->len) ||
	    (j->out += h->len) > j->lim.max_out + EX_PIECE_MAX)
		return -EPROTO;
	if (j->err == 0 && (r = j->emit(j->arg, (const char *)p, h->len)) != 0)
		j->err = r;
	return 0;
}

static int take_done(struct job *j, const struct exw_hdr *h, struct ex_result *res)
{
	struct exw_done d;

	if (h->len != sizeof(d) || h->a > 0 || h->a < -4095 || h->b != j->index)
		return -EPROTO;
	memcpy(&d, j->ep->buf + sizeof(*h), sizeof(d));
	if (d.kind > EX_SQLITE)
		return -EPROTO;
	d.reason[sizeof(d.reason) - 1] = '\0';
	j->rc = (int)h->a;
	res->kind = d.kind;
	res->malformed = d.malformed != 0;
	res->truncated = d.truncated != 0;
	snprintf(res->reason, sizeof(res->reason), "%s", d.reason);
	res->out_bytes = j->out;
	return 1;
}

/* The exchange after the JOB: 1 at DONE, or -errno when the child failed. */
static int converse(struct job *j, struct ex_result *res)
{
	struct exw_hdr h;
	int r;

	for (;;) {
		if ((r = exproc_recv(j->ep, j->deadline, &h)) < 0)
			return r;
		switch (h.type) {
		case EXW_READ: r = serve_read(j, &h); break;
		case EXW_TEXT: r = take_text(j, &h); break;
		case EXW_DONE: return take_done(j, &h, res);
		default:       r = -EPROTO; break;
		}
		if (r < 0)
			return r;
	}
}

static int send_job(struct job *j, const char *path)
{
	struct exw_job job;
	size_t n = path ? strlen(path) : 0;

	memset(&job, 0, sizeof(job));
	job.max_out = j->lim.max_out;
	job.sqlite_max_size = j->lim.sqlite_max_size;
	job.sqlite_budget_ms = j->lim.sqlite_budget_ms;
	job.sqlite_cache_kib = j->lim.sqlite_cache_kib;
	/* the path helps only by its extension: keep the end of a long one */
	if (n >= sizeof(job.path))
		path += n - (sizeof(job.path) - 1);
	if (path != NULL)
		snprintf(job.path, sizeof(job.path), "%s", path);
	job.path_len = (uint32_t)strlen(job.path);
	return exproc_send(j->ep, j->deadline, EXW_JOB, (int64_t)j->src->size, &job, sizeof(job));
}

static int64_t file_deadline(const struct exproc *ep, uint64_t size)
{
	if (ep->file_ms > 0)
		return mono_ms() + ep->file_ms;
	return mono_ms() + EXPROC_BASE_MS + (int64_t)(size / EXPROC_RATE) * 1000;
}

static void failed(struct exproc *ep, int r, struct ex_result *res)
{
	const char *why = r == -ETIMEDOUT ? "timed out" : r == -EPROTO ? "broke the protocol" :
			  "crashed";

	exproc_child_kill(ep, why, res->reason, sizeof(res->reason));
	res->malformed = true;
}

int exproc_extract(void *arg, const char *path, const struct ex_source *src,
		   const struct ex_limits *lim, ex_emit_fn emit, void *earg,
		   struct ex_result *res)
{
	struct exproc *ep = arg;
	struct job *j = calloc(1, sizeof(*j));   /* 64 KiB: not on the worker's stack */
	int r;

	memset(res, 0, sizeof(*res));
	res->kind = EX_TEXT;   /* until the child says: a failure is counted as unparsed */
	if (j == NULL)
		return -ENOMEM;
	j->ep = ep;
	j->src = src;
	j->emit = emit;
	j->arg = earg;
	if (lim != NULL)
		j->lim = *lim;
	else
		ex_limits_default(&j->lim);
	if ((r = exproc_child_ready(ep)) < 0) {
		snprintf(res->reason, sizeof(res->reason), "extractor unavailable: %s", strerror(-r));
		res->malformed = true;
		r = 0;
	} else {
		j->deadline = file_deadline(ep, src->size);
		if ((r = send_job(j, path)) < 0 || (r = converse(j, res)) < 0)
			failed(ep, r, res);
		else
			ep->fails = 0;
		r = j->err != 0 ? j->err : r > 0 ? j->rc : 0;
	}
	free(j);
	return r;
}

/* items[0..n) into one BATCH in j->data, as many as fit (stopping before
 * one too big to travel whole): their count; *len the payload's bytes. */
static size_t batch_fill(struct job *j, const struct ex_item *items, size_t n, size_t *len)
{
	struct exw_batch b = { .max_out = j->lim.max_out, .sqlite_max_size = j->lim.sqlite_max_size,
			       .sqlite_cache_kib = j->lim.sqlite_cache_kib,
			       .sqlite_budget_ms = j->lim.sqlite_budget_ms };
	struct exw_item it;
	size_t off = sizeof(b), k, pl;
	const char *path;

	memcpy(j->data, &b, sizeof(b));
	for (k = 0; k < n && k < EXW_BATCH_ITEMS && items[k].size <= EXW_ITEM_MAX; k++) {
		path = items[k].path ? items[k].path : "";
		/* the path helps only by its extension: keep the end of a long one */
		if ((pl = strlen(path)) >= EXW_PATH_MAX) {
			path += pl - (EXW_PATH_MAX - 1);
			pl = EXW_PATH_MAX - 1;
		}
		if (EXW_DATA_MAX - off < sizeof(it) + pl + items[k].size)
			break;
		it.size = (uint32_t)items[k].size;
		it.path_len = (uint32_t)pl;
		memcpy(j->data + off, &it, sizeof(it));
		memcpy(j->data + off + sizeof(it), path, pl);
		memcpy(j->data + off + sizeof(it) + pl, items[k].bytes, items[k].size);
		off += sizeof(it) + pl + items[k].size;
	}
	*len = off;
	return k;
}

/* One BATCH of items[0..n) (items[0] fits): *done is set to the items
 * answered; 0, or the child's failure on items[*done]. */
static int batch_round(struct job *j, struct ex_item *items, size_t n, size_t *done)
{
	size_t len, m = batch_fill(j, items, n, &len);
	int r;

	*done = 0;
	j->batch = true;
	j->err = 0;
	j->deadline = file_deadline(j->ep, items[0].size);
	if ((r = exproc_send(j->ep, j->deadline, EXW_BATCH, (int64_t)m, j->data, len)) < 0)
		return r;
	j->ep->st.batches++;
	for (size_t i = 0; i < m; i++) {
		/* each item has its own time limit, from when it is the child's */
		j->deadline = file_deadline(j->ep, items[i].size);
		j->index = i;
		j->emit = items[i].emit;
		j->arg = items[i].arg;
		j->out = 0;
		j->err = 0;
		j->rc = 0;
		if ((r = converse(j, &items[i].res)) < 0)
			return r;
		items[i].rc = j->err != 0 ? j->err : j->rc;
		j->ep->fails = 0;
		(*done)++;
	}
	return 0;
}

/* An item too big for a BATCH: alone, its bytes served to READs. */
static void one_whole(struct exproc *ep, struct ex_item *it, const struct ex_limits *lim);

int exproc_extract_batch(void *arg, struct ex_item *items, size_t n, const struct ex_limits *lim)
{
	struct exproc *ep = arg;
	struct job *j;
	size_t i = 0, k;
	int r;

	for (k = 0; k < n; k++) {
		memset(&items[k].res, 0, sizeof(items[k].res));
		items[k].res.kind = EX_TEXT;   /* a failure is counted as unparsed */
		items[k].rc = 0;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -ENOMEM;
	j->ep = ep;
	if (lim != NULL)
		j->lim = *lim;
	else
		ex_limits_default(&j->lim);
	while (i < n) {
		if (items[i].size > EXW_ITEM_MAX) {
			one_whole(ep, &items[i++], &j->lim);
		} else if ((r = exproc_child_ready(ep)) < 0) {
			snprintf(items[i].res.reason, sizeof(items[i].res.reason),
				 "extractor unavailable: %s", strerror(-r));
			items[i++].res.malformed = true;
		} else if ((r = batch_round(j, items + i, n - i, &k)) < 0) {
			i += k;
			failed(ep, r, &items[i].res);
			items[i++].rc = j->err;
		} else {
			i += k;
		}
	}
	free(j);
	return 0;
}

static void one_whole(struct exproc *ep, struct ex_item *it, const struct ex_limits *lim)
{
	struct ex_mem m;
	struct ex_source src = ex_source_mem(&m, it->bytes, it->size);

	it->rc = exproc_extract(ep, it->path, &src, lim, it->emit, it->arg, &it->res);
}
