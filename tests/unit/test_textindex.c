/* test_textindex.c — search.db end to end: content-keyed indexing, CJK,
 * phone numbers, latest vs all versions, deleted files, snippets, and a
 * 10,000-file timing (printed, not asserted). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "common/clock.h"
#include "server/search/indexer.h"
#include "server/search/textindex.h"

struct hits { int n; struct vg_hit h[16]; };

static int
collect(void *arg, const struct vg_hit *h)
{
	struct hits *r = arg;

	if (r->n < 16)
		r->h[r->n] = *h;
	r->n++;
	return 0;
}

static char dir[64];

static struct textindex *
open_ti(int country)
{
	struct textindex *ti;
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/vigil-ti-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(textindex_open(dir, country, &ti), 0);
	(void)cmd;
	return ti;
}

static void
close_ti(struct textindex *ti)
{
	char path[128];

	textindex_close(ti);
	snprintf(path, sizeof(path), "%s/search.db", dir); unlink(path);
	snprintf(path, sizeof(path), "%s/search.db-wal", dir); unlink(path);
	snprintf(path, sizeof(path), "%s/search.db-shm", dir); unlink(path);
	rmdir(dir);
}

/* Indexes text (NULL: a deleted version) as (dev, path, version). */
static void
put(struct textindex *ti, int64_t dev, const char *path, uint64_t version, const char *text)
{
	uint8_t key[32];
	struct ti_content *c;

	if (text == NULL) {
		assert_int_equal(textindex_add_version(ti, dev, path, version, (int64_t)version * 1000, NULL), 0);
		return;
	}
	SHA256((const uint8_t *)text, strlen(text), key);
	if (textindex_has_content(ti, key) == 0) {
		assert_int_equal(textindex_content_begin(ti, key, &c), 0);
		/* fed in small pieces, as extract does */
		for (size_t off = 0, n = strlen(text); off < n; off += 1000)
			assert_int_equal(textindex_content_text(c, text + off, n - off < 1000 ? n - off : 1000), 0);
		assert_int_equal(textindex_content_end(c, TI_TEXT, "text", NULL), 0);
	}
	assert_int_equal(textindex_add_version(ti, dev, path, version, (int64_t)version * 1000, key), 0);
}

static int
search(struct textindex *ti, int64_t dev, bool all, struct hits *r, int nw, ...)
{
	char *w[8];
	va_list ap;
	int i;

	va_start(ap, nw);
	for (i = 0; i < nw; i++)
		w[i] = va_arg(ap, char *);
	va_end(ap);
	memset(r, 0, sizeof(*r));
	int rc = textindex_search(ti, dev, w, (size_t)nw, all, collect, r);
	assert_true(rc >= 0);
	assert_int_equal(rc, r->n);
	return r->n;
}

/* A batch: versions become searchable at its end; a content that aborts
 * inside it rolls back alone, the others stay. */
static void
test_batch(void **state)
{
	struct textindex *ti = open_ti(86);
	const char *bad = "half written giraffe notes";
	struct ti_content *c;
	uint8_t key[32];
	struct hits r;

	assert_int_equal(textindex_batch_begin(ti), 0);
	put(ti, 1, "/n/zebra.txt", 1, "a zebra in the garden");
	SHA256((const uint8_t *)bad, strlen(bad), key);
	assert_int_equal(textindex_content_begin(ti, key, &c), 0);
	assert_int_equal(textindex_content_text(c, bad, strlen(bad)), 0);
	textindex_content_abort(c);
	assert_int_equal(textindex_has_content(ti, key), 0);
	put(ti, 1, "/n/okapi.txt", 1, "an okapi at the zoo");
	assert_int_equal(search(ti, 1, false, &r, 1, "zebra"), 0);   /* not yet committed */
	assert_int_equal(textindex_batch_end(ti), 0);
	assert_int_equal(search(ti, 1, false, &r, 1, "zebra"), 1);
	assert_int_equal(search(ti, 1, false, &r, 1, "okapi"), 1);
	assert_int_equal(search(ti, 1, false, &r, 1, "giraffe"), 0);
	assert_int_equal(textindex_batch_end(ti), 0);                /* no batch: no-op */
	close_ti(ti);
	(void)state;
}

