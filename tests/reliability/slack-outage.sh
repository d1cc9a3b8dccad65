#!/bin/sh
# Slack outage: the webhook answers 500, then 429 with Retry-After, then
# refuses connections, then leaves requests unanswered, while logins, logouts
# (with their recordings) and MFA failures keep coming; then it is back. Every
# message must arrive afterwards, once and in order, and a silent webhook must
# not hold back S3: every event that came while the receiver held a post
# unanswered must be in S3 while that same post is still held (the receiver
# holds it until the uploader's curl gives up after 30 s, and counts that as
# hang_gave_up), which an uploader that waited for Slack could not do. S3's
# lag and the drain time are reported, not judged.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
. "$TG_TOP_SRCDIR/tests/reliability/lib.sh"

OUTAGE=$(rel_scale 12 120)        # seconds, in four equal phases
TICK_MS=$(rel_scale 250 1000)     # one event per tick during the outage
INTERVAL_MS=$(rel_scale 100 1000) # [slack] min_interval_ms (1000: Slack's own limit)
BACKOFF=$(rel_scale 2 10)         # [uploader] backoff_max
RETRY_AFTER=$(rel_scale 2 10)     # the 429 phase's Retry-After
AROUND=6                          # events before and after the outage

trap 'exit 130' INT TERM HUP PIPE
up_setup
sed -i -e "s/^min_interval_ms = .*/min_interval_ms = $INTERVAL_MS/" \
	-e "s/^backoff_max = .*/backoff_max = $BACKOFF/" "$T/tollgate.conf"
echo "$INTERVAL_MS" >"$T/slack/min_interval_ms"
echo "$RETRY_AFTER" >"$T/slack/retry_after"
echo 100000 >"$T/slack/hang_s" # a held post ends when the uploader gives up on it, or at "ok"
SLACK_PORT=$(cat "$T/slack/port")

now_ms() { echo $(($(date +%s%N) / 1000000)); }
sleep_until_ms() {
	d=$(($1 - $(now_ms)))
	[ $d -gt 0 ] && sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
	return 0
}

# Event n, in a cycle of three for session k: the login of u<k>, an MFA
# failure of m<k>, the logout of u<k> (its recording first, as the recorder
# seals it before sshd closes the PAM session). Expected Slack headers go to
# $T/want.
n=0
: >"$T/want"
: >"$T/created"
: >"$T/hung"
event() {
	n=$((n + 1))
	k=$(((n + 2) / 3))
	u=$(printf 'u%04d' $k)
	pam=$(printf 'pam%029d' $k)
	who="\"user\":\"$u\",\"client_addr\":\"192.0.2.7\",\"client_port\":50000,\"tty\":\"ssh\",\"service\":\"sshd\",\"pid\":$k,\"session_id\":\"$pam\",\"mfa_method\":\"totp\""
	case $((n % 3)) in
	1)
		up_event $n login "$who"
		echo "SSH login: $u@testhost" >>"$T/want"
		;;
	2)
		up_event $n mfa_failure "\"user\":\"$(printf 'm%04d' $k)\",\"client_addr\":\"198.51.100.9\",\"service\":\"sshd\",\"reason\":\"bad_code\""
		echo "MFA failure: $(printf 'm%04d' $k)@testhost" >>"$T/want"
		;;
	0)
		up_rec "$(printf 's%04d.tgr' $k)" user="$u" pam="$pam" bytes=$((k * 997 % 20000 + 100))
		up_event $n logout "$who,\"duration_us\":$((k * 1000000))"
		echo "SSH logout: $u@testhost" >>"$T/want"
		;;
	esac
	echo "$name $(now_ms)" >>"$T/created"
}

