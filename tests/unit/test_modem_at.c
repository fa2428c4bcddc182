/* test_modem_at.c — the AT modem source against the fake EG25-G
 * (tests/integration/helpers/fakemodem.py on a real pty): the snapshot it
 * reads (identity, UCS2 names with CJK and emoji, number types, SMS joined),
 * SIM swap / removal / PIN, interleaved URCs, hostile replies (garbage,
 * truncated, over-long, none) within bounded time, and the modem vanishing
 * and coming back.  Plus the reply-field parsers on hostile lines. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fuse/modem.h"
#include "fuse/modem_at.h"

#ifndef PYTHON
#define PYTHON "/usr/bin/python3"     /* Debian's (not a pyenv one first on PATH) */
#endif
#define HELPER "tests/integration/helpers/fakemodem.py"

struct fake {
	char dir[64], link[96], ctl[96], log[96];
	pid_t pid;
	struct modem *m;
	struct sim_snapshot s;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The helper beside the test binary's tree (build/tests/x -> ../../), else
 * relative to the current directory (make runs tests from the top). */
static void
helper_path(char *out, size_t outlen)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	int up;

	snprintf(out, outlen, "%s", HELPER);
	if (n <= 0)
		return;
	exe[n] = '\0';
	for (up = 0; up < 3 && (slash = strrchr(exe, '/')) != NULL; up++)
		*slash = '\0';
	if (up == 3 && snprintf(out, outlen, "%s/%s", exe, HELPER) < (int)outlen &&
	    access(out, R_OK) == 0)
		return;
	snprintf(out, outlen, "%s", HELPER);
}

static bool
wait_path(const char *path, int ms)
{
	int64_t end = now_ms() + ms;

	while (access(path, F_OK) != 0) {
		if (now_ms() > end)
			return false;
		usleep(20000);
	}
	return true;
}

/* Writes one control line; -errno when the fake is gone (O_NONBLOCK: a
 * FIFO without its reader gives ENXIO instead of blocking for ever). */
static int
ctl_try(struct fake *f, const char *line)
{
	int fd = open(f->ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	size_t n = strlen(line);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, line, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
		rc = -EIO;
	close(fd);
	return rc;
}

static void
ctl(struct fake *f, const char *line)
{
	int rc = ctl_try(f, line);

	if (rc != 0)
		fail_msg("control \"%s\": %s", line, strerror(-rc));
}

static int
setup(void **state)
{
	static struct fake f;
	char helper[PATH_MAX];

	*state = NULL;
	if (access(PYTHON, X_OK) != 0)
		return 0;               /* each test skips (a skip here is an error) */
	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/vigil-modemat.XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.link, sizeof(f.link), "%s/tty", f.dir);
	snprintf(f.ctl, sizeof(f.ctl), "%s/ctl", f.dir);
	snprintf(f.log, sizeof(f.log), "%s/log", f.dir);
	helper_path(helper, sizeof(helper));
	f.pid = fork();
	assert_true(f.pid >= 0);
	if (f.pid == 0) {
		execl(PYTHON, PYTHON, helper, "--link", f.link, "--control", f.ctl, "--log", f.log,
		      (char *)NULL);
		_exit(127);
	}
	assert_true(wait_path(f.link, 10000));
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fake *f = *state;
	int64_t end;
	int st;

	if (f == NULL)
		return 0;
	end = now_ms() + 3000;
	sim_snapshot_free(&f->s);
	modem_at_ops.close(f->m);
	f->m = NULL;
	ctl_try(f, "quit");
	while (waitpid(f->pid, &st, WNOHANG) == 0 && now_ms() < end)
		usleep(20000);
	if (kill(f->pid, 0) == 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, &st, 0);
	}
	if (getenv("KEEP") == NULL) {
		unlink(f->log);
		unlink(f->ctl);
		rmdir(f->dir);
	}
	return 0;
}

/* The test's fake modem, or a skip when there is no python to run it. */
static struct fake *
fake_of(void **state)
{
	if (*state == NULL)
		skip();
	return *state;
}

static void
open_modem(struct fake *f)
{
	char err[256] = "";
	int rc = modem_at_ops.open(&f->m, f->link, 115200, err, sizeof(err));

	if (rc != 0)
		fail_msg("open %s: %d %s", f->link, rc, err);
	assert_true(modem_at_ops.fd(f->m) >= 0);
}

