#!/bin/sh
# A Slack message whose file the daemon removed itself, but whose removal it
# could not make durable (the folder's fsync failed: EIO), is tried again
# (handed_on: only the removal). The watch then reports the daemon's own
# unlink: that is not a file "removed by someone else", and a message Slack
# took (counted sent) must not be counted lost too.
# strace fails the daemon's first fsync(2) of outbox/notify with EIO: the one
# after the message's removal (the message is put straight into the outbox,
# and no alert is raised before it).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

no_files() { [ -z "$(find "$1" -type f)" ]; }

up_setup
mkdir -p "$T/spool/outbox/s3" "$T/spool/outbox/notify"
name=$(up_outbox_event notify 1)
up_start_traced -o "$T/strace.log" -P "$T/spool/outbox/notify" -e trace=fsync \
	-e inject=fsync:error=EIO:when=1
up_wait_until 30 "the message did not reach Slack" up_message_has 'u1@testhost'
up_wait_until 30 "the message's file was not removed" no_files "$T/spool/outbox/notify"
sleep 3 # the removal is tried again (backoff_max 1), the watch reports the unlink, status.json
cat "$T/strace.log" "$T/uploader.log"
grep -q 'INJECTED' "$T/strace.log" || tg_fail "no fsync failed: the test proves nothing"
# what the daemon logs and counts after the file is gone may come later on a loaded machine
up_wait_until 30 "the daemon did not see its removal fail: the test proves nothing" \
	grep -q "remove .*$name" "$T/uploader.log"
up_settle_count slack sent 1
grep -q "removed by someone else" "$T/uploader.log" &&
	tg_fail "the daemon's own removal was taken for someone else's"
echo "Slack sent $(up_count slack sent), lost $(up_count slack lost)"
[ "$(up_count slack sent)" -eq 1 ] || tg_fail "Slack counts $(up_count slack sent) sent, not 1"
[ "$(up_count slack lost)" -eq 0 ] || tg_fail "Slack counts $(up_count slack lost) lost, not 0"
echo PASS
