#!/bin/sh
# A real S3-compatible server for the tests, one that checks SigV4 signatures:
# @20minutes/s3rver (version pinned in tests/servers/package-lock.json) behind
# tests/servers/s3-server.js, which also refuses unsigned requests, checks
# x-amz-content-sha256 / x-amz-checksum-sha256 against the body, and knows
# AbortMultipartUpload and NoSuchUpload.
#
# Usage:
#   out=$(tests/s3server.sh start DIR) || exit $?   # 77: skipped, see stderr
#   eval "$out"
#   ... use $TG_S3_ENDPOINT $TG_S3_ACCESS_KEY $TG_S3_SECRET_KEY $TG_S3_BUCKET
#       $TG_S3_REGION $TG_S3_CONF (a tollgate.conf fragment: the [s3] section)
#   tests/s3server.sh stop DIR
# (call stop from an EXIT trap, and turn INT TERM HUP PIPE into an exit, e.g.
#  trap cleanup EXIT; trap 'exit 130' INT TERM HUP PIPE, so no server outlives
#  an interrupted test)
#
# start DIR  makes DIR if needed (the objects live in DIR/data), starts the
#            server on a free 127.0.0.1 port with a fresh random key pair and
#            one bucket, waits until it answers, and prints `export` lines:
#              TG_S3_ENDPOINT  http://127.0.0.1:PORT (path-style addressing)
#              TG_S3_ACCESS_KEY, TG_S3_SECRET_KEY, TG_S3_BUCKET, TG_S3_REGION
#              TG_S3_PID       the server's pid
#              TG_S3_CONF      DIR/s3.conf, an [s3] section for tollgate.conf
#            The same lines are kept in DIR/s3server.env (mode 600).
#            Optional environment: TG_S3_BUCKET (default tollgate-test),
#            TG_S3_TLS=1 (serve https with a certificate for 127.0.0.1
#            from a fresh test CA; TG_S3_CA_FILE is then exported too, and
#            s3.conf has ca_file), TG_S3_FAULT_RATE (0..1: that share of
#            requests is answered 500 / 503 SlowDown or reset),
#            TG_S3_FAULT_SEED (reproducible faults), TG_S3_LIST_MAX_KEYS
#            (small ListObjectsV2 pages), TG_S3_LIFETIME (seconds after which
#            the server ends by itself, a safety net for a test that died
#            without stopping it; default 7200, 0: never).
# stop DIR   ends the server started for DIR (by its pid; SIGKILL after 10 s).
#            Safe when nothing runs. DIR itself is left for the caller.
# status DIR exit 0 when the server for DIR runs.
#
# Exit status of start: 0 ready; 77 node or tests/servers/node_modules is
# missing (a test should exit 77 too: "SKIP: ..."); 1 it did not come up
# (DIR/s3server.log says why). node_modules is looked for in, in order:
# $TG_S3_NODE_MODULES, $TG_TOP_SRCDIR/tests/servers, this script's folder's
# servers/ (install it with `cd tests/servers && npm ci`).
set -eu

here=$(cd "$(dirname "$0")" && pwd)

