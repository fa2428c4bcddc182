/* mux_int.h — state shared by mux.c (the API used by application threads)
 * and mux_io.c (the connection's I/O thread).  Not for other modules.
 *
 * Locking: one mutex per connection guards everything below except the
 * SSL object, the fd and the read/write buffers, which only the I/O thread
 * touches.  Each stream has a condition variable for its waiters. */
#ifndef VIGIL_MUX_INT_H
#define VIGIL_MUX_INT_H

#include <pthread.h>
#include <sys/queue.h>

#include "common/mux.h"
#include "common/mux_frame.h"

/* A MSG or DATA frame costs its payload plus the header against the
 * stream's window, so empty frames are not free either. */
#define FRAME_COST(len) ((size_t)(len) + MUX_HDR)
#define MUX_TAB_MAX   (4 * MUX_MAX_STREAMS)  /* streams in the table, lingering included */
#define MUX_THREADS_MAX (2 * MUX_MAX_STREAMS)
#define MUX_IDLE_MS     2000   /* a handler thread waits this long for the next stream */
#define MUX_IDLE_MAX    16     /* parked handler threads per connection */
#define MUX_REFUSED_MAX 256                  /* refused OPENs awaiting their RESET */
/* TLS records written per write(2) at most: one whole 64 KiB frame as TLS
 * records (5 records, 65,658 bytes), so a frame is one write, not a full
 * 64 KiB buffer and then a tail of a hundred bytes in a second one */
#define MUX_TLS_WBUF (68 * 1024)

/* A queued frame.  Outgoing: one block, the wire header's room (filled by
 * the I/O thread) right before the payload, so a large frame goes to
 * SSL_write from where it lies (buf).  Incoming: the payload is a block of
 * its own (own), which mux_recv hands to its caller instead of copying. */
struct frame {
	STAILQ_ENTRY(frame) link;
	uint8_t kind;
	uint16_t type;
	uint32_t len;
	uint8_t *data;                 /* payload: buf + MUX_HDR, or own */
	uint8_t *own;                  /* incoming payload block (malloc), or NULL */
	bool pooled;                   /* a block of MUX_FRAME_MAX payload (mux.c's pool) */
	uint8_t buf[];                 /* outgoing: header room, then the payload */
};
/* Outgoing frames of MUX_POOL_MIN payload bytes or more take a block of
 * MUX_FRAME_MAX from a pool shared by every connection of the process,
 * which keeps up to MUX_POOL_MAX freed blocks (mux.c). */
#define MUX_POOL_MIN (32 * 1024)
#define MUX_POOL_MAX 16
/* An outgoing frame of len bytes or more is written straight from its
 * block; smaller ones are copied into the write buffer, several to a write. */
#define MUX_DIRECT_MIN (16 * 1024)
/* The write buffer gathers the small frames only (under MUX_DIRECT_MIN),
 * four of the largest: one SSL_write of at most 64 KiB, which the TLS
 * write buffer takes whole (one write(2)).  It was 4 whole 64 KiB frames
 * from before large frames went direct: 256 KiB per connection, all of it
 * touched by a device's batched puts and kept while it idles (vigild has
 * five connections; docs/daemon.md, "Memory and state"). */
#define MUX_WBUF (4 * (MUX_HDR + MUX_DIRECT_MIN))

STAILQ_HEAD(frameq, frame);

struct mux_stream {
	struct mux *m;
	uint32_t id;
	bool local;             /* opened by this end */
	pthread_cond_t cond;
	/* sending */
	struct frameq oq;             /* OPEN/MSG/DATA/END/RESET in order */
	size_t credit;                /* window bytes we may still queue */
	size_t oq_bytes;              /* DATA payload in oq (at most ~MUX_OQ_MAX) */
	bool oq_full;                 /* a sender waits for oq to drain to MUX_OQ_LOW */
	bool pool_user;               /* queued a pooled frame (mux.c pool_join) */
	bool open_sent;
	bool end_queued, end_sent;
	bool reset_now;               /* abort: RESET goes out before anything else */
	bool reset_sent;
	/* receiving */
	struct frameq iq;             /* MSG/DATA from the peer */
	size_t rx_outstanding;        /* window the peer has spent, not yet returned */
	size_t credit_due;            /* consumed by the app, to return */
	bool peer_end, peer_reset;
	/* life */
	bool finished;                /* both ENDs exchanged, or reset either way */
	bool user_closed;
};

struct handler {
	struct handler *next;          /* mux's started handlers, or a limit's queue */
	pthread_t tid;
	bool done;
	bool nojoin;                   /* done, its thread went on to another handler */
	struct mux *m;
	struct mux_stream *s;
	uint16_t type;
	size_t len;
	uint8_t msg[];
};

