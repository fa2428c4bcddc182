/* cmd_admin.c — `vigil keygen`, and the signed commands freeze, thaw, erase,
 * trust: their arguments are parsed and checked here, one table row per
 * command, before anything is loaded or sent; controller/cmdsend.c signs,
 * numbers, queues and follows them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/bundle.h"
#include "common/command.h"
#include "common/conffile.h"
#include "common/log.h"
#include "common/names.h"
#include "common/sign.h"
#include "common/timefmt.h"
#include "controller/cmdsend.h"
#include "controller/commands.h"
#include "controller/signkey.h"

#define EXPIRE_DEFAULT_NS (7LL * 86400 * 1000000000)
/* A command may wait days for an offline device; a year is past any
 * sensible wait, and keeps issued + expiry far from int64's end. */
#define EXPIRE_MAX_NS     (366LL * 86400 * 1000000000)
#define WAIT_MAX_S (30LL * 86400)

/* Creates the default key's directory (~/.config/vigil) when missing,
 * private to its owner; an explicit --out must name an existing one. */
static int make_parent(const char *path)
{
	char dir[PATH_MAX], *slash;
	size_t i;

	snprintf(dir, sizeof(dir), "%s", path);
	if (!(slash = strrchr(dir, '/')) || slash == dir)
		return 0;
	*slash = '\0';
	for (i = 1; dir[i]; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		dir[i] = '/';
	}
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* The key pair into out and out.pub, never over an existing file. */
static int keygen_write(const char *out, const char *pub)
{
	struct stat st;
	EVP_PKEY *key;
	int r;

	if (lstat(out, &st) == 0 || lstat(pub, &st) == 0) {
		log_warnx("%s or %s exists; not overwriting a key", out, pub);
		return -EEXIST;
	}
	if (!(key = sign_keygen())) {
		log_warnx("keygen: cannot make a key");
		return -EIO;
	}
	if ((r = sign_key_save(out, key, true)) < 0)
		log_errno(r, "%s", out);
	else if ((r = sign_key_save(pub, key, false)) < 0)
		log_errno(r, "%s", pub);
	EVP_PKEY_free(key);
	return r;
}

int cmd_keygen(struct ctl *c, int argc, char **argv)
{
	static const char *usage = "vigil keygen [--out FILE]\n"
		"  Makes an Ed25519 command-signing key pair: FILE holds the private half\n"
		"  (mode 0600, keep it), FILE.pub the public half for\n"
		"  `vigil-server enroll DIR --controller NAME --pubkey FILE.pub`.\n"
		"  FILE defaults to where signing looks for the key: --sign-key, then\n"
		"  $VIGIL_SIGN_KEY, then the bundle's path with .bundle replaced by .key\n"
		"  (~/.config/vigil/controller.key beside the default bundle).  A key\n"
		"  elsewhere is given to the signed commands with --sign-key FILE or\n"
		"  VIGIL_SIGN_KEY=FILE.\n";
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' },
					      CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	char bpath[PATH_MAX], kpath[PATH_MAX], pub[PATH_MAX + 8];
	int opt, r;

	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "ho:", opts)) != -1) {
		if (opt == 'o')
			out = optarg;
		else if (!ctl_common_opt(c, opt, optarg))
			return ctl_opt_stop(usage, opt, argv);
	}
	if (optind != argc)
		return ctl_usage(usage, "unexpected argument %s", argv[optind]);
	if (out && !*out)
		return ctl_usage(usage, "--out: empty file name");
	if (!out) {
		if ((r = ctl_bundle_path(c, bpath, sizeof(bpath))) < 0 ||
		    signkey_keygen_path(c->sign_key_path, getenv("VIGIL_SIGN_KEY"), bpath,
					kpath, sizeof(kpath)) < 0)
			return ctl_usage(usage, "no default place for the key (no $HOME): give --out FILE");
		out = kpath;
		if ((r = make_parent(out)) < 0) {
			log_errno(r, "%s: cannot create its directory", out);
			return CTL_FAIL;
		}
	}
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", out) >= sizeof(pub))
		return ctl_usage(usage, "--out: name too long");
	if (keygen_write(out, pub) < 0)
		return CTL_FAIL;
	printf("private key: %s\npublic key:  %s\n", out, pub);
	/* say how signing will find it when it is not where signing looks */
	if (ctl_bundle_path(c, bpath, sizeof(bpath)) < 0 ||
	    signkey_keygen_path(c->sign_key_path, getenv("VIGIL_SIGN_KEY"), bpath, kpath,
				sizeof(kpath)) < 0 || strcmp(kpath, out) != 0)
		printf("sign with:   --sign-key %s (or VIGIL_SIGN_KEY=%s)\n", out, out);
	return CTL_OK;
}

