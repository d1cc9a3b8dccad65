#!/bin/sh
# A logout whose session's recording is still being written (a command that
# outlived its connection: "ssh host long-command" with the client killed or
# its network gone, sshd closes the PAM session and the recorder goes on) is
# no login without a recording: no no_recording alert, and its Slack logout
# says the recording is still being written, not "NONE FOUND". Nor when
# another channel of the same (multiplexed) connection was recorded and read
# already: the logout names that recording and says one is still being written.
# A recording being written counts only for the login of its audit session and
# boot: one of the same audit session number but another boot (the kernel
# counts from 1 again at each boot) leaves its login without a recording.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
tg_need_cmd flock

up_setup "recording_grace = 1" "alert_window = 0"

SID_B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb # logged out, its recording still being written
SID_D=dddddddddddddddddddddddddddddddd # logged out, no recording at all: alerted
SID_C=cccccccccccccccccccccccccccccccc # two channels: one recording read, one being written
fields() { # USER SID [AUDIT BOOT]
	echo '"user":"'"$1"'","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'"$2"'",'"${3:+\"audit_session\":$3,\"boot_id\":\"$4\",}"'"mfa_method":"totp"'
}
SID_E=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee # its recording being written, of its audit session and boot
SID_F=ffffffffffffffffffffffffffffffff # a recording being written of its audit session number, another boot
B1=0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f
B2=5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d

# B's recording is in the recorder's active/, locked as a live recorder holds it
mkdir -p "$T/spool/active"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.b.tgr.new" user=bob pam=$SID_B bytes=2000 || tg_fail "recgen"
up_hold_lock "$T/spool/active/.b.tgr.new"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.c2.tgr.new" user=carol pam=$SID_C bytes=2000 || tg_fail "recgen"
up_hold_lock "$T/spool/active/.c2.tgr.new"
up_rec c1.tgr user=carol pam=$SID_C bytes=1000
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.e.tgr.new" user=erin pam=$SID_E audit=4444 boot=$B1 bytes=2000 || tg_fail "recgen"
up_hold_lock "$T/spool/active/.e.tgr.new"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.f.tgr.new" user=fay pam=$SID_F audit=4444 boot=$B2 bytes=2000 || tg_fail "recgen"
up_hold_lock "$T/spool/active/.f.tgr.new"
up_event 1 login "$(fields bob $SID_B)"
up_event 2 logout "$(fields bob $SID_B),\"duration_us\":1000"
up_event 3 login "$(fields dave $SID_D)"
up_event 4 logout "$(fields dave $SID_D),\"duration_us\":1000"
up_event 5 login "$(fields carol $SID_C)"
up_event 6 logout "$(fields carol $SID_C),\"duration_us\":1000"
up_event 7 login "$(fields erin $SID_E 4444 $B1)"
up_event 8 logout "$(fields erin $SID_E 4444 $B1),\"duration_us\":1000"
up_event 9 login "$(fields fay $SID_F 4444 $B1)"
up_event 10 logout "$(fields fay $SID_F 4444 $B1),\"duration_us\":1000"

up_start
up_wait_until 30 "no alert for the logout with no recording" grep -q "session $SID_D) ended with no recording" "$T/uploader.log"
up_wait_until 30 "the logout of B did not reach Slack" up_message_has "SSH logout: bob@"
up_wait_until 30 "the logout of C did not reach Slack" up_message_has "SSH logout: carol@"
up_wait_until 30 "the logout of E did not reach Slack" up_message_has "SSH logout: erin@"
up_wait_until 30 "no alert for the logout whose live recording is of another boot" \
	grep -q "session $SID_F) ended with no recording" "$T/uploader.log"
tg_stop_pid "$UP_PID"
UP_PID=
cat "$T/uploader.log"
if grep -q "session $SID_B) ended with no recording" "$T/uploader.log"; then
	tg_fail "a logout whose recording is being written was alerted on as having none"
fi
up_messages | grep 'SSH logout: bob@' | grep -q 'NONE FOUND' &&
	tg_fail "the Slack logout of B says NONE FOUND: $(up_messages | grep 'SSH logout: bob@')"
up_messages | grep 'SSH logout: bob@' | grep -q 'still being written' ||
	tg_fail "the Slack logout of B does not say its recording is still being written"
echo "ok: a logout whose recording is still being written is no login without a recording"
up_messages | grep 'SSH logout: carol@' | grep -q 'c1.tgr' ||
	tg_fail "the Slack logout of C does not name its recording read: $(up_messages | grep 'SSH logout: carol@')"
up_messages | grep 'SSH logout: carol@' | grep -q 'still being written' ||
	tg_fail "the Slack logout of C does not say another recording is still being written: $(up_messages | grep 'SSH logout: carol@')"
echo "ok: a logout with one channel read and one still recording says both"
grep -q "session $SID_E) ended with no recording" "$T/uploader.log" &&
	tg_fail "a logout whose recording of its audit session and boot is being written was alerted on"
up_messages | grep 'SSH logout: erin@' | grep -q 'still being written' ||
	tg_fail "the Slack logout of E does not say its recording is still being written: $(up_messages | grep 'SSH logout: erin@')"
echo "ok: a recording being written counts for the login of its audit session and boot, not for one of another boot"