struct mux {
	pthread_mutex_t lock;
	pthread_cond_t cond;           /* broadcast on death and when a stream finishes */
	pthread_t io;
	bool io_started;
	SSL *ssl;
	int fd, efd;                   /* socket; eventfd waking the I/O thread */
	bool server;                   /* TLS server: opens even stream ids */
	struct mux_ops ops;
	void *arg;
	char label[128];
	int ping_ms, dead_ms;
	size_t rx_window;              /* granted per stream, in our HELLO */
	uint32_t peer_features;        /* MUX_FEAT_* of the peer's HELLO (atomic) */
	size_t tx_window;              /* the peer's (MUX_WINDOW until its HELLO) */

	int dead;                      /* atomic for mux_alive; set under lock */
	bool ready;                    /* peer's HELLO received */
	char why[320];                 /* why it died */
	bool quit;                     /* mux_shutdown asked */

	struct mux_stream **tab;       /* streams by table order (round robin) */
	size_t ntab, rr;
	uint32_t next_local_id;         /* client 1, 3, 5...; server 2, 4, 6... */
	uint32_t last_local_id, last_remote_id;  /* highest opened so far, 0: none */
	size_t open_local, open_remote;        /* not yet finished */
	size_t held_local;                     /* opened here, not yet closed */
	uint32_t refused[MUX_REFUSED_MAX];     /* OPENs answered with RESET */
	size_t nrefused;
	struct handler *handlers;
	size_t nrunning;
	/* Handler threads done with their stream, waiting (MUX_IDLE_MS) for
	 * the next one instead of exiting: many short requests cost no thread
	 * creation each (mux_io.c). */
	struct hidle *idle;
	size_t nidle;
	/* Handlers a limit granted a slot, for the I/O thread to start:
	 * pushed atomically by whichever thread freed the slot. */
	struct handler *granted;
	unsigned limit_held;           /* slots of ops.limit held (the limit's lock) */

	/* I/O thread only */
	bool hello_sent, hello_rx;
	bool pong_pending;
	uint8_t ping_data[MUX_PING_MAX];
	uint32_t ping_len;
	long last_rx, last_ping;
	uint8_t *rbuf, *wbuf;
	size_t rlen, wlen, woff;
	struct frame *wframe;          /* written after wbuf, from its own block */
	size_t wfoff;
	uint8_t *rpay;                 /* the payload being read of a MSG/DATA frame */
	struct mux_hdr rhdr;           /* its header */
	size_t rpgot;
	/* The stream whose reader is woken once this batch of reads ends
	 * (mux_io.c on_payload): one wake-up per batch, not per frame. */
	uint32_t wake_id;
	bool wake_due;
	/* Wake-ups: producers count kicks; the I/O thread sets sleepy (lock
	 * held) just before it waits in poll, and only then does a producer
	 * write the eventfd (mux_kick). */
	uint64_t kicks, kicks_seen;
	bool sleepy;
};

/* A parked handler thread (on its own stack): start_handler hands it the
 * next handler, mux_mark_dead wakes it to exit. */
struct hidle {
	struct hidle *next;
	pthread_cond_t cv;
	struct handler *last;          /* the handler it ran: its thread's record */
	struct handler *next_h;        /* set by start_handler */
};

void mux_wake(struct mux *m);                       /* poke the I/O thread */
/* Something changed for the I/O thread (lock held): true when the caller
 * must mux_wake() after unlocking, i.e. the thread is (about to be) asleep. */
bool mux_kick(struct mux *m);
void mux_mark_dead(struct mux *m, const char *why); /* lock held */
void mux_stream_finish(struct mux_stream *s);       /* lock held */
void mux_stream_unlink_free(struct mux_stream *s);  /* lock held */
bool mux_stream_reapable(const struct mux_stream *s);
struct mux_stream *mux_stream_alloc(struct mux *m, uint32_t id, bool local);
/* An outgoing frame of kind/type with a copy of p[0..len), or NULL. */
struct frame *mux_frame_new(uint8_t kind, uint16_t type, const void *p, size_t len);
void mux_frame_free(struct frame *f);
void mux_frames_free(struct frameq *q);             /* frees all; q is left empty */
struct mux_stream *mux_find(struct mux *m, uint32_t id);
void *mux_io_main(void *arg);

/* Handler slots (mux_limit.c).  The limit's lock nests inside m->lock. */
struct mux_limit {
	pthread_mutex_t lock;
	unsigned max, share;
	unsigned running, peak;
	uint64_t waited;
	struct handler *wq, *wq_tail;  /* waiting for a slot, oldest first */
	unsigned nwait;
};
/* A slot for h (a handler of h->m about to start): 0 when it may start
 * now, 1 when it was queued (it comes back through h->m->granted). */
int mux_limit_enter(struct mux_limit *l, struct handler *h);
/* m's handler returned: its slot goes to the oldest waiting handler
 * whose connection is below its share, or back to the pool. */
void mux_limit_leave(struct mux_limit *l, struct mux *m);
/* m is being freed (its I/O thread and handlers are gone): its waiting
 * and granted-but-unstarted handlers are freed and their slots returned. */
void mux_limit_drop(struct mux_limit *l, struct mux *m);

#endif
