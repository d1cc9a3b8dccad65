#!/bin/sh
# Slack's 429 Retry-After, in both forms HTTP allows (RFC 9110, 10.2.3), and huge:
#  1. an HTTP-date 20 s ahead: the daemon waits until then, not a second;
#  2. delay-seconds of 2^32 + 1: it waits the hour it is capped to, not the
#     1 s left after an overflow;
#  3. a restart in the middle of a wait (Retry-After: 20): the new daemon waits what is left
#     (kept in state/slack-not-before), not posting at once.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

answers_429() {
	python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("429", 0))
except (OSError, ValueError): print(0)' "$T/slack/stats.json"
}

# More 429 answers than $1 now: a command up_wait_until runs again each time round (a
# "$(answers_429)" in its arguments would be counted once, before the wait)
more_429_than() { [ "$(answers_429)" -gt "$1" ]; }

up_setup

# 1. an HTTP-date, set before the daemon starts: far enough ahead that a slow start
# (a loaded CI machine, a sanitizer build) still leaves more than the 4 s looked at
echo 429 >"$T/slack/mode"
LC_ALL=C date -u -d '+20 seconds' '+%a, %d %b %Y %H:%M:%S GMT' >"$T/slack/retry_after"
up_start
up_event 1 mfa_failure '"user":"dated","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_wait_until 20 "the daemon did not post" more_429_than 0
sleep 4
n=$(answers_429)
echo "429 answers in 4 s after Retry-After: $(cat "$T/slack/retry_after"): $n"
[ "$n" -eq 1 ] || tg_fail "Retry-After as an HTTP-date not honoured: $n posts within 4 s"
echo ok >"$T/slack/mode"
up_wait_until 45 "the message did not arrive after the Retry-After date" up_message_has 'dated@testhost'
tg_stop_pid "$UP_PID"
UP_PID=

# 3. Retry-After: 20, then a restart: the wait survives it (the stop, the start and the 4 s
# looked at fit in it on a loaded machine)
posts() {
	python3 -c 'import json,sys
try: print(sum(json.load(open(sys.argv[1])).values()))
except (OSError, ValueError): print(0)' "$T/slack/stats.json"
}
before=$(answers_429)
echo 429 >"$T/slack/mode"
echo 20 >"$T/slack/retry_after"
up_start
up_event 3 mfa_failure '"user":"restarted","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_wait_until 20 "the daemon did not post" more_429_than "$before"
tg_stop_pid "$UP_PID"
UP_PID=
echo ok >"$T/slack/mode"
n0=$(posts)
up_start
sleep 4
n=$(($(posts) - n0))
echo "posts within 4 s of a restart 20 s after Retry-After: 20: $n"
[ "$n" -eq 0 ] || tg_fail "a restarted daemon did not wait for Retry-After: $n posts within 4 s"
[ -f "$T/spool/state/slack-not-before" ] || tg_fail "no state/slack-not-before after a 429"
up_wait_until 40 "the message did not arrive after the wait" up_message_has 'restarted@testhost'
tg_stop_pid "$UP_PID"
UP_PID=

# 2. delay-seconds past 32 bits
before=$(answers_429)
echo 429 >"$T/slack/mode"
echo 4294967297 >"$T/slack/retry_after"
up_start
up_event 2 mfa_failure '"user":"huge","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_wait_until 20 "the daemon did not post" more_429_than "$before"
sleep 4
n=$(($(answers_429) - before))
echo "429 answers in 4 s after Retry-After: 4294967297: $n"
[ "$n" -eq 1 ] || tg_fail "a huge Retry-After wrapped around: $n posts within 4 s"
[ -n "$(find "$T/spool/outbox/notify" -type f)" ] || tg_fail "the rate-limited message left the Slack queue"
echo PASS
