#!/bin/sh
# lint.sh — fails, naming file:line, where a C source calls a function that
# STYLE.md bans (as curl's checksrc does): strcpy strcat sprintf strtok atoi
# gets.  Use snprintf with a checked result, explicit lengths, strtok_r or a
# hand-written splitter, and strtol-family parsing with range checks.
# Checks every .c/.h git knows (tracked or new, not ignored) under the
# current directory, or every one below it outside a git checkout.
# Comments are not exempt: rephrase rather than quote a banned call.
# Outside common/conffile.[ch], tests/ and bench/, getopt_long is banned too.
BANNED='strcpy|strcat|sprintf|strtok|atoi|gets'

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files -co --exclude-standard -- '*.c' '*.h')
else
	files=$(find . -name build -prune -o -name 'build-*' -prune -o \
		\( -name '*.c' -o -name '*.h' \) -print)
fi
# A call: the name, not part of a longer identifier or a member (->x, .x),
# then optional blanks and "(".
hits=$(printf '%s\n' "$files" | tr '\n' '\0' | xargs -0 -r grep -snHE \
	"(^|[^A-Za-z0-9_.>])($BANNED)[[:space:]]*\\(" --)
if [ -n "$hits" ]; then
	printf '%s\n' "$hits" | while IFS= read -r h; do
		loc=${h%%:*}; rest=${h#*:}; line=${rest%%:*}; text=${rest#*:}
		fn=$(printf '%s' "$text" | grep -oE "(^|[^A-Za-z0-9_.>])($BANNED)[[:space:]]*\\(" |
			grep -oE "$BANNED" | sort -u | sed 's/$/()/' | paste -sd, -)
		printf '%s:%s: banned %s: %s\n' "$loc" "$line" "$fn" \
			"$(printf '%s' "$text" | sed 's/^[[:space:]]*//')"
	done
	echo "lint: $(printf '%s\n' "$hits" | wc -l) banned call(s); see STYLE.md" >&2
	exit 1
fi
# The shipped programs parse their flags through conf_getopt
# (common/conffile.c), which refuses abbreviated long flags; a bare
# getopt_long would accept them again.  Test and bench helpers may.
hits=$(printf '%s\n' "$files" | grep -vE '^(\./)?(common/conffile\.[ch]|tests/|bench/)' |
	tr '\n' '\0' | xargs -0 -r grep -nHE '(^|[^A-Za-z0-9_])getopt_long[[:space:]]*\(' --)
if [ -n "$hits" ]; then
	printf '%s\n' "$hits" | sed 's/$/  <- use conf_getopt (common\/conffile.h), not getopt_long/'
	exit 1
fi
echo "lint: no banned calls in $(printf '%s\n' "$files" | grep -c .) files"
