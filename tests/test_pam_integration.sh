#!/bin/sh
# pam_tollgate.so and tollgate-enroll end to end, with oathtool as an
# independent code generator: the module's exports and links, enrollment
# (every algorithm, 6 and 8 digits, QR code, scratch codes), reset and
# removal, and pamtester through libpam_wrapper (a private service folder,
# /etc/pam.d untouched). The google-authenticator part is test_pam_ga.sh.
. "${TG_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

tg_need_cmd oathtool nm
B=$TG_TOP_BUILDDIR
MOD=$B/pam_module/.libs/pam_tollgate.so
ENROLL=$B/pam_module/tollgate-enroll
DRIVER=$B/tests/pam_driver
[ -f "$MOD" ] || tg_fail "module not built: $MOD"
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
ME=$(id -un)

# 1. only pam_sm_* leave the module; no libcurl in sshd
exports=$(nm -D --defined-only "$MOD" | awk '$2 ~ /^[TDBVW]$/ { print $3 }' | sort | tr '\n' ' ')
[ "$exports" = "pam_sm_authenticate pam_sm_close_session pam_sm_open_session pam_sm_setcred " ] ||
	tg_fail "the module exports more than pam_sm_*: $exports"
if readelf -d "$MOD" | grep NEEDED | grep -qi curl; then tg_fail "the module links libcurl"; fi
for f in openlog exit; do
	# imports carry a version (openlog@GLIBC_2.2.5): compare the name before it
	if nm -D --undefined-only "$MOD" | awk '{ sub(/@.*/, "", $2); print $2 }' | grep -qx "$f"; then
		tg_fail "the module calls $f()"
	fi
done
echo "ok: exports only pam_sm_*, no libcurl, no openlog/exit"

cat > "$T/tollgate.conf" <<CONF
[general]
spool_dir = $T/spool
[pam]
state_dir = $T/state
fail_delay_ms = 0
CONF
mkdir -p "$T/pam.d" "$T/spool/events"
printf 'auth required %s config=%s/tollgate.conf\nsession required %s config=%s/tollgate.conf\n' \
	"$MOD" "$T" "$MOD" "$T" > "$T/pam.d/tg"

secret_of() { sed -n 's/^Secret (base32): //p' "$1"; }

# 2. every algorithm and digit count, codes made by oathtool
for alg in sha1 sha256 sha512; do
	for digits in 6 8; do
		"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --algorithm $alg --digits $digits --force > "$T/out" ||
			tg_fail "enroll $alg/$digits"
		s=$(secret_of "$T/out")
		grep -q "otpauth://totp/Tollgate:.*secret=$s&issuer=Tollgate&algorithm=$(echo $alg | tr a-z A-Z)&digits=$digits&period=30" "$T/out" ||
			tg_fail "no otpauth URI for $alg/$digits"
		# a new enrollment keeps the replay guard: this step may be taken by the last round
		rm -f "$T/state/state/$ME"
		code=$(oathtool --totp=$alg --digits=$digits -b "$s")
		"$DRIVER" "$T/pam.d" tg "$ME" "$code" > /dev/null || tg_fail "oathtool's $alg/$digits code refused"
		"$DRIVER" "$T/pam.d" tg "$ME" "$code" > /dev/null && tg_fail "a $alg/$digits code was accepted twice"
		echo "ok: $alg, $digits digits"
	done
done
grep -q "otpauth://totp/Tollgate:$ME%40$(hostname)?" "$T/out" || tg_fail "the app label is not user@host: $(grep otpauth "$T/out")"
# the label carries [general] hostname when it is set, as events do
sed -e 's/^\[general\]$/[general]\nhostname = bastion-7.example/' -e "s|^state_dir = .*|state_dir = $T/state-named|" \
	"$T/tollgate.conf" > "$T/named.conf"
