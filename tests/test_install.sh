#!/bin/sh
# make install into a DESTDIR puts every program, the PAM module, the unit,
# the man pages and the docs where the configured paths (and deploy.md) say,
# with modes that give nothing away: only the recorder is setuid, and only
# when installed as root, to the audit user and its group (6755); nothing is
# world-writable; no libtool archive lands next to the PAM module. make
# uninstall then takes every file away again. The audit user's useradd line
# is deploy.md's wherever it is written, and so are the README's pam.d and
# sshd_config lines.
. "${TG_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
set -u

B=$TG_TOP_BUILDDIR
[ -f "$B/Makefile" ] || tg_skip "no configured build in $B"
tg_need_cmd make find stat
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
D=$T/dest

# make on the build tree, free of the flags of a make check around this test
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$B" "$@"; }
# a configured directory, expanded by make itself
var() { printf 'tg-print-var:\n\t@echo $(%s)\n' "$1" | mk -f Makefile -f - tg-print-var; }
bindir=$(var bindir) sbindir=$(var sbindir) pkglibexecdir=$(var pkglibexecdir)
pammoddir=$(var pammoddir) unitdir=$(var systemdsystemunitdir) mandir=$(var mandir)
docdir=$(var docdir) audit_user=$(var audit_user)

# everything built first, so that the install below makes nothing in the build tree
mk all >"$T/all.log" 2>&1 || { tail -n 30 "$T/all.log"; tg_fail "make all"; }

# As root the hook makes the recorder setuid to the audit user when that user
# exists; it need not exist here, so the hook is pointed at one that does
# (nobody) when the configured one is missing.
hook_user=$audit_user
if [ "$(id -u)" = 0 ] && ! id -u "$audit_user" >/dev/null 2>&1; then
	hook_user=nobody
fi
mk install DESTDIR="$D" audit_user="$hook_user" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; tg_fail "make install DESTDIR=$D"; }

bad=0
want() { # PATH OWNER MODE
	if [ ! -f "$D$1" ]; then
		echo "FAIL: $1 is not installed"; bad=1
	elif [ "$(stat -c '%U %a' "$D$1")" != "$2 $3" ]; then
		echo "FAIL: $1 is $(stat -c '%U %a' "$D$1"), not $2 $3"; bad=1
	fi
}
me=$(id -un)
want "$bindir/tollgate-replay" "$me" 755
for p in tollgate-enroll tollgate-keygen tollgate-uploader; do want "$sbindir/$p" "$me" 755; done
want "$pammoddir/pam_tollgate.so" "$me" 755
want "$unitdir/tollgate-uploader.service" "$me" 644
for m in man1/tollgate-replay.1 man5/tollgate.conf.5 man8/pam_tollgate.8 man8/tollgate-enroll.8 \
	man8/tollgate-keygen.8 man8/tollgate-record.8 man8/tollgate-uploader.8; do
	want "$mandir/$m" "$me" 644
done
for f in deploy.md config.md threat-model.md uploader.md investigate.md; do want "$docdir/$f" "$me" 644; done
rec=$pkglibexecdir/tollgate-record
if [ "$(id -u)" = 0 ]; then
	want "$rec" "$hook_user" 6755
	[ "$(stat -c %G "$D$rec")" = "$(id -gn "$hook_user")" ] ||
		{ echo "FAIL: $rec has the group $(stat -c %G "$D$rec"), not $(id -gn "$hook_user")'s"; bad=1; }
else
	want "$rec" "$me" 755
	grep -q "chmod 6755 $D$rec" "$T/install.log" ||
		{ echo "FAIL: make install as $me does not say how to make the recorder setuid"; bad=1; }
fi
[ ! -e "$D$pammoddir/pam_tollgate.la" ] || { echo "FAIL: pam_tollgate.la installed"; bad=1; }
grep -q "^User=$audit_user\$" "$D$unitdir/tollgate-uploader.service" &&
	grep -q "^ExecStart=$sbindir/tollgate-uploader " "$D$unitdir/tollgate-uploader.service" ||
	{ echo "FAIL: the unit does not run $sbindir/tollgate-uploader as $audit_user"; bad=1; }
odd=$(find "$D" \( -perm -o+w -o \( -perm /6000 ! -path "$D$rec" \) \) -print)
[ -z "$odd" ] || { echo "FAIL: world-writable or setuid/setgid: $odd"; bad=1; }

