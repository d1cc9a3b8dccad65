#!/bin/sh
# An outbox file removed by someone else before it was shipped is not "sent":
# it is logged as lost and counted apart (status.json "lost", `status`).
#  1. outbox/s3: a job takes a batch of five events; while S3 is frozen on the
#     first, four are removed; S3 counted all five as sent.
#  2. outbox/notify: a message waiting for Slack (which answers 500) is removed;
#     it left without a trace.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

no_files() { [ -z "$(find "$1" -type f)" ]; }

up_setup 'workers = 1'

# 1. S3
mkdir -p "$T/spool/outbox/s3" "$T/spool/outbox/notify"
for i in 1 2 3 4 5; do up_outbox_event s3 "$i" >>"$T/names"; done
up_start_stalled # the job has read the first event and waits for S3
sed -n '2,5p' "$T/names" | while read -r n; do rm "$T/spool/outbox/s3/$n"; done
kill -CONT "$TG_S3_PID"
up_wait_until 30 "the first event did not reach S3" no_files "$T/spool/outbox/s3"
# status.json is rewritten at most once a second, later on a loaded machine
up_settle_count s3 sent 1
echo "S3 sent $(up_count s3 sent), lost $(up_count s3 lost)"
[ "$(up_count s3 sent)" -eq 1 ] || tg_fail "S3 counts $(up_count s3 sent) sent; one event reached it"
up_settle_count s3 lost 4
[ "$(up_count s3 lost)" -eq 4 ] || tg_fail "S3 counts $(up_count s3 lost) lost, not 4"
[ "$(up_s3_objects tollgate/events | wc -l)" -eq 1 ] || tg_fail "S3 holds other than one event"
grep -q "outbox/s3/$(sed -n 2p "$T/names").*removed by someone else" "$T/uploader.log" ||
	tg_fail "no log line for a removed event: $(tail -5 "$T/uploader.log")"

# 2. Slack: answers 500, the message waits in its backoff, and is removed meanwhile
echo down >"$T/slack/mode"
n=$(up_outbox_event notify 9)
up_wait_until 20 "the daemon did not post to Slack" grep -q '"down"' "$T/slack/stats.json"
rm "$T/spool/outbox/notify/$n"
up_wait_until 10 "no log line for the removed Slack message" \
	grep -q "outbox/notify/$n.*removed by someone else" "$T/uploader.log"
sleep 1.5
echo "Slack sent $(up_count slack sent), lost $(up_count slack lost)"
[ "$(up_count slack sent)" -eq 0 ] || tg_fail "Slack counts $(up_count slack sent) sent"
up_settle_count slack lost 1
[ "$(up_count slack lost)" -eq 1 ] || tg_fail "Slack counts $(up_count slack lost) lost, not 1"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/status" 2>&1
cat "$T/status"
sed -n '/^S3:/,/^Slack:/p' "$T/status" | grep -q '^  lost  *4 ' ||
	tg_fail "status does not show S3's 4 lost"
sed -n '/^Slack:/,$p' "$T/status" | grep -q '^  lost  *1 ' ||
	tg_fail "status does not show Slack's 1 lost"
echo PASS
