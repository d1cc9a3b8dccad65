#!/bin/sh
# A spool whose size hovers at spool_alert_percent (files come and go by a few
# kilobytes) raises 'spool_filling' once, not at each crossing: the alert goes
# to Slack, and a host at its threshold would otherwise post it every few
# seconds. A folder in the spool that cannot be read is said once
# (spool_unreadable), not taken silently for empty; lost+found (a spool on a
# file system of its own) is not.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "spool_max_bytes = 1M" "spool_alert_percent = 50"
# in-progress files (hidden) count toward the spool's size and are not shipped:
# 480 kB, below 50% of 1 MiB (524,250 bytes), and 60 kB more that come and go
head -c 480000 /dev/zero >"$T/spool/sessions/.base"
up_start_ready
sleep 6
n_alerts() { grep -c 'alert spool_filling' "$T/uploader.log"; }
[ "$(n_alerts)" -eq 0 ] || tg_fail "spool_filling raised below the threshold: $(cat "$T/uploader.log")"
i=0
while [ $i -lt 3 ]; do
	head -c 60000 /dev/zero >"$T/spool/sessions/.grow"
	up_wait_until 30 "spool_filling was not raised" sh -c "grep -q 'alert spool_filling' '$T/uploader.log'"
	sleep 6
	rm -f "$T/spool/sessions/.grow"
	sleep 6
	i=$((i + 1))
done
[ "$(n_alerts)" -eq 1 ] || tg_fail "spool_filling raised $(n_alerts) times for a spool hovering at the threshold"
tg_stop_pid "$UP_PID"
UP_PID=

# As root the daemon runs without the capabilities that read any folder (setpriv), as the
# audit user would, so that a folder of mode 000 is unreadable to it.
mkdir -m 000 "$T/spool/lost+found" "$T/spool/hidden"
if [ "$(id -u)" -eq 0 ]; then
	printf '#!/bin/sh\nexec setpriv --bounding-set -dac_override,-dac_read_search -- "%s" "$@"\n' \
		"$UPLOADER" >"$T/uploader-nocap"
	chmod 755 "$T/uploader-nocap"
	UPLOADER=$T/uploader-nocap
fi
: >"$T/uploader.log"
up_start_ready
up_wait_until 30 "an unreadable folder in the spool was not said" \
	sh -c "grep -q 'alert spool_unreadable: .*/spool/hidden cannot be read (Permission denied): the spool.s size' '$T/uploader.log'"
sleep 6
[ "$(grep -c 'alert spool_unreadable' "$T/uploader.log")" -eq 1 ] ||
	tg_fail "spool_unreadable raised other than once: $(cat "$T/uploader.log")"
tg_stop_pid "$UP_PID"
UP_PID=
# lost+found alone: nothing to say
chmod 700 "$T/spool/hidden"
rmdir "$T/spool/hidden"
: >"$T/uploader.log"
up_start_ready
sleep 6
! grep -q 'alert spool_unreadable' "$T/uploader.log" ||
	tg_fail "the spool's lost+found was taken for an unreadable part: $(cat "$T/uploader.log")"
chmod 700 "$T/spool/lost+found"
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
