#!/bin/sh
# A session with no recording is alerted on (no_recording, to syslog and S3) whether or not
# Slack takes messages. Its logout removed its login's marker as it was fanned out, so that
# the logout's own check took over; but that check runs only when the logout reaches the head
# of the Slack queue: while Slack was down a short session that escaped the recorder raised
# nothing, however long the outage. The login's marker now stays until the logout's check
# begins.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 1" "alert_window = 0"
SID=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
fields='"user":"eve","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp"'
echo down >"$T/slack/mode"
up_start_ready
up_event 1 login "$fields"
up_event 2 logout "$fields,\"duration_us\":1000000"
up_wait_until 40 "no no_recording while Slack is down" grep -q "session $SID) .*no recording" "$T/uploader.log"
# the log line comes when the alert is raised; its upload to S3 follows
alert_in_s3() { up_s3_objects tollgate/events | xargs grep -l '"alert":"no_recording"' >/dev/null 2>&1; }
up_wait_until 30 "the no_recording alert did not reach S3" alert_in_s3
# Slack back: the logout is posted and says so
echo ok >"$T/slack/mode"
up_wait_until 60 "the logout did not reach Slack" up_message_has "SSH logout: eve@"
up_messages | grep 'SSH logout: eve@' | grep -q 'NONE FOUND' || tg_fail "the logout does not say NONE FOUND"
echo "ok: a session with no recording is alerted on while Slack is down"
