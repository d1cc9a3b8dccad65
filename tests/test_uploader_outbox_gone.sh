#!/bin/sh
# The outboxes are the uploader's own folders, made at its start. Removed
# while it runs (an admin's cleanup of the spool, a restore without them),
# they were never made again: every event stayed in events/, raising
# event_stuck, and no login, logout or alert left the host until a restart.
# Now a rescan that finds an outbox missing makes it again, and the events
# go on.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
up_start_ready
up_mfa_failures a 1 1
up_wait_messages 1 20 || tg_fail "the first event did not reach Slack"
# gone at once (the daemon may make them again while rm -rf works in them)
mv "$T/spool/outbox" "$T/outbox.gone" || tg_fail "mv"
rm -rf "$T/outbox.gone"
up_mfa_failures b 2 2
up_wait_empty 30 || tg_fail "the outboxes were not made again: events stay in the spool"
has_b02() { up_message_has 'MFA failure: b02@testhost'; }
up_wait_until 20 "the event after the outboxes went did not reach Slack" has_b02
[ -d "$T/spool/outbox/s3" ] && [ -d "$T/spool/outbox/notify" ] || tg_fail "the outboxes are missing"
up_check_s3
kill -0 "$UP_PID" 2>/dev/null || tg_fail "the daemon exited: $(tail -5 "$T/uploader.log")"
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
