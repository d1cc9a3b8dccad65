#!/bin/sh
# recording_grace holds whatever rescan_interval is: a recording whose recorder died (kill -9,
# its file left in active/ with its lock gone) is not "still being written" once the grace is
# over, though the periodic rescan that hands such files over is a minute away. The logout of
# its session hands it over at once, waits for its reading and names it; the login's check
# does the same instead of taking the dead recorder for a live one.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
tg_need_cmd flock

up_setup "recording_grace = 1" "alert_window = 0"
sed -i 's/^rescan_interval = .*/rescan_interval = 120/' "$T/tollgate.conf"
grep -q '^rescan_interval = 120$' "$T/tollgate.conf" || tg_fail "could not set rescan_interval"

SID_E=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee # logged out; its recorder was killed
SID_L=11111111111111111111111111111111 # a live recorder (locked): still being written
SID_O=22222222222222222222222222222222 # no logout yet (ssh -N, a ~/.bashrc escape); recorder killed
fields() { # USER SID
	echo '"user":"'"$1"'","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'"$2"'","mfa_method":"totp"'
}
up_start_ready
# after the daemon's first rescan (which hands orphans over): the next is 120 s away
mkdir -p "$T/spool/active"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.orph.tgr.new" user=eve pam=$SID_E bytes=2000 || tg_fail "recgen"
mv "$T/spool/active/.orph.tgr.new" "$T/spool/active/orph.tgr"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.live.tgr.new" user=lou pam=$SID_L bytes=2000 || tg_fail "recgen"
mv "$T/spool/active/.live.tgr.new" "$T/spool/active/live.tgr"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.lone.tgr.new" user=olga pam=$SID_O bytes=2000 || tg_fail "recgen"
mv "$T/spool/active/.lone.tgr.new" "$T/spool/active/lone.tgr"
# the stand-in recorder holds its lock before any logout is written
up_hold_lock "$T/spool/active/live.tgr"
up_event 1 login "$(fields eve $SID_E)"
up_event 2 logout "$(fields eve $SID_E),\"duration_us\":1000"
up_event 3 login "$(fields lou $SID_L)"
up_event 4 logout "$(fields lou $SID_L),\"duration_us\":1000"
up_event 5 login "$(fields olga $SID_O)"
up_wait_until 40 "the logout of eve did not reach Slack" up_message_has "SSH logout: eve@"
up_wait_until 40 "the logout of lou did not reach Slack" up_message_has "SSH logout: lou@"
up_messages | grep 'SSH logout: eve@' >"$T/eve"
grep -q 'still being written' "$T/eve" &&
	tg_fail "a recording whose recorder died is said to be still being written: $(cat "$T/eve")"
grep -q 'orph.tgr' "$T/eve" ||
	tg_fail "the logout does not name the recording its dead recorder left: $(cat "$T/eve")"
[ ! -e "$T/spool/active/orph.tgr" ] || tg_fail "the orphan is still in active/"
grep -q "session $SID_E) ended with no recording" "$T/uploader.log" &&
	tg_fail "no_recording raised for a session whose recording was left in active/"
up_messages | grep 'SSH logout: lou@' | grep -q 'still being written' ||
	tg_fail "a recording a live recorder holds is not said to be still being written"
[ -e "$T/spool/active/live.tgr" ] || tg_fail "a live recorder's file was taken"
# the login's check (10 s after it) hands its dead recorder's recording over too
up_wait_until 40 "a login's dead recorder's recording stays in active/ until the rescan" \
	sh -c '[ -e "$1" ]' - "$T/spool/state/sessions/$SID_O.json"
[ ! -e "$T/spool/active/lone.tgr" ] || tg_fail "lone.tgr is still in active/"
grep -q "session $SID_O) has no recording" "$T/uploader.log" &&
	tg_fail "no_recording raised for a login whose recording was left in active/"
echo "ok: a dead recorder's recording is handed over at its logout, within recording_grace"
