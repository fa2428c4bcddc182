/* ctl.h — the control terminal's session: options shared by every command,
 * the connection to the server, and request helpers on top of the mux.
 *
 * A command is one entry of a table (main.c): it parses its own arguments,
 * calls ctl_connect() only once they are valid (so usage errors never touch
 * the network), and returns the process exit status (CTL_OK, CTL_FAIL,
 * CTL_USAGE, CTL_WAIT).  Errors are printed once, as "vigil: <text>". */
#ifndef VIGIL_CTL_H
#define VIGIL_CTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bundle.h"
#include "common/mux.h"
#include "common/proto.h"
#include "common/rpc.h"
#include "common/wire.h"

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2, CTL_WAIT = 3 };

#define CTL_CONNECT_MS  15000
#define CTL_REPLY_MS    120000   /* per reply item; the mux detects dead peers sooner */
#define CTL_LIST_MAX    4000000  /* entries a command keeps in memory at most */

/* Set by SIGINT/SIGTERM (main.c); long waits and transfers stop at it. */
extern volatile sig_atomic_t ctl_quit;

struct ctl {
	const char *bundle_path;   /* NULL: $VIGIL_BUNDLE, then ~/.config/vigil/controller.bundle */
	const char *server;        /* --server HOST:PORT, or NULL */
	const char *sign_key_path; /* --sign-key FILE, or NULL (controller/signkey.h) */
	struct bundle *b;
	EVP_PKEY *sign_key;        /* once checked by cmdsend_check_key; freed by ctl_close */
	struct mux *m;
	char bundle_file[PATH_MAX];   /* the bundle's path, once loaded */
};

/* Long options every command accepts besides its own (--bundle, --server,
 * --sign-key, --help); ctl_common_opt() handles them: returns 1 when it took opt,
 * 0 when opt is not one of them. */
#define CTL_OPT_BUNDLE 0x1001
#define CTL_OPT_SERVER 0x1002
#define CTL_OPT_SIGNKEY 0x1003
#define CTL_OPT_HELP   'h'
#define CTL_COMMON_LONGOPTS \
	{ "bundle", required_argument, NULL, CTL_OPT_BUNDLE }, \
	{ "server", required_argument, NULL, CTL_OPT_SERVER }, \
	{ "sign-key", required_argument, NULL, CTL_OPT_SIGNKEY }, \
	{ "help", no_argument, NULL, CTL_OPT_HELP }
int ctl_common_opt(struct ctl *c, int opt, const char *arg);

/* Usage error: prints "vigil: <msg>" and the usage line on stderr; returns CTL_USAGE. */
int ctl_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* getopt returned '?' or ':': names the offending argument; CTL_USAGE. */
int ctl_bad_option(const char *usage, char **argv);
/* --help: the usage text on stdout; returns CTL_OK. */
int ctl_help(const char *usage);
/* The end of an option loop, for an opt that is neither the command's own
 * nor common: --help (ctl_help) or a bad option (ctl_bad_option).  Use as
 *   else if (!ctl_common_opt(c, opt, optarg)) return ctl_opt_stop(usage, opt, argv); */
int ctl_opt_stop(const char *usage, int opt, char **argv);

/* The bundle's path: --bundle, $VIGIL_BUNDLE, ~/.config/vigil/controller.bundle.
 * 0, -ENOENT (none of them), -ENAMETOOLONG. */
int ctl_bundle_path(const struct ctl *c, char *out, size_t cap);
/* Loads the bundle (once; c->b, c->bundle_file) without connecting.  On
 * failure prints the reason and returns -errno. */
int ctl_load_bundle(struct ctl *c);
/* Loads the bundle unless loaded, and connects unless connected.  On
 * failure prints the reason and returns -errno. */
int ctl_connect(struct ctl *c);
void ctl_close(struct ctl *c);

/* Requests go through common/rpc.h.  ctl_rpc() sets one up on the
 * session's connection: CTL_REPLY_MS per reply item, cancelled by ctl_quit,
 * at most CTL_LIST_MAX items in a listing.  ctl_rpc_log() prints why a call
 * failed, once: the server's text as "vigil: <prefix>: <text>" (prefix may
 * be NULL; the server's texts usually name the target already), anything
 * else as "vigil: server: <what>" or "vigil: interrupted". */
void ctl_rpc(struct ctl *c, struct rpc *r);
void ctl_rpc_log(const struct rpc *r, int rc, const char *prefix);

/* A listing (rpc_list) or a one-reply request (rpc_call) on the session,
 * failures printed with ctl_rpc_log.  ctl_list returns the number of items,
 * ctl_call 0 with the payload in out; or -errno. */
long ctl_list(struct ctl *c, uint16_t type, const struct buf *req, uint16_t item_type,
	      const char *prefix, rpc_item_fn one, void *arg);
int ctl_call(struct ctl *c, uint16_t type, const struct buf *req, uint16_t want_type,
	     const char *prefix, struct buf *out);

/* Parses DEVICE[:PATH] (path "/" when absent) for a command's usage check;
 * prints a usage error and returns CTL_USAGE, or 0. */
int ctl_parse_target(const char *usage, const char *arg, char dev[VG_NAME_MAX],
		     char path[PATH_MAX], bool need_path);

/* "phone1:/a/b" with the path escaped for a terminal; into out. */
void ctl_target_str(const char *dev, const char *path, char *out, size_t cap);

/* Requests used by several commands. */
int ctl_stat(struct ctl *c, const char *dev, const char *path, uint64_t version,
	     int64_t at, struct vg_entry *out);

#endif
