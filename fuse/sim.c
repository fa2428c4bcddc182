/* sim.c — the snapshot's ownership: sim_snapshot_free releases what a
 * modem read allocated (sim.h). */
#include "fuse/sim.h"

#include <stdlib.h>
#include <string.h>

void sim_snapshot_free(struct sim_snapshot *s)
{
	if (!s)
		return;
	free(s->contacts);
	free(s->sms);
	memset(s, 0, sizeof(*s));
}
