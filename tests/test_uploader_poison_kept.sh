#!/bin/sh
# The deaths of the workers on a recording that kills them are counted across runs: each is
# saved in state/crashes/sessions/NAME once the daemon saw the worker die, so that the file is
# set aside after UP_CRASHES_MAX (3) in a row with upload_crashed also under --once (one try
# a pass, from cron) and by a daemon that restarts in between (OOM-killed with its worker).
# The count goes when the file is set aside or shipped, or when its file is gone. A count
# file that holds no count (garbage, too big, a FIFO) is warned about and taken for 0: its
# recording ships. A kill -9 of the daemon while it uploads a good recording (its worker
# dies with it) counts nothing: however often, the recording is never set aside.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_poison_setup

once_traced() {
	# shellcheck disable=SC2086
	strace -f -qq -o /dev/null $poison "$UPLOADER" -c "$T/tollgate.conf" --once \
		>>"$T/uploader.log" 2>&1
}
count_is() { [ "$(cat "$COUNTS/$1" 2>/dev/null)" = "$2" ]; }
no_uploader() { ! pgrep -f -- "-c $T/tollgate.conf" >/dev/null; }

# three cron-style passes, one try of the bad recording each
once_traced
grep -q "$died" "$T/uploader.log" || tg_fail "the worker did not die: $(tail -5 "$T/uploader.log")"
[ -e "$T/spool/sessions/$A.tgr" ] && tg_fail "$A.tgr died with the bad recording's worker"
count_is $P.tgr 1 || tg_fail "pass 1: the death is not kept: $(ls -l "$COUNTS" 2>&1)"
once_traced
count_is $P.tgr 2 || tg_fail "pass 2: the count is not 2: $(cat "$COUNTS/$P.tgr" 2>&1)"
grep -q "alert upload_crashed" "$T/uploader.log" && tg_fail "set aside after 2 deaths"
once_traced
grep -q "$crashed" "$T/uploader.log" ||
	tg_fail "--once: not set aside after 3 passes: $(grep "$P.tgr" "$T/uploader.log")"
[ -e "$COUNTS/$P.tgr" ] && tg_fail "the count outlived the setting aside"
[ -e "$T/spool/sessions/$P.tgr" ] || tg_fail "the bad recording left the spool"
[ "$(grep -c "$died" "$T/uploader.log")" -eq 2 ] || tg_fail "not 2 retries, then the alert"

# a daemon that restarts: the deaths before the restart still count. A slower backoff, so
# that it is killed after its first death or its second (the count says which)
sed -i 's/^backoff_max = .*/backoff_max = 30/' "$T/tollgate.conf"
grep -q '^backoff_max = 30$' "$T/tollgate.conf" || tg_fail "could not set backoff_max"
echo "--- daemon 1" >>"$T/uploader.log"
# shellcheck disable=SC2086
up_start_traced -o /dev/null $poison
up_wait_until 20 "daemon 1: the worker did not die" test -s "$COUNTS/$P.tgr"
kill -9 "$UP_PID"
up_wait_until 20 "strace did not end with daemon 1" up_ended "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null
n1=$(cat "$COUNTS/$P.tgr")
case $n1 in 1 | 2) ;; *) tg_fail "daemon 1 was to be killed after 1 or 2 deaths, not $n1" ;; esac
sed -n '/^--- daemon 1$/,$p' "$T/uploader.log" | grep -q "alert upload_crashed" &&
	tg_fail "daemon 1 set it aside already"
echo "--- daemon 2" >>"$T/uploader.log"
# shellcheck disable=SC2086
up_start_traced -o /dev/null $poison
daemon2_log() { sed -n '/^--- daemon 2$/,$p' "$T/uploader.log"; }
daemon2_crashed() { daemon2_log | grep -q "$crashed"; }
up_wait_until 30 "daemon 2 did not set the bad recording aside" daemon2_crashed
after=$(daemon2_log | grep -c "$died")
[ "$after" -eq $((2 - n1)) ] ||
	tg_fail "daemon 2 took $after more retries after $n1 death(s) before its restart"
