#!/bin/sh
# tollgate-replay on s3:// objects, against the S3 test server: verify exit
# codes, cat equal to the local file's, list of a prefix, a missing object,
# and a 40 MB object verified in constant memory (streamed, never stored).
. "${TG_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
set -u

R="$TG_TOP_BUILDDIR/session_recorder/tollgate-replay"
G="$TG_TOP_BUILDDIR/tests/tg-rec-gen"
S3CLI="$TG_TOP_BUILDDIR/tests/s3cli"
[ -x "$R" ] && [ -x "$G" ] || tg_fail "build tollgate-replay and tests/tg-rec-gen first"
[ -x "$S3CLI" ] || tg_skip "tests/s3cli is not built"
T=$(tg_mktemp_dir)
scripted_pid=
trap 'tg_stop_pid "$scripted_pid"; "$TG_TOP_SRCDIR/tests/s3server.sh" stop "$T/s3" >/dev/null 2>&1; rm -rf "$T"' EXIT
# S3_DEBUG: the server logs each request (to count GETs)
env_out=$(S3_DEBUG=1 "$TG_TOP_SRCDIR/tests/s3server.sh" start "$T/s3")
case $? in
0) eval "$env_out" ;;
77) tg_skip "no S3 test server (tests/servers: npm ci)" ;;
*) tg_fail "S3 test server did not start: $(cat "$T/s3/s3server.log" 2>/dev/null)" ;;
esac
cd "$T" || exit 99
mkdir k other
"$G" keygen k && "$G" keygen other || tg_fail keygen
{ cat "$TG_S3_CONF"; printf '[recorder]\npublic_key = %s/k/signing.pub\n' "$T"; } >conf
chmod 600 conf
"$G" script k/signing.key good.tgr <"$TG_TOP_SRCDIR/tests/data/replay-session.txt" || tg_fail gen
head -c $(($(stat -c %s good.tgr) - 100)) good.tgr >cut.tgr
cp good.tgr bad.tgr
off=$(grep -abo 'hunter2' good.tgr | head -1 | cut -d: -f1)
printf 'X' | dd of=bad.tgr bs=1 seek="$off" conv=notrunc 2>/dev/null
"$G" bulk k/signing.key big.tgr 40000000 || tg_fail gen big
for f in good cut bad big; do
	"$S3CLI" -c conf put "rec/$f.tgr" "$f.tgr" >/dev/null || tg_fail "put $f"
done
B=$TG_S3_BUCKET

