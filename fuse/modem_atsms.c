/* modem_atsms.c — the messages stored on the SIM over AT: AT+CMGF=0 (PDU
 * mode), AT+CMGL=4 (all), whose reply pairs a header line
 * "+CMGL: index,stat,[alpha],length" with the PDU in hex on the next
 * line.  PDUs are decoded (pdu.c) and concatenated parts joined.  A pair
 * that does not parse is skipped; the list itself failing leaves sms_ok
 * false. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/modem.h"
#include "fuse/modem_at.h"
#include "fuse/pdu.h"

/* Parts kept of one listing: a full SIM store holds at most 255. */
#define SMS_PARTS_MAX (2 * SIM_SMS_MAX)

struct list {
	struct sms_part *p;
	size_t n, cap;
	bool header;            /* a +CMGL line came; its PDU is next */
	unsigned index, stat;
};

static int
grow(struct list *l)
{
	size_t cap = l->cap == 0 ? 16 : 2 * l->cap;
	struct sms_part *p;

	if (cap > SMS_PARTS_MAX)
		cap = SMS_PARTS_MAX;
	if (cap <= l->cap)
		return -ENOSPC;
	p = realloc(l->p, cap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	l->p = p;
	l->cap = cap;
	return 0;
}

static int
cmgl_line(void *arg, const char *line)
{
	struct list *l = arg;

	if (strncmp(line, "+CMGL:", 6) == 0) {
		l->header = mat_cmgl_header(line, &l->index, &l->stat) == 0;
		return 0;
	}
	if (!l->header)
		return 0;       /* a PDU without its header: skipped */
	l->header = false;
	if (l->n == l->cap && grow(l) != 0)
		return 0;
	if (pdu_decode(line, strlen(line), l->index, (enum sim_sms_status)l->stat,
		       &l->p[l->n]) == 0)
		l->n++;
	return 0;
}

int
mat_sms(struct mat_ctx *c, struct sim_snapshot *out)
{
	struct list l = { 0 };
	size_t max;

	if (mat_cmd(c, "AT+CMGF=0", NULL, NULL, NULL, NULL) != 0 ||
	    mat_cmd(c, "AT+CMGL=4", NULL, cmgl_line, &l, NULL) != 0)
		goto out;
	max = l.n < SIM_SMS_MAX ? l.n : SIM_SMS_MAX;
	if (max > 0) {
		out->sms = calloc(max, sizeof(*out->sms));
		if (out->sms == NULL)
			goto out;
		out->nsms = sms_join(l.p, l.n, out->sms, max);
	}
	out->sms_ok = true;
out:
	free(l.p);
	return c->fatal;
}
