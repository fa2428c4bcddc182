/* atport.c — the port half of the AT layer (fuse/at.h): a serial fd in raw
 * mode, one command at a time with a deadline, its reply lines told apart
 * from echo and unsolicited codes.
 *
 * Every wait is a poll() bounded by the command's deadline (monotonic
 * clock), the write included: a modem that stops reading, stops answering
 * or floods us cannot hold at_cmd() past its timeout.  A command that timed
 * out still owes a final result code; the next at_cmd() first drains it
 * (until that final code, AT_QUIET_MS without a byte, or AT_DRAIN_MS).
 * When the modem echoes and the drain gave up, lines before the new
 * command's echo are the old command's late answer and are dropped too. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "common/clock.h"
#include "fuse/at.h"

/* A late answer normally follows within a few characters' time; 200 ms of
 * silence at any baud rate means nothing more is coming. */
#define AT_QUIET_MS  200
/* Unsolicited codes arriving more often than AT_QUIET_MS (a flapping
 * +CREG) would keep the drain from ever seeing silence: it gives up after
 * AT_DRAIN_MS (or half the command's timeout) and lets the echo gate sort
 * the rest out. */
#define AT_DRAIN_MS  1000
#define AT_OWED_MAX  8          /* timed-out commands whose final codes we still expect */

struct at_port {
	int fd;
	at_urc_fn urc;
	void *urc_arg;
	struct at_splitter sp;
	char rbuf[512];                 /* read but not yet split */
	size_t rpos, rlen;
	unsigned owed;                  /* final codes owed by timed-out commands */
	bool partial;                   /* a command was cut off mid-write */
	bool echoes;                    /* the modem echoed the last completed command */
};

/* One command being collected. */
struct at_run {
	const char *cmd, *prefix;
	at_line_fn line;
	void *arg;
	bool gate;                      /* drop non-URC lines until the echo */
	bool echo_seen, stopped;
	size_t lines, bytes;
	int cb_rc, size_rc;
	enum at_final final;
	int code;
};

/* Handles one line; true when the wait it belongs to is over. */
typedef bool (*line_handler)(struct at_port *p, void *ctx, enum at_split kind, const char *line);

#define PUMP_QUIET      1
#define PUMP_LATE_READS 16      /* 8 KB read past a deadline, at most */

static int io_errno(int e)
{
	return (e == EIO || e == ENODEV || e == ENXIO || e == EPIPE) ? -EPIPE : -e;
}

static void urc_out(struct at_port *p, const char *line)
{
	if (p->urc)
		p->urc(p->urc_arg, line);
}

/* Splits what is buffered; returns true as soon as fn says done (the rest
 * stays buffered for the next wait). */
static bool pump_buffered(struct at_port *p, line_handler fn, void *ctx)
{
	while (p->rpos < p->rlen) {
		const char *s = p->rbuf + p->rpos;
		size_t n = p->rlen - p->rpos;
		enum at_split k = at_splitter_feed(&p->sp, &s, &n);

		p->rpos = p->rlen - n;
		if (k != AT_SPLIT_NONE && fn(p, ctx, k, p->sp.line))
			return true;
	}
	return false;
}

/* Reads once what poll() said was there: 0, or -EPIPE when the device is gone. */
static int fill(struct at_port *p, short revents)
{
	ssize_t r;

	if (!(revents & POLLIN))
		return (revents & (POLLHUP | POLLERR | POLLNVAL)) ? -EPIPE : 0;
	r = read(p->fd, p->rbuf, sizeof(p->rbuf));
	if (r == 0)
		return -EPIPE;
	if (r < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : io_errno(errno);
	p->rpos = 0;
	p->rlen = (size_t)r;
	return 0;
}

/* Feeds lines to fn until it says done (0), the deadline passes
 * (-ETIMEDOUT), quiet_ms pass without a byte (PUMP_QUIET; quiet_ms < 0:
 * never) or the device goes away (-EPIPE).  Once the deadline has passed,
 * up to PUMP_LATE_READS more reads take what is already pending, so a
 * stream that never pauses still ends at the deadline. */
static int pump(struct at_port *p, int64_t deadline, int quiet_ms, line_handler fn, void *ctx)
{
	int late = 0;

	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int64_t left;
		int wait, r;

		if (pump_buffered(p, fn, ctx))
			return 0;
		left = deadline - mono_ms();
		if (left <= 0 && late++ >= PUMP_LATE_READS)
			return -ETIMEDOUT;
		wait = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
		if (quiet_ms >= 0 && quiet_ms < wait)
			wait = quiet_ms;
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0 && quiet_ms >= 0 && wait == quiet_ms && left > quiet_ms)
			return PUMP_QUIET;
		if (r == 0 && left <= wait)
			return -ETIMEDOUT;
		if (r > 0 && (r = fill(p, pfd.revents)) < 0)
			return r;
	}
}

