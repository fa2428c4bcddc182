/* conffile.c — the "key = value" config grammar (conffile.h): one line at a
 * time through a bounded buffer, every error one line naming FILE:LINE. */
#include "common/conffile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int conf_options(const struct conf_key *keys, const struct option *extra,
		 struct option *out, size_t n)
{
	size_t i = 0;

	for (; keys->name; keys++, i++) {
		if (i + 1 >= n)
			return -ENOBUFS;
		out[i] = (struct option){ keys->name, keys->type == CONF_BOOL ? no_argument :
					  required_argument, NULL, keys->id };
	}
	for (; extra && extra->name; extra++, i++) {
		if (i + 1 >= n)
			return -ENOBUFS;
		out[i] = *extra;
	}
	out[i] = (struct option){ 0 };
	return 0;
}

const struct conf_key *conf_key_of(const struct conf_key *keys, int id)
{
	for (; keys->name; keys++)
		if (keys->id == id)
			return keys;
	return NULL;
}

static const struct conf_key *key_named(const struct conf_key *keys, const char *name)
{
	for (; keys->name; keys++)
		if (!strcmp(keys->name, name))
			return keys;
	return NULL;
}

/* The value's type: num filled for CONF_NUM and CONF_BOOL.  0 or -EINVAL. */
static int typed(const struct conf_key *k, const char *v, long *num, char *why, size_t whylen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
	char *end;

	*num = 0;
	if (k->type == CONF_BOOL) {
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (!strcasecmp(v, yes[i]))
				return *num = 1, 0;
			if (!strcasecmp(v, no[i]))
				return 0;
		}
		snprintf(why, whylen, "'%s' is not yes or no", v);
		return -EINVAL;
	}
	if (k->type != CONF_NUM)
		return 0;
	errno = 0;
	*num = strtol(v, &end, 10);
	if (errno || end == v || *end || *num < k->min || *num > k->max) {
		snprintf(why, whylen, "'%s' is not a number from %ld to %ld", v, k->min, k->max);
		return -EINVAL;
	}
	return 0;
}

int conf_flag(struct conf_set *s, int id, const char *arg, char *err, size_t errlen)
{
	const struct conf_key *k = conf_key_of(s->keys, id);
	char why[512] = "";
	long num;
	int r;

	if (!k)
		return -ENOENT;
	if (!arg)
		arg = "yes";
	if ((r = typed(k, arg, &num, why, sizeof(why))) == 0)
		r = s->fn(s->arg, k, arg, num, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "--%s: %s", k->name, why[0] ? why : strerror(-r));
		return r == -ENOMEM ? r : -EINVAL;
	}
	assert(k - s->keys < CONF_KEYS_MAX);
	s->cli |= 1ull << (k - s->keys);
	return 0;
}