static void
test_cjk(void **state)
{
	struct textindex *ti = open_ti(86);
	struct hits r;

	put(ti, 1, "/home/u/contacts.txt", 1, "通讯录：李张三丰，王五。Alice Smith");
	put(ti, 1, "/home/u/other.txt", 1, "张先生 三月");
	assert_int_equal(search(ti, 1, false, &r, 1, "张三"), 1);
	assert_string_equal(r.h[0].path, "/home/u/contacts.txt");
	assert_non_null(strstr(r.h[0].snippet, "张三"));
	assert_int_equal(search(ti, 1, false, &r, 1, "张三丰"), 1);
	assert_int_equal(search(ti, 1, false, &r, 1, "张"), 2);
	assert_int_equal(search(ti, 1, false, &r, 1, "三丰"), 1);
	assert_int_equal(search(ti, 1, false, &r, 1, "张丰"), 0);
	assert_int_equal(search(ti, 1, false, &r, 2, "张三", "ALICE"), 1);
	assert_int_equal(search(ti, 1, false, &r, 2, "张三", "bob"), 0);
	assert_int_equal(search(ti, 1, false, &r, 1, "ali"), 0);        /* whole words */
	assert_int_equal(search(ti, 2, false, &r, 1, "张三"), 0);        /* other device */
	assert_int_equal(search(ti, 1, false, &r, 1, "contacts"), 1);    /* path */
	assert_string_equal(r.h[0].snippet, "");
	assert_int_equal(search(ti, 1, false, &r, 1, "!!!"), 0);
	close_ti(ti);
}

static void
test_phones(void **state)
{
	struct textindex *ti = open_ti(86);
	struct hits r;
	static const char *forms[] = { "+86 138-0013-8000", "13800138000", "+8613800138000",
				       "138 0013 8000", "008613800138000", "(+86) 138 0013 8000" };
	size_t i;

	put(ti, 1, "/a.vcf", 1, "FN:Zhang San\nTEL:+86 138-0013-8000\n");
	put(ti, 1, "/b.txt", 1, "call 13800138000 tomorrow");
	put(ti, 1, "/c.txt", 1, "call 13900139000 tomorrow");
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (search(ti, 1, false, &r, 1, forms[i]) != 2)
			fail_msg("%s: %d hits", forms[i], r.n);
		assert_string_equal(r.h[0].path, "/a.vcf");
		assert_non_null(strstr(r.h[1].snippet, "13800138000"));
	}
	close_ti(ti);

	ti = open_ti(44);
	put(ti, 1, "/uk.txt", 1, "Ring Bob on 07700 900123 after six");
	put(ti, 1, "/uk2.csv", 1, "Bob,+44 (0)7700 900123");
	assert_int_equal(search(ti, 1, false, &r, 1, "+44 7700 900123"), 2);
	assert_int_equal(search(ti, 1, false, &r, 1, "07700900123"), 2);
	assert_int_equal(search(ti, 1, false, &r, 1, "+447700900123"), 2);
	assert_int_equal(search(ti, 1, false, &r, 2, "+447700900123", "six"), 1);
	assert_int_equal(search(ti, 1, false, &r, 1, "07700 900124"), 0);
	close_ti(ti);
}

