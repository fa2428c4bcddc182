/* test_jsonout.c — path escaping (reversible, always valid UTF-8) and the
 * JSON shapes the controller prints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/jsonout.h"

struct esc_case { const char *in; size_t n; bool ctl; const char *want; };

#define C(s, ctl, w) { s, sizeof(s) - 1, ctl, w }

static const struct esc_case esc_cases[] = {
	C("/home/alice/notes.txt", false, "/home/alice/notes.txt"),
	C("", false, ""),
	C("/a\\b", false, "/a\\\\b"),
	C("\\x41", false, "\\\\x41"),                    /* literal text stays distinct */
	C("/\xe4\xb8\xad\xe6\x96\x87", false, "/\xe4\xb8\xad\xe6\x96\x87"),   /* 中文 */
	C("/\xf0\x9f\x98\x80", false, "/\xf0\x9f\x98\x80"),                   /* emoji */
	C("/\xff", false, "/\\xff"),
	C("/\x80", false, "/\\x80"),                     /* lone continuation */
	C("/\xc0\xaf", false, "/\\xc0\\xaf"),            /* overlong '/' */
	C("/\xc1\xbf", false, "/\\xc1\\xbf"),
	C("/\xe0\x80\xaf", false, "/\\xe0\\x80\\xaf"),   /* overlong 3-byte */
	C("/\xed\xa0\x80", false, "/\\xed\\xa0\\x80"),   /* surrogate D800 */
	C("/\xf4\x90\x80\x80", false, "/\\xf4\\x90\\x80\\x80"), /* > U+10FFFF */
	C("/\xf5\x80\x80\x80", false, "/\\xf5\\x80\\x80\\x80"),
	C("/\xe4\xb8", false, "/\\xe4\\xb8"),            /* truncated at end */
	C("/\xe4\xb8/x", false, "/\\xe4\\xb8/x"),        /* truncated mid-string */
	C("/\xc3\xa9\xc3", false, "/\xc3\xa9\\xc3"),
	C("a\tb\n", false, "a\tb\n"),                    /* JSON escapes these itself */
	C("a\tb\n\x7f", true, "a\\x09b\\x0a\\x7f"),      /* terminals: not */
	C("\xef\xbf\xbf", false, "\xef\xbf\xbf"),        /* U+FFFF is valid UTF-8 */
	C("\xf4\x8f\xbf\xbf", false, "\xf4\x8f\xbf\xbf"),/* U+10FFFF */
};

static void test_escape_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		char *got = text_escape_n(c->in, c->n, c->ctl);

		assert_non_null(got);
		if (strcmp(got, c->want) != 0)
			fail_msg("case %zu: got \"%s\" want \"%s\"", i, got, c->want);
		free(got);
	}
}

/* Inverse of text_escape for the test: \\ -> \, \xHH -> byte. */
static size_t unescape(const char *s, unsigned char *out)
{
	size_t n = 0;

	while (*s) {
		if (s[0] == '\\' && s[1] == '\\') {
			out[n++] = '\\';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'x') {
			unsigned v;

			assert_int_equal(sscanf(s + 2, "%2x", &v), 1);
			out[n++] = (unsigned char)v;
			s += 4;
		} else {
			out[n++] = (unsigned char)*s++;
		}
	}
	return n;
}

/* Random byte strings: the escape is valid UTF-8 (jansson accepts it) and
 * decodes back to the original bytes. */
static void test_escape_random(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned char in[64], back[64 * 4];
	int round;

	for (round = 0; round < 20000; round++) {
		size_t n = round % 64, i, m;
		char *esc;
		json_t *j;

		for (i = 0; i < n; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			/* bias toward interesting bytes */
			in[i] = (x & 3) == 0 ? (unsigned char)(0x80 + (x >> 8) % 0x80) :
				(x & 3) == 1 ? '\\' : (unsigned char)(x >> 16);
			if (in[i] == 0)
				in[i] = 'z';
		}
		esc = text_escape_n((const char *)in, n, round & 1);
		assert_non_null(esc);
		j = json_string(esc);
		if (!j)
			fail_msg("escape of round %d is not valid UTF-8", round);
		json_decref(j);
		m = unescape(esc, back);
		assert_int_equal(m, n);
		assert_memory_equal(back, in, n);
		free(esc);
	}
}

