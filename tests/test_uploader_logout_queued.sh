#!/bin/sh
# A logout waits for recordings on their first reading one more recording_grace (10 s at
# least), then is posted. Its session's recording may still be in sessions/, not read yet:
# S3 is slow or down and the recording waits behind others (here one worker, whose job took
# both recordings and hangs on the first upload). That session was recorded: no no_recording
# alert, and the logout says its recording is in the spool, not "NONE FOUND".
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 1" "alert_window = 0" "workers = 1"
SID=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
fields='"user":"bob","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp"'
up_rec a.tgr user=alice pam=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bytes=100
up_rec b.tgr user=bob pam=$SID bytes=100
up_start_stalled # the job has both recordings and waits for S3 with the first
up_event 1 login "$fields"
up_event 2 logout "$fields,\"duration_us\":1000"
up_wait_until 40 "the logout did not reach Slack" up_message_has "SSH logout: bob@"
[ ! -e "$T/spool/state/sessions/$SID.json" ] || tg_fail "the recording was read: the test proves nothing"
up_messages | grep 'SSH logout: bob@' >"$T/logout"
grep -q "session $SID) ended with no recording" "$T/uploader.log" &&
	tg_fail "no_recording raised for a session whose recording waits in the spool"
grep -q 'NONE FOUND' "$T/logout" && tg_fail "the logout says NONE FOUND: $(cat "$T/logout")"
grep -q 'in the spool' "$T/logout" || tg_fail "the logout does not say its recording is in the spool: $(cat "$T/logout")"
kill -CONT "$TG_S3_PID"
up_wait_empty 90 || tg_fail "the spool did not drain once S3 was back"
echo "ok: a logout whose recording waits in the spool says so, and raises no no_recording"
