#!/bin/sh
# A login's check (recording_grace after it, 10 s at least) waited while any recording in
# sessions/ was on its first reading, since it might be the session's. On a busy host one
# always is (or S3 hangs on one: here the server is stopped), and a session that escaped the
# recorder was never alerted on. Only a recording that may be the session's holds the check
# now: one whose header names it is the session's recording (no alert, even before it is
# read), one whose header names another session is not waited for.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 1" "alert_window = 0" "workers = 1"
ESC=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee # escaped the recorder: no recording at all
REC=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb # recorded; its recording waits behind another
fields() { # USER SID
	echo '"user":"'"$1"'","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'"$2"'","mfa_method":"totp"'
}
up_rec a.tgr user=alice pam=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bytes=100
up_rec b.tgr user=bob pam=$REC bytes=100
up_start_stalled # the job has both recordings and waits for S3 with the first
up_event 1 login "$(fields eve $ESC)"
up_event 2 login "$(fields bob $REC)"
up_wait_until 30 "no no_recording for a login with no recording while another waits for S3" \
	grep -q "session $ESC) has no recording" "$T/uploader.log"
up_wait_until 10 "bob's login was not checked" sh -c '[ ! -e "$1" ]' - "$T/spool/state/open/$REC.json"
grep -q "session $REC) has no recording" "$T/uploader.log" &&
	tg_fail "no_recording raised for a login whose recording waits in sessions/"
echo "ok: a login's check is held only by a recording that may be its own"
