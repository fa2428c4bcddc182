/* test_atport.c — the port half of the AT layer (fuse/atport.c) on a real
 * pty, with a scripted modem thread on the master side (fake_modem.h):
 * replies with echo and URCs in between, error codes, a modem that never
 * answers or answers late, a URC storm, garbage and floods, over-long
 * lines and replies, a blocked write, hang-up, and exclusive opening. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <cmocka.h>

#include "fuse/at.h"
#include "tests/unit/fake_modem.h"

#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))

struct seen {
	size_t n, bytes;
	char *line[8];
	int stop_at;            /* 1-based line whose callback returns 7; 0: never */
};

static void seen_clear(struct seen *s)
{
	for (size_t i = 0; i < s->n && i < 8; i++)
		free(s->line[i]);
	memset(s, 0, sizeof(*s));
}

static int on_line(void *arg, const char *line)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->line[s->n] = strdup(line);
	s->n++;
	s->bytes += strlen(line);
	return s->stop_at && (int)s->n == s->stop_at ? 7 : 0;
}

static void on_urc(void *arg, const char *line)
{
	on_line(arg, line);
}

struct env {
	struct fake_modem fm;
	struct at_port *p;
	struct seen urcs, lines;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e || fm_init(&e->fm) || at_open(e->fm.path, 115200, on_urc, &e->urcs, &e->p))
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	at_close(e->p);
	fm_free(&e->fm);
	seen_clear(&e->urcs);
	seen_clear(&e->lines);
	free(e);
	return 0;
}

static void assert_lines(const struct seen *s, const char *const *want, size_t n)
{
	if (s->n != n)
		fail_msg("%zu lines, want %zu (first '%s')", s->n, n, s->n ? s->line[0] : "");
	for (size_t i = 0; i < n; i++)
		assert_string_equal(s->line[i], want[i]);
}

static int cmd(struct env *e, const char *c, const char *prefix, int ms, int *err)
{
	seen_clear(&e->lines);
	return at_cmd(e->p, c, prefix, ms, on_line, &e->lines, err);
}

static void test_open(void **state)
{
	struct env *e = *state;
	struct at_port *q = NULL;
	struct termios t;
	int fd = at_fd(e->p), excl = 0;

	assert_int_equal(tcgetattr(fd, &t), 0);
	assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), 0);
	assert_int_equal(t.c_iflag & (IXON | IXOFF | ICRNL), 0);
	assert_int_equal(t.c_oflag & OPOST, 0);
	assert_int_equal(t.c_cflag & (CSIZE | PARENB | CSTOPB | CRTSCTS), CS8);
	assert_int_equal(cfgetospeed(&t), B115200);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* qemu-user (make test-arm64) knows no TIOCGEXCL: ENOSYS, which a
	 * kernel never answers to an ioctl; the EBUSY below still checks */
	if (ioctl(fd, TIOCGEXCL, &excl) < 0 && errno == ENOSYS) {
		print_message("skip TIOCGEXCL: ioctl not emulated\n");
	} else {
		assert_int_equal(ioctl(fd, TIOCGEXCL, &excl), 0);
		assert_int_equal(excl, 1);
	}
	assert_int_equal(at_fd(NULL), -1);
	/* even root, whom TIOCEXCL lets through, gets EBUSY */
	assert_int_equal(at_open(e->fm.path, 0, NULL, NULL, &q), -EBUSY);
	assert_null(q);
	at_close(e->p);
	e->p = NULL;
	assert_int_equal(at_open(e->fm.path, 9600, NULL, NULL, &e->p), 0);
	assert_int_equal(at_open(e->fm.path, 12345, NULL, NULL, &q), -EINVAL);
	assert_int_equal(at_open("/dev/null", 0, NULL, NULL, &q), -ENOTTY);
	assert_int_equal(at_open("/nonexistent/tty", 0, NULL, NULL, &q), -ENOENT);
	at_close(NULL);
}

