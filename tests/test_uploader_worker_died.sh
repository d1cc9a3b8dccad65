#!/bin/sh
# A worker that died after it removed a shipped file, before it could report
# it (an OOM kill, a crash), must not make that file "lost" with a tampering
# alert when the retry finds it gone: a worker removes a file only after S3
# confirmed it, so it counts as sent, with a warning that says why.
# strace kills the worker on its next system call after removing the
# recording (the removal of the multipart resume state, which follows it).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

died() { grep -q "the upload worker died" "$T/uploader.log"; }

up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
up_rec $A.tgr user=alice
# each process's second unlink(2) is refused with SIGKILL: in the worker that is the one
# right after the recording's removal; the daemon itself calls unlink(2) only for stale
# temporary files, of which there are none
up_start_traced -o /dev/null -e trace=unlink -e inject=unlink:signal=SIGKILL:when=2
up_wait_until 30 "the worker was not killed after the removal" died
up_wait_until 30 "the recording was not shipped" up_no_recs
# the daemon finds the file gone when it tries it again (backoff_max = 1 s), later on a
# loaded machine
up_wait_until 30 "no warning for the file gone after the worker died" \
	grep -q "$A.tgr was gone after its upload worker died" "$T/uploader.log"
sleep 1.5 # status.json is rewritten at most once a second
cat "$T/uploader.log"
up_s3_objects tollgate | grep -q "/$A.tgr._S3rver_object$" || tg_fail "S3 does not hold the recording"
grep -q "recording_removed\|removed by someone else" "$T/uploader.log" &&
	tg_fail "the worker's own removal was taken for someone else's"
[ "$(up_count s3 lost)" -eq 0 ] || tg_fail "S3 counts $(up_count s3 lost) lost"
echo PASS
