#!/bin/sh
# PAM under random responses: pam_tollgate.so, loaded by the real libpam from a
# private service folder, answers 100,000 logins of an enrolled user one after
# the other, each with a random response that is not a valid code (empty, wrong
# lengths, wrong codes, binary, non-UTF-8, the valid code with whitespace or cut,
# up to 64 KiB, no answer). Every one must be denied for the reason that fits it,
# without a crash; a part runs under valgrind; the right code still gets in afterwards.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/reliability/lib.sh"

N=$(rel_scale 10000 100000)
VG_N=$(rel_scale 300 2000)    # of them under valgrind (a separate run)
RESET_EVERY=500               # state removed this often: the limiter (max_failures=1000) never refuses unread
SEED=${TG_PAM_SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}

tg_need_cmd oathtool
B=$TG_TOP_BUILDDIR
MOD=$B/pam_module/.libs/pam_tollgate.so
ENROLL=$B/pam_module/tollgate-enroll
STRESS=$B/tests/reliability/pam_stress
DRIVER=$B/tests/pam_driver
for f in "$MOD" "$ENROLL" "$STRESS" "$DRIVER"; do
	[ -x "$f" ] || [ -f "$f" ] || tg_fail "not built: $f (run make first)"
done

# A tmpfs when there is one: the events and state writes are fsync'd, and what
# is measured here is the module, not the disk.
T=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then T=$(TMPDIR=/dev/shm tg_mktemp_dir 2>/dev/null) || T=; fi
[ -n "$T" ] || T=$(tg_mktemp_dir) || tg_fail "mktemp"
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP PIPE
ME=$(id -un)

rel_pam_setup "$T"
secret=$(sed -n 's/^Secret (base32): //p' "$T/enroll")
grep -E '^  [1-9][0-9]{7}$' "$T/enroll" | tr -d ' ' >"$T/scratch"
if [ -z "$secret" ] || [ "$(wc -l <"$T/scratch")" -ne 10 ]; then tg_fail "no secret or scratch codes from tollgate-enroll"; fi

# flood COUNT [WRAPPER...]: one pam_stress random run; its output in $T/flood.out
PRELOAD=
flood() {
	n=$1
	shift
	"$@" "$STRESS" random -n "$n" ${PRELOAD:+-P "$PRELOAD"} -S "$SEED" -R "$RESET_EVERY" \
		-D "$T/state/state/$ME" -E "$T/spool/events" -x "$T/scratch" -k "$secret" \
		"$T/pam.d" tg "$ME" >"$T/flood.out" 2>&1
}

# the driver's idea of the valid code is oathtool's (else the variants of it would be mere noise)
at=1000000000
[ "$("$STRESS" random -T $at -k "$secret" x x x)" = "$(oathtool --totp -N @$at -b "$secret")" ] ||
	tg_fail "pam_stress and oathtool disagree on the code at $at"

# 1. the flood
echo "flood: $N random responses for $ME, seed $SEED"
flood "$N"
rc=$?
cat "$T/flood.out"
[ $rc -gt 128 ] && tg_fail "the driver crashed (signal $((rc - 128))) with pam_tollgate.so loaded; seed $SEED"
[ $rc -eq 0 ] || tg_fail "not every random response was denied as it should be (exit $rc); seed $SEED"
line=$(grep '^responses=' "$T/flood.out")
denied=$(echo "$line" | sed 's/.*denied=\([0-9]*\).*/\1/')
rate=$(echo "$line" | sed 's/.*rate=\([0-9]*\).*/\1/')
secs=$(echo "$line" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
[ "$denied" = "$N" ] || tg_fail "denied $denied of $N"
grep -q '^events_fit=yes' "$T/flood.out" || tg_fail "the module's events do not fit the responses"
nocode=$(sed -n 's/^event mfa_failure\/no_code: //p' "$T/flood.out")
convfail=$(sed -n 's/^event mfa_failure\/conversation_failed: //p' "$T/flood.out")
badcode=$(sed -n 's/^event mfa_failure\/bad_code: //p' "$T/flood.out")

# 2. the module still works: the right code (from oathtool) gets in at once, its replay does not
code=$(oathtool --totp -b "$secret")
"$DRIVER" "$T/pam.d" tg "$ME" "$code" >"$T/after" 2>&1 || { cat "$T/after"; tg_fail "the right code was refused after the flood"; }
"$DRIVER" "$T/pam.d" tg "$ME" "$code" >"$T/after" 2>&1 && tg_fail "the right code was accepted twice after the flood"
echo "ok: after the flood the right code got in, its replay did not"

# 3. a part under valgrind (not with a sanitizer build, which checks every run anyway)
vg="valgrind was not installed"
if ldd "$MOD" | grep -q libasan; then
	vg="the module is built with AddressSanitizer, so the whole flood ran under it"
elif command -v valgrind >/dev/null 2>&1; then
	echo "valgrind: $VG_N random responses"
	rm -f "$T/spool/events"/*.json # the two logins of part 2 left theirs
	# -P: the module stays loaded, so a leak in it keeps its symbols (and it is 10 times faster)
	PRELOAD=$MOD
	flood "$VG_N" valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite
	rc=$?
	cat "$T/flood.out"
	[ $rc -eq 99 ] && tg_fail "valgrind found errors in $VG_N random responses; seed $SEED"
	[ $rc -eq 0 ] || tg_fail "under valgrind: exit $rc; seed $SEED"
	vg="$VG_N of them again under valgrind memcheck (leak check included): 0 errors"
fi

rel_figure "$N random responses (12 kinds: empty, wrong lengths, wrong codes, printable, binary, non-UTF-8 digit look-alikes, the valid code with whitespace, cut or extended, 201 bytes to 64 KiB, format strings, no answer, a failed conversation) went through libpam to pam_tollgate.so: $denied denied, 0 accepted, 0 crashes, each for the reason that fits it ($badcode bad_code, $nocode no_code, $convfail conversation_failed), $rate responses/s ($secs s, one process; seed $SEED)."
rel_figure "Afterwards the right code from oathtool got in on the first try and its replay was refused, so the module still works after the flood; $vg."
echo PASS