static int
read_snapshot(struct fake *f)
{
	char err[256] = "";

	sim_snapshot_free(&f->s);
	return modem_at_ops.read(f->m, &f->s, err, sizeof(err));
}

/* Waits for the fd and returns what events() says (0 when nothing came). */
static int
wait_events(struct fake *f, int ms)
{
	struct pollfd p = { .fd = modem_at_ops.fd(f->m), .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return 0;
	return modem_at_ops.events(f->m);
}

static const struct sim_contact *
contact(const struct sim_snapshot *s, unsigned index)
{
	size_t i;

	for (i = 0; i < s->ncontacts; i++)
		if (s->contacts[i].index == index)
			return &s->contacts[i];
	return NULL;
}

static void
check_contact(const struct sim_snapshot *s, unsigned index, const char *name, const char *num,
	      int type)
{
	const struct sim_contact *c = contact(s, index);

	if (c == NULL)
		fail_msg("no contact %u", index);
	assert_string_equal(c->name, name);
	assert_string_equal(c->number, num);
	assert_int_equal(c->type, type);
}

/* SIM A as fakemodem.py's docstring describes it. */
static void
check_sim_a(const struct sim_snapshot *s)
{
	char longtext[512] = "";
	int i;

	assert_true(s->id.present);
	assert_string_equal(s->id.iccid, "89860012345678901234");
	assert_string_equal(s->id.imsi, "460001234567890");
	assert_string_equal(s->id.operator_name, "CHINA MOBILE");
	assert_int_equal(s->id.nmsisdn, 1);
	assert_string_equal(s->id.msisdn[0], "+8613800138000");

	assert_true(s->phonebook_ok);
	assert_int_equal(s->ncontacts, 6);
	check_contact(s, 1, "张三", "+8613800138001", 145);
	check_contact(s, 2, "Mia 😀", "+8613800138002", 145);
	check_contact(s, 3, "", "10086", 129);
	check_contact(s, 4, "李四", "13912345678", 129);
	check_contact(s, 42, "Smith, John", "075512345678", 129);
	check_contact(s, 250, "Last", "+447700900250", 145);

	assert_true(s->sms_ok);
	assert_int_equal(s->nsms, 3);
	assert_int_equal(s->sms[0].index, 1);
	assert_string_equal(s->sms[0].text, "Hello from vigil! Price: 5€ [ok]");
	assert_string_equal(s->sms[0].peer, "+8613912345678");
	assert_int_equal(s->sms[1].index, 2);
	assert_string_equal(s->sms[1].text, "你好，明天见😀");
	for (i = 0; i < 7; i++)
		strncat(longtext, "This is a long message stored on the SIM in three parts. ",
			sizeof(longtext) - strlen(longtext) - 1);
	longtext[400] = '\0';
	assert_int_equal(s->sms[2].index, 3);
	assert_int_equal(s->sms[2].parts, 3);
	assert_int_equal(s->sms[2].parts_missing, 0);
	assert_string_equal(s->sms[2].text, longtext);
}

static void
test_snapshot(void **state)
{
	struct fake *f = fake_of(state);

	open_modem(f);
	assert_int_equal(read_snapshot(f), 0);
	check_sim_a(&f->s);
	/* a second read (the modem's charset is UCS2 from the first) is the same */
	assert_int_equal(read_snapshot(f), 0);
	check_sim_a(&f->s);
}

static void
test_swap(void **state)
{
	struct fake *f = fake_of(state);

	open_modem(f);
	assert_int_equal(read_snapshot(f), 0);
	ctl(f, "swap");
	assert_int_equal(wait_events(f, 3000) & MODEM_EV_REREAD, MODEM_EV_REREAD);
	assert_int_equal(read_snapshot(f), 0);
	assert_true(f->s.id.present);
	assert_string_equal(f->s.id.iccid, "8944110012345678901");     /* its 'F' gone */
	assert_string_equal(f->s.id.imsi, "234150987654321");
	assert_string_equal(f->s.id.operator_name, "vodafone UK");
	assert_int_equal(f->s.ncontacts, 2);
	check_contact(&f->s, 1, "Alice", "+447700900123", 145);
	check_contact(&f->s, 2, "Bob", "07700900456", 129);
	assert_int_equal(f->s.nsms, 1);

	/* a swap in the middle of a read (before its 7th command, the switch to
	 * UCS2 after the identity): one snapshot, of the new SIM only */
	ctl(f, "after 7 swap");
	assert_int_equal(read_snapshot(f), 0);
	assert_string_equal(f->s.id.iccid, "89860012345678901234");
	assert_int_equal(f->s.ncontacts, 6);
	check_contact(&f->s, 1, "张三", "+8613800138001", 145);

	ctl(f, "swap 8931440000000000017 204080000000001");
	assert_int_equal(wait_events(f, 3000) & MODEM_EV_REREAD, MODEM_EV_REREAD);
	assert_int_equal(read_snapshot(f), 0);
	assert_string_equal(f->s.id.iccid, "8931440000000000017");
	assert_string_equal(f->s.id.imsi, "204080000000001");
}

static void
test_remove_insert_pin(void **state)
{
	struct fake *f = fake_of(state);

	open_modem(f);
	ctl(f, "remove");
	assert_int_equal(wait_events(f, 3000) & MODEM_EV_REREAD, MODEM_EV_REREAD);
	assert_int_equal(read_snapshot(f), 0);
	assert_false(f->s.id.present);
	assert_string_equal(f->s.id.iccid, "");
	assert_false(f->s.phonebook_ok);
	assert_false(f->s.sms_ok);

	ctl(f, "insert");
	assert_int_equal(wait_events(f, 3000) & MODEM_EV_REREAD, MODEM_EV_REREAD);
	assert_int_equal(read_snapshot(f), 0);
	check_sim_a(&f->s);

	/* PIN asked: present, ICCID readable, the rest not */
	ctl(f, "pin on");
	assert_int_equal(read_snapshot(f), 0);
	assert_true(f->s.id.present);
	assert_string_equal(f->s.id.iccid, "89860012345678901234");
	assert_string_equal(f->s.id.imsi, "");
	assert_false(f->s.phonebook_ok);
	assert_false(f->s.sms_ok);
}

static void
test_interleave_numhex(void **state)
{
	struct fake *f = fake_of(state);

	open_modem(f);
	ctl(f, "interleave on");
	assert_int_equal(read_snapshot(f), 0);
	check_sim_a(&f->s);
	ctl(f, "interleave off");
	ctl(f, "numhex on");
	assert_int_equal(read_snapshot(f), 0);
	check_sim_a(&f->s);
}

static void
test_edits(void **state)
{
	struct fake *f = fake_of(state);
	const struct sim_sms *last;

	open_modem(f);
	ctl(f, "pb-set 7 145 8613911112222 Zoë Ü, \"x\"");
	ctl(f, "pb-set 8 129 ABC");      /* not a number: skipped */
	ctl(f, "pb-del 3");
	ctl(f, "sms-text 20 +8613800000009 你好 two parts: "
	       "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
	       "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十");
	ctl(f, "sms-add 30 1 00FFFF");   /* a broken PDU: skipped */
	assert_int_equal(read_snapshot(f), 0);
	assert_int_equal(f->s.ncontacts, 6);
	check_contact(&f->s, 7, "Zoë Ü, \"x\"", "+8613911112222", 145);
	assert_null(contact(&f->s, 3));
	assert_null(contact(&f->s, 8));
	assert_int_equal(f->s.nsms, 4);
	last = &f->s.sms[3];
	assert_int_equal(last->index, 20);
	assert_int_equal(last->parts, 2);
	assert_non_null(strstr(last->text, "你好 two parts: 一二三"));
}

/* Each hostile mode: the read fails (or is partial) within bounded time,
 * never hangs; back to normal, the same port reads the full SIM again. */
static void
test_hostile_modes(void **state)
{
	static const char *const modes[] = { "garbage", "truncate", "overlong", "silent" };
	struct fake *f = fake_of(state);
	size_t i;

	open_modem(f);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char line[32];
		int64_t t0;
		int rc;

		snprintf(line, sizeof(line), "mode %s", modes[i]);
		ctl(f, line);
		t0 = now_ms();
		rc = read_snapshot(f);
		if (now_ms() - t0 > 2 * MODEM_CMD_TIMEOUT_MS + 4000)   /* + slack for a loaded CI */
			fail_msg("mode %s: read took %lld ms", modes[i], (long long)(now_ms() - t0));
		if (rc == 0 && f->s.phonebook_ok && f->s.sms_ok)
			fail_msg("mode %s: a full read succeeded", modes[i]);
		ctl(f, "mode normal");
		assert_int_equal(read_snapshot(f), 0);
		check_sim_a(&f->s);
	}
}

