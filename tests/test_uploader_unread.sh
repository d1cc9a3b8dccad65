#!/bin/sh
# A logout whose recording is not found waits for recordings the uploader has
# not read yet (one of them may be its own), but not for ever: with S3 hanging
# on the first upload of an unrelated recording, the logout's "no recording"
# alert and the messages queued behind it reach Slack once recording_grace
# (0 here) and the further wait for unread recordings (10 s at least) are over,
# not after the upload gives up: shown by order (Slack has them while the upload
# has not given up), not by a time limit.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0"
# an S3 endpoint that takes connections and never answers
python3 -c 'import socket, sys, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def drain(c):
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()' "$T/hole.port" &
PROXY_PID=$! # stopped by up_cleanup
tg_wait_file "$T/hole.port" "the silent S3 stand-in did not start"
cp "$T/tollgate.conf" "$T/real.conf" # the real S3 server, for the last part
sed -i "s#^endpoint = .*#endpoint = http://127.0.0.1:$(cat "$T/hole.port")#" "$T/tollgate.conf"
grep -q "^endpoint = http://127.0.0.1:$(cat "$T/hole.port")\$" "$T/tollgate.conf" || tg_fail "could not point [s3] at the stand-in"

up_rec other.tgr user=bob pam=fedcba9876543210fedcba9876543210 bytes=3000
up_event 1 logout '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"0123456789abcdef0123456789abcdef","mfa_method":"totp","duration_us":5000000'
up_event 2 login '"user":"carol","client_addr":"192.0.2.8","client_port":50001,"tty":"ssh","service":"sshd","pid":2,"session_id":"","mfa_method":"totp"'
up_start
t0=$(date +%s)
# the hanging upload holds its worker for a minute or more (no answer, 1 B/s for 60 s), and
# only then ends the recording's first reading. The queue must go on while it still hangs:
# the login is in Slack before any upload of other.tgr gave up (the log is read after
# Slack: a give-up not in it by then came later). The wait itself is a generous guard.
up_wait_until 150 "the messages behind the logout never reached Slack" \
	up_message_has 'SSH login: carol@testhost'
if grep -q "upload of other.tgr failed" "$T/uploader.log"; then
	tg_fail "the messages behind the logout waited for the hanging upload to give up: $(grep "upload of other.tgr failed" "$T/uploader.log")"
fi
echo "the queue went on after $(($(date +%s) - t0)) s"
up_message_heads | grep -q 'SSH logout: alice@testhost' || tg_fail "the logout was not posted"
# the alert is an event of its own, raised when the logout went on: it queues behind the login
alert_posted() { up_message_heads | grep -q 'no_recording'; }
up_wait_until 60 "no no_recording alert" alert_posted
tg_stop_pid "$UP_PID"
UP_PID=

# An uploader that was down for an hour (a reboot, an upgrade, a stop) finds a session's
# recording and its logout both waiting. The wait for recordings on their first reading was
# counted from the logout's own time, an hour ago: over before this uploader read anything,
# so the logout raised no_recording and said "NONE FOUND" beside its recording, read a moment
# later. It counts from when this uploader took the logout up.
SID=00112233445566778899aabbccddeeff
up_rec back.tgr user=dora pam=$SID bytes=40000000 # its first reading takes a while
UP_EVENT_SEC=$(($(date +%s) - 3600))
up_event 10 login '"user":"dora","client_addr":"192.0.2.9","client_port":50002,"tty":"ssh","service":"sshd","pid":3,"session_id":"'$SID'","mfa_method":"totp"'
up_event 11 logout '"user":"dora","client_addr":"192.0.2.9","client_port":50002,"tty":"ssh","service":"sshd","pid":3,"session_id":"'$SID'","mfa_method":"totp","duration_us":5000000'
unset UP_EVENT_SEC
"$UPLOADER" -c "$T/real.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once after the outage: $(tail -5 "$T/uploader.log")"
grep -q "session $SID) ended with no recording" "$T/uploader.log" &&
	tg_fail "the logout of a session whose recording waited with it raised no_recording"
up_messages | grep 'SSH logout: dora@' | grep -q 'back.tgr' ||
	tg_fail "the logout does not name its recording: $(up_messages | grep 'SSH logout: dora@')"
echo PASS