[ -e "$COUNTS/$P.tgr" ] && tg_fail "daemon 2: the count outlived the setting aside"
tg_stop_pid "$UP_PID"
tg_stop_pid "$STRACE_PID"
UP_PID= STRACE_PID=

# counts that are none: garbage, more than a count holds, a FIFO. On recordings that kill
# their worker they are read, warned about and taken for 0 (the death makes 1); on good ones
# they go with the recording. And the count of a recording that is gone is dropped.
rm "$T/spool/sessions/$P.tgr"
Q1=11111111111111111111111111111111
Q2=22222222222222222222222222222222
Q3=33333333333333333333333333333333
for f in $Q1 $Q2 $Q3 $B $C $D; do up_rec $f.tgr user=u$f; done
for f in $Q1 $B; do printf 'garbage\n' >"$COUNTS/$f.tgr"; done
for f in $Q2 $C; do head -c 100000 /dev/zero | tr '\0' 7 >"$COUNTS/$f.tgr"; done
for f in $Q3 $D; do mkfifo "$COUNTS/$f.tgr"; done
echo 2 >"$COUNTS/$G.tgr"
sed -i 's/^backoff_max = .*/backoff_max = 1/' "$T/tollgate.conf"
echo "--- garbage" >>"$T/uploader.log"
rc=0
# shellcheck disable=SC2086
timeout 60 strace -f -qq -o /dev/null -P "$T/spool/sessions/$Q1.tgr" \
	-P "$T/spool/sessions/$Q2.tgr" -P "$T/spool/sessions/$Q3.tgr" -e trace=openat \
	-e inject=openat:signal=SIGKILL "$UPLOADER" -c "$T/tollgate.conf" --once \
	>>"$T/uploader.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || tg_fail "--once with counts that are none: exit $rc: $(tail -5 "$T/uploader.log")"
for f in $B $C $D; do
	[ -e "$T/spool/sessions/$f.tgr" ] && tg_fail "$f.tgr with a count that is none did not ship"
	[ -e "$COUNTS/$f.tgr" ] || [ -p "$COUNTS/$f.tgr" ] &&
		tg_fail "the count of $f.tgr outlived its shipping"
done
for f in $Q1 $Q2 $Q3; do
	count_is $f.tgr 1 || tg_fail "the death on $f.tgr did not count 1 over a count that is none"
done
grep -q "crash count $COUNTS/$Q1.tgr does not hold a count: taken for 0" "$T/uploader.log" ||
	tg_fail "no warning for a count that is garbage"
grep -q "crash count $COUNTS/$Q2.tgr is larger than a count (32 bytes at most): taken for 0" \
	"$T/uploader.log" ||
	tg_fail "no warning for a count too big to be one"
grep -q "crash count $COUNTS/$Q3.tgr is not a regular file: taken for 0" "$T/uploader.log" ||
	tg_fail "no warning for a count that is a FIFO"
[ -e "$COUNTS/$G.tgr" ] && tg_fail "the count of a recording that is gone was kept"
up_once "the recordings that killed their worker, untraced now"
for f in $Q1 $Q2 $Q3; do
	[ -e "$COUNTS/$f.tgr" ] && tg_fail "the count of $f.tgr outlived its shipping"
done

# kill -9 of the daemon while it sends a good recording, more often than UP_CRASHES_MAX
up_rec $E.tgr user=erin
for i in 1 2 3 4; do
	up_start_stalled
	kill -9 "$UP_PID"
	up_wait_until 10 "daemon $i did not end" up_ended "$UP_PID"
	wait "$UP_PID" 2>/dev/null
	up_wait_until 10 "the worker of daemon $i outlived it" no_uploader
	[ -e "$COUNTS/$E.tgr" ] && tg_fail "kill -9 of daemon $i counted a crash of $E.tgr"
done
UP_PID=
kill -CONT "$TG_S3_PID"
up_once "after the kills"
cat "$T/uploader.log"
[ -e "$T/spool/sessions/$E.tgr" ] && tg_fail "$E.tgr did not ship after the kills"
grep -q "upload_crashed.*$E.tgr" "$T/uploader.log" && tg_fail "$E.tgr was set aside"
echo PASS
