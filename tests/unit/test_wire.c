/* test_wire.c — common/wire.c and common/proto.c round trips, every
 * truncation of every message, hostile field values; common/names.c
 * grammar for names, paths and DEVICE:PATH arguments. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/chunker.h"
#include "common/names.h"
#include "common/proto.h"
#include "common/wire.h"

/* --- wire --- */

static void test_wire_ints(void **state)
{
	struct buf b;
	struct wire_reader r;
	uint8_t raw[3];
	char s[8];
	const uint8_t *blob;
	size_t n;

	buf_init(&b, 1024);
	wire_put_u8(&b, 0xab);
	wire_put_u16(&b, 0xbeef);
	wire_put_u32(&b, 0xdeadbeef);
	wire_put_u64(&b, 0x0123456789abcdefULL);
	wire_put_i64(&b, INT64_MIN);
	wire_put_i64(&b, -1);
	wire_put_bytes(&b, "xyz", 3);
	wire_put_blob(&b, "\0\1\2", 3);
	wire_put_str(&b, "hello");
	wire_put_str(&b, NULL);
	assert_int_equal(wire_buf_error(&b), 0);
	/* Big-endian on the wire. */
	assert_int_equal(b.data[1], 0xbe);
	assert_int_equal(b.data[2], 0xef);
	assert_int_equal(b.data[3], 0xde);

	wire_reader_init(&r, b.data, b.len);
	assert_int_equal(wire_get_u8(&r), 0xab);
	assert_int_equal(wire_get_u16(&r), 0xbeef);
	assert_int_equal(wire_get_u32(&r), 0xdeadbeef);
	assert_true(wire_get_u64(&r) == 0x0123456789abcdefULL);
	assert_true(wire_get_i64(&r) == INT64_MIN);
	assert_true(wire_get_i64(&r) == -1);
	wire_get_bytes(&r, raw, 3);
	assert_memory_equal(raw, "xyz", 3);
	blob = wire_get_blob(&r, 3, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(blob, "\0\1\2", 3);
	wire_get_str(&r, s, sizeof(s));
	assert_string_equal(s, "hello");
	wire_get_str(&r, s, sizeof(s));
	assert_string_equal(s, "");
	assert_int_equal(wire_done(&r), 0);
	/* Reading past the end latches an error and yields zeros. */
	assert_int_equal(wire_get_u32(&r), 0);
	assert_int_equal(wire_ok(&r), -EBADMSG);
	assert_int_equal(wire_get_u8(&r), 0);
	buf_free(&b);
}

static void test_wire_limits(void **state)
{
	struct buf b;
	struct wire_reader r;
	char s[4];
	size_t n;

	/* A writer over its cap marks the buffer; later puts do nothing. */
	buf_init(&b, 6);
	wire_put_u32(&b, 1);
	assert_int_equal(wire_buf_error(&b), 0);
	wire_put_u32(&b, 2);
	assert_int_equal(wire_buf_error(&b), -EMSGSIZE);
	wire_put_u8(&b, 3);
	assert_int_equal(wire_buf_error(&b), -EMSGSIZE);
	buf_free(&b);

	buf_init(&b, 64);
	wire_put_str(&b, "abcd");           /* 4 chars: one too many for s[4] */
	wire_reader_init(&r, b.data, b.len);
	wire_get_str(&r, s, sizeof(s));
	assert_int_equal(wire_ok(&r), -EBADMSG);
	assert_string_equal(s, "");
	buf_reset(&b);
	wire_put_blob(&b, "a\0b", 3);      /* NUL inside a string */
	wire_reader_init(&r, b.data, b.len);
	wire_get_str(&r, s, sizeof(s));
	assert_int_equal(wire_ok(&r), -EBADMSG);
	buf_reset(&b);
	wire_put_blob(&b, "abcdef", 6);    /* blob over its max */
	wire_reader_init(&r, b.data, b.len);
	assert_null(wire_get_blob(&r, 5, &n));
	assert_int_equal(n, 0);
	assert_int_equal(wire_ok(&r), -EBADMSG);
	buf_reset(&b);
	wire_put_u32(&b, 0xffffffff);      /* length far past the end */
	wire_reader_init(&r, b.data, b.len);
	assert_null(wire_get_blob(&r, SIZE_MAX, &n));
	assert_int_equal(wire_ok(&r), -EBADMSG);
	buf_reset(&b);
	wire_put_u16(&b, 7);               /* left over bytes */
	wire_reader_init(&r, b.data, b.len);
	assert_int_equal(wire_get_u8(&r), 0);
	assert_int_equal(wire_ok(&r), 0);
	assert_int_equal(wire_done(&r), -EBADMSG);
	wire_reader_init(&r, NULL, 0);
	assert_int_equal(wire_done(&r), 0);
	buf_free(&b);
}

/* --- proto: every message round-trips and every truncation fails --- */

enum kind { K_ENTRY, K_PUT, K_DEVICE, K_REPORT, K_STATUS, K_HIT,
	    K_LS, K_LOG, K_STAT, K_READ, K_STATUS_REQ, K_SEARCH, K_LATEST, K_SIG, K_LAST = K_SIG };

static size_t size_of(enum kind k)
{
	switch (k) {
	case K_ENTRY: return sizeof(struct vg_entry);
	case K_PUT: return sizeof(struct vg_put);
	case K_DEVICE: return sizeof(struct vg_device);
	case K_REPORT: return sizeof(struct vg_report);
	case K_STATUS: return sizeof(struct vg_status);
	case K_HIT: return sizeof(struct vg_hit);
	case K_LS: return sizeof(struct vg_ls_req);
	case K_LOG: return sizeof(struct vg_log_req);
	case K_STAT: return sizeof(struct vg_stat_req);
	case K_READ: return sizeof(struct vg_read_req);
	case K_STATUS_REQ: return sizeof(struct vg_status_req);
	case K_SEARCH: return sizeof(struct vg_search_req);
	case K_LATEST: return sizeof(struct vg_latest_req);
	case K_SIG: return sizeof(struct vg_sig_req);
	}
	return 0;
}

static void encode(enum kind k, struct buf *b, const void *v)
{
	switch (k) {
	case K_ENTRY: proto_put_entry(b, v); break;
	case K_PUT: proto_put_put(b, v); break;
	case K_DEVICE: proto_put_device(b, v); break;
	case K_REPORT: proto_put_report(b, v); break;
	case K_STATUS: proto_put_status(b, v); break;
	case K_HIT: proto_put_hit(b, v); break;
	case K_LS: proto_put_ls_req(b, v); break;
	case K_LOG: proto_put_log_req(b, v); break;
	case K_STAT: proto_put_stat_req(b, v); break;
	case K_READ: proto_put_read_req(b, v); break;
	case K_STATUS_REQ: proto_put_status_req(b, v); break;
	case K_SEARCH: proto_put_search_req(b, v); break;
	case K_LATEST: proto_put_latest_req(b, v); break;
	case K_SIG: proto_put_sig_req(b, v); break;
	}
}

static int decode(enum kind k, const uint8_t *p, size_t n, void *v)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	switch (k) {
	case K_ENTRY: proto_get_entry(&r, v); break;
	case K_PUT: proto_get_put(&r, v); break;
	case K_DEVICE: proto_get_device(&r, v); break;
	case K_REPORT: proto_get_report(&r, v); break;
	case K_STATUS: proto_get_status(&r, v); break;
	case K_HIT: proto_get_hit(&r, v); break;
	case K_LS: proto_get_ls_req(&r, v); break;
	case K_LOG: proto_get_log_req(&r, v); break;
	case K_STAT: proto_get_stat_req(&r, v); break;
	case K_READ: proto_get_read_req(&r, v); break;
	case K_STATUS_REQ: proto_get_status_req(&r, v); break;
	case K_SEARCH: proto_get_search_req(&r, v); break;
	case K_LATEST: proto_get_latest_req(&r, v); break;
	case K_SIG: proto_get_sig_req(&r, v); break;
	}
	return wire_done(&r);
}

