/* conffile.h — the one "key = value" grammar of vigild's and vigil-server's
 * config files (--config FILE, the server's DIR/config; man/vigil.conf.5).
 *
 *     # a comment: a line whose first non-blank character is '#'
 *     key = value
 *
 * A key is a long flag without its "--".  Each program describes its flags
 * once, as a table of struct conf_key; the same table gives getopt_long its
 * options (conf_options), checks a flag's value (conf_flag) and reads a file
 * (conf_file), so every long flag in the table has a key by construction and
 * the command line and the file check a value the same way.
 *
 * The command line wins: conf_flag marks its key, and conf_file then checks
 * that key's lines but does not apply them (a list flag on the command line
 * replaces the file's whole list).  Call conf_flag for every flag first, then
 * conf_file. */
#ifndef VIGIL_CONFFILE_H
#define VIGIL_CONFFILE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_LINE_MAX  4096          /* bytes of a line, not counting "\n" or "\r\n" */
#define CONF_FILE_MAX  (1 << 20)     /* bytes of a file */
#define CONF_KEYS_MAX  64            /* keys of a table (one bit each in conf_set.cli) */

enum conf_type {
	CONF_STR,    /* one value; given twice in a file is an error */
	CONF_NUM,    /* a decimal integer within [min, max] */
	CONF_BOOL,   /* yes/no, true/false, on/off, 1/0; a flag without a value */
	CONF_LIST,   /* one value per line (per flag); the lines accumulate */
};

struct conf_key {
	const char *name;   /* the long flag without "--"; NULL ends a table */
	enum conf_type type;
	int id;             /* getopt_long's val for the flag */
	long min, max;      /* CONF_NUM */
};

/* Applies one setting: value as written (trimmed), num for CONF_NUM and
 * CONF_BOOL (0/1).  0, or -EINVAL with a reason in why (no file or line in
 * it: the caller adds them), or another -errno. */
typedef int (*conf_fn)(void *arg, const struct conf_key *k, const char *value, long num,
		       char *why, size_t whylen);

struct conf_set {
	const struct conf_key *keys;
	conf_fn fn;
	void *arg;
	uint64_t cli;        /* bit i: keys[i] was given on the command line */
};

/* Fills out (n entries) with the table's options (CONF_BOOL: no_argument,
 * else required_argument), then extra (ended by a zero entry), then the
 * terminator.  -ENOBUFS when they do not fit. */
int conf_options(const struct conf_key *keys, const struct option *extra,
		 struct option *out, size_t n);
/* getopt_long for every program's command line (vigild, vigil-server,
 * vigil, vigil-simfs), which takes a long flag only whole: glibc accepts
 * any unambiguous prefix ("--verb" for "--verbose"), and such a prefix
 * would change meaning, or stop working, the day a flag with the same
 * prefix is added; DESIGN.md names the flags.  A prefix is returned as
 * '?' (optopt 0), with optind set so that argv[optind - 1] is the flag as
 * given: the caller's usual "bad option" usage error names it. */
int conf_getopt(int argc, char *const argv[], const char *shortopts,
		const struct option *lo);
/* The key of getopt_long's val, or NULL. */
const struct conf_key *conf_key_of(const struct conf_key *keys, int id);
/* A flag from getopt_long (arg NULL for CONF_BOOL): checked, applied through
 * s->fn and marked as given.  0, -ENOENT when id is not in the table, or
 * -EINVAL with "--key: why" in err. */
int conf_flag(struct conf_set *s, int id, const char *arg, char *err, size_t errlen);
/* Reads FILE.  0; -EINVAL with "FILE:LINE: what is wrong" in err (a usage
 * error: exit 2); another -errno with "FILE: why" when it cannot be read
 * (exit 1). */
int conf_file(struct conf_set *s, const char *path, char *err, size_t errlen);
/* The same from an open stream, named name in errors (DIR/config's text). */
int conf_stream(struct conf_set *s, FILE *f, const char *name, char *err, size_t errlen);
/* Takes "NAME VALUE" or "NAME=VALUE" at argv[i] out of argv (argc shrinks)
 * and returns VALUE; NULL when argv[i] is not NAME, or, with *bad set, when
 * its value is missing.  For options a program reads before its own
 * parsing (vigil-server's --config, --key-file). */
const char *conf_argv_take(int *argc, char **argv, int i, const char *name, bool *bad);

#endif