static void
test_vanish(void **state)
{
	struct fake *f = fake_of(state);
	int64_t end;
	int ev = 0;

	open_modem(f);
	assert_int_equal(read_snapshot(f), 0);
	ctl(f, "vanish 1");
	for (end = now_ms() + 10000; ev != -EPIPE && now_ms() < end;)
		ev = wait_events(f, 500);
	assert_int_equal(ev, -EPIPE);
	modem_at_ops.close(f->m);
	f->m = NULL;
	usleep(100000);
	assert_true(wait_path(f->link, 5000));
	open_modem(f);
	assert_int_equal(read_snapshot(f), 0);
	check_sim_a(&f->s);
}

/* -------------------------------------------------- parsers, hostile */

static void
test_fields(void **state)
{
	static const struct { const char *line; int n; const char *f1; } cases[] = {
		{ "+CPBR: 1,\"123\",129,\"5F20\"", 4, "123" },
		{ "+CPBR: 1,\"a,b\",129", 3, "a,b" },
		{ "+CPBR: 1,,129", 3, "" },
		{ "+CPBR:   7 , \"x\" ,  9", 3, "x" },
		{ "+CPBR: 1,\"unclosed", -EINVAL, NULL },
		{ "+CPBR: 1,\"x\"y,3", -EINVAL, NULL },
		{ "+CPBX: 1", -EINVAL, NULL },
		{ "+CPBR: ", 1, NULL },
		{ "+CPBR: 1,2,3,4,5,6,7,8,9,10", 4, "2" },
	};
	struct mat_field f[4];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = mat_fields(cases[i].line, "+CPBR:", f, 4);

		if (n != cases[i].n)
			fail_msg("\"%s\": %d fields, want %d", cases[i].line, n, cases[i].n);
		if (cases[i].f1 != NULL &&
		    (f[1].n != strlen(cases[i].f1) || memcmp(f[1].s, cases[i].f1, f[1].n) != 0))
			fail_msg("\"%s\": field 1 is %.*s", cases[i].line, (int)f[1].n, f[1].s);
	}
}

