#!/bin/sh
# Uploader chaos: sessions (a recording each, a few of them multipart, and a
# login and a logout event for every tenth) arrive while a proxy fails 30% of
# the S3 requests (500, 503 SlowDown, a reset before or after S3 acted) and
# the daemon is killed with kill -9 again and again. Afterwards every recording
# and event is in S3 byte-identical and once, and Slack got every message in order.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
. "$TG_TOP_SRCDIR/tests/reliability/lib.sh"

SESSIONS=$(rel_scale 100 1000)
KILLS=$(rel_scale 5 20)
FAIL_RATE=0.3
EVENTS_EVERY=10 # sessions with a login and a logout event
BIG_EVERY=$(rel_scale 50 250) # sessions whose recording goes up as a multipart upload
DRAIN_LIMIT=$(rel_scale 60 300)

trap 'exit 130' INT TERM HUP PIPE
t0=$(date +%s)
up_setup "multipart_threshold = 5M" "part_size = 5M" "workers = 4"
up_fault_proxy "$FAIL_RATE" requests

# Every session's recording is made beforehand (in $T/stage, a copy in
# $T/orig for the comparison); feed N moves the next N into the spool as the
# recorder publishes them: the login event, the recording, the logout event.
mkdir -p "$T/stage" "$T/orig"
i=1
while [ $i -le "$SESSIONS" ]; do
	name=$(printf 's%04d.tgr' $i)
	bytes=$((i * 7919 % 60000 + 200))
	[ $((i % BIG_EVERY)) -eq $((BIG_EVERY / 2)) ] && bytes=$((11000000 + i))
	"$RECGEN" rec "$T/keys/signing.key" "$T/stage/$name" user="$(printf 'u%04d' $i)" \
		pam="$(printf 'pam%029d' $i)" bytes=$bytes || tg_fail "recgen"
	cp "$T/stage/$name" "$T/orig/$name"
	i=$((i + 1))
done
echo "made $SESSIONS recordings ($(du -sh "$T/orig" | cut -f1)) in $(($(date +%s) - t0)) s"

fed=0
nevents=0
: >"$T/want-heads"
feed() {
	k=0
	while [ $k -lt "$1" ] && [ $fed -lt "$SESSIONS" ]; do
		fed=$((fed + 1))
		k=$((k + 1))
		u=$(printf 'u%04d' $fed)
		pam=$(printf 'pam%029d' $fed)
		who="\"user\":\"$u\",\"client_addr\":\"192.0.2.7\",\"client_port\":50000,\"tty\":\"ssh\",\"service\":\"sshd\",\"pid\":$fed,\"session_id\":\"$pam\",\"mfa_method\":\"totp\""
		if [ $((fed % EVENTS_EVERY)) -eq 0 ]; then
			nevents=$((nevents + 1))
			up_event $nevents login "$who"
			echo "SSH login: $u@testhost" >>"$T/want-heads"
		fi
		mv "$T/stage/$(printf 's%04d.tgr' $fed)" "$T/spool/sessions/"
		if [ $((fed % EVENTS_EVERY)) -eq 0 ]; then
			nevents=$((nevents + 1))
			up_event $nevents logout "$who,\"duration_us\":$((fed * 1000))"
			echo "SSH logout: $u@testhost" >>"$T/want-heads"
		fi
	done
}

# Each round: the daemon starts, the next share of the sessions arrives while
# it works, and 0.3 to 2 s later it is killed with kill -9 (busy: the kills
# that found files still waiting).
per=$(((SESSIONS + KILLS - 1) / KILLS))
run0=$(date +%s)
round=0
busy=0
while [ $round -lt "$KILLS" ]; do
	up_start
	feed "$per"
	ms=$(($(od -An -N2 -tu2 /dev/urandom) % 1700 + 300))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	waiting=$(up_spool_left)
	kill -9 "$UP_PID" 2>/dev/null
	[ "$waiting" -gt 0 ] && busy=$((busy + 1))
	wait "$UP_PID" 2>/dev/null
	UP_PID=
	round=$((round + 1))
	echo "kill -9 $round of $KILLS after $ms ms: $fed sessions fed, $waiting files waiting," \
		"$(find "$T/spool/state/multipart" -type f 2>/dev/null | wc -l) multipart upload(s) to resume"
done
feed "$SESSIONS"
up_start
up_wait_empty "$DRAIN_LIMIT" || tg_fail "the spool did not drain within $DRAIN_LIMIT s after the last kill"
drained=$(date +%s)
up_wait_messages "$nevents" 30 || echo "not every Slack message arrived" >&2
tg_stop_pid "$UP_PID"
UP_PID=
echo "drained $((drained - run0)) s after the first start"

