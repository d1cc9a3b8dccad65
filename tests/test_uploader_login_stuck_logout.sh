#!/bin/sh
# A login whose fan-out fails (an outbox that cannot take it) is tried again after a backoff,
# and the events behind it go on: its logout went out first and removed a marker not made yet,
# or made by the login's first try. The login's next try then took the session for open again:
# its marker in state/live/ stayed 90 days, and the join record with it. Now the logout leaves
# a note that the session ended while an event before it waited; the login's later fan-out
# finds it, makes no marker, and removes the note.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 0"
SID=0123456789abcdef0123456789abcdef
S=$T/spool/state
pass() { "$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1; }

up_rec a.tgr user=alice pam=$SID bytes=100
pass
[ -f "$S/sessions/$SID.json" ] || tg_fail "no join record"
up_session_event 1 login alice $SID
login=$(ls "$T/spool/events")
up_session_event 2 logout alice $SID
# the login's copy for S3 cannot be written: a folder is in its way
mkdir "$T/spool/outbox/s3/$login"
pass
[ -f "$T/spool/events/$login" ] || tg_fail "the login was fanned out through the folder in its way"
[ "$(find "$T/spool/events" -type f ! -name '.*' | wc -l)" -eq 1 ] || tg_fail "the logout did not go ahead of the stuck login"
[ ! -e "$S/live/$SID.json" ] || tg_fail "the logout left the login's marker"

# the way is clear again: the login goes out after its logout
rmdir "$T/spool/outbox/s3/$login"
pass
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool is not empty: $(find "$T/spool/events" "$T/spool/outbox" -type f)"
[ ! -e "$S/live/$SID.json" ] || tg_fail "the login fanned out after its logout was taken for open (kept 90 days)"
[ ! -e "$S/open/$SID.json" ] || tg_fail "the login fanned out after its logout waits for a second recording check"
[ -z "$(ls "$S/live")" ] || tg_fail "state/live/ keeps $(ls "$S/live")"
up_message_has 'SSH login: alice' || tg_fail "the login was not posted"
up_message_has 'SSH logout: alice' || tg_fail "the logout was not posted"
grep -q "no recording" "$T/uploader.log" && tg_fail "no_recording raised for a recorded session"

# a logout with nothing before it waiting leaves no note
up_session_event 3 login alice $SID
up_session_event 4 logout alice $SID
pass
[ -z "$(ls "$S/live")" ] || tg_fail "state/live/ keeps $(ls "$S/live") after a logout in order"
# a note whose login never came (removed by someone else) goes as join records of ended
# sessions do
: >"$S/live/$SID.ended"
touch -d '8 days ago' "$S/live/$SID.ended"
pass
[ ! -e "$S/live/$SID.ended" ] || tg_fail "a logout's note 8 days old was kept"
echo "ok: a login fanned out after its logout is not taken for open"
