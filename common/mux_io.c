/* mux_io.c — the I/O thread of a mux connection: the only code that
 * touches the SSL object.  It reads frames and files them into streams,
 * and writes frames round-robin across streams, control frames first.
 * The frame format is documented in docs/protocol.md. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/byteorder.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mux_int.h"

static bool wroom(struct mux *m, size_t len)
{
	return m->wlen + MUX_HDR + len <= MUX_WBUF;
}

static void put_hdr(uint8_t *h, uint8_t kind, uint16_t type, uint32_t id, uint32_t len)
{
	be32_put(h, len);
	h[4] = kind;
	h[5] = 0;                      /* flags: none defined in version 1 */
	h[6] = type >> 8;
	h[7] = type & 0xff;
	be32_put(h + 8, id);
}

/* Appends one frame to the write buffer (room checked by the caller). */
static void wput(struct mux *m, uint8_t kind, uint16_t type, uint32_t id,
		 const void *p, uint32_t len)
{
	uint8_t *h = m->wbuf + m->wlen;

	put_hdr(h, kind, type, id, len);
	if (len)
		memcpy(h + MUX_HDR, p, len);
	m->wlen += MUX_HDR + len;
}

/* Connection-level frames, resets and credit returns (lock held). */
static void fill_control(struct mux *m, long now)
{
	uint8_t v[12];
	size_t i;

	if (!m->hello_sent) {
		be32_put(v, MUX_VERSION);
		be32_put(v + 4, (uint32_t)m->rx_window);
		be32_put(v + 8, m->ops.features);
		wput(m, FK_HELLO, 0, 0, v, 12);
		m->hello_sent = true;
	}
	if (m->pong_pending) {
		wput(m, FK_PONG, 0, 0, m->ping_data, m->ping_len);
		m->pong_pending = false;
	}
	if (now - m->last_rx >= m->ping_ms && now - m->last_ping >= m->ping_ms) {
		be32_put(v, (uint32_t)now);
		wput(m, FK_PING, 0, 0, v, 4);
		m->last_ping = now;
	}
	while (m->nrefused && wroom(m, 0))
		wput(m, FK_RESET, 0, m->refused[--m->nrefused], NULL, 0);
	for (i = 0; i < m->ntab && wroom(m, 4); i++) {
		struct mux_stream *s = m->tab[i];

		if (s->reset_now) {
			wput(m, FK_RESET, 0, s->id, NULL, 0);
			s->reset_now = false;
			s->reset_sent = true;
			mux_frames_free(&s->oq);
			mux_stream_finish(s);
		} else if (s->credit_due >= m->rx_window / 4 && !s->finished && !s->peer_end) {
			be32_put(v, (uint32_t)s->credit_due);
			wput(m, FK_CREDIT, 0, s->id, v, 4);
			s->rx_outstanding -= s->credit_due;
			s->credit_due = 0;
		}
	}
}

/* The bookkeeping of s's frame f leaving the queue (lock held). */
static void frame_out(struct mux_stream *s, const struct frame *f)
{
	if (f->kind == FK_OPEN)
		s->open_sent = true;
	if (f->kind == FK_END && (s->end_sent = true) && s->peer_end)
		mux_stream_finish(s);
	if (f->kind == FK_RESET && (s->reset_sent = true))
		mux_stream_finish(s);
}

/* Takes f, the head of s's queue, into the output: copied into the write
 * buffer, or as m->wframe when it is large.  false: no room, not taken. */
