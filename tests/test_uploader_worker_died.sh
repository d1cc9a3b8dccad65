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

tg_need_cmd strace
s3n() { # s3n sent|lost
	python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["s3"].get(sys.argv[2], 0))' "$T/spool/state/status.json" "$1"
}
no_recs() { [ -z "$(find "$T/spool/sessions" -maxdepth 1 -type f ! -name '.*')" ]; }
died() { grep -q "the upload worker died" "$T/uploader.log"; }

up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
up_rec $A.tgr user=alice
# each process's second unlink(2) is refused with SIGKILL: in the worker that is the one
# right after the recording's removal; the daemon itself calls unlink(2) only for stale
# temporary files, of which there are none
strace -f -qq -o /dev/null -e trace=unlink -e inject=unlink:signal=SIGKILL:when=2 \
	"$UPLOADER" -c "$T/tollgate.conf" --foreground >>"$T/uploader.log" 2>&1 &
STRACE_PID=$!
trap 'tg_stop_pid "$STRACE_PID"; up_cleanup' EXIT
up_pid() { UP_PID=$(ps -o pid= --ppid "$STRACE_PID" | tr -d ' '); [ -n "$UP_PID" ]; }
up_wait_until 20 "strace did not start the uploader" up_pid
up_wait_until 30 "the worker was not killed after the removal" died
up_wait_until 30 "the recording was not shipped" no_recs
sleep 1.5 # status.json is rewritten at most once a second
cat "$T/uploader.log"
up_s3_objects tollgate | grep -q "/$A.tgr._S3rver_object$" || tg_fail "S3 does not hold the recording"
grep -q "$A.tgr was gone after its upload worker died" "$T/uploader.log" ||
	tg_fail "no warning for the file gone after the worker died"
grep -q "recording_removed\|removed by someone else" "$T/uploader.log" &&
	tg_fail "the worker's own removal was taken for someone else's"
[ "$(s3n lost)" -eq 0 ] || tg_fail "S3 counts $(s3n lost) lost"
echo PASS
