#!/bin/sh
# A logout with no recording waits recording_grace from its time before it is posted (with
# no_recording), holding the Slack queue meanwhile. A logout written before the wall clock was
# set back (an NTP step on a host whose clock ran ahead: here an hour) has a time in the
# future, and held every message behind it for that hour. Its grace is counted from when the
# uploader first looked at it at the latest, as the daemon's other waits are.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 2" "alert_window = 0"
SID=0123456789abcdef0123456789abcdef
up_start_ready
# ssh -N: no shell, no recording; the events were written an hour ahead of the clock now
UP_EVENT_SEC=$(($(date +%s) + 3600))
up_event 1 logout '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp","duration_us":1000'
up_event 2 mfa_failure '"user":"bob","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_wait_until 30 "the logout is held until the clock reaches its time" up_message_has "SSH logout: alice@"
up_wait_until 30 "the message behind the logout is held" up_message_has "bob"
grep -q "session $SID) ended with no recording" "$T/uploader.log" ||
	tg_fail "no no_recording for a logout with no recording"
echo "ok: a logout from ahead of the clock waits recording_grace, not the clock's step"
