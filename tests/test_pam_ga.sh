#!/bin/sh
# google-authenticator compatibility with a real user: the file is read with
# the user's rights, every check on it holds, its state goes back atomically
# (owner and mode kept), and tollgate-enroll imports it into the store.
# Needs root (it creates, and removes, a user).
. "${TG_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

tg_need_root "creates a test user and files owned by it"
tg_need_cmd oathtool useradd userdel base32
B=$TG_TOP_BUILDDIR
MOD=$B/pam_module/.libs/pam_tollgate.so
ENROLL=$B/pam_module/tollgate-enroll
DRIVER=$B/tests/pam_driver
T=$(tg_mktemp_dir)
U=tgga$$
# useradd and userdel fail while a parallel test holds /etc/passwd.lock: retry, bounded
retry() { i=0; until "$@" > /dev/null 2>&1; do i=$((i + 1)); [ $i -lt 50 ] || return 1; sleep 0.2; done; }
cleanup() { id "$U" > /dev/null 2>&1 && retry userdel "$U"; rm -rf "$T"; }
trap cleanup EXIT
chmod 0711 "$T"
retry useradd -M -d "$T/home" -s /usr/sbin/nologin "$U" || tg_fail "useradd"
mkdir -m 0700 "$T/home" && chown "$U:" "$T/home"
GA=$T/home/.google_authenticator

cat > "$T/tollgate.conf" <<CONF
[general]
spool_dir = $T/spool
[pam]
state_dir = $T/state
fail_delay_ms = 0
max_failures = 1000
max_failures_user = 1000
CONF
mkdir -p "$T/pam.d"
mkdir -m 0700 "$T/state" # made by the package: the module never makes state_dir
printf 'auth required %s config=%s/tollgate.conf secret=~/.google_authenticator\n' "$MOD" "$T" > "$T/pam.d/ga"
printf 'auth required %s config=%s/tollgate.conf secret=%s/byname/${USER}\n' "$MOD" "$T" "$T" > "$T/pam.d/byname"
printf 'auth required %s config=%s/tollgate.conf\n' "$MOD" "$T" > "$T/pam.d/store"

S=$(head -c 20 /dev/urandom | base32 | tr -d '=')
write_ga() { # secret, then file mode
	printf '%s\n" RATE_LIMIT 3 30 1700000000\n" WINDOW_SIZE 3\n" DISALLOW_REUSE\n" TOTP_AUTH\n11223344\n55667788\n' "$1" > "$GA"
	chown "$U:" "$GA"
	chmod "${2:-0600}" "$GA"
}
auth() { "$DRIVER" "$T/pam.d" "${SVC:-ga}" "$U" "$@" > /dev/null; }
code() { oathtool --totp -b "$S" -N "now + ${1:-0} seconds"; }

write_ga "$S"
# one code, sent twice: a second oathtool call could fall into the next step
c=$(code)
auth "$c" || tg_fail "good code refused"
auth "$c" && tg_fail "replay accepted"
grep -qE '^" DISALLOW_REUSE [0-9]+$' "$GA" || tg_fail "DISALLOW_REUSE not written back"
[ "$(stat -c '%U %a' "$GA")" = "$U 600" ] || tg_fail "write-back changed owner or mode: $(stat -c '%U %a' "$GA")"
auth 11223344 || tg_fail "scratch code refused"
grep -q 11223344 "$GA" && tg_fail "used scratch code left in the file"
auth 11223344 && tg_fail "scratch code accepted twice"
ls -a "$T/home" | grep -q '^\.tmp\.' && tg_fail "temp file left behind"
echo "ok: codes, replay, scratch codes, atomic write-back as the user"

# the user restoring the file does not bring a used scratch code back (root's state remembers)
write_ga "$S"
auth 11223344 && tg_fail "restored scratch code accepted"
echo "ok: used scratch codes remembered in root's state"

