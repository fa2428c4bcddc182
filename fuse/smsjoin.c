/* smsjoin.c — decoded SMS parts (pdu.c) joined into whole messages:
 * concatenated parts grouped by (peer, reference, total) and put in seq
 * order, a missing part marked "[…]".  No allocation: the parts are
 * sorted in place so each message's parts sit together, and messages are
 * picked from those runs in order of their first part's storage index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/pdu.h"

#define MISSING "[\xe2\x80\xa6]"        /* "[…]" */

static int cmp_uint(unsigned a, unsigned b)
{
	return (a > b) - (a < b);
}

/* Concatenated parts first, grouped by (peer, ref, total), each group in
 * seq order (a duplicate seq after its lower index); single parts after,
 * by index.  A single part is a group of its own. */
static int part_cmp(const void *pa, const void *pb)
{
	const struct sms_part *a = pa, *b = pb;
	int c;

	if (a->concat != b->concat)
		return a->concat ? -1 : 1;
	if (!a->concat)
		return cmp_uint(a->index, b->index);
	c = strncmp(a->peer, b->peer, sizeof(a->peer));
	if (c == 0)
		c = cmp_uint(a->ref, b->ref);
	if (c == 0)
		c = cmp_uint(a->total, b->total);
	if (c == 0)
		c = cmp_uint(a->seq, b->seq);
	return c ? c : cmp_uint(a->index, b->index);
}

static bool same_group(const struct sms_part *a, const struct sms_part *b)
{
	return a->concat && b->concat && a->ref == b->ref && a->total == b->total &&
	       strncmp(a->peer, b->peer, sizeof(a->peer)) == 0;
}

/* Number of parts in the group that starts at parts[i]. */
static size_t group_len(const struct sms_part *parts, size_t nparts, size_t i)
{
	size_t j = i + 1;

	while (j < nparts && same_group(&parts[i], &parts[j]))
		j++;
	return j - i;
}

/* Appends up to n bytes of s, cut back to a UTF-8 character boundary if
 * the text is full; false once it is. */
static bool text_add(struct sim_sms *m, size_t *len, const char *s, size_t n)
{
	size_t room = sizeof(m->text) - 1 - *len;
	bool fits = n <= room;

	if (!fits) {
		n = room;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;            /* s[n] would continue a cut character */
	}
	memcpy(m->text + *len, s, n);
	*len += n;
	m->text[*len] = '\0';
	return fits;
}

/* One message from the group g[0..n) (sorted by seq). */
static void render(const struct sms_part *g, size_t n, struct sim_sms *m)
{
	size_t i = 0, len = 0;
	unsigned seq, total = g[0].concat ? g[0].total : 1;
	bool room = true;

	if (total > 255)
		total = 255;            /* an octet in the PDU; bounds the loop */

	memset(m, 0, sizeof(*m));
	m->index = g[0].index;
	m->status = g[0].status;
	snprintf(m->peer, sizeof(m->peer), "%.*s", (int)sizeof(g[0].peer), g[0].peer);
	m->time_s = g[0].time_s;
	m->tz_minutes = g[0].tz_minutes;
	for (seq = 1; seq <= total; seq++) {
		while (i < n && g[i].concat && g[i].seq < seq)
			i++;            /* a duplicate of a seq already used */
		if (i < n && (!g[i].concat || g[i].seq == seq)) {
			m->parts++;
			if (room)
				room = text_add(m, &len, g[i].text,
						strnlen(g[i].text, sizeof(g[i].text)));
			i++;
		} else {
			m->parts_missing++;
			if (room)
				room = text_add(m, &len, MISSING, strlen(MISSING));
		}
	}
}

/* The group whose (first index, position) comes next after (last_idx,
 * last_pos), or the first of all without has_last. */
static bool next_group(const struct sms_part *parts, size_t nparts, bool has_last,
		       unsigned last_idx, size_t last_pos, size_t *best)
{
	bool found = false;
	size_t i;

	for (i = 0; i < nparts; i += group_len(parts, nparts, i)) {
		unsigned idx = parts[i].index;

		if (has_last && (idx < last_idx || (idx == last_idx && i <= last_pos)))
			continue;
		if (!found || idx < parts[*best].index) {
			*best = i;
			found = true;
		}
	}
	return found;
}

size_t sms_join(struct sms_part *parts, size_t nparts, struct sim_sms *out, size_t max)
{
	size_t k, pos = 0;

	if (nparts == 0)
		return 0;
	qsort(parts, nparts, sizeof(*parts), part_cmp);
	for (k = 0; k < max; k++) {
		if (!next_group(parts, nparts, k > 0, k > 0 ? out[k - 1].index : 0, pos, &pos))
			break;
		render(&parts[pos], group_len(parts, nparts, pos), &out[k]);
	}
	return k;
}
