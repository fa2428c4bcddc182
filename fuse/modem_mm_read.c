/* modem_mm_read.c — one snapshot from ModemManager (modem.h's read): the
 * first modem GetManagedObjects lists, the identity of its Sim object, and
 * the messages stored on the SIM itself (Storage "sm"; those in the
 * modem's memory and elsewhere are not SIM content and are left out).
 * ModemManager has no phonebook API, so phonebook_ok is always false and
 * simfs writes no phonebook.vcf for this source (docs/simfs.md). */
#include "fuse/modem_mm_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MM_IF_PROPS "org.freedesktop.DBus.Properties"
#define MM_IF_OM    "org.freedesktop.DBus.ObjectManager"

/* What simfs needs of one modem object's interfaces. */
struct mm_modem {
	bool is_modem, messaging;       /* has the Modem / Messaging interface */
	char path[MM_PATH_MAX];
	char sim[MM_PATH_MAX];          /* "/" (or "" when unreadable): no SIM */
	int32_t state;                  /* MMModemState */
	uint32_t failed_reason;         /* MMModemStateFailedReason */
	char own[SIM_OWN_MAX][SIM_NUMBER_MAX];
	size_t nown;
	char operator_name[SIM_OPERATOR_MAX];   /* Modem3gpp's: the network's */
};

static int own_numbers(sd_bus_message *msg, struct mm_modem *mo)
{
	const char *contents, *s;
	char type;
	int r;

	r = sd_bus_message_peek_type(msg, &type, &contents);
	if (r <= 0 || type != 'v' || strcmp(contents, "as") != 0)
		return r < 0 ? r : 0;
	r = sd_bus_message_enter_container(msg, 'v', "as");
	if (r >= 0)
		r = sd_bus_message_enter_container(msg, 'a', "s");
	while (r >= 0 && (r = sd_bus_message_read_basic(msg, 's', &s)) > 0)
		if (mo->nown < SIM_OWN_MAX && s[0] &&
		    mm_copy_number(mo->own[mo->nown], SIM_NUMBER_MAX, s))
			mo->nown++;
	if (r >= 0)
		r = sd_bus_message_exit_container(msg);
	if (r >= 0)
		r = sd_bus_message_exit_container(msg);
	return r < 0 ? r : 1;
}

static int modem_key(sd_bus_message *msg, const char *key, void *ctx)
{
	struct mm_modem *mo = ctx;
	const char *s;
	int r;

	if (strcmp(key, "Sim") == 0) {
		r = mm_var_basic(msg, 'o', &s);
		if (r > 0 && strlen(s) < sizeof(mo->sim))
			memcpy(mo->sim, s, strlen(s) + 1);
		return r;
	}
	if (strcmp(key, "OwnNumbers") == 0)
		return own_numbers(msg, mo);
	if (strcmp(key, "State") == 0)
		return mm_var_basic(msg, 'i', &mo->state);
	if (strcmp(key, "StateFailedReason") == 0)
		return mm_var_basic(msg, 'u', &mo->failed_reason);
	return 0;
}

static int threegpp_key(sd_bus_message *msg, const char *key, void *ctx)
{
	struct mm_modem *mo = ctx;
	const char *s;
	int r;

	if (strcmp(key, "OperatorName") != 0)
		return 0;
	r = mm_var_basic(msg, 's', &s);
	if (r > 0)
		mm_copy_line(mo->operator_name, sizeof(mo->operator_name), s);
	return r;
}

/* One object's a{sa{sv}}: its interfaces and their properties. */
static int modem_ifaces(sd_bus_message *msg, struct mm_modem *mo)
{
	const char *iface;
	int r;

	r = sd_bus_message_enter_container(msg, 'a', "{sa{sv}}");
	while (r >= 0 && (r = sd_bus_message_enter_container(msg, 'e', "sa{sv}")) > 0) {
		r = sd_bus_message_read_basic(msg, 's', &iface);
		if (r >= 0 && strcmp(iface, MM_IF_MODEM) == 0) {
			mo->is_modem = true;
			r = mm_dict_each(msg, modem_key, mo);
		} else if (r >= 0 && strcmp(iface, MM_IF_3GPP) == 0) {
			r = mm_dict_each(msg, threegpp_key, mo);
		} else if (r >= 0) {
			mo->messaging |= strcmp(iface, MM_IF_MESSAGING) == 0;
			r = sd_bus_message_skip(msg, "a{sv}");
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(msg);
	}
	return r < 0 ? r : sd_bus_message_exit_container(msg);
}

/* Modem/2 before Modem/10: the same modem is "first" at every read, so a
 * second modem never looks like a SIM swap. */
static bool path_before(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la != lb ? la < lb : strcmp(a, b) < 0;
}

static int modem_objects(sd_bus_message *reply, struct mm_modem *best, struct mm_modem *cur)
{
	const char *path;
	bool found = false;
	int r;

	r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
		memset(cur, 0, sizeof(*cur));
		r = sd_bus_message_read_basic(reply, 'o', &path);
		if (r >= 0)
			r = modem_ifaces(reply, cur);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0 && cur->is_modem && strlen(path) < sizeof(cur->path) &&
		    (!found || path_before(path, best->path))) {
			memcpy(cur->path, path, strlen(path) + 1);
			*best = *cur;
			found = true;
		}
	}
	return r < 0 ? r : found;
}