static bool take_frame(struct mux *m, struct mux_stream *s, struct frame *f)
{
	if (f->len < MUX_DIRECT_MIN && !wroom(m, f->len))
		return false;
	STAILQ_REMOVE_HEAD(&s->oq, link);
	if (f->kind == FK_DATA)
		s->oq_bytes -= f->len;
	if (s->oq_full && s->oq_bytes <= MUX_OQ_LOW) {
		s->oq_full = false;
		pthread_cond_broadcast(&s->cond);
	}
	frame_out(s, f);
	if (f->len >= MUX_DIRECT_MIN) {
		put_hdr(f->buf, f->kind, f->type, s->id, f->len);
		m->wframe = f;
		m->wfoff = 0;
	} else {
		wput(m, f->kind, f->type, s->id, f->data, f->len);
		mux_frame_free(f);
	}
	return true;
}

/* OPENs go out in stream id order (the table's, ids only grow), which the
 * peer requires; true when all queued ones are out and there is room for
 * more (lock held). */
static bool fill_opens(struct mux *m)
{
	size_t i;

	for (i = 0; i < m->ntab; i++) {
		struct mux_stream *s = m->tab[i];
		struct frame *f = STAILQ_FIRST(&s->oq);

		if (!f || f->kind != FK_OPEN)
			continue;
		if (m->wframe || !take_frame(m, s, f))
			return false;
	}
	return !m->wframe;
}

/* One frame from each stream with queued output, in turn, until the
 * buffer is full, a large frame is to be written from its own block
 * (m->wframe, after the buffer), or nothing is queued (lock held). */
static void fill_streams(struct mux *m)
{
	bool more = true;

	if (!fill_opens(m))
		return;
	while (more && m->ntab) {
		size_t n = m->ntab, start = m->rr % n, k;

		more = false;
		for (k = 0; k < n; k++) {
			struct mux_stream *s = m->tab[(start + k) % n];
			struct frame *f = STAILQ_FIRST(&s->oq);

			if (!f)
				continue;
			if (!take_frame(m, s, f))
				return;
			if (m->wframe) {
				m->rr = start + k + 1;
				return;
			}
			more = more || !STAILQ_EMPTY(&s->oq);
		}
		m->rr = start + 1;
	}
}

static void reap_streams(struct mux *m)
{
	size_t i = m->ntab;

	while (i--)
		if (mux_stream_reapable(m->tab[i]))
			mux_stream_unlink_free(m->tab[i]);
}

static void block_signals(void)
{
	sigset_t all;

	/* Signals belong to the main thread; SIGPIPE from a dead socket
	 * stays pending here and write() returns EPIPE instead. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/* With m->lock held, after h's stream: waits up to MUX_IDLE_MS for
 * start_handler to hand this thread the next handler (returned), or NULL:
 * the connection died or nothing came; h is then marked done for the
 * reaper to join this thread. */
static struct handler *park(struct mux *m, struct handler *h)
{
	struct hidle me = { .last = h };
	struct timespec ts;
	struct hidle **pp;

	if (m->dead || m->nidle >= MUX_IDLE_MAX) {
		h->done = true;
		return NULL;
	}
	ts = mono_deadline_in_ms(MUX_IDLE_MS);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&me.cv, &ca);
	pthread_condattr_destroy(&ca);
	me.next = m->idle;
	m->idle = &me;
	m->nidle++;
	while (!me.next_h && !m->dead)
		if (pthread_cond_timedwait(&me.cv, &m->lock, &ts) == ETIMEDOUT)
			break;
	if (!me.next_h) {   /* still listed: take it off */
		for (pp = &m->idle; *pp != &me; pp = &(*pp)->next)
			;
		*pp = me.next;
		m->nidle--;
		h->done = true;
	}
	pthread_cond_destroy(&me.cv);
	return me.next_h;
}

static void *handler_main(void *arg)
{
	struct handler *h = arg;
	struct mux *m = h->m;

	block_signals();
	while (h) {
		m->ops.on_stream(m, h->s, h->type, h->msg, h->len, m->arg);
		pthread_mutex_lock(&m->lock);
		m->nrunning--;
		pthread_mutex_unlock(&m->lock);
		/* mux_free joins this thread before it frees m */
		if (m->ops.limit)
			mux_limit_leave(m->ops.limit, m);
		pthread_mutex_lock(&m->lock);
		h = park(m, h);
		pthread_mutex_unlock(&m->lock);
	}
	return NULL;
}

