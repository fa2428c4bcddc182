/* revoke_cli.c — `vigil-server revoke DIR NAME`: marks the identity revoked
 * in index.db (and a device's "revoked" event).  An admin handler
 * (admin.h): inside the server serving DIR, whose connection check
 * (srv_end_revoked) then ends NAME's live connections within a second, or
 * on a stopped DIR, where session.c refuses NAME from its next handshake. */
#include "server/revoke_cli.h"

#include <errno.h>

#include "common/clock.h"
#include "common/names.h"
#include "common/tls.h"
#include "server/admin.h"
#include "server/index.h"

int revoke_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err)
{
	const char *name = argc == 3 ? argv[2] : NULL;
	struct ident id;
	int r;

	if (!name || name[0] == '-')
		return admin_say(err, 0, "revoke needs DIR and NAME (see vigil-server --help)"), 2;
	if (!name_valid(name))
		return admin_say(err, 0, "'%s' is not a valid name", name), 1;
	r = index_ident_get(env->idx, name, &id);
	if (r == 0)
		r = index_ident_revoke(env->idx, name, real_ns());
	if (r == 0 && id.role == ROLE_DEVICE)
		(void)index_event_add(env->idx, id.id, real_ns(), "revoked", name);
	if (r == -ENOENT)
		return admin_say(err, 0, "no identity named %s", name), 1;
	if (r < 0)
		return admin_say(err, r, "revoke %s", name), 1;
	fprintf(out, "revoked %s\n", name);
	return 0;
}