/* Encodes v, decodes it back into out, and checks that each shorter
 * prefix (copied to an exact-size heap block, so ASan sees any overread)
 * is refused. */
static void roundtrip(enum kind k, const void *v, void *out)
{
	struct buf b;
	void *scratch = malloc(size_of(k));
	size_t cut;

	buf_init(&b, 1 << 20);
	encode(k, &b, v);
	assert_int_equal(wire_buf_error(&b), 0);
	assert_int_equal(decode(k, b.data, b.len, out), 0);
	for (cut = 0; cut < b.len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);

		memcpy(p, b.data, cut);
		if (decode(k, p, cut, scratch) != -EBADMSG)
			fail_msg("kind %d: prefix of %zu/%zu bytes accepted", k, cut, b.len);
		free(p);
	}
	free(scratch);
	buf_free(&b);
}

static void fill_entry(struct vg_entry *e, uint8_t type)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "/home/alice/%s", type == VG_SYMLINK ? "link" : "notes.txt");
	e->type = type;
	e->mode = 0644;
	e->uid = 1000;
	e->gid = 100;
	e->size = 123456789012ULL;
	e->mtime_ns = -5;
	e->version = 42;
	e->capture_ns = 1700000000123456789LL;
	e->recv_ns = 1700000000999999999LL;
	memset(e->sha256, 0xa5, 32);
	memset(e->tree_root, 0x5a, 32);
	memset(e->digest, 0x3c, sizeof(e->digest));
	if (type == VG_SYMLINK)
		snprintf(e->link, sizeof(e->link), "../target with spaces");
	e->xattr_len = 10;
	memcpy(e->xattrs, "user.k\0v\1\2", 10);
}

