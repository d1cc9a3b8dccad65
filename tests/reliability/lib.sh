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
