#!/bin/sh
# `tollgate-uploader status` is how deploy.md checks a host's configuration
# and when a rollback may stop the uploader (exit 0: nothing waits). A spool
# whose sessions/ or events/ cannot be listed (a spool_dir typo, a spool not
# mounted) used to read as empty queues, exit 0; it is now exit 2, saying
# which. The outboxes, which the daemon makes at its first start, may be
# missing.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"

UPLOADER=$TG_TOP_BUILDDIR/uploader/tollgate-uploader
[ -x "$UPLOADER" ] || tg_fail "$UPLOADER is not built"
T=$(tg_mktemp_dir)
trap 'rm -rf "$T"' EXIT
printf '[general]\nspool_dir = %s/spool\n[s3]\nbucket = b\n' "$T" >"$T/tollgate.conf"
chmod 600 "$T/tollgate.conf"

st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status on a missing spool: exit $st, not 2: $(cat "$T/out" "$T/err")"
grep -q '^recordings .*cannot be listed' "$T/out" || tg_fail "status does not say recordings cannot be listed: $(cat "$T/out")"
grep -q "cannot tell what waits in the spool $T/spool" "$T/err" || tg_fail "status: no error: $(cat "$T/err")"

# a spool as the install makes it (no outboxes yet): empty, exit 0
mkdir -p "$T/spool/sessions" "$T/spool/events"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status on an empty spool: exit $?: $(cat "$T/out" "$T/err")"
# something waiting: exit 1
: >"$T/spool/events/00000000000000000001-0000000000000001.json"
st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || tg_fail "status with an event waiting: exit $st, not 1: $(cat "$T/out")"
# events/ replaced by a file: cannot be listed, exit 2
rm -rf "$T/spool/events"
: >"$T/spool/events"
st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status with events/ not a folder: exit $st, not 2: $(cat "$T/out")"
echo PASS