received() { up_message_heads | wc -l; }
# held posts so far and those the uploader gave up: "HANG GAVE_UP"
held_counts() {
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))
print(s.get("hang", 0), s.get("hang_gave_up", 0))' "$T/slack/stats.json" 2>/dev/null || echo "0 0"
}
# the event just made came while the receiver held a post: noted with that post's number
# (the count of posts given up before it), in $T/hung
note_if_held() {
	# shellcheck disable=SC2046 # two numbers
	set -- $(held_counts)
	[ "$1" -gt "$2" ] && echo "$name $2" >>"$T/hung"
	return 0
}
# the receiver holds a post now
held() {
	# shellcheck disable=SC2046 # two numbers
	set -- $(held_counts)
	[ "$1" -gt "$2" ]
}
waiting() { find "$T/spool/outbox/notify" "$T/spool/events" -type f ! -name '.*' | wc -l; }

up_start
i=0
while [ $i -lt $AROUND ]; do
	event
	i=$((i + 1))
done
up_wait_messages $AROUND 30 || tg_fail "Slack did not get the first $AROUND messages before the outage"
echo "before the outage: $(received) messages delivered"

# The outage, in four phases; one event every TICK_MS all along.
phase_ms=$((OUTAGE * 1000 / 4))
t0=$(now_ms)
during=0
phase=-1
while :; do
	el=$(($(now_ms) - t0))
	[ $el -ge $((OUTAGE * 1000)) ] && break
	p=$((el / phase_ms))
	if [ $p -ne $phase ]; then
		phase=$p
		case $phase in
		0) what="500 answers" && echo down >"$T/slack/mode" ;;
		1) what="429 answers" && echo 429 >"$T/slack/mode" ;;
		2)
			what="connection refused"
			# connection refused: the receiver is stopped, and started again
			# on the same port for the last phase
			tg_stop_pid "$SLACK_PID"
			SLACK_PID=
			echo hang >"$T/slack/mode"
			;;
		3)
			what="requests left unanswered"
			python3 "$RECEIVER" "$T/slack" /services/T0/B0/secret "$SLACK_PORT" >>"$T/slack/log" 2>&1 &
			SLACK_PID=$!
			tg_wait_port "$SLACK_PORT" 10 || tg_fail "the Slack receiver did not come back on port $SLACK_PORT"
			;;
		esac
		echo "$((el / 1000)) s into the outage: phase $((phase + 1)) of 4 ($what)," \
			"$(waiting) messages waiting"
	fi
	event
	[ "$phase" -eq 3 ] && note_if_held
	during=$((during + 1))
	sleep_until_ms $((t0 + during * TICK_MS))
done
# one more event while a post is held, whenever the uploader's retry came in the last phase
up_wait_until 60 "the uploader posted nothing while Slack left requests unanswered" held
event
note_if_held
during=$((during + 1))
# S3 goes on while the post is held: each of those events is in S3 before the uploader gave
# up the post it came during (curl's timeout; the receiver notes when, in gave_up.log, on the
# clock S3's files are stamped with): an uploader that waited for Slack before S3 could not
# store any of them until then. A post not given up is still held: Slack is released after.
python3 - "$T/hung" "$S3DATA" "$T/slack/gave_up.log" <<'EOF2' || tg_fail "S3 waited for Slack"
import os, sys, time
hung = [(name, int(g)) for name, g in (l.split() for l in open(sys.argv[1]) if l.strip())]
end = time.monotonic() + 120  # generous: what counts is the order, not the time
while True:
    stored = {}
    for r, _, files in os.walk(os.path.join(sys.argv[2], "tollgate", "events")):
        for f in files:
            if f.endswith("._S3rver_object"):
                stored[f[:-len("._S3rver_object")]] = os.stat(os.path.join(r, f)).st_mtime
    missing = [name for name, _ in hung if name not in stored]
    if not missing:
        break
    if time.monotonic() > end:
        sys.exit("%d events of the hang phase never reached S3: %s" % (len(missing), missing))
    time.sleep(0.2)
try:
    gave_up = [float(l) for l in open(sys.argv[3])]
except OSError:
    gave_up = []
for name, g in hung:
    if g < len(gave_up) and stored[name] >= gave_up[g]:
        sys.exit("%s was stored in S3 only after the uploader gave up the Slack post it came"
                 " during (%d posts given up)" % (name, len(gave_up)))
