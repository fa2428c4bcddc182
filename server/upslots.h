/* upslots.h — at most SRV_DEVICE_UPLOADS heavy uploads being built at once
 * per device identity (issue 10, finding 1.1).
 *
 * A heavy upload (a file body announced at SRV_HEAVY_BYTES or more) takes a
 * slot of its device before PUT_READY; beyond the limit it waits, without
 * reading its body, until a slot frees or its peer goes away.  Waiting
 * costs the device nothing but time: it is waiting for PUT_READY anyway
 * (SHIP_REPLY_MS), and a wait cut short by a lost connection is retried
 * like any lost connection.  Thread-safe. */
#ifndef VIGIL_SERVER_UPSLOTS_H
#define VIGIL_SERVER_UPSLOTS_H

#include <stdbool.h>
#include <stdint.h>

struct upslots;

/* NULL with errno on failure. */
struct upslots *upslots_new(unsigned per_dev);
void upslots_free(struct upslots *u);   /* NULL-safe; no slot may be held */
/* Takes one of dev's slots, waiting while it holds per_dev.  gone(arg) is
 * polled while waiting: once true, -ECANCELED.  0 on success; -ENOMEM. */
int upslots_take(struct upslots *u, int64_t dev, bool (*gone)(void *arg), void *arg);
void upslots_give(struct upslots *u, int64_t dev);
/* Slots dev holds now (tests, status). */
unsigned upslots_held(struct upslots *u, int64_t dev);

#endif
