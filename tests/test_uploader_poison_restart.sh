#!/bin/sh
# A recording set aside (its worker died 3 times in a row on it) is tried again by the next
# start, on purpose (doc/uploader.md, "Why a restart tries a set-aside file again"): a restart
# is what follows a fix (an upgrade, more memory for the unit), and the recording then leaves
# the host with no one having to clear a mark. A restart that has not fixed it costs 3 more
# worker deaths and one more upload_crashed, while the other files go on.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_poison_setup
# daemon NAME [strace options]: start a daemon (traced when options are given), its log
# marked NAME
daemon() {
	echo "--- $1" >>"$T/uploader.log"
	shift
	if [ $# -gt 0 ]; then
		# shellcheck disable=SC2086
		up_start_traced -o /dev/null "$@"
	else
		up_start_ready
	fi
}
stop() {
	tg_stop_pid "$UP_PID"
	[ -n "${STRACE_PID:-}" ] && tg_stop_pid "$STRACE_PID"
	UP_PID=''
	STRACE_PID=''
}
log_of() { sed -n "/^--- $1\$/,/^--- /p" "$T/uploader.log"; }
set_aside_by() { log_of "$1" | grep -q "$crashed"; }

# shellcheck disable=SC2086
daemon first $poison
up_wait_until 30 "the first daemon did not set the recording aside" set_aside_by first
up_wait_until 30 "$A.tgr did not ship beside it" test ! -e "$T/spool/sessions/$A.tgr"
stop
[ "$(log_of first | grep -c "$died")" -eq 2 ] || tg_fail "the first daemon: not 2 retries, then the alert"

# still crashing after the restart: 3 more deaths, one more alert; the other files go on
up_rec $B.tgr user=bob
# shellcheck disable=SC2086
daemon second $poison
up_wait_until 30 "the second daemon did not set the recording aside again" set_aside_by second
up_wait_until 30 "$B.tgr did not ship beside it" test ! -e "$T/spool/sessions/$B.tgr"
stop
[ "$(log_of second | grep -c "$died")" -eq 2 ] || tg_fail "the second daemon: not 2 retries, then the alert"
[ "$(log_of second | grep -c "alert upload_crashed")" -eq 1 ] || tg_fail "the second daemon: not one alert"
[ -e "$T/spool/sessions/$P.tgr" ] || tg_fail "the set-aside recording left the spool"

# fixed (here: no strace): the next start ships it, no one having cleared anything
daemon fixed
up_wait_until 30 "the set-aside recording did not ship once it could" test ! -e "$T/spool/sessions/$P.tgr"
stop
log_of fixed | grep -q "alert upload_crashed" && tg_fail "upload_crashed once the crash was gone"
up_check_s3
echo PASS
