/* srvdir.c — refusing or tightening a server directory others could read
 * (see srvdir.h for the rule and why). */
#include "server/srvdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRVDIR_LOOSE 077   /* any group or other bit: even x reaches known names */

/* 1 when the directory open as fd has no entry but . and .., 0 when it has,
 * or -errno.  Takes fd over (closed). */
static int dir_empty(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int r = 1;

	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			r = 0;
			break;
		}
	closedir(d);
	return r;
}

int srvdir_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -ENOTDIR;
	}
	if (st.st_mode & SRVDIR_LOOSE) {
		snprintf(err, errlen, "%s is open to group or others (mode %04o); "
			 "it holds the device keys: chmod 700 %s", dir,
			 (unsigned)(st.st_mode & 07777), dir);
		return -EPERM;
	}
	return 0;
}

int srvdir_secure_new(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if ((r = srvdir_check(dir, err, errlen)) != -EPERM)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (st.st_uid != geteuid() || (r = dir_empty(dup(fd))) == 0) {
		close(fd);
		snprintf(err, errlen, "%s is open to group or others (mode %04o) and is not an "
			 "empty directory of yours; chmod 700 it or choose another",
			 dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (r > 0 && fchmod(fd, 0700) < 0)
		r = -errno;
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	return 0;
}
