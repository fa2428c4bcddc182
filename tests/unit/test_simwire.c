/* test_simwire.c — the datagrams vigil-simfs sends vigild
 * (common/simwire.c) and struct vg_sim (common/proto.c): a round trip of
 * every kind, the exact bytes of one, every truncation, and hostile
 * datagrams (version, kind, paths, range counts, trailing bytes, SIM
 * fields) each refused with -EPROTO. */
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

#include "common/simwire.h"

static struct simw_msg *msg_of(uint8_t kind)
{
	static struct simw_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.time_ns = 1700000000123456789LL;
	if (kind != SIMW_SIM)
		snprintf(m.path, sizeof(m.path), "/home/user/sim/phonebook.vcf");
	if (kind == SIMW_RANGES) {
		m.nranges = 2;
		m.ranges[0].off = 0;
		m.ranges[0].len = 10;
		m.ranges[1].off = 4096;
		m.ranges[1].len = (1ULL << 62) - 4096;   /* to the end (TRK_EOF) */
	}
	if (kind == SIMW_SIM) {
		m.sim = (struct vg_sim){ .time_ns = 42, .present = 1, .allowed = 1,
					 .iccid = "89860012345678901234", .imsi = "460001234567890" };
		snprintf(m.sim.operator_name, sizeof(m.sim.operator_name), "中国移动");
	}
	return &m;
}

static void encode(const struct simw_msg *m, struct buf *b)
{
	buf_init(b, SIMW_MAX);
	simw_encode(b, m);
	assert_int_equal(wire_buf_error(b), 0);
}

static void test_round_trip(void **state)
{
	struct simw_msg out;
	struct buf b;

	for (uint8_t k = SIMW_CHANGED; k <= SIMW_SIM; k++) {
		const struct simw_msg *m = msg_of(k);

		encode(m, &b);
		assert_int_equal(simw_decode(b.data, b.len, &out), 0);
		assert_int_equal(out.kind, k);
		assert_true(out.time_ns == m->time_ns);
		assert_string_equal(out.path, m->path);
		assert_int_equal(out.nranges, m->nranges);
		assert_memory_equal(out.ranges, m->ranges, sizeof(out.ranges));
		assert_memory_equal(&out.sim, &m->sim, sizeof(out.sim));
		/* every shorter datagram is refused */
		for (size_t n = 0; n < b.len; n++)
			assert_int_equal(simw_decode(b.data, n, &out), -EPROTO);
		buf_free(&b);
	}
}

/* The bytes simfs (or any sender) must produce: big-endian, u32 lengths. */
static void test_exact_bytes(void **state)
{
	static const uint8_t want[] = {
		1, SIMW_CLOSED, 0, 0, 0, 0, 0, 0, 0x01, 0x02,    /* version, kind, time 258 */
		0, 0, 0, 2, '/', 'a',                            /* path */
	};
	struct simw_msg m = { .kind = SIMW_CLOSED, .time_ns = 258, .path = "/a" };
	struct buf b;

	encode(&m, &b);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	buf_free(&b);
}

/* A message of the maximum size fits SIMW_MAX. */
static void test_max_size(void **state)
{
	struct simw_msg *m = msg_of(SIMW_RANGES);
	struct simw_msg out;
	struct buf b;

	memset(m->path, 'x', PATH_MAX - 1);
	m->path[0] = '/';
	m->path[PATH_MAX - 1] = '\0';
	m->nranges = SIMW_RANGES_MAX;
	encode(m, &b);
	assert_true(b.len <= SIMW_MAX);
	assert_int_equal(simw_decode(b.data, b.len, &out), 0);
	assert_int_equal(out.nranges, SIMW_RANGES_MAX);
	buf_free(&b);
}

/* Builds a datagram by hand: header, then whatever tail. */
static void raw(struct buf *b, uint8_t version, uint8_t kind, const char *path)
{
	buf_init(b, SIMW_MAX + 4096);
	wire_put_u8(b, version);
	wire_put_u8(b, kind);
	wire_put_i64(b, 1);
	wire_put_str(b, path);
}

static void refused(struct buf *b, const char *what)
{
	struct simw_msg out;

	if (simw_decode(b->data, b->len, &out) != -EPROTO)
		fail_msg("accepted: %s", what);
	buf_free(b);
}