static void
test_versions(void **state)
{
	struct textindex *ti = open_ti(86);
	struct ti_stats s;
	struct hits r;

	put(ti, 1, "/c.vcf", 1, "Wang Wu 13800138000");
	put(ti, 1, "/c.vcf", 2, "Wang Wu 13800138000\nLi Si");
	put(ti, 1, "/c.vcf", 3, "Li Si");                 /* Wang Wu removed */
	put(ti, 1, "/gone.txt", 1, "secret plan");
	put(ti, 1, "/gone.txt", 2, NULL);                 /* deleted */
	put(ti, 1, "/same.txt", 1, "Li Si");              /* same content as /c.vcf v3 */
	assert_int_equal(search(ti, 1, false, &r, 1, "wang"), 0);
	assert_int_equal(search(ti, 1, true, &r, 1, "wang"), 2);
	assert_int_equal(r.h[0].version, 1);
	assert_int_equal(r.h[1].version, 2);
	assert_int_equal(r.h[1].time_ns, 2000);
	assert_int_equal(search(ti, 1, false, &r, 1, "secret"), 0);
	assert_int_equal(search(ti, 1, true, &r, 1, "secret"), 1);
	assert_string_equal(r.h[0].path, "/gone.txt");
	assert_int_equal(r.h[0].version, 1);
	assert_non_null(strstr(r.h[0].snippet, "secret plan"));
	assert_int_equal(search(ti, 1, false, &r, 2, "li", "si"), 2);
	assert_int_equal(search(ti, 1, false, &r, 1, "nothing-here"), 0);
	assert_int_equal(textindex_stats(ti, 1, &s), 0);
	assert_int_equal(s.versions, 6);
	assert_int_equal(s.files, 3);
	assert_int_equal(s.contents, 4);        /* "Li Si" stored once */
	assert_int_equal(textindex_stats(ti, 7, &s), 0);
	assert_int_equal(s.versions, 0);
	assert_int_equal(s.files, 0);
	close_ti(ti);
}

/* Retention dropped some versions: textindex_prune deletes their rows and
 * the contents and pieces (text) only they referred to; what a kept
 * version refers to stays, and a dropped content indexed again comes back. */
struct gone { const char *path; uint64_t version; };

static int
still_there(void *arg, int64_t dev, const char *path, uint64_t version)
{
	for (const struct gone *g = arg; g->path != NULL; g++)
		if (!strcmp(g->path, path) && g->version == version)
			return 0;
	return 1;
}

static void
test_prune(void **state)
{
	static const struct gone gone[] = {
		{ "/c.vcf", 1 }, { "/c.vcf", 2 }, { "/gone.txt", 1 }, { "/gone.txt", 2 },
		{ NULL, 0 },
	};
	const char *wang = "Wang Wu 13800138000";
	struct textindex *ti = open_ti(86);
	struct ti_stats before, after;
	uint8_t key[32];
	struct hits r;

	put(ti, 1, "/c.vcf", 1, wang);
	put(ti, 1, "/c.vcf", 2, "Wang Wu 13800138000\nLi Si");
	put(ti, 1, "/c.vcf", 3, "Li Si");
	put(ti, 1, "/gone.txt", 1, "secret plan");
	put(ti, 1, "/gone.txt", 2, NULL);
	put(ti, 1, "/same.txt", 1, "Li Si");
	put(ti, 2, "/other.txt", 1, "an okapi");
	assert_int_equal(textindex_stats(ti, -1, &before), 0);
	assert_int_equal(before.contents, 5);

	assert_int_equal(textindex_prune(ti, still_there, (void *)gone, NULL), 4);
	assert_int_equal(textindex_stats(ti, -1, &after), 0);
	assert_int_equal(after.versions, 3);
	assert_int_equal(after.contents, 2);    /* "Li Si" (two versions), the okapi */
	/* three contents of one piece each and the path /gone.txt went */
	assert_int_equal(after.pieces, before.pieces - 4);
	assert_int_equal(search(ti, 1, true, &r, 1, "wang"), 0);
	assert_int_equal(search(ti, 1, true, &r, 1, "secret"), 0);
	assert_int_equal(search(ti, 1, false, &r, 2, "li", "si"), 2);
	assert_int_equal(search(ti, 2, false, &r, 1, "okapi"), 1);
	assert_int_equal(textindex_prune(ti, still_there, (void *)gone, NULL), 0);

	/* a content collected between the indexer's has_content and its
	 * add_version: ENOENT, which ix_process answers by indexing it again */
	SHA256((const uint8_t *)"Li Si", 5, key);
	assert_int_equal(textindex_has_content(ti, key), 1);
	SHA256((const uint8_t *)wang, strlen(wang), key);
	assert_int_equal(textindex_has_content(ti, key), 0);
	assert_int_equal(textindex_add_version(ti, 1, "/c.vcf", 4, 4000, key), -ENOENT);
	put(ti, 1, "/c.vcf", 4, wang);          /* the same text again */
	assert_int_equal(search(ti, 1, false, &r, 1, "wang"), 1);
	assert_int_equal(r.h[0].version, 4);
	close_ti(ti);
	(void)state;
}

