/* enroll_cli.c — `vigil-server enroll` (enroll_cli.h): the certificate and
 * the role's keys are made here, then two steps record the identity, each
 * an admin handler: in the server serving DIR (through DIR/admin.sock: an
 * encrypted store's key is the server's), or, when none answers, on
 * DIR's index.db opened here (with the key from --key-file or the
 * environment).  The index row reserves the name; the bundle follows; a
 * bundle that cannot be written takes the row back. */
#include "server/enroll_cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/bundle.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/names.h"
#include "common/sign.h"
#include "server/admin.h"
#include "server/ca.h"
#include "server/index.h"
#include "server/srvkey.h"

/* ------------------------------------------------------- the admin steps */

static int print_trust(void *arg, const struct ident *id)
{
	char hex[HEX_SIZE(SIGN_PUB_LEN)];

	if (id->revoked || id->sign_pub_len != SIGN_PUB_LEN)
		return 0;
	fprintf(arg, "%s %s\n", id->name, hex_encode(id->sign_pub, SIGN_PUB_LEN, hex));
	return 0;
}

/* 32 bytes from 64 hex digits: 0 or -EINVAL. */
static int hex32(const char *s, uint8_t out[32])
{
	return hex_decode(s, strlen(s), out, 32);
}

int enroll_record_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err)
{
	struct ident id = { 0 }, had;
	long long ns = 0;
	char *end = NULL;
	int r;

	if (argc == 7) {
		id.role = !strcmp(argv[2], "device") ? ROLE_DEVICE :
			  !strcmp(argv[2], "controller") ? ROLE_CONTROLLER : 0;
		errno = 0;
		ns = strtoll(argv[6], &end, 10);
	}
	if (!id.role || !name_valid(argv[3]) || hex32(argv[4], id.cert_sha256) < 0 ||
	    hex32(argv[5], id.role == ROLE_DEVICE ? id.devkey : id.sign_pub) < 0 ||
	    errno || end == argv[6] || *end || ns <= 0)
		return admin_say(err, 0, "%s: a malformed request", ENROLL_RECORD), 2;
	snprintf(id.name, sizeof(id.name), "%s", argv[3]);
	id.sign_pub_len = id.role == ROLE_CONTROLLER ? SIGN_PUB_LEN : 0;
	id.enrolled_ns = ns;
	r = index_ident_add(env->idx, &id);
	OPENSSL_cleanse(id.devkey, sizeof(id.devkey));
	if (r == -EEXIST && index_ident_get(env->idx, id.name, &had) == 0)
		return admin_say(err, 0, "%s is already enrolled (as a %s)", id.name,
				 role_name(had.role)), 1;
	if (r < 0)
		return admin_say(err, r, "cannot record %s in the index", id.name), 1;
	if (id.role == ROLE_DEVICE &&
	    (r = index_ident_list(env->idx, ROLE_CONTROLLER, print_trust, out)) < 0)
		return admin_say(err, r, "trusted controllers"), 1;
	return 0;
}

int enroll_end_main(const struct admin_env *env, int argc, char **argv, FILE *out, FILE *err)
{
	struct ident id;
	int r;

	if (argc != 4 || !name_valid(argv[2]) || (strcmp(argv[3], "ok") && strcmp(argv[3], "undo")))
		return admin_say(err, 0, "%s: a malformed request", ENROLL_END), 2;
	if (!strcmp(argv[3], "undo")) {
		if ((r = index_ident_remove(env->idx, argv[2])) < 0)
			return admin_say(err, r, "remove %s again", argv[2]), 1;
		return 0;
	}
	if ((r = index_ident_get(env->idx, argv[2], &id)) < 0)
		return admin_say(err, r, "%s", argv[2]), 1;
	if (id.role == ROLE_DEVICE)
		(void)index_event_add(env->idx, id.id, id.enrolled_ns, "enrolled", id.name);
	return 0;
}

/* ------------------------------------------------------------ the command */

/* Where the steps run: the server serving dir, or (idx) index.db here. */
struct rec {
	const char *dir;
	struct index *idx;
};

/* One step: in the server, or here once no server answered.  The exit
 * status (failures said on stderr). */
static int step(struct rec *rc, int argc, char **argv, FILE *out)
{
	admin_fn *fn = !strcmp(argv[0], ENROLL_RECORD) ? enroll_record_main : enroll_end_main;
	struct admin_env env = { .dir = rc->dir };
	int r;

	if (!rc->idx) {
		if ((r = admin_call(argc, argv, out, stderr)) != -ENOTCONN)
			return r < 0 ? 1 : r;
		if (srvkey_cli_load(rc->dir) != 0)
			return 1;
		if ((r = index_open(rc->dir, false, &rc->idx)) < 0)
			return log_errno(r, "%s/index.db", rc->dir), 1;
	}
	env.idx = env.ridx = rc->idx;
	return fn(&env, argc, argv, out, stderr);
}