static void assert_entry_equal(const struct vg_entry *a, const struct vg_entry *b)
{
	assert_string_equal(a->path, b->path);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->deleted, b->deleted);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_true(a->size == b->size && a->mtime_ns == b->mtime_ns);
	assert_true(a->version == b->version && a->capture_ns == b->capture_ns);
	assert_true(a->recv_ns == b->recv_ns);
	assert_memory_equal(a->sha256, b->sha256, 32);
	assert_memory_equal(a->tree_root, b->tree_root, 32);
	assert_memory_equal(a->digest, b->digest, sizeof(a->digest));
	assert_string_equal(a->link, b->link);
	assert_int_equal(a->xattr_len, b->xattr_len);
	assert_memory_equal(a->xattrs, b->xattrs, a->xattr_len);
}

static void test_proto_entry(void **state)
{
	static const uint8_t types[] = { VG_FILE, VG_DIR, VG_SYMLINK };
	struct vg_entry *e = malloc(sizeof(*e)), *o = malloc(sizeof(*o));
	size_t i;

	for (i = 0; i < 3; i++) {
		fill_entry(e, types[i]);
		e->deleted = i == 1;
		roundtrip(K_ENTRY, e, o);
		assert_entry_equal(e, o);
	}
	/* Mode bits beyond 07777 are dropped on decode. */
	fill_entry(e, VG_FILE);
	e->mode = 0177777;
	roundtrip(K_ENTRY, e, o);
	assert_int_equal(o->mode, 07777);
	/* Largest xattrs allowed. */
	e->mode = 0644;
	e->xattr_len = VG_XATTR_MAX;
	memset(e->xattrs, 'x', VG_XATTR_MAX);
	roundtrip(K_ENTRY, e, o);
	assert_entry_equal(e, o);
	free(e);
	free(o);
}

static void test_proto_entry_hostile(void **state)
{
	static const char *const bad_paths[] = {
		"", "relative", "/a/../b", "/a/./b", "/a//b", "/a/", "//", "/..", "/.",
	};
	struct vg_entry *e = malloc(sizeof(*e)), *o = malloc(sizeof(*o));
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		fill_entry(e, VG_FILE);
		snprintf(e->path, sizeof(e->path), "%s", bad_paths[i]);
		buf_reset(&b);
		proto_put_entry(&b, e);
		if (decode(K_ENTRY, b.data, b.len, o) != -EBADMSG)
			fail_msg("path \"%s\" accepted", bad_paths[i]);
	}
	for (i = 0; i < 2; i++) {   /* type 0 and 4 */
		fill_entry(e, VG_FILE);
		e->type = i ? 4 : 0;
		buf_reset(&b);
		proto_put_entry(&b, e);
		assert_int_equal(decode(K_ENTRY, b.data, b.len, o), -EBADMSG);
	}
	/* xattrs over the limit: built by hand, the encoder would send it. */
	fill_entry(e, VG_FILE);
	buf_reset(&b);
	wire_put_str(&b, e->path);
	for (i = 0; i < 2; i++)
		wire_put_u8(&b, i ? 0 : VG_FILE);
	for (i = 0; i < 3; i++)
		wire_put_u32(&b, 0);
	for (i = 0; i < 5; i++)
		wire_put_u64(&b, 0);
	wire_put_bytes(&b, e->sha256, 32);
	wire_put_bytes(&b, e->tree_root, 32);
	wire_put_str(&b, "");
	assert_int_equal(buf_append(&b, "\0\0\x40\x01", 4), 0);   /* 16385 */
	assert_int_equal(buf_reserve(&b, VG_XATTR_MAX + 1), 0);
	memset(b.data + b.len, 0, VG_XATTR_MAX + 1);
	b.len += VG_XATTR_MAX + 1;
	assert_int_equal(decode(K_ENTRY, b.data, b.len, o), -EBADMSG);
	/* A path of PATH_MAX bytes does not fit (PATH_MAX includes the NUL). */
	buf_reset(&b);
	{
		char *p = malloc(PATH_MAX + 1);

		p[0] = '/';
		memset(p + 1, 'a', PATH_MAX - 1);
		p[PATH_MAX] = '\0';
		wire_put_str(&b, p);
		free(p);
	}
	assert_int_equal(decode(K_ENTRY, b.data, b.len, o), -EBADMSG);
	buf_free(&b);
	free(e);
	free(o);
}