/* Words far apart in a large text (in different pieces), snippets around
 * a match deep inside, and a new version costing only its changed pieces. */
static void
test_large(void **state)
{
	struct textindex *ti = open_ti(86);
	struct ti_stats s1, s2;
	struct hits r;
	size_t n = 400000, i;
	char *t = malloc(n + 1), *p;

	for (i = 0, p = t; i < n / 40; i++)
		p += snprintf(p, n + 1 - (size_t)(p - t), "row %06zu filler text message here\n", i);
	memcpy(t + 300000, " zebra ", 7);
	memcpy(t + 20, " yak ", 5);
	put(ti, 1, "/big.db", 1, t);
	assert_int_equal(search(ti, 1, false, &r, 2, "zebra", "yak"), 1);
	assert_true(strlen(r.h[0].snippet) <= 200);
	assert_non_null(strstr(r.h[0].snippet, "zebra"));
	assert_int_equal(textindex_stats(ti, -1, &s1), 0);
	memcpy(t + 200000, " llama ", 7);
	put(ti, 1, "/big.db", 2, t);
	assert_int_equal(textindex_stats(ti, -1, &s2), 0);
	printf("# pieces: %llu for v1, +%llu for v2\n", (unsigned long long)s1.pieces,
	       (unsigned long long)(s2.pieces - s1.pieces));
	assert_true(s2.pieces - s1.pieces <= 3);
	assert_int_equal(search(ti, 1, false, &r, 1, "llama"), 1);
	assert_int_equal(r.h[0].version, 2);
	assert_non_null(strstr(r.h[0].snippet, "llama"));
	free(t);
	close_ti(ti);
}

static void
test_bench_10000(void **state)
{
	static const char *names[] = { "Zhang", "Wang", "Li", "Zhao", "Smith", "Jones", "张三",
				       "李四", "Müller", "Ольга" };
	struct textindex *ti = open_ti(86);
	char text[512], path[64];
	struct hits r;
	double t0, t1;
	int i;

	t0 = mono_ns() / 1e9;
	for (i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "/home/u/f%05d.txt", i);
		snprintf(text, sizeof(text), "contact %d %s %s phone +86 139%08d note %d lorem ipsum"
			 " dolor sit amet", i, names[i % 10], names[(i / 10) % 10], i, i * 7);
		put(ti, 1, path, 1, text);
	}
	t1 = mono_ns() / 1e9;
	printf("# indexed 10000 files in %.2f s\n", t1 - t0);
	t0 = mono_ns() / 1e9;
	assert_int_equal(search(ti, 1, false, &r, 1, "+86 139 0000 4242"), 1);
	t1 = mono_ns() / 1e9;
	printf("# search phone: %.1f ms\n", (t1 - t0) * 1e3);
	t0 = mono_ns() / 1e9;
	assert_int_equal(search(ti, 1, false, &r, 2, "张三", "smith"), 200);
	t1 = mono_ns() / 1e9;
	printf("# search 张三 smith (200 hits): %.1f ms\n", (t1 - t0) * 1e3);
	t0 = mono_ns() / 1e9;
	assert_int_equal(search(ti, 1, false, &r, 1, "lorem"), 10000);
	t1 = mono_ns() / 1e9;
	printf("# search lorem (10000 hits): %.1f ms\n", (t1 - t0) * 1e3);
	close_ti(ti);
}

/* ---- the indexer, with contents served from memory ---- */

#define NTEXT 3000
struct corpus { char *text[NTEXT + 2]; uint8_t root[NTEXT + 2][32]; };

