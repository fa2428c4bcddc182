/* simpending.c — the durable list of SIM reports not yet acknowledged by
 * the server (simpending.h). */
#include "daemon/simpending.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/wire.h"

#define MAGIC "VGSIMP01"
#define FILE_MAX (16 + SIMPENDING_MAX * (sizeof(struct vg_sim) + 32))

struct simpending {
	pthread_mutex_t mu;
	char path[PATH_MAX];
	size_t n;                       /* entries, oldest first */
	uint64_t next_id;
	struct { uint64_t id; struct vg_sim s; } e[SIMPENDING_MAX];
};

static int parse(struct simpending *p, const struct buf *b)
{
	struct wire_reader r;
	char magic[8];
	uint32_t n;

	wire_reader_init(&r, b->data, b->len);
	wire_get_bytes(&r, magic, sizeof(magic));
	n = wire_get_u32(&r);
	if (r.err || memcmp(magic, MAGIC, 8) || n > SIMPENDING_MAX)
		return -EBADMSG;
	for (p->n = 0; p->n < n && !r.err; p->n++) {
		memset(&p->e[p->n].s, 0, sizeof(p->e[0].s));
		proto_get_sim(&r, &p->e[p->n].s);
		p->e[p->n].id = ++p->next_id;
	}
	if (wire_done(&r) < 0) {
		p->n = 0;
		return -EBADMSG;
	}
	return 0;
}

int simpending_open(const char *statedir, struct simpending **out)
{
	struct simpending *p = calloc(1, sizeof(*p));
	struct buf b;
	int rc;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	if (snprintf(p->path, sizeof(p->path), "%s/" SIMPENDING_FILE, statedir) >=
	    (int)sizeof(p->path)) {
		free(p);
		return -ENAMETOOLONG;
	}
	pthread_mutex_init(&p->mu, NULL);
	buf_init(&b, FILE_MAX);
	rc = file_read_all(AT_FDCWD, p->path, O_NOFOLLOW, &b);
	if (rc == 0 && (rc = parse(p, &b)) < 0)
		log_warnx("%s: damaged, its SIM reports are lost", p->path);
	else if (rc < 0 && rc != -ENOENT)
		log_errno(rc, "%s", p->path);
	buf_free(&b);
	*out = p;
	return 0;
}

void simpending_free(struct simpending *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int write_locked(struct simpending *p)
{
	struct buf b;
	int rc;

	buf_init(&b, FILE_MAX);
	wire_put_bytes(&b, MAGIC, 8);
	wire_put_u32(&b, (uint32_t)p->n);
	for (size_t i = 0; i < p->n; i++)
		proto_put_sim(&b, &p->e[i].s);
	if ((rc = wire_buf_error(&b)) == 0)
		rc = file_write_atomic(p->path, b.data, b.len, 0600, 0);
	if (rc < 0)
		log_errno(rc, "%s", p->path);
	buf_free(&b);
	return rc;
}

int simpending_add(struct simpending *p, const struct vg_sim *s)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	if (p->n == SIMPENDING_MAX) {   /* the oldest goes */
		memmove(&p->e[0], &p->e[1], (SIMPENDING_MAX - 1) * sizeof(p->e[0]));
		p->n--;
	}
	p->e[p->n].id = ++p->next_id;
	p->e[p->n++].s = *s;
	rc = write_locked(p);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int simpending_first(struct simpending *p, struct vg_sim *out, uint64_t *id)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&p->mu);
	if (p->n) {
		*out = p->e[0].s;
		*id = p->e[0].id;
		rc = 0;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int simpending_remove(struct simpending *p, uint64_t id)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].id != id)
			continue;
		memmove(&p->e[i], &p->e[i + 1], (p->n - i - 1) * sizeof(p->e[0]));
		p->n--;
		rc = write_locked(p);
		break;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

size_t simpending_count(struct simpending *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->n;
	pthread_mutex_unlock(&p->mu);
	return n;
}
