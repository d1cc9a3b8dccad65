#!/bin/sh
# A stop is taken when it comes, not one round of work later. The daemon's stop signals wait,
# blocked, for its ppoll(); systemd's SIGTERM reaches the workers as well, and a worker it
# ended is reaped as not started, due again at once: a daemon that went on with its round
# started that upload again only to stop it (a fork, a request, a part cut off), and before
# 4a99ebf that new worker could take the stop in the daemon's handler and hang the stop.
# And --once, posting to Slack with no wait between posts (min_interval_ms = 0), went on
# through its queue after Ctrl-C: a thousand posts before it looked.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

tg_need_cmd strace
up_setup 'workers = 1'
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
up_rec $A.tgr user=alice

# The daemon held in its reaping of the worker (strace delays each wait4 by 15 s, which the
# daemon makes only with its stop signals blocked), the worker ended by systemd's SIGTERM,
# the daemon's own SIGTERM pending: the round that reaps the worker starts no other.
kill -STOP "$TG_S3_PID"
up_start_traced -e trace=wait4,clone,clone3 -e inject=wait4:delay_enter=15000000 -o "$T/strace"
up_wait_worker_at_s3
w=$(up_workers)
in_wait4() { [ "$(cut -d' ' -f1 "/proc/$UP_PID/syscall" 2>/dev/null)" = 61 ]; }
up_wait_until 30 "the daemon did not come to reap its worker" in_wait4
kill -TERM "$UP_PID"
kill -TERM "$w"
up_wait_until 20 "the worker did not end" up_ended "$w"
# the test's own check: all of that happened while the daemon waited to reap
in_wait4 || tg_fail "the daemon left its wait4 before the signals were in place (a machine too slow for the test)"
kill -CONT "$TG_S3_PID"
up_wait_until 60 "the daemon did not stop" up_ended "$UP_PID"
tg_stop_pid "$STRACE_PID"
STRACE_PID=
UP_PID=
# the daemon's forks (its threads have CLONE_THREAD): the first worker, no other
# (strace pads the pid to a width: "5953  clone(")
forks=$(grep -c -E "^$(cat "$T/traced.pid") +clone\(" "$T/strace" | tr -d ' ')
threads=$(grep -E "^$(cat "$T/traced.pid") +clone\(" "$T/strace" | grep -c CLONE_THREAD)
[ "$((forks - threads))" = 1 ] ||
	tg_fail "the daemon started $((forks - threads)) workers, the stop pending: $(grep clone "$T/strace")"
[ -e "$T/spool/sessions/$A.tgr" ] || tg_fail "$A.tgr left the spool"
[ -e "$T/spool/state/crashes/sessions/$A.tgr" ] && tg_fail "a worker ended by SIGTERM counted a crash"

# --once, Slack with no wait between posts and slow to answer, 30 messages queued: Ctrl-C
# during the first post ends the pass after that post
sed -i 's/^min_interval_ms = .*/min_interval_ms = 0/' "$T/tollgate.conf"
echo 0 >"$T/slack/min_interval_ms"
echo 3000 >"$T/slack/delay_ms" # seconds for the test to say Ctrl-C in the first post
rm -f "$T/spool/sessions/$A.tgr"
i=1
while [ $i -le 30 ]; do
	up_outbox_event notify $i >/dev/null
	i=$((i + 1))
done
: >"$T/slack/requests.log"
up_start --once
up_wait_until 30 "no Slack post" test -s "$T/slack/requests.log"
kill -INT "$UP_PID"
up_wait_until 30 "--once did not end after Ctrl-C" up_ended "$UP_PID"
wait "$UP_PID"
rc=$?
UP_PID=
posts=$(wc -l <"$T/slack/requests.log" | tr -d ' ')
[ "$posts" -le 2 ] || tg_fail "--once posted $posts messages after Ctrl-C in the first"
[ "$rc" = 1 ] || tg_fail "--once stopped with messages queued: exit $rc, not 1"
[ "$(find "$T/spool/outbox/notify" -type f | wc -l)" -ge 28 ] || tg_fail "queued messages lost"
echo PASS
