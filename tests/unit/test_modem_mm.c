/* test_modem_mm.c — the ModemManager source (fuse/modem_mm*.c) against
 * tests/integration/helpers/fakemm.py on a private dbus-daemon: the
 * snapshot, the events of a SIM swap, removal, new message and modem
 * unplug, and failures (ModemManager killed or hung, the bus gone) that
 * must end in an error, never a hang.  Then the value helpers on hostile
 * input.  Skips when dbus-daemon or /usr/bin/python3 is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuse/modem_mm_int.h"

#define PYTHON "/usr/bin/python3"
#define DEFAULT_ICCID "89860012345678901234"

struct fx {
	char dir[64], ctl[96], addr[128];
	pid_t bus, fake;
	struct modem *m;
};

static char g_dbus[PATH_MAX], g_fakemm[PATH_MAX];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool find_dbus_daemon(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s:/usr/bin:/bin", path ? path : "");
	for (char *save, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(g_dbus, sizeof(g_dbus), "%s/dbus-daemon", d);
		if (access(g_dbus, X_OK) == 0)
			return true;
	}
	return false;
}

/* fakemm.py from the source tree: the current directory (make unit runs
 * from the top) or three levels above this binary (build/tests/x). */
static bool find_fakemm(void)
{
	const char *rel = "tests/integration/helpers/fakemm.py";
	char exe[PATH_MAX];
	ssize_t n;

	snprintf(g_fakemm, sizeof(g_fakemm), "%s", rel);
	if (access(g_fakemm, R_OK) == 0)
		return true;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (int up = 0; up < 3; up++)
		*strrchr(exe, '/') = '\0';
	if (snprintf(g_fakemm, sizeof(g_fakemm), "%s/%s", exe, rel) >= (int)sizeof(g_fakemm))
		return false;
	return access(g_fakemm, R_OK) == 0;
}

static pid_t spawn(char *const argv[], bool quiet)
{
	pid_t p = fork();

	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		if (quiet)
			dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return p;
}

static bool wait_path(const char *path, int ms)
{
	for (int64_t end = now_ms() + ms; now_ms() < end; usleep(10000))
		if (access(path, F_OK) == 0)
			return true;
	return false;
}

static void start_bus(struct fx *f)
{
	char conf[128], sock[96], cfgarg[160];
	FILE *c;

	snprintf(conf, sizeof(conf), "%s/bus.conf", f->dir);
	snprintf(sock, sizeof(sock), "%s/bus", f->dir);
	c = fopen(conf, "w");
	assert_non_null(c);
	fprintf(c, "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig><type>session</type><listen>unix:path=%s</listen>"
		"<auth>EXTERNAL</auth><policy context=\"default\">"
		"<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>"
		"<allow own=\"*\"/></policy></busconfig>\n", sock);
	fclose(c);
	snprintf(cfgarg, sizeof(cfgarg), "--config-file=%s", conf);
	f->bus = spawn((char *[]){ g_dbus, cfgarg, "--nofork", NULL }, true);
	assert_true(f->bus > 0);
	assert_true(wait_path(sock, 5000));
	snprintf(f->addr, sizeof(f->addr), "unix:path=%s", sock);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", f->addr, 1);
}

static void start_fake(struct fx *f)
{
	char ready[96];

	snprintf(ready, sizeof(ready), "%s/ready", f->dir);
	snprintf(f->ctl, sizeof(f->ctl), "%s/ctl", f->dir);
	f->fake = spawn((char *[]){ PYTHON, g_fakemm, "--address", f->addr, "--control",
				   f->ctl, "--ready-file", ready, NULL }, false);
	assert_true(f->fake > 0);
	assert_true(wait_path(ready, 15000));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256] = "";

	*state = f;
	if (!find_dbus_daemon() || access(PYTHON, X_OK) != 0 || !find_fakemm())
		return 0;               /* f->m NULL: the test skips */
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-mm-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	start_bus(f);
	start_fake(f);
	assert_int_equal(modem_mm_ops.open(&f->m, "mm", 0, err, sizeof(err)), 0);
	return 0;
}

static void stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGCONT);
	kill(*pid, SIGTERM);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	const char *files[] = { "ready", "ctl", "bus", "bus.conf" };
	char p[128];

	modem_mm_ops.close(f->m);
	stop(&f->fake);
	stop(&f->bus);
	for (size_t i = 0; f->dir[0] && i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	if (f->dir[0])
		rmdir(f->dir);
	free(f);
	return 0;
}

