/* modem_mm.c — the ModemManager source (`--modem mm`, modem.h): a
 * connection to the system bus (sd-bus; DBUS_SYSTEM_BUS_ADDRESS is
 * honoured, which is how the tests use a private bus), the signals that
 * mean "read the SIM again", and the error mapping.  The reading itself is
 * modem_mm_read.c.
 *
 * modem_fd() is an epoll fd holding the bus socket and an eventfd: sd-bus
 * reads signals into its own queue while a method call waits for its
 * reply, and those would otherwise sit unseen until the next poll. */
#include "fuse/modem_mm_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MM_PUMP_MAX 256         /* messages handled per events() call */

/* Properties whose change can change the snapshot (a signal-quality or
 * access-technology update every few seconds must not cause a re-read;
 * the match rules can only select interfaces, this selects properties). */
static const struct {
	const char *iface, *prop;
} mm_watched[] = {
	{ MM_IF_MODEM, "Sim" },        { MM_IF_MODEM, "SimSlots" },
	{ MM_IF_MODEM, "PrimarySimSlot" }, { MM_IF_MODEM, "OwnNumbers" },
	{ MM_IF_MODEM, "State" },      { MM_IF_3GPP, "OperatorName" },
	{ MM_IF_SIM, NULL },           { MM_IF_SMS, NULL },   /* NULL: any */
};

static int watched_key(sd_bus_message *msg, const char *key, void *ctx)
{
	const char *iface = ((const char **)ctx)[0];

	for (size_t i = 0; i < sizeof(mm_watched) / sizeof(mm_watched[0]); i++)
		if (strcmp(mm_watched[i].iface, iface) == 0 &&
		    (!mm_watched[i].prop || strcmp(mm_watched[i].prop, key) == 0))
			((const char **)ctx)[1] = key;
	return 0;
}

static int on_props_changed(sd_bus_message *msg, void *ud, sd_bus_error *e)
{
	struct modem *m = ud;
	const char *ctx[2] = { NULL, NULL };   /* interface, a watched key seen */

	if (sd_bus_message_read(msg, "s", &ctx[0]) < 0)
		return 0;
	if (mm_dict_each(msg, watched_key, ctx) >= 0 && ctx[1])
		m->pending |= MODEM_EV_REREAD;
	return 0;
}

static int on_signal(sd_bus_message *msg, void *ud, sd_bus_error *e)
{
	((struct modem *)ud)->pending |= MODEM_EV_REREAD;
	return 0;
}

#define MM_PROPS_RULE(iface) \
	"type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'," \
	"path_namespace='" MM_PATH "',arg0='" iface "'"

static const struct {
	const char *rule;
	sd_bus_message_handler_t fn;
} mm_matches[] = {
	/* arg0 is the interface: the bus itself drops the others (a GPS fix
	 * on Modem.Location every second never wakes simfs) */
	{ MM_PROPS_RULE(MM_IF_MODEM), on_props_changed },
	{ MM_PROPS_RULE(MM_IF_3GPP), on_props_changed },
	{ MM_PROPS_RULE(MM_IF_SIM), on_props_changed },
	{ MM_PROPS_RULE(MM_IF_SMS), on_props_changed },
	/* modems appear and vanish (a SIM hot-swap re-probes the modem) */
	{ "type='signal',interface='org.freedesktop.DBus.ObjectManager',path='" MM_PATH "'",
	  on_signal },
	{ "type='signal',interface='" MM_IF_MESSAGING "'", on_signal },   /* Added, Deleted */
	/* ModemManager itself starts or goes away */
	{ "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
	  "member='NameOwnerChanged',arg0='" MM_SERVICE "'", on_signal },
};

int mm_fail(struct modem *m, int r, const sd_bus_error *e, const char *what, char *err,
	    size_t errlen)
{
	const char *why = e && e->message ? e->message : strerror(-r);

	if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || sd_bus_is_open(m->bus) <= 0) {
		r = -EPIPE;
		why = "the bus connection closed";
	} else if (e && (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
			 sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))) {
		r = -ENODEV;
		why = "ModemManager is not on the bus";
	} else if (r == -ETIMEDOUT) {
		snprintf(err, errlen, "%s: no answer within %d ms", what, MODEM_CMD_TIMEOUT_MS);
		return r;
	}
	snprintf(err, errlen, "%s: %s", what, why);
	return r;
}

