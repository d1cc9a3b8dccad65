#!/bin/sh
# The Debian package builds (dpkg-buildpackage -us -uc -b, in a copy of the
# source tree under a temp folder, never in the tree itself) and holds what
# the build made: each program built here must be in the .deb, at the path
# deploy.md gives; the maintainer scripts make the audit user and the spool
# and set the recorder setuid.
set -eu
. "${TG_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

[ -f /etc/debian_version ] || tg_skip "not a Debian system"
tg_need_cmd dpkg-buildpackage dpkg-deb dh
[ -d "$TG_TOP_SRCDIR/debian" ] || tg_skip "no debian/ folder in $TG_TOP_SRCDIR"
# the build dependencies must be there (dpkg-checkbuilddeps says which are not)
(cd "$TG_TOP_SRCDIR" && dpkg-checkbuilddeps) >/dev/null 2>&1 ||
	tg_skip "build dependencies missing: $(cd "$TG_TOP_SRCDIR" && dpkg-checkbuilddeps 2>&1 | tail -n 1)"

tmp=$(tg_mktemp_dir)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
# the source tree without build products (build folders inside it, as
# tollgate-dev's _build/ and distcheck's _build/sub), git metadata or the test
# servers' modules
(cd "$TG_TOP_SRCDIR" && tar -cf - --exclude=./.git --exclude=node_modules --exclude='./_build*' \
	--exclude='*.o' --exclude='*.lo' --exclude='*.la' --exclude=.libs --exclude=.deps \
	--exclude=autom4te.cache --exclude='./tollgate-[0-9]*' .) | tar -xf - -C "$tmp/src"
chmod -R u+w "$tmp/src"

echo "building the package (log: $tmp/build.log)"
if ! (cd "$tmp/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc 2>/dev/null || echo 2)" \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	tail -n 60 "$tmp/build.log"
	tg_fail "dpkg-buildpackage failed"
fi
deb=$(ls "$tmp"/tollgate_*.deb)
dpkg-deb -c "$deb" | awk '{print $1, $2, $NF}' | sed 's#\./#/#' >"$tmp/contents"
cat "$tmp/contents"

has() { grep -q " $1\$" "$tmp/contents" || tg_fail "$1 is not in the package"; }
has /usr/share/man/man5/tollgate.conf.5.gz
has /usr/share/doc/tollgate/copyright

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
b=${TG_TOP_BUILDDIR:-$TG_TOP_SRCDIR}
built() {
	for d in "$b" "$TG_TOP_SRCDIR"; do
		[ -e "$d/$1" ] || ls "$d"/*/"$1" >/dev/null 2>&1 || ls "$d"/*/.libs/"$1" >/dev/null 2>&1 && return 0
	done
	return 1
}
checked=0
for pair in pam_tollgate.so:/lib/$multiarch/security/pam_tollgate.so \
	tollgate-record:/usr/libexec/tollgate/tollgate-record \
	tollgate-replay:/usr/bin/tollgate-replay \
	tollgate-enroll:/usr/sbin/tollgate-enroll \
	tollgate-keygen:/usr/sbin/tollgate-keygen \
	tollgate-uploader:/usr/sbin/tollgate-uploader \
	tollgate-uploader.service:/lib/systemd/system/tollgate-uploader.service; do
	name=${pair%%:*}
	path=${pair#*:}
	if built "$name"; then
		has "$path"
		checked=$((checked + 1))
	else
		echo "SKIP-PART: $name is not built here, not looked for in the package"
	fi
done
# the recorder is setuid through dpkg-statoverride in the postinst, not in the archive
if grep -q ' /usr/libexec/tollgate/tollgate-record$' "$tmp/contents"; then
	grep ' /usr/libexec/tollgate/tollgate-record$' "$tmp/contents" | grep -q '^-rwxr-xr-x root/root ' ||
		tg_fail "the recorder's mode in the archive is not 0755 root: $(grep tollgate-record "$tmp/contents")"
fi

dpkg-deb -e "$deb" "$tmp/control"
grep -q 'adduser --system --group' "$tmp/control/postinst" || tg_fail "postinst does not make the audit user"
grep -q 'dpkg-statoverride --update --add "$AUDIT" "$AUDIT" 6755' "$tmp/control/postinst" ||
	tg_fail "postinst does not make the recorder setuid"
grep -q '/var/spool/tollgate/sessions' "$tmp/control/postinst" || tg_fail "postinst does not make the spool"
grep -q '/var/lib/tollgate/totp' "$tmp/control/postinst" || tg_fail "postinst does not make the secret store's totp/"
sh -n "$tmp/control/postinst" && sh -n "$tmp/control/postrm" || tg_fail "maintainer script syntax"

# An upgrade must leave a running uploader running. What stops the unit on
# upgrade (dh_installsystemd puts that in the preinst) must be matched by a
# restart in the postinst; deb-systemd-invoke restarts only a unit that is
# enabled or running, so a first install still starts nothing.
if grep -qs "deb-systemd-invoke stop 'tollgate-uploader.service'" "$tmp/control/preinst"; then
	grep -q '_dh_action=restart' "$tmp/control/postinst" ||
		tg_fail "an upgrade stops tollgate-uploader.service (preinst) and nothing starts it again (postinst)"
fi
# and a removal stops it (the binary goes away under it otherwise)
grep -qs "deb-systemd-invoke stop 'tollgate-uploader.service'" "$tmp/control/prerm" ||
	tg_fail "removing the package leaves tollgate-uploader.service running (no stop in the prerm)"

# the files the package description sends the admin to are in the package
for f in $(dpkg-deb -f "$deb" Description | grep -o '/usr/share/doc/tollgate/[^ :,]*' | sed 's/\.$//'); do
	has "$f"
done
echo "PASS: the .deb builds and holds the $checked programs built here, the man page and the maintainer scripts"
