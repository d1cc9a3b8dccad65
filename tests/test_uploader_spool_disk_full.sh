#!/bin/sh
# A spool whose file system is full (the recorder filled it: a session that
# dumped output until the disk ran out) must still drain: uploading a recording
# is what frees the space. Neither the join record of the recording's PAM
# session (written before the upload) nor a multipart upload's resume state
# may hold the upload back while they cannot be written, or nothing ever
# leaves and the disk stays full. The recordings reach S3 byte-identical,
# leave the spool, and the logout still names its recording (its join record
# written once the upload freed the space).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

[ "$(id -u)" -eq 0 ] || tg_skip "needs root to mount a small tmpfs as the spool"
# one worker: the large recordings (first by name) go up while nothing freed space yet
up_setup 'multipart_threshold = 5M' 'part_size = 5M' 'recording_grace = 0' 'workers = 1'
MNT=
# shellcheck disable=SC2317 # run by the EXIT trap
umount_spool() {
	# the daemon first (a failure while it runs): its open files keep the mount busy, and the
	# tmpfs stayed mounted under a folder up_cleanup could not remove
	[ -n "$UP_PID" ] && tg_stop_pid "$UP_PID"
	UP_PID=
	if [ -n "$MNT" ]; then
		i=0
		until umount "$MNT" 2>/dev/null; do
			i=$((i + 1))
			[ $i -ge 50 ] && { umount -l "$MNT"; break; }
			sleep 0.1
		done
	fi
	MNT=
	up_cleanup
}
trap umount_spool EXIT
mount -t tmpfs -o size=40m,mode=0755 tollgate-spool-full-test "$T/spool" 2>/dev/null ||
	tg_skip "cannot mount a tmpfs"
MNT=$T/spool
mkdir -p "$T/spool/sessions" "$T/spool/events"
# one pass on the empty spool makes the uploader's folders
up_once "empty spool"

SID_A=0123456789abcdef0123456789abcdef
SID_B=fedcba9876543210fedcba9876543210
up_rec small.tgr user=alice pam=$SID_A bytes=20000
# a multipart upload (three parts), one sealed and one not (verified first)
up_rec big.tgr user=bob pam=$SID_B bytes=12000000
up_rec big2.tgr user=bob pam=$SID_B bytes=11000000 unsealed
up_session_event 1 logout alice $SID_A
# the rest of the file system taken (not by anything the uploader ships)
dd if=/dev/zero of="$T/spool/filler" bs=64k >/dev/null 2>&1
[ "$(df -P "$T/spool" | awk 'NR == 2 { print $4 }')" -eq 0 ] || tg_fail "the spool is not full"

"$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1
up_no_recs || tg_fail "recordings left in the full spool: $(ls "$T/spool/sessions"); $(tail -5 "$T/uploader.log")"
rm -f "$T/spool/filler"
# (the resume state is named after the SHA-256 of the recording's name)
big_id=$(printf %s big.tgr | sha256sum | cut -d' ' -f1)
grep -q "the resume state .*/$big_id.json cannot be written (No space left on device)" "$T/uploader.log" ||
	tg_fail "the resume state was written: the disk was not full for it"
python3 - "$T" "$S3DATA" <<'PY' || tg_fail "S3 does not hold the recordings byte-identical"
import os, sys
t, data = sys.argv[1], sys.argv[2]
for name in ("small.tgr", "big.tgr", "big2.tgr"):
    want = open(os.path.join(t, "orig", name), "rb").read()
    found = [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs
             if f == name + "._S3rver_object"]
    assert len(found) == 1, (name, found)
    assert open(found[0], "rb").read() == want, name
PY
for s in $SID_A $SID_B; do
	grep -q '"s3_key"' "$T/spool/state/sessions/$s.json" 2>/dev/null ||
		tg_fail "no join record for session $s: $(tail -5 "$T/uploader.log")"
done
# the logout names its recording: no false no_recording
up_once "after the disk was freed"
grep -q 'alert no_recording' "$T/uploader.log" && tg_fail "a no_recording alert: $(grep no_recording "$T/uploader.log")"
up_messages | grep -q small.tgr || tg_fail "the logout does not name its recording: $(up_messages)"

# An alert of the uploader's own that cannot be copied into the outboxes (the disk full again)
# was tried again and again: --once waited for it and never ended (while holding the spool's
# lock, so every later run of the timer exited 2). It is tried once in a pass, as any item.
up_event 9 alert '"alert":"spool_filling","message":"full","notify":true'
dd if=/dev/zero of="$T/spool/filler" bs=4k >/dev/null 2>&1
timeout 60 "$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1
rc=$?
[ $rc -eq 1 ] || tg_fail "--once with an alert the full spool cannot copy: exit $rc, not 1 (124: it did not end)"
[ -n "$(find "$T/spool/events" -name '*-0000000000000009.json')" ] || tg_fail "the alert was not kept"
rm -f "$T/spool/filler"
up_once "the alert, once the disk has room"
[ -z "$(find "$T/spool/events" -name '*-0000000000000009.json')" ] || tg_fail "the alert was not shipped once the disk had room"

