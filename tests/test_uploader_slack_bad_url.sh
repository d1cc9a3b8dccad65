#!/bin/sh
# A [slack] webhook_url the uploader refuses (http:// to another host, no
# scheme) made the daemon exit at its start, before it scanned the spool: no
# recording or event reached S3, no alert was raised, and the unit restarted it
# every 5 s for ever. It now runs with Slack off, raises slack_error (to S3 and
# syslog, without the URL, which is a secret), uploads as usual, and keeps the
# Slack messages in outbox/notify until a start with the URL fixed posts them.
# An upper-case HTTPS:// is a URL like any other.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
good=$(grep '^webhook_url = ' "$T/tollgate.conf")
sed -i 's|^webhook_url = .*|webhook_url = http://hooks.example.com/services/T0/B0/SECRETPART|' "$T/tollgate.conf"
up_rec s1.tgr user=alice pam=p1 bytes=1000
up_session_event 1 login alice p1
up_session_event 2 logout alice p1
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1
rc=$?
# 1: the Slack messages still wait in the spool
[ $rc -eq 1 ] || tg_fail "--once with an unusable webhook URL: exit $rc, not 1: $(tail -5 "$T/uploader.log")"
! grep -q SECRETPART "$T/uploader.log" || tg_fail "the webhook URL was logged"
grep -q 'webhook_url is not usable' "$T/uploader.log" || tg_fail "the bad URL not said: $(cat "$T/uploader.log")"
[ -z "$(find "$T/spool/sessions" "$T/spool/events" "$T/spool/outbox/s3" -type f)" ] ||
	tg_fail "not uploaded: $(find "$T/spool" -type f)"
grep -rlq '"alert":"slack_error"' "$S3DATA/tollgate/events" || tg_fail "no slack_error alert in S3"
! grep -rlq SECRETPART "$S3DATA" || tg_fail "the webhook URL went to S3"
kept=$(find "$T/spool/state/slack-held" -type f | wc -l)
[ "$kept" -ge 2 ] || tg_fail "the Slack messages were not kept: $kept in state/slack-held"
# held out of the queue: a logout behind them gets its check (here, its recording found)
grep -q 'alert no_recording' "$T/uploader.log" && tg_fail "a false no_recording: $(grep no_recording "$T/uploader.log")"
[ "$(up_messages | wc -l)" -eq 0 ] || tg_fail "something was posted"
# fixed (an upper-case scheme, which is the same URL): the kept messages go out, and never
# through a proxy (http:// goes to loopback only, in clear text: that is why; the scheme was
# compared with its case for that, and HTTP:// went through $http_proxy)
sed -i "s|^webhook_url = .*|$(echo "$good" | sed 's|http://|HTTP://|')|" "$T/tollgate.conf"
export http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9
up_once "URL fixed"
unset http_proxy HTTP_PROXY ALL_PROXY
up_messages | grep -q 'alice' || tg_fail "the kept messages were not posted: $(up_messages | cut -c1-300)"
[ -z "$(find "$T/spool/outbox/notify" "$T/spool/state/slack-held" -type f)" ] ||
	tg_fail "the held messages did not all go: $(ls "$T/spool/outbox/notify" "$T/spool/state/slack-held")"

# A URL that answers 200 but not Slack's "ok" (Slack's Web API, chat.postMessage, answers a
# webhook payload 200 {"ok":false,...}; a proxy's page): it was tried again and again as if
# Slack were busy, with no slack_error. Now it is one: alerted, the message kept.
echo notok >"$T/slack/mode"
up_session_event 3 login bob p2
timeout 120 "$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1
rc=$?
[ $rc -eq 1 ] || tg_fail "--once with a webhook answering 200 not ok: exit $rc, not 1: $(tail -5 "$T/uploader.log")"
grep -rl '"alert":"slack_error"' "$S3DATA/tollgate/events" | xargs grep -l 'answered 200' >/dev/null ||
	tg_fail "no slack_error alert for a 200 that is not ok in S3"
[ "$(find "$T/spool/outbox/notify" -type f | wc -l)" -ge 1 ] || tg_fail "the message was not kept"
echo PASS
