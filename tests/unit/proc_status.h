/* proc_status.h — one numeric field of /proc/PID/status ("Uid", "Seccomp",
 * "NoNewPrivs"...), for the tests of the extractor's sandbox: the first
 * number after "NAME:", -1 when the field is missing. */
#ifndef VIGIL_TEST_PROC_STATUS_H
#define VIGIL_TEST_PROC_STATUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static long status_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, strlen(name)) && line[strlen(name)] == ':')
			v = strtol(line + strlen(name) + 1, NULL, 10);
	fclose(f);
	return v;
}

#endif