# An alert the full disk cannot take (here the event_stuck of an event the outboxes cannot
# take) was logged and lost: raised once, never written, S3 and Slack never heard of it. The
# daemon keeps it and writes it once the spool takes it.
# the passes above may have raised some: counted, and a log and a status of the daemon's own
stuck_in_s3() { grep -rl '"alert":"event_stuck"' "$S3DATA/tollgate/events" 2>/dev/null | wc -l; }
before=$(stuck_in_s3)
rm -f "$T/spool/state/status.json"
: >"$T/uploader.log"
up_start_ready
kill -STOP "$UP_PID"
up_mfa_failures full 10 10
dd if=/dev/zero of="$T/spool/filler" bs=4k >/dev/null 2>&1
kill -CONT "$UP_PID"
raised() { grep -q 'alert event_stuck:' "$T/uploader.log"; }
up_wait_until 30 "no event_stuck alert while the disk was full" raised
rm -f "$T/spool/filler"
in_s3() { [ "$(stuck_in_s3)" -gt "$before" ]; }
up_wait_until 30 "the kept event_stuck alert did not reach S3 once the disk had room" in_s3
# written late, it says when it was raised (its event's time is the write's)
grep -rl '"alert":"event_stuck"' "$S3DATA/tollgate/events" | xargs grep -l '"raised_us"' >/dev/null ||
	tg_fail "the kept alert does not say when it was raised"
posted() { up_message_has 'MFA failure: full10@testhost'; }
up_wait_until 30 "the stuck event did not reach Slack" posted
tg_stop_pid "$UP_PID"
UP_PID=

# A login whose recording check finds none (no_recording) while the disk is full: the alert
# could only be kept in the daemon's memory, and the login's marker, its only trace, was removed
# at once, so a kill, a restart or the end of a --once pass lost the alert for good. The marker
# now stays until the alert is on disk, and the check raises it again.
SID_C=00112233445566778899aabbccddeeff
no_rec_in_s3() { grep -rl '"alert":"no_recording"' "$S3DATA/tollgate/events" 2>/dev/null | xargs grep -l "$SID_C" 2>/dev/null | grep -q .; }
login_sec=$(date +%s)
UP_EVENT_SEC=$login_sec up_session_event 30 login carol $SID_C
up_once "carol's login"
[ -f "$T/spool/state/open/$SID_C.json" ] || tg_fail "no marker for carol's login: $(ls -a "$T/spool/state/open")"
dd if=/dev/zero of="$T/spool/filler" bs=4k >/dev/null 2>&1
# the check is due 10 s after the login
while [ "$(date +%s)" -le $((login_sec + 11)) ]; do sleep 0.5; done
: >"$T/uploader.log"
timeout 60 "$UPLOADER" -c "$T/tollgate.conf" --once >>"$T/uploader.log" 2>&1
rc=$?
# something waits: the marker, for its alert
[ $rc -eq 1 ] || tg_fail "--once with a login's alert unwritten: exit $rc, not 1"
grep -q "alert no_recording: login of carol" "$T/uploader.log" ||
	tg_fail "the check did not run while the disk was full: $(tail -5 "$T/uploader.log")"
[ -f "$T/spool/state/open/$SID_C.json" ] ||
	tg_fail "the login's marker was removed while its alert was in memory only"
! no_rec_in_s3 || tg_fail "the alert reached S3 with the disk full: the test did not test"
rm -f "$T/spool/filler"
up_once "the disk has room again"
no_rec_in_s3 || tg_fail "the no_recording alert never reached S3: $(tail -5 "$T/uploader.log")"
[ ! -e "$T/spool/state/open/$SID_C.json" ] || tg_fail "the marker stayed once its alert was written"
# a marker kept for its recording_mismatch after its no_recording was written says so: the
# check does not raise that no_recording again
SID_D=0f0e0d0c0b0a09080706050403020100
printf '{"v":1,"type":"login","time":"2026-01-01T00:00:00.000000Z","time_us":%s000000,"host":"testhost","user":"dora","client_addr":"192.0.2.7","session_id":"%s","no_recording_raised":true}' \
	"$(($(date +%s) - 60))" $SID_D >"$T/spool/state/open/$SID_D.json"
: >"$T/uploader.log"
up_once "a marker whose no_recording was written"
! grep -q "alert no_recording: login of dora" "$T/uploader.log" ||
	tg_fail "no_recording raised again for a marker that says it was written"
[ ! -e "$T/spool/state/open/$SID_D.json" ] || tg_fail "the marker stayed: $(tail -5 "$T/uploader.log")"
exit 0
