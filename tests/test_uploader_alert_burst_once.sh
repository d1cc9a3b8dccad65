#!/bin/sh
# --once sends the summary of an alert burst before it exits: six alerts of one
# kind waiting in the spool give Slack the first and one summary counting the
# other five, each alert is its own event in S3, and no count is left waiting
# in state/alerts/ for a run that may never come. And an alert counted just
# before a kill -9 took the daemon (its event still in events/), whose window
# ended before the restart, is counted in that window's summary only, not again
# in the next window. A window that ends further ahead than alert_window (the
# wall clock was set back) does not hold its summary back: the daemon sends it
# at once.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'alert_window = 3600'
i=1
while [ $i -le 6 ]; do
	up_event $i alert "\"alert\":\"bad_event\",\"message\":\"test alert $i\",\"notify\":true"
	i=$((i + 1))
done
rc=0
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/once.log" 2>&1 || rc=$?
cat "$T/once.log"
[ $rc -eq 0 ] || tg_fail "--once exited $rc"
up_wait_messages 2 10 || tg_fail "Slack did not get two messages"
up_message_heads
[ "$(up_messages | grep -c bad_event)" -eq 2 ] ||
	tg_fail "Slack got $(up_messages | grep -c bad_event) bad_event messages, not the first and one summary"
up_message_has 'test alert 1' || tg_fail "the first alert was not posted"
up_message_has '5 more bad_event alerts since' || tg_fail "no summary counting the other five"
singles=$(up_s3_objects tollgate/events | xargs -r cat | grep -o '"message": *"test alert [0-9]' | sort -u | wc -l)
[ "$singles" -eq 6 ] || tg_fail "S3 holds $singles of the 6 alerts"
[ -z "$(find "$T/spool/state/alerts" -type f -name '*.json' -exec grep -l '"count": *[1-9]' {} +)" ] ||
	tg_fail "a count is still waiting: $(cat "$T/spool/state/alerts/"*)"

# an alert counted before a kill -9, still in events/, its window over by the restart
us=$(( $(date +%s) * 1000000 + 7 ))
name=$(printf '%020d-%016x.json' "$us" 7)
up_event 7 alert '"alert":"recording_damaged","message":"counted before the crash","notify":true'
printf '{"alert":"recording_damaged","until_us":%s,"since_us":%s,"first_key":"tollgate/events/x","examples":["counted before the crash"],"count":1,"last_us":%s,"last":"%s"}' \
	$((us - 1000000)) "$us" "$us" "$name" >"$T/spool/state/alerts/recording_damaged.json"
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/once2.log" 2>&1 || tg_fail "the second --once failed"
cat "$T/once2.log"
sleep 1
up_messages | grep recording_damaged | sed 's/^/  /' | cut -c1-200
[ "$(up_messages | grep -c recording_damaged)" -eq 1 ] ||
	tg_fail "the alert counted before the crash reached Slack $(up_messages | grep -c recording_damaged) times, not once (in its window's summary)"
up_message_has '1 more recording_damaged alert since' || tg_fail "no summary of the window the alert was counted in"

# a window ending ten days ahead (written before the clock was set back): due now
now=$(( $(date +%s) * 1000000 ))
printf '{"alert":"spool_filling","until_us":%s,"since_us":%s,"first_key":"tollgate/events/y","examples":["before the clock went back"],"count":2,"last_us":%s,"last":"y.json"}' \
	$((now + 864000000000)) "$now" "$now" >"$T/spool/state/alerts/spool_filling.json"
up_start
up_wait_until 20 "the summary of a window ten days ahead was held back" \
	up_message_has '2 more spool_filling alerts since'
echo PASS