"$ENROLL" -c "$T/named.conf" --user "$ME" --force > "$T/named.out" || tg_fail "enroll with [general] hostname"
grep -q "otpauth://totp/Tollgate:$ME%40bastion-7.example?" "$T/named.out" ||
	tg_fail "the app label ignores [general] hostname: $(grep otpauth "$T/named.out")"
echo "ok: the app label is user@host, with [general] hostname when set"
# with [pam] secret set, the module reads google-authenticator files, not the store: an
# enrollment it will not use (nullok lets the user in without a code) is not a plain "Enrolled"
sed -e "s|^state_dir = .*|state_dir = $T/state-ga\nsecret = ~/.google_authenticator|" \
	"$T/tollgate.conf" > "$T/ga.conf"
"$ENROLL" -c "$T/ga.conf" --user "$ME" --no-qr > /dev/null 2> "$T/err" || tg_fail "enroll with [pam] secret set"
grep -q "^tollgate-enroll: warning: \[pam\] secret is set in $T/ga.conf: pam_tollgate.so reads ~/.google_authenticator, not this enrollment, until it is emptied" "$T/err" ||
	{ cat "$T/err"; tg_fail "an enrollment the module does not read not said"; }
"$ENROLL" -c "$T/named.conf" --user "$ME" --force --no-qr > /dev/null 2> "$T/err" || tg_fail "enroll"
[ -s "$T/err" ] && { cat "$T/err"; tg_fail "a warning without [pam] secret"; }
echo "ok: an enrollment under [pam] secret= warns"
# store.key gone (a restore that missed it) while totp/ holds enrollments sealed with it: a new
# key would leave them unreadable for good (and putting the old key back would then lose the
# new one), so an enrollment of someone else is refused and no key is made
sed "s|^state_dir = .*|state_dir = $T/state-key|" "$T/tollgate.conf" > "$T/key.conf"
"$ENROLL" -c "$T/key.conf" --user "$ME" --no-qr > /dev/null || tg_fail "enroll"
other=nobody
[ "$ME" = nobody ] && other=root
mv "$T/state-key/store.key" "$T/store.key.lost"
"$ENROLL" -c "$T/key.conf" --user "$other" --no-qr > "$T/o" 2> "$T/err" && tg_fail "enrolled with store.key lost"
grep -q "^tollgate-enroll: $T/state-key/store.key is missing, but $T/state-key/totp holds 1 enrollment sealed with it: put it back (a new key would leave them unreadable); nothing done" "$T/err" ||
	{ cat "$T/o" "$T/err"; tg_fail "a lost store.key not said"; }
[ -e "$T/state-key/store.key" ] && tg_fail "a new store.key was made over enrollments sealed with the lost one"
[ -e "$T/state-key/totp/$other" ] && tg_fail "an enrollment was written with store.key lost"
# the user's own enrollment alone is no one else's: replaced with --force, under a new key
"$ENROLL" -c "$T/key.conf" --user "$ME" --force --no-qr > /dev/null || tg_fail "enroll the only user again with store.key lost"
rm -rf "$T/state-key" "$T/store.key.lost"
echo "ok: no new store.key over enrollments sealed with a lost one"
grep -q "$(printf '\342\226\210')" "$T/out" || tg_fail "no QR code drawn"
[ "$(grep -cE '^  [1-9][0-9]{7}$' "$T/out")" -eq 10 ] || tg_fail "not 10 scratch codes"
scratch=$(grep -E '^  [1-9][0-9]{7}$' "$T/out" | head -1 | tr -d ' ')
"$DRIVER" "$T/pam.d" tg "$ME" "$scratch" > /dev/null || tg_fail "scratch code refused"
"$DRIVER" "$T/pam.d" tg "$ME" "$scratch" > /dev/null && tg_fail "scratch code accepted twice"
grep -q "$scratch" "$T/state/totp/$ME" && tg_fail "a scratch code is stored in clear"
echo "ok: QR code, 10 scratch codes, single use, stored hashed"

