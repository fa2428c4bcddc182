/* quota.h — a device's quota at ingest (`vigil-server quota`, docs/index.md
 * "quotas"): a PUT that would make the device's latest live regular files
 * hold more than its quota is refused with EDQUOT before its body is
 * built; one that does not make them grow (a file shrinking or keeping its
 * size, a delete, META, RENAME) always goes through, so nothing stored is
 * touched and a device over its quota can still get back under it.  The
 * quota is read from the index for each PUT (each batch), so a change by
 * `vigil-server quota` counts from the next one. */
#ifndef VIGIL_SERVER_QUOTA_H
#define VIGIL_SERVER_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct srv;
struct index_version;

struct quota_guard {
	bool set;                    /* the device has a quota */
	uint64_t limit, used;        /* its quota, its committed bytes */
	uint64_t pending;            /* growth admitted since the load (a batch) */
	bool told;                   /* a refusal was recorded (once per guard) */
};

/* Loads dev's quota: 0 (q->set false without one) or -errno. */
int quota_load(struct srv *srv, int64_t dev, struct quota_guard *q);
/* A new live file version of path of new_size bytes: 0, and its growth is
 * counted, or -EDQUOT.  latest: the path's latest version when the caller
 * has it (NULL: looked up only when the growth could matter). */
int quota_admit(struct srv *srv, int64_t dev, struct quota_guard *q, const char *path,
		uint64_t new_size, const struct index_version *latest);
/* After a refusal: a "quota" event for dev (once per guard, and not again
 * while its figures are unchanged) and the text for the device. */
void quota_refused(struct srv *srv, int64_t dev, struct quota_guard *q, char *msg, size_t cap);

/* `vigil-server quota DIR [DEVICE [BYTES|none]]` (quota_cli.c): an admin
 * handler (admin.h), in the server serving DIR or on a stopped DIR. */
struct admin_env;
int quota_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err);

#endif
