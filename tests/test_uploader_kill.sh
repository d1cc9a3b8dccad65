#!/bin/sh
# kill -9 of the daemon, again and again, while it uploads (multipart ones
# among them): afterwards every recording and event is in S3 byte-identical
# and once, no resume state is left, every Slack message arrived in order
# (a message posted just before a kill may come twice: never zero times).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "multipart_threshold = 5M" "part_size = 5M" "workers = 2"

up_rec m1.tgr user=big1 bytes=26000000
up_rec m2.tgr user=big2 bytes=16000000
i=0
while [ $i -lt 40 ]; do
	up_rec "s$i.tgr" user=user$i bytes=$((i * 500 + 10))
	i=$((i + 1))
done
up_mfa_failures u 1 15

round=0
while [ $round -lt 8 ] && [ "$(up_spool_left)" -ne 0 ]; do
	up_start
	# somewhere between 0.3 and 1.2 s into the work
	ms=$(( $(od -An -N1 -tu1 /dev/urandom) % 10 * 100 + 300 ))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill -9 "$UP_PID" 2>/dev/null
	wait "$UP_PID" 2>/dev/null
	UP_PID=
	round=$((round + 1))
	echo "kill $round after $ms ms: $(up_spool_left) files left, $(find "$T/spool/state/multipart" -type f | wc -l) multipart upload(s) to resume"
done
echo "killed $round times; $(up_spool_left) files were left"
up_start
up_wait_empty 120 || tg_fail "the spool did not drain after the kills"
up_wait_messages 15 60 || tg_fail "not every Slack message arrived"
tg_stop_pid "$UP_PID"
UP_PID=
up_check_s3
[ -z "$(find "$T/spool/state/multipart" -type f)" ] || tg_fail "resume state left behind"
up_message_heads | grep '^MFA failure' | uniq >"$T/got"
n=1
: >"$T/want"
while [ $n -le 15 ]; do
	echo "MFA failure: u$(printf %02d $n)@testhost" >>"$T/want"
	n=$((n + 1))
done
diff -u "$T/want" "$T/got" || tg_fail "Slack messages lost or out of order"
echo PASS
