#!/bin/sh
# MFA failures do not flood Slack. Anyone who reaches the code prompt makes one mfa_failure
# event per attempt (also one refused unread past the rate limit, or for a name that is no
# account), and Slack takes a message a second, strictly in order: 30 of them held a login
# behind them for half a minute. The first is posted, the others within mfa_failure_window
# are counted into one summary ("29 more MFA failures since ..."); each is still its own event
# in S3. A replayed code (mfa_replay, a possible man in the middle) is always posted.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

N=30
up_setup 'mfa_failure_window = 6'
sed -i 's/^min_interval_ms = .*/min_interval_ms = 1000/' "$T/tollgate.conf"
up_mfa_failures m 1 $N
up_event 40 mfa_replay '"user":"rita","client_addr":"192.0.2.9","service":"sshd","reason":"replay"'
up_session_event 41 login alice 11111111111111111111111111111111
up_start
up_wait_until 60 "the login did not reach Slack after $N MFA failures" up_message_has 'SSH login: alice@testhost'
ahead=$(up_messages | awk '/SSH login: alice@testhost/ { exit } /MFA failure/ { n++ } END { print n + 0 }')
[ "$ahead" -le 2 ] || tg_fail "the login waited behind $ahead MFA failure messages"
up_message_has 'Replayed MFA code: rita@testhost' || tg_fail "a replayed code was not posted on its own"
# the summary, when the window ends: every failure accounted for, in Slack and in S3
mfa_counted() {
	up_messages | python3 -c 'import json, re, sys
n = 0
for l in sys.stdin:
    t = json.loads(l).get("text", "")
    m = re.search(r"(\d+) more MFA failures? since", t)
    if m:
        n += int(m.group(1))
    elif t.startswith("MFA failure: "):
        n += 1
print(n)'
}
mfa_all() { [ "$(mfa_counted)" -ge $N ]; }
up_wait_until 60 "the MFA failures' summary did not come: $(mfa_counted) accounted for" mfa_all
got=$(mfa_counted)
[ "$got" -eq $N ] || { up_messages | cut -c1-300; tg_fail "Slack accounts for $got MFA failures, not $N"; }
up_message_has "more MFA failures since .*m02 from 192.0.2.1 (bad_code)" ||
	{ up_messages | grep 'more MFA'; tg_fail "the summary does not quote the first it counted"; }
up_wait_empty 30 || tg_fail "the spool did not drain"
in_s3=$(up_s3_objects tollgate/events | xargs -r grep -l '"type":"mfa_failure"' | wc -l)
[ "$in_s3" -eq $N ] || tg_fail "$in_s3 mfa_failure events in S3, not $N"
echo "ok: $N MFA failures: one message and a summary; the login behind them waited for $ahead"