static void test_proto_put(void **state)
{
	struct vg_put *p = malloc(sizeof(*p)), *o = malloc(sizeof(*o));
	struct buf b;
	int body;

	for (body = PUT_WHOLE; body <= PUT_RENAME; body++) {
		memset(p, 0, sizeof(*p));
		fill_entry(&p->e, VG_FILE);
		p->body = (uint8_t)body;
		p->base_version = 7;
		memset(p->token, body, sizeof(p->token));
		snprintf(p->from, sizeof(p->from), "/home/alice/old.txt");
		roundtrip(K_PUT, p, o);
		/* the digest of a PUT's entry is the server's to set: dropped */
		assert_memory_equal(o->e.digest, (uint8_t[16]){ 0 }, 16);
		memcpy(o->e.digest, p->e.digest, sizeof(o->e.digest));
		assert_entry_equal(&p->e, &o->e);
		assert_int_equal(o->body, body);
		assert_int_equal(o->base_version, 7);
		assert_memory_equal(o->token, p->token, 16);
		assert_string_equal(o->from, body == PUT_RENAME ? p->from : "");
	}
	buf_init(&b, 1 << 20);
	p->body = 7;
	proto_put_put(&b, p);
	assert_int_equal(decode(K_PUT, b.data, b.len, o), -EBADMSG);
	p->body = PUT_RENAME;
	snprintf(p->from, sizeof(p->from), "/a/../etc/passwd");
	buf_reset(&b);
	proto_put_put(&b, p);
	assert_int_equal(decode(K_PUT, b.data, b.len, o), -EBADMSG);
	buf_free(&b);
	free(p);
	free(o);
}

static void test_proto_small(void **state)
{
	struct vg_device d = { .name = "phone1", .online = 1, .last_seen_ns = -1,
			       .files = 10, .bytes = 1ULL << 40 }, od;
	struct vg_hit *h = calloc(1, sizeof(*h)), *oh = malloc(sizeof(*oh));
	struct vg_report *rep = calloc(1, sizeof(*rep)), *orep = malloc(sizeof(*orep));
	struct buf b;
	char text[VG_ERRMSG_MAX];
	uint32_t i;

	roundtrip(K_DEVICE, &d, &od);
	assert_string_equal(od.name, "phone1");
	assert_true(od.online == 1 && od.last_seen_ns == -1 && od.files == 10 &&
		    od.bytes == 1ULL << 40);

	snprintf(h->path, sizeof(h->path), "/data/sms.db");
	h->version = 3;
	h->time_ns = 99;
	snprintf(h->snippet, sizeof(h->snippet), "…call 13800138000 …");
	roundtrip(K_HIT, h, oh);
	assert_string_equal(oh->path, h->path);
	assert_string_equal(oh->snippet, h->snippet);
	assert_true(oh->version == 3 && oh->time_ns == 99);

	rep->backlog_files = 5;
	rep->backlog_oldest_ns = 1234;
	snprintf(rep->tracker, sizeof(rep->tracker), "fanotify");
	rep->ncounters = VG_COUNTERS_MAX;
	for (i = 0; i < VG_COUNTERS_MAX; i++) {
		snprintf(rep->counters[i].name, sizeof(rep->counters[i].name), "c%u", i);
		rep->counters[i].value = i * 1000ULL;
	}
	rep->at_ns = 1765100000123456789LL;
	roundtrip(K_REPORT, rep, orep);
	assert_int_equal(orep->ncounters, VG_COUNTERS_MAX);
	assert_string_equal(orep->counters[31].name, "c31");
	assert_true(orep->counters[31].value == 31000);
	assert_string_equal(orep->tracker, "fanotify");
	assert_true(orep->at_ns == 1765100000123456789LL);
	/* A count over the limit is refused, not trusted. */
	buf_init(&b, 1 << 16);
	wire_put_u64(&b, 0);
	wire_put_i64(&b, 0);
	wire_put_str(&b, "x");
	wire_put_u32(&b, VG_COUNTERS_MAX + 1);
	assert_int_equal(decode(K_REPORT, b.data, b.len, orep), -EBADMSG);
	assert_int_equal(orep->ncounters, 0);

	/* Errors. */
	buf_reset(&b);
	proto_put_error(&b, -ENOSPC, "disk full");
	assert_int_equal(proto_get_error(b.data, b.len, text, sizeof(text)), ENOSPC);
	assert_string_equal(text, "disk full");
	buf_reset(&b);
	proto_put_error(&b, 0, "");
	assert_int_equal(proto_get_error(b.data, b.len, text, sizeof(text)), EIO);
	assert_int_equal(proto_get_error(b.data, 3, text, sizeof(text)), EBADMSG);
	assert_string_equal(text, "malformed error reply");
	assert_int_equal(proto_get_error(NULL, 0, text, sizeof(text)), EBADMSG);
	buf_free(&b);
	free(h);
	free(oh);
	free(rep);
	free(orep);
}

