#!/bin/sh
# Channels of one multiplexed SSH connection (ControlMaster) share its PAM
# session, and each has its own recording. The logout message must name every
# one of them with its final chain hash (the first 5, and how many more), not
# only the one shipped last: the join record lists them all. A join record
# written by an uploader before this one (one index line) is still read after
# an upgrade, and a recording of its session shipped since is added to it.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0"

SID=0123456789abcdef0123456789abcdef
OLD=fedcba9876543210fedcba9876543210
i=1
while [ $i -le 7 ]; do
	up_rec "ch$i.tgr" user=alice pam=$SID bytes=$((i * 100))
	i=$((i + 1))
done
up_rec other.tgr user=bob pam=aaaabbbbccccddddaaaabbbbccccdddd bytes=100
# the recordings first (as the recorder hands them over before sshd writes the logout)
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 || tg_fail "--once with the recordings: $(cat "$T/uploader.log")"
up_event 1 login '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp"'
up_event 2 logout '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"'$SID'","mfa_method":"totp","duration_us":65000000'
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with the events: $(cat "$T/uploader.log")"
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool is not empty"
up_check_s3

# the index lines of the session, in start order: what the message must name
up_s3_objects tollgate/index | xargs cat >"$T/index"
up_messages >"$T/messages"
python3 - "$T/index" "$T/messages" "$T/spool/state/sessions/$SID.json" "$SID" <<'EOF' || tg_fail "the logout of a multiplexed connection"
import json, sys
idx = sorted((json.loads(l) for l in open(sys.argv[1]) if l.strip()), key=lambda o: o["start_us"])
mine = [o for o in idx if o["pam_session_id"] == sys.argv[4]]
assert len(mine) == 7, len(mine)
logout = [json.loads(l) for l in open(sys.argv[2]) if "SSH logout: alice" in l]
assert len(logout) == 1, logout
text = logout[0]["text"]
print(text)
for o in mine[:5]:
    assert o["final_hash"] in text, "final hash of %s not in the logout" % o["s3_key"]
    assert o["s3_key"] in text, "%s not in the logout" % o["s3_key"]
assert "and 2 more" in text, "the two past the first five are not counted"
assert "Recordings: 7" in text, "the number of recordings is not said"
assert "no recording" not in text.lower()
join = json.load(open(sys.argv[3]))
assert [r["s3_key"] for r in join["recordings"]] == [o["s3_key"] for o in mine], join
EOF

# a join record as the uploader before this one wrote it: one index line
python3 - "$T/index" "$T/spool/state/sessions/$OLD.json" "$OLD" <<'EOF' || tg_fail "old join record"
import json, sys
o = [json.loads(l) for l in open(sys.argv[1]) if '"user":"bob"' in l][0]
o["pam_session_id"] = sys.argv[3]
o["s3_key"] = "tollgate/old/one.tgr"
o["final_hash"] = "ab" * 32
json.dump(o, open(sys.argv[2], "w"), sort_keys=True)
EOF
up_event 3 logout '"user":"bob","client_addr":"192.0.2.8","client_port":50001,"tty":"ssh","service":"sshd","pid":2,"session_id":"'$OLD'","mfa_method":"totp","duration_us":1000000'
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with an old join record"
up_messages | tail -1 >"$T/old-logout"
grep -q 'SSH logout: bob@testhost' "$T/old-logout" || tg_fail "the logout was not posted: $(cat "$T/old-logout")"
grep -q "tollgate/old/one.tgr" "$T/old-logout" && grep -q "$(printf 'ab%.0s' $(seq 32))" "$T/old-logout" ||
	tg_fail "an old join record is not read: $(cat "$T/old-logout")"
# a second channel of that session, shipped after the upgrade, joins the old record
up_rec late.tgr user=bob pam=$OLD bytes=100
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with the late recording"
up_event 4 logout '"user":"bob","client_addr":"192.0.2.8","client_port":50001,"tty":"ssh","service":"sshd","pid":2,"session_id":"'$OLD'","mfa_method":"totp","duration_us":1000000'
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with its logout"
up_messages | tail -1 >"$T/late-logout"
grep -q "tollgate/old/one.tgr" "$T/late-logout" || tg_fail "the old record's recording was dropped: $(cat "$T/late-logout")"
grep -q "Recordings: 2" "$T/late-logout" || tg_fail "the late recording was not added: $(cat "$T/late-logout")"

# a logout waits for every channel's recording in the spool, not only the first one read:
# one channel read already, another (larger: its reading takes a while) handed over just
# before the logout and read in the same pass
MUX=1234123412341234abcdabcdabcdabcd
up_rec mux1.tgr user=carol pam=$MUX bytes=100
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with the first channel"
up_rec mux2.tgr user=carol pam=$MUX bytes=40000000
up_event 5 logout '"user":"carol","client_addr":"192.0.2.9","client_port":50002,"tty":"ssh","service":"sshd","pid":3,"session_id":"'$MUX'","mfa_method":"totp","duration_us":1000000'
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with the second channel and the logout"
up_messages | grep 'SSH logout: carol@' >"$T/mux-logout"
grep -q "Recordings: 2" "$T/mux-logout" && grep -q "mux2.tgr" "$T/mux-logout" ||
	tg_fail "the logout was posted before the second channel's recording was read: $(cat "$T/mux-logout")"
# the uploader was down while a multiplexed connection ran (stopped, or far
# behind after an outage): its recordings, its login and its logout wait in
# the spool together, and the logout must still name every channel, not only
# those read before the message's turn came
DOWN=0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d
i=1
while [ $i -le 12 ]; do
	up_rec "down$i.tgr" user=dave pam=$DOWN bytes=100
	i=$((i + 1))
done
up_event 7 login '"user":"dave","client_addr":"192.0.2.9","client_port":50002,"tty":"ssh","service":"sshd","pid":3,"session_id":"'$DOWN'","mfa_method":"totp"'
up_event 8 logout '"user":"dave","client_addr":"192.0.2.9","client_port":50002,"tty":"ssh","service":"sshd","pid":3,"session_id":"'$DOWN'","mfa_method":"totp","duration_us":1000000'
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with recordings and events together"
up_messages | grep 'SSH logout: dave@testhost' >"$T/down-logout"
grep -q "Recordings: 12" "$T/down-logout" ||
	tg_fail "the logout did not wait for the recordings of its session: $(grep -o 'Recordings: [0-9]*' "$T/down-logout")"
echo "PASS"