/* ---- signed commands ---- */

struct sigcmd {
	const char *name;
	uint8_t action;    /* enum cmd_action (trust: by --add / --revoke) */
	const char *usage;
	bool expire;       /* takes --expire */
	bool needs_yes;    /* erase */
	bool trust;        /* --add BUNDLE | --revoke NAME */
};

struct sigcmd_args {
	char dev[VG_NAME_MAX];
	int64_t expire_ns;
	long long wait_s;  /* 0: do not wait */
	bool yes;
	const char *add_bundle, *revoke;
};

#define SIGCMD_TAIL \
	"  Exits 0 once the server has queued it (prints \"command ID: queued\").\n" \
	"  --wait SECONDS: exits 0 when the device reports done, 1 when it failed,\n" \
	"  refused or the command expired, 3 when SECONDS ran out.\n"

static const struct sigcmd sig_freeze = { "freeze", CMD_FREEZE,
	"vigil freeze DEVICE [--expire DURATION] [--wait SECONDS]\n"
	"  Freezes the device's applications (signed).  DURATION: 30m, 12h, 14d (default 7d).\n"
	SIGCMD_TAIL,
	true, false, false };
static const struct sigcmd sig_thaw = { "thaw", CMD_THAW,
	"vigil thaw DEVICE [--expire DURATION] [--wait SECONDS]\n"
	"  Undoes freeze (signed).  DURATION: 30m, 12h, 14d (default 7d).\n"
	SIGCMD_TAIL,
	true, false, false };
static const struct sigcmd sig_erase = { "erase", CMD_ERASE,
	"vigil erase DEVICE --yes [--expire DURATION] [--wait SECONDS]\n"
	"  Erases the device's user data and revokes it (signed).  Needs --yes.\n"
	SIGCMD_TAIL,
	true, true, false };
static const struct sigcmd sig_trust = { "trust", CMD_TRUST_ADD,
	"vigil trust DEVICE --add BUNDLE|--revoke NAME [--wait SECONDS]\n"
	"  Makes the device trust another controller's key, or stop trusting one (signed).\n"
	"  BUNDLE: that controller's bundle (only its name and public key are read).\n"
	SIGCMD_TAIL,
	false, false, true };

