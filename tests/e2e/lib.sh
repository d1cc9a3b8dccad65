# End-to-end harness (sourced): a private OpenSSH server on 127.0.0.1 with
# pam_tollgate.so in a private PAM service, tollgate-record as ForceCommand or
# login shell, a throw-away user with an SSH key and an enrolled TOTP secret,
# the local S3 server, the Slack receiver and tollgate-uploader; the real
# OpenSSH client drives it. Used by tests/test_e2e_*.sh and scripts/demo.
#
#   . tests/e2e/lib.sh
#   e2e_init NAME              root check, temp folder, cleanup trap
#   e2e_setup MODE             MODE: forcecommand | loginshell; starts it all
#   e2e_scenario_login         wrong code, MFA login (ControlMaster), replayed code
#   e2e_scenario_interactive, e2e_scenario_command, e2e_scenario_files
#   e2e_scenario_transfers     50 MB, scp -O -r, git, failing transfers
#   e2e_scenario_transfer_full transfer_content = full keeps the bytes
#   e2e_scenario_user_rc       sshd does not run ~/.ssh/rc (PermitUserRC no)
#   e2e_logout                 ends the shared connection (the PAM session closes)
#   e2e_check_results          events, recordings, uploader, S3, Slack, replay
# E2E_SFTP_SUBSYSTEM (before e2e_setup): sshd's Subsystem sftp command.
# Nothing outside the temp folder is touched but: /run/sshd (created if
# missing), /etc/pam.d/sshd-tollgate-test-<random>, the test user
# tgt<random> and the audit user tga<random>, all removed by the trap;
# processes are ended by their pid.
#
# A part that has not been built (yet) is not faked: e2e_have says so and the
# test prints "SKIP-PART: ..." for each assertion it leaves out.

: "${TG_TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TG_TOP_BUILDDIR:=$TG_TOP_SRCDIR}"
# shellcheck source=../lib.sh
. "$TG_TOP_SRCDIR/tests/lib.sh"

E2E_SSHD_BIN=${E2E_SSHD_BIN:-/usr/sbin/sshd}
E2E_HERE="$TG_TOP_SRCDIR/tests/e2e"
E2E_TIMEOUT=${E2E_TIMEOUT:-30} # seconds any single wait may take
E2E_QUIET=${E2E_QUIET:-}

e2e_log() { [ -n "$E2E_QUIET" ] || printf '%s\n' "-- $*"; }
e2e_skip_part() { printf 'SKIP-PART: %s\n' "$*"; }
e2e_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	e2e_dump_logs >&2
	exit 1
}
e2e_randhex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# useradd/userdel give up at once when another one holds /etc/passwd.lock
# (tests run in parallel): try again, a bounded number of times.
e2e_retry() {
	n=0
	until "$@"; do
		n=$((n + 1))
		[ "$n" -lt 20 ] || return 1
		sleep 0.5
	done
}

# e2e_stop PID WORD: end a process this harness started, by pid: TERM, then
# KILL after 5 s; each signal only while the pid still is that process (its
# command line holds WORD), never a reused pid (pid_max may be small).
e2e_is() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$2"; }
e2e_stop() {
	[ -n "$1" ] || return 0
	e2e_is "$1" "$2" || return 0
	kill "$1" 2>/dev/null || return 0
	i=0
	while e2e_is "$1" "$2" && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	if e2e_is "$1" "$2"; then kill -9 "$1" 2>/dev/null; fi
	return 0
}
# e2e_stop_user_procs USER: the processes left by the test's own users
# (sessions that outlived the connection), each only while still theirs.
e2e_stop_user_procs() {
	for pid in $(ps -o pid= -u "$1" 2>/dev/null); do
		[ "$(ps -o user= -p "$pid" 2>/dev/null)" = "$1" ] && kill "$pid" 2>/dev/null
	done
	sleep 0.5
	for pid in $(ps -o pid= -u "$1" 2>/dev/null); do
		[ "$(ps -o user= -p "$pid" 2>/dev/null)" = "$1" ] && kill -9 "$pid" 2>/dev/null
	done
	return 0
}

