/* command.h — a controller's signed command to one device (freeze, thaw,
 * erase, trust add/revoke, direct fetch): the record, its canonical
 * encoding, and its Ed25519 signature.
 *
 * The body is what is signed; the server stores and relays the body and
 * the signature untouched and cannot make one (it never holds a
 * controller's private key).  The device decides whether to obey
 * (daemon/cmdcheck.h).  Encoding and rules: docs/commands.md. */
#ifndef VIGIL_COMMAND_H
#define VIGIL_COMMAND_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/proto.h"
#include "common/sign.h"
#include "common/wire.h"

#define CMD_FORMAT      1
#define CMD_BODY_MAX    (PATH_MAX + 512)   /* an encoded body never exceeds this */
#define CMD_SIG_DOMAIN  "vigil-command-v1" /* signed: domain, NUL, body */

enum cmd_action {
	CMD_FREEZE       = 1,
	CMD_THAW         = 2,
	CMD_ERASE        = 3,
	CMD_TRUST_ADD    = 4,   /* trust_name, trust_pub */
	CMD_TRUST_REVOKE = 5,   /* trust_name */
	CMD_FETCH        = 6,   /* path (direct fetch) */
};

struct vg_command {
	uint8_t format;                 /* CMD_FORMAT */
	uint8_t action;                 /* enum cmd_action */
	char device[VG_NAME_MAX];       /* the device that must obey */
	char controller[VG_NAME_MAX];   /* the signer */
	uint64_t seq;                   /* per controller, strictly increasing */
	int64_t issued_ns, expires_ns;
	char trust_name[VG_NAME_MAX];   /* TRUST_ADD, TRUST_REVOKE */
	uint8_t trust_pub[SIGN_PUB_LEN];/* TRUST_ADD */
	char path[PATH_MAX];            /* FETCH: absolute device path */
};

/* Canonical body (the signed bytes), appended to body.  format 0 is taken
 * as CMD_FORMAT; fields the action does not use are not encoded.  0,
 * -EINVAL (a field out of range: bad name, unknown action or format, path
 * not path_valid()), -EMSGSIZE (body's cap, or over CMD_BODY_MAX). */
int command_encode(const struct vg_command *c, struct buf *body);
/* Parses and checks a body with the same rules as encode, so decode then
 * encode gives the same bytes: 0 or -EBADMSG (never reads past len;
 * trailing bytes are an error; on error *c is zeroed). */
int command_decode(const uint8_t *body, size_t len, struct vg_command *c);
/* Signature over CMD_SIG_DOMAIN, NUL, body.  0 or -errno. */
int command_sign(EVP_PKEY *key, const uint8_t *body, size_t len, uint8_t sig[SIGN_SIG_LEN]);
/* 0 when sig is pub's signature of body, -EBADMSG otherwise (also for a
 * NULL pub or len > CMD_BODY_MAX). */
int command_verify(EVP_PKEY *pub, const uint8_t *body, size_t len, const uint8_t sig[SIGN_SIG_LEN]);

/* A command's progress, as the device reports it and the controller reads
 * it.  state: pending, delivered, running, done, failed, refused, expired. */
#define CMD_STATE_MAX 16
struct vg_cmdstate {
	uint64_t id;                    /* server-assigned */
	char state[CMD_STATE_MAX];
	char reason[VG_ERRMSG_MAX];     /* why failed/refused; a summary when done */
	uint64_t files, bytes;          /* erase: regular files / bytes overwritten */
	uint64_t unlinked_only;         /* erase: files unlinked without overwrite */
	uint8_t fitrim;                 /* erase: FITRIM ran on every root's fs */
	uint32_t luks_slots;            /* erase: LUKS key slots destroyed */
	int64_t updated_ns;
};
void command_put_state(struct buf *b, const struct vg_cmdstate *st);
/* get: an unknown state name or fitrim > 1 marks r bad (wire_ok < 0). */
void command_get_state(struct wire_reader *r, struct vg_cmdstate *st);

/* The envelope the server relays: {u64 id, blob body, bytes sig[64]}
 * (id 0 from the controller: not assigned yet).  get: *body points into
 * the message; -EBADMSG when malformed or body > CMD_BODY_MAX. */
void command_put_envelope(struct buf *b, uint64_t id, const uint8_t *body, size_t len,
			  const uint8_t sig[SIGN_SIG_LEN]);
int command_get_envelope(struct wire_reader *r, uint64_t *id, const uint8_t **body,
			 size_t *len, uint8_t sig[SIGN_SIG_LEN]);

/* "freeze", "thaw", "erase", "trust-add", "trust-revoke", "fetch"; "?" else. */
const char *command_action_name(uint8_t action);

#endif
