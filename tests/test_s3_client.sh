#!/bin/sh
# The S3 client (uploader/libtgs3, through tests/s3cli) against a real
# S3-compatible server that checks SigV4 (tests/s3server.sh): PUT, multipart,
# GET, LIST (paginated), HEAD, metadata, SSE / Object Lock / storage class
# headers, refusals (wrong secret, wrong key id, missing bucket, http to a
# non-loopback host), resume after kill -9 of a multipart upload, restart
# and abort of an orphaned upload, and retries under injected faults.
. "$(dirname "$0")/lib.sh"
set -eu

cli="$TG_TOP_BUILDDIR/tests/s3cli"
server="$TG_TOP_SRCDIR/tests/s3server.sh"
[ -x "$cli" ] || tg_fail "$cli is not built"
tmp=$(tg_mktemp_dir)
cleanup() {
	"$server" stop "$tmp/s3" || true
	"$server" stop "$tmp/faulty" || true
	"$server" stop "$tmp/tls" || true
	rm -rf "$tmp"
}
trap cleanup EXIT
# an interrupted run (Ctrl-C, a closed pipe) must not leave servers behind
trap 'exit 130' INT TERM HUP PIPE

set +e
out=$(TG_S3_LIST_MAX_KEYS=3 "$server" start "$tmp/s3")
rc=$?
set -e
[ $rc -eq 77 ] && tg_skip "the S3 test server is not installed (cd tests/servers && npm ci)"
[ $rc -eq 0 ] || tg_fail "tests/s3server.sh start failed ($rc)"
eval "$out"
data="$tmp/s3/data/$TG_S3_BUCKET"

pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
s3() { "$cli" -c "$TG_S3_CONF" "$@"; }
# expect CODE CMD...: run and require that exit status
expect() {
	want=$1
	shift
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || { cat "$tmp/out" "$tmp/err" >&2; tg_fail "exit $got, wanted $want: $*"; }
}

head -c 3000 /dev/urandom >"$tmp/small"
: >"$tmp/empty"
head -c $((20 * 1024 * 1024 + 12345)) /dev/urandom >"$tmp/big"
mp="--threshold 5242880 --part-size 5242880"

# PUT with metadata and a content type; HEAD; GET
expect 0 s3 put "sessions/alice/s 1+x.trec" "$tmp/small" --type application/x-tollgate-recording \
	--meta user=alice --meta host=web-1 --meta sealed=yes
grep -q '^parts 1$' "$tmp/out" || tg_fail "small put: $(cat "$tmp/out")"
# s3rver keeps an object's metadata as JSON beside it; read it with python (independent of us)
meta_of() {
	python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m.get(sys.argv[2], ""))' \
		"$data/$1._S3rver_metadata.json" "$2"
}
[ "$(meta_of "sessions/alice/s 1+x.trec" x-amz-meta-user)" = alice ] || tg_fail "metadata user not stored"
[ "$(meta_of "sessions/alice/s 1+x.trec" x-amz-meta-sealed)" = yes ] || tg_fail "metadata sealed not stored"
[ "$(meta_of "sessions/alice/s 1+x.trec" content-type)" = application/x-tollgate-recording ] ||
	tg_fail "content type not stored"
expect 0 s3 put "sessions/empty-meta" "$tmp/small" --meta note= --meta user=dave
[ "$(meta_of sessions/empty-meta x-amz-meta-user)" = dave ] || tg_fail "metadata with an empty value"
# blanks only: libcurl would drop "Name:   ", which is signed, and S3 would refuse the signature
expect 0 s3 put "sessions/blank-meta" "$tmp/small" --meta "note=   " --meta user=erin
[ "$(meta_of sessions/blank-meta x-amz-meta-user)" = erin ] || tg_fail "metadata with a blank value"
ok "PUT with metadata and content type (an empty and a blank metadata value too)"
expect 0 s3 head "sessions/alice/s 1+x.trec"
grep -q '^size 3000$' "$tmp/out" || tg_fail "head: $(cat "$tmp/out")"
ok "HEAD gives the size"
expect 0 s3 get "sessions/alice/s 1+x.trec" "$tmp/small.back"
cmp "$tmp/small" "$tmp/small.back" || tg_fail "GET differs"
ok "GET gives the same bytes"
expect 0 s3 put "sessions/empty" "$tmp/empty"
expect 0 s3 get "sessions/empty" "$tmp/empty.back"
[ ! -s "$tmp/empty.back" ] || tg_fail "empty object is not empty"
ok "an empty object"
expect 3 s3 head "sessions/none"
expect 3 s3 get "sessions/none" "$tmp/none"
ok "HEAD and GET of a missing key: not found"

