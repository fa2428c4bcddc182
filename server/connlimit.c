/* connlimit.c — the books behind server/limits.h (connlimit.h): who is in
 * the handshake, who is authenticated, and what was refused.  Tables are
 * fixed arrays scanned linearly: at most LIM_UNAUTH addresses and
 * LIM_CONNS identities can be counted at once, so nothing grows. */
#include "server/connlimit.h"

#include <stdio.h>
#include <string.h>

void connlimit_addr_key(const char *hostport, char out[CL_ADDR_MAX])
{
	const char *colon = strrchr(hostport, ':');
	size_t n = colon ? (size_t)(colon - hostport) : strlen(hostport);

	if (n > CL_ADDR_MAX - 1)
		n = CL_ADDR_MAX - 1;
	memcpy(out, hostport, n);
	out[n] = '\0';
}

/* The slot counting key, or with make a free one for it; -1 when none. */
static int addr_slot(struct connlimit *l, const char *key, bool make)
{
	int i, free_i = -1;

	for (i = 0; i < LIM_UNAUTH; i++) {
		if (l->addr[i].n && !strncmp(l->addr[i].key, key, CL_ADDR_MAX))
			return i;
		if (!l->addr[i].n && free_i < 0)
			free_i = i;
	}
	if (make && free_i >= 0)
		snprintf(l->addr[free_i].key, CL_ADDR_MAX, "%s", key);
	return make ? free_i : -1;
}

enum cl_refusal connlimit_enter(struct connlimit *l, const char *key)
{
	enum cl_refusal k = CL_OK;
	int i;

	if (l->st.unauth >= LIM_UNAUTH)
		k = CL_UNAUTH;
	else if ((i = addr_slot(l, key, true)) < 0)   /* cannot happen: unauth < LIM_UNAUTH */
		k = CL_UNAUTH;
	else if (l->addr[i].n >= LIM_UNAUTH_PER_ADDR)
		k = CL_ADDR;
	else
		l->addr[i].n++;
	if (k != CL_OK) {
		l->st.refused[k]++;
		return k;
	}
	if (++l->st.unauth > l->st.unauth_peak)
		l->st.unauth_peak = l->st.unauth;
	return CL_OK;
}

bool connlimit_victim(const struct connlimit *l, const char *key, char victim[CL_ADDR_MAX])
{
	unsigned mine = 0, most = 0;
	int i, heavy = -1;

	for (i = 0; i < LIM_UNAUTH; i++) {
		if (!l->addr[i].n)
			continue;
		if (!strncmp(l->addr[i].key, key, CL_ADDR_MAX))
			mine = l->addr[i].n;
		else if (l->addr[i].n > most) {
			most = l->addr[i].n;
			heavy = i;
		}
	}
	if (heavy < 0 || most <= mine + 1)
		return false;
	snprintf(victim, CL_ADDR_MAX, "%s", l->addr[heavy].key);
	return true;
}

void connlimit_leave(struct connlimit *l, const char *key)
{
	int i = addr_slot(l, key, false);

	if (i >= 0)
		l->addr[i].n--;
	if (l->st.unauth > 0)
		l->st.unauth--;
}

/* The slot counting id, or with make a free one for it; -1 when none. */
static int ident_slot(struct connlimit *l, int64_t id, bool make)
{
	int i, free_i = -1;

	for (i = 0; i < LIM_CONNS; i++) {
		bool used = l->ident[i].n || l->ident[i].muxes;

		if (used && l->ident[i].id == id)
			return i;
		if (!used && free_i < 0)
			free_i = i;
	}
	if (make && free_i >= 0)
		l->ident[free_i].id = id;
	return make ? free_i : -1;
}

enum cl_refusal connlimit_auth(struct connlimit *l, int64_t id, unsigned cap)
{
	enum cl_refusal k = CL_OK;
	int i;

	if (l->st.authed >= LIM_CONNS || (i = ident_slot(l, id, true)) < 0)
		k = CL_CONNS;
	else if (l->ident[i].n >= cap)
		k = CL_IDENT;
	else
		l->ident[i].n++;
	if (k != CL_OK) {
		l->st.refused[k]++;
		return k;
	}
	l->st.authed++;
	return CL_OK;
}

void connlimit_gone(struct connlimit *l, int64_t id)
{
	int i = ident_slot(l, id, false);

	if (i >= 0)
		l->ident[i].n--;
	if (l->st.authed > 0)
		l->st.authed--;
}

struct mux_budget *connlimit_budget_get(struct connlimit *l, int64_t id, unsigned max)
{
	int i = ident_slot(l, id, false);

	if (i < 0)
		return NULL;
	if (l->ident[i].muxes++ == 0)
		l->ident[i].budget.max = max;
	return &l->ident[i].budget;
}

void connlimit_budget_put(struct connlimit *l, int64_t id)
{
	int i = ident_slot(l, id, false);
	struct mux_budget *b;

	if (i < 0 || l->ident[i].muxes == 0)
		return;
	if (--l->ident[i].muxes > 0)
		return;
	/* no mux of id left, so none of its streams: the slot starts afresh */
	b = &l->ident[i].budget;
	l->st.streams_refused += __atomic_exchange_n(&b->refused, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&b->held, 0, __ATOMIC_RELAXED);
}

uint64_t connlimit_streams_refused(const struct connlimit *l)
{
	uint64_t n = l->st.streams_refused;

	for (int i = 0; i < LIM_CONNS; i++)
		if (l->ident[i].muxes)
			n += __atomic_load_n(&l->ident[i].budget.refused, __ATOMIC_RELAXED);
	return n;
}

unsigned connlimit_ident_count(const struct connlimit *l, int64_t id)
{
	int i = ident_slot((struct connlimit *)l, id, false);

	return i < 0 ? 0 : l->ident[i].n;
}

bool connlimit_log_due(struct connlimit *l, enum cl_refusal k, long now_s, uint64_t *since)
{
	if (k <= CL_OK || k >= CL_NKINDS)
		return false;
	if (l->logged_at[k] && now_s - l->logged_at[k] < LIM_LOG_EVERY_S)
		return false;
	*since = l->st.refused[k] - l->logged_upto[k];
	l->logged_at[k] = now_s;
	l->logged_upto[k] = l->st.refused[k];
	return true;
}

const char *connlimit_refusal_name(enum cl_refusal k)
{
	static const char *const names[CL_NKINDS] = {
		[CL_OK] = "admitted",
		[CL_UNAUTH] = "too many handshakes in progress",
		[CL_ADDR] = "too many handshakes from this address",
		[CL_CONNS] = "too many connections",
		[CL_IDENT] = "too many connections of this identity",
		[CL_FAILED] = "handshake failed",
	};

	return k < CL_NKINDS ? names[k] : "?";
}
