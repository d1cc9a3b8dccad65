#!/bin/sh
# A shared AWS credentials file that users other than the audit user can read
# (the secret key is theirs too, the recorded users' included) is still used:
# the uploads go on, losing nothing comes first. It raises credentials_readable,
# with the file, its mode and the fix:
# - once per daemon start, not once per upload worker (each reads the file
#   afresh) nor per rescan;
# - again while the daemon runs only when the file turns readable in another
#   way (another mode or group), or again after it was fixed;
# - not for a file only its owner or root's group can read (nor the audit
#   group, which a test machine lacks), and not for a file the uploader does
#   not read ([s3] keys come first).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_SHARED_CREDENTIALS_FILE
up_setup
CREDS=$T/aws-credentials
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$TG_S3_ACCESS_KEY" "$TG_S3_SECRET_KEY" >"$CREDS"
chmod 0644 "$CREDS"
n_alerts() { grep -c 'alert credentials_readable' "$T/uploader.log"; }
# a group with no member and no name: neither root's nor the audit user's
OTHER_GID=4242

# [s3] keys come first: the file is not read, so not alerted on
up_rec r0.tgr user=alice bytes=100
up_once "[s3] keys"
[ "$(n_alerts)" -eq 0 ] || tg_fail "credentials_readable for a file the uploader does not read"

# the keys in the file only
sed -i -e '/^access_key_id = /d' -e '/^secret_access_key = /d' \
	-e "s|^\[s3\]\$|[s3]\ncredentials_file = $CREDS|" "$T/tollgate.conf"
grep -q "^credentials_file = $CREDS\$" "$T/tollgate.conf" || tg_fail "could not set credentials_file"
! grep -q '^secret_access_key' "$T/tollgate.conf" || tg_fail "the [s3] keys are still in the config"

# world-readable: used, alerted once, however many workers read it and rescans pass
up_start_ready
for r in r1 r2 r3; do
	up_rec $r.tgr user=alice bytes=100
	up_wait_empty 30 || tg_fail "$r was not shipped with the keys of a readable credentials file"
done
up_wait_until 60 "no credentials_readable alert for a world-readable credentials file" \
	grep -q 'alert credentials_readable' "$T/uploader.log"
up_rescans_seen 2
[ "$(n_alerts)" -eq 1 ] || tg_fail "$(n_alerts) credentials_readable alerts for one file, want 1"
line=$(grep 'alert credentials_readable' "$T/uploader.log")
echo "$line"
case $line in *"$CREDS"*) ;; *) tg_fail "the alert does not name the file" ;; esac
case $line in *0644*) ;; *) tg_fail "the alert does not give the mode" ;; esac
case $line in *"chmod 0600"*) ;; *) tg_fail "the alert does not say the fix" ;; esac
! grep -qF "$TG_S3_SECRET_KEY" "$T/uploader.log" || tg_fail "the secret key is in the log"
up_wait_until 20 "the alert did not reach Slack" up_message_has credentials_readable

# readable by another group now: said once more, with the new mode
chgrp "$OTHER_GID" "$CREDS"
chmod 0640 "$CREDS"
up_wait_until 60 "no credentials_readable alert for a credentials file of group $OTHER_GID, mode 0640" \
	sh -c "[ \$(grep -c 'alert credentials_readable' '$T/uploader.log') -ge 2 ]"
up_rec r4.tgr user=alice bytes=100
up_wait_empty 30 || tg_fail "r4 was not shipped"
up_rescans_seen 2
[ "$(n_alerts)" -eq 2 ] || tg_fail "$(n_alerts) credentials_readable alerts, want 2"
grep 'alert credentials_readable' "$T/uploader.log" | tail -1 | grep -q "0640" ||
	tg_fail "the second alert does not give the new mode"

# root's group only: fine, and no alert
chgrp 0 "$CREDS"
up_rec r5.tgr user=alice bytes=100
up_wait_empty 30 || tg_fail "r5 was not shipped"
up_rescans_seen 2
[ "$(n_alerts)" -eq 2 ] || tg_fail "credentials_readable for a file only root's group can read"

# readable again after that fix: news again, said once
chgrp "$OTHER_GID" "$CREDS"
up_wait_until 60 "no credentials_readable alert for a file readable again after a fix" \
	sh -c "[ \$(grep -c 'alert credentials_readable' '$T/uploader.log') -ge 3 ]"
up_rescans_seen 2
[ "$(n_alerts)" -eq 3 ] || tg_fail "$(n_alerts) credentials_readable alerts, want 3"

# a new daemon on the same readable file says it again, once
tg_stop_pid "$UP_PID"
UP_PID=
up_start_ready
up_rec r6.tgr user=alice bytes=100
up_wait_empty 30 || tg_fail "r6 was not shipped"
up_rescans_seen 2
[ "$(n_alerts)" -eq 4 ] || tg_fail "$(n_alerts) credentials_readable alerts after a restart, want 4"

# owner-only: no alert, from the start
tg_stop_pid "$UP_PID"
UP_PID=
chmod 0600 "$CREDS"
up_rec r7.tgr user=alice bytes=100
up_once "owner-only credentials file"
[ "$(n_alerts)" -eq 4 ] || tg_fail "credentials_readable for a file only its owner can read"
echo PASS
