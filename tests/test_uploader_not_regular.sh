#!/bin/sh
# What is no regular file in sessions/ or events/ (a symbolic link, a FIFO, a socket, a
# device, a folder) is never shipped: a symbolic link is not followed, a FIFO not opened (it
# would block). It was skipped without a word, so a recording that went wrong, or something
# put there by hand, sat in the spool unseen for ever. Each raises spool_not_regular, naming
# it and its type, once while it stays (not at every rescan), and again after a restart (as
# bad_event is); it is left where it is, and the files beside it go on.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
S=$T/spool/sessions E=$T/spool/events
# a recording and an event outside the spool: the links point to them, and S3 must not get
# them by way of the links
mkdir -p "$T/elsewhere"
"$RECGEN" rec "$T/keys/signing.key" "$T/elsewhere/target.tgr" user=mallory || tg_fail "recgen"
printf '{"v":1,"type":"mfa_failure","time_us":1,"host":"testhost","user":"mallory"}' \
	>"$T/elsewhere/target.json"
ln -s "$T/elsewhere/target.tgr" "$S/link.tgr"
mkfifo "$S/fifo.tgr"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$S/sock.tgr"
mknod "$S/chr.tgr" c 1 3
mkdir "$S/dir.tgr"
ln -s "$T/elsewhere/target.json" "$E/00000000000000000001-0000000000000001.json"
mkfifo "$E/00000000000000000002-0000000000000002.json"
up_rec good.tgr user=alice bytes=500
up_start_ready

alerts() { grep "alert spool_not_regular: " "$T/uploader.log"; }
# alert_count PATTERN: the spool_not_regular alerts whose text matches PATTERN
alert_count() { alerts | grep -c -- "$1"; }
alerted() { [ "$(alert_count "$1")" -ge 1 ]; }
# every entry and the type the alert says it is
EXPECT="$S/link.tgr is a symbolic link (to $T/elsewhere/target.tgr)
$S/fifo.tgr is a FIFO
$S/sock.tgr is a socket
$S/chr.tgr is a character device
$S/dir.tgr is a folder
$E/00000000000000000001-0000000000000001.json is a symbolic link (to $T/elsewhere/target.json)
$E/00000000000000000002-0000000000000002.json is a FIFO"
while IFS= read -r want; do
	up_wait_until 20 "no spool_not_regular alert saying \"$want\"" alerted "$want"
done <<END
$EXPECT
END

# new entries, one a round, each found by a later rescan while the first ones stay: each
# found then is alerted, and none of the first ones again
for i in 1 2 3; do
	mkfifo "$S/later$i.tgr"
	up_wait_until 20 "later$i.tgr: no alert" alerted "$S/later$i.tgr is a FIFO"
done
while IFS= read -r want; do
	n=$(alert_count "$want")
	[ "$n" -eq 1 ] || tg_fail "\"$want\": $n alerts over 4 rescans, not 1: $(alerts)"
done <<END
$EXPECT
END
[ "$(alerts | wc -l)" -eq 10 ] || tg_fail "not 10 alerts for 10 entries: $(alerts)"
# the regular files went on (the FIFO held nothing up), the others stayed as they were
up_rec good2.tgr user=bob bytes=500
up_wait_until 20 "the recordings beside them did not ship" \
	sh -c "[ ! -e '$S/good.tgr' ] && [ ! -e '$S/good2.tgr' ]"
if ! { [ -L "$S/link.tgr" ] && [ -p "$S/fifo.tgr" ] && [ -S "$S/sock.tgr" ] &&
	[ -c "$S/chr.tgr" ] && [ -d "$S/dir.tgr" ] &&
	[ -L "$E/00000000000000000001-0000000000000001.json" ] &&
	[ -p "$E/00000000000000000002-0000000000000002.json" ]; }; then
	tg_fail "an entry that is no regular file was moved or changed: $(ls -la "$S" "$E")"
fi
up_wait_empty 20 || tg_fail "the spool did not drain"
# the alerts reached S3, each naming its entry; the link targets did not
for want in "link.tgr is a symbolic link" "sock.tgr is a socket" \
	"0000000000000001.json is a symbolic link"; do
	up_s3_objects tollgate/events | xargs grep -l "spool_not_regular" | xargs grep -q "$want" ||
		tg_fail "no spool_not_regular event in S3 saying \"$want\""
done
up_check_s3
[ "$(up_s3_objects tollgate | grep -c /mallory/)" -eq 0 ] ||
	tg_fail "a link was followed: $(up_s3_objects tollgate | grep /mallory/)"
up_s3_objects tollgate/events | xargs grep -l '"user":"mallory"' && tg_fail "an event link was followed"

# removed, an entry is forgotten; a restart alerts on those still there once more
rm "$S/sock.tgr"
tg_stop_pid "$UP_PID"
UP_PID=
echo "--- restart" >>"$T/uploader.log"
up_start_ready
restarted() { sed -n '/^--- restart$/,$p' "$T/uploader.log" | grep "alert spool_not_regular: "; }
up_wait_until 20 "no alert after the restart" sh -c "[ \$(grep -c 'later3.tgr is a FIFO' '$T/uploader.log') -eq 2 ]"
mkfifo "$S/later4.tgr"
up_wait_until 20 "later4.tgr: no alert" alerted "$S/later4.tgr is a FIFO"
[ "$(restarted | wc -l)" -eq 10 ] ||
	tg_fail "after the restart, not one alert each for the 9 entries left and the new one: $(restarted)"
restarted | grep -q "sock.tgr" && tg_fail "the removed socket was alerted on after the restart"
tg_stop_pid "$UP_PID"
UP_PID=

# many at once (500 links): each alert is an event written durably, and each was looked up
# in the list of those known by a linear search (50,000 took minutes of CPU at every rescan).
# The first 20 new ones of a scan are alerted on one by one, the rest in one summary; a
# rescan alerts on none of them again
old=$(find "$S" -mindepth 1 -maxdepth 1 ! -type f ! -name '.*' | wc -l)
i=0
while [ $i -lt 500 ]; do ln -s /nonexistent "$S/many$i.tgr"; i=$((i + 1)); done
echo "--- many" >>"$T/uploader.log"
up_start_ready
many() { sed -n '/^--- many$/,$p' "$T/uploader.log" | grep "alert spool_not_regular: $S/\|more entries of $S "; }
up_wait_until 20 "no summary of the many" sh -c "grep -q 'more entries of $S are not regular files' '$T/uploader.log'"
up_rescans_seen 2
one=$(many | grep -vc 'more entries of')
sum=$(many | sed -n "s/.*alert spool_not_regular: \([0-9]*\) more entries of .*/\1/p")
[ "$(many | grep -c 'more entries of')" -eq 1 ] || tg_fail "not one summary: $(many | tail -3)"
[ "$one" -eq 20 ] || tg_fail "$one alerted one by one, not 20: $(many | head -3)"
[ $((one + sum)) -eq $((old + 500)) ] || tg_fail "$one one by one and $sum in the summary, not $((old + 500))"
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
