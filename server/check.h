/* check.h — `vigil-server check DIR [--read-data [--sample PERCENT]
 * [--seed N]] [--json]`: verifies the chunk index against the packs and
 * every live file version's tree against the index; with --read-data it
 * also reads each version (or a sample) through the store's own verified
 * read path.  Damage is printed one line per version and recorded as a
 * "damage" event of the version's device (vigil status).  Runs inside the
 * server through the admin path (admin.h).  docs/store-format.md,
 * "Checking the store". */
#ifndef VIGIL_SERVER_CHECK_H
#define VIGIL_SERVER_CHECK_H

#include "server/admin.h"

int srvcheck_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err);

#endif
