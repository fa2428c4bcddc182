/* sim.h — what vigil-simfs knows of the SIM: one snapshot, read from the
 * modem in one go (modem.h) and rendered into files (simdoc.h).
 *
 * Every field is bounded; text is UTF-8 (names and messages decoded from
 * UCS2 or GSM 7-bit, never raw modem bytes).  A snapshot owns its arrays:
 * sim_snapshot_free() releases them; a zeroed snapshot is empty and valid. */
#ifndef VIGIL_FUSE_SIM_H
#define VIGIL_FUSE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_ICCID_MAX    32      /* incl. NUL (ICCIDs have 19-20 digits) */
#define SIM_IMSI_MAX     32
#define SIM_NUMBER_MAX   48      /* a dialled number, '+' and digits, *#pw */
#define SIM_OPERATOR_MAX 64
#define SIM_NAME_MAX     256     /* a contact's name in UTF-8 incl. NUL */
#define SIM_CONTACTS_MAX 1000    /* entries kept of one phonebook */
#define SIM_SMS_MAX      256     /* messages kept (after joining parts) */
#define SIM_SMS_TEXT_MAX 8192    /* UTF-8 bytes of one joined message incl. NUL */
#define SIM_OWN_MAX      4       /* own numbers (AT+CNUM) kept */

/* Number types of 3GPP TS 24.008 (AT+CPBR, AT+CNUM). */
#define SIM_TON_NATIONAL      129
#define SIM_TON_INTERNATIONAL 145

struct sim_identity {
	bool present;                       /* a SIM answers (AT+CPIN? READY or PIN asked) */
	char iccid[SIM_ICCID_MAX];          /* "" when unknown */
	char imsi[SIM_IMSI_MAX];
	char msisdn[SIM_OWN_MAX][SIM_NUMBER_MAX];   /* own numbers, "+<digits>" for type 145 */
	size_t nmsisdn;
	char operator_name[SIM_OPERATOR_MAX];
};

struct sim_contact {
	unsigned index;                     /* the SIM's record number (1-based) */
	char name[SIM_NAME_MAX];            /* may be "" */
	char number[SIM_NUMBER_MAX];        /* as stored; type 145 gets a leading '+' */
	int type;                           /* 129, 145, or what the SIM said */
};

enum sim_sms_status { SMS_UNREAD = 0, SMS_READ = 1, SMS_UNSENT = 2, SMS_SENT = 3 };

struct sim_sms {
	unsigned index;                     /* storage index of its first part */
	enum sim_sms_status status;
	char peer[SIM_NUMBER_MAX + 16];     /* sender (deliver) or recipient (submit);
					     * an alphanumeric sender decoded to UTF-8 */
	int64_t time_s;                     /* service centre time, Unix seconds; 0: none */
	int tz_minutes;                     /* its zone, minutes east of UTC */
	unsigned parts, parts_missing;      /* concatenated parts joined / not found */
	char text[SIM_SMS_TEXT_MAX];        /* UTF-8, NUL-terminated */
};

struct sim_snapshot {
	struct sim_identity id;
	bool phonebook_ok;                  /* false: not read (keep the previous one) */
	bool sms_ok;
	size_t ncontacts;
	struct sim_contact *contacts;       /* malloc'd, ncontacts of them, by index */
	size_t nsms;
	struct sim_sms *sms;                /* malloc'd, nsms of them, by index */
};

void sim_snapshot_free(struct sim_snapshot *s);   /* frees the arrays, zeroes s */

#endif
