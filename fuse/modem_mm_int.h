/* modem_mm_int.h — what the files of the ModemManager source share
 * (modem_mm.c: the connection and its events; modem_mm_read.c: the
 * snapshot's identity; modem_mm_sms.c: its messages; modem_mm_msg.c:
 * reading D-Bus values into bounded fields).
 * ModemManager's API: org.freedesktop.ModemManager1, its introspection
 * XML (its introspection/ folder) and ModemManager-enums.h for the numbers. */
#ifndef VIGIL_FUSE_MODEM_MM_INT_H
#define VIGIL_FUSE_MODEM_MM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "fuse/modem.h"

#define MM_SERVICE      "org.freedesktop.ModemManager1"
#define MM_PATH         "/org/freedesktop/ModemManager1"
#define MM_IF_MODEM     MM_SERVICE ".Modem"
#define MM_IF_3GPP      MM_SERVICE ".Modem.Modem3gpp"
#define MM_IF_MESSAGING MM_SERVICE ".Modem.Messaging"
#define MM_IF_SIM       MM_SERVICE ".Sim"
#define MM_IF_SMS       MM_SERVICE ".Sms"
#define MM_PATH_MAX     256     /* object paths kept; ModemManager's are ~40 bytes */
#define MM_LIST_MAX     (4 * SIM_SMS_MAX)   /* SMS objects looked at (SIM's and others) */

/* MMModemState, MMModemStateFailedReason, MMSmsState, MMSmsPduType,
 * MMSmsStorage (ModemManager-enums.h) — only the values used here. */
#define MM_MODEM_STATE_FAILED        (-1)
#define MM_FAILED_REASON_SIM_MISSING 2
#define MM_SMS_STATE_RECEIVING       2
#define MM_SMS_STATE_SENT            5
#define MM_SMS_PDU_SUBMIT            2
#define MM_SMS_PDU_CDMA_SUBMIT       33
#define MM_SMS_STORAGE_SM            1

/* One source (modem.h): owned by the poller thread, like the bus in it. */
struct modem {
	sd_bus *bus;
	int epfd;               /* modem_fd(): the bus socket and kickfd */
	int kickfd;             /* eventfd: messages already inside sd-bus */
	int pending;            /* MODEM_EV_* the match callbacks saw */
	bool more;              /* mm_pump stopped at its batch limit */
};

/* Calls METHOD (one string argument ARG, or none when NULL) on ModemManager's
 * PATH, waiting MODEM_CMD_TIMEOUT_MS at most.  0 with *reply (the caller
 * unrefs it), or mm_fail's -errno with err set. */
int mm_call(struct modem *m, const char *path, const char *iface, const char *method,
	    const char *arg, sd_bus_message **reply, char *err, size_t errlen);

/* The one place a D-Bus failure becomes an errno and a line in err:
 * the bus closed -EPIPE, ModemManager not on the bus -ENODEV, no answer in
 * time -ETIMEDOUT, otherwise r with the D-Bus error's text. */
int mm_fail(struct modem *m, int r, const sd_bus_error *e, const char *what, char *err,
	    size_t errlen);

/* Handles what sd-bus has received (match callbacks set m->pending), at
 * most a bounded batch; 0 or -EPIPE when the bus connection is gone. */
int mm_pump(struct modem *m);
/* Makes modem_fd() readable if events are pending or mm_pump left messages
 * (a signal that arrived during a call is inside sd-bus, not on the socket). */
void mm_kick(struct modem *m);

/* modem_mm_msg.c.  mm_dict_each walks an a{sv} at the read position: fn
 * gets each key with the message at its variant and returns 1 when it read
 * the variant, 0 to have it skipped, or -errno to stop. */
typedef int (*mm_key_fn)(sd_bus_message *msg, const char *key, void *ctx);
int mm_dict_each(sd_bus_message *msg, mm_key_fn fn, void *ctx);
/* A variant holding the basic type T ('s', 'o', 'u', 'i', 'b') read into
 * out (a const char * for strings, valid while msg lives): 1; a variant of
 * another type: 0 (left for the caller to skip, the field stays unset). */
int mm_var_basic(sd_bus_message *msg, char t, void *out);

/* Bounded copies into snapshot fields.  mm_copy_line: cut at a UTF-8
 * boundary, control characters turned into spaces (one-line fields).
 * mm_copy_text: cut at a UTF-8 boundary only.  mm_copy_digits: hex digits
 * only and it fits, else dst "" and false (a cut ICCID would be another's).
 * mm_copy_number: '+', digits, * # p w and it fits, else "" and false. */
void mm_copy_line(char *dst, size_t cap, const char *src);
void mm_copy_text(char *dst, size_t cap, const char *src);
bool mm_copy_digits(char *dst, size_t cap, const char *src);
bool mm_copy_number(char *dst, size_t cap, const char *src);
/* ModemManager's ISO 8601 time ("2026-11-28T10:15:00+08:00", ".123456",
 * "Z", "+05:30", "+08"): 0 with Unix seconds and minutes east of UTC;
 * -EINVAL (outputs zeroed) for "" or anything else. */
int mm_iso_time(const char *s, int64_t *time_s, int *tz_minutes);

/* modem_mm_read.c: modem_mm_ops.read */
int mm_read(struct modem *m, struct sim_snapshot *out, char *err, size_t errlen);
/* modem_mm_sms.c: the messages stored on the SIM of the modem at
 * MODEM_PATH into out->sms, sms_ok true when listed.  0 also when they could
 * not be listed (sms_ok false); -EPIPE when the bus went away. */
int mm_read_sms(struct modem *m, const char *modem_path, struct sim_snapshot *out,
		char *err, size_t errlen);

#endif
