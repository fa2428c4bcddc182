/* cmdcheck.h — whether the device obeys a command that reached it: the
 * decision alone, apart from its I/O (like adopt.h).  The caller (vigild's
 * command executor) supplies the envelope's body and signature, the
 * bundle's trusted controller keys, this device's name, the device clock
 * and the durable record of accepted commands (cmdseq.h), and acts on the
 * verdict.
 *
 * Checks, in the order docs/commands.md gives, the first failure deciding:
 *   1. the body decodes (command_decode)                  CMDREF_FORMAT
 *   2. the signer named in the body is a trusted controller CMDREF_SIGNER
 *   3. the signature verifies against that key            CMDREF_SIGNATURE
 *   4. the body names this device                         CMDREF_DEVICE
 *   5. a redelivery of the command last accepted from that controller
 *      (same seq, same body sha256) is CMDCHECK_REDELIVERY: report the
 *      stored result again, never run it twice.  This comes before the
 *      expiry check so that a command that already ran reports what it did,
 *      not "expired".
 *   6. now_ns < expires_ns                                CMDREF_EXPIRED
 *   7. seq > the highest seen from that controller        CMDREF_REPLAY
 *      (no record = highest 0, so seq 0 is never accepted)
 *
 * On CMDCHECK_ACCEPT the executor commits cmdcheck_record() to cmdseq
 * *before* running the command, and runs it only if that commit succeeded. */
#ifndef VIGIL_DAEMON_CMDCHECK_H
#define VIGIL_DAEMON_CMDCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "common/bundle.h"
#include "common/command.h"
#include "daemon/cmdseq.h"

enum cmdcheck_verdict {
	CMDCHECK_ACCEPT = 0,    /* run it (after committing cmdcheck_record) */
	CMDCHECK_REDELIVERY,    /* already accepted: report res->prev->result again */
	CMDCHECK_REFUSE,        /* report "refused" with res->reason */
};

enum cmdcheck_refusal {
	CMDREF_NONE = 0,
	CMDREF_FORMAT,          /* body does not decode */
	CMDREF_SIGNER,          /* signer is not a trusted controller */
	CMDREF_SIGNATURE,       /* signature does not verify */
	CMDREF_DEVICE,          /* addressed to another device */
	CMDREF_EXPIRED,         /* expires_ns <= now_ns */
	CMDREF_REPLAY,          /* seq <= highest seen from that controller */
};

struct cmdcheck_result {
	enum cmdcheck_verdict verdict;
	enum cmdcheck_refusal why;      /* CMDREF_NONE unless REFUSE */
	char reason[VG_ERRMSG_MAX];     /* REFUSE: one line for the server and vigil status */
	struct vg_command cmd;          /* the decoded body (zeroed if it did not decode) */
	uint8_t body_sha256[32];        /* of body */
	const struct cmdseq_rec *prev;  /* the signer's record in seen, or NULL; points into seen */
};

/* The decision; also stored in res->verdict.  trust: the device's bundle
 * (its trust list is read, nothing else); seen: the loaded cmdseq.  Pure:
 * no I/O, no clock, no logging. */
enum cmdcheck_verdict cmdcheck_decide(const uint8_t *body, size_t len,
				      const uint8_t sig[SIGN_SIG_LEN],
				      const struct bundle *trust, const char *device,
				      int64_t now_ns, const struct cmdseq *seen,
				      struct cmdcheck_result *res);

/* The cmdseq record to commit for an accepted command before it runs:
 * controller, seq, body hash, result {id, "running", updated_ns}. */
void cmdcheck_record(const struct cmdcheck_result *res, uint64_t id, int64_t now_ns,
		     struct cmdseq_rec *rec);

const char *cmdcheck_refusal_name(enum cmdcheck_refusal why);

#endif
