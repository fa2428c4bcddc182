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

#include <libcryptsetup.h>

#include "common/log.h"

static void quiet_log(int level, const char *msg, void *usrptr)
{
	(void)usrptr;
	if (level == CRYPT_LOG_ERROR)
		log_debug("libcryptsetup: %s", msg);
}

#ifndef CRYPTSETUP_SONAME
#define CRYPTSETUP_SONAME "libcryptsetup.so.12"
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
static pthread_once_t cs_once = PTHREAD_ONCE_INIT;

#define CS_SYM(h, f) ((cs.f = (__typeof__(cs.f))dlsym(h, #f)) != NULL)

static void cs_open(void)
{
	void *h = dlopen(CRYPTSETUP_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		log_warnx("erase: %s", dlerror());
		cs_rc = -ENOENT;
		return;
	}
	if (!CS_SYM(h, crypt_set_log_callback) || !CS_SYM(h, crypt_init) || !CS_SYM(h, crypt_load) ||
	    !CS_SYM(h, crypt_free) || !CS_SYM(h, crypt_get_type) || !CS_SYM(h, crypt_keyslot_max) ||
	    !CS_SYM(h, crypt_keyslot_status) || !CS_SYM(h, crypt_keyslot_destroy)) {
		log_warnx("erase: %s: %s", CRYPTSETUP_SONAME, dlerror());
		cs_rc = -ENOSYS;
		return;              /* kept open: nothing else uses it */
	}
	cs.crypt_set_log_callback(NULL, quiet_log, NULL);
	cs_rc = 0;
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
	int rc, max, bad = 0;

	pthread_once(&cs_once, cs_open);
	if (cs_rc < 0) {
		failed(&rec->r, dev, cs_rc);
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