/* Bytes the modem sent before the open are neither URCs nor the first reply. */
static void test_flush_on_open(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = {
		{ "AT+CPBR=1,1", "\r\n+CPBR: 1,\"10086\",129,\"\"\r\n\r\nOK\r\n", 0, 0 },
	};
	static const char *const want[] = { "+CPBR: 1,\"10086\",129,\"\"" };
	static const char stale[] = "+CMTI: \"SM\",9\r\n+CPBR: 9,\"stale\",129,\"\"\r\nOK\r\n";

	at_close(e->p);
	assert_int_equal(write(e->fm.master, stale, sizeof(stale) - 1), sizeof(stale) - 1);
	usleep(50000);
	assert_int_equal(at_open(e->fm.path, 0, on_urc, &e->urcs, &e->p), 0);
	assert_int_equal(at_read_urcs(e->p), 0);
	assert_int_equal(e->urcs.n, 0);
	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+CPBR=1,1", "+CPBR:", 2000, NULL), 0);
	assert_lines(&e->lines, want, 1);
	assert_int_equal(e->urcs.n, 0);
	assert_int_equal(fm_join(&e->fm), 0);
}

static void test_replies(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = {
		{ "AT+CPBR=1,3", "+QIND: SMS DONE\r\nAT+CPBR=1,3\r\r\n"
		  "+CPBR: 1,\"13800138000\",129,\"5F204E09\"\r\n+CMTI: \"SM\",3\r\n"
		  "+CPBR: 3,\"+8613900139000\",145,\"\"\r\nRING\r\n\r\nOK\r\n", 0, 0 },
		{ "AT+CPIN?", "AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n", 0, 0 },
		{ "AT+CIMI", "\r\n+CPIN: READY\r\n460001234567890\r\n+QSIMSTAT: 1,1\r\n\r\nOK\r\n", 0, 0 },
		{ "AT+CNUM", "\r\n+CNUM: ,\"+8613800138000\",145\r\nnoise\r\n\r\nOK\r\n", 0, 0 },
	};
	static const char *const pb[] = { "+CPBR: 1,\"13800138000\",129,\"5F204E09\"",
					  "+CPBR: 3,\"+8613900139000\",145,\"\"" };
	static const char *const urcs[] = { "+QIND: SMS DONE", "+CMTI: \"SM\",3", "RING",
					    "+CPIN: READY", "+QSIMSTAT: 1,1" };
	static const char *const pin[] = { "+CPIN: READY" };
	static const char *const imsi[] = { "460001234567890" };
	static const char *const num[] = { "+CNUM: ,\"+8613800138000\",145" };
	int err = 99;

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+CPBR=1,3", "+CPBR:", 2000, &err), 0);
	assert_int_equal(err, 0);
	assert_lines(&e->lines, pb, 2);
	assert_int_equal(cmd(e, "AT+CPIN?", "+CPIN:", 2000, NULL), 0);
	assert_lines(&e->lines, pin, 1);
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 2000, NULL), 0);
	assert_lines(&e->lines, imsi, 1);
	assert_int_equal(cmd(e, "AT+CNUM", "+CNUM:", 2000, NULL), 0);
	assert_lines(&e->lines, num, 1);
	assert_lines(&e->urcs, urcs, 5);
	assert_int_equal(fm_join(&e->fm), 0);
}

static void test_errors(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = {
		{ "AT+CPBS=\"SM\"", "\r\nERROR\r\n", 0, 0 },
		{ "AT+CIMI", "AT+CIMI\r\r\n+CME ERROR: 10\r\n", 0, 0 },
		{ "AT+CMGL=4", "\r\n+CMS ERROR: 321\r\n", 0, 0 },
		{ "AT+CPIN?", "\r\n+CME ERROR: SIM not inserted\r\n", 0, 0 },
		{ "ATD123;", "\r\nNO CARRIER\r\n", 0, 0 },
		{ "AT", "\r\nOK\r\n", 0, 0 },
	};
	static const struct { const char *cmd; int err; } want[] = {
		{ "AT+CPBS=\"SM\"", -1 }, { "AT+CIMI", 10 }, { "AT+CMGL=4", 321 },
		{ "AT+CPIN?", -1 }, { "ATD123;", -1 },
	};
	int err;

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	for (size_t i = 0; i < NSTEPS(want); i++) {
		err = 99;
		assert_int_equal(cmd(e, want[i].cmd, NULL, 2000, &err), -EIO);
		assert_int_equal(err, want[i].err);
		assert_int_equal(e->lines.n, 0);
	}
	assert_int_equal(cmd(e, "AT", NULL, 2000, &err), 0);
	assert_int_equal(err, 0);
	assert_int_equal(fm_join(&e->fm), 0);
}

