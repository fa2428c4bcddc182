/* pdu.h — SMS PDUs as AT+CMGL=4 lists them in PDU mode (3GPP TS 23.040),
 * decoded to UTF-8, and concatenated parts joined into messages.
 *
 * The hex line begins with the SMSC address (length octet first).  Both
 * SMS-DELIVER (received) and SMS-SUBMIT (stored to send) are decoded.
 * Alphabets: GSM 7-bit default with the extension table (escape 0x1B; an
 * unknown extension shows as a space, as 23.038 says), 8-bit data (shown
 * as hex), UCS2 (surrogate pairs joined).  A user data header's
 * concatenation element (IEI 0x00, 8-bit reference, or 0x08, 16-bit) is
 * kept; the header is skipped, with 7-bit fill bits honoured.  Every
 * length is checked against the bytes present: -EINVAL, never a read past
 * the end. */
#ifndef VIGIL_FUSE_PDU_H
#define VIGIL_FUSE_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse/sim.h"

#define PDU_TEXT_MAX 1024     /* UTF-8 of one part (<= 160 septets, <= 70 UCS2) */

struct sms_part {
	unsigned index;                 /* storage index (from the +CMGL line) */
	enum sim_sms_status status;
	char peer[SIM_NUMBER_MAX + 16]; /* originating / destination address */
	int64_t time_s;                 /* SCTS as Unix seconds (DELIVER); 0 for SUBMIT */
	int tz_minutes;
	bool concat;                    /* part of a concatenated message */
	unsigned ref, total, seq;       /* its reference, number of parts, 1-based seq */
	char text[PDU_TEXT_MAX];
};

/* Decodes one PDU given as hex (hexlen digits).  index and status are the
 * caller's (from the +CMGL header) and copied into out.  0 or -EINVAL. */
int pdu_decode(const char *hex, size_t hexlen, unsigned index, enum sim_sms_status status,
	       struct sms_part *out);

/* Joins parts into messages: parts with the same (peer, ref, total) in seq
 * order, a single part as is.  A missing part shows as "[…]" in the text
 * and is counted in parts_missing.  Messages come out ordered by their
 * first part's index; at most max (SIM_SMS_MAX) of them.  Returns the
 * number written to out.  parts is reordered. */
size_t sms_join(struct sms_part *parts, size_t nparts, struct sim_sms *out, size_t max);

#endif