static json_t *dump_load(json_t *v)
{
	char *s = json_dumps(v, 0);
	json_error_t err;
	json_t *back;

	assert_non_null(s);
	back = json_loads(s, 0, &err);
	assert_non_null(back);
	free(s);
	json_decref(v);
	return back;
}

static void test_entry_shapes(void **state)
{
	struct vg_entry *e = calloc(1, sizeof(*e));
	json_t *j;

	assert_non_null(e);
	snprintf(e->path, sizeof(e->path), "/home/a\\b/\xff.txt");
	e->type = VG_FILE;
	e->mode = 0644;
	e->size = 12345;
	e->mtime_ns = 1795892700LL * 1000000000 + 5;
	e->version = 7;
	e->capture_ns = 1795892700LL * 1000000000;
	memset(e->sha256, 0xab, 32);

	j = dump_load(jsonout_ls_entry(e));
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/home/a\\\\b/\\xff.txt");
	assert_string_equal(json_string_value(json_object_get(j, "type")), "file");
	assert_int_equal(json_integer_value(json_object_get(j, "mode")), 420);
	assert_int_equal(json_integer_value(json_object_get(j, "size")), 12345);
	assert_string_equal(json_string_value(json_object_get(j, "mtime")),
			    "2026-11-28T19:05:00.000000005Z");
	json_decref(j);

	j = dump_load(jsonout_log_entry(e));
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "time")), "2026-11-28T19:05:00Z");
	assert_int_equal(strlen(json_string_value(json_object_get(j, "sha256"))), 64);
	assert_string_equal(json_string_value(json_object_get(j, "sha256")),
			    "abababababababababababababababababababababababababababababababab");
	assert_true(json_is_false(json_object_get(j, "deleted")));
	assert_true(json_is_false(json_object_get(j, "sha256_pending")));
	json_decref(j);
	memset(e->sha256, 0, 32);   /* not computed by the server */
	j = dump_load(jsonout_log_entry(e));
	assert_true(json_is_null(json_object_get(j, "sha256")));
	json_decref(j);

	e->type = VG_SYMLINK;
	snprintf(e->link, sizeof(e->link), "../x");
	j = dump_load(jsonout_ls_entry(e));
	assert_string_equal(json_string_value(json_object_get(j, "type")), "symlink");
	assert_string_equal(json_string_value(json_object_get(j, "link")), "../x");
	json_decref(j);
	free(e);
}

/* Which versions without a sha256 are pending: those whose content is
 * still the latest (every later version a live file of the same tree
 * root); the others were superseded first and stay not computed. */
static void test_log_pending(void **state)
{
	struct jsonout_logsha r[6];
	bool p[6];

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 6; i++) {
		r[i].live_file = true;
		r[i].tree_root[0] = (uint8_t)i;
	}
	r[0].missing = false;              /* WHOLE: hashed */
	r[1].missing = r[2].missing = true; /* ranges, superseded by 2 / 3 */
	r[3].missing = true;               /* ranges, then META copies 4 and 5 */
	r[4] = r[3];
	r[5] = r[3];
	jsonout_log_pending(r, 6, p);
	assert_false(p[0]);
	assert_false(p[1]);
	assert_false(p[2]);
	assert_true(p[3] && p[4] && p[5]);
	r[5].live_file = false;            /* deleted last: nothing pending */
	jsonout_log_pending(r, 6, p);
	for (int i = 0; i < 6; i++)
		assert_false(p[i]);
	jsonout_log_pending(r, 0, p);      /* empty log: no access */
	r[1].live_file = true;
	jsonout_log_pending(r + 1, 1, p);  /* a single pending version */
	assert_true(p[0]);
	r[5].live_file = true;             /* the content came back at the end */
	memcpy(r[5].tree_root, r[1].tree_root, 32);
	r[5].missing = false;
	jsonout_log_pending(r, 6, p);      /* superseded by 2 first: stays not computed */
	assert_false(p[0] || p[1] || p[2] || p[3] || p[4] || p[5]);
}