/* A call took at least lo ms (a deadline was honoured, not cut short) and
 * did not hang: hi plus a slack for a loaded machine (CI shares its two
 * CPUs), so scheduling delays never fail the test. */
#define TOOK_SLACK_MS 2000

static void assert_took(int64_t t0, int lo, int hi)
{
	int64_t ms = mono_ms() - t0;

	if (ms < lo || ms > hi + TOOK_SLACK_MS)
		fail_msg("took %lld ms, want %d..%d", (long long)ms, lo, hi);
}

/* No echo: the late answer comes while the next command drains it. */
static void test_timeout_late_answer(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = {
		{ "AT+COPS?", NULL, 0, 0 },
		{ NULL, "\r\n+COPS: 0,0,\"late\",7\r\n\r\nOK\r\n", 0, FM_GO },
		{ "AT+CIMI", "\r\n460001234567890\r\n\r\nOK\r\n", 0, 0 },
	};
	static const char *const imsi[] = { "460001234567890" };
	int64_t t0 = mono_ms();

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+COPS?", "+COPS:", 300, NULL), -ETIMEDOUT);
	assert_took(t0, 300, 600);
	fm_go(&e->fm);
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 2000, NULL), 0);
	assert_lines(&e->lines, imsi, 1);
	assert_int_equal(fm_join(&e->fm), 0);
}

/* Echo on: the late answer comes only after the next command was sent;
 * what precedes that command's echo is not its reply. */
static void test_timeout_echo_gate(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = {
		{ "AT+COPS?", "AT+COPS?\r", 0, 0 },
		{ "AT+CIMI", "\r\n+COPS: 0,0,\"late\",7\r\n+CMTI: \"SM\",1\r\n\r\nOK\r\n"
		  "AT+CIMI\r\r\n460001234567890\r\n\r\nOK\r\n", 0, 0 },
		{ "AT+CIMI", "AT+CIMI\r\r\n460001234567891\r\n\r\nOK\r\n", 0, 0 },
	};
	static const char *const imsi[] = { "460001234567890" }, *const imsi2[] = { "460001234567891" };
	static const char *const urcs[] = { "+CMTI: \"SM\",1" };
	int64_t t0 = mono_ms();

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+COPS?", "+COPS:", 300, NULL), -ETIMEDOUT);
	assert_took(t0, 300, 600);
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 2000, NULL), 0);
	assert_lines(&e->lines, imsi, 1);
	assert_lines(&e->urcs, urcs, 1);
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 2000, NULL), 0);
	assert_lines(&e->lines, imsi2, 1);
	assert_int_equal(fm_join(&e->fm), 0);
}

static void test_never_answers(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = {
		{ "AT+CIMI", NULL, 0, 0 },
		{ "AT+CIMI", "\x01\x02junk without end", 0, 0 },
		{ "AT+CIMI", "\r\n460001234567890\r\n\r\nOK\r\n", 0, 0 },
	};
	static const char *const imsi[] = { "460001234567890" };
	int64_t t0 = mono_ms();

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 250, NULL), -ETIMEDOUT);
	assert_took(t0, 250, 550);
	t0 = mono_ms();
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 600, NULL), -ETIMEDOUT);
	assert_took(t0, 600, 900);
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 2000, NULL), 0);
	assert_lines(&e->lines, imsi, 1);
	assert_int_equal(fm_join(&e->fm), 0);
}

/* Unsolicited codes every 50 ms never leave the drain a quiet moment: it
 * gives up on the lost answer instead of starving every later command. */
static void test_urc_storm(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = { { "AT+COPS?", NULL, 0, FM_STORM } };
	int64_t t0 = mono_ms();

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+COPS?", "+COPS:", 300, NULL), -ETIMEDOUT);
	assert_took(t0, 300, 600);
	t0 = mono_ms();
	assert_int_equal(cmd(e, "AT", NULL, 2000, NULL), 0);
	assert_took(t0, 900, 1900);
	assert_int_equal(e->lines.n, 0);
	assert_true(e->urcs.n >= 15);
	assert_int_equal(fm_join(&e->fm), 0);
}

