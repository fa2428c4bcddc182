/* test_extract.c — text extraction from hostile files, at every read size. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/buf.h"
#include "server/search/extract.h"

/* A memory source that returns at most `step` bytes per read. */
struct mem { const uint8_t *p; size_t n, step; };

static ssize_t
mem_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	struct mem *m = arg;

	if (off >= m->n)
		return 0;
	if (n > m->n - off)
		n = m->n - off;
	if (m->step > 0 && n > m->step)
		n = m->step;
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

static int
collect(void *arg, const char *t, size_t n)
{
	assert_true(n > 0 && n <= EX_PIECE_MAX);
	return buf_append(arg, t, n);
}

/* Extracts into out (NUL-terminated); returns extract's value. */
static int
run(const char *path, const void *p, size_t n, size_t step, struct buf *out,
    struct ex_result *res)
{
	struct mem m = { p, n, step };
	struct ex_source src = { &m, n, mem_pread };

	buf_init(out, 64u << 20);
	int rc = extract(path, &src, NULL, collect, out, res);
	buf_cstr(out);
	if (out->data == NULL)
		buf_append(out, "", 1), out->len = 0;
	return rc;
}

static const size_t steps[] = { 0, 1, 2, 3, 7, 100, 10000, 200000 };

struct tcase {
	const char *path, *in;
	enum ex_kind kind;
	bool malformed;
	const char *want[4];      /* substrings that must appear */
	const char *unwanted;     /* must not appear */
};

static const struct tcase cases[] = {
	{ "/a.txt", "hello World\n张三 13800138000", EX_TEXT, false, { "hello World", "张三", "13800138000" }, NULL },
	{ "/c.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zhang San\r\nN:Zhang;San;;;\r\nTEL;TYPE=CELL:+86 138-0013-8000\r\n"
	  "NOTE:line one\\nfolded\r\n  here\r\nPHOTO;ENCODING=b:QUJDREVGRw==\r\nEND:VCARD\r\n",
	  EX_VCARD, false, { "Zhang San", "+86 138-0013-8000", "folded here", "Zhang San" }, "QUJDREVGRw" },
	{ "/q.vcf", "BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0=E4=\n=B8=89\nEND:VCARD\n",
	  EX_VCARD, false, { "张三" }, "=E5" },
	{ "/bad.vcf", "BEGIN:VCARD\nFN:Li Si\ngarbage line\nN;ENCODING=QUOTED-PRINTABLE:=ZZ=4\n", EX_VCARD, true, { "Li Si", "garbage line" }, NULL },
	{ "/e.ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261128T190500Z\nSUMMARY:Meet Wang Wu\nEND:VEVENT\nEND:VCALENDAR\n",
	  EX_ICAL, false, { "Meet Wang Wu" }, "20261128" },
	{ "/d.json", "{\"name\":\"Alice \\u5f20\\u4e09\",\"tel\":13800138000,\"e\":\"\\ud83d\\ude00 ok\"}", EX_JSON, false,
	  { "Alice 张三", "13800138000", "\xf0\x9f\x98\x80 ok" }, "\\u" },
	{ "/b.json", "{\"x\":\"unterminated", EX_JSON, true, { "unterminated" }, NULL },
	{ "/t.csv", "name,phone\n\"Smith, John\",\"07700 900123\"\n\"say \"\"hi\"\"\",x\n", EX_CSV, false,
	  { "Smith, John", "07700 900123", "say \"hi\"" }, NULL },
	{ "/s.xml", "<?xml version=\"1.0\"?><!-- secret comment --><smses><sms address=\"+8613800138000\" body=\"Tom &amp; Jerry &#x5F20;\"/>"
	  "<p>Caf&eacute; &lt;b&gt;<![CDATA[raw <text>]]></p></smses>", EX_XML, false,
	  { "+8613800138000", "Tom & Jerry 张", "<b>", "raw <text>" }, "secret" },
	{ "/u.xml", "<a>text<b attr=\"x", EX_XML, true, { "text" }, NULL },
	{ "/empty", "", EX_TEXT, false, { "" }, NULL },
};

static void
test_formats(void **state)
{
	struct ex_result res;
	struct buf out;
	size_t i, s, w;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			const struct tcase *c = &cases[i];
			assert_int_equal(run(c->path, c->in, strlen(c->in), steps[s], &out, &res), 0);
			if (res.kind != c->kind || res.malformed != c->malformed)
				fail_msg("%s: kind %d malformed %d (%s)", c->path, res.kind, res.malformed, res.reason);
			for (w = 0; w < 4 && c->want[w] != NULL; w++)
				if (strstr((char *)out.data, c->want[w]) == NULL)
					fail_msg("%s step %zu: no \"%s\" in \"%s\"", c->path, steps[s], c->want[w],
						 (char *)out.data);
			if (c->unwanted != NULL && strstr((char *)out.data, c->unwanted) != NULL)
				fail_msg("%s: \"%s\" should not be in \"%s\"", c->path, c->unwanted, (char *)out.data);
			buf_free(&out);
		}
	}
}

