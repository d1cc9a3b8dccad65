# Helpers for the tollgate-uploader tests (sourced after tests/lib.sh).
# Each test gets its own temp folder $T with a real S3 server (tests/s3server.sh),
# a Slack webhook receiver (tests/servers/slack_receiver.py), a spool and a
# config; up_cleanup (from the EXIT trap) ends what was started, by pid.

UPLOADER=$TG_TOP_BUILDDIR/uploader/tollgate-uploader
RECGEN=$TG_TOP_BUILDDIR/tests/uploader-recgen
S3SERVER=$TG_TOP_SRCDIR/tests/s3server.sh
RECEIVER=$TG_TOP_SRCDIR/tests/servers/slack_receiver.py
UP_PID=
SLACK_PID=
UP_LOCK_PIDS=

up_cleanup() {
	[ -n "$UP_PID" ] && tg_stop_pid "$UP_PID"
	for up_lock_pid in $UP_LOCK_PIDS; do tg_stop_pid "$up_lock_pid"; done
	# after the daemon: a stopped strace detaches and would leave it running
	[ -n "${STRACE_PID:-}" ] && tg_stop_pid "$STRACE_PID"
	[ -n "$SLACK_PID" ] && tg_stop_pid "$SLACK_PID"
	# any uploader process of this test's config still running (a worker whose parent died
	# under strace, a daemon a test started and lost track of) is this test's own: say so,
	# and end it, so that no test leaves a process behind
	if [ -n "${T:-}" ] && command -v pgrep >/dev/null; then
		left=$(pgrep -f -- "-c $T/tollgate.conf" || true)
		if [ -n "$left" ]; then
			echo "up_cleanup: still running after the test, ended now:" >&2
			# shellcheck disable=SC2086
			ps -o pid,ppid,stat,etime,cmd -p "$(echo $left | tr ' ' ,)" >&2 || true
			# shellcheck disable=SC2086
			kill -9 $left 2>/dev/null || true
		fi
	fi
	[ -n "${PROXY_PID:-}" ] && tg_stop_pid "$PROXY_PID"
	[ -n "${SCRIPTED_PID:-}" ] && tg_stop_pid "$SCRIPTED_PID"
	# a test may have stopped the S3 server (up_start_stalled): let it go on to its end
	[ -n "${TG_S3_PID:-}" ] && kill -CONT "$TG_S3_PID" 2>/dev/null
	[ -n "${T:-}" ] && [ -d "$T" ] && "$S3SERVER" stop "$T/s3" >/dev/null 2>&1
	[ -n "${T:-}" ] && [ -d "$T" ] && rm -rf "$T"
}

# up_setup [EXTRA_CONF_LINES]: S3 server, Slack receiver, spool, key pair, config.
up_setup() {
	tg_need_cmd python3
	[ -x "$UPLOADER" ] || tg_fail "$UPLOADER is not built"
	T=$(tg_mktemp_dir)
	trap up_cleanup EXIT
	s3env=$("$S3SERVER" start "$T/s3") || {
		rc=$?
		[ $rc -eq 77 ] && tg_skip "no S3 test server: cd tests/servers && npm ci"
		tg_fail "the S3 test server did not start"
	}
	eval "$s3env"
	mkdir -p "$T/slack" "$T/spool/sessions" "$T/spool/events" "$T/keys"
	python3 "$RECEIVER" "$T/slack" >"$T/slack/log" 2>&1 &
	SLACK_PID=$!
	tg_wait_file "$T/slack/port" "the Slack receiver did not start"
	SLACK_URL="http://127.0.0.1:$(cat "$T/slack/port")/services/T0/B0/secret"
	"$RECGEN" keygen "$T/keys" || tg_fail "keygen"
	{
		cat "$TG_S3_CONF"
		printf '[general]\nspool_dir = %s\nhostname = testhost\n' "$T/spool"
		printf '[recorder]\npublic_key = %s\n' "$T/keys/signing.pub"
		printf '[slack]\nwebhook_url = %s\nmin_interval_ms = 100\n' "$SLACK_URL"
		printf '[uploader]\nbackoff_max = 1\nrescan_interval = 2\n'
		# each MFA failure its own message, as the tests count them, unless a test sets
		# the window (test_uploader_mfa_burst.sh)
		case "$*" in *mfa_failure_window*) ;; *) echo "mfa_failure_window = 0" ;; esac
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >"$T/tollgate.conf"
	chmod 600 "$T/tollgate.conf"
	echo 100 >"$T/slack/min_interval_ms"
	S3DATA=$T/s3/data/$TG_S3_BUCKET
}

