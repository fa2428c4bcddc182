/* modem_at.c — the AT modem source (modem_at_ops): a serial port such as
 * the EG25-G's /dev/ttyUSB2, driven through the AT layer (at.h).  open
 * sets echo off and numeric +CME errors; events turns SIM-related
 * unsolicited codes into MODEM_EV_REREAD; read takes identity
 * (modem_atid.c), phonebook (modem_atpb.c) and SMS (modem_atsms.c) in that
 * order, within MODEM_CMD_TIMEOUT_MS per command.
 *
 * A SIM code that arrives during read() (inside an AT command) makes read()
 * start once more; one during that second pass is kept and returned by the
 * next events() call, which the poller may make after each read (the fd
 * does not become readable for it again). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/modem.h"
#include "fuse/modem_at.h"

struct modem {
	struct at_port *port;
	int pending;            /* MODEM_EV_* seen since the last events() */
	bool ucs2;              /* the charset the modem was last set to */
};

static void
on_urc(void *arg, const char *line)
{
	struct modem *m = arg;

	if (mat_sim_urc(line))
		m->pending |= MODEM_EV_REREAD;
}

static int
ignore_line(void *arg, const char *line)
{
	return 0;
}

int
mat_cmd(struct mat_ctx *c, const char *cmd, const char *prefix, at_line_fn fn, void *arg,
	int *cme)
{
	int rc;

	if (c->fatal != 0)
		return c->fatal;
	rc = at_cmd(c->port, cmd, prefix, MODEM_CMD_TIMEOUT_MS, fn != NULL ? fn : ignore_line,
		    arg, cme);
	if (rc == -EPIPE || rc == -ETIMEDOUT) {
		c->fatal = rc;
		c->failed = cmd;
	}
	return rc;
}

static void
at_close_modem(struct modem *m)
{
	if (m == NULL)
		return;
	at_close(m->port);
	free(m);
}

/* Echo off (a modem in ATE1 echoes this very command: the AT layer skips
 * echoes) and +CME ERROR: <n> numeric, which presence() relies on. */
static int
setup(struct modem *m, char *err, size_t errlen)
{
	struct mat_ctx c = { .port = m->port, .ucs2 = &m->ucs2 };
	int rc;

	rc = mat_cmd(&c, "ATE0", NULL, NULL, NULL, NULL);
	if (rc != 0 && c.fatal == 0)    /* a line noise at start: once more */
		rc = mat_cmd(&c, "ATE0", NULL, NULL, NULL, NULL);
	if (c.fatal == 0)
		mat_cmd(&c, "AT+CMEE=1", NULL, NULL, NULL, NULL);
	if (c.fatal != 0) {
		snprintf(err, errlen, "%s: %s", c.failed, strerror(-c.fatal));
		return c.fatal;
	}
	return 0;
}

static int
at_open_modem(struct modem **out, const char *spec, unsigned baud, char *err, size_t errlen)
{
	struct modem *m;
	int rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = at_open(spec, baud, on_urc, m, &m->port);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", spec, strerror(-rc));
		free(m);
		return rc;
	}
	rc = setup(m, err, errlen);
	if (rc != 0) {
		at_close_modem(m);
		return rc;
	}
	*out = m;
	return 0;
}

static int
at_fd_modem(struct modem *m)
{
	return at_fd(m->port);
}

static int
at_events_modem(struct modem *m)
{
	int rc = at_read_urcs(m->port);
	int ev = m->pending;

	m->pending = 0;
	return rc < 0 ? rc : ev;
}

static int
read_once(struct modem *m, struct sim_snapshot *out, char *err, size_t errlen)
{
	struct mat_ctx c = { .port = m->port, .ucs2 = &m->ucs2 };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = mat_identity(&c, &out->id, err, errlen);
	if (rc != 0 || !out->id.present)
		return rc;
	if (mat_phonebook(&c, out) == -EPIPE || mat_sms(&c, out) == -EPIPE) {
		sim_snapshot_free(out);
		snprintf(err, errlen, "%s: %s", c.failed, strerror(EPIPE));
		return -EPIPE;
	}
	return 0;
}

/* A SIM code during the read (a swap between AT+QCCID and the phonebook)
 * may have mixed two SIMs in one snapshot: read once more.  Codes from
 * before the read are answered by it; codes during the second one stay
 * pending for events(). */
static int
at_read_modem(struct modem *m, struct sim_snapshot *out, char *err, size_t errlen)
{
	int rc;

	m->pending = 0;
	rc = read_once(m, out, err, errlen);
	if (rc == 0 && (m->pending & MODEM_EV_REREAD)) {
		m->pending = 0;
		sim_snapshot_free(out);
		rc = read_once(m, out, err, errlen);
	}
	return rc;
}

const struct modem_ops modem_at_ops = {
	.name = "at",
	.open = at_open_modem,
	.fd = at_fd_modem,
	.events = at_events_modem,
	.read = at_read_modem,
	.close = at_close_modem,
};
