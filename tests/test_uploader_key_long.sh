#!/bin/sh
# A host name longer than an S3 key can hold (1024 bytes) made the
# key fail to expand: the event was refused as if S3 or the
# config were wrong (s3_error, S3 paused), again at every try, and never left
# the host. A value is now cut to 128 bytes in its folder; the file's own
# name, last in the key, keeps keys apart.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
LONG=$(head -c 1500 /dev/zero | tr '\0' h)
CUT=$(head -c 128 /dev/zero | tr '\0' h)
name=$(printf '%020d-%016x.json' "$(($(date +%s) * 1000000))" 1)
printf '{"v":1,"type":"login","time_us":%s,"host":"%s","user":"alice","session_id":"s1"}' \
	"$(($(date +%s) * 1000000))" "$LONG" >"$T/spool/events/.tmp"
mv "$T/spool/events/.tmp" "$T/spool/events/$name"
"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 ||
	tg_fail "--once: exit $?: $(tail -5 "$T/uploader.log" | cut -c1-300)"
! grep -q s3_error "$T/uploader.log" || tg_fail "S3 refused: $(grep s3_error "$T/uploader.log" | cut -c1-300)"
[ -z "$(ls "$T/spool/outbox/s3")" ] || tg_fail "events left in outbox/s3: $(ls "$T/spool/outbox/s3")"
up_s3_objects tollgate | grep -q "/events/dt=.*/host=$CUT/$name._S3rver_object\$" ||
	tg_fail "the event is not under its cut host: $(up_s3_objects tollgate | cut -c1-200)"

# A recording whose own name makes its key too long (245 spaces, escaped threefold, beside a
# user and a host of 128 bytes and a long prefix) was refused the same way, and paused S3 for every other file.
# It now goes up under its name's first 32 bytes and the SHA-256 of the whole name.
U=$(head -c 128 /dev/zero | tr '\0' u)
H=$(head -c 128 /dev/zero | tr '\0' h)
long="$(printf '%245s' '').tgr" # 250 bytes with up_rec's temporary name around it
# a prefix of 100 bytes: the key would be about 1110 bytes
P=$(head -c 100 /dev/zero | tr '\0' p)
sed -i "/^\[s3\]\$/a prefix = $P" "$T/tollgate.conf"
# ship NAME AFTER WHAT: NAME (user U, host H) and AFTER (alice's) go up in one pass, neither
# refused by S3 nor left in the spool; $hash is then the SHA-256 of NAME
ship() {
	up_rec "$1" user="$U" host="$H" bytes=1000
	up_rec "$2" user=alice bytes=1000
	"$UPLOADER" -c "$T/tollgate.conf" --once >"$T/uploader.log" 2>&1 ||
		tg_fail "--once ($3): exit $?: $(tail -5 "$T/uploader.log" | cut -c1-300)"
	! grep -q s3_error "$T/uploader.log" || tg_fail "S3 refused ($3): $(grep s3_error "$T/uploader.log" | cut -c1-300)"
	[ ! -e "$T/spool/sessions/$1" ] && [ ! -e "$T/spool/sessions/$2" ] ||
		tg_fail "a recording stayed in the spool ($3): $(ls "$T/spool/sessions")"
	hash=$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)
}
# has_key WHAT TAIL: S3 holds an object whose key ends in /$P/dt=.../host=H/U/TAIL
has_key() {
	up_s3_objects "$P" | grep -q "/$P/dt=[0-9-]*/host=$H/$U/$2._S3rver_object\$" ||
		tg_fail "the $1 recording is not under its short key: $(up_s3_objects "$P" | grep -v events | cut -c1-300)"
}
ship "$long" later.tgr "long name"
has_key long-named "$(printf '_20%.0s' $(seq 32))-$hash.tgr"

# So did a name whose extension alone is that long (a file put in sessions/ by hand): only
# the stem was cut. The extension now keeps its first 16 bytes.
ship "x.$(printf '%240s' '')" later2.tgr "long extension"
has_key long-extension "x-$hash\.$(printf '_20%.0s' $(seq 15))"
echo PASS
