#!/bin/sh
# The join record of a login that is still open (no logout yet) is kept however old it is:
# an OpenSSH ControlMaster connection lives for weeks, and its logout must still name the
# recordings of its channels. Join records of sessions that ended are dropped after 7 days,
# and those of logins whose logout was lost (sshd killed) after 90.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0"
OPEN=0123456789abcdef0123456789abcdef
DONE=fedcba9876543210fedcba9876543210
LOST=aaaabbbbccccddddaaaabbbbccccdddd

up_rec open.tgr user=alice pam=$OPEN bytes=100
up_rec done.tgr user=bob pam=$DONE bytes=100
up_rec lost.tgr user=carol pam=$LOST bytes=100
up_once recordings
up_session_event 1 login alice $OPEN
up_session_event 2 login bob $DONE
up_session_event 3 logout bob $DONE
up_session_event 4 login carol $LOST
up_once events
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool is not empty"
J=$T/spool/state/sessions
for s in $OPEN $DONE $LOST; do
	[ -f "$J/$s.json" ] || tg_fail "no join record for $s"
done

# a week and a day later: alice's connection is still open, bob's ended; carol's logout was
# lost, and her connection went long ago
touch -d '8 days ago' "$J/$OPEN.json" "$J/$DONE.json"
touch -d '91 days ago' "$J/$LOST.json"
[ -f "$T/spool/state/live/$LOST.json" ] && touch -d '91 days ago' "$T/spool/state/live/$LOST.json"
up_once prune
[ ! -e "$J/$DONE.json" ] || tg_fail "the join record of a session that ended 8 days ago was kept"
[ -e "$J/$OPEN.json" ] || tg_fail "the join record of a login still open was dropped after 7 days"
[ ! -e "$J/$LOST.json" ] || tg_fail "the join record of a login whose logout was lost 91 days ago was kept"
[ ! -e "$T/spool/state/live/$LOST.json" ] || tg_fail "a login with no logout for 91 days is still taken for open"

# alice's connection ends now: its logout names the recording read 8 days ago
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recordings"][0]["s3_key"])' "$J/$OPEN.json")
up_session_event 5 logout alice $OPEN
up_once logout
up_messages | grep 'SSH logout: alice' >"$T/logout" || tg_fail "alice's logout was not posted"
grep -q "$key" "$T/logout" || tg_fail "the logout does not name the recording: $(cat "$T/logout")"
if grep -q "no recording" "$T/uploader.log"; then
	grep "no recording" "$T/uploader.log"
	tg_fail "no_recording raised for a session with a recording"
fi
# the logout ended alice's login: its join record is kept 7 days from the logout on (a logout
# held by a Slack outage finds it), then goes like any other
[ -n "$(find "$J/$OPEN.json" -newermt '1 hour ago')" ] || tg_fail "the logout did not refresh its join record"
touch -d '8 days ago' "$J/$OPEN.json"
up_once prune-after-logout
[ ! -e "$J/$OPEN.json" ] || tg_fail "the join record of a login closed 8 days ago was kept"
echo "ok: an open login keeps its join record; ended and lost ones are dropped"