# 3. refuse to overwrite; reset failures; remove
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" > /dev/null 2>&1 && tg_fail "re-enrolled without --force"
for i in 1 2 3 4 5; do "$DRIVER" -r 198.51.100.4 "$T/pam.d" tg "$ME" 00000000 > /dev/null; done
code=$(oathtool --totp=sha512 --digits=8 -b "$s" -N "now + 30 seconds")
"$DRIVER" -r 198.51.100.4 "$T/pam.d" tg "$ME" "$code" > /dev/null && tg_fail "not rate limited after 5 failures"
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --reset-failures > /dev/null || tg_fail "--reset-failures"
taken=$(($(date +%s) + 30))
code=$(oathtool --totp=sha512 --digits=8 -b "$s" -N "@$taken")
"$DRIVER" -r 198.51.100.4 "$T/pam.d" tg "$ME" "$code" > /dev/null || tg_fail "still limited after --reset-failures"
# so does a new enrollment (--force), which keeps the replay guard and the used scratch codes
# (the step just taken stays taken: a scratch code gets in)
for i in 1 2 3 4 5; do "$DRIVER" -r 198.51.100.4 "$T/pam.d" tg "$ME" 00000000 > /dev/null; done
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --force --algorithm sha512 --digits 8 --no-qr > "$T/out" 2> "$T/err" ||
	tg_fail "enroll --force over a lockout"
[ -s "$T/err" ] && { cat "$T/err"; tg_fail "enroll --force over a lockout said something on stderr"; }
s=$(secret_of "$T/out")
"$DRIVER" -r 198.51.100.4 "$T/pam.d" tg "$ME" "$(grep -E '^  [1-9][0-9]{7}$' "$T/out" | head -1 | tr -d ' ')" > /dev/null ||
	tg_fail "still limited after a new enrollment"
"$DRIVER" "$T/pam.d" tg "$ME" "$(oathtool --totp=sha512 --digits=8 -b "$s" -N "@$taken")" > /dev/null &&
	tg_fail "a step taken before a new enrollment accepted after it"
code=$(oathtool --totp=sha512 --digits=8 -b "$s" -N "now + 30 seconds")
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --remove > /dev/null || tg_fail "--remove"
[ -e "$T/state/totp/$ME" ] && tg_fail "--remove left the secret"
"$DRIVER" "$T/pam.d" tg "$ME" "$code" > /dev/null && tg_fail "a removed user got in"
"$ENROLL" -c "$T/tollgate.conf" --user tg-no-such-user-xyz > /dev/null 2>&1 && tg_fail "enrolled a user that does not exist"
# a name the store refuses is said escaped: it may hold a terminal's control sequences
"$ENROLL" -c "$T/tollgate.conf" --user "$(printf 'x\033]0;owned\007')" > /dev/null 2> "$T/err" &&
	tg_fail "enrolled a name with control characters"
grep -qF 'tollgate-enroll: not a user name this store accepts: x\x1b]0;owned\x07' "$T/err" ||
	tg_fail "the refused name not shown escaped: $(od -c "$T/err" | head)"
# on the terminal of an 8-bit locale (C's is ASCII) every character that is not ASCII is an
# escape too: there the UTF-8 bytes C3 9B are a Latin-1 letter and a CSI
tg_on_pty "$T/err" C "$ENROLL" -c "$T/tollgate.conf" --user "$(printf '\303\2332J')" ||
	tg_fail "enroll on a pty"
grep -qF 'tollgate-enroll: not a user name this store accepts: \u00db2J' "$T/err" ||
	tg_fail "the refused name not escaped for an 8-bit terminal: $(od -c "$T/err" | head)"
# a mistyped name is not "cleared": no state to clear and no such user is an error, and no
# state file is made for it
"$ENROLL" -c "$T/tollgate.conf" --user tg-no-such-user-xyz --reset-failures > /dev/null 2>&1 &&
	tg_fail "--reset-failures of a user that does not exist and has no state succeeded"
