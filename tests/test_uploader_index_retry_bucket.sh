#!/bin/sh
# A recording S3 confirmed whose index line then failed is noted (state/multipart/<id>.sent)
# so that the retry sends only the index line. The note names the store it went to: after
# [s3] bucket is changed, the retry sends the recording to the new bucket too, rather than
# letting it leave the spool with an index line (and a join record) naming an object the new
# bucket never got. S3 here is tests/servers/scripted_s3.py, which answers each request as
# scripted and logs it.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
up_rec $A.tgr user=alice
# bucket "old": the recording is stored, every index line gets SlowDown; bucket "new": 200s
up_scripted_s3 "$(printf '[{"match": "^PUT /old/.*[.]json$", "keep": true, "status": 503, %s}]' \
	'"body": "<Error><Code>SlowDown</Code><Message>slow</Message></Error>"')"
sed -i -e 's|^bucket = .*|bucket = old|' "$T/tollgate.conf"
up_start
up_wait_until 30 "the index line did not fail" \
	grep -q "upload of $A.tgr failed, will retry: .*SlowDown" "$T/uploader.log"
tg_stop_pid "$UP_PID"
UP_PID=
[ "$(up_scripted_count "^PUT /old/.*/alice/$A[.]tgr$")" -eq 1 ] ||
	tg_fail "the recording went to the old bucket $(up_scripted_count "^PUT /old/.*/alice/$A[.]tgr$") times, not once"
[ -n "$(find "$T/spool/state/multipart" -name '*.sent')" ] ||
	tg_fail "no .sent note was written: $(ls -A "$T/spool/state/multipart")"
[ -e "$T/spool/sessions/$A.tgr" ] || tg_fail "the recording left the spool with its index line failing"

# the admin moves the uploads to another bucket
sed -i -e 's|^bucket = .*|bucket = new|' "$T/tollgate.conf"
up_start
up_wait_until 30 "the recording did not leave the spool" up_no_recs
[ "$(up_scripted_count "^PUT /new/.*/alice/$A[.]tgr$")" -eq 1 ] ||
	tg_fail "the recording went to the new bucket $(up_scripted_count "^PUT /new/.*/alice/$A[.]tgr$") times, not once"
[ "$(up_scripted_count "^PUT /new/.*$A[.]json$")" -ge 1 ] || tg_fail "no index line in the new bucket"
! grep -q "$A.tgr: S3 has it already as s3://new/" "$T/uploader.log" ||
	tg_fail "the note of the old bucket was taken for the new one"
[ -z "$(ls -A "$T/spool/state/multipart")" ] ||
	tg_fail "state/multipart/ keeps $(ls -A "$T/spool/state/multipart")"
echo PASS
