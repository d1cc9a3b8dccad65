#!/bin/sh
# Each recording has an index object of its own. The index key held the file name without its
# last extension, so `x.tgr` and `x.old` (two files put in sessions/ by hand), or `x`, shared
# one: the second index line overwrote the first in S3, and Athena lost a recording. A
# recording named as the recorder names them (`<id>.tgr`) keeps its index key `<id>.json`;
# any other name's index key is the whole name, escaped as in the recording's key, then
# `_.json` (a bare `_` the escaping never leaves), so no two names share one.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
HEX=0123456789abcdef0123456789abcdef
names="x.tgr x.old x.old.tgr x x_.tgr $HEX.tgr"
b=500
for n in $names; do
	up_rec "$n" user=alice bytes=$b
	b=$((b + 100))
done
up_once "six recordings"
up_no_recs || tg_fail "recordings left in the spool: $(ls "$T/spool/sessions")"
up_check_s3
up_s3_objects tollgate/index | sort
# one index object each, and each names its own recording's object
# shellcheck disable=SC2086 # one argument a name
python3 - "$S3DATA/tollgate/index" $names <<'PY' || tg_fail "the index objects do not name one recording each"
import json, os, sys
root, names = sys.argv[1], sys.argv[2:]
keys = {}
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith("._S3rver_object"):
            line = json.loads(open(os.path.join(d, f), "rb").read())
            keys[os.path.join(d, f)[len(root) + 1:]] = line["s3_key"]
ok = len(keys) == len(names)
print("%d index objects for %d recordings" % (len(keys), len(names)))
for n in names:
    # the recording's key ends with its (escaped) file name
    want = n.replace("_", "_5f")
    hits = [k for k, v in keys.items() if v.endswith("/alice/" + want)]
    if len(hits) != 1:
        print("%s: %d index objects name it" % (n, len(hits)))
        ok = False
sys.exit(0 if ok else 1)
PY
# the recorder's names keep their index key
up_s3_objects tollgate/index | grep -q "/$HEX.json._S3rver_object\$" ||
	tg_fail "the index key of a recording named as the recorder names them changed"
up_s3_objects tollgate/index | grep -q "/x.json._S3rver_object\$" ||
	tg_fail "the index key of x.tgr changed"
echo PASS
