#!/bin/sh
# A spool folder removed and made again while the daemon runs (an admin's
# cleanup, a restore) is watched again: with the periodic rescan an hour away,
# a recording and an event dropped into the new folders reach S3 and Slack
# within seconds, not at the next rescan.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
up_start_inotify_only
up_rec first.tgr user=alice bytes=500
up_wait_empty 20 || tg_fail "a recording that arrived while the daemon ran was not uploaded"
rmdir "$T/spool/sessions" "$T/spool/events" || tg_fail "rmdir"
sleep 1
mkdir "$T/spool/sessions" "$T/spool/events"
sleep 1
up_rec second.tgr user=bob bytes=700
up_mfa_failures r 1 1
up_wait_empty 60 || tg_fail "files in a folder made again were not found until the next rescan"
up_wait_messages 1 60 || tg_fail "the Slack message did not arrive"
up_check_s3
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