/* Between commands: URCs out, anything else dropped; a final code pays one
 * owed by a timed-out command.  Done when nothing is owed any more. */
static bool on_idle(struct at_port *p, void *ctx, enum at_split kind, const char *line)
{
	bool *draining = ctx;

	if (kind == AT_SPLIT_LINE && at_is_urc(line)) {
		urc_out(p, line);
		return false;
	}
	if (at_final_code(line, NULL) != AT_FINAL_NONE && p->owed > 0)
		p->owed--;
	return *draining && p->owed == 0;
}

int at_read_urcs(struct at_port *p)
{
	bool draining = false;
	int r = pump(p, mono_ms(), -1, on_idle, &draining);

	return r == -ETIMEDOUT ? 0 : r;
}

static int write_all(struct at_port *p, const char *s, size_t n, size_t *done, int64_t deadline)
{
	*done = 0;
	while (*done < n) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
		int64_t left = deadline - mono_ms();
		ssize_t w = write(p->fd, s + *done, n - *done);

		if (w > 0) {
			*done += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return io_errno(errno);
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) < 0 && errno != EINTR)
			return -errno;
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			return -EPIPE;
	}
	return 0;
}

/* Before a command: URCs that came meanwhile go out; the answers owed by
 * timed-out commands are drained until `until` at most.  Sets *gate when an
 * owed answer may still be on its way. */
static int settle(struct at_port *p, int64_t deadline, int64_t until, bool *gate)
{
	bool draining = true;
	size_t done;
	int r;

	*gate = false;
	if (p->partial) {               /* end the cut-off line; its ERROR is owed */
		r = write_all(p, "\r", 1, &done, deadline);
		if (r < 0)
			return r;
		p->partial = false;
		if (p->owed < AT_OWED_MAX)
			p->owed++;
	}
	if (p->owed == 0)
		return at_read_urcs(p);
	r = pump(p, until, AT_QUIET_MS, on_idle, &draining);
	if (r == PUMP_QUIET)            /* a line cut off that long ago is dead */
		at_splitter_init(&p->sp);
	if (r == PUMP_QUIET || r == -ETIMEDOUT) {
		*gate = p->echoes;      /* the answer is late or lost */
		p->owed = 0;
		r = 0;
	}
	return r;
}

static void deliver(struct at_run *run, const char *line)
{
	size_t len = strlen(line);

	if (run->lines >= AT_REPLY_LINES || run->bytes + len > AT_REPLY_BYTES) {
		run->size_rc = -EMSGSIZE;
		return;
	}
	run->lines++;
	run->bytes += len;
	if (run->stopped || !run->line)
		return;
	run->cb_rc = run->line(run->arg, line);
	run->stopped = run->cb_rc != 0;
}

static bool on_reply(struct at_port *p, void *ctx, enum at_split kind, const char *line)
{
	struct at_run *run = ctx;

	if (kind == AT_SPLIT_OVERLONG) {
		if (!run->gate)
			run->size_rc = -EMSGSIZE;
		return false;
	}
	if (!run->echo_seen && strcmp(line, run->cmd) == 0) {
		run->echo_seen = true;
		run->gate = false;
		return false;
	}
	if (run->prefix && strncmp(line, run->prefix, strlen(run->prefix)) == 0) {
		if (!run->gate)
			deliver(run, line);
		return false;
	}
	if (at_is_urc(line)) {
		urc_out(p, line);
		return false;
	}
	if (run->gate)
		return false;
	run->final = at_final_code(line, &run->code);
	if (run->final != AT_FINAL_NONE)
		return true;
	if (!run->prefix)
		deliver(run, line);
	return false;
}

static int send_cmd(struct at_port *p, const char *cmd, int64_t deadline)
{
	char buf[AT_LINE_MAX + 2];
	size_t n = strlen(cmd), done;
	int r;

	memcpy(buf, cmd, n);
	buf[n++] = '\r';
	r = write_all(p, buf, n, &done, deadline);
	if (r == -ETIMEDOUT && done > 0)
		p->partial = true;
	return r;
}