int mm_call(struct modem *m, const char *path, const char *iface, const char *method,
	    const char *arg, sd_bus_message **reply, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *call = NULL;
	char what[MM_PATH_MAX + 64];
	int r;

	*reply = NULL;
	snprintf(what, sizeof(what), "ModemManager %s on %s", method, path);
	r = sd_bus_message_new_method_call(m->bus, &call, MM_SERVICE, path, iface, method);
	if (r >= 0 && arg)
		r = sd_bus_message_append_basic(call, 's', arg);
	if (r >= 0)
		r = sd_bus_call(m->bus, call, (uint64_t)MODEM_CMD_TIMEOUT_MS * 1000, &e, reply);
	if (r < 0)
		r = mm_fail(m, r, &e, what, err, errlen);
	sd_bus_error_free(&e);
	sd_bus_message_unref(call);
	return r < 0 ? r : 0;
}

int mm_pump(struct modem *m)
{
	uint64_t n;
	int r = 0, i;

	if (read(m->kickfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return -errno;
	for (i = 0; i < MM_PUMP_MAX; i++) {
		r = sd_bus_process(m->bus, NULL);
		if (r <= 0)
			break;
	}
	if (r < 0 || sd_bus_is_open(m->bus) <= 0)
		return -EPIPE;
	m->more = i == MM_PUMP_MAX;
	return 0;
}

void mm_kick(struct modem *m)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is full, so the fd is readable anyway */
	if ((m->pending || m->more) && write(m->kickfd, &one, sizeof(one)) < 0)
		return;
}

static int mm_events(struct modem *m)
{
	int r = mm_pump(m), ev;

	if (r < 0)
		return r;
	ev = m->pending;
	m->pending = 0;
	mm_kick(m);                     /* a batch left over keeps the fd readable */
	return ev;
}

static int mm_watch(struct modem *m, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	for (size_t i = 0; i < sizeof(mm_matches) / sizeof(mm_matches[0]); i++) {
		r = sd_bus_add_match(m->bus, NULL, mm_matches[i].rule, mm_matches[i].fn, m);
		if (r < 0)
			return mm_fail(m, r, NULL, "D-Bus AddMatch", err, errlen);
	}
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->epfd < 0 || m->kickfd < 0)
		goto fail;
	ev.data.fd = sd_bus_get_fd(m->bus);
	if (ev.data.fd < 0 || epoll_ctl(m->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		goto fail;
	ev.data.fd = m->kickfd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->kickfd, &ev) < 0)
		goto fail;
	return 0;
fail:
	r = -errno;
	snprintf(err, errlen, "epoll for the bus: %s", strerror(-r));
	return r;
}

static void mm_close(struct modem *m)
{
	if (!m)
		return;
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->kickfd >= 0)
		close(m->kickfd);
	sd_bus_close_unref(m->bus);
	free(m);
}

static int mm_open(struct modem **out, const char *spec, unsigned baud, char *err,
		   size_t errlen)
{
	struct modem *m = calloc(1, sizeof(*m));
	int r;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->epfd = m->kickfd = -1;
	r = sd_bus_open_system(&m->bus);
	if (r < 0) {
		snprintf(err, errlen, "cannot connect to the system bus: %s", strerror(-r));
		goto fail;
	}
	/* AddMatch and any call without its own timeout */
	sd_bus_set_method_call_timeout(m->bus, (uint64_t)MODEM_CMD_TIMEOUT_MS * 1000);
	r = mm_watch(m, err, errlen);
	if (r < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	mm_close(m);
	return r;
}

static int mm_fd(struct modem *m)
{
	return m ? m->epfd : -1;
}

const struct modem_ops modem_mm_ops = {
	.name = "mm",
	.open = mm_open,
	.fd = mm_fd,
	.events = mm_events,
	.read = mm_read,
	.close = mm_close,
};
