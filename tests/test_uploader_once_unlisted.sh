#!/bin/sh
# A spool folder that --once cannot list ends the pass with exit status 2, as a stop does:
# what its workers finished is taken and counted, and the last status written. Before, the
# pass returned at once: a recording a worker had shipped and removed was counted nowhere
# (status.json, the pass's own count), the worker's report left unread in its pipe.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
up_rec $A.tgr user=alice

# the worker at S3, held; the pass held; the worker let go to its end; events/ made
# unlistable; the pass woken to rescan (SIGHUP): it finds the worker's report and the
# broken folder in the same round
up_start_stalled --once
w=$(up_workers)
[ -n "$w" ] || tg_fail "no worker"
kill -STOP "$UP_PID"
kill -CONT "$TG_S3_PID"
up_wait_until 30 "the worker did not finish" up_ended "$w"
[ -e "$T/spool/sessions/$A.tgr" ] && tg_fail "the worker ended without shipping $A.tgr: $(tail -5 "$T/uploader.log")"
rmdir "$T/spool/events"
: >"$T/spool/events"
kill -HUP "$UP_PID"
kill -CONT "$UP_PID"
up_wait_until 30 "--once did not end" up_ended "$UP_PID"
wait "$UP_PID"
rc=$?
UP_PID=
[ "$rc" = 2 ] || tg_fail "--once with events/ unlistable: exit $rc, not 2"
grep -q "scan .*/events: " "$T/uploader.log" || tg_fail "the failed scan was not said: $(tail -5 "$T/uploader.log")"
[ "$(up_count s3 sent)" = 1 ] ||
	tg_fail "the recording the worker shipped was not counted: s3 sent $(up_count s3 sent)"
rm -f "$T/spool/events"
mkdir "$T/spool/events"
up_check_s3
echo PASS
