#!/bin/sh
# A spool folder renamed away and made again while the daemon runs (a
# restore, `mv events events.old && mkdir events`) is watched again: inotify's
# watch follows the old folder to its new name, so the new folder went
# unwatched and its files waited for the periodic rescan. With the rescan an
# hour away, files dropped into the new sessions/ and events/, and events the
# fan-out writes into a new outbox/, reach S3 and Slack within seconds.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
up_start_inotify_only
up_rec first.tgr user=alice bytes=500
up_wait_empty 20 || tg_fail "a recording that arrived while the daemon ran was not uploaded"
mv "$T/spool/sessions" "$T/sessions.old" || tg_fail "mv sessions"
mv "$T/spool/events" "$T/events.old" || tg_fail "mv events"
mkdir "$T/spool/sessions" "$T/spool/events"
sleep 1
up_rec second.tgr user=bob bytes=700
up_mfa_failures r 1 1
up_wait_empty 60 || tg_fail "files in a folder made after the old one was renamed away were not found until the next rescan"
up_wait_messages 1 60 || tg_fail "the Slack message did not arrive"
# the outboxes, which the fan-out writes and only inotify reports
mv "$T/spool/outbox" "$T/outbox.old" || tg_fail "mv outbox"
mkdir -p "$T/spool/outbox/s3" "$T/spool/outbox/notify"
sleep 1
up_mfa_failures r 2 2
up_wait_empty 60 || tg_fail "events in an outbox made after the old one was renamed away were not sent until the next rescan"
up_wait_messages 2 60 || tg_fail "the Slack message for an event in the new outbox did not arrive"
up_check_s3
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
