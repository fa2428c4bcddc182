/* jsonout.c — escaping of device bytes and the JSON shapes of DESIGN.md. */
#include "controller/jsonout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/timefmt.h"
#include "controller/cverify.h"

/* Length of the valid UTF-8 sequence starting at p (n bytes left), or 0.
 * Strict: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* The second byte's range carries the overlong/surrogate/max rules. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

char *text_escape_n(const char *s, size_t n, bool ctl)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0;

	/* Worst case: every byte becomes 4 characters. */
	if (n > (SIZE_MAX - 1) / 4 || !(out = malloc(n * 4 + 1)))
		return NULL;
	o = out;
	while (i < n) {
		size_t len = utf8_seq(p + i, n - i);

		if (p[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			i++;
		} else if (len == 0 || (ctl && (p[i] < 0x20 || p[i] == 0x7f))) {
			snprintf(o, 5, "\\x%02x", p[i]);
			o += 4;
			i++;
		} else {
			memcpy(o, p + i, len);
			o += len;
			i += len;
		}
	}
	*o = '\0';
	return out;
}

char *text_escape(const char *s, bool ctl)
{
	return text_escape_n(s, strlen(s), ctl);
}

json_t *jsonout_str(const char *s)
{
	char *e = text_escape(s, false);
	json_t *j;

	if (!e)
		return NULL;
	j = json_string(e);
	free(e);
	return j;
}

json_t *jsonout_time(int64_t ns)
{
	char buf[TIMEFMT_MAX];

	if (ns == 0)
		return json_null();
	return json_string(timefmt_format(ns, buf, sizeof(buf)));
}

json_t *jsonout_hex(const uint8_t *p, size_t n)
{
	char buf[HEX_SIZE(64)];

	if (n > 64)
		return NULL;
	return json_string(hex_encode(p, n, buf));
}

const char *jsonout_type(uint8_t type)
{
	switch (type) {
	case VG_FILE: return "file";
	case VG_DIR: return "dir";
	case VG_SYMLINK: return "symlink";
	default: return "unknown";
	}
}

/* json_object_set_new that remembers a failure (a NULL value or ENOMEM). */
static void set(json_t *o, const char *k, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(o, k, v) < 0)
		*bad = true;
}

