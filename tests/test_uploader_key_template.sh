#!/bin/sh
# A key_template without {session_id} names one object for many sessions:
# each recording overwrote the one before it in S3, and the uploader removed
# each from the host once S3 had it, so all but the last were gone. Such a
# template (and one that does not expand) is now refused: at the start
# (s3_config, and `status` says S3 is not usable, exit 2) and by every
# upload, which keeps the recording. So is one without {ext}: x.tgr and x.old
# would share a key.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'key_template = {prefix}/dt={date}/host={host}/{user}{ext}'
# [s3] comes first in the file: move the key there
python3 - "$T/tollgate.conf" <<'PY' || tg_fail "config"
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
extra = [l for l in lines if l.startswith("key_template")]
lines = [l for l in lines if not l.startswith("key_template")]
i = lines.index("[s3]") + 1
open(p, "w").write("\n".join(lines[:i] + extra + lines[i:]) + "\n")
PY
st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status with a key_template without {session_id}: exit $st, not 2: $(cat "$T/out" "$T/err")"
grep -q '^S3: not usable: .*key_template' "$T/out" || tg_fail "status does not say why: $(cat "$T/out")"

up_rec one.tgr user=alice bytes=500
up_rec two.tgr user=alice bytes=700
up_start
alerted() { grep -q 'alert s3_config: .*key_template' "$T/uploader.log"; }
up_wait_until 20 "no s3_config alert for the key_template" alerted
sleep 5 # two rescans: time for uploads that should not happen
[ -f "$T/spool/sessions/one.tgr" ] && [ -f "$T/spool/sessions/two.tgr" ] ||
	tg_fail "a recording left the spool under a key_template that names one object for both"
n=$(up_s3_objects tollgate | grep -vc /events/ || true)
[ "$n" -eq 0 ] || tg_fail "$n recordings in S3 under a key_template without {session_id}"
tg_stop_pid "$UP_PID"
UP_PID=

# without {ext}: a.tgr and a.old named one object, the second upload overwrote the first, and
# both left the host. Refused as well
sed -i 's|^key_template = .*|key_template = {prefix}/dt={date}/host={host}/{user}/{session_id}.tgr|' "$T/tollgate.conf"
st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status with a key_template without {ext}: exit $st, not 2: $(cat "$T/out" "$T/err")"
grep -q '^S3: not usable: .*key_template has no {ext}' "$T/out" || tg_fail "status does not say why: $(cat "$T/out")"
up_rec a.tgr user=alice bytes=1000
up_rec a.old user=alice bytes=5000
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || true
[ -f "$T/spool/sessions/a.tgr" ] && [ -f "$T/spool/sessions/a.old" ] ||
	tg_fail "a recording left the spool under a key_template without {ext}"
n=$(up_s3_objects tollgate | grep -vc /events/ || true)
[ "$n" -eq 0 ] || tg_fail "$n recordings in S3 under a key_template without {ext}"
echo PASS
