/* ctl.c — the controller's session: bundle, connection, request helpers. */
#include "controller/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/client.h"
#include "common/log.h"
#include "common/names.h"
#include "controller/jsonout.h"

volatile sig_atomic_t ctl_quit;

int ctl_common_opt(struct ctl *c, int opt, const char *arg)
{
	switch (opt) {
	case CTL_OPT_BUNDLE:
		c->bundle_path = arg;
		return 1;
	case CTL_OPT_SERVER:
		c->server = arg;
		return 1;
	case CTL_OPT_SIGNKEY:
		c->sign_key_path = arg;
		return 1;
	default:
		return 0;
	}
}

int ctl_usage(const char *usage, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\nusage: %s", log_progname(), msg, usage);
	return CTL_USAGE;
}

int ctl_bad_option(const char *usage, char **argv)
{
	extern int optind, optopt;

	if (optopt && optopt < 0x100)
		return ctl_usage(usage, "bad option or missing argument: -%c", optopt);
	return ctl_usage(usage, "bad option or missing argument: %s", argv[optind - 1]);
}

int ctl_help(const char *usage)
{
	fprintf(stdout, "usage: %s", usage);
	return CTL_OK;
}

int ctl_opt_stop(const char *usage, int opt, char **argv)
{
	return opt == CTL_OPT_HELP ? ctl_help(usage) : ctl_bad_option(usage, argv);
}