static int run_result(const struct at_run *run, int *err)
{
	if (run->cb_rc)
		return run->cb_rc;
	if (run->size_rc)
		return run->size_rc;
	if (run->final == AT_FINAL_OK)
		return 0;
	if (err)
		*err = run->final == AT_FINAL_ERROR ? -1 : run->code;
	return -EIO;
}

int at_cmd(struct at_port *p, const char *cmd, const char *prefix, int timeout_ms,
	   at_line_fn line, void *arg, int *err)
{
	struct at_run run = { .cmd = cmd, .prefix = prefix, .line = line, .arg = arg };
	int64_t now = mono_ms(), ms = timeout_ms > 0 ? timeout_ms : 0;
	int r;

	if (err)
		*err = 0;
	if (!p || !cmd || strlen(cmd) > AT_LINE_MAX || strpbrk(cmd, "\r\n") ||
	    (prefix && !prefix[0]))
		return -EINVAL;
	/* the drain leaves at least half the time to the command itself */
	r = settle(p, now + ms, now + (ms / 2 < AT_DRAIN_MS ? ms / 2 : AT_DRAIN_MS), &run.gate);
	if (r == 0)
		r = send_cmd(p, cmd, now + ms);
	if (r != 0)
		return r;
	r = pump(p, now + ms, -1, on_reply, &run);
	p->echoes = run.echo_seen;
	if (r == -ETIMEDOUT && p->owed < AT_OWED_MAX)
		p->owed++;
	if (r != 0)
		return r;
	return run_result(&run, err);
}

static speed_t baud_speed(unsigned baud)
{
	static const struct { unsigned baud; speed_t speed; } map[] = {
		{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 }, { 9600, B9600 },
		{ 19200, B19200 }, { 38400, B38400 }, { 57600, B57600 },
		{ 115200, B115200 }, { 230400, B230400 }, { 460800, B460800 },
		{ 500000, B500000 }, { 921600, B921600 }, { 1000000, B1000000 },
		{ 1500000, B1500000 }, { 2000000, B2000000 }, { 3000000, B3000000 },
		{ 4000000, B4000000 },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].baud == baud)
			return map[i].speed;
	return B0;
}

/* Raw 8N1, receiver on, modem lines ignored, no flow control of any kind. */
static int set_raw(int fd, unsigned baud)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	t.c_cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS);
	t.c_cflag |= CS8 | CREAD | CLOCAL;
	t.c_iflag &= ~(IXON | IXOFF | IXANY);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (baud && (cfsetispeed(&t, baud_speed(baud)) < 0 ||
		     cfsetospeed(&t, baud_speed(baud)) < 0))
		return -EINVAL;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

/* TIOCEXCL does not stop root (CAP_SYS_ADMIN) from opening the tty again,
 * so an exclusive flag already set (ModemManager sets it too) and a flock
 * held by another vigil-simfs count as busy as well. */
static int claim(int fd)
{
	int excl = 0;

	if (ioctl(fd, TIOCGEXCL, &excl) == 0 && excl)
		return -EBUSY;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (ioctl(fd, TIOCEXCL) < 0)
		return -errno;
	return 0;
}

int at_open(const char *path, unsigned baud, at_urc_fn urc, void *arg, struct at_port **out)
{
	struct at_port *p;
	int fd, r;

	*out = NULL;
	if (baud && baud_speed(baud) == B0)
		return -EINVAL;
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (!isatty(fd)) {
		r = -ENOTTY;
		goto fail;
	}
	if ((r = claim(fd)) < 0 || (r = set_raw(fd, baud)) < 0)
		goto fail;
	if (tcflush(fd, TCIFLUSH) < 0) {
		r = -errno;
		goto fail;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		r = -ENOMEM;
		goto fail;
	}
	p->fd = fd;
	p->urc = urc;
	p->urc_arg = arg;
	at_splitter_init(&p->sp);
	*out = p;
	return 0;
fail:
	if (r != -EBUSY)
		ioctl(fd, TIOCNXCL);
	close(fd);
	return r;
}

void at_close(struct at_port *p)
{
	if (!p)
		return;
	/* a pty slave's tty outlives this fd while its master is open */
	ioctl(p->fd, TIOCNXCL);
	close(p->fd);
	free(p);
}

int at_fd(const struct at_port *p)
{
	return p ? p->fd : -1;
}