static int find_modem(struct modem *m, struct mm_modem *best, char *err, size_t errlen)
{
	sd_bus_message *reply;
	struct mm_modem *cur = malloc(sizeof(*cur));
	int r;

	if (!cur)
		return -ENOMEM;
	r = mm_call(m, MM_PATH, MM_IF_OM, "GetManagedObjects", NULL, &reply, err, errlen);
	if (r >= 0) {
		r = modem_objects(reply, best, cur);
		if (r < 0)
			snprintf(err, errlen, "ModemManager GetManagedObjects: bad reply: %s",
				 strerror(-r));
		else if (r == 0)
			snprintf(err, errlen, "ModemManager knows no modem");
		r = r < 0 ? -EBADMSG : r == 0 ? -ENODEV : 0;
	}
	sd_bus_message_unref(reply);
	free(cur);
	return r;
}

static int sim_key(sd_bus_message *msg, const char *key, void *ctx)
{
	struct sim_identity *id = ctx;
	const char *s;
	int r;

	if (strcmp(key, "SimIdentifier") != 0 && strcmp(key, "Imsi") != 0 &&
	    strcmp(key, "OperatorName") != 0)
		return 0;
	r = mm_var_basic(msg, 's', &s);
	if (r <= 0)
		return r;
	if (strcmp(key, "SimIdentifier") == 0)
		mm_copy_digits(id->iccid, sizeof(id->iccid), s);
	else if (strcmp(key, "Imsi") == 0)
		mm_copy_digits(id->imsi, sizeof(id->imsi), s);
	else if (!id->operator_name[0])     /* the SIM's provider name: a fallback */
		mm_copy_line(id->operator_name, sizeof(id->operator_name), s);
	return 1;
}

static int read_identity(struct modem *m, const struct mm_modem *mo, struct sim_identity *id,
			 char *err, size_t errlen)
{
	sd_bus_message *reply;
	int r;

	id->present = mo->sim[0] && strcmp(mo->sim, "/") != 0 &&
		      !(mo->state == MM_MODEM_STATE_FAILED &&
			mo->failed_reason == MM_FAILED_REASON_SIM_MISSING);
	if (!id->present)
		return 0;
	memcpy(id->msisdn, mo->own, sizeof(id->msisdn));
	id->nmsisdn = mo->nown;
	memcpy(id->operator_name, mo->operator_name, sizeof(id->operator_name));
	r = mm_call(m, mo->sim, MM_IF_PROPS, "GetAll", MM_IF_SIM, &reply, err, errlen);
	if (r < 0)
		return r;
	r = mm_dict_each(reply, sim_key, id);
	sd_bus_message_unref(reply);
	if (r < 0)
		snprintf(err, errlen, "ModemManager Sim %s: bad reply: %s", mo->sim, strerror(-r));
	return r < 0 ? -EBADMSG : 0;
}

int mm_read(struct modem *m, struct sim_snapshot *out, char *err, size_t errlen)
{
	struct mm_modem mo;
	int r;

	memset(out, 0, sizeof(*out));
	r = find_modem(m, &mo, err, errlen);
	if (r >= 0)
		r = read_identity(m, &mo, &out->id, err, errlen);
	if (r >= 0 && out->id.present && mo.messaging)
		r = mm_read_sms(m, mo.path, out, err, errlen);
	if (r < 0)
		sim_snapshot_free(out);
	/* signals that came in meanwhile are in sd-bus's queue now */
	if (mm_pump(m) == 0)
		mm_kick(m);
	return r;
}
