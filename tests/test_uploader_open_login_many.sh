#!/bin/sh
# The look at the logins waiting for their recording reads only the header of
# each live recording in active/, not as far as the reader's 2 MiB buffer goes
# (a live recording may be a GiB, and a bastion has hundreds). The bytes the
# pass read come from /proc: a reaped child's count is added to its parent's.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"
[ -r /proc/self/io ] || tg_skip "no /proc/self/io (task I/O accounting)"

up_setup "recording_grace = 300"
N=50
mkdir -p "$T/spool/active" "$T/spool/state/open"
# live recordings of 3 MB each (hard links of one: the headers are what counts), named as
# recorders name theirs before they publish (recovery leaves young ones alone)
"$RECGEN" rec "$T/keys/signing.key" "$T/live.tgr" pam=ffffffffffffffffffffffffffffffff \
	bytes=3000000 unsealed || tg_fail "recgen"
old=$((($(date +%s) - 3600) * 1000000))
i=0
while [ $i -lt $N ]; do
	ln "$T/live.tgr" "$T/spool/active/.live$i.tgr.new" || tg_fail "ln"
	sid=$(printf '%032x' $i)
	printf '{"v":1,"type":"login","time":"2026-01-01T00:00:00.000000Z","time_us":%s,"host":"testhost","user":"u%s","client_addr":"192.0.2.7","client_port":50000,"tty":"ssh","service":"sshd","pid":1,"session_id":"%s","mfa_method":"totp"}' \
		"$old" $i "$sid" >"$T/spool/state/open/$sid.json"
	i=$((i + 1))
done

read_bytes=$(sh -c '"$1" -c "$2" --once >"$3" 2>&1; sed -n "s/^rchar: //p" /proc/$$/io' - \
	"$UPLOADER" "$T/tollgate.conf" "$T/uploader.log")
echo "the pass read $read_bytes bytes"
n=$(grep -c "has no recording" "$T/uploader.log")
[ "$n" -eq $N ] || tg_fail "$n 'has no recording' alerts, want $N: $(tail -5 "$T/uploader.log")"
[ -z "$(ls "$T/spool/state/open")" ] || tg_fail "markers left after the check"
# 50 headers and the pass's own files: a few MB; 2 MiB of each recording: 105 MB
[ "$read_bytes" -lt 67108864 ] || tg_fail "the pass read $read_bytes bytes (want < 64 MiB)"
echo "ok: $N open logins over $N live recordings: only the headers read"