# the secret in groups of four, in lower case, with a trailing blank, as some tools write it:
# google-authenticator's module takes it, so must we
write_ga "$(echo "$S" | tr A-Z a-z | sed 's/..../& /g')"
rm -f "$T/state/state/$U"
auth "$(code)" || tg_fail "a secret written in groups refused"
echo "ok: a secret in groups"

# a file edited by hand: blank lines, a scratch code with a trailing blank, CRLF; the used code's
# own line is dropped
printf '%s\r\n\r\n" TOTP_AUTH \r\n11223344 \r\n55667788\r\n\r\n' "$S" > "$GA"
chown "$U:" "$GA" && chmod 0600 "$GA"
rm -f "$T/state/state/$U"
auth "$(code)" || tg_fail "a file with blank lines refused"
auth 55667788 || tg_fail "a scratch code after one with a trailing blank refused"
grep -q 55667788 "$GA" && tg_fail "used scratch code left in the file"
grep -q 11223344 "$GA" || tg_fail "the wrong line dropped from the file"
echo "ok: blank lines, trailing blanks"

# RATE_LIMIT as google-authenticator's module takes it (up to 3600 s), STEP_SIZE after a tab
printf '%s\n" RATE_LIMIT 3 3600 1700000000\n" STEP_SIZE\t60\n" TOTP_AUTH\n' "$S" > "$GA"
chown "$U:" "$GA" && chmod 0600 "$GA"
rm -f "$T/state/state/$U"
auth "$(oathtool --totp -b "$S" --time-step-size=60s)" || tg_fail "RATE_LIMIT 3 3600, STEP_SIZE<tab>60 refused"
rm -f "$T/state/state/$U"
echo "ok: RATE_LIMIT up to 3600 s, tabs"

write_ga "$S" 0640
auth "$(code 30)" && tg_fail "group-readable file accepted"
write_ga "$S" 0604
auth "$(code 30)" && tg_fail "world-readable file accepted"
write_ga "$S" 0700
auth "$(code 30)" && tg_fail "executable file accepted (0600 or stricter only)"
write_ga "$S" 4600
auth "$(code 30)" && tg_fail "set-uid file accepted"
write_ga "$S"
chown root: "$GA"
auth "$(code 30)" && tg_fail "file owned by root accepted"
write_ga "$S"
mv "$GA" "$T/home/real"
ln -s "$T/home/real" "$GA"
auth "$(code 30)" && tg_fail "symlink accepted"
rm -f "$GA" "$T/home/real"
write_ga "$S"
head -c 70000 /dev/zero | tr '\0' '#' >> "$GA"
auth "$(code 30)" && tg_fail "file over 64 KiB accepted"
write_ga "$(head -c 8 /dev/urandom | base32 | tr -d '=')"
auth "$(code 30)" && tg_fail "8-byte secret accepted"
write_ga "$S"
sed -i 's/^" TOTP_AUTH$/" HOTP_COUNTER 1/' "$GA"
auth "$(code 30)" && tg_fail "HOTP file accepted"
out=$("$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" 2>&1) &&
	tg_fail "HOTP file imported"
case $out in *HOTP*) ;; *) tg_fail "HOTP file refused without saying why: $out" ;; esac
echo "ok: owner, mode, symlink, size, short secret, HOTP refused"
# WINDOW_SIZE as google-authenticator's module takes it (1..100): wider than the admin's
# window, so the admin's holds, but the file is good
write_ga "$S"
sed -i 's/^" WINDOW_SIZE 3$/" WINDOW_SIZE 30/' "$GA"
auth "$(code 30)" || tg_fail "a file with WINDOW_SIZE 30 refused"
auth "$(code 90)" && tg_fail "WINDOW_SIZE 30 widened the admin's window"
rm -f "$T/state/state/$U" # a fresh replay guard for the steps used below
echo "ok: WINDOW_SIZE up to 100"

# read with the user's rights: a file the user cannot reach is refused even though root could read it
write_ga "$S"
chmod 0700 "$T/home" && chown root: "$T/home"
auth "$(code 30)" && tg_fail "file read with root's rights"
chown "$U:" "$T/home"
auth "$(code 30)" || tg_fail "good file refused"
echo "ok: read with the user's rights"

