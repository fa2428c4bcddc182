/* eraseluks.c — the strong form of erase: every key slot of a LUKS volume
 * destroyed with libcryptsetup, so the volume key can no longer be
 * unwrapped from any passphrase or key file (docs/erase.md). */
#include "daemon/erase_int.h"

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

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void set_log(void)
{
	crypt_set_log_callback(NULL, quiet_log, NULL);
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

	pthread_once(&log_once, set_log);
	if ((rc = crypt_init(&cd, dev)) < 0 || (rc = crypt_load(cd, CRYPT_LUKS, NULL)) < 0) {
		failed(&rec->r, dev, rc);
		crypt_free(cd);
		return;
	}
	max = crypt_keyslot_max(crypt_get_type(cd));
	/* a slot recorded just before a crash: destroyed if it is gone now */
	if (rec->luks_slot >= 0 && rec->luks_slot < max &&
	    !slot_in_use(crypt_keyslot_status(cd, rec->luks_slot)))
		rec->r.luks_slots_destroyed++;
	rec->luks_slot = -1;
	for (int k = 0; k < max; k++) {
		if (!slot_in_use(crypt_keyslot_status(cd, k)))
			continue;
		rec->luks_slot = k;
		if ((rc = ej_write(w->j)) < 0 || (rc = crypt_keyslot_destroy(cd, k)) < 0) {
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
	crypt_free(cd);
}
