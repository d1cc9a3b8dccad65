#!/bin/sh
# A look at the logins waiting for their recording reads every marker, so it
# is taken when a login is due, at most once a second, not at each login
# that comes in: with thousands of open logins and a login every 100 ms it
# was most of the daemon's CPU. The bytes the daemon reads come from
# /proc/PID/io.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
[ -r /proc/self/io ] || tg_skip "no /proc/self/io (task I/O accounting)"

up_setup "recording_grace = 300"
OPEN=5000
mkdir -p "$T/spool/state/open"
python3 - "$T/spool/state/open" $OPEN <<'PY' || tg_fail "markers"
import os, sys, time
d, n, now = sys.argv[1], int(sys.argv[2]), int(time.time() * 1e6)
for i in range(n):
    sid = "%032x" % i
    with open(os.path.join(d, sid + ".json"), "w") as f:
        f.write('{"v":1,"type":"login","time":"2026-01-01T00:00:00.000000Z","time_us":%d,'
                '"host":"testhost","user":"u%d","client_addr":"192.0.2.7","client_port":50000,'
                '"tty":"ssh","service":"sshd","pid":1,"session_id":"%s","mfa_method":"totp"}'
                % (now, i, sid))
PY
up_start_ready
sleep 1
rchar() { sed -n 's/^rchar: //p' "/proc/$UP_PID/io"; }
before=$(rchar)
i=1
while [ $i -le 30 ]; do
	up_event $i login '"user":"new'$i'","client_addr":"192.0.2.8","client_port":50001,"tty":"ssh","service":"sshd","pid":2,"session_id":"'"$(printf 'e%031x' $i)"'","mfa_method":"totp"'
	sleep 0.1
	i=$((i + 1))
done
up_wait_until 20 "the logins were not fanned out" sh -c '[ -z "$(ls "$1")" ]' - "$T/spool/events"
sleep 1
read_bytes=$(($(rchar) - before))
echo "the daemon read $read_bytes bytes while 30 logins came in"
n=$(ls "$T/spool/state/open" | wc -l)
[ "$n" -eq $((OPEN + 30)) ] || tg_fail "$n markers, want $((OPEN + 30))"
# a look reads the 5,000 markers (1.3 MB): at each login 30 looks, 40 MB; at due times none
[ "$read_bytes" -lt 8000000 ] || tg_fail "the daemon read $read_bytes bytes (want < 8 MB)"
echo "ok: logins coming in do not each read every open login"
