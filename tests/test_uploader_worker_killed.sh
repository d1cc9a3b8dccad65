#!/bin/sh
# Killing an upload worker must not excuse the removal of its files: an
# intruder with root who kills the worker, then removes the recording it was
# uploading (S3 never confirmed it), gets it counted lost and recording_removed
# raised, not "sent" on the dead worker's account. Only a worker that had said
# it removes a file (after S3 confirmed it) excuses that file's going
# (tests/test_uploader_worker_died.sh).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
up_rec $A.tgr user=alice
up_rec $B.tgr user=bob
up_start_stalled # the worker verified the first recording and waits for S3
# the daemon held meanwhile: the file batched after the one the worker died on goes again at
# once (no try of it was made), and would otherwise be opened again before the removal
kill -STOP "$UP_PID"
for w in $(up_workers); do kill -KILL "$w"; done
rm "$T/spool/sessions/$A.tgr" "$T/spool/sessions/$B.tgr"
kill -CONT "$UP_PID"
kill -CONT "$TG_S3_PID"
up_wait_until 30 "the removals were not noticed" \
	sh -c "[ \$(grep -c 'sessions/[ab]*.tgr.*\(was removed by someone else\|was gone after its upload worker died\)' '$T/uploader.log') -ge 2 ]"
sleep 1.5 # status.json is rewritten at most once a second
cat "$T/uploader.log"
grep -q "was gone after its upload worker died" "$T/uploader.log" &&
	tg_fail "a removal after the worker was killed was put down to the dead worker"
for x in $A $B; do
	grep -q "sessions/$x.tgr (session $x) was removed by someone else before it was sent to S3" \
		"$T/uploader.log" || tg_fail "no log line for the lost recording $x"
done
grep -q "alert recording_removed" "$T/uploader.log" || tg_fail "no recording_removed alert"
up_settle_count s3 lost 2
[ "$(up_count s3 lost)" -eq 2 ] || tg_fail "S3 counts $(up_count s3 lost) lost, not 2"
echo PASS
