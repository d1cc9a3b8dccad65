#!/bin/sh
# A burst of one alert kind does not flood Slack. 50 recordings are removed from
# the spool while S3 is stalled: each removal is still its own recording_removed
# alert in the log and in S3, but Slack gets the first one and then one summary
# that counts the others ("49 more recording_removed alerts since ..."), so a
# login raised after the removals is posted within seconds, not behind 50
# messages at Slack's one a second. The summary survives a kill -9 of the daemon
# while it is pending (state/alerts/), and counts each alert once.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

N=50
up_setup 'workers = 1' 'alert_window = 8'
# Slack's own pace: one message a second, so that 50 messages take most of a minute
sed -i 's/^min_interval_ms = .*/min_interval_ms = 1000/' "$T/tollgate.conf"

# Slack's recording_removed messages, as the number of alerts they account for: a summary
# counts the alerts it names, any other one counts one.
slack_removed() {
	up_messages | python3 -c 'import json, re, sys
n = 0
for l in sys.stdin:
    t = json.loads(l).get("text", "")
    if "recording_removed" not in t:
        continue
    m = re.search(r"(\d+) more recording_removed alerts", t)
    n += int(m.group(1)) if m else 1
print(n)'
}
slack_removed_messages() { up_messages | grep -c recording_removed; }
removed_logged() { [ "$(grep -c 'alert recording_removed' "$T/uploader.log")" -ge "$N" ]; }
login_posted() { up_message_has 'SSH login: alice@testhost'; }
# S3's alert events of recording_removed that are single alerts, not summaries
s3_removed_alerts() {
	up_s3_objects tollgate/events | xargs -r cat | python3 -c 'import json, sys
text = sys.stdin.read()
dec, i, n = json.JSONDecoder(), 0, 0
while i < len(text):
    ev, i = dec.raw_decode(text, i)
    if ev.get("alert") == "recording_removed" and "coalesced" not in ev:
        n += 1
print(n)'
}

# the one worker is held by a batch of recordings that stay (a job takes 32 at most, and a
# recording of a job is alerted on only when the job gets to it) while the others are removed
i=1
while [ $i -le 32 ]; do
	up_rec "$(printf 'a%031x' $i).tgr" user=keeper
	i=$((i + 1))
done
i=1
while [ $i -le $N ]; do
	up_rec "$(printf 'b%031x' $i).tgr" user=u$i
	i=$((i + 1))
done
up_start_stalled
i=1
while [ $i -le $N ]; do
	rm -f "$T/spool/sessions/$(printf 'b%031x' $i).tgr"
	i=$((i + 1))
done
up_wait_until 30 "not every removal was alerted on" removed_logged

# a login after the burst reaches Slack in seconds: not behind one message per removal.
# Counted, not timed: the messages Slack took before the login (the first alert, and the
# summary if its window ended first), where one per removal would be N
sleep 1 # its name (the time, to the second) sorts after every alert's
start=$(date +%s)
up_event 1 login '"user":"alice","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"11111111111111111111111111111111","mfa_method":"totp"'
up_wait_until 120 "the login did not reach Slack after the $N removals" login_posted
ahead=$(up_messages | awk '/SSH login: alice@testhost/ { exit } /recording_removed/ { n++ } END { print n + 0 }')
echo "login posted after $(($(date +%s) - start)) s, behind $ahead recording_removed message(s)"
[ "$ahead" -le 3 ] || tg_fail "the login waited behind $ahead recording_removed messages"

# the others are counted in a summary that waits in state/alerts/ for the window's end: a
# kill -9 then loses none of them
[ -f "$T/spool/state/alerts/recording_removed.json" ] || tg_fail "no summary pending in state/alerts/"
kill -9 "$UP_PID"
wait "$UP_PID" 2>/dev/null
UP_PID=
up_start
kill -CONT "$TG_S3_PID"
up_wait_until 40 "Slack's messages do not account for the $N alerts: $(slack_removed)" \
	eval '[ "$(slack_removed)" -ge $N ]'
up_wait_until 40 "the spool did not drain" up_no_recs
up_wait_empty 40 || tg_fail "the spool did not drain"
sleep 1 # a second summary, were one wrongly left, would be due now
up_messages | python3 -c 'import json, sys
for l in sys.stdin:
    t = json.loads(l).get("text", "")
    if "recording_removed" in t:
        print("  " + t[:300])'
[ "$(slack_removed)" -eq $N ] || tg_fail "Slack's messages account for $(slack_removed) alerts, not $N"
[ "$(slack_removed_messages)" -le 3 ] ||
	tg_fail "$(slack_removed_messages) recording_removed messages reached Slack for one burst"
up_message_has "more recording_removed alerts since" || tg_fail "no summary message"
[ "$(s3_removed_alerts)" -eq $N ] || tg_fail "S3 holds $(s3_removed_alerts) recording_removed alerts, not $N"
[ -z "$(find "$T/spool/state/alerts" -type f -name '*.json' -exec grep -l '"count": *[1-9]' {} +)" ] ||
	tg_fail "a summary is still pending: $(cat "$T/spool/state/alerts/"*)"
echo PASS
