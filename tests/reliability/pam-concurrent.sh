#!/bin/sh
# PAM under concurrent logins with one code: 16 processes each open a PAM
# handle (the real libpam, a private service folder) for the same user, wait on
# one pipe and call pam_authenticate with the same valid code (from oathtool) at
# the same instant. Exactly one may get in and the other 15 must be refused as
# replays; twenty rounds, each with a fresh code (a 1-second time step).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/reliability/lib.sh"

ROUNDS=$(rel_scale 5 20)
PROCS=16
WINDOW=3 # steps (s) a code stays good either side: a slow start under load must not turn a replay into a bad code

tg_need_cmd oathtool
B=$TG_TOP_BUILDDIR
MOD=$B/pam_module/.libs/pam_tollgate.so
ENROLL=$B/pam_module/tollgate-enroll
STRESS=$B/tests/reliability/pam_stress
for f in "$MOD" "$ENROLL" "$STRESS"; do
	[ -f "$f" ] || tg_fail "not built: $f (run make first)"
done

# on disk, not tmpfs: the winner fdatasyncs its step while it holds the lock
T=$(tg_mktemp_dir) || tg_fail "mktemp"
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP PIPE
ME=$(id -un)

# the limiter is raised out of the way: 15 refusals a round from one address
# would otherwise lock it (a refusal for that reason is not what is measured)
rel_pam_setup "$T" "step = 1" "window = $WINDOW"
grep -q '1 s step' "$T/enroll" || tg_fail "not enrolled with a 1 s step: $(head -1 "$T/enroll")"
secret=$(sed -n 's/^Secret (base32): //p' "$T/enroll")
[ -n "$secret" ] || tg_fail "no secret from tollgate-enroll"

# count TEXT: events in the spool whose JSON holds TEXT
count() { grep -l "$1" "$T/spool/events"/*.json 2>/dev/null | wc -l; }

t0=$(date +%s%N)
per_round=
replays=0
last=0
r=1
while [ $r -le "$ROUNDS" ]; do
	# a fresh time step: the previous round's is recorded as used
	now=$(date +%s)
	while [ "$now" -le "$last" ]; do
		sleep 0.05
		now=$(date +%s)
	done
	last=$now
	code=$(oathtool --totp -s 1s -N "@$now" -b "$secret") || tg_fail "oathtool"
	rm -f "$T/spool/events"/*.json
	out=$("$STRESS" race -n "$PROCS" "$T/pam.d" tg "$ME" "$code" 2>&1)
	rc=$?
	echo "round $r (step $now): $out"
	[ $rc -le 1 ] || tg_fail "round $r: the race driver failed (exit $rc): $out"
	k=$(echo "$out" | sed -n 's/^succeeded=\([0-9]*\) of.*/\1/p')
	per_round="$per_round${per_round:+, }$k"
	echo "$out" | grep -q crashed_or_failed_to_start && tg_fail "round $r: a login process crashed or did not start: $out"
	[ "$k" = 1 ] || tg_fail "round $r: $k of $PROCS logins with one code got in, not exactly one"
	# the 15 others were refused as replays, not for another reason
	n_replay=$(count '"type":"mfa_replay"')
	n_fail=$(count '"type":"mfa_failure"')
	n_fail_replay=$(count '"reason":"replay"')
	if [ "$n_replay" -ne $((PROCS - 1)) ] || [ "$n_fail" -ne $((PROCS - 1)) ] || [ "$n_fail_replay" -ne $((PROCS - 1)) ]; then
		cat "$T/spool/events"/*.json
		tg_fail "round $r: expected $((PROCS - 1)) replay refusals, got $n_replay mfa_replay and $n_fail mfa_failure events ($n_fail_replay for replay)"
	fi
	replays=$((replays + n_replay))
	r=$((r + 1))
done
ms=$((($(date +%s%N) - t0) / 1000000))
secs=$((ms / 1000)).$((ms % 1000 / 100))

rel_figure "$ROUNDS rounds of $PROCS processes calling pam_authenticate through libpam at the same instant (released together through a pipe) for one user with the same valid code from oathtool, a fresh 1-second time step each round: exactly one got in every round (successes per round: $per_round), and all $replays others were refused as replays (one mfa_replay event each), $secs s in all."
echo PASS
