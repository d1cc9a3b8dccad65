#!/bin/sh
# The recorder's own events do not flood Slack. Any user may run the setuid recorder as often as
# they like so that it fails (ulimit -f 1: a recording_failure) or says it was run by hand (a
# recording_escape), and Slack takes a message a second, strictly in order: each was posted on
# its own, so a loop held every later login and logout behind it for as long as it ran. The
# first of each type is posted, the others within alert_window are counted into one summary
# ("19 more recording failures (sessions refused) since ..."); each is still its own event in
# S3. A failure that let a session run on unrecorded (on_failure = allow) has a window of its
# own, never counted in with refusals a user can make by hand.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

N=20
up_setup 'alert_window = 6'
sed -i 's/^min_interval_ms = .*/min_interval_ms = 1000/' "$T/tollgate.conf"
i=1
while [ $i -le $N ]; do
	up_event $i recording_failure '"user":"mallory","session_id":null,"recording_id":"'"$(printf '%032x' $i)"'","client_addr":"192.0.2.66","reason":"cannot open the recording: File too large","on_failure":"deny"'
	up_event $((100 + i)) recording_escape '"user":"mallory","session_id":null,"recording_id":"'"$(printf '%032x' $((100 + i)))"'","client_addr":"192.0.2.66","reason":"run by hand"'
	i=$((i + 1))
done
# sessions that ran on unrecorded (on_failure = allow): the first posted, in spite of mallory's
for i in 1 2 3; do
	up_event $((200 + i)) recording_failure '"user":"bob'$i'","session_id":"'"$(printf '%032x' $((200 + i)))"'","recording_id":"'"$(printf '%032x' $((200 + i)))"'","client_addr":"192.0.2.5","reason":"cannot open the recording: No space left on device","on_failure":"allow"'
done
up_session_event 300 login alice 11111111111111111111111111111111
up_start
up_wait_until 90 "the login did not reach Slack after $N recorder events of each type" up_message_has 'SSH login: alice@testhost'
ahead=$(up_messages | awk '/SSH login: alice@testhost/ { exit } /Recording (failure|escape attempt): mallory/ { n++ } END { print n + 0 }')
[ "$ahead" -le 2 ] || tg_fail "the login waited behind $ahead of mallory's recorder event messages"
# counted: posted on their own, plus the summaries' counts, per type
counted() { # counted TITLE WORDS: the events of one type Slack accounts for
	up_messages | python3 -c 'import json, re, sys
title, words = sys.argv[1], sys.argv[2]
n = 0
for l in sys.stdin:
    t = json.loads(l).get("text", "")
    m = re.search(r"(\d+) more %s since" % words, t)
    if m:
        n += int(m.group(1))
    elif t.startswith(title):
        n += 1
print(n)' "$1" "$2"
}
all_counted() {
	[ "$(counted 'Recording failure: ' 'recording failures? \([^)]*\)')" -ge $((N + 3)) ] &&
		[ "$(counted 'Recording escape attempt: ' 'recording escape attempts?')" -ge $N ]
}
up_wait_until 60 "the summaries did not come: $(counted 'Recording failure: ' 'recording failures? \([^)]*\)') failures, $(counted 'Recording escape attempt: ' 'recording escape attempts?') escapes" all_counted
for t in 'Recording failure: |recording failures? \([^)]*\)' "Recording escape attempt: |recording escape attempts?"; do
	want=$N
	case $t in "Recording failure"*) want=$((N + 3)) ;; esac # and bob's three
	got=$(counted "${t%%|*}" "${t#*|}")
	[ "$got" -eq $want ] || { up_messages | cut -c1-300; tg_fail "Slack accounts for $got of \"${t%%|*}\", not $want"; }
done
up_message_has "Recording failure: bob1@testhost" || tg_fail "the first unrecorded session was not posted on its own"
up_message_has "2 more recording failures (the sessions ran on UNRECORDED) since .*bob2 from 192.0.2.5" ||
	{ up_messages | grep 'more recording'; tg_fail "the unrecorded sessions were not counted apart from the refusals"; }
up_message_has "19 more recording failures (sessions refused) since .*mallory from 192.0.2.66 (cannot open the recording" ||
	{ up_messages | grep 'more recording'; tg_fail "the summary does not quote the first it counted"; }
up_wait_empty 30 || tg_fail "the spool did not drain"
for type in recording_failure recording_escape; do
	want=$N
	[ $type = recording_failure ] && want=$((N + 3))
	in_s3=$(up_s3_objects tollgate/events | xargs -r grep -l "\"type\":\"$type\"" | wc -l)
	[ "$in_s3" -eq $want ] || tg_fail "$in_s3 $type events in S3, not $want"
done
echo "ok: $N recorder events of each type: one message and a summary each; the login waited for $ahead"