static struct fx *need(void **state)
{
	struct fx *f = *state;

	if (!f->m)
		skip();
	return f;
}

static void control(struct fx *f, const char *line)
{
	int fd = open(f->ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
}

/* Polls modem_fd() as simfs's poller does: the events() mask with
 * MODEM_EV_REREAD, 0 if none came within ms, or events()'s -errno. */
/* How long an event may take to come through dbus-daemon and the fake's
 * Python main loop on a loaded machine (CI shares two CPUs): a bound on
 * hanging, not a latency target. */
#define EVENT_WAIT_MS 10000

static int wait_reread(struct fx *f, int ms)
{
	struct pollfd p = { .fd = modem_mm_ops.fd(f->m), .events = POLLIN };
	int64_t end = now_ms() + ms;
	int r;

	assert_true(p.fd >= 0);
	while (now_ms() < end) {
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			continue;
		r = modem_mm_ops.events(f->m);
		if (r < 0 || (r & MODEM_EV_REREAD))
			return r;
	}
	return 0;
}

static int read_snap(struct fx *f, struct sim_snapshot *s, char *err, size_t errlen)
{
	err[0] = '\0';
	return modem_mm_ops.read(f->m, s, err, errlen);
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&tm);
}

static void assert_default_sim(const struct sim_snapshot *s)
{
	assert_true(s->id.present);
	assert_string_equal(s->id.iccid, DEFAULT_ICCID);
	assert_string_equal(s->id.imsi, "460001234567890");
	assert_string_equal(s->id.operator_name, "CHINA MOBILE");
	assert_int_equal(s->id.nmsisdn, 1);
	assert_string_equal(s->id.msisdn[0], "+8613800138000");
	assert_false(s->phonebook_ok);
	assert_int_equal(s->ncontacts, 0);
	assert_true(s->sms_ok);
	/* the two on the SIM (the AT fake's 1 and 2); the one in the modem's
	 * memory is left out */
	assert_int_equal(s->nsms, 2);
	assert_int_equal(s->sms[0].index, 1);
	assert_string_equal(s->sms[0].text, "Hello from vigil! Price: 5€ [ok]");
	assert_string_equal(s->sms[0].peer, "+8613912345678");
	assert_int_equal(s->sms[0].status, SMS_READ);
	assert_int_equal(s->sms[0].time_s, 1780272060);
	assert_int_equal(s->sms[0].tz_minutes, 0);
	assert_int_equal(s->sms[0].parts, 1);
	assert_int_equal(s->sms[0].parts_missing, 0);
	assert_int_equal(s->sms[1].index, 2);
	assert_string_equal(s->sms[1].text, "你好，明天见😀");
	assert_string_equal(s->sms[1].peer, "+8613800138001");
	assert_int_equal(s->sms[1].time_s, 1780272120);
}

static void t_snapshot(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];

	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	assert_default_sim(&s);
	sim_snapshot_free(&s);
	/* nothing changed: no event */
	assert_int_equal(wait_reread(f, 300), 0);
}

static void t_swap(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];
	int64_t t0;

	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	sim_snapshot_free(&s);
	control(f, "swap 89860099999999999999 460009999999999\n");
	t0 = now_ms();
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	assert_true(now_ms() - t0 < EVENT_WAIT_MS);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	assert_true(s.id.present);
	assert_string_equal(s.id.iccid, "89860099999999999999");
	assert_string_equal(s.id.imsi, "460009999999999");
	assert_int_equal(s.id.nmsisdn, 0);
	assert_true(s.sms_ok);
	assert_int_equal(s.nsms, 0);            /* a new SIM: nothing stored on it */
	sim_snapshot_free(&s);
}

static void t_remove_insert(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];

	control(f, "remove\n");
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	assert_false(s.id.present);
	assert_string_equal(s.id.iccid, "");
	assert_false(s.sms_ok);
	sim_snapshot_free(&s);
	control(f, "insert\n");
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	assert_default_sim(&s);
	sim_snapshot_free(&s);
}

