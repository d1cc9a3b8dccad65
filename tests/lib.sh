# Shared helpers for Tollgate's shell tests (sourced). The automake harness
# sets TG_TOP_SRCDIR and TG_TOP_BUILDDIR; exit 77 means SKIP, 99 a hard error.

: "${TG_TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TG_TOP_BUILDDIR:=$TG_TOP_SRCDIR}"

tg_skip() { echo "SKIP: $*"; exit 77; }
tg_fail() { echo "FAIL: $*" >&2; exit 1; }
tg_need_root() { [ "$(id -u)" -eq 0 ] || tg_skip "needs root: $*"; }
tg_need_cmd() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || tg_skip "$c is not installed"; done; }

# A fresh temp folder, removed by tg_cleanup (call it from your EXIT trap).
tg_mktemp_dir() { mktemp -d "${TMPDIR:-/tmp}/tg-test.XXXXXX"; }

# A free TCP port on 127.0.0.1, below the ephemeral range (tests/servers/free_port.py).
tg_free_port() {
	python3 "$TG_TOP_SRCDIR/tests/servers/free_port.py"
}

# Wait (at most $2 seconds, default 20) until 127.0.0.1:$1 accepts connections.
tg_wait_port() {
	port=$1; limit=${2:-20}; i=0
	while [ "$i" -lt $((limit * 10)) ]; do
		if python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(0.2); s.connect(("127.0.0.1",int(sys.argv[1])))' "$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# Wait (at most 60 s: a start on a loaded machine, a daemon reading a big spool) until
# file $1 is not empty, as a server we started writes its port there; fail with $2 if
# it is not.
tg_wait_file() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -gt 600 ] && tg_fail "$2"
		sleep 0.1
	done
}

# End a process we started, by pid: TERM, then KILL after 5 s.
tg_stop_pid() {
	pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	# only a process that outlived TERM gets KILL: once it is gone its pid
	# may already belong to someone else
	if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
	wait "$pid" 2>/dev/null || true
}

# Run the shell functions $1 and $2 at the same time (a race a test wants to lose): their exit
# statuses in TG_RC1 and TG_RC2.
tg_at_once() {
	"$1" &
	_tg_p1=$!
	"$2" &
	_tg_p2=$!
	wait "$_tg_p1"
	TG_RC1=$?
	wait "$_tg_p2"
	TG_RC2=$?
}

# Start the S3 test server (tests/s3server.sh, path $1) over https in folder $2: its config
# file into TG_TLS_CONF, its port into TG_TLS_PORT; fail when it does not start.
tg_s3_tls_start() {
	_tg_out=$(TG_S3_TLS=1 "$1" start "$2") || tg_fail "TLS server did not start"
	TG_TLS_CONF=$(printf '%s\n' "$_tg_out" | sed -n "s/^export TG_S3_CONF='\(.*\)'$/\1/p")
	TG_TLS_PORT=$(printf '%s\n' "$_tg_out" | sed -n "s|^export TG_S3_ENDPOINT='https://127.0.0.1:\([0-9]*\)'$|\1|p")
	[ -n "$TG_TLS_CONF" ] && [ -n "$TG_TLS_PORT" ] || tg_fail "no https endpoint: $_tg_out"
}

# tg_on_pty OUT LOCALE PROGRAM [ARG...]: PROGRAM run on a terminal of its own (a new pty on its
# stdin, stdout and stderr), its environment PATH and LC_ALL=LOCALE only; what it wrote goes
# into the file OUT. Its exit status is not looked at.
tg_on_pty() {
	python3 - "$@" <<'PY'
import os, pty, sys
out, locale, argv = sys.argv[1], sys.argv[2], [os.fsencode(a) for a in sys.argv[3:]]
pid, fd = pty.fork()
if pid == 0:
    os.execve(argv[0], argv, {"PATH": "/usr/bin:/bin", "LC_ALL": locale})
got = b""
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    got += d
os.waitpid(pid, 0)
open(out, "wb").write(got)
PY
}
