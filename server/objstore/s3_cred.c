/* s3_cred.c — the object store's credentials: from the environment, or
 * from a file only its owner can read.  Never from the command line, where
 * every user of the machine sees them (/proc/PID/cmdline). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/conffile.h"
#include "server/objstore/s3.h"

static bool take(char *dst, size_t n, const char *v)
{
	return v && v[0] && snprintf(dst, n, "%s", v) < (int)n;
}

int s3_cred_env(struct s3_config *c)
{
	static const char *const pairs[][2] = {
		{ "VIGIL_S3_ACCESS_KEY_ID", "VIGIL_S3_SECRET_ACCESS_KEY" },
		{ "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" },
	};

	for (size_t i = 0; i < 2; i++) {
		const char *id = getenv(pairs[i][0]), *sec = getenv(pairs[i][1]);

		if (id && id[0] && sec && sec[0]) {
			if (!take(c->key_id, sizeof(c->key_id), id) ||
			    !take(c->secret, sizeof(c->secret), sec))
				return -ENAMETOOLONG;
			return 0;
		}
	}
	return -ENOENT;
}

enum { K_ID = 1, K_SECRET };

static const struct conf_key cred_keys[] = {
	{ "access_key_id", CONF_STR, K_ID, 0, 0 },
	{ "secret_access_key", CONF_STR, K_SECRET, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

static int cred_set(void *arg, const struct conf_key *k, const char *value, long num, char *why,
		    size_t whylen)
{
	struct s3_config *c = arg;
	bool ok = k->id == K_ID ? take(c->key_id, sizeof(c->key_id), value)
				: take(c->secret, sizeof(c->secret), value);

	if (!ok) {
		snprintf(why, whylen, "%s: empty or too long", k->name);
		return -EINVAL;
	}
	return 0;
}

int s3_cred_file(struct s3_config *c, const char *path, char *err, size_t errlen)
{
	struct conf_set set = { cred_keys, cred_set, c, 0 };
	struct stat st;
	FILE *f = NULL;
	int fd, rc;

	c->key_id[0] = c->secret[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* checked on the open file: no window between the check and the read */
	if (st.st_mode & 077) {
		rc = -EPERM;
		snprintf(err, errlen, "%s: other users may read these credentials (mode %04o): "
			 "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	f = fdopen(fd, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	fd = -1;
	rc = conf_stream(&set, f, path, err, errlen);
	if (!rc && (!c->key_id[0] || !c->secret[0])) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: needs both access_key_id and secret_access_key", path);
	}
out:
	if (rc) {
		explicit_bzero(c->key_id, sizeof(c->key_id));
		explicit_bzero(c->secret, sizeof(c->secret));
	}
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return rc;
}