print("S3 had all %d events that came while Slack held a post before that post was given up"
      " (%d given up)" % (len(hung), len(gave_up)))
EOF2
[ "$(received)" -eq $AROUND ] || tg_fail "Slack accepted messages during the outage"
queued=$(waiting)
echo ok >"$T/slack/mode"
back=$(now_ms)
echo "Slack is back after $OUTAGE s: $queued messages waiting"
i=0
while [ $i -lt $AROUND ]; do
	event
	i=$((i + 1))
done
total=$n
limit=$((total * INTERVAL_MS / 1000 + 60))
up_wait_messages "$total" "$limit" || echo "not every message arrived within $limit s" >&2
drained=$(now_ms)
up_wait_empty 30 || tg_fail "the spool did not drain"
tg_stop_pid "$UP_PID"
UP_PID=
up_check_s3
drain_s=$(((drained - back) / 100))
drain_s="$((drain_s / 10)).$((drain_s % 10))"

# Delivered once and in order? And how long did S3 take for each event?
up_message_heads >"$T/got"
python3 - "$T" "$S3DATA" "$t0" "$phase_ms" >"$T/verdict" <<'EOF'
import json, os, sys
t, data, t0, phase_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = open(os.path.join(t, "want")).read().splitlines()
got = open(os.path.join(t, "got")).read().splitlines()
first = []
for h in got:
    if h not in first:
        first.append(h)
delivered = sum(1 for h in want if h in set(got))
others = [h for h in first if h not in set(want)]
in_order = [h for h in first if h in set(want)] == want
# S3's lag for the events that came while requests were left unanswered
# (the last phase) and for all others
lag = {True: [0.0], False: [0.0]}
stored = {}
for r, _, files in os.walk(os.path.join(data, "tollgate", "events")):
    for n in files:
        stored[n] = os.stat(os.path.join(r, n)).st_mtime
for line in open(os.path.join(t, "created")):
    name, ms = line.split()
    ms = int(ms)
    hung = t0 + 3 * phase_ms <= ms < t0 + 4 * phase_ms
    if name + "._S3rver_object" in stored:
        lag[hung].append(stored[name + "._S3rver_object"] - ms / 1000.0)
print(len(want), delivered, len(got) - len(first), "yes" if in_order else "no",
      "%.1f" % max(lag[False]), "%.1f" % max(lag[True]), len(others))
for h in others:
    print("unexpected message:", h, file=sys.stderr)
EOF
set -- $(cat "$T/verdict")
want_n=$1 delivered=$2 dups=$3 in_order=$4 s3lag=$5 s3lag_hung=$6 others=$7
stats=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))
print(s.get("down", 0), s.get("429", 0), s.get("hang", 0))' "$T/slack/stats.json")
set -- $stats
rel_figure "Slack down for $OUTAGE s ($((OUTAGE / 4)) s each of 500 answers, 429 with Retry-After: $RETRY_AFTER," \
	"connection refused and requests left unanswered; the receiver answered $1 posts with 500, $2 with 429" \
	"and held $3 unanswered) while $during events arrived, one every $TICK_MS ms: $delivered of $want_n messages" \
	"delivered (with $AROUND before and $AROUND after the outage), in order: $in_order, $dups duplicated."
rel_figure "Once Slack was back the $queued queued messages and the $AROUND new ones drained in $drain_s s" \
	"(at most one message per $INTERVAL_MS ms, backoff_max $BACKOFF s); S3 had every event" \
	"within $s3lag s of its arrival, and within $s3lag_hung s while Slack left requests unanswered."

fail=0
[ "$delivered" -eq "$want_n" ] || { echo "FAIL: $((want_n - delivered)) messages lost" >&2; fail=1; }
[ "$in_order" = yes ] || { diff -u "$T/want" "$T/got" >&2; echo "FAIL: messages out of order" >&2; fail=1; }
[ "$dups" -eq 0 ] || { echo "FAIL: $dups messages posted twice" >&2; fail=1; }
[ "$others" -eq 0 ] || { echo "FAIL: $others unexpected messages (alerts?)" >&2; fail=1; }
exit $fail
