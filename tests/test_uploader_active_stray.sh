#!/bin/sh
# A logout whose recording a dead recorder left in active/ waits for its hand-over, and no
# longer than it would wait for a first reading: a file there that recovery never moves (not
# NAME.tgr: an admin's x.tgr.bak) or cannot move held the Slack queue for good, with every
# later login, logout and MFA failure behind it.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup "recording_grace = 1" "alert_window = 0"
SID_B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb # its file is b.tgr.bak: not a recording in progress
SID_C=cccccccccccccccccccccccccccccccc # its file c.tgr cannot be moved (a folder in the way)
mkdir -p "$T/spool/active" "$T/spool/sessions/c.tgr/x"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/b.tgr.bak" user=bob pam=$SID_B bytes=500 || tg_fail "recgen"
"$RECGEN" rec "$T/keys/signing.key" "$T/spool/active/c.tgr" user=carl pam=$SID_C bytes=500 || tg_fail "recgen"
up_session_event 1 login bob $SID_B
up_session_event 2 logout bob $SID_B
up_session_event 3 login carl $SID_C
up_session_event 4 logout carl $SID_C
up_event 5 mfa_failure '"user":"mallory","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_start
up_wait_until 60 "the logout of bob (a stray b.tgr.bak in active/) never reached Slack" \
	up_message_has "SSH logout: bob@"
up_wait_until 60 "the logout of carl (a file recovery cannot move) never reached Slack" \
	up_message_has "SSH logout: carl@"
up_wait_until 30 "the MFA failure behind them never reached Slack" up_message_has "MFA failure: mallory@"
[ -e "$T/spool/active/b.tgr.bak" ] || tg_fail "the stray file was taken"
echo "ok: a stray or stuck file in active/ holds a logout no longer than a first reading would"
