#!/bin/sh
# A spool folder the daemon cannot list (its mode or owner changed, something
# else put in its place) holds back only its own files: the daemon keeps
# running, raises 'spool_unreadable' once, and the events go on to S3 and
# Slack. Before, the daemon exited at the first failed scan, and systemd
# restarted it into the same failure every 5 s, so nothing at all left the host.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
# not a folder where recordings should be (as root, a mode 000 folder is still read)
rmdir "$T/spool/sessions"
: >"$T/spool/sessions"
up_start_ready
up_mfa_failures a 1 3
up_wait_messages 3 20 || tg_fail "with sessions/ unreadable, the events did not reach Slack: $(tail -5 "$T/uploader.log")"
sleep 5 # two more rescans (rescan_interval = 2)
kill -0 "$UP_PID" 2>/dev/null || tg_fail "the daemon exited: $(tail -5 "$T/uploader.log")"
[ "$(grep -c 'alert spool_unreadable' "$T/uploader.log")" -eq 1 ] ||
	tg_fail "spool_unreadable was not raised once: $(cat "$T/uploader.log")"
# the folder is fixed: its recordings ship, and the events are in S3
rm -f "$T/spool/sessions"
mkdir "$T/spool/sessions"
up_rec later.tgr user=alice bytes=500
up_wait_empty 20 || tg_fail "the spool did not empty once the folder was fixed"
up_check_s3
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