static void test_garbage(void **state)
{
	struct env *e = *state;
	static const char junk[] = "\0\xff\x01garbage\x1b[2J\r\n\xfe\xfd\r\n\r\nOK\r\n";
	static const struct fm_step steps[] = {
		{ "AT+CIMI", junk, sizeof(junk) - 1, 0 },
		{ "AT+CPBR=1,250", "\r\n+CPBR: 1,", 0, FM_FLOOD },
		{ "AT", "\r\nOK\r\n", 0, 0 },
	};
	static const char *const want[] = { "\xffgarbage[2J", "\xfe\xfd" };
	int64_t t0;

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 2000, NULL), 0);
	assert_lines(&e->lines, want, 2);
	t0 = mono_ms();
	assert_int_equal(cmd(e, "AT+CPBR=1,250", "+CPBR:", 300, NULL), -ETIMEDOUT);
	assert_took(t0, 300, 600);
	assert_int_equal(cmd(e, "AT", NULL, 3000, NULL), 0);
	assert_int_equal(e->lines.n, 0);
	assert_int_equal(fm_join(&e->fm), 0);
}

/* A reply of n lines of width bytes each ("+CPBR: " and filler), then OK. */
static char *big_reply(size_t n, size_t width, size_t *len)
{
	char *s = malloc(n * (width + 2) + 16), *q = s;

	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		memcpy(q, "+CPBR: ", 7);
		memset(q + 7, 'A' + (char)(i % 26), width - 7);
		memcpy(q + width, "\r\n", 2);
		q += width + 2;
	}
	memcpy(q, "\r\nOK\r\n", 6);
	*len = (size_t)(q + 6 - s);
	return s;
}

static void test_overlong(void **state)
{
	struct env *e = *state;
	size_t l1, l2, l3, l4;
	char *one_more = big_reply(1, AT_LINE_MAX + 1, &l1), *exact = big_reply(1, AT_LINE_MAX, &l2);
	char *many = big_reply(AT_REPLY_LINES + 1, 20, &l3);
	char *huge = big_reply(AT_REPLY_BYTES / 1000 + 50, 1000, &l4);
	const struct fm_step steps[] = {
		{ "AT+CPBR=1", one_more, l1, 0 },
		{ "AT+CPBR=2", exact, l2, 0 },
		{ "AT+CPBR=3", many, l3, 0 },
		{ "AT+CPBR=4", huge, l4, 0 },
		{ "AT", "\r\nOK\r\n", 0, 0 },
	};

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+CPBR=1", "+CPBR:", 3000, NULL), -EMSGSIZE);
	assert_int_equal(e->lines.n, 0);
	assert_int_equal(cmd(e, "AT+CPBR=2", "+CPBR:", 3000, NULL), 0);
	assert_int_equal(e->lines.n, 1);
	assert_int_equal(strlen(e->lines.line[0]), AT_LINE_MAX);
	assert_int_equal(cmd(e, "AT+CPBR=3", "+CPBR:", 3000, NULL), -EMSGSIZE);
	assert_int_equal(e->lines.n, AT_REPLY_LINES);
	assert_int_equal(cmd(e, "AT+CPBR=4", NULL, 5000, NULL), -EMSGSIZE);
	assert_true(e->lines.bytes <= AT_REPLY_BYTES);
	assert_true(e->lines.bytes > AT_REPLY_BYTES - 1000);
	assert_int_equal(cmd(e, "AT", NULL, 2000, NULL), 0);
	assert_int_equal(e->lines.n, 0);
	assert_int_equal(fm_join(&e->fm), 0);
	free(one_more);
	free(exact);
	free(many);
	free(huge);
}

static void test_callback_stops(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = {
		{ "AT+CPBR=1,4", "+CPBR: 1\r\n+CPBR: 2\r\n+CPBR: 3\r\n+CPBR: 4\r\nOK\r\n", 0, 0 },
		{ "AT", "\r\nOK\r\n", 0, 0 },
	};

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	seen_clear(&e->lines);
	e->lines.stop_at = 2;
	assert_int_equal(at_cmd(e->p, "AT+CPBR=1,4", "+CPBR:", 2000, on_line, &e->lines, NULL), 7);
	assert_int_equal(e->lines.n, 2);
	assert_int_equal(cmd(e, "AT", NULL, 2000, NULL), 0);
	assert_int_equal(e->lines.n, 0);
	assert_int_equal(cmd(e, "AT\r+CFUN=0", NULL, 2000, NULL), -EINVAL);
	assert_int_equal(fm_join(&e->fm), 0);
}

