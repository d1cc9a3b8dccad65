#!/bin/sh
# A recording that cannot be read to its end while it goes up (here: it shrinks, cut by
# someone while the worker waits for S3; an I/O error of the disk is the same case) is the
# file's failure, not S3's: the log says so and names the file, that file is tried again
# after its own backoff, and neither is S3 paused for backoff_max (the other recordings go
# on) nor an s3_error alert raised that blames S3; and status shows it as the file's read
# error, not as S3's last error.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'workers = 1'
# a pause after an error retrying cannot fix would hold every upload for a minute
sed -i 's/^backoff_max = .*/backoff_max = 60/' "$T/tollgate.conf"
grep -q '^backoff_max = 60$' "$T/tollgate.conf" || tg_fail "could not set backoff_max"
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
# below multipart_threshold (one PUT), and more than the socket buffers take while S3 waits
up_rec $A.tgr user=alice bytes=7000000
up_start_stalled # the worker verified the recording and sends it to a stopped S3
truncate -s 1000000 "$T/spool/sessions/$A.tgr"
up_rec $B.tgr user=bob
kill -CONT "$TG_S3_PID"
up_wait_until 30 "the cut recording's upload did not fail" \
	grep -q "upload of $A.tgr failed, will retry" "$T/uploader.log"
grep "upload of $A.tgr failed, will retry" "$T/uploader.log" | head -1 |
	grep -q "sessions/$A.tgr: it ended .*short of its size" ||
	tg_fail "the failure does not say the file shrank: $(grep "$A.tgr failed" "$T/uploader.log")"
# the other recording goes on at once, not after a pause of S3
up_wait_until 20 "the other recording waited: S3 was paused" \
	test ! -e "$T/spool/sessions/$B.tgr"
# and the cut one too, after its own backoff: now verified as what it is (cut before its seal)
up_wait_until 20 "the cut recording was not tried again" up_no_recs
cat "$T/uploader.log"
grep -q "alert s3_error" "$T/uploader.log" && tg_fail "an s3_error alert blamed S3 for a local read"
grep -q "shipped $A.tgr (1000000 bytes)" "$T/uploader.log" ||
	tg_fail "the cut recording was not shipped as it is now"
[ -n "$(up_s3_objects tollgate | grep "/bob/$B.tgr")" ] || tg_fail "$B.tgr is not in S3"
# status shows it as what it was: the file's read error, after the stop too; S3's last error
# is none (S3 refused nothing)
tg_stop_pid "$UP_PID"
UP_PID=
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/status.out" 2>&1
cat "$T/status.out"
sed -n '/^S3:/,/^Slack:/p' "$T/status.out" | grep -q '^  last error *none$' ||
	tg_fail "status shows the local read error as S3's last error"
grep -A1 '^Spool files: could not be read for upload (not an S3 error)$' "$T/status.out" |
	grep -q "^  last error .*sessions/$A.tgr: it ended .*short of its size" ||
	tg_fail "status does not show the read error of $A.tgr"
echo PASS
