#!/bin/sh
# A recording's S3 key holds its file name with the characters a key should
# not hold made '_': `a b.tgr` and `a_b.tgr` went to the same key, and the
# second upload overwrote the first in S3 (no versioning) after the first had
# left the host. Distinct names now get distinct keys; a name as the recorder
# makes them (hex) keeps its key.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
HEX=0123456789abcdef0123456789abcdef
up_rec "a b.tgr" user=alice bytes=500
up_rec a_b.tgr user=alice bytes=700
up_rec "$HEX.tgr" user=alice bytes=600
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 ||
	tg_fail "--once: exit $?: $(tail -5 "$T/uploader.log")"
up_no_recs || tg_fail "recordings left in the spool: $(ls "$T/spool/sessions")"
up_s3_objects tollgate | sort
[ "$(up_s3_objects tollgate | grep -c "/alice/")" -eq 3 ] ||
	tg_fail "three recordings, but $(up_s3_objects tollgate | grep -c "/alice/") objects in S3"
up_s3_objects tollgate | grep -q "/alice/$HEX.tgr._S3rver_object\$" ||
	tg_fail "a hex-named recording's key changed"
up_check_s3
echo PASS