# Where the build put program $1 (top folder or a part's folder); empty if
# it has not been built.
e2e_prog() {
	for p in "$TG_TOP_BUILDDIR/$1" "$TG_TOP_BUILDDIR"/*/"$1"; do
		if [ -f "$p" ] && [ -x "$p" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Path of the built PAM module (the real .so that libtool keeps in .libs).
e2e_pam_module() {
	for p in "$TG_TOP_BUILDDIR"/pam_module/.libs/pam_tollgate.so "$TG_TOP_BUILDDIR"/.libs/pam_tollgate.so; do
		[ -f "$p" ] && { echo "$p"; return 0; }
	done
	return 1
}

# e2e_have PART: the part is built and usable here.
#   mfa (pam_tollgate.so and tollgate-enroll), record (tollgate-record and
#   tollgate-keygen), replay, uploader, s3 (node and its modules), slack
e2e_have() {
	case $1 in
	mfa) [ -n "$E2E_PAM" ] && [ -n "$E2E_ENROLL" ] ;;
	record) [ -n "$E2E_RECORD_BUILT" ] && [ -n "$E2E_KEYGEN" ] ;;
	replay) [ -n "$E2E_REPLAY" ] ;;
	uploader) [ -n "$E2E_UPLOADER" ] ;;
	s3) [ -n "${TG_S3_ENDPOINT:-}" ] ;;
	slack) [ -n "${E2E_SLACK_URL:-}" ] ;;
	*) return 1 ;;
	esac
}

# ---------------------------------------------------------------- set up

e2e_init() {
	E2E_NAME=$1
	[ -z "${TG_SKIP_E2E:-}" ] || tg_skip "TG_SKIP_E2E is set (a package build): no sshd, no test user"
	[ "$(id -u)" -eq 0 ] || tg_skip "needs root to start sshd and create a user"
	[ -x "$E2E_SSHD_BIN" ] || tg_skip "$E2E_SSHD_BIN is missing (apt-get install openssh-server)"
	tg_need_cmd ssh ssh-keygen scp sftp rsync python3 jq useradd userdel setpriv
	[ -d /etc/pam.d ] || tg_skip "no /etc/pam.d (Linux-PAM is not installed)"

	E2E_ID=$(e2e_randhex 4)
	E2E_SERVICE="sshd-tollgate-test-$E2E_ID"
	E2E_PAMFILE="/etc/pam.d/$E2E_SERVICE"
	E2E_USER="tgt$E2E_ID"
	E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tg-e2e-$E2E_NAME.XXXXXX") || tg_fail "mktemp"
	# 0755: the test user runs programs and reads its home below it; secrets
	# live in 0700 subfolders.
	chmod 0755 "$E2E_DIR"
	E2E_SSHD_PID=
	E2E_MASTER_PID=
	E2E_SLACK_PID=
	E2E_USER_MADE=
	E2E_AUDIT="tga$E2E_ID"
	E2E_AUDIT_MADE=
	E2E_S3_DIR=
	E2E_SLACK_URL=
	E2E_KEEP=${E2E_KEEP:-}
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP

	E2E_PAM=$(e2e_pam_module || true)
	E2E_ENROLL=$(e2e_prog tollgate-enroll || true)
	# The installed recorder reads only /etc/tollgate/tollgate.conf; its test
	# build (never installed) also takes TOLLGATE_RECORD_TEST_CONFIG.
	E2E_RECORD_BUILT=$(e2e_prog tollgate-record-testing || true)
	E2E_RECORD=
	E2E_KEYGEN=$(e2e_prog tollgate-keygen || true)
	E2E_REPLAY=$(e2e_prog tollgate-replay || true)
	E2E_UPLOADER=$(e2e_prog tollgate-uploader || true)
	command -v oathtool >/dev/null 2>&1 || E2E_ENROLL= # without it no code can be computed
}

e2e_cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	set +e
	if [ -n "$E2E_MASTER_PID" ]; then
		ssh -F "$E2E_DIR/client/ssh_config" -O exit tg-e2e >/dev/null 2>&1
		e2e_stop "$E2E_MASTER_PID" "$E2E_DIR/client/ssh_config"
	fi
	e2e_stop "$E2E_SSHD_PID" "$E2E_DIR/sshd/sshd_config"
	e2e_stop "$E2E_SLACK_PID" "$E2E_DIR/slack"
	[ -n "$E2E_S3_DIR" ] && "$TG_TOP_SRCDIR/tests/s3server.sh" stop "$E2E_S3_DIR" >/dev/null 2>&1
	if [ -n "$E2E_USER_MADE" ]; then
		# sessions of our own user that outlive the closed connection
		e2e_stop_user_procs "$E2E_USER"
		e2e_retry userdel -r "$E2E_USER" >/dev/null 2>&1 || userdel -f -r "$E2E_USER" >/dev/null 2>&1 ||
			echo "e2e: could not remove user $E2E_USER" >&2
	fi
	if [ -n "$E2E_AUDIT_MADE" ]; then
		e2e_stop_user_procs "$E2E_AUDIT"
		e2e_retry userdel "$E2E_AUDIT" >/dev/null 2>&1 || echo "e2e: could not remove user $E2E_AUDIT" >&2
	fi
	rm -f "$E2E_PAMFILE"
	if [ -n "$E2E_KEEP" ]; then
		echo "e2e: kept $E2E_DIR" >&2
	else
		rm -rf "$E2E_DIR"
	fi
	exit "$status"
}

# Everything a failure report needs, bounded.
e2e_dump_logs() {
	for f in "$E2E_DIR"/sshd.log "$E2E_DIR"/uploader.log "$E2E_DIR"/slack.log "$E2E_DIR"/s3/s3server.log; do
		[ -s "$f" ] || continue
		echo "---- $f (last 40 lines)"
		tail -n 40 "$f"
	done
}

# e2e_setup MODE: everything up to the point where a client can log in.
e2e_setup() {
	E2E_MODE=$1
	mkdir -p "$E2E_DIR/spool/sessions" "$E2E_DIR/spool/events" "$E2E_DIR/state" "$E2E_DIR/etc" \
		"$E2E_DIR/client" "$E2E_DIR/home"
	chmod 0700 "$E2E_DIR/state" "$E2E_DIR/client"
	e2e_start_s3
	e2e_start_slack
	e2e_make_audit_user
	e2e_install_recorder
	e2e_make_user
	e2e_write_config
	e2e_keygen
	e2e_enroll
	e2e_write_pam
	e2e_start_sshd
	e2e_write_client_config
}

e2e_start_s3() {
	E2E_S3_DIR="$E2E_DIR/s3"
	set +e
	env_lines=$("$TG_TOP_SRCDIR/tests/s3server.sh" start "$E2E_S3_DIR" 2>"$E2E_DIR/s3start.err")
	rc=$?
	set -e
	case $rc in
	0) eval "$env_lines" ;;
	77) e2e_skip_part "S3 server not available: $(cat "$E2E_DIR/s3start.err")"; E2E_S3_DIR= ;;
	*) cat "$E2E_DIR/s3start.err" >&2; e2e_fail "the S3 test server did not start" ;;
	esac
}

# The uploader part's Slack receiver (tests/servers/slack_receiver.py): it
# enforces Slack's payload rules and keeps each accepted message, one JSON
# line each, in slack/messages.jsonl.
e2e_start_slack() {
	rx="$TG_TOP_SRCDIR/tests/servers/slack_receiver.py"
	if [ ! -f "$rx" ]; then
		e2e_skip_part "no Slack receiver ($rx): Slack not configured"
		return 0
	fi
	mkdir -p "$E2E_DIR/slack"
	echo 100 >"$E2E_DIR/slack/min_interval_ms"
	python3 "$rx" "$E2E_DIR/slack" >"$E2E_DIR/slack.log" 2>&1 &
	E2E_SLACK_PID=$!
	i=0
	while [ ! -s "$E2E_DIR/slack/port" ]; do
		kill -0 "$E2E_SLACK_PID" 2>/dev/null || e2e_fail "the Slack receiver exited: $(cat "$E2E_DIR/slack.log")"
		i=$((i + 1))
		[ "$i" -le $((E2E_TIMEOUT * 10)) ] || e2e_fail "the Slack receiver did not start"
		sleep 0.1
	done
	E2E_SLACK_URL="http://127.0.0.1:$(cat "$E2E_DIR/slack/port")/services/T0/B0/secret"
}

# The audit user as the package makes it: it owns the spool and the signing
# key, the recorder is setuid and setgid to it, the uploader runs as it.
# The events folder is setgid to its group so that events the PAM module
# writes as root (mode 0640) are readable by the uploader.
e2e_make_audit_user() {
	e2e_retry useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--comment "tollgate e2e audit" "$E2E_AUDIT" || e2e_fail "useradd $E2E_AUDIT"
	E2E_AUDIT_MADE=1
	chown "$E2E_AUDIT:$E2E_AUDIT" "$E2E_DIR/spool" "$E2E_DIR/spool/sessions" "$E2E_DIR/spool/events"
	chmod 2750 "$E2E_DIR/spool" "$E2E_DIR/spool/sessions" "$E2E_DIR/spool/events"
	chown "root:$E2E_AUDIT" "$E2E_DIR/etc"
	chmod 0750 "$E2E_DIR/etc"
}

# A copy of the recorder's test build, named tollgate-record and setuid and
# setgid to the audit user, as make install and the package leave it.
e2e_install_recorder() {
	e2e_have record || return 0
	mkdir -p "$E2E_DIR/bin"
	E2E_RECORD="$E2E_DIR/bin/tollgate-record"
	cp "$E2E_RECORD_BUILT" "$E2E_RECORD"
	chown "$E2E_AUDIT:$E2E_AUDIT" "$E2E_RECORD"
	chmod 6755 "$E2E_RECORD"
}

e2e_make_user() {
	home="$E2E_DIR/home/$E2E_USER"
	shell=/bin/bash
	if [ "$E2E_MODE" = loginshell ]; then shell=$E2E_RECORD; fi
	e2e_retry useradd -m -d "$home" -s "$shell" -c "tollgate e2e test" "$E2E_USER" || e2e_fail "useradd $E2E_USER"
	E2E_USER_MADE=1
	E2E_HOME=$home
	chmod 0750 "$home"
	mkdir -p "$home/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C "tollgate-e2e" -f "$E2E_DIR/client/id_ed25519" || e2e_fail "ssh-keygen"
	cp "$E2E_DIR/client/id_ed25519.pub" "$home/.ssh/authorized_keys"
	chown -R "$E2E_USER:" "$home/.ssh"
	chmod 0700 "$home/.ssh"
	chmod 0600 "$home/.ssh/authorized_keys"
}

e2e_write_config() {
	E2E_CONF="$E2E_DIR/etc/tollgate.conf"
	{
		echo "[general]"
		echo "spool_dir = $E2E_DIR/spool"
		echo "hostname = e2e-$E2E_ID"
		echo "[pam]"
		echo "state_dir = $E2E_DIR/state"
		echo "fail_delay_ms = 0"
		echo "[recorder]"
		echo "signing_key = $E2E_DIR/etc/signing.key"
		echo "public_key = $E2E_DIR/etc/signing.pub"
		echo "checkpoint_interval = 1"
		echo "record_input = yes"
		echo "[uploader]"
		echo "recording_grace = 2"
		if [ -n "${TG_S3_CONF:-}" ]; then
			cat "$TG_S3_CONF"
			echo "prefix = e2e"
			echo "sse = AES256"
		fi
		if [ -n "$E2E_SLACK_URL" ]; then
			echo "[slack]"
			echo "webhook_url = $E2E_SLACK_URL"
			echo "min_interval_ms = 100"
		fi
	} >"$E2E_CONF"
	chown "root:$E2E_AUDIT" "$E2E_CONF"
	chmod 0640 "$E2E_CONF"
}

e2e_keygen() {
	e2e_have record || return 0
	"$E2E_KEYGEN" -c "$E2E_CONF" --owner "$E2E_AUDIT" >"$E2E_DIR/keygen.out" 2>&1 ||
		e2e_fail "tollgate-keygen: $(cat "$E2E_DIR/keygen.out")"
}

# Enroll the test user; the secret is read back from what tollgate-enroll
# shows (once) to the admin: the base32 secret and the otpauth:// URI.
e2e_enroll() {
	e2e_have mfa || return 0
	"$E2E_ENROLL" -c "$E2E_CONF" --user "$E2E_USER" --no-qr >"$E2E_DIR/state/enroll.out" 2>&1 ||
		e2e_fail "tollgate-enroll: $(cat "$E2E_DIR/state/enroll.out")"
	E2E_SECRET_B32=$(sed -n 's/^Secret (base32): *//p' "$E2E_DIR/state/enroll.out")
	uri=$(grep -m1 '^otpauth://' "$E2E_DIR/state/enroll.out") || e2e_fail "tollgate-enroll showed no otpauth URI"
	E2E_ALG=$(printf '%s' "$uri" | sed -n 's/.*[?&]algorithm=\([A-Za-z0-9]*\).*/\1/p' | tr A-Z a-z)
	E2E_DIGITS=$(printf '%s' "$uri" | sed -n 's/.*[?&]digits=\([0-9]*\).*/\1/p')
	E2E_STEP=$(printf '%s' "$uri" | sed -n 's/.*[?&]period=\([0-9]*\).*/\1/p')
	[ -n "$E2E_SECRET_B32" ] && [ -n "$E2E_ALG" ] && [ -n "$E2E_DIGITS" ] && [ -n "$E2E_STEP" ] ||
		e2e_fail "cannot read the secret back from tollgate-enroll: $uri"
	# the URI's secret is the one shown above it
	case $uri in *"secret=$E2E_SECRET_B32"*) ;; *) e2e_fail "the URI holds another secret" ;; esac
}

e2e_write_pam() {
	{
		echo "# tollgate end-to-end test $E2E_ID; removed when the test ends"
		if e2e_have mfa; then
			echo "auth required $E2E_PAM config=$E2E_CONF"
		else
			echo "auth required pam_permit.so"
		fi
		echo "account required pam_unix.so"
		# as Debian's /etc/pam.d/sshd: a new audit session per login, which the login
		# event and every recording of the login name (optional: a container may not allow it)
		echo "session optional pam_loginuid.so"
		if e2e_have mfa; then
			echo "session optional $E2E_PAM config=$E2E_CONF"
		fi
		echo "session required pam_permit.so"
	} >"$E2E_PAMFILE"
	chmod 0644 "$E2E_PAMFILE"
}

e2e_start_sshd() {
	mkdir -p /run/sshd && chmod 0755 /run/sshd
	d="$E2E_DIR/sshd"
	mkdir -p "$d" && chmod 0700 "$d"
	ssh-keygen -q -t ed25519 -N '' -C "e2e-host" -f "$d/host_ed25519" || e2e_fail "ssh-keygen (host)"
	E2E_PORT=$(tg_free_port)
	if e2e_have mfa; then methods=publickey,keyboard-interactive; else methods=publickey; fi
	cat >"$d/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $E2E_PORT
HostKey $d/host_ed25519
PidFile $d/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
StrictModes yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication yes
AuthenticationMethods $methods
UsePAM yes
PermitRootLogin no
AllowUsers $E2E_USER
DisableForwarding yes
PermitUserEnvironment no
PermitUserRC no
PermitTunnel no
UseDNS no
PrintMotd no
PrintLastLog no
MaxAuthTries 6
LoginGraceTime 60
LogLevel VERBOSE
Subsystem sftp ${E2E_SFTP_SUBSYSTEM:-/usr/lib/openssh/sftp-server}
AcceptEnv GIT_PROTOCOL
EOF
	if e2e_have record; then
		# only the recorder's test build reads this; sshd sets it for every session
		echo "SetEnv TOLLGATE_RECORD_TEST_CONFIG=$E2E_CONF" >>"$d/sshd_config"
		if [ "$E2E_MODE" = forcecommand ]; then
			echo "ForceCommand exec $E2E_RECORD" >>"$d/sshd_config"
		fi
	fi
	# sshd takes its PAM service name from argv[0]: run /usr/sbin/sshd itself
	# under the name $E2E_SERVICE (a symlink would do that too, but would also
	# rename the processes, and the recorder checks that its parent is "sshd").
	# -r: no re-exec, which would go through argv[0].
	ln -s "$E2E_SSHD_BIN" "$d/$E2E_SERVICE"
	"$d/$E2E_SERVICE" -t -f "$d/sshd_config" || e2e_fail "sshd -t refused the test config"
	python3 -c 'import os, sys; os.execv(sys.argv[1], sys.argv[2:])' "$E2E_SSHD_BIN" "$d/$E2E_SERVICE" \
		-D -e -r -f "$d/sshd_config" </dev/null >>"$E2E_DIR/sshd.log" 2>&1 &
	E2E_SSHD_PID=$!
	tg_wait_port "$E2E_PORT" "$E2E_TIMEOUT" || e2e_fail "sshd did not listen on 127.0.0.1:$E2E_PORT"
	e2e_log "sshd (pid $E2E_SSHD_PID) on 127.0.0.1:$E2E_PORT, PAM service $E2E_SERVICE"
}

