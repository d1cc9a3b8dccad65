#!/bin/sh
# Proxies and plain http: a request to an http:// (loopback) endpoint goes
# straight to it, never through $http_proxy, $HTTP_PROXY or $ALL_PROXY, which
# would get the Authorization header, the session token and the body in clear
# text (doc/s3.md allows http:// only so that plain text never leaves the
# host); an https:// endpoint still goes through $https_proxy (CONNECT: TLS
# stays end to end). The proxy is tests/servers/connect_proxy.py, which logs
# every connection; the S3 server is the real one that checks signatures.
# Uploads (one PUT, multipart in parallel), reads (GET, HEAD, LIST) and
# tollgate-replay's S3 reads all go the same way.
. "$(dirname "$0")/lib.sh"
set -eu

tg_need_cmd python3
cli="$TG_TOP_BUILDDIR/tests/s3cli"
replay="$TG_TOP_BUILDDIR/session_recorder/tollgate-replay"
recgen="$TG_TOP_BUILDDIR/tests/uploader-recgen"
server="$TG_TOP_SRCDIR/tests/s3server.sh"
for b in "$cli" "$replay" "$recgen"; do
	[ -x "$b" ] || tg_fail "$b is not built"
done
tmp=$(tg_mktemp_dir)
proxy_pid=
cleanup() {
	tg_stop_pid "$proxy_pid"
	"$server" stop "$tmp/s3" >/dev/null 2>&1 || true
	"$server" stop "$tmp/tls" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

set +e
out=$("$server" start "$tmp/s3")
rc=$?
set -e
[ $rc -eq 77 ] && tg_skip "the S3 test server is not installed (cd tests/servers && npm ci)"
[ $rc -eq 0 ] || tg_fail "tests/s3server.sh start failed ($rc)"
eval "$out"
data="$tmp/s3/data/$TG_S3_BUCKET"

python3 "$TG_TOP_SRCDIR/tests/servers/connect_proxy.py" "$tmp/proxy.port" "$tmp/proxy.log" \
	>"$tmp/proxy.err" 2>&1 &
proxy_pid=$!
tg_wait_file "$tmp/proxy.port" "the proxy did not start"
proxy=http://127.0.0.1:$(cat "$tmp/proxy.port")

pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
# every variable libcurl reads for a proxy, and none that exempts a host
proxied() {
	env -u no_proxy -u NO_PROXY http_proxy="$proxy" HTTP_PROXY="$proxy" \
		https_proxy="$proxy" HTTPS_PROXY="$proxy" all_proxy="$proxy" ALL_PROXY="$proxy" "$@"
}
# expect CODE CMD...: run and require that exit status
expect() {
	want=$1
	shift
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || {
		cat "$tmp/out" "$tmp/err" >&2
		[ ! -s "$tmp/proxy.log" ] || { echo "the proxy saw:" && cat "$tmp/proxy.log"; } >&2
		tg_fail "exit $got, wanted $want: $*"
	}
}
no_proxy_use() {
	[ ! -s "$tmp/proxy.log" ] || tg_fail "$1 went through the proxy: $(cat "$tmp/proxy.log")"
}

# the proxy works: a request that is to use it does (else "nothing came" would prove nothing)
python3 - "$proxy" <<'EOF' || tg_fail "the proxy does not answer"
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": sys.argv[1]}))
try:
    opener.open("http://192.0.2.1/probe", timeout=10)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code == 502 else 1)
sys.exit(1)
EOF
grep -q '^GET http://192.0.2.1/probe ' "$tmp/proxy.log" || tg_fail "the proxy logged: $(cat "$tmp/proxy.log")"
: >"$tmp/proxy.log"

head -c 3000 /dev/urandom >"$tmp/small"
head -c $((11 * 1024 * 1024)) /dev/urandom >"$tmp/big"
expect 0 proxied "$cli" -c "$TG_S3_CONF" put "p/small" "$tmp/small" --meta user=alice
no_proxy_use "a PUT to an http:// loopback endpoint"
cmp "$tmp/small" "$data/p/small._S3rver_object" || tg_fail "the PUT did not store the file"
ok "a PUT to http://127.0.0.1 goes straight to it with every proxy variable set"

expect 0 proxied "$cli" -c "$TG_S3_CONF" put "p/big" "$tmp/big" --threshold 5242880 --part-size 5242880
no_proxy_use "a multipart upload (parts in parallel, each on its own connection)"
grep -q '^parts 3$' "$tmp/out" || tg_fail "multipart: $(cat "$tmp/out")"
ok "a multipart upload (3 parts, one handle each) does not use the proxy"

expect 0 proxied "$cli" -c "$TG_S3_CONF" get "p/big" "$tmp/big.back"
cmp "$tmp/big" "$tmp/big.back" || tg_fail "GET differs"
expect 0 proxied "$cli" -c "$TG_S3_CONF" head "p/small"
expect 0 proxied "$cli" -c "$TG_S3_CONF" list "p/"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || tg_fail "list: $(cat "$tmp/out")"
no_proxy_use "a GET, HEAD or LIST"
ok "GET, HEAD and LIST do not use the proxy"

# tollgate-replay reads s3:// through the same client
mkdir "$tmp/keys"
"$recgen" keygen "$tmp/keys" || tg_fail "keygen"
"$recgen" rec "$tmp/keys/signing.key" "$tmp/rec.tgr" user=alice || tg_fail "recgen"
{ cat "$TG_S3_CONF"; printf '[recorder]\npublic_key = %s\n' "$tmp/keys/signing.pub"; } >"$tmp/replay.conf"
chmod 600 "$tmp/replay.conf"
expect 0 "$cli" -c "$TG_S3_CONF" put "rec/r.tgr" "$tmp/rec.tgr"
expect 0 proxied "$replay" -c "$tmp/replay.conf" verify "s3://$TG_S3_BUCKET/rec/r.tgr"
expect 0 proxied "$replay" -c "$tmp/replay.conf" list "s3://$TG_S3_BUCKET/rec/"
grep -q 'r.tgr' "$tmp/out" || tg_fail "replay list: $(cat "$tmp/out")"
no_proxy_use "tollgate-replay's S3 reads"
ok "tollgate-replay verify and list of s3:// do not use the proxy"

# https: the proxy is still used, with CONNECT (TLS from end to end)
if command -v openssl >/dev/null 2>&1; then
	tg_s3_tls_start "$server" "$tmp/tls"
	tls_conf=$TG_TLS_CONF tls_port=$TG_TLS_PORT
	expect 0 proxied "$cli" -c "$tls_conf" put "p/tls" "$tmp/small"
	expect 0 proxied "$cli" -c "$tls_conf" get "p/tls" "$tmp/tls.back"
	cmp "$tmp/small" "$tmp/tls.back" || tg_fail "the https round trip through the proxy differs"
	grep -q "^CONNECT 127.0.0.1:$tls_port " "$tmp/proxy.log" ||
		tg_fail "https did not go through the proxy: $(cat "$tmp/proxy.log")"
	! grep -v '^CONNECT ' "$tmp/proxy.log" || tg_fail "the proxy saw a request in clear text"
	ok "https still goes through https_proxy, tunnelled with CONNECT"
else
	echo "# openssl is not installed: the https part is left out"
fi

echo "$pass passed, 0 failed"
