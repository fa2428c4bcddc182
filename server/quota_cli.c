/* quota_cli.c — `vigil-server quota DIR DEVICE BYTES|none` sets or removes
 * a device's quota, `vigil-server quota DIR [DEVICE]` shows them (quota.h).
 * An admin handler (admin.h): inside the server serving DIR (its index,
 * its key), or on a stopped DIR; the next PUT of the device sees the
 * change. */
#include "server/quota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/names.h"
#include "common/tls.h"
#include "server/admin.h"
#include "server/index.h"

/* BYTES: a decimal count with an optional K, M, G or T (KiB .. TiB); 0 is
 * refused (`none` removes a quota).  0, or -EINVAL. */
static int parse_bytes(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		if (end[1] || !(u = strchr(units, *end)))
			return -EINVAL;
		for (long i = 0; i <= u - units; i++) {
			if (v > (INT64_MAX >> 10))
				return -EINVAL;
			v <<= 10;
		}
	}
	if (v == 0 || v > INT64_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

struct show { const char *only; int n; FILE *out; };

static int show_one(void *arg, const char *name, uint64_t limit, uint64_t used)
{
	struct show *sh = arg;

	if (sh->only && strcmp(sh->only, name))
		return 0;
	sh->n++;
	fprintf(sh->out, "%s: %llu of %llu bytes held%s\n", name, (unsigned long long)used,
	       (unsigned long long)limit, used >= limit ? " (full: new content refused)" : "");
	return 0;
}

static int set_quota(struct index *idx, const char *name, const char *arg, FILE *out, FILE *err)
{
	struct ident id;
	uint64_t bytes = 0;
	int r;

	if (strcmp(arg, "none") && parse_bytes(arg, &bytes) < 0)
		return admin_say(err, 0, "'%s' is not a byte count (e.g. 5000000000, 500M, 2G)"
				 " or none", arg), 2;
	if ((r = index_ident_get(idx, name, &id)) == -ENOENT || (r == 0 && id.role != ROLE_DEVICE))
		return admin_say(err, 0, "no device named %s", name), 1;
	if (r < 0 || (r = index_quota_set(idx, id.id, bytes, real_ns())) < 0)
		return admin_say(err, r, "quota of %s", name), 1;
	if (bytes)
		fprintf(out, "quota of %s: %llu bytes\n", name, (unsigned long long)bytes);
	else
		fprintf(out, "quota of %s removed\n", name);
	return 0;
}

int quota_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err)
{
	struct show sh = { .out = out };
	int r;

	if (argc > 4)
		return admin_say(err, 0, "usage: vigil-server quota DIR [DEVICE [BYTES|none]]"), 2;
	if (argc >= 3 && !name_valid(argv[2]))
		return admin_say(err, 0, "'%s' is not a valid name", argv[2]), 2;
	if (argc == 4)
		return set_quota(env->idx, argv[2], argv[3], out, err);
	sh.only = argc == 3 ? argv[2] : NULL;
	if ((r = index_quota_list(env->ridx, show_one, &sh)) < 0)
		return admin_say(err, r, "quotas"), 1;
	if (sh.only && !sh.n)
		fprintf(out, "%s: no quota\n", sh.only);
	return 0;
}
