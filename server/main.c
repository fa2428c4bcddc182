/* main.c — vigil-server: init, enroll, run; the admin subcommands (check,
 * sweep, quota, retain, revoke) go through admin.c.
 * Exit status: 0 success, 1 failure (one line on stderr), 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/conffile.h"
#include "common/log.h"
#include "common/names.h"
#include "common/tls.h"
#include "server/admin.h"
#include "server/ca.h"
#include "server/search/exchild.h"
#include "server/config.h"
#include "server/enroll_cli.h"
#include "server/store/content.h"
#include "server/index.h"
#include "server/runlock.h"
#include "server/session.h"
#include "server/srv.h"
#include "server/srvdir.h"
#include "server/rekey_cli.h"
#include "server/srvkey.h"
#include "server/store/store.h"

#define EXIT_USAGE 2

static const char usage_text[] =
	"usage: vigil-server init   DIR [--listen HOST:PORT] [--advertise HOST:PORT]\n"
	"                           [--encrypt [--key-file FILE | --passphrase-file FILE|-]]\n"
	"       vigil-server enroll DIR --controller NAME --out FILE [--pubkey FILE]\n"
	"       vigil-server enroll DIR --device NAME --out FILE\n"
	"       vigil-server revoke DIR NAME\n"
	"       vigil-server run    DIR [--listen HOST:PORT] [--key-file FILE | --passphrase-file FILE|-]\n"
	"       vigil-server check  DIR [--read-data [--sample PERCENT] [--seed N]] [--json]\n"
	"                           [--key-file FILE | --passphrase-file FILE|-]\n"
	"       vigil-server quota  DIR DEVICE BYTES|none\n"
	"       vigil-server quota  DIR [DEVICE]\n"
	"       vigil-server retain DIR [DEVICE|--all] [--keep-within DURATION] [--keep-hourly N]\n"
	"                           [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--json]\n"
	"       vigil-server retain DIR --show [--json] | DIR DEVICE --release-hold [--json]\n"
	"       vigil-server sweep  DIR [--json] [--max-unused PERCENT]\n"
	"                           [--key-file FILE | --passphrase-file FILE|-]\n"
	"       vigil-server rekey  DIR [--key-file FILE | --passphrase-file FILE|-]\n"
	"                           --new-key-file FILE | --new-passphrase-file FILE|-\n"
	"       every subcommand also takes [--config FILE] [--verbose]\n"
	"\n"
	"init    create the server state in DIR (CA, server certificate, store, index);\n"
	"        refuses a DIR that already holds one.  Default listen 0.0.0.0:7445;\n"
	"        --advertise (default: the listen address) goes into bundles.\n"
	"        --encrypt: chunks, index.db and search.db are kept encrypted\n"
	"        (AES-256-GCM) under a data key\n"
	"        wrapped by a key file (made when FILE does not exist) or a passphrase\n"
	"        (first line of FILE; '-' is stdin).  Without the options the\n"
	"        environment's VIGIL_KEY_FILE, VIGIL_PASSPHRASE_FILE, VIGIL_PASSPHRASE.\n"
	"enroll  issue a device or controller identity and write its bundle to FILE;\n"
	"        works while the server runs (the identity is recorded through\n"
	"        DIR/admin.sock, see below).  --pubkey: the controller's own Ed25519\n"
	"        public key (PEM, FILE.pub from 'vigil keygen'; vigil signs with the\n"
	"        private half, kept beside the bundle or named to it); otherwise a key pair\n"
	"        is made and its private half written only into the bundle.\n"
	"revoke  refuse NAME from now on and end its live connections (within a second).\n"
	"        Runs inside the server serving DIR, or on DIR itself (see below).\n"
	"run     serve until SIGTERM or SIGINT.  An encrypted store needs its key file\n"
	"        or passphrase, given as to init.\n"
	"check   verify the chunk index against the packs and every live file\n"
	"        version's tree against the index; --read-data also reads each\n"
	"        version (or a --sample PERCENT of them, --seed N to repeat one)\n"
	"        and checks it against its sha256.  One line per damaged version;\n"
	"        exit 1 on any damage.  Runs inside the server serving DIR (through\n"
	"        DIR/admin.sock) while it serves, or on DIR itself when none does\n"
	"        (an encrypted store's key then as below).\n"
	"quota   cap what DEVICE holds (the bytes of its latest live regular\n"
	"        files, as 'vigil devices' shows; BYTES may end in K, M, G or T);\n"
	"        a PUT that would make it hold more is refused (EDQUOT), deletes\n"
	"        and metadata still go through; none removes the quota.  Without\n"
	"        BYTES: show the quotas.  Runs inside the server serving DIR, or on\n"
	"        DIR itself (see below).\n"
	"retain  store the retention policy of DEVICE, or the default of every device\n"
	"        without its own (--all, or no DEVICE), and apply it at once; the server\n"
	"        applies it continuously too.  No --keep-* option: keep everything.  Like\n"
	"        restic's forget: per path, the newest version in each of the last N\n"
	"        hours/days/ISO weeks/months (local time) that have versions, and every\n"
	"        version within DURATION (30m, 12h, 14d, 2w) of the device's newest; the\n"
	"        latest version of every path is always kept.  A device with a freeze or\n"
	"        erase command or a SIM swap is on hold: nothing of it is dropped until\n"
	"        --release-hold (recorded as an event), which applies the policy at once.\n"
	"        --show: policies and holds.  Runs inside the server serving DIR (where\n"
	"        a pass that dropped versions starts the server's sweep), or on DIR\n"
	"        itself (see below).\n"
	"sweep   delete the chunks no version and no upload uses any more, now: runs\n"
	"        in the server serving DIR (through DIR/admin.sock), or on DIR itself\n"
	"        when none does.  The server also sweeps by itself after retention\n"
	"        dropped versions, at most hourly.  Prints what was freed (--json: one\n"
	"        document); 'retain --show' shows the last sweep.  Then it compacts:\n"
	"        packs with nothing live are removed, and while more than --max-unused\n"
	"        PERCENT (default 5, as restic's) of the packs' disk space is unused,\n"
	"        the emptiest packs are rewritten (live chunks copied to a new pack,\n"
	"        the old file deleted); 100 rewrites nothing partly live.\n"
	"--config FILE  'key = value' lines, a key for each of listen, advertise,\n"
	"        key-file, passphrase-file, verbose (listen = 0.0.0.0:7445); each\n"
	"        subcommand uses those it takes, a flag on the command line wins.\n"
	"--verbose      debug messages too.\n"
	"rekey   wrap an encrypted store's data key under a new key file (made when\n"
	"        FILE does not exist) or passphrase, replacing DIR/store/datakey\n"
	"        atomically: the old secret no longer opens the store.  The data key\n"
	"        itself stays (docs/store-format.md, \"Changing the secret\").\n"
	"\n"
	"check, sweep, quota, retain, revoke and enroll's record run inside the server\n"
	"serving DIR, through DIR/admin.sock, which has its key; when no server\n"
	"answers they open DIR themselves.\n"
	"An encrypted store: every subcommand that opens DIR itself (init, run, rekey;\n"
	"check, sweep, quota, retain, revoke, enroll when no server answers) takes\n"
	"--key-file FILE or --passphrase-file FILE|- ('-': a line of stdin, read with\n"
	"echo off from a terminal), else VIGIL_KEY_FILE, VIGIL_PASSPHRASE_FILE or\n"
	"VIGIL_PASSPHRASE from the environment.  Packs, index.db and search.db are\n"
	"encrypted (what stays readable: docs/store-format.md, \"What the disk shows\").\n";

static int usage(const char *fmt, const char *arg)
{
	if (fmt) {
		fprintf(stderr, "%s: ", log_progname());
		fprintf(stderr, fmt, arg);
		fprintf(stderr, " (see %s --help)\n", log_progname());
	} else {
		fputs(usage_text, stderr);
	}
	return EXIT_USAGE;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* ---------------------------------------------------------------------- init */

