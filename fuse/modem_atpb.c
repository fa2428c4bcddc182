/* modem_atpb.c — the SIM phonebook over AT: AT+CSCS="UCS2" (names come as
 * UCS2 hex), AT+CPBS="SM", AT+CPBR=? for the index range, then AT+CPBR=a,b
 * in slices, each within one command timeout.  A line that does not parse
 * is skipped; a slice that fails makes the whole phonebook "not read"
 * (phonebook_ok false), since a partial list would look like deletions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuse/modem.h"
#include "fuse/modem_at.h"

/* Entries per AT+CPBR: 25 lines of typically < 150 bytes (a 14-character
 * name is 56 hex digits) are ~4 KB, 0.35 s at 115200 baud: well within
 * MODEM_CMD_TIMEOUT_MS, with room for the modem's own SIM access time. */
#define PB_SLICE   25
#define CME_NOT_FOUND 22        /* an empty slice, on some modems */

struct pb {
	struct sim_contact *c;
	size_t n, cap;
	unsigned lo, hi;        /* the slice asked for */
	bool ucs2;
};

static int
range_line(void *arg, const char *line)
{
	unsigned *r = arg;

	mat_cpbr_range(line, &r[0], &r[1]);
	return 0;
}

static int
entry_line(void *arg, const char *line)
{
	struct pb *pb = arg;
	struct sim_contact *e = &pb->c[pb->n];

	if (pb->n >= pb->cap || mat_cpbr_entry(line, pb->ucs2, e) != 0)
		return 0;
	if (e->index < pb->lo || e->index > pb->hi ||
	    (pb->n > 0 && e->index <= pb->c[pb->n - 1].index))
		return 0;       /* not asked for, or out of order: keep the list sorted */
	pb->n++;
	return 0;
}

/* Reads every slice; 0, or -EIO / -EMSGSIZE / the fatal error. */
static int
read_slices(struct mat_ctx *c, struct pb *pb, unsigned first, unsigned last)
{
	unsigned lo;

	for (lo = first; lo <= last && pb->n < pb->cap; lo += PB_SLICE) {
		char cmd[40];
		int cme = 0, rc;

		pb->lo = lo;
		pb->hi = last - lo < PB_SLICE ? last : lo + PB_SLICE - 1;
		snprintf(cmd, sizeof(cmd), "AT+CPBR=%u,%u", pb->lo, pb->hi);
		rc = mat_cmd(c, cmd, "+CPBR:", entry_line, pb, &cme);
		if (rc == -EIO && cme == CME_NOT_FOUND)
			continue;
		if (rc != 0)
			return rc;
		if (last - lo < PB_SLICE)
			break;
	}
	return 0;
}

int
mat_phonebook(struct mat_ctx *c, struct sim_snapshot *out)
{
	unsigned range[2] = { 1, 0 };
	struct pb pb = { 0 };
	size_t count;
	int rc;

	if (mat_cmd(c, "AT+CSCS=\"UCS2\"", NULL, NULL, NULL, NULL) == 0)
		*c->ucs2 = true;
	pb.ucs2 = *c->ucs2;
	if (mat_cmd(c, "AT+CPBS=\"SM\"", NULL, NULL, NULL, NULL) != 0 ||
	    mat_cmd(c, "AT+CPBR=?", "+CPBR:", range_line, range, NULL) != 0 ||
	    range[0] > range[1])
		return c->fatal;
	count = (size_t)(range[1] - range[0]) + 1;
	pb.cap = count < SIM_CONTACTS_MAX ? count : SIM_CONTACTS_MAX;
	pb.c = calloc(pb.cap, sizeof(*pb.c));
	if (pb.c == NULL)
		return 0;               /* phonebook_ok stays false */
	rc = read_slices(c, &pb, range[0], range[1]);
	if (rc != 0) {
		free(pb.c);
		return c->fatal;
	}
	out->contacts = pb.c;
	out->ncontacts = pb.n;
	out->phonebook_ok = true;
	return 0;
}