# dot segments in a key: signed as sent (libcurl must not squash them after signing)
expect 0 s3 put "sessions/./dots/../dotted" "$tmp/small"
expect 0 s3 get "sessions/./dots/../dotted" "$tmp/dots.back"
cmp "$tmp/small" "$tmp/dots.back" || tg_fail "GET of a key with dot segments differs"
ok "a key with . and .. segments is accepted by a verifying server"

# SSE-KMS pair, Object Lock, storage class: all signed, all accepted by a verifying server
expect 0 s3 -o s3.sse=aws:kms -o "s3.kms_key_id=arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab" \
	-o s3.object_lock_mode=COMPLIANCE -o s3.object_lock_days=30 -o s3.storage_class=STANDARD_IA \
	put "sessions/locked" "$tmp/small" --meta user=bob
[ "$(meta_of sessions/locked x-amz-storage-class)" = STANDARD_IA ] || tg_fail "storage class not stored"
expect 0 s3 -o s3.sse=AES256 put "sessions/sse-s3" "$tmp/small"
ok "SSE-KMS, SSE-S3, Object Lock and storage class headers signed and accepted"

# multipart: 20 MiB in 5 MiB parts, each with its checksum
expect 0 s3 put "sessions/big" "$tmp/big" $mp --meta user=carol
grep -q '^parts 5$' "$tmp/out" || tg_fail "multipart: $(cat "$tmp/out")"
expect 0 s3 get "sessions/big" "$tmp/big.back"
cmp "$tmp/big" "$tmp/big.back" || tg_fail "multipart GET differs"
[ "$(meta_of sessions/big x-amz-meta-user)" = carol ] || tg_fail "multipart metadata"
ok "multipart upload (5 parts) reads back identical, with its metadata"

# LIST with pagination (the server answers 3 keys a page)
for i in 1 2 3 4 5 6 7; do
	expect 0 s3 put "list/k$i &<x>" "$tmp/small"
done
expect 0 s3 list "list/"
[ "$(wc -l <"$tmp/out")" -eq 7 ] || tg_fail "list: $(cat "$tmp/out")"
grep -q '^list/k7 &<x> 3000$' "$tmp/out" || tg_fail "list keys: $(cat "$tmp/out")"
expect 0 s3 list "nothing/"
[ ! -s "$tmp/out" ] || tg_fail "empty list"
ok "ListObjectsV2 over 3 pages, keys with XML specials"

# refusals: these must not be retried, and say why
expect 4 s3 -o s3.secret_access_key=wrongsecret put "sessions/x" "$tmp/small"
grep -q 'code=SignatureDoesNotMatch retryable=0' "$tmp/err" || tg_fail "wrong secret: $(cat "$tmp/err")"
[ ! -e "$data/sessions/x._S3rver_object" ] || tg_fail "a wrongly signed PUT was stored"
ok "a request signed with a wrong secret is refused (403, not retryable)"
expect 4 s3 -o s3.access_key_id=AKIANOSUCHKEY get "sessions/big" "$tmp/x"
grep -q 'code=InvalidAccessKeyId' "$tmp/err" || tg_fail "wrong key id: $(cat "$tmp/err")"
ok "an unknown access key id is refused"
expect 3 s3 -o s3.bucket=no-such-bucket put "x" "$tmp/small"
grep -q 'code=NoSuchBucket retryable=0' "$tmp/err" || tg_fail "no bucket: $(cat "$tmp/err")"
ok "NoSuchBucket: not found, not retryable"
expect 2 s3 -o s3.endpoint=http://s3.example.com:9000 head x
grep -q 'loopback' "$tmp/err" || tg_fail "http refusal: $(cat "$tmp/err")"
ok "plain http to a non-loopback host is refused with a clear message"

# resume after kill -9 in the middle of a multipart upload
state="$tmp/state/big.upload"
mkdir -p "$tmp/state"
expect 137 s3 put "sessions/resumed" "$tmp/big" $mp --resume "$state" --die-after-parts 2
[ "$(grep -c '^part ' "$state")" -eq 2 ] || tg_fail "state after kill: $(cat "$state")"
expect 0 s3 put "sessions/resumed" "$tmp/big" $mp --resume "$state"
grep -q '^parts 3$' "$tmp/out" || tg_fail "resume sent again what was done: $(cat "$tmp/out")"
[ ! -e "$state" ] || tg_fail "the state file outlived the upload"
expect 0 s3 get "sessions/resumed" "$tmp/big.back"
cmp "$tmp/big" "$tmp/big.back" || tg_fail "resumed upload differs"
ok "kill -9 mid-upload, then resume: only the missing parts are sent, the object is identical"

