/* admin.c — the admin path: subcommands run inside the server that holds
 * DIR's store, or here when no server does (admin.h): check (check.c),
 * sweep (sweep_cli.c), quota (quota_cli.c), retain (retain_cli.c), revoke
 * (revoke_cli.c). */
#include "server/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/byteorder.h"
#include "common/log.h"
#include "server/check.h"
#include "server/enroll_cli.h"
#include "server/index.h"
#include "server/quota.h"
#include "server/retain_cli.h"
#include "server/revoke_cli.h"
#include "server/srvkey.h"
#include "server/store/store.h"
#include "server/sweep.h"

/* internal: a step of another command (enroll_cli.c), not a subcommand */
static const struct { const char *name; admin_fn *fn; bool internal; } handlers[] = {
	{ "check", srvcheck_main, false },
	{ "sweep", sweep_main, false },
	{ "quota", quota_main, false },
	{ "retain", retain_main, false },
	{ "revoke", revoke_main, false },
	{ ENROLL_RECORD, enroll_record_main, true },
	{ ENROLL_END, enroll_end_main, true },
};

static int handler_at(const char *cmd)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (!strcmp(handlers[i].name, cmd))
			return (int)i;
	return -1;
}

static admin_fn *handler_of(const char *cmd)
{
	int i = handler_at(cmd);

	return i < 0 ? NULL : handlers[i].fn;
}

bool admin_handles(const char *cmd)
{
	int i = handler_at(cmd);

	return i >= 0 && !handlers[i].internal;
}

void admin_say(FILE *err, int r, const char *fmt, ...)
{
	va_list ap;

	fputs("vigil-server: ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	if (r < 0)
		fprintf(err, ": %s", strerror(-r));
	fputc('\n', err);
}

static int send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EPIPE;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int recv_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t k = recv(fd, b, n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNRESET;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int send_frame(int fd, char kind, uint32_t len, const void *p)
{
	uint8_t h[5] = { (uint8_t)kind };

	be32_put(h + 1, len);
	if (send_all(fd, h, 5) < 0)
		return -EPIPE;
	return len ? send_all(fd, p, len) : 0;
}

/* ------------------------------------------------------------- server */

struct frame_file { int fd; char kind; };

static ssize_t frame_write(void *c, const char *p, size_t n)
{
	struct frame_file *f = c;

	if (n > (1u << 20))
		n = 1u << 20;
	return send_frame(f->fd, f->kind, (uint32_t)n, p) < 0 ? -1 : (ssize_t)n;
}

static int frame_close(void *c) { (void)c; return 0; }

struct admin {
	int fd, stopfd[2];
	struct admin_env env;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running;
};

struct job { struct admin *a; int fd; };

/* Reads the request: argc and the arguments (NULL-terminated argv). */
static int read_request(int fd, char ***argvp, int *argcp)
{
	uint8_t h[4];
	uint32_t argc, len;
	char **argv;
	int r;

	if ((r = recv_all(fd, h, 4)) < 0)
		return r;
	if ((argc = be32_get(h)) < 2 || argc > ADMIN_ARGS_MAX)
		return -EPROTO;
	if (!(argv = calloc(argc + 1, sizeof(*argv))))
		return -ENOMEM;
	for (uint32_t i = 0; i < argc; i++) {
		if ((r = recv_all(fd, h, 4)) < 0 || (len = be32_get(h)) >= ADMIN_ARG_MAX ||
		    !(argv[i] = calloc(1, len + 1)) || (r = recv_all(fd, argv[i], len)) < 0 ||
		    memchr(argv[i], 0, len)) {
			for (uint32_t j = 0; j <= i; j++)
				free(argv[j]);
			free(argv);
			return r < 0 ? r : -EPROTO;
		}
	}
	*argvp = argv;
	*argcp = (int)argc;
	return 0;
}

static void serve_one(struct admin *a, int fd)
{
	struct frame_file fo = { fd, 'o' }, fe = { fd, 'e' };
	cookie_io_functions_t io = { .write = frame_write, .close = frame_close };
	struct timeval tv = { .tv_sec = 10 };
	FILE *out = NULL, *err = NULL;
	char **argv = NULL;
	int argc = 0, status = 1;
	admin_fn *fn;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_request(fd, &argv, &argc) < 0)
		return;
	out = fopencookie(&fo, "w", io);
	err = fopencookie(&fe, "w", io);
	if (out && err && (fn = handler_of(argv[0]))) {
		setvbuf(err, NULL, _IOLBF, 0);
		status = fn(&a->env, argc, argv, out, err);
	}
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	send_frame(fd, 'x', (uint32_t)status, NULL);
	for (int i = 0; i < argc; i++) {   /* enroll-record carries a device's content key */
		OPENSSL_cleanse(argv[i], strlen(argv[i]));
		free(argv[i]);
	}
	free(argv);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct admin *a = j->a;

	serve_one(a, j->fd);
	close(j->fd);
	free(j);
	pthread_mutex_lock(&a->mu);
	a->running--;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Starts a job for fd from a peer of our uid (else fd is closed). */
static void accept_one(struct admin *a, int fd)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct job *j;
	pthread_t th;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.uid != geteuid() ||
	    !(j = malloc(sizeof(*j)))) {
		close(fd);
		return;
	}
	*j = (struct job){ a, fd };
	pthread_mutex_lock(&a->mu);
	while (a->running >= ADMIN_RUNNING && !a->env.quit)
		pthread_cond_wait(&a->cv, &a->mu);
	a->running++;
	pthread_mutex_unlock(&a->mu);
	if (pthread_create(&th, NULL, job_main, j) != 0) {
		close(fd);
		free(j);
		pthread_mutex_lock(&a->mu);
		a->running--;
		pthread_mutex_unlock(&a->mu);
		return;
	}
	pthread_detach(th);
}

