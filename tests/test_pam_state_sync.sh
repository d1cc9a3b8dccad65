#!/bin/sh
# A user's state file is made by the first lock of it (tgp_state_lock: an enrollment, or a
# first login), and holds the replay guard that login syncs: its entry in state/ must be
# synced too, or a crash may take the file, and the accepted step with it. strace must show,
# after the open that made the file (with O_CREAT), an fsync of a descriptor opened on state/;
# and a later lock (the common login) one open of the file and no fsync of the folder.
. "${TG_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
tg_need_cmd strace python3 oathtool
B=$TG_TOP_BUILDDIR
MOD=$B/pam_module/.libs/pam_tollgate.so
ENROLL=$B/pam_module/tollgate-enroll
DRIVER=$B/tests/pam_driver
[ -f "$MOD" ] || tg_fail "module not built: $MOD"
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
ME=$(id -un)
printf '[general]\nspool_dir = %s/spool\n[pam]\nstate_dir = %s/state\nfail_delay_ms = 0\n' "$T" "$T" > "$T/tollgate.conf"
mkdir -p "$T/pam.d" "$T/spool/events"
printf 'auth required %s config=%s/tollgate.conf\n' "$MOD" "$T" > "$T/pam.d/tg"

# One reading of an strace of a login: of the state file of $ME, how many opens made it (with
# O_CREAT), how many opened it, whether state/ was synced after it was made (an fsync of a
# descriptor opened on the folder, before its close), and how many syncs hit the file.
cat > "$T/trace.py" <<'PY'
import re, sys
trace, folder, user, want = sys.argv[1:5]
path = folder + "/" + user
made = opens = syncs = 0
synced = False
dirfds, fds = set(), set()  # (pid, fd) opened on the folder / the file, not closed yet
for l in open(trace).read().splitlines():
    pid = l.split(" ", 1)[0]
    m = re.search(r'openat\(AT_FDCWD, "%s", ([^)]*)\) = (\d+)' % re.escape(path), l)
    if m:
        opens += 1
        if "O_CREAT" in m.group(1):
            made += 1
        fds.add((pid, m.group(2)))
        continue
    m = re.search(r'openat\(AT_FDCWD, "%s", [^)]*O_DIRECTORY[^)]*\) = (\d+)' % re.escape(folder), l)
    if m:
        dirfds.add((pid, m.group(1)))
        continue
    m = re.search(r'close\((\d+)\)', l)
    if m:
        dirfds.discard((pid, m.group(1)))
        fds.discard((pid, m.group(1)))
        continue
    m = re.search(r'fsync\((\d+)\) += 0', l)
    if m and (pid, m.group(1)) in dirfds:
        if made == 0:
            raise SystemExit("state/ synced before the file was made")
        synced = True
    m = re.search(r'f(?:data)?sync\((\d+)\)', l)
    if m and (pid, m.group(1)) in fds:
        syncs += 1
if want == "syncs":
    print(syncs)
elif want == "new":
    if made != 1:
        raise SystemExit("the state file was not made once (%d opens with O_CREAT)" % made)
    if not synced:
        raise SystemExit("the state file was made, but state/ was not synced")
    print("ok:", want)
else:
    if synced:
        raise SystemExit("an existing state file, and state/ synced")
    if opens != 1:
        raise SystemExit("an existing state file opened %d times, not once" % opens)
    print("ok:", want)
PY
# check TRACE new|old: the state file of $ME made and its folder synced, or opened once as it is
check() { python3 "$T/trace.py" "$1" "$T/state/state" "$ME" "$2"; }
trace() { out=$1; shift; strace -f -qq -o "$T/$out" -e trace=openat,close,fsync,fdatasync "$@"; }

# an enrollment's lock makes the user's first state
trace enroll.trace "$ENROLL" -c "$T/tollgate.conf" --user "$ME" --no-qr > "$T/out" || tg_fail "enroll"
check "$T/enroll.trace" new || tg_fail "an enrollment made a state file it did not sync"
s=$(sed -n 's/^Secret (base32): //p' "$T/out")
# so does a first login (the state made by hand away, as with a user imported long ago)
rm -f "$T/state/state/$ME"
trace login1.trace "$DRIVER" "$T/pam.d" tg "$ME" "$(oathtool --totp -b "$s")" > /dev/null || tg_fail "first login"
check "$T/login1.trace" new || tg_fail "a first login made a state file it did not sync"
# the common login: the file is there, one open, no folder sync
trace login2.trace "$DRIVER" "$T/pam.d" tg "$ME" "$(grep -E '^  [1-9][0-9]{7}$' "$T/out" | head -1 | tr -d ' ')" > /dev/null ||
	tg_fail "second login"