# A sealed recording in the spool: up_rec NAME [user=..] [pam=..] [bytes=..]
up_rec() {
	name=$1
	shift
	"$RECGEN" rec "$T/keys/signing.key" "$T/spool/sessions/.$name.tmp" "$@" || tg_fail "recgen"
	mkdir -p "$T/orig"
	cp "$T/spool/sessions/.$name.tmp" "$T/orig/$name"
	mv "$T/spool/sessions/.$name.tmp" "$T/spool/sessions/$name"
}

# An event in the spool as the PAM module writes it: up_event SEQ TYPE JSON-FIELDS
# (SEQ orders the events; the file name is a 20-digit time as tg_event_write makes:
# now, or $UP_EVENT_SEC seconds since the epoch when set, so a test can know it).
up_event() {
	seq=$1 type=$2 fields=$3
	us=$(( ${UP_EVENT_SEC:-$(date +%s)} * 1000000 + seq ))
	name=$(printf '%020d-%016x.json' "$us" "$seq")
	printf '{"v":1,"type":"%s","time":"2026-01-01T00:00:00.000000Z","time_us":%s,"host":"testhost",%s}' \
		"$type" "$us" "$fields" >"$T/spool/events/.tmp.$name"
	mkdir -p "$T/orig-events"
	cp "$T/spool/events/.tmp.$name" "$T/orig-events/$name"
	mv "$T/spool/events/.tmp.$name" "$T/spool/events/$name"
}

# A login or logout event of USER's PAM session SID: up_session_event SEQ TYPE USER SID
# (with "audit_session": $UP_AUDIT when set, as pam_loginuid makes one, and
# "boot_id": "$UP_BOOT" when set)
up_session_event() {
	up_event "$1" "$2" '"user":"'"$3"'","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,'"${UP_AUDIT:+\"audit_session\":$UP_AUDIT,}${UP_BOOT:+\"boot_id\":\"$UP_BOOT\",}"'"session_id":"'"$4"'","mfa_method":"totp","duration_us":1000000'
}

# One pass of the uploader (--once), which must succeed; $1 names the pass in the failure.
up_once() { "$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1 || tg_fail "--once ($1): $(tail -5 "$T/uploader.log")"; }

# mfa_failure events FIRST..LAST for users PREFIX01, PREFIX02, ...:
# up_mfa_failures PREFIX FIRST LAST (Slack announces them as "MFA failure: <user>@testhost")
up_mfa_failures() {
	up_prefix=$1 up_n=$2
	while [ "$up_n" -le "$3" ]; do
		up_event "$up_n" mfa_failure "\"user\":\"$up_prefix$(printf %02d "$up_n")\",\"client_addr\":\"192.0.2.1\",\"service\":\"sshd\",\"reason\":\"bad_code\""
		up_n=$((up_n + 1))
	done
}

# A destination's count in state/status.json: up_count s3|slack sent|lost
up_count() {
	python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))[sys.argv[2]].get(sys.argv[3], 0))' \
		"$T/spool/state/status.json" "$1" "$2"
}
# Wait (at most 10 s) until a count in status.json is N: up_settle_count s3|slack sent|lost N.
# The daemon rewrites the file at most once a second, later on a loaded machine; the caller
# then checks the count and says what it is.
up_settle_count() {
	up_i=0
	while [ "$(up_count "$1" "$2")" != "$3" ] && [ $up_i -lt 50 ]; do
		sleep 0.2
		up_i=$((up_i + 1))
	done
}
# The daemon's upload workers (its child processes), and whether one runs.
up_workers() { ps -o pid= --ppid "$UP_PID" 2>/dev/null | tr -d ' '; }
up_has_worker() { [ -n "$(up_workers)" ]; }
# No recording left in sessions/.
up_no_recs() { [ -z "$(find "$T/spool/sessions" -maxdepth 1 -type f ! -name '.*')" ]; }

