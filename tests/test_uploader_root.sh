#!/bin/sh
# Run by hand as root (a first try of the configuration, draining the spool),
# the uploader used to go ahead with a notice and leave outbox/ and state/ (the
# lock, status.json, the join records) as root's in the audit user's spool;
# from then on the daemon, which runs as the audit user, stopped at every start
# ("cannot open .../state/lock: Permission denied"). As root it now refuses a
# spool that belongs to another user, before it makes anything there, and says
# how to run it; run as that user, as it says, it ships everything.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
tg_need_root "a spool of another user's, the uploader run as root"
tg_need_cmd runuser
getent passwd nobody >/dev/null || tg_skip "no user nobody"

up_setup
up_rec a.tgr user=alice bytes=400
up_mfa_failures a 1 1
# as deploy.md leaves them: the spool the audit user's (here nobody's), the
# config root's, readable by the audit group
chmod 0755 "$T"
chown "root:$(id -gn nobody)" "$T/tollgate.conf"
chmod 0640 "$T/tollgate.conf"
chown -R nobody "$T/spool" "$T/keys"

st=0
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/root.log" 2>&1 || st=$?
[ "$st" -eq 2 ] || tg_fail "as root on nobody's spool: exit status $st, not 2: $(cat "$T/root.log")"
grep -q "belongs to nobody" "$T/root.log" && grep -q "runuser -u nobody" "$T/root.log" ||
	tg_fail "the refusal does not say whose the spool is and how to run it: $(cat "$T/root.log")"
for d in state outbox; do
	[ ! -e "$T/spool/$d" ] || tg_fail "the refused run made $d/ in the spool: $(ls -la "$T/spool")"
done
[ "$(up_spool_left)" -eq 2 ] || tg_fail "the refused run touched the queues: $(find "$T/spool" -type f)"
# status only reads: it still answers root (1: items wait)
st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/status.log" 2>&1 || st=$?
[ "$st" -eq 1 ] || tg_fail "status as root: exit status $st, not 1: $(cat "$T/status.log")"

# as the spool's owner, as the message says: everything ships
st=0
runuser -u nobody -- "$UPLOADER" -c "$T/tollgate.conf" --once >"$T/owner.log" 2>&1 || st=$?
[ "$st" -eq 0 ] || tg_fail "as the spool's owner: exit status $st: $(tail -5 "$T/owner.log")"
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool did not empty: $(find "$T/spool" -type f)"
up_check_s3
[ "$(stat -c %U "$T/spool/state/lock")" = nobody ] || tg_fail "state/lock is not the owner's"
echo PASS