static void
test_numbers(void **state)
{
	static const struct { const char *in; int type; const char *out; } cases[] = {
		{ "8613800138000", 145, "+8613800138000" },
		{ "+8613800138000", 145, "+8613800138000" },
		{ "075512345678", 129, "075512345678" },
		{ "002B0038003600310033", 145, "+8613" },          /* UCS2 hex digits */
		{ "00310032", 129, "12" },
		{ "0086", 129, "0086" },                            /* hex, but no digit: as is */
		{ "*100#", 129, "*100#" },
		{ "", 129, NULL },
		{ "12+3", 129, NULL },
		{ "ABC", 129, NULL },
		{ "123\x01", 129, NULL },
		{ "0123456789012345678901234567890123456789012345678901", 129, NULL },
	};
	char out[SIM_NUMBER_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mat_field f = { cases[i].in, strlen(cases[i].in), true };
		int rc = mat_number(&f, cases[i].type, out, sizeof(out));

		if (cases[i].out == NULL && rc == 0)
			fail_msg("\"%s\" accepted as %s", cases[i].in, out);
		if (cases[i].out != NULL && (rc != 0 || strcmp(out, cases[i].out) != 0))
			fail_msg("\"%s\": rc %d, %s; want %s", cases[i].in, rc, rc ? "" : out,
				 cases[i].out);
	}
}