# Every original in S3 byte-identical and once; every session has one index
# line naming its recording's key; nothing else but the daemon's own alerts.
python3 - "$T" "$S3DATA" "$SESSIONS" "$nevents" >"$T/s3check" <<'EOF'
import collections, hashlib, json, os, sys
t, data, sessions, nevents = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
SUFFIX = "._S3rver_object"
def digest(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
want = {"recordings": collections.Counter(), "events": collections.Counter()}
for kind, sub in (("recordings", "orig"), ("events", "orig-events")):
    d = os.path.join(t, sub)
    for n in os.listdir(d) if os.path.isdir(d) else ():
        want[kind][digest(os.path.join(d, n))] += 1
have, where, index, alerts = collections.Counter(), {}, [], collections.Counter()
root = os.path.join(data, "tollgate")
for r, _, files in os.walk(root):
    for n in files:
        if not n.endswith(SUFFIX):
            continue
        p = os.path.join(r, n)
        key = os.path.relpath(p, data)[:-len(SUFFIX)]
        if key.startswith("tollgate/index/"):
            index.append(p)
            continue
        h = digest(p)
        have[h] += 1
        where[h] = key
ok = True
counts = {}
for kind, w in want.items():
    intact = lost = dup = 0
    for h, n in w.items():
        if have[h] == n:
            intact += n
        elif have[h] < n:
            lost += n - have[h]
            print("lost: %s %s" % (kind, h), file=sys.stderr)
        else:
            intact += n
            dup += have[h] - n
            print("duplicated: %s %s" % (kind, where[h]), file=sys.stderr)
    counts[kind] = (intact, sum(w.values()), lost, dup)
    ok = ok and lost == 0 and dup == 0
wanted = set(want["recordings"]) | set(want["events"])
for h, n in have.items():
    if h in wanted:
        continue
    key = where[h]
    if "/events/" in key:
        with open(os.path.join(data, key + SUFFIX)) as f:
            ev = json.load(f)
        if ev.get("type") == "alert":
            alerts[ev.get("alert")] += n
            continue
    print("unexpected object:", key, file=sys.stderr)
    ok = False
keys = set(where.values())
bad_index = 0
for p in index:
    with open(p) as f:
        line = json.load(f)
    if line.get("s3_key") not in keys:
        bad_index += 1
        print("index line names no object:", p, line.get("s3_key"), file=sys.stderr)
if len(index) != sessions or bad_index:
    ok = False
rec, ev = counts["recordings"], counts["events"]
print("recordings %d %d %d %d" % rec)
print("events %d %d %d %d" % ev)
print("index %d %d" % (len(index) - bad_index, sessions))
print("alerts %s" % (",".join("%s:%d" % a for a in sorted(alerts.items())) or "none"))
sys.exit(0 if ok else 1)
EOF
s3ok=$?
cat "$T/s3check"
set -- $(grep '^recordings' "$T/s3check")
rec_ok=$2 rec_n=$3 rec_lost=$4 rec_dup=$5
set -- $(grep '^events' "$T/s3check")
ev_ok=$2 ev_n=$3 ev_lost=$4 ev_dup=$5
set -- $(grep '^index' "$T/s3check")
idx_ok=$2
alerts=$(sed -n 's/^alerts //p' "$T/s3check")
left_mp=$(find "$T/spool/state/multipart" -type f 2>/dev/null | wc -l)

# Slack: every login and logout, in order; a message posted just before a
# kill may come twice in a row (it left the queue only after Slack's 200).
up_message_heads | grep '^SSH log' >"$T/heads" || true
uniq "$T/heads" >"$T/got"
slack_dup=$(($(wc -l <"$T/heads") - $(wc -l <"$T/got")))
slack_ok=yes
diff -u "$T/want-heads" "$T/got" >"$T/slack.diff" || slack_ok=no

python3 - "$T/proxy.port.json" >"$T/proxy.figures" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(s["failed"], s["requests"], "%.1f" % (100.0 * s["failed"] / max(1, s["requests"])),
      s["500"], s["503"], s["reset"], s["lost"], s["completes"])
EOF
set -- $(cat "$T/proxy.figures")
p_failed=$1 p_req=$2 p_pct=$3 p500=$4 p503=$5 preset=$6 plost=$7 p_completes=$8

wall=$((drained - run0))

rel_figure "$rec_ok of $rec_n recordings ($((SESSIONS / BIG_EVERY)) of them over the multipart threshold, for which S3 received $p_completes multipart completions) and $ev_ok of $ev_n login/logout events" \
	"byte-identical in S3 after $round kill -9 ($busy of them with the spool not yet drained) while $p_failed of $p_req S3 requests failed on purpose ($p_pct%:" \
	"$p500 answered 500, $p503 answered 503 SlowDown, $preset reset before and $plost after S3 acted);" \
	"$((rec_lost + ev_lost)) lost, $((rec_dup + ev_dup)) duplicated, $idx_ok of $SESSIONS index lines;" \
	"the spool drained $wall s after the first start."
rel_figure "Slack got the $nevents login/logout messages in order: $slack_ok ($slack_dup repeated after a kill);" \
	"alerts raised: $alerts."

fail=0
[ $s3ok -eq 0 ] || { echo "FAIL: S3 does not hold every recording and event once (see above)" >&2; fail=1; }
[ "$left_mp" -eq 0 ] || { echo "FAIL: $left_mp multipart resume state file(s) left behind" >&2; fail=1; }
# the large recordings went up as multipart uploads, not as single PUTs: S3 saw at least one
# completion each (more where a completion's answer was lost and it was sent again)
[ "$p_completes" -ge $((SESSIONS / BIG_EVERY)) ] || {
	echo "FAIL: $p_completes multipart completions reached S3, for $((SESSIONS / BIG_EVERY)) large recordings" >&2
	fail=1
}
if [ $slack_ok = no ]; then
	cat "$T/slack.diff" >&2
	echo "FAIL: Slack messages lost or out of order" >&2
	fail=1
fi
exit $fail