static void test_hostile_header(void **state)
{
	static const char *const bad_paths[] = { "", "rel/a", "/a/", "/a/../b", "/a//b", "/./a" };
	struct buf b;

	raw(&b, 2, SIMW_CHANGED, "/a");
	refused(&b, "version 2");
	raw(&b, 0, SIMW_CHANGED, "/a");
	refused(&b, "version 0");
	raw(&b, 1, 0, "/a");
	refused(&b, "kind 0");
	raw(&b, 1, SIMW_SIM + 1, "/a");
	refused(&b, "kind 7");
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		raw(&b, 1, SIMW_RESCAN, bad_paths[i]);
		refused(&b, bad_paths[i]);
	}
	raw(&b, 1, SIMW_CHANGED, "/a");
	wire_put_u8(&b, 0);
	refused(&b, "a trailing byte");
	raw(&b, 1, SIMW_MOUNT, "/a");
	wire_put_u32(&b, 0);
	refused(&b, "a range count on MOUNT");
	buf_init(&b, 64);
	wire_put_u8(&b, 1);
	wire_put_u8(&b, SIMW_CHANGED);
	wire_put_i64(&b, 1);
	wire_put_u32(&b, 0xffffffffu);   /* a path length past the datagram */
	refused(&b, "a huge path length");
	buf_init(&b, 64);
	wire_put_u8(&b, 1);
	wire_put_u8(&b, SIMW_CHANGED);
	wire_put_i64(&b, 1);
	wire_put_blob(&b, "/a\0b", 4);
	refused(&b, "a NUL inside the path");
}

static void test_hostile_ranges(void **state)
{
	struct buf b;

	raw(&b, 1, SIMW_RANGES, "/a");
	wire_put_u32(&b, 0);
	refused(&b, "no ranges");
	raw(&b, 1, SIMW_RANGES, "/a");
	wire_put_u32(&b, SIMW_RANGES_MAX + 1);
	for (int i = 0; i <= SIMW_RANGES_MAX; i++) {
		wire_put_u64(&b, 0);
		wire_put_u64(&b, 1);
	}
	refused(&b, "65 ranges");
	raw(&b, 1, SIMW_RANGES, "/a");
	wire_put_u32(&b, 2);
	wire_put_u64(&b, 0);
	wire_put_u64(&b, 1);
	refused(&b, "fewer ranges than counted");
	raw(&b, 1, SIMW_RANGES, "/a");
	wire_put_u32(&b, 1);
	wire_put_u64(&b, UINT64_MAX);
	wire_put_u64(&b, 1);
	refused(&b, "a range whose end overflows");
	raw(&b, 1, SIMW_RANGES, "/a");
	refused(&b, "no range count");
}

static void put_sim(struct buf *b, uint8_t present, uint8_t allowed, const char *iccid)
{
	raw(b, 1, SIMW_SIM, "");
	wire_put_i64(b, 5);
	wire_put_u8(b, present);
	wire_put_u8(b, allowed);
	wire_put_str(b, iccid);
	wire_put_str(b, "460");
	wire_put_str(b, "op");
}

static void test_hostile_sim(void **state)
{
	struct simw_msg out;
	char longs[40];
	struct buf b;

	put_sim(&b, 1, 0, "8986");
	assert_int_equal(simw_decode(b.data, b.len, &out), 0);   /* the baseline is good */
	buf_free(&b);
	raw(&b, 1, SIMW_SIM, "/a");
	refused(&b, "a path on SIM");
	raw(&b, 1, SIMW_SIM, "");
	refused(&b, "no sim body");
	put_sim(&b, 2, 0, "8986");
	refused(&b, "present 2");
	put_sim(&b, 1, 7, "8986");
	refused(&b, "allowed 7");
	put_sim(&b, 1, 0, "89\n86");
	refused(&b, "a newline in the ICCID");
	memset(longs, '9', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	put_sim(&b, 1, 0, longs);
	refused(&b, "an ICCID of 39 digits");
	put_sim(&b, 1, 0, "8986");
	wire_put_u8(&b, 0);
	refused(&b, "a trailing byte after the sim");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_hostile_header),
		cmocka_unit_test(test_hostile_ranges),
		cmocka_unit_test(test_hostile_sim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
