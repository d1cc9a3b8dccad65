#!/bin/sh
# A recording counts for a login only when its header's user and host are the
# login's. The session id a recording names comes from the recorder's
# environment (TOLLGATE_SESSION_ID), which a user can set: alice's recording
# naming bob's session must not pass for his, so bob's login and logout still
# raise no_recording, his logout message does not name it, and
# recording_mismatch says what happened. The recording itself still goes up.
# A recording by bob on the login's host counts as before.
# The same goes for a recording of the right user and host made in another of
# the user's logins (a channel of another connection, whose ~/.bashrc set
# TOLLGATE_SESSION_ID): the kernel's audit session (pam_loginuid's, which every
# process of a login inherits) must be the login's. A login without one of its
# own (no pam_loginuid) is not compared; a login's is not matched by a header
# without one. Audit session ids start again at each boot: a login's boot
# (boot_id) must be the header's too.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0" "alert_window = 0"
BOB=0123456789abcdef0123456789abcdef
CAROL=fedcba9876543210fedcba9876543210
up_session_event 1 login bob $BOB
up_session_event 2 logout bob $BOB
up_rec a.tgr user=alice host=otherhost pam=$BOB
up_session_event 3 login carol $CAROL
up_session_event 4 logout carol $CAROL
up_rec c.tgr user=carol host=testhost pam=$CAROL
DAVE=00112233445566778899aabbccddeeff
ERIN=ffeeddccbbaa99887766554433221100
FRANK=0f1e2d3c4b5a69788796a5b4c3d2e1f0
UP_AUDIT=1111 up_session_event 5 login dave $DAVE
UP_AUDIT=1111 up_session_event 6 logout dave $DAVE
up_rec d.tgr user=dave host=testhost pam=$DAVE audit=2222
UP_AUDIT=3333 up_session_event 7 login erin $ERIN
UP_AUDIT=3333 up_session_event 8 logout erin $ERIN
up_rec e.tgr user=erin host=testhost pam=$ERIN audit=3333
# an event without one (no pam_loginuid) against a header with one: counts; the
# reverse (gina) does not
up_session_event 9 login frank $FRANK
up_session_event 10 logout frank $FRANK
up_rec f.tgr user=frank host=testhost pam=$FRANK audit=5555
GINA=1234567890abcdef1234567890abcdef
UP_AUDIT=7777 up_session_event 11 login gina $GINA
UP_AUDIT=7777 up_session_event 12 logout gina $GINA
up_rec g.tgr user=gina host=testhost pam=$GINA
# the same audit session of another boot (hank), of the same boot (ivan), and
# a header naming no boot against a login that names one (judy)
B1=0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f
B2=5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d
HANK=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1
IVAN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2
JUDY=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3
UP_AUDIT=4444 UP_BOOT=$B1 up_session_event 13 login hank $HANK
UP_AUDIT=4444 UP_BOOT=$B1 up_session_event 14 logout hank $HANK
up_rec h.tgr user=hank host=testhost pam=$HANK audit=4444 boot=$B2
UP_AUDIT=6666 UP_BOOT=$B1 up_session_event 15 login ivan $IVAN
UP_AUDIT=6666 UP_BOOT=$B1 up_session_event 16 logout ivan $IVAN
up_rec i.tgr user=ivan host=testhost pam=$IVAN audit=6666 boot=$B1
UP_AUDIT=8888 UP_BOOT=$B1 up_session_event 17 login judy $JUDY
UP_AUDIT=8888 UP_BOOT=$B1 up_session_event 18 logout judy $JUDY
up_rec j.tgr user=judy host=testhost pam=$JUDY audit=8888
up_once first
# the logins' checks wait 10 s at least
sleep 11
up_once second

python3 - "$T/slack/messages.jsonl" <<'PYEOF' || { cat "$T/uploader.log"; tg_fail "see above"; }
import json, sys
msgs = [json.dumps(json.loads(l)) for l in open(sys.argv[1])]
def having(*words):
    return [m for m in msgs if all(w in m for w in words)]