mk uninstall DESTDIR="$D" audit_user="$hook_user" >"$T/uninstall.log" 2>&1 ||
	{ cat "$T/uninstall.log"; tg_fail "make uninstall DESTDIR=$D"; }
left=$(find "$D" ! -type d -print)
[ -z "$left" ] || { echo "FAIL: make uninstall left: $left"; bad=1; }

# The audit user's useradd line is the same wherever an admin meets it: README.md,
# deploy.md, recorder.md and, as root, what make install and tollgate-keygen print when
# the user is missing. One that drifts (a flag left out) makes a different account.
S=$TG_TOP_SRCDIR
useradd_lines() { # the useradd commands on stdin, continuation lines joined, the name as NAME
	sed -e ':a' -e '/\\$/{N;s/\\\n *//;ba' -e '}' | grep -o 'useradd --system.*' |
		sed 's/ [^ ]*$/ NAME/'
}
want_useradd=$(useradd_lines <"$S/doc/deploy.md")
[ "$(echo "$want_useradd" | wc -l)" = 1 ] && [ -n "$want_useradd" ] ||
	{ echo "FAIL: doc/deploy.md does not hold one useradd line: $want_useradd"; bad=1; }
check_useradd() { # WHERE, the text on stdin
	got=$(useradd_lines)
	[ -n "$got" ] || { echo "FAIL: $1 names no useradd line"; bad=1; return; }
	echo "$got" | while read -r l; do
		[ "$l" = "$want_useradd" ] || { echo "FAIL: $1 says '$l', deploy.md '$want_useradd'"; exit 1; }
	done || bad=1
}
check_useradd README.md <"$S/README.md"
check_useradd doc/recorder.md <"$S/doc/recorder.md"
# The README's pam.d and sshd_config lines are deploy.md's (blanks aside), and name where
# the recorder is installed when the build has the documented paths
block() { # FILE PATTERN: the first ``` block after a line matching PATTERN, blanks squeezed
	awk -v p="$2" '$0 ~ p { on = 1 } on && /^```/ { if (inb) exit; inb = 1; next } inb' "$1" |
		tr -s ' \t' ' '
}
for p in 'sshd_config.d/tollgate.conf|sshd_config.d/tollgate.conf' \
	'comment out `@include common-auth`|put `pam_tollgate.so` first'; do
	block "$S/README.md" "${p%%|*}" >"$T/readme.block"
	block "$S/doc/deploy.md" "${p#*|}" >"$T/deploy.block"
	[ -s "$T/readme.block" ] && [ -s "$T/deploy.block" ] ||
		{ echo "FAIL: no block after '${p%%|*}' in README.md or '${p#*|}' in deploy.md"; bad=1; }
	while read -r l; do
		grep -qxF "$l" "$T/deploy.block" ||
			{ echo "FAIL: README.md's '$l' is not in deploy.md's block after '${p#*|}'"; bad=1; }
	done <"$T/readme.block"
done
if [ "$pkglibexecdir" = /usr/libexec/tollgate ]; then
	for f in README.md doc/deploy.md; do
		grep -q "^ForceCommand exec $pkglibexecdir/tollgate-record\$" "$S/$f" ||
			{ echo "FAIL: $f has no 'ForceCommand exec $pkglibexecdir/tollgate-record'"; bad=1; }
	done
fi

nouser=tg-no-such-user-$$
if [ "$(id -u)" = 0 ] && ! id -u "$nouser" >/dev/null 2>&1; then
	mk install-recorder-hook DESTDIR="$D" audit_user="$nouser" >"$T/hook.log" 2>&1
	check_useradd "make install" <"$T/hook.log"
	mkdir -m 0700 "$T/kg"
	printf '[recorder]\nsigning_key = %s\npublic_key = %s\n' "$T/kg/signing.key" "$T/kg/signing.pub" \
		>"$T/kg/tollgate.conf"
	"$B/session_recorder/tollgate-keygen" -c "$T/kg/tollgate.conf" --owner "$nouser" >"$T/kg.log" 2>&1
	check_useradd tollgate-keygen <"$T/kg.log"
fi

[ $bad = 0 ] || tg_fail "make install / uninstall (above)"
echo "PASS: make install and make uninstall as $me"