static void *admin_main(void *arg)
{
	struct admin *a = arg;

	for (;;) {
		struct pollfd p[2] = { { a->fd, POLLIN, 0 }, { a->stopfd[0], POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		if ((fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			accept_one(a, fd);
	}
	return NULL;
}

/* DIR/admin.sock as a socket address; a DIR too long for sun_path is
 * reached through /proc/self/fd/N of *dfd, an O_PATH fd of DIR the caller
 * closes after bind or connect (-1: none needed). */
static int sock_addr(const char *dir, struct sockaddr_un *sa, int *dfd)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dfd = -1;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, ADMIN_SOCK) <
	    sizeof(sa->sun_path))
		return 0;
	if ((*dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dfd, ADMIN_SOCK);
	return 0;
}

static void close_dfd(int dfd)
{
	if (dfd >= 0)
		close(dfd);
}

static int sock_connect(const char *dir)
{
	struct sockaddr_un sa;
	int fd, r, dfd;

	if ((r = sock_addr(dir, &sa, &dfd)) < 0)
		return r;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		close_dfd(dfd);
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		fd = r;
	}
	close_dfd(dfd);
	return fd;
}

int admin_bind(const char *dir)
{
	struct sockaddr_un sa;
	int fd, r, dfd;

	if ((fd = sock_connect(dir)) >= 0) {   /* a live server answers there */
		close(fd);
		return -EADDRINUSE;
	}
	if ((r = sock_addr(dir, &sa, &dfd)) < 0)
		return log_errno(r, "%s/%s", dir, ADMIN_SOCK), r;
	unlink(sa.sun_path);   /* stale, from a server that is gone */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		r = -errno;
		log_warn("admin socket");
	} else if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		   chmod(sa.sun_path, 0600) < 0 || listen(fd, 8) < 0) {
		r = -errno;
		log_errno(r, "%s/%s", dir, ADMIN_SOCK);
		close(fd);
	} else {
		r = fd;
	}
	close_dfd(dfd);
	return r;
}

struct admin *admin_start(int fd, const struct admin_env *env)
{
	struct admin *a = calloc(1, sizeof(*a));

	if (!a || pipe2(a->stopfd, O_CLOEXEC) < 0) {
		log_warnx("admin path: cannot start");
		free(a);
		close(fd);
		return NULL;
	}
	a->fd = fd;
	a->env = *env;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (pthread_create(&a->th, NULL, admin_main, a) != 0) {
		log_warnx("admin path: cannot start");
		close(a->stopfd[0]), close(a->stopfd[1]), close(fd);
		free(a);
		return NULL;
	}
	return a;
}

void admin_stop(struct admin *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->env.quit = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (write(a->stopfd[1], "x", 1) < 0)
		log_warn("admin path: stop");
	pthread_join(a->th, NULL);
	pthread_mutex_lock(&a->mu);
	while (a->running > 0)   /* handlers poll env.quit (check does) */
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
	close(a->fd);
	close(a->stopfd[0]);
	close(a->stopfd[1]);
	free(a);
}

/* ------------------------------------------------------------- client */