bob = "0123456789abcdef0123456789abcdef"
carol = "fedcba9876543210fedcba9876543210"
assert having("recording_mismatch", bob, "alice", "otherhost"), "no recording_mismatch for bob's session: %s" % msgs
assert len(having("no_recording", bob)) >= 1, "no no_recording for bob's login: %s" % msgs
logout = [m for m in having("Logout", bob) + having("logout", bob) if "recording_mismatch" not in m and "no_recording" not in m]
assert logout, "no logout message for bob: %s" % msgs
for m in logout:
    assert "a.tgr" not in m and "otherhost" not in m, "bob's logout names alice's recording: %s" % m
    assert "NONE FOUND" in m, "bob's logout does not say he has no recording: %s" % m
assert not having("no_recording", carol), "carol's matching recording did not count: %s" % msgs
assert not having("recording_mismatch", carol), "carol's matching recording was alerted on: %s" % msgs
assert any("c.tgr" in m for m in having(carol)), "carol's logout does not name her recording: %s" % msgs
dave, erin, frank = "00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
gina = "1234567890abcdef1234567890abcdef"
assert having("recording_mismatch", dave, "2222"), "no recording_mismatch for dave's session: %s" % msgs
assert len(having("no_recording", dave)) >= 1, "no no_recording for dave's login: %s" % msgs
for m in [m for m in having(dave) if "recording_mismatch" not in m and "no_recording" not in m]:
    assert "d.tgr" not in m, "dave's logout names a recording of another login: %s" % m
assert having("recording_mismatch", gina), "no recording_mismatch for gina's session: %s" % msgs
assert len(having("no_recording", gina)) >= 1, "no no_recording for gina's login: %s" % msgs
hank, ivan, judy = ("a" * 31 + d for d in "123")
for who, name, rec in ((hank, "hank", "h.tgr"), (judy, "judy", "j.tgr")):
    assert having("recording_mismatch", who), "no recording_mismatch for %s's session: %s" % (name, msgs)
    assert len(having("no_recording", who)) >= 1, "no no_recording for %s's login: %s" % (name, msgs)
    for m in [m for m in having(who) if "recording_mismatch" not in m and "no_recording" not in m]:
        assert rec not in m, "%s's logout names a recording of another boot: %s" % (name, m)
for who, name in ((erin, "erin"), (frank, "frank"), (ivan, "ivan")):
    assert not having("no_recording", who), "%s's recording did not count: %s" % (name, msgs)
    assert not having("recording_mismatch", who), "%s's recording was alerted on: %s" % (name, msgs)
print("messages ok")
PYEOF
# alice's recording still went up
[ -n "$(find "$S3DATA" -path '*/host=otherhost/alice/*' -name '*._S3rver_object')" ] ||
	tg_fail "alice's recording is not in S3"
up_no_recs || tg_fail "a recording was left in the spool"
echo "ok: a recording of another user, host or login does not count for a login, and is alerted on"

# 2. A mismatching recording not read yet is alerted on too: one still being
# written (active/) at the login's check (karl) or at a logout (mia, whose login
# is not seen), and one waiting in sessions/ behind a backlog (leo: S3 stopped,
# one worker, stuck on the recording before it). Each check raises it once,
# naming it as not yet shipped, and not again once it is read and shipped; the
# logout of karl, after, names it by its S3 location (once). A recording in
# active/ whose header is cut short names no one (ned: his own recording counts,
# no alert).
tg_need_cmd flock
echo "workers = 1" >>"$T/tollgate.conf"
KARL=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1
LEO=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2
MIA=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb3
NED=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb4
mkdir -p "$T/spool/active"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.k.tgr.new" user=mallory host=testhost pam=$KARL bytes=2000 || tg_fail "recgen"
up_hold_lock "$T/spool/active/.k.tgr.new"
K_LOCK=$UP_LOCK_PID
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/.m.tgr.new" user=mallory host=testhost pam=$MIA bytes=2000 || tg_fail "recgen"
up_hold_lock "$T/spool/active/.m.tgr.new"
M_LOCK=$UP_LOCK_PID
"$RECGEN" rec "$T/keys/signing.key" "$T/cut.tgr" user=mallory host=testhost pam=$NED bytes=2000 || tg_fail "recgen"
head -c 60 "$T/cut.tgr" >"$T/spool/active/.n2.tgr.new"
up_hold_lock "$T/spool/active/.n2.tgr.new"
up_rec 0-backlog.tgr user=zed pam=cccccccccccccccccccccccccccccccc
up_rec l.tgr user=mallory host=testhost pam=$LEO
up_rec n.tgr user=ned host=testhost pam=$NED
# the logins are a minute old: their checks are due at once
UP_EVENT_SEC=$(($(date +%s) - 60)) up_session_event 21 login karl $KARL
UP_EVENT_SEC=$(($(date +%s) - 60)) up_session_event 22 login leo $LEO
UP_EVENT_SEC=$(($(date +%s) - 60)) up_session_event 23 logout mia $MIA
UP_EVENT_SEC=$(($(date +%s) - 60)) up_session_event 24 login ned $NED
mismatches() { grep "recording_mismatch" "$T/slack/messages.jsonl" | grep -c "$1"; }
notify_empty() { [ -z "$(ls "$T/spool/outbox/notify")" ]; }
up_start_stalled
# the checks are over (the logins' markers gone, mia's logout posted), and what they
# raised is posted (the alerts are written before the markers go)
for s in $KARL $LEO $NED; do
	up_wait_until 30 "the login of $s was not checked" test ! -e "$T/spool/state/open/$s.json"
