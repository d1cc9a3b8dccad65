#!/bin/sh
# What goes up is what was verified. A large recording whose guess (header and
# seal) the full verification contradicts is sent a second time with the full
# verdict; if that second upload opened the file again by name, a file put in
# its place meanwhile (rename over it: another recording, a forged one) would
# reach S3 under the verified recording's key and metadata. The replacement
# must not be uploaded in its place nor removed unshipped: it ships as itself.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

s3_obj() { up_s3_objects tollgate | grep "/$1/bad.tgr._S3rver_object$"; }

up_setup 'workers = 1' "multipart_threshold = 5M" "part_size = 5M"
up_rec bad.tgr user=hank bytes=9000000
# one bit in the middle: the seal still looks fine, the full verification disagrees
up_flip_middle "$T/spool/sessions/bad.tgr" "$T/orig/bad.tgr"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/sessions/.forged.tmp" user=mallory bytes=6000000 ||
	tg_fail "recgen"
cp "$T/spool/sessions/.forged.tmp" "$T/forged"
up_start_stalled # the job verified bad.tgr and waits for S3 to start its upload
mv "$T/spool/sessions/.forged.tmp" "$T/spool/sessions/bad.tgr"
kill -CONT "$TG_S3_PID"
up_wait_until 60 "the recordings did not all leave the spool" up_no_recs
cat "$T/uploader.log"
grep -q 'bad.tgr: the full verification disagrees with its seal' "$T/uploader.log" ||
	tg_fail "the wrong guess was not noticed (no second upload: the test proves nothing)"
h=$(s3_obj hank) m=$(s3_obj mallory)
[ -n "$h" ] || tg_fail "S3 has no object under hank's key"
cmp -s "$h" "$T/orig/bad.tgr" ||
	tg_fail "S3 holds under the verified recording's key other bytes than were verified"
[ -n "$m" ] || tg_fail "the replacement was removed without reaching S3"
cmp -s "$m" "$T/forged" || tg_fail "the replacement reached S3 changed"
grep -q "sessions/bad.tgr (session [0-9a-f]*, user hank) was .* by someone else while it was uploaded" \
	"$T/uploader.log" || tg_fail "no log line for the recording replaced while it was uploaded"
echo PASS
