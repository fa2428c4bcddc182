/* simapply.c — a snapshot into the sim/ files and the SIM state
 * (simapply.h).  A part the modem could not read (phonebook_ok or sms_ok
 * false) keeps its previous files; the identity's read time is when this
 * identity was first seen, so an unchanged SIM renders the same bytes. */
#include "fuse/simapply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "fuse/simdoc.h"

void simapply_init(struct simapply *a, struct simstore *store, struct reporter *rep,
		   char *const *allow, size_t nallow)
{
	memset(a, 0, sizeof(*a));
	a->store = store;
	a->rep = rep;
	a->allow = allow;
	a->nallow = nallow;
}

/* The store's notification: sim/<name> changed. */
static void changed(void *arg, const char *name)
{
	struct simapply *a = arg;
	char path[SIMSTORE_NAME_MAX + 8];

	snprintf(path, sizeof(path), "/sim/%s", name);
	reporter_changed(a->rep, path);
}

static bool same_id(const struct sim_identity *x, const struct sim_identity *y)
{
	if (x->present != y->present || strcmp(x->iccid, y->iccid) || strcmp(x->imsi, y->imsi) ||
	    strcmp(x->operator_name, y->operator_name) || x->nmsisdn != y->nmsisdn)
		return false;
	for (size_t i = 0; i < x->nmsisdn && i < SIM_OWN_MAX; i++)
		if (strcmp(x->msisdn[i], y->msisdn[i]))
			return false;
	return true;
}

/* Renders one file with fn's result in b and puts it as group. */
static int put_one(struct simapply *a, const char *name, struct buf *b, int e, int64_t now_ns)
{
	struct simstore_in in = { .data = b->data, .len = b->len };

	if (e == 0) {
		snprintf(in.name, sizeof(in.name), "%s", name);
		e = simstore_replace(a->store, name, &in, 1, now_ns, changed, a);
	}
	buf_free(b);
	return e;
}

static int apply_identity(struct simapply *a, const struct sim_identity *id, int64_t now_ns)
{
	struct buf b;

	if (!a->have_id || !same_id(&a->id, id)) {
		a->id = *id;
		a->id_ns = now_ns;
		a->have_id = true;
	}
	buf_init(&b, SIMAPPLY_DOC_MAX);
	return put_one(a, "identity", &b, simdoc_identity(&b, id, a->id_ns), now_ns);
}

static int apply_phonebook(struct simapply *a, const struct sim_snapshot *s, int64_t now_ns)
{
	struct buf b;

	buf_init(&b, SIMAPPLY_DOC_MAX);
	return put_one(a, "phonebook.vcf", &b, simdoc_phonebook(&b, s->contacts, s->ncontacts),
		       now_ns);
}

static bool seen_index(const struct sim_sms *m, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (m[j].index == m[i].index)
			return true;
	return false;
}

/* Every message as sms/<index>.txt (a repeated index: its first one). */
static int apply_sms(struct simapply *a, const struct sim_snapshot *s, int64_t now_ns)
{
	size_t n = s->nsms < SIM_SMS_MAX ? s->nsms : SIM_SMS_MAX, k = 0;
	struct simstore_in *in = calloc(n ? n : 1, sizeof(*in));
	struct buf *b = calloc(n ? n : 1, sizeof(*b));
	int e = in && b ? 0 : -ENOMEM;

	for (size_t i = 0; e == 0 && i < n; i++) {
		if (seen_index(s->sms, i))
			continue;
		buf_init(&b[k], SIMAPPLY_DOC_MAX);
		if ((e = simdoc_sms(&b[k], &s->sms[i])) < 0)
			break;
		snprintf(in[k].name, sizeof(in[k].name), "sms/%u.txt", s->sms[i].index);
		in[k].data = b[k].data;
		in[k].len = b[k].len;
		k++;
	}
	if (e == 0)
		e = simstore_replace(a->store, "sms/", in, k, now_ns, changed, a);
	for (size_t i = 0; b && i < n; i++)
		buf_free(&b[i]);
	free(b);
	free(in);
	return e;
}

static bool allowed(const struct simapply *a, const char *iccid)
{
	for (size_t i = 0; iccid[0] && i < a->nallow; i++)
		if (!strcmp(a->allow[i], iccid))
			return true;
	return false;
}

/* The SIM state, reported on the first read and whenever it changes. */
static void report_sim(struct simapply *a, const struct sim_identity *id, int64_t now_ns)
{
	struct vg_sim v = { .time_ns = now_ns, .present = id->present };

	snprintf(v.iccid, sizeof(v.iccid), "%s", id->iccid);
	snprintf(v.imsi, sizeof(v.imsi), "%s", id->imsi);
	snprintf(v.operator_name, sizeof(v.operator_name), "%s", id->operator_name);
	v.allowed = allowed(a, v.iccid);
	if (a->sent && v.present == a->last.present && !strcmp(v.iccid, a->last.iccid) &&
	    !strcmp(v.imsi, a->last.imsi) && !strcmp(v.operator_name, a->last.operator_name))
		return;
	a->last = v;
	a->sent = true;
	reporter_sim(a->rep, &v);
}

int simapply_snapshot(struct simapply *a, const struct sim_snapshot *s, int64_t now_ns)
{
	int e = apply_identity(a, &s->id, now_ns), e2;

	if (s->phonebook_ok && (e2 = apply_phonebook(a, s, now_ns)) < 0 && e == 0)
		e = e2;
	if (s->sms_ok && (e2 = apply_sms(a, s, now_ns)) < 0 && e == 0)
		e = e2;
	report_sim(a, &s->id, now_ns);
	return e;
}