/* The controllers a device trusts, from the record step's lines. */
static int trust_parse(struct bundle *b, char *text)
{
	uint8_t raw[SIGN_PUB_LEN];
	char *line, *next, *sp;
	EVP_PKEY *pub;
	int r = 0;

	for (line = text; r == 0 && line && *line; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		if (!(sp = strchr(line, ' ')) || (*sp = '\0', !name_valid(line)) ||
		    hex32(sp + 1, raw) < 0 || !(pub = sign_pub_from_raw(raw)))
			return log_warnx("the server's list of trusted controllers is malformed"),
			       -EPROTO;
		r = bundle_add_trust(b, line, pub);
		EVP_PKEY_free(pub);
	}
	return r < 0 ? (log_errno(r, "trusted controllers"), r) : 0;
}

/* A controller's signing key (made, or its public half from pubkey_file);
 * a device's content key. */
static int role_keys(struct bundle *b, struct ident *id, const char *pubkey_file)
{
	char err[256] = "";
	EVP_PKEY *k = NULL;
	int r;

	if (b->role == ROLE_DEVICE)
		return RAND_bytes(id->devkey, sizeof(id->devkey)) == 1 ? 0 :
		       (log_warnx("no randomness for the device key"), -EIO);
	if (pubkey_file) {
		if ((r = sign_key_load(pubkey_file, &k, err, sizeof(err))) < 0)
			return log_warnx("%s", err), r;
	} else if (!(k = sign_keygen())) {
		return log_warnx("cannot make a signing key"), -EIO;
	}
	b->sign_pub = sign_pub_dup(k);
	if (!pubkey_file)
		b->sign_key = k;   /* the private half goes only into the bundle */
	else
		EVP_PKEY_free(k);
	if (!b->sign_pub || sign_pub_raw(b->sign_pub, id->sign_pub) < 0)
		return log_warnx("bad signing key"), -EINVAL;
	return 0;
}

/* The identity's certificate and keys into b and id. */
static int make_ident(const char *dir, struct bundle *b, struct ident *id,
		      const char *pubkey_file)
{
	char err[256] = "";
	int r;

	if ((r = ca_issue(dir, b->role, b->name, &b->cert, &b->key, err, sizeof(err))) < 0)
		return log_warnx("%s", err), r;
	if (!(b->ca = ca_load_cert(dir, err, sizeof(err))))
		return log_warnx("%s", err), -EINVAL;
	if ((r = tls_cert_sha256(b->cert, id->cert_sha256)) < 0)
		return log_warnx("cannot hash the new certificate"), r;
	return role_keys(b, id, pubkey_file);
}

/* Records the identity (the trust list into b), writes the bundle, and
 * ends the record (or takes it back).  The exit status. */
static int record_and_save(struct rec *rc, struct bundle *b, const struct ident *id,
			   const char *out)
{
	char sha[HEX_SIZE(32)], key[HEX_SIZE(32)], ns[24], *text = NULL;
	char *rec_argv[] = { ENROLL_RECORD, (char *)rc->dir, b->role == ROLE_DEVICE ?
			     "device" : "controller", b->name, sha, key, ns, NULL };
	char *end_argv[] = { ENROLL_END, (char *)rc->dir, b->name, "ok", NULL };
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int st, r;

	if (!mem)
		return log_warnx("out of memory"), 1;
	hex_encode(id->cert_sha256, 32, sha);
	hex_encode(b->role == ROLE_DEVICE ? id->devkey : id->sign_pub, 32, key);
	snprintf(ns, sizeof(ns), "%lld", (long long)id->enrolled_ns);
	st = step(rc, 7, rec_argv, mem);
	OPENSSL_cleanse(key, sizeof(key));
	fclose(mem);
	if (st == 0) {
		if ((r = trust_parse(b, text)) == 0 && (r = bundle_save(out, b)) < 0)
			log_errno(r, "%s", out);
		if (r < 0) {
			end_argv[3] = "undo";
			st = 1;
		}
		/* a lost "enrolled" event does not undo the enrolment */
		if (step(rc, 4, end_argv, stdout) != 0 && r < 0)
			log_warnx("%s stays recorded without a bundle: revoke it", b->name);
	}
	free(text);
	return st;
}

int enroll_run(const char *dir, const char *advertise, enum vg_role role, const char *name,
	       const char *out, const char *pubkey_file)
{
	struct ident id = { .role = role };
	struct rec rc = { .dir = dir };
	struct bundle *b = bundle_new();
	int r;

	if (!b)
		return log_warnx("out of memory"), 1;
	b->role = role;
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->server, sizeof(b->server), "%s", advertise);
	snprintf(id.name, sizeof(id.name), "%s", name);
	if ((r = make_ident(dir, b, &id, pubkey_file)) == 0) {
		id.enrolled_ns = real_ns();
		r = record_and_save(&rc, b, &id, out);
	}   /* r: -errno (logged) or an exit status */
	OPENSSL_cleanse(id.devkey, sizeof(id.devkey));
	bundle_free(b);
	index_close(rc.idx);
	if (r != 0)
		return 1;
	printf("enrolled %s %s: %s\n", role_name(role), name, out);
	return 0;
}
