/* quota_cli.c — `vigil-server quota DIR DEVICE BYTES|none` sets or removes
 * a device's quota, `vigil-server quota DIR [DEVICE]` shows them (quota.h).
 * The quotas live in index.db, which `run` shares with other processes:
 * this works while the server serves, and its next PUT of the device sees
 * the change. */
#include "server/quota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/names.h"
#include "common/tls.h"
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

struct show { const char *only; int n; };

static int show_one(void *arg, const char *name, uint64_t limit, uint64_t used)
{
	struct show *sh = arg;

	if (sh->only && strcmp(sh->only, name))
		return 0;
	sh->n++;
	printf("%s: %llu of %llu bytes held%s\n", name, (unsigned long long)used,
	       (unsigned long long)limit, used >= limit ? " (full: new content refused)" : "");
	return 0;
}

static int set_quota(struct index *idx, const char *name, const char *arg)
{
	struct ident id;
	uint64_t bytes = 0;
	int r;

	if (strcmp(arg, "none") && parse_bytes(arg, &bytes) < 0)
		return log_warnx("'%s' is not a byte count (e.g. 5000000000, 500M, 2G) or none", arg), 2;
	if ((r = index_ident_get(idx, name, &id)) == -ENOENT || (r == 0 && id.role != ROLE_DEVICE))
		return log_warnx("no device named %s", name), 1;
	if (r < 0 || (r = index_quota_set(idx, id.id, bytes, real_ns())) < 0)
		return log_errno(r, "quota of %s", name), 1;
	if (bytes)
		printf("quota of %s: %llu bytes\n", name, (unsigned long long)bytes);
	else
		printf("quota of %s removed\n", name);
	return 0;
}

int quota_main(int argc, char **argv)
{
	struct show sh = { 0 };
	struct index *idx = NULL;
	int r, status;

	if (argc < 2 || argc > 4)
		return log_warnx("usage: vigil-server quota DIR [DEVICE [BYTES|none]]"), 2;
	if (argc >= 3 && !name_valid(argv[2]))
		return log_warnx("'%s' is not a valid name", argv[2]), 2;
	if ((r = index_open(argv[1], false, &idx)) < 0)
		return log_errno(r, "%s/index.db", argv[1]), 1;
	if (argc == 4) {
		status = set_quota(idx, argv[2], argv[3]);
	} else {
		sh.only = argc == 3 ? argv[2] : NULL;
		r = index_quota_list(idx, show_one, &sh);
		status = r < 0 ? 1 : 0;
		if (r < 0)
			log_errno(r, "quotas");
		else if (sh.only && !sh.n)
			printf("%s: no quota\n", sh.only);
	}
	index_close(idx);
	return status;
}
