/* modem_atid.c — the SIM's identity over AT: presence (AT+CPIN?), ICCID
 * (AT+QCCID, else AT+CCID), IMSI (AT+CIMI), own numbers (AT+CNUM) and the
 * operator (AT+COPS?).  Read in the modem's IRA charset, so the operator
 * name comes as text (decoded from UCS2 hex if switching failed). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fuse/modem.h"
#include "fuse/modem_at.h"

/* 27.007 +CME ERROR codes for a SIM that is not there or not usable yet. */
#define CME_SIM_NOT_INSERTED 10
#define CME_SIM_FAILURE      13
#define CME_SIM_BUSY         14

enum cpin { CPIN_NONE, CPIN_READY, CPIN_LOCKED, CPIN_NOT_READY };

static int
cpin_line(void *arg, const char *line)
{
	enum cpin *st = arg;
	const char *v = line + strlen("+CPIN:");

	while (*v == ' ')
		v++;
	if (strcmp(v, "READY") == 0)
		*st = CPIN_READY;
	else if (strcmp(v, "NOT READY") == 0)
		*st = CPIN_NOT_READY;
	else if (strstr(v, "PIN") != NULL || strstr(v, "PUK") != NULL)
		*st = CPIN_LOCKED;      /* present; PIN or PUK asked */
	return 0;
}

/* 1: present, 0: absent, -errno (err says why). */
static int
presence(struct mat_ctx *c, char *err, size_t errlen)
{
	enum cpin st = CPIN_NONE;
	int cme = 0, rc;

	rc = mat_cmd(c, "AT+CPIN?", "+CPIN:", cpin_line, &st, &cme);
	if (rc == -EIO && (cme == CME_SIM_NOT_INSERTED || cme == CME_SIM_FAILURE))
		return 0;
	if (rc == 0 && (st == CPIN_READY || st == CPIN_LOCKED))
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

/* Takes the first reply line that clean() accepts. */
struct pick {
	char *out;
	size_t outlen;
	int (*clean)(const char *line, char *out, size_t outlen);
	bool got;
};

static int
pick_line(void *arg, const char *line)
{
	struct pick *pk = arg;

	if (!pk->got && pk->clean(line, pk->out, pk->outlen) == 0)
		pk->got = true;
	return 0;
}

/* "+QCCID: 8986...", "+CCID: \"8986...\"", a bare "8986...F": digits,
 * the trailing F some SIMs pad an odd-length ICCID with dropped. */
static int
clean_iccid(const char *line, char *out, size_t outlen)
{
	const char *p = line;
	size_t n;

	if (*p == '+' || *p == '^')
		p = strchr(p, ':') != NULL ? strchr(p, ':') + 1 : p + strlen(p);
	p += strspn(p, " \"");
	n = strspn(p, "0123456789");
	while (p[n] == 'F' || p[n] == 'f')
		n++;
	if (p[n] != '\0' && p[n] != '"')
		return -EINVAL;
	while (n > 0 && (p[n - 1] == 'F' || p[n - 1] == 'f'))
		n--;
	if (n < 10 || n > 22 || n >= outlen || strspn(p, "0123456789") < n)
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* AT+CIMI answers a bare line of 5..15 digits. */
static int
clean_imsi(const char *line, char *out, size_t outlen)
{
	size_t n = strlen(line);

	if (n < 5 || n > 15 || n >= outlen || strspn(line, "0123456789") != n)
		return -EINVAL;
	memcpy(out, line, n + 1);
	return 0;
}

static int
read_ids(struct mat_ctx *c, struct sim_identity *id)
{
	struct pick pk = { id->iccid, sizeof(id->iccid), clean_iccid, false };

	mat_cmd(c, "AT+QCCID", "+QCCID:", pick_line, &pk, NULL);
	if (c->fatal == 0 && !pk.got)
		mat_cmd(c, "AT+CCID", NULL, pick_line, &pk, NULL);
	if (!pk.got)
		id->iccid[0] = '\0';
	pk = (struct pick){ id->imsi, sizeof(id->imsi), clean_imsi, false };
	mat_cmd(c, "AT+CIMI", NULL, pick_line, &pk, NULL);
	if (!pk.got)
		id->imsi[0] = '\0';
	return c->fatal;
}

/* +CNUM: "alpha","number",type (one line per own number). */
static int
cnum_line(void *arg, const char *line)
{
	struct sim_identity *id = arg;
	struct mat_field f[3];
	unsigned type;

	if (id->nmsisdn >= SIM_OWN_MAX || mat_fields(line, "+CNUM:", f, 3) != 3 ||
	    mat_uint(&f[2], 255, &type) != 0)
		return 0;
	if (mat_number(&f[1], (int)type, id->msisdn[id->nmsisdn], SIM_NUMBER_MAX) == 0)
		id->nmsisdn++;
	return 0;
}

struct cops {
	struct sim_identity *id;
	bool ucs2;
};

/* +COPS: mode[,format,"oper"[,act]]: format 0/1 alphanumeric, 2 numeric. */
static int
cops_line(void *arg, const char *line)
{
	struct cops *co = arg;
	struct mat_field f[4];
	unsigned fmt;

	if (mat_fields(line, "+COPS:", f, 4) < 3 || mat_uint(&f[1], 2, &fmt) != 0)
		return 0;
	if (mat_text(&f[2], fmt != 2 && co->ucs2, co->id->operator_name,
		     sizeof(co->id->operator_name)) != 0)
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
