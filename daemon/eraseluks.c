/* eraseluks.c — the strong form of erase: every key slot of a LUKS volume
 * destroyed with libcryptsetup, so the volume key can no longer be
 * unwrapped from any passphrase or key file (docs/erase.md).
 * libcryptsetup is opened (dlopen) on the first erase, not linked: it and
 * the eight libraries it pulls in (devmapper, selinux, blkid, udev, pcre2,
 * argon2, json-c, uuid) cost vigild 0.8 MiB of RSS all its life for a
 * command that may never come (docs/performance.md, "vigild's memory,
 * round 4"). */
#include "daemon/erase_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcryptsetup.h>

#include "common/log.h"

static void quiet_log(int level, const char *msg, void *usrptr)
{
	(void)usrptr;
	if (level == CRYPT_LOG_ERROR)
		log_debug("libcryptsetup: %s", msg);
}

/* The Makefile reads the soname from the libcryptsetup.so it builds against. */
#ifndef CRYPTSETUP_SONAME
#error "CRYPTSETUP_SONAME: the soname of libcryptsetup (set by the Makefile)"
#endif

#define CS_FN(f) __typeof__(f) *f
static struct {
	CS_FN(crypt_set_log_callback);
	CS_FN(crypt_init);
	CS_FN(crypt_load);
	CS_FN(crypt_free);
	CS_FN(crypt_get_type);
	CS_FN(crypt_keyslot_max);
	CS_FN(crypt_keyslot_status);
	CS_FN(crypt_keyslot_destroy);
} cs;
static int cs_rc = -ENOSYS;
static char cs_err[256];
static pthread_once_t cs_once = PTHREAD_ONCE_INIT;

#define CS_SYM(h, f) ((cs.f = (__typeof__(cs.f))dlsym(h, #f)) != NULL)

/* Test hook (VIGIL_TEST_HOOKS=1): VIGIL_TEST_CRYPTSETUP names another
 * library to open, one that is missing for instance. */
static const char *cs_soname(void)
{
	const char *on = getenv("VIGIL_TEST_HOOKS"), *so = getenv("VIGIL_TEST_CRYPTSETUP");

	return on && !strcmp(on, "1") && so ? so : CRYPTSETUP_SONAME;
}

static void cs_open(void)
{
	void *h = dlopen(cs_soname(), RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(cs_err, sizeof(cs_err), "%s", dlerror());
		cs_rc = -ENOENT;
		return;
	}
	if (!CS_SYM(h, crypt_set_log_callback) || !CS_SYM(h, crypt_init) || !CS_SYM(h, crypt_load) ||
	    !CS_SYM(h, crypt_free) || !CS_SYM(h, crypt_get_type) || !CS_SYM(h, crypt_keyslot_max) ||
	    !CS_SYM(h, crypt_keyslot_status) || !CS_SYM(h, crypt_keyslot_destroy)) {
		snprintf(cs_err, sizeof(cs_err), "%s: %s", cs_soname(), dlerror());
		cs_rc = -ENOSYS;
		return;              /* kept open: nothing else uses it */
	}
	cs.crypt_set_log_callback(NULL, quiet_log, NULL);
	snprintf(cs_err, sizeof(cs_err), "%s", cs_soname());
	cs_rc = 0;
}

int erase_luks_ready(const char **what)
{
	pthread_once(&cs_once, cs_open);
	*what = cs_err;
	return cs_rc;
}

static bool slot_in_use(crypt_keyslot_info st)
{
	return st == CRYPT_SLOT_ACTIVE || st == CRYPT_SLOT_ACTIVE_LAST
#ifdef CRYPT_SLOT_UNBOUND
	       || st == CRYPT_SLOT_UNBOUND
#endif
		;
}

static void failed(struct erase_report *r, const char *dev, int rc)
{
	log_errno(rc, "erase: %s: key slots", dev);
	r->luks_error = -rc;
	r->luks_failed++;
}

void erase_luks_volume(struct ewalk *w, const char *dev)
{
	struct ej_rec *rec = &w->j->rec;
	struct crypt_device *cd = NULL;
	const char *why;
	int rc, max, bad = 0;

	if ((rc = erase_luks_ready(&why)) < 0) {
		log_warnx("erase: %s", why);
		failed(&rec->r, dev, rc);
		return;
	}
	if ((rc = cs.crypt_init(&cd, dev)) < 0 || (rc = cs.crypt_load(cd, CRYPT_LUKS, NULL)) < 0) {
		failed(&rec->r, dev, rc);
		cs.crypt_free(cd);
		return;
	}
	max = cs.crypt_keyslot_max(cs.crypt_get_type(cd));
	/* a slot recorded just before a crash: destroyed if it is gone now */
	if (rec->luks_slot >= 0 && rec->luks_slot < max &&
	    !slot_in_use(cs.crypt_keyslot_status(cd, rec->luks_slot)))
		rec->r.luks_slots_destroyed++;
	rec->luks_slot = -1;
	for (int k = 0; k < max; k++) {
		if (!slot_in_use(cs.crypt_keyslot_status(cd, k)))
			continue;
		rec->luks_slot = k;
		if ((rc = ej_write(w->j)) < 0 || (rc = cs.crypt_keyslot_destroy(cd, k)) < 0) {
			bad = rc;
			continue;
		}
		rec->r.luks_slots_destroyed++;
		rec->luks_slot = -1;
	}
	rec->luks_slot = -1;
	if (bad)
		failed(&rec->r, dev, bad);
	else
		rec->r.luks_volumes++;
	cs.crypt_free(cd);
}
