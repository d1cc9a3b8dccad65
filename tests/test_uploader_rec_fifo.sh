#!/bin/sh
# A recording in sessions/ replaced by a FIFO after the scan found it (by the
# audit user, or anyone who can write the spool): the upload job's open waited
# for a writer for ever, holding its worker, and with one worker nothing else
# left the host. The job now opens without blocking, finds no regular file and
# lets go (the recording is gone: recording_removed); the next file ships.
# strace holds the job's open of x.tgr for 3 s, while the test swaps the file.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'workers = 1' 'alert_window = 0'
up_rec x.tgr user=alice bytes=1000
up_start_traced -o /dev/null -P "$T/spool/sessions/x.tgr" -e trace=openat \
	-e inject=openat:delay_enter=3000000
# the first scan is done (status.json): the swap, before the job's open of x.tgr gets through
mkfifo "$T/spool/sessions/.fifo"
mv -f "$T/spool/sessions/.fifo" "$T/spool/sessions/x.tgr"
up_rec y.tgr user=bob bytes=1000
shipped() { up_s3_objects tollgate | grep -q '/y.tgr._S3rver_object$'; }
up_wait_until 30 "y.tgr did not ship: the worker is held by the FIFO ($(tail -3 "$T/uploader.log"))" shipped
[ -p "$T/spool/sessions/x.tgr" ] || tg_fail "the FIFO was removed"
echo PASS