# ${USER} in the path
mkdir -m 0755 "$T/byname"
write_ga "$S"
cp -p "$GA" "$T/byname/$U"
rm -f "$T/state/state/$U" # a fresh replay guard: the steps within the window are used up
SVC=byname auth "$(code)" || tg_fail "\${USER} path"
echo "ok: \${USER} expansion"

# an enrollment in the store while the user still logs in with the file (an admin getting
# ready to switch) keeps root's state: its replay guard and used scratch codes are what refuse
# a code used once, also one the user puts back into the file
c=$(code 30)
SVC=byname auth "$c" || tg_fail "good code refused"
SVC=byname auth 11223344 || tg_fail "scratch code refused"
cp -p "$GA" "$T/byname/$U"
SVC=byname auth 11223344 && tg_fail "restored scratch code accepted"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --no-qr > /dev/null 2> "$T/err" || { cat "$T/err"; tg_fail "enroll"; }
[ -s "$T/err" ] && { cat "$T/err"; tg_fail "enroll said something on stderr"; }
SVC=byname auth 11223344 && tg_fail "a used scratch code accepted again after an enrollment"
SVC=byname auth "$c" && tg_fail "a replay accepted after an enrollment"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --no-qr --force > /dev/null || tg_fail "enroll --force"
SVC=byname auth 11223344 && tg_fail "a used scratch code accepted again after an enrollment with --force"
SVC=byname auth "$c" && tg_fail "a replay accepted after an enrollment with --force"
SVC=byname auth 55667788 || tg_fail "an unused scratch code refused after an enrollment"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --remove > /dev/null || tg_fail "--remove"
# and so does the removal of the enrollment: the user still logs in with the file, put back
# with both scratch codes and no step of its own
cp -p "$GA" "$T/byname/$U"
SVC=byname auth 11223344 && tg_fail "a used scratch code accepted again after --remove"
SVC=byname auth "$c" && tg_fail "a replay accepted after --remove"
SVC=byname auth 55667788 && tg_fail "the other used scratch code accepted again after --remove"
echo "ok: an enrollment, and its removal, keep the replay guard and the used scratch codes"

# nullok: no file in an existing folder is "not enrolled" (let in); no folder at all (a home
# not mounted) fails closed
mkdir -m 0755 "$T/homes"
printf 'auth required %s config=%s/tollgate.conf nullok secret=%s/homes/${USER}/.google_authenticator\n' \
	"$MOD" "$T" "$T" > "$T/pam.d/nullok"
SVC=nullok auth 123456 && tg_fail "nullok let a user in whose home folder is missing"
mkdir -m 0755 "$T/homes/$U" && chown "$U:" "$T/homes/$U"
SVC=nullok auth 123456 || tg_fail "nullok refused a user with no file in an existing home"
rm -rf "$T/homes"
echo "ok: nullok: a missing file is 'not enrolled', a missing home fails closed"

# import into the store; the remaining scratch code moves with it
# 11223344 used in GA mode, then the file restored with it: the import keeps it used
write_ga "$S"
rm -f "$T/state/state/$U" # a fresh state: the scratch codes were used above
auth 11223344 || tg_fail "scratch code refused"
write_ga "$S"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" > /dev/null || tg_fail "import"
SVC=store auth 11223344 && tg_fail "a scratch code used before the import accepted after it"
rm -f "$T/state/state/$U"
SVC=store auth "$(code)" || tg_fail "imported secret refused"
SVC=store auth 55667788 || tg_fail "imported scratch code refused"
chmod 0644 "$GA"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" --force > /dev/null 2>&1 &&
	tg_fail "imported a world-readable file"
echo "ok: --import-google-authenticator"

