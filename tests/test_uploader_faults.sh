#!/bin/sh
# Fault injection: the S3 server answers 30% of requests 500 / 503 SlowDown or
# resets them, a proxy in front of it throws away 15% of its answers after it
# acted on the request, and the Slack receiver answers 30% of posts 500 / 503
# or resets them. The daemon must still deliver every recording and event to
# S3 byte-identical and once, and every Slack message once and in order.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

TG_S3_FAULT_RATE=0.3
export TG_S3_FAULT_RATE
up_setup "multipart_threshold = 5M" "part_size = 5M" "workers = 3"
up_fault_proxy 0.15
echo 0.3 >"$T/slack/fault_rate"

i=0
while [ $i -lt 30 ]; do
	up_rec "s$i.tgr" user=user$i bytes=$((i * 700 + 10))
	i=$((i + 1))
done
up_rec m1.tgr user=big1 bytes=11000000
up_rec m2.tgr user=big2 bytes=7000000
up_mfa_failures u 1 20

up_start
up_wait_empty 150 || tg_fail "the spool did not drain under faults"
up_wait_messages 20 60 || tg_fail "not every Slack message arrived"
tg_stop_pid "$UP_PID"
UP_PID=
up_check_s3

up_message_heads >"$T/heads"
n=1
: >"$T/want"
while [ $n -le 20 ]; do
	echo "MFA failure: u$(printf %02d $n)@testhost" >>"$T/want"
	n=$((n + 1))
done
# faults may add alerts (none expected), never lose, repeat or reorder a message
grep '^MFA failure' "$T/heads" >"$T/got" || true
diff -u "$T/want" "$T/got" || tg_fail "Slack messages lost, repeated or out of order"
echo "S3 proxy: $(cat "$T/proxy.port.stats" 2>/dev/null) (connections, answers dropped)"
echo "Slack receiver: $(cat "$T/slack/stats.json")"
grep -q 'fault_' "$T/slack/stats.json" || tg_fail "no Slack fault was injected"
[ -z "$(find "$T/spool/state/multipart" -type f)" ] || tg_fail "resume state left behind"
echo PASS
