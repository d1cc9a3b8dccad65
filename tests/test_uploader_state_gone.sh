#!/bin/sh
# The folders under state/ are the uploader's own, made at its start.
# Removed while it ran (a cleanup of the spool), they were never made again:
# a recording of a PAM session could not have its join record kept in
# state/sessions/, so its upload failed and was retried, and it stayed on the
# host until a restart. Now the periodic rescan makes them again.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
up_start_ready
up_rec first.tgr user=alice bytes=500 pam=s-1
up_wait_empty 20 || tg_fail "the first recording was not uploaded"
for d in sessions open live multipart alerts; do
	mv "$T/spool/state/$d" "$T/gone-$d" || tg_fail "mv state/$d"
	rm -rf "$T/gone-$d"
done
up_rec second.tgr user=bob bytes=700 pam=s-2
up_wait_empty 30 || tg_fail "state/sessions was not made again: the recording stays in the spool"
[ -f "$T/spool/state/sessions/s-2.json" ] || tg_fail "no join record for the second recording"
for d in sessions open live multipart alerts; do
	[ -d "$T/spool/state/$d" ] || tg_fail "state/$d was not made again"
done
up_check_s3
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
