#!/bin/sh
# With recording_grace = 0 (a logout's recording is there at the logout: the
# recorder seals it first) a login is not alerted on at once: sshd writes the
# login event when it opens the PAM session, and only then starts the shell
# and the recorder, while the uploader fans the login out within
# milliseconds. The login's check waits 10 s at least.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0"
SID=0123456789abcdef0123456789abcdef
up_start_ready
up_event 1 login '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp"'
up_wait_until 10 "the login was not fanned out" sh -c '[ -z "$(ls "$1")" ]' - "$T/spool/events"
# the recorder, later than the fan-out (no sleep: the check's 10 s count from the login's
# time, to the second, and a loaded machine takes some of them already), writes its header
# into active/ (young: recovery leaves it)
mkdir -p "$T/spool/active"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.late.tgr.new" user=alice pam=$SID bytes=100 ||
	tg_fail "recgen"
up_wait_until 30 "the login's marker was not checked" sh -c '[ ! -e "$1" ]' - "$T/spool/state/open/$SID.json"
tg_stop_pid "$UP_PID"
UP_PID=
if grep -q "has no recording" "$T/uploader.log"; then
	cat "$T/uploader.log"
	tg_fail "a login was alerted on before its recorder could start"
fi
echo "ok: recording_grace = 0 leaves the recorder time to start"