static void
test_binary_junk(void **state)
{
	struct ex_result res;
	struct buf out;
	uint8_t *junk = malloc(300000);
	size_t i;
	uint32_t r = 12345;

	assert_non_null(junk);
	for (i = 0; i < 300000; i++) {
		r = r * 1103515245 + 12345;
		junk[i] = (uint8_t)(r >> 16);
	}
	assert_int_equal(run("/x.bin", junk, 300000, 0, &out, &res), 0);
	assert_int_equal(res.kind, EX_BINARY);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	/* junk named .vcf / .json / .xml / .db still never crashes; output is UTF-8 */
	static const char *names[] = { "/j.vcf", "/j.json", "/j.xml", "/j.csv", "/j.txt" };
	for (i = 0; i < 5; i++) {
		junk[0] = 'B';   /* make it not look binary: no NUL in the sniffed part */
		for (size_t k = 0; k < 300000; k++)
			if (junk[k] == 0)
				junk[k] = '<';
		assert_int_equal(run(names[i], junk, 300000, 7, &out, &res), 0);
		assert_true(out.len <= 300000 * 3);
		buf_free(&out);
	}
	free(junk);
}

/* A long vCard line (a huge folded photo) and a huge unfolded value. */
static void
test_vcard_long_lines(void **state)
{
	struct ex_result res;
	struct buf in, out;
	size_t i;

	buf_init(&in, 8u << 20);
	buf_printf(&in, "BEGIN:VCARD\nPHOTO;ENCODING=BASE64:");
	for (i = 0; i < 200000; i++)
		buf_append(&in, "QUJD", 4);
	buf_printf(&in, "\nNOTE:");
	for (i = 0; i < 30000; i++)
		buf_append(&in, "word ", 5);
	buf_printf(&in, "needle\nEND:VCARD\n");
	assert_int_equal(run("/big.vcf", in.data, in.len, 0, &out, &res), 0);
	assert_false(res.malformed);
	assert_non_null(strstr((char *)out.data, "needle"));
	assert_null(strstr((char *)out.data, "QUJD"));
	buf_free(&out);
	buf_free(&in);
}

/* ---- SQLite ---- */

struct filesrc { int fd; };

static ssize_t
file_pread(void *arg, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread(((struct filesrc *)arg)->fd, buf, n, (off_t)off);
	return r < 0 ? -errno : r;
}

static int
run_file(const char *path, struct buf *out, struct ex_result *res, const struct ex_limits *lim)
{
	struct filesrc f = { open(path, O_RDONLY) };
	struct ex_source src = { &f, 0, file_pread };
	off_t size;

	assert_true(f.fd >= 0);
	size = lseek(f.fd, 0, SEEK_END);
	src.size = (uint64_t)size;
	buf_init(out, 256u << 20);
	int rc = extract(path, &src, lim, collect, out, res);
	buf_append(out, "", 1);
	close(f.fd);
	return rc;
}

static void
sql(sqlite3 *db, const char *q)
{
	char *err = NULL;
	if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", q, err);
}

static void
test_sqlite_deep(void **state)
{
	char path[] = "/tmp/vigil-test-XXXXXX.db";
	struct ex_result res;
	struct buf out;
	sqlite3 *db;
	int fd = mkstemps(path, 3);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql(db, "PRAGMA journal_mode=WAL; CREATE TABLE sms(id INTEGER PRIMARY KEY, addr TEXT, body TEXT, n INT);"
	    "CREATE VIRTUAL TABLE f USING fts5(x); INSERT INTO f VALUES('in fts');"
	    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 60000) "
	    "INSERT INTO sms(addr, body, n) SELECT '+44 7700 ' || i, 'filler message number ' || i, i FROM c;"
	    "UPDATE sms SET body = 'meet 张三 at the station, call +86 138-0013-8000' WHERE id = 50000;");
	sqlite3_close(db);   /* WAL checkpointed into the main file on close */
	assert_int_equal(run_file(path, &out, &res, NULL), 0);
	assert_int_equal(res.kind, EX_SQLITE);
	if (res.malformed)
		fail_msg("malformed: %s", res.reason);
	assert_non_null(strstr((char *)out.data, "meet 张三 at the station"));
	assert_non_null(strstr((char *)out.data, "filler message number 59999"));
	assert_non_null(strstr((char *)out.data, "in fts"));
	printf("# sqlite: %llu bytes of text\n", (unsigned long long)res.out_bytes);
	buf_free(&out);
	unlink(path);
}

