#!/bin/sh
# An upgrade from an uploader without state/live/: the logins open then have no marker, and
# their join records went 7 days after their last recording, though a ControlMaster connection
# may be open for weeks and its logout must still name them. The first start without live/
# makes it from the state: each join record is taken for an open login, kept until its logout
# or 90 days after its first recording.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0"
OPEN=0123456789abcdef0123456789abcdef
ENDED=fedcba9876543210fedcba9876543210
OLD=aaaabbbbccccddddaaaabbbbccccdddd
LATE=99998888777766669999888877776666

up_rec open.tgr user=alice pam=$OPEN bytes=100
up_rec ended.tgr user=bob pam=$ENDED bytes=100
up_rec old.tgr user=carol pam=$OLD bytes=100
up_once recordings
up_session_event 1 login alice $OPEN
up_session_event 2 login bob $ENDED
up_session_event 3 logout bob $ENDED
up_session_event 4 login carol $OLD
up_once events
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool is not empty"
S=$T/spool/state
J=$S/sessions

# the state as the uploader before live/ left it: no marker for any login; the recording
# checks of these logins were done long ago, and dave's login, a moment ago, waits for its
# own (his first recording is read after the upgrade)
rm -rf "$S/live"
rm -f "$S"/open/*.json
sed "s/$OPEN/$LATE/; s/alice/dave/" "$(find "$T/orig-events" -name '*-0000000000000001.json')" >"$S/open/$LATE.json"
touch -d '8 days ago' "$J/$OPEN.json" "$J/$ENDED.json"
touch -d '91 days ago' "$J/$OLD.json"
up_once upgrade
[ -d "$S/live" ] || tg_fail "state/live was not made"
[ -e "$J/$OPEN.json" ] || tg_fail "the join record of a login open at the upgrade was dropped after 7 days"
[ -f "$S/live/$OPEN.json" ] || tg_fail "no marker for a login open at the upgrade"
[ -n "$(find "$S/live/$OPEN.json" -not -newermt '7 days ago')" ] ||
	tg_fail "the marker is dated from the upgrade, not from the session: kept past 90 days"
[ ! -e "$J/$OLD.json" ] || tg_fail "the join record of a session 91 days old was kept"
[ ! -e "$S/live/$OLD.json" ] || tg_fail "a session 91 days old was taken for open"
[ -f "$S/live/$LATE.json" ] || tg_fail "no marker for a login waiting for its check at the upgrade"
grep -q "taken for logins still open" "$T/uploader.log" || tg_fail "the upgrade was not logged"

# bob's logout came before the upgrade, which cannot know it: his join record is kept too,
# until 90 days after his session (then neither is made again at a later start)
[ -f "$S/live/$ENDED.json" ] || tg_fail "no marker for a session of before the upgrade"
touch -d '91 days ago' "$S/live/$ENDED.json"
up_once ninety
[ ! -e "$S/live/$ENDED.json" ] || tg_fail "a marker made at the upgrade outlived 90 days"
[ ! -e "$J/$ENDED.json" ] || tg_fail "a join record was kept after its marker went"
[ "$(grep -c "taken for logins still open" "$T/uploader.log")" -eq 1 ] || tg_fail "live/ was made again at a later start"

# alice's connection ends now: its logout names the recording read before the upgrade
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recordings"][0]["s3_key"])' "$J/$OPEN.json")
up_session_event 5 logout alice $OPEN
up_once logout
up_messages | grep 'SSH logout: alice' >"$T/logout" || tg_fail "alice's logout was not posted"
grep -q "$key" "$T/logout" || tg_fail "the logout does not name the recording: $(cat "$T/logout")"
grep -q "no recording" "$T/uploader.log" && tg_fail "no_recording raised for a session with a recording"
[ ! -e "$S/live/$OPEN.json" ] || tg_fail "the logout left the marker"
touch -d '8 days ago' "$J/$OPEN.json"
up_once prune-after-logout
[ ! -e "$J/$OPEN.json" ] || tg_fail "the join record of a login closed 8 days ago was kept"
echo "ok: logins open at an upgrade keep their join records until their logout"
