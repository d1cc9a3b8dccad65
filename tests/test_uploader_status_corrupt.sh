#!/bin/sh
# The daemon takes its sent and lost counts (and last errors) over from
# state/status.json at its start, so that they survive a restart. A
# status.json cut short by a crash (it is rewritten every second, without
# fsync) made them start again from 0 without a word: the "lost" count of
# recordings someone removed went back to 0, and nothing said it had. The
# daemon now logs that the file cannot be read, why, and that the counts
# start again.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

started() { grep -q 'started: spool' "$T/uploader.log"; }

up_setup
mkdir -p "$T/spool/state"
printf '{"s3":{"last_error":"","sent":5,"lost":2' >"$T/spool/state/status.json"
up_start
up_wait_until 20 "the daemon did not start" started
grep -q "$T/spool/state/status.json cannot be read (.*end of.*): the sent and lost counts start again from 0" "$T/uploader.log" ||
	tg_fail "the daemon did not say status.json cannot be read: $(cat "$T/uploader.log")"
tg_stop_pid "$UP_PID"
UP_PID=
# one it wrote itself reads back without a word, the counts kept
: >"$T/uploader.log"
up_rec a.tgr user=alice bytes=500
up_start
up_wait_empty 20 || tg_fail "the recording was not uploaded"
up_settle_count s3 sent 1
tg_stop_pid "$UP_PID"
UP_PID=
: >"$T/uploader.log"
up_start
up_wait_until 20 "the daemon did not start" started
! grep -q "cannot be read" "$T/uploader.log" || tg_fail "a good status.json: $(cat "$T/uploader.log")"
sleep 1.5
[ "$(up_count s3 sent)" = 1 ] || tg_fail "sent is $(up_count s3 sent) after a restart, not 1"
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