/* 0: parsed; CTL_USAGE (printed); -1: --help was printed. */
static int sigcmd_parse(const struct sigcmd *k, struct ctl *c, int argc, char **argv,
			struct sigcmd_args *a)
{
	static const struct option opts[] = {
		{ "expire", required_argument, NULL, 'e' }, { "wait", required_argument, NULL, 'w' },
		{ "yes", no_argument, NULL, 'y' }, { "add", required_argument, NULL, 'A' },
		{ "revoke", required_argument, NULL, 'R' }, CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	char *end;
	int opt;

	memset(a, 0, sizeof(*a));
	a->expire_ns = EXPIRE_DEFAULT_NS;
	opterr = 0;
	while ((opt = conf_getopt(argc, argv, "h", opts)) != -1) {
		if (opt == 'e' && k->expire) {
			if (timefmt_duration(optarg, &a->expire_ns) < 0)
				return ctl_usage(k->usage, "--expire %s: not a DURATION", optarg);
			if (a->expire_ns > EXPIRE_MAX_NS)
				return ctl_usage(k->usage, "--expire %s: at most 366d", optarg);
		} else if (opt == 'w') {
			errno = 0;
			a->wait_s = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || a->wait_s <= 0 || a->wait_s > WAIT_MAX_S)
				return ctl_usage(k->usage, "--wait %s: not a number of seconds", optarg);
		} else if (opt == 'y' && k->needs_yes) {
			a->yes = true;
		} else if (opt == 'A' && k->trust) {
			a->add_bundle = optarg;
		} else if (opt == 'R' && k->trust) {
			a->revoke = optarg;
		} else if (opt == CTL_OPT_HELP) {
			ctl_help(k->usage);
			return -1;
		} else if (!ctl_common_opt(c, opt, optarg)) {
			return ctl_bad_option(k->usage, argv);
		}
	}
	if (argc - optind != 1)
		return ctl_usage(k->usage, "expected one DEVICE");
	if (!name_valid(argv[optind]))
		return ctl_usage(k->usage, "%s: not a valid device name", argv[optind]);
	snprintf(a->dev, sizeof(a->dev), "%s", argv[optind]);
	if (k->needs_yes && !a->yes)
		return ctl_usage(k->usage, "%s needs --yes; nothing was sent", k->name);
	if (k->trust && !a->add_bundle == !a->revoke)
		return ctl_usage(k->usage, "give exactly one of --add BUNDLE and --revoke NAME");
	if (k->trust && a->revoke && !name_valid(a->revoke))
		return ctl_usage(k->usage, "--revoke %s: not a valid controller name", a->revoke);
	return 0;
}

/* --add BUNDLE: the other controller's name and public signing key; its
 * bundle must come from our server (same CA). */
static int trust_from_bundle(struct ctl *c, const char *path, struct vg_command *cmd)
{
	struct bundle *o = NULL;
	char err[256] = "";
	int r = CTL_FAIL;

	if (bundle_load(path, &o, err, sizeof(err)) < 0) {
		log_warnx("%s", err[0] ? err : path);
		return CTL_FAIL;
	}
	if (o->role != ROLE_CONTROLLER || !o->sign_pub)
		log_warnx("%s: not a controller bundle", path);
	else if (X509_cmp(o->ca, c->b->ca) != 0)
		log_warnx("%s: enrolled on another server (its CA differs from %s's)", path,
			  c->bundle_file);
	else if (sign_pub_raw(o->sign_pub, cmd->trust_pub) < 0)
		log_warnx("%s: cannot read its signing key", path);
	else
		r = 0;
	snprintf(cmd->trust_name, sizeof(cmd->trust_name), "%s", o->name);
	bundle_free(o);
	return r;
}

static int sigcmd_run(const struct sigcmd *k, struct ctl *c, int argc, char **argv)
{
	struct vg_command cmd;
	struct sigcmd_args a;
	int r = sigcmd_parse(k, c, argc, argv, &a);

	if (r < 0)
		return CTL_OK;
	if (r > 0)
		return r;
	memset(&cmd, 0, sizeof(cmd));
	cmd.action = k->action;
	snprintf(cmd.device, sizeof(cmd.device), "%s", a.dev);
	if ((r = cmdsend_check_key(c)) != 0)
		return r;
	if (k->trust && a.revoke) {
		cmd.action = CMD_TRUST_REVOKE;
		snprintf(cmd.trust_name, sizeof(cmd.trust_name), "%s", a.revoke);
	} else if (k->trust && trust_from_bundle(c, a.add_bundle, &cmd) != 0) {
		return CTL_FAIL;
	}
	return cmdsend_run(c, &cmd, a.expire_ns, a.wait_s);
}

int cmd_freeze(struct ctl *c, int argc, char **argv) { return sigcmd_run(&sig_freeze, c, argc, argv); }
int cmd_thaw(struct ctl *c, int argc, char **argv) { return sigcmd_run(&sig_thaw, c, argc, argv); }
int cmd_erase(struct ctl *c, int argc, char **argv) { return sigcmd_run(&sig_erase, c, argc, argv); }
int cmd_trust(struct ctl *c, int argc, char **argv) { return sigcmd_run(&sig_trust, c, argc, argv); }