e2e_write_client_config() {
	c="$E2E_DIR/client"
	printf '[127.0.0.1]:%s %s\n' "$E2E_PORT" "$(cut -d' ' -f1,2 "$E2E_DIR/sshd/host_ed25519.pub")" >"$c/known_hosts"
	# The code the askpass helper answers with; e2e_set_code changes it.
	: >"$c/code"
	cat >"$c/askpass" <<EOF
#!/bin/sh
# ssh runs this for every prompt (SSH_ASKPASS_REQUIRE=force): the code prompt
# gets the code in $c/code; anything else is an error.
echo "\$*" >>"$c/prompts"
case "\$*" in
*[Cc]ode*) cat "$c/code" ;;
*) exit 1 ;;
esac
EOF
	chmod 0700 "$c/askpass"
	cat >"$c/ssh_config" <<EOF
Host tg-e2e
	HostName 127.0.0.1
	Port $E2E_PORT
	User $E2E_USER
	IdentityFile $c/id_ed25519
	IdentitiesOnly yes
	UserKnownHostsFile $c/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	PreferredAuthentications publickey,keyboard-interactive
	NumberOfPasswordPrompts 1
	ControlPath $c/cm-%C
	ServerAliveInterval 5
	ServerAliveCountMax 6
	ConnectTimeout $E2E_TIMEOUT
	LogLevel ERROR
	# git adds -o SendEnv=GIT_PROTOCOL, but a shared connection sends what the
	# master's SendEnv allows
	SendEnv GIT_PROTOCOL
EOF
	export SSH_ASKPASS="$c/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:e2e-unused
}

# ---------------------------------------------------------------- client

# The current TOTP code of the test user, $1 steps from now (default 0).
e2e_code() {
	oathtool --totp="$E2E_ALG" -b --digits="$E2E_DIGITS" --time-step-size="${E2E_STEP}s" \
		--now="@$(($(date +%s) + ${1:-0} * E2E_STEP))" "$E2E_SECRET_B32"
}
e2e_set_code() { printf '%s\n' "$1" >"$E2E_DIR/client/code"; }

# A fresh connection that does not share the master (one login attempt).
e2e_ssh_fresh() { ssh -F "$E2E_DIR/client/ssh_config" -o ControlMaster=no -o ControlPath=none "$@"; }

# Log in once (MFA) and keep the connection as the master the later runs share.
e2e_login() {
	c="$E2E_DIR/client"
	ssh -F "$c/ssh_config" -o ControlMaster=yes -o ControlPersist=300 -N -f tg-e2e \
		>"$c/master.out" 2>&1 || return 1
	E2E_MASTER_PID=$(ssh -F "$c/ssh_config" -O check tg-e2e 2>&1 | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
	[ -n "$E2E_MASTER_PID" ] || return 1
}
e2e_ssh() { ssh -F "$E2E_DIR/client/ssh_config" -o ControlMaster=no "$@"; }
e2e_scp() { scp -F "$E2E_DIR/client/ssh_config" -o ControlMaster=no -q "$@"; }
e2e_sftp() { sftp -F "$E2E_DIR/client/ssh_config" -o ControlMaster=no -q "$@"; }
e2e_rsync() { rsync -e "ssh -F $E2E_DIR/client/ssh_config -o ControlMaster=no" "$@"; }
e2e_logout() {
	ssh -F "$E2E_DIR/client/ssh_config" -O exit tg-e2e >/dev/null 2>&1 || true
	e2e_stop "$E2E_MASTER_PID" "$E2E_DIR/client/ssh_config"
	E2E_MASTER_PID=
}

# e2e_pty SCRIPT ARGS...: run ssh ARGS under a pty, steps from SCRIPT.
e2e_pty() {
	script=$1
	shift
	python3 "$E2E_HERE/pty_drive.py" "$script" "$E2E_TIMEOUT" -- \
		ssh -F "$E2E_DIR/client/ssh_config" -o ControlMaster=no -tt "$@"
}

# Wait (bounded) until command "$@" succeeds.
e2e_wait_for() {
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le $((E2E_TIMEOUT * 5)) ] || return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- the scenario

# A six-digit code that is none of the codes valid now (window of 2 steps).
e2e_wrong_code() {
	valid=" $(e2e_code -2) $(e2e_code -1) $(e2e_code 0) $(e2e_code 1) $(e2e_code 2) "
	while :; do
		c=$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')
		c=$(printf '%06d' $((c % 1000000)))
		case $valid in *" $c "*) ;; *) echo "$c"; return 0 ;; esac
	done
}

# Refused logins (wrong code, replayed code) and the MFA login the later
# runs share. Sets E2E_USED_CODE.
e2e_scenario_login() {
	c="$E2E_DIR/client"
	if e2e_have mfa; then
		e2e_log "a wrong code is refused"
		e2e_set_code "$(e2e_wrong_code)"
		: >"$c/prompts"
		if e2e_ssh_fresh tg-e2e true >"$c/wrong.out" 2>&1; then
			e2e_fail "a wrong code logged in"
		fi
		grep -q 'Permission denied' "$c/wrong.out" || e2e_fail "wrong code: no 'Permission denied': $(cat "$c/wrong.out")"
		grep -qi 'code' "$c/prompts" || e2e_fail "wrong code: the code prompt never came"

		e2e_log "the right code logs in"
		E2E_USED_CODE=$(e2e_code 0)
		e2e_set_code "$E2E_USED_CODE"
	else
		e2e_skip_part "pam_tollgate.so or tollgate-enroll not built: logging in with the SSH key only, no MFA assertions"
	fi
	e2e_login || e2e_fail "login failed: $(cat "$c/master.out")"

	if e2e_have mfa; then
		e2e_log "the same code again is refused (replay)"
		if e2e_ssh_fresh tg-e2e true >"$c/replay.out" 2>&1; then
			e2e_fail "a replayed code logged in"
		fi
		grep -q 'Permission denied' "$c/replay.out" || e2e_fail "replay: no 'Permission denied': $(cat "$c/replay.out")"
	fi
}

# An interactive session through a pty: what is typed differs from what is
# printed ($((6*7)) against 42), so the check sees the shell's real output.
e2e_scenario_interactive() {
	cat >"$E2E_DIR/client/interactive.steps" <<'EOF2'
expect \$ 
sendline echo "TG-OUT-$((6*7))"
expect TG-OUT-42
resize 100 30
sendline for i in $(seq 150); do [ "$(stty size)" = "30 100" ] && break; sleep 0.1; done; echo "SIZE-$(stty size | tr ' ' x)"
expect SIZE-30x100
sendline printf 'tg-%s-\\n' alpha beta | tr a-z A-Z
expect TG-BETA-
sendline exit 0
eof
EOF2
	e2e_log "interactive session"
	e2e_pty "$E2E_DIR/client/interactive.steps" tg-e2e >"$E2E_DIR/client/interactive.out" 2>&1 ||
		e2e_fail "interactive session failed: $(tail -c 2000 "$E2E_DIR/client/interactive.out")"
	grep -q 'TG-ALPHA-' "$E2E_DIR/client/interactive.out" || e2e_fail "interactive: output missing"
}

e2e_scenario_command() {
	e2e_log "ssh host cmd"
	out=$(e2e_ssh tg-e2e 'echo "cmd-$((2+3))"; id -un; echo to-stderr >&2' 2>"$E2E_DIR/client/cmd.err") ||
		e2e_fail "ssh host cmd failed"
	[ "$out" = "cmd-5
$E2E_USER" ] || e2e_fail "ssh host cmd printed: $out"
	grep -qx 'to-stderr' "$E2E_DIR/client/cmd.err" || e2e_fail "ssh host cmd: stderr lost: $(cat "$E2E_DIR/client/cmd.err")"
	e2e_ssh tg-e2e 'exit 7' && st=0 || st=$?
	[ "$st" -eq 7 ] || e2e_fail "ssh host cmd: exit status $st, not 7"
}

e2e_same() { cmp -s "$1" "$2" || e2e_fail "$3: $1 and $2 differ"; }

# scp (SFTP protocol and the old scp protocol), sftp and rsync, both ways.
e2e_scenario_files() {
	f="$E2E_DIR/files"
	mkdir -p "$f"
	head -c 1048576 /dev/urandom >"$f/random.bin"
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 64)' >"$f/allbytes.bin"
	e2e_log "scp, sftp, rsync both ways"
	e2e_scp "$f/random.bin" tg-e2e:up-scp.bin || e2e_fail "scp upload"
	e2e_scp -O "$f/allbytes.bin" tg-e2e:up-scp-legacy.bin || e2e_fail "scp -O upload"
	e2e_scp tg-e2e:up-scp.bin "$f/down-scp.bin" || e2e_fail "scp download"
	e2e_scp -O tg-e2e:up-scp-legacy.bin "$f/down-scp-legacy.bin" || e2e_fail "scp -O download"
	e2e_same "$f/random.bin" "$f/down-scp.bin" "scp"
	e2e_same "$f/allbytes.bin" "$f/down-scp-legacy.bin" "scp -O"
	printf 'put %s up-sftp.bin\nget up-sftp.bin %s\n' "$f/random.bin" "$f/down-sftp.bin" >"$f/sftp.batch"
	e2e_sftp -b "$f/sftp.batch" tg-e2e >/dev/null || e2e_fail "sftp"
	e2e_same "$f/random.bin" "$f/down-sftp.bin" "sftp"
	e2e_rsync -q "$f/random.bin" tg-e2e:up-rsync.bin || e2e_fail "rsync upload"
	e2e_rsync -q tg-e2e:up-rsync.bin "$f/down-rsync.bin" || e2e_fail "rsync download"
	e2e_same "$f/random.bin" "$f/down-rsync.bin" "rsync"
	# what landed on the server is the same bytes too
	for n in up-scp.bin up-sftp.bin up-rsync.bin; do
		e2e_same "$f/random.bin" "$E2E_HOME/$n" "server copy $n"
	done
	e2e_same "$f/allbytes.bin" "$E2E_HOME/up-scp-legacy.bin" "server copy up-scp-legacy.bin"
}