static void test_read_urcs(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = {
		{ NULL, "+CMTI: \"SM\",4\r\nstray\r\nOK\r\n+QSIMSTAT: 0,0\r\n", 0, FM_GO },
		{ "AT", "\r\nOK\r\n", 0, 0 },
	};
	static const char *const urcs[] = { "+CMTI: \"SM\",4", "+QSIMSTAT: 0,0" };
	int64_t t0 = mono_ms();

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(at_read_urcs(e->p), 0);
	assert_took(t0, 0, 50);
	fm_go(&e->fm);
	while (e->urcs.n < 2 && mono_ms() - t0 < 2000) {
		struct pollfd pfd = { .fd = at_fd(e->p), .events = POLLIN };

		poll(&pfd, 1, 100);
		assert_int_equal(at_read_urcs(e->p), 0);
	}
	assert_lines(&e->urcs, urcs, 2);
	assert_int_equal(cmd(e, "AT", NULL, 2000, NULL), 0);
	assert_int_equal(e->lines.n, 0);
	assert_int_equal(fm_join(&e->fm), 0);
}

/* The modem stops taking our bytes (flow stopped): the write is bounded too. */
static void test_write_blocked(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = { { "AT", "\r\nOK\r\n", 0, 0 } };
	int64_t t0 = mono_ms();

	assert_int_equal(tcflow(at_fd(e->p), TCOOFF), 0);
	assert_int_equal(cmd(e, "AT", NULL, 300, NULL), -ETIMEDOUT);
	assert_took(t0, 300, 600);
	assert_int_equal(tcflow(at_fd(e->p), TCOON), 0);
	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT", NULL, 2000, NULL), 0);
	assert_int_equal(fm_join(&e->fm), 0);
}

/* ------------------------------------------------ random hostile replies */

#define ROUNDS 40

struct round {
	char cmd[32], *reply;
	size_t len;
	int want, err, pb;      /* rc, *err, +CPBR lines expected */
};

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void put(struct round *r, const char *s, size_t n)
{
	memcpy(r->reply + r->len, s, n);
	r->len += n;
}

/* One token of a reply body: a phonebook line, a URC, junk ended by CRLF,
 * bare line ends, a prompt, or an over-long line. */
static void token(struct round *r, uint32_t *x, bool *overlong)
{
	static const char *const urcs[] = { "RING\r\n", "\r\n+CMTI: \"SM\",3\r\n", "+CPIN: READY\n",
					    "\r+QIND: PB DONE\r", "+CREG: 1\r\n" };
	static const char *const ends[] = { "\r", "\n", "\r\n", "\n\r", "> " };
	char junk[24];
	size_t n;

	switch (rnd(x) % 6) {
	case 0:
	case 1:
		put(r, "\r\n+CPBR: 1,\"10086\",129,\"4E2D\"\r\n", 31);
		r->pb++;
		break;
	case 2:
		n = rnd(x) % 5;
		put(r, urcs[n], strlen(urcs[n]));
		break;
	case 3:
		n = rnd(x) % 20 + 1;
		for (size_t i = 0; i < n; i++) {
			junk[i] = (char)(rnd(x) & 0xff);
			if (junk[i] == '\r' || junk[i] == '\n' || junk[i] == '+' || junk[i] == '>')
				junk[i] = '\0';
		}
		put(r, junk, n);
		put(r, "\r\n", 2);
		break;
	case 4:
		n = rnd(x) % 5;
		put(r, ends[n], strlen(ends[n]));
		break;
	default:
		if (rnd(x) % 4 == 0) {
			memset(r->reply + r->len, 'x', AT_LINE_MAX + 5);
			r->len += AT_LINE_MAX + 5;
			put(r, "\r\n", 2);
			*overlong = true;
		}
	}
}

/* Builds round i and what at_cmd must return for it: a timeout without a
 * final code, or when the previous command timed out after its echo (the
 * port then waits for this command's echo, which may not come). */
