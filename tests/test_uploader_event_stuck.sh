#!/bin/sh
# An event that cannot be copied into the outboxes raises event_stuck, once.
# That alert is an event too, and it could not be copied either: each
# event_stuck raised another for itself, so outbox/s3 replaced by a file (or
# one the audit user may no longer write) filled events/ with thousands of
# alerts a minute, until the spool cap stopped the recordings. Now an alert
# of the uploader's own waits without raising another. Once the outbox is
# back, every event (the alerts too) reaches S3 and Slack.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
up_start_ready
# stopped meanwhile: a rescan would make the outbox again between the two steps
kill -STOP "$UP_PID"
rmdir "$T/spool/outbox/s3" || tg_fail "rmdir outbox/s3"
: >"$T/spool/outbox/s3"
kill -CONT "$UP_PID"
up_mfa_failures a 1 1
stuck_raised() { grep -q 'alert event_stuck' "$T/uploader.log"; }
up_wait_until 20 "no event_stuck for an event the outbox cannot take" stuck_raised
sleep 5 # two more rescans and many fan-out rounds
n=$(grep -c 'alert event_stuck' "$T/uploader.log")
[ "$n" -eq 1 ] || tg_fail "$n event_stuck alerts for one stuck event, not 1"
left=$(find "$T/spool/events" -type f ! -name '.*' | wc -l)
# the event, its event_stuck and the spool_unreadable for outbox/s3
[ "$left" -le 3 ] || tg_fail "$left files in events/ for one stuck event"

# the outbox back: everything goes out
rm -f "$T/spool/outbox/s3"
mkdir "$T/spool/outbox/s3"
up_wait_empty 30 || tg_fail "the events did not leave once the outbox was back"
up_message_has 'MFA failure: a01@testhost' || tg_fail "the stuck event did not reach Slack"
up_message_has 'event_stuck' || tg_fail "the event_stuck alert did not reach Slack"
up_check_s3
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
