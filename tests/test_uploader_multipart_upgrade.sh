#!/bin/sh
# The files under state/multipart/ are named after the SHA-256 of the
# recording's name since names of 251 bytes and more could not have them
# (test_uploader_name_long.sh). The uploader before named them <name>.json
# (a multipart upload's resume state) and <name>.sent. After an upgrade, the
# resume state of a recording still in sessions/ is taken over, and its upload
# resumes instead of starting over; those of recordings no longer there, in
# either naming, are removed rather than left for ever; a file that is neither
# is left alone. S3 is tests/servers/scripted_s3.py.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'multipart_threshold = 5M' 'part_size = 5M'
up_scripted_s3 "[$UP_SCRIPTED_MPU,
{\"match\": \"^PUT .*/old\\\\.tgr\\\\?partNumber=2&\", \"status\": 403, \"body\": \"<Error><Code>AccessDenied</Code><Message>scripted refusal</Message></Error>\"}]"
MP=$T/spool/state/multipart
id_of() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# an upload stopped after its first part (S3 refused the second), its state as this version
# names it; then named as the uploader before did
up_rec old.tgr user=alice bytes=6000000
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 &&
	tg_fail "the pass went through S3's scripted refusal"
grep -q '^part 1 ' "$MP/$(id_of old.tgr).json" || tg_fail "no resume state: $(ls "$MP")"
mv "$MP/$(id_of old.tgr).json" "$MP/old.tgr.json"
# litter: the files of recordings that are gone, in both namings, and a file that is not ours
cp "$MP/old.tgr.json" "$MP/gone.tgr.json"
echo '{}' >"$MP/gone.tgr.sent"
cp "$MP/old.tgr.json" "$MP/$(id_of gone2.tgr).json"
echo '{}' >"$MP/$(id_of gone2.tgr).sent"
echo 'kept' >"$MP/notes.txt"

up_once "after the upgrade"
up_no_recs || tg_fail "old.tgr is left in the spool"
grep -q "old.tgr.json, written by an earlier uploader, is now $(id_of old.tgr).json" "$T/uploader.log" ||
	tg_fail "the old resume state was not taken over: $(tail -5 "$T/uploader.log")"
[ "$(up_scripted_count '^POST .*/old\.tgr\?uploads$')" -eq 1 ] || tg_fail "the upload started over"
[ "$(up_scripted_count '^PUT .*/old\.tgr\?partNumber=1&')" -eq 1 ] || tg_fail "part 1 went again"
[ "$(up_scripted_count '^PUT .*/old\.tgr\?partNumber=2&')" -eq 2 ] || tg_fail "part 2 did not go again"
[ "$(ls "$MP")" = notes.txt ] || tg_fail "state/multipart/ holds $(ls "$MP")"
echo PASS
