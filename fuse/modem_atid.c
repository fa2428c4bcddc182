/* modem_atid.c — the SIM's identity over AT: presence (AT+CPIN?), ICCID
 * (AT+QCCID, else AT+CCID), IMSI (AT+CIMI), own numbers (AT+CNUM) and the
 * operator (AT+COPS?).  Read in the modem's IRA charset, so the operator
 * name comes as text (decoded from UCS2 hex if switching failed).  The
 * lines themselves are parsed in modem_atline.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fuse/modem.h"
#include "fuse/modem_at.h"

/* 27.007 +CME ERROR codes for a SIM that is not there or not usable yet. */
#define CME_SIM_NOT_INSERTED 10
#define CME_SIM_FAILURE      13
#define CME_SIM_BUSY         14

static int
cpin_line(void *arg, const char *line)
{
	enum mat_cpin *st = arg;

	if (mat_cpin(line) != MAT_CPIN_NONE)
		*st = mat_cpin(line);
	return 0;
}

/* 1: present, 0: absent, -errno (err says why). */
static int
presence(struct mat_ctx *c, char *err, size_t errlen)
{
	enum mat_cpin st = MAT_CPIN_NONE;
	int cme = 0, rc;

	rc = mat_cmd(c, "AT+CPIN?", "+CPIN:", cpin_line, &st, &cme);
	if (rc == -EIO && (cme == CME_SIM_NOT_INSERTED || cme == CME_SIM_FAILURE))
		return 0;
	if (rc == 0 && (st == MAT_CPIN_READY || st == MAT_CPIN_LOCKED))
		return 1;
	if (rc == 0 || (rc == -EIO && cme == CME_SIM_BUSY)) {
		snprintf(err, errlen, "SIM not ready yet (AT+CPIN?)");
		return -EAGAIN;
	}
	if (rc == -EIO)
		snprintf(err, errlen, "AT+CPIN? answered an error (CME %d)", cme);
	else
		snprintf(err, errlen, "AT+CPIN?: %s", strerror(-rc));
	return rc;
}

/* Takes the first reply line that parse() accepts. */
struct pick {
	char *out;
	size_t outlen;
	int (*parse)(const char *line, char *out, size_t outlen);
	bool got;
};

static int
pick_line(void *arg, const char *line)
{
	struct pick *pk = arg;

	if (!pk->got && pk->parse(line, pk->out, pk->outlen) == 0)
		pk->got = true;
	return 0;
}

static int
read_ids(struct mat_ctx *c, struct sim_identity *id)
{
	struct pick pk = { id->iccid, sizeof(id->iccid), mat_iccid, false };

	mat_cmd(c, "AT+QCCID", "+QCCID:", pick_line, &pk, NULL);
	if (c->fatal == 0 && !pk.got)
		mat_cmd(c, "AT+CCID", NULL, pick_line, &pk, NULL);
	if (!pk.got)
		id->iccid[0] = '\0';
	pk = (struct pick){ id->imsi, sizeof(id->imsi), mat_imsi, false };
	mat_cmd(c, "AT+CIMI", NULL, pick_line, &pk, NULL);
	if (!pk.got)
		id->imsi[0] = '\0';
	return c->fatal;
}

static int
cnum_line(void *arg, const char *line)
{
	struct sim_identity *id = arg;

	if (id->nmsisdn < SIM_OWN_MAX &&
	    mat_cnum(line, id->msisdn[id->nmsisdn], SIM_NUMBER_MAX) == 0)
		id->nmsisdn++;
	return 0;
}

struct cops {
	struct sim_identity *id;
	bool ucs2;
};

static int
cops_line(void *arg, const char *line)
{
	struct cops *co = arg;

	if (mat_cops(line, co->ucs2, co->id->operator_name, sizeof(co->id->operator_name)) != 0)
		co->id->operator_name[0] = '\0';
	return 0;
}

int
mat_identity(struct mat_ctx *c, struct sim_identity *id, char *err, size_t errlen)
{
	struct cops co = { id, false };
	int rc;

	rc = presence(c, err, errlen);
	if (rc < 0)
		return rc;
	if (mat_cmd(c, "AT+CSCS=\"IRA\"", NULL, NULL, NULL, NULL) == 0)
		*c->ucs2 = false;
	id->present = rc == 1;
	if (id->present && read_ids(c, id) == 0)
		mat_cmd(c, "AT+CNUM", "+CNUM:", cnum_line, id, NULL);
	co.ucs2 = *c->ucs2;
	if (c->fatal == 0)
		mat_cmd(c, "AT+COPS?", "+COPS:", cops_line, &co, NULL);
	if (c->fatal != 0) {
		snprintf(err, errlen, "%s: %s", c->failed, strerror(-c->fatal));
		return c->fatal;
	}
	return 0;
}