static void test_proto_status(void **state)
{
	struct vg_status *s = calloc(1, sizeof(*s)), *o = malloc(sizeof(*o));
	struct buf b;
	uint32_t i;

	snprintf(s->device, sizeof(s->device), "phone1");
	s->online = 1;
	s->frozen = 1;
	snprintf(s->erase_state, sizeof(s->erase_state), "done");
	s->erase_files = 3;
	snprintf(s->sim_iccid, sizeof(s->sim_iccid), "8986001234567890123");
	s->ncommands = VG_STATUS_LIST_MAX;
	s->nevents = 2;
	for (i = 0; i < VG_STATUS_LIST_MAX; i++) {
		s->commands[i].id = i;
		snprintf(s->commands[i].action, sizeof(s->commands[i].action), "freeze");
		snprintf(s->commands[i].by, sizeof(s->commands[i].by), "ctl1");
		snprintf(s->commands[i].state, sizeof(s->commands[i].state), "done");
	}
	snprintf(s->events[1].kind, sizeof(s->events[1].kind), "sim-changed");
	snprintf(s->events[1].detail, sizeof(s->events[1].detail), "ICCID 1 -> 2");
	s->index_files = 10000;
	s->index_unparsed = 3;
	s->index_pending = UINT64_MAX;
	s->backlog_at_ns = 5;
	s->report_ns = 6;
	s->quota_bytes = 5ull << 30;
	s->quota_used = 123;
	roundtrip(K_STATUS, s, o);
	assert_true(o->backlog_at_ns == 5 && o->report_ns == 6);
	assert_true(o->quota_bytes == 5ull << 30 && o->quota_used == 123);
	assert_int_equal(o->index_files, 10000);
	assert_int_equal(o->index_unparsed, 3);
	assert_true(o->index_pending == UINT64_MAX);
	assert_string_equal(o->device, "phone1");
	assert_int_equal(o->ncommands, VG_STATUS_LIST_MAX);
	assert_int_equal(o->nevents, 2);
	assert_string_equal(o->commands[31].by, "ctl1");
	assert_string_equal(o->events[1].detail, "ICCID 1 -> 2");
	assert_string_equal(o->sim_iccid, s->sim_iccid);
	/* Encoder clamps oversized lists; decoder refuses them. */
	s->ncommands = 1000;
	buf_init(&b, 1 << 20);
	proto_put_status(&b, s);
	assert_int_equal(decode(K_STATUS, b.data, b.len, o), 0);
	assert_int_equal(o->ncommands, VG_STATUS_LIST_MAX);
	buf_reset(&b);
	wire_put_str(&b, "d");
	wire_put_u8(&b, 0);
	wire_put_i64(&b, 0);
	wire_put_u64(&b, 0);
	wire_put_i64(&b, 0);
	wire_put_u8(&b, 0);
	wire_put_str(&b, "none");
	wire_put_u64(&b, 0);
	wire_put_u64(&b, 0);
	wire_put_str(&b, "");
	wire_put_str(&b, "");
	wire_put_i64(&b, 0);
	wire_put_u32(&b, VG_STATUS_LIST_MAX + 1);
	assert_int_equal(decode(K_STATUS, b.data, b.len, o), -EBADMSG);
	assert_int_equal(o->ncommands, 0);
	buf_free(&b);
	free(s);
	free(o);
}

