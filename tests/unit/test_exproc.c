/* test_exproc.c — extraction in the sandboxed child (exproc.h): the same
 * text as in-process extract() for text and SQLite; the child's uid,
 * no_new_privs and seccomp as /proc shows them; a crash, a hang and a
 * kill of the child each cost one file (malformed), never the next. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/buf.h"
#include "server/search/exproc.h"
#include "tests/unit/proc_status.h"

#ifndef VIGIL_SERVER_BIN
#define VIGIL_SERVER_BIN "build/bin/vigil-server"
#endif

static int collect(void *arg, const char *t, size_t n)
{
	return buf_append(arg, t, n);
}

/* Extracts p both ways: the in-process result into *r0 and *in, the
 * child's into *res and *out. */
static int both(struct exproc *ep, const char *path, const void *p, size_t n,
		const struct ex_limits *lim, struct buf *in, struct buf *out,
		struct ex_result *r0, struct ex_result *res)
{
	struct ex_mem m;
	struct ex_source src = ex_source_mem(&m, p, n);

	buf_init(in, 64u << 20);
	buf_init(out, 64u << 20);
	assert_int_equal(extract(path, &src, lim, collect, in, r0), 0);
	return exproc_extract(ep, path, &src, lim, collect, out, res);
}

/* The same text and the same verdict both ways. */
static void same_lim(struct exproc *ep, const char *path, const void *p, size_t n,
		     const struct ex_limits *lim)
{
	struct buf in, out;
	struct ex_result r0, res;

	assert_int_equal(both(ep, path, p, n, lim, &in, &out, &r0, &res), 0);
	if (res.malformed != r0.malformed)
		fail_msg("%s: %s", path, res.reason);
	assert_int_equal(res.kind, r0.kind);
	assert_int_equal(res.truncated, r0.truncated);
	assert_string_equal(res.reason, r0.reason);
	assert_int_equal(in.len, out.len);
	assert_memory_equal(in.data, out.data, in.len);
	buf_free(&in);
	buf_free(&out);
}

static void same(struct exproc *ep, const char *path, const void *p, size_t n)
{
	same_lim(ep, path, p, n, NULL);
}

static void *file_bytes(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	void *p;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	rewind(f);
	p = malloc(*n);
	assert_int_equal(fread(p, 1, *n, f), *n);
	fclose(f);
	return p;
}

/* A database of 20,000 rows, one of them holding "kumquat". */
static void *make_db(size_t *n)
{
	char path[] = "/tmp/test_exproc.XXXXXX";
	sqlite3 *db;
	void *p;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE sms(id INTEGER PRIMARY KEY, body TEXT);"
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 20000) "
		"INSERT INTO sms(body) SELECT 'routine message ' || x FROM c;"
		"INSERT INTO sms(body) VALUES ('the password is kumquat');", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	p = file_bytes(path, n);
	unlink(path);
	return p;
}

static void test_same_text(void **state)
{
	static const char vcf[] = "BEGIN:VCARD\r\nFN:Oliver Smith\r\nTEL:+44 7700 900123\r\nEND:VCARD\r\n";
	static const char xml[] = "<a href=\"x\">fish &amp; chips<!-- no --></a>";
	struct exproc *ep;
	size_t n;
	void *db = make_db(&n);

	assert_int_equal(exproc_new(VIGIL_SERVER_BIN, &ep), 0);
	same(ep, "c.vcf", vcf, sizeof(vcf) - 1);
	same(ep, "x.xml", xml, sizeof(xml) - 1);
	same(ep, "m.db", db, n);
	same(ep, "empty.txt", "", 0);
	exproc_free(ep);
	free(db);
}

/* A line "Name:\tvalue" of /proc/PID/status. */
static void test_sandboxed(void **state)
{
	struct exproc *ep;
	struct exproc_stats st;

	assert_int_equal(exproc_new(VIGIL_SERVER_BIN, &ep), 0);
	same(ep, "a.txt", "hello", 5);
	exproc_stats(ep, &st);
	assert_true(st.pid > 0);
	assert_true(status_field(st.pid, "Uid") > 0);
	assert_true(status_field(st.pid, "Gid") > 0);
	assert_int_equal(status_field(st.pid, "NoNewPrivs"), 1);
	assert_int_equal(status_field(st.pid, "Seccomp"), 2);
	exproc_free(ep);
}