static ssize_t
mem_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	const char *t = arg;
	size_t len = strlen(t);

	if (off >= len)
		return 0;
	if (n > len - off)
		n = len - off;
	memcpy(buf, t + off, n);
	return (ssize_t)n;
}

static int
mem_open(void *arg, int64_t dev, const struct content_ref *ref, struct ex_source *src)
{
	struct corpus *c = arg;
	int i;

	for (i = 0; i < NTEXT + 2; i++)
		if (memcmp(c->root[i], ref->root, 32) == 0) {
			src->arg = c->text[i];
			src->size = strlen(c->text[i]);
			src->pread = mem_pread;
			return 0;
		}
	return -ENOENT;
}

/* NTEXT texts "<word> I about <thing>I" with their keys, served by mem_open. */
static struct corpus *
corpus_new(const char *word, const char *thing)
{
	struct corpus *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	for (int i = 0; i < NTEXT; i++) {
		assert_true(asprintf(&c->text[i], "%s %d about %s%d", word, i, thing, i) > 0);
		SHA256((uint8_t *)c->text[i], strlen(c->text[i]), c->root[i]);
	}
	return c;
}

static void
test_indexer(void **state)
{
	struct textindex *ti = open_ti(86);
	struct indexer_ops ops = { 0 };
	struct corpus *c = corpus_new("note", "item");
	struct content_ref ref;
	struct indexer *ix;
	struct ti_stats s;
	struct hits r;
	char path[64];
	int i;

	c->text[NTEXT] = strdup("BEGIN:VCARD\nN;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0=E4=B8=89\n"
				"TEL:+86 138 0013 8000\nEND:VCARD\n");
	SHA256((uint8_t *)c->text[NTEXT], strlen(c->text[NTEXT]), c->root[NTEXT]);
	c->text[NTEXT + 1] = strdup("BEGIN:VCARD\nbroken");
	SHA256((uint8_t *)c->text[NTEXT + 1], strlen(c->text[NTEXT + 1]), c->root[NTEXT + 1]);
	ops.arg = c;
	ops.open = mem_open;
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	for (i = 0; i < NTEXT + 2; i++) {
		snprintf(path, sizeof(path), i < NTEXT ? "/n/%d.txt" : "/c/%d.vcf", i);
		memcpy(ref.root, c->root[i], 32);
		ref.size = strlen(c->text[i]);
		assert_int_equal(indexer_enqueue(ix, 1, path, 1, 1000, &ref), 0);
	}
	assert_int_equal(indexer_enqueue(ix, 1, "/n/5.txt", 2, 2000, NULL), 0);   /* deleted */
	assert_int_equal(indexer_wait_idle(ix, 120000), 0);
	assert_int_equal(search(ti, 1, false, &r, 1, "item2999"), 1);
	assert_int_equal(search(ti, 1, false, &r, 1, "item5"), 0);
	assert_int_equal(search(ti, 1, true, &r, 1, "item5"), 1);
	assert_int_equal(search(ti, 1, false, &r, 2, "张三", "13800138000"), 1);
	assert_string_equal(r.h[0].path, "/c/3000.vcf");
	assert_int_equal(search(ti, 1, false, &r, 1, "broken"), 1);
	assert_int_equal(textindex_stats(ti, 1, &s), 0);
	assert_int_equal(s.versions, NTEXT + 3);
	assert_int_equal(s.malformed, 1);
	assert_int_equal(s.pending, 0);
	/* stopped with work queued: saved, then done by the next indexer */
	indexer_free(ix);
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	indexer_free(ix);
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	memcpy(ref.root, c->root[7], 32);
	assert_int_equal(indexer_enqueue(ix, 2, "/other/x.txt", 1, 5, &ref), 0);
	indexer_free(ix);
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	assert_int_equal(indexer_wait_idle(ix, 10000), 0);
	assert_int_equal(search(ti, 2, false, &r, 1, "item7"), 1);
	indexer_free(ix);
	for (i = 0; i < NTEXT + 2; i++)
		free(c->text[i]);
	free(c);
	close_ti(ti);
}