static void t_sms_add(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];
	time_t now = time(NULL);

	control(f, "sms-add 新短信 arrived\n");
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nsms, 3);
	assert_string_equal(s.sms[2].text, "新短信 arrived");
	assert_int_equal(s.sms[2].index, 3);
	assert_int_equal(s.sms[2].tz_minutes, 480);
	assert_true(s.sms[2].time_s >= now - 5 && s.sms[2].time_s <= now + 5);
	sim_snapshot_free(&s);
}

/* A sent one: no timestamp, so it sorts first and renumbers the others. */
static void t_sms_sent(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];

	control(f, "sms-sent +8613700137000 短信备份测试\n");
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nsms, 3);
	assert_int_equal(s.sms[0].index, 1);
	assert_string_equal(s.sms[0].text, "短信备份测试");
	assert_string_equal(s.sms[0].peer, "+8613700137000");
	assert_int_equal(s.sms[0].status, SMS_SENT);
	assert_int_equal(s.sms[0].time_s, 0);
	assert_int_equal(s.sms[1].index, 2);
	assert_int_equal(s.sms[1].time_s, 1780272060);
	sim_snapshot_free(&s);
}

/* Changes that cannot change the snapshot: a GPS fix does not even make
 * the fd readable (the bus drops it), a signal-quality update is read and
 * ignored.  A swap after them still comes through. */
static void t_quiet(void **state)
{
	struct fx *f = need(state);
	struct pollfd p = { .fd = modem_mm_ops.fd(f->m), .events = POLLIN };

	control(f, "location\n");
	assert_int_equal(poll(&p, 1, 500), 0);
	control(f, "signal-quality 70\n");
	assert_int_equal(wait_reread(f, 500), 0);
	control(f, "swap 89860099999999999999 460009999999999\n");
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
}

/* Values not to trust: the ICCID of the wrong type and the IMSI too long
 * stay empty (not cut), the operator loses its line break, only the one
 * well-formed own number is kept. */
static void t_hostile(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];

	control(f, "hostile\n");
	/* the fake is single-threaded: it answers the read only after all
	 * three changes of that control line */
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	assert_true(s.id.present);
	assert_string_equal(s.id.iccid, "");
	assert_string_equal(s.id.imsi, "");
	assert_string_equal(s.id.operator_name, "EVIL key=value");
	assert_int_equal(s.id.nmsisdn, 1);
	assert_string_equal(s.id.msisdn[0], "+8613800138000");
	assert_true(s.sms_ok);
	sim_snapshot_free(&s);
}

static void t_unplug(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];

	control(f, "unplug\n");
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), -ENODEV);
	assert_true(err[0] != '\0');
	control(f, "plug\n");
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), 0);
	assert_default_sim(&s);
	sim_snapshot_free(&s);
}

static void t_fake_killed(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];
	int64_t t0;

	kill(f->fake, SIGKILL);
	waitpid(f->fake, NULL, 0);
	f->fake = 0;
	/* the name's owner left: NameOwnerChanged */
	assert_true(wait_reread(f, EVENT_WAIT_MS) & MODEM_EV_REREAD);
	t0 = now_ms();
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), -ENODEV);
	assert_true(now_ms() - t0 < MODEM_CMD_TIMEOUT_MS);   /* refused, not timed out */
	assert_true(err[0] != '\0');
	assert_int_equal(s.nsms, 0);
	assert_null(s.sms);
}

static void t_fake_hung(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];
	int64_t t0;

	kill(f->fake, SIGSTOP);
	t0 = now_ms();
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= MODEM_CMD_TIMEOUT_MS - 100);
	assert_true(now_ms() - t0 < MODEM_CMD_TIMEOUT_MS + 1500);
	assert_true(err[0] != '\0');
	kill(f->fake, SIGCONT);
}

static void t_bus_gone(void **state)
{
	struct fx *f = need(state);
	struct sim_snapshot s;
	char err[256];

	kill(f->bus, SIGKILL);
	waitpid(f->bus, NULL, 0);
	f->bus = 0;
	assert_int_equal(wait_reread(f, EVENT_WAIT_MS), -EPIPE);
	assert_int_equal(read_snap(f, &s, err, sizeof(err)), -EPIPE);
	assert_true(err[0] != '\0');
}

static void t_no_bus(void **state)
{
	struct modem *m = (struct modem *)1;
	char err[256] = "";

	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/vigil-test-bus", 1);
	assert_true(modem_mm_ops.open(&m, "mm", 0, err, sizeof(err)) < 0);
	assert_null(m);
	assert_true(err[0] != '\0');
	modem_mm_ops.close(NULL);
}