# an upload of many parts writes its state at most once a second, not after every part: a
# resume sends again the parts finished since (here: the state is written for the first part
# only, as if the others all came within one interval)
expect 137 s3 put "sessions/sparse" "$tmp/big" $mp --resume "$state" --save-every-part-max 2 --die-after-parts 4
expect 0 s3 put "sessions/sparse" "$tmp/big" $mp --resume "$state" --save-every-part-max 2
grep -q '^parts 4$' "$tmp/out" || tg_fail "sparse state: $(cat "$tmp/out")"
expect 0 s3 get "sessions/sparse" "$tmp/big.back"
cmp "$tmp/big" "$tmp/big.back" || tg_fail "the upload resumed from a sparse state differs"
ok "a state written less often than every part: the resume sends the rest again, the object is identical"

# the file changed since: the old upload is an orphan, aborted, and the upload starts over
expect 137 s3 put "sessions/changed" "$tmp/big" $mp --resume "$state" --die-after-parts 1
old=$(sed -n 's/^upload_id //p' "$state")
[ -d "$data/._S3rver_uploads/$old" ] || tg_fail "no upload $old in flight"
touch -d '2001-01-01' "$tmp/big"
expect 0 s3 put "sessions/changed" "$tmp/big" $mp --resume "$state"
grep -q '^parts 5$' "$tmp/out" || tg_fail "restart: $(cat "$tmp/out")"
[ ! -d "$data/._S3rver_uploads/$old" ] || tg_fail "orphan upload $old was not aborted"
ok "a changed file restarts cleanly and the orphaned upload is aborted"

# the threshold raised since: the file goes up in one PUT, and the upload its resume state
# names is aborted, not left to be billed
expect 137 s3 put "sessions/now-single" "$tmp/big" $mp --resume "$state" --die-after-parts 1
old=$(sed -n 's/^upload_id //p' "$state")
[ -d "$data/._S3rver_uploads/$old" ] || tg_fail "no upload $old in flight"
expect 0 s3 put "sessions/now-single" "$tmp/big" --threshold 1073741824 --resume "$state"
[ ! -d "$data/._S3rver_uploads/$old" ] || tg_fail "orphan upload $old was not aborted after a single PUT"
[ ! -e "$state" ] || tg_fail "the resume state outlived the upload"
ok "a file that now goes up in one PUT aborts the multipart upload its resume state names"

# other object headers than the upload was created with: it is not resumed (it
# would be completed with the old ones), but aborted and started over
expect 137 s3 put "sessions/remeta" "$tmp/big" $mp --resume "$state" --meta sealed=yes --die-after-parts 1
old=$(sed -n 's/^upload_id //p' "$state")
grep -q '^headers [0-9a-f]\{64\}$' "$state" || tg_fail "no headers line: $(cat "$state")"
expect 0 s3 put "sessions/remeta" "$tmp/big" $mp --resume "$state" --meta sealed=no
grep -q '^parts 5$' "$tmp/out" || tg_fail "other headers, resumed: $(cat "$tmp/out")"
[ ! -d "$data/._S3rver_uploads/$old" ] || tg_fail "the upload with the old headers was not aborted"
grep -q '"x-amz-meta-sealed": "no"' "$data/sessions/remeta._S3rver_metadata.json" ||
	tg_fail "metadata: $(cat "$data/sessions/remeta._S3rver_metadata.json")"
ok "a resume with other object headers starts over and aborts the old upload"

# the upload id is gone on the server: start over without failing
expect 137 s3 put "sessions/gone" "$tmp/big" $mp --resume "$state" --die-after-parts 1
old=$(sed -n 's/^upload_id //p' "$state")
expect 0 s3 abort "sessions/gone" "$old"
expect 0 s3 put "sessions/gone" "$tmp/big" $mp --resume "$state"
expect 0 s3 get "sessions/gone" "$tmp/big.back"
cmp "$tmp/big" "$tmp/big.back" || tg_fail "restarted upload differs"
ok "an upload id that no longer exists (NoSuchUpload) restarts cleanly"

