/* names.c — name grammar and path normal-form checks. */
#include "common/names.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

bool name_valid(const char *n)
{
	size_t i, len = strlen(n);

	if (len == 0 || len > 63)
		return false;
	for (i = 0; i < len; i++) {
		char c = n[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

bool path_valid(const char *p)
{
	size_t len = strlen(p);
	const char *c;

	if (len == 0 || len >= PATH_MAX || p[0] != '/')
		return false;
	if (len == 1)
		return true;
	if (p[len - 1] == '/')
		return false;
	for (c = p; *c; ) {
		const char *next = strchr(c + 1, '/');
		size_t clen = (next ? (size_t)(next - c) : strlen(c)) - 1;

		if (clen == 0 || (clen == 1 && c[1] == '.') ||
		    (clen == 2 && c[1] == '.' && c[2] == '.'))
			return false;
		if (!next)
			break;
		c = next;
	}
	return true;
}

int name_path_split(const char *arg, char *name, size_t namecap, char *path, size_t pathcap)
{
	const char *colon = strchr(arg, ':');
	size_t nlen = colon ? (size_t)(colon - arg) : strlen(arg);
	const char *p = colon ? colon + 1 : "/";

	if (nlen >= namecap || strlen(p) >= pathcap)
		return -EINVAL;
	memcpy(name, arg, nlen);
	name[nlen] = '\0';
	memcpy(path, p, strlen(p) + 1);
	/* Accept "dev:/a/b/" as "/a/b". */
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	if (!name_valid(name) || !path_valid(path))
		return -EINVAL;
	return 0;
}
