#!/bin/sh
# The built tollgate.conf(5) must say what doc/config.md says (both are
# generated: scripts/gen-config-doc, then scripts/gen-config-man), list every
# key, and render without a warning.
top=${TG_TOP_SRCDIR:-$(dirname "$0")/..}
cd "$top" || exit 99
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
page=man/tollgate.conf.5
[ -f "${TG_TOP_BUILDDIR:-.}/$page" ] && page="${TG_TOP_BUILDDIR:-.}/$page"
if ! ./scripts/gen-config-man doc/config.md | diff -u "$page" -; then
	echo "FAIL: $page is stale: run make (or scripts/gen-config-man > man/tollgate.conf.5)"
	exit 1
fi
if command -v groff >/dev/null 2>&1; then
	warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
	if [ -n "$warnings" ]; then
		echo "FAIL: groff warns about man/tollgate.conf.5:"
		echo "$warnings"
		exit 1
	fi
else
	echo "note: groff is not installed; the page was not rendered"
fi
for key in $(sed -n 's/^| `\([a-z_0-9]*\)` |.*/\1/p' doc/config.md); do
	grep -q "^\\\\fB$key\\\\fR = " "$page" || { echo "FAIL: key $key is not in the man page"; exit 1; }
done
echo "PASS: man/tollgate.conf.5 matches doc/config.md"