check "$T/login2.trace" old || tg_fail "a login of a user with a state paid more than one open"
# a folder sync that fails: the login fails closed, and the file it made goes, so that the
# next login makes it again (and syncs it) rather than trust a name a crash may take
rm -f "$T/state/state/$ME"
strace -f -qq -o /dev/null -P "$T/state/state" -e trace=fsync -e inject=fsync:error=EIO \
	"$DRIVER" "$T/pam.d" tg "$ME" "$(grep -E '^  [1-9][0-9]{7}$' "$T/out" | sed -n 2p | tr -d ' ')" > /dev/null &&
	tg_fail "a login whose state/ could not be synced succeeded"
[ -e "$T/state/state/$ME" ] && tg_fail "a state file whose folder could not be synced was left"
trace login3.trace "$DRIVER" "$T/pam.d" tg "$ME" "$(grep -E '^  [1-9][0-9]{7}$' "$T/out" | sed -n 2p | tr -d ' ')" > /dev/null ||
	tg_fail "a login after a failed folder sync"
check "$T/login3.trace" new || tg_fail "a login after a failed folder sync did not make and sync the file"

# The syncs of the state file in the normal run: a success one (its replay guard), a bad code
# none, however many follow a success (they go over one another in the slot the success did
# not take, which needs no sync first); and a file whose mark lags (a crash took the last) or
# is gone (an earlier version's) one first, before its older slot is written over.
state_syncs() { python3 "$T/trace.py" "$1" "$T/state/state" "$ME" syncs; }
scratch() { grep -E '^  [1-9][0-9]{7}$' "$T/out" | sed -n "${1}p" | tr -d ' '; }
trace good.trace "$DRIVER" "$T/pam.d" tg "$ME" "$(scratch 3)" > /dev/null || tg_fail "a login with a scratch code"
[ "$(state_syncs "$T/good.trace")" = 1 ] || tg_fail "a success synced the state $(state_syncs "$T/good.trace") times, not once"
for i in 1 2; do
	trace bad$i.trace "$DRIVER" "$T/pam.d" tg "$ME" 00000000 > /dev/null && tg_fail "a bad code let in"
	[ "$(state_syncs "$T/bad$i.trace")" = 0 ] || tg_fail "bad code $i after a success synced the state $(state_syncs "$T/bad$i.trace") times"
done
# the mark of the last success lost (it is not synced, and a crash may take it; the one
# before it on the disk): its slot is synced before a bad code goes over the older one, not
# written over in place
trace good2.trace "$DRIVER" "$T/pam.d" tg "$ME" "$(scratch 4)" > /dev/null || tg_fail "a login with a scratch code"
dd if="$T/state/state/$ME" of="$T/mark" bs=1 skip=32768 count=24 status=none
"$DRIVER" "$T/pam.d" tg "$ME" "$(scratch 5)" > /dev/null || tg_fail "a login with a scratch code"
dd if="$T/mark" of="$T/state/state/$ME" bs=1 seek=32768 conv=notrunc status=none
trace bad4.trace "$DRIVER" "$T/pam.d" tg "$ME" 00000000 > /dev/null && tg_fail "a bad code let in"
[ "$(state_syncs "$T/bad4.trace")" = 1 ] || tg_fail "a bad code after a success whose mark was lost synced the state $(state_syncs "$T/bad4.trace") times, not once first"
truncate -s $((2 * 16384)) "$T/state/state/$ME"
trace bad3.trace "$DRIVER" "$T/pam.d" tg "$ME" 00000000 > /dev/null && tg_fail "a bad code let in"
[ "$(state_syncs "$T/bad3.trace")" = 1 ] || tg_fail "a bad code on a file without its mark synced the state $(state_syncs "$T/bad3.trace") times, not once first"
echo PASS