# Recordings of the scenarios below are checked where they are made, then set
# aside (listed in aside.list) from e2e_check_recordings' counts; they are
# still verified, uploaded and compared in S3 with the others.
e2e_aside_mark() { ls "$E2E_DIR/spool/sessions" >"$E2E_DIR/aside.mark" 2>/dev/null || :; }
# info --json of each recording made since e2e_aside_mark, one a line, into
# aside.jsonl; each must verify (sealed, under the host key).
e2e_aside_take() {
	: >"$E2E_DIR/aside.jsonl"
	for p in "$E2E_DIR"/spool/sessions/*; do
		[ -f "$p" ] || continue
		n=$(basename "$p")
		grep -qxF "$n" "$E2E_DIR/aside.mark" && continue
		echo "$n" >>"$E2E_DIR/aside.list"
		e2e_have replay || continue
		e2e_replay verify "$p" >"$E2E_DIR/verify.out" 2>&1 || e2e_fail "verify $p: $(cat "$E2E_DIR/verify.out")"
		e2e_replay info --json "$p" | jq -c . >>"$E2E_DIR/aside.jsonl" || e2e_fail "tollgate-replay info $p"
	done
}
# e2e_aside_has JQ-FILTER WHAT: some recording of aside.jsonl matches.
e2e_aside_has() {
	e2e_have replay && e2e_have record || return 0
	jq -e -s "any(.[]; $1)" "$E2E_DIR/aside.jsonl" >/dev/null ||
		e2e_fail "$2: $(jq -c '[.header.command, .end.transfer]' "$E2E_DIR/aside.jsonl")"
}
e2e_sha() { sha256sum <"$1" | cut -d' ' -f1; }
e2e_same_sha() { [ "$(e2e_sha "$1")" = "$(e2e_sha "$2")" ] || e2e_fail "$3: $1 and $2 differ (sha256)"; }
# git as the client, with nothing of root's own git configuration
e2e_git() {
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		GIT_SSH_COMMAND="ssh -F $E2E_DIR/client/ssh_config -o ControlMaster=no" git "$@"
}
# a bare repository in the test user's home, made by the user
e2e_git_bare() {
	su -s /bin/sh "$E2E_USER" -c "GIT_CONFIG_GLOBAL=/dev/null git -c init.defaultBranch=main init -q --bare '$E2E_HOME/$1'" ||
		e2e_fail "git init --bare $1"
}

# Transfers the main scenario leaves out, each checked in its recording: a
# 50 MB file with every byte value, both ways by scp (SFTP) and scp -O;
# scp -O -r both ways; git push and clone of a bare repository in the home;
# transfers that fail (a missing file, a missing repository), whose exit
# status reaches the client and the recording.
e2e_scenario_transfers() {
	f="$E2E_DIR/files/more"
	mkdir -p "$f"
	e2e_aside_mark
	e2e_log "a 50 MB file by scp and scp -O, both ways"
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096)' >"$f/big.bin"
	head -c 51380224 /dev/urandom >>"$f/big.bin"
	e2e_scp "$f/big.bin" tg-e2e:big.bin || e2e_fail "scp upload (50 MB)"
	e2e_scp tg-e2e:big.bin "$f/big.down" || e2e_fail "scp download (50 MB)"
	e2e_scp -O "$f/big.bin" tg-e2e:bigO.bin || e2e_fail "scp -O upload (50 MB)"
	e2e_scp -O tg-e2e:bigO.bin "$f/bigO.down" || e2e_fail "scp -O download (50 MB)"
	for n in big.down bigO.down; do e2e_same_sha "$f/big.bin" "$f/$n" "50 MB $n"; done
	for n in big.bin bigO.bin; do e2e_same_sha "$f/big.bin" "$E2E_HOME/$n" "server copy $n"; done
	rm -f "$E2E_HOME/big.bin" "$E2E_HOME/bigO.bin" "$f/big.down" "$f/bigO.down"

	e2e_log "scp -O -r both ways"
	mkdir -p "$f/tree/sub/deeper"
	head -c 70000 /dev/urandom >"$f/tree/sub/deeper/r.bin"
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' >"$f/tree/all.bin"
	: >"$f/tree/sub/empty"
	e2e_scp -O -r "$f/tree" tg-e2e:tree || e2e_fail "scp -O -r upload"
	e2e_scp -O -r tg-e2e:tree "$f/tree.down" || e2e_fail "scp -O -r download"
	diff -r "$f/tree" "$E2E_HOME/tree" >/dev/null || e2e_fail "scp -O -r: the server's tree differs"
	diff -r "$f/tree" "$f/tree.down" >/dev/null || e2e_fail "scp -O -r: the tree that came back differs"

	e2e_log "transfers that fail"
	e2e_scp -O tg-e2e:missing.bin "$f/missing" 2>/dev/null && e2e_fail "scp -O of a missing file succeeded"
	e2e_scp tg-e2e:missing.bin "$f/missing" 2>/dev/null && e2e_fail "scp of a missing file succeeded"
	st=0
	e2e_rsync -q tg-e2e:missing.bin "$f/missing" 2>/dev/null || st=$?
	[ "$st" -eq 23 ] || e2e_fail "rsync of a missing file: exit status $st, not 23"

	if command -v git >/dev/null 2>&1; then
		e2e_log "git push and clone, and a clone of a missing repository"
		e2e_git_bare repo.git
		e2e_git -c init.defaultBranch=main init -q "$f/src" || e2e_fail "git init"
		head -c 300000 /dev/urandom >"$f/src/r.bin"
		cp "$f/tree/all.bin" "$f/src/"
		e2e_git -C "$f/src" add . && e2e_git -C "$f/src" -c user.name=e2e -c user.email=e2e@example.org commit -qm one ||
			e2e_fail "git commit"
		e2e_git -C "$f/src" push -q tg-e2e:repo.git HEAD:refs/heads/main || e2e_fail "git push"
		e2e_git clone -q tg-e2e:repo.git "$f/clone" || e2e_fail "git clone"
		e2e_same "$f/src/r.bin" "$f/clone/r.bin" "git clone"
		e2e_same "$f/src/all.bin" "$f/clone/all.bin" "git clone"
		# the client asks for protocol v2 in GIT_PROTOCOL (ssh SendEnv, sshd AcceptEnv);
		# git-upload-pack answers "version 2" only if the recorder passed it on
		GIT_TRACE_PACKET="$f/v2.trace" e2e_git -c protocol.version=2 clone -q tg-e2e:repo.git "$f/clone-v2" ||
			e2e_fail "git clone (protocol v2)"
		e2e_same "$f/src/r.bin" "$f/clone-v2/r.bin" "git clone (protocol v2)"
		grep -Eq '(clone|git)< version 2$' "$f/v2.trace" ||
			e2e_fail "git clone asked for protocol v2, the server answered in v0: $(grep -m 3 '< ' "$f/v2.trace")"
		st=0
		e2e_git clone -q tg-e2e:missing.git "$f/clone2" 2>/dev/null || st=$?
		[ "$st" -eq 128 ] || e2e_fail "git clone of a missing repository: exit status $st, not 128"
	else
		e2e_skip_part "git is not installed: no git transfers"
	fi

	e2e_aside_take
	e2e_aside_has '.end.transfer.kind == "sftp" and .end.transfer.bytes_in > 52428800 and .end.transfer.exit_status == 0' "scp (SFTP) upload of 50 MB"
	e2e_aside_has '.end.transfer.kind == "sftp" and .end.transfer.bytes_out > 52428800 and .end.transfer.exit_status == 0' "scp (SFTP) download of 50 MB"
	if [ "${E2E_SFTP_SUBSYSTEM:-}" = internal-sftp ]; then
		# sshd asks the ForceCommand for internal-sftp: the recorder runs sftp_server
		e2e_aside_has '.header.command == "internal-sftp" and .end.transfer.kind == "sftp" and .end.transfer.bytes_in > 52428800
			and any(.notes[]?; .note.event == "start" and .note.ran == "/usr/lib/openssh/sftp-server")' "internal-sftp mapped to sftp-server"
	fi
	e2e_aside_has '.header.command == "scp -t bigO.bin" and .end.transfer.direction == "upload" and .end.transfer.bytes_in > 52428800 and .end.transfer.exit_status == 0' "scp -O upload of 50 MB"
	e2e_aside_has '.header.command == "scp -f bigO.bin" and .end.transfer.direction == "download" and .end.transfer.bytes_out > 52428800 and .end.transfer.exit_status == 0' "scp -O download of 50 MB"
	e2e_aside_has '.header.command == "scp -r -t tree" and .end.transfer.kind == "scp" and .end.transfer.direction == "upload" and .end.transfer.bytes_in > 70000 and .end.transfer.exit_status == 0' "scp -O -r upload"
	e2e_aside_has '.header.command == "scp -r -f tree" and .end.transfer.direction == "download" and .end.transfer.bytes_out > 70000 and .end.transfer.exit_status == 0' "scp -O -r download"
	e2e_aside_has '.header.command == "scp -f missing.bin" and .end.transfer.direction == "download" and .end.transfer.exit_status == 1 and .end.exit_status == 1' "scp -O of a missing file"
	e2e_aside_has '(.header.command | test("^rsync --server --sender .* missing.bin$")) and .end.transfer.kind == "rsync" and .end.transfer.direction == "download" and .end.transfer.exit_status == 23' "rsync of a missing file"
	if command -v git >/dev/null 2>&1; then
		e2e_aside_has '.header.command == "git-receive-pack '"'repo.git'"'" and .end.transfer.kind == "git-receive-pack" and .end.transfer.direction == "upload" and .end.transfer.bytes_in > 300000 and .end.transfer.exit_status == 0' "git push"
		e2e_aside_has '.header.command == "git-upload-pack '"'repo.git'"'" and .end.transfer.kind == "git-upload-pack" and .end.transfer.direction == "download" and .end.transfer.bytes_out > 300000 and .end.transfer.exit_status == 0' "git clone"
		e2e_aside_has '.header.command == "git-upload-pack '"'missing.git'"'" and .end.transfer.kind == "git-upload-pack" and .end.transfer.exit_status == 128 and .end.exit_status == 128' "git clone of a missing repository"
	fi
	# nothing of a transfer's content is stored (transfer_content = metadata)
	e2e_aside_has 'true' "no recording of the transfers"
	if e2e_have replay && jq -e -s 'any(.[]; .end.stored.in + .end.stored.out + .end.stored.err > 0)' "$E2E_DIR/aside.jsonl" >/dev/null; then
		e2e_fail "a metadata transfer stored content: $(jq -c '[.header.command, .end.stored]' "$E2E_DIR/aside.jsonl")"
	fi
}

# transfer_content = full (for the next sessions): scp -O both ways of a file
# with every byte value; the recordings hold the bytes and verify.
e2e_scenario_transfer_full() {
	f="$E2E_DIR/files/full"
	mkdir -p "$f"
	e2e_log "transfer_content = full: scp -O both ways, the bytes in the recording"
	awk '{ print } $0 == "[recorder]" { print "transfer_content = full" }' "$E2E_CONF" >"$f/conf"
	cat "$f/conf" >"$E2E_CONF" # the same file: owner and mode stay
	e2e_aside_mark
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 256)' >"$f/all.bin"
	head -c 200000 /dev/urandom >>"$f/all.bin"
	e2e_scp -O "$f/all.bin" tg-e2e:full.bin || e2e_fail "scp -O upload (full)"
	e2e_scp -O tg-e2e:full.bin "$f/all.down" || e2e_fail "scp -O download (full)"
	grep -v '^transfer_content = full$' "$f/conf" >"$E2E_CONF"
	e2e_same "$f/all.bin" "$f/all.down" "scp -O (full)"
	e2e_same "$f/all.bin" "$E2E_HOME/full.bin" "server copy full.bin"
	e2e_aside_take
	e2e_have replay || return 0
	for c in "scp -t full.bin" "scp -f full.bin"; do
		p=$(jq -r --arg c "$c" 'select(.header.command == $c) | .file' "$E2E_DIR/aside.jsonl")
		[ -n "$p" ] || e2e_fail "no recording of $c"
		e2e_aside_has '.header.command == "'"$c"'" and .end.stored == .end.bytes and .end.bytes.in > 0
			and .end.transfer.exit_status == 0 and any(.notes[]?; .note.event == "start" and .note.transfer_content == "full")' \
			"$c (full): stored bytes, exit status or start note"
		case $c in *-t*) e2e_replay cat --input "$p" >"$f/stream" ;; *) e2e_replay cat "$p" >"$f/stream" ;; esac ||
			e2e_fail "tollgate-replay cat $p"
		python3 -c 'import sys; sys.exit(0 if open(sys.argv[1], "rb").read() in open(sys.argv[2], "rb").read() else 1)' \
			"$f/all.bin" "$f/stream" || e2e_fail "the recording of $c does not hold the file's bytes"
	done
	rm -f "$E2E_HOME/full.bin"
}

# ~/.bashrc escapes in ForceCommand mode. sshd runs "$SHELL -c tollgate-record",
# and Debian's bash reads ~/.bashrc on the way.
e2e_bashrc() {
	cat >"$E2E_HOME/.bashrc"
	chown "$E2E_USER:" "$E2E_HOME/.bashrc"
}

# The ForceCommand run under another program (script(1) and its own pty):
# the recorder runs, and must flag itself (recording_escape). Shares the
# master connection, so it is a session of the main login.
e2e_scenario_escape_wrapped() {
	e2e_log "~/.bashrc runs the ForceCommand under script(1)"
	e2e_bashrc <<'EOF2'
if [ -z "$TG_WRAPPED" ] && [ -n "$BASH_EXECUTION_STRING" ]; then
	export TG_WRAPPED=1
	exec script -qfec "$BASH_EXECUTION_STRING" /dev/null
fi
EOF2
	cat >"$E2E_DIR/client/wrapped.steps" <<'EOF2'
sendline echo "WRAPPED-$((8*8))"
expect WRAPPED-64
sendline exit 0
eof
EOF2
	e2e_pty "$E2E_DIR/client/wrapped.steps" tg-e2e >"$E2E_DIR/client/wrapped.out" 2>&1 ||
		e2e_fail "wrapped session failed: $(tail -c 2000 "$E2E_DIR/client/wrapped.out")"
	rm -f "$E2E_HOME/.bashrc"
	E2E_ESCAPE_WRAPPED=1
}

# ~/.bashrc replaces the shell before the recorder runs: nothing records the
# session, so only its login without a recording can give it away. Its own
# login (a login that also has recorded sessions would hide it), with the
# code of the next time step (the current one was used).
e2e_scenario_escape_exec() {
	e2e_log "~/.bashrc holding 'exec bash', in a login of its own"
	e2e_bashrc <<'EOF2'
if [ -z "$TG_ESCAPED" ]; then
	export TG_ESCAPED=1
	exec bash
fi
EOF2
	cat >"$E2E_DIR/client/escape.steps" <<'EOF2'
sendline echo "ESCAPED-$((5*5))"
expect ESCAPED-25
sendline exit 0
eof
EOF2
	if e2e_have mfa; then e2e_set_code "$(e2e_code 1)"; fi
	python3 "$E2E_HERE/pty_drive.py" "$E2E_DIR/client/escape.steps" "$E2E_TIMEOUT" -- \
		ssh -F "$E2E_DIR/client/ssh_config" -o ControlMaster=no -o ControlPath=none -tt tg-e2e \
		>"$E2E_DIR/client/escape.out" 2>&1 ||
		e2e_fail "escape session failed: $(tail -c 2000 "$E2E_DIR/client/escape.out")"
	rm -f "$E2E_HOME/.bashrc"
	E2E_ESCAPE_EXEC=1
}

# ~/.bashrc runs the recorder itself, with no argument as sshd starts it, and then
# replaces the shell: a recording for the login, then an unrecorded shell. The
# recorder's parent is then the "<shell> -c" sshd started, not sshd: it must flag
# itself. Its own login (after e2e_scenario_escape_exec), with a scratch code (the
# codes of this time step and the next one are used).
e2e_scenario_escape_rerun() {
	e2e_log "~/.bashrc running the recorder itself, then 'exec bash', in a login of its own"
	e2e_bashrc <<EOF2
if [ -z "\$TG_RERUN" ]; then
	export TG_RERUN=1
	SSH_ORIGINAL_COMMAND=true $E2E_RECORD </dev/null
	exec bash
fi
EOF2
	cat >"$E2E_DIR/client/rerun.steps" <<'EOF2'
sendline echo "RERUN-$((4*4))"
expect RERUN-16
sendline exit 0
eof
EOF2
	if e2e_have mfa; then
		e2e_set_code "$(sed -n 's/^  *\([0-9]\{8\}\)$/\1/p' "$E2E_DIR/state/enroll.out" | head -n 1)"
	fi
	python3 "$E2E_HERE/pty_drive.py" "$E2E_DIR/client/rerun.steps" "$E2E_TIMEOUT" -- \
		ssh -F "$E2E_DIR/client/ssh_config" -o ControlMaster=no -o ControlPath=none -tt tg-e2e \
		>"$E2E_DIR/client/rerun.out" 2>&1 ||
		e2e_fail "rerun session failed: $(tail -c 2000 "$E2E_DIR/client/rerun.out")"
	rm -f "$E2E_HOME/.bashrc"
	E2E_ESCAPE_RERUN=1
}

# Login-shell mode: the recorder is the shell, so ~/.bashrc (and its
# 'exec bash') runs inside the recording. Shares the master connection.
e2e_scenario_bashrc_in_login_shell() {
	e2e_log "login shell: ~/.bashrc holding 'exec bash' runs under the recorder"
	e2e_bashrc <<'EOF2'
echo "BASHRC-$((10+1))"
if [ -z "$TG_ESCAPED" ]; then
	export TG_ESCAPED=1
	exec bash
fi
EOF2
	cat >"$E2E_DIR/client/loginshell.steps" <<'EOF2'
expect BASHRC-11
sendline echo "INNER-$((7*6))-$TG_ESCAPED"
expect INNER-42-1
sendline exit 0
eof
EOF2
	e2e_pty "$E2E_DIR/client/loginshell.steps" tg-e2e >"$E2E_DIR/client/loginshell.out" 2>&1 ||
		e2e_fail "login-shell session failed: $(tail -c 2000 "$E2E_DIR/client/loginshell.out")"
	rm -f "$E2E_HOME/.bashrc"
	E2E_BASHRC_LOGIN_SHELL=1
}

# ~/.ssh/rc: sshd runs it before each session's shell or command, as
# "<login shell> -c '/bin/sh ~/.ssh/rc'" (in login-shell mode a recording of
# its own, of the rc's output only), with the session's terminal already the
# user's: what it, or a process it leaves behind, writes to that terminal
# reaches the client past the recorder, which makes the terminal exclusive
# only later. PermitUserRC no keeps sshd from running it (in ForceCommand
# mode sshd ignores it anyway). Shares the master connection; its recording
# is set aside.
e2e_scenario_user_rc() {
	e2e_log "~/.ssh/rc is not run before the session"
	cat >"$E2E_HOME/.ssh/rc" <<'EOF2'
echo ran >"$HOME/rc.ran"
for t in /dev/pts/*; do [ -O "$t" ] && printf 'RC-UNRECORDED-%s\r\n' "$((3 * 4))" >"$t"; done
EOF2
	chown "$E2E_USER:" "$E2E_HOME/.ssh/rc"
	cat >"$E2E_DIR/client/rc.steps" <<'EOF2'
expect \$ 
sendline echo "AFTER-RC-$((9*9))"
expect AFTER-RC-81
sendline exit 0
eof
EOF2
	e2e_aside_mark
	e2e_pty "$E2E_DIR/client/rc.steps" tg-e2e >"$E2E_DIR/client/rc.out" 2>&1 ||
		e2e_fail "~/.ssh/rc session failed: $(tail -c 2000 "$E2E_DIR/client/rc.out")"
	rm -f "$E2E_HOME/.ssh/rc"
	e2e_aside_take
	! grep -q 'RC-UNRECORDED-12' "$E2E_DIR/client/rc.out" ||
		e2e_fail "~/.ssh/rc wrote to the client's terminal past the recorder"
	[ ! -e "$E2E_HOME/rc.ran" ] || e2e_fail "sshd ran ~/.ssh/rc before the session"
	e2e_aside_has '.header.mode == "interactive" and .header.command == null and .end.exit_status == 0' \
		"the session after ~/.ssh/rc"
}

e2e_scenario_main() {
	e2e_scenario_login
	e2e_scenario_interactive
	e2e_scenario_command
	e2e_scenario_files
	e2e_log "logout"
	e2e_logout
}

# ---------------------------------------------------------------- results

e2e_replay() { "$E2E_REPLAY" -c "$E2E_CONF" "$@"; }

# The wrapped session was recorded, and flagged: a note in the recording and
# a recording_escape event. It is then set aside from the other checks.
e2e_check_escape_wrapped() {
	e2e_log "the wrapped session: recorded and flagged"
	n=$(jq -s '[.[] | select(any(.notes[]?; .note.event == "recording_escape"))] | length' "$r")
	[ "$n" -eq 1 ] || e2e_fail "expected 1 recording flagged as an escape, found $n"
	esc=$(jq -r 'select(any(.notes[]?; .note.event == "recording_escape")) | .file' "$r")
	e2e_replay verify "$esc" >/dev/null 2>&1 || e2e_fail "the wrapped session's recording does not verify"
	e2e_replay cat "$esc" | grep -q 'WRAPPED-64' || e2e_fail "the wrapped session's recording lacks its output"
	rid=$(basename "$esc" .tgr)
	e2e_event_has recording_escape '.recording_id == $r and (.reason | length) > 0' --arg r "$rid" ||
		e2e_fail "no recording_escape event for recording $rid: $(e2e_events recording_escape)"
	jq -c 'select(any(.notes[]?; .note.event == "recording_escape") | not)' "$r" >"$r.rest"
	mv "$r.rest" "$r"
}

# Login-shell mode: the session whose ~/.bashrc ran 'exec bash' is recorded,
# with what it printed before and after the exec, and not flagged.
e2e_check_bashrc_in_login_shell() {
	e2e_log "the 'exec bash' session in login-shell mode: recorded"
	for f in $(jq -r 'select(.header.mode == "interactive") | .file' "$r"); do
		if e2e_replay cat "$f" | grep -q 'INNER-42-1'; then
			jq -e -s --arg f "$f" 'any(.[]; .file == $f and any(.notes[]?; .note.event == "start" and .note.entry == "login_shell"))' \
				"$r" >/dev/null || e2e_fail "the session was not started as a login shell: $(jq -c --arg f "$f" 'select(.file == $f) | .notes' "$r")"
			[ "$(e2e_replay cat "$f" | grep -c 'BASHRC-11')" -eq 2 ] ||
				e2e_fail "the recording does not hold both runs of ~/.bashrc"
			jq -c --arg f "$f" 'select(.file != $f)' "$r" >"$r.rest"
			mv "$r.rest" "$r"
			return 0
		fi
	done
	e2e_fail "no recording holds the session run after ~/.bashrc's 'exec bash'"
}

# The login whose ~/.bashrc ran the recorder, then 'exec bash': the recording it
# left is flagged (a note and a recording_escape event), and set aside.
e2e_check_escape_rerun() {
	e2e_log "the login whose ~/.bashrc ran the recorder itself: flagged"
	grep -q 'RERUN-16' "$E2E_DIR/client/rerun.out" || e2e_fail "the rerun session did not run"
	f=$(jq -r --arg s "$E2E_RERUN_SESSION_ID" 'select(.header.pam_session_id == $s) | .file' "$r")
	[ -n "$f" ] || e2e_fail "no recording of the ~/.bashrc's own run of the recorder"
	jq -e -s --arg s "$E2E_RERUN_SESSION_ID" 'all(.[] | select(.header.pam_session_id == $s);
		any(.notes[]?; .note.event == "recording_escape"))' "$r" >/dev/null ||
		e2e_fail "the recorder run from ~/.bashrc was not flagged: $(jq -c --arg s "$E2E_RERUN_SESSION_ID" 'select(.header.pam_session_id == $s) | .notes' "$r")"
	e2e_event_has recording_escape '.session_id == $s' --arg s "$E2E_RERUN_SESSION_ID" ||
		e2e_fail "no recording_escape event for the login $E2E_RERUN_SESSION_ID: $(e2e_events recording_escape)"
	jq -c --arg s "$E2E_RERUN_SESSION_ID" 'select(.header.pam_session_id != $s)' "$r" >"$r.rest"
	mv "$r.rest" "$r"
}

# The 'exec bash' login: its session ran (the client saw it) and nothing
# recorded it; the uploader must then report a login with no recording.
e2e_check_escape_exec() {
	e2e_log "the 'exec bash' login: not recorded"
	grep -q 'ESCAPED-25' "$E2E_DIR/client/escape.out" || e2e_fail "the escaped session did not run"
	if jq -e -s --arg s "$E2E_ESCAPE_SESSION_ID" 'any(.[]; .header.pam_session_id == $s)' "$r" >/dev/null; then
		e2e_fail "the 'exec bash' session was recorded after all: the test's premise (bash reads ~/.bashrc under sshd) is wrong here"
	fi
}

# info --json of every recording in the spool, one a line, into recordings.jsonl.
e2e_recordings_info() {
	: >"$E2E_DIR/recordings.jsonl"
	for f in "$E2E_DIR"/spool/sessions/*; do
		[ -f "$f" ] || continue
		e2e_replay info --json "$f" | jq -c . >>"$E2E_DIR/recordings.jsonl" ||
			e2e_fail "tollgate-replay info $f failed"
	done
}

# e2e_rec FILTER: the file of the one recording whose info matches FILTER.
e2e_rec() {
	jq -r "select($1) | .file" "$E2E_DIR/recordings.jsonl" | head -n 1
}

# The recordings of the scenario in the spool: each verifies (sealed, under
# the host key), belongs to the login, and holds what was printed; transfers
# are there with their direction and size.
e2e_check_recordings() {
	if ! e2e_have replay; then
		e2e_skip_part "tollgate-replay not built: recordings counted, not read"
		n=$(find "$E2E_DIR/spool/sessions" -type f -name '*.tgr' | wc -l)
		[ "$n" -ge 10 ] || e2e_fail "expected 10 recordings, found $n"
		return 0
	fi
	e2e_log "recordings in the spool"
	e2e_recordings_info
	r="$E2E_DIR/recordings.jsonl"
	if [ -s "$E2E_DIR/aside.list" ]; then
		# checked by their scenarios already
		jq -c --rawfile a "$E2E_DIR/aside.list" '($a | split("\n")) as $l | select((.file | split("/") | last) as $n | $l | index([$n]) | not)' \
			"$r" >"$r.rest"
		mv "$r.rest" "$r"
	fi
	if [ -n "${E2E_ESCAPE_RERUN:-}" ]; then e2e_check_escape_rerun; fi
	if [ -n "${E2E_ESCAPE_WRAPPED:-}" ]; then e2e_check_escape_wrapped; fi
	if [ -n "${E2E_ESCAPE_EXEC:-}" ]; then e2e_check_escape_exec; fi
	if [ -n "${E2E_BASHRC_LOGIN_SHELL:-}" ]; then e2e_check_bashrc_in_login_shell; fi
	n=$(wc -l <"$r")
	[ "$n" -eq 10 ] || e2e_fail "expected 10 recordings (1 interactive, 2 commands, 7 transfers), found $n: $(jq -c '[.header.mode, .header.command]' "$r")"
	for f in "$E2E_DIR"/spool/sessions/*; do
		e2e_replay verify "$f" >"$E2E_DIR/verify.out" 2>&1 || e2e_fail "verify $f: $(cat "$E2E_DIR/verify.out")"
	done
	jq -e -s --arg u "$E2E_USER" --arg h "e2e-$E2E_ID" 'all(.[]; .header.user == $u and .header.host == $h
		and .verification.status == "sealed" and .verification.key_checked)' "$r" >/dev/null ||
		e2e_fail "a recording has the wrong user or host, or is not sealed under the host key"
	if e2e_have mfa; then
		jq -e -s --arg s "$E2E_SESSION_ID" 'all(.[]; .header.pam_session_id == $s)' "$r" >/dev/null ||
			e2e_fail "a recording is not tied to the login (pam_session_id)"
		# every recording names the login's audit session (pam_loginuid's): what the uploader
		# compares, so that a recording cannot claim another login's id
		audit=$(e2e_events login | jq -r --arg s "$E2E_SESSION_ID" 'select(.session_id == $s) | .audit_session // empty')
		if [ -n "$audit" ]; then
			jq -e -s --argjson a "$audit" 'all(.[]; .header.audit_session == $a)' "$r" >/dev/null ||
				e2e_fail "a recording does not name the login's audit session $audit: $(jq -c '.header.audit_session' "$r")"
			# and this boot, as the login does (the ids start again at each boot)
			boot=$(cat /proc/sys/kernel/random/boot_id)
			jq -e -s --arg b "$boot" 'all(.[]; .header.boot_id == $b)' "$r" >/dev/null ||
				e2e_fail "a recording does not name this boot $boot: $(jq -c '.header.boot_id' "$r")"
			e2e_event_has login '.session_id == $s and .boot_id == $b' --arg s "$E2E_SESSION_ID" --arg b "$boot" ||
				e2e_fail "the login event does not name this boot $boot: $(e2e_events login)"
		else
			e2e_skip_part "no audit session at login (pam_loginuid could not set one here): recordings not compared with it"
		fi
	fi
	# nothing in a normal session looks like an escape
	if jq -e -s 'any(.[]; .notes[]?.note.event == "recording_escape")' "$r" >/dev/null; then
		e2e_fail "a normal session was flagged as a recording escape: $(jq -c '.notes' "$r" | grep escape)"
	fi

	it=$(e2e_rec '.header.mode == "interactive"')
	[ -n "$it" ] || e2e_fail "no interactive recording"
	jq -e -s --arg f "$it" 'any(.[]; .file == $f and .header.cols == 80 and .header.rows == 24 and .resizes >= 1
		and .end.exit_status == 0)' "$r" >/dev/null ||
		e2e_fail "interactive recording: size, resize or exit status: $(jq -c --arg f "$it" 'select(.file == $f) | [.header.cols, .header.rows, .resizes, .end]' "$r")"
	e2e_replay cat "$it" >"$E2E_DIR/interactive.cat" || e2e_fail "tollgate-replay cat $it"
	for want in 'TG-OUT-42' 'SIZE-30x100' 'TG-ALPHA-' 'TG-BETA-' 'echo "TG-OUT-$((6*7))"'; do
		grep -qF "$want" "$E2E_DIR/interactive.cat" || e2e_fail "the interactive recording lacks '$want'"
	done

	cmd=$(e2e_rec '.header.mode == "command" and (.header.command | startswith("echo"))')
	[ -n "$cmd" ] || e2e_fail "no recording of ssh host cmd"
	e2e_replay cat "$cmd" >"$E2E_DIR/command.cat" || e2e_fail "tollgate-replay cat $cmd"
	for want in cmd-5 "$E2E_USER" to-stderr; do
		grep -qxF "$want" "$E2E_DIR/command.cat" || e2e_fail "the command recording lacks '$want'"
	done
	jq -e -s 'any(.[]; .header.command == "exit 7" and .end.exit_status == 7)' "$r" >/dev/null ||
		e2e_fail "no recording of 'exit 7' with its exit status"

	# transfers: metadata only (transfer_content = metadata), with sizes
	jq -e -s '[.[] | select(.header.mode == "transfer")] | length == 7' "$r" >/dev/null ||
		e2e_fail "expected 7 transfer recordings"
	jq -e -s '[.[] | .end.transfer | select(. != null) | select(.kind == "sftp")] | length == 3' "$r" >/dev/null ||
		e2e_fail "expected 3 sftp transfers (scp twice, sftp once)"
	jq -e -s 'any(.[]; .end.transfer.kind == "scp" and .end.transfer.direction == "upload" and .end.transfer.bytes_in >= 16384)
		and any(.[]; .end.transfer.kind == "scp" and .end.transfer.direction == "download" and .end.transfer.bytes_out >= 16384)
		and any(.[]; .end.transfer.kind == "rsync" and .end.transfer.direction == "upload" and .end.transfer.bytes_in >= 1048576)
		and any(.[]; .end.transfer.kind == "rsync" and .end.transfer.direction == "download" and .end.transfer.bytes_out >= 1048576)
		and all(.[]; .header.mode != "transfer" or .end.transfer.exit_status == 0)' "$r" >/dev/null ||
		e2e_fail "transfers: $(jq -c '.end.transfer | select(. != null)' "$r")"
	E2E_INTERACTIVE_REC=$(basename "$it")
}

# The interactive session from S3 (after the upload) or the spool: verify,
# then play at top speed without a terminal, and export to asciicast.
e2e_interactive_recording() {
	if [ -n "${E2E_S3_INTERACTIVE_KEY:-}" ]; then
		echo "s3://$TG_S3_BUCKET/$E2E_S3_INTERACTIVE_KEY"
	else
		echo "$E2E_DIR/spool/sessions/$E2E_INTERACTIVE_REC"
	fi
}
e2e_play() { e2e_replay play --speed 64 --idle-limit 0.1 "$1" </dev/null; }

e2e_check_replay() {
	src=$(e2e_interactive_recording)
	e2e_log "tollgate-replay verify and play $src"
	if ! e2e_replay verify "$src" >"$E2E_DIR/verify.out" 2>&1; then
		case $src in
		s3://*)
			if grep -q 'without S3 support' "$E2E_DIR/verify.out"; then
				e2e_skip_part "tollgate-replay reads no s3:// yet: verifying a copy fetched with botocore"
				e2e_s3 get "$E2E_S3_INTERACTIVE_KEY" "$E2E_DIR/from-s3.tgr" || e2e_fail "cannot fetch $src"
				src="$E2E_DIR/from-s3.tgr"
				E2E_S3_INTERACTIVE_KEY=
			fi
			;;
		esac
		e2e_replay verify "$src" >"$E2E_DIR/verify.out" 2>&1 || e2e_fail "verify $src: $(cat "$E2E_DIR/verify.out")"
	fi
	grep -q 'sealed and intact' "$E2E_DIR/verify.out" || e2e_fail "verify: $(cat "$E2E_DIR/verify.out")"
	e2e_play "$src" >"$E2E_DIR/play.out" 2>&1 || e2e_fail "play $src: $(tail -c 500 "$E2E_DIR/play.out")"
	grep -q 'TG-OUT-42' "$E2E_DIR/play.out" || e2e_fail "play did not show the session: $(tail -c 500 "$E2E_DIR/play.out")"
	e2e_replay export --format asciicast "$src" >"$E2E_DIR/session.cast" || e2e_fail "export $src"
	head -n 1 "$E2E_DIR/session.cast" | jq -e '.version == 2 and .width == 80 and .height == 24' >/dev/null ||
		e2e_fail "asciicast header: $(head -n 1 "$E2E_DIR/session.cast")"
	grep -q 'TG-OUT-42' "$E2E_DIR/session.cast" || e2e_fail "the asciicast lacks the output"
}

# One pass of the uploader over the spool (as the unit runs it, in the
# foreground). Recordings are copied aside first: S3 must get the same bytes.
e2e_upload() {
	mkdir -p "$E2E_DIR/saved"
	for f in "$E2E_DIR"/spool/sessions/*; do
		[ -f "$f" ] && cp -p "$f" "$E2E_DIR/saved/"
	done
	e2e_log "tollgate-uploader --once"
	# bounded: a pass that does not end is a failure, not a hang
	st=0
	timeout -k 5 $((E2E_TIMEOUT * 2)) setpriv --reuid="$E2E_AUDIT" --regid="$E2E_AUDIT" --init-groups \
		"$E2E_UPLOADER" -c "$E2E_CONF" --once --foreground >>"$E2E_DIR/uploader.log" 2>&1 || st=$?
	[ "$st" -ne 124 ] && [ "$st" -ne 137 ] || e2e_fail "tollgate-uploader --once did not end within $((E2E_TIMEOUT * 2)) s"
	[ "$st" -eq 0 ] || e2e_fail "tollgate-uploader --once left work behind (exit $st)"
}

e2e_s3() { python3 "$E2E_HERE/s3_dump.py" "$@"; }

# Every Slack message as one line of text (header, sections, fields).
e2e_slack_texts() {
	[ -f "$E2E_DIR/slack/messages.jsonl" ] || return 0
	jq -r '[.blocks[]? | .. | strings] | join(" | ") | gsub("\n"; " ")' "$E2E_DIR/slack/messages.jsonl"
}

# Slack got the login and logout of the main login, the wrong code, the
# replayed code, and (when those scenarios ran) the recording escape and the
# login with no recording; never a secret or the code.
e2e_check_slack() {
	e2e_log "Slack messages"
	e2e_slack_texts >"$E2E_DIR/slack.txt"
	at="$E2E_USER@e2e-$E2E_ID"
	if e2e_have mfa; then
		for want in "SSH login: $at" "SSH logout: $at" "MFA failure: $at" "Replayed MFA code: $at"; do
			grep -qF "$want" "$E2E_DIR/slack.txt" || e2e_fail "Slack did not get '$want': $(cat "$E2E_DIR/slack.txt")"
		done
		grep -F "SSH login: $at" "$E2E_DIR/slack.txt" | grep -qF "$E2E_SESSION_ID" ||
			e2e_fail "the login message does not name the session $E2E_SESSION_ID"
		if grep -qF -e "$E2E_SECRET_B32" -e "$E2E_USED_CODE" "$E2E_DIR/slack.txt"; then
			e2e_fail "a Slack message holds the secret or the code"
		fi
	fi
	if [ -n "${E2E_ESCAPE_WRAPPED:-}" ]; then
		grep -qF "Recording escape attempt: $at" "$E2E_DIR/slack.txt" || e2e_fail "Slack did not get the recording escape"
	fi
	if [ -n "${E2E_ESCAPE_EXEC:-}" ] && e2e_have mfa; then
		grep -F "no_recording" "$E2E_DIR/slack.txt" | grep -qF "$E2E_ESCAPE_SESSION_ID" ||
			e2e_fail "Slack did not get the 'login with no recording' alert for $E2E_ESCAPE_SESSION_ID"
	fi
	e2e_log "$(wc -l <"$E2E_DIR/slack.txt") Slack messages, as expected"
}

# The uploader's own alerts (its log; Slack is checked on its own): the
# 'exec bash' login ended with no recording.
e2e_check_alerts() {
	if [ -n "${E2E_ESCAPE_EXEC:-}" ] && e2e_have mfa; then
		e2e_log "the uploader reports the login with no recording"
		grep -q "alert no_recording: .*$E2E_ESCAPE_SESSION_ID" "$E2E_DIR/uploader.log" ||
			e2e_fail "no 'no_recording' alert for the 'exec bash' login $E2E_ESCAPE_SESSION_ID"
		if grep -q "alert no_recording: .*$E2E_SESSION_ID" "$E2E_DIR/uploader.log"; then
			e2e_fail "a recorded login was reported as having no recording"
		fi
	fi
}
e2e_s3_list() { e2e_s3 list; }

# After e2e_upload: the spool is empty; every recording is in S3, byte for
# byte, under the configured key layout with its metadata; the events are
# in S3 too.
e2e_check_s3() {
	e2e_log "objects in S3"
	python3 -c 'import botocore' 2>/dev/null || {
		e2e_skip_part "botocore is not installed (python3-botocore): S3 objects not checked"
		return 0
	}
	left=$(find "$E2E_DIR/spool/sessions" "$E2E_DIR/spool/events" -maxdepth 1 -type f ! -name '.*' | wc -l)
	[ "$left" -eq 0 ] || e2e_fail "the spool still holds $left files after the upload"
	e2e_s3 list >"$E2E_DIR/s3.list" || e2e_fail "cannot list the bucket"
	day=$(date -u +%Y-%m-%d)
	n=0
	for f in "$E2E_DIR"/saved/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		name=$(basename "$f")
		obj=$(jq -c --arg n "$name" 'select(.key | endswith("/" + $n))' "$E2E_DIR/s3.list")
		[ -n "$obj" ] || e2e_fail "recording $name is not in S3: $(cat "$E2E_DIR/s3.list")"
		key=$(printf '%s' "$obj" | jq -r .key)
		case $key in
		"e2e/dt=$day/host=e2e-$E2E_ID/$E2E_USER/"*) ;;
		*) e2e_fail "recording key $key does not follow the key template" ;;
		esac
		# the metadata says what the recording itself says
		hash=$(e2e_replay info --json "$f" | jq -r .verification.final_hash)
		printf '%s' "$obj" | jq -e --arg u "$E2E_USER" --arg h "e2e-$E2E_ID" --arg id "${name%.tgr}" \
			--arg fh "$hash" --arg p "${E2E_SESSION_ID:-}" --arg q "${E2E_RERUN_SESSION_ID:-}" \
			'.metadata.user == $u and .metadata.host == $h and .metadata.sealed == "yes"
			 and .metadata["final-hash"] == $fh and .metadata["session-id"] == $id
			 and ($p == "" or .metadata["pam-session-id"] == $p
			      or ($q != "" and .metadata["pam-session-id"] == $q))
			 and .content_type == "application/vnd.tollgate.recording"' >/dev/null ||
			e2e_fail "recording $key: metadata $(printf '%s' "$obj" | jq -c .metadata), final hash $hash"
		e2e_s3 get "$key" "$E2E_DIR/s3-copy" || e2e_fail "cannot download $key"
		[ "$name" = "${E2E_INTERACTIVE_REC:-}" ] && E2E_S3_INTERACTIVE_KEY=$key
		e2e_same "$f" "$E2E_DIR/s3-copy" "recording $key in S3"
	done
	# one index object per session (for Athena), agreeing with the recording
	e2e_s3 cat "e2e/index/" >"$E2E_DIR/s3.index" || e2e_fail "cannot read the index objects"
	[ "$(wc -l <"$E2E_DIR/s3.index")" -eq "$n" ] || e2e_fail "expected $n index objects: $(cat "$E2E_DIR/s3.index")"
	for f in "$E2E_DIR"/saved/*; do
		name=$(basename "$f" .tgr)
		jq -e -s --arg id "$name" --arg u "$E2E_USER" \
			'any(.[]; .session_id == $id and .user == $u and .sealed == true and (.final_hash | length) == 64)' \
			"$E2E_DIR/s3.index" >/dev/null || e2e_fail "no index object for $name: $(cat "$E2E_DIR/s3.index")"
	done
	e2e_log "$n recordings in S3, byte-identical, with their metadata and index objects"
	if e2e_have mfa; then
		e2e_s3 cat "e2e/events/" >"$E2E_DIR/s3.events" || e2e_fail "cannot read the events from S3"
		for t in login logout mfa_failure mfa_replay; do
			jq -e -s --arg t "$t" --arg u "$E2E_USER" 'any(.[]; .type == $t and .user == $u)' "$E2E_DIR/s3.events" \
				>/dev/null || e2e_fail "no $t event in S3"
		done
	fi
}

# e2e_events TYPE: the events of that type for the test user still in the
# spool (one JSON object a line, in time order).
e2e_events() {
	for f in "$E2E_DIR"/spool/events/*.json; do
		[ -f "$f" ] && cat "$f" && echo
	done | jq -c --arg t "$1" --arg u "$E2E_USER" 'select(.type == $t and .user == $u)'
}

# e2e_event_has TYPE JQ-FILTER [jq args]: some event of TYPE matches.
e2e_event_has() {
	t=$1
	f=$2
	shift 2
	e2e_events "$t" | jq -s -e "$@" "any(.[]; $f)" >/dev/null
}

# What the PAM module wrote: one login and its logout (same session id), the
# wrong code as mfa_failure, the replayed code as mfa_replay; no secret or
# code in any event. Sets E2E_SESSION_ID.
e2e_check_events() {
	e2e_log "events in the spool"
	logins=$((1 + ${E2E_ESCAPE_EXEC:-0} + ${E2E_ESCAPE_RERUN:-0}))
	[ "$(e2e_events login | wc -l)" -eq "$logins" ] || e2e_fail "expected $logins login events: $(e2e_events login)"
	E2E_SESSION_ID=$(e2e_events login | head -n 1 | jq -r .session_id)
	E2E_ESCAPE_SESSION_ID=$(e2e_events login | sed -n 2p | jq -r .session_id)
	E2E_RERUN_SESSION_ID=$(e2e_events login | sed -n 3p | jq -r .session_id)
	printf '%s' "$E2E_SESSION_ID" | grep -Eq '^[0-9a-f]{32}$' || e2e_fail "login: bad session_id $E2E_SESSION_ID"
	# the address and port as sshd gave them (kept by the module before pam_env could change them)
	e2e_event_has login '.mfa_method == "totp" and .client_addr == "127.0.0.1" and
		(.client_port | type) == "number" and .client_port > 0 and .service == $p' \
		--arg p "$E2E_SERVICE" || e2e_fail "login event: $(e2e_events login)"
	e2e_event_has logout '.session_id == $s and .duration_us > 0' --arg s "$E2E_SESSION_ID" ||
		e2e_fail "no logout event for session $E2E_SESSION_ID: $(e2e_events logout)"
	# the logout names the login's audit session (the uploader compares either with the
	# recordings'), and each login has an audit session of its own
	audit=$(e2e_events login | jq -r --arg s "$E2E_SESSION_ID" 'select(.session_id == $s) | .audit_session // empty')
	if [ -n "$audit" ]; then
		e2e_event_has logout '.session_id == $s and .audit_session == $a' --arg s "$E2E_SESSION_ID" --argjson a "$audit" ||
			e2e_fail "the logout's audit session is not the login's ($audit): $(e2e_events logout)"
		[ "$(e2e_events login | jq -r '.audit_session' | sort -u | wc -l)" -eq "$(e2e_events login | wc -l)" ] ||
			e2e_fail "two logins share an audit session: $(e2e_events login | jq -c '.audit_session')"
	fi
	# OpenSSH opens the PAM session before any channel asks for a pty, and leaves PAM_TTY
	# at its placeholder "ssh" through the close, pty sessions included (doc/events.md)
	e2e_event_has login '.session_id == $s and .tty == "ssh"' --arg s "$E2E_SESSION_ID" ||
		e2e_fail "login event: tty is not sshd's \"ssh\": $(e2e_events login)"
	e2e_event_has logout '.session_id == $s and .tty == "ssh"' --arg s "$E2E_SESSION_ID" ||
		e2e_fail "logout event: tty is not sshd's \"ssh\": $(e2e_events logout)"
	e2e_event_has mfa_failure '.reason == "bad_code"' ||
		e2e_fail "no mfa_failure (bad_code) event: $(e2e_events mfa_failure)"
	e2e_event_has mfa_replay 'true' || e2e_fail "no mfa_replay event for the replayed code"
	if grep -rqF -e "$E2E_SECRET_B32" -e "\"$E2E_USED_CODE\"" "$E2E_DIR/spool/events"; then
		e2e_fail "an event holds the secret or the code"
	fi
}

e2e_check_results() {
	if e2e_have mfa; then
		e2e_check_events
	else
		e2e_skip_part "pam_tollgate.so not built: no login/logout/mfa_failure event assertions"
	fi
	if e2e_have record; then
		e2e_check_recordings
	else
		e2e_skip_part "tollgate-record or tollgate-keygen not built: sessions ran unrecorded, no recording assertions"
	fi
	if e2e_have uploader && e2e_have s3; then
		e2e_upload
		e2e_check_s3
		e2e_check_alerts
		if e2e_have slack; then
			e2e_check_slack
		else
			e2e_skip_part "no Slack receiver: no Slack assertions"
		fi
	else
		e2e_skip_part "tollgate-uploader not built or no S3 server: no S3 or Slack assertions"
	fi
	if e2e_have replay && e2e_have record; then
		e2e_check_replay
	else
		e2e_skip_part "tollgate-replay not built: recordings not verified or played"
	fi
}
