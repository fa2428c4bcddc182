/* sweep_cli.c — `vigil-server sweep DIR [--json] [--max-unused PERCENT]`, an admin handler
 * (admin.h): inside a running server it asks the server's sweep thread for
 * a sweep now and waits for it; on a stopped DIR (opened by admin.c, with
 * the key --key-file / --passphrase-file or the environment name) it sweeps
 * itself and records the figures in index.db as the thread does.  Exit: 0,
 * 1 failure, 2 usage. */
#include "server/sweep.h"

#include <errno.h>
#include <string.h>

#include "server/admin.h"

/* The options of `sweep`, one row each (the key options never get here:
 * admin.c takes them for its own open of DIR). */
int sweep_parse(int argc, char **argv, struct sweep_opts *o, FILE *err)
{
	memset(o, 0, sizeof(*o));
	o->max_unused = -1;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			o->json = true;
		} else if (!strcmp(argv[i], "--max-unused") && i + 1 < argc) {
			if ((o->max_unused = sweep_max_unused_parse(argv[++i])) < 0) {
				fprintf(err, "vigil-server: sweep: --max-unused takes a percentage"
					" 0-100, not '%s'\n", argv[i]);
				return 2;
			}
		} else {
			fprintf(err, "vigil-server: sweep: bad argument '%s' (see --help)\n", argv[i]);
			return 2;
		}
	}
	return 0;
}

int sweep_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err)
{
	struct sweep_opts o;
	struct sweep_result res;
	int r;

	if ((r = sweep_parse(argc, argv, &o, err)) != 0)
		return r;
	if (env->live) {
		r = env->sw ? sweeper_request(env->sw, &env->quit, o.max_unused, &res) : -ENOTSUP;
	} else {
		r = sweep_run(env->st, env->ridx, SWEEP_WAIT_MS, o.max_unused, &env->quit, &res);
		if (sweep_record(env->idx, &res) < 0)
			fprintf(err, "vigil-server: sweep %s: its figures were not recorded\n", argv[1]);
	}
	if (r == -ECANCELED)
		return fprintf(err, "vigil-server: sweep %s: the server is stopping\n", argv[1]), 1;
	if (r < 0)
		return fprintf(err, "vigil-server: sweep %s: %s\n", argv[1], strerror(-r)), 1;
	sweep_print(out, &res, o.json);
	return 0;
}
