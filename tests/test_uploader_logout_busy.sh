#!/bin/sh
# A logout with no recording (ssh -N: no shell) waits recording_grace, and then waited one
# more recording_grace (10 s at least) while any recording in sessions/ was on its first
# reading, holding every Slack message behind it. On a busy host one always is (here S3 hangs
# on one). Only a recording that may be the session's holds the logout now: one whose header
# names another session does not.
# Shown by cause, not by a stopwatch: recording_grace is an hour and the logout two hours old
# (its own grace is over), so a logout held for the other recording would wait an hour or
# until that recording's upload ends, and S3 stays stopped until the logout is in Slack.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 3600" "alert_window = 0" "workers = 1"
SID=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
fields='"user":"eve","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp"'
up_rec a.tgr user=alice pam=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bytes=100
up_start_stalled # the job has alice's recording and waits for S3
UP_EVENT_SEC=$(($(date +%s) - 7200)) up_event 1 logout "$fields,\"duration_us\":1000"
up_wait_until 120 "the logout did not reach Slack while another session's upload was held" \
	up_message_has "SSH logout: eve@"
# and the other session's recording was still on its first reading when it did
[ -f "$T/spool/sessions/a.tgr" ] || tg_fail "alice's recording was no longer waiting for S3"
up_worker_at_s3 || tg_fail "the worker no longer waited for S3: the stall did not hold"
grep -q "session $SID) ended with no recording" "$T/uploader.log" || tg_fail "no no_recording"
echo "ok: a logout with no recording is not held by another session's upload"
