# mdocflags.awk — the long flags an mdoc page names, by where it names them.
# Prints "SCOPE --flag" for every `Fl -name` on a macro line, and
# "command NAME" for every command the page describes.  SCOPE is
#   cmd:NAME  inside the item `.It Cm NAME ...` of a top-level list of the
#             DESCRIPTION or COMMANDS section (the item line included);
#   main      elsewhere in SYNOPSIS and DESCRIPTION;
#   other     every other section (EXAMPLES, FILES, JSON OUTPUT ...).
# `Fl -keep-*` (a wildcard in prose) is no flag and is skipped; short
# flags (`Fl f`) are not long flags.
/^\.Sh / {
	sect = $0; sub(/^\.Sh /, "", sect)
	depth = 0; cmd = ""
	next
}
/^\.Bl/ { depth++ }
/^\.El/ {
	if (--depth <= 0) { depth = 0; cmd = "" }
}
/^\.It/ && depth == 1 {
	cmd = ""
	if ((sect == "DESCRIPTION" || sect == "COMMANDS") && $2 == "Cm") {
		cmd = $3
		print "command", cmd
	}
}
/^\./ {
	scope = cmd != "" ? "cmd:" cmd : \
		(sect == "SYNOPSIS" || sect == "DESCRIPTION") ? "main" : "other"
	for (i = 1; i < NF; i++) {
		if ($i != "Fl" && !(i == 1 && $i == ".Fl"))
			continue
		f = $(i + 1)
		sub(/^\\-/, "-", f)
		if (f ~ /^-[a-z][a-z0-9-]*[a-z0-9]$/)
			print scope, "-" f
	}
}
