#!/bin/sh
# A recording removed from sessions/ by someone else (an admin's cleanup, an
# intruder with root hiding a session) is never counted as uploaded: what S3
# never got is counted lost for S3, and every removal is logged naming the
# file and the session and raised as the alert recording_removed (S3, Slack).
#  1. a job takes a batch of two; while S3 is frozen on the first, both are
#     removed: the first still reaches S3 (the job has it open) and counts as
#     sent, the second counted as sent too though S3 never had it.
#  2. a recording waiting for a free worker is removed: it left no trace.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

# S3's "sent" counts events too (the alerts): each recording and event S3 holds, once
s3_count() { echo $(( $(up_s3_objects tollgate | grep -c '\.tgr\._S3rver_object$') + $(up_s3_objects tollgate/events | wc -l) )); }
outbox_empty() { [ -z "$(find "$T/spool/events" "$T/spool/outbox/s3" -type f ! -name '.*' 2>/dev/null)" ]; }
s3_has() { up_s3_objects tollgate | grep -q "/$1._S3rver_object$"; }
# The daemon knows of $1 files to ship (status.json's backlog), and the spool holds as many
backlog_is() {
	[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backlog"])' \
		"$T/spool/state/status.json")" -eq "$1" ] && [ "$(up_spool_left)" -eq "$1" ]
}
# Wait (at most 30 s) until status.json counts as sent what S3 holds: it is rewritten at most
# once a second, later on a loaded machine; the caller then checks and says what it is
settle_sent() {
	i=0
	while [ "$(up_count s3 sent)" -ne "$(s3_count)" ] && [ $i -lt 150 ]; do
		sleep 0.2
		i=$((i + 1))
	done
}

# alert_window = 0: each alert is its own Slack message (bursts: test_uploader_alert_burst.sh)
up_setup 'workers = 1' 'alert_window = 0'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
C=cccccccccccccccccccccccccccccccc D=dddddddddddddddddddddddddddddddd

# 1. one job, two recordings, both removed while S3 holds the first's PUT
up_rec $A.tgr user=alice
up_rec $B.tgr user=bob
up_start_stalled # the job verified the first and waits for S3
rm "$T/spool/sessions/$A.tgr" "$T/spool/sessions/$B.tgr"
kill -CONT "$TG_S3_PID"
up_wait_until 30 "the job did not finish" grep -q "$B.tgr" "$T/uploader.log"
up_wait_until 30 "the alerts did not reach S3" outbox_empty
s3_has $A.tgr || tg_fail "the first recording, open when it was removed, did not reach S3"
s3_has $B.tgr && tg_fail "S3 holds the second recording"
settle_sent
[ "$(up_count s3 sent)" -eq "$(s3_count)" ] || tg_fail "S3 counts $(up_count s3 sent) sent; it holds $(s3_count) items"
echo "S3 sent $(up_count s3 sent), lost $(up_count s3 lost)"
up_settle_count s3 lost 1
[ "$(up_count s3 lost)" -eq 1 ] || tg_fail "S3 counts $(up_count s3 lost) lost, not 1"
grep -q "sessions/$B.tgr (session $B) was removed by someone else before it was sent to S3" \
	"$T/uploader.log" || tg_fail "no log line for the lost recording: $(tail -5 "$T/uploader.log")"
grep -q "sessions/$A.tgr (session [0-9a-f]*, user alice) was removed by someone else while it was uploaded" \
	"$T/uploader.log" || tg_fail "no log line for the recording removed during its upload"
[ "$(grep -c 'alert recording_removed' "$T/uploader.log")" -eq 2 ] ||
	tg_fail "not one recording_removed alert per removed recording"

# 2. a recording waiting for the only worker, removed before its turn
kill -STOP "$TG_S3_PID"
up_rec $C.tgr user=carol
up_wait_until 20 "no upload worker started" up_has_worker
# the job has C and waits for S3; nothing else waits
up_wait_until 20 "the daemon has other files than C to ship" backlog_is 1
up_rec $D.tgr user=dave
# the watch saw D arrive (a fixed sleep was too short for a daemon slow to get the CPU); it
# waits for the worker
up_wait_until 20 "the daemon did not see D arrive" backlog_is 2
rm "$T/spool/sessions/$D.tgr"
up_wait_until 10 "no log line for the recording removed while it waited" \
	grep -q "sessions/$D.tgr (session $D) was removed by someone else before it was sent" "$T/uploader.log"
kill -CONT "$TG_S3_PID"
up_wait_until 30 "C did not reach S3" up_no_recs
up_wait_until 30 "the alerts did not reach Slack" eval \
	'[ "$(up_messages | grep -c recording_removed)" -ge 3 ]'
sleep 1.5
echo "S3 sent $(up_count s3 sent), lost $(up_count s3 lost)"
up_settle_count s3 lost 2
[ "$(up_count s3 lost)" -eq 2 ] || tg_fail "S3 counts $(up_count s3 lost) lost, not 2"
up_wait_until 30 "the alerts did not reach S3" outbox_empty
settle_sent
[ "$(up_count s3 sent)" -eq "$(s3_count)" ] || tg_fail "S3 counts $(up_count s3 sent) sent; it holds $(s3_count) items"
s3_has $D.tgr && tg_fail "S3 holds D"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/status" 2>&1
cat "$T/status"
sed -n '/^S3:/,/^Slack:/p' "$T/status" | grep -q '^  lost  *2 ' ||
	tg_fail "status does not show S3's 2 lost"
echo PASS