/* Random bytes never crash a decoder. */
/* Request bodies: each field survives the round trip (every prefix is
 * refused), and the server-side decoders refuse bad paths and counts. */
static void test_proto_requests(void **state)
{
	struct vg_ls_req ls = { .dev = "phone1", .path = "/sdcard/DCIM", .at = -3, .recursive = 1 }, ols;
	struct vg_log_req lg = { .dev = "phone1", .path = "/a b/\xff" }, olg;
	struct vg_stat_req st = { .dev = "x", .path = "/", .version = UINT64_MAX, .at = INT64_MIN }, ost;
	struct vg_read_req rd = { .dev = "phone1", .path = "/f", .version = 9,
				  .off = 1ULL << 40, .len = 65536, .flags = VG_READ_VERIFIED }, ord;
	struct vg_status_req sr = { .dev = "Not-Valid but decodable" }, osr;
	struct vg_latest_req la = { .path = "/home/alice/notes.txt" }, ola;
	struct vg_sig_req sg = { .path = "/data/v.bin", .version = 77 }, osg;
	struct vg_search_req *q = calloc(1, sizeof(*q)), *oq = malloc(sizeof(*oq));
	struct buf b;
	uint32_t i;

	roundtrip(K_LS, &ls, &ols);
	assert_true(!strcmp(ols.dev, "phone1") && !strcmp(ols.path, ls.path) &&
		    ols.at == -3 && ols.recursive == 1);
	roundtrip(K_LOG, &lg, &olg);
	assert_true(!strcmp(olg.dev, lg.dev) && !strcmp(olg.path, lg.path));
	roundtrip(K_STAT, &st, &ost);
	assert_true(!strcmp(ost.path, "/") && ost.version == UINT64_MAX && ost.at == INT64_MIN);
	roundtrip(K_READ, &rd, &ord);
	assert_true(ord.version == 9 && ord.off == 1ULL << 40 && ord.len == 65536 &&
		    ord.flags == VG_READ_VERIFIED);
	/* a device name is the server's to judge (EINVAL, not a malformed request) */
	roundtrip(K_STATUS_REQ, &sr, &osr);
	assert_string_equal(osr.dev, sr.dev);
	roundtrip(K_LATEST, &la, &ola);
	assert_string_equal(ola.path, la.path);
	roundtrip(K_SIG, &sg, &osg);
	assert_true(!strcmp(osg.path, sg.path) && osg.version == 77);

	snprintf(q->dev, sizeof(q->dev), "phone1");
	q->all_versions = 1;
	for (q->nwords = 0; q->nwords <= VG_SEARCH_WORDS_MAX; q->nwords += 8) {
		for (i = 0; i < q->nwords; i++)
			snprintf(q->words[i], sizeof(q->words[i]), "w%u 中文 +86 138", i);
		roundtrip(K_SEARCH, q, oq);
		assert_int_equal(oq->nwords, q->nwords);
		assert_int_equal(oq->all_versions, 1);
		for (i = 0; i < q->nwords; i++)
			assert_string_equal(oq->words[i], q->words[i]);
	}
	memset(q->words[0], 'a', VG_SEARCH_WORD_MAX - 1);   /* the longest word */
	q->words[0][VG_SEARCH_WORD_MAX - 1] = '\0';
	q->nwords = 1;
	roundtrip(K_SEARCH, q, oq);
	assert_int_equal(strlen(oq->words[0]), VG_SEARCH_WORD_MAX - 1);

	buf_init(&b, 1 << 20);
	/* more words than the wire allows, and a word one byte too long */
	wire_put_str(&b, "phone1");
	wire_put_u8(&b, 0);
	wire_put_u32(&b, VG_SEARCH_WORDS_MAX + 1);
	for (i = 0; i <= VG_SEARCH_WORDS_MAX; i++)
		wire_put_str(&b, "w");
	assert_int_equal(decode(K_SEARCH, b.data, b.len, oq), -EBADMSG);
	assert_int_equal(oq->nwords, 0);
	buf_reset(&b);
	wire_put_str(&b, "phone1");
	wire_put_u8(&b, 0);
	wire_put_u32(&b, 1);
	memset(q->words[0], 'b', VG_SEARCH_WORD_MAX - 1);
	wire_put_blob(&b, q->words[0], VG_SEARCH_WORD_MAX);
	assert_int_equal(decode(K_SEARCH, b.data, b.len, oq), -EBADMSG);
	/* paths that are not absolute and clean are malformed requests */
	snprintf(ls.path, sizeof(ls.path), "/a/../etc");
	snprintf(rd.path, sizeof(rd.path), "relative");
	snprintf(la.path, sizeof(la.path), "/a//b");
	snprintf(sg.path, sizeof(sg.path), "%s", "");
	buf_reset(&b);
	proto_put_ls_req(&b, &ls);
	assert_int_equal(decode(K_LS, b.data, b.len, &ols), -EBADMSG);
	buf_reset(&b);
	proto_put_read_req(&b, &rd);
	assert_int_equal(decode(K_READ, b.data, b.len, &ord), -EBADMSG);
	buf_reset(&b);
	proto_put_latest_req(&b, &la);
	assert_int_equal(decode(K_LATEST, b.data, b.len, &ola), -EBADMSG);
	buf_reset(&b);
	proto_put_sig_req(&b, &sg);
	assert_int_equal(decode(K_SIG, b.data, b.len, &osg), -EBADMSG);
	/* a device name longer than VG_NAME_MAX - 1 bytes */
	buf_reset(&b);
	wire_put_str(&b, "0123456789012345678901234567890123456789012345678901234567890123");
	assert_int_equal(decode(K_STATUS_REQ, b.data, b.len, &osr), -EBADMSG);
	/* trailing bytes */
	buf_reset(&b);
	proto_put_status_req(&b, &sr);
	wire_put_u8(&b, 0);
	assert_int_equal(decode(K_STATUS_REQ, b.data, b.len, &osr), -EBADMSG);
	buf_free(&b);
	free(q);
	free(oq);
}