static void
test_text_and_urcs(void **state)
{
	struct mat_field hex = { "5F204E09", 8, true }, odd = { "5F2", 3, true };
	struct mat_field ira = { "Caf\xc3\xa9\x01", 6, true };
	char out[16];

	assert_int_equal(mat_text(&hex, true, out, sizeof(out)), 0);
	assert_string_equal(out, "张三");
	assert_int_equal(mat_text(&odd, true, out, sizeof(out)), -EINVAL);
	assert_int_equal(mat_text(&ira, false, out, sizeof(out)), 0);
	assert_string_equal(out, "Caf???");
	assert_int_equal(mat_text(&hex, true, out, 4), 0);    /* cut at a character */
	assert_string_equal(out, "张");

	assert_true(mat_sim_urc("+QSIMSTAT: 1,0"));
	assert_true(mat_sim_urc("+CPIN: NOT READY"));
	assert_true(mat_sim_urc("+CMTI: \"SM\",3"));
	assert_true(mat_sim_urc("+QUSIM: 1"));
	assert_true(mat_sim_urc("+QIND: PB DONE"));
	assert_false(mat_sim_urc("RING"));
	assert_false(mat_sim_urc("+QIND: \"csq\",23,99"));
	assert_false(mat_sim_urc("+CREG: 1"));
	assert_false(mat_sim_urc(""));
}

static void
test_id_lines(void **state)
{
	static const struct { const char *line; const char *iccid; } iccids[] = {
		{ "+QCCID: 89860012345678901234", "89860012345678901234" },
		{ "+QCCID: 8944110012345678901F", "8944110012345678901" },
		{ "+CCID: \"8944110012345678901f\"", "8944110012345678901" },
		{ "89860012345678901234", "89860012345678901234" },
		{ "^ICCID: 89860012345678901234", "89860012345678901234" },
		{ "+QCCID: 8986F0012345678901", NULL },          /* F inside */
		{ "+QCCID: 123", NULL },
		{ "+QCCID: 898600123456789012345678901", NULL },
		{ "+QCCID: 89860012345678901234 x", NULL },
		{ "+QCCID", NULL },
		{ "", NULL },
		{ "FFFFFFFFFFFF", NULL },
	};
	static const struct { const char *line; const char *imsi; } imsis[] = {
		{ "460001234567890", "460001234567890" }, { "46000", "46000" },
		{ "4600", NULL }, { "4600012345678901", NULL }, { "46000 123", NULL },
		{ "+CIMI: 460001234567890", NULL },
	};
	char out[SIM_ICCID_MAX];
	size_t i;

	for (i = 0; i < sizeof(iccids) / sizeof(iccids[0]); i++) {
		int rc = mat_iccid(iccids[i].line, out, sizeof(out));

		if ((rc == 0) != (iccids[i].iccid != NULL) ||
		    (rc == 0 && strcmp(out, iccids[i].iccid) != 0))
			fail_msg("\"%s\": rc %d", iccids[i].line, rc);
	}
	for (i = 0; i < sizeof(imsis) / sizeof(imsis[0]); i++) {
		int rc = mat_imsi(imsis[i].line, out, sizeof(out));

		if ((rc == 0) != (imsis[i].imsi != NULL) || (rc == 0 && strcmp(out, imsis[i].imsi) != 0))
			fail_msg("\"%s\": rc %d", imsis[i].line, rc);
	}
	assert_int_equal(mat_cpin("+CPIN: READY"), MAT_CPIN_READY);
	assert_int_equal(mat_cpin("+CPIN: SIM PIN"), MAT_CPIN_LOCKED);
	assert_int_equal(mat_cpin("+CPIN: SIM PUK2"), MAT_CPIN_LOCKED);
	assert_int_equal(mat_cpin("+CPIN: NOT READY"), MAT_CPIN_NOT_READY);
	assert_int_equal(mat_cpin("+CPIN"), MAT_CPIN_NONE);
	assert_int_equal(mat_cpin("+CPIN: ??"), MAT_CPIN_NONE);
	assert_int_equal(mat_cnum("+CNUM: \"Own\",\"8613800138000\",145", out, sizeof(out)), 0);
	assert_string_equal(out, "+8613800138000");
	assert_int_equal(mat_cnum("+CNUM: ,\"13800138000\",129", out, sizeof(out)), 0);
	assert_string_equal(out, "13800138000");
	assert_int_equal(mat_cnum("+CNUM: \"Own\",\"\",145", out, sizeof(out)), -EINVAL);
	assert_int_equal(mat_cnum("+CNUM: \"Own\",\"123\"", out, sizeof(out)), -EINVAL);
	assert_int_equal(mat_cnum("+CNUM: \"Own\",\"123\",999", out, sizeof(out)), -EINVAL);
}