[ -e "$T/state/state/tg-no-such-user-xyz" ] && tg_fail "--reset-failures made a state file for a mistyped name"
# nor is a state_dir that is not there (a volume not mounted, the wrong -c): the user's
# lockout is not "no failures", and their enrollment is not "not enrolled"
sed "s|^state_dir = .*|state_dir = $T/no-such-dir/state|" "$T/tollgate.conf" > "$T/typo.conf"
for act in --reset-failures --remove; do
	"$ENROLL" -c "$T/typo.conf" --user "$ME" $act > "$T/o" 2> "$T/err" && tg_fail "$act with a missing state_dir succeeded"
	grep -q "^tollgate-enroll: state_dir $T/no-such-dir/state does not exist (not mounted? the wrong configuration?); nothing done" "$T/err" ||
		{ cat "$T/o" "$T/err"; tg_fail "$act: a missing state_dir not said"; }
done
[ -e "$T/no-such-dir" ] && tg_fail "a missing state_dir was made"
echo "ok: --force needed, rate limit, --reset-failures, a new enrollment clears it, --remove"

# the secret and scratch codes exist only in the output: when it cannot be written (a full
# disk), the run is a failure and says what to do, not "done"
if [ -w /dev/full ]; then
	"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --no-qr > /dev/full 2> "$T/err" &&
		tg_fail "enroll reported success with its output lost"
	grep -q "cannot write the secret and scratch codes to standard output: No space left on device; $ME is enrolled with a secret nobody has seen: run again with --force" "$T/err" ||
		{ cat "$T/err"; tg_fail "a lost output not explained"; }
	"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --remove > /dev/null || tg_fail "--remove"
	# nor is anything else it prints on stdout lost in silence: a script (or man-page tooling)
	# reading --help or --version, an admin's "cleared" or "removed", is told
	"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --no-qr > /dev/null || tg_fail "enroll"
	for what in "--help" "--version" "-c $T/tollgate.conf --user $ME --reset-failures" \
		"-c $T/tollgate.conf --user $ME --remove"; do
		# shellcheck disable=SC2086
		"$ENROLL" $what > /dev/full 2> "$T/err"
		rc=$?
		[ $rc -eq 1 ] || tg_fail "$what: exit $rc with its output lost"
		grep -q "^tollgate-enroll: cannot write to standard output: No space left on device" "$T/err" ||
			{ cat "$T/err"; tg_fail "$what: a lost output not said"; }
	done
	[ -e "$T/state/totp/$ME" ] && tg_fail "--remove did not remove when its output was lost"
	echo "ok: enroll fails when its output is lost"
fi

# options given again: the last one counts (they once filled a fixed array past its end)
many=$(for i in $(seq 400); do printf -- '-a sha1 -d 6 -c %s ' "$T/tollgate.conf"; done)
# shellcheck disable=SC2086
"$ENROLL" $many -a sha256 -d 8 --user "$ME" --no-qr > "$T/out" || tg_fail "enroll with repeated options"
grep -q "algorithm=SHA256&digits=8&" "$T/out" || tg_fail "repeated options: the last one did not win"
# two different actions are a usage error and do nothing: the last one must not win
for acts in "--reset-failures --remove" "--remove --reset-failures" "--remove --import-google-authenticator $T/out"; do
	# shellcheck disable=SC2086
	"$ENROLL" -c "$T/tollgate.conf" --user "$ME" $acts > /dev/null 2>&1
	[ $? -eq 2 ] || tg_fail "$acts: not a usage error"
	[ -e "$T/state/totp/$ME" ] || tg_fail "$acts: the enrollment was removed"
