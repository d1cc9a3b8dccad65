#!/bin/sh
# Every option a program accepts (its getopt_long table and short-option
# string in the source) is named both in its --help and in its man page;
# every program prints its version; tollgate-uploader(8) names the spool entries
# doc/uploader.md lists.
. "${TG_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
set -u

S=$TG_TOP_SRCDIR
B=$TG_TOP_BUILDDIR
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
bad=0

# check PROGRAM SOURCE MANPAGE: the long options of the first "struct option"
# table in SOURCE and the letters of its getopt_long short-option string
check() {
	prog=$1 src=$2 page=$3 name=$(basename "$1")
	[ -x "$B/$prog" ] || tg_fail "build $prog first"
	"$B/$prog" --help >"$T/help" 2>&1 || tg_fail "$name --help exited $?"
	# the man page as text: \- is a dash, font escapes go
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$S/$page" >"$T/man"
	longs=$(sed -n '/struct option/,/{NULL/p' "$S/$src" | grep -o '{"[a-z-]*"' | tr -d '{"')
	shorts=$(grep -o 'getopt_long([^"]*"[^"]*"' "$S/$src" | head -n 1 | sed 's/.*"\(.*\)"/\1/' |
		tr -d ':+' | sed 's/./& /g')
	[ -n "$longs" ] || tg_fail "no options found in $src"
	for o in $longs; do
		grep -q -e "--$o\\b" "$T/help" || { echo "FAIL: $name --help does not name --$o"; bad=1; }
		grep -q -e "--$o\\b" "$T/man" || { echo "FAIL: $page does not name --$o"; bad=1; }
	done
	for o in $shorts; do
		grep -q -e "-$o\\b" "$T/help" || { echo "FAIL: $name --help does not name -$o"; bad=1; }
		grep -q -e "-$o\\b" "$T/man" || { echo "FAIL: $page does not name -$o"; bad=1; }
	done
}

# version PROGRAM OPTION...: each OPTION prints "NAME VERSION" on stdout and exits 0, so
# that an admin can tell which build a host runs, whichever tool they ask
version() {
	prog=$1 name=$(basename "$1")
	shift
	for o in "$@"; do
		out=$("$B/$prog" "$o" 2>&1) || { echo "FAIL: $name $o exited $?"; bad=1; continue; }
		[ "$out" = "$name $want_version" ] || { echo "FAIL: $name $o printed: $out"; bad=1; }
	done
}
want_version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$B/config.h")
[ -n "$want_version" ] || tg_fail "no PACKAGE_VERSION in $B/config.h"

check pam_module/tollgate-enroll pam_module/tollgate_enroll.c man/tollgate-enroll.8
check session_recorder/tollgate-keygen session_recorder/keygen_main.c man/tollgate-keygen.8
check session_recorder/tollgate-replay session_recorder/replay_main.c man/tollgate-replay.1
check uploader/tollgate-uploader uploader/uploader_main.c man/tollgate-uploader.8

# tollgate-record parses its few arguments by hand
"$B/session_recorder/tollgate-record" --help >"$T/help" 2>&1 || tg_fail "tollgate-record --help exited $?"
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$S/man/tollgate-record.8" >"$T/man"
for o in -c --recover --help --version; do
	grep -q -e "$o\\b" "$T/help" || { echo "FAIL: tollgate-record --help does not name $o"; bad=1; }
	grep -q -e "$o\\b" "$T/man" || { echo "FAIL: man/tollgate-record.8 does not name $o"; bad=1; }
done

# tollgate-replay: each command's synopsis is the same in the man page's SYNOPSIS (case
# aside: the page sets arguments in italics), in --help, and in the one line a missing
# argument prints, so that none of the three drifts from the others
R="$B/session_recorder/tollgate-replay"
"$R" --help >"$T/help" 2>&1 || tg_fail "tollgate-replay --help exited $?"
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$S/man/tollgate-replay.1" |
	awk '/^\.SH SYNOPSIS/ { on = 1; next } /^\.SH/ { on = 0 } on' |
	awk '/^\.br/ { print b; b = ""; next } { sub(/^\.[A-Z]+ /, ""); b = b " " $0 } END { print b }' |
	sed -e 's/^ *tollgate-replay \[ options \] //' -e 's/\[ /[/g' -e 's/ \]/]/g' -e 's/ \.\.\./.../g' \
		-e 's/ | /|/g' >"$T/synopsis"
[ "$(wc -l <"$T/synopsis")" -ge 7 ] || tg_fail "man/tollgate-replay.1: SYNOPSIS not read: $(cat "$T/synopsis")"
while read -r cmd rest; do
	man_syn="$cmd $rest"
	help_syn=$(sed -n '/^Commands:/,/^$/p' "$T/help" | grep "^  $cmd " | sed 's/^  //; s/   *.*//')
	"$R" "$cmd" >/dev/null 2>"$T/err"
	usage_syn=$(sed -n 's/.*(usage: \(.*\); see tollgate-replay --help)$/\1/p' "$T/err")
	if [ "$(echo "$help_syn" | tr A-Z a-z)" != "$(echo "$man_syn" | tr A-Z a-z)" ]; then
		echo "FAIL: tollgate-replay --help has '$help_syn', the man page '$man_syn'"
		bad=1
	fi
	if [ "$usage_syn" != "$help_syn" ]; then
		echo "FAIL: tollgate-replay $cmd: missing arguments say '$usage_syn', --help '$help_syn'"
		bad=1
	fi
done <"$T/synopsis"

# the getopt tools take -V as well (the uploader's -v is --verbose, -V the version)
version pam_module/tollgate-enroll --version -V
version session_recorder/tollgate-keygen --version -V
version session_recorder/tollgate-replay --version -V
version uploader/tollgate-uploader --version -V
version session_recorder/tollgate-record --version

# tollgate-uploader(8)'s FILES names every spool entry of uploader.md's Files table: an
# admin looking for where rejected events or alert windows are kept reads the man page
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$S/man/tollgate-uploader.8" |
	sed -n '/^\.SH FILES/,/^\.SH /p' >"$T/files"
names=$(sed -n '/^## Files/,/^## [^F]/p' "$S/doc/uploader.md" | grep '^| `' |
	grep -o '`[a-z]*/[^`<]*' | sed 's#^`[a-z]*/##; s#/.*##')
[ -n "$names" ] || tg_fail "doc/uploader.md: no Files table read"
for n in $names; do
	grep -q -e "$n" "$T/files" ||
		{ echo "FAIL: man/tollgate-uploader.8 FILES does not name $n (doc/uploader.md does)"; bad=1; }
done

[ $bad -eq 0 ] || exit 1
echo "PASS: every option is in --help and in the man page; every program prints its version"