# the state names a part S3 has not got as named (InvalidPart on Complete):
# start over instead of sending the same Complete for ever
expect 137 s3 put "sessions/badpart" "$tmp/big" $mp --resume "$state" --die-after-parts 2
old=$(sed -n 's/^upload_id //p' "$state")
sed '0,/^part /s/^\(part [0-9]* \)[^ ]*/\1"00000000000000000000000000000000"/' "$state" >"$state.new"
mv "$state.new" "$state"
grep -q '^part [0-9]* "0\{32\}" ' "$state" || tg_fail "state not edited: $(cat "$state")"
expect 0 s3 put "sessions/badpart" "$tmp/big" $mp --resume "$state"
# the 3 parts still missing, then all 5 again
grep -q '^parts 8$' "$tmp/out" || tg_fail "InvalidPart restart: $(cat "$tmp/out")"
[ ! -d "$data/._S3rver_uploads/$old" ] || tg_fail "the upload with the bad part was not aborted"
expect 0 s3 get "sessions/badpart" "$tmp/big.back"
cmp "$tmp/big" "$tmp/big.back" || tg_fail "restarted upload differs"
[ ! -e "$state" ] || tg_fail "the state file outlived the upload"
ok "a part S3 has not got as the state says (InvalidPart) restarts cleanly"

# a torn or hostile state file is not trusted
printf 'tollgate-s3-multipart 1\nkey sessions/torn\nfile 1' >"$state"
expect 0 s3 put "sessions/torn" "$tmp/big" $mp --resume "$state"
grep -q '^parts 5$' "$tmp/out" || tg_fail "torn state: $(cat "$tmp/out")"
ok "a torn state file is ignored"

# TLS: verified against ca_file; without it (the system's CAs) the test CA is refused, for good
if command -v openssl >/dev/null 2>&1; then
	tg_s3_tls_start "$server" "$tmp/tls"
	tls_conf=$TG_TLS_CONF
	expect 0 "$cli" -c "$tls_conf" put "tls/a" "$tmp/big" $mp
	expect 0 "$cli" -c "$tls_conf" get "tls/a" "$tmp/big.back"
	cmp "$tmp/big" "$tmp/big.back" || tg_fail "TLS round trip differs"
	expect 1 "$cli" -c "$tls_conf" -o s3.ca_file= head "tls/a"
	grep -q 'code=Transport retryable=0' "$tmp/err" || tg_fail "TLS refusal: $(cat "$tmp/err")"
	"$server" stop "$tmp/tls"
	ok "https: verified with ca_file; an unknown CA is refused, not retried"
else
	echo "# openssl is not installed: the TLS part is left out"
fi

# retries: 30% of requests answered 500, 503 SlowDown or reset (a fixed seed: reproducible)
set +e
out=$(TG_S3_FAULT_RATE=0.3 TG_S3_FAULT_SEED=12345 "$server" start "$tmp/faulty")
rc=$?
set -e
[ $rc -eq 0 ] || tg_fail "faulty server did not start"
faulty_conf=$(printf '%s\n' "$out" | sed -n "s/^export TG_S3_CONF='\(.*\)'$/\1/p")
# one attempt only: a failure is reported retryable so the daemon keeps the file
# (first, one request at a time: with the fixed seed the same requests fail every run)
fails=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	set +e
	"$cli" -c "$faulty_conf" -r 1 put "g/$i" "$tmp/small" >/dev/null 2>"$tmp/err"
	rc=$?
	set -e
	if [ $rc -ne 0 ]; then
		[ $rc -eq 5 ] && grep -q 'retryable=1' "$tmp/err" || tg_fail "fault not retryable: $(cat "$tmp/err")"
		fails=$((fails + 1))
	fi
done
[ $fails -gt 0 ] || tg_fail "the fault injection injected nothing"
for i in 1 2 3 4 5 6; do
	expect 0 "$cli" -c "$faulty_conf" -r 12 put "f/$i" "$tmp/small"
done
expect 0 "$cli" -c "$faulty_conf" -r 12 put "f/big" "$tmp/big" $mp
for i in 1 2 3 4 5 6; do
	expect 0 "$cli" -c "$faulty_conf" -r 12 get "f/$i" "$tmp/f.back"
	cmp "$tmp/small" "$tmp/f.back" || tg_fail "f/$i differs"
done
expect 0 "$cli" -c "$faulty_conf" -r 12 get "f/big" "$tmp/big.back"
cmp "$tmp/big" "$tmp/big.back" || tg_fail "f/big differs"
ok "under injected 500 / 503 SlowDown / resets every object arrives intact; single failures are retryable"

echo "$pass passed, 0 failed"