static json_t *finish(json_t *o, bool bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *jsonout_ls_entry(const struct vg_entry *e)
{
	json_t *o = json_object();
	bool bad = !o;

	if (bad)
		return NULL;
	set(o, "path", jsonout_str(e->path), &bad);
	set(o, "type", json_string(jsonout_type(e->type)), &bad);
	set(o, "size", json_integer((json_int_t)e->size), &bad);
	set(o, "mtime", jsonout_time(e->mtime_ns), &bad);
	set(o, "mode", json_integer(e->mode), &bad);
	set(o, "uid", json_integer(e->uid), &bad);
	set(o, "gid", json_integer(e->gid), &bad);
	set(o, "version", json_integer((json_int_t)e->version), &bad);
	if (e->type == VG_SYMLINK)
		set(o, "link", jsonout_str(e->link), &bad);
	return finish(o, bad);
}

json_t *jsonout_log_entry(const struct vg_entry *e)
{
	json_t *o = json_object();
	bool bad = !o;

	if (bad)
		return NULL;
	set(o, "version", json_integer((json_int_t)e->version), &bad);
	set(o, "time", jsonout_time(e->capture_ns), &bad);
	set(o, "size", json_integer((json_int_t)e->size), &bad);
	/* all zeros: the server has not computed it (docs/index.md) */
	set(o, "sha256", e->type == VG_FILE && !e->deleted && !cverify_sha_pending(e) ?
	    jsonout_hex(e->sha256, 32) : json_null(), &bad);
	set(o, "sha256_pending", json_false(), &bad);
	/* what `get` checks the content by meanwhile (controller/cverify.c) */
	if (cverify_by(e) == CVERIFY_DIGEST)
		set(o, "xxh3_128", jsonout_hex(e->digest, sizeof(e->digest)), &bad);
	set(o, "deleted", json_boolean(e->deleted), &bad);
	set(o, "type", json_string(jsonout_type(e->type)), &bad);
	set(o, "mode", json_integer(e->mode), &bad);
	set(o, "mtime", jsonout_time(e->mtime_ns), &bad);
	set(o, "received", jsonout_time(e->recv_ns), &bad);
	if (e->type == VG_SYMLINK)
		set(o, "link", jsonout_str(e->link), &bad);
	return finish(o, bad);
}

void jsonout_log_pending(const struct jsonout_logsha *rows, size_t n, bool *pending)
{
	bool current = true;   /* rows[i]'s content is the latest's, and was since */

	for (size_t i = n; i-- > 0;) {
		current = current && rows[i].live_file &&
			  (i + 1 == n || !memcmp(rows[i].tree_root, rows[i + 1].tree_root, 32));
		pending[i] = current && rows[i].missing;
	}
}

json_t *jsonout_device(const struct vg_device *d)
{
	json_t *o = json_object();
	bool bad = !o;

	if (bad)
		return NULL;
	set(o, "name", jsonout_str(d->name), &bad);
	set(o, "online", json_boolean(d->online), &bad);
	set(o, "last_seen", jsonout_time(d->last_seen_ns), &bad);
	set(o, "files", json_integer((json_int_t)d->files), &bad);
	set(o, "bytes", json_integer((json_int_t)d->bytes), &bad);
	return finish(o, bad);
}

static json_t *status_commands(const struct vg_status *s)
{
	json_t *a = json_array();
	uint32_t i;
	bool bad = !a;

	for (i = 0; !bad && i < s->ncommands && i < VG_STATUS_LIST_MAX; i++) {
		json_t *c = json_object();

		if (!c || json_array_append_new(a, c) < 0) {
			bad = true;
			break;
		}
		set(c, "id", json_integer((json_int_t)s->commands[i].id), &bad);
		set(c, "action", jsonout_str(s->commands[i].action), &bad);
		set(c, "by", jsonout_str(s->commands[i].by), &bad);
		set(c, "state", jsonout_str(s->commands[i].state), &bad);
		set(c, "issued", jsonout_time(s->commands[i].issued_ns), &bad);
		set(c, "updated", jsonout_time(s->commands[i].updated_ns), &bad);
	}
	return finish(a, bad);
}

static json_t *status_events(const struct vg_status *s)
{
	json_t *a = json_array();
	uint32_t i;
	bool bad = !a;

	for (i = 0; !bad && i < s->nevents && i < VG_STATUS_LIST_MAX; i++) {
		json_t *ev = json_object();

		if (!ev || json_array_append_new(a, ev) < 0) {
			bad = true;
			break;
		}
		set(ev, "time", jsonout_time(s->events[i].time_ns), &bad);
		set(ev, "kind", jsonout_str(s->events[i].kind), &bad);
		set(ev, "detail", jsonout_str(s->events[i].detail), &bad);
	}
	return finish(a, bad);
}

json_t *jsonout_status(const struct vg_status *s)
{
	json_t *o = json_object(), *sub;
	bool bad = !o;

	if (bad)
		return NULL;
	set(o, "device", jsonout_str(s->device), &bad);
	set(o, "online", json_boolean(s->online), &bad);
	set(o, "last_seen", jsonout_time(s->last_seen_ns), &bad);
	sub = json_object();
	set(o, "backlog", sub, &bad);
	if (sub) {
		set(sub, "files", json_integer((json_int_t)s->backlog_files), &bad);
		set(sub, "oldest", jsonout_time(s->backlog_oldest_ns), &bad);
		set(sub, "at", jsonout_time(s->backlog_at_ns), &bad);
		set(sub, "received", jsonout_time(s->report_ns), &bad);
	}
	set(o, "frozen", json_boolean(s->frozen), &bad);
	sub = json_object();
	set(o, "erase", sub, &bad);
	if (sub) {
		set(sub, "state", jsonout_str(s->erase_state[0] ? s->erase_state : "none"), &bad);
		set(sub, "files", json_integer((json_int_t)s->erase_files), &bad);
		set(sub, "bytes", json_integer((json_int_t)s->erase_bytes), &bad);
	}
	sub = json_object();
	set(o, "sim", sub, &bad);
	if (sub) {
		set(sub, "iccid", s->sim_iccid[0] ? jsonout_str(s->sim_iccid) : json_null(), &bad);
		set(sub, "imsi", s->sim_imsi[0] ? jsonout_str(s->sim_imsi) : json_null(), &bad);
		set(sub, "changed_at", jsonout_time(s->sim_changed_ns), &bad);
	}
	set(o, "quota", s->quota_bytes ? json_pack("{s:I, s:I, s:b}",
		"bytes", (json_int_t)s->quota_bytes, "used", (json_int_t)s->quota_used,
		"full", s->quota_used >= s->quota_bytes) : json_null(), &bad);
	set(o, "retention", json_pack("{s:o, s:I}", "last_pass", jsonout_time(s->retain_pass_ns),
		"dropped", (json_int_t)s->retain_dropped), &bad);
	set(o, "sweep", json_pack("{s:o, s:I, s:I}", "at", jsonout_time(s->sweep_at_ns),
		"deleted", (json_int_t)s->sweep_deleted,
		"deleted_bytes", (json_int_t)s->sweep_deleted_bytes), &bad);
	set(o, "commands", status_commands(s), &bad);
	set(o, "events", status_events(s), &bad);
	sub = json_object();
	set(o, "index", sub, &bad);
	if (sub) {
		set(sub, "files", json_integer((json_int_t)s->index_files), &bad);
		set(sub, "versions", json_integer((json_int_t)s->index_versions), &bad);
		set(sub, "unparsed", json_integer((json_int_t)s->index_unparsed), &bad);
		set(sub, "path_only", json_integer((json_int_t)s->index_path_only), &bad);
		set(sub, "pending", json_integer((json_int_t)s->index_pending), &bad);
	}
	return finish(o, bad);
}

json_t *jsonout_hit(const struct vg_hit *h)
{
	json_t *o = json_object();
	bool bad = !o;

	if (bad)
		return NULL;
	set(o, "path", jsonout_str(h->path), &bad);
	set(o, "version", json_integer((json_int_t)h->version), &bad);
	set(o, "time", jsonout_time(h->time_ns), &bad);
	set(o, "snippet", jsonout_str(h->snippet), &bad);
	return finish(o, bad);
}

int jsonout_print(json_t *doc)
{
	int r = 0;

	if (!doc)
		return -ENOMEM;
	if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
		r = -EIO;
	json_decref(doc);
	return r;
}
