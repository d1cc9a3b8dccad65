#!/bin/sh
# A worker that died on its file just before the daemon was stopped is a death on that file,
# counted in state/crashes/: under the unit (OOMPolicy=stop, the default) the OOM killer kills
# the worker and systemd then stops the daemon at once, and a daemon that took the dead worker
# for one it stopped itself counted nothing, so a recording that made the worker run out of
# memory was tried at every start for ever, never set aside, and upload_crashed never raised.
# A worker ended by SIGTERM (systemd's stop reaches every process of the unit, and the daemon
# may reap it before it takes its own) or by SIGINT (Ctrl-C reaches the whole process group) is
# stopped, not dead: a good recording is never counted for a stop.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

tg_need_cmd strace
up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
COUNTS=$T/spool/state/crashes/sessions
up_rec $A.tgr user=alice

# stop_with_dead_worker SIGNAL [STOP]: with the worker at S3, the daemon held, the worker ended
# by SIGNAL, then the daemon stopped (by STOP, SIGTERM unless said): it sees the two at once
stop_with_dead_worker() {
	up_start_stalled
	kill -STOP "$UP_PID"
	w=$(up_workers)
	[ -n "$w" ] || tg_fail "no worker"
	kill "-$1" "$w"
	up_wait_until 30 "the worker did not end" up_ended "$w"
	kill "-${2:-TERM}" "$UP_PID"
	kill -CONT "$UP_PID"
	up_wait_until 30 "the daemon did not stop" up_ended "$UP_PID"
	wait "$UP_PID" 2>/dev/null
	UP_PID=
	kill -CONT "$TG_S3_PID"
}

# a worker killed by SIGTERM: a stop, nothing counted
echo "--- TERM" >>"$T/uploader.log"
stop_with_dead_worker TERM
[ -e "$COUNTS/$A.tgr" ] && tg_fail "a worker ended by SIGTERM counted a crash: $(cat "$COUNTS/$A.tgr")"
[ -e "$T/spool/sessions/$A.tgr" ] || tg_fail "$A.tgr left the spool"

# Ctrl-C at a terminal (--foreground, --once) reaches the worker as well as the daemon: the
# worker ended by SIGINT was stopped like the daemon, its file did not kill it
echo "--- INT" >>"$T/uploader.log"
stop_with_dead_worker INT INT
[ -e "$COUNTS/$A.tgr" ] && tg_fail "a worker ended by Ctrl-C counted a crash: $(cat "$COUNTS/$A.tgr")"

# systemd's SIGTERM reaches the worker as well, and the daemon may reap it before it takes its
# own SIGTERM (busy, not in its wait): that worker was stopped too, not killed by its file
echo "--- TERM first" >>"$T/uploader.log"
up_start_stalled
w=$(up_workers)
[ -n "$w" ] || tg_fail "no worker"
kill -TERM "$w"
# reaped by the daemon's loop, not by its stop: gone, not a zombie
up_wait_until 30 "the daemon did not reap its worker" sh -c "! kill -0 $w 2>/dev/null"
kill -TERM "$UP_PID"
up_wait_until 30 "the daemon did not stop" up_ended "$UP_PID"
wait "$UP_PID" 2>/dev/null
UP_PID=
kill -CONT "$TG_S3_PID"
[ -e "$COUNTS/$A.tgr" ] && tg_fail "a worker ended by SIGTERM, reaped before the stop, counted a crash: $(cat "$COUNTS/$A.tgr")"
[ -e "$T/spool/sessions/$A.tgr" ] || tg_fail "$A.tgr left the spool"

# the OOM killer's SIGKILL, then the stop: one death on the file
echo "--- KILL" >>"$T/uploader.log"
stop_with_dead_worker KILL
[ "$(cat "$COUNTS/$A.tgr" 2>/dev/null)" = 1 ] ||
	tg_fail "the death of a worker just before the stop was not counted: $(ls -la "$COUNTS"; tail -5 "$T/uploader.log")"

# the count drives the setting aside: two more deaths seen by the daemon and it is set aside
# at once, at the third, not after three more
echo "--- KILL 2" >>"$T/uploader.log"
stop_with_dead_worker KILL
[ "$(cat "$COUNTS/$A.tgr" 2>/dev/null)" = 2 ] || tg_fail "the second death was not counted"
echo "--- KILL 3" >>"$T/uploader.log"
stop_with_dead_worker KILL
grep -q "alert upload_crashed: the upload worker died 3 times in a row while it shipped .*/sessions/$A.tgr" \
	"$T/uploader.log" || tg_fail "not set aside after 3 deaths: $(tail -5 "$T/uploader.log")"
[ -e "$COUNTS/$A.tgr" ] && tg_fail "the count outlived the setting aside"

# the OOM killer's SIGKILL can reach the worker in the moment the daemon is stopped, after the
# stop found it running: the stop's SIGTERM to the worker is made to go nowhere (strace makes
# the daemon's kill() return 0 and do nothing), and the worker is killed while the stop waits
# for it. It died of the SIGKILL, not of the stop: one death on the file.
echo "--- KILL during the stop" >>"$T/uploader.log"
up_start_stalled
w=$(up_workers)
[ -n "$w" ] || tg_fail "no worker"
strace -qq -p "$UP_PID" -e trace=kill -e inject=kill:retval=0 -o "$T/stop.strace" 2>/dev/null &
tracer=$!
up_wait_until 10 "strace did not attach" sh -c "grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$UP_PID/status"
kill -TERM "$UP_PID"
up_wait_until 30 "the stop did not signal its worker" grep -q "kill($w, SIGTERM)" "$T/stop.strace"
kill -0 "$w" 2>/dev/null || tg_fail "the worker ended of a SIGTERM that was to go nowhere"
kill -KILL "$w"
up_wait_until 30 "the daemon did not stop" up_ended "$UP_PID"
wait "$UP_PID" 2>/dev/null
UP_PID=
wait "$tracer" 2>/dev/null
kill -CONT "$TG_S3_PID"
[ "$(cat "$COUNTS/$A.tgr" 2>/dev/null)" = 1 ] ||
	tg_fail "a worker killed while the stop waited for it was taken for stopped: $(ls -la "$COUNTS"; tail -5 "$T/uploader.log")"

# a good recording ships once the daemon runs normally, and the set-aside one is tried again
up_rec $B.tgr user=bob
up_once "after the stops"
up_no_recs || tg_fail "recordings left: $(ls "$T/spool/sessions")"
up_check_s3
echo PASS