static int send_request(int fd, int argc, char **argv)
{
	uint8_t h[4];

	be32_put(h, (uint32_t)argc);
	if (send_all(fd, h, 4) < 0)
		return -EPIPE;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n >= ADMIN_ARG_MAX)
			return -E2BIG;
		be32_put(h, (uint32_t)n);
		if (send_all(fd, h, 4) < 0 || send_all(fd, argv[i], n) < 0)
			return -EPIPE;
	}
	return 0;
}

/* Copies the server's frames to out/err; the status, or -errno. */
static int relay_reply(int fd, FILE *out, FILE *err)
{
	static char buf[65536];
	uint8_t h[5];
	int r;

	for (;;) {
		uint32_t len;

		if ((r = recv_all(fd, h, 5)) < 0)
			return r;
		len = be32_get(h + 1);
		if (h[0] == 'x')
			return (int)(len & 0xff);
		if ((h[0] != 'o' && h[0] != 'e') || len > (1u << 20))
			return -EPROTO;
		while (len) {
			size_t k = len < sizeof(buf) ? len : sizeof(buf);

			if ((r = recv_all(fd, buf, k)) < 0)
				return r;
			fwrite(buf, 1, k, h[0] == 'o' ? out : err);
			len -= (uint32_t)k;
		}
	}
}

/* No server answers: open DIR here (an encrypted store with the secret
 * the environment names: srvkey.h) and run the handler. */
static int run_local(int argc, char **argv, const struct srvkey_opts *ko)
{
	struct admin_env env = { .dir = argv[1] };
	char path[PATH_MAX], err[PATH_MAX + 128] = "";
	struct store_key key;
	bool enc = false;
	int r, status;

	snprintf(path, sizeof(path), "%s/store", argv[1]);
	if (access(path, F_OK) < 0)
		return log_warnx("%s holds no server (no store)", argv[1]), 1;
	if (srvkey_load(argv[1], ko, &key, &enc, err, sizeof(err)) < 0)
		return log_warnx("%s", err), 1;
	r = store_open_key(path, enc ? &key : NULL, &env.st);
	OPENSSL_cleanse(&key, sizeof(key));
	if (r < 0)
		return log_errno(r, "%s", path), 1;
	if ((r = index_open(argv[1], false, &env.idx)) < 0) {
		store_close(env.st);
		return log_errno(r, "%s/index.db", argv[1]), 1;
	}
	env.ridx = env.idx;
	status = handler_of(argv[0])(&env, argc, argv, stdout, stderr);
	index_close(env.idx);
	store_close(env.st);
	return status;
}

/* Takes --key-file FILE and --passphrase-file FILE out of argv (after DIR)
 * into ko: 0, or 2 (usage, logged). */
static int take_key_opts(int *argc, char **argv, struct srvkey_opts *ko)
{
	int i = 2, n = 2;

	while (i < *argc) {
		const char **to = !strcmp(argv[i], "--key-file") ? &ko->key_file :
				  !strcmp(argv[i], "--passphrase-file") ? &ko->pass_file : NULL;

		if (!to) {
			argv[n++] = argv[i++];
			continue;
		}
		if (i + 1 >= *argc)
			return log_warnx("%s needs FILE", argv[i]), 2;
		*to = argv[i + 1];
		i += 2;
	}
	*argc = n;
	argv[n] = NULL;
	if (ko->key_file && ko->pass_file)
		return log_warnx("give one of --key-file, --passphrase-file"), 2;
	return 0;
}

int admin_call(int argc, char **argv, FILE *out, FILE *err)
{
	int fd, r;

	fd = sock_connect(argv[1]);
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		return -ENOTCONN;
	if (fd < 0)
		return log_errno(fd, "%s/%s", argv[1], ADMIN_SOCK), fd;
	r = send_request(fd, argc, argv);
	if (r == 0)
		r = relay_reply(fd, out, err);
	close(fd);
	fflush(out);
	if (r < 0)
		log_errno(r, "the server at %s", argv[1]);
	return r == -ENOTCONN ? -ECONNRESET : r;
}

int admin_client(int argc, char **argv)
{
	struct srvkey_opts ko = { 0 };
	int r;

	if (argc < 2 || argc > ADMIN_ARGS_MAX)
		return log_warnx("%s needs DIR", argv[0]), 2;
	if (argv[1][0] == '-')
		return log_warnx("%s needs DIR first, then its options", argv[0]), 2;
	if ((r = take_key_opts(&argc, argv, &ko)) != 0)
		return r;
	r = admin_call(argc, argv, stdout, stderr);
	if (r == -ENOTCONN)
		return run_local(argc, argv, &ko);
	return r < 0 ? 1 : r;
}