# an import and an enrollment at once, neither with --force: one of them is done, and the store
# holds the secret it stands for (once both were, and the one that lost said it was done)
write_ga "$S"
enroll_new() { "$ENROLL" -c "$T/tollgate.conf" --user "$U" --no-qr > "$T/enroll.out" 2>&1; }
import_ga() { "$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" > "$T/import.out" 2>&1; }
for round in $(seq 10); do
	rm -f "$T/state/totp/$U" "$T/state/state/$U"
	tg_at_once enroll_new import_ga
	r1=$TG_RC1 r2=$TG_RC2
	case $r1$r2 in
	01) s=$(sed -n 's/^Secret (base32): //p' "$T/enroll.out") ;;
	10) s=$S ;;
	*) cat "$T/enroll.out" "$T/import.out"; tg_fail "round $round: an enrollment and an import at once exited $r1 and $r2" ;;
	esac
	rm -f "$T/state/state/$U" # a fresh replay guard for this round's code
	SVC=store auth "$(oathtool --totp -b "$s")" || tg_fail "round $round: the store does not hold the secret of the run that was done"
done
rm -f "$T/state/state/$U" "$T/enroll.out" "$T/import.out"
echo "ok: an import and an enrollment at once: one is done, 10 rounds"

# a file the import cannot read says why: it is read with the user's rights, so a copy in a
# folder only root reaches is refused for that, and a missing folder is not a "configuration error"
mkdir -m 0700 "$T/rootonly"
cp -p "$GA" "$T/rootonly/ga" && chmod 0600 "$T/rootonly/ga"
out=$("$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$T/rootonly/ga" --force 2>&1) &&
	tg_fail "imported a file the user cannot reach"
case $out in *"with $U's rights: Permission denied"*) ;; *) tg_fail "an unreadable file refused without saying why: $out" ;; esac
out=$("$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$T/no-such-folder/ga" --force 2>&1) &&
	tg_fail "imported a file from a folder that does not exist"
case $out in *"no such file or folder"*) ;; *) tg_fail "a missing folder refused without saying so: $out" ;; esac
rm -rf "$T/rootonly"
echo "ok: an import that cannot read the file says why"

# a step google-authenticator's module took (its DISALLOW_REUSE list) is refused here too, and
# an import carries it into root's replay guard: switching modules lets no code in twice
st=$(($(date +%s) / 30))
c=$(oathtool --totp -b "$S" -N "@$((st * 30))")
c1=$(oathtool --totp -b "$S" -N "@$(((st + 1) * 30))")
printf '%s\n" DISALLOW_REUSE %s %s\n" TOTP_AUTH\n' "$S" $((st - 1)) "$st" > "$GA"
chown "$U:" "$GA" && chmod 0600 "$GA"
rm -f "$T/state/state/$U"
auth "$c" && tg_fail "a code google-authenticator's module took accepted"
auth "$c1" || tg_fail "the next step's code refused"
printf '%s\n" DISALLOW_REUSE %s\n" TOTP_AUTH\n' "$S" "$st" > "$GA"
rm -f "$T/state/state/$U"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" --force > /dev/null ||
	tg_fail "import with DISALLOW_REUSE"
SVC=store auth "$c" && tg_fail "after the import, a code google-authenticator's module took accepted"
SVC=store auth "$c1" || tg_fail "after the import, the next step's code refused"
# a step ahead of the clock, within the window (google-authenticator's module took the code of a
# phone running a little ahead), is carried over too: that code is still good here for a while;
# one far ahead (a file edited by hand) is not, or every code would be refused until then
now_st=$(($(date +%s) / 30))
ahead=$(oathtool --totp -b "$S" -N "@$(((now_st + 1) * 30))")
printf '%s\n" DISALLOW_REUSE %s\n" TOTP_AUTH\n' "$S" $((now_st + 1)) > "$GA"
rm -f "$T/state/state/$U"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" --force > /dev/null ||
	tg_fail "import with a DISALLOW_REUSE step ahead of the clock"
SVC=store auth "$ahead" && tg_fail "after the import, a code google-authenticator's module took a step ahead accepted"
printf '%s\n" DISALLOW_REUSE %s\n" TOTP_AUTH\n' "$S" $((now_st + 500)) > "$GA"
rm -f "$T/state/state/$U"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" --force > /dev/null ||
	tg_fail "import with a DISALLOW_REUSE step far ahead"