expect() {
	want=$1; shift
	"$@" >out.txt 2>err.txt
	got=$?
	[ "$got" -eq "$want" ] || { cat out.txt err.txt; tg_fail "$* exited $got, expected $want"; }
}
expect 0 "$R" -c conf verify "s3://$B/rec/good.tgr"
grep -q "sealed and intact" out.txt || tg_fail "verify: $(cat out.txt)"
expect 2 "$R" -c conf verify "s3://$B/rec/cut.tgr"
expect 1 "$R" -c conf verify "s3://$B/rec/bad.tgr"
expect 1 "$R" -c conf --key other/signing.pub verify "s3://$B/rec/good.tgr"
expect 3 "$R" -c conf verify "s3://$B/rec/missing.tgr"
# a prefix ending in / stands for every recording under it: each verified, in
# name order, the worst verdict the exit status; a prefix with none is an error
expect 1 "$R" -c conf verify "s3://$B/rec/"
[ "$(grep -c "^s3://$B/rec/" out.txt)" -eq 4 ] || tg_fail "verify of a prefix: $(cat out.txt)"
[ "$(sed -n 's|^s3://[^/]*/rec/\([a-z]*\)\.tgr:.*|\1|p' out.txt | tr '\n' ' ')" = "bad big cut good " ] ||
	tg_fail "verify of a prefix: not each once, in name order: $(cat out.txt)"
grep -q "^s3://$B/rec/good.tgr: sealed and intact" out.txt || tg_fail "verify of a prefix: $(cat out.txt)"
expect 3 "$R" -c conf verify "s3://$B/nothing-here/"
grep -q "no recordings" err.txt || tg_fail "verify of an empty prefix: $(cat err.txt)"
expect 3 "$R" -c conf verify "s3://$B"
expect 3 "$R" -c conf list "s3://$B/nothing-here/"
grep -q "s3://$B/nothing-here/: no recordings" err.txt || tg_fail "list of an empty prefix: $(cat out.txt err.txt)"
# GETs of good.tgr answered with a body (PUTs answer 0b)
gets() { grep "rec/good.tgr 200 " "$T/s3/s3server.log" | grep -vc ' 0b$'; }
before=$(gets)
expect 0 "$R" -c conf cat "s3://$B/rec/good.tgr"
"$R" -c conf cat good.tgr >local.txt
cmp -s out.txt local.txt || tg_fail "cat from S3 differs from the local file's"
# verified and shown from one GET: a second one could be served another object
# (the server logs a request when its answer is done, which may come after the
# client has read the body and gone: wait for the line, at most 30 s, as a loaded machine
# may keep the server from writing it for a while)
i=0
while [ $(($(gets) - before)) -lt 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ $(($(gets) - before)) -eq 1 ] || tg_fail "cat made $(($(gets) - before)) GETs of the object, not 1"
expect 0 "$R" -c conf search 'password' "s3://$B/rec/good.tgr"
grep -q "0:00:03.100 s3://$B/rec/good.tgr: the password" out.txt || tg_fail "search s3: $(cat out.txt)"
# over a prefix: the match in good.tgr is found; bad.tgr (tampered) makes it exit 1
expect 1 "$R" -c conf search 'password' "s3://$B/rec/"
grep -q "0:00:03.100 s3://$B/rec/good.tgr: the password" out.txt || tg_fail "search of a prefix: $(cat out.txt)"
expect 0 "$R" -c conf info --json "s3://$B/rec/good.tgr"
grep -q '"status": "sealed"' out.txt || tg_fail "info s3"
expect 1 "$R" -c conf list "s3://$B/rec/"
[ "$(grep -c "s3://$B/rec/" out.txt)" -eq 4 ] || tg_fail "list: $(cat out.txt)"
grep -q "UNSEALED .*cut.tgr" out.txt && grep -q "TAMPERED .*bad.tgr" out.txt &&
	grep -q "sealed .*big.tgr" out.txt || tg_fail "list statuses: $(cat out.txt)"
# a key of 1024 bytes, the most S3 (and the uploader's key template) allows, is readable
seg=$(printf '%0200d' 0)
long="deep/$seg/$seg/$seg/$seg/$seg/"
long="$long$(printf '%0*d' $((1024 - ${#long} - 4)) 0).tgr"
[ ${#long} -eq 1024 ] || tg_fail "long key is ${#long} bytes"
"$S3CLI" -c conf put "$long" good.tgr >/dev/null || tg_fail "put of a 1024-byte key"
expect 0 "$R" -c conf verify "s3://$B/$long"
grep -q "sealed and intact" out.txt || tg_fail "verify of a 1024-byte key: $(cat out.txt)"
expect 0 "$R" -c conf verify "s3://$B/deep/"
grep -q "sealed and intact" out.txt || tg_fail "verify of a prefix with a 1024-byte key: $(cat out.txt)"
# a GET cut midway goes on with Range and If-Match; a server that answers that with other
# bytes than the rest (here the whole object again, as a 206 from byte 0) is an I/O error
# that says so (exit 3), not bytes spliced in that would read as tampering
python3 - good.tgr script.json <<'PY' || tg_fail "make script.json"
import base64, json, sys
d = open(sys.argv[1], "rb").read()
b64 = lambda b: base64.b64encode(b).decode()
json.dump([{"status": 200, "headers": {"ETag": '"v1"'}, "body_b64": b64(d[:1000]), "length": len(d)},
           {"status": 206, "headers": {"ETag": '"v1"', "Content-Range": "bytes 0-%d/%d" % (len(d) - 1, len(d))},
            "body_b64": b64(d)}], open(sys.argv[2], "w"))
PY
python3 "$TG_TOP_SRCDIR/tests/servers/scripted_s3.py" scripted.port scripted.log script.json &
scripted_pid=$!
tg_wait_file scripted.port "tests/servers/scripted_s3.py did not start"
sed -e "s|^endpoint = .*|endpoint = http://127.0.0.1:$(cat scripted.port)|" conf >conf.scripted
chmod 600 conf.scripted
expect 3 "$R" -c conf.scripted verify s3://scripted/rec/good.tgr
tg_stop_pid "$scripted_pid"
scripted_pid=
grep -q "S3 GET: HTTP 206 BadRange asked for bytes 1000- (to the end), answered Content-Range \"bytes 0-" err.txt ||
	tg_fail "a resumed GET answered with another range: $(cat out.txt err.txt)"
[ "$(grep -c '"method": "GET"' scripted.log)" -eq 2 ] || tg_fail "not one GET and one resumed: $(cat scripted.log)"
grep -q '"range": "bytes=1000-"' scripted.log || tg_fail "no resumed GET: $(cat scripted.log)"
# the big object streams: memory stays far below its size
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f '%M' -o rss.txt "$R" -c conf verify "s3://$B/rec/big.tgr" >out.txt 2>&1 ||
		tg_fail "verify big: $(cat out.txt)"
	rss=$(tail -1 rss.txt)
	[ "$rss" -lt 32768 ] || tg_fail "verify of a 40 MB object used $rss KiB"
	# a reader that stops early ends the GET: cat | head returns at once
	"$R" -c conf cat "s3://$B/rec/big.tgr" 2>/dev/null | head -c 1000 >head.txt
	[ "$(stat -c %s head.txt)" -eq 1000 ] || tg_fail "cat | head"
fi
exit 0