static void test_proto_garbage(void **state)
{
	unsigned seed = 7;
	uint8_t junk[4096];
	size_t most = 0;
	void *out;
	int k, i;

	for (k = K_ENTRY; k <= K_LAST; k++)
		most = size_of((enum kind)k) > most ? size_of((enum kind)k) : most;
	out = malloc(most);

	for (i = 0; i < 3000; i++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(junk)), j;

		for (j = 0; j < n; j++)
			junk[j] = (uint8_t)rand_r(&seed);
		if (n >= 4 && (rand_r(&seed) & 1)) {   /* a small first length */
			junk[0] = junk[1] = 0;
			junk[2] = 0;
			junk[3] = (uint8_t)(rand_r(&seed) % 16);
		}
		for (k = K_ENTRY; k <= K_LAST; k++)
			(void)decode((enum kind)k, junk, n, out);
	}
	free(out);
}

/* --- names --- */

static void test_names(void **state)
{
	static const struct { const char *s; bool ok; } names[] = {
		{ "phone1", true }, { "a", true }, { "0", true }, { "a.b-c_d", true },
		{ "vigil-server", true },
		{ "", false }, { "A", false }, { "Phone", false }, { ".a", false },
		{ "-a", false }, { "_a", false }, { "a b", false }, { "a/b", false },
		{ "a:b", false }, { "é", false }, { "a\n", false },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true },   /* 63 */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },  /* 64 */
	};
	static const struct { const char *s; bool ok; } paths[] = {
		{ "/", true }, { "/a", true }, { "/a/b.c", true }, { "/a/..b", true },
		{ "/a/b..", true }, { "/.hidden", true }, { "/a b/c", true },
		{ "", false }, { "a", false }, { "a/b", false }, { "//", false },
		{ "/a//b", false }, { "/a/", false }, { "/a/b/", false }, { "/..", false },
		{ "/a/..", false }, { "/a/../b", false }, { "/.", false }, { "/a/./b", false },
		{ "/./", false },
	};
	size_t i;
	char *longp;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (name_valid(names[i].s) != names[i].ok)
			fail_msg("name_valid(\"%s\") != %d", names[i].s, names[i].ok);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (path_valid(paths[i].s) != paths[i].ok)
			fail_msg("path_valid(\"%s\") != %d", paths[i].s, paths[i].ok);
	/* Length: PATH_MAX - 1 bytes is the longest valid path. */
	longp = malloc(PATH_MAX + 2);
	longp[0] = '/';
	memset(longp + 1, 'a', PATH_MAX);
	longp[PATH_MAX - 1] = '\0';
	assert_true(path_valid(longp));
	longp[PATH_MAX - 1] = 'a';
	longp[PATH_MAX] = '\0';
	assert_false(path_valid(longp));
	longp[PATH_MAX + 1] = '\0';
	longp[PATH_MAX] = 'a';
	assert_false(path_valid(longp));
	free(longp);
}