static void make_round(struct round *r, int i, uint32_t *x, bool *gate)
{
	static const struct { const char *s; int rc, err; } finals[] = {
		{ "\r\nOK\r\n", 0, 0 }, { "\r\nERROR\r\n", -EIO, -1 },
		{ "\r\n+CME ERROR: 10\r\n", -EIO, 10 }, { "\r\n+CMS ERROR: 5\r\n", -EIO, 5 },
		{ "\r\nNO CARRIER\r\n", -EIO, -1 },
	};
	bool echo = rnd(x) % 2, overlong = false, final = rnd(x) % 5 != 0;
	int f = (int)(rnd(x) % 5), ntok = (int)(rnd(x) % 8);

	snprintf(r->cmd, sizeof(r->cmd), "AT+CPBR=%d,%d", i, i + 9);
	r->reply = malloc(16 * (AT_LINE_MAX + 64));
	assert_non_null(r->reply);
	if (echo) {
		put(r, r->cmd, strlen(r->cmd));
		put(r, "\r", 1);
	}
	for (int t = 0; t < ntok; t++)
		token(r, x, &overlong);
	if (final)
		put(r, finals[f].s, strlen(finals[f].s));
	r->err = 0;
	if (!final || (*gate && !echo)) {
		r->want = -ETIMEDOUT;
	} else {
		r->want = overlong ? -EMSGSIZE : finals[f].rc;
		r->err = overlong ? 0 : finals[f].err;
	}
	*gate = r->want == -ETIMEDOUT && echo;
}

static void dump(const struct round *r)
{
	for (size_t k = 0; k < r->len; k++) {
		unsigned char c = (unsigned char)r->reply[k];

		fprintf(stderr, isprint(c) ? "%c" : "\\x%02x", c);
	}
	fprintf(stderr, "\n");
}

/* Seed 2 (AT_SEED overrides it) gives timeouts, gated rounds, over-long
 * lines, every final code and clean replies among its 40 rounds.  The
 * timeout is long enough that a loaded machine (CI runs beside other
 * work) still delivers every reply that is meant to arrive in time. */
#define ROUND_TIMEOUT_MS 1000
static void test_random_replies(void **state)
{
	struct env *e = *state;
	struct round r[ROUNDS];
	struct fm_step steps[ROUNDS];
	uint32_t x = getenv("AT_SEED") ? (uint32_t)strtoul(getenv("AT_SEED"), NULL, 0) : 2;
	bool gate = false;

	for (int i = 0; i < ROUNDS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		make_round(&r[i], i, &x, &gate);
		steps[i] = (struct fm_step){ r[i].cmd, r[i].reply, r[i].len, 0 };
	}
	assert_int_equal(fm_start(&e->fm, steps, ROUNDS), 0);
	for (int i = 0; i < ROUNDS; i++) {
		int64_t t0 = mono_ms();
		int err = 99, rc = cmd(e, r[i].cmd, "+CPBR:", ROUND_TIMEOUT_MS, &err);

		if (rc != r[i].want || (rc == -EIO && err != r[i].err)) {
			dump(&r[i]);
			fail_msg("round %d: rc %d err %d, want %d err %d", i, rc, err, r[i].want,
				 r[i].err);
		}
		if (rc != -ETIMEDOUT && rc != -EMSGSIZE && e->lines.n != (size_t)r[i].pb)
			fail_msg("round %d: %zu lines, want %d", i, e->lines.n, r[i].pb);
		assert_took(t0, 0, ROUND_TIMEOUT_MS + 1000);
	}
	assert_int_equal(fm_join(&e->fm), 0);
	for (int i = 0; i < ROUNDS; i++)
		free(r[i].reply);
}

static void test_hangup(void **state)
{
	struct env *e = *state;
	static const struct fm_step steps[] = { { "AT+CIMI", "\r\n4600", 0, FM_GO | FM_HANGUP } };
	int64_t t0 = mono_ms();

	assert_int_equal(fm_start(&e->fm, steps, NSTEPS(steps)), 0);
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 200, NULL), -ETIMEDOUT);
	fm_go(&e->fm);
	t0 = mono_ms();
	assert_int_equal(cmd(e, "AT+CIMI", NULL, 5000, NULL), -EPIPE);
	assert_took(t0, 0, 1000);
	assert_int_equal(fm_join(&e->fm), 0);
	assert_int_equal(at_read_urcs(e->p), -EPIPE);
	assert_int_equal(cmd(e, "AT", NULL, 5000, NULL), -EPIPE);
	assert_took(t0, 0, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_on_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_late_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_echo_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_urc_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_urcs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_blocked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