/* More than the queue holds: the rest goes to the pending table; items
 * still queued at a stop go there too; the next indexer drains the table
 * in groups, each row marked done once its group is committed. */
#define NOVER (INDEXER_QUEUE_MAX + 500)
static void
test_indexer_pending(void **state)
{
	struct corpus *c = corpus_new("memo", "thing");
	struct indexer_ops ops = { .arg = c, .open = mem_open };
	struct textindex *ti = open_ti(86);
	struct indexer *ix;
	struct ti_stats s;
	struct hits r;
	int i;


	setenv("VIGIL_TEST_INDEXER_HOLD", "1", 1);
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	for (i = 0; i < NOVER; i++) {   /* contents repeat past NTEXT: one row each */
		struct content_ref ref = { .size = strlen(c->text[i % NTEXT]) };
		char path[64];

		snprintf(path, sizeof(path), "/p/%d.txt", i);
		memcpy(ref.root, c->root[i % NTEXT], 32);
		assert_int_equal(indexer_enqueue(ix, 1, path, 1, 1000 + i, &ref), 0);
	}
	assert_int_equal(textindex_stats(ti, 1, &s), 0);
	assert_int_equal(s.pending, NOVER - INDEXER_QUEUE_MAX);
	assert_int_equal(indexer_free(ix), 0);
	assert_int_equal(textindex_stats(ti, 1, &s), 0);
	assert_int_equal(s.pending, NOVER);
	assert_int_equal(s.versions, 0);
	unsetenv("VIGIL_TEST_INDEXER_HOLD");
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	assert_int_equal(indexer_wait_idle(ix, 120000), 0);
	assert_int_equal(textindex_stats(ti, 1, &s), 0);
	assert_int_equal(s.pending, 0);
	assert_int_equal(s.versions, NOVER);
	assert_int_equal(s.contents, NTEXT);
	assert_int_equal(search(ti, 1, false, &r, 1, "thing2999"), 1);
	assert_string_equal(r.h[0].path, "/p/2999.txt");
	assert_int_equal(search(ti, 1, false, &r, 1, "thing7"), 2);   /* /p/7 and its repeat */
	indexer_free(ix);
	for (i = 0; i < NTEXT; i++)
		free(c->text[i]);
	free(c);
	close_ti(ti);
}

/* Small files in groups: the ones whose bytes came with the commit are
 * never read back (ops.open), every new small content goes through
 * extract_batch exactly once (a copy of one under another path, and a
 * deleted version, not at all), and every file is found. */
struct grp { struct corpus *c; int opens, batched, calls; };

static int
grp_open(void *arg, int64_t dev, const struct content_ref *ref, struct ex_source *src)
{
	struct grp *g = arg;

	g->opens++;
	return mem_open(g->c, dev, ref, src);
}

static int
grp_extract(void *arg, struct ex_item *items, size_t n, const struct ex_limits *lim)
{
	struct grp *g = arg;
	struct ex_mem m;

	g->calls++;
	for (size_t i = 0; i < n; i++) {
		struct ex_source src = ex_source_mem(&m, items[i].bytes, items[i].size);

		items[i].rc = extract(items[i].path, &src, lim, items[i].emit, items[i].arg,
				      &items[i].res);
		g->batched++;
	}
	return 0;
}

