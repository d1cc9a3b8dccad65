#!/bin/sh
# Two tollgate-keygen runs at once, neither with --force: one makes the key
# pair, the other refuses (the pair exists), and the pair on disk is the one
# the winner printed, both halves of it. Before, both could find no key and
# write: the last one won, or the secret key and the public key came from two
# different pairs (every recording then failed to verify against the host key).
. "${TG_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
set -u

K="$TG_TOP_BUILDDIR/session_recorder/tollgate-keygen"
G="$TG_TOP_BUILDDIR/tests/tg-rec-gen"
[ -x "$K" ] && [ -x "$G" ] || tg_fail "build tollgate-keygen and tests/tg-rec-gen first"
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
printf '[recorder]\nsigning_key = %s/keys/signing.key\npublic_key = %s/keys/signing.pub\n' "$T" "$T" >"$T/conf"
chmod 600 "$T/conf"
owner=
[ "$(id -u)" -eq 0 ] && owner="--owner root"
run_a() { "$K" -c "$T/conf" $owner >"$T/a.out" 2>"$T/a.err"; }
run_b() { "$K" -c "$T/conf" $owner >"$T/b.out" 2>"$T/b.err"; }
for round in $(seq 20); do
	rm -rf "$T/keys"
	tg_at_once run_a run_b
	ra=$TG_RC1 rb=$TG_RC2
	case $ra$rb in
	01) won=a lost=b ;;
	10) won=b lost=a ;;
	*) cat "$T/a.err" "$T/b.err"; tg_fail "round $round: two runs at once exited $ra and $rb" ;;
	esac
	grep -q "refusing to replace it" "$T/$lost.err" || { cat "$T/$lost.err"; tg_fail "round $round: the refusal is not said"; }
	grep -q '^key id: ' "$T/$won.out" || tg_fail "round $round: no key id printed"
	# the pair signs what verifies under the public key, and it is the key the winner printed
	printf 'out 0 hello\r\nseal 1000 {}\n' | "$G" script "$T/keys/signing.key" "$T/r.tgr" >/dev/null 2>&1 ||
		tg_fail "round $round: the secret key cannot sign"
	"$TG_TOP_BUILDDIR/tests/tg-rec-dump" --no-data "$T/keys/signing.pub" "$T/r.tgr" >"$T/dump" 2>&1 ||
		{ cat "$T/dump"; tg_fail "round $round: the pair on disk is not one pair"; }
	tail -n 1 "$T/dump" | grep -q '"sealed"' || { tail -n 1 "$T/dump"; tg_fail "round $round: not verified as sealed"; }
	grep -qF "$(cat "$T/keys/signing.pub")" "$T/$won.out" ||
		tg_fail "round $round: the public key on disk is not the one the winner printed"
done
echo "ok: 20 rounds of two keygens at once: one pair, the winner's, and one refusal"