/* A file the child fails on: malformed, counted, the next file fine. */
static void fails_once(struct exproc *ep, const char *content)
{
	struct buf in, out;
	struct ex_result r0, res;
	struct exproc_stats st0, st1;

	exproc_stats(ep, &st0);
	assert_int_equal(both(ep, "bad.txt", content, strlen(content), NULL, &in, &out, &r0, &res),
			 0);
	assert_true(res.malformed);
	assert_true(strstr(res.reason, "extractor") != NULL);
	exproc_stats(ep, &st1);
	assert_int_equal(st1.failed, st0.failed + 1);
	assert_int_equal(st1.pid, 0);
	buf_free(&in);
	buf_free(&out);
	same(ep, "good.txt", "after the failure", 17);
}

static void test_crash_hang_kill(void **state)
{
	struct exproc *ep;
	struct exproc_stats st;

	setenv("VIGIL_TEST_EXTRACT_HOOK", "1", 1);
	setenv("VIGIL_TEST_EXTRACT_MS", "1500", 1);
	assert_int_equal(exproc_new(VIGIL_SERVER_BIN, &ep), 0);
	unsetenv("VIGIL_TEST_EXTRACT_HOOK");
	unsetenv("VIGIL_TEST_EXTRACT_MS");
	same(ep, "first.txt", "first", 5);
	fails_once(ep, "VIGIL-TEST-CRASH and more");
	fails_once(ep, "VIGIL-TEST-HANG and more");
	/* killed while idle: the next file gets a new child, nothing is lost */
	exproc_stats(ep, &st);
	assert_int_equal(kill(st.pid, SIGKILL), 0);
	usleep(100000);
	same(ep, "next.txt", "next", 4);
	exproc_free(ep);
}

/* A batch: every item's text and verdict as in-process extract() gives
 * them, in one BATCH while they fit; a crash and a hang in the middle
 * cost those two items alone (each killed, the rest to a new child), and
 * an item too big to travel whole goes alone. */
static void test_batch(void **state)
{
	static const char *const texts[] = {
		"an alpaca and a marmoset", "VIGIL-TEST-CRASH wombat", "BEGIN:VCARD\r\nFN:Oliver Smith\r\nEND:VCARD\r\n",
		"VIGIL-TEST-HANG numbat", "<p>fish &amp; chips</p>", "", "\x00\x01" "binary\x00",
	};
	static const char *const names[] = { "a.txt", "crash.txt", "o.vcf", "hang.txt", "f.html",
					     "empty.txt", "b.bin", "m.db" };
	enum { N = 8, BAD1 = 1, BAD2 = 3 };
	struct ex_item items[N];
	struct buf in[N], out[N];
	struct ex_result want[N];
	struct exproc *ep;
	struct exproc_stats st;
	size_t dbn;
	void *db = make_db(&dbn);

	setenv("VIGIL_TEST_EXTRACT_HOOK", "1", 1);
	setenv("VIGIL_TEST_EXTRACT_MS", "1500", 1);
	assert_int_equal(exproc_new(VIGIL_SERVER_BIN, &ep), 0);
	unsetenv("VIGIL_TEST_EXTRACT_HOOK");
	unsetenv("VIGIL_TEST_EXTRACT_MS");
	for (int i = 0; i < N; i++) {
		struct ex_mem m;
		struct ex_source src;

		memset(&items[i], 0, sizeof(items[i]));
		items[i].path = names[i];
		items[i].bytes = i < N - 1 ? texts[i] : db;
		items[i].size = i == N - 2 ? 9 : i < N - 1 ? strlen(texts[i]) : dbn;
		items[i].emit = collect;
		items[i].arg = &out[i];
		buf_init(&in[i], 64u << 20);
		buf_init(&out[i], 64u << 20);
		src = ex_source_mem(&m, items[i].bytes, items[i].size);
		assert_int_equal(extract(names[i], &src, NULL, collect, &in[i], &want[i]), 0);
	}
	assert_int_equal(exproc_extract_batch(ep, items, N, NULL), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(items[i].rc, 0);
		if (i == BAD1 || i == BAD2) {
			assert_true(items[i].res.malformed);
			assert_true(strstr(items[i].res.reason, "extractor") != NULL);
			assert_int_equal(out[i].len, 0);
		} else {
			if (items[i].res.malformed != want[i].malformed)
				fail_msg("%s: %s", names[i], items[i].res.reason);
			assert_int_equal(items[i].res.kind, want[i].kind);
			assert_string_equal(items[i].res.reason, want[i].reason);
			assert_int_equal(in[i].len, out[i].len);
			assert_memory_equal(in[i].data, out[i].data, in[i].len);
		}
		buf_free(&in[i]);
		buf_free(&out[i]);
	}
	exproc_stats(ep, &st);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.started, 3);
	/* items 0-1, then 2-3 after the crash, then 4-6 after the hang; the
	 * database goes alone */
	assert_int_equal(st.batches, 3);
	exproc_free(ep);
	free(db);
}

