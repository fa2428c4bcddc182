/* rekey_cli.c — `vigil-server rekey DIR --new-key-file FILE |
 * --new-passphrase-file FILE|-`: wraps an encrypted store's data key under
 * a new secret (the current one as for run: --key-file/--passphrase-file,
 * taken off by main.c, or the environment).  Only DIR/store/datakey
 * changes, atomically; the data key, and so every pack record and
 * database page, stays (docs/store-format.md, "Changing the secret"). */
#include "server/rekey_cli.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "server/srvkey.h"

int rekey_main(int argc, char **argv)
{
	struct srvkey_opts nw = { 0 };
	char err[4096 + 128] = "";
	const char *dir = NULL;

	for (int i = 1; i < argc; i++) {
		bool kf = !strcmp(argv[i], "--new-key-file"), pf = !strcmp(argv[i], "--new-passphrase-file");

		if ((kf || pf) && i + 1 < argc) {
			*(kf ? &nw.key_file : &nw.pass_file) = argv[++i];
		} else if (argv[i][0] != '-' && !dir) {
			dir = argv[i];
		} else {
			return log_warnx("usage: vigil-server rekey DIR --new-key-file FILE |"
					 " --new-passphrase-file FILE|- (bad '%s')", argv[i]), 2;
		}
	}
	if (!dir || !nw.key_file == !nw.pass_file)
		return log_warnx("usage: vigil-server rekey DIR --new-key-file FILE |"
				 " --new-passphrase-file FILE|-"), 2;
	if (srvkey_rekey(dir, &nw, err, sizeof(err)) < 0)
		return log_warnx("%s", err), 1;
	printf("rekeyed %s/store/datakey: the old %s no longer opens it\n", dir,
	       "key file or passphrase");
	return 0;
}
