#!/bin/sh
# A worker stopped with the daemon (SIGTERM) after it said it removes a
# shipped file, before its report: the file had left the spool, S3 had it,
# and it was counted nowhere: not in "sent" at the stop, nor at the next
# start, which no longer finds it. It now counts as sent when the daemon
# finds it gone at its stop; one still there ships (and counts) next time.
# strace holds the worker for 5 s right after its removal (its first
# unlink(2)); the daemon itself calls unlink(2) only for stale temporary
# files, of which there are none.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
up_rec $A.tgr user=alice
up_start_traced -o /dev/null -e trace=unlink -e inject=unlink:delay_exit=5000000:when=1
up_wait_until 30 "the worker did not remove the recording" up_no_recs
kill -TERM "$UP_PID"
up_wait_until 30 "the daemon did not stop" up_ended "$UP_PID"
UP_PID=
# strace ends with its last tracee; bounded, so that a tracee it still holds fails the test
# (up_cleanup then stops strace) instead of hanging it
up_wait_until 30 "strace did not end with the daemon" up_ended "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null
STRACE_PID=
cat "$T/uploader.log"
up_s3_objects tollgate | grep -q "/$A.tgr._S3rver_object$" || tg_fail "S3 does not hold the recording"
[ "$(up_count s3 sent)" -eq 1 ] ||
	tg_fail "the recording is in S3 and gone from the spool, but S3 counts $(up_count s3 sent) sent"
[ "$(up_count s3 lost)" -eq 0 ] || tg_fail "S3 counts $(up_count s3 lost) lost"
grep -q "recording_removed" "$T/uploader.log" && tg_fail "the worker's own removal was taken for someone else's"
# the next start counts it neither again nor as lost
up_start_ready
sleep 2.5
[ "$(up_count s3 sent)" -eq 1 ] || tg_fail "after a restart S3 counts $(up_count s3 sent) sent"
[ "$(up_count s3 lost)" -eq 0 ] || tg_fail "after a restart S3 counts $(up_count s3 lost) lost"
echo PASS
