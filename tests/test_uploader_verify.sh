#!/bin/sh
# A large recording goes up while it is verified (the metadata comes from its
# header and seal, the full verification runs beside the upload): the object's
# metadata must still be the full verification's verdict. A recording changed
# between header and seal (seal intact) must end up in S3 byte-identical, once,
# marked not sealed, the speculative upload aborted and never completed; a
# sealed one carries the same final hash as tollgate-replay finds; an unsealed
# one goes the plain way. With S3 down, the join record for the logout
# message is still written. No upload or resume state may be left behind.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

S3_DEBUG=1
export S3_DEBUG
up_setup "multipart_threshold = 5M" "part_size = 5M"
SID=0123456789abcdef0123456789abcdef
up_rec good.tgr user=gina pam=$SID bytes=9000000
up_rec bad.tgr user=hank pam=11111111111111111111111111111111 bytes=9000000
up_rec open.tgr user=ivan pam=22222222222222222222222222222222 bytes=7000000 unsealed
# one bit in the middle of bad.tgr (and of the copy S3 is compared with)
up_flip_middle "$T/spool/sessions/bad.tgr" "$T/orig/bad.tgr"
"$TG_TOP_BUILDDIR/session_recorder/tollgate-replay" verify -k "$T/keys/signing.pub" \
	"$T/spool/sessions/bad.tgr" >/dev/null 2>&1 && tg_fail "the damaged recording verifies"
want=$("$TG_TOP_BUILDDIR/session_recorder/tollgate-replay" info --json -k "$T/keys/signing.pub" "$T/spool/sessions/good.tgr" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["verification"]["final_hash"])') ||
	tg_fail "tollgate-replay info"

# S3 unreachable: nothing goes up, but the join record a logout message needs
# (place and final hash) is written once the verification is over
sed 's|^endpoint = .*|endpoint = http://127.0.0.1:9|' "$T/tollgate.conf" >"$T/down.conf"
chmod 600 "$T/down.conf"
grep -q '^endpoint = http://127.0.0.1:9$' "$T/down.conf" || tg_fail "could not point S3 at a closed port"
"$UPLOADER" -c "$T/down.conf" --once >"$T/down.log" 2>&1 && tg_fail "--once with S3 down said nothing is left"
[ -f "$T/spool/sessions/good.tgr" ] || tg_fail "good.tgr left the spool while S3 was down"
python3 - "$T/spool/state/sessions/$SID.json" "$want" <<'PY' || tg_fail "join record while S3 is down"
import json, sys
o = json.load(open(sys.argv[1]))["recordings"][0]
assert o["final_hash"] == sys.argv[2] and o["sealed"] is True and o["user"] == "gina", o
PY

rc=0
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 || rc=$?
cat "$T/uploader.log"
[ $rc -eq 0 ] || tg_fail "--once said something is left (exit $rc)"
[ "$(up_spool_left)" -eq 0 ] || tg_fail "the spool is not empty"
up_check_s3
grep -q 'bad.tgr: the full verification disagrees with its seal' "$T/uploader.log" ||
	tg_fail "the wrong guess for bad.tgr was not noticed"
grep -q 'good.tgr: the full verification disagrees' "$T/uploader.log" &&
	tg_fail "good.tgr was sent twice"
python3 - "$S3DATA" "$want" <<'PY' || tg_fail "object metadata"
import glob, json, os, sys
data, want = sys.argv[1], sys.argv[2]
meta = {}
for p in glob.glob(os.path.join(data, "tollgate", "dt=*", "**", "*._S3rver_metadata.json"), recursive=True):
    m = json.load(open(p))
    meta[m["x-amz-meta-user"]] = m
print({u: (m.get("x-amz-meta-sealed"), m.get("x-amz-meta-status")) for u, m in meta.items()})
assert set(meta) == {"gina", "hank", "ivan"}, meta.keys()
g, h, i = meta["gina"], meta["hank"], meta["ivan"]
assert g["x-amz-meta-sealed"] == "yes" and g["x-amz-meta-status"] == "success", g
assert g["x-amz-meta-final-hash"] == want, (g, want)
assert h["x-amz-meta-sealed"] == "no" and h["x-amz-meta-status"] != "success", h
assert "x-amz-meta-final-hash" not in h, h
assert i["x-amz-meta-sealed"] == "no" and "x-amz-meta-final-hash" not in i, i
PY
# the speculative upload of bad.tgr was never completed: S3 stored each object
# once (the server's request log, S3_DEBUG), so at no moment did it hold
# bad.tgr with the guessed metadata
for u in gina/good.tgr hank/bad.tgr ivan/open.tgr; do
	n=$(grep -c "Stored object \".*/$u\"" "$T/s3/s3server.log")
	[ "$n" -eq 1 ] || tg_fail "$u was stored $n times"
done
# and aborted, not left to be billed
[ -d "$S3DATA/._S3rver_uploads" ] || tg_fail "no uploads folder on the server"
left=$(find "$S3DATA/._S3rver_uploads" -mindepth 1 -maxdepth 1 | wc -l)
[ "$left" -eq 0 ] || tg_fail "$left multipart upload(s) left on the server"
[ -z "$(find "$T/spool/state/multipart" -type f)" ] || tg_fail "resume state left behind"

# a recording whose header cannot be read (its magic damaged) is shipped as it is, and its
# session's logout names it, not "no recording"
up_rec dmg.tgr user=jill pam=33333333333333333333333333333333 bytes=3000
python3 - "$T/spool/sessions/dmg.tgr" <<'PY' || tg_fail "damage the header"
import sys
with open(sys.argv[1], "r+b") as f:
    f.write(b"X")
PY
"$TG_TOP_BUILDDIR/session_recorder/tollgate-replay" info -k "$T/keys/signing.pub" \
	"$T/spool/sessions/dmg.tgr" >/dev/null 2>&1 && tg_fail "the damaged header can be read"
up_session_event 3 logout jill 33333333333333333333333333333333
# their logouts on Slack: the changed recording is not passed off as one a crash left unsealed
up_session_event 1 logout hank 11111111111111111111111111111111
up_session_event 2 logout ivan 22222222222222222222222222222222
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once with the logouts"
up_messages | grep 'SSH logout: hank' | grep -q 'Final chain hash: none: the recording DOES NOT VERIFY' ||
	tg_fail "the logout of the changed recording does not say it does not verify: $(up_messages | grep 'SSH logout: hank')"
up_messages | grep 'SSH logout: ivan' | grep -q 'Final chain hash: none: the recording is not sealed' ||
	tg_fail "the logout of the unsealed recording: $(up_messages | grep 'SSH logout: ivan')"
grep -q "session 33333333333333333333333333333333) ended with no recording" "$T/uploader.log" &&
	tg_fail "the logout of the recording with a damaged header raised no_recording"
up_messages | grep 'SSH logout: jill' | grep -q 'Final chain hash: none: the recording DOES NOT VERIFY' ||
	tg_fail "the logout of the recording with a damaged header: $(up_messages | grep 'SSH logout: jill')"
echo PASS