SVC=store auth "$(code)" || tg_fail "after importing a step far ahead, the current code refused"
echo "ok: DISALLOW_REUSE steps refused, and carried over by the import"

# google-authenticator's module learns a device's clock error (TIME_SKEW, in steps) and moves
# every code by it; the store keeps no such correction: the import says that device's codes
# will be refused, not just "Imported"
printf '%s\n" TIME_SKEW 6\n" TOTP_AUTH\n' "$S" > "$GA"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" --force > /dev/null 2> "$T/err" ||
	tg_fail "import with TIME_SKEW"
grep -q "^tollgate-enroll: warning: $GA has TIME_SKEW 6: google-authenticator's module moved $U's codes by 6 steps (180 s) for a device clock that is off; the store does not: set that device's clock right, or its codes will be refused" "$T/err" ||
	{ cat "$T/err"; tg_fail "an import dropping TIME_SKEW did not say so"; }
printf '%s\n" TOTP_AUTH\n' "$S" > "$GA"
"$ENROLL" -c "$T/tollgate.conf" --user "$U" --import-google-authenticator "$GA" --force > /dev/null 2> "$T/err" ||
	tg_fail "import"
[ -s "$T/err" ] && { cat "$T/err"; tg_fail "an import without TIME_SKEW warned"; }
echo "ok: an import says when it drops google-authenticator's TIME_SKEW"
# with secret= the module reads such a file itself: a code refused there says in the log that the
# file's correction is not applied (libpam_wrapper prints pam_syslog's lines), not just bad_code
if ldd "$MOD" | grep -q libasan || ! command -v pamtester > /dev/null ||
	! ldconfig -p | grep -q libpam_wrapper; then
	echo "SKIP part: pamtester, libpam_wrapper or a build without sanitizers needed"
else
	printf '%s\n" TIME_SKEW 6\n" TOTP_AUTH\n' "$S" > "$GA"
	chown "$U:" "$GA" && chmod 0600 "$GA"
	bad=$(code | tr 0-9 1-90)
	echo "$bad" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		PAM_WRAPPER_DEBUGLEVEL=1 pamtester ga "$U" authenticate > "$T/pt" 2>&1 && tg_fail "a bad code accepted"
	grep -q "reason=bad_code: the file's TIME_SKEW 6 (google-authenticator's correction for a device clock that is off) is not applied" "$T/pt" ||
		{ cat "$T/pt"; tg_fail "a code refused with TIME_SKEW in the file: the log does not say it is not applied"; }
	echo "ok: a refused code says the file's TIME_SKEW is not applied"
fi

# an import makes state_dir as an enrollment does, DISALLOW_REUSE or not (the replay guard went
# in first, and failed with "configuration error" on a machine where no state_dir was made yet)
sed "s|^state_dir = .*|state_dir = $T/fresh/state|" "$T/tollgate.conf" > "$T/fresh.conf"
printf '%s\n" DISALLOW_REUSE %s\n" TOTP_AUTH\n' "$S" "$st" > "$GA"
chown "$U:" "$GA" && chmod 0600 "$GA"
"$ENROLL" -c "$T/fresh.conf" --user "$U" --import-google-authenticator "$GA" > /dev/null ||
	tg_fail "import with DISALLOW_REUSE into a state_dir not made yet"
[ "$(stat -c '%U %a' "$T/fresh/state")" = "root 700" ] || tg_fail "state_dir made as $(stat -c '%U %a' "$T/fresh/state")"
printf 'auth required %s config=%s/fresh.conf\n' "$MOD" "$T" > "$T/pam.d/fresh"
SVC=fresh auth "$c" && tg_fail "after an import into a new state_dir, a code google-authenticator's module took accepted"
SVC=fresh auth "$c1" || tg_fail "after an import into a new state_dir, the next step's code refused"
echo "ok: an import makes state_dir"
echo PASS
