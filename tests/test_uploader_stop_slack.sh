#!/bin/sh
# At a stop the daemon saw a Slack post under way to its end: a webhook that
# does not answer held it for the post's whole 30 s timeout, as long as the
# unit's TimeoutStopSec, so systemd could SIGKILL it first: the last
# status.json write and the jobs' results lost. It now waits for the post a
# few seconds at most, and leaves the message queued for the next start
# (Slack messages are at least once: it may show twice, never not at all).
# Nor does a stop wait for the fan-out of a large backlog of events.
# Shown by cause, not by a stopwatch: the receiver holds the post far beyond
# curl's timeout, and the post must have been ended by the stop (the daemon
# gave it up, said so, and curl's own timeout never fired), not by the time.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

gone() { ! kill -0 "$UP_PID" 2>/dev/null; }
# the receiver's count of ANSWER (0 when none)
slack_count() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' \
		"$T/slack/stats.json" "$1"
}
# the post that LOG says ended was given up by the stop, not ended by curl's own timeout
# (30 s, uploader/slack.c), which would have fired first had the stop waited for the post
ended_by_stop() {
	if grep -qi "timed out" "$1" "$T/spool/state/status.json"; then
		tg_fail "$2 waited for the post until curl's timeout: $(grep -hi "timed out" "$1" "$T/spool/state/status.json")"
	fi
	grep -q "left in the Slack queue" "$1" || tg_fail "$2 does not say the message waits"
	[ "$(slack_count ok)" -eq "$3" ] || tg_fail "the receiver answered a post it was to hold"
}

up_setup
up_start_ready
# held until the client lets go: only the daemon (its stop, or curl's timeout) ends the post
echo 3600 >"$T/slack/hang_s"
echo hang >"$T/slack/mode"
up_event 1 mfa_failure '"user":"held","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_wait_until 20 "the daemon did not post to Slack" grep -q '"hang"' "$T/slack/stats.json"
[ "$(slack_count hang_gave_up)" -eq 0 ] || tg_fail "the post was given up before the stop"
kill -TERM "$UP_PID"
up_wait_until 60 "the daemon did not stop after SIGTERM while Slack held its post" gone
rc=0
wait "$UP_PID" || rc=$?
UP_PID=
cat "$T/uploader.log"
ended_by_stop "$T/uploader.log" "the stop" 0
# the receiver still held the post, and saw the daemon let go of it (its one post)
up_wait_until 20 "the receiver did not see the held post let go" [ "$(slack_count hang_gave_up)" -eq 1 ]
[ "$(slack_count hang)" -eq 1 ] || tg_fail "the daemon posted $(slack_count hang) times, not once"
[ "$(find "$T/spool/outbox/notify" -type f | wc -l)" -eq 1 ] ||
	tg_fail "the message Slack did not answer is not left in outbox/notify"
# a stop is a normal end, whatever waits (systemd would mark the unit failed at every
# "systemctl stop" with a message queued, as during any Slack or S3 outage)
[ $rc -eq 0 ] || tg_fail "the daemon stopped by SIGTERM exited $rc, not 0"
# the next start posts it
echo ok >"$T/slack/mode"
up_start_ready
up_wait_messages 1 20 || tg_fail "the held message was not posted after the restart"
up_message_has held || tg_fail "the posted message is not the held one"
up_wait_empty 20 || tg_fail "the spool did not empty"

# --once waited for such a post the whole 30 s timeout (a cron job or a person at a
# terminal held for it); it waits as long as a stop does, and leaves the message queued
tg_stop_pid "$UP_PID"
UP_PID=
echo hang >"$T/slack/mode"
posted=$(slack_count ok)
up_event 2 mfa_failure '"user":"once","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
rc=0
# (timeout only keeps a hung pass from hanging the suite)
timeout 300 "$UPLOADER" -c "$T/tollgate.conf" --once >"$T/once.log" 2>&1 || rc=$?
cat "$T/once.log"
[ $rc -ne 124 ] || tg_fail "--once did not end while Slack held its post"
[ $rc -eq 1 ] || tg_fail "--once with a message left for Slack exited $rc, not 1"
[ "$(find "$T/spool/outbox/notify" -type f | wc -l)" -eq 1 ] ||
	tg_fail "--once did not leave the message Slack did not answer in outbox/notify"
ended_by_stop "$T/once.log" "--once" "$posted"
up_wait_until 20 "the receiver did not see the post of --once let go" [ "$(slack_count hang_gave_up)" -eq 2 ]
echo ok >"$T/slack/mode"
"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/once.log" 2>&1 || tg_fail "the next --once did not post it"
up_message_has once || tg_fail "the message held by --once was not posted by the next run"

# A backlog of events (an uploader down for a while, an MFA brute force) was fanned out in one
# go: tens of thousands of files, three durable writes each, during which the daemon neither
# took a signal nor did anything else (here 20,000 took 40 s: past TimeoutStopSec, so systemd
# would SIGKILL it). The fan-out now goes in slices, and a stop ends it where it is.
python3 - "$T/spool/events" <<'PY' || tg_fail "write the backlog"
import os, sys, time
base = int(time.time()) * 1000000
for i in range(20000):
    name = "%020d-%016x.json" % (base + 100 + i, 100 + i)
    with open(os.path.join(sys.argv[1], ".tmp." + name), "w") as f:
        f.write('{"v":1,"type":"mfa_failure","time":"2026-01-01T00:00:00.000000Z","time_us":%d,'
                '"host":"testhost","user":"b%d","client_addr":"192.0.2.1","service":"sshd",'
                '"reason":"bad_code"}' % (base + 100 + i, i))
    os.rename(os.path.join(sys.argv[1], ".tmp." + name), os.path.join(sys.argv[1], name))
PY
up_start
fanning() { [ -n "$(find "$T/spool/outbox/s3" -type f -name '*.json' | head -1)" ]; }
up_wait_until 20 "the fan-out of the backlog did not begin" fanning
kill -TERM "$UP_PID"
up_wait_until 60 "the daemon did not stop" gone
wait "$UP_PID"
UP_PID=
left=$(find "$T/spool/events" -type f -name '*.json' | wc -l)
echo "events still in events/ after the stop: $left of 20000"
[ "$left" -gt 0 ] || tg_fail "the stop waited for the fan-out of the whole backlog"
echo PASS