/* ModemManager's timestamps and hostile ones. */
static void t_iso_time(void **state)
{
	static const struct {
		const char *in;
		int rc;
		int64_t t;
		int tz;
	} cases[] = {
		{ "2026-11-28T10:15:00+08:00", 0, 0, 480 },
		{ "2026-11-28T02:15:00Z", 0, 0, 0 },
		{ "2026-11-28T02:15:00", 0, 0, 0 },             /* no zone: UTC */
		{ "2026-11-28T02:15:00.123456Z", 0, 0, 0 },
		{ "2026-11-28T07:45:00+05:30", 0, 0, 330 },
		{ "2026-11-27T22:15:00-0400", 0, 0, -240 },
		{ "2026-11-28T10:15:00+08", 0, 0, 480 },
		{ "", -EINVAL, 0, 0 },
		{ "now", -EINVAL, 0, 0 },
		{ "-1d", -EINVAL, 0, 0 },
		{ "@1700000000", -EINVAL, 0, 0 },
		{ "2026-11-28", -EINVAL, 0, 0 },
		{ "2026-11-28T02:15:00+25:00", -EINVAL, 0, 0 },
		{ "2026-11-28T02:15:00+08:60", -EINVAL, 0, 0 },
		{ "2026-11-28T02:15:00+8", -EINVAL, 0, 0 },
		{ "2026-11-28T02:15:00+08:00junk", -EINVAL, 0, 0 },
		{ "2026-13-28T02:15:00Z", -EINVAL, 0, 0 },
		{ "2026-11-28T02:15:00.1234567890123Z", -EINVAL, 0, 0 },
		{ "20261128T021500Z", -EINVAL, 0, 0 },
	};
	int64_t t;
	int tz;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = mm_iso_time(cases[i].in, &t, &tz);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(t, utc(2026, 11, 28, 2, 15, 0));
			assert_int_equal(tz, cases[i].tz);
		} else {
			assert_int_equal(t, 0);
			assert_int_equal(tz, 0);
		}
	}
}

/* Bounded copies: a cut never splits a UTF-8 sequence, identities and
 * numbers that do not fit or hold other characters are refused. */
static void t_copies(void **state)
{
	char b[8], big[SIM_ICCID_MAX];

	mm_copy_text(b, sizeof(b), "abcdef");
	assert_string_equal(b, "abcdef");
	mm_copy_text(b, sizeof(b), "abcdefgh");
	assert_string_equal(b, "abcdefg");
	mm_copy_text(b, sizeof(b), "ab你好");          /* 2 + 3 + 3 bytes */
	assert_string_equal(b, "ab你");
	mm_copy_text(b, sizeof(b), "abcdef\xf0\x9f\x98\x80");  /* an emoji at the cut */
	assert_string_equal(b, "abcdef");
	mm_copy_line(b, sizeof(b), "a\nb\tc\x7f");
	assert_string_equal(b, "a b c ");
	mm_copy_line(b, 1, "abc");
	assert_string_equal(b, "");
	assert_true(mm_copy_digits(big, sizeof(big), "89860012345678901234"));
	assert_string_equal(big, "89860012345678901234");
	assert_false(mm_copy_digits(big, sizeof(big), "8986001234\n5678901234"));
	assert_string_equal(big, "");
	assert_false(mm_copy_digits(big, sizeof(big), "12345678901234567890123456789012"));
	assert_true(mm_copy_digits(big, sizeof(big), ""));
	assert_true(mm_copy_number(b, sizeof(b), "+86138"));
	assert_false(mm_copy_number(b, sizeof(b), "+8613800138000"));   /* does not fit */
	assert_string_equal(b, "");
	assert_false(mm_copy_number(b, sizeof(b), "10086 x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(t_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(t_remove_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(t_sms_add, setup, teardown),
		cmocka_unit_test_setup_teardown(t_sms_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(t_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(t_unplug, setup, teardown),
		cmocka_unit_test_setup_teardown(t_fake_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(t_fake_hung, setup, teardown),
		cmocka_unit_test_setup_teardown(t_bus_gone, setup, teardown),
		cmocka_unit_test(t_no_bus),
		cmocka_unit_test(t_iso_time),
		cmocka_unit_test(t_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