static char *trim(char *s, char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

/* One line (NUL-terminated, without its end).  seen[i]: the line keys[i]
 * was first given on, for a scalar given twice.  0 or -EINVAL (why). */
static int conf_line(struct conf_set *s, char *line, int lineno, int *seen, char *why, size_t whylen)
{
	char *end = line + strlen(line), *eq, *key, *v;
	const struct conf_key *k;
	size_t i;
	long num;
	int r;

	key = trim(line, end);
	if (!*key || *key == '#')
		return 0;
	if (!(eq = strchr(key, '='))) {
		snprintf(why, whylen, "'%.64s' is not 'key = value' (missing '=')", key);
		return -EINVAL;
	}
	v = trim(eq + 1, end);
	key = trim(key, eq);
	if (!*key) {
		snprintf(why, whylen, "no key before '='");
		return -EINVAL;
	}
	if (!(k = key_named(s->keys, key))) {
		snprintf(why, whylen, "unknown key '%.64s'", key);
		return -EINVAL;
	}
	if (!*v) {
		snprintf(why, whylen, "'%s' has an empty value", k->name);
		return -EINVAL;
	}
	i = (size_t)(k - s->keys);
	assert(i < CONF_KEYS_MAX);   /* a table's size, not input */
	if (k->type != CONF_LIST && seen[i]) {
		snprintf(why, whylen, "'%s' given twice (lines %d and %d)", k->name, seen[i], lineno);
		return -EINVAL;
	}
	seen[i] = lineno;
	if ((r = typed(k, v, &num, why, whylen)) < 0)
		return r;
	if (s->cli & (1ull << i))   /* the command line wins */
		return 0;
	if ((r = s->fn(s->arg, k, v, num, why, whylen)) < 0 && !why[0])
		snprintf(why, whylen, "'%s': %s", k->name, strerror(-r));
	return r;
}

int conf_stream(struct conf_set *s, FILE *f, const char *name, char *err, size_t errlen)
{
	char line[CONF_LINE_MAX + 2], why[512];
	int seen[CONF_KEYS_MAX] = { 0 }, lineno = 1, c, r = 0;
	size_t len = 0, total = 0;

	for (;;) {
		c = getc(f);
		why[0] = '\0';
		if (c != EOF && ++total > CONF_FILE_MAX) {
			snprintf(why, sizeof(why), "file over %d bytes (1 MiB)", CONF_FILE_MAX);
			r = -EINVAL;
		} else if (c == '\0') {
			snprintf(why, sizeof(why), "a NUL byte");
			r = -EINVAL;
		} else if (c != '\n' && c != EOF) {
			/* one byte more than the maximum: room for a '\r' before '\n' */
			if (len <= CONF_LINE_MAX)
				line[len++] = (char)c;
			else
				r = -EINVAL;
			if (r < 0)
				snprintf(why, sizeof(why), "line over %d bytes", CONF_LINE_MAX);
		} else if (c == EOF && ferror(f)) {
			r = -EIO;
			break;
		} else if (c != EOF || len > 0) {
			if (len > 0 && line[len - 1] == '\r')
				len--;
			if (len > CONF_LINE_MAX) {
				snprintf(why, sizeof(why), "line over %d bytes", CONF_LINE_MAX);
				r = -EINVAL;
			} else {
				line[len] = '\0';
				r = conf_line(s, line, lineno, seen, why, sizeof(why));
			}
			len = 0;
			lineno += r == 0;
		}
		if (r < 0 || c == EOF)
			break;
	}
	if (r == -EIO)
		snprintf(err, errlen, "%s: %s", name, strerror(EIO));
	else if (r < 0)
		snprintf(err, errlen, "%s:%d: %s", name, lineno, why[0] ? why : strerror(-r));
	return r == -EIO || r == -ENOMEM ? r : r < 0 ? -EINVAL : 0;
}

int conf_file(struct conf_set *s, const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int fd, r;

	/* O_NONBLOCK: a FIFO named by mistake is refused below, not waited on */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : -ENODEV;
		snprintf(err, errlen, "%s: %s", path, r == -ENODEV ? "not a regular file" : strerror(-r));
		close(fd);
		return r;
	}
	if (!(f = fdopen(fd, "r"))) {
		r = -errno;
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = conf_stream(s, f, path, err, errlen);
	fclose(f);
	return r;
}

int conf_getopt(int argc, char *const argv[], const char *shortopts,
		const struct option *lo)
{
	int idx = -1, c = getopt_long(argc, argv, shortopts, lo, &idx), at;
	const char *given;

	if (c == -1 || c == '?' || c == ':' || idx < 0)
		return c;
	/* the element the flag was in: before its value when that was the
	 * next element ("--flag VALUE"), else the last one taken */
	at = optarg && optind >= 2 && optarg == argv[optind - 1] ? optind - 2 : optind - 1;
	given = argv[at];
	if (strncmp(given, "--", 2) == 0 &&
	    strcspn(given + 2, "=") == strlen(lo[idx].name))
		return c;
	optind = at + 1;
	optopt = 0;
	return '?';
}

const char *conf_argv_take(int *argc, char **argv, int i, const char *name, bool *bad)
{
	size_t l = strlen(name);
	const char *v;
	int k = 1;

	if (strncmp(argv[i], name, l) || (argv[i][l] && argv[i][l] != '='))
		return NULL;
	if (argv[i][l] == '=') {
		v = argv[i] + l + 1;
	} else if (i + 1 < *argc) {
		v = argv[i + 1];
		k = 2;
	} else {
		*bad = true;
		return NULL;
	}
	memmove(argv + i, argv + i + k, (size_t)(*argc - i - k + 1) * sizeof(*argv));
	*argc -= k;
	return v;
}
