#!/bin/sh
# A channel the recorder refused (recording_failure, on_failure = deny) accounts
# for itself only. The channels of one multiplexed connection share its PAM
# session: one refused channel must not hide another channel of the same
# connection that escaped the recorder, so a connection with a refused channel
# and no recording is still alerted on (no_recording), at the login's check and
# at the logout, and the logout names the refused channel; a connection with a
# refused channel and a recorded one is not alerted on.
# A refusal counts for a login's wording only when its event names the login's
# user and host (the recorder takes both from its uid and the host, not from the
# environment the session id came from): another user's recorder given the
# session's id by hand is left out of that login's alert and logout message.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

# alert_window = 0: each alert is its own Slack message
up_setup "recording_grace = 1" "alert_window = 0"

SID_L=11111111111111111111111111111111 # refused channel, no recording, no logout: login alerted
SID_O=22222222222222222222222222222222 # refused channel, no recording, logout: logout alerted
SID_R=33333333333333333333333333333333 # refused channel and a recorded one: no alert
RID_L=aaaaaaaaaaaaaaaa1111111111111111
RID_O=bbbbbbbbbbbbbbbb2222222222222222
RID_R=cccccccccccccccc3333333333333333
login() { # SEQ USER SID
	up_event "$1" login '"user":"'"$2"'","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'"$3"'","mfa_method":"totp"'
}
logout() { # SEQ USER SID
	up_event "$1" logout '"user":"'"$2"'","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'"$3"'","mfa_method":"totp","duration_us":1000'
}
refused() { # SEQ USER SID RID: the recorder refused one channel of the connection
	up_event "$1" recording_failure '"user":"'"$2"'","session_id":"'"$3"'","recording_id":"'"$4"'","client_addr":"192.0.2.7","reason":"the spool is full","on_failure":"deny"'
}

up_rec r.tgr user=rita pam=$SID_R bytes=3000
login 1 lena $SID_L
refused 2 lena $SID_L $RID_L
login 3 otto $SID_O
refused 4 otto $SID_O $RID_O
logout 5 otto $SID_O
login 6 rita $SID_R
refused 7 rita $SID_R $RID_R
logout 8 rita $SID_R
# eve's recorder, given xena's and yuri's session ids: refused, but not theirs
SID_X=44444444444444444444444444444444 # another user's refusal, no recording: alerted, not named
SID_Y=55555555555555555555555555555555 # another user's refusal beside a recording: not named
RID_X=dddddddddddddddd4444444444444444
RID_Y=eeeeeeeeeeeeeeee5555555555555555
SID_Z=66666666666666666666666666666666 # another user's refusal beside a recording being written
RID_Z=ffffffffffffffff6666666666666666
up_rec y.tgr user=yuri pam=$SID_Y bytes=3000
mkdir -p "$T/spool/active"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.z.tgr.new" user=zoe pam=$SID_Z bytes=2000 || tg_fail "recgen"
up_hold_lock "$T/spool/active/.z.tgr.new"
login 9 xena $SID_X
refused 10 eve $SID_X $RID_X
logout 11 xena $SID_X
login 12 yuri $SID_Y
refused 13 eve $SID_Y $RID_Y
logout 14 yuri $SID_Y
login 15 zoe $SID_Z
refused 16 eve $SID_Z $RID_Z
logout 17 zoe $SID_Z

sleep 1.2
up_start
up_wait_until 30 "the login with a refused channel and no recording was not alerted on" \
	grep -q "session $SID_L) has no recording" "$T/uploader.log"
up_wait_until 30 "the logout with a refused channel and no recording was not alerted on" \
	grep -q "session $SID_O) ended with no recording" "$T/uploader.log"
up_wait_until 30 "the logout of O was not posted" up_message_has "SSH logout: otto@"
up_wait_until 30 "the logout of R was not posted" up_message_has "SSH logout: rita@"
up_wait_until 30 "the logout of X with no recording was not alerted on" \
	grep -q "session $SID_X) ended with no recording" "$T/uploader.log"
up_wait_until 30 "the logout of X was not posted" up_message_has "SSH logout: xena@"
up_wait_until 30 "the logout of Y was not posted" up_message_has "SSH logout: yuri@"
up_wait_until 30 "the logout of Z was not posted" up_message_has "SSH logout: zoe@"
up_wait_until 20 "markers left" sh -c '[ -z "$(ls "$1")" ]' - "$T/spool/state/open"
tg_stop_pid "$UP_PID"
UP_PID=
cat "$T/uploader.log"
grep "session $SID_L) has no recording" "$T/uploader.log" | grep -q "$RID_L" ||
	tg_fail "the login's alert does not name the refused channel"
grep "session $SID_O) ended with no recording" "$T/uploader.log" | grep -q "$RID_O" ||
	tg_fail "the logout's alert does not name the refused channel"
up_messages | grep "SSH logout: otto@" | grep -q "NONE FOUND" ||
	tg_fail "the logout of O does not say it found no recording"
up_messages | grep "SSH logout: otto@" | grep -q "$RID_O" ||
	tg_fail "the logout of O does not name the refused channel"
grep -q "session $SID_R)" "$T/uploader.log" &&
	tg_fail "a connection with a recorded channel beside the refused one was alerted on"
up_messages | grep "SSH logout: rita@" | grep -q "$RID_R" ||
	tg_fail "the logout of R does not name the refused channel"
up_messages | grep "SSH logout: rita@" | grep -q "NONE FOUND" &&
	tg_fail "the logout of R says it found no recording"
echo "ok: a refused channel accounts for itself only"
failed=
grep "session $SID_X)" "$T/uploader.log" | grep -q "$RID_X" &&
	failed="$failed; an alert of X names the channel another user's recorder refused"
up_messages | grep "SSH logout: xena@" | grep -q "$RID_X" &&
	failed="$failed; the logout of X names the channel another user's recorder refused"
up_messages | grep "SSH logout: xena@" | grep -q "NONE FOUND" ||
	failed="$failed; the logout of X does not say it found no recording"
up_messages | grep "SSH logout: yuri@" | grep -q "$RID_Y" &&
	failed="$failed; the logout of Y names the channel another user's recorder refused"
up_messages | grep "SSH logout: yuri@" | grep -q "y.tgr" ||
	failed="$failed; the logout of Y does not name its recording"
up_messages | grep "SSH logout: zoe@" | grep -q "still being written" ||
	failed="$failed; the logout of Z does not say its recording is being written"
up_messages | grep "SSH logout: zoe@" | grep -q "Refused by the recorder" &&
	failed="$failed; the logout of Z says a channel was refused (another user's was)"
[ -z "$failed" ] || tg_fail "${failed#; }"
echo "ok: a channel another user's recorder refused is not named to the login"