static void test_name_path_split(void **state)
{
	static const struct { const char *arg, *name, *path; int r; } cases[] = {
		{ "phone1", "phone1", "/", 0 },
		{ "phone1:/home/a", "phone1", "/home/a", 0 },
		{ "phone1:/home/a/", "phone1", "/home/a", 0 },
		{ "phone1:/", "phone1", "/", 0 },
		{ "phone1://", "phone1", "/", 0 },
		{ "phone1:/a:b", "phone1", "/a:b", 0 },
		{ "phone1:", NULL, NULL, -EINVAL },
		{ "phone1:rel", NULL, NULL, -EINVAL },
		{ "phone1:/a/../b", NULL, NULL, -EINVAL },
		{ "phone1:/a//b", NULL, NULL, -EINVAL },
		{ ":/a", NULL, NULL, -EINVAL },
		{ "Phone:/a", NULL, NULL, -EINVAL },
		{ "", NULL, NULL, -EINVAL },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:/x", NULL, NULL, -EINVAL },
	};
	char name[VG_NAME_MAX], path[PATH_MAX], small[4];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = name_path_split(cases[i].arg, name, sizeof(name), path, sizeof(path));

		if (r != cases[i].r)
			fail_msg("split(\"%s\") = %d", cases[i].arg, r);
		if (r == 0) {
			assert_string_equal(name, cases[i].name);
			assert_string_equal(path, cases[i].path);
		}
	}
	/* Output buffers too small: refused, not overrun. */
	assert_int_equal(name_path_split("phone1:/a", small, sizeof(small), path, sizeof(path)), -EINVAL);
	assert_int_equal(name_path_split("ab:/abcdef", name, sizeof(name), small, sizeof(small)), -EINVAL);
}

/* MSG_PUT_CUTS: a round trip; every prefix, no length, more than
 * VG_CUTS_MAX, a length of 0 or over CHUNK_MAX are refused. */
static int cuts_decode(const struct buf *b, size_t len, struct vg_put_cuts *o)
{
	struct wire_reader r;

	wire_reader_init(&r, b->data, len);
	proto_get_put_cuts(&r, o);
	return wire_done(&r);
}

static void test_proto_put_cuts(void **state)
{
	struct vg_put_cuts c = { .n = 3, .len = { 9697, 1, CHUNK_MAX } }, o;
	struct buf b;
	size_t i;

	buf_init(&b, VG_MSG_MAX);
	proto_put_put_cuts(&b, &c);
	assert_int_equal(b.len, 2 + 3 * 4);
	assert_int_equal(cuts_decode(&b, b.len, &o), 0);
	assert_int_equal(o.n, 3);
	assert_memory_equal(o.len, c.len, 3 * sizeof(c.len[0]));
	for (i = 0; i < b.len; i++)
		assert_true(cuts_decode(&b, i, &o) < 0);
	c.len[1] = 0;
	buf_reset(&b);
	proto_put_put_cuts(&b, &c);
	assert_true(cuts_decode(&b, b.len, &o) < 0);
	c.len[1] = CHUNK_MAX + 1;
	buf_reset(&b);
	proto_put_put_cuts(&b, &c);
	assert_true(cuts_decode(&b, b.len, &o) < 0);
	buf_reset(&b);
	wire_put_u16(&b, 0);
	assert_true(cuts_decode(&b, b.len, &o) < 0);
	buf_reset(&b);
	wire_put_u16(&b, VG_CUTS_MAX + 1);
	for (i = 0; i < VG_CUTS_MAX + 1; i++)
		wire_put_u32(&b, 4096);
	assert_true(cuts_decode(&b, b.len, &o) < 0);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_ints),
		cmocka_unit_test(test_wire_limits),
		cmocka_unit_test(test_proto_entry),
		cmocka_unit_test(test_proto_entry_hostile),
		cmocka_unit_test(test_proto_put),
		cmocka_unit_test(test_proto_small),
		cmocka_unit_test(test_proto_status),
		cmocka_unit_test(test_proto_requests),
		cmocka_unit_test(test_proto_garbage),
		cmocka_unit_test(test_proto_put_cuts),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_path_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