done
# an option the action does not take is a usage error too, said, and nothing is done: an
# admin's --digits 8 with --remove (meant for the enrollment that follows) is not a removal
for acts in "--remove --digits 8" "--reset-failures --algorithm sha256" "--remove --force" \
	"--reset-failures --no-qr" "--import-google-authenticator $T/out --digits 8" \
	"--algorithm sha512 --import-google-authenticator $T/out" "--no-qr --import-google-authenticator $T/out"; do
	cp -p "$T/state/totp/$ME" "$T/totp-kept"
	# shellcheck disable=SC2086
	"$ENROLL" -c "$T/tollgate.conf" --user "$ME" $acts > "$T/o" 2> "$T/err"
	[ $? -eq 2 ] || tg_fail "$acts: not a usage error"
	grep -q "^tollgate-enroll: --[a-z-]* does not apply to --[a-z-]*" "$T/err" ||
		{ cat "$T/err"; tg_fail "$acts: the stray option is not named"; }
	[ -s "$T/o" ] && tg_fail "$acts: said something on stdout"
	cmp -s "$T/totp-kept" "$T/state/totp/$ME" || tg_fail "$acts: the enrollment was changed"
done
rm -f "$T/totp-kept"
"$DRIVER" "$T/pam.d" tg "$ME" 00000000 > /dev/null # a failure: state to keep
cp -p "$T/state/state/$ME" "$T/state-kept"
"$ENROLL" --remove --user "$ME" -c "$T/tollgate.conf" > /dev/null || tg_fail "--remove"
# a user with state but nothing in the store (a google-authenticator file user): --remove
# says so and keeps the replay guard and the counts
cp -p "$T/state-kept" "$T/state/state/$ME"
"$ENROLL" --remove --user "$ME" -c "$T/tollgate.conf" > /dev/null 2>&1 && tg_fail "--remove of a user not in the store succeeded"
cmp -s "$T/state-kept" "$T/state/state/$ME" || tg_fail "--remove of a user not in the store dropped the state"
rm -f "$T/state/state/$ME" "$T/state-kept"
echo "ok: repeated options, the last one wins; two actions, stray options refused; --remove keeps others' state"

# --remove takes the secret and keeps the state (the replay guard and used scratch codes hold
# if the user logs in with a google-authenticator file, or is enrolled again): also one a
# login refuses (not root's alone), which --remove does not read
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --no-qr > /dev/null || tg_fail enroll
"$DRIVER" "$T/pam.d" tg "$ME" 00000000 > /dev/null # a failure: a state
chmod 0644 "$T/state/state/$ME"
cp -p "$T/state/state/$ME" "$T/state-kept"
"$ENROLL" --remove --user "$ME" -c "$T/tollgate.conf" > "$T/o" 2> "$T/err" || { cat "$T/err"; tg_fail "--remove"; }
grep -q "^Removed the enrollment of $ME (its state, the replay guard, used scratch codes and failure counts, is kept)" "$T/o" ||
	{ cat "$T/o"; tg_fail "--remove: what it kept not said"; }
[ -e "$T/state/totp/$ME" ] && tg_fail "--remove left the secret"
cmp -s "$T/state-kept" "$T/state/state/$ME" || tg_fail "--remove changed the state"
rm -f "$T/state-kept"
# a new enrollment holds the state's lock from its check to its last write (two at once must
# not both enroll): a state it cannot lock (a login refuses it too) stops it, said, nothing done
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --no-qr > "$T/o" 2> "$T/err" && tg_fail "enrolled over a state it cannot lock"
grep -q "^tollgate-enroll: cannot lock the state $T/state/state/$ME (unsafe ownership or permissions).*; nothing done" "$T/err" ||
	{ cat "$T/err"; tg_fail "enroll: a state it cannot lock not said"; }
[ -s "$T/o" ] && tg_fail "enroll printed a secret over a state it cannot lock"
[ -e "$T/state/totp/$ME" ] && tg_fail "enroll wrote a secret over a state it cannot lock"
rm -f "$T/state/state/$ME"
# a corrupt state (both slots) fails every login closed, and --reset-failures cannot read it:
# it says what does start it afresh (a new enrollment: removing the file by hand would make
# used scratch codes good again), and that works
head -c 40000 /dev/urandom > "$T/state/state/$ME" && chmod 0600 "$T/state/state/$ME"
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --reset-failures > /dev/null 2> "$T/err" &&
	tg_fail "--reset-failures of a corrupt state succeeded"
