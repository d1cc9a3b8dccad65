#!/bin/sh
# A worker that died with a recording (an OOM kill) lets the file count as sent
# if it is gone afterwards: the worker may have shipped and removed it. But once
# a later job found the file still there, that worker had not removed it, and
# a removal after that is someone else's: lost, logged, and recording_removed.
#  The first worker is killed while S3 (stopped) holds its PUT; S3 is then
#  killed, so the retry finds the file and fails; then the file is removed.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

died() { grep -q "the upload worker died" "$T/uploader.log"; }
retry_failed() { grep "upload of $A.tgr failed, will retry" "$T/uploader.log" | grep -vq "worker died"; }

up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
up_rec $A.tgr user=alice
up_start_stalled # the worker verified the recording and waits for S3
for w in $(up_workers); do kill -KILL "$w"; done
up_wait_until 20 "the worker's death was not noticed" died
# S3 gone: the retry opens the recording (so the dead worker had not removed it) and fails
kill -KILL "$TG_S3_PID"
up_wait_until 30 "no retry found the recording and failed" retry_failed
rm "$T/spool/sessions/$A.tgr"
up_wait_until 20 "the removal was not noticed" \
	grep -q "sessions/$A.tgr.*\(was removed by someone else\|was gone after its upload worker died\)" \
	"$T/uploader.log"
sleep 1.5 # status.json is rewritten at most once a second
cat "$T/uploader.log"
grep -q "$A.tgr was gone after its upload worker died" "$T/uploader.log" &&
	tg_fail "a recording someone else removed was counted as shipped by the dead worker"
grep -q "sessions/$A.tgr (session $A) was removed by someone else before it was sent to S3" \
	"$T/uploader.log" || tg_fail "no log line for the lost recording"
grep -q "alert recording_removed" "$T/uploader.log" || tg_fail "no recording_removed alert"
up_settle_count s3 lost 1
[ "$(up_count s3 lost)" -eq 1 ] || tg_fail "S3 counts $(up_count s3 lost) lost, not 1"
[ "$(up_count s3 sent)" -eq 0 ] || tg_fail "S3 counts $(up_count s3 sent) sent, not 0"
echo PASS
