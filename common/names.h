/* names.h — validation of names and paths that come from outside.
 * Checked once at entry (command line, wire); code past that trusts them. */
#ifndef VIGIL_NAMES_H
#define VIGIL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Device and controller names: [a-z0-9][a-z0-9._-]{0,62} */
bool name_valid(const char *name);
/* An absolute, normalised device path: starts with '/', no empty, "." or ".."
 * component, no trailing '/' (except "/" itself), shorter than PATH_MAX. */
bool path_valid(const char *path);
/* Splits "DEVICE[:PATH]" into its parts; path defaults to "/".
 * Returns 0, or -EINVAL when the name or path is not valid. */
int name_path_split(const char *arg, char *name, size_t namecap, char *path, size_t pathcap);

#endif
