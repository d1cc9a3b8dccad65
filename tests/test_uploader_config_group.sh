#!/bin/sh
# A tollgate.conf that holds secrets (here the webhook URL and the S3 keys)
# and that the members of a group other than root's and the audit user's can
# read leaks them to that group as a world-readable one leaks them to every
# user: config_readable, once per start, naming the group, the mode and the
# fix. Root's group (and the audit user's, which a test machine lacks) is the
# documented 0640 layout: no alert. The uploads go on either way.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
n_alerts() { grep -c 'alert config_readable' "$T/uploader.log"; }
# a group with no member and no name: neither root's nor the audit user's
OTHER_GID=4242

# root's group, 0640: fine
chgrp 0 "$T/tollgate.conf"
chmod 0640 "$T/tollgate.conf"
up_rec r1.tgr user=alice bytes=100
up_once "config of root's group"
[ "$(n_alerts)" -eq 0 ] || tg_fail "config_readable for a config only root's group can read"
up_no_recs || tg_fail "r1 was not shipped"

# another group, 0640: its members read the secrets
chgrp "$OTHER_GID" "$T/tollgate.conf"
up_rec r2.tgr user=alice bytes=100
up_once "config of group $OTHER_GID"
[ "$(n_alerts)" -eq 1 ] ||
	tg_fail "$(n_alerts) config_readable alerts for a config group $OTHER_GID can read, want 1"
up_no_recs || tg_fail "r2 was not shipped"
line=$(grep 'alert config_readable' "$T/uploader.log")
echo "$line"
case $line in *"$T/tollgate.conf"*) ;; *) tg_fail "the alert does not name the file" ;; esac
case $line in *0640*) ;; *) tg_fail "the alert does not give the mode" ;; esac
case $line in *"group $OTHER_GID"*) ;; *) tg_fail "the alert does not name the group" ;; esac
case $line in *chgrp*) ;; *) tg_fail "the alert does not say the fix" ;; esac
case $line in *"every user"*) tg_fail "the alert says every user can read a 0640 file" ;; esac
up_wait_until 20 "the alert did not reach Slack" up_message_has config_readable

# the daemon says it once at start, not at each rescan (rescan_interval = 2)
up_start_ready
up_wait_until 60 "no config_readable alert at the daemon's start" \
	sh -c "[ \$(grep -c 'alert config_readable' '$T/uploader.log') -ge 2 ]"
up_rescans_seen 2
[ "$(n_alerts)" -eq 2 ] || tg_fail "$(n_alerts) config_readable alerts after a daemon start, want 2"
echo PASS
