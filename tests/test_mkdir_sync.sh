#!/bin/sh
# A folder the programs make (tg_mkdir_p: the spool's folders, the uploader's
# outboxes, the key's folder) has its entry synced in its parent before files
# are handed into it: a hand-over synced in the new folder is not durable while
# the folder's own entry may still be lost in a power cut. tollgate-keygen
# makes two levels here; strace must show, after each mkdir that made a folder,
# an fsync of a descriptor opened on its parent.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
tg_need_cmd strace python3
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
printf '[recorder]\nsigning_key = %s/keys/new/signing.key\npublic_key = %s/keys/new/signing.pub\n' "$T" "$T" >"$T/conf"
owner=
[ "$(id -u)" -eq 0 ] && owner="--owner root"
# shellcheck disable=SC2086
strace -f -qq -o "$T/trace" -e trace=mkdir,openat,fsync \
	"$TG_TOP_BUILDDIR/session_recorder/tollgate-keygen" -c "$T/conf" $owner >"$T/out" 2>&1 ||
	tg_fail "tollgate-keygen: $(cat "$T/out")"
[ -f "$T/keys/new/signing.key" ] || tg_fail "no key made"
python3 - "$T/trace" "$T" <<'PY' || tg_fail "a new folder's entry was not synced in its parent"
import os, re, sys
lines = open(sys.argv[1]).read().splitlines()
made = []
for i, l in enumerate(lines):
    m = re.search(r'mkdir\("([^"]+)", \S+\) = 0', l)
    if m:
        made.append((i, m.group(1)))
want = {os.path.join(sys.argv[2], "keys"), os.path.join(sys.argv[2], "keys/new")}
assert want <= {p for _, p in made}, ("folders made", made)
for i, path in made:
    parent = os.path.dirname(path)
    fd = None
    for l in lines[i + 1:]:
        m = re.search(r'openat\(AT_FDCWD, "%s", [^)]*O_DIRECTORY[^)]*\) = (\d+)' % re.escape(parent), l)
        if m and fd is None:
            fd = m.group(1)
            continue
        if fd is not None and re.search(r'fsync\(%s\) += 0' % fd, l):
            print("synced", parent, "after mkdir", path)
            break
    else:
        raise SystemExit("mkdir %s: no fsync of %s after it" % (path, parent))
PY
echo PASS