die() { echo "s3server.sh: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

find_modules() {
	for d in "${TG_S3_NODE_MODULES:-}" "${TG_TOP_SRCDIR:+$TG_TOP_SRCDIR/tests/servers/node_modules}" \
		"$here/servers/node_modules"; do
		if [ -n "$d" ] && [ -f "$d/@20minutes/s3rver/package.json" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

running() {
	[ -f "$1/s3server.pid" ] || return 1
	pid=$(cat "$1/s3server.pid" 2>/dev/null) || return 1
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$pid" 2>/dev/null || return 1
	# the pid must still be our node process, not a recycled one
	grep -q 's3-server.js' "/proc/$pid/cmdline" 2>/dev/null
}

randhex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# A throw-away CA and a server certificate for 127.0.0.1 / localhost, in $1.
make_certs() {
	(
		cd "$1" && umask 077 &&
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout ca.key -out ca.pem -days 2 -subj "/CN=Tollgate test CA" &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout server.key -out server.csr -subj "/CN=127.0.0.1" &&
			printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
				"extendedKeyUsage=serverAuth" >server.ext &&
			openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
				-out server.pem -days 2 -extfile server.ext &&
			chmod 644 ca.pem
	) >"$1/certs.log" 2>&1
}

start() {
	dir=$1
	command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs npm)"
	modules=$(find_modules) || skip "tests/servers/node_modules is missing (cd tests/servers && npm ci)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if running "$dir"; then
		die "a server already runs for $dir (pid $(cat "$dir/s3server.pid")); stop it first"
	fi
	rm -f "$dir/s3server.port" "$dir/s3server.pid"
	ak="AKIA$(randhex 8 | tr a-f A-F)"
	sk=$(randhex 20)
	bucket=${TG_S3_BUCKET:-tollgate-test}
	scheme=http
	tls_key='' tls_cert='' ca_line='' ca_export=''
	if [ "${TG_S3_TLS:-0}" = 1 ]; then
		command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"
		make_certs "$dir" || die "could not make test certificates (see $dir/certs.log)"
		scheme=https
		tls_key=$dir/server.key tls_cert=$dir/server.pem
		ca_line="ca_file = $dir/ca.pem"
		ca_export="export TG_S3_CA_FILE='$dir/ca.pem'"
	fi
	# --openssl-legacy-provider: s3rver makes ListObjectsV2 continuation
	# tokens with DES, which OpenSSL 3 only has in its legacy provider
	S3_ACCESS_KEY=$ak S3_SECRET_KEY=$sk S3_BUCKET=$bucket \
		S3_FAULT_RATE=${TG_S3_FAULT_RATE:-0} S3_FAULT_SEED=${TG_S3_FAULT_SEED:-0} \
		S3_LIST_MAX_KEYS=${TG_S3_LIST_MAX_KEYS:-0} S3_TLS_KEY=$tls_key S3_TLS_CERT=$tls_cert \
		S3_LIFETIME=${TG_S3_LIFETIME:-7200} \
		NODE_PATH=$modules \
		node --openssl-legacy-provider "$here/servers/s3-server.js" "$dir" "$dir/s3server.port" \
		</dev/null >"$dir/s3server.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/s3server.pid"
	i=0
	while [ ! -s "$dir/s3server.port" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$dir/s3server.log" >&2
			die "the server exited before it was ready (see $dir/s3server.log)"
		fi
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			kill "$pid" 2>/dev/null || true
			die "the server did not come up within 30 s (see $dir/s3server.log)"
		fi
		sleep 0.1
	done
	port=$(cat "$dir/s3server.port")
	case $port in '' | *[!0-9]*) die "bad port file $dir/s3server.port" ;; esac
	umask 077
	cat >"$dir/s3.conf" <<CONF
[s3]
bucket = $bucket
region = us-east-1
endpoint = $scheme://127.0.0.1:$port
path_style = yes
$ca_line
access_key_id = $ak
secret_access_key = $sk
use_imds = no
CONF
	cat >"$dir/s3server.env" <<ENV
export TG_S3_ENDPOINT='$scheme://127.0.0.1:$port'
export TG_S3_ACCESS_KEY='$ak'
export TG_S3_SECRET_KEY='$sk'
export TG_S3_BUCKET='$bucket'
export TG_S3_REGION='us-east-1'
export TG_S3_PID='$pid'
export TG_S3_CONF='$dir/s3.conf'
$ca_export
ENV
	cat "$dir/s3server.env"
}

stop() {
	dir=$1
	[ -d "$dir" ] || return 0
	if running "$dir"; then
		pid=$(cat "$dir/s3server.pid")
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			if [ $i -eq 100 ]; then
				kill -9 "$pid" 2>/dev/null || true
			fi
			[ $i -gt 200 ] && die "pid $pid does not end"
			sleep 0.1
		done
	fi
	rm -f "$dir/s3server.pid" "$dir/s3server.port"
}

usage() { sed -n '2,/^set -eu/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 2 ] || usage
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
status) running "$2" ;;
*) usage ;;
esac
