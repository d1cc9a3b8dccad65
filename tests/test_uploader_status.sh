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
printf '[general]\nspool_dir = %s/spool\n[s3]\nbucket = acme-ssh-audit\n' "$T" >"$T/tollgate.conf"
chmod 600 "$T/tollgate.conf"

st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status on a missing spool: exit $st, not 2: $(cat "$T/out" "$T/err")"
grep -q '^recordings .*cannot be listed' "$T/out" || tg_fail "status does not say recordings cannot be listed: $(cat "$T/out")"
grep -q "cannot tell what waits in the spool $T/spool" "$T/err" || tg_fail "status: no error: $(cat "$T/err")"

# a spool as the install makes it (no outboxes yet): empty, exit 0
mkdir -p "$T/spool/sessions" "$T/spool/events"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status on an empty spool: exit $?: $(cat "$T/out" "$T/err")"
# a recording whose recorder died (in active/, its lock gone) waits for the daemon to hand it
# over: something waits, exit 1 (a rollback that stopped the uploader on exit 0 would leave it
# on the host); one a live recorder holds is a session under way, not waiting
tg_need_cmd flock
mkdir -p "$T/spool/active"
printf 'x' >"$T/spool/active/0123456789abcdef0123456789abcdef.tgr"
st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || tg_fail "status with a recording left by a dead recorder: exit $st, not 1: $(cat "$T/out")"
grep -q '^left in active/ *1 .*0123456789abcdef0123456789abcdef.tgr' "$T/out" ||
	tg_fail "status does not show the recording left by a dead recorder: $(cat "$T/out")"
flock -x "$T/spool/active/0123456789abcdef0123456789abcdef.tgr" \
	"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" ||
	tg_fail "status with a recording being written: exit $?: $(cat "$T/out")"
grep -q '^left in active/ *0 ' "$T/out" || tg_fail "status counts a live recording: $(cat "$T/out")"
rm -rf "$T/spool/active"
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

# an [s3] section the uploader cannot use (deploy.md checks the file with
# status before turning anything on): said, and exit 2, not "S3:" and exit 0
rm -f "$T/spool/events"
mkdir "$T/spool/events"
printf '[general]\nspool_dir = %s/spool\n[s3]\nbucket = acme-ssh-audit\nkms_key_id = arn:aws:kms:eu-west-1:111122223333:key/k\n' "$T" >"$T/bad.conf"
chmod 600 "$T/bad.conf"
st=0
"$UPLOADER" -c "$T/bad.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status with an unusable [s3]: exit $st, not 2: $(cat "$T/out" "$T/err")"
grep -q '^S3: not usable: .*kms_key_id is set but sse is not aws:kms' "$T/out" ||
	tg_fail "status does not say why S3 is not usable: $(cat "$T/out")"
# a webhook URL the daemon refuses at its start (not https://): said without the
# URL (a secret), exit 2
printf '[general]\nspool_dir = %s/spool\n[slack]\nwebhook_url = http://hooks.example.com/services/T0/B0/SECRETPART\n' "$T" >"$T/bad.conf"
st=0
"$UPLOADER" -c "$T/bad.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status with an unusable webhook URL: exit $st, not 2: $(cat "$T/out" "$T/err")"
grep -q '^Slack: not usable: .*https://' "$T/out" ||
	tg_fail "status does not say why Slack is not usable: $(cat "$T/out")"
! grep -q SECRETPART "$T/out" "$T/err" || tg_fail "status printed the webhook URL"
# a [slack] ca_file that cannot be read: no post can go out (every one fails its TLS set-up and
# waits), so status must not pass it as usable
printf '[general]\nspool_dir = %s/spool\n[s3]\nbucket = acme-ssh-audit\n[slack]\nwebhook_url = https://hooks.example.com/services/T0/B0/SECRETPART\nca_file = %s/no-such-ca.pem\n' "$T" "$T" >"$T/bad.conf"
st=0
"$UPLOADER" -c "$T/bad.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status with an unreadable [slack] ca_file: exit $st, not 2: $(cat "$T/out" "$T/err")"
grep -q "^Slack: not usable: \[slack\] ca_file $T/no-such-ca.pem: No such file or directory" "$T/out" ||
	tg_fail "status does not say the Slack CA file cannot be read: $(cat "$T/out")"
! grep -q SECRETPART "$T/out" "$T/err" || tg_fail "status printed the webhook URL"
# a usable one says it is configured, exit 0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status on a good [s3]: exit $?: $(cat "$T/out" "$T/err")"
grep -q '^S3: configured$' "$T/out" || tg_fail "status on a good [s3]: $(cat "$T/out")"
# before any uploader ran: configured, and nothing sent yet
grep -A1 '^S3: configured$' "$T/out" | grep -q '^  sent  *none yet' ||
	tg_fail "status before the first upload does not say nothing was sent: $(cat "$T/out")"
# the last error is text from S3's (or Slack's) answer: its control characters
# reach the admin's terminal escaped (\x1b, \u009b), not as escape sequences
mkdir -p "$T/spool/state"
printf '{"s3":{"last_error":"Access Denied\\u001b]0;owned\\u0007\\u001b[2J\\u009b1m\\\\ ok","last_error_us":1,"sent":0,"lost":0}}' >"$T/spool/state/status.json"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status with a last error: exit $?: $(cat "$T/out" "$T/err")"
! LC_ALL=C grep -q "$(printf '[\033\007\302]')" "$T/out" || tg_fail "status printed the last error's control characters: $(od -c "$T/out" | head -20)"
grep -qF 'last error     Access Denied\x1b]0;owned\x07\x1b[2J\u009b1m\ ok' "$T/out" ||
	tg_fail "status does not show the last error escaped: $(cat -v "$T/out")"
