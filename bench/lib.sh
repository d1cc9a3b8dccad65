# Helpers shared by the benchmark scripts (sourced).
# row BENCH CASE METRIC OURS PEER PEERVALUE: print one result row with ours/peer.
row() {
	awk -v b="$1" -v c="$2" -v m="$3" -v o="$4" -v p="$5" -v v="$6" 'BEGIN {
		r = (v + 0 != 0) ? sprintf("%.3f", o / v) : "-";
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b, c, m, o, p, v, r }'
}
# median of numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
# p-th percentile (0-100) of numbers on stdin
percentile() { sort -g | awk -v p="$1" '{ a[NR] = $1 } END { if (NR) { i = int((NR - 1) * p / 100) + 1; print a[i] } }'; }
