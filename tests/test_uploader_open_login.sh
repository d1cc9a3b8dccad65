#!/bin/sh
# A login with no recording is alerted on recording_grace after the login, not
# only at its logout, which may come days later (a ~/.bashrc escape, ssh -N) or
# never (sshd killed, the host down); a login whose recording is being written
# (its header in active/), or was read, is not; the marker that waits for the
# check outlives a restart of the uploader. A channel the recorder refused
# accounts for itself only: another channel of the connection may have escaped
# the recorder, so a session with no recording is alerted on all the same, the
# refused channel named (test_uploader_refused_channel.sh).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
tg_need_cmd flock

# alert_window = 0: each alert is its own Slack message (bursts: test_uploader_alert_burst.sh)
up_setup "recording_grace = 300" "alert_window = 0"

SID_A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa # no recording, no logout: alerted
SID_B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb # a recording still being written
SID_C=cccccccccccccccccccccccccccccccc # a finished recording
SID_D=dddddddddddddddddddddddddddddddd # no recording, with a logout: the logout's alert only
SID_E=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee # a channel refused (on_failure = deny), no recording: alerted
SID_F=ffffffffffffffffffffffffffffffff # the same, with a logout: the logout's alert
login() { # SEQ USER SID
	up_event "$1" login '"user":"'"$2"'","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'"$3"'","mfa_method":"totp"'
}

# the recording of B is in the recorder's active/, locked as a live recorder holds it
mkdir -p "$T/spool/active"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.b.tgr.new" user=bob pam=$SID_B bytes=2000 || tg_fail "recgen"
up_hold_lock "$T/spool/active/.b.tgr.new"
up_rec c.tgr user=carol pam=$SID_C bytes=3000
login 1 alice $SID_A
login 2 bob $SID_B
login 3 carol $SID_C
login 4 dave $SID_D
up_event 5 logout '"user":"dave","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID_D'","mfa_method":"totp","duration_us":1000'
refused() { # SEQ USER SID: the recorder could not open a recording and refused the session
	up_event "$1" recording_failure '"user":"'"$2"'","session_id":"'"$3"'","recording_id":"0123456789abcdef0123456789abcdef","client_addr":"192.0.2.7","reason":"the spool is full","on_failure":"deny"'
}
login 6 erin $SID_E
refused 7 erin $SID_E
login 8 frank $SID_F
refused 9 frank $SID_F
up_event 10 logout '"user":"frank","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID_F'","mfa_method":"totp","duration_us":1000'

# 1. grace not over: the markers of the logins without a logout wait in state/open/
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1
for s in $SID_A $SID_B $SID_C $SID_E; do
	[ -f "$T/spool/state/open/$s.json" ] || tg_fail "no marker for $s after the first pass"
done
# D's logout, at the head of the Slack queue, took its login's check over; F's logout waits
# behind it (D's waits its grace), so F's login's marker stays: were Slack down, the login's
# check would still alert
[ ! -e "$T/spool/state/open/$SID_D.json" ] || tg_fail "the logout left its login's marker"
[ -f "$T/spool/state/open/$SID_F.json" ] || tg_fail "a logout not at the head of the Slack queue took its login's marker"
grep -q "has no recording" "$T/uploader.log" && tg_fail "alerted before recording_grace"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/status" || true
grep -Eq '^logins to check +5 ' "$T/status" || tg_fail "status does not count the logins to check: $(cat "$T/status")"

# 2. a new uploader, grace over (1 s; a login waits 10 s at least): only A and E are
# alerted, once each; every marker goes
sed -i 's/^recording_grace = .*/recording_grace = 1/' "$T/tollgate.conf"
sleep 1.2
up_start
up_wait_until 20 "no alert for the login with no recording" grep -q "session $SID_A) has no recording" "$T/uploader.log"
up_wait_until 20 "markers left" sh -c '[ -z "$(ls "$1")" ]' - "$T/spool/state/open"
up_wait_until 20 "the alert did not reach Slack" up_message_has "$SID_A) has no recording"
up_wait_until 20 "no alert for the login with a refused channel and no recording" grep -q "session $SID_E) has no recording" "$T/uploader.log"
up_wait_until 20 "the alert of E did not reach Slack" up_message_has "$SID_E) has no recording"
sleep 1.5 # a second look would alert again by now
tg_stop_pid "$UP_PID"
UP_PID=
cat "$T/uploader.log"
n=$(grep -c "has no recording" "$T/uploader.log")
[ "$n" -eq 2 ] || tg_fail "$n 'has no recording' alerts, want 2 (for $SID_A and $SID_E)"
grep "session $SID_E) has no recording" "$T/uploader.log" | grep -q "refused channel 0123456789abcdef0123456789abcdef" ||
	tg_fail "the login check of E does not name the refused channel"
up_message_has "$SID_D) ended with no recording" || tg_fail "the logout of D was not alerted on"
grep -q "session $SID_F) ended with no recording" "$T/uploader.log" ||
	tg_fail "the logout of a session with a refused channel and no recording raised no no_recording"
up_wait_until 20 "the logout of F was not posted" up_message_has "SSH logout: frank@"
up_messages | grep "SSH logout: frank@" | grep -q "0123456789abcdef0123456789abcdef" ||
	tg_fail "the logout of F does not name the refused channel"
[ "$(up_messages | grep -c 'has no recording')" -eq 2 ] || tg_fail "Slack got an alert more than once"
echo "ok: a login with no recording is alerted on after recording_grace, a refused channel accounting for itself only"
