/* counters.c — names of vigild's counters, as reported and shown. */
#include "daemon/counters.h"

#include <stdio.h>

const char *const ctr_names[CTR_COUNT] = {
	"events", "drops", "rescans", "bytes_read", "unstable",
	"shipped", "bytes_sent", "errors", "xattr_skipped", "adopted", "bytes_received",
	"shipped_whole", "shipped_delta", "shipped_ranges", "shipped_meta", "shipped_delete",
	"shipped_rename", "simfs_received", "simfs_dropped", "sim_sent", "bytes_resent",
	"chunk_sha256", "chunks_fingerprinted",
	"sig_bytes_received", "chunk_sha256_received", "queue_scans",
	"connects", "link_connects", "net_changes",
};

/* Every counter must fit in one report (MSG_DEV_REPORT; report_counter
 * drops what does not): raising VG_COUNTERS_MAX changes the wire. */
_Static_assert(CTR_COUNT <= VG_COUNTERS_MAX, "vigild's counters overflow a report");

void ctr_report(const struct counters *c, struct vg_report *rep)
{
	for (int i = 0; i < CTR_COUNT; i++)
		report_counter(rep, ctr_names[i], ctr_get(c, (enum ctr)i));
}

void report_counter(struct vg_report *rep, const char *name, uint64_t v)
{
	if (rep->ncounters >= VG_COUNTERS_MAX)
		return;
	snprintf(rep->counters[rep->ncounters].name, sizeof(rep->counters[0].name), "%s", name);
	rep->counters[rep->ncounters++].value = v;
}
