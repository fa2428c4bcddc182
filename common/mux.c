/* mux.c — the application side of a multiplexed TLS connection: creating
 * and freeing a connection, opening, feeding, reading and closing streams.
 * The wire side (frames, flow control, keepalive) is in mux_io.c. */
#include "common/mux.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mux_int.h"

void mux_wake(struct mux *m)
{
	uint64_t one = 1;

	/* A full counter still leaves the fd readable: nothing is lost. */
	if (write(m->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("mux eventfd write: %s", strerror(errno));
}

bool mux_kick(struct mux *m)
{
	bool wake = m->sleepy;

	m->kicks++;
	m->sleepy = false;
	return wake;
}

/* Bulk frames come and go at 64 KiB a piece, up to a window of them in
 * flight; freed to malloc, their memory went back to the kernel and was
 * faulted in again (~54,000 page faults and 1 s of CPU per GiB uploaded
 * with a 1 MiB window).  A few freed blocks are kept instead, at most
 * MUX_POOL_MAX (1 MiB), and only while a stream that sent bulk frames is
 * open: the last one's close empties the pool, so an idle process keeps
 * none. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct frame *pool[MUX_POOL_MAX];
static size_t npool;
static unsigned pool_users;    /* open streams that queued a pooled frame */

#define POOL_BLOCK (sizeof(struct frame) + MUX_HDR + MUX_FRAME_MAX)

static struct frame *pool_get(void)
{
	struct frame *f = NULL;

	pthread_mutex_lock(&pool_lock);
	if (npool)
		f = pool[--npool];
	pthread_mutex_unlock(&pool_lock);
	if (!f && !(f = malloc(POOL_BLOCK)))
		return NULL;
	f->pooled = true;
	f->own = NULL;
	return f;
}

static void pool_put(struct frame *f)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_users && npool < MUX_POOL_MAX) {
		pool[npool++] = f;
		f = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	free(f);
}

/* s queues pooled frames: the pool keeps blocks until it closes. */
static void pool_join(struct mux_stream *s)
{
	s->pool_user = true;
	pthread_mutex_lock(&pool_lock);
	pool_users++;
	pthread_mutex_unlock(&pool_lock);
}

/* s closed: the last user's close frees the pooled blocks. */
static void pool_leave(struct mux_stream *s)
{
	struct frame *drop[MUX_POOL_MAX];
	size_t n = 0;

	if (!s->pool_user)
		return;
	s->pool_user = false;
	pthread_mutex_lock(&pool_lock);
	if (--pool_users == 0) {
		n = npool;
		memcpy(drop, pool, n * sizeof(*drop));
		npool = 0;
	}
	pthread_mutex_unlock(&pool_lock);
	while (n)
		free(drop[--n]);
}

/* Blocks in the pool now (for tests). */
size_t mux_pool_held(void)
{
	size_t n;

	pthread_mutex_lock(&pool_lock);
	n = npool;
	pthread_mutex_unlock(&pool_lock);
	return n;
}

void mux_frame_free(struct frame *f)
{
	if (!f)
		return;
	free(f->own);
	if (f->pooled)
		pool_put(f);
	else
		free(f);
}

void mux_frames_free(struct frameq *q)
{
	struct frame *f;

	while ((f = STAILQ_FIRST(q))) {
		STAILQ_REMOVE_HEAD(q, link);
		mux_frame_free(f);
	}
}

static void cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

/* Waits on c until woken or the deadline (ms, monotonic; < 0 = none)
 * passes; -ETIMEDOUT then. */
static int wait_until(pthread_cond_t *c, pthread_mutex_t *l, long deadline)
{
	struct timespec ts;

	if (deadline < 0) {
		pthread_cond_wait(c, l);
		return 0;
	}
	if (mono_ms() >= deadline)
		return -ETIMEDOUT;
	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000L;
	return pthread_cond_timedwait(c, l, &ts) == ETIMEDOUT ? -ETIMEDOUT : 0;
}

static long deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

struct mux_stream *mux_find(struct mux *m, uint32_t id)
{
	size_t i;

	for (i = 0; i < m->ntab; i++)
		if (m->tab[i]->id == id)
			return m->tab[i];
	return NULL;
}

struct mux_stream *mux_stream_alloc(struct mux *m, uint32_t id, bool local)
{
	struct mux_stream *s;

	if (m->ntab >= MUX_TAB_MAX || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->m = m;
	s->id = id;
	s->local = local;
	s->credit = m->tx_window;
	STAILQ_INIT(&s->oq);
	STAILQ_INIT(&s->iq);
	cond_init_mono(&s->cond);
	m->tab[m->ntab++] = s;
	if (local)
		m->open_local++;
	else
		m->open_remote++;
	return s;
}

/* The stream no longer counts against the limits (lock held). */
void mux_stream_finish(struct mux_stream *s)
{
	if (s->finished)
		return;
	s->finished = true;
	if (s->local) {
		s->m->open_local--;
	} else {
		s->m->open_remote--;
		mux_budget_put(s->m->ops.budget);   /* taken in on_open */
	}
	pthread_cond_broadcast(&s->cond);
	pthread_cond_broadcast(&s->m->cond);
}

bool mux_stream_reapable(const struct mux_stream *s)
{
	return s->user_closed && (s->m->dead || (s->finished && STAILQ_EMPTY(&s->oq) && !s->reset_now));
}

void mux_stream_unlink_free(struct mux_stream *s)
{
	struct mux *m = s->m;
	size_t i;

	for (i = 0; i < m->ntab; i++) {
		if (m->tab[i] == s) {
			memmove(&m->tab[i], &m->tab[i + 1], (m->ntab - i - 1) * sizeof(*m->tab));
			m->ntab--;
			if (m->rr > i)
				m->rr--;
			break;
		}
	}
	mux_stream_finish(s);
	mux_frames_free(&s->oq);
	pool_leave(s);   /* a stream freed with its mux, never closed */
	mux_frames_free(&s->iq);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void mux_mark_dead(struct mux *m, const char *why)
{
	size_t i;

	if (m->dead)
		return;
	__atomic_store_n(&m->dead, 1, __ATOMIC_RELEASE);
	if (why)
		log_debug("connection %s closed: %s", m->label, why);
	for (i = 0; i < m->ntab; i++)
		pthread_cond_broadcast(&m->tab[i]->cond);
	pthread_cond_broadcast(&m->cond);
	for (struct hidle *p = m->idle; p; p = p->next)
		pthread_cond_signal(&p->cv);
}

static void default_label(struct mux *m)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	snprintf(m->label, sizeof(m->label), "(local)");
	if (getpeername(m->fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	} else {
		return;
	}
	snprintf(m->label, sizeof(m->label), "%s:%d", host, port);
}

/* Puts a buffer between TLS and the socket for writes: each 16 KiB TLS
 * record would otherwise be its own write(2), and on a bulk transfer every
 * one of those wakes the peer.  The io thread flushes after each batch
 * (mux_io.c do_write), so a small message waits for nothing. */
static int buffer_writes(SSL *ssl)
{
	BIO *sock = SSL_get_wbio(ssl), *b = BIO_new(BIO_f_buffer());

	if (!b || !sock || BIO_set_write_buffer_size(b, MUX_TLS_WBUF) != 1 || !BIO_up_ref(sock)) {
		BIO_free(b);
		return -ENOMEM;
	}
	BIO_push(b, sock);
	SSL_set0_wbio(ssl, b);   /* drops the SSL's own reference to sock */
	return 0;
}

struct mux *mux_new(SSL *ssl, int fd, const struct mux_ops *ops, void *arg)
{
	struct mux *m = calloc(1, sizeof(*m));
	int fl, e;

	if (!m)
		goto fail;
	m->ssl = ssl;
	m->fd = fd;
	m->efd = -1;
	m->server = SSL_is_server(ssl);
	if (ops)
		m->ops = *ops;
	m->arg = arg;
	m->rx_window = m->ops.rx_window < MUX_WINDOW ? MUX_WINDOW :
		m->ops.rx_window > MUX_WINDOW_MAX ? MUX_WINDOW_MAX : m->ops.rx_window;
	m->tx_window = MUX_WINDOW;
	m->ping_ms = MUX_PING_MS;
	m->dead_ms = MUX_DEAD_MS;
	m->next_local_id = m->server ? 2 : 1;
	m->last_rx = m->last_ping = mono_ms();
	pthread_mutex_init(&m->lock, NULL);
	cond_init_mono(&m->cond);
	default_label(m);
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    (m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail;
	if (!(m->tab = calloc(MUX_TAB_MAX, sizeof(*m->tab))) ||
	    !(m->rbuf = malloc(MUX_HDR + MUX_FRAME_MAX)) || !(m->wbuf = malloc(MUX_WBUF)) ||
	    buffer_writes(ssl) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	if ((e = pthread_create(&m->io, NULL, mux_io_main, m)) != 0) {
		errno = e;
		goto fail;
	}
	m->io_started = true;
	return m;
fail:
	e = errno;
	if (m) {
		m->dead = 1;
		mux_free(m);
	} else {
		SSL_free(ssl);
		close(fd);
	}
	errno = e;
	return NULL;
}

void mux_shutdown(struct mux *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->quit = true;
	mux_mark_dead(m, NULL);
	pthread_mutex_unlock(&m->lock);
	mux_wake(m);
}

void mux_free(struct mux *m)
{
	struct handler *h;

	if (!m)
		return;
	if (m->io_started) {
		mux_shutdown(m);
		pthread_join(m->io, NULL);
	}
	/* Handlers see a dead connection and return. */
	while ((h = m->handlers)) {
		m->handlers = h->next;
		if (!h->nojoin)   /* else its thread is another handler's, joined there */
			pthread_join(h->tid, NULL);
		free(h);
	}
	/* Then those still waiting for a slot, or granted one too late. */
	if (m->ops.limit)
		mux_limit_drop(m->ops.limit, m);
	while (m->ntab)
		mux_stream_unlink_free(m->tab[m->ntab - 1]);
	free(m->tab);
	mux_frame_free(m->wframe);
	free(m->rpay);
	free(m->rbuf);
	free(m->wbuf);
	if (m->efd >= 0)
		close(m->efd);
	SSL_free(m->ssl);
	close(m->fd);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

uint32_t mux_peer_features(struct mux *m)
{
	return __atomic_load_n(&m->peer_features, __ATOMIC_ACQUIRE);
}

bool mux_alive(const struct mux *m)
{
	return m && !__atomic_load_n(&m->dead, __ATOMIC_ACQUIRE);
}

void mux_set_label(struct mux *m, const char *label)
{
	pthread_mutex_lock(&m->lock);
	snprintf(m->label, sizeof(m->label), "%s", label);
	pthread_mutex_unlock(&m->lock);
}

int mux_wait_ready(struct mux *m, int timeout_ms)
{
	long deadline = deadline_of(timeout_ms);
	int r = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->ready && !m->dead && r == 0)
		r = wait_until(&m->cond, &m->lock, deadline);
	if (m->dead)
		r = -ECONNRESET;
	else if (m->ready)
		r = 0;
	pthread_mutex_unlock(&m->lock);
	return r;
}

void mux_last_error(struct mux *m, char *out, size_t cap)
{
	pthread_mutex_lock(&m->lock);
	snprintf(out, cap, "%s", m->dead ? (*m->why ? m->why : "connection shut down") : "");
	pthread_mutex_unlock(&m->lock);
}

void mux_set_timeouts(struct mux *m, int ping_ms, int dead_ms)
{
	pthread_mutex_lock(&m->lock);
	m->ping_ms = ping_ms;
	m->dead_ms = dead_ms;
	m->kicks++;
	pthread_mutex_unlock(&m->lock);
	mux_wake(m);
}

struct frame *mux_frame_new(uint8_t kind, uint16_t type, const void *p, size_t len)
{
	struct frame *f = len >= MUX_POOL_MIN ? pool_get() : malloc(sizeof(*f) + MUX_HDR + len);

	if (!f)
		return NULL;
	f->pooled = len >= MUX_POOL_MIN;
	f->kind = kind;
	f->type = type;
	f->len = (uint32_t)len;
	f->data = f->buf + MUX_HDR;
	f->own = NULL;
	if (len)
		memcpy(f->data, p, len);
	return f;
}

static struct frame *frame_of_buf(void *p)
{
	return (struct frame *)((uint8_t *)p - MUX_HDR - offsetof(struct frame, buf));
}

void *mux_buf_new(void)
{
	struct frame *f = pool_get();

	if (!f)
		return NULL;
	f->kind = FK_DATA;
	f->type = 0;
	f->data = f->buf + MUX_HDR;
	f->own = NULL;
	return f->data;
}

void mux_buf_free(void *p)
{
	if (p)
		mux_frame_free(frame_of_buf(p));
}

static void oq_push(struct mux_stream *s, struct frame *f)
{
	STAILQ_INSERT_TAIL(&s->oq, f, link);
}

struct mux_stream *mux_open(struct mux *m, uint16_t type, const void *msg, size_t len)
{
	struct mux_stream *s = NULL;
	struct frame *f;
	bool wake;
	int e = 0;

	if (len > MUX_FRAME_MAX) {
		errno = EMSGSIZE;
		return NULL;
	}
	if (!(f = mux_frame_new(FK_OPEN, type, msg, len)))
		return NULL;
	pthread_mutex_lock(&m->lock);
	/* Streams closed by the application but not yet flushed still count
	 * against the peer's limit; they clear without any help, so wait. */
	while (!m->dead && m->held_local < MUX_MAX_STREAMS &&
	       (m->open_local >= MUX_MAX_STREAMS || m->ntab >= MUX_TAB_MAX))
		pthread_cond_wait(&m->cond, &m->lock);
	if (m->dead)
		e = ECONNRESET;
	else if (m->open_local >= MUX_MAX_STREAMS || m->ntab >= MUX_TAB_MAX ||
		 m->next_local_id > UINT32_MAX - 2)
		e = EAGAIN;
	else if (!(s = mux_stream_alloc(m, m->next_local_id, true)))
		e = ENOMEM;
	if (s) {
		m->held_local++;
		m->last_local_id = s->id;
		m->next_local_id += 2;
		oq_push(s, f);
		f = NULL;
	}
	wake = s && mux_kick(m);
	pthread_mutex_unlock(&m->lock);
	mux_frame_free(f);
	if (!s) {
		errno = e;
		return NULL;
	}
	if (wake)
		mux_wake(m);
	return s;
}

/* Queues f on s once the stream has credit for it; frees f on failure. */
static int queue_frame(struct mux_stream *s, struct frame *f)
{
	struct mux *m = s->m;
	size_t cost = f->kind == FK_END ? 0 : FRAME_COST(f->len);
	bool wake = false;
	int r = 0;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		if (s->end_queued) {
			r = -EPIPE;
			break;
		}
		if (m->dead || s->peer_reset || s->reset_now || s->reset_sent) {
			r = -ECONNRESET;
			break;
		}
		if (s->credit >= cost && (f->kind != FK_DATA || s->oq_bytes < MUX_OQ_MAX))
			break;
		if (s->credit >= cost)
			s->oq_full = true;
		pthread_cond_wait(&s->cond, &m->lock);
	}
	if (r == 0) {
		s->credit -= cost;
		if (f->kind == FK_DATA)
			s->oq_bytes += f->len;
		if (f->pooled && !s->pool_user)
			pool_join(s);
		if (f->kind == FK_END)
			s->end_queued = true;
		oq_push(s, f);
		f = NULL;
		wake = mux_kick(m);
	}
	pthread_mutex_unlock(&m->lock);
	mux_frame_free(f);
	if (wake)
		mux_wake(m);
	return r;
}

int mux_send_msg(struct mux_stream *s, uint16_t type, const void *msg, size_t len)
{
	struct frame *f;

	if (len > MUX_FRAME_MAX)
		return -EMSGSIZE;
	if (!(f = mux_frame_new(FK_MSG, type, msg, len)))
		return -ENOMEM;
	return queue_frame(s, f);
}

int mux_send_data(struct mux_stream *s, const void *p, size_t n)
{
	const uint8_t *c = p;
	int r;

	while (n) {
		size_t k = n < MUX_FRAME_MAX ? n : MUX_FRAME_MAX;
		struct frame *f = mux_frame_new(FK_DATA, 0, c, k);

		if (!f)
			return -ENOMEM;
		if ((r = queue_frame(s, f)) < 0)
			return r;
		c += k;
		n -= k;
	}
	return 0;
}

int mux_send_buf(struct mux_stream *s, void *p, size_t n)
{
	struct frame *f = frame_of_buf(p);

	if (n > MUX_FRAME_MAX) {
		mux_frame_free(f);
		return -EMSGSIZE;
	}
	f->len = (uint32_t)n;
	return queue_frame(s, f);
}

int mux_send_end(struct mux_stream *s)
{
	struct frame *f = mux_frame_new(FK_END, 0, NULL, 0);

	return f ? queue_frame(s, f) : -ENOMEM;
}

/* Takes the next item of s off its queue (lock held): a frame, or NULL
 * with *r set to MUX_END / -ECONNRESET / -ETIMEDOUT. */
static struct frame *take_item(struct mux_stream *s, long deadline, int *r)
{
	struct mux *m = s->m;
	struct frame *f;

	for (;;) {
		/* Items arrive in order: what the peer sent before its END,
		 * its reset or the connection's end is still delivered. */
		if ((f = STAILQ_FIRST(&s->iq))) {
			STAILQ_REMOVE_HEAD(&s->iq, link);
			return f;
		}
		if (s->peer_end) {
			*r = MUX_END;
			return NULL;
		}
		if (m->dead || s->peer_reset || s->reset_now || s->reset_sent) {
			*r = -ECONNRESET;
			return NULL;
		}
		if (wait_until(&s->cond, &m->lock, deadline) == -ETIMEDOUT) {
			*r = -ETIMEDOUT;
			return NULL;
		}
	}
}

/* f's payload into the (reset) out: its block handed over when it has
 * one, else copied. */
static int take_payload(struct buf *out, struct frame *f)
{
	if (!f->own)
		return buf_append(out, f->data, f->len);
	if (f->len > out->max)
		return -EMSGSIZE;
	free(out->data);
	out->data = f->own;
	out->cap = out->len = f->len;
	f->own = NULL;
	return 0;
}

int mux_recv(struct mux_stream *s, uint16_t *type, struct buf *out, int timeout_ms)
{
	struct mux *m = s->m;
	long deadline = deadline_of(timeout_ms);
	struct frame *f;
	bool wake = false;
	int r = 0;

	pthread_mutex_lock(&m->lock);
	f = take_item(s, deadline, &r);
	if (f && !s->finished && !s->peer_end) {
		/* Return credit in batches; safe because a blocked sender has
		 * more than 3/4 of the window outstanding here. */
		s->credit_due += FRAME_COST(f->len);
		wake = s->credit_due >= m->rx_window / 4 && mux_kick(m);
	}
	pthread_mutex_unlock(&m->lock);
	if (wake)
		mux_wake(m);
	if (!f)
		return r;
	buf_reset(out);
	if (type)
		*type = f->type;
	r = take_payload(out, f);
	if (r == 0)
		r = f->kind == FK_MSG ? MUX_MSG : MUX_DATA;
	mux_frame_free(f);
	return r;
}

void mux_stream_close(struct mux_stream *s)
{
	struct mux *m;
	struct frame *f;
	bool wake;

	if (!s)
		return;
	m = s->m;
	f = mux_frame_new(FK_RESET, 0, NULL, 0);
	pthread_mutex_lock(&m->lock);
	s->user_closed = true;
	mux_frames_free(&s->iq);
	if (s->local)
		m->held_local--;
	if (!m->dead && !s->finished) {
		if (!s->open_sent) {
			/* The peer never heard of it. */
			mux_frames_free(&s->oq);
			mux_stream_finish(s);
		} else if (!(s->end_queued && s->peer_end) && f) {
			/* What was queued still goes out, in order (at most a
			 * window), then a reset tells the peer we are gone. */
			oq_push(s, f);
			f = NULL;
		} else if (!(s->end_queued && s->peer_end)) {
			mux_frames_free(&s->oq);
			s->reset_now = true;
		}
	}
	pool_leave(s);
	if (mux_stream_reapable(s))
		mux_stream_unlink_free(s);
	wake = mux_kick(m);
	pthread_mutex_unlock(&m->lock);
	mux_frame_free(f);
	if (wake)
		mux_wake(m);
}

int mux_call(struct mux *m, uint16_t type, const struct buf *req,
	     uint16_t *rtype, struct buf *reply, int timeout_ms)
{
	long deadline = deadline_of(timeout_ms);
	struct mux_stream *s;
	struct buf scratch;
	int r, left;

	if (!(s = mux_open(m, type, req ? req->data : NULL, req ? req->len : 0)))
		return -errno;
	/* A quick handler may have answered and closed already (its reset
	 * follows its END); the reply is still readable then. */
	if ((r = mux_send_end(s)) < 0 && r != -ECONNRESET)
		goto out;
	r = mux_recv(s, rtype, reply, timeout_ms);
	if (r == MUX_MSG) {
		r = 0;
		/* The reply's END normally follows at once; wait for it so the
		 * stream ends cleanly instead of with a reset. */
		left = deadline < 0 ? 1000 : (int)(deadline - mono_ms());
		buf_init(&scratch, MUX_FRAME_MAX);
		if (left > 0)
			mux_recv(s, NULL, &scratch, left > 1000 ? 1000 : left);
		buf_free(&scratch);
	} else if (r >= 0) {
		r = -EBADMSG;
	}
out:
	mux_stream_close(s);
	return r;
}
