#!/bin/sh
# A logout waits for recordings on their first reading one more recording_grace (10 s at
# least), then is posted. Its session's recording may still be in sessions/, not read yet:
# S3 is slow or down and the recording waits behind others (here one worker, whose job took
# both recordings and hangs on the first upload). That session was recorded: no no_recording
# alert, and the logout says its recording is in the spool, not "NONE FOUND".
# A queued recording counts only for the login of its audit session and boot:
# one of the same audit session number but another boot (the kernel counts
# from 1 again at each boot) leaves its login without a recording.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 1" "alert_window = 0" "workers = 1"
SID=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
fields='"user":"bob","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp"'
up_rec a.tgr user=alice pam=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bytes=100
up_rec b.tgr user=bob pam=$SID bytes=100
B1=0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f
B2=5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d
SID_E=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee # its audit session and boot
SID_F=ffffffffffffffffffffffffffffffff # its audit session number, another boot
up_rec e.tgr user=erin pam=$SID_E audit=4444 boot=$B1 bytes=100
up_rec f.tgr user=fay pam=$SID_F audit=4444 boot=$B2 bytes=100
fields_ab() { # USER SID
	echo '"user":"'"$1"'","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'"$2"'","audit_session":4444,"boot_id":"'$B1'","mfa_method":"totp"'
}
up_start_stalled # the job has the recordings and waits for S3 with the first
up_event 1 login "$fields"
up_event 2 logout "$fields,\"duration_us\":1000"
up_event 3 login "$(fields_ab erin $SID_E)"
up_event 4 logout "$(fields_ab erin $SID_E),\"duration_us\":1000"
up_event 5 login "$(fields_ab fay $SID_F)"
up_event 6 logout "$(fields_ab fay $SID_F),\"duration_us\":1000"
up_wait_until 40 "the logout did not reach Slack" up_message_has "SSH logout: bob@"
up_wait_until 40 "the logout of E did not reach Slack" up_message_has "SSH logout: erin@"
up_wait_until 40 "no alert for the logout whose queued recording is of another boot" \
	grep -q "session $SID_F) ended with no recording" "$T/uploader.log"
for s in $SID $SID_E $SID_F; do
	[ ! -e "$T/spool/state/sessions/$s.json" ] || tg_fail "a recording ($s) was read: the test proves nothing"
done
grep -q "session $SID_E) ended with no recording" "$T/uploader.log" &&
	tg_fail "no_recording raised for a session whose recording of its audit session and boot waits in the spool"
up_messages | grep 'SSH logout: erin@' | grep -q 'in the spool' ||
	tg_fail "the logout of E does not say its recording is in the spool: $(up_messages | grep 'SSH logout: erin@')"
[ ! -e "$T/spool/state/sessions/$SID.json" ] || tg_fail "the recording was read: the test proves nothing"
up_messages | grep 'SSH logout: bob@' >"$T/logout"
grep -q "session $SID) ended with no recording" "$T/uploader.log" &&
	tg_fail "no_recording raised for a session whose recording waits in the spool"
grep -q 'NONE FOUND' "$T/logout" && tg_fail "the logout says NONE FOUND: $(cat "$T/logout")"
grep -q 'in the spool' "$T/logout" || tg_fail "the logout does not say its recording is in the spool: $(cat "$T/logout")"
kill -CONT "$TG_S3_PID"
up_wait_empty 90 || tg_fail "the spool did not drain once S3 was back"
echo "ok: a logout whose recording waits in the spool says so, and raises no no_recording"
