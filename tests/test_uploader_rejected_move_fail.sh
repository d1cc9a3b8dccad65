#!/bin/sh
# A message Slack refused twice is moved into state/slack-rejected. When the
# rename is done but the sync of the folder after it fails (EIO), the daemon
# must not take the file's going from outbox/notify for someone else's
# removal: it moved it itself, and it is not lost (a person finds it in
# state/slack-rejected).
# strace fails the daemon's first fsync(2) of state/slack-rejected with EIO.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

rejected() { [ -n "$(find "$T/spool/state/slack-rejected" -type f -name "$name")" ]; }

up_setup
mkdir -p "$T/spool/outbox/s3" "$T/spool/outbox/notify" "$T/spool/state/slack-rejected"
echo NEVERTAKEN >"$T/slack/refuse_marker"
name=$(up_outbox_event notify 1 NEVERTAKEN)
up_start_traced -o "$T/strace.log" -P "$T/spool/state/slack-rejected" -e trace=fsync \
	-e inject=fsync:error=EIO:when=1
up_wait_until 30 "the refused message was not put aside" rejected
sleep 3 # the watch reports the rename, a rescan, status.json
cat "$T/strace.log" "$T/uploader.log"
grep -q 'INJECTED' "$T/strace.log" || tg_fail "no fsync failed: the test proves nothing"
grep -q "removed by someone else" "$T/uploader.log" &&
	tg_fail "the daemon's own move into slack-rejected was taken for someone else's removal"
echo "Slack sent $(up_count slack sent), lost $(up_count slack lost)"
[ "$(up_count slack lost)" -eq 0 ] || tg_fail "Slack counts $(up_count slack lost) lost, not 0"
echo PASS
