#!/bin/sh
# A logout that comes to the uploader late (it was stopped, or far behind,
# while the session ran and ended) still waits for the recordings it has not
# read yet: the wait is counted from when the uploader first holds the logout,
# not only from the logout's own time. Here, with one worker, the session's
# recording is read only after a large recording of another session ahead of
# it; the logout, minutes old, must name it, with no "no_recording" alert.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0" "workers = 1"
SID=0123456789abcdef0123456789abcdef
up_rec a-other.tgr user=bob pam=fedcba9876543210fedcba9876543210 bytes=30000000
up_rec z-own.tgr user=alice pam=$SID bytes=100
UP_EVENT_SEC=$(($(date +%s) - 300)) up_event 1 logout '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp","duration_us":5000000'
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 || tg_fail "--once: $(cat "$T/uploader.log")"
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool is not empty"
up_messages >"$T/messages"
grep -q 'SSH logout: alice@testhost' "$T/messages" || tg_fail "the logout was not posted"
if grep -q 'no_recording' "$T/uploader.log" "$T/messages"; then
	tg_fail "a recorded session was alerted as having no recording: $(grep no_recording "$T/uploader.log")"
fi
grep 'SSH logout: alice@testhost' "$T/messages" | grep -q 'Final chain hash' ||
	tg_fail "the logout does not name its recording: $(grep 'SSH logout' "$T/messages")"
echo PASS