/* Many small files: one BATCH per EXW_DATA_MAX of them, not a round trip
 * per file. */
static void test_batch_many(void **state)
{
	enum { N = 40 };
	static char text[N][4096];
	struct ex_item items[N];
	struct buf out[N];
	struct exproc *ep;
	struct exproc_stats st;
	char names[N][32];

	assert_int_equal(exproc_new(VIGIL_SERVER_BIN, &ep), 0);
	for (int i = 0; i < N; i++) {
		memset(text[i], 'a' + i % 26, sizeof(text[i]));
		text[i][sizeof(text[i]) - 1] = '\n';
		snprintf(names[i], sizeof(names[i]), "/d/f%d.txt", i);
		buf_init(&out[i], 1u << 20);
		items[i] = (struct ex_item){ .path = names[i], .bytes = text[i], .size = sizeof(text[i]),
					     .emit = collect, .arg = &out[i] };
	}
	assert_int_equal(exproc_extract_batch(ep, items, N, NULL), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(items[i].rc, 0);
		assert_false(items[i].res.malformed);
		assert_int_equal(out[i].len, sizeof(text[i]));
		assert_memory_equal(out[i].data, text[i], sizeof(text[i]));
		buf_free(&out[i]);
	}
	exproc_stats(ep, &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.failed, 0);
	/* 15 items of 4 KiB (and their headers) fit in 64 KiB */
	assert_int_equal(st.batches, (N + 14) / 15);
	exproc_free(ep);
}

/* The extract fuzzer's corpus (its first byte picks the name and the
 * output cap, as in tests/fuzz): nothing the sandbox forbids is needed. */
static void test_corpus(void **state)
{
	static const char *const names[] = {
		"/sdcard/contacts.vcf", "/cal/a.ics", "/x/data.json", "/x/t.csv", "/x/t.tsv",
		"/x/doc.xml", "/x/page.html", "/x/notes.txt", "/data/contacts2.db", "/x/noext",
		"/x.dir/file",
	};
	static const char *const files[] = { "binary", "csv", "cut", "html", "ical", "json",
		"sqlite", "sqlite-more", "text", "vcard", "xml" };
	struct exproc *ep;
	struct exproc_stats st;
	struct ex_limits lim;
	char path[256];
	uint8_t *p;
	size_t n;

	assert_int_equal(exproc_new(VIGIL_SERVER_BIN, &ep), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "tests/fuzz/corpus/extract/%s", files[i]);
		p = file_bytes(path, &n);
		ex_limits_default(&lim);
		lim.max_out = n > 0 && p[0] & 0x80 ? 64 : 1u << 20;
		lim.sqlite_budget_ms = 1000;
		lim.sqlite_cache_kib = 256;
		same_lim(ep, names[n > 0 ? p[0] % 11 : 0], p + (n > 0), n - (n > 0), &lim);
		free(p);
	}
	exproc_stats(ep, &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.failed, 0);
	exproc_free(ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_text),
		cmocka_unit_test(test_sandboxed),
		cmocka_unit_test(test_crash_hang_kill),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
