#!/bin/sh
# A login's check comes recording_grace (10 s at least) after the login. A login written before
# the wall clock was set back (an NTP step on a host whose clock ran ahead: here an hour) has a
# time ahead of the clock, and its check, with the no_recording alert of a session that escaped
# the recorder, waited until the clock caught up. It counts from when its marker was written
# at the latest.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 1" "alert_window = 0"
SID=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
up_start_ready
UP_EVENT_SEC=$(($(date +%s) + 3600))
up_event 1 login '"user":"eve","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp"'
up_wait_until 40 "no no_recording for a login from ahead of the clock" \
	grep -q "session $SID) has no recording" "$T/uploader.log"
# the marker goes after the alert is raised (its event written, its log line): a moment
# later on a loaded machine
up_wait_until 30 "the login's marker was kept after its check" \
	sh -c '[ ! -e "$1" ]' - "$T/spool/state/open/$SID.json"
echo "ok: a login from ahead of the clock is checked recording_grace after it was seen"
