#!/bin/sh
# The no_recording alert of a logout is raised once, though the logout may wait at the head of
# the Slack queue (Slack down, a rate limit) across a restart of the uploader: that it was
# raised is kept in state/alerted/, not only in memory, so the next daemon does not raise it
# again; the note goes with the message.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 1" "alert_window = 0"
SID=dddddddddddddddddddddddddddddddd
fields='"user":"dora","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp"'
echo down >"$T/slack/mode"
# a logout alone (its login posted long ago): it is at the head of the Slack queue
up_event 1 logout "$fields,\"duration_us\":1000000"
up_start_ready
up_wait_until 40 "no no_recording at the logout" grep -q "session $SID) ended with no recording" "$T/uploader.log"
sleep 1 # the logout goes on waiting at the head for Slack
tg_stop_pid "$UP_PID"
UP_PID=
[ -n "$(ls "$T/spool/outbox/notify" 2>/dev/null)" ] || tg_fail "the logout message is not waiting for Slack"

# a new daemon; Slack back: the logout is posted, and not alerted on again
echo ok >"$T/slack/mode"
up_start_ready
up_wait_until 60 "the logout did not reach Slack" up_message_has "SSH logout: dora@"
up_wait_until 30 "the alert did not reach Slack" up_message_has "session $SID) ended with no recording"
sleep 1
tg_stop_pid "$UP_PID"
UP_PID=
cat "$T/uploader.log"
n=$(grep -c "session $SID) ended with no recording" "$T/uploader.log")
[ "$n" -eq 1 ] || tg_fail "$n no_recording alerts for the logout, want 1: raised again after the restart"
[ "$(up_messages | grep -c "session $SID) ended with no recording")" -eq 1 ] ||
	tg_fail "Slack got the alert more than once"
[ -z "$(ls -A "$T/spool/state/alerted" 2>/dev/null)" ] ||
	tg_fail "the note that the logout was alerted on outlived its message: $(ls -A "$T/spool/state/alerted")"
echo "ok: a logout's no_recording alert is raised once across a restart"
