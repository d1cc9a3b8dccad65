#!/bin/sh
# The running daemon when the spool's disk fails under it:
# - an event whose copy into the outboxes fails (here: a folder in the way of
#   its outbox/notify file, as a full or failing disk would) is tried again
#   after a backoff, not in a tight loop; it raises one alert; the events
#   behind it go on; it is delivered once the way is clear; and the daemon
#   still ends on SIGTERM (a loop busy on its own inotify events never let
#   the signal in);
# - the spool's size is measured every few seconds even when inotify makes
#   rescans rare, so the spool_filling alert comes in time;
# - a recording left in active/ by a recorder that was killed (its lock gone)
#   is handed over and shipped by the uploader itself, with no recorder
#   starting again (no one logs in), and one a live recorder holds is not;
# - a world-readable config that holds secrets raises an alert at start.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "spool_max_bytes = 4M" "spool_alert_percent = 50"
sed -i 's/^rescan_interval = .*/rescan_interval = 3600/' "$T/tollgate.conf"
grep -q '^rescan_interval = 3600$' "$T/tollgate.conf" || tg_fail "could not set rescan_interval"

# a killed recorder's file in active/ (unlocked), and a live one's (locked by flock here)
mkdir -p "$T/spool/active"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/orphan.tgr" user=killed bytes=3000 unsealed ||
	tg_fail "recgen"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/live.tgr" user=alive bytes=3000 unsealed ||
	tg_fail "recgen"
up_hold_lock "$T/spool/active/live.tgr"
LIVE_PID=$UP_LOCK_PID

# and a config that holds the webhook URL, left readable by every user: said at start
chmod 0644 "$T/tollgate.conf"
up_start_ready
grep -q "alert config_readable" "$T/uploader.log" ||
	tg_fail "no config_readable alert for a world-readable config with secrets"
up_wait_until 20 "the orphan in active/ was not shipped" \
	grep -q "shipped orphan.tgr .*/killed/orphan.tgr" "$T/uploader.log"
[ ! -e "$T/spool/active/orphan.tgr" ] || tg_fail "the orphan is still in active/"
[ -e "$T/spool/active/live.tgr" ] || tg_fail "a recording a live recorder holds left active/"
up_release_lock "$LIVE_PID"

# event 1 cannot be copied into outbox/notify: a folder holds its name
# (one time for both: two `date` calls can straddle a second)
UP_EVENT_SEC=$(date +%s)
blocked=$(printf '%020d-%016x.json' "$((UP_EVENT_SEC * 1000000 + 1))" 1)
mkdir -p "$T/spool/outbox/notify/$blocked"
up_event 1 mfa_failure '"user":"blocked01","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
unset UP_EVENT_SEC
[ -f "$T/spool/events/$blocked" ] || tg_fail "the test's event name is not $blocked"
up_event 2 mfa_failure '"user":"behind02","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_wait_until 20 "the event behind the failing one was not delivered" up_message_has behind02
first=$(grep -c "move event $blocked into the outboxes" "$T/uploader.log")
[ "$first" -ge 1 ] || tg_fail "the fan-out never failed: the test did not test anything"
sleep 3
tries=$(( $(grep -c "move event $blocked into the outboxes" "$T/uploader.log") - first ))
echo "failed fan-out tries in 3 s: $tries (backoff_max = 1 s; without a backoff: hundreds a second)"
[ "$tries" -le 30 ] || tg_fail "the failing fan-out was retried $tries times in 3 s: no backoff"
[ "$(grep -c 'alert event_stuck' "$T/uploader.log")" -eq 1 ] || tg_fail "expected one event_stuck alert"
[ -f "$T/spool/events/$blocked" ] || tg_fail "the event that could not be copied left events/"

# the way is clear: delivered within the backoff (backoff_max = 1 s)
rmdir "$T/spool/outbox/notify/$blocked"
up_wait_until 20 "the event was not delivered once it could be copied" up_message_has blocked01

# the size check runs every few seconds, not only at rescans (an hour away here)
head -c 2500000 /dev/zero >"$T/spool/ballast.bin"
up_wait_until 30 "no spool_filling alert within 30 s of the spool passing 50%" \
	grep -q 'alert spool_filling' "$T/uploader.log"
rm -f "$T/spool/ballast.bin"

# SIGTERM ends it (a stall that held the loop would hold it for ever)
kill "$UP_PID"
up_wait_until 30 "the daemon did not end on SIGTERM" up_ended "$UP_PID"
wait "$UP_PID" 2>/dev/null
UP_PID=
echo PASS
