/* modem_mm_sms.c — the messages of a snapshot from ModemManager:
 * Messaging.List on the modem, then each Sms object's properties.  Only
 * those stored on the SIM (Storage 1, "sm") are kept: the modem's own
 * memory ("me"), status reports ("sr"), broadcasts ("bm") and messages
 * ModemManager holds without storage are not SIM content.  ModemManager
 * joins concatenated parts itself and does not give the storage index, so
 * the messages are numbered 1..n in order of time, peer and text: the same
 * messages get the same numbers after a ModemManager restart. */
#include "fuse/modem_mm_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MM_IF_PROPS "org.freedesktop.DBus.Properties"

struct mm_sms {
	struct sim_sms *s;
	uint32_t state, pdu, storage;   /* MMSmsState, MMSmsPduType, MMSmsStorage */
};

static int sms_key(sd_bus_message *msg, const char *key, void *ctx)
{
	struct mm_sms *x = ctx;
	const char *str;
	int r;

	if (strcmp(key, "State") == 0)
		return mm_var_basic(msg, 'u', &x->state);
	if (strcmp(key, "PduType") == 0)
		return mm_var_basic(msg, 'u', &x->pdu);
	if (strcmp(key, "Storage") == 0)
		return mm_var_basic(msg, 'u', &x->storage);
	if (strcmp(key, "Number") != 0 && strcmp(key, "Text") != 0 &&
	    strcmp(key, "Timestamp") != 0)
		return 0;
	r = mm_var_basic(msg, 's', &str);
	if (r <= 0)
		return r;
	if (strcmp(key, "Number") == 0)
		mm_copy_line(x->s->peer, sizeof(x->s->peer), str);
	else if (strcmp(key, "Text") == 0)
		mm_copy_text(x->s->text, sizeof(x->s->text), str);
	else if (mm_iso_time(str, &x->s->time_s, &x->s->tz_minutes) < 0)
		x->s->time_s = 0;       /* "" for one not sent yet: no time */
	return 1;
}

/* ModemManager does not say whether a received message was read. */
static enum sim_sms_status sms_status(uint32_t state, uint32_t pdu)
{
	if (pdu == MM_SMS_PDU_SUBMIT || pdu == MM_SMS_PDU_CDMA_SUBMIT)
		return state == MM_SMS_STATE_SENT ? SMS_SENT : SMS_UNSENT;
	return SMS_READ;
}

/* Reads the Sms object at PATH into *s; 1 when it is stored on the SIM. */
static int read_one(struct modem *m, const char *path, struct sim_sms *s, char *err,
		    size_t errlen)
{
	struct mm_sms x = { .s = s };
	sd_bus_message *reply;
	int r;

	memset(s, 0, sizeof(*s));
	r = mm_call(m, path, MM_IF_PROPS, "GetAll", MM_IF_SMS, &reply, err, errlen);
	if (r < 0)
		return r;
	r = mm_dict_each(reply, sms_key, &x);
	sd_bus_message_unref(reply);
	if (r < 0 || x.storage != MM_SMS_STORAGE_SM)
		return 0;               /* a malformed one is skipped like an ME one */
	s->status = sms_status(x.state, x.pdu);
	s->parts = 1;
	/* still arriving: at least one part is missing (ModemManager only
	 * exports the parts it has, joined) */
	s->parts_missing = x.state == MM_SMS_STATE_RECEIVING;
	return 1;
}

static int grow(struct sim_snapshot *out, size_t *cap)
{
	size_t n = *cap ? *cap * 2 : 8;
	struct sim_sms *p;

	if (n > SIM_SMS_MAX)
		n = SIM_SMS_MAX;
	p = realloc(out->sms, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	out->sms = p;
	*cap = n;
	return 0;
}

/* Walks the ao of Messaging.List.  A message gone between List and GetAll
 * (deleted meanwhile) is skipped; a timeout, ModemManager or the bus going
 * away ends the walk with that error. */
static int walk_list(struct modem *m, sd_bus_message *list, struct sim_snapshot *out,
		     char *err, size_t errlen)
{
	const char *path;
	size_t cap = 0, seen = 0;
	int r;

	r = sd_bus_message_enter_container(list, 'a', "o");
	while (r >= 0 && seen++ < MM_LIST_MAX && out->nsms < SIM_SMS_MAX &&
	       (r = sd_bus_message_read_basic(list, 'o', &path)) > 0) {
		if (out->nsms == cap && (r = grow(out, &cap)) < 0)
			break;
		r = read_one(m, path, &out->sms[out->nsms], err, errlen);
		if (r > 0)
			out->nsms++;
		else if (r == -EPIPE || r == -ENODEV || r == -ETIMEDOUT)
			break;
		r = 0;
	}
	return r < 0 ? r : 0;
}

static int sms_cmp(const void *a, const void *b)
{
	const struct sim_sms *x = a, *y = b;
	int c;

	if (x->time_s != y->time_s)
		return x->time_s < y->time_s ? -1 : 1;
	c = strcmp(x->peer, y->peer);
	return c ? c : strcmp(x->text, y->text);
}

int mm_read_sms(struct modem *m, const char *modem_path, struct sim_snapshot *out,
		char *err, size_t errlen)
{
	sd_bus_message *list;
	int r;

	r = mm_call(m, modem_path, MM_IF_MESSAGING, "List", NULL, &list, err, errlen);
	if (r >= 0) {
		r = walk_list(m, list, out, err, errlen);
		sd_bus_message_unref(list);
	}
	if (r < 0) {
		free(out->sms);         /* sms_ok false: the caller keeps its files */
		out->sms = NULL;
		out->nsms = 0;
		return r == -EPIPE ? r : 0;
	}
	qsort(out->sms, out->nsms, sizeof(*out->sms), sms_cmp);
	for (size_t i = 0; i < out->nsms; i++)
		out->sms[i].index = (unsigned)i + 1;
	out->sms_ok = true;
	return 0;
}