# A stand-in for a live recorder: a process that holds an flock on FILE, started and seen
# holding it before this returns (a background flock could still be starting when the daemon
# looks): up_hold_lock FILE. Its pid is in UP_LOCK_PID; up_release_lock PID lets the lock go,
# and up_cleanup ends any still running.
up_hold_lock() {
	UP_LOCK_N=$((${UP_LOCK_N:-0} + 1))
	up_lock_ready=$T/.lock-held.$UP_LOCK_N
	python3 -c 'import fcntl, sys, time
f = open(sys.argv[1])
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").write("locked")
time.sleep(600)' "$1" "$up_lock_ready" &
	UP_LOCK_PID=$!
	UP_LOCK_PIDS="$UP_LOCK_PIDS $UP_LOCK_PID"
	tg_wait_file "$up_lock_ready" "the stand-in recorder did not take its lock on $1"
}
# (off the list once ended: its pid may be another process's by up_cleanup)
up_release_lock() {
	tg_stop_pid "$1"
	UP_LOCK_PIDS=$(echo "$UP_LOCK_PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# Start the daemon in the foreground, in the background of this shell.
up_start() {
	"$UPLOADER" -c "$T/tollgate.conf" --foreground "$@" >>"$T/uploader.log" 2>&1 &
	UP_PID=$!
}

# Start the daemon and wait until it has written its first status (it is set up and running).
up_start_ready() {
	up_start "$@"
	tg_wait_file "$T/spool/state/status.json" "the daemon did not start"
}

# Start the daemon with the S3 server stopped (SIGSTOP), and wait until a worker has begun
# and reached its first request, which then waits for S3 (kill -CONT "$TG_S3_PID" lets it go
# on; up_cleanup does it too). The arguments go to the uploader (--once).
up_start_stalled() {
	kill -STOP "$TG_S3_PID"
	up_start "$@"
	up_wait_worker_at_s3
}
# Wait until a worker has begun and reached S3 (see up_worker_at_s3).
up_wait_worker_at_s3() {
	up_wait_until 20 "no upload worker started" up_has_worker
	up_wait_until 30 "no upload worker reached S3" up_worker_at_s3
}
# A worker has a connection to the S3 endpoint open: the kernel takes it (and the request)
# while the server is stopped, and the worker waits for the answer. A fixed second for this
# was too short for a loaded machine, where a worker may not even have opened its file.
up_worker_at_s3() {
	up_port=$(sed -n 's|^endpoint = .*:\([0-9]*\)/*$|\1|p' "$T/tollgate.conf")
	# shellcheck disable=SC2046
	python3 - "$up_port" $(up_workers) <<'PY'
import os, sys
port = int(sys.argv[1])
inodes = set()
for pid in sys.argv[2:]:
    try:
        for fd in os.listdir("/proc/%s/fd" % pid):
            link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        pass
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        f = l.split()
        # remote address:port, state 01 (established), inode
        if int(f[2].split(":")[1], 16) == port and f[3] == "01" and f[9] in inodes:
            sys.exit(0)
sys.exit(1)
PY
}

# Write an event straight into outbox/Q (s3 or notify), as the fan-out leaves it, and print
# its name: up_outbox_event Q SEQ [USER] (an mfa_failure of USER, default uSEQ)
up_outbox_event() {
	up_us=$(( $(date +%s) * 1000000 + $2 ))
	up_name=$(printf '%020d-%016x.json' "$up_us" "$2")
	mkdir -p "$T/spool/outbox/$1"
	printf '{"v":1,"type":"mfa_failure","time_us":%s,"host":"testhost","user":"%s","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"}' \
		"$up_us" "${3:-u$2}" >"$T/spool/outbox/$1/$up_name"
	echo "$up_name"
}

# Flip one bit in the middle of each file: a recording whose seal still looks fine and whose
# full verification disagrees.
up_flip_middle() {
	python3 - "$@" <<'PY' || tg_fail "flip"
import os, sys
for p in sys.argv[1:]:
    with open(p, "r+b") as f:
        f.seek(os.path.getsize(p) // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x04]))
PY
}

# Start the daemon under strace (the arguments: strace's options, such as -e inject=...)
# and wait until it runs; up_cleanup stops the daemon, then strace. The daemon's pid is the
# one the shell strace starts writes before it execs the daemon: not one matched in ps, which
# may be any child strace has at that moment.
up_start_traced() {
	tg_need_cmd strace
	rm -f "$T/traced.pid"
	strace -f -qq "$@" sh -c 'echo $$ >"$1"; shift; exec "$@"' - "$T/traced.pid" \
		"$UPLOADER" -c "$T/tollgate.conf" --foreground >>"$T/uploader.log" 2>&1 &
	STRACE_PID=$!
	up_wait_until 20 "strace did not start the uploader" up_traced_pid
	tg_wait_file "$T/spool/state/status.json" "the traced daemon did not start"
}
up_traced_pid() {
	UP_PID=$(cat "$T/traced.pid" 2>/dev/null)
	case $UP_PID in '' | *[!0-9]*) UP_PID= && return 1 ;; esac
}
# A process of ours has ended: gone, or a zombie its parent has not reaped yet (strace, a
# child of the test's shell, is one until the shell waits for it): up_ended PID.
up_ended() {
	! kill -0 "$1" 2>/dev/null ||
		[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]
}

# Wait for N periodic rescans of the running daemon (up_rescans_seen N), seen rather than
# slept for: each makes again a state folder removed while it runs (state/multipart, empty
# here), after what it checks first (the credentials file). A check that must not alert
# again waits for this, not for a time that a slow machine may not fill.
up_rescans_seen() {
	_n=$1
	while [ "$_n" -gt 0 ]; do
		rmdir "$T/spool/state/multipart" || tg_fail "cannot remove state/multipart"
		up_wait_until 60 "no periodic rescan made state/multipart again" \
			test -d "$T/spool/state/multipart"
		_n=$((_n - 1))
	done
}

# The start of the tests of a file that kills its upload worker: one worker; $P.tgr, whose
# upload dies when the uploader runs under "strace -f $poison" (strace kills the worker as it
# opens the file, as a crash on a malformed file would), and $A.tgr, a good one, in the
# spool; $died and $crashed, the log's words for one death and for the setting aside; B to G,
# names for the test's own recordings; COUNTS, where the deaths are counted.
up_poison_setup() {
	tg_need_cmd strace
	up_setup 'workers = 1'
	P=00000000000000000000000000000000
	A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
	B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
	C=cccccccccccccccccccccccccccccccc
	D=dddddddddddddddddddddddddddddddd
	E=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
	G=ffffffffffffffffffffffffffffffff
	COUNTS=$T/spool/state/crashes/sessions
	up_rec $P.tgr user=poison
	up_rec $A.tgr user=alice
	poison="-P $T/spool/sessions/$P.tgr -e trace=openat -e inject=openat:signal=SIGKILL"
	died="$P.tgr failed, will retry: the upload worker died"
	crashed="alert upload_crashed: the upload worker died 3 times in a row while it shipped .*/sessions/$P.tgr"
}

# Start the daemon with the periodic rescan an hour away, so that only inotify can find
# new files, and wait until it runs.
up_start_inotify_only() {
	sed -i 's/^rescan_interval = .*/rescan_interval = 3600/' "$T/tollgate.conf"
	grep -q '^rescan_interval = 3600$' "$T/tollgate.conf" || tg_fail "could not set rescan_interval"
	up_start
	tg_wait_file "$T/spool/state/status.json" "the daemon did not start"
}

# Files still waiting anywhere in the spool (recordings, events, outboxes).
up_spool_left() {
	find "$T/spool/sessions" "$T/spool/events" "$T/spool/outbox" -type f ! -name '.*' 2>/dev/null | wc -l
}

# Wait (at most $1 seconds) until the spool is empty.
up_wait_empty() {
	limit=$1 i=0
	while [ "$(up_spool_left)" -ne 0 ]; do
		i=$((i + 1))
		if [ $i -gt $((limit * 5)) ]; then
			echo "spool still holds:" >&2
			find "$T/spool" -type f >&2
			tail -20 "$T/uploader.log" >&2
			"$S3SERVER" status "$T/s3" || echo "the S3 test server is not running" >&2
			tail -20 "$T/s3/s3server.log" >&2
			return 1
		fi
		sleep 0.2
	done
}

# Wait (at most $1 seconds) until the command $3... succeeds; else fail with
# $2 and the end of the daemon's log.
up_wait_until() {
	up_limit=$1 up_msg=$2 up_i=0
	shift 2
	until "$@"; do
		up_i=$((up_i + 1))
		[ $up_i -gt $((up_limit * 5)) ] && tg_fail "$up_msg: $(tail -5 "$T/uploader.log")"
		sleep 0.2
	done
}

# A message accepted by the receiver holds $1.
up_message_has() { up_messages | grep -q "$1"; }

# Wait (at most $2 seconds) until the receiver accepted $1 messages.
up_wait_messages() {
	want=$1 limit=$2 i=0
	while [ "$(up_messages | wc -l)" -lt "$want" ]; do
		i=$((i + 1))
		[ $i -gt $((limit * 5)) ] && return 1
		sleep 0.2
	done
}

up_messages() { cat "$T/slack/messages.jsonl" 2>/dev/null; }

# S3 objects (as the server stored them) whose key starts with $1, one path each.
up_s3_objects() {
	[ -d "$S3DATA/$1" ] || return 0
	find "$S3DATA/$1" -type f -name '*._S3rver_object'
}

# Every original recording and event is in S3 byte-identical, and every object
# under the prefixes is one of them, once.
up_check_s3() {
	python3 - "$T" "$S3DATA" <<'EOF' || tg_fail "S3 content differs from what was spooled"
import hashlib, os, sys, collections
t, data = sys.argv[1], sys.argv[2]
def digest(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
want = collections.Counter()
for sub in ("orig", "orig-events"):
    d = os.path.join(t, sub)
    if os.path.isdir(d):
        for n in os.listdir(d):
            want[digest(os.path.join(d, n))] += 1
have = collections.Counter()
keys = {}
for root, _, files in os.walk(os.path.join(data, "tollgate")):
    if "/index" in root:
        continue
    for n in files:
        if n.endswith("._S3rver_object"):
            p = os.path.join(root, n)
            h = digest(p)
            have[h] += 1
            keys[h] = p
ok = True
for h, n in want.items():
    if have[h] != n:
        print("missing or duplicated (%d of %d): %s" % (have[h], n, h)); ok = False
# the uploader's own alert events are extra objects; nothing else may be
for h, n in have.items():
    if h not in want and "/events/" not in keys[h]:
        print("unexpected object:", keys[h]); ok = False
sys.exit(0 if ok else 1)
EOF
}

# Put the fault proxy (tests/servers/fault_proxy.py) between the uploader and
# S3: up_fault_proxy RATE: RATE of the connections lose their answer after the
# server acted on it; up_fault_proxy RATE requests: RATE of the requests fail
# (500, 503, reset before or after the server acted; counts in $T/proxy.port.json).
PROXY_PID=
up_fault_proxy() {
	python3 "$TG_TOP_SRCDIR/tests/servers/fault_proxy.py" "$T/proxy.port" "${TG_S3_ENDPOINT##*:}" "$1" \
		- "${2:-connections}" \
		>"$T/proxy.log" 2>&1 &
	PROXY_PID=$!
	tg_wait_file "$T/proxy.port" "the fault proxy did not start"
	sed -i "s|^endpoint = .*|endpoint = http://127.0.0.1:$(cat "$T/proxy.port")|" "$T/tollgate.conf"
}

# Put tests/servers/scripted_s3.py in the S3 test server's place: up_scripted_s3 SCRIPT (a JSON
# list of answers, see there; what it does not script is answered 200). It stores nothing, and
# logs each request it took ($T/scripted.log, see up_scripted_count).
SCRIPTED_PID=
up_scripted_s3() {
	printf '%s\n' "$1" >"$T/script.json"
	python3 "$TG_TOP_SRCDIR/tests/servers/scripted_s3.py" "$T/scripted.port" "$T/scripted.log" \
		"$T/script.json" >"$T/scripted.out" 2>&1 &
	SCRIPTED_PID=$!
	tg_wait_file "$T/scripted.port" "the scripted S3 did not start"
	sed -i -e "s|^endpoint = .*|endpoint = http://127.0.0.1:$(cat "$T/scripted.port")|" \
		-e 's|^bucket = .*|bucket = scripted|' "$T/tollgate.conf"
}
# Answers for up_scripted_s3 that make multipart uploads work: every CreateMultipartUpload gets
# upload id upl-1, every CompleteMultipartUpload a result.
UP_SCRIPTED_MPU='{"match": "^POST .*\\?uploads$", "keep": true, "body": "<InitiateMultipartUploadResult><Bucket>scripted</Bucket><Key>k</Key><UploadId>upl-1</UploadId></InitiateMultipartUploadResult>"},
{"match": "^POST .*\\?uploadId=upl-1$", "keep": true, "body": "<CompleteMultipartUploadResult><ETag>\"c\"</ETag></CompleteMultipartUploadResult>"}'
# How many requests the scripted S3 took whose "METHOD PATH" the regular expression $1 is in.
up_scripted_count() {
	python3 - "$T/scripted.log" "$1" <<'PY'
import json, re, sys
n = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            n += re.search(sys.argv[2], "%s %s" % (r["method"], r["path"])) is not None
except FileNotFoundError:
    pass
print(n)
PY
}

# The headers of the accepted Slack messages, one a line, in arrival order.
up_message_heads() {
	up_messages | python3 -c 'import json,sys
for l in sys.stdin: print(json.loads(l)["blocks"][0]["text"]["text"])'
}