static void
test_op_pb_sms_lines(void **state)
{
	struct sim_contact e;
	unsigned a = 0, b = 0;
	char op[SIM_OPERATOR_MAX];

	assert_int_equal(mat_cops("+COPS: 0,0,\"CHINA MOBILE\",7", false, op, sizeof(op)), 0);
	assert_string_equal(op, "CHINA MOBILE");
	assert_int_equal(mat_cops("+COPS: 0,0,\"004300480049004E0041\",7", true, op, sizeof(op)), 0);
	assert_string_equal(op, "CHINA");
	assert_int_equal(mat_cops("+COPS: 0,2,\"46000\",7", true, op, sizeof(op)), 0);
	assert_string_equal(op, "46000");
	assert_int_equal(mat_cops("+COPS: 0", false, op, sizeof(op)), -ENOENT);
	assert_int_equal(mat_cops("+COPS: 0,0,\"00430", true, op, sizeof(op)), -EINVAL);
	assert_int_equal(mat_cops("+COPS: 0,9,\"x\"", false, op, sizeof(op)), -EINVAL);

	assert_int_equal(mat_cpbr_range("+CPBR: (1-250),40,14", &a, &b), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 250);
	assert_int_equal(mat_cpbr_range("+CPBR: (0-0),40,14", &a, &b), 0);
	assert_int_equal(mat_cpbr_range("+CPBR: (5-1),40,14", &a, &b), -EINVAL);
	assert_int_equal(mat_cpbr_range("+CPBR: (1-99999999999999999999)", &a, &b), -EINVAL);
	assert_int_equal(mat_cpbr_range("+CPBR: (-1-5)", &a, &b), -EINVAL);
	assert_int_equal(mat_cpbr_range("+CPBR: (1-", &a, &b), -EINVAL);
	assert_int_equal(mat_cpbr_range("+CPBR: 1-250", &a, &b), -EINVAL);

	assert_int_equal(mat_cpbr_entry("+CPBR: 1,\"8613800138001\",145,\"5F204E09\"", true, &e), 0);
	assert_int_equal(e.index, 1);
	assert_string_equal(e.number, "+8613800138001");
	assert_string_equal(e.name, "张三");
	assert_int_equal(mat_cpbr_entry("+CPBR: 2,\"10086\",129", true, &e), 0);
	assert_string_equal(e.name, "");
	assert_int_equal(mat_cpbr_entry("+CPBR: 3,\"10086\",129,\"D83D\"", true, &e), 0);
	assert_string_equal(e.name, "\xef\xbf\xbd");            /* a lone surrogate: U+FFFD */
	assert_int_equal(mat_cpbr_entry("+CPBR: 3,\"10086\",129,\"5F2\"", true, &e), -EINVAL);
	assert_int_equal(e.index, 0);
	assert_int_equal(mat_cpbr_entry("+CPBR: 3,\"10086\"", true, &e), -EINVAL);
	assert_int_equal(mat_cpbr_entry("+CPBR: x,\"10086\",129", true, &e), -EINVAL);
	assert_int_equal(mat_cpbr_entry("+CPBR: 3,\"10\"086\",129", true, &e), -EINVAL);
	assert_int_equal(mat_cpbr_entry("+CPBR: 99999,\"1\",129", true, &e), -EINVAL);

	assert_int_equal(mat_cmgl_header("+CMGL: 3,1,,160", &a, &b), 0);
	assert_int_equal(a, 3);
	assert_int_equal(b, 1);
	assert_int_equal(mat_cmgl_header("+CMGL: 3,\"REC READ\",,160", &a, &b), -EINVAL);
	assert_int_equal(mat_cmgl_header("+CMGL: 3,4,,160", &a, &b), -EINVAL);
	assert_int_equal(mat_cmgl_header("+CMGL: 3", &a, &b), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_text_and_urcs),
		cmocka_unit_test(test_id_lines),
		cmocka_unit_test(test_op_pb_sms_lines),
		cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_insert_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleave_numhex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanish, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
