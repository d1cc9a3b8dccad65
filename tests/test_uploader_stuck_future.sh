#!/bin/sh
# upload_stuck measured a wait from the file's mtime, wall time: a recording
# written before the wall clock was set back (an NTP step on a host whose
# clock ran ahead) has an mtime in the future, and S3 could refuse it for as
# long as the clock had been ahead (here an hour) before anyone heard of it.
# A wait is counted from now at the latest.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'stuck_after = 10'
sed -i "s|^bucket = .*|bucket = no-such-bucket|" "$T/tollgate.conf"
grep -q '^bucket = no-such-bucket$' "$T/tollgate.conf" || tg_fail "could not set the bucket"
up_rec ahead.tgr user=alice bytes=3000
touch -d "@$(($(date +%s) + 3600))" "$T/spool/sessions/ahead.tgr"
up_start
up_wait_until 30 "no upload_stuck within 30 s for a recording S3 refuses (stuck_after 10 s)" \
	grep -q 'alert upload_stuck: .*in sessions' "$T/uploader.log"
grep 'alert upload_stuck' "$T/uploader.log"
[ -f "$T/spool/sessions/ahead.tgr" ] || tg_fail "the recording left the spool without S3"
echo PASS
