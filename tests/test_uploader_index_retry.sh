#!/bin/sh
# A recording S3 confirmed whose index line then failed (503 SlowDown past the client's own
# retries) is not sent again when its job is retried: only the index line goes, and the
# recording leaves the spool once both are in. S3 here is tests/servers/scripted_s3.py, which
# answers each request as scripted and logs it.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
up_rec $A.tgr user=alice
slow='{"status": 503, "body": "<Error><Code>SlowDown</Code><Message>slow</Message></Error>"}'
# the recording's PUT is stored; the index line's PUT gets SlowDown, more times than one job
# tries; then everything is answered 200
printf '[{"status": 200, "headers": {"ETag": "\\"r\\""}}, %s, %s, %s, %s]\n' \
	"$slow" "$slow" "$slow" "$slow" >"$T/script.json"
python3 "$TG_TOP_SRCDIR/tests/servers/scripted_s3.py" "$T/scripted.port" "$T/scripted.log" \
	"$T/script.json" >"$T/scripted.out" 2>&1 &
SCRIPTED_PID=$!
trap 'tg_stop_pid "$SCRIPTED_PID"; up_cleanup' EXIT
tg_wait_file "$T/scripted.port" "the scripted S3 did not start"
sed -i -e "s|^endpoint = .*|endpoint = http://127.0.0.1:$(cat "$T/scripted.port")|" \
	-e 's|^bucket = .*|bucket = scripted|' "$T/tollgate.conf"
up_start
up_wait_until 30 "the recording did not leave the spool" up_no_recs
cat "$T/uploader.log"
puts() {
	python3 - "$T/scripted.log" "$1" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["method"] == "PUT" and r["path"].split("?")[0].endswith(sys.argv[2]):
        n += 1
print(n)
PY
}
grep -q "upload of $A.tgr failed, will retry: .*SlowDown" "$T/uploader.log" ||
	tg_fail "the index line did not fail as scripted"
[ "$(puts "/alice/$A.tgr")" -eq 1 ] ||
	tg_fail "the recording was sent $(puts "/alice/$A.tgr") times, not once"
[ "$(puts "/$A.json")" -ge 2 ] || tg_fail "the index line was not sent again"
grep -q "$A.tgr: S3 has it already" "$T/uploader.log" || tg_fail "the skip is not logged"
[ -z "$(ls "$T/spool/state/multipart")" ] ||
	tg_fail "state/multipart/ keeps $(ls "$T/spool/state/multipart")"
echo PASS