int ctl_bundle_path(const struct ctl *c, char *out, size_t cap)
{
	const char *env = getenv("VIGIL_BUNDLE"), *home = getenv("HOME");
	int n;

	if (c->bundle_path)
		n = snprintf(out, cap, "%s", c->bundle_path);
	else if (env && *env)
		n = snprintf(out, cap, "%s", env);
	else if (home && *home)
		n = snprintf(out, cap, "%s/.config/vigil/controller.bundle", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* The server never opens streams towards a controller. */
static void on_stream(struct mux *m, struct mux_stream *s, uint16_t type,
		      const uint8_t *msg, size_t len, void *arg)
{
	mux_stream_close(s);
}

static const struct mux_ops ctl_mux_ops = { .on_stream = on_stream, .on_close = NULL,
					    .rx_window = MUX_WINDOW_BULK };

int ctl_load_bundle(struct ctl *c)
{
	char *path = c->bundle_file, err[256] = "";
	int r;

	if (c->b)
		return 0;
	if ((r = ctl_bundle_path(c, path, sizeof(c->bundle_file))) == -ENAMETOOLONG) {
		log_warnx("--bundle: name too long");
		return r;
	} else if (r < 0) {
		log_warnx("no bundle: use --bundle FILE or set VIGIL_BUNDLE");
		return r;
	}
	if ((r = bundle_load(path, &c->b, err, sizeof(err))) < 0) {
		if (err[0])
			log_warnx("%s", err);   /* names the file already */
		else
			log_errno(r, "%s", path);
		return r;
	}
	if (c->b->role != ROLE_CONTROLLER) {
		log_warnx("%s: not a controller bundle", path);
		bundle_free(c->b);
		c->b = NULL;
		return -EACCES;
	}
	return 0;
}

int ctl_connect(struct ctl *c)
{
	char err[256];
	int r;

	if (c->m)
		return 0;   /* connected already */
	if ((r = ctl_load_bundle(c)) < 0)
		return r;
	err[0] = '\0';
	r = client_connect(c->b, c->server, CTL_CONNECT_MS, &ctl_mux_ops, c, &c->m,
			   err, sizeof(err));
	if (r < 0) {
		if (err[0])
			log_warnx("%s", err);
		else
			log_errno(r, "%s", c->server ? c->server : c->b->server);
		return r;
	}
	return 0;
}

void ctl_close(struct ctl *c)
{
	mux_free(c->m);
	c->m = NULL;
	EVP_PKEY_free(c->sign_key);
	c->sign_key = NULL;
	bundle_free(c->b);
	c->b = NULL;
}

void ctl_rpc(struct ctl *c, struct rpc *r)
{
	rpc_init(r, c->m, CTL_REPLY_MS);
	r->cancel = &ctl_quit;
	r->max_items = CTL_LIST_MAX;
}

void ctl_rpc_log(const struct rpc *r, int rc, const char *prefix)
{
	char *esc;

	if (rc == -EINTR && !r->remote) {
		log_warnx("interrupted");
	} else if (r->remote) {
		esc = text_escape(r->err, true);
		if (prefix && strncmp(r->err, prefix, strlen(prefix)) != 0)
			log_warnx("%s: %s", prefix, esc ? esc : "error");
		else
			log_warnx("%s", esc ? esc : "error");
		free(esc);
	} else if (r->err[0]) {
		log_warnx("server: %s", r->err);
	}
}

long ctl_list(struct ctl *c, uint16_t type, const struct buf *req, uint16_t item_type,
	      const char *prefix, rpc_item_fn one, void *arg)
{
	struct rpc r;
	long n;

	ctl_rpc(c, &r);
	if ((n = rpc_list(&r, type, req, item_type, one, arg)) < 0)
		ctl_rpc_log(&r, (int)n, prefix);
	return n;
}

int ctl_call(struct ctl *c, uint16_t type, const struct buf *req, uint16_t want_type,
	     const char *prefix, struct buf *out)
{
	struct rpc r;
	int e;

	ctl_rpc(c, &r);
	if ((e = rpc_call(&r, type, req, want_type, out)) < 0)
		ctl_rpc_log(&r, e, prefix);
	return e;
}

int ctl_parse_target(const char *usage, const char *arg, char dev[VG_NAME_MAX],
		     char path[PATH_MAX], bool need_path)
{
	char fixed[VG_NAME_MAX + 2];
	size_t n = strlen(arg);

	if (need_path && !strchr(arg, ':'))
		return ctl_usage(usage, "%s: expected DEVICE:PATH", arg);
	/* "phone1:" means the device's "/" */
	if (n > 0 && n <= VG_NAME_MAX && arg[n - 1] == ':' && !memchr(arg, ':', n - 1)) {
		snprintf(fixed, sizeof(fixed), "%s/", arg);
		arg = fixed;
	}
	if (name_path_split(arg, dev, VG_NAME_MAX, path, PATH_MAX) < 0) {
		char *esc = text_escape(arg, true);
		int r = ctl_usage(usage, "%s: not a valid DEVICE[:PATH] (names are "
				  "[a-z0-9][a-z0-9._-]*, paths absolute without . or ..)",
				  esc ? esc : "argument");

		free(esc);
		return r;
	}
	return 0;
}

void ctl_target_str(const char *dev, const char *path, char *out, size_t cap)
{
	char *esc = text_escape(path, true);

	snprintf(out, cap, "%s:%s", dev, esc ? esc : path);
	free(esc);
}

int ctl_stat(struct ctl *c, const char *dev, const char *path, uint64_t version,
	     int64_t at, struct vg_entry *out)
{
	char prefix[PATH_MAX + VG_NAME_MAX + 8];
	struct vg_stat_req q = { .version = version, .at = at };
	struct wire_reader r;
	struct buf req, msg;
	int e;

	ctl_target_str(dev, path, prefix, sizeof(prefix));
	snprintf(q.dev, sizeof(q.dev), "%s", dev);
	snprintf(q.path, sizeof(q.path), "%s", path);
	buf_init(&req, MUX_FRAME_MAX);
	buf_init(&msg, MUX_FRAME_MAX);
	proto_put_stat_req(&req, &q);
	e = ctl_call(c, MSG_CTL_STAT, &req, MSG_ENTRY, prefix, &msg);
	if (e == 0) {
		wire_reader_init(&r, msg.data, msg.len);
		proto_get_entry(&r, out);
		if ((e = wire_done(&r)) < 0)
			log_warnx("server: malformed reply");
	}
	buf_free(&req);
	buf_free(&msg);
	return e;
}
