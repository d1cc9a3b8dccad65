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
# and so are the documents the man pages send the reader to (dh_compress gzips them)
for f in $(sed 's/\\f[BIRP]//g' "$TG_TOP_SRCDIR"/man/*.[158] | grep -o '[a-z][a-z-]*\.md\b' | sort -u); do
	grep -q " /usr/share/doc/tollgate/$f\(\.gz\)\?\$" "$tmp/contents" ||
		tg_fail "$f, named in a man page, is not in /usr/share/doc/tollgate of the package"
done
# The maintainer scripts, run for real (as root) in a private mount namespace
# where /etc, /var and /usr/libexec are empty tmpfs: the system's own files are
# never seen or touched. adduser, dpkg-statoverride and the systemd helpers are
# stand-ins (adduser writes that /etc/passwd, dpkg-statoverride keeps its list
# in a file and applies it); tollgate-keygen is the packaged one. The life
# cycle: first install, an admin's own statoverride, upgrade (configure
# again), remove, purge.
sandbox_ok=
case $tmp in /etc/* | /var/* | /usr/libexec/*) ;; *) sandbox_ok=1 ;; esac
if [ "$(id -u)" != 0 ] || [ -z "$sandbox_ok" ] || ! command -v unshare >/dev/null 2>&1 ||
	! unshare --mount --propagation private true 2>/dev/null; then
	echo "SKIP-PART: maintainer scripts not run (needs root, unshare --mount and a TMPDIR outside /etc and /var)"
else
	dpkg-deb -x "$deb" "$tmp/root"
	mkdir "$tmp/stubs"
	for c in deb-systemd-helper deb-systemd-invoke systemctl; do
		printf '#!/bin/sh\necho "%s $*" >>%s/calls\n' "$c" "$tmp" >"$tmp/stubs/$c"
	done
	cat >"$tmp/stubs/adduser" <<'STUB'
#!/bin/sh
for name; do :; done
echo "$name:x:990:990:audit:/nonexistent:/usr/sbin/nologin" >>/etc/passwd
echo "$name:x:990:" >>/etc/group
STUB
	cat >"$tmp/stubs/dpkg-statoverride" <<STUB
#!/bin/sh
db=$tmp/statoverride
touch "\$db"
case "\$1" in
--list) grep " \$2\\\$" "\$db" ;;
--update) [ "\$2" = --add ] || exit 2
	grep -q " \$6\\\$" "\$db" && exit 2
	echo "\$3 \$4 \$5 \$6" >>"\$db" && chown "\$3:\$4" "\$6" && chmod "\$5" "\$6" ;;
--remove) grep -q " \$2\\\$" "\$db" || exit 2
	grep -v " \$2\\\$" "\$db" >"\$db.new"; mv "\$db.new" "\$db" ;;
*) exit 2 ;;
esac
STUB
	chmod +x "$tmp/stubs"/*
	cat >"$tmp/sandbox.sh" <<'SANDBOX'
set -eu
tmp=$1 ctl=$1/control
mount -t tmpfs tg-etc /etc && mount -t tmpfs tg-var /var && mount -t tmpfs tg-libexec /usr/libexec
printf 'root:x:0:0:root:/root:/bin/sh\n' >/etc/passwd
printf 'root:x:0:\n' >/etc/group
mkdir -p /usr/libexec/tollgate
cp "$tmp/root/usr/libexec/tollgate/tollgate-record" /usr/libexec/tollgate/
export PATH="$tmp/stubs:$tmp/root/usr/sbin:$tmp/root/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin"
fail() { echo "FAIL: $*" >&2; exit 1; }
mode() { stat -c '%U:%G %a' "$1"; }
want() { [ "$(mode "$1")" = "$2" ] || fail "$3: $1 is $(mode "$1"), not $2"; }
rec=/usr/libexec/tollgate/tollgate-record
# a script the build did not make is skipped, as dpkg does
run() { s=$1; shift; [ ! -e "$ctl/$s" ] || sh "$ctl/$s" "$@" || fail "$s $* failed"; }

run preinst install
run postinst configure
getent passwd tollgate >/dev/null || fail "postinst did not make the audit user"
for d in /var/spool/tollgate /var/spool/tollgate/sessions /var/spool/tollgate/events; do
	want "$d" "tollgate:tollgate 2750" "first install"
done
want /var/lib/tollgate "root:root 700" "first install"
want /var/lib/tollgate/totp "root:root 700" "first install"
want /etc/tollgate "root:tollgate 750" "first install"
want /etc/tollgate/signing.key "tollgate:tollgate 400" "first install"
want "$rec" "tollgate:tollgate 6755" "first install"
key=$(sha256sum /etc/tollgate/signing.key)

# the admin's own override (no setgid, say) must survive an upgrade
dpkg-statoverride --remove "$rec"
dpkg-statoverride --update --add root tollgate 4750 "$rec"
# and so must a spool mode of the admin's, and a key pair kept elsewhere (the
# upgrade makes no new one, and says nothing failed)
chmod 2770 /var/spool/tollgate/events
mkdir /etc/tollgate/k && mv /etc/tollgate/signing.key /etc/tollgate/signing.pub /etc/tollgate/k/
run prerm upgrade 0.1.0
run preinst upgrade 0.1.0
run postrm upgrade 0.1.0
run postinst configure 0.1.0 2>"$tmp/upgrade.err"
want /var/spool/tollgate/events "tollgate:tollgate 2770" "upgrade (the admin's mode)"
[ ! -e /etc/tollgate/signing.key ] || fail "upgrade made a new key pair beside the admin's"
! grep -q keygen "$tmp/upgrade.err" || fail "upgrade: $(cat "$tmp/upgrade.err")"
mv /etc/tollgate/k/signing.key /etc/tollgate/k/signing.pub /etc/tollgate/ && rmdir /etc/tollgate/k
[ "$(dpkg-statoverride --list "$rec")" = "root tollgate 4750 $rec" ] ||
	fail "upgrade: the admin's statoverride became: $(dpkg-statoverride --list "$rec")"
[ "$(sha256sum /etc/tollgate/signing.key)" = "$key" ] || fail "upgrade: the signing key changed"

# a removal while SSH still depends on the package would lock every login out:
# the prerm refuses it, names each dependency, and goes on only when told to
mkdir -p /etc/pam.d /etc/ssh/sshd_config.d
# (commented-out lines ask for nothing, and are not named)
printf '#auth required pam_tollgate.so\nauth required pam_tollgate.so\n' >/etc/pam.d/sshd
printf '# auth required pam_tollgate.so\n' >/etc/pam.d/other
echo "ForceCommand $rec" >/etc/ssh/sshd_config.d/tollgate.conf
printf '#ForceCommand %s\n' "$rec" >/etc/ssh/sshd_config
echo "alice:x:1001:1001::/home/alice:$rec" >>/etc/passwd
sh "$ctl/prerm" remove 2>"$tmp/prerm.err" && fail "prerm removed the package while sshd still needs it"
cat "$tmp/prerm.err"
for what in /etc/pam.d/sshd /etc/ssh/sshd_config.d/tollgate.conf "account alice"; do
	grep -q "$what" "$tmp/prerm.err" || fail "the prerm's refusal does not name $what"
done
[ -e "$rec" ] || fail "a refused removal lost the recorder"
grep -q '/etc/pam.d/other\|/etc/ssh/sshd_config ' "$tmp/prerm.err" && fail "the prerm named a commented-out line"
TOLLGATE_REMOVE_ANYWAY=1 sh "$ctl/prerm" remove 2>/dev/null || fail "TOLLGATE_REMOVE_ANYWAY=1 did not override the prerm"
# undone as deploy.md says: the removal goes through
rm /etc/pam.d/sshd /etc/ssh/sshd_config.d/tollgate.conf
sed -i '/^alice:/d' /etc/passwd
run prerm remove
run postrm remove
dpkg-statoverride --list "$rec" >/dev/null && fail "remove left the statoverride of $rec"
[ -e /etc/tollgate/signing.key ] || fail "remove (not purge) took the signing key"
rm -f "$rec"
# a recording left in the spool keeps the key pair it was signed with
echo recording >/var/spool/tollgate/sessions/0123.tgr
run postrm purge 2>"$tmp/purge.err"
[ -e /etc/tollgate/signing.key ] && [ -e /etc/tollgate/signing.pub ] ||
	fail "purge took the key pair the recordings left in the spool are signed with"
grep -q 'signing.pub kept' "$tmp/purge.err" || fail "purge did not say it kept the key pair: $(cat "$tmp/purge.err")"
rm /var/spool/tollgate/sessions/0123.tgr
run postrm purge
[ ! -e /var/lib/tollgate ] || fail "purge left /var/lib/tollgate (TOTP secrets)"
[ -d /var/spool/tollgate ] || fail "purge removed the spool (recordings not yet uploaded)"
for f in /etc/tollgate/signing.key /etc/tollgate/signing.pub; do
	[ ! -e "$f" ] || fail "purge left $f, which the postinst made"
done
echo "maintainer scripts: install, upgrade with an admin's statoverride, a refused and a forced removal, remove, purge with and without recordings: ok"
SANDBOX
	unshare --mount --propagation private sh "$tmp/sandbox.sh" "$tmp" ||
		tg_fail "the maintainer scripts in a sandbox (see above)"
fi

echo "PASS: the .deb builds and holds the $checked programs built here, the man page and the maintainer scripts"