/* Starts h (lock held) on a parked thread, else on a new one: 0, or
 * -errno (h is then the caller's). */
static int start_handler(struct mux *m, struct handler *h)
{
	struct hidle *i = m->idle;
	int e;

	h->done = false;
	h->nojoin = false;
	if (i) {
		m->idle = i->next;
		m->nidle--;
		h->tid = i->last->tid;
		i->last->done = true;     /* reaped without a join: the thread goes on */
		i->last->nojoin = true;
		i->next_h = h;
		pthread_cond_signal(&i->cv);
	} else if ((e = pthread_create(&h->tid, NULL, handler_main, h)) != 0) {
		return -e;
	}
	h->next = m->handlers;
	m->handlers = h;
	m->nrunning++;
	return 0;
}

/* Starts the handlers a limit granted a slot, oldest first (lock held).
 * One that cannot start resets its stream and gives its slot back. */
static void start_granted(struct mux *m)
{
	struct handler *h = __atomic_exchange_n(&m->granted, NULL, __ATOMIC_ACQUIRE);
	struct handler *fifo = NULL, *next;

	for (; h; h = next) {   /* the stack is newest first */
		next = h->next;
		h->next = fifo;
		fifo = h;
	}
	for (h = fifo; h; h = next) {
		next = h->next;
		if (start_handler(m, h) == 0)
			continue;
		h->s->user_closed = true;
		if (!h->s->finished)
			h->s->reset_now = true;
		free(h);
		mux_limit_leave(m->ops.limit, m);
	}
}

static void reap_handlers(struct mux *m)
{
	struct handler **pp = &m->handlers, *h;

	while ((h = *pp)) {
		if (h->done) {
			*pp = h->next;
			if (!h->nojoin)   /* it has returned or is returning */
				pthread_join(h->tid, NULL);
			free(h);
		} else {
			pp = &h->next;
		}
	}
}