grep -q "^tollgate-enroll: the state $T/state/state/$ME is corrupt and every login of $ME fails closed on it; enroll $ME again (--force) to start afresh" "$T/err" ||
	{ cat "$T/err"; tg_fail "--reset-failures: a corrupt state not explained"; }
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --force --no-qr > "$T/out" 2> "$T/err" || tg_fail "enroll --force over a corrupt state"
[ -s "$T/err" ] && { cat "$T/err"; tg_fail "enroll --force did not drop the corrupt state"; }
"$DRIVER" "$T/pam.d" tg "$ME" "$(oathtool --totp -b "$(secret_of "$T/out")")" > /dev/null ||
	tg_fail "no login after enrolling again over a corrupt state"
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --remove > /dev/null || tg_fail "--remove"
rm -f "$T/state/state/$ME" # the kept replay guard would refuse this step's code below
echo "ok: --remove keeps the state, a new enrollment refuses a state it cannot lock; a corrupt state is explained"

# 4. concurrency with an independent code: 16 at once, one in
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" > "$T/out" || tg_fail enroll
s=$(secret_of "$T/out")
out=$("$DRIVER" -n 16 "$T/pam.d" tg "$ME" "$(oathtool --totp -b "$s")" | tail -1)
[ "$out" = "succeeded=1 of 16" ] || tg_fail "16 logins with one code: $out"
echo "ok: 16 logins with one code: $out"

# 4b. two enrollments at once without --force: one is enrolled, the other refused, and the
# secret the one printed is the stored one (both once said "Enrolled", one secret void). Some
# rounds start on a fresh host: no state_dir, no store.key.
sed "s|^state_dir = .*|state_dir = $T/state-race|" "$T/tollgate.conf" > "$T/race.conf"
printf 'auth required %s config=%s/race.conf\n' "$MOD" "$T" > "$T/pam.d/race"
race1() { "$ENROLL" -c "$T/race.conf" --user "$ME" --no-qr > "$T/race1" 2> "$T/race1.err"; }
race2() { "$ENROLL" -c "$T/race.conf" --user "$ME" --no-qr > "$T/race2" 2> "$T/race2.err"; }
for round in $(seq 20); do
	if [ $((round % 5)) -eq 1 ]; then rm -rf "$T/state-race"; else rm -f "$T/state-race/totp/$ME" "$T/state-race/state/$ME"; fi
	tg_at_once race1 race2
	r1=$TG_RC1 r2=$TG_RC2
	case $r1$r2 in
	01) won=race1 lost=race2 ;;
	10) won=race2 lost=race1 ;;
	*) cat "$T/race1.err" "$T/race2.err"; tg_fail "round $round: two enrollments at once exited $r1 and $r2" ;;
	esac
	grep -q "^tollgate-enroll: $ME is already enrolled" "$T/$lost.err" || { cat "$T/$lost.err"; tg_fail "round $round: the refusal not said"; }
	[ -s "$T/$lost" ] && tg_fail "round $round: the refused enrollment printed: $(head -1 "$T/$lost")"
	[ -s "$T/$won.err" ] && { cat "$T/$won.err"; tg_fail "round $round: the enrollment said something on stderr"; }
	"$DRIVER" "$T/pam.d" race "$ME" "$(oathtool --totp -b "$(secret_of "$T/$won")")" > /dev/null ||
		tg_fail "round $round: the secret the enrollment printed does not log in"
done
rm -rf "$T/state-race" "$T"/race*
echo "ok: two enrollments at once: one enrolled, with the secret it printed, 20 rounds"

