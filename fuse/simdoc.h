/* simdoc.h — the files vigil-simfs shows under sim/, rendered from a
 * snapshot: byte-stable (the same SIM content always gives the same
 * bytes, so an unchanged phonebook never makes a new version).
 *
 *   identity        key=value lines: iccid, imsi, msisdn (one line per own
 *                   number), operator, present (yes|no), read (ISO 8601 UTC:
 *                   when this identity was first read, not each poll)
 *   phonebook.vcf   vCard 3.0, one card per entry in index order, CRLF,
 *                   values escaped (\\ \, \; \n), lines folded at 75
 *                   octets never inside a UTF-8 sequence; FN (the name, or
 *                   the number when the name is empty), N, TEL;TYPE=CELL
 *                   (type 145 numbers with their '+'), X-SIM-INDEX
 *   sms/<index>.txt one message: From:/To:, Date: (ISO 8601 with its zone),
 *                   Status:, Parts:, a blank line, the text
 *
 * Each appends to b (a common/buf.h buffer with a cap): 0, or -ENOMEM /
 * -EMSGSIZE (b left as it was), -EINVAL for a NULL argument or a bad
 * property name.  docs/simfs.md describes the formats. */
#ifndef VIGIL_FUSE_SIMDOC_H
#define VIGIL_FUSE_SIMDOC_H

#include <stdint.h>

#include "common/buf.h"
#include "fuse/sim.h"

int simdoc_identity(struct buf *b, const struct sim_identity *id, int64_t read_ns);
int simdoc_phonebook(struct buf *b, const struct sim_contact *c, size_t n);
int simdoc_sms(struct buf *b, const struct sim_sms *m);

/* The vCard value escaping and folding, exposed for tests and the fuzzer:
 * appends "NAME:" + escaped value + CRLF, folded. */
int simdoc_vcard_line(struct buf *b, const char *name, const char *value);

#endif