static bool holds_server(const char *dir)
{
	static const char *const files[] = { "config", "index.db", "ca.pem", CA_KEY_OLD, CA_KEY_DIR,
					     "store" };
	char path[PATH_MAX + 16];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

/* mkdir -p: parents 0755, the server directory itself 0700. */
static int make_dir(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", dir);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*c = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* The store of a new server, encrypted when enc says so.  0 or 1 (logged). */
static int init_store(const char *dir, const struct srvkey_opts *enc)
{
	char err[PATH_MAX + 128] = "", path[PATH_MAX + 16];
	struct store_key key;
	struct store *st = NULL;
	int r;

	if (enc && srvkey_create(dir, enc, &key, err, sizeof(err)) < 0)
		return log_warnx("%s", err), 1;
	snprintf(path, sizeof(path), "%s/store", dir);
	r = store_open_key(path, enc ? &key : NULL, &st);
	OPENSSL_cleanse(&key, sizeof(key));
	if (r < 0)
		return log_errno(r, "%s", path), 1;
	store_close(st);
	return 0;
}

static int cmd_init(const char *dir, const char *listen_at, const char *advertise,
		    const struct srvkey_opts *enc)
{
	char err[256] = "", host[HOSTPORT_MAX], port[HOSTPORT_PORT_SIZE];
	struct srv_config cfg;
	struct index *idx = NULL;
	int r;

	config_defaults(&cfg, dir);
	if (strlen(dir) >= sizeof(cfg.dir) - 32)
		return log_warnx("%s: name too long", dir), 1;
	if (listen_at && hostport_split(listen_at, HOSTPORT_BIND, host, sizeof(host), port, sizeof(port)) < 0)
		return usage("bad --listen address '%s'", listen_at);
	if (advertise && hostport_split(advertise, 0, host, sizeof(host), port, sizeof(port)) < 0)
		return usage("bad --advertise address '%s'", advertise);
	if (listen_at)
		snprintf(cfg.listen, sizeof(cfg.listen), "%s", listen_at);
	if (advertise)
		snprintf(cfg.advertise, sizeof(cfg.advertise), "%s", advertise);
	config_default_advertise(&cfg);
	if ((r = make_dir(dir)) < 0)
		return log_errno(r, "%s", dir), 1;
	if (holds_server(dir))
		return log_warnx("%s already holds a server; refusing to overwrite it", dir), 1;
	if (srvdir_secure_new(dir, err, sizeof(err)) < 0)
		return log_warnx("%s", err), 1;
	if (init_store(dir, enc))   /* first: a missing secret leaves nothing behind */
		return 1;
	if ((r = ca_init(dir, err, sizeof(err))) < 0)
		return log_warnx("%s", err), 1;
	if ((r = index_open(dir, true, &idx)) < 0)
		return log_errno(r, "%s/index.db", dir), 1;
	index_close(idx);
	if ((r = config_save(&cfg)) < 0)
		return log_errno(r, "%s/config", dir), 1;
	printf("initialised %s: listen %s, advertise %s\n", dir, cfg.listen, cfg.advertise);
	return 0;
}

/* Moves an older DIR's CA key into DIR/ca (ca.h), saying so once: 0, or
 * -errno logged. */
static int key_migrate(const char *dir)
{
	char err[PATH_MAX * 2 + 64] = "";
	int r = ca_key_migrate(dir, err, sizeof(err));

	if (r < 0)
		return log_warnx("%s", err), r;
	if (r > 0)
		log_info("moved the CA key %s/%s to %s/%s (where only enroll opens it)",
			 dir, CA_KEY_OLD, dir, CA_KEY_FILE);
	return 0;
}

/* -------------------------------------------------------------------- enroll */

static int cmd_enroll(const char *dir, enum vg_role role, const char *name, const char *out,
		      const char *pubkey_file)
{
	char err[256] = "";
	struct srv_config cfg;

	if (!name_valid(name))
		return log_warnx("'%s' is not a valid name ([a-z0-9][a-z0-9._-]{0,62})", name), 1;
	if (access(out, F_OK) == 0)
		return log_warnx("%s exists; refusing to overwrite it", out), 1;
	if (config_load(dir, &cfg, err, sizeof(err)) < 0)
		return log_warnx("%s", err), 1;
	if (key_migrate(dir) < 0)
		return 1;
	return enroll_run(dir, cfg.advertise, role, name, out, pubkey_file);
}

/* ----------------------------------------------------------------------- run */

/* SIGTERM and SIGINT as a signalfd, blocked before any thread starts so
 * that every thread inherits the mask and only the signalfd sees them. */
static int signal_fd(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		log_warn("signalfd");
	return fd;
}

/* Before any thread: the CA key where the ruleset leaves it out, then the
 * ruleset (runlock.h).  0, or -errno logged. */
static int run_lock(const struct srv_config *cfg)
{
	char err[PATH_MAX + 64] = "";
	int r;

	if ((r = key_migrate(cfg->dir)) < 0)
		return r;
	if ((r = runlock_prepare(cfg->dir, cfg->country, err, sizeof(err))) < 0 ||
	    (r = runlock_apply(cfg->dir, err, sizeof(err))) < 0)
		return log_warnx("%s", err), r;
	if (r > 0)
		log_warning("no Landlock in this kernel: run is not kept from %s/%s",
			  cfg->dir, CA_KEY_FILE);
	return 0;
}

/* Builds the server context, serves it until a signal, takes it down. */
static int cmd_run(const char *dir, const char *listen_at, const struct srvkey_opts *ko)
{
	char err[PATH_MAX + 128] = "", host[HOSTPORT_MAX], port[HOSTPORT_PORT_SIZE];
	struct srv_config cfg;
	struct store_key key;
	struct srv srv;
	bool enc = false;
	int sfd, afd, r;

	if (listen_at && hostport_split(listen_at, HOSTPORT_BIND, host, sizeof(host), port, sizeof(port)) < 0)
		return usage("bad --listen address '%s'", listen_at);
	if ((r = config_load(dir, &cfg, err, sizeof(err))) < 0)
		return log_warnx("%s", err), r == -EINVAL ? EXIT_USAGE : 1;
	if (srvdir_check(dir, err, sizeof(err)) < 0)
		return log_warnx("%s", err), 1;
	if (cfg.legacy) {   /* an old "key value" file: rewritten once, atomically */
		if ((r = config_save(&cfg)) < 0)
			return log_errno(r, "%s/config", dir), 1;
		log_info("rewrote %s/config in the 'key = value' grammar", dir);
	}
	/* the key file may lie outside DIR: read before the ruleset */
	if (srvkey_load(dir, ko, &key, &enc, err, sizeof(err)) < 0)
		return log_warnx("%s", err), 1;
	cfg.store_key = enc ? &key : NULL;
	/* DIR/admin.sock: made before the ruleset, which forbids it (admin.h) */
	if ((afd = admin_bind(dir)) == -EADDRINUSE)
		return log_warnx("%s is served by another vigil-server", dir), 1;
	if (run_lock(&cfg) < 0) {
		if (afd >= 0)
			close(afd);
		return 1;
	}
	/* Each request runs in a thread of its own, and a read takes a 256 KiB
	 * span buffer and 64 KiB frames: without this, glibc mmaps the span and
	 * trims each thread's heap top as it is freed, and every request faults
	 * its pages in again (docs/performance.md, "Reads").  What is kept is
	 * bounded by the busiest moment's allocations. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	if ((sfd = signal_fd()) < 0) {
		if (afd >= 0)
			close(afd);
		return 1;
	}
	if ((r = srv_open(&srv, &cfg)) == 0) {
		struct admin_env env = { .dir = cfg.dir, .st = srv.store, .idx = srv.idx,
					 .ridx = srv_reader(&srv), .sw = srv.sweeper, .live = true };
		struct admin *adm = afd >= 0 ? admin_start(afd, &env) : NULL;

		r = session_serve(&srv, listen_at ? listen_at : cfg.listen, sfd);
		admin_stop(adm);
	} else if (afd >= 0) {
		close(afd);
	}
	srv_close(&srv);
	close(sfd);
	OPENSSL_cleanse(&key, sizeof(key));
	return r < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------- options */

/* the options that are no settings (srv_flag_keys has the others) */
enum { OPT_CONTROLLER = 1, OPT_DEVICE, OPT_OUT, OPT_PUBKEY, OPT_ENCRYPT };

struct opts {
	const char *listen, *advertise, *controller, *device, *out, *pubkey;
	bool encrypt;
	struct srvkey_opts key;
	const char *pos[3];
	int npos;
};

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option extra[] = {
		{ "controller", required_argument, NULL, OPT_CONTROLLER },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "pubkey", required_argument, NULL, OPT_PUBKEY },
		{ "encrypt", no_argument, NULL, OPT_ENCRYPT },
		{ NULL, 0, NULL, 0 },
	};
	struct option lo[CONF_KEYS_MAX + 8];
	int c;

	memset(o, 0, sizeof(*o));
	if (conf_options(srv_flag_keys, extra, lo, sizeof(lo) / sizeof(lo[0])) < 0)
		return usage("too many options%s", "");
	optind = 1;
	opterr = 0;
	while ((c = conf_getopt(argc, argv, "", lo)) != -1) {
		switch (c) {
		case SRV_OPT_LISTEN: o->listen = optarg; break;
		case SRV_OPT_ADVERTISE: o->advertise = optarg; break;
		case OPT_CONTROLLER: o->controller = optarg; break;
		case OPT_DEVICE:     o->device = optarg; break;
		case OPT_OUT:        o->out = optarg; break;
		case OPT_PUBKEY:     o->pubkey = optarg; break;
		case OPT_ENCRYPT:    o->encrypt = true; break;
		case SRV_OPT_KEY_FILE: o->key.key_file = optarg; break;
		case SRV_OPT_PASS_FILE: o->key.pass_file = optarg; break;
		case SRV_OPT_VERBOSE: break;   /* taken by take_common */
		default:
			return usage("bad option '%s'", argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++) {
		if (o->npos == 3)
			return usage("unexpected argument '%s'", argv[optind]);
		o->pos[o->npos++] = argv[optind];
	}
	return 0;
}

/* Which options each subcommand takes; anything else is a usage error. */
static int check_opts(const char *cmd, const struct opts *o)
{
	bool init = !strcmp(cmd, "init"), enroll = !strcmp(cmd, "enroll"), run = !strcmp(cmd, "run");

	if (o->npos != 1)
		return usage("%s needs exactly one DIR", cmd);
	if (o->listen && !init && !run)
		return usage("--listen is not an option of %s", cmd);
	if (o->advertise && !init)
		return usage("--advertise is not an option of %s", cmd);
	if (o->encrypt && !init)
		return usage("--encrypt is not an option of %s", cmd);
	if ((o->key.key_file || o->key.pass_file) && !(init && o->encrypt) && !run)
		return usage("--key-file and --passphrase-file go with init --encrypt, run, "
			     "check or sweep%s", "");
	if (o->key.key_file && o->key.pass_file)
		return usage("give one of --key-file, --passphrase-file%s", "");
	if ((o->controller || o->device || o->out || o->pubkey) && !enroll)
		return usage("%s takes no enroll options", cmd);
	if (enroll) {
		if (!o->controller == !o->device)
			return usage("%s needs exactly one of --controller NAME, --device NAME", cmd);
		if (!o->out)
			return usage("%s needs --out FILE", cmd);
		if (o->pubkey && !o->controller)
			return usage("--pubkey goes with --controller%s", "");
	}
	return 0;
}

/* --config FILE and --verbose, which every subcommand takes: out of argv
 * (before admin_client passes argv on), the file read into *f, its key
 * options into *ko.  0, or the exit code of a usage error (2) or of a file
 * that cannot be read (1). */
static int take_common(int *argc, char **argv, struct srv_flags *f, struct srvkey_opts *ko)
{
	char err[PATH_MAX + 256];
	const char *path = NULL, *v;
	bool bad = false, verbose = false;
	int r;

	memset(f, 0, sizeof(*f));
	for (int i = 2; i < *argc && !bad;) {
		if ((v = conf_argv_take(argc, argv, i, "--config", &bad))) {
			path = v;
		} else if (!strcmp(argv[i], "--verbose")) {
			memmove(argv + i, argv + i + 1, (size_t)(*argc - i) * sizeof(*argv));
			--*argc;
			verbose = true;
		} else if (!bad) {
			i++;
		}
	}
	if (bad)
		return usage("--config needs a FILE%s", "");
	if (path && (r = srv_flags_load(path, f, err, sizeof(err))) < 0)
		return log_warnx("%s", err), r == -EINVAL ? EXIT_USAGE : 1;
	ko->key_file = f->key_file[0] ? f->key_file : NULL;
	ko->pass_file = f->pass_file[0] ? f->pass_file : NULL;
	if (verbose || f->verbose)
		log_set_level(LOG_LVL_DEBUG);
	return 0;
}

int main(int argc, char **argv)
{
	static struct srv_flags file;   /* --config FILE (its strings outlive main's calls) */
	struct srvkey_opts fko;
	const char *cmd;
	struct opts o;
	int r;

	log_init("vigil-server", LOG_LVL_INFO);
	umask(077);   /* every file 0600, every directory 0700 (server/srvdir.h) */
	if (argc < 2)
		return usage(NULL, NULL);
	cmd = argv[1];
	if (argc == 2 && !strcmp(cmd, "extractor"))   /* hidden: started by run (exproc.h) */
		_exit(exchild_main());
	if (wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if ((r = take_common(&argc, argv, &file, &fko)) != 0)
		return r;
	/* the subcommands that open a stopped encrypted DIR themselves: its
	 * secret from --key-file/--passphrase-file (or the environment); all
	 * but rekey need it only when no server serves DIR (admin.h) */
	if (admin_handles(cmd) || !strcmp(cmd, "enroll") || !strcmp(cmd, "rekey")) {
		if ((r = srvkey_cli_take(&argc, argv, &fko)) != 0)
			return r;
	}
	if (!strcmp(cmd, "rekey"))
		return rekey_main(argc - 1, argv + 1);
	if (admin_handles(cmd))   /* in the server serving DIR, or here */
		return admin_client(argc - 1, argv + 1);
	if (strcmp(cmd, "init") && strcmp(cmd, "enroll") && strcmp(cmd, "run"))
		return usage("unknown command '%s'", cmd);
	if ((r = parse(argc - 1, argv + 1, &o)) != 0 || (r = check_opts(cmd, &o)) != 0)
		return r;
	/* the command line wins over --config FILE */
	if (!o.listen && file.listen[0])
		o.listen = file.listen;
	if (!o.advertise && file.advertise[0])
		o.advertise = file.advertise;
	if (!o.key.key_file && !o.key.pass_file)
		o.key = fko;
	if (!strcmp(cmd, "init"))
		return cmd_init(o.pos[0], o.listen, o.advertise, o.encrypt ? &o.key : NULL);
	if (!strcmp(cmd, "enroll"))
		return cmd_enroll(o.pos[0], o.controller ? ROLE_CONTROLLER : ROLE_DEVICE,
				  o.controller ? o.controller : o.device, o.out, o.pubkey);
	return cmd_run(o.pos[0], o.listen, &o.key);
}
