/* trk_harness.h — shared by the tracker tests (test_tracker_*.c): a sink
 * that records every call, a temp root and an outside dir, and a child
 * process that does the file operations (the tracker excludes its own
 * process) in steps the parent drains between.  Header-only, test code. */
#ifndef VIGIL_TESTS_TRK_HARNESS_H
#define VIGIL_TESTS_TRK_HARNESS_H

static const struct tracker_ops *trk_ops;
/* A start that fails is a failure, not a skip (the tracker started in
 * another mode on this machine). */
static bool trk_must_start;

#define MAXREC 4096

struct rec {
	char kind;                /* 'c' changed, 'r' ranges, 's' rescan, 'p' poll, 'x' closed */
	char path[PATH_MAX];
	size_t n;
	bool flag;                /* ranges: unknown; poll: on */
	struct trk_range r[16];
};

struct env {
	char top[64], root[256], out[256];
	struct tracker *t;
	size_t nrec;
	struct rec *rec;
	bool skip;
};

static void on_changed(void *arg, const char *path, int64_t when)
{
	struct env *e = arg;

	if (e->nrec < MAXREC - 64) {     /* the last ones are kept for rescans */
		e->rec[e->nrec].kind = 'c';
		snprintf(e->rec[e->nrec++].path, PATH_MAX, "%s", path);
	}
}

static void on_ranges(void *arg, const char *path, const struct trk_range *r, size_t n, bool unknown)
{
	struct env *e = arg;
	struct rec *x;

	if (e->nrec >= MAXREC - 64)
		return;
	x = &e->rec[e->nrec++];
	x->kind = 'r';
	snprintf(x->path, PATH_MAX, "%s", path);
	x->flag = unknown;
	x->n = n < 16 ? n : 16;
	if (n)
		memcpy(x->r, r, x->n * sizeof(*r));
}

static void on_rescan(void *arg, const char *dir)
{
	struct env *e = arg;

	if (e->nrec < MAXREC) {
		e->rec[e->nrec].kind = 's';
		snprintf(e->rec[e->nrec++].path, PATH_MAX, "%s", dir ? dir : "");
	}
}

static void on_poll(void *arg, const char *path, bool on)
{
	struct env *e = arg;

	if (e->nrec < MAXREC) {
		e->rec[e->nrec].kind = 'p';
		e->rec[e->nrec].flag = on;
		snprintf(e->rec[e->nrec++].path, PATH_MAX, "%s", path);
	}
}

static void on_closed(void *arg, const char *path, int64_t when)
{
	struct env *e = arg;

	if (e->nrec < MAXREC - 64) {
		e->rec[e->nrec].kind = 'x';
		snprintf(e->rec[e->nrec++].path, PATH_MAX, "%s", path);
	}
}

/* how many records of kind for path */
static inline size_t count(struct env *e, char kind, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nrec; i++)
		n += e->rec[i].kind == kind && (!path || strcmp(e->rec[i].path, path) == 0);
	return n;
}

static void drain(struct env *e)
{
	for (int i = 0; i < 3; i++) {
		usleep(20000);
		assert_int_equal(trk_ops->process(e->t), 0);
	}
}

/* vigild's own tgid is excluded, so file operations run in a child.  The
 * child calls step() between phases; the parent's await() waits for it,
 * drains the tracker, and lets the child go on with go(). */
struct kid {
	pid_t pid;
	int up[2], down[2];
};

static void kid_start(struct kid *k)
{
	assert_int_equal(pipe(k->up), 0);
	assert_int_equal(pipe(k->down), 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		close(k->up[0]);
		close(k->down[1]);
	} else {
		close(k->up[1]);
		close(k->down[0]);
	}
}

static void step(struct kid *k)
{
	char c = 's';

	if (write(k->up[1], &c, 1) != 1 || read(k->down[0], &c, 1) != 1)
		_exit(3);
}

static void await_step(struct env *e, struct kid *k)
{
	char c;

	assert_int_equal(read(k->up[0], &c, 1), 1);
	drain(e);
}

static void go(struct kid *k)
{
	char c = 'g';

	assert_int_equal(write(k->down[1], &c, 1), 1);
}

static void kid_done(struct env *e, struct kid *k)
{
	int st;

	close(k->down[1]);
	assert_int_equal(waitpid(k->pid, &st, 0), k->pid);
	close(k->up[0]);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	drain(e);
}

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "child: %s failed: %s\n", #x, strerror(errno)); _exit(2); } } while (0)

static const struct rec *find(struct env *e, char kind, const char *path)
{
	for (size_t i = 0; i < e->nrec; i++)
		if (e->rec[i].kind == kind && strcmp(e->rec[i].path, path) == 0)
			return &e->rec[i];
	return NULL;
}

/* ranges of path merged over all its 'r' records (each pick-up is one) */
static inline size_t all_ranges(struct env *e, const char *path, struct trk_range *out, bool *unknown)
{
	size_t n = 0;

	*unknown = false;
	for (size_t i = 0; i < e->nrec; i++) {
		if (e->rec[i].kind != 'r' || strcmp(e->rec[i].path, path))
			continue;
		*unknown |= e->rec[i].flag;
		for (size_t j = 0; j < e->rec[i].n && n < 32; j++)
			out[n++] = e->rec[i].r[j];
	}
	return n;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct tracker_sink sink = { .changed = on_changed, .ranges = on_ranges,
				     .rescan = on_rescan, .poll_file = on_poll,
				     .closed = on_closed };
	char err[256], *roots[1];
	int rc;

	assert_non_null(e);
	e->rec = calloc(MAXREC, sizeof(*e->rec));
	assert_non_null(e->rec);
	snprintf(e->top, sizeof(e->top), "/tmp/vigil-trk-XXXXXX");
	assert_non_null(mkdtemp(e->top));
	snprintf(e->root, sizeof(e->root), "%s/root", e->top);
	snprintf(e->out, sizeof(e->out), "%s/out", e->top);
	assert_int_equal(mkdir(e->root, 0755), 0);
	assert_int_equal(mkdir(e->out, 0755), 0);
	sink.arg = e;
	roots[0] = e->root;
	rc = trk_ops->start(&e->t, roots, 1, &sink, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s tracker unavailable: %s\n", trk_ops->name, err);
		if (trk_must_start)
			fail_msg("it started in the default mode: %s", err);
		e->skip = true;
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[PATH_MAX + 16];

	if (e->t)
		trk_ops->stop(e->t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->top);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", e->top);
	free(e->rec);
	free(e);
	return 0;
}

#define SKIP_IF_NO_TRACKER(e) do { if ((e)->skip) { skip(); } } while (0)

static void write_file(const char *path, size_t len)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	memset(buf, 'x', sizeof(buf));
	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		CHECK(write(fd, buf, n) == (ssize_t)n);
		len -= n;
	}
	close(fd);
}


#endif
