#!/bin/sh
# A recording whose upload kills its worker each time (here strace kills the worker as it
# opens that file; a crash on a malformed file does the same) must not take the files
# batched behind it down with it: they go up (with --once too, where each file is tried
# once a pass), and the bad one is set aside after UP_CRASHES_MAX (3) deaths in a row, with
# an upload_crashed alert, and stays in the spool.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_poison_setup
up_rec $B.tgr user=bob
# one pass: the three are one batch, the bad one first
# shellcheck disable=SC2086
strace -f -qq -o /dev/null $poison "$UPLOADER" -c "$T/tollgate.conf" --once \
	>>"$T/uploader.log" 2>&1
grep -q "upload of $P.tgr failed, will retry: the upload worker died" "$T/uploader.log" ||
	tg_fail "the worker did not die on the bad recording: $(tail -5 "$T/uploader.log")"
[ -e "$T/spool/sessions/$A.tgr" ] && tg_fail "--once: $A.tgr died with the bad recording's worker"
[ -e "$T/spool/sessions/$B.tgr" ] && tg_fail "--once: $B.tgr died with the bad recording's worker"
# the daemon: the bad one is tried, then set aside, and the others still go
up_rec $C.tgr user=carol
# shellcheck disable=SC2086
up_start_traced -o /dev/null $poison
up_wait_until 30 "$C.tgr did not leave the spool" test ! -e "$T/spool/sessions/$C.tgr"
up_wait_until 30 "the bad recording was not set aside" grep -q "alert upload_crashed" \
	"$T/uploader.log"
n=$(grep -c "$P.tgr failed, will retry: the upload worker died\|alert upload_crashed.*$P.tgr" \
	"$T/uploader.log")
sleep 3 # backoff_max is 1 s: a file still tried would be tried again by now
cat "$T/uploader.log"
[ "$(grep -c "$P.tgr failed, will retry: the upload worker died\|alert upload_crashed.*$P.tgr" \
	"$T/uploader.log")" -eq "$n" ] || tg_fail "the bad recording is still tried"
grep -q "alert upload_crashed: the upload worker died 3 times in a row while it shipped .*/sessions/$P.tgr" \
	"$T/uploader.log" || tg_fail "the alert does not name the recording"
[ -e "$T/spool/sessions/$P.tgr" ] || tg_fail "the bad recording left the spool"
echo PASS
