/* fake_modem.h — a scripted modem on the master side of a real pty, run
 * by a thread, for the AT port tests: it waits for each expected command
 * line, then writes the scripted bytes (echo, URCs and reply as the script
 * spells them), possibly only after the test says go, possibly flooding
 * garbage or hanging up.  Header-only, included by one test file. */
#ifndef VIGIL_TEST_FAKE_MODEM_H
#define VIGIL_TEST_FAKE_MODEM_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define FM_GO     1     /* wait for fm_go() before writing */
#define FM_HANGUP 2     /* close the master after writing */
#define FM_FLOOD  4     /* then write garbage without line ends for 600 ms */
#define FM_STORM  8     /* then "+CREG: 1" every 50 ms for 2.5 s, answering OK to commands */

struct fm_step {
	const char *expect;     /* command line awaited (without "\r"); NULL: none */
	const char *reply;      /* NULL: write nothing */
	size_t len;             /* 0: strlen(reply) */
	unsigned flags;
};

struct fake_modem {
	int master, keep;       /* keep: a slave fd holding the pty up */
	char path[64];
	const struct fm_step *steps;
	size_t nsteps;
	int go[2];
	int bad_step;           /* 1 + index of a step whose command differed */
	char in[8192];
	size_t inlen;
	pthread_t th;
	bool running;
};

/* Reads from the master until a whole "\r"-ended command is there; empty
 * command lines (a lone CR) are skipped. */
static int fm_read_cmd(struct fake_modem *fm, char *cmd, size_t cap)
{
	for (;;) {
		char *cr = memchr(fm->in, '\r', fm->inlen);
		ssize_t r;

		if (cr) {
			size_t n = (size_t)(cr - fm->in);

			if (n > 0 && n < cap) {
				memcpy(cmd, fm->in, n);
				cmd[n] = '\0';
			}
			memmove(fm->in, cr + 1, fm->inlen - n - 1);
			fm->inlen -= n + 1;
			if (n > 0)
				return n < cap ? 0 : -1;
			continue;
		}
		if (fm->inlen == sizeof(fm->in))
			return -1;
		r = read(fm->master, fm->in + fm->inlen, sizeof(fm->in) - fm->inlen);
		if (r <= 0)
			return -1;
		fm->inlen += (size_t)r;
	}
}

static void fm_write(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, 10);
			continue;
		}
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void fm_flood(int fd)
{
	static const char junk[] = "\x01garbage\xff\xfe junk without end ";
	int64_t end = mono_ms() + 600;

	while (mono_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		if (poll(&pfd, 1, 10) == 1 && write(fd, junk, sizeof(junk) - 1) < 0 &&
		    errno != EAGAIN)
			return;
	}
}

static void fm_storm(struct fake_modem *fm)
{
	static const char urc[] = "+CREG: 1\r\n", ok[] = "\r\nOK\r\n";
	int64_t end = mono_ms() + 2500;

	while (mono_ms() < end) {
		struct pollfd pfd = { .fd = fm->master, .events = POLLIN };
		char *cr;
		ssize_t r;

		fm_write(fm->master, urc, sizeof(urc) - 1);
		if (poll(&pfd, 1, 50) != 1)
			continue;
		r = read(fm->master, fm->in + fm->inlen, sizeof(fm->in) - fm->inlen);
		if (r <= 0)
			return;
		fm->inlen += (size_t)r;
		while ((cr = memchr(fm->in, '\r', fm->inlen))) {
			size_t n = (size_t)(cr - fm->in);

			if (n > 0)
				fm_write(fm->master, ok, sizeof(ok) - 1);
			memmove(fm->in, cr + 1, fm->inlen - n - 1);
			fm->inlen -= n + 1;
		}
	}
}

static void *fm_run(void *arg)
{
	struct fake_modem *fm = arg;
	char cmd[4096], c;

	for (size_t i = 0; i < fm->nsteps; i++) {
		const struct fm_step *s = &fm->steps[i];

		if (s->expect && (fm_read_cmd(fm, cmd, sizeof(cmd)) < 0 || strcmp(cmd, s->expect))) {
			fm->bad_step = (int)i + 1;
			return NULL;
		}
		if ((s->flags & FM_GO) && read(fm->go[0], &c, 1) != 1)
			return NULL;
		if (s->reply)
			fm_write(fm->master, s->reply, s->len ? s->len : strlen(s->reply));
		if (s->flags & FM_FLOOD)
			fm_flood(fm->master);
		if (s->flags & FM_STORM)
			fm_storm(fm);
		if (s->flags & FM_HANGUP) {
			close(fm->master);
			fm->master = -1;
			return NULL;
		}
	}
	return NULL;
}

/* A pty whose slave is raw already (so nothing written early is echoed). */
static int fm_init(struct fake_modem *fm)
{
	struct termios t;

	memset(fm, 0, sizeof(*fm));
	fm->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fm->master < 0 || grantpt(fm->master) || unlockpt(fm->master) ||
	    ptsname_r(fm->master, fm->path, sizeof(fm->path)))
		return -1;
	fm->keep = open(fm->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fm->keep < 0 || tcgetattr(fm->keep, &t))
		return -1;
	cfmakeraw(&t);
	if (tcsetattr(fm->keep, TCSANOW, &t) || pipe2(fm->go, O_CLOEXEC))
		return -1;
	return 0;
}

static int fm_start(struct fake_modem *fm, const struct fm_step *steps, size_t n)
{
	fm->steps = steps;
	fm->nsteps = n;
	fm->running = pthread_create(&fm->th, NULL, fm_run, fm) == 0;
	return fm->running ? 0 : -1;
}

static void fm_go(struct fake_modem *fm)
{
	if (write(fm->go[1], "g", 1) != 1)
		abort();
}

/* Waits for the script to end; returns bad_step (0: every command as expected). */
static int fm_join(struct fake_modem *fm)
{
	if (fm->running)
		pthread_join(fm->th, NULL);
	fm->running = false;
	return fm->bad_step;
}

static void fm_free(struct fake_modem *fm)
{
	if (fm->running) {          /* a failed test: unblock the thread */
		close(fm->go[1]);
		fm->go[1] = -1;
		pthread_cancel(fm->th);
		pthread_join(fm->th, NULL);
	}
	if (fm->master >= 0)
		close(fm->master);
	close(fm->keep);
	close(fm->go[0]);
	if (fm->go[1] >= 0)
		close(fm->go[1]);
}

#endif