static void
test_indexer_group(void **state)
{
	enum { N = 100 };
	struct textindex *ti = open_ti(86);
	struct corpus *c = calloc(1, sizeof(*c));
	struct grp g = { .c = c };
	struct indexer_ops ops = { .arg = &g, .open = grp_open, .xarg = &g,
				   .extract_batch = grp_extract };
	struct content_ref ref;
	struct indexer *ix;
	struct hits r;
	char path[64], word[32];
	uint8_t *bytes;

	for (int i = 0; i < NTEXT + 2; i++) {
		assert_true(asprintf(&c->text[i], "group note %d about thing%d", i, i) > 0);
		SHA256((uint8_t *)c->text[i], strlen(c->text[i]), c->root[i]);
	}
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/g/%d.txt", i);
		memcpy(ref.root, c->root[i], 32);
		ref.size = strlen(c->text[i]);
		bytes = NULL;
		if (i % 2 == 0) {   /* the even ones come with their bytes */
			assert_non_null(bytes = malloc(ref.size));
			memcpy(bytes, c->text[i], ref.size);
		}
		assert_int_equal(indexer_enqueue_bytes(ix, 1, path, 1, 1000, &ref, bytes), 0);
		free(bytes);   /* copied */
	}
	memcpy(ref.root, c->root[3], 32);   /* a copy of /g/3.txt */
	ref.size = strlen(c->text[3]);
	assert_int_equal(indexer_enqueue(ix, 1, "/g/copy.txt", 1, 1000, &ref), 0);
	assert_int_equal(indexer_enqueue(ix, 1, "/g/5.txt", 2, 2000, NULL), 0);   /* deleted */
	assert_int_equal(indexer_wait_idle(ix, 60000), 0);
	assert_int_equal(g.opens, N / 2);
	assert_int_equal(g.batched, N);
	for (int i = 0; i < N; i++) {
		snprintf(word, sizeof(word), "thing%d", i);
		if (search(ti, 1, false, &r, 1, word) != (i == 5 ? 0 : i == 3 ? 2 : 1))
			fail_msg("%s: %d hits", word, r.n);
	}
	indexer_free(ix);
	for (int i = 0; i < NTEXT + 2; i++)
		free(c->text[i]);
	free(c);
	close_ti(ti);
}

/* A big content (here: over 10 bytes) is indexed once its path rests:
 * versions superseded before are indexed by path only, their text never
 * read; the one that rests is indexed in full (here at the next start,
 * from the pending table the stopped indexer saved it to, and then with
 * a quiet period of 0). */
static void
test_indexer_rest(void **state)
{
	struct textindex *ti = open_ti(86);
	struct indexer_ops ops = { 0 };
	struct corpus *c = calloc(1, sizeof(*c));
	static const char *texts[] = { "alpha version one", "bravo version two",
				       "charlie version three", "delta small" };
	struct content_ref ref;
	struct indexer *ix;
	struct ti_stats s;
	struct hits r;

	for (int i = 0; i < 4; i++) {
		c->text[i] = strdup(texts[i]);
		SHA256((uint8_t *)c->text[i], strlen(c->text[i]), c->root[i]);
	}
	for (int i = 4; i < NTEXT + 2; i++)
		c->text[i] = strdup("");
	ops.arg = c;
	ops.open = mem_open;
	setenv("VIGIL_TEST_INDEXER_BIG", "12", 1);
	setenv("VIGIL_TEST_INDEXER_QUIET_MS", "3600000", 1);
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	for (int i = 0; i < 3; i++) {   /* three versions of one big file */
		memcpy(ref.root, c->root[i], 32);
		ref.size = strlen(c->text[i]);
		assert_int_equal(indexer_enqueue(ix, 1, "/big.txt", (uint64_t)i + 1, 100 + i, &ref), 0);
	}
	memcpy(ref.root, c->root[3], 32);   /* a small file: indexed at once */
	ref.size = strlen(c->text[3]);
	assert_int_equal(indexer_enqueue(ix, 1, "/small.txt", 1, 200, &ref), 0);
	assert_int_equal(indexer_wait_idle(ix, 10000), 0);
	assert_int_equal(search(ti, 1, true, &r, 1, "delta"), 1);
	assert_int_equal(search(ti, 1, true, &r, 1, "alpha"), 0);     /* superseded */
	assert_int_equal(search(ti, 1, true, &r, 1, "bravo"), 0);
	assert_int_equal(search(ti, 1, true, &r, 1, "charlie"), 0);   /* still resting */
	assert_int_equal(search(ti, 1, true, &r, 1, "big"), 2);       /* by path */
	indexer_free(ix);
	setenv("VIGIL_TEST_INDEXER_QUIET_MS", "0", 1);
	assert_int_equal(indexer_new(ti, NULL, &ops, &ix), 0);
	assert_int_equal(indexer_wait_idle(ix, 10000), 0);
	assert_int_equal(search(ti, 1, false, &r, 1, "charlie"), 1);
	assert_string_equal(r.h[0].path, "/big.txt");
	assert_int_equal(search(ti, 1, true, &r, 1, "alpha"), 0);
	assert_int_equal(textindex_stats(ti, 1, &s), 0);
	assert_int_equal(s.versions, 4);
	assert_int_equal(s.pending, 0);
	indexer_free(ix);
	unsetenv("VIGIL_TEST_INDEXER_BIG");
	unsetenv("VIGIL_TEST_INDEXER_QUIET_MS");
	for (int i = 0; i < NTEXT + 2; i++)
		free(c->text[i]);
	free(c);
	close_ti(ti);
}

