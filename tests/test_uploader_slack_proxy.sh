#!/bin/sh
# A Slack webhook at an http:// loopback URL (a local relay; slack_new takes
# plain http only to this machine) is posted to straight, never through
# $http_proxy or $ALL_PROXY, which would get the webhook's secret URL and the
# messages in clear text. The proxy (tests/servers/connect_proxy.py) logs every
# connection; the S3 endpoint of the test is http:// loopback too.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
python3 "$TG_TOP_SRCDIR/tests/servers/connect_proxy.py" "$T/proxy.port" "$T/proxy.log" \
	>"$T/proxy.err" 2>&1 &
PROXY_PID=$!
tg_wait_file "$T/proxy.port" "the proxy did not start"
proxy=http://127.0.0.1:$(cat "$T/proxy.port")
up_event 1 mfa_failure '"user":"mallory","client_addr":"192.0.2.7","service":"sshd","reason":"bad_code"'
env -u no_proxy -u NO_PROXY http_proxy="$proxy" HTTP_PROXY="$proxy" https_proxy="$proxy" \
	HTTPS_PROXY="$proxy" all_proxy="$proxy" ALL_PROXY="$proxy" \
	"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 ||
	{ kill "$PROXY_PID"; tg_fail "--once: $(tail -5 "$T/uploader.log")"; }
kill "$PROXY_PID" 2>/dev/null
wait "$PROXY_PID" 2>/dev/null
[ ! -s "$T/proxy.log" ] || tg_fail "the proxy saw: $(cat "$T/proxy.log")"
up_messages | grep -q mallory || tg_fail "the message did not reach the webhook: $(up_messages)"
echo "ok - Slack (and S3) at http:// loopback are posted to straight, every proxy variable set"
