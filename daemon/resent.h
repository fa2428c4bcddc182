/* resent.h — the body bytes an upload sends again that an earlier, cut
 * attempt of the same upload had already sent: what resuming could not
 * save (counter bytes_resent).  A small table of uploads in flight, by
 * their identity (the PUT's token, or the same hash for a body sent
 * without one), shared by the shippers: a retry may go through another
 * one.  Kept in memory only; after a vigild restart the table is empty. */
#ifndef VIGIL_DAEMON_RESENT_H
#define VIGIL_DAEMON_RESENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define RESENT_SLOTS 64   /* uploads remembered; the least recently used goes */

struct resent {
	pthread_mutex_t mu;
	uint64_t clock;
	struct {
		uint8_t id[16];
		uint64_t sent_to;    /* the furthest body offset any attempt sent */
		uint64_t used;       /* clock at the last note, 0: free */
	} e[RESENT_SLOTS];
};

void resent_init(struct resent *r);
void resent_destroy(struct resent *r);
/* An attempt of upload id sent body bytes [from, to).  Returns how many of
 * them an earlier attempt had sent.  done: the upload is stored (or given
 * up): forget it. */
uint64_t resent_note(struct resent *r, const uint8_t id[16], uint64_t from, uint64_t to,
		     bool done);

#endif