done
up_wait_until 30 "mia's logout was not posted" up_message_has "SSH logout: mia@"
up_wait_until 30 "the alerts were not posted" notify_empty
failed=
for who in "$KARL active/.k.tgr.new" "$LEO sessions/l.tgr" "$MIA active/.m.tgr.new"; do
	set -- $who
	m=$(grep "recording_mismatch" "$T/slack/messages.jsonl" | grep "$1")
	echo "$m" | grep -q "$2, not yet shipped; user mallory, host testhost" ||
		failed="$failed
the recording_mismatch of $1 does not name $2 as not yet shipped: '$m'"
done
[ -z "$failed" ] || tg_fail "$failed"
# the recorders end, their recordings handed over, S3 back: everything is shipped
up_release_lock "$K_LOCK"
up_release_lock "$M_LOCK"
mv "$T/spool/active/.k.tgr.new" "$T/spool/sessions/k.tgr"
mv "$T/spool/active/.m.tgr.new" "$T/spool/sessions/m.tgr"
kill -CONT "$TG_S3_PID"
up_wait_empty 60 || tg_fail "the spool was not emptied"
up_session_event 25 logout karl $KARL
up_wait_until 30 "no logout of karl" up_message_has "SSH logout: karl@"
up_wait_until 30 "no recording_mismatch at karl's logout" sh -c '[ "$(grep recording_mismatch "$1" | grep -c "$2")" -ge 2 ]' - "$T/slack/messages.jsonl" "$KARL"
up_rescans_seen 2
tg_stop_pid "$UP_PID"
UP_PID=
[ "$(mismatches "$KARL")" -eq 2 ] || tg_fail "$(mismatches "$KARL") recording_mismatch for karl, want 2 (his login's check, his logout): $(grep "$KARL" "$T/slack/messages.jsonl")"
grep "recording_mismatch" "$T/slack/messages.jsonl" | grep "$KARL" | grep -q "s3://.*k.tgr" ||
	tg_fail "karl's logout does not name the recording by its S3 location"
[ "$(mismatches "$LEO")" -eq 1 ] || tg_fail "$(mismatches "$LEO") recording_mismatch for leo, want 1: $(grep "$LEO" "$T/slack/messages.jsonl")"
[ "$(mismatches "$MIA")" -eq 1 ] || tg_fail "$(mismatches "$MIA") recording_mismatch for mia, want 1: $(grep "$MIA" "$T/slack/messages.jsonl")"
[ "$(mismatches "$NED")" -eq 0 ] || tg_fail "a header cut short was taken for a mismatch: $(grep "$NED" "$T/slack/messages.jsonl")"
grep -q "session $NED) has no recording" "$T/uploader.log" && tg_fail "ned's own recording did not count"
echo "ok: a mismatching recording being written or waiting in sessions/ is alerted on once per check"
