#!/bin/sh
# The join record of a PAM session lists its recordings for the logout message.
# A read of it that failed (EIO) was taken for a record nobody could understand:
# the record was started again, and the recordings it listed were forgotten, so
# the logout named fewer of them (with none left, it raised no_recording). A
# read error is now no more a reason to forget than a failed open: the job
# fails, is tried again, and the record keeps every recording.
# strace makes the first read(2) of the join record fail with EIO.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
tg_need_cmd strace

up_setup 'workers = 1'
SID=0123456789abcdef0123456789abcdef
J=$T/spool/state/sessions/$SID.json
up_rec one.tgr user=alice pam=$SID
up_once first
[ -f "$J" ] || tg_fail "no join record after the first recording"
up_rec two.tgr user=alice pam=$SID
strace -f -qq -o "$T/strace.out" -P "$J" -e trace=read -e inject=read:error=EIO:when=1 \
	"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1
grep -q 'read(.*EIO.*INJECTED' "$T/strace.out" || tg_fail "the read of the join record was not made to fail (the test proves nothing): $(cat "$T/strace.out")"
up_once again
cat "$T/uploader.log"
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool is not empty"
grep -q "cannot be read .*started again" "$T/uploader.log" &&
	tg_fail "a failed read of the join record started it again"
python3 - "$J" <<'PY' || tg_fail "the join record lost a recording"
import json, sys
recs = json.load(open(sys.argv[1]))["recordings"]
keys = sorted(r["s3_key"].rsplit("/", 1)[1] for r in recs)
print("join record lists", keys)
assert keys == ["one.tgr", "two.tgr"], keys
PY
echo PASS
