#!/bin/sh
# The running daemon finds new files through inotify alone: with the periodic
# rescan an hour away, recordings and events dropped into the spool while it
# runs (renamed into place, as the recorder and the PAM module do) must reach
# S3 and Slack within seconds, including the outbox files the event fan-out
# writes, and the queues must end empty (nothing the daemon still thinks waits).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "workers = 4"
up_start_inotify_only
# a first file, then a burst while the first uploads run
up_rec first.tgr user=alice bytes=500
up_wait_empty 20 || tg_fail "a recording that arrived while the daemon ran was not uploaded"
i=0
while [ $i -lt 40 ]; do
	up_rec "s$i.tgr" user=user$((i % 5)) bytes=$((i * 300 + 10))
	i=$((i + 1))
done
up_mfa_failures w 1 10
up_wait_empty 30 || tg_fail "files that arrived while the daemon ran were not all shipped"
up_wait_messages 10 30 || tg_fail "not every Slack message arrived"
up_check_s3
# the daemon's own view: its status file says no queue holds anything
python3 - "$T/spool/state/status.json" <<'PY' || tg_fail "the daemon still counts items that left the spool"
import json, sys, time
for _ in range(50):
    with open(sys.argv[1]) as f:
        st = json.load(f)
    if st.get("backlog") == 0:
        sys.exit(0)
    time.sleep(0.2)
print("status.json backlog:", st.get("backlog"), file=sys.stderr)
sys.exit(1)
PY
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
