#!/bin/sh
# upload_stuck must not feed itself. While S3 refuses everything, the
# uploader's own alerts (upload_stuck, s3_error) wait in outbox/s3 like any
# event; once they had waited stuck_after, they raised a new upload_stuck
# ("1 item(s) in outbox/s3 ...; oldest <the last alert>"), whose own event
# was stuck in turn: one more Slack message every stuck_after for each alert
# ever raised, for as long as the outage lasted, none of them news.
# Here: a bucket that does not exist, stuck_after 10 s, a recording that
# waited an hour: one upload_stuck (the recording) and one s3_error, then
# none in the next 25 s (2.5 times stuck_after).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

count_stuck() { grep -c 'alert upload_stuck' "$T/uploader.log"; }

up_setup 'stuck_after = 10'
sed -i "s|^bucket = .*|bucket = no-such-bucket|" "$T/tollgate.conf"
grep -q '^bucket = no-such-bucket$' "$T/tollgate.conf" || tg_fail "could not set the bucket"
up_rec keep.tgr user=alice bytes=3000
touch -d '1 hour ago' "$T/spool/sessions/keep.tgr"
up_start
up_wait_until 20 "no upload_stuck for the recording" up_message_has 'upload_stuck'
up_wait_until 20 "no s3_error" up_message_has 's3_error'
sleep 25 # 2.5 times stuck_after: the alerts' own events wait that long in outbox/s3
grep 'alert upload_stuck' "$T/uploader.log"
n=$(count_stuck)
echo "upload_stuck alerts: $n"
[ "$n" -eq 1 ] || tg_fail "$n upload_stuck alerts for one stuck recording: the alerts' own events raised more"
grep 'alert upload_stuck' "$T/uploader.log" | grep -q 'in sessions' ||
	tg_fail "the upload_stuck alert is not about the recording"
[ -f "$T/spool/sessions/keep.tgr" ] || tg_fail "the recording left the spool without S3"
echo PASS