/* Views, triggers, generated columns calling functions, a huge declared
 * size, a corrupt page: none may run code, hang or crash. */
static void
test_sqlite_malicious(void **state)
{
	char path[] = "/tmp/vigil-test-XXXXXX.db";
	struct ex_limits lim;
	struct ex_result res;
	struct buf out;
	sqlite3 *db;
	int fd = mkstemps(path, 3);
	uint8_t page[4096];

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql(db, "CREATE TABLE ok(t TEXT); INSERT INTO ok VALUES('visible text');"
	    "CREATE TABLE g(a TEXT, b BLOB AS (zeroblob(1000000000)));"
	    "INSERT INTO g(a) VALUES('gen row');"
	    "CREATE VIEW v AS SELECT randomblob(1000000000) FROM ok;"
	    "CREATE TABLE log(x); CREATE TRIGGER tr AFTER INSERT ON ok BEGIN INSERT INTO log VALUES(zeroblob(1000000000)); END;"
	    "CREATE TABLE big(t TEXT);"
	    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 20000) "
	    "INSERT INTO big SELECT 'row ' || i || ' ' || hex(randomblob(40)) FROM c;");
	sqlite3_close(db);
	/* the generated column's function is refused: that table is reported */
	assert_int_equal(run_file(path, &out, &res, NULL), 0);
	assert_non_null(strstr((char *)out.data, "visible text"));
	printf("# generated column: %s (%llu bytes)\n", res.reason, (unsigned long long)res.out_bytes);
	assert_true(res.malformed);
	buf_free(&out);

	/* a huge declared page count (header bytes 28..31) */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x7f\xff\xff\xff", 4, 28), 4);
	close(fd);
	assert_int_equal(run_file(path, &out, &res, NULL), 0);
	buf_free(&out);

	/* corrupt pages in the middle */
	memset(page, 0xa5, sizeof(page));
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, page, sizeof(page), 4096 * 5), 4096);
	assert_int_equal(pwrite(fd, page, sizeof(page), 4096 * 40), 4096);
	close(fd);
	assert_int_equal(run_file(path, &out, &res, NULL), 0);
	printf("# corrupt db: %s (%llu bytes)\n", res.reason, (unsigned long long)res.out_bytes);
	assert_true(res.malformed);
	buf_free(&out);

	/* a tiny time budget interrupts */
	ex_limits_default(&lim);
	lim.sqlite_budget_ms = 0;
	assert_int_equal(run_file(path, &out, &res, &lim), 0);
	assert_true(res.truncated || res.malformed);
	buf_free(&out);

	/* size cap */
	lim.sqlite_budget_ms = 1000;
	lim.sqlite_max_size = 1024;
	assert_int_equal(run_file(path, &out, &res, &lim), 0);
	assert_true(res.malformed);
	assert_int_equal(res.out_bytes, 0);
	buf_free(&out);
	if (getenv("KEEP") == NULL)
		unlink(path);
}

/* A truncated file and garbage after a valid SQLite header. */
static void
test_sqlite_garbage(void **state)
{
	struct ex_result res;
	struct buf out;
	uint8_t junk[8192];
	size_t i;

	memcpy(junk, "SQLite format 3", 16);
	for (i = 16; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7);
	for (i = 0; i < 3; i++) {
		size_t n = i == 0 ? 16 : i == 1 ? 100 : sizeof(junk);
		assert_int_equal(run("/g.db", junk, n, 0, &out, &res), 0);
		assert_int_equal(res.kind, EX_SQLITE);
		assert_true(res.malformed);
		buf_free(&out);
	}
}

static void
test_output_cap(void **state)
{
	struct ex_limits lim;
	struct ex_result res;
	struct mem m;
	struct ex_source src = { &m, 0, mem_pread };
	struct buf out;
	char text[100000];

	memset(text, 'a', sizeof(text));
	m = (struct mem){ (uint8_t *)text, sizeof(text), 0 };
	src.size = sizeof(text);
	ex_limits_default(&lim);
	lim.max_out = 1000;
	buf_init(&out, 1u << 20);
	assert_int_equal(extract("/x.txt", &src, &lim, collect, &out, &res), 0);
	assert_true(res.truncated);
	assert_true(out.len <= 1000);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_binary_junk),
		cmocka_unit_test(test_vcard_long_lines),
		cmocka_unit_test(test_sqlite_deep),
		cmocka_unit_test(test_sqlite_malicious),
		cmocka_unit_test(test_sqlite_garbage),
		cmocka_unit_test(test_output_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
