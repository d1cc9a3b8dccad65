#!/bin/sh
# A large (multipart) recording whose file name is 251 to 255 bytes long (the
# spool takes names up to 255) never left the host, and the failure was
# blamed on S3: its resume state was state/multipart/<name>.json, a name past
# NAME_MAX, which could not be written, and that failure aborted the upload
# ("s3_error: S3 refused ...: invalid argument (HTTP 200"), again at every
# try. The note that S3 has a recording whose index line failed
# (<name>.sent) could not be written either, so the retry sent the recording
# again. Both are now named after the SHA-256 of the recording's name, so any
# name has them; and a resume state that cannot be written does not stop the
# upload. Here: such recordings ship, one resumes after S3 refused a part, and
# one whose index line failed is not sent twice.
# S3 is tests/servers/scripted_s3.py: the S3 test server stores an object as a
# file named after the key's last part and a suffix, which a 251-byte name
# would pass NAME_MAX with.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'multipart_threshold = 5M' 'part_size = 5M'
# 403 to the second part of c*.tgr's first upload; 503 SlowDown to the index line of d*.tgr,
# more times than one job tries
slow='{"match": "^PUT .*/d{251}\\.json$", "status": 503, "body": "<Error><Code>SlowDown</Code><Message>slow</Message></Error>"}'
up_scripted_s3 "[$UP_SCRIPTED_MPU,
{\"match\": \"^PUT .*/c{251}\\\\.tgr\\\\?partNumber=2&\", \"status\": 403, \"body\": \"<Error><Code>AccessDenied</Code><Message>scripted refusal</Message></Error>\"},
$slow, $slow, $slow, $slow]"
# up_rec's temp name (".NAME.tmp") would itself be too long: made beside the spool
long_rec() {
	"$RECGEN" rec "$T/keys/signing.key" "$T/gen.tgr" "$@" || tg_fail "recgen"
	mv "$T/gen.tgr" "$T/spool/sessions/$name"
}
state_of() { echo "$T/spool/state/multipart/$(printf %s "$1" | sha256sum | cut -d' ' -f1)$2"; }
A251=$(head -c 247 /dev/zero | tr '\0' a).tgr
B255=$(head -c 251 /dev/zero | tr '\0' b).tgr
C255=$(head -c 251 /dev/zero | tr '\0' c).tgr
D255=$(head -c 251 /dev/zero | tr '\0' d).tgr
[ ${#A251} -eq 251 ] && [ ${#B255} -eq 255 ] || tg_fail "the names are not 251 and 255 bytes"

# two multipart recordings with long names and one with a short name, in one pass
name=$A251 long_rec user=alice bytes=6000000
name=$B255 long_rec user=bob bytes=6000000
up_rec short.tgr user=carol bytes=6000000
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 ||
	tg_fail "--once: exit $?: $(tail -5 "$T/uploader.log" | cut -c1-400)"
! grep -q 's3_error\|S3 refused' "$T/uploader.log" ||
	tg_fail "blamed on S3: $(grep 's3_error\|S3 refused' "$T/uploader.log" | cut -c1-400)"
up_no_recs || tg_fail "left in the spool: $(ls "$T/spool/sessions" | cut -c1-80)"
for n in a{247} b{251} short; do
	[ "$(up_scripted_count "^POST .*/$n\\.tgr\\?uploads$")" -eq 1 ] &&
		[ "$(up_scripted_count "^PUT .*/$n\\.tgr\\?partNumber=[12]&")" -eq 2 ] &&
		[ "$(up_scripted_count "^POST .*/$n\\.tgr\\?uploadId=upl-1$")" -eq 1 ] ||
		tg_fail "$n.tgr did not go up as one multipart upload of 2 parts"
done
[ -z "$(ls "$T/spool/state/multipart")" ] ||
	tg_fail "state/multipart/ keeps $(ls "$T/spool/state/multipart")"
echo "ok 1 - multipart recordings with 251- and 255-byte names ship beside a short one"

# S3 refuses a part: the resume state (under the name's hash) keeps the first, and the next
# pass sends only the second, in the same upload
name=$C255 long_rec user=carl bytes=6000000
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 &&
	tg_fail "the pass went through S3's scripted refusal"
grep -q 's3_error: S3 refused c\{251\}\.tgr: ' "$T/uploader.log" ||
	tg_fail "no refusal: $(tail -3 "$T/uploader.log" | cut -c1-400)"
grep -q '^part 1 ' "$(state_of "$C255" .json)" ||
	tg_fail "no resume state for the first part: $(ls "$T/spool/state/multipart")"
up_once "resume"
up_no_recs || tg_fail "$C255 is left in the spool"
[ "$(up_scripted_count "^POST .*/c{251}\\.tgr\\?uploads$")" -eq 1 ] || tg_fail "the upload started over"
[ "$(up_scripted_count "^PUT .*/c{251}\\.tgr\\?partNumber=1&")" -eq 1 ] || tg_fail "part 1 went again"
[ "$(up_scripted_count "^PUT .*/c{251}\\.tgr\\?partNumber=2&")" -eq 2 ] || tg_fail "part 2 did not go again"
[ -z "$(ls "$T/spool/state/multipart")" ] ||
	tg_fail "state/multipart/ keeps $(ls "$T/spool/state/multipart")"
echo "ok 2 - a 255-byte name's multipart upload resumes where it stopped"

# the index line fails after S3 has the recording: the note says so, and the retry sends only
# the index line
name=$D255 long_rec user=dave
for pass in 1 2 3; do
	"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 && break
done
up_no_recs || tg_fail "$D255 is left in the spool"
[ "$(up_scripted_count "^PUT .*/d{251}\\.json$")" -ge 5 ] || tg_fail "the index line did not fail as scripted"
[ "$(up_scripted_count "^PUT .*/d{251}\\.tgr$")" -eq 1 ] ||
	tg_fail "the recording went up $(up_scripted_count "^PUT .*/d{251}\\.tgr$") times, not once"
grep -q "d\{251\}\.tgr: S3 has it already" "$T/uploader.log" || tg_fail "the skip is not logged"
[ -z "$(ls "$T/spool/state/multipart")" ] ||
	tg_fail "state/multipart/ keeps $(ls "$T/spool/state/multipart")"
echo "ok 3 - a 255-byte name whose index line failed is not sent again"
echo PASS