# on the terminal of an 8-bit locale (C's is ASCII) a character's UTF-8 bytes are Latin-1 text
# and C1 controls (U+00DB is C3 9B: 9B is CSI, and "6n" asks the terminal to type back where its
# cursor is): there every character that is not ASCII is shown as an escape; in a UTF-8 locale
# as it is
printf '{"s3":{"last_error":"Denied \\u00db6n caf\\u00e9","last_error_us":1,"sent":0,"lost":0}}' >"$T/spool/state/status.json"
tg_on_pty "$T/out" C "$UPLOADER" -c "$T/tollgate.conf" status || tg_fail "status on a pty (C)"
grep -qF 'last error     Denied \u00db6n caf\u00e9' "$T/out" ||
	tg_fail "status on an 8-bit terminal does not escape what is not ASCII: $(od -c "$T/out" | head -30)"
tg_on_pty "$T/out" C.UTF-8 "$UPLOADER" -c "$T/tollgate.conf" status || tg_fail "status on a pty (C.UTF-8)"
grep -qF "last error     Denied $(printf '\303\233')6n caf$(printf '\303\251')" "$T/out" ||
	tg_fail "status on a UTF-8 terminal does not show the text as it is: $(od -c "$T/out" | head -30)"
rm -f "$T/spool/state/status.json"
# a status.json cut short (a crash mid-write on a filesystem that keeps no
# data for a rename) or emptied: status says it cannot be read, and why, not
# an S3 line with nothing under it
printf '{"s3":{"last_error":"x","sent":3' >"$T/spool/state/status.json"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status with a truncated status.json: exit $?: $(cat "$T/out" "$T/err")"
grep -q "^  status unknown: cannot read $T/spool/state/status.json: .*end of" "$T/out" ||
	tg_fail "status does not say status.json cannot be read: $(cat "$T/out")"
: >"$T/spool/state/status.json"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status with an empty status.json: exit $?: $(cat "$T/out" "$T/err")"
grep -q "^  status unknown: cannot read $T/spool/state/status.json: " "$T/out" ||
	tg_fail "status does not say an empty status.json cannot be read: $(cat "$T/out")"
printf '[1]' >"$T/spool/state/status.json"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status with a status.json not an object: exit $?: $(cat "$T/out" "$T/err")"
grep -q "^  status unknown: cannot read $T/spool/state/status.json: not a JSON object" "$T/out" ||
	tg_fail "status does not say status.json is not an object: $(cat "$T/out")"
# none yet (no daemon ever ran): nothing to say
rm -f "$T/spool/state/status.json"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status without status.json: exit $?: $(cat "$T/out" "$T/err")"
! grep -q "status unknown" "$T/out" || tg_fail "status without status.json: $(cat "$T/out")"
# a file name is whatever its writer chose: the oldest item's name reaches
# the terminal escaped too
: >"$T/spool/sessions/$(printf 'evil\033]0;owned\007.tgr')"
st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || tg_fail "status with a recording waiting: exit $st, not 1: $(cat "$T/out" "$T/err")"
! LC_ALL=C grep -q "$(printf '[\033\007]')" "$T/out" || tg_fail "status printed a file name's control characters: $(cat -v "$T/out")"
grep -qF 'evil\x1b]0;owned\x07.tgr' "$T/out" || tg_fail "status does not show the file name escaped: $(cat -v "$T/out")"
# times after the wall clock was set back (an NTP step): the last success
# and error are later than now; not shown as 18446744073709s ago
rm -f "$T/spool/sessions/"*
future=$(( ($(date +%s) + 600) * 1000000 ))
printf '{"s3":{"last_error":"x","last_error_us":%s,"last_ok_us":%s,"sent":1,"lost":0}}' "$future" "$future" >"$T/spool/state/status.json"
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || tg_fail "status with times ahead: exit $?: $(cat "$T/out" "$T/err")"
! grep -q '[0-9]\{8,\}s ago' "$T/out" || tg_fail "status with times ahead of the clock: $(cat "$T/out")"
grep -q '^  last success .* (in [0-9]*s: later than this host.s clock)$' "$T/out" ||
	tg_fail "status does not say the last success is ahead of the clock: $(cat "$T/out")"
rm -f "$T/spool/state/status.json"
# a recording written before the clock was set back: its age is not negative
: >"$T/spool/sessions/ahead.tgr"
touch -d "@$(($(date +%s) + 600))" "$T/spool/sessions/ahead.tgr"
st=0
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || tg_fail "status with a recording ahead of the clock: exit $st, not 1: $(cat "$T/out" "$T/err")"
! grep -q '(-[0-9]*s)' "$T/out" || tg_fail "status shows a negative age: $(cat "$T/out")"
grep -q '^recordings .* ahead.tgr (in [0-9]*s: later than this host.s clock)$' "$T/out" ||
	tg_fail "status does not say the oldest recording is ahead of the clock: $(cat "$T/out")"
rm -f "$T/spool/sessions/ahead.tgr"
# no [s3] bucket at all: the daemon uploads nothing (every event and recording
# waits, s3_config alert), so status must not pass it as "not configured",
# exit 0
printf '[general]\nspool_dir = %s/spool\n' "$T" >"$T/nobucket.conf"
chmod 600 "$T/nobucket.conf"
st=0
"$UPLOADER" -c "$T/nobucket.conf" status >"$T/out" 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || tg_fail "status without a bucket: exit $st, not 2: $(cat "$T/out" "$T/err")"
grep -q '^S3: not usable: \[s3\] bucket is not set' "$T/out" ||
	tg_fail "status does not say no bucket is set: $(cat "$T/out")"
echo PASS