static int proto_err(char *why, size_t wl, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int proto_err(char *why, size_t wl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, wl, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

/* How many streams the peer may hold open here. */
static size_t remote_max(const struct mux *m)
{
	unsigned n = m->ops.max_streams;

	return n && n < MUX_MAX_STREAMS ? n : MUX_MAX_STREAMS;
}

/* The peer opens a stream: start its handler, or refuse with a RESET. */
static int on_open(struct mux *m, uint32_t id, uint16_t type, const uint8_t *p,
		   uint32_t len, char *why, size_t wl)
{
	struct mux_stream *s;
	struct handler *h;

	if ((id & 1) != (m->server ? 1u : 0u) || id <= m->last_remote_id)
		return proto_err(why, wl, "OPEN with bad stream id %u", id);
	m->last_remote_id = id;
	reap_handlers(m);
	if (!m->ops.on_stream || m->open_remote >= remote_max(m) ||
	    m->nrunning >= MUX_THREADS_MAX || !mux_budget_take(m->ops.budget))
		goto refuse;
	if (!(s = mux_stream_alloc(m, id, false))) {   /* else mux_stream_finish gives it back */
		mux_budget_put(m->ops.budget);
		goto refuse;
	}
	s->open_sent = true;
	if (!(h = malloc(sizeof(*h) + len))) {
		mux_stream_unlink_free(s);
		goto refuse;
	}
	h->m = m;
	h->s = s;
	h->type = type;
	h->len = len;
	if (len)
		memcpy(h->msg, p, len);
	if (m->ops.limit && mux_limit_enter(m->ops.limit, h) == 1)
		return 0;   /* waits for a slot: start_granted starts it */
	if (start_handler(m, h) == 0)
		return 0;
	free(h);
	mux_stream_unlink_free(s);
	if (m->ops.limit)
		mux_limit_leave(m->ops.limit, m);
refuse:
	if (m->nrefused >= MUX_REFUSED_MAX)
		return proto_err(why, wl, "peer keeps opening streams beyond the limit");
	m->refused[m->nrefused++] = id;
	return 0;
}

/* Wakes the reader of the stream whose frames were queued without a
 * wake-up (lock held).  By id: the reader may have closed and freed the
 * stream since. */
static void flush_wake(struct mux *m)
{
	struct mux_stream *s;

	if (!m->wake_due)
		return;
	m->wake_due = false;
	if ((s = mux_find(m, m->wake_id)))
		pthread_cond_broadcast(&s->cond);
}

/* A MSG or DATA frame for s: queued for mux_recv.  *own, the payload's
 * block when it has one, is taken (set to NULL) when queued.  Its reader
 * is woken when the I/O thread's batch of reads ends (io_round) or a
 * frame for another stream comes first, not for every frame: a reader
 * faster than the I/O thread's decryption otherwise sleeps and is woken
 * (two futex calls and two context switches) for each 64 KiB frame. */
static int on_payload(struct mux_stream *s, uint8_t kind, uint16_t type,
		      const uint8_t *p, uint32_t len, uint8_t **own, char *why, size_t wl)
{
	struct frame *f;

	if (s->peer_end || s->peer_reset)
		return proto_err(why, wl, "frame after END on stream %u", s->id);
	if (s->reset_now || s->reset_sent || s->user_closed)
		return 0;       /* nobody reads it; the peer will see our RESET */
	if (s->rx_outstanding + FRAME_COST(len) > s->m->rx_window)
		return proto_err(why, wl, "stream %u overran its credit", s->id);
	if (*own) {
		if (!(f = malloc(sizeof(*f))))
			return proto_err(why, wl, "out of memory");
		f->kind = kind;
		f->type = type;
		f->len = len;
		f->data = f->own = *own;
		f->pooled = false;
		*own = NULL;
	} else if (!(f = mux_frame_new(kind, type, p, len))) {
		return proto_err(why, wl, "out of memory");
	}
	STAILQ_INSERT_TAIL(&s->iq, f, link);
	s->rx_outstanding += FRAME_COST(len);
	if (s->m->wake_due && s->m->wake_id != s->id)
		flush_wake(s->m);
	s->m->wake_id = s->id;
	s->m->wake_due = true;
	return 0;
}

static int on_stream_frame(struct mux_stream *s, uint8_t kind, uint16_t type,
			   const uint8_t *p, uint32_t len, uint8_t **own, char *why, size_t wl)
{
	uint32_t n;

	switch (kind) {
	case FK_MSG:
	case FK_DATA:
		return on_payload(s, kind, type, p, len, own, why, wl);
	case FK_END:
		if (s->peer_end || s->peer_reset)
			return proto_err(why, wl, "second END on stream %u", s->id);
		s->peer_end = true;
		if (s->end_sent)
			mux_stream_finish(s);
		break;
	case FK_CREDIT:
		if (len != 4)
			return proto_err(why, wl, "CREDIT of %u bytes", len);
		n = be32_get(p);
		if (s->finished || s->reset_now)
			break;
		if (n > s->m->tx_window || s->credit + n > s->m->tx_window)
			return proto_err(why, wl, "credit overrun on stream %u", s->id);
		s->credit += n;
		break;
	case FK_RESET:
		s->peer_reset = true;
		mux_frames_free(&s->oq);
		mux_stream_finish(s);
		break;
	}
	pthread_cond_broadcast(&s->cond);
	return 0;
}

/* The peer's HELLO granted w bytes per stream (checked by
 * mux_frame_check): streams opened before it learn the difference. */
static void peer_window(struct mux *m, uint32_t w)
{
	size_t i;

	for (i = 0; i < m->ntab; i++)
		m->tab[i]->credit += w - m->tx_window;
	m->tx_window = w;
}

/* One complete frame from the peer (lock held).  0 or -EPROTO with why.
 * The rules without stream state are mux_frame_check's.  *own: p's block
 * when the payload was read into one of its own (NULL when taken). */
static int dispatch(struct mux *m, const struct mux_hdr *h, const uint8_t *p, uint8_t **own,
		    char *why, size_t wl)
{
	struct mux_stream *s;
	bool ours;
	int r;

	if ((r = mux_frame_check(m->hello_rx, h, p, why, wl)) < 0)
		return r;
	if (!m->hello_rx) {
		m->hello_rx = true;
		m->ready = true;
		peer_window(m, be32_get(p + 4));
		__atomic_store_n(&m->peer_features, h->len >= 12 ? be32_get(p + 8) : 0,
				 __ATOMIC_RELEASE);
		pthread_cond_broadcast(&m->cond);
		return 0;
	}
	switch (h->kind) {
	case FK_PING:
		memcpy(m->ping_data, p, h->len);
		m->ping_len = h->len;
		m->pong_pending = true;
		return 0;
	case FK_PONG:
		return 0;
	case FK_OPEN:
		return on_open(m, h->id, h->type, p, h->len, why, wl);
	}
	if ((s = mux_find(m, h->id)))
		return on_stream_frame(s, h->kind, h->type, p, h->len, own, why, wl);
	/* Not in the table: a stream that ended or was refused (frames may
	 * cross our RESET in flight) is ignored; one never opened is an error. */
	ours = (h->id & 1) == (m->server ? 0u : 1u);
	if (h->kind == FK_RESET || h->id <= (ours ? m->last_local_id : m->last_remote_id))
		return 0;
	return proto_err(why, wl, "frame for unknown stream %u", h->id);
}

enum io_end { IO_OK, IO_CLOSED, IO_PROTO };

static enum io_end ssl_fail(struct mux *m, int r, bool *want_out, char *why, size_t wl)
{
	unsigned long e;

	switch (SSL_get_error(m->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return IO_OK;
	case SSL_ERROR_WANT_WRITE:
		*want_out = true;
		return IO_OK;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(why, wl, "peer closed the connection");
		return IO_CLOSED;
	case SSL_ERROR_SYSCALL:
		snprintf(why, wl, "connection lost: %s", errno ? strerror(errno) : "EOF");
		return IO_CLOSED;
	default:
		e = ERR_get_error();
		snprintf(why, wl, "TLS error: %s", e ? ERR_reason_error_string(e) : "?");
		ERR_clear_error();
		return IO_CLOSED;
	}
}

/* SSL_write of p[*off..len): IO_OK with *off == len, or as ssl_fail. */
static enum io_end write_all(struct mux *m, const uint8_t *p, size_t len, size_t *off,
			     bool *progress, bool *want_out, char *why, size_t wl)
{
	while (*off < len) {
		int n = SSL_write(m->ssl, p + *off, (int)(len - *off));

		if (n <= 0)
			return ssl_fail(m, n, want_out, why, wl);
		*off += (size_t)n;
		*progress = true;
	}
	return IO_OK;
}

static enum io_end do_write(struct mux *m, bool *progress, bool *want_out, char *why, size_t wl)
{
	enum io_end e;

	if ((e = write_all(m, m->wbuf, m->wlen, &m->woff, progress, want_out, why, wl)) != IO_OK ||
	    m->woff < m->wlen)
		return e;
	if (m->wframe) {
		e = write_all(m, m->wframe->buf, MUX_HDR + (size_t)m->wframe->len, &m->wfoff,
			      progress, want_out, why, wl);
		if (e != IO_OK || m->wfoff < MUX_HDR + (size_t)m->wframe->len)
			return e;
		mux_frame_free(m->wframe);
		m->wframe = NULL;
	}
	/* the write BIO buffers records (mux.c buffer_writes): push them out */
	errno = 0;
	if (BIO_wpending(SSL_get_wbio(m->ssl)) > 0 && BIO_flush(SSL_get_wbio(m->ssl)) <= 0) {
		if (!BIO_should_retry(SSL_get_wbio(m->ssl))) {
			snprintf(why, wl, "connection lost: %s", errno ? strerror(errno) : "EOF");
			return IO_CLOSED;
		}
		*want_out = true;
	}
	return IO_OK;
}

/* Dispatches a whole frame (payload p, in its own block *own or not). */
static int deliver(struct mux *m, const struct mux_hdr *h, const uint8_t *p, uint8_t **own,
		   char *why, size_t wl)
{
	int r;

	pthread_mutex_lock(&m->lock);
	m->last_rx = mono_ms();
	r = dispatch(m, h, p, own, why, wl);
	pthread_mutex_unlock(&m->lock);
	free(*own);   /* not queued: nobody reads it */
	*own = NULL;
	m->rlen = 0;
	return r;
}

/* Reads the next piece of a frame: the header and small or control
 * payloads into rbuf, the payload of a large MSG/DATA frame into a block
 * of its own (m->rpay), handed to the stream without a copy.  1: a whole
 * frame is in *h, 0: more is needed, <0: as ssl_fail / -EPROTO. */
static int read_piece(struct mux *m, struct mux_hdr *h, bool *want_out, char *why, size_t wl,
		      enum io_end *e)
{
	int n, r;

	errno = 0;
	if (m->rpay) {
		n = SSL_read(m->ssl, m->rpay + m->rpgot, (int)(m->rhdr.len - m->rpgot));
		if (n <= 0)
			return (*e = ssl_fail(m, n, want_out, why, wl)) == IO_OK ? -EAGAIN : -EIO;
		m->rpgot += (size_t)n;
		*h = m->rhdr;
		return m->rpgot == m->rhdr.len;
	}
	n = SSL_read(m->ssl, m->rbuf + m->rlen, (int)mux_frame_need(m->rbuf, m->rlen));
	if (n <= 0)
		return (*e = ssl_fail(m, n, want_out, why, wl)) == IO_OK ? -EAGAIN : -EIO;
	m->rlen += (size_t)n;
	if ((r = mux_frame_take(m->rbuf, m->rlen, h, why, wl)) < 0) {
		*e = IO_PROTO;
		return -EIO;
	}
	if (r == 0 && m->rlen == MUX_HDR && h->len >= MUX_DIRECT_MIN &&
	    (h->kind == FK_MSG || h->kind == FK_DATA)) {
		if (!(m->rpay = malloc(h->len))) {
			snprintf(why, wl, "out of memory");
			*e = IO_PROTO;
			return -EIO;
		}
		m->rhdr = *h;
		m->rpgot = 0;
	}
	return r;
}

/* Reads up to a batch of frames and dispatches each; the frame format
 * itself is mux_frame.c's. */
static enum io_end do_read(struct mux *m, bool *progress, bool *want_out, char *why, size_t wl)
{
	enum io_end e = IO_OK;
	struct mux_hdr h;
	uint8_t *own;
	int i, r;

	for (i = 0; i < 64; i++) {
		if ((r = read_piece(m, &h, want_out, why, wl, &e)) < 0)
			return e;
		*progress = true;
		if (r == 0)
			continue;
		own = m->rpay;
		m->rpay = NULL;
		if (deliver(m, &h, own ? own : m->rbuf + MUX_HDR, &own, why, wl) < 0)
			return IO_PROTO;
	}
	return IO_OK;
}

static int poll_timeout(struct mux *m, long now)
{
	long last = m->last_rx > m->last_ping ? m->last_rx : m->last_ping;
	long t = m->last_rx + m->dead_ms;

	/* A ping that is due but stuck behind unwritten output would only
	 * make us spin; then only the dead timer counts. */
	if (last + m->ping_ms > now && last + m->ping_ms < t)
		t = last + m->ping_ms;
	t -= now;
	return t < 1 ? 1 : t > INT_MAX ? INT_MAX : (int)t;
}

/* Before waiting in poll: false when a producer kicked since this round
 * filled (look again), else the next kick writes the eventfd. */
static bool may_sleep(struct mux *m)
{
	bool ok;

	pthread_mutex_lock(&m->lock);
	ok = m->kicks == m->kicks_seen && !m->dead;
	m->sleepy = ok;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

/* One round: fill, write, read; waits in poll when nothing moved. */
static enum io_end io_round(struct mux *m, char *why, size_t wl)
{
	struct pollfd pfd[2];
	bool progress = false, want_out = false;
	enum io_end e;
	long now = mono_ms();
	int timeout;

	pthread_mutex_lock(&m->lock);
	if (m->dead) {
		pthread_mutex_unlock(&m->lock);
		return IO_CLOSED;
	}
	if (now - m->last_rx >= m->dead_ms) {
		snprintf(why, wl, "no frame from the peer for %d ms", m->dead_ms);
		pthread_mutex_unlock(&m->lock);
		return IO_CLOSED;
	}
	m->sleepy = false;
	m->kicks_seen = m->kicks;
	if (m->woff == m->wlen && !m->wframe) {
		m->wlen = m->woff = 0;
		fill_control(m, now);
		fill_streams(m);
	}
	if (__atomic_load_n(&m->granted, __ATOMIC_ACQUIRE))
		start_granted(m);
	reap_streams(m);
	timeout = poll_timeout(m, now);
	pthread_mutex_unlock(&m->lock);

	if ((e = do_write(m, &progress, &want_out, why, wl)) != IO_OK)
		return e;
	e = do_read(m, &progress, &want_out, why, wl);
	pthread_mutex_lock(&m->lock);
	flush_wake(m);
	pthread_mutex_unlock(&m->lock);
	if (e != IO_OK)
		return e;
	if (progress || !may_sleep(m))
		return IO_OK;
	pfd[0] = (struct pollfd){ .fd = m->fd, .events = POLLIN | (want_out ? POLLOUT : 0) };
	pfd[1] = (struct pollfd){ .fd = m->efd, .events = POLLIN };
	if (poll(pfd, 2, timeout) > 0 && (pfd[1].revents & POLLIN)) {
		uint64_t v;

		if (read(m->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_debug("mux eventfd read: %s", strerror(errno));
	}
	return IO_OK;
}

void *mux_io_main(void *arg)
{
	struct mux *m = arg;
	char why[256] = "", label[128];
	enum io_end e;

	block_signals();
	pthread_setname_np(pthread_self(), "mux-io");   /* which thread wakes (top -H, bench/idle_bench.sh) */
	while ((e = io_round(m, why, sizeof(why))) == IO_OK)
		;
	pthread_mutex_lock(&m->lock);
	snprintf(label, sizeof(label), "%s", m->label);
	snprintf(m->why, sizeof(m->why), "%s%s", e == IO_PROTO ? "protocol error: " : "",
		 *why ? why : "connection shut down");
	mux_mark_dead(m, NULL);
	reap_streams(m);
	pthread_mutex_unlock(&m->lock);
	if (e == IO_PROTO)
		log_warnx("peer %s: protocol error: %s; connection closed", label, why);
	else if (*why)
		log_debug("peer %s: %s", label, why);
	/* Best effort: tell the peer, without waiting for its answer. */
	if (e != IO_CLOSED || !*why) {
		SSL_shutdown(m->ssl);
		(void)BIO_flush(SSL_get_wbio(m->ssl));
	}
	ERR_clear_error();
	shutdown(m->fd, SHUT_RDWR);
	if (m->ops.on_close)
		m->ops.on_close(m, m->arg);
	return NULL;
}
