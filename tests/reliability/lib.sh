# Shared by the shell scripts of tests/reliability/ (sourced after tests/lib.sh).
#   rel_scale QUICK FULL   prints QUICK when TG_RELIABILITY_SCALE=quick, else FULL
#   rel_figure TEXT...     one result line for doc/reliability.md
# A script exits 0 when the property held, 1 when it did not, 77 to skip
# (after "SKIP: why").
rel_scale() {
	if [ "${TG_RELIABILITY_SCALE:-full}" = quick ]; then echo "$1"; else echo "$2"; fi
}

rel_figure() {
	echo "figure: $*"
}

# The PAM scripts' setup in folder $1: a tollgate.conf with the limiter raised
# out of the way (what they measure is not a refusal for that reason), plus
# any further [pam] lines given, a private PAM service "tg" loading $MOD, and
# the running user enrolled ($ENROLL's output in $1/enroll).
rel_pam_setup() {
	d=$1
	shift
	{
		printf '[general]\nspool_dir = %s/spool\n[pam]\nstate_dir = %s/state\n' "$d" "$d"
		printf 'fail_delay_ms = 0\nmax_failures = 1000\nmax_failures_user = 100000\n'
		for line in "$@"; do echo "$line"; done
	} >"$d/tollgate.conf"
	mkdir -p "$d/pam.d" "$d/spool/events"
	printf 'auth required %s config=%s/tollgate.conf\n' "$MOD" "$d" >"$d/pam.d/tg"
	"$ENROLL" -c "$d/tollgate.conf" --user "$(id -un)" --no-qr >"$d/enroll" || tg_fail "tollgate-enroll"
}
