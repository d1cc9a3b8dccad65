#!/bin/sh
# `tollgate-uploader status` run by a user who may not open state/lock (a
# spool of the audit user, mode 0600 lock) cannot tell whether a daemon holds
# the spool: it said "daemon not running", which a rollback takes as leave to
# go on. It says "daemon unknown" and why. Likewise a state/open/ it may not
# list is not "0 logins to check".
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"

UPLOADER=$TG_TOP_BUILDDIR/uploader/tollgate-uploader
[ -x "$UPLOADER" ] || tg_fail "$UPLOADER is not built"
[ "$(id -u)" -eq 0 ] || tg_skip "needs root (to run status as nobody)"
tg_need_cmd runuser
getent passwd nobody >/dev/null || tg_skip "no user nobody"
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
printf '[general]\nspool_dir = %s/spool\n[s3]\nbucket = acme-ssh-audit\n' "$T" >"$T/tollgate.conf"
chmod 644 "$T/tollgate.conf"
mkdir -p "$T/spool/sessions" "$T/spool/events" "$T/spool/state/open"
: >"$T/spool/state/open/0123456789abcdef0123456789abcdef.json"
: >"$T/spool/state/lock"
chmod 600 "$T/spool/state/lock"
chmod 700 "$T/spool/state/open"

runuser -u nobody -- "$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" ||
	tg_fail "status: exit $?: $(cat "$T/out" "$T/err")"
cat "$T/out"
! grep -q "daemon not running" "$T/out" ||
	tg_fail "status says no daemon runs, though it cannot open the lock: $(cat "$T/out")"
grep -q "^spool $T/spool: daemon unknown: cannot open $T/spool/state/lock: Permission denied\$" "$T/out" ||
	tg_fail "status does not say why it cannot tell whether a daemon runs: $(cat "$T/out")"
! grep -q "^logins to check  *0 " "$T/out" ||
	tg_fail "status counts an unreadable state/open/ as 0 logins to check"
grep -q "^logins to check  *? .*cannot be listed: Permission denied" "$T/out" ||
	tg_fail "status does not say state/open/ cannot be listed: $(cat "$T/out")"
# readable: as before
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" ||
	tg_fail "status as root: exit $?: $(cat "$T/out" "$T/err")"
grep -q "^spool $T/spool: daemon not running\$" "$T/out" || tg_fail "status as root: $(cat "$T/out")"
grep -q "^logins to check  *1 " "$T/out" || tg_fail "status as root: $(cat "$T/out")"
echo PASS
