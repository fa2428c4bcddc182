/* fuzz_names.c — libFuzzer harness for common/names.c: name_valid,
 * path_valid and name_path_split on arbitrary strings, each checked against
 * a slow, obviously correct model of the grammar in names.h. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"
#include "common/proto.h"
#include "tests/fuzz/fuzz_util.h"

static bool model_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > 63)
		return false;
	for (i = 0; i < n; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');

		if (!alnum && (i == 0 || !strchr("._-", s[i])))
			return false;
	}
	return true;
}

static bool model_path(const char *s)
{
	size_t i, start, n = strlen(s);

	if (n == 0 || n >= PATH_MAX || s[0] != '/')
		return false;
	if (n == 1)
		return true;
	for (start = 1, i = 1; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		/* component s[start..i) */
		if (i == start || (i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, name[VG_NAME_MAX], *path;
	size_t caps[] = { 1, 2, VG_NAME_MAX }, pcaps[] = { 1, 2, 16, PATH_MAX };
	int r;

	if (size > 2 * PATH_MAX)
		return 0;
	if (!(s = malloc(size + 1)) || !(path = malloc(PATH_MAX)))
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (name_valid(s) != model_name(s) || path_valid(s) != model_path(s))
		abort();
	r = name_path_split(s, name, caps[size % 3], path, pcaps[size % 4]);
	if (r == 0 && (!name_valid(name) || !path_valid(path)))
		abort();
	if (r != 0 && r != -EINVAL)
		abort();
	r = name_path_split(s, name, sizeof(name), path, PATH_MAX);
	if (r == 0 && (!name_valid(name) || !path_valid(path) || strncmp(s, name, strlen(name)) != 0))
		abort();
	free(path);
	free(s);
	return 0;
}