# 5. session: login and logout events, the session id in the PAM environment
"$ENROLL" -c "$T/tollgate.conf" --user "$ME" --force > "$T/out" || tg_fail enroll
rm -f "$T/state/state/$ME" # a fresh replay guard: 4. took this step's code
s=$(secret_of "$T/out")
"$DRIVER" -s "$T/pam.d" tg "$ME" "$(oathtool --totp -b "$s")" > "$T/sess" || tg_fail "session run"
grep -qE '^TOLLGATE_SESSION_ID=[0-9a-f]{32}$' "$T/sess" || tg_fail "no session id"
id=$(sed -n 's/^TOLLGATE_SESSION_ID=//p' "$T/sess")
[ "$(grep -l "\"session_id\":\"$id\"" "$T"/spool/events/*.json | wc -l)" -eq 2 ] || tg_fail "no login and logout events with the id"
echo "ok: session id and events"

# 5a. the login's audit session in its events: one pam_loginuid made for this login (the process
# PAM runs in has one its parent has not) is named; one shared with the parent (no pam_loginuid,
# or it wrote nothing) is not, as it would tie no recording to this login
if [ "$(id -u)" -ne 0 ] || [ "$(cat /proc/self/sessionid 2>/dev/null)" != 4294967295 ]; then
	echo "skipped: audit session events (needs root and no audit session yet, to make one as pam_loginuid does)"
else
	for shared in 0 1; do
		rm -f "$T/state/state/$ME" "$T"/spool/events/*.json
		python3 - "$shared" "$DRIVER" "$T/pam.d" "$ME" "$(oathtool --totp -b "$s")" > "$T/sess" 2> "$T/sid" <<'PYEOF' || tg_fail "audit session run (shared=$shared)"
import os, subprocess, sys
shared, drv = sys.argv[1] == "1", sys.argv[2:]
def login():  # what pam_loginuid does: a new loginuid, so a new audit session
    with open("/proc/self/loginuid", "w") as f:
        f.write("0")
if shared:
    login()  # the parent (as sshd started from a login) already has the session the child inherits
cmd = ["sh", "-c", 'cat /proc/self/sessionid >&2; echo >&2; exec "$@"', "sh", drv[0], "-s"] + drv[1:2] + ["tg"] + drv[2:]
sys.exit(subprocess.run(cmd, preexec_fn=None if shared else login).returncode)
PYEOF
		audit=$(head -n 1 "$T/sid")
		python3 - "$shared" "$audit" "$T"/spool/events/*.json <<'PYEOF' || tg_fail "audit session events (shared=$shared)"
import json, sys
shared, audit = sys.argv[1] == "1", int(sys.argv[2])
evs = [json.load(open(p)) for p in sys.argv[3:]]
sess = [e for e in evs if e["type"] in ("login", "logout")]
assert len(sess) == 2 and 0 < audit < 4294967295, (audit, evs)
for e in sess:
    if shared:
        assert "audit_session" not in e, "a shared audit session was named: %r" % e
    else:
        assert e.get("audit_session") == audit, "%s: audit session %r, not %d" % (e["type"], e.get("audit_session"), audit)
        boot = open("/proc/sys/kernel/random/boot_id").read().strip()
        assert e.get("boot_id") == boot, "%s: boot %r, not %s" % (e["type"], e.get("boot_id"), boot)
PYEOF
	done
	echo "ok: a login's own audit session is named in its events, a shared one is not"
fi

# 5b. run without root (an admin who forgot sudo): the error says so. As root, as nobody.
P=$(mktemp -d "${TMPDIR:-/tmp}/tg-test.XXXXXX")
trap 'rm -rf "$T" "$P"' EXIT
chmod 755 "$P"
mkdir -m 700 "$P/state"
printf '[pam]\nstate_dir = %s/state\n' "$P" > "$P/tollgate.conf"
chmod 644 "$P/tollgate.conf"
if [ "$(id -u)" -eq 0 ]; then
	if setpriv --reuid=nobody --regid=nogroup --clear-groups "$ENROLL" -c "$P/tollgate.conf" --user nobody --no-qr \
		> /dev/null 2> "$P/err"; then tg_fail "enrolled as nobody into root's store"; fi
else
	chmod 500 "$P/state"
	if "$ENROLL" -c "$P/tollgate.conf" --user "$ME" --no-qr > /dev/null 2> "$P/err"; then
		tg_fail "enrolled into a store it cannot write"
	fi
fi
grep -q "not root: the secret store, its key and the state under $P/state are root's, so run it as root" "$P/err" ||
	{ cat "$P/err"; tg_fail "no hint to run enroll as root"; }
echo "ok: enroll without root says to run it as root"

# 6. pamtester through libpam_wrapper (its own copy of libpam reads our service folder)
if ldd "$MOD" | grep -q libasan; then
	echo "SKIP part: pamtester cannot load a sanitizer-built module"
elif ! command -v pamtester > /dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ] && ! ldconfig -p | grep -q libpam_wrapper; then
	echo "SKIP part: pamtester or libpam_wrapper is not installed"
else
	mkdir -p "$T/pw"
	cp "$T/pam.d/tg" "$T/pw/tgsvc"
	pt() { LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pw" pamtester tgsvc "$ME" "$@"; }
	code=$(oathtool --totp -b "$s" -N "now + 30 seconds")
	echo "$code" | pt authenticate open_session close_session > "$T/pt" 2>&1 || { cat "$T/pt"; tg_fail "pamtester: good code"; }
	echo "$code" | pt authenticate > "$T/pt" 2>&1 && tg_fail "pamtester: replay accepted"
	echo "abc" | pt authenticate > "$T/pt" 2>&1 && tg_fail "pamtester: non-digits accepted"
	echo "ok: pamtester with libpam_wrapper"
	# sshd runs the auth step in another process: the session gets the method from the PAM
	# environment (pam_env plays that part here) and checks it against its own arguments. One
	# it cannot confirm (exempt_group on the auth line only, as a pam.d line naturally carries
	# it) is recorded as "none", and the log says why instead of leaving the event wrong in silence
	printf 'TOLLGATE_MFA_METHOD DEFAULT=exempt\n' > "$T/env.conf"
	printf 'session required pam_env.so readenv=0 conffile=%s/env.conf\nsession required %s config=%s/tollgate.conf\n' \
		"$T" "$MOD" "$T" > "$T/pw/tgsess"
	LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pw" PAM_WRAPPER_DEBUGLEVEL=1 \
		pamtester tgsess "$ME" open_session close_session > "$T/pt" 2>&1 || { cat "$T/pt"; tg_fail "pamtester: session"; }
	grep -q "user=$ME: the MFA method exempt that TOLLGATE_MFA_METHOD gives is not confirmed by this session line's arguments and root's data (no exempt_group here): recorded as none" "$T/pt" ||
		{ cat "$T/pt"; tg_fail "an unconfirmed MFA method recorded as none without a word"; }
	echo "ok: an MFA method the session cannot confirm is said"
	# a state_dir on a read-only file system fails closed, and the log line (libpam_wrapper
	# prints pam_syslog's lines) says why, not just "system error"
	if [ "$(id -u)" -ne 0 ] || ! mount --bind "$T/state" "$T/state" 2> /dev/null; then
		echo "SKIP part: read-only state_dir (needs root and bind mounts)"
	else
		trap 'umount "$T/state" 2> /dev/null; rm -rf "$T" "$P"' EXIT
		mount -o remount,ro,bind "$T/state" || { umount "$T/state"; tg_fail "remount read-only"; }
		code=$(oathtool --totp -b "$s" -N "now + 30 seconds")
		echo "$code" | PAM_WRAPPER_DEBUGLEVEL=1 pt authenticate > "$T/pt" 2>&1
		rc=$?
		umount "$T/state"
		[ $rc -ne 0 ] || tg_fail "a login with a read-only state_dir accepted"
		grep -q "state under $T/state is unusable, failing closed: system error: Read-only file system" "$T/pt" ||
			{ cat "$T/pt"; tg_fail "the log does not say the state_dir is read-only"; }
		echo "ok: read-only state_dir fails closed, says why"
	fi
fi
echo "PASS"