static void test_status_shape(void **state)
{
	struct vg_status *s = calloc(1, sizeof(*s));
	json_t *j, *o;

	assert_non_null(s);
	snprintf(s->device, sizeof(s->device), "phone1");
	s->online = 1;
	s->backlog_files = 3;
	s->ncommands = 1;
	s->commands[0].id = 9;
	snprintf(s->commands[0].action, sizeof(s->commands[0].action), "freeze");
	snprintf(s->commands[0].by, sizeof(s->commands[0].by), "sec");
	snprintf(s->commands[0].state, sizeof(s->commands[0].state), "pending");
	s->commands[0].issued_ns = 1000000000;
	s->commands[0].updated_ns = 2000000000;
	s->nevents = 1;
	snprintf(s->events[0].kind, sizeof(s->events[0].kind), "sim");
	snprintf(s->events[0].detail, sizeof(s->events[0].detail), "iccid \xff changed");
	s->index_files = 10;
	s->index_versions = 12;
	s->index_unparsed = 2;
	s->index_path_only = 1;
	s->index_pending = 5;

	j = dump_load(jsonout_status(s));
	assert_string_equal(json_string_value(json_object_get(j, "device")), "phone1");
	assert_true(json_is_true(json_object_get(j, "online")));
	assert_true(json_is_null(json_object_get(j, "last_seen")));
	o = json_object_get(j, "backlog");
	assert_int_equal(json_integer_value(json_object_get(o, "files")), 3);
	assert_true(json_is_null(json_object_get(o, "oldest")));
	assert_true(json_is_false(json_object_get(j, "frozen")));
	o = json_object_get(j, "erase");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "none");
	o = json_object_get(j, "sim");
	assert_true(json_is_object(o));
	assert_true(json_is_null(json_object_get(o, "iccid")));
	o = json_array_get(json_object_get(j, "commands"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "action")), "freeze");
	assert_string_equal(json_string_value(json_object_get(o, "issued")), "1970-01-01T00:00:01Z");
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 9);
	assert_string_equal(json_string_value(json_object_get(o, "by")), "sec");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "pending");
	assert_string_equal(json_string_value(json_object_get(o, "updated")), "1970-01-01T00:00:02Z");
	o = json_array_get(json_object_get(j, "events"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "detail")), "iccid \\xff changed");
	o = json_object_get(j, "index");
	assert_int_equal(json_integer_value(json_object_get(o, "files")), 10);
	assert_int_equal(json_integer_value(json_object_get(o, "versions")), 12);
	assert_int_equal(json_integer_value(json_object_get(o, "unparsed")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "path_only")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "pending")), 5);
	json_decref(j);

	/* after a freeze and an erase: the flags and figures the server derived */
	s->frozen = 1;
	snprintf(s->erase_state, sizeof(s->erase_state), "done");
	s->erase_files = 5;
	s->erase_bytes = 500;
	j = dump_load(jsonout_status(s));
	assert_true(json_is_true(json_object_get(j, "frozen")));
	o = json_object_get(j, "erase");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "done");
	assert_int_equal(json_integer_value(json_object_get(o, "files")), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "bytes")), 500);
	json_decref(j);
	free(s);
}

static void test_device_hit(void **state)
{
	struct vg_device d = { .name = "phone1", .online = 0, .last_seen_ns = 1, .files = 2, .bytes = 3 };
	struct vg_hit *h = calloc(1, sizeof(*h));
	json_t *j;

	j = dump_load(jsonout_device(&d));
	assert_string_equal(json_string_value(json_object_get(j, "name")), "phone1");
	assert_true(json_is_false(json_object_get(j, "online")));
	assert_string_equal(json_string_value(json_object_get(j, "last_seen")),
			    "1970-01-01T00:00:00.000000001Z");
	assert_int_equal(json_integer_value(json_object_get(j, "bytes")), 3);
	json_decref(j);

	assert_non_null(h);
	snprintf(h->path, sizeof(h->path), "/sms.db");
	h->version = 4;
	snprintf(h->snippet, sizeof(h->snippet), "13800138000 \xe4\xb8\xad\xe4");
	j = dump_load(jsonout_hit(h));
	assert_string_equal(json_string_value(json_object_get(j, "snippet")),
			    "13800138000 \xe4\xb8\xad\\xe4");
	json_decref(j);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_random),
		cmocka_unit_test(test_entry_shapes),
		cmocka_unit_test(test_log_pending),
		cmocka_unit_test(test_status_shape),
		cmocka_unit_test(test_device_hit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
