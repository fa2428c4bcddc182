/* admin.h — subcommands of vigil-server that work on a running server's
 * store and index (check, sweep, quota, retain, revoke, and enroll's
 * steps in the index): they run inside the server, which holds the
 * store's key (an encrypted store's index.db opens only with it) and its
 * retention and sweep threads.  `run` listens on DIR/admin.sock (a Unix
 * socket, 0600, in the 0700 DIR; peers must have the server's uid); the
 * CLI sends its argv, the server runs the subcommand's handler on a thread
 * of its own and streams back what it prints on stdout and stderr and its
 * exit status.  When no server answers (no socket, or a stale one), the
 * CLI opens DIR itself and runs the same handler in its own process.
 * docs/store-format.md, "Where it runs".
 *
 * Wire (integers big-endian): request u32 argc, then argc times {u32 len,
 * bytes}; argc <= ADMIN_ARGS_MAX, each argument < ADMIN_ARG_MAX.  Reply:
 * frames {u8 kind, u32 len, len bytes}: kind 'o' stdout, 'e' stderr; the
 * last frame is {'x', status} with no bytes. */
#ifndef VIGIL_SERVER_ADMIN_H
#define VIGIL_SERVER_ADMIN_H

#include <stdbool.h>
#include <stdio.h>

#define ADMIN_SOCK      "admin.sock"
#define ADMIN_ARGS_MAX  32
#define ADMIN_ARG_MAX   4096
#define ADMIN_RUNNING   4        /* handlers running at once; more wait */

struct store;
struct index;
struct sweeper;

/* What a handler works on: the store and index of DIR, in the server's
 * process (live) or opened by the CLI. */
struct admin_env {
	const char *dir;
	struct store *st;
	struct index *idx;       /* writes (events) */
	struct index *ridx;      /* long reads */
	struct sweeper *sw;      /* the server's sweep thread (NULL: not live) */
	bool live;               /* inside a running server */
	volatile int quit;       /* the server is stopping: a handler ends soon */
};

/* A handler: argv[0] is the subcommand, argv[1] DIR.  Prints on out and
 * err, returns the exit status (0, 1 failure, 2 usage).  In the server,
 * argv comes from the socket: 2..ADMIN_ARGS_MAX strings without NUL, each
 * shorter than ADMIN_ARG_MAX, checked by nothing else; argv[1] is only a
 * name for messages (the peer's spelling of DIR), env->dir is the DIR. */
typedef int admin_fn(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err);

/* A handler's failure line on err: "vigil-server: " fmt, then ": " and
 * strerror(-r) when r < 0. */
void admin_say(FILE *err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Runs argv (argv[0] a subcommand admin handles, argv[1] DIR) in the server
 * serving DIR, or here when none does.  `--key-file FILE` and
 * `--passphrase-file FILE|-` are taken out of argv first: they open an
 * encrypted DIR here (srvkey.h; the environment's otherwise), a running
 * server has its key.  Returns the exit status. */
int admin_client(int argc, char **argv);
/* Runs argv (argv[1] DIR) in the server serving DIR, its output copied to
 * out and err: the exit status, -ENOTCONN when no server answers there,
 * or another -errno (logged).  For commands with a step of their own in
 * the server (enroll). */
int admin_call(int argc, char **argv, FILE *out, FILE *err);
/* Whether cmd is an admin subcommand. */
bool admin_handles(const char *cmd);

/* run: binds DIR/admin.sock before the Landlock ruleset (which forbids
 * making sockets in DIR).  An fd, or -errno logged; -EADDRINUSE when a
 * server already answers there (the store's lock then refuses this one). */
int admin_bind(const char *dir);
struct admin;
/* Serves fd (taken) on a thread; env must outlive admin_stop.  NULL on
 * failure (logged; the server runs without it). */
struct admin *admin_start(int fd, const struct admin_env *env);
/* Stops accepting and waits for running handlers.  NULL-safe. */
void admin_stop(struct admin *a);

#endif
