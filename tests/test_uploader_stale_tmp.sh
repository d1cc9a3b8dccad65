#!/bin/sh
# A writer of events/ (the PAM module in sshd, a recorder, an upload worker) killed between
# writing its temp file and renaming it left that file there for ever, counted toward
# spool_max_bytes; at its start the uploader cleans only the folders no one else writes to.
# Now a temp file in events/ that has sat untouched for an hour is removed at a rescan, and
# said; a younger one may be a writer's at work (a sshd that is slow, or stopped), and stays.
# The events beside them ship as usual.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
E=$T/spool/events
printf '{"v":1,"type":"mfa_fai' >"$E/.tmp.old"
touch -d '2 hours ago' "$E/.tmp.old"
printf '{"v":1' >"$E/.tmp.young"
touch -d '50 minutes ago' "$E/.tmp.young"
# not a regular file: not removed, whatever its age
mkdir "$E/.tmp.dir"
touch -d '2 hours ago' "$E/.tmp.dir"
up_event 1 mfa_failure '"user":"alice","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_once "first pass"
[ ! -e "$E/.tmp.old" ] || tg_fail "a temp file untouched for 2 hours is still in events/"
[ -e "$E/.tmp.young" ] || tg_fail "a temp file of 50 minutes was removed: its writer may be at work"
[ -d "$E/.tmp.dir" ] || tg_fail "a folder named as a temp file was removed"
grep -qF "removed $E/.tmp.old: a temporary file untouched for over 60 min" "$T/uploader.log" ||
	tg_fail "the removal is not said: $(cat "$T/uploader.log")"
! grep -q 'removed .*\.tmp\.young' "$T/uploader.log" || tg_fail "the young temp file said removed"
[ -z "$(find "$E" -maxdepth 1 -name '*.json')" ] || tg_fail "the event was not shipped: $(ls -a "$E")"
echo PASS