/* Through a real store: vbuild writes a version, the indexer reads it
 * back with a vreader. */
static int
test_key(void *arg, int64_t dev, struct devkey *out)
{
	memset(out->k, 0x42, sizeof(out->k));
	return dev == 1 ? 0 : -ENOENT;
}

static void
test_indexer_store(void **state)
{
	struct textindex *ti = open_ti(86);
	struct indexer_ops ops = { .devkey = test_key };
	struct content_ref ref, ref2;
	struct devkey key;
	struct vbuild *vb;
	struct store *st;
	struct indexer *ix;
	struct ti_stats s;
	struct hits r;
	char sdir[128], cmd[200];
	size_t i;

	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	assert_int_equal(store_open(sdir, &st), 0);
	memset(key.k, 0x42, sizeof(key.k));
	assert_int_equal(vbuild_new(st, &key, &vb), 0);
	assert_int_equal(vbuild_write(vb, "BEGIN:VCARD\nFN:Zhao Liu\n", 24), 0);
	for (i = 0; i < 20000; i++)   /* ~600 KiB: many chunks */
		assert_int_equal(vbuild_write(vb, "NOTE:filler line of text\n", 25), 0);
	assert_int_equal(vbuild_write(vb, "TEL:+86 138 0013 8000\nEND:VCARD\n", 32), 0);
	assert_int_equal(vbuild_finish(vb, &ref), 0);
	vbuild_free(vb);
	assert_int_equal(indexer_new(ti, st, &ops, &ix), 0);
	assert_int_equal(indexer_enqueue(ix, 1, "/sim/phonebook.vcf", 1, 10, &ref), 0);
	assert_int_equal(indexer_enqueue(ix, 1, "/sim/copy.vcf", 1, 11, &ref), 0);
	ref2 = ref;
	ref2.root[0] ^= 1;   /* not in the store: indexed by path, counted */
	assert_int_equal(indexer_enqueue(ix, 1, "/sim/lost.vcf", 1, 12, &ref2), 0);
	assert_int_equal(indexer_wait_idle(ix, 60000), 0);
	assert_int_equal(search(ti, 1, false, &r, 2, "zhao", "13800138000"), 2);
	assert_non_null(strstr(r.h[0].snippet, "Zhao Liu"));
	assert_int_equal(search(ti, 1, false, &r, 1, "+8613800138000"), 2);
	assert_non_null(strstr(r.h[0].snippet, "+86 138 0013 8000"));
	assert_int_equal(search(ti, 1, false, &r, 1, "lost"), 1);
	assert_int_equal(textindex_stats(ti, 1, &s), 0);
	assert_int_equal(s.versions, 3);
	assert_int_equal(s.malformed, 1);
	indexer_free(ix);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
	assert_int_equal(system(cmd), 0);
	close_ti(ti);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cjk),
		cmocka_unit_test(test_phones),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_indexer),
		cmocka_unit_test(test_indexer_pending),
		cmocka_unit_test(test_indexer_rest),
		cmocka_unit_test(test_indexer_group),
		cmocka_unit_test(test_indexer_store),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_bench_10000),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
